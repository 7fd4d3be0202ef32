//! Forward and backward passes of the layers at the top of a MobileNet (NHWC, BatchNorm in
//! eval mode folded into the convolutions' weights and bias): pointwise (1x1) convolution,
//! depthwise KxK convolution, the activations, squeeze-excitation and global average pooling
//! (a residual addition passes its gradient to both inputs unchanged) — the building blocks
//! for fine-tuning the last blocks of a backbone.
//!
//! Generic over [`Real`]: `f32` runs the matrix products on the GEMM kernels, `f64` is what
//! the finite-difference tests differentiate. Every backward function *overwrites* its
//! parameter gradients and writes (or, where noted, adds to) the input gradient.

use ruvector_cnn_kernels::Activation;

use super::real::Real;
use crate::buffers::transpose;
use crate::error::{Error, Result};

fn need(what: &str, len: usize, want: usize) -> Result<()> {
    if len == want {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "{what}: {len} values, expected {want}"
        )))
    }
}

/// `d act / dv` at the pre-activation `v` (PyTorch's one-sided choices at the kinks: relu' = 0
/// at 0, relu6' = 0 at 0 and 6, hard-swish' = 0 below −3, 1 above 3, `(2v + 3)/6` on
/// `[−3, 3]`; hard-sigmoid' = 1/6 strictly inside `(−3, 3)`).
pub fn act_derivative(act: Activation, v: f64) -> f64 {
    match act {
        Activation::Linear => 1.0,
        Activation::Relu => f64::from(u8::from(v > 0.0)),
        Activation::Relu6 => f64::from(u8::from(v > 0.0 && v < 6.0)),
        Activation::Hswish => {
            if v < -3.0 {
                0.0
            } else if v > 3.0 {
                1.0
            } else {
                (2.0 * v + 3.0) / 6.0
            }
        }
        Activation::Hsigmoid => {
            if v > -3.0 && v < 3.0 {
                1.0 / 6.0
            } else {
                0.0
            }
        }
    }
}

/// `y = act(pre)` elementwise.
pub fn act_forward<T: Real>(act: Activation, pre: &[T], y: &mut [T]) {
    for (o, &v) in y.iter_mut().zip(pre) {
        *o = T::of(act.apply_f64(v.f64()));
    }
}

/// `dpre = dy · act'(pre)` elementwise.
pub fn act_backward<T: Real>(act: Activation, pre: &[T], dy: &[T], dpre: &mut [T]) {
    for ((o, &v), &g) in dpre.iter_mut().zip(pre).zip(dy) {
        *o = T::of(g.f64() * act_derivative(act, v.f64()));
    }
}

/// Pointwise convolution over `pixels` NHWC pixels: `y[p][o] = b[o] + Σᵢ x[p][i]·w[o][i]`.
pub fn pointwise_forward<T: Real>(
    x: &[T],
    pixels: usize,
    cin: usize,
    w: &[T],
    b: &[T],
    y: &mut [T],
) -> Result<()> {
    let cout = b.len();
    need("pointwise input", x.len(), pixels * cin)?;
    need("pointwise weights", w.len(), cout * cin)?;
    need("pointwise output", y.len(), pixels * cout)?;
    T::gemm_nt(x, pixels, w, cout, cin, y)?;
    for row in y.chunks_exact_mut(cout) {
        for (v, bv) in row.iter_mut().zip(b) {
            *v = T::of(v.f64() + bv.f64());
        }
    }
    Ok(())
}

/// Gradients of [`pointwise_forward`]: `dw = dyᵀ·x`, `db = Σ dy`, and `dx = dy·w` when asked.
#[allow(clippy::too_many_arguments)]
pub fn pointwise_backward<T: Real>(
    x: &[T],
    pixels: usize,
    cin: usize,
    w: &[T],
    dy: &[T],
    dx: Option<&mut [T]>,
    dw: &mut [T],
    db: &mut [T],
) -> Result<()> {
    let cout = db.len();
    need("pointwise output gradient", dy.len(), pixels * cout)?;
    need("pointwise weight gradient", dw.len(), cout * cin)?;
    for (o, d) in db.iter_mut().enumerate() {
        *d = T::of(dy.chunks_exact(cout).map(|r| r[o].f64()).sum());
    }
    let (dyt, xt) = (transpose(dy, pixels, cout), transpose(x, pixels, cin));
    T::gemm_nt(&dyt, cout, &xt, cin, pixels, dw)?;
    if let Some(dx) = dx {
        need("pointwise input gradient", dx.len(), pixels * cin)?;
        let wt = transpose(w, cout, cin);
        T::gemm_nt(dy, pixels, &wt, cin, cout, dx)?;
    }
    Ok(())
}

/// Geometry of a depthwise convolution over `n` NHWC images of `h × w × c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DwGeometry {
    /// Images.
    pub n: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// Window side.
    pub k: usize,
    /// Stride.
    pub s: usize,
    /// Zero padding on every side.
    pub pad: usize,
}

impl DwGeometry {
    /// Output `(height, width)`.
    pub fn output(&self) -> Result<(usize, usize)> {
        let (k, s, p) = (self.k, self.s, self.pad);
        if k == 0 || s == 0 || self.h + 2 * p < k || self.w + 2 * p < k {
            return Err(Error::InvalidArgument(format!(
                "depthwise geometry {self:?}"
            )));
        }
        Ok(((self.h + 2 * p - k) / s + 1, (self.w + 2 * p - k) / s + 1))
    }

    /// Calls `f(out_index, in_index, tap)` for every output element and in-image tap.
    fn taps(&self, mut f: impl FnMut(usize, usize, usize)) -> Result<()> {
        let (oh, ow) = self.output()?;
        let (h, w, c, k) = (self.h as isize, self.w as isize, self.c, self.k);
        for b in 0..self.n {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ky in 0..k {
                        let iy = (oy * self.s + ky) as isize - self.pad as isize;
                        if iy < 0 || iy >= h {
                            continue;
                        }
                        for kx in 0..k {
                            let ix = (ox * self.s + kx) as isize - self.pad as isize;
                            if ix < 0 || ix >= w {
                                continue;
                            }
                            let out = ((b * oh + oy) * ow + ox) * c;
                            let inp = ((b * self.h + iy as usize) * self.w + ix as usize) * c;
                            f(out, inp, ky * k + kx);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Depthwise convolution, weights `[c][k][k]`: `y = b + Σ_taps x·w` per channel.
pub fn depthwise_forward<T: Real>(
    g: &DwGeometry,
    x: &[T],
    w: &[T],
    b: &[T],
    y: &mut [T],
) -> Result<()> {
    let (oh, ow) = g.output()?;
    let (c, kk) = (g.c, g.k * g.k);
    need("depthwise input", x.len(), g.n * g.h * g.w * c)?;
    need("depthwise weights", w.len(), c * kk)?;
    need("depthwise bias", b.len(), c)?;
    need("depthwise output", y.len(), g.n * oh * ow * c)?;
    let mut acc: Vec<f64> = (0..y.len()).map(|i| b[i % c].f64()).collect();
    g.taps(|o, i, t| {
        for ch in 0..c {
            acc[o + ch] += x[i + ch].f64() * w[ch * kk + t].f64();
        }
    })?;
    for (v, a) in y.iter_mut().zip(acc) {
        *v = T::of(a);
    }
    Ok(())
}

/// Gradients of [`depthwise_forward`]: `dw`, `db`, and `dx` when asked.
pub fn depthwise_backward<T: Real>(
    g: &DwGeometry,
    x: &[T],
    w: &[T],
    dy: &[T],
    dx: Option<&mut [T]>,
    dw: &mut [T],
    db: &mut [T],
) -> Result<()> {
    let (oh, ow) = g.output()?;
    let (c, kk) = (g.c, g.k * g.k);
    need("depthwise output gradient", dy.len(), g.n * oh * ow * c)?;
    need("depthwise weight gradient", dw.len(), c * kk)?;
    need("depthwise bias gradient", db.len(), c)?;
    let mut gw = vec![0f64; c * kk];
    let mut gx = vec![0f64; if dx.is_some() { x.len() } else { 0 }];
    let want_dx = dx.is_some();
    g.taps(|o, i, t| {
        for ch in 0..c {
            let d = dy[o + ch].f64();
            gw[ch * kk + t] += d * x[i + ch].f64();
            if want_dx {
                gx[i + ch] += d * w[ch * kk + t].f64();
            }
        }
    })?;
    for (ch, d) in db.iter_mut().enumerate() {
        *d = T::of(dy.iter().skip(ch).step_by(c).map(|v| v.f64()).sum());
    }
    for (d, v) in dw.iter_mut().zip(gw) {
        *d = T::of(v);
    }
    if let Some(dx) = dx {
        need("depthwise input gradient", dx.len(), x.len())?;
        for (d, v) in dx.iter_mut().zip(gx) {
            *d = T::of(v);
        }
    }
    Ok(())
}

/// Global average pooling of `n` images of `pixels × c`: `y[b][c] = mean_p x[b][p][c]`.
pub fn gap_forward<T: Real>(x: &[T], n: usize, pixels: usize, c: usize, y: &mut [T]) -> Result<()> {
    need("pool input", x.len(), n * pixels * c)?;
    need("pool output", y.len(), n * c)?;
    for b in 0..n {
        for ch in 0..c {
            let s: f64 = (0..pixels)
                .map(|p| x[(b * pixels + p) * c + ch].f64())
                .sum();
            y[b * c + ch] = T::of(s / pixels as f64);
        }
    }
    Ok(())
}

/// Gradient of [`gap_forward`]: `dx[b][p][c] = dy[b][c] / pixels`.
pub fn gap_backward<T: Real>(
    dy: &[T],
    n: usize,
    pixels: usize,
    c: usize,
    dx: &mut [T],
) -> Result<()> {
    need("pool output gradient", dy.len(), n * c)?;
    need("pool input gradient", dx.len(), n * pixels * c)?;
    for (i, d) in dx.iter_mut().enumerate() {
        let (b, ch) = (i / (pixels * c), i % c);
        *d = T::of(dy[b * c + ch].f64() / pixels as f64);
    }
    Ok(())
}

/// Squeeze-excitation parameters: `fc1` (`[q][c]`, `b1`), `fc2` (`[c][q]`, `b2`); the gate is
/// `hsigmoid(fc2(relu(fc1(mean(x)))))` (MobileNetV3).
#[derive(Clone, Copy, Debug)]
pub struct SeParams<'a, T> {
    /// `[q][c]`.
    pub w1: &'a [T],
    /// `[q]`.
    pub b1: &'a [T],
    /// `[c][q]`.
    pub w2: &'a [T],
    /// `[c]`.
    pub b2: &'a [T],
}

/// Gradients of the squeeze-excitation parameters.
pub struct SeGrads<'a, T> {
    /// `[q][c]`.
    pub w1: &'a mut [T],
    /// `[q]`.
    pub b1: &'a mut [T],
    /// `[c][q]`.
    pub w2: &'a mut [T],
    /// `[c]`.
    pub b2: &'a mut [T],
}

/// The squeeze-excitation gate's intermediate values for each image: pooled `s`, `fc1`
/// pre-activation, `fc2` pre-activation.
struct SeTrace {
    s: Vec<f64>,
    pre1: Vec<f64>,
    pre2: Vec<f64>,
}

fn se_trace<T: Real>(
    p: &SeParams<'_, T>,
    x: &[T],
    n: usize,
    pixels: usize,
    c: usize,
) -> Result<SeTrace> {
    let q = p.b1.len();
    need("SE input", x.len(), n * pixels * c)?;
    need("SE fc1", p.w1.len(), q * c)?;
    need("SE fc2", p.w2.len(), c * q)?;
    need("SE fc2 bias", p.b2.len(), c)?;
    let mut t = SeTrace {
        s: vec![0.0; n * c],
        pre1: vec![0.0; n * q],
        pre2: vec![0.0; n * c],
    };
    for b in 0..n {
        for ch in 0..c {
            t.s[b * c + ch] = (0..pixels)
                .map(|px| x[(b * pixels + px) * c + ch].f64())
                .sum::<f64>()
                / pixels as f64;
        }
        for j in 0..q {
            t.pre1[b * q + j] = p.b1[j].f64()
                + (0..c)
                    .map(|ch| p.w1[j * c + ch].f64() * t.s[b * c + ch])
                    .sum::<f64>();
        }
        for ch in 0..c {
            t.pre2[b * c + ch] = p.b2[ch].f64()
                + (0..q)
                    .map(|j| p.w2[ch * q + j].f64() * t.pre1[b * q + j].max(0.0))
                    .sum::<f64>();
        }
    }
    Ok(t)
}

/// Squeeze-excitation of `n` images of `pixels × c`: `y = x · gate(x)` per channel.
pub fn se_forward<T: Real>(
    p: &SeParams<'_, T>,
    x: &[T],
    n: usize,
    pixels: usize,
    c: usize,
    y: &mut [T],
) -> Result<()> {
    let t = se_trace(p, x, n, pixels, c)?;
    need("SE output", y.len(), x.len())?;
    for (i, (o, v)) in y.iter_mut().zip(x).enumerate() {
        let b = i / (pixels * c);
        let gate = Activation::Hsigmoid.apply_f64(t.pre2[b * c + i % c]);
        *o = T::of(v.f64() * gate);
    }
    Ok(())
}

/// Gradients of [`se_forward`]: the parameters' and `dx`.
#[allow(clippy::too_many_arguments)]
pub fn se_backward<T: Real>(
    p: &SeParams<'_, T>,
    x: &[T],
    n: usize,
    pixels: usize,
    c: usize,
    dy: &[T],
    dx: &mut [T],
    grads: SeGrads<'_, T>,
) -> Result<()> {
    let t = se_trace(p, x, n, pixels, c)?;
    let q = p.b1.len();
    need("SE output gradient", dy.len(), x.len())?;
    need("SE input gradient", dx.len(), x.len())?;
    let (mut gw1, mut gb1) = (vec![0f64; q * c], vec![0f64; q]);
    let (mut gw2, mut gb2) = (vec![0f64; c * q], vec![0f64; c]);
    for b in 0..n {
        // Through the product: dgate[c] = Σ_p dy·x; dx = dy·gate (+ the pooled path below).
        let mut dpre2 = vec![0f64; c];
        for (ch, d2) in dpre2.iter_mut().enumerate() {
            let pre = t.pre2[b * c + ch];
            let gate = Activation::Hsigmoid.apply_f64(pre);
            let mut dgate = 0.0;
            for px in 0..pixels {
                let i = (b * pixels + px) * c + ch;
                dgate += dy[i].f64() * x[i].f64();
                dx[i] = T::of(dy[i].f64() * gate);
            }
            *d2 = dgate * act_derivative(Activation::Hsigmoid, pre);
        }
        let mut dpre1 = vec![0f64; q];
        for ch in 0..c {
            gb2[ch] += dpre2[ch];
            for j in 0..q {
                gw2[ch * q + j] += dpre2[ch] * t.pre1[b * q + j].max(0.0);
                dpre1[j] += dpre2[ch] * p.w2[ch * q + j].f64();
            }
        }
        let mut ds = vec![0f64; c];
        for j in 0..q {
            let d = dpre1[j] * act_derivative(Activation::Relu, t.pre1[b * q + j]);
            gb1[j] += d;
            for ch in 0..c {
                gw1[j * c + ch] += d * t.s[b * c + ch];
                ds[ch] += d * p.w1[j * c + ch].f64();
            }
        }
        for (ch, dsc) in ds.iter().enumerate() {
            for px in 0..pixels {
                let i = (b * pixels + px) * c + ch;
                dx[i] = T::of(dx[i].f64() + dsc / pixels as f64);
            }
        }
    }
    let store =
        |dst: &mut [T], src: &[f64]| dst.iter_mut().zip(src).for_each(|(d, v)| *d = T::of(*v));
    need(
        "SE gradients",
        grads.w1.len() + grads.b1.len() + grads.w2.len() + grads.b2.len(),
        2 * q * c + q + c,
    )?;
    store(grads.w1, &gw1);
    store(grads.b1, &gb1);
    store(grads.w2, &gw2);
    store(grads.b2, &gb2);
    Ok(())
}
