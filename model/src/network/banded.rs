//! Inverted-residual blocks run band by band over the depthwise output rows: the expanding
//! pointwise conv writes the few input rows a band needs into a small buffer that stays in
//! cache (rows shared with the previous band are slid down, not recomputed), the depthwise
//! conv reads them from there ([`DepthwiseConv2d::run_rows_band`]), and — unless
//! squeeze-excitation sits in between, which needs the whole depthwise output first — the
//! projection consumes each band's output right away. Blocks without an expansion band the
//! depthwise output into the projection the same way. The widest activation of a block (the
//! expanded one: 3.2 MB per 224x224 image in MobileNetV3-Large's `features.2`, 4.8 MB in
//! MobileNetV2's) then never leaves the cache. Results are bit-identical to running layer by
//! layer: every output value comes from the same kernel and the same inputs.
//!
//! Used by forward passes and profiles (observing activations needs them whole). With a
//! pool, each core takes a contiguous share of the depthwise output rows and runs it band by
//! band in a band buffer of its own (rows at the shares' seams are expanded by both).
//!
//! [`DepthwiseConv2d::run_rows_band`]: ruvector_cnn_kernels::ops::DepthwiseConv2d::run_rows_band

use std::ops::Range;

use ruvector_cnn_kernels::ops::{Nhwc, Result as OpResult};
use ruvector_cnn_kernels::parallel::{MAX_THREADS, ThreadPool, even_bounds};

use super::{Block, Workspace, pointwise_rows, rotate};
use crate::error::{OpContext, Result};

/// Blocks whose depthwise input has no more floats than this run layer by layer (it stays
/// in cache between the layers anyway). Measured on MobileNetV3-Large (224x224): banding pays
/// from the 56x56x72 expansions up, and not for the 28x28x240 one.
const BAND_ABOVE: usize = 3 << 16;

/// Floats of depthwise input rows a band aims to read (a quarter of a 1 MiB L2).
const BAND_FLOATS: usize = 1 << 16;

/// How a block runs band by band on one input shape.
#[derive(Clone, Copy, Debug)]
pub(super) struct Plan {
    /// Shape of the depthwise input (the expanded activation, or the block input).
    pub(super) dw_in: Nhwc,
    /// Shape of the depthwise output.
    pub(super) depthwise: Nhwc,
    /// Shape of the block output.
    pub(super) output: Nhwc,
    /// Depthwise output rows per band.
    rows: usize,
    /// Floats the band buffer needs.
    pub(super) floats: usize,
}

/// The band plan of block `b` on an `s`-shaped image, or `None` when it runs layer by layer:
/// a batch, a depthwise input small enough to stay in cache, or nothing to band (no
/// expansion, and squeeze-excitation between the depthwise conv and the projection).
pub(super) fn plan(b: &Block, s: Nhwc) -> Result<Option<Plan>> {
    let dw_in = match &b.expand {
        Some(e) => e.output_shape(s).layer(&b.name)?,
        None if b.se.is_none() => s,
        None => return Ok(None),
    };
    if s.n != 1 || dw_in.len().layer(&b.name)? <= BAND_ABOVE {
        return Ok(None);
    }
    let depthwise = b.dw.output_shape(dw_in).layer(&b.name)?;
    let (k, stride) = (b.dw.kernel_size(), b.dw.stride());
    let row = dw_in.w * dw_in.c;
    // A band of `rows` output rows reads `(rows − 1)·stride + k` input rows.
    let rows = (BAND_FLOATS / row).saturating_sub(k - stride).max(stride) / stride;
    let floats = if b.expand.is_some() {
        // Expanded rows.
        ((rows - 1) * stride + k).min(dw_in.h) * row
    } else {
        // Depthwise output rows (the input is the block input itself).
        rows * depthwise.w * depthwise.c
    };
    Ok(Some(Plan {
        dw_in,
        depthwise,
        output: b.project.output_shape(depthwise).layer(&b.name)?,
        rows,
        floats,
    }))
}

/// One core's share of a banded block: depthwise output rows `rows`, with the slices of the
/// depthwise output (`dw`) and of the block output (`out`; empty with squeeze-excitation,
/// whose projection runs afterwards) holding those rows, and a band buffer of its own.
struct Part<'a> {
    rows: Range<usize>,
    dw: &'a mut [f32],
    out: &'a mut [f32],
    band: &'a mut [f32],
    result: OpResult<()>,
}

/// Runs block `b` (see [`plan`]) on the `shape`-shaped image in activation buffer `cur` band
/// by band; returns the output shape and the buffer holding it (`cur + 1`). With a `pool`
/// (and band buffers for its threads in `ws`), each core takes a contiguous share of the
/// output rows, band by band.
pub(super) fn run(
    b: &Block,
    p: Plan,
    shape: Nhwc,
    cur: usize,
    ws: &mut Workspace,
    pool: Option<&ThreadPool>,
) -> Result<(Nhwc, usize)> {
    let name = b.name.as_str();
    let Workspace { act, se, band, .. } = ws;
    let [x, t1, t2] = rotate(act, cur);
    let x = &x[..];
    let (ds, ps) = (p.depthwise, p.output);
    let (out_row, proj_row) = (ds.w * ds.c, ds.w * ps.c);
    let cores = pool.map_or(1, ThreadPool::threads);
    let mut bounds = [0usize; MAX_THREADS + 1];
    let parts = even_bounds(ds.h, cores.min(band.len() / p.floats), 1, &mut bounds);
    let mut tasks: [Option<Part<'_>>; MAX_THREADS] = std::array::from_fn(|_| None);
    let (mut dw, mut out, mut bands) = (&mut t2[..ds.h * out_row], &mut t1[..], &mut band[..]);
    for (i, task) in tasks.iter_mut().enumerate().take(parts) {
        let rows = bounds[i]..bounds[i + 1];
        let (d, rest) = std::mem::take(&mut dw).split_at_mut(rows.len() * out_row);
        dw = rest;
        let take = if b.se.is_none() {
            rows.len() * proj_row
        } else {
            0
        };
        let (o, rest) = std::mem::take(&mut out).split_at_mut(take);
        out = rest;
        let (bd, rest) = std::mem::take(&mut bands).split_at_mut(p.floats);
        bands = rest;
        *task = Some(Part {
            rows,
            dw: d,
            out: o,
            band: bd,
            result: Ok(()),
        });
    }
    let work = |_: usize, task: &mut Option<Part<'_>>| {
        if let Some(t) = task {
            t.result = run_part(b, p, shape, x, t);
        }
    };
    match pool {
        Some(pool) if parts > 1 => pool.for_each_mut(&mut tasks[..parts], work),
        _ => tasks[..parts].iter_mut().for_each(|t| work(0, t)),
    }
    for t in tasks.iter_mut().take(parts) {
        t.take().map_or(Ok(()), |t| t.result).layer(name)?;
    }
    if let Some(q) = &b.se {
        let residual = b.residual.then_some(x);
        q.run_in_place(ds, t2, se).layer(name)?;
        pointwise_rows(pool, &b.project, ds, t2, t1, residual, name)?;
    }
    Ok((ps, (cur + 1) % 3))
}

/// Computes `part`'s rows of block `b` band by band from the block input `x`.
fn run_part(b: &Block, p: Plan, shape: Nhwc, x: &[f32], part: &mut Part<'_>) -> OpResult<()> {
    let (es, ds, pc) = (p.dw_in, p.depthwise, p.output.c);
    let (k, stride, pad) = (b.dw.kernel_size(), b.dw.stride(), b.dw.padding().top);
    let (in_row, row, out_row) = (shape.w * shape.c, es.w * es.c, ds.w * ds.c);
    let band = &mut *part.band;
    // The band holds expanded rows lo..hi of the image.
    let (mut lo, mut hi) = (0, 0);
    let first = part.rows.start;
    for r0 in part.rows.clone().step_by(p.rows) {
        let r1 = (r0 + p.rows).min(part.rows.end);
        let y: &[f32] = match &b.expand {
            Some(e) => {
                let need_lo = (r0 * stride).saturating_sub(pad);
                let need_hi = ((r1 - 1) * stride + k).saturating_sub(pad).min(es.h);
                if need_lo > lo {
                    // Slide: keep the rows this band shares with the last one.
                    let keep = hi.max(need_lo) - need_lo;
                    band.copy_within((hi - keep - lo) * row..(hi - lo) * row, 0);
                    (lo, hi) = (need_lo, need_lo + keep);
                }
                if need_hi > hi {
                    let pixels = Nhwc::new(1, 1, (need_hi - hi) * es.w, shape.c);
                    let src = &x[hi * in_row..need_hi * in_row];
                    let dst = &mut band[(hi - lo) * row..(need_hi - lo) * row];
                    e.run(pixels, src, dst, None)?;
                    hi = need_hi;
                }
                let y = &mut part.dw[(r0 - first) * out_row..(r1 - first) * out_row];
                b.dw.run_rows_band(es, &band[..(hi - lo) * row], lo, y, r0..r1)?;
                y
            }
            None => {
                let y = &mut band[..(r1 - r0) * out_row];
                b.dw.run_rows(shape, x, y, r0..r1)?;
                y
            }
        };
        if b.se.is_none() {
            let px = (r0 - first) * ds.w..(r1 - first) * ds.w;
            let res = b.residual.then(|| &x[(r0 * ds.w) * pc..(r1 * ds.w) * pc]);
            let dst = &mut part.out[px.start * pc..px.end * pc];
            let pixels = Nhwc::new(1, 1, px.len(), ds.c);
            b.project.run(pixels, y, dst, res)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ruvector_cnn_kernels::KernelTable;
    use ruvector_cnn_kernels::ops::Nhwc;

    use super::super::{Network, Output, Probe};
    use crate::{Arch, Weights};

    /// A plain forward pass with banding off.
    struct Unbanded;
    impl Probe for Unbanded {}

    #[test]
    fn banded_blocks_match_layer_by_layer() {
        for (arch, hw) in [
            (Arch::MobileNetV3Large, (224, 224)),
            (Arch::MobileNetV3Large, (131, 97)),
            (Arch::MobileNetV3Small, (320, 255)),
            (Arch::MobileNetV2, (160, 224)),
        ] {
            let w = Weights::random(arch, 1.0, None, 7).unwrap();
            let mut net = Network::new(arch, 1.0, &w, KernelTable::best()).unwrap();
            let shape = Nhwc::new(1, hw.0, hw.1, 3);
            let x: Vec<f32> = (0..shape.len().unwrap())
                .map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0)
                .collect();
            // At least one block of each case runs band by band.
            let mut s = net.stem.output_shape(shape).unwrap();
            let (mut banded, mut floats) = (0, 0);
            for b in &net.blocks {
                if let Some(p) = super::plan(b, s).unwrap() {
                    banded += 1;
                    floats = p.floats.max(floats);
                }
                s = super::super::blocks_sizes(std::slice::from_ref(b), s, &mut Default::default())
                    .unwrap();
            }
            assert!(banded > 0, "{arch:?} {hw:?}: no block runs band by band");
            let mut ws = net.workspace(shape).unwrap();
            assert!(ws.band.len() >= floats, "{arch:?} {hw:?}: no room to band");
            let dim = net.output_dim(Output::Pooled).unwrap();
            let (mut a, mut b) = (vec![0.0; dim], vec![1.0; dim]);
            net.forward_image(
                shape,
                &x,
                Output::Pooled,
                &mut a,
                &mut ws,
                &mut super::super::NoProbe,
            )
            .unwrap();
            net.forward_image(shape, &x, Output::Pooled, &mut b, &mut ws, &mut Unbanded)
                .unwrap();
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "{arch:?} {hw:?}");
            assert!(a.iter().any(|v| *v != 0.0), "{arch:?} {hw:?}: all zero");
            // Over two cores (each its share of the rows, band by band), where threads exist.
            if net.set_threads(2).is_ok() {
                let mut ws = net.workspace(shape).unwrap();
                assert!(
                    ws.band.len() >= 2 * floats,
                    "{arch:?} {hw:?}: one band for two cores"
                );
                let mut c = vec![2.0; dim];
                net.forward_image(
                    shape,
                    &x,
                    Output::Pooled,
                    &mut c,
                    &mut ws,
                    &mut super::super::NoProbe,
                )
                .unwrap();
                assert_eq!(bits(&a), bits(&c), "{arch:?} {hw:?} on two cores");
            }
        }
    }
}
