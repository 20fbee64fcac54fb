//! An independent client: `interop/python/plain_http_flow.py` (standard library only,
//! written from the specs, not from this code) speaks plain HTTP to
//! `mcp-authz serve --auto-approve`, completes register → authorize → token →
//! tools/call → refresh, and checks each rejection.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn plain_http_python_client_completes_the_flow_and_sees_every_rejection() {
    let mut server = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
            .args(["serve", "--auto-approve", "--as-port", "0", "--rs-port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("mcp-authz serve starts"),
    );
    let stdout = server.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep reading the banner to its end, so the server never writes into a closed pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("MCP server") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let mcp_url =
        rx.recv_timeout(std::time::Duration::from_secs(60)).expect("serve prints the MCP server URL");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/python/plain_http_flow.py");
    let out = Command::new("python3").args([script, "--mcp-url", &mcp_url]).output().expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let last = stdout.lines().last().unwrap_or_default();
    assert!(out.status.success(), "the script reported failures: {last}");
    assert!(last.ends_with(" 0 failed") && !last.starts_with("0 passed"), "unexpected summary: {last}");
}
