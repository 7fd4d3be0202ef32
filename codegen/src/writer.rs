//! A tiny indenting text writer used by every emitter.

/// Accumulates generated source text with indentation.
#[derive(Default)]
pub struct Writer {
    buf: String,
    depth: usize,
}

impl Writer {
    /// An empty writer at indentation depth 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one line at the current indentation (empty lines carry no indentation).
    pub fn line(&mut self, text: impl AsRef<str>) {
        let text = text.as_ref();
        if !text.is_empty() {
            for _ in 0..self.depth {
                self.buf.push_str("    ");
            }
            self.buf.push_str(text);
        }
        self.buf.push('\n');
    }

    /// Writes `head {`, runs `body` one level deeper, then writes `}` + `tail`.
    pub fn block(&mut self, head: impl AsRef<str>, tail: &str, body: impl FnOnce(&mut Writer)) {
        self.line(format!("{} {{", head.as_ref()));
        self.depth += 1;
        body(self);
        self.depth -= 1;
        self.line(format!("}}{tail}"));
    }

    /// Writes `if cond { then } else { els }`.
    pub fn if_else(
        &mut self,
        cond: &str,
        then: impl FnOnce(&mut Writer),
        els: impl FnOnce(&mut Writer),
    ) {
        self.line(format!("if {cond} {{"));
        self.depth += 1;
        then(self);
        self.depth -= 1;
        self.line("} else {");
        self.depth += 1;
        els(self);
        self.depth -= 1;
        self.line("}");
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.buf
    }
}

/// `base` advanced by `off` elements with `add` (the pointer must stay in bounds).
pub fn at(base: &str, off: &str) -> String {
    if off == "0" {
        base.to_string()
    } else {
        format!("{base}.add({off})")
    }
}

/// `base` advanced by `off` elements with `wrapping_add` (for masked lanes that may lie past
/// the end of the buffer: the address is formed but never dereferenced).
pub fn at_wrapping(base: &str, off: &str) -> String {
    if off == "0" {
        base.to_string()
    } else {
        format!("{base}.wrapping_add({off})")
    }
}

/// `a + b` as text, dropping a literal zero term.
pub fn sum(a: &str, b: usize) -> String {
    match (a, b) {
        (_, 0) => a.to_string(),
        ("0", _) => b.to_string(),
        _ => format!("{a} + {b}"),
    }
}
