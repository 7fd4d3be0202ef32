//! INT8 depthwise KxK convolution (NHWC, zero padding): u8 activations, s8 weights (per
//! channel), requantized u8 outputs.
//!
//! Weights are packed by [`crate::pack::qdwconv`] into CB-channel blocks, each a header of
//! two CB-long arrays (the `i32` bias with the input zero point folded in, the `f32`
//! requantization multiplier; see [`crate::quant`]) followed by K·K taps of CB weight bytes.

use super::{DotForm, Ukernel};
use crate::Activation;
use crate::isa::Isa;
use crate::quant::HardSwish;

/// Arguments of an INT8 depthwise kernel: one NHWC image.
///
/// Contract: `channels, in_h, in_w ≥ 1`; `input` holds `in_h·in_w·channels` readable bytes;
/// `output` holds `out_h·out_w·channels` writable bytes not overlapping the input or weights;
/// `w` holds the bytes [`crate::pack::qdwconv`] wrote for this tile with this
/// `input_zero_point`; `0 ≤ out_min ≤ out_max ≤ 255`, zero points in `0..=255`.
/// Output pixel `(oy, ox)` reads the window at `(oy·s − pad_top, ox·s − pad_left)`; taps
/// outside the image count as the input zero point (a real zero).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QdwconvArgs {
    /// Input image.
    pub input: *const u8,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Channels (input = output).
    pub channels: usize,
    /// Packed weights.
    pub w: *const u8,
    /// Output image.
    pub output: *mut u8,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Zero rows above the image.
    pub pad_top: usize,
    /// Zero columns left of the image.
    pub pad_left: usize,
    /// Input zero point.
    pub input_zero_point: i32,
    /// Output zero point.
    pub out_zero_point: i32,
    /// Lowest output value (the fused ReLU / ReLU6 lower clamp).
    pub out_min: i32,
    /// Highest output value.
    pub out_max: i32,
    /// Hard-swish fused before the zero point and clamp ([`HardSwish::OFF`] for none).
    pub hswish: HardSwish,
}

/// INT8 depthwise tile shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QdwconvTile {
    /// Window size.
    pub k: usize,
    /// Stride.
    pub s: usize,
    /// Channels per block (4 × the ISA's `i32` lanes).
    pub cb: usize,
    /// How the packed weights are laid out for the kernel's dot product.
    pub form: DotForm,
}

/// An INT8 depthwise kernel.
pub type QdwconvFn = unsafe fn(&QdwconvArgs);
/// Descriptor of an INT8 depthwise kernel.
pub type QdwconvUkernel = Ukernel<QdwconvFn, QdwconvTile>;

include!(concat!(env!("OUT_DIR"), "/qdwconv.rs"));
