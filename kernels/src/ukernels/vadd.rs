//! Elementwise `y = act(a + b)` over flat arrays: residual connections whose producer has no
//! fused residual epilogue.

use super::Ukernel;
use super::vact::ElemTile;
use crate::Activation;
use crate::isa::Isa;

/// Arguments of an elementwise-add kernel.
///
/// Contract: `a` and `b` hold `n` readable floats and `output` `n` writable floats; `output`
/// may be the same buffer as `a` or `b` (each element is read before it is written); other
/// overlaps are not allowed.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VaddArgs {
    /// First addend.
    pub a: *const f32,
    /// Second addend.
    pub b: *const f32,
    /// Sums after the activation.
    pub output: *mut f32,
    /// Number of values (may be 0).
    pub n: usize,
}

/// An elementwise-add kernel.
pub type VaddFn = unsafe fn(&VaddArgs);
/// Descriptor of an elementwise-add kernel.
pub type VaddUkernel = Ukernel<VaddFn, ElemTile>;

include!(concat!(env!("OUT_DIR"), "/vadd.rs"));
