//! Replays every committed seed (`fuzz/corpus/<target>/`) and every crash reproducer
//! (`fuzz/regressions/<target>/`) through its target body, on the stable toolchain.

use mcp_authz_fuzz_entries::TARGETS;
use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut out: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    out.sort();
    out
}

fn subdirs(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_corpus_file_and_reproducer_replays() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let known: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    for kind in ["corpus", "regressions"] {
        for dir in subdirs(&fuzz.join(kind)) {
            assert!(known.contains(&dir.as_str()), "fuzz/{kind}/{dir} belongs to no target");
        }
    }
    let mut failures = vec![];
    for (name, entry) in TARGETS {
        let seeds = files(&fuzz.join("corpus").join(name));
        assert!(!seeds.is_empty(), "target {name} has no committed seed corpus");
        for path in seeds.iter().chain(&files(&fuzz.join("regressions").join(name))) {
            let data = std::fs::read(path).expect("readable corpus file");
            if std::panic::catch_unwind(|| entry(&data)).is_err() {
                failures.push(path.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "inputs that fail their target: {failures:#?}");
}
