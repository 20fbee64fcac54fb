//! A third-party authorization server in our CI: `interop/oidc-provider/server.mjs`
//! (npm `oidc-provider`, configured OAuth 2.1 style: code + PKCE S256, DCR, resource
//! indicators with JWT access tokens, refresh rotation). `mcp-authz test-as` runs every
//! AS scenario against it, signing in through its login and consent forms and allowed to
//! flood its registration endpoint (`--flood`, AS-REG-02); the findings must be exactly
//! those its baseline lists and explains.
//!
//! Needs Node and `npm ci` in interop/oidc-provider (`.ci/run` does it). Without them the
//! test skips with a message, except under CI (env `CI` set), where it fails.

mod common;

use std::process::Command;

#[test]
fn oidc_provider_findings_match_its_baseline() {
    let Some(dir) = common::node_peer("oidc-provider", "oidc-provider") else { return };
    let (resource, other) = ("http://127.0.0.1:9001/mcp", "http://127.0.0.1:9001/downstream");
    let mut node = Command::new("node");
    node.arg("server.mjs").current_dir(&dir).env("PORT", "0").env("RESOURCES", format!("{resource},{other}"));
    let (_server, issuer) = common::start(node, "issuer ");
    let baseline = dir.join("baseline.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
        .args(["test-as", "--issuer", &issuer, "--resource", resource, "--other-resource", other])
        .args(["--login", "alice:alice", "--flood", "--format", "json"])
        .arg("--baseline")
        .arg(&baseline)
        .output()
        .expect("mcp-authz runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let cases: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a json report");
    let cases = cases.as_array().expect("cases");
    let catalog = mcp_authz_scenarios::catalog();
    let all_as = catalog.iter().filter(|s| s.meta.id.starts_with("AS-")).count();
    assert_eq!(cases.len(), all_as, "every AS scenario runs");
    let errors: Vec<&serde_json::Value> = cases.iter().filter(|c| c["verdict"] == "error").collect();
    assert!(errors.is_empty(), "no case may be undecided: {errors:#?}");
    assert_eq!(out.status.code(), Some(0), "the findings differ from {}:\n{stderr}", baseline.display());
}
