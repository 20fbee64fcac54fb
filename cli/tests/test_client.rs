//! `mcp-authz test-client` with the reference client as the client under test: correct,
//! it passes every client scenario a process can be tested with; with each client
//! defect, the scenario that checks it fails; a client that hangs or crashes gets an
//! `error` verdict that says so; bad arguments get a clear message.

use serde_json::Value;
use std::process::{Command, Output};

fn test_client(client: &str, extra: &[&str]) -> Output {
    let command = format!("{} client {client}", env!("CARGO_BIN_EXE_mcp-authz"));
    Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
        .args(["test-client", "--command", &command, "--format", "json"])
        .args(extra)
        .output()
        .expect("mcp-authz runs")
}

/// `(id, verdict, detail)` of every case of a JSON report.
fn verdicts(out: &Output) -> Vec<(String, String, String)> {
    let cases: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("a json report ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    cases
        .as_array()
        .expect("an array of cases")
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("id"), s("verdict"), s("detail"))
        })
        .collect()
}

/// A metadata document URL on a simulated host: the harness serves the document.
const DOCUMENT: &str = "https://app.example/client.json";

/// The client keeps its tokens in the state folder the harness gives each client.
const TOKEN_STORE: &str = r#"--token-store "$MCP_AUTHZ_STATE_DIR/tokens.json""#;

#[test]
fn the_reference_client_passes_every_client_scenario() {
    // As a headless client, keeping its tokens, opening the authorization URL with the
    // harness's browser (env BROWSER), and with a client ID metadata document (which
    // CL-REG-01 needs; without one it is skipped; with one the client does not register
    // dynamically, so the cases that read or refuse its registration are skipped). CL-REG-08
    // is always skipped: a process cannot be given pre-registered credentials; so are the
    // extensions' machine grants, CL-CC-01 (credentials), CL-EMA-01/02 and CL-WIF-01 (an ID
    // token or a workload JWT to present, which a process cannot be handed). The DPoP
    // cases (CL-DPOP-*) are skipped, except with --dpop: without it `client` does not use
    // DPoP.
    let cimd = format!("--client-metadata-url {DOCUMENT}");
    let clients = [("", false), (TOKEN_STORE, false), ("--browser", false), (&cimd, true), ("--dpop", false)];
    for (client, with_document) in clients {
        let mut args = vec!["--timeout", "5"];
        if with_document {
            args.extend(["--client-metadata-url", DOCUMENT]);
        }
        let out = test_client(client, &args);
        let v = verdicts(&out);
        let clients = mcp_authz_scenarios::catalog().iter().filter(|s| s.meta.id.starts_with("CL-")).count();
        assert_eq!(v.len(), clients, "every client scenario runs: {v:#?}");
        for (id, verdict, detail) in &v {
            let registers = ["CL-REG-02", "CL-REG-03", "CL-REG-05", "CL-REG-06"].contains(&id.as_str());
            let machine = ["CL-CC-01", "CL-EMA-01", "CL-EMA-02", "CL-WIF-01"].contains(&id.as_str());
            let skipped = id == "CL-REG-08"
                || machine
                || (id.starts_with("CL-DPOP-") && client != "--dpop")
                || if with_document { registers } else { id == "CL-REG-01" };
            let expected = if skipped { "skip" } else { "pass" };
            assert_eq!(verdict, expected, "client {client}: {id}: {detail}");
        }
        assert_eq!(out.status.code(), Some(0));
    }
}

#[test]
fn each_client_defect_fails_its_scenario() {
    let cases = [
        ("client-ignores-cimd", "CL-REG-01"),
        ("client-token-to-any-server", "CL-TOKEN-01"),
        ("no-state-check", "CL-STATE-01"),
        ("client-no-issuer-check", "CL-DISC-02"),
        ("client-no-resource-param", "CL-RES-01"),
        ("client-no-prm-resource-check", "CL-DISC-01"),
        ("client-prm-resource-prefix", "CL-DISC-07"),
        ("client-no-pkce-check", "CL-DISC-03"),
        ("client-no-iss-check", "CL-MIX-01"),
        ("client-iss-unadvertised-ignored", "CL-ISS-01"),
        ("client-iss-normalized", "CL-ISS-02"),
        ("client-error-before-iss-check", "CL-ISS-03"),
        ("client-unbounded-step-up", "CL-STEP-02"),
        ("client-step-up-ignores-scope", "CL-STEP-01"),
        ("client-step-up-challenged-scope-only", "CL-STEP-03"),
        ("client-no-discovery-order", "CL-DISC-04"),
        ("client-naive-challenge-parsing", "CL-DISC-06"),
        ("client-prefers-scopes-supported", "CL-SCOPE-01"),
        ("client-oauth-metadata-only", "CL-DISC-05"),
        ("client-pkce-plain", "CL-PKCE-01"),
        ("client-follows-redirects", "CL-SSRF-04"),
        ("client-follows-insecure-urls", "CL-SSRF-03"),
        ("client-follows-insecure-urls --browser", "CL-SSRF-03"),
        ("client-invented-client-id", "CL-REG-07"),
        // Its token kept in the store, refused once it expired by the simulated clock.
        ("client-assumes-refresh-token", "CL-TOKEN-02"),
        ("client-modern-headers-missing", "CL-WIRE-01"),
        ("client-version-retry-unbounded", "CL-WIRE-02"),
        ("client-falls-back-on-any-4xx", "CL-WIRE-03"),
        ("client-era-not-cached", "CL-WIRE-03"),
        ("client-result-type-unchecked", "CL-WIRE-04"),
        ("client-dpop-proof-reused --dpop", "CL-DPOP-01"),
        ("client-dpop-no-ath --dpop", "CL-DPOP-01"),
        ("client-dpop-refresh-without-proof --dpop", "CL-DPOP-02"),
        ("client-dpop-nonce-ignored --dpop", "CL-DPOP-03"),
    ];
    // Not here: client-credentials-reused-across-as (CL-REG-04), which needs a client that
    // keeps its registration between runs; `mcp-authz client` keeps only its tokens. Nor
    // client-cache-shared-across-tokens (CL-CACHE-01): each run is a new process, whose
    // cache is empty; nor client-pre-registered-any-as (CL-REG-08, skipped for a process);
    // nor client-dpop-proof-across-servers (CL-DPOP-01): a process runs once per server,
    // and a new one has no proof of the last server to reuse; nor the defects of the
    // extensions' machine grants (client-cc-*, client-ema-*, client-wif-*: their cases
    // are skipped for a process).
    // Defects of dynamic registration: the client has no metadata document, so it registers.
    let registering = [
        ("client-no-application-type", "CL-REG-02"),
        ("client-application-type-web", "CL-REG-03"),
        ("client-no-refresh-grant-type", "CL-REG-05"),
        ("client-retries-registration", "CL-REG-06"),
    ];
    let cases =
        cases.iter().map(|&(d, s)| (d, s, true)).chain(registering.iter().map(|&(d, s)| (d, s, false)));
    for (defect, scenario, with_document) in cases {
        // Only a client that keeps its tokens can send one to the wrong server later.
        let mut client = format!("{TOKEN_STORE} --defect {defect}");
        let mut args = vec!["--scenario", scenario, "--timeout", "5"];
        if with_document {
            client = format!("{client} --client-metadata-url {DOCUMENT}");
            args.extend(["--client-metadata-url", DOCUMENT]);
        }
        let out = test_client(&client, &args);
        let v = verdicts(&out);
        assert!(
            v.iter().any(|(id, verdict, _)| id == scenario && (verdict == "fail" || verdict == "warn")),
            "--defect {defect}: expected {scenario} to fail, got {v:#?}"
        );
        let failed = v.iter().any(|(_, verdict, _)| verdict == "fail");
        assert_eq!(
            out.status.code(),
            Some(if failed { 1 } else { 0 }),
            "--defect {defect}: a MUST fails the run"
        );
    }
}

#[test]
fn a_hanging_client_is_killed_and_the_case_is_an_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
        .args(["test-client", "--command", "sleep 30; true", "--timeout", "1", "--scenario", "CL-STEP-01"])
        .args(["--format", "json"])
        .output()
        .expect("mcp-authz runs");
    let v = verdicts(&out);
    assert_eq!(v[0].1, "error", "{v:#?}");
    assert!(v[0].2.contains("the client sent no tools"), "{v:#?}");
    let cases: Value = serde_json::from_slice(&out.stdout).unwrap();
    let evidence = cases[0]["evidence"].to_string();
    assert!(evidence.contains("did not finish within 1s: killed"), "{evidence}");
}

#[test]
fn a_crashing_client_is_an_error_with_its_output() {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
        .args(["test-client", "--command", "echo boom >&2; exit 3", "--scenario", "CL-PKCE-01"])
        .args(["--format", "json"])
        .output()
        .expect("mcp-authz runs");
    let v = verdicts(&out);
    assert_eq!(v[0].1, "error", "{v:#?}");
    let cases: Value = serde_json::from_slice(&out.stdout).unwrap();
    let evidence = cases[0]["evidence"].to_string();
    assert!(evidence.contains("exited with exit status: 3: boom"), "{evidence}");
}

#[test]
fn bad_arguments_are_refused_with_a_message() {
    for (args, says) in [
        (vec!["--command", " "], "--command is empty"),
        (vec!["--command", "true", "--scenario", "RS-AUD-01"], "not the client"),
        (vec!["--command", "true", "--scenario", "CL-NOPE-01"], "no scenario `CL-NOPE-01`"),
    ] {
        let out =
            Command::new(env!("CARGO_BIN_EXE_mcp-authz")).arg("test-client").args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// A client whose metadata document is on a host the harness does not simulate: its AS
/// cannot fetch it. That is the harness's limit, so the cases whose flow needed it are
/// `error`, naming it, and none is the client's `fail` (they were before: the AS refused
/// the client and every flow failed on the client's account).
#[test]
fn an_unfetchable_metadata_document_is_the_harness_s_error_not_the_client_s_fail() {
    let document = "https://client.invalid/client.json";
    let cimd = format!("--client-metadata-url {document}");
    let scenarios = ["--scenario", "CL-STEP-01", "--scenario", "CL-RES-01", "--scenario", "CL-REG-01"];
    let mut args = vec!["--timeout", "5", "--client-metadata-url", document];
    args.extend(scenarios);
    let out = test_client(&cimd, &args);
    let v = verdicts(&out);
    assert_eq!(v.len(), 3, "{v:#?}");
    for (id, verdict, detail) in &v {
        assert_eq!(verdict, "error", "{id}: {detail}");
        assert!(
            detail.contains("cannot fetch the client's metadata document at https://client.invalid/"),
            "{detail}"
        );
    }
}
