//! f32 and INT8 CNN micro-kernels for CPU inference, generated per ISA from one manifest, dispatched
//! once, and wrapped in validated operators.
//!
//! - [`ukernels`]: the generated kernels (scalar, AVX2+FMA, AVX-VNNI, AVX-512F, AVX-512 VNNI),
//!   raw and `unsafe`.
//! - [`KernelTable`]: which kernel serves which operation on this CPU ([`isa`] detection).
//! - [`pack`]: weight layouts the kernels read.
//! - [`quant`]: the INT8 scheme (scales, zero points, the one requantization rule).
//! - [`ops`]: safe operators (`Conv2d`, `DepthwiseConv2d`, `Pointwise`, `Linear`, `BatchNorm`,
//!   `Elementwise`, `Pool`, `GlobalAvgPool`, `SqueezeExcite`) that validate every shape and
//!   buffer, choose their kernel at creation and never allocate or re-detect when run.
//! - [`reference`](mod@reference): safe, naive f64 implementations: the truth the kernels are tested against.
//! - [`testkit`]: ISA-level selection, skips and data for test suites (this crate's and others').

pub mod activation;
pub mod isa;
pub mod ops;
pub mod pack;
pub mod parallel;
pub mod quant;
pub mod reference;
pub mod simd;
pub mod table;
pub mod testkit;
pub mod ukernels;

/// Per-family property tests of the generated kernels (this crate's own tests).
#[cfg(test)]
pub mod testing;

pub use activation::Activation;
pub use isa::{Isa, IsaSet};
pub use table::KernelTable;

#[cfg(test)]
mod generated_tests {
    include!(concat!(env!("OUT_DIR"), "/tests.rs"));
}
