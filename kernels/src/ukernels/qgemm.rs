//! INT8 packed-weight GEMM micro-kernels: `C = requant(A·W + bias)` with u8 activations
//! (per-tensor zero point folded into the bias), s8 weights (per-output-channel, symmetric)
//! and u8 outputs; the engine of quantized pointwise convolutions and linear layers.
//!
//! Weights are packed by [`crate::pack::qgemm`] into NR-column panels: a header of two
//! NR-long arrays (the `i32` bias, the `f32` requantization multiplier; see [`crate::quant`])
//! then
//! `ceil(k / 4)` steps of NR×4 weight bytes (`split` tiles: NR×4 `hi` bytes then NR×4 `lo`
//! bytes per step, with `w = 2·hi + lo`).

use super::{DotForm, Ukernel};
use crate::Activation;
use crate::isa::Isa;
use crate::quant::HardSwish;
#[allow(unused_imports)] // used by the generated kernels of every ISA
use crate::simd::scalar::tail_u32;

/// Arguments of an INT8 GEMM micro-kernel (strides and sizes in bytes).
///
/// Contract (the caller guarantees all of it):
/// - `1 ≤ m ≤ tile.mr`, `n ≥ 1`, `k ≥ 1`;
/// - `a`: rows `i < m` of `k` bytes at `a + i·a_stride`, readable;
/// - `w`: `ceil(n / tile.nr)` panels as written by [`crate::pack::qgemm`] for this tile,
///   readable;
/// - `c`: rows `i < m` of `n` bytes at `c + i·c_stride`, writable, not overlapping `a` or `w`;
/// - `0 ≤ out_min ≤ out_max ≤ 255`, `out_zero_point` in `0..=255`;
/// - the true accumulators `bias + Σ a·w` fit in `i32` (see [`crate::quant`]).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QgemmArgs {
    /// Rows in this call (`1..=MR`).
    pub m: usize,
    /// Output columns.
    pub n: usize,
    /// Reduction length.
    pub k: usize,
    /// First row of A.
    pub a: *const u8,
    /// Distance between rows of A.
    pub a_stride: usize,
    /// Packed weights.
    pub w: *const u8,
    /// First row of C.
    pub c: *mut u8,
    /// Distance between rows of C.
    pub c_stride: usize,
    /// Output zero point.
    pub out_zero_point: i32,
    /// Lowest output value (after the zero point): the fused ReLU / ReLU6 lower clamp.
    pub out_min: i32,
    /// Highest output value.
    pub out_max: i32,
    /// Hard-swish fused before the zero point and clamp ([`HardSwish::OFF`] for none).
    pub hswish: HardSwish,
}

/// INT8 GEMM tile shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QgemmTile {
    /// Rows per call.
    pub mr: usize,
    /// Columns per packed panel.
    pub nr: usize,
    /// How the packed weights are laid out for the kernel's dot product.
    pub form: DotForm,
}

/// An INT8 GEMM kernel.
pub type QgemmFn = unsafe fn(&QgemmArgs);
/// Descriptor of an INT8 GEMM kernel.
pub type QgemmUkernel = Ukernel<QgemmFn, QgemmTile>;

include!(concat!(env!("OUT_DIR"), "/qgemm.rs"));
