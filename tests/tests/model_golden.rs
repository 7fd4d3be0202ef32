//! MobileNetV3-Small/-Large, MobileNetV2 and ResNet-18 against PyTorch/torchvision golden
//! outputs (fixtures made by `tools/make_golden.py` and `tools/make_resnet_golden.py`), at every
//! ISA level this CPU supports; ResNet-18 with each convolution method.
//!
//! Tolerance: `max |ours − torch| ≤ 1e-4 · max |torch|` per output tensor (the golden values
//! are computed in float64 from the stored weights and inputs, so the whole difference is
//! this library's f32 rounding through ~50 layers).

use ruvector_cnn_kernels::ops::{ConvAlgorithm, Nhwc};
use ruvector_cnn_model::preprocess::nchw_to_nhwc;
use ruvector_cnn_model::{Arch, Network, Output, ResNet, ResNetOptions};
use ruvector_cnn_tests::{levels, load_fixture as load, table_at};

const TOLERANCE: f32 = 1e-4;

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

/// Asserts `got` is within the tolerance of `want` (`what` names the case).
fn compare(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let (i, err) = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .enumerate()
        .fold(
            (0, 0f32),
            |a, (i, e)| if e > a.1 || e.is_nan() { (i, e) } else { a },
        );
    eprintln!("{what}: max err {err:.3e} (scale {scale:.3e})");
    assert!(
        err <= TOLERANCE * scale,
        "{what}[{i}]: got {}, torch {}, error {err:e} > {TOLERANCE:e} x {scale}",
        got[i],
        want[i]
    );
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
                compare(
                    &format!("{model} at {level}, input {name}, {output}"),
                    &got,
                    &want.data,
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

#[test]
fn resnet18_matches_torchvision_with_every_convolution_method() {
    let weights = load("resnet18.safetensors");
    let golden = load("resnet18.golden.safetensors");
    let inputs = inputs();
    for level in levels("golden resnet18") {
        for algorithm in [
            ConvAlgorithm::Auto,
            ConvAlgorithm::Winograd,
            ConvAlgorithm::Direct,
            ConvAlgorithm::Im2col,
        ] {
            let options = ResNetOptions {
                width: 16,
                algorithm,
                ..Default::default()
            };
            let net = ResNet::new(&weights, options, &table_at(level))
                .unwrap_or_else(|e| panic!("resnet18: {e}"));
            let used = net.algorithms();
            let uses = |a| used.iter().any(|(_, u)| *u == a);
            // Auto puts the stride-1 3x3 layers from 16 channels on Winograd.
            let winograd = matches!(algorithm, ConvAlgorithm::Auto | ConvAlgorithm::Winograd);
            assert_eq!(
                uses(ConvAlgorithm::Winograd),
                winograd,
                "{algorithm:?}: {used:?}"
            );
            let mut ws = Default::default();
            for (name, shape, x) in &inputs {
                for output in [Output::Pooled, Output::Logits] {
                    let want = golden.get(&format!("{name}.{output}")).unwrap();
                    let mut got = vec![f32::NAN; want.data.len()];
                    net.forward(*shape, x, output, &mut got, &mut ws).unwrap();
                    let what = format!("resnet18 {algorithm:?} at {level}, input {name}, {output}");
                    compare(&what, &got, &want.data);
                }
            }
        }
    }
}
