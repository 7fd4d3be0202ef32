//! Bad input gets a clear error, never a panic: specific cases with their messages, then a
//! property test driving every operator with random (often invalid or huge) descriptors,
//! shapes and buffer lengths.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use ruvector_cnn_kernels::ops::*;
use ruvector_cnn_kernels::{Activation, KernelTable};
use ruvector_cnn_tests::fuzz::{Bytes, OpCase, depthwise, exercise};

fn t() -> &'static KernelTable {
    KernelTable::best()
}

fn err<T>(r: Result<T>) -> Error {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

#[test]
fn descriptive_errors() {
    let w = vec![0.5; 128];
    let pw = |cin, cout, weights: &[f32]| {
        Pointwise::new(
            &PointwiseDesc {
                cin,
                cout,
                weights,
                bias: None,
                activation: Activation::Relu,
                residual: false,
            },
            t(),
        )
    };
    assert_eq!(
        err(pw(0, 4, &w)).to_string(),
        "invalid argument: cin must be at least 1"
    );
    assert_eq!(
        err(pw(4, 4, &w[..15])).to_string(),
        "weights has 15 values, expected 16"
    );
    let op = pw(4, 4, &w[..16]).unwrap();
    let mut y = vec![0.0; 16];
    assert_eq!(
        err(op.run(Nhwc::new(1, 2, 2, 4), &w[..15], &mut y, None)).to_string(),
        "input buffer too small: 15 floats, need 16"
    );
    assert!(
        err(op.run(Nhwc::new(1, 2, 2, 3), &w, &mut y, None))
            .to_string()
            .contains("3 channels")
    );
    assert!(
        err(op.run(Nhwc::new(1, 2, 2, 4), &w, &mut y, Some(&w)))
            .to_string()
            .contains("residual")
    );
    assert!(matches!(
        err(op.run(Nhwc::new(usize::MAX, 2, 2, 4), &w, &mut y, None)),
        Error::SizeOverflow(_)
    ));
    let res = Pointwise::new(
        &PointwiseDesc {
            cin: 4,
            cout: 4,
            weights: &w[..16],
            bias: None,
            activation: Activation::Relu,
            residual: true,
        },
        t(),
    );
    assert!(matches!(err(res), Error::Unsupported(m) if m.contains("residual")));

    let dw = |k, s, pad| {
        DepthwiseConv2d::new(
            &DepthwiseDesc {
                channels: 2,
                kernel: k,
                stride: s,
                padding: Padding::same(pad),
                weights: &w[..2 * k * k],
                bias: None,
                activation: Activation::Linear,
            },
            t(),
        )
    };
    assert!(matches!(err(dw(7, 1, 3)), Error::Unsupported(m) if m.contains("7x7")));
    assert!(matches!(err(dw(3, 3, 1)), Error::Unsupported(_)));
    assert!(err(dw(3, 0, 1)).to_string().contains("stride"));
    assert!(err(dw(3, 1, 3)).to_string().contains("padding"));
    let op = dw(3, 2, 0).unwrap();
    assert!(
        err(op.run(Nhwc::new(1, 2, 2, 2), &w, &mut y,))
            .to_string()
            .contains("smaller than the window")
    );

    let conv = Conv2d::new(
        &Conv2dDesc {
            cin: 1,
            cout: 1,
            kernel: 7,
            stride: 1,
            padding: Padding::ZERO,
            weights: &w[..49],
            bias: None,
            activation: Activation::Linear,
            residual: false,
            algorithm: ConvAlgorithm::Direct,
        },
        t(),
    );
    assert!(matches!(err(conv), Error::Unsupported(m) if m.contains("7x7")));

    let ones = [1.0f32; 2];
    let bn = |var: &[f32], eps: f32, mean: &[f32]| {
        BatchNorm::new(
            &BatchNormDesc {
                channels: 2,
                gamma: &ones,
                beta: &ones,
                mean,
                var,
                eps,
                activation: Activation::Linear,
            },
            t(),
        )
    };
    assert!(
        err(bn(&[1.0, -1.0], 1e-3, &ones))
            .to_string()
            .contains("var[1] is negative")
    );
    assert!(err(bn(&ones, 0.0, &ones)).to_string().contains("eps"));
    assert!(
        err(bn(&ones, 1e-3, &[0.0, f32::NAN]))
            .to_string()
            .contains("mean[1] is not finite")
    );

    let pool = Pool::new(
        &PoolDesc {
            kind: PoolKind::Max,
            channels: 2,
            kernel: (2, 2),
            stride: (2, 2),
            padding: Padding::same(2),
        },
        t(),
    );
    assert!(err(pool).to_string().contains("padding"));
    let se = SqueezeExcite::new(
        &SqueezeExciteDesc {
            channels: 4,
            squeeze: 2,
            fc1_weights: &w[..8],
            fc1_bias: None,
            fc2_weights: &w[..8],
            fc2_bias: None,
            inner: Activation::Relu,
            gate: Activation::Hsigmoid,
        },
        t(),
    )
    .unwrap();
    let mut ws = vec![0.0; se.workspace_len() - 1];
    assert!(
        err(se.run(Nhwc::new(1, 1, 1, 4), &w, &mut y, &mut ws))
            .to_string()
            .contains("workspace")
    );
    let fc = Linear::new(
        &LinearDesc {
            in_features: 4,
            out_features: 4,
            weights: &w[..16],
            bias: Some(&w[..3]),
            activation: Activation::Linear,
        },
        t(),
    );
    assert_eq!(err(fc).to_string(), "bias has 3 values, expected 4");
    let e = Elementwise::new(Activation::Relu, t()).unwrap();
    assert!(matches!(
        err(e.run(&w, &mut y)),
        Error::BufferTooSmall { .. }
    ));
}

/// Cases decoded from random bytes by the fuzz target's own decoder.
fn case() -> impl Strategy<Value = OpCase> {
    proptest::collection::vec(any::<u8>(), 16..80)
        .prop_map(|bytes| OpCase::from_bytes(&mut Bytes::new(&bytes)))
}

/// How many generated cases got as far as a successful `run` (the property is not vacuous).
#[test]
fn fuzz_reaches_run() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = case();
    let mut ran = 0;
    for _ in 0..400 {
        let c = strategy.new_tree(&mut runner).unwrap().current();
        let x = c.buf(c.shape.len().ok(), c.xlen, 1.0);
        ran += usize::from(depthwise(&c, &x, None));
    }
    eprintln!("fuzz: {ran} of 400 cases ran a depthwise op");
    assert!(ran >= 40, "only {ran} of 400 fuzz cases ran a depthwise op");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn operators_never_panic(c in case()) {
        let r = std::panic::catch_unwind(|| exercise(&c));
        prop_assert!(r.is_ok(), "panicked on {:?}", c);
    }
}
