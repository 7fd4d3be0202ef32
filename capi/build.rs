//! Gives the shared library a SONAME so programs linked against an installed copy record
//! `libruvector_cnn.so` rather than the build path (ELF targets only; wasm-ld has no SONAME).

fn main() {
    if std::env::var("CARGO_CFG_TARGET_FAMILY").as_deref() != Ok("wasm") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libruvector_cnn.so");
    }
}
