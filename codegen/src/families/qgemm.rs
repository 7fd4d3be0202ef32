//! INT8 packed-weight GEMM micro-kernels: `C = requant(A·W + bias)` with u8 activations, s8
//! weights and u8 outputs, for up to MR rows.
//!
//! Each reduction step takes 4 activation bytes of a row (one `u32`, broadcast) and the
//! panel's NR×4 weight bytes (`c4` layout), and adds the 4-way dot products into NR `i32`
//! lanes. A reduction length that is not a multiple of 4 ends with one step whose missing
//! activation bytes are zeros (assembled byte by byte: the row is never read past its end;
//! the packed weights there are zeros too). The epilogue requantizes every lane with its
//! column's multiplier and shift, adds the output zero point, clamps and stores bytes. Rows
//! past `p.m` alias the last valid row, as in the f32 GEMM.

use super::common::{kernel_fn, row_pointers};
use super::qcommon::{Block, HEADER_ARRAYS, out_consts, requant_store};
use crate::manifest::{Tile, Variant};
use crate::writer::{Writer, sum};

/// Emits one INT8 GEMM kernel.
pub fn emit(w: &mut Writer, v: &Variant) {
    let Tile::Qgemm { mr, nr } = v.tile else {
        unreachable!("qgemm emitter given {v:?}")
    };
    let x = v
        .int_vocab()
        .expect("the manifest lists INT8 kernels only for ISAs with an IntVocab");
    let l = v.isa.lanes();
    let nv = nr / l;
    // Bytes of one reduction step of a panel (doubled when weights are split in hi/lo).
    let step = 4 * nr * x.form().weight_bytes();
    let summary = format!(
        "`C[m×n] = requant(A[m×k]·W + bias)` (u8 × s8 → u8) for `m ≤ {mr}` rows over {nr}-column panels."
    );
    kernel_fn(w, v, &summary, |w| {
        for c in x.dot4_consts() {
            w.line(*c);
        }
        out_consts(w, x);
        w.line("let kb = p.k / 4;");
        w.line("let krem = p.k % 4;");
        row_pointers(w, mr, &[("a", "p.a_stride"), ("c", "p.c_stride")]);
        w.line("let mut w = p.w;");
        w.line("let mut col = 0usize;");
        w.block("while col < p.n", "", |w| {
            w.line("let rem = p.n - col;");
            w.line("let hdr = w as *const i32;");
            for j in 0..nv {
                let bias = x.load_i32(&format!("hdr.add({})", j * l));
                w.line(format!("let bias{j} = {bias};"));
                for i in 0..mr {
                    w.line(format!("let mut acc{i}_{j} = bias{j};"));
                }
            }
            w.line(format!("w = w.add({});", 4 * HEADER_ARRAYS * nr));
            let dots = |w: &mut Writer, fetch: &dyn Fn(usize) -> String| {
                for i in 0..mr {
                    w.line(format!("let x{i} = {};", x.bcast4(&fetch(i))));
                }
                for j in 0..nv {
                    let wj = sum_ptr("w", 4 * l * j);
                    let wj_lo = sum_ptr("w", 4 * nr + 4 * l * j);
                    for i in 0..mr {
                        let d = x.dot4(&format!("acc{i}_{j}"), &format!("x{i}"), &wj, &wj_lo);
                        w.line(format!("{d};"));
                    }
                }
                w.line(format!("w = w.add({step});"));
            };
            w.block("for kk in 0..kb", "", |w| {
                dots(w, &|i| {
                    format!("(a{i}.add(4 * kk) as *const u32).read_unaligned()")
                });
            });
            w.block("if krem > 0", "", |w| {
                dots(w, &|i| format!("tail_u32(a{i}.add(4 * kb), krem)"));
            });
            requant_store(
                w,
                x,
                &Block {
                    rows: mr,
                    nr,
                    rem: "rem",
                },
                &|i, j| format!("acc{i}_{j}"),
                &|i, j| format!("c{i}.add({})", sum("col", j * l)),
            );
            w.line(format!("col += {nr};"));
        });
    });
}

/// `base + off` as a pointer expression.
fn sum_ptr(base: &str, off: usize) -> String {
    if off == 0 {
        base.to_string()
    } else {
        format!("{base}.add({off})")
    }
}
