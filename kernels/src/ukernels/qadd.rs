//! INT8 elementwise addition of two u8 tensors with their own scales and zero points,
//! requantized to u8 (residual connections); see [`crate::quant::AddRequant`].

use super::Ukernel;
use super::vact::ElemTile;
use crate::Activation;
use crate::isa::Isa;

/// Arguments of an INT8 add kernel.
///
/// Contract: `a` and `b` hold `n` readable bytes and `output` `n` writable bytes (it may be
/// `a` or `b` itself; other overlaps are not allowed); the multipliers and shift come from
/// [`crate::quant::AddRequant`] (so `(a − za)·a_mult + (b − zb)·b_mult` fits `i32`);
/// `0 ≤ out_min ≤ out_max ≤ 255`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QaddArgs {
    /// First input.
    pub a: *const u8,
    /// Second input.
    pub b: *const u8,
    /// Output.
    pub output: *mut u8,
    /// Number of values (may be 0).
    pub n: usize,
    /// Zero point of `a`.
    pub a_zero_point: i32,
    /// Zero point of `b`.
    pub b_zero_point: i32,
    /// Fixed-point multiplier of `a`.
    pub a_mult: i32,
    /// Fixed-point multiplier of `b`.
    pub b_mult: i32,
    /// Right shift of the sum, `1..=31`.
    pub shift: i32,
    /// Output zero point.
    pub out_zero_point: i32,
    /// Lowest output value.
    pub out_min: i32,
    /// Highest output value.
    pub out_max: i32,
}

/// An INT8 add kernel.
pub type QaddFn = unsafe fn(&QaddArgs);
/// Descriptor of an INT8 add kernel.
pub type QaddUkernel = Ukernel<QaddFn, ElemTile>;

include!(concat!(env!("OUT_DIR"), "/qadd.rs"));
