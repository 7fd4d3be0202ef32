//! Shared helpers of the cross-crate tests: the ISA levels to exercise and small fixtures.

// The C tests (compiled by build.rs into this crate) call the C API: link it.
use ruvector_cnn as _;

pub mod fuzz;

use ruvector_cnn_kernels::isa::{Isa, IsaSet};
use ruvector_cnn_kernels::testkit::{self, Rng, supported};

/// Every ISA level with f32 kernels this CPU supports, lowest first. Levels it lacks are
/// reported as `SKIP <test> at <level>` (and fail if `RVCNN_REQUIRE_ISA` names them).
pub fn levels(test: &str) -> Vec<Isa> {
    levels_where(test, Isa::has_f32_kernels)
}

/// Every ISA level with INT8 kernels this CPU supports, lowest first (skips as [`levels`]).
pub fn int8_levels(test: &str) -> Vec<Isa> {
    levels_where(test, Isa::has_int8_kernels)
}

/// Every ISA level this CPU supports, lowest first (skips as [`levels`]).
pub fn all_levels(test: &str) -> Vec<Isa> {
    levels_where(test, |_| true)
}

/// `RVCNN_TEST_SKIP_SCALAR=1` (set by the emulated cross lanes, tools/cross_test.sh) leaves
/// out the scalar level wherever a SIMD level remains: it is the same portable Rust the host
/// lane runs, and under qemu it only costs time. Each kernel variant, scalar included, is
/// still proptested on every target by the kernels crate's own tests.
fn levels_where(test: &str, keep: fn(Isa) -> bool) -> Vec<Isa> {
    let mut levels: Vec<Isa> = Isa::ALL
        .into_iter()
        .filter(|&level| keep(level) && supported(&format!("{test} at {level}"), level))
        .collect();
    if levels.len() > 1 && std::env::var_os("RVCNN_TEST_SKIP_SCALAR").is_some_and(|v| v == "1") {
        levels.retain(|&level| level != Isa::Scalar);
    }
    levels
}

/// Loads `model/tests/fixtures/<name>` (panics with the path and error: fixtures are committed).
/// The path has no `..` component: WASI runtimes (node) refuse those.
pub fn load_fixture(name: &str) -> ruvector_cnn_model::Weights {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace");
    let path = root.join("model/tests/fixtures").join(name);
    ruvector_cnn_model::Weights::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Property-test configuration of these tests: [`testkit::proptest_cases`] cases (as the
/// kernels' own tests), no files written.
pub fn proptest_config() -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases: testkit::proptest_cases(),
        failure_persistence: None,
        ..Default::default()
    }
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

/// The bit patterns of `v`, for comparing results that must be identical (NaNs included).
pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}
