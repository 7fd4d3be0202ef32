//! Support for the test suites of this crate and of crates built on it, with no
//! dependencies: which ISA levels a test may run (and the visible — optionally fatal — skip
//! of the others), a small seeded data generator and the property-test case count. Always
//! compiled, so a dependent test crate needs no extra feature of this crate (a feature only
//! tests turn on makes cargo compile the kernels twice: once with it, once without).

use std::io::Write;

use crate::isa::{self, Isa, IsaSet};

/// Levels listed in `RVCNN_REQUIRE_ISA` (comma-separated); panics on an unknown name.
pub fn required_isas() -> IsaSet {
    match std::env::var("RVCNN_REQUIRE_ISA") {
        Ok(list) => IsaSet::parse_list(&list).unwrap_or_else(|e| panic!("RVCNN_REQUIRE_ISA: {e}")),
        Err(_) => IsaSet::EMPTY,
    }
}

/// Whether this CPU supports `isa`. If not, prints `SKIP <id>` straight to the process's
/// stderr (visible even though the test harness captures output) and fails if
/// `RVCNN_REQUIRE_ISA` lists `isa`.
pub fn supported(id: &str, isa: Isa) -> bool {
    check_support(id, isa, isa::detected(), required_isas())
}

fn check_support(id: &str, isa: Isa, detected: IsaSet, required: IsaSet) -> bool {
    if detected.contains(isa) {
        return true;
    }
    let _ = writeln!(std::io::stderr().lock(), "SKIP {id}: this CPU lacks {isa}");
    assert!(
        !required.contains(isa),
        "{id}: RVCNN_REQUIRE_ISA requires {isa}, but this CPU lacks it"
    );
    false
}

/// Property-test cases per kernel variant: `RVCNN_PROPTEST_CASES` (default 24).
pub fn proptest_cases() -> u32 {
    std::env::var("RVCNN_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

/// SplitMix64: small, deterministic data generator (also the model crate's, for random
/// weights, head initialisation and augmentation).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[-scale, scale)`.
    pub fn f32(&mut self, scale: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        (2.0 * unit - 1.0) * scale
    }

    /// `len` values uniform in `[-scale, scale)`.
    pub fn vec(&mut self, len: usize, scale: f32) -> Vec<f32> {
        (0..len).map(|_| self.f32(scale)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(target_os = "wasi", ignore = "panics abort on wasm32-wasip1")]
    fn a_required_isa_that_is_missing_fails() {
        let scalar_only = IsaSet::scalar();
        assert!(!check_support(
            "x/k",
            Isa::Avx512F,
            scalar_only,
            IsaSet::EMPTY
        ));
        let required = IsaSet::EMPTY.with(Isa::Avx512F);
        let r =
            std::panic::catch_unwind(|| check_support("x/k", Isa::Avx512F, scalar_only, required));
        assert!(r.is_err(), "skipping a required ISA must fail");
        assert!(check_support("x/k", Isa::Scalar, scalar_only, required));
    }
}
