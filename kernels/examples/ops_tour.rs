//! A tour of the operator API: a MobileNet-style block (3x3 stem → depthwise → SE →
//! pointwise with residual) on a random image, printing the kernel each operator chose.
//!
//! `cargo run --release -p ruvector-cnn-kernels --example ops_tour` (try `RVCNN_ISA=scalar`).

use ruvector_cnn_kernels::ops::*;
use ruvector_cnn_kernels::{Activation, KernelTable};

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as u32 ^ seed).wrapping_mul(2_654_435_761) >> 8) as f32 / 16_777_216.0 - 0.5)
        .collect()
}

fn main() -> Result<()> {
    let t = KernelTable::best();
    println!("ISA levels in use: {}", t.isa_set());
    let image = Nhwc::new(1, 64, 64, 3);
    let x = values(image.len()?, 1);

    let (w, b) = (values(16 * 3 * 9, 2), values(16, 3));
    let stem = Conv2d::new(
        &Conv2dDesc {
            cin: 3,
            cout: 16,
            kernel: 3,
            stride: 2,
            padding: Padding::same(1),
            weights: &w,
            bias: Some(&b),
            activation: Activation::Hswish,
            residual: false,
            algorithm: ConvAlgorithm::Auto,
        },
        t,
    )?;
    let s_out = stem.output_shape(image)?;
    let mut y1 = vec![0.0; s_out.len()?];
    stem.run(image, &x, &mut y1, None, &mut [])?;

    let (w, b) = (values(16 * 9, 4), values(16, 5));
    let dw = DepthwiseConv2d::new(
        &DepthwiseDesc {
            channels: 16,
            kernel: 3,
            stride: 1,
            padding: Padding::same(1),
            weights: &w,
            bias: Some(&b),
            activation: Activation::Relu,
        },
        t,
    )?;
    let mut y2 = vec![0.0; s_out.len()?];
    dw.run(s_out, &y1, &mut y2)?;

    let (w1, w2) = (values(8 * 16, 6), values(16 * 8, 7));
    let se = SqueezeExcite::new(
        &SqueezeExciteDesc {
            channels: 16,
            squeeze: 8,
            fc1_weights: &w1,
            fc1_bias: None,
            fc2_weights: &w2,
            fc2_bias: None,
            inner: Activation::Relu,
            gate: Activation::Hsigmoid,
        },
        t,
    )?;
    let mut ws = vec![0.0; se.workspace_len()];
    se.run_in_place(s_out, &mut y2, &mut ws)?;

    let w = values(16 * 16, 8);
    let pw = Pointwise::new(
        &PointwiseDesc {
            cin: 16,
            cout: 16,
            weights: &w,
            bias: None,
            activation: Activation::Linear,
            residual: true,
        },
        t,
    )?;
    let mut y3 = vec![0.0; s_out.len()?];
    pw.run(s_out, &y2, &mut y3, Some(&y1))?;

    println!("stem      {s_out:?} via {}", stem.kernel_id());
    println!("depthwise            via {}", dw.kernel_id());
    println!("SE                   via {}", se.kernel_ids().join(", "));
    println!("pointwise + residual via {}", pw.kernel_id());
    let norm = y3.iter().map(|v| v * v).sum::<f32>().sqrt();
    println!("output L2 norm {norm:.4}");
    Ok(())
}
