//! Compiles the C tests of the C API (tests/c/*.c) as strict C11 against the checked-in header.

fn main() {
    // WebAssembly builds (tools/cross_test.sh) run the Rust tests only: no C toolchain there.
    if std::env::var("CARGO_CFG_TARGET_FAMILY").as_deref() == Ok("wasm") {
        return;
    }
    println!("cargo:rerun-if-changed=c");
    println!("cargo:rerun-if-changed=../include/ruvector_cnn.h");
    cc::Build::new()
        .file("c/capi_tests.c")
        .file("c/ops_tests.c")
        .include("../include")
        .std("c11")
        .flag("-Wall")
        .flag("-Wextra")
        .flag("-Werror")
        .flag("-pedantic")
        .flag("-pthread")
        .compile("rvcnn_ctests");
    println!("cargo:rustc-link-lib=pthread");
    println!("cargo:rustc-link-lib=m");
}
