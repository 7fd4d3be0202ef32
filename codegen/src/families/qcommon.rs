//! Pieces shared by the INT8 emitters: the packed header and the requantizing epilogue.

/// `i32` arrays in a packed INT8 header, each one entry per column/channel: bias, multiplier,
/// rounding addend, shift, pre-shift (`ruvector_cnn_kernels::pack` writes them).
pub const HEADER_ARRAYS: usize = 5;

use crate::isa::IntVocab;
use crate::writer::Writer;

/// The accumulators an epilogue finishes: `rows` rows of an `nr`-wide block whose valid
/// column count is the variable named `rem`.
pub struct Block<'a> {
    /// Rows (pixels) of accumulators.
    pub rows: usize,
    /// Columns (channels) per block: `nr / lanes` vectors per row.
    pub nr: usize,
    /// Name of the variable holding the block's valid column count.
    pub rem: &'a str,
}

/// Declares the output constants a requantizing epilogue uses (from `p.out_zero_point`,
/// `p.out_min`, `p.out_max` and `p.hswish`, a `ruvector_cnn_kernels::quant::HardSwish`).
pub fn out_consts(w: &mut Writer, x: &dyn IntVocab) {
    w.line(format!("let v_zp = {};", x.splat_i32("p.out_zero_point")));
    w.line(format!("let v_min = {};", x.splat_i32("p.out_min")));
    w.line(format!("let v_max = {};", x.splat_i32("p.out_max")));
    w.line("let hs = p.hswish;");
    w.line("let hs_on = hs.enabled;");
    for (name, val) in [
        ("v_xlo", "-HardSwish::X_MAX"),
        ("v_xhi", "HardSwish::X_MAX"),
        ("v_ghalf", "HardSwish::G / 2"),
        ("v_gmax", "HardSwish::G"),
        ("v_h0", "0"),
        ("mult_g", "hs.gate.mult"),
        ("rnd_g", "hs.gate.rounding()"),
        ("shift_g", "hs.gate.shift"),
        ("mult_h", "hs.out.mult"),
        ("rnd_h", "hs.out.rounding()"),
        ("shift_h", "hs.out.shift"),
    ] {
        w.line(format!("let {name} = {};", x.splat_i32(val)));
    }
}

/// Loads the per-column requantization operands of an `nr`-wide block from
/// `hdr: *const i32` (multiplier, rounding, shift and pre-shift arrays at offsets `nr`,
/// `2·nr`, `3·nr`, `4·nr`: the packed header after the bias) into `mult{j}`, `rnd{j}`,
/// `shift{j}`, `pre{j}` and the pre-shift clamp bounds `lo{j}`, `hi{j}` per vector `j`, and
/// `pre_any`: whether any pre-shift is non-zero.
pub fn load_requant(w: &mut Writer, x: &dyn IntVocab, nr: usize) {
    let l = x.lanes();
    let nv = nr / l;
    w.line(format!("let v_imin = {};", x.splat_i32("i32::MIN")));
    w.line(format!("let v_imax = {};", x.splat_i32("i32::MAX")));
    for j in 0..nv {
        for (q, name) in ["mult", "rnd", "shift", "pre"].iter().enumerate() {
            let ld = x.load_i32(&format!("hdr.add({})", (q + 1) * nr + j * l));
            w.line(format!("let {name}{j} = {ld};"));
        }
        let pre = format!("pre{j}");
        w.line(format!("let lo{j} = {};", x.sra_i32("v_imin", &pre)));
        w.line(format!("let hi{j} = {};", x.sra_i32("v_imax", &pre)));
    }
    let any: Vec<String> = (0..nv).map(|j| x.any_nonzero(&format!("pre{j}"))).collect();
    w.line(format!("let pre_any = {};", any.join(" || ")));
}

/// Requantizes, offsets and clamps a block of accumulators into `o{i}_{j}` (row `i`, vector
/// `j`): `acc(i, j)` names the accumulator. The operands of [`load_requant`] and the
/// constants of [`out_consts`] must be in scope.
pub fn requant(w: &mut Writer, x: &dyn IntVocab, b: &Block, acc: &dyn Fn(usize, usize) -> String) {
    let nv = b.nr / x.lanes();
    let cells: Vec<(usize, usize)> = (0..b.rows)
        .flat_map(|i| (0..nv).map(move |j| (i, j)))
        .collect();
    let names = |prefix: &str| -> Vec<String> {
        cells
            .iter()
            .map(|(i, j)| format!("{prefix}{i}_{j}"))
            .collect()
    };
    let tuple = |v: &[String]| match v {
        [one] => one.clone(),
        _ => format!("({})", v.join(", ")),
    };
    let raw = |w: &mut Writer, pre: bool| {
        let vals: Vec<String> = cells
            .iter()
            .map(|&(i, j)| x.requant(&acc(i, j), &j.to_string(), pre))
            .collect();
        w.line(tuple(&vals));
    };
    // Most layers need no pre-shift (multipliers below 0.25): skip its clamp and shift.
    w.block(
        format!("let {} = if pre_any", tuple(&names("r"))),
        "",
        |w| raw(w, true),
    );
    w.block(" else", ";", |w| raw(w, false));
    let finish = |r: String| x.min_i32(&x.max_i32(&x.add_i32(&r, "v_zp"), "v_min"), "v_max");
    let clamp = |v: &str, lo: &str, hi: &str| x.min_i32(&x.max_i32(v, lo), hi);
    w.block(format!("let {} = if hs_on", tuple(&names("o"))), "", |w| {
        // Hard-swish at the hidden scale: x·relu6(x + 3) with the gate in steps of 6/G.
        for &(i, j) in &cells {
            let r = format!("r{i}_{j}");
            let xv = format!("x{i}_{j}");
            w.line(format!("let {xv} = {};", clamp(&r, "v_xlo", "v_xhi")));
            let gate = x.add_i32(&x.requant(&xv, "_g", false), "v_ghalf");
            w.line(format!(
                "let g{i}_{j} = {};",
                clamp(&gate, "v_h0", "v_gmax")
            ));
        }
        let vals: Vec<String> = cells
            .iter()
            .map(|&(i, j)| {
                let prod = x.mul_i32(&format!("x{i}_{j}"), &format!("g{i}_{j}"));
                finish(x.requant(&prod, "_h", false))
            })
            .collect();
        w.line(tuple(&vals));
    });
    w.block(" else", ";", |w| {
        let vals: Vec<String> = names("r").into_iter().map(finish).collect();
        w.line(tuple(&vals));
    });
}

/// [`load_requant`] and [`requant`], then stores each `o{i}_{j}` to `ptr(i, j)` (a `*mut u8`), only the columns
/// before `rem`.
pub fn requant_store(
    w: &mut Writer,
    x: &dyn IntVocab,
    b: &Block,
    acc: &dyn Fn(usize, usize) -> String,
    ptr: &dyn Fn(usize, usize) -> String,
) {
    load_requant(w, x, b.nr);
    requant(w, x, b, acc);
    let (l, nv, rem) = (x.lanes(), b.nr / x.lanes(), b.rem);
    w.if_else(
        &format!("{rem} >= {}", b.nr),
        |w| {
            for i in 0..b.rows {
                for j in 0..nv {
                    w.line(x.store_u8(&ptr(i, j), &format!("o{i}_{j}")));
                }
            }
        },
        |w| {
            for j in 0..nv {
                let left = if j == 0 {
                    rem.to_string()
                } else {
                    format!("{rem}.saturating_sub({})", j * l)
                };
                w.line(format!("let n{j} = {left}.min({l});"));
            }
            for i in 0..b.rows {
                for j in 0..nv {
                    let (p, o) = (ptr(i, j), format!("o{i}_{j}"));
                    w.if_else(
                        &format!("n{j} == {l}"),
                        |w| w.line(x.store_u8(&p, &o)),
                        |w| w.line(x.store_u8_part(&p, &o, &format!("n{j}"))),
                    );
                }
            }
        },
    );
}
