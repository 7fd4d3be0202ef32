//! Dense 3x3 convolution, NHWC, zero padding, fused bias + activation (direct method).
//!
//! Output channels are vectorised in NR-wide packed panels; MR horizontally adjacent interior
//! output pixels share each weight load (an implicit GEMM with K = 9·Cin). Pixels whose window
//! crosses the left/right border are computed one at a time over their valid taps; rows whose
//! window crosses the top/bottom border restrict the `ky` range. A `cin` specialisation (the
//! RGB stem) makes the channel loop a compile-time constant.

use super::common::{
    act_apply, interior_columns, kernel_fn, lin, mask_of, masks, store, tap_range,
};
use crate::manifest::{Tile, Variant};
use crate::writer::{Writer, at};

/// Emits one 3x3 convolution kernel.
pub fn emit(w: &mut Writer, v: &Variant) {
    let Tile::Conv3x3 { s, cin, mr, nr } = v.tile else {
        unreachable!("conv3x3 emitter given {v:?}")
    };
    let x = v.isa.vocab();
    let l = v.isa.lanes();
    let nv = nr / l;
    let which = match cin {
        Some(c) => format!("{c}-channel (stem) input"),
        None => "any input channel count".to_string(),
    };
    let summary = format!(
        "Dense 3x3 stride-{s} convolution with bias and `{}` for {which}; {mr} pixels × {nr} channels per tile.",
        v.act.name()
    );
    kernel_fn(w, v, &summary, |w| {
        w.line(format!("const S: usize = {s};"));
        w.line(format!("const MR: usize = {mr};"));
        w.line(format!("const NR: usize = {nr};"));
        match cin {
            Some(c) => {
                w.line(format!("const CIN: usize = {c};"));
                w.line("let cin = CIN;");
            }
            None => w.line("let cin = p.cin;"),
        }
        w.line("let cout = p.cout;");
        w.line("let row_stride = p.in_w * cin;");
        w.line("let (in_h, in_w) = (p.in_h as isize, p.in_w as isize);");
        interior_columns(w, "3");
        w.line("let mut wp = p.w;");
        w.line("let mut co = 0usize;");
        w.block("while co < cout", "", |w| {
            w.line("let crem = cout - co;");
            masks(w, x, "crem", nv, l);
            for j in 0..nv {
                w.line(format!("let bias{j} = {};", x.load(&at("wp", &lin(&[], j * l)))));
            }
            w.line("let wk = wp.add(NR);");
            w.block("for oy in 0..p.out_h", "", |w| {
                w.line("let iy0 = (oy * S) as isize - p.pad_top as isize;");
                if let (Some(_), Some(pf)) = (cin, x.prefetch("irow.add(i)")) {
                    // The stem reads the image once, cold: the hardware prefetcher stops at
                    // every 4 KiB page of its three row streams, so the rows the next output
                    // row adds are fetched one output row ahead.
                    w.block("for r in iy0 + 3..iy0 + 3 + S as isize", "", |w| {
                        w.block("if r >= 0 && r < in_h", "", |w| {
                            w.line("let irow = p.input.add(r as usize * row_stride);");
                            w.block("for i in (0..row_stride).step_by(16)", "", |w| {
                                w.line(format!("{pf};"));
                            });
                        });
                    });
                }
                tap_range(w, "ky_lo", "ky_hi", "iy0", "in_h", "3");
                w.line("let orow = p.output.add(oy * p.out_w * cout + co);");
                w.line("let mut ox = 0usize;");
                w.block("while ox < p.out_w", "", |w| {
                    let tile = |w: &mut Writer, rows: usize| {
                        for i in 0..rows {
                            for j in 0..nv {
                                w.line(format!("let mut acc{i}_{j} = bias{j};"));
                            }
                        }
                        let taps = |w: &mut Writer| {
                            w.block("for ci in 0..cin", "", |w| {
                                for j in 0..nv {
                                    let off = lin(&[(1, "ci * NR")], j * l);
                                    w.line(format!("let b{j} = {};", x.load(&at("wt", &off))));
                                }
                                for i in 0..rows {
                                    let src = at("ib", &lin(&[(i * s, "cin"), (1, "ci")], 0));
                                    w.line(format!("let x{i} = {};", x.splat(&format!("*{src}"))));
                                    for j in 0..nv {
                                        let acc = format!("acc{i}_{j}");
                                        let fma = x.fma(&format!("x{i}"), &format!("b{j}"), &acc);
                                        w.line(format!("{acc} = {fma};"));
                                    }
                                }
                            });
                        };
                        if rows == 1 {
                            w.line("let ix0 = (ox * S) as isize - p.pad_left as isize;");
                            tap_range(w, "kx_lo", "kx_hi", "ix0", "in_w", "3");
                        }
                        w.block("for ky in ky_lo..ky_hi", "", |w| {
                            w.line("let irow = p.input.add((iy0 + ky as isize) as usize * row_stride);");
                            let kx_loop = if rows == 1 { "for kx in kx_lo..kx_hi" } else { "for kx in 0..3" };
                            w.block(kx_loop, "", |w| {
                                w.line("let wt = wk.add((ky * 3 + kx) * cin * NR);");
                                if rows == 1 {
                                    w.line("let ib = irow.add((ix0 + kx as isize) as usize * cin);");
                                } else {
                                    w.line("let ib = irow.add((ox * S + kx - p.pad_left) * cin);");
                                }
                                taps(w);
                            });
                        });
                        let store = |w: &mut Writer, masked: bool| {
                            for i in 0..rows {
                                for j in 0..nv {
                                    let val = act_apply(x, v.act, &format!("acc{i}_{j}"));
                                    let pix = if i == 0 { "ox * cout".to_string() } else { format!("(ox + {i}) * cout") };
                                    let off = lin(&[(1, &pix)], j * l);
                                    let mk = mask_of(masked, j);
                                    w.line(format!("{};", store(x, "orow", &off, mk.as_deref(), &val)));
                                }
                            }
                        };
                        w.if_else("crem >= NR", |w| store(w, false), |w| store(w, true));
                        w.line(format!("ox += {rows};"));
                    };
                    w.if_else(
                        "ox >= ox_lo && ox + MR <= ox_hi",
                        |w| tile(w, mr),
                        |w| tile(w, 1),
                    );
                });
            });
            w.line("wp = wp.add(NR + 9 * cin * NR);");
            w.line("co += NR;");
        });
    });
}
