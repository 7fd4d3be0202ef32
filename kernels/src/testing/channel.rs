//! Batch-norm and channel-scale kernels against [`crate::reference::channelwise`].

use proptest::prelude::*;

use super::{Buf, Guarded, Rng, check_all, input_values, scale_strategy};
use crate::Activation;
use crate::reference;
use crate::ukernels::ChannelArgs;
use crate::ukernels::bn::BnUkernel;
use crate::ukernels::chscale::ChscaleUkernel;

/// One per-channel kernel call.
#[derive(Clone, Debug)]
pub struct ChannelProblem {
    /// Pixels.
    pub pixels: usize,
    /// Channels.
    pub c: usize,
    /// Write the result over the input.
    pub in_place: bool,
    /// Element offset of every buffer.
    pub offset: usize,
    /// Input magnitude.
    pub scale: f32,
    /// Data seed.
    pub seed: u64,
    /// Put a NaN in the first input value.
    pub poison: bool,
}

impl ChannelProblem {
    /// Runs `func` (bn when `with_shift`, else chscale) and compares with the reference.
    pub fn check(
        &self,
        func: unsafe fn(&ChannelArgs),
        act: Activation,
        with_shift: bool,
    ) -> Result<(), String> {
        let mut rng = Rng::new(self.seed);
        let xs = input_values(&mut rng, self.pixels * self.c, self.scale, self.poison);
        let scale = Buf::new(&rng.vec(self.c, 2.0), self.offset);
        let shift = Buf::new(&rng.vec(self.c, self.scale), self.offset);
        let x = Buf::new(&xs, self.offset);
        let mut y = if self.in_place {
            Guarded::with_values(&xs, self.offset)
        } else {
            Guarded::new(xs.len(), self.offset)
        };
        let out = y.ptr();
        let args = ChannelArgs {
            input: if self.in_place { out } else { x.ptr() },
            output: out,
            pixels: self.pixels,
            channels: self.c,
            scale: scale.ptr(),
            shift: if with_shift {
                shift.ptr()
            } else {
                std::ptr::null()
            },
        };
        // SAFETY: buffers sized per the `ChannelArgs` contract; the caller checked the ISA.
        unsafe { func(&args) };
        y.check(|_| false)?;
        let want = reference::channelwise(
            &xs,
            self.c,
            scale.as_slice(),
            with_shift.then(|| shift.as_slice()),
            act,
        );
        want.check(y.region(), self.c)
    }
}

fn edge_cases(cb: usize) -> Vec<ChannelProblem> {
    let base = ChannelProblem {
        pixels: 1,
        c: 1,
        in_place: false,
        offset: 2,
        scale: 4.0,
        seed: 11,
        poison: false,
    };
    let mut out: Vec<ChannelProblem> = [1, cb - 1, cb, cb + 1, 2 * cb + 3]
        .into_iter()
        .flat_map(|c| {
            [1, 5].map(|pixels| ChannelProblem {
                pixels,
                c: c.max(1),
                ..base.clone()
            })
        })
        .collect();
    out.push(ChannelProblem {
        pixels: 3,
        c: cb + 1,
        in_place: true,
        ..base.clone()
    });
    out.push(ChannelProblem {
        pixels: 2,
        c: cb,
        poison: true,
        ..base
    });
    out
}

fn strategy(cb: usize) -> impl Strategy<Value = ChannelProblem> {
    (
        1usize..10,
        1..=3 * cb + 2,
        any::<bool>(),
        0usize..4,
        scale_strategy(),
        any::<u64>(),
        prop::bool::weighted(0.05),
    )
        .prop_map(
            |(pixels, c, in_place, offset, scale, seed, poison)| ChannelProblem {
                pixels,
                c,
                in_place,
                offset,
                scale,
                seed,
                poison,
            },
        )
}

/// The generated test of one batch-norm variant.
pub fn check_bn(uk: &'static BnUkernel) {
    let cb = uk.tile.cb;
    check_all(uk.id, uk.isa, edge_cases(cb), strategy(cb), |p| {
        p.check(uk.func, uk.act, true)
    });
}

/// The generated test of one channel-scale variant.
pub fn check_chscale(uk: &'static ChscaleUkernel) {
    let cb = uk.tile.cb;
    check_all(uk.id, uk.isa, edge_cases(cb), strategy(cb), |p| {
        p.check(uk.func, uk.act, false)
    });
}
