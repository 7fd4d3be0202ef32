//! Generated micro-kernels, one module per family, each with one sub-module per ISA
//! (`ukernels::<family>::<isa>::<fn>`), plus the registry of every variant.
//!
//! A kernel is an `unsafe fn(&Args)` doing a whole tile loop over raw pointers; its
//! [`Ukernel`] descriptor carries its id, ISA, activation and tile shape. Operators in
//! [`crate::ops`] validate shapes and buffers, then call kernels through the descriptors they
//! chose from a [`crate::KernelTable`] at creation.

pub mod conv3x3;
pub mod dwconv;
pub mod gemm;
pub mod pool;
pub mod qdwconv;
pub mod qgemm;

pub mod avgpool;
pub mod bn;
pub mod chscale;
pub mod dequantize;
pub mod gavgpool;
pub mod maxpool;
pub mod qadd;
pub mod qchscale;
pub mod qgavgpool;
pub mod quantize;
pub mod vact;
pub mod vadd;
pub mod wgfilter;
pub mod wgin;
pub mod wgout;

use std::fmt;

use crate::Activation;
use crate::isa::Isa;

pub use conv3x3::{Conv3x3Args, Conv3x3Tile, Conv3x3Ukernel};
pub use dwconv::{DwconvArgs, DwconvTile, DwconvUkernel};
pub use gemm::{GemmArgs, GemmTile, GemmUkernel};
pub use pool::PoolArgs;
pub use qdwconv::{QdwconvArgs, QdwconvTile, QdwconvUkernel};
pub use qgemm::{QgemmArgs, QgemmTile, QgemmUkernel};

/// How an INT8 kernel's 4-way u8 × s8 dot product wants its weights packed (see
/// [`crate::pack::qgemm`] and [`crate::pack::qdwconv`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DotForm {
    /// The signed weight bytes as they are (scalar, VNNI `vpdpbusd`, NEON widening
    /// multiplies).
    Direct,
    /// Each weight as `2·hi + lo` (`hi = w >> 1` in `-64..=63`, `lo = w & 1`), so AVX2's
    /// `vpmaddubsw` cannot saturate its 16-bit pair sums even at 255·−128.
    Split,
    /// The signed weight bytes, with `128·Σw` added to the bias: the kernel flips the top bit
    /// of every activation byte (`x − 128` as s8) and uses a signed × signed dot product
    /// (NEON `sdot`), so `Σ(x − 128)·w + 128·Σw = Σx·w` exactly.
    Offset,
}

impl DotForm {
    /// Packed bytes per weight (`hi` and `lo` for [`DotForm::Split`]).
    pub fn weight_bytes(self) -> usize {
        if self == DotForm::Split { 2 } else { 1 }
    }
}

/// Descriptor of one generated kernel.
pub struct Ukernel<F: 'static, T: 'static> {
    /// Display id `"{isa}/{fn}"`, e.g. `"avx512f/f32_gemm_relu_12x32"`.
    pub id: &'static str,
    /// The instruction set the kernel needs.
    pub isa: Isa,
    /// The fused activation.
    pub act: Activation,
    /// The tile shape (what packing and tiling the kernel expects).
    pub tile: T,
    /// The kernel itself.
    pub func: F,
}

impl<F, T: fmt::Debug> fmt::Debug for Ukernel<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ukernel")
            .field("id", &self.id)
            .field("tile", &self.tile)
            .finish()
    }
}

/// Channel-block tile of the per-channel families (bn, chscale, pooling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelTile {
    /// Channels per step.
    pub cb: usize,
}

/// Tile of the Winograd F(2x2, 3x3) transform families ([`wgin`], [`wgfilter`], [`wgout`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WinogradTile {
    /// Channels per step (one vector).
    pub cb: usize,
    /// Whether an output transform adds a residual before the activation.
    pub residual: bool,
}

/// Per-channel arguments shared by [`bn`] (`y = act(x·scale + shift)`) and [`chscale`]
/// (`y = x·scale`), over `pixels` NHWC pixels of `channels` channels.
///
/// Contract: `input` and `output` each hold `pixels·channels` floats (they may be the same
/// buffer: the kernels read each element before writing it); `scale` (and `shift`, for bn)
/// hold `channels` floats; `channels ≥ 1`. `shift` is ignored by chscale.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ChannelArgs {
    /// Input pixels.
    pub input: *const f32,
    /// Output pixels.
    pub output: *mut f32,
    /// Number of pixels.
    pub pixels: usize,
    /// Channels per pixel.
    pub channels: usize,
    /// Per-channel multiplier.
    pub scale: *const f32,
    /// Per-channel addend (bn only).
    pub shift: *const f32,
}

/// Any kernel of any family (the entries of [`REGISTRY`]).
#[derive(Clone, Copy, Debug)]
pub enum AnyUkernel {
    /// A GEMM kernel.
    Gemm(&'static GemmUkernel),
    /// A depthwise convolution kernel.
    Dwconv(&'static DwconvUkernel),
    /// A dense 3x3 convolution kernel.
    Conv3x3(&'static Conv3x3Ukernel),
    /// A batch-norm kernel.
    Bn(&'static bn::BnUkernel),
    /// A channel-scale kernel.
    Chscale(&'static chscale::ChscaleUkernel),
    /// An elementwise activation kernel.
    Vact(&'static vact::VactUkernel),
    /// A global average pool kernel.
    Gavgpool(&'static gavgpool::GavgpoolUkernel),
    /// A max pool kernel.
    Maxpool(&'static maxpool::MaxpoolUkernel),
    /// An average pool kernel.
    Avgpool(&'static avgpool::AvgpoolUkernel),
    /// An INT8 GEMM kernel.
    Qgemm(&'static QgemmUkernel),
    /// An INT8 depthwise convolution kernel.
    Qdwconv(&'static QdwconvUkernel),
    /// An f32 → u8 quantize kernel.
    Quantize(&'static quantize::QuantizeUkernel),
    /// A u8 → f32 dequantize kernel.
    Dequantize(&'static dequantize::DequantizeUkernel),
    /// An INT8 global average pool kernel.
    Qgavgpool(&'static qgavgpool::QgavgpoolUkernel),
    /// An INT8 add kernel.
    Qadd(&'static qadd::QaddUkernel),
    /// An INT8 per-channel scale kernel.
    Qchscale(&'static qchscale::QchscaleUkernel),
    /// An elementwise-add kernel.
    Vadd(&'static vadd::VaddUkernel),
    /// A Winograd input-transform kernel.
    Wgin(&'static wgin::WginUkernel),
    /// A Winograd filter-transform kernel.
    Wgfilter(&'static wgfilter::WgfilterUkernel),
    /// A Winograd output-transform kernel.
    Wgout(&'static wgout::WgoutUkernel),
}

macro_rules! any_field {
    ($self:ident, $k:ident => $e:expr) => {
        match $self {
            AnyUkernel::Gemm($k) => $e,
            AnyUkernel::Dwconv($k) => $e,
            AnyUkernel::Conv3x3($k) => $e,
            AnyUkernel::Bn($k) => $e,
            AnyUkernel::Chscale($k) => $e,
            AnyUkernel::Vact($k) => $e,
            AnyUkernel::Gavgpool($k) => $e,
            AnyUkernel::Maxpool($k) => $e,
            AnyUkernel::Avgpool($k) => $e,
            AnyUkernel::Qgemm($k) => $e,
            AnyUkernel::Qdwconv($k) => $e,
            AnyUkernel::Quantize($k) => $e,
            AnyUkernel::Dequantize($k) => $e,
            AnyUkernel::Qgavgpool($k) => $e,
            AnyUkernel::Qadd($k) => $e,
            AnyUkernel::Qchscale($k) => $e,
            AnyUkernel::Vadd($k) => $e,
            AnyUkernel::Wgin($k) => $e,
            AnyUkernel::Wgfilter($k) => $e,
            AnyUkernel::Wgout($k) => $e,
        }
    };
}

impl AnyUkernel {
    /// The display id.
    pub fn id(&self) -> &'static str {
        any_field!(self, k => k.id)
    }

    /// The instruction set.
    pub fn isa(&self) -> Isa {
        any_field!(self, k => k.isa)
    }

    /// The family name (the `ukernels` module).
    pub fn family(&self) -> &'static str {
        match self {
            AnyUkernel::Gemm(_) => "gemm",
            AnyUkernel::Dwconv(_) => "dwconv",
            AnyUkernel::Conv3x3(_) => "conv3x3",
            AnyUkernel::Bn(_) => "bn",
            AnyUkernel::Chscale(_) => "chscale",
            AnyUkernel::Vact(_) => "vact",
            AnyUkernel::Gavgpool(_) => "gavgpool",
            AnyUkernel::Maxpool(_) => "maxpool",
            AnyUkernel::Avgpool(_) => "avgpool",
            AnyUkernel::Qgemm(_) => "qgemm",
            AnyUkernel::Qdwconv(_) => "qdwconv",
            AnyUkernel::Quantize(_) => "quantize",
            AnyUkernel::Dequantize(_) => "dequantize",
            AnyUkernel::Qgavgpool(_) => "qgavgpool",
            AnyUkernel::Qadd(_) => "qadd",
            AnyUkernel::Qchscale(_) => "qchscale",
            AnyUkernel::Vadd(_) => "vadd",
            AnyUkernel::Wgin(_) => "wgin",
            AnyUkernel::Wgfilter(_) => "wgfilter",
            AnyUkernel::Wgout(_) => "wgout",
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/registry.rs"));

/// Every generated kernel compiled for this target, lowest ISA tier first.
pub fn registry() -> impl Iterator<Item = &'static AnyUkernel> {
    REGISTRY.iter().flat_map(|part| part.iter())
}
