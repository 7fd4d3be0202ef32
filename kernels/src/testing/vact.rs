//! Elementwise activation and add kernels against [`crate::reference::activation`] and
//! [`crate::reference::add`].

use proptest::prelude::*;

use super::{Buf, Guarded, Rng, check_all, input_values, scale_strategy};
use crate::reference;
use crate::ukernels::vact::{VactArgs, VactUkernel};
use crate::ukernels::vadd::{VaddArgs, VaddUkernel};

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

impl VactProblem {
    /// Runs the add kernel `uk` (`a` from this problem's data, `b` drawn after it; in place
    /// means over `a`) and compares with the reference.
    pub fn check_add(&self, uk: &VaddUkernel) -> Result<(), String> {
        let mut rng = Rng::new(self.seed);
        let xs = input_values(&mut rng, self.n, self.scale, self.poison);
        let bs = rng.vec(self.n, self.scale);
        let (a_buf, b) = (Buf::new(&xs, self.offset), Buf::new(&bs, self.offset));
        let mut y = if self.in_place {
            Guarded::with_values(&xs, self.offset)
        } else {
            Guarded::new(self.n, self.offset)
        };
        let out = y.ptr();
        let a = if self.in_place { out } else { a_buf.ptr() };
        // SAFETY: every buffer holds `n` floats (the output may be `a`); ISA checked by caller.
        unsafe {
            (uk.func)(&VaddArgs {
                a,
                b: b.ptr(),
                output: out,
                n: self.n,
            })
        };
        y.check(|_| false)?;
        reference::add(&xs, &bs, uk.act).check(y.region(), 16)
    }
}

/// Fixed cases around the unroll width `n`, in place, and poison.
fn edges(n: usize) -> Vec<VactProblem> {
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
    edges
}

/// Random problems up to a few unrolled steps.
fn strategy(n: usize) -> impl Strategy<Value = VactProblem> {
    (
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
        })
}

/// The generated test of one elementwise variant.
pub fn check_variant(uk: &'static VactUkernel) {
    let n = uk.tile.n;
    check_all(uk.id, uk.isa, edges(n), strategy(n), |p| p.check(uk));
}

/// The generated test of one elementwise-add variant.
pub fn check_add(uk: &'static VaddUkernel) {
    let n = uk.tile.n;
    check_all(uk.id, uk.isa, edges(n), strategy(n), |p| p.check_add(uk));
}
