//! The dispatch table: for every operation key, the kernels that serve it.
//!
//! [`KernelTable::generic`] holds the scalar kernel of every slot. Each higher ISA in a set
//! overlays (replaces) the slots it has kernels for, lowest tier first, so a table built for
//! `{scalar, avx2fma, avx512f}` serves each slot from the best ISA that implements it. The
//! overlay code is generated from the manifest (`table.rs` in `OUT_DIR`).
//!
//! Operators read the table once, at creation, and keep `&'static` descriptors: running an
//! operator never consults the table or the CPU again.

use std::sync::OnceLock;

use crate::Activation;
use crate::isa::{self, Isa, IsaSet};
use crate::ukernels::avgpool::AvgpoolUkernel;
use crate::ukernels::bn::BnUkernel;
use crate::ukernels::chscale::ChscaleUkernel;
use crate::ukernels::dequantize::DequantizeUkernel;
use crate::ukernels::gavgpool::GavgpoolUkernel;
use crate::ukernels::maxpool::MaxpoolUkernel;
use crate::ukernels::qadd::QaddUkernel;
use crate::ukernels::qchscale::QchscaleUkernel;
use crate::ukernels::qgavgpool::QgavgpoolUkernel;
use crate::ukernels::quantize::QuantizeUkernel;
use crate::ukernels::vact::VactUkernel;
use crate::ukernels::vadd::VaddUkernel;
use crate::ukernels::wgfilter::WgfilterUkernel;
use crate::ukernels::wgin::WginUkernel;
use crate::ukernels::wgout::WgoutUkernel;
use crate::ukernels::{
    AnyUkernel, Conv3x3Ukernel, DwconvUkernel, GemmUkernel, QdwconvUkernel, QgemmUkernel, avgpool,
    bn, chscale, conv3x3, dequantize, dwconv, gavgpool, gemm, maxpool, qadd, qchscale, qdwconv,
    qgavgpool, qgemm, quantize, vact, vadd, wgfilter, wgin, wgout,
};

/// The kernels serving one key (e.g. "GEMM with relu"): alternatives with different tiles,
/// all of one ISA. Empty when no kernel exists for the key.
pub type Slot<U> = &'static [&'static U];

const ACTS: usize = Activation::COUNT;

/// Kernels per operation key, resolved for one set of ISA levels.
#[derive(Clone, Debug)]
pub struct KernelTable {
    isa: IsaSet,
    gemm: [Slot<GemmUkernel>; 2 * ACTS],
    dwconv: [Slot<DwconvUkernel>; 4 * ACTS],
    conv3x3: [Slot<Conv3x3Ukernel>; 2 * ACTS],
    bn: [Slot<BnUkernel>; ACTS],
    vact: [Slot<VactUkernel>; ACTS],
    chscale: Slot<ChscaleUkernel>,
    gavgpool: Slot<GavgpoolUkernel>,
    maxpool: Slot<MaxpoolUkernel>,
    avgpool: Slot<AvgpoolUkernel>,
    qgemm: Slot<QgemmUkernel>,
    qdwconv: [Slot<QdwconvUkernel>; 4],
    quantize: Slot<QuantizeUkernel>,
    dequantize: Slot<DequantizeUkernel>,
    qgavgpool: Slot<QgavgpoolUkernel>,
    qchscale: Slot<QchscaleUkernel>,
    qadd: Slot<QaddUkernel>,
    vadd: [Slot<VaddUkernel>; ACTS],
    wgin: Slot<WginUkernel>,
    wgfilter: Slot<WgfilterUkernel>,
    wgout: [Slot<WgoutUkernel>; 2 * ACTS],
}

impl KernelTable {
    fn empty() -> Self {
        KernelTable {
            isa: IsaSet::EMPTY,
            gemm: [&[]; 2 * ACTS],
            dwconv: [&[]; 4 * ACTS],
            conv3x3: [&[]; 2 * ACTS],
            bn: [&[]; ACTS],
            vact: [&[]; ACTS],
            chscale: &[],
            gavgpool: &[],
            maxpool: &[],
            avgpool: &[],
            qgemm: &[],
            qdwconv: [&[]; 4],
            quantize: &[],
            dequantize: &[],
            qgavgpool: &[],
            qchscale: &[],
            qadd: &[],
            vadd: [&[]; ACTS],
            wgin: &[],
            wgfilter: &[],
            wgout: [&[]; 2 * ACTS],
        }
    }

    /// The portable table: scalar kernels only.
    pub fn generic() -> Self {
        let mut t = Self::empty();
        t.overlay(Isa::Scalar);
        t.isa = IsaSet::scalar();
        t
    }

    /// A table using at most the levels in `set` that this CPU supports (scalar is always
    /// included). Tests and `RVCNN_ISA` use this to run lower tiers on a capable CPU.
    pub fn with_isa(set: IsaSet) -> Self {
        let mut t = Self::generic();
        for level in set
            .intersect(isa::detected())
            .iter()
            .filter(|&i| i != Isa::Scalar)
        {
            t.overlay(level);
            t.isa = t.isa.with(level);
        }
        t
    }

    /// The process-wide table for [`isa::available`] (detected levels capped by `RVCNN_ISA`),
    /// built on first use.
    pub fn best() -> &'static KernelTable {
        static BEST: OnceLock<KernelTable> = OnceLock::new();
        BEST.get_or_init(|| KernelTable::with_isa(isa::available()))
    }

    /// The levels this table was built from.
    pub fn isa_set(&self) -> IsaSet {
        self.isa
    }

    /// Slot index of a GEMM epilogue.
    pub const fn gemm_slot(act: Activation, residual: bool) -> usize {
        act as usize + if residual { ACTS } else { 0 }
    }

    /// Index of a depthwise window `k`x`k` at stride `s` among the four that kernels exist
    /// for (3x3 and 5x5, stride 1 and 2).
    pub const fn dwconv_shape(k: usize, s: usize) -> Option<usize> {
        match (k, s) {
            (3, 1) => Some(0),
            (3, 2) => Some(1),
            (5, 1) => Some(2),
            (5, 2) => Some(3),
            _ => None,
        }
    }

    /// Slot index of a depthwise `k`x`k` stride-`s` kernel, if such kernels can exist.
    pub const fn dwconv_slot(k: usize, s: usize, act: Activation) -> Option<usize> {
        match Self::dwconv_shape(k, s) {
            Some(shape) => Some(shape * ACTS + act as usize),
            None => None,
        }
    }

    /// Slot index of a dense 3x3 stride-`s` kernel, if such kernels can exist.
    pub const fn conv3x3_slot(s: usize, act: Activation) -> Option<usize> {
        match s {
            1 | 2 => Some((s - 1) * ACTS + act as usize),
            _ => None,
        }
    }

    /// GEMM kernels for an epilogue (activation, optionally after a residual add).
    pub fn gemm(&self, act: Activation, residual: bool) -> Slot<GemmUkernel> {
        self.gemm[Self::gemm_slot(act, residual)]
    }

    /// Depthwise kernels for a window, stride and activation (empty if unsupported).
    pub fn dwconv(&self, k: usize, s: usize, act: Activation) -> Slot<DwconvUkernel> {
        Self::dwconv_slot(k, s, act).map_or(&[], |i| self.dwconv[i])
    }

    /// Dense 3x3 kernels for a stride and activation (empty if unsupported).
    pub fn conv3x3(&self, s: usize, act: Activation) -> Slot<Conv3x3Ukernel> {
        Self::conv3x3_slot(s, act).map_or(&[], |i| self.conv3x3[i])
    }

    /// Batch-norm kernels for an activation.
    pub fn bn(&self, act: Activation) -> Slot<BnUkernel> {
        self.bn[act as usize]
    }

    /// Elementwise kernels for an activation (empty for `Linear`).
    pub fn vact(&self, act: Activation) -> Slot<VactUkernel> {
        self.vact[act as usize]
    }

    /// Channel-scale kernels.
    pub fn chscale(&self) -> Slot<ChscaleUkernel> {
        self.chscale
    }

    /// Global average pool kernels.
    pub fn gavgpool(&self) -> Slot<GavgpoolUkernel> {
        self.gavgpool
    }

    /// Max pool kernels.
    pub fn maxpool(&self) -> Slot<MaxpoolUkernel> {
        self.maxpool
    }

    /// Average pool kernels.
    pub fn avgpool(&self) -> Slot<AvgpoolUkernel> {
        self.avgpool
    }

    /// INT8 GEMM kernels (u8 × s8 → requantized u8).
    pub fn qgemm(&self) -> Slot<QgemmUkernel> {
        self.qgemm
    }

    /// INT8 depthwise kernels for a window and stride (empty if unsupported).
    pub fn qdwconv(&self, k: usize, s: usize) -> Slot<QdwconvUkernel> {
        Self::dwconv_shape(k, s).map_or(&[], |i| self.qdwconv[i])
    }

    /// f32 → u8 quantize kernels.
    pub fn quantize(&self) -> Slot<QuantizeUkernel> {
        self.quantize
    }

    /// u8 → f32 dequantize kernels.
    pub fn dequantize(&self) -> Slot<DequantizeUkernel> {
        self.dequantize
    }

    /// INT8 global average pool kernels (u8 → f32).
    pub fn qgavgpool(&self) -> Slot<QgavgpoolUkernel> {
        self.qgavgpool
    }

    /// INT8 add kernels.
    pub fn qadd(&self) -> Slot<QaddUkernel> {
        self.qadd
    }

    /// INT8 per-channel scale kernels.
    pub fn qchscale(&self) -> Slot<QchscaleUkernel> {
        self.qchscale
    }

    /// Elementwise `act(a + b)` kernels for an activation (empty where none exists).
    pub fn vadd(&self, act: Activation) -> Slot<VaddUkernel> {
        self.vadd[act as usize]
    }

    /// Winograd F(2x2, 3x3) input-transform kernels.
    pub fn wgin(&self) -> Slot<WginUkernel> {
        self.wgin
    }

    /// Winograd F(2x2, 3x3) filter-transform kernels.
    pub fn wgfilter(&self) -> Slot<WgfilterUkernel> {
        self.wgfilter
    }

    /// Winograd F(2x2, 3x3) output-transform kernels for an epilogue (activation, optionally
    /// after a residual add; empty where none exists).
    pub fn wgout(&self, act: Activation, residual: bool) -> Slot<WgoutUkernel> {
        self.wgout[Self::gemm_slot(act, residual)]
    }

    /// Every kernel reachable through this table, slot by slot.
    pub fn entries(&self) -> impl Iterator<Item = AnyUkernel> + '_ {
        fn each<U>(
            slots: &[Slot<U>],
            f: fn(&'static U) -> AnyUkernel,
        ) -> impl Iterator<Item = AnyUkernel> + '_ {
            slots.iter().flat_map(move |s| s.iter().map(move |&u| f(u)))
        }
        each(&self.gemm, AnyUkernel::Gemm)
            .chain(each(&self.dwconv, AnyUkernel::Dwconv))
            .chain(each(&self.conv3x3, AnyUkernel::Conv3x3))
            .chain(each(&self.bn, AnyUkernel::Bn))
            .chain(each(&self.vact, AnyUkernel::Vact))
            .chain(each(
                std::slice::from_ref(&self.chscale),
                AnyUkernel::Chscale,
            ))
            .chain(each(
                std::slice::from_ref(&self.gavgpool),
                AnyUkernel::Gavgpool,
            ))
            .chain(each(
                std::slice::from_ref(&self.maxpool),
                AnyUkernel::Maxpool,
            ))
            .chain(each(
                std::slice::from_ref(&self.avgpool),
                AnyUkernel::Avgpool,
            ))
            .chain(each(std::slice::from_ref(&self.qgemm), AnyUkernel::Qgemm))
            .chain(each(&self.qdwconv, AnyUkernel::Qdwconv))
            .chain(each(
                std::slice::from_ref(&self.quantize),
                AnyUkernel::Quantize,
            ))
            .chain(each(
                std::slice::from_ref(&self.dequantize),
                AnyUkernel::Dequantize,
            ))
            .chain(each(
                std::slice::from_ref(&self.qgavgpool),
                AnyUkernel::Qgavgpool,
            ))
            .chain(each(std::slice::from_ref(&self.qadd), AnyUkernel::Qadd))
            .chain(each(
                std::slice::from_ref(&self.qchscale),
                AnyUkernel::Qchscale,
            ))
            .chain(each(&self.vadd, AnyUkernel::Vadd))
            .chain(each(std::slice::from_ref(&self.wgin), AnyUkernel::Wgin))
            .chain(each(
                std::slice::from_ref(&self.wgfilter),
                AnyUkernel::Wgfilter,
            ))
            .chain(each(&self.wgout, AnyUkernel::Wgout))
    }
}

include!(concat!(env!("OUT_DIR"), "/table.rs"));
