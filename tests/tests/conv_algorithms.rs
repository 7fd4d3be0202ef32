//! `Conv2d`'s algorithms at every ISA level against the exact (f64) direct convolution:
//! - Winograd F(2x2, 3x3) within its documented bound: the crate's tolerance rule with
//!   `cin + 12` terms over the magnitude of the Winograd computation
//!   (`reference::winograd::magnitudes`);
//! - im2col (any window and stride) and the residual pass of the unfused methods within the
//!   plain rule;
//! - the `Auto` choice and the errors of impossible forced choices.
//!
//! Shapes are drawn by proptest (odd and tiny images, every padding, channel tails, batches,
//! row windows, residuals); `RVCNN_PROPTEST_CASES` sets the cases per level.

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use ruvector_cnn_kernels::ops::{
    Conv2d, Conv2dDesc, ConvAlgorithm, Error, Nhwc, Padding, Winograd3x3, WinogradDesc,
};
use ruvector_cnn_kernels::reference::{self, Acc, Expected};
use ruvector_cnn_kernels::{Activation, KernelTable};
use ruvector_cnn_tests::proptest_config as config;
use ruvector_cnn_tests::{levels, table_at, values};

#[derive(Clone, Debug)]
struct Case {
    shape: Nhwc,
    cout: usize,
    pad: Padding,
    act: Activation,
    residual: bool,
    /// Compute the first image's output in two row windows split here (0: one `run`).
    split: usize,
}

type RowsResult = Result<(), ruvector_cnn_kernels::ops::Error>;

/// Recomputes image 0 in two row windows split at `split` (when inside the image) with
/// `run_rows` and checks that they equal the whole run `y`.
#[allow(clippy::too_many_arguments)]
fn split_rows_match(
    shape: Nhwc,
    out: Nhwc,
    split: usize,
    x: &[f32],
    y: &[f32],
    res: Option<&[f32]>,
    ws: &mut [f32],
    run_rows: impl Fn(
        Nhwc,
        &[f32],
        &mut [f32],
        std::ops::Range<usize>,
        Option<&[f32]>,
        &mut [f32],
    ) -> RowsResult,
) -> Result<(), String> {
    if split == 0 || split >= out.h {
        return Ok(());
    }
    let row = out.w * out.c;
    let one = Nhwc { n: 1, ..shape };
    let img = &x[..one.len().unwrap()];
    let mut parts = vec![f32::NAN; out.h * row];
    let (top, bottom) = parts.split_at_mut(split * row);
    let rr = |rows: std::ops::Range<usize>| res.map(|r| &r[rows.start * row..rows.end * row]);
    run_rows(one, img, top, 0..split, rr(0..split), ws)
        .and_then(|()| run_rows(one, img, bottom, split..out.h, rr(split..out.h), ws))
        .map_err(|e| e.to_string())?;
    if parts != y[..out.h * row] {
        return Err(format!("row windows split at {split} differ from one run"));
    }
    Ok(())
}

/// The exact output with the Winograd error bound.
fn expected(c: &Case, x: &[f32], w: &[f32], b: &[f32], r: &[f32]) -> (Nhwc, Expected) {
    let (out, direct) = reference::conv2d(
        x,
        c.shape,
        w,
        Some(b),
        c.cout,
        3,
        1,
        c.pad,
        1,
        Activation::Linear,
    );
    let mags = reference::winograd::magnitudes(x, c.shape, w, c.cout, c.pad);
    let mut e = Expected::new(direct.value.len(), c.shape.c + 12, c.act);
    for (i, &mag) in mags.iter().enumerate() {
        let mut acc = Acc {
            sum: direct.value[i],
            mag: mag + f64::from(b[i % c.cout]).abs(),
        };
        if c.residual {
            acc.add(f64::from(r[i]));
        }
        e.set(i, acc, c.act);
    }
    (out, e)
}

fn check(t: &KernelTable, c: &Case) -> Result<(), String> {
    let cin = c.shape.c;
    let w = values(1, c.cout * cin * 9, 0.5);
    let b = values(2, c.cout, 0.5);
    let x = values(3, c.shape.len().unwrap(), 2.0);
    let op = Winograd3x3::new(
        &WinogradDesc {
            cin,
            cout: c.cout,
            padding: c.pad,
            weights: &w,
            bias: Some(&b),
            activation: c.act,
            residual: c.residual,
        },
        t,
    )
    .map_err(|e| e.to_string())?;
    let out = op.output_shape(c.shape).map_err(|e| e.to_string())?;
    let r = values(4, out.len().unwrap(), 1.0);
    let mut y = vec![f32::NAN; out.len().unwrap()];
    let mut ws = vec![0.0; op.workspace_len()];
    let res = c.residual.then_some(&r[..]);
    op.run(c.shape, &x, &mut y, res, &mut ws)
        .map_err(|e| e.to_string())?;
    split_rows_match(
        c.shape,
        out,
        c.split,
        &x,
        &y,
        res,
        &mut ws,
        |one, img, part, rows, r, ws| op.run_rows(one, img, part, rows, r, ws),
    )?;
    let (_, want) = expected(c, &x, &w, &b, &r);
    want.check_grid(&y, out.w, c.cout)
        .map_err(|e| format!("{:?}: {e}", op.kernel_ids()))
}

fn case() -> impl Strategy<Value = Case> {
    let act = prop_oneof![
        Just(Activation::Linear),
        Just(Activation::Relu),
        Just(Activation::Relu6),
        Just(Activation::Hswish)
    ];
    (
        (1usize..3, 1usize..14, 1usize..14, 1usize..40, 1usize..40),
        // Padding as wide as the window or wider is allowed (outputs over padding only).
        [0usize..6, 0..6, 0..6, 0..6],
        (act, any::<bool>(), 0usize..8),
    )
        .prop_filter_map(
            "image smaller than the window",
            |((n, h, w, cin, cout), p, (act, res, split))| {
                let pad = Padding {
                    top: p[0],
                    left: p[1],
                    bottom: p[2],
                    right: p[3],
                };
                (h + pad.top + pad.bottom >= 3 && w + pad.left + pad.right >= 3).then_some(Case {
                    shape: Nhwc::new(n, h, w, cin),
                    cout,
                    pad,
                    act,
                    residual: res && matches!(act, Activation::Linear | Activation::Relu),
                    split,
                })
            },
        )
}

#[test]
fn winograd_matches_direct_convolution_at_every_level() {
    for level in levels("winograd_matches_direct_convolution") {
        let t = table_at(level);
        let fixed = [
            (Nhwc::new(1, 14, 14, 64), 64, Padding::same(1)),
            (Nhwc::new(2, 7, 9, 33), 17, Padding::same(1)),
            (Nhwc::new(1, 1, 1, 5), 3, Padding::same(1)),
            (Nhwc::new(1, 3, 3, 16), 16, Padding::same(0)),
        ];
        for (shape, cout, pad) in fixed {
            let c = Case {
                shape,
                cout,
                pad,
                act: Activation::Relu,
                residual: true,
                split: 3,
            };
            check(&t, &c).unwrap_or_else(|e| panic!("{level} {c:?}: {e}"));
        }
        let mut runner = TestRunner::new(config());
        runner
            .run(&case(), |c| check(&t, &c).map_err(TestCaseError::fail))
            .unwrap_or_else(|e| panic!("{level}: {e}"));
    }
}

/// A dense convolution of any window, stride and method.
#[derive(Clone, Debug)]
struct Dense {
    shape: Nhwc,
    cout: usize,
    k: usize,
    stride: usize,
    pad: Padding,
    act: Activation,
    residual: bool,
    algorithm: ConvAlgorithm,
    split: usize,
}

fn check_dense(t: &KernelTable, c: &Dense) -> Result<(), String> {
    let cin = c.shape.c;
    let w = values(11, c.cout * cin * c.k * c.k, 0.5);
    let b = values(12, c.cout, 0.5);
    let x = values(13, c.shape.len().unwrap(), 2.0);
    let op = Conv2d::new(
        &Conv2dDesc {
            cin,
            cout: c.cout,
            kernel: c.k,
            stride: c.stride,
            padding: c.pad,
            weights: &w,
            bias: Some(&b),
            activation: c.act,
            residual: c.residual,
            algorithm: c.algorithm,
        },
        t,
    )
    .map_err(|e| e.to_string())?;
    if op.algorithm() != c.algorithm {
        return Err(format!(
            "asked for {:?}, got {:?}",
            c.algorithm,
            op.algorithm()
        ));
    }
    let out = op.output_shape(c.shape).map_err(|e| e.to_string())?;
    let r = values(14, out.len().unwrap(), 1.0);
    let res = c.residual.then_some(&r[..]);
    let mut y = vec![f32::NAN; out.len().unwrap()];
    let mut ws = vec![0.0; op.workspace_len()];
    op.run(c.shape, &x, &mut y, res, &mut ws)
        .map_err(|e| e.to_string())?;
    split_rows_match(
        c.shape,
        out,
        c.split,
        &x,
        &y,
        res,
        &mut ws,
        |one, img, part, rows, r, ws| op.run_rows(one, img, part, rows, r, ws),
    )?;
    let (_, direct) = reference::conv2d(
        &x,
        c.shape,
        &w,
        Some(&b),
        c.cout,
        c.k,
        c.stride,
        c.pad,
        1,
        Activation::Linear,
    );
    let mut want = Expected::new(direct.value.len(), direct.terms + 1, c.act);
    for (i, (&sum, &mag)) in direct.value.iter().zip(&direct.mag).enumerate() {
        let mut acc = Acc { sum, mag };
        if c.residual {
            acc.add(f64::from(r[i]));
        }
        want.set(i, acc, c.act);
    }
    want.check_grid(&y, out.w, c.cout)
        .map_err(|e| format!("{}: {e}", op.kernel_id()))
}

fn dense_case() -> impl Strategy<Value = Dense> {
    (
        (1usize..3, 1usize..12, 1usize..12, 1usize..12, 1usize..20),
        (1usize..8, 1usize..4, [0usize..7, 0..7, 0..7, 0..7]),
        (
            prop_oneof![
                Just(Activation::Linear),
                Just(Activation::Relu),
                Just(Activation::Hswish)
            ],
            any::<bool>(),
            any::<bool>(),
            0usize..8,
        ),
    )
        .prop_filter_map(
            "window larger than the padded image",
            |((n, h, w, cin, cout), (k, stride, p), (act, res, direct, split))| {
                let pad = Padding {
                    top: p[0] % (k + 2),
                    left: p[1] % (k + 2),
                    bottom: p[2] % (k + 2),
                    right: p[3] % (k + 2),
                };
                let narrow = [pad.top, pad.left, pad.bottom, pad.right]
                    .iter()
                    .all(|&p| p < k);
                let algorithm = if direct && k == 3 && stride <= 2 && narrow {
                    ConvAlgorithm::Direct
                } else {
                    ConvAlgorithm::Im2col
                };
                (h + pad.top + pad.bottom >= k && w + pad.left + pad.right >= k).then_some(Dense {
                    shape: Nhwc::new(n, h, w, cin),
                    cout,
                    k,
                    stride,
                    pad,
                    act,
                    residual: res && act != Activation::Hswish,
                    algorithm,
                    split,
                })
            },
        )
}

#[test]
fn im2col_and_direct_residuals_match_the_reference_at_every_level() {
    for level in levels("im2col_and_direct_residuals") {
        let t = table_at(level);
        // The ResNet stem and downsampling shapes.
        let resnet = [
            (Nhwc::new(1, 33, 31, 3), 16, 7, 2, Padding::same(3), false),
            (Nhwc::new(2, 14, 14, 16), 32, 1, 2, Padding::ZERO, false),
            (Nhwc::new(1, 9, 9, 24), 24, 3, 1, Padding::same(1), true),
        ];
        for (shape, cout, k, stride, pad, residual) in resnet {
            let c = Dense {
                shape,
                cout,
                k,
                stride,
                pad,
                act: Activation::Relu,
                residual,
                algorithm: if k == 3 {
                    ConvAlgorithm::Direct
                } else {
                    ConvAlgorithm::Im2col
                },
                split: 2,
            };
            check_dense(&t, &c).unwrap_or_else(|e| panic!("{level} {c:?}: {e}"));
        }
        let mut runner = TestRunner::new(config());
        runner
            .run(&dense_case(), |c| {
                check_dense(&t, &c).map_err(TestCaseError::fail)
            })
            .unwrap_or_else(|e| panic!("{level}: {e}"));
    }
}

#[test]
fn auto_follows_the_cost_rule_and_forcing_the_impossible_is_an_error() {
    let t = KernelTable::best();
    let w = values(1, 32 * 32 * 49, 0.5);
    let make = |cin: usize, cout: usize, k: usize, stride: usize, algorithm| {
        Conv2d::new(
            &Conv2dDesc {
                cin,
                cout,
                kernel: k,
                stride,
                padding: Padding::same(k / 2),
                weights: &w[..cout * cin * k * k],
                bias: None,
                activation: Activation::Relu,
                residual: false,
                algorithm,
            },
            t,
        )
        .map(|op| op.algorithm())
    };
    use ConvAlgorithm::*;
    assert_eq!(make(16, 16, 3, 1, Auto), Ok(Winograd));
    assert_eq!(make(8, 32, 3, 1, Auto), Ok(Direct));
    assert_eq!(make(32, 32, 3, 2, Auto), Ok(Direct));
    assert_eq!(make(3, 16, 7, 2, Auto), Ok(Im2col));
    assert_eq!(make(16, 16, 3, 3, Auto), Ok(Im2col));
    assert_eq!(make(8, 8, 3, 1, Winograd), Ok(Winograd));
    assert_eq!(make(32, 32, 3, 1, Direct), Ok(Direct));
    assert_eq!(make(16, 16, 3, 1, Im2col), Ok(Im2col));
    assert!(
        matches!(make(16, 16, 3, 2, Winograd), Err(Error::Unsupported(m)) if m.contains("stride 2"))
    );
    assert!(matches!(make(3, 16, 7, 2, Direct), Err(Error::Unsupported(m)) if m.contains("7x7")));
    assert!(matches!(make(3, 16, 5, 1, Winograd), Err(Error::Unsupported(m)) if m.contains("5x5")));
    // Padding of the window's width or more: Winograd and im2col only.
    let padded = |pad: usize, algorithm| {
        Conv2d::new(
            &Conv2dDesc {
                cin: 4,
                cout: 4,
                kernel: 3,
                stride: 2,
                padding: Padding::same(pad),
                weights: &w[..144],
                bias: None,
                activation: Activation::Linear,
                residual: false,
                algorithm,
            },
            t,
        )
        .map(|op| op.algorithm())
    };
    assert_eq!(padded(3, Auto), Ok(Im2col));
    assert!(matches!(padded(3, Direct), Err(Error::Unsupported(_))));
    assert!(
        matches!(padded(1 << 20, Im2col), Err(Error::InvalidArgument(m)) if m.contains("exceeds"))
    );
}
