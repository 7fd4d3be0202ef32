//! Renders the generated kernels, dispatch overlays, per-variant tests and registry into
//! `OUT_DIR` (see the `ruvector-cnn-codegen` crate). Files are rewritten only when their text
//! changes, so unrelated rebuilds do not recompile the kernels.

use std::path::PathBuf;

fn main() {
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    for file in ruvector_cnn_codegen::generate() {
        let path = out.join(&file.name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(file.text.as_str()) {
            std::fs::write(&path, &file.text)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        }
    }
    // `--cfg rvcnn_portable_only`: scalar kernels only (see `Isa::cfg` in the generator).
    println!("cargo::rustc-check-cfg=cfg(rvcnn_portable_only)");
    println!("cargo:rerun-if-changed=build.rs");
}
