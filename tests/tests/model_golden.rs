//! MobileNetV3-Small/-Large and MobileNetV2 against PyTorch/torchvision golden outputs
//! (fixtures made by `tools/make_golden.py`), at every ISA level this CPU supports.
//!
//! Tolerance: `max |ours − torch| ≤ 1e-4 · max |torch|` per output tensor (the golden values
//! are computed in float64 from the stored weights and inputs, so the whole difference is
//! this library's f32 rounding through ~50 layers).

use std::path::PathBuf;

use ruvector_cnn_kernels::ops::Nhwc;
use ruvector_cnn_model::preprocess::nchw_to_nhwc;
use ruvector_cnn_model::{Arch, Network, Output, Weights};
use ruvector_cnn_tests::{levels, table_at};

const TOLERANCE: f32 = 1e-4;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../model/tests/fixtures")
}

fn load(name: &str) -> Weights {
    let path = fixtures().join(name);
    Weights::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fixture inputs as `(name, NHWC shape, NHWC values)`.
fn inputs() -> Vec<(String, Nhwc, Vec<f32>)> {
    let w = load("inputs.safetensors");
    w.keys()
        .map(|k| {
            let t = w.get(k).unwrap();
            let [n, c, h, wd] = t.shape[..] else {
                panic!("{k}: not NCHW")
            };
            let shape = Nhwc::new(n, h, wd, c);
            (k.to_string(), shape, nchw_to_nhwc(&t.data, shape).unwrap())
        })
        .collect()
}

fn check(model: &str, arch: Arch, width: f32) {
    let weights = load(&format!("{model}.safetensors"));
    let golden = load(&format!("{model}.golden.safetensors"));
    let inputs = inputs();
    for level in levels(&format!("golden {model}")) {
        let net = Network::new(arch, width, &weights, &table_at(level))
            .unwrap_or_else(|e| panic!("{model}: {e}"));
        let mut ws = Default::default();
        for (name, shape, x) in &inputs {
            for output in Output::ALL {
                let want = golden.get(&format!("{name}.{output}")).unwrap();
                let mut got = vec![f32::NAN; want.data.len()];
                let written = net.forward(*shape, x, output, &mut got, &mut ws).unwrap();
                assert_eq!(written, want.data.len());
                let scale = want.data.iter().fold(0f32, |m, v| m.max(v.abs()));
                let (i, err) = got
                    .iter()
                    .zip(&want.data)
                    .map(|(g, w)| (g - w).abs())
                    .enumerate()
                    .fold(
                        (0, 0f32),
                        |a, (i, e)| if e > a.1 || e.is_nan() { (i, e) } else { a },
                    );
                eprintln!("{model} {level} {name} {output}: max err {err:.3e} (scale {scale:.3e})");
                assert!(
                    err <= TOLERANCE * scale,
                    "{model} at {level}, input {name}, {output}[{i}]: got {}, torch {}, \
                     error {err:e} > {TOLERANCE:e} x {scale}",
                    got[i],
                    want.data[i]
                );
            }
        }
    }
}

#[test]
fn mobilenet_v3_small_matches_torchvision() {
    check("mobilenet_v3_small", Arch::MobileNetV3Small, 1.0);
}

#[test]
fn mobilenet_v3_large_matches_torchvision() {
    check("mobilenet_v3_large", Arch::MobileNetV3Large, 0.5);
}

#[test]
fn mobilenet_v2_matches_torchvision() {
    check("mobilenet_v2", Arch::MobileNetV2, 0.35);
}
