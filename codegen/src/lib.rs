//! Build-time generator of ruvector-cnn's kernels.
//!
//! [`manifest::manifest`] is the single list of kernel variants. [`generate`] renders, from it,
//! every file that `kernels/build.rs` writes into `OUT_DIR`:
//!
//! | file | content |
//! |---|---|
//! | `<family>.rs` | `pub mod <isa>` with each kernel, its descriptor and its dispatch slot lists |
//! | `table.rs` | `KernelTable::overlay_<isa>()`: the dispatch-table entries per ISA |
//! | `tests.rs` | one `#[test]` per variant, running the family's property test on it |
//! | `registry.rs` | every variant as an `AnyUkernel` (bench registrations, listings) |
//!
//! The crate is std-only and contains no `unsafe`; it only writes text.

#![forbid(unsafe_code)]

pub mod isa;
pub mod manifest;
pub mod writer;

mod families;
mod outputs;

use manifest::{Family, Variant};

/// One generated file: its name inside `OUT_DIR` and its text.
pub struct GeneratedFile {
    /// File name, e.g. `gemm.rs`.
    pub name: String,
    /// Rust source.
    pub text: String,
}

/// Renders every generated file from the manifest.
pub fn generate() -> Vec<GeneratedFile> {
    let all = manifest::manifest();
    let mut files: Vec<GeneratedFile> = Family::ALL
        .iter()
        .map(|&f| GeneratedFile {
            name: format!("{}.rs", f.name()),
            text: outputs::render_family(&all, f),
        })
        .collect();
    files.push(GeneratedFile {
        name: "table.rs".into(),
        text: outputs::render_table(&all),
    });
    files.push(GeneratedFile {
        name: "tests.rs".into(),
        text: outputs::render_tests(&all),
    });
    files.push(GeneratedFile {
        name: "registry.rs".into(),
        text: outputs::render_registry(&all),
    });
    files
}

/// Renders one variant alone (its kernel function and descriptor, after the shared body it
/// calls if its family has one), for review and snapshots.
pub fn render_variant(v: &Variant) -> String {
    let mut w = writer::Writer::new();
    if v.family.shares_act_body() {
        families::emit_kernel(&mut w, &v.body());
        w.line("");
    }
    families::emit_kernel(&mut w, v);
    w.line("");
    w.finish() + &outputs::render_descriptor(v)
}
