//! `<family>.rs`: `pub mod <isa> { kernels, descriptors, slot lists }` for each ISA.

use super::{BANNER, cfg_line, group_slots, select};
use crate::families::emit_kernel;
use crate::isa::Isa;
use crate::manifest::{Family, Tile, Variant};
use crate::writer::Writer;

/// Renders the generated module file of one family.
pub fn render_family(all: &[Variant], family: Family) -> String {
    let mut w = Writer::new();
    w.line(BANNER);
    for isa in Isa::ALL {
        let vs = select(all, Some(family), isa);
        if vs.is_empty() {
            continue;
        }
        w.line("");
        cfg_line(&mut w, isa);
        w.line(format!(
            "/// `{}` kernels for `{}`.",
            family.name(),
            isa.name()
        ));
        w.block(format!("pub mod {}", isa.name()), "", |w| {
            w.line("use super::*;");
            for line in isa.vocab().imports() {
                w.line(*line);
            }
            for (i, v) in vs.iter().enumerate() {
                let first_of_tile = !vs[..i].iter().any(|u| u.tile == v.tile);
                if v.family.shares_act_body() && first_of_tile {
                    w.line("");
                    emit_kernel(w, &v.body());
                }
                w.line("");
                emit_kernel(w, v);
                w.line("");
                render_descriptor_into(w, v);
            }
            for (slot, members) in group_slots(&vs) {
                w.line("");
                w.line("/// Dispatch slot list (see `KernelTable`).");
                let items: Vec<String> = members
                    .iter()
                    .map(|m| format!("&{}", m.static_name()))
                    .collect();
                w.line(format!(
                    "pub static {}: &[&{}] = &[{}];",
                    slot.list,
                    family.ukernel_ty(),
                    items.join(", ")
                ));
            }
        });
    }
    w.finish()
}

/// The descriptor static of one variant.
pub fn render_descriptor(v: &Variant) -> String {
    let mut w = Writer::new();
    render_descriptor_into(&mut w, v);
    w.finish()
}

fn render_descriptor_into(w: &mut Writer, v: &Variant) {
    let tile = match v.tile {
        Tile::Gemm { mr, nr, residual } => {
            format!("GemmTile {{ mr: {mr}, nr: {nr}, residual: {residual} }}")
        }
        Tile::Dwconv { k, s, cb, wb } => {
            format!("DwconvTile {{ k: {k}, s: {s}, cb: {cb}, wb: {wb} }}")
        }
        Tile::Conv3x3 { s, cin, mr, nr } => {
            let cin = cin.map_or("None".to_string(), |c| format!("Some({c})"));
            format!("Conv3x3Tile {{ s: {s}, cin: {cin}, mr: {mr}, nr: {nr} }}")
        }
        Tile::Channels { cb } => format!("ChannelTile {{ cb: {cb} }}"),
        Tile::Elems { n } => format!("ElemTile {{ n: {n} }}"),
        Tile::Qgemm { mr, nr } => {
            format!("QgemmTile {{ mr: {mr}, nr: {nr}, form: {} }}", dot_form(v))
        }
        Tile::Winograd { cb, residual } => {
            format!("WinogradTile {{ cb: {cb}, residual: {residual} }}")
        }
        Tile::Qdwconv { k, s, cb } => {
            format!(
                "QdwconvTile {{ k: {k}, s: {s}, cb: {cb}, form: {} }}",
                dot_form(v)
            )
        }
    };
    w.line(format!("/// Descriptor of [`{}`].", v.fn_name()));
    w.block(
        format!(
            "pub static {}: {} = Ukernel",
            v.static_name(),
            v.family.ukernel_ty()
        ),
        ";",
        |w| {
            w.line(format!("id: \"{}\",", v.id()));
            w.line(format!("isa: {},", v.isa.rust_variant()));
            w.line(format!("act: {},", v.act.rust_variant()));
            w.line(format!("tile: {tile},"));
            w.line(format!("func: {},", v.fn_name()));
        },
    );
}

/// The `DotForm` an INT8 variant's weights are packed in.
fn dot_form(v: &Variant) -> &'static str {
    v.int_vocab()
        .expect("INT8 tiles belong to ISAs with an IntVocab")
        .form()
        .rust_variant()
}
