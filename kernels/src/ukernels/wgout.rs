//! Winograd F(2x2, 3x3) output transform `Y = Aᵀ·M·A` with fused bias, optional residual and
//! activation, storing the output pixels of a range of tiles that fall in a window of rows.

use super::{Ukernel, WinogradTile};
use crate::Activation;
use crate::isa::Isa;

/// Arguments of an output-transform kernel: tiles `tile0..tile0 + tiles` of one image's grid
/// (`tiles_w` wide, row-major); tile `t` covers output rows `2·(t / tiles_w) ..+2` and columns
/// `2·(t % tiles_w) ..+2`. Only pixels in rows `row_lo..row_hi` and columns `< out_w` are
/// stored, pixel `(y, x)` at `output + ((y − row_lo)·out_w + x)·cout` (residual alike).
///
/// Contract: `cout, out_w, tiles_w ≥ 1`, `row_lo ≤ row_hi`; `m` holds `15·plane_stride +
/// tiles·cout` readable floats (tile `tile0 + t` at `m + p·plane_stride + t·cout`); `bias`
/// holds `cout` floats; `output` (and `residual`, for residual kernels; ignored otherwise)
/// hold `(row_hi − row_lo)·out_w·cout` floats; `output` overlaps none of the inputs.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WgoutArgs {
    /// Products of the transformed tiles.
    pub m: *const f32,
    /// Floats between planes of `m`.
    pub plane_stride: usize,
    /// Bias per output channel.
    pub bias: *const f32,
    /// Residual rows (residual kernels only).
    pub residual: *const f32,
    /// Output rows `row_lo..row_hi`.
    pub output: *mut f32,
    /// Output width.
    pub out_w: usize,
    /// Output channels.
    pub cout: usize,
    /// First output row stored.
    pub row_lo: usize,
    /// End of the stored output rows.
    pub row_hi: usize,
    /// Tiles per tile row.
    pub tiles_w: usize,
    /// First tile.
    pub tile0: usize,
    /// Number of tiles.
    pub tiles: usize,
}

/// An output-transform kernel.
pub type WgoutFn = unsafe fn(&WgoutArgs);
/// Descriptor of an output-transform kernel.
pub type WgoutUkernel = Ukernel<WgoutFn, WinogradTile>;

include!(concat!(env!("OUT_DIR"), "/wgout.rs"));
