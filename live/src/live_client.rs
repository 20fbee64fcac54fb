//! Runs the reference MCP client against live servers: its requests go out through a
//! [`Fetcher`], and its authorization requests go to a user agent ([`FrontChannel`]).

use crate::fetch::Fetcher;
use crate::serve::{os_rng, system_now};
use mcp_authz_reference::Error;
use mcp_authz_reference::client::{ClientStep, ConfidentialClient, Outcome, PublicClient};
use mcp_authz_reference::sans_io::Env;
use mcp_authz_sim::driver::{Next, Run};
use rand_chacha::ChaCha20Rng;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How the authorization request reaches the authorization server and how its
/// redirect comes back.
pub enum FrontChannel {
    /// The harness plays the user agent: it GETs the authorization URL and follows the
    /// AS's redirects until one goes to the redirect URI. Works with an AS that
    /// approves without a form (`mcp-authz serve --auto-approve`).
    Follow,
    /// A person opens the URL in a browser; the harness waits for the redirect on a
    /// loopback listener (RFC 8252 §7.3) bound before the flow starts.
    Person(tokio::net::TcpListener),
}

impl FrontChannel {
    /// A [`FrontChannel::Person`] listening on a port the OS picks, and the redirect URI
    /// that goes with it.
    pub async fn person() -> std::io::Result<(Self, String)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let uri = format!("http://127.0.0.1:{}/callback", listener.local_addr()?.port());
        Ok((FrontChannel::Person(listener), uri))
    }

    /// Takes the authorization `url` through the user agent and returns the URL the AS
    /// finally redirected to (which starts with `redirect_uri`).
    pub async fn authorize(&self, url: &str, redirect_uri: &str, fetcher: &Fetcher) -> Result<String, Error> {
        match self {
            FrontChannel::Follow => follow(url, redirect_uri, fetcher).await,
            FrontChannel::Person(listener) => {
                match std::env::var("BROWSER").ok().filter(|b| !b.trim().is_empty()) {
                    Some(browser) => open_with(&browser, url)?,
                    None => tell!("Open this URL in a browser to authorize:\n\n  {url}\n"),
                }
                tell!("Waiting for the redirect to {redirect_uri} ...");
                wait_for_redirect(listener, redirect_uri).await
            }
        }
    }
}

/// Opens `url` with the user's browser command (env `BROWSER`, run with `sh -c`, the URL
/// as its last argument), without waiting for it.
fn open_with(browser: &str, url: &str) -> Result<(), Error> {
    tell!("Opening the authorization URL with `{browser}`");
    crate::target::shell_command_with_arg(browser, "mcp-authz-browser", url)
        .stdin(std::process::Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| Error::Config(format!("cannot run the browser `{browser}`: {e}")))
}

async fn follow(url: &str, redirect_uri: &str, fetcher: &Fetcher) -> Result<String, Error> {
    let mut current = url::Url::parse(url).map_err(|e| Error::malformed("authorization url", e))?;
    for _ in 0..5 {
        let req = http::Request::get(current.as_str())
            .header(http::header::ACCEPT, "text/html")
            .body(bytes::Bytes::new())
            .map_err(|e| Error::malformed("authorization url", e))?;
        let resp = fetcher.fetch(req).await?;
        if !resp.status().is_redirection() {
            return Err(Error::Refused(format!(
                "the authorization server answered {} instead of redirecting (a login or consent page?); \
                 start it with --auto-approve, or use --browser to sign in yourself",
                resp.status()
            )));
        }
        let location = resp
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Missing("Location header on the authorization redirect".into()))?;
        let next = current.join(location).map_err(|e| Error::malformed("redirect location", e))?;
        if next.as_str().starts_with(redirect_uri) {
            return Ok(next.to_string());
        }
        current = next;
    }
    Err(Error::Refused("more than 5 redirects before reaching the redirect uri".into()))
}

async fn wait_for_redirect(listener: &tokio::net::TcpListener, redirect_uri: &str) -> Result<String, Error> {
    let io = |e: std::io::Error| Error::Fetch { url: redirect_uri.to_string(), reason: e.to_string() };
    let base = url::Url::parse(redirect_uri).map_err(|e| Error::malformed("redirect uri", e))?;
    loop {
        let (mut sock, _) = listener.accept().await.map_err(io)?;
        let mut buf = vec![0u8; 8192];
        let n = sock.read(&mut buf).await.map_err(io)?;
        let head = String::from_utf8_lossy(&buf[..n]);
        let target = head.lines().next().and_then(|l| l.split(' ').nth(1)).unwrap_or("");
        let Ok(full) = base.join(target) else { continue };
        if full.path() != base.path() {
            let _ = sock
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
            continue;
        }
        let body =
            "<!doctype html><title>mcp-authz</title><p>Authorization received. You can close this window.";
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = sock.write_all(resp.as_bytes()).await;
        return Ok(full.to_string());
    }
}

/// Drives a [`PublicClient`] over real HTTP.
pub struct ClientDriver {
    /// Fetcher for the client's requests.
    pub fetcher: Fetcher,
    /// The user agent for authorization requests.
    pub front: FrontChannel,
    /// The redirect URI the client was configured with.
    pub redirect_uri: String,
    /// Print each request and response status to stderr.
    pub verbose: bool,
    rng: ChaCha20Rng,
}

impl ClientDriver {
    /// A driver with an OS-seeded RNG.
    pub fn new(fetcher: Fetcher, front: FrontChannel, redirect_uri: String) -> Self {
        ClientDriver { fetcher, front, redirect_uri, verbose: false, rng: os_rng() }
    }

    /// Runs `start` (a call such as `|c, env| c.start(op, env)`) to completion: the
    /// simulator's [`Run`] over real HTTP, with [`ClientDriver::front`] as the user agent.
    pub async fn run(
        &mut self,
        client: &mut PublicClient,
        start: impl FnOnce(&mut PublicClient, &mut Env<'_>) -> ClientStep,
    ) -> Result<Outcome, Error> {
        let mut run = Run::new("client", start(client, &mut Env::new(system_now(), &mut self.rng)));
        loop {
            match run.poll() {
                Next::Send(req) => {
                    let line = format!("{} {}", req.method(), req.uri());
                    let fetched = self.fetcher.fetch(req).await;
                    if self.verbose {
                        match &fetched {
                            Ok(r) => tell!("→ {line} ← {}", r.status()),
                            Err(e) => tell!("→ {line} ← error: {}", e.reason),
                        }
                    }
                    run.on_response(client, fetched, &mut Env::new(system_now(), &mut self.rng));
                }
                Next::Authorize(url) => {
                    if self.verbose {
                        tell!("→ authorize {url}");
                    }
                    let redirect = self.front.authorize(&url, &self.redirect_uri, &self.fetcher).await?;
                    run.on_redirect(client, &redirect, &mut Env::new(system_now(), &mut self.rng));
                }
                Next::Done(outcome) => return Ok(outcome),
                Next::Failed(e) | Next::GaveUp(e) => return Err(e),
            }
        }
    }
}

/// Runs a [`ConfidentialClient`] token request over real HTTP (the simulator's [`Run`]).
pub async fn run_confidential(fetcher: &Fetcher, client: &mut ConfidentialClient) -> Result<Outcome, Error> {
    let mut rng = os_rng();
    let mut run = Run::new("confidential client", client.start(&mut Env::new(system_now(), &mut rng)));
    loop {
        match run.poll() {
            Next::Send(req) => {
                let fetched = fetcher.fetch(req).await;
                run.on_response(client, fetched, &mut Env::new(system_now(), &mut rng));
            }
            Next::Authorize(_) => {
                return Err(Error::Refused("a client-credentials client asked for a user agent".into()));
            }
            Next::Done(outcome) => return Ok(outcome),
            Next::Failed(e) | Next::GaveUp(e) => return Err(e),
        }
    }
}
