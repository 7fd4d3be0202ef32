//! Shared helpers of the cross-crate tests: the ISA levels to exercise and small fixtures.

use ruvector_cnn_kernels::isa::{self, Isa, IsaSet};
use ruvector_cnn_kernels::testing::{Rng, required_isas};

/// Every ISA level this CPU supports, lowest first, after reporting (on stderr, outside the
/// harness's capture) the levels it cannot run, and failing if `RVCNN_REQUIRE_ISA` names one.
pub fn levels(test: &str) -> Vec<Isa> {
    use std::io::Write;
    let required = required_isas();
    Isa::ALL
        .into_iter()
        .filter(|&level| {
            let ok = isa::detected().contains(level);
            if !ok {
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "SKIP {test} at {level}: this CPU lacks it"
                );
                assert!(
                    !required.contains(level),
                    "{test}: RVCNN_REQUIRE_ISA requires {level}, but this CPU lacks it"
                );
            }
            ok
        })
        .collect()
}

/// The table for exactly the levels up to `level`.
pub fn table_at(level: Isa) -> ruvector_cnn_kernels::KernelTable {
    let t = ruvector_cnn_kernels::KernelTable::with_isa(IsaSet::up_to(level));
    assert_eq!(
        t.isa_set().top(),
        level,
        "with_isa must honour the requested level"
    );
    t
}

/// `len` values uniform in `[-scale, scale)` from `seed`.
pub fn values(seed: u64, len: usize, scale: f32) -> Vec<f32> {
    Rng::new(seed).vec(len, scale)
}
