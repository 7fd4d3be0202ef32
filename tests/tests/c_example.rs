//! `examples/c/embed.c` builds against `libruvector_cnn.a` (and `.so`) with the documented
//! command and embeds an image. Needs the library artifacts, which `.ci/run` builds first
//! (`cargo build -p ruvector-cnn-capi`); without them the test fails and says so.

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

fn ppm(path: &Path, w: usize, h: usize) {
    let mut bytes = format!("P6\n{w} {h}\n255\n").into_bytes();
    bytes.extend((0..w * h * 3).map(|i| (i * 31 % 253) as u8));
    std::fs::write(path, bytes).unwrap();
}

fn build_and_run(lib: &str, extra: &[&str]) {
    let lib_path = target_dir().join(lib);
    assert!(
        lib_path.exists(),
        "{} missing: build it first with `cargo build -p ruvector-cnn-capi` (.ci/run does)",
        lib_path.display()
    );
    let dir = std::env::temp_dir().join(format!("rvcnn-cexample-{}-{lib}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("embed");
    let out = Command::new("cc")
        .args([
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-O2",
            "-I",
        ])
        .arg(root().join("include"))
        .arg(root().join("examples/c/embed.c"))
        .arg(&lib_path)
        .args(extra)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let img = dir.join("x.ppm");
    ppm(&img, 71, 45);
    let weights = root().join("model/tests/fixtures/mobilenet_v3_small.safetensors");
    let run = Command::new(&exe)
        .arg(&img)
        .arg(&weights)
        .env("LD_LIBRARY_PATH", target_dir())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let values: Vec<f32> = String::from_utf8(run.stdout)
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(values.len(), 576);
    let norm: f32 = values.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    // A bad file is an error message, not a crash.
    let bad = Command::new(&exe).arg(&weights).output().unwrap();
    assert!(!bad.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn c_example_links_statically() {
    build_and_run("libruvector_cnn.a", &["-lpthread", "-ldl", "-lm"]);
}

#[test]
fn c_example_links_dynamically() {
    build_and_run("libruvector_cnn.so", &[]);
}
