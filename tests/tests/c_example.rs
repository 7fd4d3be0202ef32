//! `examples/c/embed.c` builds against `libruvector_cnn.a` and `.so` with the documented
//! commands, and against an installed copy through pkg-config (`tools/install-capi.sh`), then
//! embeds two images and prints their cosine similarity. Needs the library artifacts, which
//! `.ci/run` builds first (`cargo build --workspace`); without them the test fails
//! and says so.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `target/<profile>/` of this test binary.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rvcnn-cexample-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn ppm(path: &Path, w: usize, h: usize, seed: usize) {
    let mut bytes = format!("P6\n{w} {h}\n255\n").into_bytes();
    bytes.extend((0..w * h * 3).map(|i| ((i * 31 + seed * 7919) % 253) as u8));
    std::fs::write(path, bytes).unwrap();
}

fn compile(dir: &Path, args: &[String]) -> PathBuf {
    let exe = dir.join("embed");
    let out = Command::new("cc")
        .args([
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-O2",
        ])
        .arg(root().join("examples/c/embed.c"))
        .args(args)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Runs the example on (a, a) and (a, b); returns the two cosines.
fn run(exe: &Path, dir: &Path, lib_dir: &Path) -> (f64, f64) {
    let (a, b) = (dir.join("a.ppm"), dir.join("b.ppm"));
    ppm(&a, 71, 45, 1);
    ppm(&b, 50, 90, 2);
    let weights = root().join("model/tests/fixtures/mobilenet_v3_small.safetensors");
    let cos = |x: &Path, y: &Path| -> f64 {
        let out = Command::new(exe)
            .arg(x)
            .arg(y)
            .arg(&weights)
            .env("LD_LIBRARY_PATH", lib_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with("dimension 576\n"), "{text}");
        text.lines()
            .find_map(|l| l.strip_prefix("cosine "))
            .unwrap()
            .parse()
            .unwrap()
    };
    let result = (cos(&a, &a), cos(&a, &b));
    // A bad file is an error message, not a crash.
    let bad = Command::new(exe).arg(&weights).arg(&a).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a binary PPM"));
    result
}

fn check(exe: &Path, dir: &Path, lib_dir: &Path) {
    let (same, different) = run(exe, dir, lib_dir);
    assert!(
        (same - 1.0).abs() < 1e-5,
        "cosine of an image with itself: {same}"
    );
    assert!(
        different < 0.9999 && different > -1.0,
        "cosine of two images: {different}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn library(name: &str) -> PathBuf {
    let p = target_dir().join(name);
    assert!(
        p.exists(),
        "{} missing: build it first with `cargo build --workspace` or `-p ruvector-cnn-capi` (.ci/run does)",
        p.display()
    );
    p
}

fn include() -> String {
    format!("-I{}", root().join("include").display())
}

#[test]
fn c_example_links_statically() {
    let dir = scratch("static");
    let lib = library("libruvector_cnn.a").display().to_string();
    let exe = compile(
        &dir,
        &[
            include(),
            lib,
            "-lpthread".into(),
            "-ldl".into(),
            "-lm".into(),
        ],
    );
    check(&exe, &dir, &target_dir());
}

#[test]
fn c_example_links_dynamically() {
    let dir = scratch("dynamic");
    let lib = library("libruvector_cnn.so").display().to_string();
    let exe = compile(&dir, &[include(), lib, "-lm".into()]);
    check(&exe, &dir, &target_dir());
}

#[test]
fn c_example_builds_from_an_installed_copy_with_pkg_config() {
    library("libruvector_cnn.so");
    let dir = scratch("installed");
    let prefix = dir.join("prefix");
    let profile = target_dir()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let out = Command::new(root().join("tools/install-capi.sh"))
        .arg(&prefix)
        .env("RVCNN_PROFILE", &profile)
        .env("RVCNN_NO_BUILD", "1")
        .env("CARGO_TARGET_DIR", target_dir().parent().unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "install failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pc = Command::new("pkg-config")
        .args(["--cflags", "--libs", "ruvector_cnn"])
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .output()
        .expect("pkg-config (install pkgconf)");
    assert!(
        pc.status.success(),
        "{}",
        String::from_utf8_lossy(&pc.stderr)
    );
    let mut flags: Vec<String> = String::from_utf8(pc.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    flags.push("-lm".into());
    let exe = compile(&dir, &flags);
    check(&exe, &dir, &prefix.join("lib"));
}
