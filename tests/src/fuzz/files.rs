//! Untrusted files and pixels: safetensors weight files, legacy PyTorch pickles, PNG/JPEG
//! images and raw pixel buffers through preprocessing.

use ruvector_cnn_model::weights::torch_legacy as legacy;
use ruvector_cnn_model::{
    Embedder, EmbedderOptions, Fit, ImageView, PixelFormat, Preprocess, Weights,
    preprocess::Scratch, pretrained,
};

use super::Bytes;

/// A safetensors file: parsed, then (if it parses) built into an embedder as its metadata
/// says, f32 or INT8 — the path every file given to the CLI, C API or a binding takes.
pub fn weights(data: &[u8]) {
    if let Ok(w) = Weights::from_safetensors(data) {
        let _ = Embedder::from_weights(&w, EmbedderOptions::default());
    }
}

/// A legacy (non-zip) PyTorch pickle, as `rvcnn fetch` converts: parsed, then renamed from
/// the classic MobileNetV2 layout.
pub fn torch_legacy(data: &[u8]) {
    if let Ok(w) = legacy::parse(data) {
        let _ = pretrained::classic_v2_to_torchvision(w);
    }
}

/// A PNG or JPEG file, decoded as the CLI decodes, then preprocessed to a 16x16 input.
#[cfg(feature = "image")]
pub fn image(data: &[u8]) {
    if let Ok(img) = ruvector_cnn_model::image_file::decode(data)
        && let Ok(view) = img.view()
    {
        run(&view, 16, Fit::CenterCrop);
    }
}

/// Raw pixels with fuzzed width, height, row stride, pixel format, fit and input size.
pub fn preprocess(data: &[u8]) {
    let mut b = Bytes::new(data);
    let (width, height) = (b.below(70), b.below(70));
    let format = [
        PixelFormat::Gray8,
        PixelFormat::Rgb8,
        PixelFormat::Rgba8,
        PixelFormat::Bgr8,
        PixelFormat::Bgra8,
    ][b.below(5)];
    let stride = width * format.bytes() + b.below(4);
    let fit = [Fit::CenterCrop, Fit::Letterbox, Fit::Stretch][b.below(3)];
    let size = b.below(40);
    if let Ok(view) = ImageView::new(b.rest(), width, height, stride, format) {
        run(&view, size, fit);
    }
}

/// Preprocesses `view` to a `size`-square input (invalid sizes are errors).
fn run(view: &ImageView<'_>, size: usize, fit: Fit) {
    let p = Preprocess {
        size,
        fit,
        ..Preprocess::default()
    };
    if p.validate().is_ok() {
        let mut out = vec![0.0; p.tensor_len()];
        p.run(view, &mut out, &mut Scratch::default())
            .expect("a valid view and preprocessing always succeed");
        assert!(
            out.iter().all(|v| v.is_finite()),
            "non-finite preprocessing output"
        );
    }
}
