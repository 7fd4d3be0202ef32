//! `run_rows` (the per-thread slice of an image) is bit-identical to `run` for any split of
//! the output rows, for depthwise and dense 3x3 convolutions, at every ISA level; so is the
//! depthwise `run_rows_band` (input rows from a band that holds only what the rows read).

use proptest::prelude::*;
use ruvector_cnn_kernels::Activation;
use ruvector_cnn_kernels::ops::*;
use ruvector_cnn_tests::{bits, levels, table_at, values};

/// Runs `rows_op` over the output rows split at `cuts` and compares with the whole `run`.
fn check_split(
    out_h: usize,
    row_len: usize,
    whole: &[f32],
    cuts: &[usize],
    mut rows_op: impl FnMut(&mut [f32], std::ops::Range<usize>),
) {
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % out_h).filter(|&c| c > 0).collect();
    bounds.extend([0, out_h]);
    bounds.sort_unstable();
    bounds.dedup();
    let mut split = vec![f32::NAN; whole.len()];
    for w in bounds.windows(2) {
        rows_op(&mut split[w[0] * row_len..w[1] * row_len], w[0]..w[1]);
    }
    assert_eq!(bits(&split), bits(whole), "rows split at {bounds:?}");
}

/// `run_rows_band` for output rows `rows` from a band holding exactly the input rows their
/// windows read plus up to `spare` poisoned rows on each side (which must not be read); also
/// checks that a band one row short on either side is an error.
#[allow(clippy::too_many_arguments)]
fn band_rows(
    op: &DepthwiseConv2d,
    shape: Nhwc,
    k: usize,
    s: usize,
    pad_top: usize,
    x: &[f32],
    y: &mut [f32],
    rows: std::ops::Range<usize>,
    spare: usize,
) {
    let row = shape.w * shape.c;
    let lo = (rows.start * s).saturating_sub(pad_top);
    let hi = ((rows.end - 1) * s + k)
        .saturating_sub(pad_top)
        .min(shape.h);
    let first = lo.saturating_sub(spare);
    let last = (hi + spare).min(shape.h);
    let mut band = vec![1e30f32; (last - first) * row];
    band[(lo - first) * row..(hi - first) * row].copy_from_slice(&x[lo * row..hi * row]);
    op.run_rows_band(shape, &band, first, y, rows.clone())
        .unwrap();
    // Exactly the needed rows (an exact-length buffer, for the sanitizers).
    let exact = x[lo * row..hi * row].to_vec();
    let mut again = vec![f32::NAN; y.len()];
    op.run_rows_band(shape, &exact, lo, &mut again, rows.clone())
        .unwrap();
    assert_eq!(bits(&again), bits(y));
    let mut err = |b: &[f32], f: usize| op.run_rows_band(shape, b, f, &mut again, rows.clone());
    if hi - lo > 1 {
        assert!(
            err(&exact[row..], lo + 1).is_err(),
            "band missing its first row"
        );
        assert!(
            err(&exact[..exact.len() - row], lo).is_err(),
            "band missing its last row"
        );
    }
}

proptest! {
    #![proptest_config(ruvector_cnn_tests::proptest_config())]

    #[test]
    fn depthwise_rows_match_run(
        c in 1usize..40, h in 1usize..20, w in 1usize..20, big_k in any::<bool>(),
        s in 1usize..=2, pt in 0usize..3, pb in 0usize..3, pl in 0usize..3,
        cuts in proptest::collection::vec(0usize..40, 0..4), spare in 0usize..3,
    ) {
        let k = if big_k { 5 } else { 3 };
        let padding = Padding { top: pt.min(k - 1), left: pl.min(k - 1), bottom: pb.min(k - 1), right: pl.min(k - 1) };
        prop_assume!(h + padding.top + padding.bottom >= k && w + 2 * padding.left >= k);
        let wts = values(1, c * k * k, 0.5);
        let bias = values(2, c, 0.5);
        let x = values(3, h * w * c, 1.0);
        for level in levels("depthwise run_rows") {
            let op = DepthwiseConv2d::new(&DepthwiseDesc {
                channels: c, kernel: k, stride: s, padding, weights: &wts, bias: Some(&bias),
                activation: Activation::Hswish,
            }, &table_at(level)).unwrap();
            let shape = Nhwc::new(1, h, w, c);
            let out = op.output_shape(shape).unwrap();
            let mut whole = vec![0.0; out.len().unwrap()];
            op.run(shape, &x, &mut whole).unwrap();
            check_split(out.h, out.w * c, &whole, &cuts, |y, rows| op.run_rows(shape, &x, y, rows).unwrap());
            check_split(out.h, out.w * c, &whole, &cuts, |y, rows| {
                band_rows(&op, shape, k, s, padding.top, &x, y, rows, spare)
            });
        }
    }

    #[test]
    fn conv3x3_rows_match_run(
        cin in 1usize..6, cout in 1usize..20, h in 1usize..16, w in 1usize..16,
        s in 1usize..=2, pt in 0usize..3, pl in 0usize..3,
        cuts in proptest::collection::vec(0usize..40, 0..4),
    ) {
        let padding = Padding { top: pt, left: pl, bottom: pt, right: pl };
        prop_assume!(h + 2 * pt >= 3 && w + 2 * pl >= 3);
        let wts = values(4, cout * cin * 9, 0.5);
        let bias = values(5, cout, 0.5);
        let x = values(6, h * w * cin, 1.0);
        for level in levels("conv3x3 run_rows") {
            let op = Conv2d::new(&Conv2dDesc {
                cin, cout, kernel: 3, stride: s, padding, weights: &wts, bias: Some(&bias),
                activation: Activation::Relu6, residual: false, algorithm: ConvAlgorithm::Direct,
            }, &table_at(level)).unwrap();
            let shape = Nhwc::new(1, h, w, cin);
            let out = op.output_shape(shape).unwrap();
            let mut whole = vec![0.0; out.len().unwrap()];
            op.run(shape, &x, &mut whole, None, &mut []).unwrap();
            check_split(out.h, out.w * cout, &whole, &cuts, |y, rows| {
                op.run_rows(shape, &x, y, rows, None, &mut []).unwrap()
            });
        }
    }
}

#[test]
fn bad_row_ranges_are_errors() {
    let t = table_at(ruvector_cnn_kernels::Isa::Scalar);
    let wts = vec![0.1; 4 * 9];
    let op = DepthwiseConv2d::new(
        &DepthwiseDesc {
            channels: 4,
            kernel: 3,
            stride: 1,
            padding: Padding::same(1),
            weights: &wts,
            bias: None,
            activation: Activation::Linear,
        },
        &t,
    )
    .unwrap();
    let shape = Nhwc::new(1, 5, 5, 4);
    let x = vec![1.0; 100];
    let mut y = vec![0.0; 100];
    assert!(op.run_rows(shape, &x, &mut y, 3..3).is_err());
    assert!(op.run_rows(shape, &x, &mut y, 4..6).is_err());
    assert!(op.run_rows(shape, &x, &mut y[..19], 0..1).is_err());
    assert!(
        op.run_rows(Nhwc::new(2, 5, 5, 4), &x, &mut y, 0..1)
            .is_err()
    );
    assert!(op.run_rows(shape, &x, &mut y[..20], 4..5).is_ok());
}
