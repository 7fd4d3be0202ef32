//! Dense 3x3 kernels against [`crate::reference::conv2d`].

use proptest::prelude::*;

use super::{Buf, Guarded, Rng, check_all, fit_padding, input_values, scale_strategy};
use crate::ops::{Nhwc, Padding};
use crate::reference;
use crate::ukernels::{Conv3x3Args, Conv3x3Tile, Conv3x3Ukernel};

/// One dense 3x3 kernel call on one image.
#[derive(Clone, Debug)]
pub struct Conv3x3Problem {
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Zero padding (each side < 3).
    pub pad: Padding,
    /// Element offset of every buffer.
    pub offset: usize,
    /// Input magnitude.
    pub scale: f32,
    /// Data seed.
    pub seed: u64,
    /// Put a NaN in the first input value.
    pub poison: bool,
}

impl Conv3x3Problem {
    /// Runs `uk` on this problem and compares with the reference.
    pub fn check(&self, uk: &Conv3x3Ukernel) -> Result<(), String> {
        let s = uk.tile.s;
        let shape = Nhwc::new(1, self.h, self.w, self.cin);
        let mut rng = Rng::new(self.seed);
        let x = Buf::new(
            &input_values(
                &mut rng,
                self.h * self.w * self.cin,
                self.scale,
                self.poison,
            ),
            self.offset,
        );
        let wts = rng.vec(self.cout * self.cin * 9, 1.0);
        let bias = rng.vec(self.cout, self.scale);
        let packed = crate::pack::conv3x3(&wts, Some(&bias), self.cout, self.cin, uk.tile.nr)
            .map_err(|e| e.to_string())?;
        let packed = Buf::new(&packed, self.offset);
        let (out, want) = reference::conv2d(
            x.as_slice(),
            shape,
            &wts,
            Some(&bias),
            self.cout,
            3,
            s,
            self.pad,
            1,
            uk.act,
        );
        let mut y = Guarded::new(out.h * out.w * out.c, self.offset);
        let args = Conv3x3Args {
            input: x.ptr(),
            in_h: self.h,
            in_w: self.w,
            cin: self.cin,
            w: packed.ptr(),
            output: y.ptr(),
            out_h: out.h,
            out_w: out.w,
            cout: self.cout,
            pad_top: self.pad.top,
            pad_left: self.pad.left,
        };
        // SAFETY: buffers sized per the `Conv3x3Args` contract; the caller checked the ISA.
        unsafe { (uk.func)(&args) };
        y.check(|_| false)?;
        want.check_grid(y.region(), out.w, self.cout)
    }
}

/// Fixed cases: output channels around the panel width, widths that leave MR-tile remainders,
/// tiny images, asymmetric padding, poison.
pub fn edge_cases(t: Conv3x3Tile) -> Vec<Conv3x3Problem> {
    let cin = t.cin.unwrap_or(5);
    let base = Conv3x3Problem {
        h: 1,
        w: 1,
        cin,
        cout: 1,
        pad: Padding::same(1),
        offset: 3,
        scale: 1.0,
        seed: 5,
        poison: false,
    };
    let wide = 2 * t.mr * t.s + 5;
    let mut out = Vec::new();
    for cout in [1, t.nr - 1, t.nr, t.nr + 1, 2 * t.nr + 5] {
        for (h, w) in [(1, 1), (3, 3), (5, wide), (8, t.mr * t.s + 2)] {
            out.push(Conv3x3Problem {
                h,
                w,
                cout: cout.max(1),
                pad: fit_padding(h, w, (3, 3), Padding::same(1)),
                ..base.clone()
            });
        }
    }
    if t.cin.is_none() {
        out.push(Conv3x3Problem {
            h: 6,
            w: wide,
            cin: 1,
            cout: t.nr + 3,
            ..base.clone()
        });
    }
    let asym = Padding {
        top: 0,
        left: 2,
        bottom: 1,
        right: 0,
    };
    out.push(Conv3x3Problem {
        h: 7,
        w: wide,
        cout: t.nr + 1,
        pad: fit_padding(7, wide, (3, 3), asym),
        scale: 9.0,
        ..base.clone()
    });
    out.push(Conv3x3Problem {
        h: 4,
        w: wide,
        cout: t.nr,
        poison: true,
        ..base
    });
    out
}

/// Random problems for tile `t`.
pub fn strategy(t: Conv3x3Tile) -> impl Strategy<Value = Conv3x3Problem> {
    let cin = match t.cin {
        Some(c) => (c..=c).boxed(),
        None => (1usize..=9).boxed(),
    };
    let max_w = 2 * t.mr * t.s + 6;
    (
        1usize..10,
        1..=max_w,
        cin,
        1..=3 * t.nr,
        [0usize..3, 0..3, 0..3, 0..3],
        0usize..4,
        scale_strategy(),
        any::<u64>(),
        prop::bool::weighted(0.05),
    )
        .prop_map(
            |(h, w, cin, cout, [top, left, bottom, right], offset, scale, seed, poison)| {
                Conv3x3Problem {
                    h,
                    w,
                    cin,
                    cout,
                    pad: fit_padding(
                        h,
                        w,
                        (3, 3),
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
                }
            },
        )
}

/// The generated test of one dense 3x3 variant.
pub fn check_variant(uk: &'static Conv3x3Ukernel) {
    check_all(uk.id, uk.isa, edge_cases(uk.tile), strategy(uk.tile), |p| {
        p.check(uk)
    });
}
