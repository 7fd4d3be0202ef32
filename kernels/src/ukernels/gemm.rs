//! Packed-weight GEMM micro-kernels: `C = act(A·W + bias [+ R])`, the engine of pointwise
//! (1x1) convolutions and fully-connected layers.
//!
//! Weights are packed by [`crate::pack::gemm`] into NR-column panels, each panel holding NR
//! bias values followed by `k` rows of NR weights. One call computes up to MR rows of A
//! against every panel; rows past `m` alias the last valid row.

use super::Ukernel;
use crate::Activation;
use crate::isa::Isa;

/// Arguments of a GEMM micro-kernel (all strides and sizes in floats).
///
/// Contract (the caller guarantees all of it):
/// - `1 ≤ m ≤ tile.mr`, `n ≥ 1`, `k ≥ 1`;
/// - `a`: rows `i < m` of `k` floats at `a + i·a_stride`, readable;
/// - `w`: `ceil(n / tile.nr)` panels of `tile.nr·(k + 1)` floats as written by
///   [`crate::pack::gemm`], readable;
/// - `c`: rows `i < m` of `n` floats at `c + i·c_stride`, writable, not overlapping `a`, `w`, `r`;
/// - `r` (residual kernels only, else ignored): rows of `n` floats at `r + i·r_stride`, readable.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GemmArgs {
    /// Rows in this call (`1..=MR`).
    pub m: usize,
    /// Output columns.
    pub n: usize,
    /// Reduction length.
    pub k: usize,
    /// First row of A.
    pub a: *const f32,
    /// Distance between rows of A.
    pub a_stride: usize,
    /// Packed weights.
    pub w: *const f32,
    /// First row of C.
    pub c: *mut f32,
    /// Distance between rows of C.
    pub c_stride: usize,
    /// First row of the residual (residual kernels only).
    pub r: *const f32,
    /// Distance between rows of the residual.
    pub r_stride: usize,
}

/// GEMM tile shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmTile {
    /// Rows per call.
    pub mr: usize,
    /// Columns per packed panel.
    pub nr: usize,
    /// Whether the kernel adds a residual before the activation.
    pub residual: bool,
}

/// A GEMM kernel.
pub type GemmFn = unsafe fn(&GemmArgs);
/// Descriptor of a GEMM kernel.
pub type GemmUkernel = Ukernel<GemmFn, GemmTile>;

include!(concat!(env!("OUT_DIR"), "/gemm.rs"));
