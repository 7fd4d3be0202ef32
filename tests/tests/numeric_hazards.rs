//! Numerical hazards each give the documented result or error (README "Guarantees"):
//! non-finite tensors are errors, constant images (black, white) and 1x1 images embed to unit
//! vectors, sides above `MAX_SIDE` are errors, long thin strips embed, weights that are
//! non-finite are load errors naming the tensor, weights so large that activations overflow
//! f32 give an error (never an Inf/NaN vector), and all-zero weights (an all-zero embedding)
//! (and biases) give the "cannot be L2-normalised" error — or zeros when normalisation is off.

use ruvector_cnn_kernels::ops::Nhwc;
use ruvector_cnn_model::preprocess::MAX_SIDE;
use ruvector_cnn_model::{Embedder, EmbedderConfig, Error, ImageView, PixelFormat, Weights};
use ruvector_cnn_tests::load_fixture;

fn build(w: Weights, normalize: bool) -> ruvector_cnn_model::Result<Embedder> {
    EmbedderConfig {
        weights: Some(w),
        input_size: Some(64),
        normalize: Some(normalize),
        ..Default::default()
    }
    .build()
}

fn fixture() -> Weights {
    load_fixture("mobilenet_v3_small.safetensors")
}

fn unit(v: &[f32]) {
    assert!(v.iter().all(|x| x.is_finite()));
    let n: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((n - 1.0).abs() < 1e-5, "norm {n}");
}

fn err_text<T>(r: ruvector_cnn_model::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn non_finite_tensors_are_errors() {
    let e = build(fixture(), true).unwrap();
    let shape = Nhwc::new(1, 64, 64, 3);
    let mut out = vec![0.0; e.dim()];
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut x = vec![0.1f32; shape.len().unwrap()];
        x[777] = bad;
        let msg = err_text(e.embed_tensor(shape, &x, &mut out));
        assert!(msg.contains("not finite"), "{bad}: {msg}");
        assert!(out.iter().all(|&v| v == 0.0), "output written on error");
    }
}

#[test]
fn constant_tiny_and_extreme_aspect_images_embed_to_unit_vectors() {
    let e = build(fixture(), true).unwrap();
    for value in [0u8, 255] {
        let px = vec![value; 40 * 30 * 3];
        unit(
            &e.embed(&ImageView::packed(&px, 40, 30, PixelFormat::Rgb8).unwrap())
                .unwrap(),
        );
    }
    unit(
        &e.embed(&ImageView::packed(&[9, 200, 31], 1, 1, PixelFormat::Rgb8).unwrap())
            .unwrap(),
    );
    let strip = vec![100u8; MAX_SIDE];
    unit(
        &e.embed(&ImageView::packed(&strip, MAX_SIDE, 1, PixelFormat::Gray8).unwrap())
            .unwrap(),
    );
    let msg = err_text(ImageView::packed(
        &strip,
        MAX_SIDE + 1,
        1,
        PixelFormat::Gray8,
    ));
    assert!(msg.contains("each side must be 1..=32768"), "{msg}");
}

#[test]
fn non_finite_weights_are_load_errors_naming_the_tensor() {
    let mut w = fixture();
    let key = "features.0.0.weight";
    let mut t = w.remove(key).unwrap();
    t.data[5] = f32::NAN;
    w.insert(key, t.shape, t.data).unwrap();
    let msg = err_text(build(w, true));
    assert!(msg.contains(key), "{msg}");
}

/// `w` with every tensor whose key ends in one of `suffixes` multiplied by `scale`.
fn scaled(w: &Weights, suffixes: &[&str], scale: f32) -> Weights {
    let mut out = w.clone();
    for key in w.keys().filter(|k| suffixes.iter().any(|s| k.ends_with(s))) {
        let t = out.remove(key).unwrap();
        let data = t.data.iter().map(|v| v * scale).collect();
        out.insert(key, t.shape, data).unwrap();
    }
    out
}

#[test]
fn overflowing_weights_are_an_error_not_a_nan_vector() {
    let e = build(scaled(&fixture(), &[".weight"], 1e12), true).unwrap();
    let px = vec![128u8; 32 * 32 * 3];
    let img = ImageView::packed(&px, 32, 32, PixelFormat::Rgb8).unwrap();
    let msg = err_text(e.embed(&img));
    assert!(msg.contains("not finite"), "{msg}");
}

#[test]
fn all_zero_weights_give_the_zero_norm_error_or_zeros_unnormalised() {
    let w = scaled(&fixture(), &[".weight", ".bias"], 0.0);
    let px = vec![128u8; 32 * 32 * 3];
    let img = ImageView::packed(&px, 32, 32, PixelFormat::Rgb8).unwrap();
    let e = build(w.clone(), true).unwrap();
    match e.embed(&img) {
        Err(Error::InvalidArgument(msg)) => assert!(msg.contains("all zeros"), "{msg}"),
        other => panic!("expected the all-zeros error, got {other:?}"),
    }
    let raw = build(w, false).unwrap().embed(&img).unwrap();
    assert!(raw.iter().all(|&v| v == 0.0));
}
