//! f32 → u8 quantization of flat arrays (per-tensor scale and zero point, see
//! [`crate::quant`]): `y = clamp(round_even(x·inv_scale) + zero_point, 0, 255)`, NaN → 0.

use super::Ukernel;
use super::vact::ElemTile;
use crate::Activation;
use crate::isa::Isa;

/// Arguments of a quantize kernel.
///
/// Contract: `input` holds `n` readable floats, `output` `n` writable bytes (not
/// overlapping); `zero_point` in `0..=255`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QuantizeArgs {
    /// Input values.
    pub input: *const f32,
    /// Output bytes.
    pub output: *mut u8,
    /// Number of values (may be 0).
    pub n: usize,
    /// `1 / scale`, as the caller computed it (the multiplication is the only rounding).
    pub inv_scale: f32,
    /// Zero point.
    pub zero_point: i32,
}

/// A quantize kernel.
pub type QuantizeFn = unsafe fn(&QuantizeArgs);
/// Descriptor of a quantize kernel.
pub type QuantizeUkernel = Ukernel<QuantizeFn, ElemTile>;

include!(concat!(env!("OUT_DIR"), "/quantize.rs"));
