//! One emitter per kernel family. Each turns a [`Variant`] into a Rust function.

mod channel;
mod common;
mod conv3x3;
mod dwconv;
mod gavgpool;
mod gemm;
mod pool;
mod qcommon;
mod qconvert;
mod qdwconv;
mod qgemm;
mod vact;
mod winograd;

use crate::manifest::{Family, Variant};
use crate::writer::Writer;

/// Emits the kernel function of `v` (not its descriptor). For a family that
/// [`shares_act_body`](Family::shares_act_body) that is the entry point calling the shared
/// body; emit the body itself once per tile with `emit_kernel(w, &v.body())`.
pub fn emit_kernel(w: &mut Writer, v: &Variant) {
    match v.family {
        Family::Gemm => gemm::emit(w, v),
        Family::Dwconv => dwconv::emit(w, v),
        Family::Conv3x3 => conv3x3::emit(w, v),
        Family::Bn => channel::emit_bn(w, v),
        Family::Chscale => channel::emit_chscale(w, v),
        Family::Vact => vact::emit(w, v),
        Family::Gavgpool => gavgpool::emit(w, v),
        Family::Maxpool => pool::emit_max(w, v),
        Family::Avgpool => pool::emit_avg(w, v),
        Family::Qgemm => qgemm::emit(w, v),
        Family::Qdwconv => qdwconv::emit(w, v),
        Family::Quantize => qconvert::emit_quantize(w, v),
        Family::Dequantize => qconvert::emit_dequantize(w, v),
        Family::Qgavgpool => qconvert::emit_qgavgpool(w, v),
        Family::Qchscale => qconvert::emit_qchscale(w, v),
        Family::Qadd => qconvert::emit_qadd(w, v),
        Family::Vadd => vact::emit_add(w, v),
        Family::Wgin => winograd::emit_input(w, v),
        Family::Wgfilter => winograd::emit_filter(w, v),
        Family::Wgout => winograd::emit_output(w, v),
    }
}
