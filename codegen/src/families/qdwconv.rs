//! INT8 depthwise KxK convolution, NHWC, u8 activations × s8 weights → requantized u8.
//!
//! CB-channel blocks (CB = 4 × lanes, one register of bytes; the block's bias and
//! requantization operands loaded once), then rows, then pixels. The
//! taps are taken four at a time: the four tap registers are byte-interleaved so each `i32`
//! lane holds one channel's four activations, and one 4-way dot product per accumulator
//! (`vpdpbusd`, or its AVX2 emulation) adds four taps of 4·lanes/4 channels; the channel
//! order this interleave produces is undone for free by the saturating packs of the store,
//! and the packed weights are laid out in it. The input zero point is folded into the packed
//! bias as `bias − z_x·Σw`, so taps outside the image use the zero point itself (the quantized
//! real zero) and the missing taps of the last group use zero bytes against zero weights.
//! Pixels whose window lies inside the image skip the per-tap bounds checks. The last block,
//! when C is not a multiple of CB, loads and stores only its valid channels.

use super::common::{kernel_fn, tap_range};
use super::qcommon::{Block, HEADER_ARRAYS, load_requant, out_consts, requant};
use crate::isa::IntVocab;
use crate::manifest::{Tile, Variant};
use crate::writer::Writer;

/// Emits one INT8 depthwise kernel.
pub fn emit(w: &mut Writer, v: &Variant) {
    let Tile::Qdwconv { k, s, cb } = v.tile else {
        unreachable!("qdwconv emitter given {v:?}")
    };
    let x = v
        .int_vocab()
        .expect("the manifest lists INT8 kernels only for ISAs with an IntVocab");
    assert_eq!(
        cb,
        4 * x.lanes(),
        "a qdwconv block is one register of bytes"
    );
    let groups = (k * k).div_ceil(4);
    let group_bytes = 4 * cb * x.form().weight_bytes();
    let summary = format!(
        "INT8 depthwise {k}x{k} stride-{s} convolution (u8 × s8 → u8), {cb} channels per step."
    );
    kernel_fn(w, v, &summary, |w| {
        for c in x.dot4_consts() {
            w.line(*c);
        }
        w.line(format!("const K: usize = {k};"));
        w.line(format!("const S: usize = {s};"));
        w.line(format!("const CB: usize = {cb};"));
        w.line(format!(
            "const BLOCK: usize = {} * CB + {groups} * {group_bytes};",
            4 * HEADER_ARRAYS
        ));
        w.line("let c = p.channels;");
        w.line("let (in_h, in_w) = (p.in_h as isize, p.in_w as isize);");
        w.line("let (rs, cs) = ((p.in_w * c) as isize, c as isize);");
        w.line(format!(
            "let v_zx = {};",
            x.splat_bytes("p.input_zero_point as u8")
        ));
        w.line(format!("let v_none = {};", x.splat_bytes("0u8")));
        out_consts(w, x);
        w.line("let mut cb = 0usize;");
        w.block("while cb < c", "", |w| {
            w.line("let rem = c - cb;");
            w.line("let wp = p.w.add((cb / CB) * BLOCK);");
            w.line("let hdr = wp as *const i32;");
            // The block's bias and requantization operands stay in registers for all pixels.
            for a in 0..4 {
                let bias = x.load_i32(&format!("hdr.add({})", a * x.lanes()));
                w.line(format!("let bias{a} = {bias};"));
            }
            load_requant(w, x, cb);
            w.block("for oy in 0..p.out_h", "", |w| {
                w.line("let iy0 = (oy * S) as isize - p.pad_top as isize;");
                tap_range(w, "ky_lo", "ky_hi", "iy0", "in_h", "K as isize");
                w.block("for ox in 0..p.out_w", "", |w| {
                    w.line("let ix0 = (ox * S) as isize - p.pad_left as isize;");
                    tap_range(w, "kx_lo", "kx_hi", "ix0", "in_w", "K as isize");
                    w.line("let inside = ky_lo == 0 && ky_hi == K && kx_lo == 0 && kx_hi == K;");
                    w.line("let op = p.output.add((oy * p.out_w + ox) * c);");
                    w.line(
                        "// Index of tap (0, 0) of the block (negative or past the end only for",
                    );
                    w.line("// taps that the guards below never read).");
                    w.line("let pix = iy0 * rs + ix0 * cs + cb as isize;");
                    let body = |w: &mut Writer, guarded: bool, partial: bool| {
                        block(w, x, k, cb, group_bytes, guarded, partial)
                    };
                    w.if_else(
                        "rem >= CB",
                        |w| {
                            w.if_else(
                                "inside",
                                |w| body(w, false, false),
                                |w| body(w, true, false),
                            )
                        },
                        |w| body(w, true, true),
                    );
                });
            });
            w.line("cb += CB;");
        });
    });
}

/// `if lo <= t && t < hi`, spelled lint-clean for `t = 0`.
fn in_range(lo: &str, hi: &str, t: usize) -> String {
    if t == 0 {
        format!("{lo} == 0 && 0 < {hi}")
    } else {
        format!("{lo} <= {t} && {t} < {hi}")
    }
}

/// One CB-channel block of one output pixel. `guarded` checks every tap against the image
/// edges; `partial` loads and stores only `rem` channels.
fn block(
    w: &mut Writer,
    x: &dyn IntVocab,
    k: usize,
    cb: usize,
    group_bytes: usize,
    guarded: bool,
    partial: bool,
) {
    let l = x.lanes();
    for a in 0..4 {
        w.line(format!("let mut acc{a} = bias{a};"));
    }
    for g in 0..(k * k).div_ceil(4) {
        for q in 0..4 {
            let t = 4 * g + q;
            if t >= k * k {
                w.line(format!("let b{q} = v_none;"));
                continue;
            }
            let (ky, kx) = (t / k, t % k);
            let mut off = "pix".to_string();
            for (coef, var) in [(ky, "rs"), (kx, "cs")] {
                match coef {
                    0 => {}
                    1 => off += &format!(" + {var}"),
                    _ => off += &format!(" + {coef} * {var}"),
                }
            }
            let at = format!("p.input.offset({off})");
            let load = if partial {
                x.load_bytes_part(&at, "rem")
            } else {
                x.load_bytes(&at)
            };
            if guarded {
                let cond = format!(
                    "{} && {}",
                    in_range("ky_lo", "ky_hi", ky),
                    in_range("kx_lo", "kx_hi", kx)
                );
                w.line(format!(
                    "let b{q} = if {cond} {{ {load} }} else {{ v_zx }};"
                ));
            } else {
                w.line(format!("let b{q} = {load};"));
            }
        }
        for line in x.interleave4() {
            w.line(*line);
        }
        let base = 4 * HEADER_ARRAYS * cb + g * group_bytes;
        for a in 0..4 {
            let wa = format!("wp.add({})", base + 4 * l * a);
            let wa_lo = format!("wp.add({})", base + 4 * cb + 4 * l * a);
            let d = x.dot4(&format!("acc{a}"), &format!("x{a}"), &wa, &wa_lo);
            w.line(format!("{d};"));
        }
    }
    requant(
        w,
        x,
        &Block {
            rows: 1,
            nr: cb,
            rem: "rem",
        },
        &|_, a| format!("acc{a}"),
    );
    w.line("let (o0, o1, o2, o3) = (o0_0, o0_1, o0_2, o0_3);");
    if partial {
        w.line(x.pack4_store_part("op.add(cb)", "rem"));
    } else {
        w.line(x.pack4_store("op.add(cb)"));
    }
}
