//! Validated operators over NHWC f32 tensors.
//!
//! Each operator is created from a descriptor and a [`KernelTable`](crate::KernelTable):
//! creation validates every parameter, packs the weights into the layout its kernel reads and
//! picks the kernel. `run` validates the shapes and buffer lengths it is given, then calls the
//! kernel; it never allocates, never consults the table and never re-detects the CPU.
//! Output buffers may be longer than needed; only the leading `output_shape().len()` floats
//! are written.

pub mod batchnorm;
pub mod conv2d;
pub mod depthwise;
pub mod elementwise;
pub mod error;
mod gemm_plan;
mod im2col;
pub mod linear;
pub mod packed;
pub mod pointwise;
pub mod pool;
pub mod qconvert;
pub mod qdepthwise;
pub mod qpointwise;
pub mod se;
pub mod shape;
pub mod winograd;

pub use batchnorm::{BatchNorm, BatchNormDesc};
pub use conv2d::{Conv2d, Conv2dDesc, ConvAlgorithm, winograd_pays};
pub use depthwise::{DepthwiseConv2d, DepthwiseDesc};
pub use elementwise::Elementwise;
pub use error::{Error, Result};
pub use linear::{Linear, LinearDesc};
pub use packed::{HasPacked, Packed, share_packed};
pub use pointwise::{Pointwise, PointwiseDesc};
pub use pool::{GlobalAvgPool, Pool, PoolDesc, PoolKind};
pub use qconvert::{
    Dequantize, QuantAdd, QuantChannelScale, QuantGlobalAvgPool, QuantParams, Quantize,
};
pub use qdepthwise::{QuantDepthwise, QuantDepthwiseDesc};
pub use qpointwise::{QuantPointwise, QuantPointwiseDesc};
pub use se::{SqueezeExcite, SqueezeExciteDesc};
pub use shape::{Nhwc, Padding};
pub use winograd::{Winograd3x3, WinogradDesc};

use crate::table::Slot;

/// The first kernel of a slot (the table puts the best ISA's kernels there), or an
/// [`Error::Unsupported`] describing the missing kernel.
fn first<U>(slot: Slot<U>, what: impl FnOnce() -> String) -> Result<&'static U> {
    slot.first()
        .copied()
        .ok_or_else(|| Error::Unsupported(format!("no kernel for {}", what())))
}

/// Of kernels that differ in channel block, the widest block whose zero padding of `c`
/// channels stays within 12.5%; if none does, the one that pads least (ties: wider).
fn pick_block<U>(slot: Slot<U>, c: usize, block: impl Fn(&U) -> usize) -> Option<&'static U> {
    let padded = |u: &U| c.div_ceil(block(u)).saturating_mul(block(u));
    let within = slot
        .iter()
        .copied()
        .filter(|u| padded(u) <= c.saturating_add(c / 8))
        .max_by_key(|u| block(u));
    within.or_else(|| {
        slot.iter()
            .copied()
            .min_by_key(|u| (padded(u), usize::MAX - block(u)))
    })
}
