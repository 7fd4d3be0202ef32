//! Packed-weight GEMM micro-kernels: `C = act(A·W + bias [+ R])` for up to MR rows.
//!
//! Rows past `p.m` alias the last valid row (computed redundantly, stored to the same place),
//! so one kernel serves every row count up to MR. Columns run over NR-wide packed panels;
//! the last panel is stored through lane masks — where masked stores are slow (AVX2's
//! `vmaskmovps` on AMD, the lane-by-lane partials of NEON and SIMD128), only its partial last
//! vector is: whole vectors are stored plainly and vectors past the end are skipped.
//!
//! Every tile of a panel width sums a row's products in the same order (k ascending, bias
//! first), so a row's result does not depend on which tile computed it: outputs stay
//! bit-identical however the rows are split (row bands, image threads). Splitting the 1-row
//! tiles' reduction over partial sums (more FMA chains) measured 12–20% faster on batch-1
//! fully-connected layers but broke that, so it was dropped.

use super::common::{act_apply, kernel_fn, lin, load, masks, row_pointers, store};
use crate::manifest::{Tile, Variant};
use crate::writer::{Writer, at, sum};

/// Emits one GEMM kernel.
pub fn emit(w: &mut Writer, v: &Variant) {
    let Tile::Gemm { mr, nr, residual } = v.tile else {
        unreachable!("gemm emitter given {v:?}")
    };
    let x = v.isa.vocab();
    let l = v.isa.lanes();
    let nv = nr / l;
    let plus_r = if residual { " + R" } else { "" };
    let summary = format!(
        "`C[m×n] = {}(A[m×k]·W + bias{plus_r})` for `m ≤ {mr}` rows over {nr}-column panels.",
        v.act.name()
    );
    kernel_fn(w, v, &summary, |w| {
        w.line("let k = p.k;");
        let mut ptrs = vec![("a", "p.a_stride"), ("c", "p.c_stride")];
        if residual {
            ptrs.push(("r", "p.r_stride"));
        }
        row_pointers(w, mr, &ptrs);
        w.line("let mut w = p.w;");
        w.line("let mut col = 0usize;");
        w.block("while col < p.n", "", |w| {
            w.line("let rem = p.n - col;");
            for j in 0..nv {
                w.line(format!(
                    "let bias{j} = {};",
                    x.load(&at("w", &lin(&[], j * l)))
                ));
            }
            for i in 0..mr {
                for j in 0..nv {
                    w.line(format!("let mut acc{i}_{j} = bias{j};"));
                }
            }
            w.line(format!("w = w.add({nr});"));
            w.block("for kk in 0..k", "", |w| {
                for j in 0..nv {
                    w.line(format!(
                        "let b{j} = {};",
                        x.load(&at("w", &lin(&[], j * l)))
                    ));
                }
                w.line(format!("w = w.add({nr});"));
                for i in 0..mr {
                    w.line(format!(
                        "let x{i} = {};",
                        x.splat(&format!("*a{i}.add(kk)"))
                    ));
                    for j in 0..nv {
                        let acc = format!("acc{i}_{j}");
                        w.line(format!(
                            "{acc} = {};",
                            x.fma(&format!("x{i}"), &format!("b{j}"), &acc)
                        ));
                    }
                }
            });
            // How the epilogue reaches vector `j` of each row.
            let epilogue = |w: &mut Writer, access: &dyn Fn(usize) -> Access| {
                for i in 0..mr {
                    for j in 0..nv {
                        let acc = format!("acc{i}_{j}");
                        let off = sum("col", j * l);
                        let access = access(j);
                        if let Access::Skip = access {
                            continue;
                        }
                        // The plain or masked form of a load or store, as `access` wants it.
                        let pick = |plain: String, masked: String| match access {
                            Access::Full => plain,
                            Access::Last => {
                                format!("if part == 0 {{ {plain} }} else {{ {masked} }}")
                            }
                            Access::Masked | Access::Skip => masked,
                        };
                        let mk = format!("mk{j}");
                        if residual {
                            let r = format!("r{i}");
                            let src = pick(load(x, &r, &off, None), load(x, &r, &off, Some(&mk)));
                            w.line(format!("{acc} = {};", x.add(&acc, &src)));
                        }
                        let mut val = act_apply(x, v.act, &acc);
                        if let Access::Last = access {
                            // Computed once for either store.
                            w.line(format!("let v = {val};"));
                            val = "v".into();
                        }
                        let c = format!("c{i}");
                        let st = |mk| format!("{};", store(x, &c, &off, mk, &val));
                        w.line(pick(st(None), st(Some(&mk))));
                    }
                }
            };
            w.if_else(
                &format!("rem >= {nr}"),
                |w| epilogue(w, &|_| Access::Full),
                |w| {
                    if v.isa.masks_are_cheap() || nv == 1 {
                        masks(w, x, "rem", nv, l);
                        return epilogue(w, &|_| Access::Masked);
                    }
                    // Split by the vectors the tail touches: whole ones are stored plainly,
                    // only a partial last one through a mask (none when `rem` is a multiple
                    // of the vector width, as in every MobileNet layer).
                    w.line(format!("let part = rem % {l};"));
                    arms(w, 1, nv, l, &|w, t| {
                        w.line(format!("let mk{} = {};", t - 1, x.mask("part")));
                        epilogue(w, &|j| match j {
                            _ if j + 1 < t => Access::Full,
                            _ if j + 1 == t => Access::Last,
                            _ => Access::Skip,
                        })
                    });
                },
            );
            w.line(format!("col += {nr};"));
        });
    });
}

/// How the epilogue reaches one vector of a row.
#[derive(Clone, Copy)]
enum Access {
    /// Plain store (and residual load).
    Full,
    /// Through the vector's mask.
    Masked,
    /// Plain when the tail ends on a vector boundary (`part == 0`), else masked.
    Last,
    /// Past the tail: not stored.
    Skip,
}

/// `if rem <= t·L { body(t) } else if …` for `t` in `t..=nv`: the arm of a tail that touches
/// `t` vectors (the last arm needs no test).
fn arms(w: &mut Writer, t: usize, nv: usize, l: usize, body: &dyn Fn(&mut Writer, usize)) {
    if t == nv {
        return body(w, t);
    }
    w.if_else(
        &format!("rem <= {}", t * l),
        |w| body(w, t),
        |w| arms(w, t + 1, nv, l, body),
    );
}
