//! Elementwise activations over flat arrays.

use super::Ukernel;
use crate::Activation;
use crate::isa::Isa;

/// Arguments of an elementwise kernel.
///
/// Contract: `input` holds `n` readable floats and `output` `n` writable floats (they may be
/// the same buffer; other overlaps are not allowed).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VactArgs {
    /// Input values.
    pub input: *const f32,
    /// Output values.
    pub output: *mut f32,
    /// Number of values (may be 0).
    pub n: usize,
}

/// Elementwise tile shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElemTile {
    /// Elements per unrolled step.
    pub n: usize,
}

/// An elementwise kernel.
pub type VactFn = unsafe fn(&VactArgs);
/// Descriptor of an elementwise kernel.
pub type VactUkernel = Ukernel<VactFn, ElemTile>;

include!(concat!(env!("OUT_DIR"), "/vact.rs"));
