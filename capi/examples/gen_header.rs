//! Regenerates `include/ruvector_cnn.h` from this crate with cbindgen:
//! `cargo run -p ruvector-cnn-capi --example gen_header` (tests/tests/c_header.rs checks it).
//! Independent of the C tests, which cannot build against a stale header.

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let capi = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(capi.join("cbindgen.toml"))?;
    let out = capi.join("../include/ruvector_cnn.h");
    cbindgen::Builder::new()
        .with_crate(capi)
        .with_config(config)
        .generate()?
        .write_to_file(&out);
    println!("wrote {}", out.display());
    Ok(())
}
