//! Depthwise kernels against [`crate::reference::conv2d`] with `groups = channels`.

use proptest::prelude::*;

use super::{Buf, Guarded, Rng, check_all, fit_padding, input_values, scale_strategy};
use crate::ops::{Nhwc, Padding};
use crate::reference;
use crate::ukernels::{DwconvArgs, DwconvTile, DwconvUkernel};

/// One depthwise kernel call on one image.
#[derive(Clone, Debug)]
pub struct DwconvProblem {
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// Zero padding (each side < K; bottom/right raised if the image is smaller than K).
    pub pad: Padding,
    /// Element offset of every buffer.
    pub offset: usize,
    /// Input magnitude.
    pub scale: f32,
    /// Data seed.
    pub seed: u64,
    /// Put a NaN in the first input value.
    pub poison: bool,
    /// Loop order passed to the kernel.
    pub rows_outer: bool,
}

impl DwconvProblem {
    /// Runs `uk` on this problem and compares with the reference.
    pub fn check(&self, uk: &DwconvUkernel) -> Result<(), String> {
        let (k, s) = (uk.tile.k, uk.tile.s);
        let shape = Nhwc::new(1, self.h, self.w, self.c);
        let mut rng = Rng::new(self.seed);
        let x = Buf::new(
            &input_values(&mut rng, self.h * self.w * self.c, self.scale, self.poison),
            self.offset,
        );
        let wts = rng.vec(self.c * k * k, 1.0);
        let bias = rng.vec(self.c, self.scale);
        let packed = crate::pack::dwconv(&wts, Some(&bias), self.c, k, uk.tile.cb)
            .map_err(|e| e.to_string())?;
        let packed = Buf::new(&packed, self.offset);
        let (out, want) = reference::conv2d(
            x.as_slice(),
            shape,
            &wts,
            Some(&bias),
            self.c,
            k,
            s,
            self.pad,
            self.c,
            uk.act,
        );
        let mut y = Guarded::new(out.h * out.w * out.c, self.offset);
        let args = DwconvArgs {
            input: x.ptr(),
            in_h: self.h,
            in_w: self.w,
            channels: self.c,
            w: packed.ptr(),
            output: y.ptr(),
            out_h: out.h,
            out_w: out.w,
            pad_top: self.pad.top,
            pad_left: self.pad.left,
            rows_outer: self.rows_outer,
        };
        // SAFETY: buffers sized per the `DwconvArgs` contract; the caller checked the ISA.
        unsafe { (uk.func)(&args) };
        y.check(|_| false)?;
        want.check_grid(y.region(), out.w, self.c)
    }
}

/// Fixed cases: channel counts around the block size, images smaller than and equal to the
/// window, odd sizes with stride, asymmetric padding, poison.
pub fn edge_cases(t: DwconvTile) -> Vec<DwconvProblem> {
    let base = DwconvProblem {
        h: 1,
        w: 1,
        c: 1,
        pad: Padding::ZERO,
        offset: 1,
        scale: 1.0,
        seed: 3,
        poison: false,
        rows_outer: false,
    };
    let p = t.k / 2;
    let mut out = Vec::new();
    for c in [1, t.cb - 1, t.cb, t.cb + 1, 2 * t.cb + 3] {
        // 70 columns span three 32-pixel column tiles.
        for (h, w) in [(1, 1), (t.k, t.k), (7, 9), (2 * t.k + 1, 3), (4, 70)] {
            let pad = fit_padding(h, w, (t.k, t.k), Padding::same(p));
            out.push(DwconvProblem {
                h,
                w,
                c: c.max(1),
                pad,
                ..base.clone()
            });
        }
    }
    let pad = Padding {
        top: 0,
        left: p,
        bottom: p,
        right: 0,
    };
    out.push(DwconvProblem {
        h: 9,
        w: 11,
        c: t.cb + 2,
        pad: fit_padding(9, 11, (t.k, t.k), pad),
        scale: 8.0,
        ..base.clone()
    });
    out.push(DwconvProblem {
        h: 6,
        w: 6,
        c: 2 * t.cb,
        pad: Padding::same(p),
        poison: true,
        ..base
    });
    // So many channels that, row by row, column tiles shrink to one W-pixel step (the
    // kernels keep a tile's K-row band of all channels within 24 KiB); a channel tail too.
    out.push(DwconvProblem {
        h: 3,
        w: 23,
        c: 1100 + t.cb / 2,
        pad: fit_padding(3, 23, (t.k, t.k), Padding::same(p)),
        ..out[0].clone()
    });
    // Every case in both loop orders.
    let other: Vec<DwconvProblem> = out
        .iter()
        .map(|p| DwconvProblem {
            rows_outer: true,
            ..p.clone()
        })
        .collect();
    out.extend(other);
    out
}

/// Random problems for tile `t`.
pub fn strategy(t: DwconvTile) -> impl Strategy<Value = DwconvProblem> {
    let k = t.k;
    (
        1usize..12,
        // Mostly narrow images; sometimes wider than one 32-pixel column tile.
        prop_oneof![3 => 1usize..14, 1 => 30usize..75],
        1..=3 * t.cb,
        [0..k, 0..k, 0..k, 0..k],
        0usize..4,
        scale_strategy(),
        any::<u64>(),
        (prop::bool::weighted(0.05), any::<bool>()),
    )
        .prop_map(
            move |(
                h,
                w,
                c,
                [top, left, bottom, right],
                offset,
                scale,
                seed,
                (poison, rows_outer),
            )| {
                DwconvProblem {
                    h,
                    w,
                    c,
                    pad: fit_padding(
                        h,
                        w,
                        (k, k),
                        Padding {
                            top,
                            left,
                            bottom,
                            right,
                        },
                    ),
                    offset,
                    scale,
                    seed,
                    poison,
                    rows_outer,
                }
            },
        )
}

/// The generated test of one depthwise variant.
pub fn check_variant(uk: &'static DwconvUkernel) {
    check_all(uk.id, uk.isa, edge_cases(uk.tile), strategy(uk.tile), |p| {
        p.check(uk)
    });
}
