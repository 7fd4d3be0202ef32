//! Depthwise KxK convolution, NHWC, zero padding, fused bias + activation.
//!
//! Loop order, chosen by the caller (`rows_outer`): channel blocks, then output rows, then
//! tiles of 32 output pixels (a block's band of K rows stays in L1: best for stride-1
//! images that fit L2); or rows, then tiles (aligned to the first interior pixel), then
//! channel blocks (a tile's band of K rows × all channels stays in L1: best for large
//! images and at stride 2; tiles are as narrow as needed, in whole W-pixel steps, to keep
//! that band within 24 KiB — on MobileNetV3-Large's 3x3 stride-2 112x112x64 layer, 16
//! instead of 32 pixels took 203 to 157 µs on Zen 3). Within a (block, row, tile), a
//! block's K·K weight vectors live in registers during the sweep when they fit (else they
//! are read as memory operands). Pixels whose window lies inside the image horizontally are
//! computed W at a time: each input vector of the `(W−1)·S + K` columns a row of taps
//! touches is loaded once and feeds every output that uses it, and each output's K·K-long
//! FMA chain is split into partial sums (one per group of tap rows) so enough independent
//! chains hide the FMA latency. For K ≥ 5 at stride 1, where the window crosses the image's
//! left or right edge or a step would run past the tile, a step of W pixels still runs when
//! at least two pixels are left before the first fitting step or the tile end ("edge step":
//! each column of taps outside the image is skipped by one branch for the whole step,
//! outputs past the tile end are not stored) — on small images (5x5 on 7x7) every pixel is
//! such a pixel. Other pixels are computed one at a time with the same unrolled taps
//! (guarded per column at the image edges). Rows of taps outside the image are skipped by
//! branches that are uniform across the output row. When C is not a multiple of CB, the
//! last block starts at C − CB and recomputes channels of the block before it
//! (`pack::dwconv_block_start`: no masked loads or stores, which cost AVX2 on AMD dearly);
//! only a layer with fewer than CB channels uses masked input loads and stores.

use super::common::{
    act_apply, act_entry, act_epilogue, act_label, interior_columns, kernel_fn, lin, load, mask_of,
    masks, store, tap_range,
};
use crate::manifest::{Act, Tile, Variant};
use crate::writer::{Writer, at};

/// The first line of a depthwise kernel's doc comment.
fn summary(v: &Variant) -> String {
    let Tile::Dwconv { k, s, cb, wb } = v.tile else {
        unreachable!("dwconv summary of {v:?}")
    };
    format!(
        "Depthwise {k}x{k} stride-{s} convolution with bias and `{}`, {cb} channels × {wb} pixels per step.",
        act_label(v.act)
    )
}

/// Emits one depthwise kernel: the entry point of a variant, or (for [`Act::Runtime`]) the
/// tile's shared body it calls.
pub fn emit(w: &mut Writer, v: &Variant) {
    let Tile::Dwconv { k, s, cb, wb } = v.tile else {
        unreachable!("dwconv emitter given {v:?}")
    };
    if v.act != Act::Runtime {
        return act_entry(w, v, &summary(v));
    }
    let l = v.isa.lanes();
    let nv = cb / l;
    kernel_fn(w, v, &summary(v), |w| {
        w.line(format!("const K: usize = {k};"));
        w.line(format!("const S: usize = {s};"));
        w.line(format!("const CB: usize = {cb};"));
        w.line(format!("const WB: usize = {wb};"));
        w.line("let c = p.channels;");
        w.line("let row_stride = p.in_w * c;");
        w.line("let (in_h, in_w) = (p.in_h as isize, p.in_w as isize);");
        interior_columns(w, "K");
        w.line("let blocks = c.div_ceil(CB);");
        w.line("let block_outer = !p.rows_outer;");
        // Row by row, a tile's band (K rows × the columns it reads × all channels) should stay
        // in L1 while the channel blocks sweep it: at most BAND bytes, whole W-pixel steps.
        w.line("const BAND: usize = 24 * 1024;");
        w.line("let ot_px = if block_outer { 32 } else { (BAND / (K * S * c.max(1) * 4) / WB * WB).clamp(WB, 32) };");
        // Column tiles are aligned to the first interior pixel so each holds whole W-pixel steps.
        w.line("let tiles = 1 + p.out_w.saturating_sub(ox_lo + ot_px).div_ceil(ot_px);");
        w.line("let (n1, n2, n3) = if block_outer { (blocks, p.out_h, tiles) } else { (p.out_h, tiles, blocks) };");
        w.block("for i1 in 0..n1", "", |w| {
            w.block("for i2 in 0..n2", "", |w| {
                w.block("for i3 in 0..n3", "", |w| {
                    w.line(
                        "let (bi, oy, ti) = if block_outer { (i1, i2, i3) } else { (i3, i1, i2) };",
                    );
                    w.line("let cb = (bi * CB).min(c.saturating_sub(CB));");
                    w.line("let crem = c - cb;");
                    w.line("let wp = p.w.add(bi * (CB + K * K * CB));");
                    w.line("let iy0 = (oy * S) as isize - p.pad_top as isize;");
                    tap_range(w, "ky_lo", "ky_hi", "iy0", "in_h", "K as isize");
                    w.line("let orow = p.output.add(oy * p.out_w * c);");
                    w.line("let ot = if ti == 0 { 0 } else { ox_lo + ti * ot_px };");
                    w.line("let ot_end = (ox_lo + (ti + 1) * ot_px).min(p.out_w);");
                    w.line("let int_hi = ox_hi.min(ot_end);");
                    let body = |w: &mut Writer, masked: bool| block(w, v, masked, k, s, wb, nv, l);
                    w.if_else("crem >= CB", |w| body(w, false), |w| body(w, true));
                });
            });
        });
    });
}

/// How a block keeps its operands: weights in registers or read as memory operands, and how
/// many partial sums each output's K·K-long FMA chain is split into (one per group of tap
/// rows, added at the end) so that enough independent chains hide the FMA latency.
struct Plan {
    weights_in_regs: bool,
    parts: usize,
}

fn plan(v: &Variant, k: usize, wb: usize, nv: usize) -> Plan {
    // Besides accumulators: input vectors, plus four activation constants (the bias
    // initialises the accumulators from memory).
    let fixed = nv + 4;
    let regs = v.isa.vector_regs();
    let weights_in_regs = fixed + k * k * nv + wb * nv <= regs;
    let free = regs.saturating_sub(fixed + if weights_in_regs { k * k * nv } else { 0 });
    Plan {
        weights_in_regs,
        parts: (free / (wb * nv)).clamp(1, k.min(3)),
    }
}

/// One channel block of one output row.
#[allow(clippy::too_many_arguments)]
fn block(
    w: &mut Writer,
    v: &Variant,
    masked: bool,
    k: usize,
    s: usize,
    wb: usize,
    nv: usize,
    l: usize,
) {
    let x = v.isa.vocab();
    let cb = nv * l;
    let Plan {
        weights_in_regs,
        parts,
    } = plan(v, k, wb, nv);
    let weight = |t: usize, j: usize| {
        if weights_in_regs {
            format!("w{t}_{j}")
        } else {
            x.load(&at("wp", &lin(&[], cb + t * cb + j * l)))
        }
    };
    if masked {
        masks(w, x, "crem", nv, l);
    }
    let ld = |ptr: &str, j: usize| load(x, ptr, &lin(&[], j * l), mask_of(masked, j).as_deref());
    let st = |w: &mut Writer, off: &str, j: usize, val: &str| {
        let off = lin(&[(1, off), (1, "cb")], j * l);
        w.line(format!(
            "{};",
            store(x, "orow", &off, mask_of(masked, j).as_deref(), val)
        ));
    };

    if weights_in_regs {
        for t in 0..k * k {
            for j in 0..nv {
                let off = lin(&[], cb + t * cb + j * l);
                w.line(format!("let w{t}_{j} = {};", x.load(&at("wp", &off))));
            }
        }
    }
    w.line("let mut ox = ot;");
    w.block("while ox < ot_end", "", |w| {
        // Taps outside the image are skipped by branches that are uniform per output row (ky)
        // or per border pixel (kx); `0` is spelled `== 0` to keep the guards lint-clean.
        let guard = |lo: &str, hi: &str, t: usize| {
            if t == 0 {
                format!("if {lo} == 0 && 0 < {hi}")
            } else {
                format!("if {lo} <= {t} && {t} < {hi}")
            }
        };
        let shifted = |v: &str, t: usize| {
            if t == 0 {
                v.to_string()
            } else {
                format!("({v} + {t})")
            }
        };
        let row_ptr = |ky: usize, col0: &str| {
            format!(
                "let rp = p.input.add({} as usize * row_stride + {col0});",
                shifted("iy0", ky)
            )
        };
        // W pixels at once. `edge`: the window may reach past the image horizontally (columns
        // outside are skipped, by branches uniform across the step's tap rows) and past the
        // tile (those outputs are not stored).
        let cols = (wb - 1) * s + k;
        let step = |w: &mut Writer, edge: bool| {
            for o in 0..wb {
                for j in 0..nv {
                    w.line(format!(
                        "let mut acc{o}_{j} = {};",
                        x.load(&at("wp", &lin(&[], j * l)))
                    ));
                    for q in 1..parts {
                        w.line(format!("let mut acc{o}_{j}_{q} = {};", x.zero()));
                    }
                }
            }
            if edge {
                w.line("let cx0 = (ox * S) as isize - p.pad_left as isize;");
                tap_range(w, "cx_lo", "cx_hi", "cx0", "in_w", &format!("{cols}"));
                w.line("let col0 = cb;");
            } else {
                w.line("let col0 = (ox * S - p.pad_left) * c + cb;");
            }
            for ky in 0..k {
                w.block(guard("ky_lo", "ky_hi", ky), "", |w| {
                    w.line(row_ptr(ky, "col0"));
                    for col in 0..cols {
                        let users: Vec<usize> = (0..wb)
                            .filter(|o| col >= o * s && col - o * s < k)
                            .collect();
                        let column = |w: &mut Writer| {
                            let base = if edge {
                                w.line(format!(
                                    "let cp = rp.add({} as usize * c);",
                                    shifted("cx0", col)
                                ));
                                "cp".to_string()
                            } else {
                                at("rp", &lin(&[(col, "c")], 0))
                            };
                            for j in 0..nv {
                                w.line(format!("let x{j} = {};", ld(&base, j)));
                                for &o in &users {
                                    let q = ky % parts;
                                    let acc = if q == 0 {
                                        format!("acc{o}_{j}")
                                    } else {
                                        format!("acc{o}_{j}_{q}")
                                    };
                                    let t = ky * k + col - o * s;
                                    let fma = x.fma(&format!("x{j}"), &weight(t, j), &acc);
                                    w.line(format!("{acc} = {fma};"));
                                }
                            }
                        };
                        if edge {
                            w.block(guard("cx_lo", "cx_hi", col), "", column);
                        } else {
                            column(w);
                        }
                    }
                });
            }
            for o in 0..wb {
                for j in 0..nv {
                    for q in 1..parts {
                        let sum = x.add(&format!("acc{o}_{j}"), &format!("acc{o}_{j}_{q}"));
                        w.line(format!("acc{o}_{j} = {sum};"));
                    }
                }
            }
            // An edge step stops storing at the tile end.
            let stores = |w: &mut Writer, act| {
                for o in 0..wb {
                    if edge && o > 0 {
                        w.line(format!("if ox + {o} >= ot_end {{ break 'stores; }}"));
                    }
                    for j in 0..nv {
                        let val = act_apply(x, act, &format!("acc{o}_{j}"));
                        let pix = if o == 0 {
                            "ox * c".to_string()
                        } else {
                            format!("(ox + {o}) * c")
                        };
                        st(w, &pix, j, &val);
                    }
                }
            };
            act_epilogue(w, v.act, |w, act| {
                if edge {
                    w.block("'stores:", "", |w| stores(w, act));
                } else {
                    stores(w, act);
                }
            });
            w.line("ox += WB;");
        };
        // One pixel; `guarded` checks every column of taps against the image edges.
        let pixel = |w: &mut Writer, guarded: bool| {
            for j in 0..nv {
                w.line(format!(
                    "let mut acc{j} = {};",
                    x.load(&at("wp", &lin(&[], j * l)))
                ));
            }
            w.line("let ix0 = (ox * S) as isize - p.pad_left as isize;");
            if guarded {
                tap_range(w, "kx_lo", "kx_hi", "ix0", "in_w", "K as isize");
            }
            for ky in 0..k {
                w.block(guard("ky_lo", "ky_hi", ky), "", |w| {
                    w.line(format!(
                        "let rb = {} as usize * row_stride + cb;",
                        shifted("iy0", ky)
                    ));
                    for kx in 0..k {
                        let tap = |w: &mut Writer| {
                            let col = shifted("ix0", kx);
                            w.line(format!("let rp = p.input.add(rb + {col} as usize * c);"));
                            for j in 0..nv {
                                let acc = format!("acc{j}");
                                let fma = x.fma(&ld("rp", j), &weight(ky * k + kx, j), &acc);
                                w.line(format!("{acc} = {fma};"));
                            }
                        };
                        if guarded {
                            w.block(guard("kx_lo", "kx_hi", kx), "", tap);
                        } else {
                            tap(w);
                        }
                    }
                });
            }
            act_epilogue(w, v.act, |w, act| {
                for j in 0..nv {
                    let val = act_apply(x, act, &format!("acc{j}"));
                    st(w, "ox * c", j, &val);
                }
            });
            w.line("ox += 1;");
        };
        let single = |w: &mut Writer| {
            w.if_else(
                "ox >= ox_lo && ox < ox_hi",
                |w| pixel(w, false),
                |w| pixel(w, true),
            );
        };
        // Steps where the window fits; single pixels otherwise — except, for K ≥ 5 at stride 1
        // (two border pixels per side with `same` padding), W-pixel edge steps where at least
        // two pixels precede the first fitting step or remain in the tile. (Elsewhere an edge
        // step replaces about one pixel per side, measured no faster, and would double the
        // generated code.)
        w.if_else(
            "ox >= ox_lo && ox + WB <= int_hi",
            |w| step(w, false),
            |w| {
                if k >= 5 && s == 1 {
                    w.line("let run = if ox < ox_lo { ox_lo - ox } else { ot_end - ox };");
                    w.if_else("run >= 2", |w| step(w, true), single);
                } else {
                    single(w);
                }
            },
        );
    });
}
