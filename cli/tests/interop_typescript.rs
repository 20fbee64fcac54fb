//! A third-party MCP server in our CI: `interop/typescript-sdk/server.mjs`, on the
//! official TypeScript SDK with its bearer-auth middleware, verifying JWTs with `jose`
//! against the harness's JWKS. `mcp-authz test-server` runs every MCP server scenario
//! against it; the findings must be exactly those its baseline lists and explains.
//!
//! Needs Node and `npm ci` in interop/typescript-sdk (`.ci/run` does it). Without them
//! the test skips with a message, except under CI (env `CI` set), where it fails.

mod common;

#[test]
fn typescript_sdk_server_findings_match_its_baseline() {
    let Some(dir) = common::node_peer("typescript-sdk", "@modelcontextprotocol/sdk") else { return };
    let (out, baseline) = common::test_node_server(&dir, "echo=mcp:read,write_note=mcp:write");
    common::assert_matches_baseline(&out, &baseline);
}
