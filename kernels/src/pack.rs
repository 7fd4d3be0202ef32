//! Weight packing into the layouts the kernels read.
//!
//! Every family uses the same panel layout: output channels are split into panels of `nr`
//! (GEMM, dense conv) or blocks of `cb` (depthwise) channels; a panel holds `nr` bias values
//! followed by `taps` rows of `nr` weights, one row per reduction index. Channels past the
//! end of the last panel are zero, so kernels always read whole vectors — except depthwise
//! with at least `cb` channels, whose last block overlaps the one before it (see
//! [`dwconv_block_start`]).

use crate::ops::Error;
use crate::ops::Result;
use crate::ops::shape::{check_len, product};
use crate::quant;
use crate::ukernels::{DotForm, QdwconvTile, QgemmTile};

/// Length of a packed buffer: `ceil(channels / nr)` panels of `nr·(taps + 1)` floats.
pub fn packed_len(channels: usize, nr: usize, taps: usize) -> Result<usize> {
    if nr == 0 {
        return Err(Error::InvalidArgument(
            "panel width must be at least 1".into(),
        ));
    }
    let taps1 = taps
        .checked_add(1)
        .ok_or(Error::SizeOverflow("packed weights"))?;
    product(&[channels.div_ceil(nr), nr, taps1], "packed weights")
}

/// Packs `ceil(channels / nr)` panels; panel `i` holds channels `start(i)..start(i) + nr`
/// (those past `channels` zero).
fn panels(
    channels: usize,
    nr: usize,
    taps: usize,
    bias: Option<&[f32]>,
    start: impl Fn(usize) -> usize,
    weight: impl Fn(usize, usize) -> f32,
) -> Result<Vec<f32>> {
    if let Some(b) = bias {
        check_len("bias", b.len(), channels)?;
    }
    let mut out = vec![0.0f32; packed_len(channels, nr, taps)?];
    for (i, panel) in out.chunks_exact_mut(nr * (taps + 1)).enumerate() {
        let first = start(i);
        for (j, ch) in (first..channels.min(first + nr)).enumerate() {
            panel[j] = bias.map_or(0.0, |b| b[ch]);
            for t in 0..taps {
                panel[nr + t * nr + j] = weight(ch, t);
            }
        }
    }
    Ok(out)
}

/// The first channel of depthwise block `i` of `cb` channels: `i·cb`, except that with at
/// least `cb` channels no block runs past the last channel — the last block starts at
/// `channels − cb`, recomputing channels the block before it already wrote (bit-identical
/// results), so that kernels never need masked loads or stores, which are slow on some CPUs
/// (AVX2 `vmaskmovps` stores on AMD). The generated kernels compute the same start.
pub fn dwconv_block_start(i: usize, channels: usize, cb: usize) -> usize {
    (i * cb).min(channels.saturating_sub(cb))
}

/// Packs GEMM weights given as `[n][k]` (PyTorch `Linear` / 1x1 `Conv2d` layout).
pub fn gemm(
    weights: &[f32],
    bias: Option<&[f32]>,
    n: usize,
    k: usize,
    nr: usize,
) -> Result<Vec<f32>> {
    check_len("weights", weights.len(), product(&[n, k], "weights")?)?;
    panels(n, nr, k, bias, |i| i * nr, |col, kk| weights[col * k + kk])
}

/// Packs GEMM weights given as `[n][k]` with the first `split` columns in panels of `nr` and
/// the rest, right after them, in panels of `tail_nr` (a GEMM whose width suits neither panel
/// width alone: see `GemmPlan`).
pub fn gemm_split(
    weights: &[f32],
    bias: Option<&[f32]>,
    n: usize,
    k: usize,
    (nr, split, tail_nr): (usize, usize, usize),
) -> Result<Vec<f32>> {
    check_len("weights", weights.len(), product(&[n, k], "weights")?)?;
    if let Some(b) = bias {
        check_len("bias", b.len(), n)?;
    }
    if split > n {
        return Err(Error::InvalidArgument(
            "column split past the last column".into(),
        ));
    }
    // Both parts checked above, so the slices are in range.
    let (main_b, tail_b) = bias.map(|b| b.split_at(split)).unzip();
    let (main_w, tail_w) = weights.split_at(split * k);
    let mut out = gemm(main_w, main_b, split, k, nr)?;
    out.extend(gemm(tail_w, tail_b, n - split, k, tail_nr)?);
    Ok(out)
}

/// Packs depthwise weights given as `[c][k][k]` (PyTorch `[c, 1, k, k]`).
pub fn dwconv(
    weights: &[f32],
    bias: Option<&[f32]>,
    c: usize,
    k: usize,
    cb: usize,
) -> Result<Vec<f32>> {
    let taps = product(&[k, k], "window")?;
    check_len("weights", weights.len(), product(&[c, taps], "weights")?)?;
    panels(
        c,
        cb,
        taps,
        bias,
        |i| dwconv_block_start(i, c, cb),
        |ch, t| weights[ch * taps + t],
    )
}

/// Packs dense 3x3 weights given as `[cout][cin][3][3]` (PyTorch OIHW) into
/// `[ky][kx][ci]`-ordered taps.
pub fn conv3x3(
    weights: &[f32],
    bias: Option<&[f32]>,
    cout: usize,
    cin: usize,
    nr: usize,
) -> Result<Vec<f32>> {
    let taps = product(&[9, cin], "window")?;
    check_len("weights", weights.len(), product(&[cout, taps], "weights")?)?;
    panels(
        cout,
        nr,
        taps,
        bias,
        |i| i * nr,
        |co, t| {
            let (pos, ci) = (t / cin, t % cin);
            weights[(co * cin + ci) * 9 + pos]
        },
    )
}

/// The weights of a quantized layer: `outputs` output channels, each a dot product over
/// `taps` inputs (a GEMM's reduction length, or a depthwise window's K·K), as [`qgemm`] and
/// [`qdwconv`] pack them and [`crate::reference`] runs them.
#[derive(Clone, Copy, Debug)]
pub struct QuantWeights<'a> {
    /// Output channels (GEMM columns).
    pub outputs: usize,
    /// Inputs per output (GEMM reduction length, or K·K for depthwise).
    pub taps: usize,
    /// `[outputs][taps]` signed weights (PyTorch layout).
    pub weights: &'a [i8],
    /// `outputs` biases at scale `s_x·s_w[c]`.
    pub bias: &'a [i32],
    /// `outputs` per-channel requantization multipliers `s_x·s_w[c]/s_y` (see
    /// [`crate::quant`]).
    pub scale: &'a [f32],
    /// Zero point of the u8 input (also the value of zero padding).
    pub input_zero_point: u8,
}

impl QuantWeights<'_> {
    /// Checks the lengths, the multipliers, and that no accumulator can overflow `i32`.
    pub fn validate(&self) -> Result<()> {
        let (n, k) = (self.outputs, self.taps);
        check_len("weights", self.weights.len(), product(&[n, k], "weights")?)?;
        check_len("bias", self.bias.len(), n)?;
        check_len("scale", self.scale.len(), n)?;
        for &m in self.scale {
            quant::check_multiplier(m)?;
        }
        let bias_max = self
            .bias
            .iter()
            .map(|b| b.unsigned_abs())
            .max()
            .unwrap_or(0);
        let limit = quant::max_reduction(bias_max);
        if n == 0 || k == 0 || k > limit {
            return Err(Error::InvalidArgument(format!(
                "a quantized layer needs ≥ 1 output and 1..={limit} taps (no i32 overflow); \
                 got {n} outputs of {k} taps"
            )));
        }
        Ok(())
    }
}

/// Bytes of INT8 GEMM weights packed for `tile`: per NR-column panel a header of
/// [`QUANT_HEADER_ARRAYS`] NR-long 4-byte arrays, then `ceil(k/4)` steps of NR×4 bytes (twice that for split tiles).
pub fn qgemm_packed_len(n: usize, k: usize, tile: QgemmTile) -> Result<usize> {
    let step = 4 * tile.form.weight_bytes();
    let per_panel = product(&[k.div_ceil(4), step * tile.nr], "packed weights")?
        .checked_add(4 * QUANT_HEADER_ARRAYS * tile.nr)
        .ok_or(Error::SizeOverflow("packed weights"))?;
    product(&[n.div_ceil(tile.nr), per_panel], "packed weights")
}

/// Packs a quantized GEMM layer for `tile` (see [`crate::ukernels::qgemm`]): the input zero
/// point is folded into the bias (`bias − z_x·Σw`), columns past `n` and reduction indices
/// past `k` are zero, split tiles store each weight as `hi = w >> 1`, `lo = w & 1`, and
/// [`DotForm::Offset`] tiles add `128·Σw` to the bias.
pub fn qgemm(q: &QuantWeights, tile: QgemmTile) -> Result<Vec<u8>> {
    q.validate()?;
    let (n, k, nr) = (q.outputs, q.taps, tile.nr);
    let mut out = vec![0u8; qgemm_packed_len(n, k, tile)?];
    let panel = out.len() / n.div_ceil(nr);
    let step = 4 * nr * tile.form.weight_bytes();
    for col in 0..n {
        let base = (col / nr) * panel;
        let j = col % nr;
        put_channel(&mut out, q, col, (base, nr, j), step, tile.form);
    }
    Ok(out)
}

/// 4-byte arrays in the header of a packed INT8 panel or block (one entry per column): the
/// `i32` bias with `−z_x·Σw` folded in, then the `f32` requantization multiplier.
pub const QUANT_HEADER_ARRAYS: usize = 2;

/// The header values of one output channel (see [`QUANT_HEADER_ARRAYS`]): the bias with
/// `−z_x·Σw` folded in (and `+128·Σw` for [`DotForm::Offset`]), wrapping like the kernels'
/// accumulators, whose true final values fit `i32`.
fn quant_header(
    bias: i32,
    weights: &[i8],
    zero_point: u8,
    m: f32,
    form: DotForm,
) -> [[u8; 4]; QUANT_HEADER_ARRAYS] {
    let sum: i64 = weights.iter().map(|&w| i64::from(w)).sum();
    let offset = if form == DotForm::Offset { 128 } else { 0 };
    let folded = i64::from(bias) + (offset - i64::from(zero_point)) * sum;
    [(folded as i32).to_ne_bytes(), m.to_ne_bytes()]
}

/// Writes output channel `ch` of `q` into slot `slot` of the panel or block of `width`
/// channels at `out[base..]`: its header entries, then its weights, 4 taps per step of `step`
/// bytes (split layouts: `hi = w >> 1` there and `lo = w & 1` `4·width` bytes later).
fn put_channel(
    out: &mut [u8],
    q: &QuantWeights,
    ch: usize,
    (base, width, slot): (usize, usize, usize),
    step: usize,
    form: DotForm,
) {
    let k = q.taps;
    let row = &q.weights[ch * k..(ch + 1) * k];
    let header = quant_header(q.bias[ch], row, q.input_zero_point, q.scale[ch], form);
    for (a, v) in header.iter().enumerate() {
        let at = base + 4 * (a * width + slot);
        out[at..at + 4].copy_from_slice(v);
    }
    for (t, &w) in row.iter().enumerate() {
        let at = base + 4 * QUANT_HEADER_ARRAYS * width + (t / 4) * step + 4 * slot + t % 4;
        if form == DotForm::Split {
            out[at] = (w >> 1) as u8;
            out[at + 4 * width] = (w & 1) as u8;
        } else {
            out[at] = w as u8;
        }
    }
}

/// Packs a quantized depthwise layer for `tile` (see [`crate::ukernels::qdwconv`]) into
/// `cb`-channel blocks: a header of [`QUANT_HEADER_ARRAYS`] `cb`-long 4-byte arrays, then per group of 4 taps the
/// weights of the 4 accumulators (`lanes = cb / 4` lanes × 4 tap bytes each; split tiles:
/// all `hi` bytes, then all `lo`). Lane `d` of accumulator `a` is channel
/// `16·(d / 4) + 4·a + d % 4` of the block (channel `a` when `lanes = 1`): the order the
/// kernels' byte interleave produces. Channels past the end and taps past K·K are zero.
pub fn qdwconv(q: &QuantWeights, tile: QdwconvTile) -> Result<Vec<u8>> {
    q.validate()?;
    if q.taps != tile.k * tile.k {
        return Err(Error::InvalidArgument(format!(
            "{} taps per channel for a {k}x{k} depthwise kernel",
            q.taps,
            k = tile.k
        )));
    }
    let (cb, lanes) = (tile.cb, tile.cb / 4);
    if cb == 0 || cb % 4 != 0 || (lanes > 1 && lanes % 4 != 0) {
        return Err(Error::InvalidArgument(format!(
            "invalid depthwise block {cb}"
        )));
    }
    let taps = q.taps;
    let group = 4 * cb * tile.form.weight_bytes();
    let block = product(&[taps.div_ceil(4), group], "packed weights")?
        .checked_add(4 * QUANT_HEADER_ARRAYS * cb)
        .ok_or(Error::SizeOverflow("packed weights"))?;
    let mut out = vec![0u8; product(&[q.outputs.div_ceil(cb), block], "packed weights")?];
    let slot_of = |j: usize| -> usize {
        // Inverse of channel(a, d): the header/weight slot `a·lanes + d` of block channel `j`.
        if lanes == 1 {
            j
        } else {
            let (a, d) = ((j % 16) / 4, 4 * (j / 16) + j % 4);
            a * lanes + d
        }
    };
    for ch in 0..q.outputs {
        let (base, slot) = ((ch / cb) * block, slot_of(ch % cb));
        put_channel(&mut out, q, ch, (base, cb, slot), group, tile.form);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_layout() {
        // n = 3, k = 2, nr = 2: panel 0 = cols 0,1; panel 1 = col 2 + zero column.
        let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let p = gemm(&w, Some(&[10.0, 20.0, 30.0]), 3, 2, 2).unwrap();
        assert_eq!(
            p,
            vec![
                10.0, 20.0, 1.0, 3.0, 2.0, 4.0, 30.0, 0.0, 5.0, 0.0, 6.0, 0.0
            ]
        );
    }

    #[test]
    fn dwconv_last_block_overlaps() {
        // c = 3, k = 1, cb = 2: block 0 = channels 0,1; block 1 = channels 1,2 (not 2 + zero).
        let p = dwconv(&[1.0, 2.0, 3.0], Some(&[10.0, 20.0, 30.0]), 3, 1, 2).unwrap();
        assert_eq!(p, vec![10.0, 20.0, 1.0, 2.0, 20.0, 30.0, 2.0, 3.0]);
        // Fewer channels than a block: zero-padded as before.
        let p = dwconv(&[1.0], Some(&[10.0]), 1, 1, 2).unwrap();
        assert_eq!(p, vec![10.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn conv3x3_tap_order() {
        // cout = 1, cin = 2: tap (ky, kx, ci) comes from weights[ci][ky][kx].
        let w: Vec<f32> = (0..18).map(|v| v as f32).collect();
        let p = conv3x3(&w, None, 1, 2, 1).unwrap();
        assert_eq!(&p[1..5], &[0.0, 9.0, 1.0, 10.0]);
    }

    #[test]
    fn rejects_bad_lengths() {
        assert!(matches!(
            gemm(&[1.0; 5], None, 3, 2, 2),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            dwconv(&[1.0; 9], Some(&[0.0; 2]), 1, 3, 4),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            gemm(&[], None, usize::MAX, 2, 2),
            Err(Error::SizeOverflow(_))
        ));
        assert!(packed_len(4, 0, 1).is_err());
    }
}
