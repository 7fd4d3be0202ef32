//! INT8 global average pool over the pixels of one NHWC u8 image, to f32:
//! `y[c] = (Σ_px x[px][c] − zero_sum)·scale`, the byte sum exact in `i32`, one f32 rounding.

use super::{ChannelTile, Ukernel};
use crate::Activation;
use crate::isa::Isa;

/// Arguments of an INT8 global average pool kernel.
///
/// Contract: `pixels, channels ≥ 1` and `pixels ≤ 65 793` (sums stay exact in f32);
/// `input` holds `pixels·channels` readable bytes; `output` holds `channels` writable floats.
/// Callers pass `zero_sum = pixels·zero_point` and `scale = input_scale / pixels`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QgavgpoolArgs {
    /// Input pixels.
    pub input: *const u8,
    /// Number of pixels.
    pub pixels: usize,
    /// Channels per pixel.
    pub channels: usize,
    /// Per-channel means (dequantized).
    pub output: *mut f32,
    /// `pixels · zero_point`.
    pub zero_sum: i32,
    /// `input_scale / pixels`.
    pub scale: f32,
}

/// An INT8 global average pool kernel.
pub type QgavgpoolFn = unsafe fn(&QgavgpoolArgs);
/// Descriptor of an INT8 global average pool kernel.
pub type QgavgpoolUkernel = Ukernel<QgavgpoolFn, ChannelTile>;

include!(concat!(env!("OUT_DIR"), "/qgavgpool.rs"));
