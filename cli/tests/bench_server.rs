//! `mcp-authz bench-server` against the reference stack on loopback: every class gets
//! answers, with the status its token deserves.

use mcp_authz_live::stack::{Stack, StackOptions};
use mcp_authz_reference::access_token::{AccessTokenClaims, Audience};
use serde_json::Value;
use std::collections::BTreeMap;

/// `statuses` of the class named `name` in the JSON report, and its request count.
fn class(report: &Value, name: &str) -> (BTreeMap<String, u64>, u64) {
    let c = report["classes"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["class"] == name))
        .unwrap_or_else(|| panic!("no class `{name}` in {report}"));
    let statuses = serde_json::from_value(c["statuses"].clone()).expect("statuses");
    (statuses, c["requests"].as_u64().expect("requests"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_server_measures_each_token_class_against_the_reference_stack() {
    let opts = StackOptions { as_port: 0, rs_port: 0, auto_approve: true, ..StackOptions::default() };
    let stack = Stack::start(&opts).await.expect("stack starts");
    let (issuer, url) = (stack.issuer.clone(), stack.mcp_url.clone());
    let token = stack
        .authorization_server
        .with(|server, env| {
            let now = env.now.unix_secs();
            server.sign_access_token(&AccessTokenClaims {
                iss: issuer,
                sub: Some("alice".into()),
                aud: Audience::one(url.clone()),
                client_id: Some("bench-client".into()),
                scope: Some("mcp:read".into()),
                exp: Some(now + 600),
                iat: Some(now),
                nbf: None,
                jti: Some(format!("bench-{now}")),
                cnf: None,
            })
        })
        .expect("the AS signs");
    let args = ["bench-server", "--url", &url, "--token", &token, "--duration", "1s", "--concurrency", "2"];
    let args: Vec<String> = args.iter().map(|s| s.to_string()).chain(["--json".to_string()]).collect();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_mcp-authz")).args(&args).output().expect("runs")
    })
    .await
    .expect("joined");
    stack.shutdown().await;
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("a json report");
    assert_eq!(report["method"], "tools/list");
    assert_eq!(report["session"], true, "a session was opened with the valid token");
    for (name, status) in
        [("valid token", "200"), ("bad signature", "401"), ("no token", "401"), ("loopback ceiling", "200")]
    {
        let (statuses, requests) = class(&report, name);
        assert!(requests > 0, "{name}: no request answered");
        assert_eq!(statuses.keys().collect::<Vec<_>>(), [status], "{name}: {statuses:?}");
        assert_eq!(statuses[status], requests, "{name}");
    }
    let names: Vec<&str> =
        report["classes"].as_array().expect("classes").iter().filter_map(|c| c["class"].as_str()).collect();
    assert!(!names.contains(&"expired token"), "no expired token can be derived from --token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_server_dpop_sends_a_fresh_proof_with_every_bound_token() {
    // The harness plays the AS on a free port the stack's MCP server trusts; the server
    // requires its own nonce in every proof, which the bench picks up at `initialize`.
    let as_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let opts = StackOptions {
        as_port: 0,
        rs_port: 0,
        also_trust: vec![format!("http://127.0.0.1:{as_port}")],
        dpop_nonce: true,
        ..StackOptions::default()
    };
    let stack = Stack::start(&opts).await.expect("stack starts");
    let url = stack.mcp_url.clone();
    let args =
        ["bench-server", "--url", &url, "--as-port", &as_port.to_string(), "--dpop", "--dpop-alg", "EdDSA"];
    let args: Vec<String> = args
        .iter()
        .map(|s| s.to_string())
        .chain(["--duration", "1s", "--concurrency", "2", "--json"].map(String::from))
        .collect();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_mcp-authz")).args(&args).output().expect("runs")
    })
    .await
    .expect("joined");
    stack.shutdown().await;
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("a json report");
    assert_eq!(report["dpop"], "EdDSA");
    assert_eq!(report["session"], true, "a session was opened with the bound token and a proof");
    // Every valid request is served: each proof is new to the server's replay cache.
    for (name, status) in [
        ("valid token", "200"),
        ("bad signature", "401"),
        ("expired token", "401"),
        ("no token", "401"),
        ("loopback ceiling", "200"),
    ] {
        let (statuses, requests) = class(&report, name);
        assert!(requests > 0, "{name}: no request answered");
        assert_eq!(statuses.keys().collect::<Vec<_>>(), [status], "{name}: {statuses:?}");
        assert_eq!(statuses[status], requests, "{name}");
    }
}
