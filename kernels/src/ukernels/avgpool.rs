//! Windowed average pooling over one NHWC image.

use super::{ChannelTile, PoolArgs, Ukernel};
use crate::Activation;
use crate::isa::Isa;

/// An average pool kernel.
pub type AvgpoolFn = unsafe fn(&PoolArgs);
/// Descriptor of an average pool kernel.
pub type AvgpoolUkernel = Ukernel<AvgpoolFn, ChannelTile>;

include!(concat!(env!("OUT_DIR"), "/avgpool.rs"));
