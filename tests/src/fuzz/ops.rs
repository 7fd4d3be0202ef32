//! Every Rust operator driven by one case of (often invalid or huge) descriptors, shapes and
//! buffer lengths.

use ruvector_cnn_kernels::ops::*;
use ruvector_cnn_kernels::{Activation, KernelTable};

use super::Bytes;

/// One fuzz case for every operator: sizes `a`/`b` (channels, features), window `k`, stride
/// `s`, padding, activation, input shape, and buffer lengths used when not `exact`.
#[derive(Debug, Clone)]
pub struct OpCase {
    /// First size (channels, input features).
    pub a: usize,
    /// Second size (output channels/features, squeeze width).
    pub b: usize,
    /// Window side.
    pub k: usize,
    /// Stride.
    pub s: usize,
    /// Padding.
    pub pad: Padding,
    /// Activation.
    pub act: Activation,
    /// Input shape.
    pub shape: Nhwc,
    /// Size weights and buffers exactly (when small enough) instead of using the lengths below.
    pub exact: bool,
    /// Weight length when not exact.
    pub wlen: usize,
    /// Input length when not exact.
    pub xlen: usize,
    /// Output length when not exact.
    pub ylen: usize,
}

impl OpCase {
    /// A case from fuzz bytes, drawn like the proptest strategy in `op_errors.rs`.
    pub fn from_bytes(b: &mut Bytes<'_>) -> Self {
        let a = b.dim();
        let bb = b.dim();
        let k = [3, 3, 3, 3, 5, 5, 5, 0, 1, 2, 4, 6][b.below(12)];
        let s = [1, 1, 1, 2, 2, 2, 0, 3][b.below(8)];
        let pad = Padding {
            top: b.below(3),
            left: b.below(3),
            bottom: b.below(3),
            right: b.below(4),
        };
        let act = Activation::ALL[b.below(Activation::COUNT)];
        let spatial = |b: &mut Bytes<'_>| {
            if b.u8() < 204 {
                1 + b.below(19)
            } else {
                b.dim()
            }
        };
        let n = if b.u8() < 204 {
            1 + b.below(2)
        } else {
            b.dim()
        };
        let (h, w) = (spatial(b), spatial(b));
        let c = if b.u8() < 204 { a } else { b.dim() };
        OpCase {
            a,
            b: bb,
            k,
            s,
            pad,
            act,
            shape: Nhwc::new(n, h, w, c),
            exact: b.u8() < 204,
            wlen: b.below(400),
            xlen: b.below(3000),
            ylen: b.below(3000),
        }
    }
}

/// Largest exact-size buffer (floats) a case allocates.
const SMALL: usize = 1 << 20;

/// Most multiply-adds a case's GEMM-like operator may run (well under a second with scalar
/// kernels under ASan and coverage instrumentation): a valid pointwise/linear/conv case with
/// channels in the thousands, or a squeeze-excitation over tens of thousands of images,
/// would otherwise take tens of seconds, which libFuzzer reports as a timeout and which
/// starves the search. Larger cases still go through creation and shape validation; only
/// `run` is skipped.
const WORK: usize = 1 << 24;

/// Whether an operator whose work is the product of `dims` may run: within [`WORK`], or
/// overflowing (then `run`'s own size checks reject it at once, which is worth fuzzing).
fn cheap(dims: &[usize]) -> bool {
    dims.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .is_none_or(|m| m <= WORK)
}

impl OpCase {
    /// A buffer of `need` floats when exact and small, else of `fallback` floats.
    pub fn buf(&self, need: Option<usize>, fallback: usize, v: f32) -> Vec<f32> {
        let len = match need {
            Some(n) if self.exact && n <= SMALL => n,
            _ => fallback,
        };
        vec![v; len]
    }

    /// Weights for a tensor of `dims` (exact when small, else `wlen` long).
    pub fn weights(&self, dims: &[usize]) -> Vec<f32> {
        self.buf(
            dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)),
            self.wlen,
            0.25,
        )
    }

    /// An output buffer for the op's reported shape (exact when small, else `ylen` long).
    pub fn output(&self, out: Result<Nhwc>) -> Vec<f32> {
        self.buf(out.ok().and_then(|o| o.len().ok()), self.ylen, 0.0)
    }
}

/// Creates and runs every operator on the case (results ignored: errors are expected; a
/// panic is the bug).
pub fn exercise(c: &OpCase) {
    let t = KernelTable::best();
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
    ) && cheap(&[c.shape.n, c.shape.h, c.shape.w, c.a, c.b])
    {
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
    ) && cheap(&[c.shape.n, c.a, c.b])
    {
        let mut y = c.buf(c.shape.n.checked_mul(c.b), c.ylen, 0.0);
        let _ = op.run(c.shape.n, &x, &mut y);
    }
    let dbias = (c.a < 100).then(|| vec![0.1f32; c.a]);
    depthwise(c, &x, dbias.as_deref());
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
    ) && cheap(&[c.shape.n, c.shape.h, c.shape.w, c.a, c.b, c.k, c.k])
    {
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
    if let Ok(op) = SqueezeExcite::new(&se, t)
        && cheap(&[c.shape.n, c.a, c.b])
    {
        let mut ws = c.buf(Some(op.workspace_len()), c.k * 20, 0.0);
        let mut y = c.buf(c.shape.len().ok(), c.ylen, 0.0);
        let _ = op.run(c.shape, &x, &mut y, &mut ws);
    }
}

/// Creates and runs the depthwise op the case describes; whether `run` succeeded.
pub fn depthwise(c: &OpCase, x: &[f32], bias: Option<&[f32]>) -> bool {
    let w = c.weights(&[c.a, c.k, c.k]);
    let Ok(op) = DepthwiseConv2d::new(
        &DepthwiseDesc {
            channels: c.a,
            kernel: c.k,
            stride: c.s,
            padding: c.pad,
            weights: &w,
            bias,
            activation: c.act,
        },
        KernelTable::best(),
    ) else {
        return false;
    };
    let mut y = c.output(op.output_shape(c.shape));
    op.run(c.shape, x, &mut y).is_ok()
}
