//! SplitMix64 (the kernels' [`Rng`], one implementation for both crates): the small
//! deterministic generator behind random weights, head initialisation, batch sampling and
//! augmentations (identical on every platform).

use ruvector_cnn_kernels::testkit::Rng;

/// A SplitMix64 stream with the draws the model code needs.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix(Rng);

impl SplitMix {
    /// The stream seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix(Rng::new(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `(0, 1]` (safe under `ln`).
    pub fn unit_nonzero(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n ≥ 1`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
