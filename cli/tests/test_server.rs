//! `mcp-authz test-server` over real HTTP: against the reference MCP server (correct,
//! then with a defect the live run must report), and against hostile or broken targets
//! served by wiremock, which must give `error` verdicts with a clear reason — never a
//! hang, a crash or a pass.

use mcp_authz_live::stack::{Stack, StackOptions};
use mcp_authz_reference::defects::{Defect, Defects};
use serde_json::Value;
use std::process::Command;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Runs `mcp-authz test-server ARGS --format json` off the runtime; `(exit code, cases)`.
async fn test_server(args: Vec<String>) -> (Option<i32>, Vec<Value>, String) {
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
            .arg("test-server")
            .args(&args)
            .args(["--format", "json"])
            .output()
            .expect("mcp-authz runs")
    })
    .await
    .expect("joined");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let cases: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("json report ({e}); stderr:\n{stderr}"));
    (out.status.code(), cases.as_array().expect("cases").clone(), stderr)
}

fn verdicts<'a>(cases: &'a [Value], verdict: &str) -> Vec<&'a str> {
    cases.iter().filter(|c| c["verdict"] == verdict).filter_map(|c| c["id"].as_str()).collect()
}

/// A free loopback port for the harness's AS (the server under test must know its
/// issuer before the harness starts).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn reference_stack(as_port_of_harness: u16, defects: Defects) -> Stack {
    let opts = StackOptions {
        as_port: 0,
        rs_port: 0,
        also_trust: vec![format!("http://127.0.0.1:{as_port_of_harness}")],
        defects,
        ..StackOptions::default()
    };
    Stack::start(&opts).await.expect("stack")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_server_passes_live_and_a_defect_fails_the_right_cases() {
    let port = free_port();
    let stack = reference_stack(port, Defects::none()).await;
    let args = vec!["--url".into(), stack.mcp_url.clone(), "--as-port".into(), port.to_string()];
    let (code, cases, stderr) = test_server(args).await;
    stack.shutdown().await;
    assert_eq!(cases.len(), 48, "every MCP server scenario runs");
    let not_passing: Vec<&Value> = cases.iter().filter(|c| c["verdict"] != "pass").collect();
    assert_eq!(
        verdicts(&cases, "skip"),
        [
            "RS-HANDLE-01",
            "RS-HANDLE-02",
            "RS-PASS-01",
            "RS-SCOPE-05",
            "RS-SCOPE-06",
            "RS-STATE-01",
            "RS-WIRE-05",
            "RS-WIRE-06",
            "RS-WIRE-08"
        ],
        "the harness knows no state handle tools of a live server, passthrough is simulator-only, \
         no tool needs two scopes or a client capability, no scope hierarchy is declared, and the \
         server speaks legacy too: {not_passing:#?}"
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("echo: needs `mcp:read` (probed"), "tools are probed: {stderr}");
    assert!(stderr.contains("and 2026-07-28 (stateless requests answered)"), "the era is reported: {stderr}");
    let wire: Vec<&str> =
        verdicts(&cases, "pass").into_iter().filter(|id| id.starts_with("RS-WIRE")).collect();
    assert_eq!(wire.len(), 6, "the 2026-07-28 cases run against a server that speaks it: {not_passing:#?}");

    let port = free_port();
    let stack = reference_stack(port, Defects::of([Defect::ModernHeadersUnchecked])).await;
    let args = vec!["--url".into(), stack.mcp_url.clone(), "--as-port".into(), port.to_string()];
    let (_, cases, _) = test_server(args).await;
    stack.shutdown().await;
    assert_eq!(verdicts(&cases, "fail"), ["RS-WIRE-01"], "a 2026-07-28 defect fails its case live");

    let port = free_port();
    let stack = reference_stack(port, Defects::of([Defect::SkipAudienceCheck])).await;
    let args = vec!["--url".into(), stack.mcp_url.clone(), "--as-port".into(), port.to_string()];
    let (code, cases, _) = test_server(args).await;
    stack.shutdown().await;
    let failed = verdicts(&cases, "fail");
    assert!(failed.contains(&"RS-AUD-01") && failed.contains(&"RS-AUD-02"), "{failed:?}");
    assert!(failed.iter().all(|id| id.starts_with("RS-AUD") || *id == "RS-VAL-10"), "{failed:?}");
    assert_eq!(code, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revision_picks_the_era_of_a_dual_era_server() {
    // Graded by 2026-07-28 alone, the whole catalog speaks the stateless wire: the
    // session cases do not apply, every other case passes, each graded by 2026-07-28;
    // a defect of the server's per-request checks fails over that wire too.
    for (defects, failing) in [
        (Defects::none(), vec![]),
        (Defects::of([Defect::SkipAudienceCheck]), vec!["RS-AUD-01", "RS-AUD-02"]),
    ] {
        let port = free_port();
        let stack = reference_stack(port, defects).await;
        let args = vec![
            "--url".into(),
            stack.mcp_url.clone(),
            "--as-port".into(),
            port.to_string(),
            "--revision".into(),
            "2026-07-28".into(),
        ];
        let (_, cases, stderr) = test_server(args).await;
        stack.shutdown().await;
        assert!(stderr.contains("graded by 2026-07-28 alone (--revision)"), "{stderr}");
        let skipped = [
            "RS-HANDLE-01",
            "RS-HANDLE-02",
            "RS-PASS-01",
            "RS-SCOPE-05",
            "RS-SCOPE-06",
            "RS-SESS-01",
            "RS-SESS-02",
            "RS-SESS-03",
            "RS-STATE-01",
            "RS-WIRE-05",
            "RS-WIRE-06",
            "RS-WIRE-08",
        ];
        assert_eq!(verdicts(&cases, "skip"), skipped);
        assert!(cases.iter().filter(|c| c["verdict"] != "skip").all(|c| c["revision"] == "2026-07-28"));
        let failed = verdicts(&cases, "fail");
        assert!(failing.iter().all(|id| failed.contains(id)), "{failed:?} lacks {failing:?}");
        assert_eq!(failed.is_empty(), failing.is_empty(), "{failed:?}");
        assert!(verdicts(&cases, "error").is_empty(), "{cases:#?}");
    }
    // A revision the server does not speak is refused, saying what it speaks.
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(401)).mount(&server).await;
    let args = ["--url", &format!("{}/mcp", server.uri()), "--as-port", "0", "--revision", "nope"];
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-authz")).arg("test-server").args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown MCP revision `nope`"));
}

/// Every case of a run against `template` is `error`, its detail containing `reason`.
async fn hostile(template: ResponseTemplate, reason: &str) {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(template).mount(&server).await;
    let args = ["--url", &format!("{}/mcp", server.uri()), "--as-port", "0", "--request-timeout", "1"];
    let (code, cases, stderr) = test_server(args.map(String::from).to_vec()).await;
    assert_eq!(code, Some(2), "undecided cases exit 2: {stderr}");
    assert_eq!(verdicts(&cases, "error").len(), cases.len(), "{cases:#?}");
    let detail = cases[0]["detail"].as_str().unwrap_or("");
    assert!(detail.contains(reason), "`{reason}` not in: {detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_target_is_an_error() {
    hostile(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(30)), "timed out").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_answering_garbage_is_an_error() {
    hostile(ResponseTemplate::new(200).set_body_string("\u{0}garbage"), "content-type").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirecting_target_is_an_error() {
    let redirect = ResponseTemplate::new(307).insert_header("location", "http://127.0.0.1:1/elsewhere");
    hostile(redirect, "it does not redirect").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_headers_and_bodies_are_errors() {
    let header = "x".repeat(512 * 1024);
    hostile(ResponseTemplate::new(200).insert_header("x-huge", header.as_str()), "").await;
    hostile(ResponseTemplate::new(200).set_body_string("x".repeat(3 * 1024 * 1024)), "bytes").await;
}
