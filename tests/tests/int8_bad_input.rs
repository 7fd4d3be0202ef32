//! Hostile arguments to the INT8 operators: every one is a clear error, never a panic.

use ruvector_cnn_kernels::KernelTable;
use ruvector_cnn_kernels::ops::{
    Nhwc, Padding, QuantAdd, QuantDepthwise, QuantDepthwiseDesc, QuantGlobalAvgPool, QuantParams,
    QuantPointwise, QuantPointwiseDesc, Quantize,
};
use ruvector_cnn_kernels::pack::QuantWeights;
use ruvector_cnn_kernels::quant::{AddRequant, QuantOut, check_multiplier};

fn weights<'a>(w: &'a [i8], b: &'a [i32], r: &'a [f32], outputs: usize) -> QuantWeights<'a> {
    QuantWeights {
        outputs,
        taps: w.len() / outputs.max(1),
        weights: w,
        bias: b,
        scale: r,
        input_zero_point: 7,
    }
}

#[test]
fn bad_descriptors_and_buffers_are_errors() {
    let t = KernelTable::best();
    let rq = vec![0.01f32; 4];
    let (w, b) = (vec![1i8; 4 * 9], vec![0i32; 4]);
    let out = QuantOut::linear(0);
    // Pointwise: zero outputs, short bias, a reduction long enough to overflow i32.
    for q in [
        weights(&w, &b, &rq, 0),
        QuantWeights {
            bias: &b[..3],
            ..weights(&w, &b, &rq, 4)
        },
        QuantWeights {
            taps: 1 << 20,
            ..weights(&w, &b, &rq, 4)
        },
    ] {
        assert!(QuantPointwise::new(&QuantPointwiseDesc { weights: q, out }, t).is_err());
    }
    // Multipliers that are zero, negative, NaN or too large.
    for m in [0.0, -1.0, f32::NAN, f32::INFINITY, 1e10] {
        let bad_rq = [0.01, m, 0.01, 0.01];
        let q = QuantWeights {
            scale: &bad_rq,
            ..weights(&w, &b, &rq, 4)
        };
        assert!(QuantPointwise::new(&QuantPointwiseDesc { weights: q, out }, t).is_err());
    }
    // Depthwise: taps that do not match the window, unsupported stride, padding ≥ K.
    let dw = |kernel, stride, pad| QuantDepthwiseDesc {
        weights: weights(&w, &b, &rq, 4),
        kernel,
        stride,
        padding: Padding::same(pad),
        out,
    };
    assert!(QuantDepthwise::new(&dw(5, 1, 2), t).is_err());
    assert!(QuantDepthwise::new(&dw(3, 3, 1), t).is_err());
    assert!(QuantDepthwise::new(&dw(3, 1, 3), t).is_err());
    let op = QuantDepthwise::new(&dw(3, 1, 1), t).unwrap();
    let mut y = vec![0u8; 64];
    assert!(
        op.run(Nhwc::new(1, 4, 4, 3), &[0; 48], &mut y).is_err(),
        "wrong channels"
    );
    assert!(
        op.run(Nhwc::new(1, 4, 4, 4), &[0; 63], &mut y).is_err(),
        "short input"
    );
    assert!(
        op.run(Nhwc::new(usize::MAX, 4, 4, 4), &[0; 64], &mut y)
            .is_err(),
        "overflowing shape"
    );
    // Requantization and add multipliers outside their ranges.
    assert!(check_multiplier(f32::NAN).is_err());
    assert!(AddRequant::from_ratios(1e7, 1.0).is_err());
    let p = QuantParams {
        scale: 0.1,
        zero_point: 3,
    };
    let tiny = QuantParams {
        scale: 1e-30,
        zero_point: 0,
    };
    assert!(QuantAdd::new(p, p, 1e-9, QuantOut::linear(0), t).is_err());
    // A negligible input scale is valid (its multiplier rounds to 0), not an error.
    assert!(QuantAdd::new(tiny, p, 0.1, QuantOut::linear(0), t).is_ok());
    let add = QuantAdd::new(p, p, 0.2, QuantOut::linear(0), t).unwrap();
    assert!(add.run(&[1; 8], &[1; 7], &mut [0; 8]).is_err());
    assert!(add.run(&[1; 8], &[1; 8], &mut [0; 7]).is_err());
    // Conversions and pooling.
    assert!(
        Quantize::new(
            QuantParams {
                scale: -1.0,
                zero_point: 0
            },
            t
        )
        .is_err()
    );
    let q = Quantize::new(p, t).unwrap();
    let mut qb = [9u8; 4];
    q.run(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0], &mut qb)
        .unwrap();
    assert_eq!(qb, [0, 255, 0, 3], "NaN → 0, ±∞ saturate, 0 → zero point");
    assert!(QuantGlobalAvgPool::new(0, p, t).is_err());
    let pool = QuantGlobalAvgPool::new(2, p, t).unwrap();
    let mut m = [0f32; 2];
    assert!(
        pool.run(Nhwc::new(1, 300, 300, 2), &[0; 2], &mut m)
            .is_err(),
        "too many pixels"
    );
    assert!(pool.run(Nhwc::new(1, 2, 2, 2), &[0; 7], &mut m).is_err());
}
