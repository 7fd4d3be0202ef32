//! `ruvector-cnn` for Node.js: `CnnEmbedder` over [`ruvector_cnn_model::Embedder`].
//!
//! A thin layer: the options object becomes an [`EmbedderConfig`], pixel buffers are read in
//! place for `extract` (copied for `extractBatch`, whose work runs on libuv's thread pool,
//! off the JavaScript thread), and every error is a JavaScript `Error` carrying the Rust
//! message.

use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Env, Float32Array, Result, Task, Uint8Array};
use napi_derive::napi;
use ruvector_cnn_model::{Embedder, EmbedderConfig, ImageView, PixelFormat, Weights};

/// A model error as a JavaScript `Error` with the same message.
fn js_err(e: impl std::fmt::Display) -> napi::Error {
    napi::Error::from_reason(e.to_string())
}

/// Options of `new CnnEmbedder(options)`; every field is optional.
#[napi(object)]
#[derive(Default)]
pub struct CnnEmbedderOptions {
    /// `"mobilenetv2"` (default, pretrained), `"mobilenetv3-small"` or `"mobilenetv3-large"`.
    pub model: Option<String>,
    /// Path of a .safetensors file (torchvision keys, or an INT8 file from `rvcnn quantize`);
    /// default: the cached pretrained weights (`rvcnn fetch`).
    pub weights: Option<String>,
    /// The same file's contents (instead of `weights`).
    pub weights_bytes: Option<Uint8Array>,
    /// Square network input side (default 224).
    pub input_size: Option<u32>,
    /// L2-normalise the vectors (default true).
    pub normalize: Option<bool>,
    /// Threads a batch is spread over (default 1; 0 = all cores).
    pub threads: Option<u32>,
    /// `"pooled"` (default), `"penultimate"` or `"logits"`.
    pub output: Option<String>,
    /// `"center-crop"` (default), `"letterbox"` or `"stretch"`.
    pub fit: Option<String>,
}

/// One image of `extractBatch`: 8-bit pixels, tightly packed rows.
#[napi(object)]
pub struct CnnImage {
    /// Pixel bytes (`width · height · bytes per pixel`).
    pub data: Uint8Array,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `"rgba"` (default), `"rgb"`, `"gray"`, `"bgr"` or `"bgra"`.
    pub format: Option<String>,
}

/// `format` (default RGBA, what canvas `ImageData` and most decoders give).
fn pixel_format(format: Option<&str>) -> Result<PixelFormat> {
    format.map_or(Ok(PixelFormat::Rgba8), |f| f.parse().map_err(js_err))
}

/// Images → embedding vectors with a MobileNet on SIMD kernels.
#[napi]
pub struct CnnEmbedder {
    inner: Arc<Embedder>,
}

#[napi]
impl CnnEmbedder {
    /// Loads the model (see `CnnEmbedderOptions`).
    #[napi(constructor)]
    pub fn new(options: Option<CnnEmbedderOptions>) -> Result<Self> {
        let o = options.unwrap_or_default();
        let weights = match (&o.weights, &o.weights_bytes) {
            (Some(_), Some(_)) => return Err(js_err("pass weights or weightsBytes, not both")),
            (Some(path), None) => Some(Weights::load(path.as_ref()).map_err(js_err)?),
            (None, Some(bytes)) => Some(Weights::from_safetensors(bytes).map_err(js_err)?),
            (None, None) => None,
        };
        let config = EmbedderConfig {
            model: o.model,
            weights,
            input_size: o.input_size.map(|v| v as usize),
            normalize: o.normalize,
            threads: o.threads.map(|v| v as usize),
            output: o.output,
            fit: o.fit,
        };
        Ok(CnnEmbedder {
            inner: Arc::new(config.build().map_err(js_err)?),
        })
    }

    /// Values per embedding.
    #[napi(getter)]
    pub fn embedding_dim(&self) -> u32 {
        self.inner.dim() as u32
    }

    /// The architecture (`mobilenetv2`, `mobilenetv3-small`, `mobilenetv3-large`).
    #[napi(getter)]
    pub fn model(&self) -> String {
        self.inner.arch().to_string()
    }

    /// `"f32"` or `"int8"`.
    #[napi(getter)]
    pub fn precision(&self) -> String {
        self.inner.precision().into()
    }

    /// Embeds one image (tightly packed 8-bit pixels; `format` default `"rgba"`), on the
    /// calling thread.
    #[napi]
    pub fn extract(
        &self,
        buffer: Uint8Array,
        width: u32,
        height: u32,
        format: Option<String>,
    ) -> Result<Float32Array> {
        let format = pixel_format(format.as_deref())?;
        let view =
            ImageView::packed(&buffer, width as usize, height as usize, format).map_err(js_err)?;
        Ok(Float32Array::new(self.inner.embed(&view).map_err(js_err)?))
    }

    /// Embeds images off the JavaScript thread (spread over `threads`); resolves to one
    /// `Float32Array` per image, in order.
    #[napi(ts_return_type = "Promise<Float32Array[]>")]
    pub fn extract_batch(&self, images: Vec<CnnImage>) -> Result<AsyncTask<BatchTask>> {
        let images = images
            .into_iter()
            .map(|i| {
                let format = pixel_format(i.format.as_deref())?;
                Ok((i.data.to_vec(), i.width as usize, i.height as usize, format))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AsyncTask::new(BatchTask {
            embedder: Arc::clone(&self.inner),
            images,
        }))
    }
}

/// `extractBatch`'s work, run on a libuv worker thread.
pub struct BatchTask {
    embedder: Arc<Embedder>,
    images: Vec<(Vec<u8>, usize, usize, PixelFormat)>,
}

impl Task for BatchTask {
    type Output = Vec<Vec<f32>>;
    type JsValue = Vec<Float32Array>;

    fn compute(&mut self) -> Result<Self::Output> {
        let views = self
            .images
            .iter()
            .map(|(data, w, h, f)| ImageView::packed(data, *w, *h, *f))
            .collect::<ruvector_cnn_model::Result<Vec<_>>>()
            .map_err(js_err)?;
        self.embedder.embed_batch(&views).map_err(js_err)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output.into_iter().map(Float32Array::new).collect())
    }
}

/// Cosine of the angle between two vectors of the same length.
#[napi]
pub fn cosine_similarity(a: Float32Array, b: Float32Array) -> Result<f64> {
    if a.len() != b.len() {
        return Err(js_err(format!(
            "vectors differ in length ({} vs {})",
            a.len(),
            b.len()
        )));
    }
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b.iter()) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        return Err(js_err("cosine similarity of a zero vector is undefined"));
    }
    Ok(ab / (aa.sqrt() * bb.sqrt()))
}
