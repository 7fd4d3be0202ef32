//! Contrastive losses on batches of embeddings, each returning the loss and its gradient with
//! respect to the raw (un-normalised) embeddings.
//!
//! - [`nt_xent`]: SimCLR's NT-Xent. Rows `i` and `i + N` of a `2N`-row batch are two views of
//!   one item; each row's positive is its partner and its negatives are the other `2N − 2`
//!   rows. `L = mean_i [ lse_{k≠i}(s_ik) − s_i,p(i) ]`, `s = û·ûᵀ / τ`.
//! - [`info_nce`]: InfoNCE between two aligned batches `a`, `b` (row `i` of each is a pair;
//!   in-batch negatives), `s = âᵢ·b̂ⱼ / τ`, cross-entropy of each row of `s` against its
//!   diagonal; the symmetric form (CLIP) averages it with the same over the columns.
//! - [`triplet`]: `max(d(a, p) − d(a, n) + margin, 0)` with cosine distance `1 − â·b̂` or
//!   Euclidean distance `√(‖a − b‖² + 10⁻¹²)`, mined from labels: batch-all (the mean over
//!   the triplets with a positive loss) or batch-hard (per anchor the farthest positive and the
//!   nearest negative; the mean over anchors that have both).
//!
//! Normalisation is PyTorch's `F.normalize`: `x / max(‖x‖, 10⁻¹²)`, so zero vectors give zero
//! embeddings and finite gradients. The pairwise products run on the GEMM micro-kernels in
//! `f32` (plain loops in `f64`, the precision the finite-difference tests use); softmaxes,
//! mining and the loss itself are accumulated in `f64`. Non-finite embeddings, a non-positive
//! or non-finite temperature, and batches with nothing to contrast are errors, never NaN.
//! Buffers live in a reusable [`LossWorkspace`].

use super::real::Real;
use crate::buffers::{grow, transpose_into};
use crate::error::{Error, Result};

/// Floor of a norm in normalisation (PyTorch `F.normalize`'s `eps`).
const NORM_EPS: f64 = 1e-12;
/// Added to squared Euclidean distances so the distance is differentiable at 0.
const DIST_EPS: f64 = 1e-12;

/// Distance of [`triplet`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Distance {
    /// `1 − cos(a, b)` (on normalised embeddings).
    #[default]
    Cosine,
    /// `√(‖a − b‖² + 10⁻¹²)` on the raw embeddings.
    Euclidean,
}

/// Triplet mining of [`triplet`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mining {
    /// Every valid triplet; the loss is the mean over those with a positive loss.
    #[default]
    All,
    /// Per anchor, the farthest positive and the nearest negative.
    Hard,
}

/// Options of [`triplet`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TripletOptions {
    /// Margin (≥ 0).
    pub margin: f64,
    /// Distance.
    pub distance: Distance,
    /// Mining.
    pub mining: Mining,
}

impl Default for TripletOptions {
    /// Cosine distance, margin 0.2, batch-all mining. (Batch-hard with cosine distance can
    /// collapse a freshly initialised head onto one direction, where every distance is equal
    /// and the loss sticks at the margin; batch-all, or batch-hard with Euclidean distance,
    /// trains in `model/tests/contrastive_train.rs`.)
    fn default() -> Self {
        TripletOptions {
            margin: 0.2,
            distance: Distance::Cosine,
            mining: Mining::All,
        }
    }
}

/// Scratch buffers of the losses, grown on demand and reused.
#[derive(Default)]
pub struct LossWorkspace<T> {
    u: Vec<T>,
    v: Vec<T>,
    norm_u: Vec<f64>,
    norm_v: Vec<f64>,
    sim: Vec<T>,
    coef: Vec<T>,
    coef_t: Vec<T>,
    trans: Vec<T>,
    du: Vec<T>,
    w: Vec<f64>,
}

/// Checks a `rows × dim` batch: non-empty, the right length, finite.
fn check_batch<T: Real>(what: &str, z: &[T], rows: usize, dim: usize) -> Result<()> {
    if rows == 0 || dim == 0 {
        return Err(Error::InvalidArgument(format!(
            "{what}: empty batch ({rows} × {dim})"
        )));
    }
    let len = rows
        .checked_mul(dim)
        .ok_or_else(|| Error::InvalidArgument(format!("{what}: {rows} × {dim} overflows")))?;
    if z.len() != len {
        return Err(Error::InvalidArgument(format!(
            "{what}: {} values for {rows} × {dim}",
            z.len()
        )));
    }
    if let Some(i) = z.iter().position(|v| !v.f64().is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "{what}: non-finite value at row {}, column {}",
            i / dim,
            i % dim
        )));
    }
    Ok(())
}

fn check_grad<T>(what: &str, grad: &[T], len: usize) -> Result<()> {
    if grad.len() == len {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "{what}: gradient buffer holds {}, needs {len}",
            grad.len()
        )))
    }
}

fn check_temperature(tau: f64) -> Result<()> {
    if tau.is_finite() && tau > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "temperature {tau} must be finite and positive"
        )))
    }
}

/// `u = z / max(‖z‖, ε)` row by row; `norm` receives `max(‖z‖, ε)`.
pub(crate) fn normalize<T: Real>(z: &[T], dim: usize, u: &mut [T], norm: &mut [f64]) {
    for ((zr, ur), n) in z.chunks_exact(dim).zip(u.chunks_exact_mut(dim)).zip(norm) {
        let sq: f64 = zr.iter().map(|v| v.f64() * v.f64()).sum();
        *n = sq.sqrt().max(NORM_EPS);
        for (o, v) in ur.iter_mut().zip(zr) {
            *o = T::of(v.f64() / *n);
        }
    }
}

/// The gradient through [`normalize`]: `dz = (du − u·(u·du)) / n` for `n > ε`, else `du / ε`.
pub(crate) fn normalize_backward<T: Real>(
    u: &[T],
    norm: &[f64],
    du: &[T],
    dim: usize,
    dz: &mut [T],
) {
    for (((ur, dur), dzr), &n) in u
        .chunks_exact(dim)
        .zip(du.chunks_exact(dim))
        .zip(dz.chunks_exact_mut(dim))
        .zip(norm)
    {
        if n > NORM_EPS {
            let dot: f64 = ur.iter().zip(dur).map(|(a, b)| a.f64() * b.f64()).sum();
            for ((o, a), b) in dzr.iter_mut().zip(ur).zip(dur) {
                *o = T::of((b.f64() - a.f64() * dot) / n);
            }
        } else {
            for (o, b) in dzr.iter_mut().zip(dur) {
                *o = T::of(b.f64() / n);
            }
        }
    }
}

/// `out = C·Y` for `C` (`rows × cols`) and `Y` (`cols × dim`), on the GEMM of `T`.
fn apply<T: Real>(
    c: &[T],
    rows: usize,
    y: &[T],
    cols: usize,
    dim: usize,
    trans: &mut Vec<T>,
    out: &mut [T],
) -> Result<()> {
    grow(trans, cols * dim);
    transpose_into(y, cols, dim, &mut trans[..cols * dim]);
    T::gemm_nt(c, rows, &trans[..cols * dim], dim, cols, out)
}

/// `log Σ exp(x)` and the softmax of `x` (written to `p`), stably.
fn log_softmax(x: impl Iterator<Item = f64> + Clone, p: &mut [f64]) -> f64 {
    let m = x.clone().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for (pi, xi) in p.iter_mut().zip(x) {
        *pi = (xi - m).exp();
        sum += *pi;
    }
    for pi in p.iter_mut() {
        *pi /= sum;
    }
    m + sum.ln()
}

/// NT-Xent (SimCLR) of a `rows × dim` batch whose rows `i` and `i + rows/2` are positive
/// pairs, at temperature `tau`. Writes `∂L/∂z` into `grad` (same shape) and returns `L`.
pub fn nt_xent<T: Real>(
    z: &[T],
    rows: usize,
    dim: usize,
    tau: f64,
    grad: &mut [T],
    ws: &mut LossWorkspace<T>,
) -> Result<f64> {
    check_batch("NT-Xent embeddings", z, rows, dim)?;
    check_grad("NT-Xent", grad, rows * dim)?;
    check_temperature(tau)?;
    if !rows.is_multiple_of(2) {
        return Err(Error::InvalidArgument(format!(
            "NT-Xent needs an even number of rows (two views per item), got {rows}"
        )));
    }
    let half = rows / 2;
    grow(&mut ws.u, rows * dim);
    grow(&mut ws.norm_u, rows);
    grow(&mut ws.sim, rows * rows);
    grow(&mut ws.w, rows * rows + rows);
    let u = &mut ws.u[..rows * dim];
    normalize(z, dim, u, &mut ws.norm_u[..rows]);
    T::gemm_nt(u, rows, u, rows, dim, &mut ws.sim[..rows * rows])?;
    let (g, p) = ws.w.split_at_mut(rows * rows);
    let mut loss = 0.0;
    for i in 0..rows {
        let pos = (i + half) % rows;
        let row = &ws.sim[i * rows..(i + 1) * rows];
        let others = (0..rows).filter(|&k| k != i).map(|k| row[k].f64() / tau);
        let lse = log_softmax(others, &mut p[..rows - 1]);
        loss += lse - row[pos].f64() / tau;
        let gi = &mut g[i * rows..(i + 1) * rows];
        gi[i] = 0.0;
        for (k, &pk) in (0..rows).filter(|&k| k != i).zip(p.iter()) {
            gi[k] = (pk - f64::from(u8::from(k == pos))) / rows as f64;
        }
    }
    // s_ik = û_i·û_k / τ is symmetric: ∂L/∂û_i = Σ_k (G_ik + G_ki) û_k / τ.
    grow(&mut ws.coef, rows * rows);
    for i in 0..rows {
        for k in 0..rows {
            ws.coef[i * rows + k] = T::of((g[i * rows + k] + g[k * rows + i]) / tau);
        }
    }
    grow(&mut ws.du, rows * dim);
    let u = &ws.u[..rows * dim];
    apply(
        &ws.coef[..rows * rows],
        rows,
        u,
        rows,
        dim,
        &mut ws.trans,
        &mut ws.du[..rows * dim],
    )?;
    normalize_backward(u, &ws.norm_u[..rows], &ws.du[..rows * dim], dim, grad);
    Ok(loss / rows as f64)
}

/// InfoNCE between aligned batches `a` and `b` (`rows × dim` each; row `i` of `a` and of `b`
/// are a positive pair, every other row of the other batch a negative), at temperature
/// `tau`; `symmetric` averages the `a → b` and `b → a` directions (CLIP). Writes `∂L/∂a`,
/// `∂L/∂b` and returns `L`.
#[allow(clippy::too_many_arguments)]
pub fn info_nce<T: Real>(
    a: &[T],
    b: &[T],
    rows: usize,
    dim: usize,
    tau: f64,
    symmetric: bool,
    grad_a: &mut [T],
    grad_b: &mut [T],
    ws: &mut LossWorkspace<T>,
) -> Result<f64> {
    check_batch("InfoNCE a", a, rows, dim)?;
    check_batch("InfoNCE b", b, rows, dim)?;
    check_grad("InfoNCE a", grad_a, rows * dim)?;
    check_grad("InfoNCE b", grad_b, rows * dim)?;
    check_temperature(tau)?;
    let n = rows;
    for v in [&mut ws.u, &mut ws.v, &mut ws.du] {
        grow(v, n * dim);
    }
    grow(&mut ws.norm_u, n);
    grow(&mut ws.norm_v, n);
    grow(&mut ws.sim, n * n);
    grow(&mut ws.w, n * n + n);
    normalize(a, dim, &mut ws.u[..n * dim], &mut ws.norm_u[..n]);
    normalize(b, dim, &mut ws.v[..n * dim], &mut ws.norm_v[..n]);
    T::gemm_nt(
        &ws.u[..n * dim],
        n,
        &ws.v[..n * dim],
        n,
        dim,
        &mut ws.sim[..n * n],
    )?;
    let (g, p) = ws.w.split_at_mut(n * n);
    g.fill(0.0);
    let directions: &[bool] = if symmetric { &[false, true] } else { &[false] };
    let weight = 1.0 / (n * directions.len()) as f64;
    let sim = &ws.sim[..n * n];
    let mut loss = 0.0;
    for &by_column in directions {
        for i in 0..n {
            // Row i of s (a_i against every b), or column i (b_i against every a).
            let at = |j: usize| if by_column { j * n + i } else { i * n + j };
            let logits = (0..n).map(|j| sim[at(j)].f64() / tau);
            let lse = log_softmax(logits, &mut p[..n]);
            loss += weight * (lse - sim[at(i)].f64() / tau);
            for (j, &pj) in p[..n].iter().enumerate() {
                g[at(j)] += weight * (pj - f64::from(u8::from(j == i)));
            }
        }
    }
    // ∂L/∂â = G·b̂ / τ, ∂L/∂b̂ = Gᵀ·â / τ.
    grow(&mut ws.coef, n * n);
    grow(&mut ws.coef_t, n * n);
    for i in 0..n {
        for j in 0..n {
            ws.coef[i * n + j] = T::of(g[i * n + j] / tau);
            ws.coef_t[j * n + i] = T::of(g[i * n + j] / tau);
        }
    }
    let (u, v) = (&ws.u[..n * dim], &ws.v[..n * dim]);
    let du = &mut ws.du[..n * dim];
    apply(&ws.coef[..n * n], n, v, n, dim, &mut ws.trans, du)?;
    normalize_backward(u, &ws.norm_u[..n], du, dim, grad_a);
    apply(&ws.coef_t[..n * n], n, u, n, dim, &mut ws.trans, du)?;
    normalize_backward(v, &ws.norm_v[..n], du, dim, grad_b);
    Ok(loss)
}

/// Triplet loss of a `rows × dim` batch with one label per row (see the module docs for the
/// distances and mining). Writes `∂L/∂z` and returns `L`; a batch in which no anchor has both
/// a positive and a negative is an error.
pub fn triplet<T: Real>(
    z: &[T],
    rows: usize,
    dim: usize,
    labels: &[u32],
    options: &TripletOptions,
    grad: &mut [T],
    ws: &mut LossWorkspace<T>,
) -> Result<f64> {
    check_batch("triplet embeddings", z, rows, dim)?;
    check_grad("triplet", grad, rows * dim)?;
    if labels.len() != rows {
        return Err(Error::InvalidArgument(format!(
            "triplet: {} labels for {rows} rows",
            labels.len()
        )));
    }
    let margin = options.margin;
    if !(margin.is_finite() && margin >= 0.0) {
        return Err(Error::InvalidArgument(format!(
            "triplet margin {margin} must be finite and non-negative"
        )));
    }
    let n = rows;
    grow(&mut ws.u, n * dim);
    grow(&mut ws.norm_u, n);
    grow(&mut ws.sim, n * n);
    grow(&mut ws.w, 2 * n * n);
    let cosine = options.distance == Distance::Cosine;
    if cosine {
        normalize(z, dim, &mut ws.u[..n * dim], &mut ws.norm_u[..n]);
    } else {
        ws.u[..n * dim].copy_from_slice(z);
    }
    let y = &ws.u[..n * dim];
    T::gemm_nt(y, n, y, n, dim, &mut ws.sim[..n * n])?;
    let (d, w) = ws.w.split_at_mut(n * n);
    let gram = |i: usize, j: usize| ws.sim[i * n + j].f64();
    for i in 0..n {
        for j in 0..n {
            d[i * n + j] = if cosine {
                1.0 - gram(i, j)
            } else {
                ((gram(i, i) + gram(j, j) - 2.0 * gram(i, j)).max(0.0) + DIST_EPS).sqrt()
            };
        }
    }
    w[..n * n].fill(0.0);
    let (mut loss, mut count) = (0.0, 0usize);
    let same = |a: usize, b: usize| labels[a] == labels[b];
    let valid = |a: usize| (0..n).any(|p| p != a && same(a, p)) && (0..n).any(|q| !same(a, q));
    if !(0..n).any(valid) {
        return Err(no_triplet());
    }
    match options.mining {
        Mining::All => {
            for a in 0..n {
                for p in (0..n).filter(|&p| p != a && same(a, p)) {
                    for q in (0..n).filter(|&q| !same(a, q)) {
                        let l = d[a * n + p] - d[a * n + q] + margin;
                        if l > 0.0 {
                            loss += l;
                            count += 1;
                            w[a * n + p] += 1.0;
                            w[a * n + q] -= 1.0;
                        }
                    }
                }
            }
        }
        Mining::Hard => {
            for a in 0..n {
                let row = &d[a * n..(a + 1) * n];
                let pos = (0..n)
                    .filter(|&p| p != a && same(a, p))
                    .max_by(|&x, &y| row[x].total_cmp(&row[y]));
                let neg = (0..n)
                    .filter(|&q| !same(a, q))
                    .min_by(|&x, &y| row[x].total_cmp(&row[y]));
                if let (Some(p), Some(q)) = (pos, neg) {
                    count += 1;
                    let l = row[p] - row[q] + margin;
                    if l > 0.0 {
                        loss += l;
                        w[a * n + p] += 1.0;
                        w[a * n + q] -= 1.0;
                    }
                }
            }
        }
    }
    let scale = if count == 0 { 0.0 } else { 1.0 / count as f64 };
    // Back through the distances: W holds ∂L/∂d (times `count`).
    grow(&mut ws.coef, n * n);
    for i in 0..n {
        let mut diag = 0.0;
        for j in 0..n {
            let wij = (w[i * n + j] + w[j * n + i]) * scale;
            let c = if cosine {
                -wij
            } else if i == j {
                0.0
            } else {
                let v = wij / d[i * n + j];
                diag += v;
                -v
            };
            ws.coef[i * n + j] = T::of(c);
        }
        if !cosine {
            ws.coef[i * n + i] = T::of(diag);
        }
    }
    grow(&mut ws.du, n * dim);
    let y = &ws.u[..n * dim];
    if cosine {
        apply(
            &ws.coef[..n * n],
            n,
            y,
            n,
            dim,
            &mut ws.trans,
            &mut ws.du[..n * dim],
        )?;
        normalize_backward(y, &ws.norm_u[..n], &ws.du[..n * dim], dim, grad);
    } else {
        apply(&ws.coef[..n * n], n, y, n, dim, &mut ws.trans, grad)?;
    }
    Ok(loss * scale)
}

fn no_triplet() -> Error {
    Error::InvalidArgument(
        "triplet: no anchor has both a positive (same label) and a negative in the batch".into(),
    )
}
