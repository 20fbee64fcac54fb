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
pub fn start(mut command: Command, prefix: &'static str) -> (Peer, String) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("the peer starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(prefix) {
                let _ = tx.send(rest.trim().to_string());
            }
        }
    });
    let found = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("no `{prefix}` line"));
    (Peer(child), found)
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
