//! A third-party MCP server in our CI: `interop/typescript-sdk-v2/server.mjs`, on the
//! official TypeScript SDK v2 (`@modelcontextprotocol/server` with its Express adapter's
//! bearer-auth middleware and metadata router, per-tool `scopeChallenge: requireScopes(..)`),
//! verifying JWTs with `jose` against the harness's JWKS. It speaks MCP 2026-07-28 and
//! (the SDK's stateless legacy fallback) 2025-11-25. `mcp-authz test-server` runs every MCP
//! server scenario against it; the findings must be exactly those its baseline lists and
//! explains.
//!
//! Needs Node and `npm ci` in interop/typescript-sdk-v2 (`.ci/run` does it). Without them
//! the test skips with a message, except under CI (env `CI` set), where it fails.

mod common;

#[test]
fn typescript_sdk_v2_server_findings_match_its_baseline() {
    let Some(dir) = common::node_peer("typescript-sdk-v2", "@modelcontextprotocol/server") else { return };
    let (out, baseline) = common::test_node_server(&dir, "echo=mcp:read,write_note=mcp:write");
    common::assert_matches_baseline(&out, &baseline);

    // Dual-era: the report's first note names both revisions, and the 2026-07-28 wire
    // cases ran (a server answering no stateless request would have them skipped).
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("protocol: 2025-11-25 (initialize) and 2026-07-28 (stateless requests answered)"),
        "the server speaks both revisions:\n{stderr}"
    );
    let cases: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a json report");
    let wire: Vec<&serde_json::Value> = cases
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with("RS-WIRE-"))
        .collect();
    assert!(!wire.is_empty(), "the catalog has 2026-07-28 wire cases");
    assert!(wire.iter().all(|c| c["verdict"] == "pass"), "every 2026-07-28 wire case passes: {wire:#?}");
}
