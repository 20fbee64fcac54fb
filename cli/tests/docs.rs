//! The README stays short and the book whole: the README is at most 250 lines; every
//! chapter under `docs/src/` is in `SUMMARY.md` and every `SUMMARY.md` entry exists; every
//! relative Markdown link and mdBook include in the README, the book and the other
//! READMEs points to a file that exists. (mdBook itself is not installed by CI: this test
//! is the book's build check.)

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The relative targets of `[text](target)` links and `{{#include target}}` in `markdown`,
/// fragments dropped; absolute URLs and in-page anchors left out.
fn relative_targets(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            if let Some(end) = rest.find(')') {
                out.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
        if let Some(include) = line.trim().strip_prefix("{{#include ").and_then(|r| r.strip_suffix("}}")) {
            out.push(include.trim().to_string());
        }
    }
    out.into_iter()
        .filter(|t| !t.contains("://") && !t.starts_with('#') && !t.starts_with("mailto:"))
        .map(|t| t.split('#').next().unwrap_or_default().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

#[test]
fn the_readme_is_short_and_points_into_the_book() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let lines = readme.lines().count();
    assert!(lines <= 250, "README.md has {lines} lines; the rest belongs in the book (docs/src)");
    assert!(
        readme.contains("cargo run --release -- run") && readme.contains("cargo test --workspace"),
        "the two commands"
    );
    assert!(relative_targets(&readme).iter().any(|t| t.starts_with("docs/src/")), "links into the book");
}

#[test]
fn every_chapter_is_in_the_summary_and_every_link_resolves() {
    let src = root().join("docs/src");
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).expect("docs/src/SUMMARY.md");
    let listed = relative_targets(&summary);
    let mut chapters: Vec<String> = std::fs::read_dir(&src)
        .expect("docs/src")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".md") && n != "SUMMARY.md")
        .collect();
    chapters.sort();
    for chapter in &chapters {
        assert!(listed.contains(chapter), "docs/src/{chapter} is not in SUMMARY.md");
    }
    let mut files: Vec<PathBuf> = chapters.iter().map(|c| src.join(c)).collect();
    files.push(src.join("SUMMARY.md"));
    files.push(root().join("README.md"));
    for readme in ["interop/README.md", "fuzz/README.md", "interop/conformance/README.md"] {
        files.push(root().join(readme));
    }
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let dir = file.parent().expect("a folder");
        for target in relative_targets(&text) {
            if !dir.join(&target).exists() {
                broken.push(format!("{}: {target}", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "links to nothing:\n{}", broken.join("\n"));
    let book = std::fs::read_to_string(root().join("docs/book.toml")).expect("docs/book.toml");
    assert!(book.contains("src = \"src\""), "the book's sources are docs/src");
}
