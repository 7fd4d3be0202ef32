//! Per-channel scale `y = x·scale[c]` over NHWC pixels (the squeeze-excitation gate).

use super::{ChannelArgs, ChannelTile, Ukernel};
use crate::Activation;
use crate::isa::Isa;

/// A channel-scale kernel.
pub type ChscaleFn = unsafe fn(&ChannelArgs);
/// Descriptor of a channel-scale kernel.
pub type ChscaleUkernel = Ukernel<ChscaleFn, ChannelTile>;

include!(concat!(env!("OUT_DIR"), "/chscale.rs"));
