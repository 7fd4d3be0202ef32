//! Gives the shared library a SONAME so programs linked against an installed copy record
//! `libruvector_cnn.so` rather than the build path.

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libruvector_cnn.so");
}
