//! The GitHub Action (`action.yml`), the release workflow and the example workflows are
//! valid YAML of the shape GitHub reads, and agree with each other: every example that uses
//! the action runs one of its commands with inputs it declares, and the book names only
//! inputs that exist.

use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load(path: &Path) -> Yaml {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{}: one document", path.display());
    docs.remove(0)
}

/// The commands the action runs (its `case` statement and its input's description).
const COMMANDS: [&str; 5] = ["scan", "test-server", "test-as", "test-client", "run"];

#[test]
fn the_action_is_a_composite_with_the_inputs_the_readme_names() {
    let action = load(&root().join("action.yml"));
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let inputs = action["inputs"].as_hash().expect("inputs");
    let names: Vec<&str> = inputs.keys().filter_map(Yaml::as_str).collect();
    for name in ["command", "args", "baseline", "version", "upload-sarif"] {
        assert!(names.contains(&name), "input {name}: {names:?}");
    }
    assert_eq!(action["inputs"]["command"]["required"].as_bool(), Some(true));
    let steps = action["runs"]["steps"].as_vec().expect("steps");
    let uploads = steps
        .iter()
        .filter(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@")))
        .count();
    assert_eq!(uploads, 1, "the SARIF report goes to code scanning");
    let script: String = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    for command in COMMANDS {
        assert!(script.contains(command), "the action accepts {command}");
    }
    assert!(
        script.contains("--also \"sarif=") && script.contains("--also \"junit="),
        "one run, three reports"
    );
    assert!(script.contains("GITHUB_STEP_SUMMARY"), "the text report goes to the job summary");

    // The book's section on the action names only inputs the action has.
    let chapter = std::fs::read_to_string(root().join("docs/src/install.md")).expect("docs/src/install.md");
    let section = chapter.split("## In GitHub Actions").nth(1).expect("a section `## In GitHub Actions`");
    let section = section.split("\n## ").next().unwrap_or_default();
    for named in section.split('`').skip(1).step_by(2).filter(|w| w.ends_with(':') && !w.contains(' ')) {
        let input = named.trim_end_matches(':');
        assert!(names.contains(&input), "the book names input `{input}`, which action.yml does not declare");
    }
}

#[test]
fn each_example_workflow_uses_the_action_with_a_command_it_runs() {
    let dir = root().join("examples/github");
    let action = load(&root().join("action.yml"));
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/github") {
        let path = entry.expect("an entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yml") {
            continue;
        }
        seen += 1;
        let workflow = load(&path);
        assert!(workflow["name"].as_str().is_some(), "{}: a name", path.display());
        let jobs = workflow["jobs"].as_hash().unwrap_or_else(|| panic!("{}: jobs", path.display()));
        for (job, body) in jobs {
            let steps =
                body["steps"].as_vec().unwrap_or_else(|| panic!("{}: {job:?} has steps", path.display()));
            for step in steps {
                if step["uses"].as_str().is_some_and(|u| u.contains("mcp-authz-harness")) {
                    let command = step["with"]["command"].as_str().unwrap_or_default();
                    assert!(COMMANDS.contains(&command), "{}: command `{command}`", path.display());
                    for (key, _) in step["with"].as_hash().expect("with") {
                        let key = key.as_str().unwrap_or_default();
                        assert!(
                            !action["inputs"][key].is_badvalue(),
                            "{}: input `{key}` is not the action's",
                            path.display()
                        );
                    }
                }
            }
        }
    }
    assert!(seen >= 5, "an example per target kind and the explore matrix");
    let explore = load(&dir.join("explore-shards.yml"));
    let text = format!("{:?}", explore["jobs"]);
    assert!(text.contains("--shard") && text.contains("merge"), "the explore matrix shards and merges");
}

#[test]
fn the_release_workflow_builds_the_archives_the_action_downloads() {
    let release = load(&root().join(".github/workflows/release.yml"));
    let targets: Vec<&str> = release["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_vec()
        .expect("a target matrix")
        .iter()
        .filter_map(|t| t["target"].as_str())
        .collect();
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(targets.contains(&target), "{target}: {targets:?}");
    }
    let action = std::fs::read_to_string(root().join("action.yml")).expect("action.yml");
    assert!(
        action.contains("mcp-authz-$target.tar.gz") && action.contains(".sha256"),
        "the action downloads and checks what the release uploads"
    );
}
