//! The default pretrained model end to end (decode → preprocess → MobileNetV2 → L2 norm) on
//! the example images, against PyTorch (`tools/make_pretrained_golden.py`: the weights'
//! own PyTorch module with torchvision's float-tensor ImageNet preprocessing).
//!
//! Needs the converted weights in the cache (`rvcnn fetch`); without them the test prints
//! `SKIP`, and fails if `RVCNN_REQUIRE_PRETRAINED=1` (as `.ci/run` sets after fetching).
//!
//! Tolerance on the unit-norm 1280-d vectors (largest values ≈ 0.13): the PNG, decoded to the
//! same pixels by both sides, is held to max |Δ| ≤ 2e-5 (measured 4e-7: preprocessing and
//! network agree with PyTorch to f32 rounding). JPEGs get max |Δ| ≤ 3e-3 and cosine ≥ 0.9998
//! (measured 1.5e-3 and ≥ 0.99990): the `image` crate's IDCT and PIL's libjpeg decode some
//! pixels one level apart, which is not this library's arithmetic.

use std::path::PathBuf;

use ruvector_cnn_model::{Embedder, EmbedderOptions, Weights, image_file, pretrained};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn pretrained_pipeline_matches_pytorch() {
    let path = pretrained::default_path().unwrap();
    if !path.exists() {
        assert!(
            std::env::var("RVCNN_REQUIRE_PRETRAINED").as_deref() != Ok("1"),
            "RVCNN_REQUIRE_PRETRAINED=1 but {} is missing (run `rvcnn fetch`)",
            path.display()
        );
        eprintln!(
            "SKIP pretrained_pipeline_matches_pytorch: {} missing (run `rvcnn fetch`)",
            path.display()
        );
        return;
    }
    let golden =
        Weights::load(&root().join("model/tests/fixtures/pretrained.golden.safetensors")).unwrap();
    let embedder = Embedder::pretrained(EmbedderOptions::default()).unwrap();
    assert_eq!(embedder.dim(), 1280);
    let mut failures = Vec::new();
    for name in golden.keys() {
        let img = image_file::open(&root().join("examples/images").join(name)).unwrap();
        let got = embedder.embed(&img.view().unwrap()).unwrap();
        let want = &golden.get(name).unwrap().data;
        let err = got
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        let cos: f32 = got.iter().zip(want).map(|(a, b)| a * b).sum();
        eprintln!("{name}: max |diff| {err:.2e}, cosine {cos:.7}");
        let (tol, min_cos) = if name.ends_with(".png") {
            (2e-5, 0.999_999)
        } else {
            (3e-3, 0.9998)
        };
        if err > tol || cos < min_cos {
            failures.push(format!(
                "{name}: max |diff| {err:e} (limit {tol:e}), cosine {cos}"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
