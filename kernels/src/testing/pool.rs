//! Max / average pool kernels against [`crate::reference::pool`].

use proptest::prelude::*;

use super::{Buf, Guarded, Rng, check_all, fit_padding, input_values, scale_strategy};
use crate::ops::{Nhwc, Padding, PoolKind};
use crate::reference;
use crate::ukernels::PoolArgs;
use crate::ukernels::avgpool::AvgpoolUkernel;
use crate::ukernels::maxpool::MaxpoolUkernel;

/// One windowed pooling call on one image.
#[derive(Clone, Debug)]
pub struct PoolProblem {
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// Window.
    pub kernel: (usize, usize),
    /// Stride.
    pub stride: (usize, usize),
    /// Padding (each side < window).
    pub pad: Padding,
    /// Average pooling divisor rule.
    pub count_include_pad: bool,
    /// Element offset of every buffer.
    pub offset: usize,
    /// Input magnitude.
    pub scale: f32,
    /// Data seed.
    pub seed: u64,
}

impl PoolProblem {
    /// Runs `func` (max or average per `kind`) and compares with the reference.
    pub fn check(&self, func: unsafe fn(&PoolArgs), max: bool) -> Result<(), String> {
        let kind = if max {
            PoolKind::Max
        } else {
            PoolKind::Average {
                count_include_pad: self.count_include_pad,
            }
        };
        let shape = Nhwc::new(1, self.h, self.w, self.c);
        let mut rng = Rng::new(self.seed);
        let xs = input_values(&mut rng, self.h * self.w * self.c, self.scale, false);
        let x = Buf::new(&xs, self.offset);
        let (out, want) = reference::pool(&xs, shape, kind, self.kernel, self.stride, self.pad);
        let mut y = Guarded::new(out.h * out.w * out.c, self.offset);
        let args = PoolArgs {
            input: x.ptr(),
            in_h: self.h,
            in_w: self.w,
            channels: self.c,
            output: y.ptr(),
            out_h: out.h,
            out_w: out.w,
            kernel_h: self.kernel.0,
            kernel_w: self.kernel.1,
            stride_h: self.stride.0,
            stride_w: self.stride.1,
            pad_top: self.pad.top,
            pad_left: self.pad.left,
            count_include_pad: self.count_include_pad,
        };
        // SAFETY: buffers sized per the `PoolArgs` contract (pads < window); ISA checked.
        unsafe { func(&args) };
        y.check(|_| false)?;
        want.check_grid(y.region(), out.w, self.c)
    }
}

fn edge_cases(cb: usize) -> Vec<PoolProblem> {
    let base = PoolProblem {
        h: 7,
        w: 9,
        c: 1,
        kernel: (3, 3),
        stride: (2, 2),
        pad: Padding::same(1),
        count_include_pad: false,
        offset: 1,
        scale: 3.0,
        seed: 19,
    };
    let mut out: Vec<PoolProblem> = [1, cb - 1, cb, cb + 1, 2 * cb + 1]
        .into_iter()
        .map(|c| PoolProblem {
            c: c.max(1),
            ..base.clone()
        })
        .collect();
    out.push(PoolProblem {
        count_include_pad: true,
        c: cb + 2,
        ..base.clone()
    });
    out.push(PoolProblem {
        h: 1,
        w: 1,
        kernel: (1, 1),
        stride: (1, 1),
        pad: Padding::ZERO,
        ..base.clone()
    });
    out.push(PoolProblem {
        h: 8,
        w: 8,
        kernel: (2, 2),
        stride: (2, 2),
        pad: Padding::ZERO,
        c: cb,
        ..base
    });
    out
}

fn strategy(cb: usize) -> impl Strategy<Value = PoolProblem> {
    (1usize..5, 1usize..5)
        .prop_flat_map(move |(kh, kw)| {
            (
                Just((kh, kw)),
                1usize..10,
                1usize..10,
                1..=2 * cb + 2,
                (1usize..4, 1usize..4),
                [0..kh, 0..kw, 0..kh, 0..kw],
                any::<bool>(),
                0usize..4,
                scale_strategy(),
                any::<u64>(),
            )
        })
        .prop_map(
            |(
                kernel,
                h,
                w,
                c,
                stride,
                [top, left, bottom, right],
                count_include_pad,
                offset,
                scale,
                seed,
            )| {
                let pad = fit_padding(
                    h,
                    w,
                    kernel,
                    Padding {
                        top,
                        left,
                        bottom,
                        right,
                    },
                );
                PoolProblem {
                    h,
                    w,
                    c,
                    kernel,
                    stride,
                    pad,
                    count_include_pad,
                    offset,
                    scale,
                    seed,
                }
            },
        )
}

/// The generated test of one max pool variant.
pub fn check_maxpool(uk: &'static MaxpoolUkernel) {
    let cb = uk.tile.cb;
    check_all(uk.id, uk.isa, edge_cases(cb), strategy(cb), |p| {
        p.check(uk.func, true)
    });
}

/// The generated test of one average pool variant.
pub fn check_avgpool(uk: &'static AvgpoolUkernel) {
    let cb = uk.tile.cb;
    check_all(uk.id, uk.isa, edge_cases(cb), strategy(cb), |p| {
        p.check(uk.func, false)
    });
}
