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

/// Requantizes, offsets and clamps a block of accumulators into `o{i}_{j}` (row `i`, vector
/// `j`): `acc(i, j)` names the accumulator. The per-column multiplier, rounding, shift and
/// pre-shift arrays are read from `hdr: *const i32` at offsets `nr`, `2·nr`, `3·nr`, `4·nr`
/// (the packed header after the bias); `v_zp`, `v_min`, `v_max` must be in scope.
pub fn requant(w: &mut Writer, x: &dyn IntVocab, b: &Block, acc: &dyn Fn(usize, usize) -> String) {
    let l = x.lanes();
    let nv = b.nr / l;
    for j in 0..nv {
        for (q, name) in ["mult", "rnd", "shift", "pre"].iter().enumerate() {
            let ld = x.load_i32(&format!("hdr.add({})", (q + 1) * b.nr + j * l));
            w.line(format!("let {name}{j} = {ld};"));
        }
    }
    let any: Vec<String> = (0..nv).map(|j| x.any_nonzero(&format!("pre{j}"))).collect();
    let names: Vec<String> = (0..b.rows)
        .flat_map(|i| (0..nv).map(move |j| format!("o{i}_{j}")))
        .collect();
    let finish = |r: String| x.min_i32(&x.max_i32(&x.add_i32(&r, "v_zp"), "v_min"), "v_max");
    // Most layers need no pre-shift (multipliers below 0.25): skip its clamp and shift.
    let tuple = |v: &[String]| match v {
        [one] => one.clone(),
        _ => format!("({})", v.join(", ")),
    };
    w.block(
        format!("let {} = if {}", tuple(&names), any.join(" || ")),
        "",
        |w| {
            w.line(format!("let v_imin = {};", x.splat_i32("i32::MIN")));
            w.line(format!("let v_imax = {};", x.splat_i32("i32::MAX")));
            for j in 0..nv {
                let pre = format!("pre{j}");
                w.line(format!("let lo{j} = {};", x.sra_i32("v_imin", &pre)));
                w.line(format!("let hi{j} = {};", x.sra_i32("v_imax", &pre)));
            }
            let vals: Vec<String> = (0..b.rows)
                .flat_map(|i| (0..nv).map(move |j| (i, j)))
                .map(|(i, j)| finish(x.requant(&acc(i, j), j, true)))
                .collect();
            w.line(tuple(&vals));
        },
    );
    w.block(" else", ";", |w| {
        let vals: Vec<String> = (0..b.rows)
            .flat_map(|i| (0..nv).map(move |j| (i, j)))
            .map(|(i, j)| finish(x.requant(&acc(i, j), j, false)))
            .collect();
        w.line(tuple(&vals));
    });
}

/// [`requant`], then stores each `o{i}_{j}` to `ptr(i, j)` (a `*mut u8`), only the columns
/// before `rem`.
pub fn requant_store(
    w: &mut Writer,
    x: &dyn IntVocab,
    b: &Block,
    acc: &dyn Fn(usize, usize) -> String,
    ptr: &dyn Fn(usize, usize) -> String,
) {
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
