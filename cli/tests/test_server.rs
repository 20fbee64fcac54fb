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

/// The state folder of the runs here (the harness's kept keys), not the user's.
fn state_home() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mcp-authz-test-server-state-{}", std::process::id()))
}

/// `mcp-authz test-server ARGS` with the state folder of [`state_home`].
fn command(args: &[String]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mcp-authz"));
    c.env("XDG_STATE_HOME", state_home()).arg("test-server").args(args);
    c
}

/// Runs `mcp-authz test-server ARGS --format json` off the runtime; `(exit code, cases)`.
async fn test_server(args: Vec<String>) -> (Option<i32>, Vec<Value>, String) {
    let out = tokio::task::spawn_blocking(move || {
        command(&args).args(["--format", "json"]).output().expect("mcp-authz runs")
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
        dpop_nonce: true,
        ..StackOptions::default()
    };
    Stack::start(&opts).await.expect("stack")
}

/// The reference stack as `mcp-authz serve --alg rs256` starts it: its AS signs with
/// RS256 and its MCP server accepts RS256 only, as many verifiers pinned to their
/// identity provider's algorithm do.
async fn rs256_pinned_stack(as_port_of_harness: u16) -> Stack {
    let opts = StackOptions {
        as_port: 0,
        rs_port: 0,
        alg: mcp_authz_reference::jwt::Algorithm::RS256,
        pin_alg: true,
        also_trust: vec![format!("http://127.0.0.1:{as_port_of_harness}")],
        ..StackOptions::default()
    };
    Stack::start(&opts).await.expect("stack")
}

/// `(id, verdict)` of every case.
fn outcome(cases: &[Value]) -> Vec<(String, String)> {
    cases.iter().map(|c| (c["id"].as_str().unwrap().into(), c["verdict"].as_str().unwrap().into())).collect()
}

fn url_and_port(stack: &Stack, port: u16) -> Vec<String> {
    vec!["--url".into(), stack.mcp_url.clone(), "--as-port".into(), port.to_string()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_algorithm_passes_what_es256_passes_and_a_pinned_verifier_names_its_own() {
    let port = free_port();
    let stack = reference_stack(port, Defects::none()).await;
    let (code, es256, stderr) = test_server(url_and_port(&stack, port)).await;
    assert_eq!(code, Some(0), "{stderr}");
    for alg in ["rs256", "ps256", "eddsa"] {
        let mut args = url_and_port(&stack, port);
        args.extend(["--alg".into(), alg.into()]);
        let (code, cases, stderr) = test_server(args).await;
        assert_eq!(code, Some(0), "{alg}: {stderr}");
        assert_eq!(outcome(&cases), outcome(&es256), "{alg} passes what es256 passes");
        assert!(
            stderr.contains(&format!("alg       {}", alg.to_ascii_uppercase().replace("EDDSA", "EdDSA"))),
            "{stderr}"
        );
    }
    stack.shutdown().await;

    // `serve --alg rs256`, its MCP server pinned to RS256: --alg rs256 passes everything
    // es256 passed against the unpinned server.
    let port = free_port();
    let stack = rs256_pinned_stack(port).await;
    let mut args = url_and_port(&stack, port);
    args.extend(["--alg".into(), "rs256".into()]);
    let (code, cases, stderr) = test_server(args).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(outcome(&cases), outcome(&es256));

    // The default es256: one setup message naming RS256, exit 2; each case `error`
    // with the cause, the message itself said once.
    let (code, cases, stderr) = test_server(url_and_port(&stack, port)).await;
    let expected = "refused ES256 tokens and accepted RS256: run with --alg rs256";
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.matches(expected).count(), 1, "said once: {stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(
        stderr.contains("alg `ES256` is not allowed, expected one of RS256"),
        "what the server said is shown: {stderr}"
    );
    assert_eq!(verdicts(&cases, "error").len(), cases.len());
    assert!(cases.iter().all(|c| c["detail"].as_str().unwrap().contains(expected)), "{cases:#?}");
    // The text report says it once too, and JUnit stays valid XML with every case an error.
    let out = command(&url_and_port(&stack, port)).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text.matches(expected).count(), 1, "{text}");
    assert_eq!(String::from_utf8_lossy(&out.stderr).matches(expected).count(), 0);
    let mut args = url_and_port(&stack, port);
    args.extend(["--format".into(), "junit".into()]);
    let out = command(&args).output().unwrap();
    let junit = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2));
    assert!(junit.starts_with("<?xml") && junit.matches("<error").count() == cases.len(), "{junit}");
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_to_back_runs_sign_under_the_same_kid_and_agree() {
    // The reference server refetches its JWKS for an unknown kid at most once a minute:
    // a run signing with a new key right after another gets nothing but errors.
    let port = free_port();
    let stack = reference_stack(port, Defects::none()).await;
    let state = state_home().join("back-to-back");
    let mut args = url_and_port(&stack, port);
    args.extend(["--state-dir".into(), state.display().to_string()]);
    let kid = |stderr: &str| {
        stderr.lines().find_map(|l| l.split("kid ").nth(1)).map(|k| k.split(' ').next().unwrap().to_string())
    };
    let (code, first, stderr1) = test_server(args.clone()).await;
    assert_eq!(code, Some(0), "{stderr1}");
    let (code, second, stderr2) = test_server(args.clone()).await;
    assert_eq!(code, Some(0), "{stderr2}");
    assert_eq!(outcome(&first), outcome(&second));
    assert!(kid(&stderr1).is_some());
    assert_eq!(kid(&stderr1), kid(&stderr2), "{stderr1}\n{stderr2}");
    assert!(stderr2.contains("kept from an earlier run"), "{stderr2}");
    let key = state.join("test-server-es256.pem");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);

    // A new key the server has not fetched yet: the cause named is its key cache.
    args.push("--rotate-key".into());
    let (code, cases, stderr) = test_server(args).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert_ne!(kid(&stderr), kid(&stderr1));
    assert!(stderr.contains("does not know the harness's key"), "{stderr}");
    assert_eq!(verdicts(&cases, "error").len(), cases.len());

    // --key-file chooses the file; --print-config names the algorithm and kid.
    let file = state.join("mine.pem");
    let mut args = url_and_port(&stack, port);
    args.extend([
        "--alg".into(),
        "eddsa".into(),
        "--key-file".into(),
        file.display().to_string(),
        "--print-config".into(),
    ]);
    let printed = |args: &[String]| -> Value {
        serde_json::from_slice(&command(args).output().unwrap().stdout).unwrap()
    };
    let config = printed(&args);
    assert_eq!(config["algorithm"], "EdDSA");
    assert!(file.exists());
    assert_eq!(printed(&args)["kid"], config["kid"]);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hmac_secret_the_server_does_not_share_is_named_with_what_it_accepts() {
    // The reference server accepts asymmetric keys only: HS256 tokens are refused, and
    // the probe finds the keys it does take.
    let port = free_port();
    let stack = reference_stack(port, Defects::none()).await;
    let mut args = url_and_port(&stack, port);
    args.extend(["--hmac-secret".into(), "a shared secret of thirty-two bytes".into()]);
    let (code, cases, stderr) = test_server(args).await;
    stack.shutdown().await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("alg       HS256, kid mcp-authz-hs256 (the secret of --hmac-secret)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "refused HS256 tokens and accepted ES256, RS256, PS256 and EdDSA: run with --alg es256"
        ) && stderr.contains("without --hmac-secret"),
        "{stderr}"
    );
    assert_eq!(verdicts(&cases, "error").len(), cases.len());
    let out = command(&[
        "--hmac-secret".into(),
        "s".into(),
        "--alg".into(),
        "rs256".into(),
        "--url".into(),
        "http://127.0.0.1:1/mcp".into(),
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"), "{out:?}");
}

/// The setup message of a run against a server answering every request with `template`.
async fn setup_message(template: ResponseTemplate) -> String {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(template).mount(&server).await;
    let args = ["--url", &format!("{}/mcp", server.uri()), "--as-port", "0"];
    let (code, cases, stderr) = test_server(args.map(String::from).to_vec()).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(verdicts(&cases, "error").len(), cases.len());
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_no_probe_gets_past_names_what_it_says_or_what_was_seen() {
    let refusal = |description: &str| {
        let challenge = format!(r#"Bearer error="invalid_token", error_description="{description}""#);
        ResponseTemplate::new(401).insert_header("www-authenticate", challenge.as_str())
    };
    let stderr = setup_message(refusal("aud claim mismatch")).await;
    assert!(
        stderr.contains("every probe") && stderr.contains("the likely cause is the audience"),
        "{stderr}"
    );
    let stderr = setup_message(refusal("unexpected iss claim value")).await;
    assert!(stderr.contains("the likely cause is the issuer"), "{stderr}");
    let stderr = setup_message(refusal("signature verification failed")).await;
    assert!(stderr.contains("it never fetched the keys at"), "{stderr}");
    assert!(stderr.contains(r#"error_description="signature verification failed""#), "{stderr}");
}

#[test]
fn help_explains_the_key_options() {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-authz")).args(["test-server", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for option in ["--alg", "--hmac-secret", "--key-file", "--rotate-key", "--state-dir"] {
        assert!(help.contains(option), "{option} in:\n{help}");
    }
    assert!(help.contains("rs256") && help.contains("ps256") && help.contains("eddsa"), "{help}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_server_passes_live_and_a_defect_fails_the_right_cases() {
    let port = free_port();
    let stack = reference_stack(port, Defects::none()).await;
    let args =
        vec!["--url".into(), stack.mcp_url.clone(), "--as-port".into(), port.to_string(), "--dpop".into()];
    let (code, cases, stderr) = test_server(args).await;
    stack.shutdown().await;
    assert_eq!(cases.len(), 59, "every MCP server scenario runs");
    let dpop: Vec<&str> =
        verdicts(&cases, "pass").into_iter().filter(|id| id.starts_with("RS-DPOP")).collect();
    assert_eq!(dpop.len(), 11, "with --dpop the DPoP cases run and pass: {cases:#?}");
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
            "RS-DPOP-01",
            "RS-DPOP-02",
            "RS-DPOP-03",
            "RS-DPOP-04",
            "RS-DPOP-05",
            "RS-DPOP-06",
            "RS-DPOP-07",
            "RS-DPOP-08",
            "RS-DPOP-09",
            "RS-DPOP-10",
            "RS-DPOP-11",
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
    let out = command(&args.map(String::from)).output().unwrap();
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
    assert_eq!(stderr.matches("error:").count(), 1, "one setup failure, one message: {stderr}");
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
