//! Every operator, built from the table of each ISA level this CPU supports, against the
//! reference: proves dispatch picks that level's kernels and that they compose correctly on
//! MobileNet-like shapes (odd sizes, several tiles plus remainders, batch > 1).

use ruvector_cnn_kernels::ops::*;
use ruvector_cnn_kernels::reference::{self, Expected};
use ruvector_cnn_kernels::{Activation, Isa, KernelTable};
use ruvector_cnn_tests::{all_levels, levels, table_at, values};

fn assert_level(id: &str, level: Isa) {
    assert!(
        id.starts_with(&format!("{level}/")),
        "kernel {id} is not from level {level}"
    );
}

fn pointwise_case(
    t: &KernelTable,
    level: Isa,
    shape: Nhwc,
    cout: usize,
    act: Activation,
    residual: bool,
) {
    let (cin, m) = (shape.c, shape.n * shape.h * shape.w);
    let w = values(1, cout * cin, 0.5);
    let b = values(2, cout, 0.5);
    let x = values(3, m * cin, 2.0);
    let r = values(4, m * cout, 1.0);
    let op = Pointwise::new(
        &PointwiseDesc {
            cin,
            cout,
            weights: &w,
            bias: Some(&b),
            activation: act,
            residual,
        },
        t,
    )
    .unwrap();
    assert_level(op.kernel_id(), level);
    let mut y = vec![0.0; m * cout];
    op.run(shape, &x, &mut y, residual.then_some(&r[..]))
        .unwrap();
    let want = reference::gemm(
        m,
        cout,
        cin,
        &x,
        cin,
        &w,
        Some(&b),
        residual.then_some(&r[..]),
        act,
    );
    want.check(&y, cout)
        .unwrap_or_else(|e| panic!("{} {shape:?}->{cout} {act}: {e}", op.kernel_id()));
}

#[test]
fn pointwise_and_linear() {
    for level in levels("pointwise_and_linear") {
        let t = table_at(level);
        for (shape, cout) in [
            (Nhwc::new(1, 7, 7, 160), 960),
            (Nhwc::new(2, 14, 14, 112), 672),
            (Nhwc::new(1, 28, 28, 40), 120),
            (Nhwc::new(1, 13, 11, 24), 72),
            (Nhwc::new(3, 5, 3, 16), 16),
            // Weights past L1 in panels that fit it: swept a few panels at a time, the last
            // group and panel partial.
            (Nhwc::new(1, 9, 7, 100), 200),
        ] {
            pointwise_case(&t, level, shape, cout, Activation::Hswish, false);
        }
        pointwise_case(
            &t,
            level,
            Nhwc::new(2, 9, 9, 72),
            24,
            Activation::Linear,
            true,
        );
        pointwise_case(
            &t,
            level,
            Nhwc::new(1, 6, 5, 24),
            40,
            Activation::Relu6,
            false,
        );
        // Columns split between two panel widths where one-vector panels would win alone
        // (AVX2: 24 + 16), with a residual and a row remainder.
        pointwise_case(
            &t,
            level,
            Nhwc::new(1, 7, 5, 120),
            40,
            Activation::Linear,
            true,
        );
        pointwise_case(
            &t,
            level,
            Nhwc::new(1, 6, 5, 150),
            100,
            Activation::Linear,
            true,
        );
        for batch in [1, 5] {
            let (k, n) = (576, 1024);
            let (w, b, x) = (
                values(5, n * k, 0.1),
                values(6, n, 0.1),
                values(7, batch * k, 1.0),
            );
            let fc = Linear::new(
                &LinearDesc {
                    in_features: k,
                    out_features: n,
                    weights: &w,
                    bias: Some(&b),
                    activation: Activation::Hswish,
                },
                &t,
            )
            .unwrap();
            assert_level(fc.kernel_id(), level);
            let rows_kernel = fc.kernel_id_for(batch);
            assert_level(rows_kernel, level);
            assert_eq!(
                rows_kernel.contains("_1x"),
                batch == 1,
                "batch {batch} uses {rows_kernel}"
            );
            let mut y = vec![0.0; batch * n];
            fc.run(batch, &x, &mut y).unwrap();
            reference::gemm(batch, n, k, &x, k, &w, Some(&b), None, Activation::Hswish)
                .check(&y, n)
                .unwrap();
        }
    }
}

fn conv_case(
    level: Isa,
    t: &KernelTable,
    shape: Nhwc,
    cout: usize,
    (k, s): (usize, usize),
    depthwise: bool,
    act: Activation,
) {
    let cin = shape.c;
    let per = if depthwise { k * k } else { cin * k * k };
    let (w, b, x) = (
        values(11, cout * per, 0.4),
        values(12, cout, 0.5),
        values(13, shape.len().unwrap(), 1.5),
    );
    let pad = Padding::same(k / 2);
    let (id, out, y) = if depthwise {
        let op = DepthwiseConv2d::new(
            &DepthwiseDesc {
                channels: cin,
                kernel: k,
                stride: s,
                padding: pad,
                weights: &w,
                bias: Some(&b),
                activation: act,
            },
            t,
        )
        .unwrap();
        let out = op.output_shape(shape).unwrap();
        let mut y = vec![0.0; out.len().unwrap()];
        op.run(shape, &x, &mut y).unwrap();
        (op.kernel_id(), out, y)
    } else {
        let op = Conv2d::new(
            &Conv2dDesc {
                cin,
                cout,
                kernel: k,
                stride: s,
                padding: pad,
                weights: &w,
                bias: Some(&b),
                activation: act,
                residual: false,
                algorithm: ConvAlgorithm::Direct,
            },
            t,
        )
        .unwrap();
        let out = op.output_shape(shape).unwrap();
        let mut y = vec![0.0; out.len().unwrap()];
        op.run(shape, &x, &mut y, None, &mut []).unwrap();
        (op.kernel_id(), out, y)
    };
    assert_level(id, level);
    let groups = if depthwise { cin } else { 1 };
    let (rout, want) = reference::conv2d(&x, shape, &w, Some(&b), cout, k, s, pad, groups, act);
    assert_eq!(out, rout);
    want.check_grid(&y, out.w, cout)
        .unwrap_or_else(|e| panic!("{id} {shape:?}: {e}"));
}

#[test]
fn convolutions() {
    for level in levels("convolutions") {
        let t = table_at(level);
        // MobileNetV3 stem (specialised 3-channel kernel) and a general 3x3 layer.
        conv_case(
            level,
            &t,
            Nhwc::new(2, 33, 47, 3),
            16,
            (3, 2),
            false,
            Activation::Hswish,
        );
        conv_case(
            level,
            &t,
            Nhwc::new(1, 15, 13, 24),
            40,
            (3, 1),
            false,
            Activation::Relu,
        );
        conv_case(
            level,
            &t,
            Nhwc::new(1, 16, 16, 8),
            24,
            (3, 2),
            false,
            Activation::Linear,
        );
        // Larger than 1 MiB: the depthwise op switches to its rows-outer loop order.
        conv_case(
            level,
            &t,
            Nhwc::new(1, 64, 66, 72),
            72,
            (3, 2),
            true,
            Activation::Relu6,
        );
        for (k, s) in [(3, 1), (3, 2), (5, 1), (5, 2)] {
            conv_case(
                level,
                &t,
                Nhwc::new(2, 14, 13, 72),
                72,
                (k, s),
                true,
                Activation::Hswish,
            );
            conv_case(
                level,
                &t,
                Nhwc::new(1, 7, 7, 21),
                21,
                (k, s),
                true,
                Activation::Relu6,
            );
        }
    }
}

#[test]
fn norm_activation_pooling() {
    for level in levels("norm_activation_pooling") {
        let t = table_at(level);
        let shape = Nhwc::new(2, 5, 7, 37);
        let len = shape.len().unwrap();
        let x = values(21, len, 6.0);
        let (g, be, mu) = (
            values(22, 37, 1.0),
            values(23, 37, 1.0),
            values(24, 37, 1.0),
        );
        let var: Vec<f32> = values(25, 37, 1.0).iter().map(|v| v.abs() + 0.1).collect();
        let desc = BatchNormDesc {
            channels: 37,
            gamma: &g,
            beta: &be,
            mean: &mu,
            var: &var,
            eps: 1e-3,
            activation: Activation::Relu6,
        };
        let bn = BatchNorm::new(&desc, &t).unwrap();
        assert_level(bn.kernel_id(), level);
        let mut y = x.clone();
        bn.run_in_place(shape, &mut y).unwrap();
        let (scale, shift) = desc.scale_shift().unwrap();
        reference::channelwise(&x, 37, &scale, Some(&shift), Activation::Relu6)
            .check(&y, 37)
            .unwrap();

        for act in [
            Activation::Relu,
            Activation::Relu6,
            Activation::Hswish,
            Activation::Hsigmoid,
        ] {
            let op = Elementwise::new(act, &t).unwrap();
            assert_level(op.kernel_id().unwrap(), level);
            let mut y = vec![0.0; len];
            op.run(&x, &mut y).unwrap();
            reference::activation(&x, act).check(&y, 37).unwrap();
        }

        for kind in [
            PoolKind::Max,
            PoolKind::Average {
                count_include_pad: true,
            },
            PoolKind::Average {
                count_include_pad: false,
            },
        ] {
            let desc = PoolDesc {
                kind,
                channels: 37,
                kernel: (3, 3),
                stride: (2, 2),
                padding: Padding::same(1),
            };
            let op = Pool::new(&desc, &t).unwrap();
            assert_level(op.kernel_id(), level);
            let out = op.output_shape(shape).unwrap();
            let mut y = vec![0.0; out.len().unwrap()];
            op.run(shape, &x, &mut y).unwrap();
            let (_, want) = reference::pool(&x, shape, kind, (3, 3), (2, 2), Padding::same(1));
            want.check_grid(&y, out.w, 37).unwrap();
        }

        let gap = GlobalAvgPool::new(37, &t).unwrap();
        assert_level(gap.kernel_id(), level);
        let mut y = vec![0.0; 2 * 37];
        gap.run(shape, &x, &mut y).unwrap();
        reference::global_avg_pool(&x, shape).check(&y, 37).unwrap();
    }
}

#[test]
fn squeeze_excite() {
    for level in levels("squeeze_excite") {
        let t = table_at(level);
        let (c, s) = (120, 32);
        let shape = Nhwc::new(2, 7, 9, c);
        let x = values(31, shape.len().unwrap(), 2.0);
        let (w1, b1, w2, b2) = (
            values(32, s * c, 0.3),
            values(33, s, 0.3),
            values(34, c * s, 0.3),
            values(35, c, 0.3),
        );
        let se = SqueezeExcite::new(
            &SqueezeExciteDesc {
                channels: c,
                squeeze: s,
                fc1_weights: &w1,
                fc1_bias: Some(&b1),
                fc2_weights: &w2,
                fc2_bias: Some(&b2),
                inner: Activation::Relu,
                gate: Activation::Hsigmoid,
            },
            &t,
        )
        .unwrap();
        for id in se.kernel_ids() {
            assert_level(id, level);
        }
        let mut ws = vec![0.0; se.workspace_len()];
        let mut y = vec![0.0; x.len()];
        se.run(shape, &x, &mut y, &mut ws).unwrap();
        let mut inplace = x.clone();
        se.run_in_place(shape, &mut inplace, &mut ws).unwrap();
        assert_eq!(y, inplace, "in-place and out-of-place SE differ");
        // Reference chain in f64. The gate passes through two GEMMs and a hard-sigmoid
        // (Lipschitz 1/6); its f32 error is far below 1e-5 for these magnitudes, so the final
        // tolerance is the channel-scale rule plus |x|·1e-5.
        let pooled = reference::global_avg_pool(&x, shape);
        for b in 0..2 {
            let p: Vec<f32> = pooled.value[b * c..(b + 1) * c]
                .iter()
                .map(|&v| v as f32)
                .collect();
            let h: Vec<f32> =
                reference::gemm(1, s, c, &p, c, &w1, Some(&b1), None, Activation::Relu)
                    .value
                    .iter()
                    .map(|&v| v as f32)
                    .collect();
            let g: Vec<f32> =
                reference::gemm(1, c, s, &h, s, &w2, Some(&b2), None, Activation::Hsigmoid)
                    .value
                    .iter()
                    .map(|&v| v as f32)
                    .collect();
            let img = &x[b * 63 * c..(b + 1) * 63 * c];
            let want: Expected = reference::channelwise(img, c, &g, None, Activation::Linear);
            for (i, &got) in y[b * 63 * c..(b + 1) * 63 * c].iter().enumerate() {
                let tol = want.tolerance(i) + f64::from(img[i].abs()) * 1e-5;
                assert!(
                    (f64::from(got) - want.value[i]).abs() <= tol,
                    "SE image {b} index {i}: got {got}, want {}",
                    want.value[i]
                );
            }
        }
    }
}

#[test]
fn every_generated_kernel_is_dispatched() {
    use ruvector_cnn_kernels::ukernels::registry;
    for level in all_levels("every_generated_kernel_is_dispatched") {
        let t = table_at(level);
        let dispatched: Vec<&str> = t.entries().map(|k| k.id()).collect();
        for k in registry().filter(|k| k.isa() == level) {
            assert!(
                dispatched.contains(&k.id()),
                "{} is generated but not reachable from the {level} table",
                k.id()
            );
        }
        // Each family comes from `level` when `level` has kernels of it, else from below.
        for k in t.entries() {
            let has = registry().any(|r| r.isa() == level && r.family() == k.family());
            assert!(
                k.isa() <= level && (!has || k.isa() == level),
                "the {level} table serves {}",
                k.id()
            );
        }
    }
}
