//! Conversions between f32 and u8 tensors (per-tensor scale and zero point) and the INT8
//! global average pool, which sums bytes exactly in `i32` and scales once in f32.
//!
//! Each result is one f32 rounding away from the exact value (or, for quantize, an exact
//! function of one f32 product), so every ISA produces the same bits.

use super::common::{channel_blocks, kernel_fn, lin, load, mask_of, masks, store};
use crate::isa::{IntVocab, Vocab};
use crate::manifest::{Tile, Variant};
use crate::writer::{Writer, at, at_wrapping};

fn vocabs(v: &Variant) -> (&'static dyn Vocab, &'static dyn IntVocab, usize) {
    let ix = v
        .int_vocab()
        .expect("the manifest lists INT8 kernels only for ISAs with an IntVocab");
    (ix.fx(), ix, ix.lanes())
}

/// Declares the constants of [`quant`], the output zero point from `zero_point`.
fn quant_consts(w: &mut Writer, fx: &dyn Vocab, ix: &dyn IntVocab, zero_point: &str) {
    // Clamping in f32 first keeps the conversion in range and sends NaN to the low end.
    w.line(format!("let v_lo = {};", fx.splat("-1073741824.0f32")));
    w.line(format!("let v_hi = {};", fx.splat("1073741824.0f32")));
    w.line(format!("let v_zp = {};", ix.splat_i32(zero_point)));
    w.line(format!("let v_min = {};", ix.splat_i32("0i32")));
    w.line(format!("let v_max = {};", ix.splat_i32("255i32")));
}

/// `clamp(round_even(clamp(x·m, ±2³⁰)) + zero_point, 0, 255)` as `i32` lanes (NaN → 0).
fn quant(fx: &dyn Vocab, ix: &dyn IntVocab, x: &str, m: &str) -> String {
    let y = fx.min(&fx.max(&fx.mul(x, m), "v_lo"), "v_hi");
    ix.min_i32(
        &ix.max_i32(&ix.add_i32(&ix.f32_to_i32(&y), "v_zp"), "v_min"),
        "v_max",
    )
}

/// Emits `y[i] = clamp(round_even(x[i]·inv_scale) + zero_point, 0, 255)` (NaN → 0).
pub fn emit_quantize(w: &mut Writer, v: &Variant) {
    let Tile::Elems { n } = v.tile else {
        unreachable!("quantize emitter given {v:?}")
    };
    let (fx, ix, l) = vocabs(v);
    let summary = "Quantize `y = clamp(round_even(x·inv_scale) + zero_point, 0, 255)` over `p.n` floats (NaN → 0).";
    kernel_fn(w, v, summary, |w| {
        w.line(format!("const N: usize = {n};"));
        w.line(format!("let v_inv = {};", fx.splat("p.inv_scale")));
        quant_consts(w, fx, ix, "p.zero_point");
        let q = |xv: &str| quant(fx, ix, xv, "v_inv");
        w.line("let mut i = 0usize;");
        w.block("while i + N <= p.n", "", |w| {
            for j in 0..n / l {
                let off = lin(&[(1, "i")], j * l);
                w.line(format!("let x{j} = {};", load(fx, "p.input", &off, None)));
                w.line(format!("let q{j} = {};", q(&format!("x{j}"))));
                w.line(ix.store_u8(&at("p.output", &off), &format!("q{j}")));
            }
            w.line("i += N;");
        });
        w.block("while i < p.n", "", |w| {
            w.line(format!("let rem = (p.n - i).min({l});"));
            w.line(format!("let mk = {};", fx.mask("rem")));
            w.line(format!("let x = {};", load(fx, "p.input", "i", Some("mk"))));
            w.line(format!("let q = {};", q("x")));
            w.if_else(
                &format!("rem == {l}"),
                |w| w.line(ix.store_u8("p.output.add(i)", "q")),
                |w| w.line(ix.store_u8_part("p.output.add(i)", "q", "rem")),
            );
            w.line(format!("i += {l};"));
        });
    });
}

/// Emits `y[i] = (x[i] − zero_point)·scale`.
pub fn emit_dequantize(w: &mut Writer, v: &Variant) {
    let Tile::Elems { n } = v.tile else {
        unreachable!("dequantize emitter given {v:?}")
    };
    let (fx, ix, l) = vocabs(v);
    let summary = "Dequantize `y = (x − zero_point)·scale` over `p.n` bytes.";
    kernel_fn(w, v, summary, |w| {
        w.line(format!("const N: usize = {n};"));
        w.line(format!("let v_scale = {};", fx.splat("p.scale")));
        w.line(format!("let v_zp = {};", ix.splat_i32("p.zero_point")));
        let y = |q: &str| fx.mul(&ix.i32_to_f32(&ix.sub_i32(q, "v_zp")), "v_scale");
        w.line("let mut i = 0usize;");
        w.block("while i + N <= p.n", "", |w| {
            for j in 0..n / l {
                let off = lin(&[(1, "i")], j * l);
                w.line(format!(
                    "let q{j} = {};",
                    ix.load_u8_i32(&at("p.input", &off))
                ));
                w.line(format!(
                    "{};",
                    store(fx, "p.output", &off, None, &y(&format!("q{j}")))
                ));
            }
            w.line("i += N;");
        });
        w.block("while i < p.n", "", |w| {
            w.line(format!("let rem = (p.n - i).min({l});"));
            w.line(format!("let mk = {};", fx.mask("rem")));
            w.line(format!(
                "let q = {};",
                ix.load_u8_i32_part("p.input.add(i)", "rem")
            ));
            w.line(format!(
                "{};",
                store(fx, "p.output", "i", Some("mk"), &y("q"))
            ));
            w.line(format!("i += {l};"));
        });
    });
}

/// The masks of a channel tail (`crem` channels) and each vector's valid lane count `n{j}`.
fn tail_counts(w: &mut Writer, fx: &dyn Vocab, nv: usize, l: usize) {
    masks(w, fx, "crem", nv, l);
    for j in 0..nv {
        let left = if j == 0 {
            "crem".to_string()
        } else {
            format!("crem.saturating_sub({})", j * l)
        };
        w.line(format!("let n{j} = {left}.min({l});"));
    }
}

/// Vector `j`'s bytes at `ip` + `off` widened to `i32` (only its `n{j}` valid ones when
/// `masked`).
fn load_u8(ix: &dyn IntVocab, off: &str, j: usize, masked: bool) -> String {
    if masked {
        ix.load_u8_i32_part(&at_wrapping("ip", off), &format!("n{j}"))
    } else {
        ix.load_u8_i32(&at("ip", off))
    }
}

/// Emits `y[c] = (Σ_px x[px][c] − zero_sum)·scale` (f32 output; the caller passes
/// `zero_sum = pixels·zero_point` and `scale = s_x / pixels`).
pub fn emit_qgavgpool(w: &mut Writer, v: &Variant) {
    let Tile::Channels { cb } = v.tile else {
        unreachable!("qgavgpool emitter given {v:?}")
    };
    let (fx, ix, l) = vocabs(v);
    let nv = cb / l;
    let summary = "INT8 global average pool to f32: `y[c] = (Σ_px x[px][c] − zero_sum)·scale`.";
    kernel_fn(w, v, summary, |w| {
        w.line(format!("const CB: usize = {cb};"));
        w.line("let c = p.channels;");
        w.line(format!("let v_zsum = {};", ix.splat_i32("p.zero_sum")));
        w.line(format!("let v_scale = {};", fx.splat("p.scale")));
        let body = |w: &mut Writer, masked: bool| {
            if masked {
                tail_counts(w, fx, nv, l);
            }
            for j in 0..nv {
                w.line(format!("let mut acc{j} = {};", ix.splat_i32("0i32")));
            }
            w.block("for px in 0..p.pixels", "", |w| {
                w.line("let ip = p.input.add(px * c + cb);");
                for j in 0..nv {
                    let off = lin(&[], j * l);
                    let src = load_u8(ix, &off, j, masked);
                    w.line(format!(
                        "acc{j} = {};",
                        ix.add_i32(&format!("acc{j}"), &src)
                    ));
                }
            });
            w.line("let op = p.output.add(cb);");
            for j in 0..nv {
                let off = lin(&[], j * l);
                let y = fx.mul(
                    &ix.i32_to_f32(&ix.sub_i32(&format!("acc{j}"), "v_zsum")),
                    "v_scale",
                );
                w.line(format!(
                    "{};",
                    store(fx, "op", &off, mask_of(masked, j).as_deref(), &y)
                ));
            }
        };
        channel_blocks(w, &[], body);
    });
}

/// Emits `y[px][c] = clamp(round_even((x[px][c] − z_in)·scale[c]) + z_out, 0, 255)`: a u8
/// tensor gated per channel (in place allowed), one f32 rounding as in quantization.
pub fn emit_qchscale(w: &mut Writer, v: &Variant) {
    let Tile::Channels { cb } = v.tile else {
        unreachable!("qchscale emitter given {v:?}")
    };
    let (fx, ix, l) = vocabs(v);
    let nv = cb / l;
    let summary =
        "INT8 per-channel scale: `y = clamp(round_even((x − z_in)·scale[c]) + z_out, 0, 255)`.";
    kernel_fn(w, v, summary, |w| {
        w.line(format!("const CB: usize = {cb};"));
        w.line("let c = p.channels;");
        w.line(format!("let v_zin = {};", ix.splat_i32("p.in_zero_point")));
        quant_consts(w, fx, ix, "p.out_zero_point");
        let body = |w: &mut Writer, masked: bool| {
            if masked {
                tail_counts(w, fx, nv, l);
            }
            for j in 0..nv {
                let g = load(
                    fx,
                    "p.scale",
                    &lin(&[(1, "cb")], j * l),
                    mask_of(masked, j).as_deref(),
                );
                w.line(format!("let g{j} = {g};"));
            }
            w.block("for px in 0..p.pixels", "", |w| {
                w.line("let ip = p.input.add(px * c + cb);");
                w.line("let op = p.output.add(px * c + cb);");
                for j in 0..nv {
                    let off = lin(&[], j * l);
                    let src = load_u8(ix, &off, j, masked);
                    let xf = ix.i32_to_f32(&ix.sub_i32(&src, "v_zin"));
                    w.line(format!(
                        "let y{j} = {};",
                        quant(fx, ix, &xf, &format!("g{j}"))
                    ));
                    let (dst, y) = (at_wrapping("op", &off), format!("y{j}"));
                    if masked {
                        w.if_else(
                            &format!("n{j} == {l}"),
                            |w| w.line(ix.store_u8(&dst, &y)),
                            |w| w.line(ix.store_u8_part(&dst, &y, &format!("n{j}"))),
                        );
                    } else {
                        w.line(ix.store_u8(&at("op", &off), &y));
                    }
                }
            });
        };
        channel_blocks(w, &[], body);
    });
}

/// Emits `y = clamp(zp + ((a − za)·Ma + (b − zb)·Mb + 2^(shift−1)) >> shift, min, max)`.
pub fn emit_qadd(w: &mut Writer, v: &Variant) {
    let Tile::Elems { n } = v.tile else {
        unreachable!("qadd emitter given {v:?}")
    };
    let (_, ix, l) = vocabs(v);
    let summary = "INT8 addition of two u8 tensors with their own scales, requantized to u8.";
    kernel_fn(w, v, summary, |w| {
        w.line(format!("const N: usize = {n};"));
        for (name, field) in [
            ("v_za", "p.a_zero_point"),
            ("v_zb", "p.b_zero_point"),
            ("v_ma", "p.a_mult"),
            ("v_mb", "p.b_mult"),
            ("v_rnd", "1i32 << (p.shift - 1)"),
            ("v_shift", "p.shift"),
            ("v_zp", "p.out_zero_point"),
            ("v_min", "p.out_min"),
            ("v_max", "p.out_max"),
        ] {
            w.line(format!("let {name} = {};", ix.splat_i32(field)));
        }
        let y = |a: &str, b: &str| {
            let acc = ix.add_i32(
                &ix.mul_i32(&ix.sub_i32(a, "v_za"), "v_ma"),
                &ix.mul_i32(&ix.sub_i32(b, "v_zb"), "v_mb"),
            );
            let r = ix.sra_i32(&ix.add_i32(&acc, "v_rnd"), "v_shift");
            ix.min_i32(&ix.max_i32(&ix.add_i32(&r, "v_zp"), "v_min"), "v_max")
        };
        w.line("let mut i = 0usize;");
        w.block("while i + N <= p.n", "", |w| {
            for j in 0..n / l {
                let off = lin(&[(1, "i")], j * l);
                w.line(format!("let a{j} = {};", ix.load_u8_i32(&at("p.a", &off))));
                w.line(format!("let b{j} = {};", ix.load_u8_i32(&at("p.b", &off))));
                w.line(format!(
                    "let y{j} = {};",
                    y(&format!("a{j}"), &format!("b{j}"))
                ));
                w.line(ix.store_u8(&at("p.output", &off), &format!("y{j}")));
            }
            w.line("i += N;");
        });
        w.block("while i < p.n", "", |w| {
            w.line(format!("let rem = (p.n - i).min({l});"));
            w.line(format!(
                "let a = {};",
                ix.load_u8_i32_part("p.a.add(i)", "rem")
            ));
            w.line(format!(
                "let b = {};",
                ix.load_u8_i32_part("p.b.add(i)", "rem")
            ));
            w.line(format!("let y = {};", y("a", "b")));
            w.if_else(
                &format!("rem == {l}"),
                |w| w.line(ix.store_u8("p.output.add(i)", "y")),
                |w| w.line(ix.store_u8_part("p.output.add(i)", "y", "rem")),
            );
            w.line(format!("i += {l};"));
        });
    });
}
