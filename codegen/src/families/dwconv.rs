//! Depthwise KxK convolution, NHWC, zero padding, fused bias + activation.
//!
//! Channel blocks of CB are the outer loop, so the block's K·K weight vectors and bias live in
//! registers while every output pixel is visited. Interior pixels (window fully inside the
//! image) take a fully unrolled tap sequence; border pixels loop over the valid taps only.
//! The last block, when C is not a multiple of CB, uses masked input loads and stores.

use super::common::{act_apply, kernel_fn, lin, masks, tap_range};
use crate::manifest::{Tile, Variant};
use crate::writer::{Writer, at, at_wrapping};

/// Emits one depthwise kernel.
pub fn emit(w: &mut Writer, v: &Variant) {
    let Tile::Dwconv { k, s, cb } = v.tile else {
        unreachable!("dwconv emitter given {v:?}")
    };
    let x = v.isa.vocab();
    let l = v.isa.lanes();
    let nv = cb / l;
    let summary = format!(
        "Depthwise {k}x{k} stride-{s} convolution with bias and `{}`, {cb} channels per block.",
        v.act.name()
    );
    kernel_fn(w, v, &summary, |w| {
        w.line(format!("const K: usize = {k};"));
        w.line(format!("const S: usize = {s};"));
        w.line(format!("const CB: usize = {cb};"));
        w.line("let c = p.channels;");
        w.line("let row_stride = p.in_w * c;");
        w.line("let (in_h, in_w) = (p.in_h as isize, p.in_w as isize);");
        w.line("let ox_lo = p.pad_left.div_ceil(S).min(p.out_w);");
        w.line("let ox_hi = if p.in_w + p.pad_left >= K {");
        w.line("    ((p.in_w + p.pad_left - K) / S + 1).min(p.out_w)");
        w.line("} else {");
        w.line("    0");
        w.line("}");
        w.line(".max(ox_lo);");
        w.line("let mut wp = p.w;");
        w.line("let mut cb = 0usize;");
        w.block("while cb < c", "", |w| {
            w.line("let crem = c - cb;");
            let body = |w: &mut Writer, masked: bool| {
                if masked {
                    masks(w, x, "crem", nv, l);
                }
                let ld = |ptr: &str, j: usize| {
                    if masked {
                        x.load_masked(&at_wrapping(ptr, &lin(&[], j * l)), &format!("mk{j}"))
                    } else {
                        x.load(&at(ptr, &lin(&[], j * l)))
                    }
                };
                for j in 0..nv {
                    w.line(format!("let bias{j} = {};", x.load(&at("wp", &lin(&[], j * l)))));
                }
                for t in 0..k * k {
                    for j in 0..nv {
                        let off = lin(&[], cb + t * cb + j * l);
                        w.line(format!("let w{t}_{j} = {};", x.load(&at("wp", &off))));
                    }
                }
                w.block("for oy in 0..p.out_h", "", |w| {
                    w.line("let iy0 = (oy * S) as isize - p.pad_top as isize;");
                    tap_range(w, "ky_lo", "ky_hi", "iy0", "in_h", "K");
                    w.line("let row_full = ky_lo == 0 && ky_hi == K;");
                    w.line("let orow = p.output.add(oy * p.out_w * c + cb);");
                    w.block("for ox in 0..p.out_w", "", |w| {
                        w.line("let ix0 = (ox * S) as isize - p.pad_left as isize;");
                        for j in 0..nv {
                            w.line(format!("let mut acc{j} = bias{j};"));
                        }
                        let interior = |w: &mut Writer| {
                            w.line("let ip = p.input.add((iy0 as usize * p.in_w + ix0 as usize) * c + cb);");
                            for ky in 0..k {
                                for kx in 0..k {
                                    let t = ky * k + kx;
                                    let base = format!("ip{t}");
                                    let off = lin(&[(ky, "row_stride"), (kx, "c")], 0);
                                    w.line(format!("let {base} = {};", at("ip", &off)));
                                    for j in 0..nv {
                                        let acc = format!("acc{j}");
                                        let fma = x.fma(&ld(&base, j), &format!("w{t}_{j}"), &acc);
                                        w.line(format!("{acc} = {fma};"));
                                    }
                                }
                            }
                        };
                        let border = |w: &mut Writer| {
                            tap_range(w, "kx_lo", "kx_hi", "ix0", "in_w", "K");
                            w.block("for ky in ky_lo..ky_hi", "", |w| {
                                w.block("for kx in kx_lo..kx_hi", "", |w| {
                                    w.line("let iy = (iy0 + ky as isize) as usize;");
                                    w.line("let ix = (ix0 + kx as isize) as usize;");
                                    w.line("let ip = p.input.add((iy * p.in_w + ix) * c + cb);");
                                    w.line("let wt = wp.add(CB + (ky * K + kx) * CB);");
                                    for j in 0..nv {
                                        let acc = format!("acc{j}");
                                        let wv = x.load(&at("wt", &lin(&[], j * l)));
                                        w.line(format!("{acc} = {};", x.fma(&ld("ip", j), &wv, &acc)));
                                    }
                                });
                            });
                        };
                        w.if_else("row_full && ox >= ox_lo && ox < ox_hi", interior, border);
                        for j in 0..nv {
                            let val = act_apply(x, v.act, &format!("acc{j}"));
                            let off = lin(&[(1, "ox * c")], j * l);
                            let stmt = if masked {
                                x.store_masked(&at_wrapping("orow", &off), &format!("mk{j}"), &val)
                            } else {
                                x.store(&at("orow", &off), &val)
                            };
                            w.line(format!("{stmt};"));
                        }
                    });
                });
            };
            w.if_else("crem >= CB", |w| body(w, false), |w| body(w, true));
            w.line("wp = wp.add(CB + K * K * CB);");
            w.line("cb += CB;");
        });
    });
}
