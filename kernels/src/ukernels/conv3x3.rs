//! Dense 3x3 convolution (NHWC, zero padding) with fused bias and activation: the stem of
//! MobileNets (3 input channels, stride 2) and general `cin → cout` layers at stride 1 or 2.
//!
//! Weights are packed by [`crate::pack::conv3x3`] into NR-output-channel panels, each holding
//! NR bias values followed by `[ky][kx][ci]` rows of NR weights.

use super::Ukernel;
use crate::Activation;
use crate::isa::Isa;

/// Arguments of a dense 3x3 kernel: one NHWC image.
///
/// Contract: `cin, cout, in_h, in_w ≥ 1` (and `cin` equal to `tile.cin` when that is set);
/// `input` holds `in_h·in_w·cin` readable floats; `output` holds `out_h·out_w·cout` writable
/// floats not overlapping the input or weights; `w` holds `ceil(cout / nr)·nr·(9·cin + 1)`
/// floats from [`crate::pack::conv3x3`]. Taps outside the image count as zero.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Conv3x3Args {
    /// Input image.
    pub input: *const f32,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Input channels.
    pub cin: usize,
    /// Packed weights.
    pub w: *const f32,
    /// Output image.
    pub output: *mut f32,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Output channels.
    pub cout: usize,
    /// Zero rows above the image.
    pub pad_top: usize,
    /// Zero columns left of the image.
    pub pad_left: usize,
}

/// Dense 3x3 tile shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv3x3Tile {
    /// Stride.
    pub s: usize,
    /// Input channel count the kernel is specialised for, if any.
    pub cin: Option<usize>,
    /// Output pixels per tile.
    pub mr: usize,
    /// Output channels per packed panel.
    pub nr: usize,
}

/// A dense 3x3 kernel.
pub type Conv3x3Fn = unsafe fn(&Conv3x3Args);
/// Descriptor of a dense 3x3 kernel.
pub type Conv3x3Ukernel = Ukernel<Conv3x3Fn, Conv3x3Tile>;

include!(concat!(env!("OUT_DIR"), "/conv3x3.rs"));
