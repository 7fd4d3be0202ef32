//! Every backward pass of `contrastive::backprop` against central finite differences (f64):
//! activations, pointwise and depthwise convolution (strides, padding, odd sizes, batches),
//! global average pooling and squeeze-excitation; plus f32 (GEMM kernels) against f64.

use ruvector_cnn_kernels::Activation;
use ruvector_cnn_model::contrastive::backprop::*;

mod common;
use common::data;

/// Checks `grad` (the analytic ∂L/∂v) against central differences of `loss` in each entry
/// of `v`.
fn check(what: &str, v: &[f64], grad: &[f64], loss: impl Fn(&[f64]) -> f64) {
    assert_eq!(v.len(), grad.len(), "{what}");
    let h = 1e-6;
    for i in 0..v.len() {
        let (mut p, mut m) = (v.to_vec(), v.to_vec());
        p[i] += h;
        m[i] -= h;
        let fd = (loss(&p) - loss(&m)) / (2.0 * h);
        assert!(
            (fd - grad[i]).abs() <= 1e-6 * (1.0 + fd.abs()),
            "{what}[{i}]: analytic {}, numeric {fd}",
            grad[i]
        );
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn activation_derivatives() {
    // Values away from the kinks (finite differences straddle them otherwise).
    let pre: Vec<f64> = data(1, 64)
        .iter()
        .map(|v| v * 7.0)
        .filter(|v| {
            [0.0f64, 6.0, -3.0, 3.0]
                .iter()
                .all(|k| (v - k).abs() > 1e-3)
        })
        .collect();
    let c = data(2, pre.len());
    for act in [
        Activation::Linear,
        Activation::Relu,
        Activation::Relu6,
        Activation::Hswish,
        Activation::Hsigmoid,
    ] {
        let loss = |v: &[f64]| {
            let mut y = vec![0.0; v.len()];
            act_forward(act, v, &mut y);
            dot(&y, &c)
        };
        let mut g = vec![0.0; pre.len()];
        act_backward(act, &pre, &c, &mut g);
        check(&format!("{act}"), &pre, &g, loss);
    }
}

#[test]
fn pointwise_gradients() {
    let (pixels, cin, cout) = (7, 5, 3);
    let (x, w, b, c) = (
        data(3, pixels * cin),
        data(4, cout * cin),
        data(5, cout),
        data(6, pixels * cout),
    );
    let loss = |x: &[f64], w: &[f64], b: &[f64]| {
        let mut y = vec![0.0; pixels * cout];
        pointwise_forward(x, pixels, cin, w, b, &mut y).unwrap();
        dot(&y, &c)
    };
    let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; b.len()]);
    pointwise_backward(&x, pixels, cin, &w, &c, Some(&mut dx), &mut dw, &mut db).unwrap();
    check("pointwise dx", &x, &dx, |v| loss(v, &w, &b));
    check("pointwise dw", &w, &dw, |v| loss(&x, v, &b));
    check("pointwise db", &b, &db, |v| loss(&x, &w, v));
    // f32 on the GEMM kernels agrees.
    let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
    let (mut dx32, mut dw32, mut db32) = (
        vec![0f32; x.len()],
        vec![0f32; w.len()],
        vec![0f32; b.len()],
    );
    pointwise_backward(
        &f(&x),
        pixels,
        cin,
        &f(&w),
        &f(&c),
        Some(&mut dx32),
        &mut dw32,
        &mut db32,
    )
    .unwrap();
    for (a, e) in dx32
        .iter()
        .chain(&dw32)
        .chain(&db32)
        .zip(dx.iter().chain(&dw).chain(&db))
    {
        assert!((f64::from(*a) - e).abs() < 1e-5, "f32 {a} vs f64 {e}");
    }
}

#[test]
fn depthwise_gradients() {
    for (k, s, pad, h, w) in [
        (3, 1, 1, 5, 6),
        (3, 2, 1, 7, 5),
        (5, 1, 2, 4, 4),
        (5, 2, 2, 9, 6),
    ] {
        let g = DwGeometry {
            n: 2,
            h,
            w,
            c: 3,
            k,
            s,
            pad,
        };
        let (oh, ow) = g.output().unwrap();
        let (x, wt, b) = (data(7, 2 * h * w * 3), data(8, 3 * k * k), data(9, 3));
        let c = data(10, 2 * oh * ow * 3);
        let loss = |x: &[f64], wt: &[f64], b: &[f64]| {
            let mut y = vec![0.0; c.len()];
            depthwise_forward(&g, x, wt, b, &mut y).unwrap();
            dot(&y, &c)
        };
        let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; wt.len()], vec![0.0; 3]);
        depthwise_backward(&g, &x, &wt, &c, Some(&mut dx), &mut dw, &mut db).unwrap();
        let what = format!("{k}x{k}s{s}");
        check(&format!("dw {what} dx"), &x, &dx, |v| loss(v, &wt, &b));
        check(&format!("dw {what} dw"), &wt, &dw, |v| loss(&x, v, &b));
        check(&format!("dw {what} db"), &b, &db, |v| loss(&x, &wt, v));
    }
    let bad = DwGeometry {
        n: 1,
        h: 1,
        w: 1,
        c: 1,
        k: 5,
        s: 1,
        pad: 1,
    };
    assert!(bad.output().is_err());
}

#[test]
fn pooling_and_squeeze_excitation_gradients() {
    let (n, pixels, c, q) = (2, 6, 4, 3);
    let x: Vec<f64> = data(11, n * pixels * c).iter().map(|v| v * 3.0).collect();
    let cy = data(12, n * c);
    let mut dx = vec![0.0; x.len()];
    gap_backward(&cy, n, pixels, c, &mut dx).unwrap();
    check("pool", &x, &dx, |v| {
        let mut y = vec![0.0; n * c];
        gap_forward(v, n, pixels, c, &mut y).unwrap();
        dot(&y, &cy)
    });
    // Biases that keep every path live: fc1 mostly above its relu's kink, the gate inside
    // hard-sigmoid's linear range.
    let (w1, b1, w2, b2) = (data(13, q * c), data(14, q), data(15, c * q), data(16, c));
    let b1: Vec<f64> = b1.iter().map(|v| v + 1.0).collect();
    let b2: Vec<f64> = b2.iter().map(|v| v * 0.5).collect();
    let cx = data(17, x.len());
    let loss = |x: &[f64], w1: &[f64], b1: &[f64], w2: &[f64], b2: &[f64]| {
        let p = SeParams { w1, b1, w2, b2 };
        let mut y = vec![0.0; x.len()];
        se_forward(&p, x, n, pixels, c, &mut y).unwrap();
        dot(&y, &cx)
    };
    let mut g = (
        vec![0.0; q * c],
        vec![0.0; q],
        vec![0.0; c * q],
        vec![0.0; c],
    );
    let p = SeParams {
        w1: &w1,
        b1: &b1,
        w2: &w2,
        b2: &b2,
    };
    let grads = SeGrads {
        w1: &mut g.0,
        b1: &mut g.1,
        w2: &mut g.2,
        b2: &mut g.3,
    };
    se_backward(&p, &x, n, pixels, c, &cx, &mut dx, grads).unwrap();
    check("SE dx", &x, &dx, |v| loss(v, &w1, &b1, &w2, &b2));
    check("SE dw1", &w1, &g.0, |v| loss(&x, v, &b1, &w2, &b2));
    check("SE db1", &b1, &g.1, |v| loss(&x, &w1, v, &w2, &b2));
    check("SE dw2", &w2, &g.2, |v| loss(&x, &w1, &b1, v, &b2));
    check("SE db2", &b2, &g.3, |v| loss(&x, &w1, &b1, &w2, v));
}
