//! Pieces shared by the INT8 emitters: the packed header and the requantizing epilogue.

/// 4-byte arrays in a packed INT8 header, each one entry per column/channel: the `i32` bias
/// and the `f32` requantization multiplier (`ruvector_cnn_kernels::pack` writes them).
pub const HEADER_ARRAYS: usize = 2;

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
    let fx = x.fx();
    w.line(format!("let v_zp = {};", x.splat_i32("p.out_zero_point")));
    w.line(format!(
        "let v_lo = {};",
        fx.splat("(p.out_min - p.out_zero_point) as f32")
    ));
    w.line(format!(
        "let v_hi = {};",
        fx.splat("(p.out_max - p.out_zero_point) as f32")
    ));
    w.line("let hs_on = p.hswish.enabled;");
    for (name, val) in [
        ("v_slope", "p.hswish.slope"),
        ("v_half", "0.5f32"),
        ("v_f0", "0.0f32"),
        ("v_f1", "1.0f32"),
    ] {
        w.line(format!("let {name} = {};", fx.splat(val)));
    }
}

/// Loads the per-column f32 multipliers of an `nr`-wide block from `hdr: *const i32` (the
/// packed header's second array, after the bias) into `m{j}` per vector `j`.
pub fn load_requant(w: &mut Writer, x: &dyn IntVocab, nr: usize) {
    let l = x.lanes();
    w.line(format!("let hm = hdr.add({nr}) as *const f32;"));
    for j in 0..nr / l {
        let ld = x.load_f32(&format!("hm.add({})", j * l));
        w.line(format!("let m{j} = {ld};"));
    }
}

/// Requantizes a block of accumulators into `o{i}_{j}` (row `i`, vector `j`; `i32` lanes in
/// `out_min..=out_max`) by the rule of `ruvector_cnn_kernels::quant`: `v = f32(acc)·m`, the
/// hard-swish `v·min(max(v·slope + ½, 0), 1)` when on, then
/// `z_y + round_even(clamp(v, lo, hi))`. `acc(i, j)` names the accumulator; the multipliers of
/// [`load_requant`] and the constants of [`out_consts`] must be in scope.
pub fn requant(w: &mut Writer, x: &dyn IntVocab, b: &Block, acc: &dyn Fn(usize, usize) -> String) {
    let fx = x.fx();
    let nv = b.nr / x.lanes();
    let cells: Vec<(usize, usize)> = (0..b.rows)
        .flat_map(|i| (0..nv).map(move |j| (i, j)))
        .collect();
    let tuple = |v: Vec<String>| match &v[..] {
        [one] => one.clone(),
        _ => format!("({})", v.join(", ")),
    };
    let names = |prefix: &str| {
        tuple(
            cells
                .iter()
                .map(|(i, j)| format!("{prefix}{i}_{j}"))
                .collect(),
        )
    };
    let scaled = cells
        .iter()
        .map(|&(i, j)| fx.mul(&x.i32_to_f32(&acc(i, j)), &format!("m{j}")))
        .collect();
    w.line(format!("let {} = {};", names("v"), tuple(scaled)));
    w.block(format!("let {} = if hs_on", names("v")), "", |w| {
        let gated = cells
            .iter()
            .map(|&(i, j)| {
                let v = format!("v{i}_{j}");
                let g = fx.min(
                    &fx.max(&fx.add(&fx.mul(&v, "v_slope"), "v_half"), "v_f0"),
                    "v_f1",
                );
                fx.mul(&v, &g)
            })
            .collect();
        w.line(tuple(gated));
    });
    w.block(" else", ";", |w| w.line(names("v")));
    let out = cells
        .iter()
        .map(|&(i, j)| {
            let clamped = fx.min(&fx.max(&format!("v{i}_{j}"), "v_lo"), "v_hi");
            x.add_i32(&x.f32_to_i32(&clamped), "v_zp")
        })
        .collect();
    w.line(format!("let {} = {};", names("o"), tuple(out)));
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
