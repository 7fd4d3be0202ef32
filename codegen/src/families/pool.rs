//! Windowed max / average pooling over NHWC, zero padding (padding never wins a max and, for
//! average pooling, counts toward the divisor only with `count_include_pad`). The window and
//! stride are runtime values: pooling is memory-bound, so specialising them buys nothing.

use super::common::{channel_blocks, kernel_fn, lin, load, mask_of, masks, store, tap_range};
use crate::manifest::{Tile, Variant};
use crate::writer::Writer;

/// Emits a max-pool kernel.
pub fn emit_max(w: &mut Writer, v: &Variant) {
    emit(w, v, true);
}

/// Emits an average-pool kernel.
pub fn emit_avg(w: &mut Writer, v: &Variant) {
    emit(w, v, false);
}

fn emit(w: &mut Writer, v: &Variant, is_max: bool) {
    let Tile::Channels { cb } = v.tile else {
        unreachable!("pool emitter given {v:?}")
    };
    let x = v.isa.vocab();
    let l = v.isa.lanes();
    let nv = cb / l;
    let summary = if is_max {
        "Max pooling over a `kernel_h × kernel_w` window with stride and zero padding."
    } else {
        "Average pooling over a `kernel_h × kernel_w` window with stride and zero padding."
    };
    kernel_fn(w, v, summary, |w| {
        w.line(format!("const CB: usize = {cb};"));
        w.line("let c = p.channels;");
        w.line("let (in_h, in_w) = (p.in_h as isize, p.in_w as isize);");
        if is_max {
            w.line(format!("let v_init = {};", x.splat("f32::NEG_INFINITY")));
        }
        let body = |w: &mut Writer, masked: bool| {
            if masked {
                masks(w, x, "crem", nv, l);
            }
            w.block("for oy in 0..p.out_h", "", |w| {
                w.line("let iy0 = (oy * p.stride_h) as isize - p.pad_top as isize;");
                tap_range(w, "ky_lo", "ky_hi", "iy0", "in_h", "p.kernel_h as isize");
                w.block("for ox in 0..p.out_w", "", |w| {
                    w.line("let ix0 = (ox * p.stride_w) as isize - p.pad_left as isize;");
                    tap_range(w, "kx_lo", "kx_hi", "ix0", "in_w", "p.kernel_w as isize");
                    let init = if is_max {
                        "v_init".to_string()
                    } else {
                        x.zero()
                    };
                    for j in 0..nv {
                        w.line(format!("let mut acc{j} = {init};"));
                    }
                    w.block("for ky in ky_lo..ky_hi", "", |w| {
                        w.block("for kx in kx_lo..kx_hi", "", |w| {
                            w.line("let iy = (iy0 + ky as isize) as usize;");
                            w.line("let ix = (ix0 + kx as isize) as usize;");
                            w.line("let ip = p.input.add((iy * p.in_w + ix) * c + cb);");
                            for j in 0..nv {
                                let off = lin(&[], j * l);
                                let src = load(x, "ip", &off, mask_of(masked, j).as_deref());
                                let acc = format!("acc{j}");
                                let next = if is_max {
                                    x.max(&acc, &src)
                                } else {
                                    x.add(&acc, &src)
                                };
                                w.line(format!("{acc} = {next};"));
                            }
                        });
                    });
                    if !is_max {
                        w.line("let count = if p.count_include_pad {");
                        w.line("    p.kernel_h * p.kernel_w");
                        w.line("} else {");
                        w.line("    (ky_hi - ky_lo) * (kx_hi - kx_lo)");
                        w.line("};");
                        w.line(format!("let inv = {};", x.splat("1.0f32 / count as f32")));
                        for j in 0..nv {
                            w.line(format!("acc{j} = {};", x.mul(&format!("acc{j}"), "inv")));
                        }
                    }
                    w.line("let op = p.output.add((oy * p.out_w + ox) * c + cb);");
                    for j in 0..nv {
                        let off = lin(&[], j * l);
                        let acc = format!("acc{j}");
                        w.line(format!(
                            "{};",
                            store(x, "op", &off, mask_of(masked, j).as_deref(), &acc)
                        ));
                    }
                });
            });
        };
        channel_blocks(w, &[], body);
    });
}
