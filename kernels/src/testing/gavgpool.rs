//! Global average pool kernels against [`crate::reference::global_avg_pool`].

use proptest::prelude::*;

use super::{Buf, Guarded, Rng, check_all, input_values, scale_strategy};
use crate::ops::Nhwc;
use crate::reference;
use crate::ukernels::gavgpool::{GavgpoolArgs, GavgpoolUkernel};

/// One global average pool call.
#[derive(Clone, Debug)]
pub struct GavgpoolProblem {
    /// Pixels (≥ 1).
    pub pixels: usize,
    /// Channels.
    pub c: usize,
    /// Element offset of every buffer.
    pub offset: usize,
    /// Input magnitude.
    pub scale: f32,
    /// Data seed.
    pub seed: u64,
    /// Put a NaN in the first input value.
    pub poison: bool,
}

impl GavgpoolProblem {
    /// Runs `uk` and compares with the reference.
    pub fn check(&self, uk: &GavgpoolUkernel) -> Result<(), String> {
        let mut rng = Rng::new(self.seed);
        let xs = input_values(&mut rng, self.pixels * self.c, self.scale, self.poison);
        let x = Buf::new(&xs, self.offset);
        let mut y = Guarded::new(self.c, self.offset);
        let args = GavgpoolArgs {
            input: x.ptr(),
            pixels: self.pixels,
            channels: self.c,
            output: y.ptr(),
        };
        // SAFETY: buffers sized per the `GavgpoolArgs` contract; ISA checked by caller.
        unsafe { (uk.func)(&args) };
        y.check(|_| false)?;
        reference::global_avg_pool(&xs, Nhwc::new(1, 1, self.pixels, self.c))
            .check(y.region(), self.c)
    }
}

/// The generated test of one global average pool variant.
pub fn check_variant(uk: &'static GavgpoolUkernel) {
    let cb = uk.tile.cb;
    let base = GavgpoolProblem {
        pixels: 1,
        c: 1,
        offset: 3,
        scale: 2.0,
        seed: 17,
        poison: false,
    };
    let mut edges: Vec<GavgpoolProblem> = [1, cb - 1, cb, cb + 1, 2 * cb + 5]
        .into_iter()
        .flat_map(|c| {
            [1, 49].map(|pixels| GavgpoolProblem {
                pixels,
                c: c.max(1),
                ..base.clone()
            })
        })
        .collect();
    edges.push(GavgpoolProblem {
        pixels: 7,
        c: cb + 3,
        poison: true,
        ..base
    });
    let strategy = (
        1usize..60,
        1..=3 * cb + 2,
        0usize..4,
        scale_strategy(),
        any::<u64>(),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(pixels, c, offset, scale, seed, poison)| GavgpoolProblem {
            pixels,
            c,
            offset,
            scale,
            seed,
            poison,
        });
    check_all(uk.id, uk.isa, edges, strategy, |p| p.check(uk));
}
