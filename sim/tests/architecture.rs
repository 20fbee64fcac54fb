//! The architecture as facts a test checks (docs/src/architecture.md):
//! - the simulator crate has no async runtime, HTTP stack or sockets among its normal
//!   dependencies (`cargo tree -e normal`), so determinism is a dependency fact;
//! - no two top-level modules of a workspace crate import each other, directly or round
//!   a longer cycle;
//! - no source file outside tests is over 800 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf()
}

/// The crates whose modules are checked, by source folder.
const CRATES: [&str; 6] = ["reference-impl", "sim", "scenarios", "live", "cli", "fuzz-entries"];

#[test]
fn the_simulator_has_no_async_runtime_and_no_http_stack() {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-e", "normal", "-p", "mcp-authz-sim", "--prefix", "none"])
        .current_dir(root())
        .output()
        .expect("cargo tree runs");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("mcp-authz-reference"), "unexpected cargo tree output: {tree}");
    for banned in ["tokio ", "axum ", "reqwest ", "hyper ", "tower "] {
        assert!(
            !tree.lines().any(|l| l.starts_with(banned)),
            "mcp-authz-sim depends on {banned}(cargo tree -e normal -p mcp-authz-sim)"
        );
    }
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a source folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The top-level module `file` belongs to (`None` for the crate root).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy().into_owned();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// The top-level modules `text` imports with `crate::…` paths.
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let before = text[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &text[i + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty() && name.chars().next().is_some_and(|c| c.is_lowercase()) {
            out.insert(name);
        }
    }
    out
}

#[test]
fn no_import_cycle_between_modules() {
    for krate in CRATES {
        let src = root().join(krate).join("src");
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in sources(&src) {
            let Some(module) = top_module(&src, &file) else { continue };
            let text = std::fs::read_to_string(&file).expect("readable source");
            // Unit tests may reach anywhere in their crate; doc links are not imports.
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            let text: String =
                text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
            let deps = graph.entry(module.clone()).or_default();
            deps.extend(imports(&text).into_iter().filter(|m| *m != module));
        }
        // Depth-first search for a back edge.
        fn visit(
            m: &str,
            graph: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(at) = path.iter().position(|p| p == m) {
                let mut cycle = path[at..].to_vec();
                cycle.push(m.to_string());
                return Some(cycle);
            }
            if done.contains(m) {
                return None;
            }
            path.push(m.to_string());
            for dep in graph.get(m).into_iter().flatten() {
                if let Some(cycle) = visit(dep, graph, path, done) {
                    return Some(cycle);
                }
            }
            path.pop();
            done.insert(m.to_string());
            None
        }
        let mut done = BTreeSet::new();
        for m in graph.keys() {
            if let Some(cycle) = visit(m, &graph, &mut Vec::new(), &mut done) {
                panic!("{krate}: the modules import each other round a cycle: {}", cycle.join(" -> "));
            }
        }
    }
}

#[test]
fn no_source_file_over_800_lines() {
    let mut long = Vec::new();
    for krate in CRATES {
        for file in sources(&root().join(krate).join("src")) {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name == "tests.rs" {
                continue;
            }
            let lines = std::fs::read_to_string(&file).expect("readable source").lines().count();
            if lines > 800 {
                long.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "source files over 800 lines: {long:?}");
}
