//! INT8 per-channel scale of one NHWC u8 image (the squeeze-excitation gate between quantized
//! activations): `y[px][c] = clamp(round_even((x[px][c] − z_in)·scale[c]) + z_out, 0, 255)`,
//! the product one f32 rounding as in [`crate::ukernels::quantize`] (NaN → 0).

use super::{ChannelTile, Ukernel};
use crate::Activation;
use crate::isa::Isa;

/// Arguments of an INT8 per-channel scale kernel.
///
/// Contract: `pixels, channels ≥ 1`; `input` holds `pixels·channels` readable bytes and
/// `output` as many writable ones (the same buffer, or not overlapping); `scale` holds
/// `channels` floats; zero points in `0..=255`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QchscaleArgs {
    /// Input pixels.
    pub input: *const u8,
    /// Output pixels (may be `input`).
    pub output: *mut u8,
    /// Number of pixels.
    pub pixels: usize,
    /// Channels per pixel.
    pub channels: usize,
    /// Per-channel multipliers (gate · input scale / output scale).
    pub scale: *const f32,
    /// Input zero point.
    pub in_zero_point: i32,
    /// Output zero point.
    pub out_zero_point: i32,
}

/// An INT8 per-channel scale kernel.
pub type QchscaleFn = unsafe fn(&QchscaleArgs);
/// Descriptor of an INT8 per-channel scale kernel.
pub type QchscaleUkernel = Ukernel<QchscaleFn, ChannelTile>;

include!(concat!(env!("OUT_DIR"), "/qchscale.rs"));
