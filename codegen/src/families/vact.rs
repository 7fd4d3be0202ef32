//! Elementwise kernels over flat arrays: `act(x)` and `act(a + b)`; N elements per unrolled
//! step, then a masked tail.

use super::common::{act_apply, kernel_fn, lin, load, store};
use crate::manifest::{Tile, Variant};
use crate::writer::Writer;

/// Emits `y[i] = act(x[i])` for `i < p.n`.
pub fn emit(w: &mut Writer, v: &Variant) {
    let summary = format!("Elementwise `y = {}(x)` over `p.n` floats.", v.act.name());
    emit_with(w, v, &summary, &["p.input"]);
}

/// Emits `y[i] = act(a[i] + b[i])` for `i < p.n`.
pub fn emit_add(w: &mut Writer, v: &Variant) {
    let summary = format!(
        "Elementwise `y = {}(a + b)` over `p.n` floats.",
        v.act.name()
    );
    emit_with(w, v, &summary, &["p.a", "p.b"]);
}

/// The loop of an elementwise kernel over the sum of the `inputs` pointers.
fn emit_with(w: &mut Writer, v: &Variant, summary: &str, inputs: &[&str]) {
    let Tile::Elems { n } = v.tile else {
        unreachable!("vact emitter given {v:?}")
    };
    let x = v.isa.vocab();
    let l = v.isa.lanes();
    let value = |off: &str, mk: Option<&str>| {
        inputs
            .iter()
            .map(|p| load(x, p, off, mk))
            .reduce(|a, b| x.add(&a, &b))
            .expect("at least one input")
    };
    kernel_fn(w, v, summary, |w| {
        w.line(format!("const N: usize = {n};"));
        w.line("let mut i = 0usize;");
        w.block("while i + N <= p.n", "", |w| {
            for j in 0..n / l {
                let off = lin(&[(1, "i")], j * l);
                w.line(format!("let v{j} = {};", value(&off, None)));
                let val = act_apply(x, v.act, &format!("v{j}"));
                w.line(format!("{};", store(x, "p.output", &off, None, &val)));
            }
            w.line("i += N;");
        });
        w.block("while i < p.n", "", |w| {
            w.line(format!(
                "let mk = {};",
                x.mask(&format!("(p.n - i).min({l})"))
            ));
            w.line(format!("let v = {};", value("i", Some("mk"))));
            let val = act_apply(x, v.act, "v");
            w.line(format!("{};", store(x, "p.output", "i", Some("mk"), &val)));
            w.line(format!("i += {l};"));
        });
    });
}
