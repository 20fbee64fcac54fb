//! An independent client: `interop/python/plain_http_flow.py` (standard library only,
//! written from the specs, not from this code) speaks plain HTTP to
//! `mcp-authz serve --auto-approve`, completes register → authorize → token →
//! tools/call → refresh, and checks each rejection.

mod common;

use std::process::Command;

#[test]
fn plain_http_python_client_completes_the_flow_and_sees_every_rejection() {
    let mut serve = Command::new(env!("CARGO_BIN_EXE_mcp-authz"));
    serve.args(["serve", "--auto-approve", "--as-port", "0", "--rs-port", "0"]);
    let (_server, mcp_url) = common::start(serve, "MCP server");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/python/plain_http_flow.py");
    let out = Command::new("python3").args([script, "--mcp-url", &mcp_url]).output().expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let last = stdout.lines().last().unwrap_or_default();
    assert!(out.status.success(), "the script reported failures: {last}");
    assert!(last.ends_with(" 0 failed") && !last.starts_with("0 passed"), "unexpected summary: {last}");
}
