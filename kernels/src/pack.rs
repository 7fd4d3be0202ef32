//! Weight packing into the layouts the kernels read.
//!
//! Every family uses the same panel layout: output channels are split into panels of `nr`
//! (GEMM, dense conv) or blocks of `cb` (depthwise) channels; a panel holds `nr` bias values
//! followed by `taps` rows of `nr` weights, one row per reduction index. Channels past the
//! end of the last panel are zero, so kernels always read whole vectors.

use crate::ops::Error;
use crate::ops::Result;
use crate::ops::shape::{check_len, product};

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

fn panels(
    channels: usize,
    nr: usize,
    taps: usize,
    bias: Option<&[f32]>,
    weight: impl Fn(usize, usize) -> f32,
) -> Result<Vec<f32>> {
    if let Some(b) = bias {
        check_len("bias", b.len(), channels)?;
    }
    let mut out = vec![0.0f32; packed_len(channels, nr, taps)?];
    for ch in 0..channels {
        let base = (ch / nr) * nr * (taps + 1);
        let j = ch % nr;
        out[base + j] = bias.map_or(0.0, |b| b[ch]);
        for t in 0..taps {
            out[base + nr + t * nr + j] = weight(ch, t);
        }
    }
    Ok(out)
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
    panels(n, nr, k, bias, |col, kk| weights[col * k + kk])
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
    panels(c, cb, taps, bias, |ch, t| weights[ch * taps + t])
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
    panels(cout, nr, taps, bias, |co, t| {
        let (pos, ci) = (t / cin, t % cin);
        weights[(co * cin + ci) * 9 + pos]
    })
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
