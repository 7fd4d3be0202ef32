//! Test support: problem structs that run one generated kernel on generated data and compare
//! it with [`crate::reference`], and the property-test driver used by the generated
//! per-variant tests (`OUT_DIR/tests.rs`). What other crates' tests share is in [`crate::testkit`].
//!
//! Conventions every family follows:
//! - inputs are exact-length allocations (AddressSanitizer sees any over-read), starting at an
//!   element offset of 0–3 floats so kernels meet unaligned pointers;
//! - outputs live between canary floats ([`Guarded`]), and strided gaps are canaries too, so
//!   any stray write is caught without a sanitizer;
//! - a "poison" case puts a NaN in the input and checks it reaches the outputs it should;
//! - `RVCNN_REQUIRE_ISA=avx2fma,avx512f` turns the skip of a variant the CPU cannot run into a
//!   failure; `RVCNN_PROPTEST_CASES` (default 24) sets cases per variant.

pub mod channel;
pub mod conv3x3;
pub mod dwconv;
pub mod gavgpool;
pub mod gemm;
pub mod pool;
pub mod qconvert;
pub mod qdwconv;
pub mod qgemm;
pub mod vact;
pub mod winograd;

use std::fmt::Debug;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

pub use crate::testkit::{Rng, proptest_cases, required_isas, supported};

use crate::isa::Isa;
use crate::ops::Padding;

/// Property-test configuration: [`proptest_cases`] cases, no files written.
pub fn config() -> Config {
    Config {
        cases: proptest_cases(),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `body` when this CPU supports `isa`; otherwise see [`supported`].
pub fn run_variant(id: &str, isa: Isa, body: impl FnOnce()) {
    if supported(id, isa) {
        body();
    }
}

/// The test of one kernel (`id`, needing `isa`): every edge case, then `config().cases`
/// generated cases; panics with the (shrunk) failing problem and the mismatch report. Skips
/// (visibly, see [`run_variant`]) when the CPU lacks `isa`.
pub fn check_all<S>(
    id: &str,
    isa: Isa,
    edges: Vec<S::Value>,
    strategy: S,
    check: impl Fn(&S::Value) -> Result<(), String>,
) where
    S: Strategy,
    S::Value: Debug,
{
    run_variant(id, isa, || {
        for p in &edges {
            if let Err(e) = check(p) {
                panic!("{id}: edge case {p:?} failed:\n{e}");
            }
        }
        let mut runner = TestRunner::new(config());
        if let Err(e) = runner.run(&strategy, |p| check(&p).map_err(TestCaseError::fail)) {
            panic!("{id}: {e}");
        }
    });
}

/// An input buffer of exactly `len` elements placed `offset` elements into its allocation,
/// which ends exactly at the buffer's end.
pub struct Buf<T = f32> {
    data: Vec<T>,
    offset: usize,
}

impl<T: Copy + Default> Buf<T> {
    /// Copies `values` into a fresh allocation at element offset `offset`.
    pub fn new(values: &[T], offset: usize) -> Self {
        let mut data = vec![T::default(); offset + values.len()];
        data[offset..].copy_from_slice(values);
        Buf { data, offset }
    }

    /// The buffer's elements.
    pub fn as_slice(&self) -> &[T] {
        &self.data[self.offset..]
    }

    /// Pointer to the first element.
    pub fn ptr(&self) -> *const T {
        self.as_slice().as_ptr()
    }
}

/// An element type with a canary value: written around and between outputs, any change is a
/// stray write.
pub trait Canary: Copy {
    /// The canary.
    const CANARY: Self;
    /// Whether `self` is (bit for bit) the canary.
    fn is_canary(self) -> bool;
}

/// Bit pattern of the f32 canary (a NaN no kernel produces).
pub const CANARY: u32 = 0x7fc0_dead;

impl Canary for f32 {
    const CANARY: f32 = f32::from_bits(CANARY);
    fn is_canary(self) -> bool {
        self.to_bits() == CANARY
    }
}

impl Canary for u8 {
    const CANARY: u8 = 0xa5;
    fn is_canary(self) -> bool {
        self == 0xa5
    }
}

const GUARD: usize = 16;

/// An output region of `len` elements at an element offset, surrounded by canaries.
pub struct Guarded<T = f32> {
    data: Vec<T>,
    lead: usize,
    len: usize,
}

impl<T: Canary> Guarded<T> {
    /// `len` elements, all canaries, starting `GUARD + offset` elements into the allocation.
    pub fn new(len: usize, offset: usize) -> Self {
        let lead = GUARD + offset;
        Guarded {
            data: vec![T::CANARY; lead + len + GUARD],
            lead,
            len,
        }
    }

    /// A region pre-filled with `values` (for in-place runs).
    pub fn with_values(values: &[T], offset: usize) -> Self {
        let mut g = Self::new(values.len(), offset);
        g.region_mut().copy_from_slice(values);
        g
    }

    /// The output region.
    pub fn region(&self) -> &[T] {
        &self.data[self.lead..self.lead + self.len]
    }

    fn region_mut(&mut self) -> &mut [T] {
        &mut self.data[self.lead..self.lead + self.len]
    }

    /// Pointer to the region's first element.
    pub fn ptr(&mut self) -> *mut T {
        self.region_mut().as_mut_ptr()
    }

    /// Checks the canaries before and after the region and at the region indices for which
    /// `gap(i)` is true (places the kernel must not write).
    pub fn check(&self, gap: impl Fn(usize) -> bool) -> Result<(), String> {
        let bad = |i: usize| !self.data[i].is_canary();
        if let Some(i) = (0..self.lead).find(|&i| bad(i)) {
            return Err(format!(
                "write {} elements before the output",
                self.lead - i
            ));
        }
        if let Some(i) = (self.lead + self.len..self.data.len()).find(|&i| bad(i)) {
            return Err(format!(
                "write {} elements past the end of the output",
                i - self.lead - self.len + 1
            ));
        }
        match (0..self.len).find(|&i| gap(i) && bad(self.lead + i)) {
            Some(i) => Err(format!("write into a stride gap at output index {i}")),
            None => Ok(()),
        }
    }
}

/// Raises bottom/right padding (staying below the window) so the padded image holds at least
/// one `kernel` window; always possible because `h, w ≥ 1`.
pub fn fit_padding(h: usize, w: usize, kernel: (usize, usize), mut pad: Padding) -> Padding {
    pad.bottom = pad
        .bottom
        .max(kernel.0.saturating_sub(h + pad.top))
        .min(kernel.0 - 1);
    pad.right = pad
        .right
        .max(kernel.1.saturating_sub(w + pad.left))
        .min(kernel.1 - 1);
    pad
}

/// Values for an input: `len` uniform values in `[-scale, scale)`, with a NaN at index 0 when
/// `poison` is set.
pub fn input_values(rng: &mut Rng, len: usize, scale: f32, poison: bool) -> Vec<f32> {
    let mut v = rng.vec(len, scale);
    if poison && len > 0 {
        v[0] = f32::NAN;
    }
    v
}

/// Magnitudes used for inputs: mostly O(1), sometimes tiny or large so every activation
/// region (and relu6's clamp) is exercised.
pub fn scale_strategy() -> impl Strategy<Value = f32> {
    proptest::prop_oneof![4 => proptest::strategy::Just(1.0f32), 1 => 0.01f32..0.1, 2 => 2.0f32..16.0]
}
