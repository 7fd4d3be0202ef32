//! ResNet construction: the tensor list matches torchvision's (the committed fixture, made
//! from torchvision's own modules), full-width ResNet-18/-34 have torchvision's parameter
//! counts, bad weights are errors naming the key, and forward rejects bad buffers.

use std::path::PathBuf;

use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::{ConvAlgorithm, Nhwc};
use ruvector_cnn_model::{Error, Output, ResNet, ResNetDepth, ResNetOptions, Weights};

fn fixture() -> Weights {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/resnet18.safetensors");
    Weights::load(&path).unwrap()
}

fn narrow() -> ResNetOptions {
    ResNetOptions {
        width: 16,
        ..Default::default()
    }
}

#[test]
fn tensor_list_matches_the_torchvision_fixture() {
    let w = fixture();
    let mut ours: Vec<(String, Vec<usize>)> = narrow().tensors(Some(10));
    ours.sort();
    let mut theirs: Vec<(String, Vec<usize>)> = w
        .keys()
        .map(|k| (k.to_string(), w.get(k).unwrap().shape.clone()))
        .collect();
    theirs.sort();
    assert_eq!(ours, theirs);
    let net = ResNet::from_metadata(&w, ConvAlgorithm::Auto, KernelTable::best()).unwrap();
    assert_eq!(net.options(), narrow());
}

#[test]
fn full_width_resnets_have_torchvision_parameter_counts_and_run() {
    // torchvision.models.resnet18() / resnet34() (num_classes = 1000).
    for (depth, params) in [
        (ResNetDepth::R18, 11_689_512),
        (ResNetDepth::R34, 21_797_672),
    ] {
        let options = ResNetOptions {
            depth,
            ..Default::default()
        };
        let w = Weights::random_resnet(&options, Some(1000), 3).unwrap();
        let buffers: usize = w
            .keys()
            .filter(|k| k.ends_with("running_mean") || k.ends_with("running_var"))
            .map(|k| w.get(k).unwrap().data.len())
            .sum();
        assert_eq!(w.parameter_count() - buffers, params, "{depth:?}");
        let net = ResNet::from_metadata(&w, ConvAlgorithm::Auto, KernelTable::best()).unwrap();
        // Auto: the 7x7 stem and 1x1 downsampling on im2col, the stride-2 3x3 layers direct,
        // every stride-1 3x3 layer on Winograd.
        for (name, algo) in net.algorithms() {
            let want = if name == "conv1" || name.ends_with("downsample") {
                ConvAlgorithm::Im2col
            } else if name.ends_with(".0.conv1") && !name.starts_with("layer1") {
                ConvAlgorithm::Direct
            } else {
                ConvAlgorithm::Winograd
            };
            assert_eq!(algo, want, "{name}");
        }
        let x = vec![0.25f32; 2 * 64 * 48 * 3];
        let mut out = vec![f32::NAN; 2 * 1000];
        let mut ws = Default::default();
        net.forward(
            Nhwc::new(2, 64, 48, 3),
            &x,
            Output::Logits,
            &mut out,
            &mut ws,
        )
        .unwrap();
        assert!(out.iter().all(|v| v.is_finite()), "{depth:?}");
    }
}

#[test]
fn bad_weights_and_buffers_are_errors() {
    let t = KernelTable::best();
    let w = fixture()
        .rename(|k| (k != "layer3.1.bn2.running_var").then(|| k.to_string()))
        .unwrap();
    let e = ResNet::new(&w, narrow(), t).err().unwrap();
    assert!(
        matches!(&e, Error::MissingKey(k) if k == "layer3.1.bn2.running_var"),
        "{e}"
    );
    let wide = ResNetOptions {
        width: 32,
        ..narrow()
    };
    let e = ResNet::new(&fixture(), wide, t).err().unwrap();
    assert!(
        matches!(&e, Error::Shape { key, .. } if key == "conv1.weight"),
        "{e}"
    );
    let mut extra = fixture();
    extra
        .insert("layer5.0.conv1.weight", vec![1], vec![0.0])
        .unwrap();
    assert!(matches!(
        ResNet::new(&extra, narrow(), t),
        Err(Error::UnexpectedKeys(_))
    ));
    let zero = ResNetOptions {
        width: 0,
        ..narrow()
    };
    assert!(matches!(
        ResNet::new(&fixture(), zero, t),
        Err(Error::InvalidArgument(_))
    ));
    // Headless: pooled only.
    let headless = fixture()
        .rename(|k| (!k.starts_with("fc.")).then(|| k.to_string()))
        .unwrap();
    let net = ResNet::new(&headless, narrow(), t).unwrap();
    assert!(matches!(
        net.output_dim(Output::Logits),
        Err(Error::Unsupported(_))
    ));
    assert_eq!(net.output_dim(Output::Pooled).unwrap(), 128);
    // Forward: short output, wrong channels, image smaller than the stem's window.
    let mut ws = Default::default();
    let x = vec![0.5f32; 32 * 32 * 3];
    let mut out = vec![0.0f32; 127];
    assert!(
        net.forward(
            Nhwc::new(1, 32, 32, 3),
            &x,
            Output::Pooled,
            &mut out,
            &mut ws
        )
        .is_err()
    );
    let mut out = vec![0.0f32; 128];
    assert!(
        net.forward(
            Nhwc::new(1, 32, 8, 12),
            &x,
            Output::Pooled,
            &mut out,
            &mut ws
        )
        .is_err()
    );
    assert!(
        net.forward(
            Nhwc::new(1, 32, 32, 3),
            &x[..10],
            Output::Pooled,
            &mut out,
            &mut ws
        )
        .is_err()
    );
    assert!(
        net.forward(Nhwc::new(1, 1, 1, 3), &x, Output::Pooled, &mut out, &mut ws)
            .is_ok()
    );
}
