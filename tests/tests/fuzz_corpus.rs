//! The fuzz targets on stable Rust: every committed input (`fuzz/corpus/<target>/`, the seeds
//! plus what coverage-guided runs kept, and `fuzz/regressions/<target>/`, inputs that once
//! crashed) replayed through its target body, then a mutation smoke pass — random byte flips,
//! insertions and truncations of those inputs, `RVCNN_FUZZ_SMOKE` per target (default 200).
//! A panic anywhere fails the test and prints the target and input to reproduce with.

use std::path::{Path, PathBuf};

use ruvector_cnn_kernels::testkit::Rng;
use ruvector_cnn_tests::fuzz::TARGETS;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        paths.sort();
        for p in paths {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            out.push((p, bytes));
        }
    }
    out
}

/// Runs `body` on `data`, turning a panic into a failure that names the input.
fn replay(target: &str, what: &str, body: fn(&[u8]), data: &[u8]) {
    if std::panic::catch_unwind(|| body(data)).is_err() {
        let hex: String = data.iter().take(256).map(|b| format!("{b:02x}")).collect();
        panic!(
            "fuzz target `{target}` panicked on {what} ({} bytes, first 256 in hex: {hex})",
            data.len()
        );
    }
}

#[test]
fn committed_corpus_replays_without_a_panic() {
    for &(target, body) in TARGETS {
        let inputs = inputs(target);
        assert!(
            !inputs.is_empty(),
            "fuzz/corpus/{target} holds no inputs (run tools/make_fuzz_seeds.py)"
        );
        for (path, data) in &inputs {
            replay(target, &path.display().to_string(), body, data);
        }
        eprintln!("fuzz corpus: {target}: {} inputs replayed", inputs.len());
    }
}

/// One random edit of `data`.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    let pick = |rng: &mut Rng, n: usize| (rng.next_u64() % n.max(1) as u64) as usize;
    match rng.next_u64() % 5 {
        0 if !data.is_empty() => {
            let i = pick(rng, data.len());
            data[i] ^= 1 << (rng.next_u64() % 8);
        }
        1 if !data.is_empty() => {
            let i = pick(rng, data.len());
            data[i] = [0, 1, 0x7f, 0x80, 0xff][pick(rng, 5)];
        }
        2 => {
            let i = pick(rng, data.len() + 1);
            data.insert(i, rng.next_u64() as u8);
        }
        3 => data.truncate(pick(rng, data.len() + 1)),
        _ => {
            let i = pick(rng, data.len());
            let j = pick(rng, data.len());
            if i < data.len() && j < data.len() {
                data.swap(i, j);
            }
        }
    }
}

#[test]
fn mutation_smoke_pass_without_a_panic() {
    let per_target: usize = std::env::var("RVCNN_FUZZ_SMOKE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut rng = Rng::new(0x5eed);
    for &(target, body) in TARGETS {
        let inputs = inputs(target);
        for k in 0..per_target {
            let (_, seed) = &inputs[k % inputs.len()];
            let mut data = seed.clone();
            for _ in 0..1 + rng.next_u64() % 8 {
                mutate(&mut rng, &mut data);
            }
            replay(target, &format!("mutation {k}"), body, &data);
        }
        eprintln!("fuzz smoke: {target}: {per_target} mutated inputs");
    }
}
