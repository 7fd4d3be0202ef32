//! Per-channel elementwise kernels over NHWC pixels: batch-norm (scale + shift + activation)
//! and the squeeze-excitation channel scale. Full CB-channel steps, then a vector tail:
//! masked, or where masks are slow (`Isa::masks_are_cheap`) whole vectors plainly and only a
//! partial last one masked.

use super::common::{act_apply, kernel_fn, lin, load, store};
use crate::manifest::{Tile, Variant};
use crate::writer::Writer;

/// Emits `y = act(x·scale[c] + shift[c])`.
pub fn emit_bn(w: &mut Writer, v: &Variant) {
    let summary = format!(
        "Batch-norm inference `y = {}(x·scale[c] + shift[c])` over NHWC pixels.",
        v.act.name()
    );
    emit(w, v, &summary, true);
}

/// Emits `y = x·scale[c]`.
pub fn emit_chscale(w: &mut Writer, v: &Variant) {
    emit(
        w,
        v,
        "Channel scale `y = x·scale[c]` over NHWC pixels.",
        false,
    );
}

fn emit(w: &mut Writer, v: &Variant, summary: &str, shift: bool) {
    let Tile::Channels { cb } = v.tile else {
        unreachable!("channel emitter given {v:?}")
    };
    let x = v.isa.vocab();
    let l = v.isa.lanes();
    kernel_fn(w, v, summary, |w| {
        w.line(format!("const CB: usize = {cb};"));
        w.line("let c = p.channels;");
        w.block("for px in 0..p.pixels", "", |w| {
            w.line("let ip = p.input.add(px * c);");
            w.line("let op = p.output.add(px * c);");
            w.line("let mut ch = 0usize;");
            let value = |off: &str, mk: Option<&str>| {
                let (xv, sv) = (load(x, "ip", off, mk), load(x, "p.scale", off, mk));
                if shift {
                    x.fma(&xv, &sv, &load(x, "p.shift", off, mk))
                } else {
                    x.mul(&xv, &sv)
                }
            };
            w.block("while ch + CB <= c", "", |w| {
                for j in 0..cb / l {
                    let off = lin(&[(1, "ch")], j * l);
                    w.line(format!("let v{j} = {};", value(&off, None)));
                    let val = act_apply(x, v.act, &format!("v{j}"));
                    w.line(format!("{};", store(x, "op", &off, None, &val)));
                }
                w.line("ch += CB;");
            });
            // One vector at `ch`, through the mask `mk` if given.
            let step = |w: &mut Writer, mk: Option<&str>| {
                w.line(format!("let v = {};", value("ch", mk)));
                let val = act_apply(x, v.act, "v");
                w.line(format!("{};", store(x, "op", "ch", mk, &val)));
                w.line(format!("ch += {l};"));
            };
            if !v.isa.masks_are_cheap() {
                // Whole vectors of the tail plainly; only a partial last one through a mask.
                w.block(format!("while ch + {l} <= c"), "", |w| step(w, None));
            }
            w.block("while ch < c", "", |w| {
                w.line(format!(
                    "let mk = {};",
                    x.mask(&format!("(c - ch).min({l})"))
                ));
                step(w, Some("mk"));
            });
        });
    });
}
