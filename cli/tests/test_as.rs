//! `mcp-authz test-as` with `--authorize-hook`: the authorization runs in an outside
//! command (here curl following the auto-approving reference AS's one redirect), the
//! scenarios that need the front channel or the login pages are skipped, the rest pass;
//! and a hook that fails makes the cases that need it `error`, saying why.

use mcp_authz_harness::stack::{Stack, StackOptions};
use serde_json::Value;
use std::process::Command;

async fn test_as(issuer: String, resource: String, hook: &'static str) -> (Option<i32>, Vec<Value>) {
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
            .args(["test-as", "--issuer", &issuer, "--resource", &resource, "--authorize-hook", hook])
            .args(["--hook-timeout", "10", "--format", "json"])
            .output()
            .expect("mcp-authz runs")
    })
    .await
    .expect("joined");
    let cases: Value = serde_json::from_slice(&out.stdout).expect("a json report");
    (out.status.code(), cases.as_array().expect("cases").clone())
}

fn ids<'a>(cases: &'a [Value], verdict: &str) -> Vec<&'a str> {
    cases.iter().filter(|c| c["verdict"] == verdict).filter_map(|c| c["id"].as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorize_hook_completes_the_authorizations() {
    let opts = StackOptions { as_port: 0, rs_port: 0, auto_approve: true, ..StackOptions::default() };
    let stack = Stack::start(&opts).await.expect("stack");
    let curl = r#"curl -s -o /dev/null -w '%{redirect_url}'"#;
    let (code, cases) = test_as(stack.issuer.clone(), stack.mcp_url.clone(), curl).await;
    let mut skipped = ids(&cases, "skip");
    skipped.sort();
    assert_eq!(
        skipped,
        [
            "AS-CODE-01",
            "AS-CODE-02",
            "AS-CODE-04",
            "AS-CODE-08",
            "AS-FRONT-02",
            "AS-FRONT-03",
            "AS-REFRESH-07"
        ],
        "{cases:#?}"
    );
    assert_eq!(ids(&cases, "pass").len(), cases.len() - skipped.len(), "{cases:#?}");
    assert_eq!(code, Some(0));

    let (code, cases) = test_as(stack.issuer.clone(), stack.mcp_url.clone(), "false").await;
    stack.shutdown().await;
    let errors = ids(&cases, "error");
    assert!(errors.contains(&"AS-CODE-05"), "{cases:#?}");
    let detail =
        cases.iter().find(|c| c["id"] == "AS-CODE-05").and_then(|c| c["detail"].as_str()).unwrap_or("");
    assert!(detail.contains("`false` failed"), "{detail}");
    assert_eq!(code, Some(2));
}
