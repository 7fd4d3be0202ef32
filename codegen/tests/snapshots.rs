//! Pins the generated source of the first manifest variant of every family at every ISA, and
//! of the first one with a non-linear activation.
//! A change to an emitter shows up here as a reviewable diff; after reviewing, refresh with
//! `UPDATE_SNAPSHOTS=1 cargo test -p ruvector-cnn-codegen --test snapshots`.

use std::path::PathBuf;

use ruvector_cnn_codegen::isa::Isa;
use ruvector_cnn_codegen::manifest::{Act, Family, manifest};
use ruvector_cnn_codegen::render_variant;

#[test]
fn one_variant_per_family_per_isa() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let all = manifest();
    let mut failures = Vec::new();
    let mut pinned = Vec::new();
    for family in Family::ALL {
        for isa in Isa::ALL.into_iter().filter(|&i| family.exists_for(i)) {
            let of_family = || all.iter().filter(|v| v.family == family && v.isa == isa);
            let first = of_family()
                .next()
                .expect("every family exists at every ISA it is listed for");
            let first_activated = of_family().find(|v| v.act != Act::Linear);
            for v in std::iter::once(first).chain(first_activated) {
                let path = dir.join(format!("{}__{}.rs.snap", isa.name(), v.fn_name()));
                let text = render_variant(v);
                pinned.push(path.clone());
                if update {
                    std::fs::write(&path, &text).unwrap();
                } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                    failures.push(path.display().to_string());
                }
            }
        }
    }
    assert!(pinned.len() >= Family::ALL.len() * 3);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !pinned.contains(&path) {
            if update {
                std::fs::remove_file(&path).unwrap();
            } else {
                failures.push(format!("{} (no longer generated)", path.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "generated code differs from (or lacks) snapshots:\n  {}\nreview with `cargo run -p ruvector-cnn-codegen --bin rvcnn-codegen -- dump <id>`, \
         then refresh with UPDATE_SNAPSHOTS=1 cargo test -p ruvector-cnn-codegen --test snapshots",
        failures.join("\n  ")
    );
}

#[test]
fn manifest_ids_are_unique_and_complete() {
    let all = manifest();
    let mut ids: Vec<String> = all.iter().map(|v| v.id()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "duplicate kernel ids in the manifest");
    assert!(
        all.iter().all(|v| v.act != Act::Runtime),
        "Act::Runtime names shared bodies, never a manifest entry"
    );
    for family in Family::ALL {
        for isa in Isa::ALL {
            assert_eq!(
                all.iter().any(|v| v.family == family && v.isa == isa),
                family.exists_for(isa),
                "{family:?} at {isa:?}"
            );
        }
    }
}
