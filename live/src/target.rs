//! How a live run reaches the server under test. A [`Connect`] opens one connection per
//! case: a function that sends one request and returns the answer, or the transport
//! failure (timeout, refused connection, oversized body) that makes the case `error`.
//!
//! - [`over_http`]: a server anywhere, over real HTTP: per-request timeout, size-limited
//!   bodies, no redirects followed, and a deadline for the whole case.
//! - [`in_process`]: a Rust server's axum `Router` or any tower `Service`, called
//!   in-process — no ports, no sockets for the server under test.
//!
//! Both block on `handle`: call them from a thread outside the runtime (a plain thread,
//! `spawn_blocking`, or a synchronous test).

use crate::fetch::{AddressPolicy, Fetcher};
use crate::serve::system_now;
use axum::body::{Body, HttpBody};
use http_body_util::BodyExt as _;
use mcp_authz_reference::Error;
use mcp_authz_reference::sans_io::{Connection, FetchError, FetchResult, Request};
use std::fmt::Display;
use std::rc::Rc;
use std::time::Duration;
use tokio::runtime::Handle;
use tower::ServiceExt as _;

/// Opens a connection for one case.
pub type Connect = Rc<dyn Fn() -> Box<dyn FnMut(Request) -> FetchResult>>;

/// Limits of a live run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest wait for one answer.
    pub request_timeout: Duration,
    /// Longest a whole case may take; later requests fail at once.
    pub case_timeout: Duration,
    /// Largest body accepted.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(10),
            case_timeout: Duration::from_secs(60),
            max_body: 1024 * 1024,
        }
    }
}

/// Reaches the server under test over real HTTP, within `limits`.
pub fn over_http(handle: Handle, limits: Limits) -> Result<Connect, Error> {
    let fetcher = Fetcher::new(AddressPolicy::Any, limits.request_timeout, limits.max_body)?;
    Ok(Rc::new(move || {
        let fetcher = fetcher.clone();
        let handle = handle.clone();
        let mut deadline = Deadline::new(limits.case_timeout);
        Box::new(move |req: Request| {
            deadline.check(&req)?;
            handle.block_on(fetcher.fetch(req))
        })
    }))
}

/// Calls `service` (an axum `Router`, or any tower `Service` of HTTP requests) in-process
/// for each request, within `limits`.
pub fn in_process<S, B>(service: S, handle: Handle, limits: Limits) -> Connect
where
    S: tower::Service<http::Request<Body>, Response = http::Response<B>> + Clone + 'static,
    S::Error: Display,
    B: HttpBody,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connections = Rc::new(std::cell::Cell::new(0u64));
    Rc::new(move || {
        let service = service.clone();
        let handle = handle.clone();
        let mut deadline = Deadline::new(limits.case_timeout);
        // One connection per case, as a case's HTTP client keeps one alive.
        connections.set(connections.get() + 1);
        let connection = Connection(format!("in-process-{}", connections.get()));
        Box::new(move |mut req: Request| {
            deadline.check(&req)?;
            req.extensions_mut().insert(connection.clone());
            let url = req.uri().to_string();
            let fail = |reason: String| FetchError { url: url.clone(), reason };
            let call = async {
                let resp =
                    service.clone().oneshot(req.map(Body::from)).await.map_err(|e| fail(e.to_string()))?;
                let (parts, body) = resp.into_parts();
                let body = http_body_util::Limited::new(body, limits.max_body)
                    .collect()
                    .await
                    .map_err(|e| fail(format!("cannot read the body: {e}")))?
                    .to_bytes();
                Ok(http::Response::from_parts(parts, body))
            };
            handle.block_on(async {
                tokio::time::timeout(limits.request_timeout, call)
                    .await
                    .unwrap_or_else(|_| Err(fail(format!("no answer within {:?}", limits.request_timeout))))
            })
        })
    })
}

/// The end of a case's time.
struct Deadline {
    at: mcp_authz_reference::sans_io::Time,
    budget: Duration,
}

impl Deadline {
    fn new(budget: Duration) -> Self {
        Deadline { at: system_now().plus(budget), budget }
    }

    fn check(&mut self, req: &Request) -> Result<(), FetchError> {
        if system_now() > self.at {
            return Err(FetchError {
                url: req.uri().to_string(),
                reason: format!("the case ran out of time ({:?} for all its requests)", self.budget),
            });
        }
        Ok(())
    }
}

/// Completes an authorization outside the harness: given the authorization URL, returns
/// the URL the AS finally redirected to (with `code` or `error`), or why not.
pub type Authorize = Rc<dyn Fn(&str) -> Result<String, String>>;

/// A command that runs `command` with `sh -c`, `arg` appended as its last argument
/// (quoted: `sh -c 'COMMAND "$1"' NAME ARG`, so a URL with `&` or `;` stays one
/// argument). `name` is the shell's `$0`, shown by `ps`.
pub fn shell_command_with_arg(command: &str, name: &str, arg: &str) -> std::process::Command {
    let mut c = std::process::Command::new("sh");
    c.arg("-c").arg(format!("{command} \"$1\"")).arg(name).arg(arg);
    c
}

/// An [`Authorize`] that runs `command` (with `sh -c`) with the authorization URL as its
/// last argument and reads the redirect URL from the last line it prints; killed after
/// `timeout`. For logins no form recipe can do: a script driving a real browser, say.
pub fn authorize_hook(command: String, timeout: Duration) -> Authorize {
    Rc::new(move |url: &str| {
        let mut child = shell_command_with_arg(&command, "mcp-authz-authorize-hook", url)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run `{command}`: {e}"))?;
        let deadline = system_now().plus(timeout);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if system_now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("`{command}` did not finish within {timeout:?}"));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("waiting for `{command}`: {e}")),
            }
        }
        let out = child.wait_with_output().map_err(|e| format!("reading `{command}`'s output: {e}"))?;
        if !out.status.success() {
            return Err(format!("`{command}` failed ({})", out.status));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout.lines().map(str::trim).rfind(|l| !l.is_empty());
        last.map(String::from).ok_or_else(|| format!("`{command}` printed no redirect URL"))
    })
}
