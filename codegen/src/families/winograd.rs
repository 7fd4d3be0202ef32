//! Winograd F(2x2, 3x3) transforms, vectorised over channels: one vector of channels per
//! step, then one masked step for the channel tail.
//!
//! Every transform is separable, `Y = T·X·Tᵀ` for a small integer matrix `T`, and is emitted
//! as two passes of additions and subtractions:
//! - input `V = Bᵀ·d·B` (a 4x4 input tile → 4x4);
//! - filter `U = ¼·G₂·g·G₂ᵀ` (3x3 → 4x4; `G₂ = 2G` has coefficients 0, ±1 and 2, so the only
//!   multiplication is the exact final ¼);
//! - output `Y = Aᵀ·M·A` (4x4 → a 2x2 output tile), then bias, optional residual, activation.
//!
//! Position `(a, b)` of a transformed tile lives in plane `4a + b`.

use super::common::{act_apply, channel_blocks, kernel_fn, lin, load, mask_of, masks, store};
use crate::isa::Vocab;
use crate::manifest::{Tile, Variant};
use crate::writer::{Writer, sum};

/// Bᵀ of F(2x2, 3x3).
const BT: [&[i32]; 4] = [
    &[1, 0, -1, 0],
    &[0, 1, 1, 0],
    &[0, -1, 1, 0],
    &[0, 1, 0, -1],
];
/// G₂ = 2·G of F(2x2, 3x3).
const G2: [&[i32]; 4] = [&[2, 0, 0], &[1, 1, 1], &[1, -1, 1], &[0, 0, 2]];
/// Aᵀ of F(2x2, 3x3).
const AT: [&[i32]; 2] = [&[1, 1, 1, 0], &[0, 1, -1, -1]];

/// `Σₖ row[k]·operand(k)` over the nonzero coefficients (±1 or 2; each row has a positive
/// one, which starts the sum so no negation is needed).
fn lincomb(x: &dyn Vocab, row: &[i32], operand: impl Fn(usize) -> String) -> String {
    let term = |k: usize| {
        let v = operand(k);
        match row[k].abs() {
            1 => v,
            2 => x.add(&v, &v),
            c => panic!("transform coefficient {c} is not ±1 or 2"),
        }
    };
    let first = row
        .iter()
        .position(|&c| c > 0)
        .expect("every transform row has a positive coefficient");
    let mut sum = term(first);
    for (k, &c) in row.iter().enumerate() {
        if k != first && c != 0 {
            sum = if c > 0 {
                x.add(&sum, &term(k))
            } else {
                x.sub(&sum, &term(k))
            };
        }
    }
    sum
}

/// Declares `{out}{a}_{b} = Σ T[a][k]·T[b][l]·{inp}{k}_{l}`, through `{out}t{a}_{l}`.
fn transform(w: &mut Writer, x: &dyn Vocab, t: &[&[i32]], inp: &str, out: &str) {
    let (m, r) = (t.len(), t[0].len());
    for (a, row) in t.iter().enumerate() {
        for l in 0..r {
            let e = lincomb(x, row, |k| format!("{inp}{k}_{l}"));
            w.line(format!("let {out}t{a}_{l} = {e};"));
        }
    }
    for a in 0..m {
        for (b, row) in t.iter().enumerate() {
            let e = lincomb(x, row, |l| format!("{out}t{a}_{l}"));
            w.line(format!("let {out}{a}_{b} = {e};"));
        }
    }
}

/// Checks the tile and returns the channel step, which must be one vector.
fn step(v: &Variant) -> usize {
    let Tile::Winograd { cb, .. } = v.tile else {
        unreachable!("winograd emitter given {v:?}")
    };
    assert_eq!(cb, v.isa.lanes(), "winograd steps are one vector");
    cb
}

/// Emits the input transform of whole 4x4 tiles, read with stride 2 from an NHWC image.
pub fn emit_input(w: &mut Writer, v: &Variant) {
    let cb = step(v);
    let x = v.isa.vocab();
    let l = v.isa.lanes();
    let summary = "Winograd F(2x2, 3x3) input transform `V = Bᵀ·d·B` of the 4x4 input tiles \
                   of a range of output tiles into 16 planes (taps outside the image are zero).";
    kernel_fn(w, v, summary, |w| {
        w.line(format!("const CB: usize = {cb};"));
        w.line("let c = p.cin;");
        w.line("let ps = p.plane_stride;");
        w.line("let rs = p.in_w * c;");
        w.line("let (in_h, in_w) = (p.in_h as isize, p.in_w as isize);");
        w.block("for t in 0..p.tiles", "", |w| {
            w.line("let tile = p.tile0 + t;");
            w.line("let iy0 = (2 * (tile / p.tiles_w)) as isize - p.pad_top as isize;");
            w.line("let ix0 = (2 * (tile % p.tiles_w)) as isize - p.pad_left as isize;");
            w.line("let vt = p.v.add(t * c);");
            let body = |w: &mut Writer, masked: bool, border: bool| {
                if masked {
                    masks(w, x, "crem", 1, l);
                }
                let mk = mask_of(masked, 0);
                for i in 0..4 {
                    for j in 0..4 {
                        let d = if border {
                            let ld = load(x, "p.input", &format!("px{i}_{j} + cb"), mk.as_deref());
                            format!("if ok{i}_{j} {{ {ld} }} else {{ {} }}", x.zero())
                        } else {
                            let off = lin(&[(i, "rs"), (j, "c"), (1, "cb")], 0);
                            load(x, "base", &off, mk.as_deref())
                        };
                        w.line(format!("let d{i}_{j} = {d};"));
                    }
                }
                transform(w, x, &BT, "d", "v");
                for a in 0..4 {
                    for b in 0..4 {
                        let off = lin(&[(4 * a + b, "ps"), (1, "cb")], 0);
                        let val = format!("v{a}_{b}");
                        w.line(format!("{};", store(x, "vt", &off, mk.as_deref(), &val)));
                    }
                }
            };
            w.if_else(
                "iy0 >= 0 && ix0 >= 0 && iy0 + 4 <= in_h && ix0 + 4 <= in_w",
                |w| {
                    w.line("let base = p.input.add(iy0 as usize * rs + ix0 as usize * c);");
                    channel_blocks(w, &[], |w, masked| body(w, masked, false));
                },
                |w| {
                    for i in 0..4 {
                        let (iy, ix) = (sum("iy0", i), sum("ix0", i));
                        w.line(format!("let ry{i} = (0..in_h).contains(&({iy}));"));
                        w.line(format!("let cx{i} = (0..in_w).contains(&({ix}));"));
                    }
                    for i in 0..4 {
                        for j in 0..4 {
                            let (iy, ix) = (sum("iy0", i), sum("ix0", j));
                            w.line(format!("let ok{i}_{j} = ry{i} && cx{j};"));
                            w.line(format!(
                                "let px{i}_{j} = if ok{i}_{j} {{ ({iy}) as usize * rs + ({ix}) as usize * c }} else {{ 0 }};"
                            ));
                        }
                    }
                    channel_blocks(w, &[], |w, masked| body(w, masked, true));
                },
            );
        });
    });
}

/// Emits the filter transform of `n` 3x3 filters stored as 9 tap planes.
pub fn emit_filter(w: &mut Writer, v: &Variant) {
    let cb = step(v);
    let x = v.isa.vocab();
    let l = v.isa.lanes();
    let summary = "Winograd F(2x2, 3x3) filter transform `U = G·g·Gᵀ` of `n` filters from 9 tap \
                   planes into 16 planes.";
    kernel_fn(w, v, summary, |w| {
        w.line(format!("const CB: usize = {cb};"));
        w.line("let c = p.n;");
        w.line(format!("let quarter = {};", x.splat("0.25f32")));
        channel_blocks(w, &[], |w, masked| {
            if masked {
                masks(w, x, "crem", 1, l);
            }
            let mk = mask_of(masked, 0);
            for i in 0..3 {
                for j in 0..3 {
                    let off = lin(&[(3 * i + j, "c"), (1, "cb")], 0);
                    let g = load(x, "p.g", &off, mk.as_deref());
                    w.line(format!("let g{i}_{j} = {g};"));
                }
            }
            transform(w, x, &G2, "g", "u");
            for a in 0..4 {
                for b in 0..4 {
                    let off = lin(&[(4 * a + b, "c"), (1, "cb")], 0);
                    let val = x.mul(&format!("u{a}_{b}"), "quarter");
                    w.line(format!("{};", store(x, "p.u", &off, mk.as_deref(), &val)));
                }
            }
        });
    });
}

/// Emits the output transform with bias, optional residual and activation, storing the
/// pixels of each 2x2 output tile that lie in the requested rows and inside the image.
pub fn emit_output(w: &mut Writer, v: &Variant) {
    let cb = step(v);
    let Tile::Winograd { residual, .. } = v.tile else {
        unreachable!()
    };
    let x = v.isa.vocab();
    let l = v.isa.lanes();
    let summary = format!(
        "Winograd F(2x2, 3x3) output transform `Y = Aᵀ·M·A` + bias{} → `{}`, for a range of \
         output tiles.",
        if residual { " + residual" } else { "" },
        v.act.name()
    );
    kernel_fn(w, v, &summary, |w| {
        w.line(format!("const CB: usize = {cb};"));
        w.line("let c = p.cout;");
        w.line("let ps = p.plane_stride;");
        w.block("for t in 0..p.tiles", "", |w| {
            w.line("let tile = p.tile0 + t;");
            w.line("let oy0 = 2 * (tile / p.tiles_w);");
            w.line("let ox0 = 2 * (tile % p.tiles_w);");
            w.line("let mt = p.m.add(t * c);");
            for i in 0..2 {
                let (oy, ox) = (sum("oy0", i), sum("ox0", i));
                w.line(format!("let ry{i} = {oy} >= p.row_lo && {oy} < p.row_hi;"));
                w.line(format!("let cx{i} = {ox} < p.out_w;"));
            }
            for i in 0..2 {
                for j in 0..2 {
                    let (oy, ox) = (sum("oy0", i), sum("ox0", j));
                    w.line(format!("let ok{i}_{j} = ry{i} && cx{j};"));
                    w.line(format!(
                        "let po{i}_{j} = if ok{i}_{j} {{ (({oy} - p.row_lo) * p.out_w + {ox}) * c }} else {{ 0 }};"
                    ));
                }
            }
            let body = |w: &mut Writer, masked: bool, partial: bool| {
                if masked {
                    masks(w, x, "crem", 1, l);
                }
                let mk = mask_of(masked, 0);
                let mk = mk.as_deref();
                w.line(format!("let bias = {};", load(x, "p.bias", "cb", mk)));
                for k in 0..16 {
                    let off = lin(&[(k, "ps"), (1, "cb")], 0);
                    w.line(format!("let m{}_{} = {};", k / 4, k % 4, load(x, "mt", &off, mk)));
                }
                transform(w, x, &AT, "m", "y");
                for i in 0..2 {
                    for j in 0..2 {
                        let pix = |w: &mut Writer| {
                            let (at, o) = (format!("po{i}_{j} + cb"), format!("o{i}_{j}"));
                            w.line(format!("let {o} = {};", x.add(&format!("y{i}_{j}"), "bias")));
                            if residual {
                                let r = load(x, "p.residual", &at, mk);
                                w.line(format!("let {o} = {};", x.add(&o, &r)));
                            }
                            let val = act_apply(x, v.act, &o);
                            w.line(format!("{};", store(x, "p.output", &at, mk, &val)));
                        };
                        if partial {
                            w.block(format!("if ok{i}_{j}"), "", pix);
                        } else {
                            pix(w);
                        }
                    }
                }
            };
            w.if_else(
                "ok0_0 && ok0_1 && ok1_0 && ok1_1",
                |w| channel_blocks(w, &[], |w, masked| body(w, masked, false)),
                |w| channel_blocks(w, &[], |w, masked| body(w, masked, true)),
            );
        });
    });
}
