//! `test-server --token-command CMD`: real tokens from the identity provider the server
//! under test trusts, got by a command of the operator's. The harness runs `sh -c CMD`
//! with `MCP_AUTHZ_RESOURCE`, `MCP_AUTHZ_SCOPE`, `MCP_AUTHZ_PRINCIPAL` (`alice` or
//! `mallory`) and `MCP_AUTHZ_URL` (the server under test) in its environment and stdin
//! closed, and reads the token from the last line
//! of its stdout. Its output is never shown: when it fails, the error names its exit
//! status and the end of its stderr, with every credential in it redacted.

use mcp_authz_live::serve::system_now;
use mcp_authz_live::tokens::{GetToken, TokenRequest};
use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one run of the command may take (a device-code login waits for a person).
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The environment variables the command is given.
pub const RESOURCE_ENV: &str = "MCP_AUTHZ_RESOURCE";
/// The scopes, space-separated; empty for none.
pub const SCOPE_ENV: &str = "MCP_AUTHZ_SCOPE";
/// `alice`, or `mallory` for the second user of the cross-user cases.
pub const PRINCIPAL_ENV: &str = "MCP_AUTHZ_PRINCIPAL";
/// The MCP endpoint under test (`--url`), whose 401 a client starts from.
pub const URL_ENV: &str = "MCP_AUTHZ_URL";

/// Gets tokens for the server at `url` by running `command` (each run killed after
/// `timeout`).
pub fn get_token(command: String, url: String, timeout: Duration) -> GetToken {
    GetToken::new(move |request| run(&command, &url, request, timeout))
}

/// What one run of the command printed, and how it ended.
struct Ran {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// `None` when it was killed for taking longer than the timeout.
    status: Option<std::process::ExitStatus>,
}

/// Runs `command` for `request`: the last non-empty line of its stdout, or why there is
/// none.
fn run(command: &str, url: &str, request: &TokenRequest, timeout: Duration) -> Result<String, String> {
    let what = format!(
        "--token-command for resource {}, scope `{}`, user {}",
        request.resource, request.scope, request.principal
    );
    let ran = spawn_and_wait(command, url, request, timeout).map_err(|e| format!("{what}: {e}"))?;
    let stdout = String::from_utf8_lossy(&ran.stdout);
    let last = stdout.lines().map(str::trim).rfind(|l| !l.is_empty()).map(String::from);
    let said = stderr_tail(&ran.stderr, last.as_deref());
    match ran.status {
        None => Err(format!("{what} did not finish within {} s: killed{said}", timeout.as_secs())),
        Some(status) if !status.success() => Err(format!("{what} failed ({status}){said}")),
        Some(_) => match last {
            Some(token) if !token.contains(char::is_whitespace) => Ok(token),
            Some(_) => Err(format!(
                "{what}: the last line of its stdout is not a token (it holds spaces); expected the access \
                 token alone{said}"
            )),
            None => Err(format!(
                "{what} printed nothing on stdout; expected the access token on its last line{said}"
            )),
        },
    }
}

/// Starts the command in a process group of its own and waits for it, killing the
/// group after `timeout`.
fn spawn_and_wait(
    command: &str,
    url: &str,
    request: &TokenRequest,
    timeout: Duration,
) -> Result<Ran, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .arg("mcp-authz-token-command")
        .env(RESOURCE_ENV, &request.resource)
        .env(SCOPE_ENV, &request.scope)
        .env(PRINCIPAL_ENV, request.principal.to_string())
        .env(URL_ENV, url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run `sh -c`: {e}"))?;
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        let out = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&out);
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            if let Ok(mut kept) = kept.lock() {
                *kept = buf;
            }
        });
        (out, reader)
    };
    let (stdout, out_reader) = read(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let (stderr, err_reader) = read(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = system_now().plus(timeout);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if system_now() > deadline => {
                kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                kill_group(child.id());
                return Err(format!("cannot wait for it: {e}"));
            }
        }
    };
    // What it left running would hold its output open: it goes too.
    kill_group(child.id());
    let _ = (out_reader.join(), err_reader.join());
    let take = |b: &Arc<Mutex<Vec<u8>>>| b.lock().map(|mut b| std::mem::take(&mut *b)).unwrap_or_default();
    Ok(Ran { stdout: take(&stdout), stderr: take(&stderr), status })
}

/// `; its stderr ended: …` with the last three lines of `stderr`, every credential in
/// them (and `printed`, what it put on stdout) redacted; empty when it said nothing.
fn stderr_tail(stderr: &[u8], printed: Option<&str>) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
    let tail = match printed.filter(|p| p.len() >= 8) {
        Some(p) => tail.replace(p, "[redacted]"),
        None => tail,
    };
    let tail = crate::redact::text(&tail);
    let tail: String = tail.chars().take(600).collect();
    if tail.is_empty() { String::new() } else { format!("; its stderr ended: {tail}") }
}

/// Kills the process group `id` leads (the command's shell and all it started).
fn kill_group(id: u32) {
    let _ = Command::new("kill").args(["-s", "KILL", "--", &format!("-{id}")]).stderr(Stdio::null()).status();
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_authz_live::tokens::Principal;

    const URL: &str = "http://127.0.0.1:1/mcp";

    fn request(principal: Principal) -> TokenRequest {
        TokenRequest { resource: "http://127.0.0.1:1/mcp".into(), scope: "a b".into(), principal }
    }

    #[test]
    fn the_token_is_the_last_line_and_the_request_is_in_the_environment() {
        let cmd =
            r#"echo "log line"; echo "$MCP_AUTHZ_RESOURCE|$MCP_AUTHZ_SCOPE|$MCP_AUTHZ_PRINCIPAL" | tr ' ' +"#;
        let got = run(cmd, URL, &request(Principal::Mallory), TIMEOUT);
        assert_eq!(got, Ok("http://127.0.0.1:1/mcp|a+b|mallory".to_string()));
    }

    #[test]
    fn a_failure_names_the_status_and_a_redacted_stderr_never_the_stdout() {
        let cmd =
            "echo secret-token-value-1234; echo 'oops: secret-token-value-1234 Bearer abc.def' >&2; exit 3";
        let err = run(cmd, URL, &request(Principal::Alice), TIMEOUT).unwrap_err();
        assert!(err.contains("exit status: 3"), "{err}");
        assert!(err.contains("oops"), "{err}");
        assert!(!err.contains("secret-token-value-1234") && !err.contains("abc.def"), "{err}");
        let err = run("true", URL, &request(Principal::Alice), TIMEOUT).unwrap_err();
        assert!(err.contains("printed nothing"), "{err}");
        let err = run("sleep 5", URL, &request(Principal::Alice), Duration::from_millis(200)).unwrap_err();
        assert!(err.contains("did not finish"), "{err}");
    }
}
