//! Winograd F(2x2, 3x3) input transform: the 4x4 input tile under each 2x2 output tile,
//! `V = Bᵀ·d·B`, written to 16 planes (plane `4a + b` holds position `(a, b)` of every tile).

use super::{Ukernel, WinogradTile};
use crate::Activation;
use crate::isa::Isa;

/// Arguments of an input-transform kernel: tiles `tile0..tile0 + tiles` of one NHWC image,
/// numbered row-major over a grid `tiles_w` wide. Tile `t` reads input rows
/// `2·(t / tiles_w) − pad_top ..+4` and columns `2·(t % tiles_w) − pad_left ..+4`; taps outside
/// the image count as zero.
///
/// Contract: `cin, in_h, in_w, tiles_w ≥ 1`; `input` holds `in_h·in_w·cin` readable floats;
/// `v` holds `15·plane_stride + tiles·cin` writable floats not overlapping `input`, and
/// `plane_stride ≥ tiles·cin`. Tile `tile0 + t` is written at `v + p·plane_stride + t·cin`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct WginArgs {
    /// Input image.
    pub input: *const f32,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Channels.
    pub cin: usize,
    /// Zero rows above the image.
    pub pad_top: usize,
    /// Zero columns left of the image.
    pub pad_left: usize,
    /// Tiles per tile row.
    pub tiles_w: usize,
    /// First tile.
    pub tile0: usize,
    /// Number of tiles.
    pub tiles: usize,
    /// Transformed tiles.
    pub v: *mut f32,
    /// Floats between planes.
    pub plane_stride: usize,
}

/// An input-transform kernel.
pub type WginFn = unsafe fn(&WginArgs);
/// Descriptor of an input-transform kernel.
pub type WginUkernel = Ukernel<WginFn, WinogradTile>;

include!(concat!(env!("OUT_DIR"), "/wgin.rs"));
