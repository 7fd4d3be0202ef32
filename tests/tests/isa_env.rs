//! `RVCNN_ISA` caps the process-wide table. Each check re-runs this test binary as a child
//! with the variable set (the value is read once per process) and reads what it reports.

use std::process::Command;

use ruvector_cnn_kernels::isa::{self, Isa, IsaSet};

fn child_top(value: &str) -> (String, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_reports_table", "--nocapture"])
        .env("RVCNN_ISA", value)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let top = stdout
        .lines()
        .find_map(|l| l.strip_prefix("TABLE_TOP="))
        .unwrap_or_default()
        .to_string();
    (top, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn rvcnn_isa_caps_the_table() {
    for cap in Isa::ALL {
        let expected = isa::detected().intersect(IsaSet::up_to(cap)).top();
        let (top, _) = child_top(cap.name());
        assert_eq!(top, expected.name(), "RVCNN_ISA={cap}");
    }
    let (top, stderr) = child_top("avx9000");
    assert_eq!(
        top,
        isa::detected().top().name(),
        "an unknown RVCNN_ISA must be ignored"
    );
    assert!(
        stderr.contains("ignoring RVCNN_ISA") && stderr.contains("avx9000"),
        "no warning: {stderr}"
    );
}

#[test]
#[ignore = "run by rvcnn_isa_caps_the_table in a child process"]
fn child_reports_table() {
    println!(
        "TABLE_TOP={}",
        ruvector_cnn_kernels::KernelTable::best().isa_set().top()
    );
}
