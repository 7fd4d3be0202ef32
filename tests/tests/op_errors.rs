//! Bad input gets a clear error, never a panic: specific cases with their messages, then a
//! property test driving every operator with random (often invalid or huge) descriptors,
//! shapes and buffer lengths.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use ruvector_cnn_kernels::ops::*;
use ruvector_cnn_kernels::{Activation, KernelTable};

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

fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0usize..6, 2 => 6usize..40, 1 => Just(usize::MAX), 1 => Just(usize::MAX / 3), 1 => Just(1usize << 33)]
}

fn act() -> impl Strategy<Value = Activation> {
    (0usize..Activation::COUNT).prop_map(|i| Activation::ALL[i])
}

fn pad() -> impl Strategy<Value = Padding> {
    (0usize..3, 0usize..3, 0usize..3, 0usize..4).prop_map(|(top, left, bottom, right)| Padding {
        top,
        left,
        bottom,
        right,
    })
}

#[derive(Debug, Clone)]
struct Case {
    a: usize,
    b: usize,
    k: usize,
    s: usize,
    pad: Padding,
    act: Activation,
    shape: Nhwc,
    /// Size weights and buffers exactly (when small enough) instead of using the lengths below.
    exact: bool,
    wlen: usize,
    xlen: usize,
    ylen: usize,
}

fn case() -> impl Strategy<Value = Case> {
    let sizes = (
        prop::bool::weighted(0.8),
        0usize..400,
        0usize..3000,
        0usize..3000,
    );
    let batch = prop_oneof![4 => 1usize..3, 1 => dim()];
    let spatial = prop_oneof![4 => 1usize..20, 1 => dim()];
    (
        dim(),
        dim(),
        prop_oneof![3 => Just(3usize), 2 => Just(5usize), 2 => 0usize..7],
        prop_oneof![4 => 1usize..3, 1 => 0usize..4],
        pad(),
        act(),
        (
            batch,
            spatial.clone(),
            spatial,
            prop::option::weighted(0.8, Just(())),
            dim(),
        ),
        sizes,
    )
        .prop_map(
            |(a, b, k, s, pad, act, (n, h, w, same_c, c), (exact, wlen, xlen, ylen))| Case {
                a,
                b,
                k,
                s,
                pad,
                act,
                shape: Nhwc::new(n, h, w, if same_c.is_some() { a } else { c }),
                exact,
                wlen,
                xlen,
                ylen,
            },
        )
}

const SMALL: usize = 1 << 20;

impl Case {
    /// A buffer of `need` floats when exact and small, else of `fallback` floats.
    fn buf(&self, need: Option<usize>, fallback: usize, v: f32) -> Vec<f32> {
        let len = match need {
            Some(n) if self.exact && n <= SMALL => n,
            _ => fallback,
        };
        vec![v; len]
    }

    fn weights(&self, dims: &[usize]) -> Vec<f32> {
        self.buf(
            dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)),
            self.wlen,
            0.25,
        )
    }

    fn output(&self, out: Result<Nhwc>) -> Vec<f32> {
        self.buf(out.ok().and_then(|o| o.len().ok()), self.ylen, 0.0)
    }
}

/// Creates and runs every operator on the case; any panic fails the property.
fn exercise(c: &Case) {
    let t = t();
    let x = c.buf(c.shape.len().ok(), c.xlen, 1.0);
    let bias = (c.b < 100).then(|| vec![0.1f32; c.b]);
    let bias = bias.as_deref();
    let w = c.weights(&[c.a, c.b]);
    if let Ok(op) = Pointwise::new(
        &PointwiseDesc {
            cin: c.a,
            cout: c.b,
            weights: &w,
            bias,
            activation: c.act,
            residual: c.k == 0,
        },
        t,
    ) {
        let mut y = c.output(op.output_shape(c.shape));
        let _ = op.run(c.shape, &x, &mut y, (c.k == 0).then_some(&x[..]));
    }
    let w = c.weights(&[c.b, c.a]);
    if let Ok(op) = Linear::new(
        &LinearDesc {
            in_features: c.a,
            out_features: c.b,
            weights: &w,
            bias,
            activation: c.act,
        },
        t,
    ) {
        let mut y = c.buf(c.shape.n.checked_mul(c.b), c.ylen, 0.0);
        let _ = op.run(c.shape.n, &x, &mut y);
    }
    let w = c.weights(&[c.a, c.k, c.k]);
    let dbias = (c.a < 100).then(|| vec![0.1f32; c.a]);
    if let Ok(op) = DepthwiseConv2d::new(
        &DepthwiseDesc {
            channels: c.a,
            kernel: c.k,
            stride: c.s,
            padding: c.pad,
            weights: &w,
            bias: dbias.as_deref(),
            activation: c.act,
        },
        t,
    ) {
        let mut y = c.output(op.output_shape(c.shape));
        let _ = op.run(c.shape, &x, &mut y);
    }
    let w = c.weights(&[c.b, c.a, c.k, c.k]);
    if let Ok(op) = Conv2d::new(
        &Conv2dDesc {
            cin: c.a,
            cout: c.b,
            kernel: c.k,
            stride: c.s,
            padding: c.pad,
            weights: &w,
            bias,
            activation: c.act,
            residual: false,
            algorithm: ConvAlgorithm::Auto,
        },
        t,
    ) {
        let mut y = c.output(op.output_shape(c.shape));
        let mut ws = vec![0.0; op.workspace_len().min(1 << 20)];
        let _ = op.run(c.shape, &x, &mut y, None, &mut ws);
    }
    let p = c.weights(&[c.a]);
    if let Ok(op) = BatchNorm::new(
        &BatchNormDesc {
            channels: c.a,
            gamma: &p,
            beta: &p,
            mean: &p,
            var: &p,
            eps: 1e-3,
            activation: c.act,
        },
        t,
    ) {
        let mut y = c.buf(c.shape.len().ok(), c.ylen, 0.0);
        let _ = op.run(c.shape, &x, &mut y);
    }
    for kind in [
        PoolKind::Max,
        PoolKind::Average {
            count_include_pad: c.s == 1,
        },
    ] {
        if let Ok(op) = Pool::new(
            &PoolDesc {
                kind,
                channels: c.a,
                kernel: (c.k, c.b.min(9)),
                stride: (c.s, c.s),
                padding: c.pad,
            },
            t,
        ) {
            let mut y = c.output(op.output_shape(c.shape));
            let _ = op.run(c.shape, &x, &mut y);
        }
    }
    if let Ok(op) = GlobalAvgPool::new(c.a, t) {
        let mut y = c.buf(c.shape.n.checked_mul(c.a), c.ylen, 0.0);
        let _ = op.run(c.shape, &x, &mut y);
    }
    let w1 = c.weights(&[c.a, c.b]);
    let se = SqueezeExciteDesc {
        channels: c.a,
        squeeze: c.b,
        fc1_weights: &w1,
        fc1_bias: None,
        fc2_weights: &w1,
        fc2_bias: dbias.as_deref(),
        inner: c.act,
        gate: Activation::Hsigmoid,
    };
    if let Ok(op) = SqueezeExcite::new(&se, t) {
        let mut ws = c.buf(Some(op.workspace_len()), c.k * 20, 0.0);
        let mut y = c.buf(c.shape.len().ok(), c.ylen, 0.0);
        let _ = op.run(c.shape, &x, &mut y, &mut ws);
    }
}

/// How many generated cases got as far as a successful `run` (the property is not vacuous).
#[test]
fn fuzz_reaches_run() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = case();
    let mut ran = 0;
    for _ in 0..400 {
        let c = strategy.new_tree(&mut runner).unwrap().current();
        let w = c.weights(&[c.a, c.k, c.k]);
        let x = c.buf(c.shape.len().ok(), c.xlen, 1.0);
        if let Ok(op) = DepthwiseConv2d::new(
            &DepthwiseDesc {
                channels: c.a,
                kernel: c.k,
                stride: c.s,
                padding: c.pad,
                weights: &w,
                bias: None,
                activation: c.act,
            },
            t(),
        ) {
            let mut y = c.output(op.output_shape(c.shape));
            ran += usize::from(op.run(c.shape, &x, &mut y).is_ok());
        }
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
