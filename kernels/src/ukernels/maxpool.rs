//! Windowed max pooling over one NHWC image.

use super::{ChannelTile, PoolArgs, Ukernel};
use crate::Activation;
use crate::isa::Isa;

/// A max pool kernel.
pub type MaxpoolFn = unsafe fn(&PoolArgs);
/// Descriptor of a max pool kernel.
pub type MaxpoolUkernel = Ukernel<MaxpoolFn, ChannelTile>;

include!(concat!(env!("OUT_DIR"), "/maxpool.rs"));
