//! `include/ruvector_cnn.h` is exactly what cbindgen generates from `capi/`, and it compiles
//! as strict C99 and C++17. Regenerate with `cargo run -p ruvector-cnn-capi --example
//! gen_header` (or `UPDATE_HEADER=1 cargo test -p ruvector-cnn-tests --test c_header`, which
//! needs the C tests to build, i.e. a header that is not too stale).
//! Host-only (x86_64): the header comes from the sources, whatever the target.
#![cfg(target_arch = "x86_64")]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn generate() -> String {
    let capi = root().join("capi");
    let config = cbindgen::Config::from_file(capi.join("cbindgen.toml")).unwrap();
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&capi)
        .with_config(config)
        .generate()
        .unwrap()
        .write(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn header_is_fresh() {
    let path = root().join("include/ruvector_cnn.h");
    let want = generate();
    if std::env::var_os("UPDATE_HEADER").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "include/ruvector_cnn.h is stale; regenerate it with:\n  cargo run -p ruvector-cnn-capi --example gen_header"
    );
}

fn compile(compiler: &str, std: &str, lang: &str) {
    let dir = std::env::temp_dir().join(format!("rvcnn-header-{}-{lang}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join(if lang == "c" { "t.c" } else { "t.cpp" });
    std::fs::write(
        &src,
        "#include \"ruvector_cnn.h\"\nint main(void) { rvcnn_status s = RVCNN_STATUS_OK; return (int)s + (rvcnn_version() == 0); }\n",
    )
    .unwrap();
    let out = Command::new(compiler)
        .args([
            &format!("-std={std}"),
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-fsyntax-only",
            "-I",
        ])
        .arg(root().join("include"))
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {compiler} (install gcc/g++): {e}"));
    assert!(
        out.status.success(),
        "{compiler} -std={std} rejects the header:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn header_compiles_as_c99_and_cpp17() {
    compile("cc", "c99", "c");
    compile("c++", "c++17", "cpp");
}
