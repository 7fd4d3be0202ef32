//! The truth: safe, naive implementations of every operation, accumulating in f64.
//!
//! Each returns an [`Expected`]: the exact value of every output plus the magnitude
//! `Σ|terms|` that bounds the rounding error of any f32 evaluation order (see [`tolerance`]).
//! Layouts are the operators' (NHWC activations, PyTorch weight layouts).

mod quant;
pub mod tolerance;
pub mod winograd;

pub use quant::{dequantize, qadd, qchscale, qdwconv, qgavgpool, qgemm, quantize};

pub use tolerance::Expected;

use crate::Activation;
use crate::ops::{Nhwc, Padding, PoolKind};

/// Reference GEMM: `C[m×n] = act(A·Wᵀ + bias [+ R])` with `W` as `[n][k]`, A rows `a_stride`
/// apart and the residual rows `n` apart. The output is dense `m×n`.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_stride: usize,
    w: &[f32],
    bias: Option<&[f32]>,
    residual: Option<&[f32]>,
    act: Activation,
) -> Expected {
    let mut e = Expected::new(m * n, k + 2, act);
    for i in 0..m {
        for j in 0..n {
            let mut acc = Acc::default();
            acc.add(f64::from(bias.map_or(0.0, |b| b[j])));
            for kk in 0..k {
                acc.add(f64::from(a[i * a_stride + kk]) * f64::from(w[j * k + kk]));
            }
            if let Some(r) = residual {
                acc.add(f64::from(r[i * n + j]));
            }
            e.set(i * n + j, acc, act);
        }
    }
    e
}

/// Reference grouped 2-D convolution, NHWC input, weights `[cout][cin/groups][k][k]`.
/// `groups = cin = cout` is a depthwise convolution.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    input: &[f32],
    shape: Nhwc,
    weights: &[f32],
    bias: Option<&[f32]>,
    cout: usize,
    kernel: usize,
    stride: usize,
    pad: Padding,
    groups: usize,
    act: Activation,
) -> (Nhwc, Expected) {
    let oh = (shape.h + pad.top + pad.bottom - kernel) / stride + 1;
    let ow = (shape.w + pad.left + pad.right - kernel) / stride + 1;
    let out = Nhwc::new(shape.n, oh, ow, cout);
    let (cin_g, cout_g) = (shape.c / groups, cout / groups);
    let mut e = Expected::new(out.n * oh * ow * cout, kernel * kernel * cin_g + 1, act);
    for b in 0..shape.n {
        for oy in 0..oh {
            for ox in 0..ow {
                for co in 0..cout {
                    let g = co / cout_g;
                    let mut acc = Acc::default();
                    acc.add(f64::from(bias.map_or(0.0, |v| v[co])));
                    for ky in 0..kernel {
                        for kx in 0..kernel {
                            let iy = (oy * stride + ky) as isize - pad.top as isize;
                            let ix = (ox * stride + kx) as isize - pad.left as isize;
                            if iy < 0 || ix < 0 || iy as usize >= shape.h || ix as usize >= shape.w
                            {
                                continue;
                            }
                            let pix =
                                ((b * shape.h + iy as usize) * shape.w + ix as usize) * shape.c;
                            for ci in 0..cin_g {
                                let x = input[pix + g * cin_g + ci];
                                let wv = weights[((co * cin_g + ci) * kernel + ky) * kernel + kx];
                                acc.add(f64::from(x) * f64::from(wv));
                            }
                        }
                    }
                    e.set(((b * oh + oy) * ow + ox) * cout + co, acc, act);
                }
            }
        }
    }
    (out, e)
}

/// Reference per-channel `act(x·scale + shift)` (shift omitted: channel scale).
pub fn channelwise(
    input: &[f32],
    c: usize,
    scale: &[f32],
    shift: Option<&[f32]>,
    act: Activation,
) -> Expected {
    let mut e = Expected::new(input.len(), 2, act);
    for (i, &x) in input.iter().enumerate() {
        let mut acc = Acc::default();
        acc.add(f64::from(x) * f64::from(scale[i % c]));
        acc.add(f64::from(shift.map_or(0.0, |s| s[i % c])));
        e.set(i, acc, act);
    }
    e
}

/// Reference elementwise activation.
pub fn activation(input: &[f32], act: Activation) -> Expected {
    let mut e = Expected::new(input.len(), 1, act);
    for (i, &x) in input.iter().enumerate() {
        let mut acc = Acc::default();
        acc.add(f64::from(x));
        e.set(i, acc, act);
    }
    e
}

/// Reference elementwise `act(a + b)`.
pub fn add(a: &[f32], b: &[f32], act: Activation) -> Expected {
    let mut e = Expected::new(a.len(), 2, act);
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let mut acc = Acc::default();
        acc.add(f64::from(x));
        acc.add(f64::from(y));
        e.set(i, acc, act);
    }
    e
}

/// Reference global average pool: `[n][h][w][c] → [n][c]`.
pub fn global_avg_pool(input: &[f32], shape: Nhwc) -> Expected {
    let px = shape.h * shape.w;
    let mut e = Expected::new(shape.n * shape.c, px + 1, Activation::Linear);
    for b in 0..shape.n {
        for ch in 0..shape.c {
            let mut acc = Acc::default();
            for p in 0..px {
                acc.add(f64::from(input[(b * px + p) * shape.c + ch]));
            }
            e.set(
                b * shape.c + ch,
                acc.scaled(1.0 / px as f64),
                Activation::Linear,
            );
        }
    }
    e
}

/// Reference windowed pooling (zero padding never wins a max; see [`PoolKind`]).
pub fn pool(
    input: &[f32],
    shape: Nhwc,
    kind: PoolKind,
    kernel: (usize, usize),
    stride: (usize, usize),
    pad: Padding,
) -> (Nhwc, Expected) {
    let oh = (shape.h + pad.top + pad.bottom - kernel.0) / stride.0 + 1;
    let ow = (shape.w + pad.left + pad.right - kernel.1) / stride.1 + 1;
    let out = Nhwc::new(shape.n, oh, ow, shape.c);
    let mut e = Expected::new(
        out.n * oh * ow * shape.c,
        kernel.0 * kernel.1 + 1,
        Activation::Linear,
    );
    for b in 0..shape.n {
        for oy in 0..oh {
            for ox in 0..ow {
                for ch in 0..shape.c {
                    let mut acc = Acc::default();
                    let (mut max, mut count) = (f64::NEG_INFINITY, 0usize);
                    for ky in 0..kernel.0 {
                        for kx in 0..kernel.1 {
                            let iy = (oy * stride.0 + ky) as isize - pad.top as isize;
                            let ix = (ox * stride.1 + kx) as isize - pad.left as isize;
                            if iy < 0 || ix < 0 || iy as usize >= shape.h || ix as usize >= shape.w
                            {
                                continue;
                            }
                            let x = f64::from(
                                input[((b * shape.h + iy as usize) * shape.w + ix as usize)
                                    * shape.c
                                    + ch],
                            );
                            acc.add(x);
                            max = max.max(x);
                            count += 1;
                        }
                    }
                    let idx = ((b * oh + oy) * ow + ox) * shape.c + ch;
                    let acc = match kind {
                        PoolKind::Max => Acc {
                            sum: max,
                            mag: max.abs(),
                        },
                        PoolKind::Average { count_include_pad } => {
                            let div = if count_include_pad {
                                kernel.0 * kernel.1
                            } else {
                                count
                            };
                            acc.scaled(1.0 / div as f64)
                        }
                    };
                    e.set(idx, acc, Activation::Linear);
                }
            }
        }
    }
    (out, e)
}

/// An exact sum and the sum of the magnitudes of its terms.
#[derive(Clone, Copy, Default, Debug)]
pub struct Acc {
    /// Σ terms.
    pub sum: f64,
    /// Σ |terms|.
    pub mag: f64,
}

impl Acc {
    /// Adds one term.
    pub fn add(&mut self, t: f64) {
        self.sum += t;
        self.mag += t.abs();
    }

    /// Both sums multiplied by `f ≥ 0`.
    pub fn scaled(self, f: f64) -> Acc {
        Acc {
            sum: self.sum * f,
            mag: self.mag * f,
        }
    }
}
