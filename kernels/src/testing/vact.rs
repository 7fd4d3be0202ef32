//! Elementwise activation kernels against [`crate::reference::activation`].

use proptest::prelude::*;

use super::{Buf, Guarded, Rng, check_all, input_values, scale_strategy};
use crate::reference;
use crate::ukernels::vact::{VactArgs, VactUkernel};

/// One elementwise kernel call.
#[derive(Clone, Debug)]
pub struct VactProblem {
    /// Elements (may be 0).
    pub n: usize,
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

impl VactProblem {
    /// Runs `uk` and compares with the reference.
    pub fn check(&self, uk: &VactUkernel) -> Result<(), String> {
        let mut rng = Rng::new(self.seed);
        let xs = input_values(&mut rng, self.n, self.scale, self.poison);
        let x = Buf::new(&xs, self.offset);
        let mut y = if self.in_place {
            Guarded::with_values(&xs, self.offset)
        } else {
            Guarded::new(self.n, self.offset)
        };
        let out = y.ptr();
        let input = if self.in_place { out } else { x.ptr() };
        // SAFETY: both buffers hold `n` floats (or are the same buffer); ISA checked by caller.
        unsafe {
            (uk.func)(&VactArgs {
                input,
                output: out,
                n: self.n,
            })
        };
        y.check(|_| false)?;
        reference::activation(&xs, uk.act).check(y.region(), 16)
    }
}

/// The generated test of one elementwise variant.
pub fn check_variant(uk: &'static VactUkernel) {
    let n = uk.tile.n;
    let base = VactProblem {
        n: 0,
        in_place: false,
        offset: 1,
        scale: 8.0,
        seed: 13,
        poison: false,
    };
    let mut edges: Vec<VactProblem> = [0, 1, n - 1, n, n + 1, 3 * n + 7]
        .into_iter()
        .map(|n| VactProblem { n, ..base.clone() })
        .collect();
    edges.push(VactProblem {
        n: n + 5,
        in_place: true,
        ..base.clone()
    });
    edges.push(VactProblem {
        n: 9,
        poison: true,
        ..base
    });
    let strategy = (
        0..=4 * n + 9,
        any::<bool>(),
        0usize..4,
        scale_strategy(),
        any::<u64>(),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(n, in_place, offset, scale, seed, poison)| VactProblem {
            n,
            in_place,
            offset,
            scale,
            seed,
            poison,
        });
    check_all(uk.id, uk.isa, edges, strategy, |p| p.check(uk));
}
