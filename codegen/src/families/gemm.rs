//! Packed-weight GEMM micro-kernels: `C = act(A·W + bias [+ R])` for up to MR rows.
//!
//! Rows past `p.m` alias the last valid row (computed redundantly, stored to the same place),
//! so one kernel serves every row count up to MR. Columns run over NR-wide packed panels;
//! the last panel is stored through lane masks.

use super::common::{act_apply, kernel_fn, lin, load, mask_of, masks, row_pointers, store};
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
            let epilogue = |w: &mut Writer, masked: bool| {
                if masked {
                    masks(w, x, "rem", nv, l);
                }
                for i in 0..mr {
                    for j in 0..nv {
                        let acc = format!("acc{i}_{j}");
                        let off = sum("col", j * l);
                        let mk = mask_of(masked, j);
                        if residual {
                            let src = load(x, &format!("r{i}"), &off, mk.as_deref());
                            w.line(format!("{acc} = {};", x.add(&acc, &src)));
                        }
                        let val = act_apply(x, v.act, &acc);
                        w.line(format!(
                            "{};",
                            store(x, &format!("c{i}"), &off, mk.as_deref(), &val)
                        ));
                    }
                }
            };
            w.if_else(
                &format!("rem >= {nr}"),
                |w| epilogue(w, false),
                |w| epilogue(w, true),
            );
            w.line(format!("col += {nr};"));
        });
    });
}
