//! Pieces shared by the family emitters: the function frame, activations, expression helpers.

use crate::isa::Vocab;
use crate::manifest::{Act, Variant};
use crate::writer::{Writer, at, at_wrapping};

/// Writes the doc comment, attributes and signature of `v`'s kernel, opens the `unsafe`
/// body (with its SAFETY argument), declares the activation constants, and runs `body`.
/// With [`Act::Runtime`] this is a family's shared body: private, never inlined (compiled
/// once), taking the activation as its second argument.
pub fn kernel_fn(w: &mut Writer, v: &Variant, summary: &str, body: impl FnOnce(&mut Writer)) {
    let args = v.family.args_ty();
    let signature = if v.act == Act::Runtime {
        let what = "Shared body of the variants that differ only in their activation, `act`.";
        fn_head(w, v, summary, what);
        w.line("#[inline(never)]");
        format!("unsafe fn {}(p: &{args}, act: Activation)", v.fn_name())
    } else {
        fn_head(w, v, summary, &format!("Generated variant `{}`.", v.id()));
        format!("pub unsafe fn {}(p: &{args})", v.fn_name())
    };
    w.block(signature, "", |w| {
        w.line("// SAFETY: every access below stays inside the buffers that `p` describes, which");
        w.line("// the caller guarantees to be valid (see the argument struct's contract); lanes");
        w.line("// past a buffer's end are only formed with `wrapping_add` and masked out.");
        w.block("unsafe", "", |w| {
            act_consts(w, v.isa.vocab(), v.act);
            body(w);
        });
    });
}

/// The entry point of a variant whose family shares one body across activations: it calls
/// [`Variant::body`] with its own activation.
pub fn act_entry(w: &mut Writer, v: &Variant, summary: &str) {
    let body = v.body().fn_name();
    let act = v.act.rust_variant();
    let what = format!(
        "Generated variant `{}` (the shared body `{body}` with `{act}`).",
        v.id()
    );
    fn_head(w, v, summary, &what);
    w.block(
        format!("pub unsafe fn {}(p: &{})", v.fn_name(), v.family.args_ty()),
        "",
        |w| {
            w.line("// SAFETY: the body has this function's contract.");
            w.line(format!("unsafe {{ {body}(p, {act}) }}"));
        },
    );
}

/// The doc comment (`summary`, then `what`, then the safety contract) and the
/// `target_feature` attribute of `v`'s function.
fn fn_head(w: &mut Writer, v: &Variant, summary: &str, what: &str) {
    w.line(format!("/// {summary}"));
    w.line("///");
    w.line(format!("/// {what}"));
    w.line("///");
    w.line("/// # Safety");
    w.line(format!(
        "/// `p` must satisfy the contract documented on [`{}`] and the CPU must support `{}`.",
        v.family.args_ty(),
        v.isa.name()
    ));
    if let Some(tf) = v.isa.target_feature() {
        w.line(format!("#[target_feature(enable = \"{tf}\")]"));
    }
}

/// How a kernel's doc comment names its activation: `act` for a shared body's argument.
pub fn act_label(act: Act) -> &'static str {
    match act {
        Act::Runtime => "act",
        a => a.name(),
    }
}

/// Declares the splatted constants that `act` needs.
pub fn act_consts(w: &mut Writer, x: &dyn Vocab, act: Act) {
    let needs: &[(&str, &str)] = match act {
        Act::Linear => &[],
        Act::Relu => &[("v_zero", "0.0f32")],
        Act::Relu6 => &[("v_zero", "0.0f32"), ("v_six", "6.0f32")],
        Act::Hswish | Act::Hsigmoid | Act::Runtime => &[
            ("v_zero", "0.0f32"),
            ("v_three", "3.0f32"),
            ("v_six", "6.0f32"),
            ("v_sixth", "1.0f32 / 6.0"),
        ],
    };
    for (name, value) in needs {
        w.line(format!("let {name} = {};", x.splat(value)));
    }
}

/// `act(v)` as an expression; `v` must be a plain variable (it may be repeated).
pub fn act_apply(x: &dyn Vocab, act: Act, v: &str) -> String {
    let relu6 = |e: &str| x.min("v_six", &x.max("v_zero", e));
    match act {
        Act::Linear => v.to_string(),
        Act::Relu => x.max("v_zero", v),
        Act::Relu6 => relu6(v),
        Act::Hswish => x.mul(v, &x.mul(&relu6(&x.add(v, "v_three")), "v_sixth")),
        Act::Hsigmoid => x.mul(&relu6(&x.add(v, "v_three")), "v_sixth"),
        Act::Runtime => unreachable!("a shared body applies `act` through `act_epilogue`"),
    }
}

/// Emits an epilogue (`emit` writes its statements for one fixed activation). For a shared
/// body ([`Act::Runtime`]) that is one `match` on its `act` argument with an arm per
/// activation, so the branch is taken once per epilogue, not once per stored vector.
pub fn act_epilogue(w: &mut Writer, act: Act, emit: impl Fn(&mut Writer, Act)) {
    if act != Act::Runtime {
        return emit(w, act);
    }
    w.block("match act", "", |w| {
        for a in Act::FIXED {
            w.block(format!("{} =>", a.rust_variant()), "", |w| emit(w, a));
        }
    });
}

/// A sum of `coef * name` terms plus a constant, with zero terms dropped and unit
/// coefficients elided: `lin(&[(2, "row"), (1, "c")], 16)` is `2 * row + c + 16`.
pub fn lin(terms: &[(usize, &str)], konst: usize) -> String {
    let mut parts: Vec<String> = terms
        .iter()
        .filter(|(k, _)| *k != 0)
        .map(|&(k, n)| {
            if k == 1 {
                n.to_string()
            } else {
                format!("{k} * {n}")
            }
        })
        .collect();
    if konst != 0 || parts.is_empty() {
        parts.push(konst.to_string());
    }
    parts.join(" + ")
}

/// The mask-count expression for vector `j` of a block whose valid lane count is `rem`.
pub fn lane_count(rem: &str, j: usize, lanes: usize) -> String {
    if j == 0 {
        format!("{rem}.min({lanes})")
    } else {
        format!("{rem}.saturating_sub({}).min({lanes})", j * lanes)
    }
}

/// Declares masks `mk0..mk{nv}` for a block with `rem` valid lanes.
pub fn masks(w: &mut Writer, x: &dyn Vocab, rem: &str, nv: usize, lanes: usize) {
    for j in 0..nv {
        w.line(format!(
            "let mk{j} = {};",
            x.mask(&lane_count(rem, j, lanes))
        ));
    }
}

/// Writes the valid-tap range for a window starting at signed `start` over an axis of length
/// `len`: `lo..hi` within `0..k` (`len` and `k` are `isize` expressions).
pub fn tap_range(w: &mut Writer, lo: &str, hi: &str, start: &str, len: &str, k: &str) {
    w.line(format!("let {lo} = (-{start}).max(0) as usize;"));
    w.line(format!(
        "let {hi} = ({len} - {start}).clamp(0, {k}) as usize;"
    ));
}

/// A load of the vector at `ptr + off`: full, or through mask `mask` (lanes past a buffer's
/// end are then only addressed with `wrapping_add`, never read).
pub fn load(x: &dyn Vocab, ptr: &str, off: &str, mask: Option<&str>) -> String {
    match mask {
        Some(m) => x.load_masked(&at_wrapping(ptr, off), m),
        None => x.load(&at(ptr, off)),
    }
}

/// A store statement (without `;`) of `val` to `ptr + off`: full, or through mask `mask`.
pub fn store(x: &dyn Vocab, ptr: &str, off: &str, mask: Option<&str>, val: &str) -> String {
    match mask {
        Some(m) => x.store_masked(&at_wrapping(ptr, off), m, val),
        None => x.store(&at(ptr, off), val),
    }
}

/// The mask name of vector `j` when `masked`, as [`load`]/[`store`] take it.
pub fn mask_of(masked: bool, j: usize) -> Option<String> {
    masked.then(|| format!("mk{j}"))
}

/// Declares `ox_lo..ox_hi`: the output columns whose window of width `k` (an expression; the
/// kernel's stride is the constant `S`) lies entirely inside the image.
pub fn interior_columns(w: &mut Writer, k: &str) {
    w.line("let ox_lo = p.pad_left.div_ceil(S).min(p.out_w);");
    w.line(format!("let ox_hi = if p.in_w + p.pad_left >= {k} {{"));
    w.line(format!(
        "    ((p.in_w + p.pad_left - {k}) / S + 1).min(p.out_w)"
    ));
    w.line("} else {");
    w.line("    0");
    w.line("}");
    w.line(".max(ox_lo);");
}

/// Loops over CB-channel blocks (`cb` from 0 while `cb < c`, `crem = c − cb`), emitting `body`
/// once for full blocks and once (`masked = true`) for the tail block, then the `after`
/// statements of each step.
pub fn channel_blocks(w: &mut Writer, after: &[&str], body: impl Fn(&mut Writer, bool)) {
    w.line("let mut cb = 0usize;");
    w.block("while cb < c", "", |w| {
        w.line("let crem = c - cb;");
        w.if_else("crem >= CB", |w| body(w, false), |w| body(w, true));
        for line in after {
            w.line(*line);
        }
        w.line("cb += CB;");
    });
}

/// Declares the row pointers `{name}0..{name}{mr−1}` of a GEMM kernel for each
/// `(name, stride)`: row `i` is `p.{name}` advanced `i` strides, or the previous row when
/// `i ≥ p.m` (rows past `m` alias the last valid row).
pub fn row_pointers(w: &mut Writer, mr: usize, ptrs: &[(&str, &str)]) {
    for i in 0..mr {
        for &(name, stride) in ptrs {
            if i == 0 {
                w.line(format!("let {name}0 = p.{name};"));
            } else {
                let prev = format!("{name}{}", i - 1);
                w.line(format!(
                    "let {name}{i} = if p.m > {i} {{ {prev}.add({stride}) }} else {{ {prev} }};"
                ));
            }
        }
    }
}
