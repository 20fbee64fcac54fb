//! A third-party MCP server in our CI: `interop/typescript-sdk/server.mjs`, on the
//! official TypeScript SDK with its bearer-auth middleware, verifying JWTs with `jose`
//! against the harness's JWKS. `mcp-authz test-server` runs every MCP server scenario
//! against it; the findings must be exactly those its baseline lists and explains.
//!
//! Needs Node and `npm ci` in interop/typescript-sdk (`.ci/run` does it). Without them
//! the test skips with a message, except under CI (env `CI` set), where it fails.

mod common;

use std::process::Command;

#[test]
fn typescript_sdk_server_findings_match_its_baseline() {
    let Some(dir) = common::node_peer("typescript-sdk", "@modelcontextprotocol/sdk") else { return };
    let as_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut node = Command::new("node");
    node.arg("server.mjs")
        .current_dir(&dir)
        .env("PORT", "0")
        .env("ISSUER", format!("http://127.0.0.1:{as_port}"));
    let (_server, url) = common::start(node, "listening on ");
    let baseline = dir.join("baseline.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
        .args(["test-server", "--url", &url, "--as-port", &as_port.to_string()])
        .args(["--scopes", "echo=mcp:read,write_note=mcp:write", "--format", "json"])
        .arg("--baseline")
        .arg(&baseline)
        .output()
        .expect("mcp-authz runs");
    common::assert_matches_baseline(&out, &baseline);
}
