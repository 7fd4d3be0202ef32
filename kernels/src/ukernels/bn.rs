//! Batch-norm inference as a per-channel `y = act(x·scale + shift)` over NHWC pixels
//! (see [`crate::ops::BatchNorm`] for turning mean/var/gamma/beta into scale and shift).

use super::{ChannelArgs, ChannelTile, Ukernel};
use crate::Activation;
use crate::isa::Isa;

/// A batch-norm kernel.
pub type BnFn = unsafe fn(&ChannelArgs);
/// Descriptor of a batch-norm kernel.
pub type BnUkernel = Ukernel<BnFn, ChannelTile>;

include!(concat!(env!("OUT_DIR"), "/bn.rs"));
