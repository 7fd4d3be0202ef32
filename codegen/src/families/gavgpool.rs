//! Global average pool over NHWC pixels: one CB-channel block at a time, summing every pixel.

use super::common::{channel_blocks, kernel_fn, lin, load, mask_of, masks, store};
use crate::manifest::{Tile, Variant};
use crate::writer::Writer;

/// Emits `y[c] = mean_px x[px][c]`.
pub fn emit(w: &mut Writer, v: &Variant) {
    let Tile::Channels { cb } = v.tile else {
        unreachable!("gavgpool emitter given {v:?}")
    };
    let x = v.isa.vocab();
    let l = v.isa.lanes();
    let nv = cb / l;
    kernel_fn(
        w,
        v,
        "Global average pool `y[c] = mean over pixels of x[px][c]`.",
        |w| {
            w.line(format!("const CB: usize = {cb};"));
            w.line("let c = p.channels;");
            w.line(format!(
                "let inv = {};",
                x.splat("1.0f32 / p.pixels as f32")
            ));
            let body = |w: &mut Writer, masked: bool| {
                if masked {
                    masks(w, x, "crem", nv, l);
                }
                for j in 0..nv {
                    w.line(format!("let mut acc{j} = {};", x.zero()));
                }
                w.block("for px in 0..p.pixels", "", |w| {
                    w.line("let ip = p.input.add(px * c + cb);");
                    for j in 0..nv {
                        let off = lin(&[], j * l);
                        let src = load(x, "ip", &off, mask_of(masked, j).as_deref());
                        w.line(format!("acc{j} = {};", x.add(&format!("acc{j}"), &src)));
                    }
                });
                w.line("let op = p.output.add(cb);");
                for j in 0..nv {
                    let off = lin(&[], j * l);
                    let val = x.mul(&format!("acc{j}"), "inv");
                    w.line(format!(
                        "{};",
                        store(x, "op", &off, mask_of(masked, j).as_deref(), &val)
                    ));
                }
            };
            channel_blocks(w, &[], body);
        },
    );
}
