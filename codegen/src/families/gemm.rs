//! Packed-weight GEMM micro-kernels: `C = act(A·W + bias [+ R])` for up to MR rows.
//!
//! Rows past `p.m` alias the last valid row (computed redundantly, stored to the same place),
//! so one kernel serves every row count up to MR. Columns run over NR-wide packed panels;
//! the last panel is stored through lane masks — where masked stores are slow (AVX2's
//! `vmaskmovps` on AMD, the lane-by-lane partials of NEON and SIMD128), only its partial last
//! vector is: whole vectors are stored plainly and vectors past the end are skipped.
//!
//! Tiles with fewer than 8 accumulators (the 1-row tiles of batch-1 fully-connected layers and
//! squeeze-excitation) split the reduction over several accumulator sets, summed at the end,
//! so enough independent FMA chains hide the FMA latency (Zen 3, 960->1280 1x16: 95 -> 80 µs).

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
            // One reduction step `kk` into accumulator set `q` (`acc{i}_{j}` for q = 0, else
            // `acc{i}_{j}_{q}`), advancing `w` by one weight row.
            let step = |w: &mut Writer, kk: &str, q: usize| {
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
                        x.splat(&format!("*a{i}.add({kk})"))
                    ));
                    for j in 0..nv {
                        let acc = part_acc(i, j, q);
                        w.line(format!(
                            "{acc} = {};",
                            x.fma(&format!("x{i}"), &format!("b{j}"), &acc)
                        ));
                    }
                }
            };
            let parts = chain_parts(mr, nv, v.isa.vector_regs());
            if parts == 1 {
                w.block("for kk in 0..k", "", |w| step(w, "kk", 0));
            } else {
                // Too few rows to hide the FMA latency: the reduction is split over `parts`
                // accumulator sets (consecutive k), added at the end.
                for q in 1..parts {
                    for i in 0..mr {
                        for j in 0..nv {
                            w.line(format!("let mut {} = {};", part_acc(i, j, q), x.zero()));
                        }
                    }
                }
                w.line("let mut kk = 0usize;");
                w.block(format!("while kk + {parts} <= k"), "", |w| {
                    for q in 0..parts {
                        step(w, &sum("kk", q), q);
                    }
                    w.line(format!("kk += {parts};"));
                });
                w.block("while kk < k", "", |w| {
                    step(w, "kk", 0);
                    w.line("kk += 1;");
                });
                for i in 0..mr {
                    for j in 0..nv {
                        let total = (1..parts)
                            .fold(part_acc(i, j, 0), |t, q| x.add(&t, &part_acc(i, j, q)));
                        w.line(format!("acc{i}_{j} = {total};"));
                    }
                }
            }
            // How the epilogue reaches vector `j` of each row.
            let epilogue = |w: &mut Writer, access: &dyn Fn(usize) -> Access| {
                for i in 0..mr {
                    for j in 0..nv {
                        let acc = format!("acc{i}_{j}");
                        let off = sum("col", j * l);
                        let (plain, masked) = match access(j) {
                            Access::Skip => continue,
                            Access::Full => (true, false),
                            Access::Masked => (false, true),
                            Access::Last => (true, true),
                        };
                        let ld = |mk| load(x, &format!("r{i}"), &off, mk);
                        let st = |mk, val: &str| store(x, &format!("c{i}"), &off, mk, val);
                        let mk = format!("mk{j}");
                        if residual {
                            let src = match (plain, masked) {
                                (true, true) => format!(
                                    "if part == 0 {{ {} }} else {{ {} }}",
                                    ld(None),
                                    ld(Some(&mk))
                                ),
                                (true, false) => ld(None),
                                _ => ld(Some(&mk)),
                            };
                            w.line(format!("{acc} = {};", x.add(&acc, &src)));
                        }
                        let val = act_apply(x, v.act, &acc);
                        match (plain, masked) {
                            (true, true) => {
                                w.line(format!("let v = {val};"));
                                w.line(format!(
                                    "if part == 0 {{ {}; }} else {{ {}; }}",
                                    st(None, "v"),
                                    st(Some(&mk), "v")
                                ));
                            }
                            (true, false) => w.line(format!("{};", st(None, &val))),
                            _ => w.line(format!("{};", st(Some(&mk), &val))),
                        }
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

/// Accumulator set `q` of row `i`, vector `j`.
fn part_acc(i: usize, j: usize, q: usize) -> String {
    if q == 0 {
        format!("acc{i}_{j}")
    } else {
        format!("acc{i}_{j}_{q}")
    }
}

/// Accumulator sets the reduction is split over: enough independent FMA chains (about 8) for
/// tiles with too few accumulators to hide the FMA latency, within the register budget
/// (accumulators, a panel row of weights and a broadcast).
fn chain_parts(mr: usize, nv: usize, regs: usize) -> usize {
    let chains = mr * nv;
    if chains >= 8 {
        return 1;
    }
    let fit = regs.saturating_sub(nv + 1) / chains;
    8usize.div_ceil(chains).min(fit).max(1)
}
