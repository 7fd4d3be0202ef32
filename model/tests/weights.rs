//! Weight loading: safetensors (F32/F16), the legacy PyTorch reader, and every error a bad
//! file or mismatched state_dict must give (never a panic).

use std::path::PathBuf;

use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_model::weights::torch_legacy;
use ruvector_cnn_model::{Arch, Error, Network, Weights};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn v2_weights() -> Weights {
    Weights::load(&fixture("mobilenet_v2.safetensors")).unwrap()
}

fn build(w: &Weights) -> Result<Network, Error> {
    Network::new(Arch::MobileNetV2, 0.35, w, KernelTable::best())
}

#[test]
fn legacy_reader_matches_pytorch() {
    let got = torch_legacy::parse(&bytes("legacy_tiny.pt")).unwrap();
    let want = Weights::load(&fixture("legacy_tiny.expected.safetensors")).unwrap();
    assert_eq!(got, want);
    assert!(!got.contains("bn.num_batches_tracked"));
    assert_eq!(got.get("conv.weight_t").unwrap().shape, vec![3, 4]);
}

#[test]
fn legacy_reader_rejects_every_truncation_and_corruption_without_panicking() {
    let good = bytes("legacy_tiny.pt");
    for len in 0..good.len() {
        assert!(
            torch_legacy::parse(&good[..len]).is_err(),
            "prefix {len} accepted"
        );
    }
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..2000 {
        let mut bad = good.clone();
        for _ in 0..3 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let i = (rng % bad.len() as u64) as usize;
            bad[i] = (rng >> 32) as u8;
        }
        let _ = torch_legacy::parse(&bad); // must return, Ok or Err
    }
    let err = torch_legacy::parse(b"PK\x03\x04rest")
        .unwrap_err()
        .to_string();
    assert!(err.contains("zip-format"), "{err}");
}

#[test]
fn safetensors_round_trip_in_f32() {
    let w = v2_weights();
    let mut w = w;
    w.set_metadata("arch", "mobilenet_v2");
    let bytes = w.to_safetensors().unwrap();
    assert_eq!(Weights::from_safetensors(&bytes).unwrap(), w);
}

#[test]
fn f16_weights_load_and_build() {
    let w = Weights::load(&fixture("mobilenet_v3_small.safetensors")).unwrap();
    Network::new(Arch::MobileNetV3Small, 1.0, &w, KernelTable::best()).unwrap();
}

#[test]
fn truncated_and_corrupt_safetensors_are_format_errors() {
    let good = bytes("mobilenet_v2.safetensors");
    for len in [0, 1, 7, 8, 9, 100, good.len() / 2, good.len() - 1] {
        let e = Weights::from_safetensors(&good[..len]).unwrap_err();
        assert!(matches!(e, Error::Format(_)), "len {len}: {e}");
    }
    let mut bad = good.clone();
    bad[8] = b'#'; // the JSON header's opening brace
    assert!(matches!(
        Weights::from_safetensors(&bad),
        Err(Error::Format(_))
    ));
    let missing = Weights::load(&fixture("no-such-file.safetensors")).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }), "{missing}");
    assert!(missing.to_string().contains("no-such-file"));
}

#[test]
fn missing_key_is_named() {
    let w = v2_weights()
        .rename(|k| (k != "features.3.conv.1.1.running_var").then(|| k.to_string()))
        .unwrap();
    let e = build(&w).err().unwrap();
    assert!(
        matches!(&e, Error::MissingKey(k) if k == "features.3.conv.1.1.running_var"),
        "{e}"
    );
}

#[test]
fn unexpected_keys_are_listed() {
    let mut w = v2_weights();
    w.insert("extra.weight", vec![2], vec![1.0, 2.0]).unwrap();
    let e = build(&w).err().unwrap();
    assert!(
        matches!(&e, Error::UnexpectedKeys(k) if k == &["extra.weight".to_string()]),
        "{e}"
    );
}

#[test]
fn wrong_shape_and_wrong_arch_are_named() {
    let mut renamed = Weights::new();
    for k in v2_weights().keys().map(str::to_string).collect::<Vec<_>>() {
        let t = v2_weights().get(&k).unwrap().clone();
        let (shape, data) = if k == "features.0.0.weight" {
            (vec![t.data.len()], t.data)
        } else {
            (t.shape, t.data)
        };
        renamed.insert(&k, shape, data).unwrap();
    }
    let e = build(&renamed).err().unwrap();
    assert!(
        matches!(&e, Error::Shape { key, .. } if key == "features.0.0.weight"),
        "{e}"
    );
    // Right file, wrong width: the first mismatching tensor is named.
    let e = Network::new(Arch::MobileNetV2, 1.0, &v2_weights(), KernelTable::best())
        .err()
        .unwrap();
    assert!(
        matches!(&e, Error::Shape { key, .. } if key == "features.0.0.weight"),
        "{e}"
    );
    // Wrong architecture.
    let e = Network::new(
        Arch::MobileNetV3Small,
        1.0,
        &v2_weights(),
        KernelTable::best(),
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("features."), "{e}");
}

#[test]
fn non_finite_weights_are_rejected() {
    let w = v2_weights().rename(|k| Some(k.to_string())).unwrap();
    let mut poisoned = Weights::new();
    for k in w.keys() {
        let mut t = w.get(k).unwrap().clone();
        if k == "features.5.conv.2.weight" {
            t.data[3] = f32::NAN;
        }
        poisoned.insert(k, t.shape, t.data).unwrap();
    }
    let e = build(&poisoned).err().unwrap();
    assert!(
        matches!(&e, Error::NonFinite { key, index: 3 } if key == "features.5.conv.2.weight"),
        "{e}"
    );
}

#[test]
fn headless_model_serves_pooled_only() {
    let w = v2_weights()
        .rename(|k| (!k.starts_with("classifier.")).then(|| k.to_string()))
        .unwrap();
    let net = build(&w).unwrap();
    assert!(!net.has_classifier());
    assert!(net.output_dim(ruvector_cnn_model::Output::Pooled).is_ok());
    let e = net
        .output_dim(ruvector_cnn_model::Output::Logits)
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported(_)), "{e}");
    // Half a classifier is an error, not a silently headless model.
    let w = v2_weights()
        .rename(|k| (k != "classifier.1.bias").then(|| k.to_string()))
        .unwrap();
    assert!(matches!(build(&w), Err(Error::MissingKey(_))));
}

#[test]
fn random_weights_build_every_arch_at_full_width_with_torchvision_sizes() {
    use ruvector_cnn_kernels::ops::Nhwc;
    use ruvector_cnn_model::Output;
    // Parameter counts of torchvision's constructors (num_classes = 1000).
    for (arch, params) in [
        (Arch::MobileNetV3Small, 2_542_856),
        (Arch::MobileNetV3Large, 5_483_032),
        (Arch::MobileNetV2, 3_504_872),
    ] {
        let w = Weights::random(arch, 1.0, Some(1000), 1).unwrap();
        // BatchNorm running statistics are buffers, not parameters, in PyTorch's count.
        let buffers: usize = w
            .keys()
            .filter(|k| k.ends_with("running_mean") || k.ends_with("running_var"))
            .map(|k| w.get(k).unwrap().data.len())
            .sum();
        assert_eq!(w.parameter_count() - buffers, params, "{arch}");
        let net = Network::new(arch, 1.0, &w, KernelTable::best()).unwrap();
        let x = vec![0.5f32; 64 * 64 * 3];
        let mut out = vec![f32::NAN; 1000];
        let mut ws = Default::default();
        net.forward(
            Nhwc::new(1, 64, 64, 3),
            &x,
            Output::Logits,
            &mut out,
            &mut ws,
        )
        .unwrap();
        assert!(out.iter().all(|v| v.is_finite()), "{arch}");
    }
}
