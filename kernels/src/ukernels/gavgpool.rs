//! Global average pooling over the pixels of one NHWC image.

use super::{ChannelTile, Ukernel};
use crate::Activation;
use crate::isa::Isa;

/// Arguments of a global average pool kernel.
///
/// Contract: `pixels, channels ≥ 1`; `input` holds `pixels·channels` readable floats;
/// `output` holds `channels` writable floats, not overlapping the input.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GavgpoolArgs {
    /// Input pixels.
    pub input: *const f32,
    /// Number of pixels.
    pub pixels: usize,
    /// Channels per pixel.
    pub channels: usize,
    /// Per-channel means.
    pub output: *mut f32,
}

/// A global average pool kernel.
pub type GavgpoolFn = unsafe fn(&GavgpoolArgs);
/// Descriptor of a global average pool kernel.
pub type GavgpoolUkernel = Ukernel<GavgpoolFn, ChannelTile>;

include!(concat!(env!("OUT_DIR"), "/gavgpool.rs"));
