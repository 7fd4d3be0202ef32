//! Winograd F(2x2, 3x3) filter transform `U = G·g·Gᵀ` of many 3x3 filters at once.

use super::{Ukernel, WinogradTile};
use crate::Activation;
use crate::isa::Isa;

/// Arguments of a filter-transform kernel: `n` filters stored as 9 tap planes
/// (`g[(3·ky + kx)·n + i]`) become 16 planes (`u[(4a + b)·n + i]`).
///
/// Contract: `n ≥ 1`; `g` holds `9·n` readable floats; `u` holds `16·n` writable floats not
/// overlapping `g`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WgfilterArgs {
    /// Filter taps, tap-major.
    pub g: *const f32,
    /// Transformed filters, position-major.
    pub u: *mut f32,
    /// Number of filters.
    pub n: usize,
}

/// A filter-transform kernel.
pub type WgfilterFn = unsafe fn(&WgfilterArgs);
/// Descriptor of a filter-transform kernel.
pub type WgfilterUkernel = Ukernel<WgfilterFn, WinogradTile>;

include!(concat!(env!("OUT_DIR"), "/wgfilter.rs"));
