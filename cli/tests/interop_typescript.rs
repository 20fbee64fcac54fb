//! A third-party MCP server in our CI: `interop/typescript-sdk/server.mjs`, on the
//! official TypeScript SDK with its bearer-auth middleware, verifying JWTs with `jose`
//! against the harness's JWKS. `mcp-authz test-server` runs every MCP server scenario
//! against it; the findings must be exactly those its baseline lists and explains.
//!
//! Needs Node and `npm ci` in interop/typescript-sdk (`.ci/run` does it). Without them
//! the test skips with a message, except under CI (env `CI` set), where it fails.

mod common;

/// Two runs back to back against one server: its JWKS client (jose's `createRemoteJWKSet`,
/// which waits 30 s before fetching again) still knows the harness's key, kept between
/// runs, so both runs match the baseline with the same verdicts. With a new key per
/// run, the second got 48 errors.
#[test]
fn typescript_sdk_server_findings_match_its_baseline() {
    let Some(dir) = common::node_peer("typescript-sdk", "@modelcontextprotocol/sdk") else { return };
    let (runs, baseline) = common::test_node_server_runs(&dir, "echo=mcp:read,write_note=mcp:write", &[], 2);
    let verdicts = |out: &std::process::Output| -> Vec<(String, String)> {
        let cases: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a json report");
        let cases = cases.as_array().unwrap().iter();
        cases.map(|c| (c["id"].as_str().unwrap().into(), c["verdict"].as_str().unwrap().into())).collect()
    };
    for out in &runs {
        common::assert_matches_baseline(out, &baseline);
    }
    assert_eq!(verdicts(&runs[0]), verdicts(&runs[1]), "back to back, the same verdicts");
}

/// `mcp-authz scan` from outside, the server trusting an authorization server of its own
/// (`mcp-authz serve`'s): the findings are those `scan-baseline.txt` lists and explains.
#[test]
fn typescript_sdk_server_scan_matches_its_baseline() {
    let Some(dir) = common::node_peer("typescript-sdk", "@modelcontextprotocol/sdk") else { return };
    let (out, baseline) = common::scan_node_server(&dir);
    common::assert_matches_baseline(&out, &baseline);
}
