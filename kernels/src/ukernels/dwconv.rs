//! Depthwise KxK convolution (NHWC, zero padding) with fused bias and activation.
//!
//! Weights are packed by [`crate::pack::dwconv`] into CB-channel blocks, each holding CB bias
//! values followed by K·K taps of CB weights; block `i` starts at channel
//! [`crate::pack::dwconv_block_start`]`(i, channels, CB)` (the last block overlaps the one
//! before it when the channels are not a multiple of CB).

use super::Ukernel;
use crate::Activation;
use crate::isa::Isa;

/// Arguments of a depthwise kernel: one NHWC image.
///
/// Contract: `channels, in_h, in_w ≥ 1`; `input` holds `in_h·in_w·channels` readable floats;
/// `output` holds `out_h·out_w·channels` writable floats not overlapping the input or
/// weights; `w` holds `ceil(channels / cb)·cb·(k·k + 1)` floats from [`crate::pack::dwconv`].
/// Output pixel `(oy, ox)` reads the window at `(oy·s − pad_top, ox·s − pad_left)`; taps
/// outside the image count as zero.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DwconvArgs {
    /// Input image.
    pub input: *const f32,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Channels (input = output).
    pub channels: usize,
    /// Packed weights.
    pub w: *const f32,
    /// Output image.
    pub output: *mut f32,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Zero rows above the image.
    pub pad_top: usize,
    /// Zero columns left of the image.
    pub pad_left: usize,
    /// Loop order: output rows outermost (for images larger than L2, and at stride 2), or
    /// channel blocks outermost (stride-1 images that fit L2). Both compute the same result.
    pub rows_outer: bool,
}

/// Depthwise tile shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DwconvTile {
    /// Window size.
    pub k: usize,
    /// Stride.
    pub s: usize,
    /// Channels per block.
    pub cb: usize,
    /// Interior output pixels computed together.
    pub wb: usize,
}

/// A depthwise kernel.
pub type DwconvFn = unsafe fn(&DwconvArgs);
/// Descriptor of a depthwise kernel.
pub type DwconvUkernel = Ukernel<DwconvFn, DwconvTile>;

include!(concat!(env!("OUT_DIR"), "/dwconv.rs"));
