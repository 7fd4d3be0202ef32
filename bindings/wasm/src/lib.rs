//! `ruvector-cnn` for WebAssembly (browsers and Node): `WasmCnnEmbedder` over
//! [`ruvector_cnn_model::Embedder`], built for `wasm32-unknown-unknown` with wasm-bindgen.
//!
//! A thin layer: weights arrive as bytes (nothing is fetched), the options object becomes an
//! [`EmbedderConfig`], pixels are read from the caller's `Uint8Array` in place, and errors
//! are JavaScript `Error`s with the Rust message. Kernels: SIMD128 in the `+simd128` build,
//! scalar in the fallback build (which one is `WasmCnnEmbedder.isa`).

use ruvector_cnn_model::{Embedder, EmbedderConfig, ImageView, PixelFormat, Weights};
use wasm_bindgen::prelude::*;

/// A model error as a JavaScript `Error`.
fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// Images → embedding vectors with a MobileNet on WebAssembly kernels.
#[wasm_bindgen]
pub struct WasmCnnEmbedder {
    inner: Embedder,
}

#[wasm_bindgen]
impl WasmCnnEmbedder {
    /// Loads a model from the bytes of a .safetensors file (torchvision keys, or an INT8
    /// file from `rvcnn quantize`; the architecture comes from its metadata unless `model`
    /// names it). `inputSize` (default 224), `normalize` (default true), `output`
    /// (`pooled`/`penultimate`/`logits`) and `fit` (`center-crop`/`letterbox`/`stretch`)
    /// are optional.
    #[wasm_bindgen(constructor)]
    pub fn new(
        weights: &[u8],
        model: Option<String>,
        input_size: Option<u32>,
        normalize: Option<bool>,
        output: Option<String>,
        fit: Option<String>,
    ) -> Result<WasmCnnEmbedder, JsError> {
        let config = EmbedderConfig {
            model,
            weights: Some(Weights::from_safetensors(weights).map_err(js_err)?),
            input_size: input_size.map(|v| v as usize),
            normalize,
            threads: Some(1),
            output,
            fit,
        };
        Ok(WasmCnnEmbedder {
            inner: config.build().map_err(js_err)?,
        })
    }

    /// Values per embedding.
    #[wasm_bindgen(getter, js_name = embeddingDim)]
    pub fn embedding_dim(&self) -> u32 {
        self.inner.dim() as u32
    }

    /// The architecture (`mobilenetv2`, `mobilenetv3-small`, `mobilenetv3-large`).
    #[wasm_bindgen(getter)]
    pub fn model(&self) -> String {
        self.inner.arch().to_string()
    }

    /// The instruction set the kernels use (`wasm128` or `scalar`).
    #[wasm_bindgen(getter)]
    pub fn isa() -> String {
        ruvector_cnn_kernels::isa::available().top().name().into()
    }

    /// Embeds RGBA pixels (`width · height · 4` bytes, as canvas `ImageData.data`).
    pub fn extract(&self, rgba: &[u8], width: u32, height: u32) -> Result<Vec<f32>, JsError> {
        self.extract_format(rgba, width, height, "rgba")
    }

    /// Embeds pixels of another layout: `rgb`, `rgba`, `gray`, `bgr` or `bgra`.
    #[wasm_bindgen(js_name = extractFormat)]
    pub fn extract_format(
        &self,
        pixels: &[u8],
        width: u32,
        height: u32,
        format: &str,
    ) -> Result<Vec<f32>, JsError> {
        let format: PixelFormat = format.parse().map_err(js_err)?;
        let view =
            ImageView::packed(pixels, width as usize, height as usize, format).map_err(js_err)?;
        self.inner.embed(&view).map_err(js_err)
    }
}
