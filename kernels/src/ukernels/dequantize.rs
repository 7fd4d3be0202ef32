//! u8 → f32 dequantization of flat arrays: `y = (x − zero_point)·scale` (one rounding).

use super::Ukernel;
use super::vact::ElemTile;
use crate::Activation;
use crate::isa::Isa;

/// Arguments of a dequantize kernel.
///
/// Contract: `input` holds `n` readable bytes, `output` `n` writable floats (not overlapping).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DequantizeArgs {
    /// Input bytes.
    pub input: *const u8,
    /// Output values.
    pub output: *mut f32,
    /// Number of values (may be 0).
    pub n: usize,
    /// Scale.
    pub scale: f32,
    /// Zero point.
    pub zero_point: i32,
}

/// A dequantize kernel.
pub type DequantizeFn = unsafe fn(&DequantizeArgs);
/// Descriptor of a dequantize kernel.
pub type DequantizeUkernel = Ukernel<DequantizeFn, ElemTile>;

include!(concat!(env!("OUT_DIR"), "/dequantize.rs"));
