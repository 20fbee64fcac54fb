//! The client under test as a process of its own (`mcp-authz test-client`).
//!
//! A client scenario runs the client against the simulated world exactly as it runs the
//! reference client: the simulator's hosts answer, the adversary taps and rewrites, the
//! scenario judges by what was sent. Only the client is outside: the harness runs the
//! command with the server URL appended as its last argument (the convention of the
//! official conformance suite), env `MCP_AUTHZ_SCENARIO` set to the scenario ID and
//! `MCP_AUTHZ_STATE_DIR` to a folder it may keep state in (new for each scenario), and
//! serves the client's requests from the simulator while it runs.
//!
//! The client cannot reach `https://as.example`: every `https://….example` origin the
//! world shows it is given a loopback port of the [`ClientNetwork`] instead
//! (`http://127.0.0.1:PORT`), in URLs, headers and bodies, and translated back on the
//! way in, so the simulated roles see the origins they were configured with. Other
//! addresses (SSRF canaries such as `http://169.254.169.254`) are left alone: a client
//! that fetches them reaches the harness's proxy if it honours `HTTP_PROXY` /
//! `HTTPS_PROXY`, which the harness sets (with `NO_PROXY` covering loopback, and
//! `NODE_USE_ENV_PROXY=1`, without which Node's built-in `fetch` ignores them).

use crate::client_network::{ClientNetwork, Incoming};
use crate::serve::system_now;
use crate::target::shell_command_with_arg;
use mcp_authz_reference::Error;
use mcp_authz_reference::client::Outcome;
use mcp_authz_reference::sans_io::{Request, Response};
use mcp_authz_scenarios::Scenario;
use mcp_authz_sim::sim::Sim;
use serde_json::Value;
use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The env variable naming the scenario a client run belongs to.
pub const SCENARIO_ENV: &str = "MCP_AUTHZ_SCENARIO";

/// The env variable naming a folder the client may keep state in (a token cache): the
/// same for every run of one client, new and empty for a new client (a scenario that
/// runs "a client" twice means two clients; one that runs "the client" again, the same).
pub const STATE_DIR_ENV: &str = "MCP_AUTHZ_STATE_DIR";

/// How to run the client under test.
#[derive(Clone)]
pub struct LiveClient {
    /// The command (run with `sh -c`; the server URL is appended as its last argument).
    pub command: String,
    /// Longest one run of the client may take; it is killed then.
    pub timeout: Duration,
    /// The loopback listeners and proxy the client talks to.
    pub network: Rc<ClientNetwork>,
    /// A browser command for the client (env `BROWSER`), if the harness has one: it is
    /// run with `--report URL` and the URL to open, must tell the report URL what it was
    /// asked to open (a POST of the URL), and plays the user agent for http(s) URLs.
    pub browser: Option<String>,
    /// The URL of the client's metadata document (its `client_id` where the AS accepts
    /// them), if it has one.
    pub client_metadata_url: Option<String>,
    /// Grade by this MCP revision alone (`--revision`); `None`: each case by the newest
    /// revision it applies to.
    pub revision: Option<mcp_authz_sim::scenario::Revision>,
}

/// The client under test in one scenario's world: how to run it, the origin mapping,
/// and what the harness observed.
pub(crate) struct ClientUnderTest {
    target: LiveClient,
    scenario: String,
    /// Simulated origin → loopback port, in order of first use.
    origins: Vec<(String, u16)>,
    /// What reached the proxy: `METHOD url` or `CONNECT host:port`.
    pub proxied: Vec<String>,
    /// The URLs the client asked the browser (env `BROWSER`) to open.
    pub opened: Vec<String>,
    /// Access tokens the client was issued, with the `resource` it asked them for.
    tokens: Vec<(String, Option<String>)>,
    /// Tokens seen where they must not be: in a URL or body, or sent to another server.
    pub leaks: Vec<String>,
    /// What the client printed, every run (stdout and stderr, the last 64 KiB of each).
    pub printed: String,
    /// The folder of the clients' state folders in this scenario (removed with the world).
    state_root: std::path::PathBuf,
    /// Which client runs next: its state folder is `state_root/N`.
    generation: std::cell::Cell<u32>,
    /// The redirect URIs the client used with its metadata document URL as `client_id`:
    /// what the document the world serves for it names.
    pub(crate) document_redirect_uris: Rc<std::cell::RefCell<Vec<String>>>,
}

impl Drop for ClientUnderTest {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state_root);
    }
}

impl ClientUnderTest {
    pub(crate) fn new(target: &LiveClient, scenario: &Scenario) -> ClientUnderTest {
        let state_root = std::env::temp_dir().join(format!(
            "mcp-authz-client-{}-{}",
            std::process::id(),
            scenario.meta.id
        ));
        ClientUnderTest {
            state_root,
            generation: std::cell::Cell::new(0),
            document_redirect_uris: Rc::default(),
            target: target.clone(),
            scenario: scenario.meta.id.to_string(),
            origins: Vec::new(),
            proxied: Vec::new(),
            opened: Vec::new(),
            tokens: Vec::new(),
            leaks: Vec::new(),
            printed: String::new(),
        }
    }

    /// The URL of the client's metadata document, if known.
    pub(crate) fn client_metadata_url(&self) -> Option<String> {
        self.target.client_metadata_url.clone()
    }

    /// The next run is of a new client, with a new, empty state folder.
    pub(crate) fn new_client(&self) {
        self.generation.set(self.generation.get() + 1);
    }

    /// Runs the client against `server` (a simulated URL) until it exits, serving its
    /// requests from `sim` as `name`. Its exit status is the outcome.
    pub(crate) fn run(&mut self, sim: &mut Sim, name: &str, server: &str) -> Result<Outcome, Error> {
        while let Some(stale) = self.target.network.next(Duration::ZERO) {
            stale.answer(text(http::StatusCode::SERVICE_UNAVAILABLE, "from an earlier client run"));
        }
        let url = self.for_client(server);
        let command = self.target.command.clone();
        sim.note(&format!("{name}: the harness runs `{command} {url}`"));
        let proxy = format!("http://127.0.0.1:{}", self.target.network.proxy_port());
        let state_dir = self.state_root.join(self.generation.get().to_string());
        if let Err(e) = std::fs::create_dir_all(&state_dir) {
            return Err(Error::Config(format!("cannot make {}: {e}", state_dir.display())));
        }
        let spawned = shell_command_with_arg(&command, "mcp-authz-client-under-test", &url)
            .env(SCENARIO_ENV, &self.scenario)
            .env(STATE_DIR_ENV, &state_dir)
            .envs(self.target.browser.as_ref().map(|b| ("BROWSER", format!("{b} --report {proxy}/opened"))))
            .envs(["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"].map(|k| (k, proxy.as_str())))
            .envs(["NO_PROXY", "no_proxy"].map(|k| (k, "127.0.0.1,localhost,::1")))
            // Node's built-in fetch honours the variables above only when asked (Node
            // 22.21+, 24.5+); older Node ignores this.
            .env("NODE_USE_ENV_PROXY", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => return Err(Error::Config(format!("cannot run `{command}`: {e}"))),
        };
        let output = Arc::new(Mutex::new(Vec::new()));
        let readers: Vec<_> = [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|mut pipe| {
            let output = Arc::clone(&output);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut out = output.lock().unwrap_or_else(|p| p.into_inner());
                    // Keep the last 64 KiB: enough to show why it failed.
                    out.extend_from_slice(&buf[..n]);
                    let excess = out.len().saturating_sub(64 * 1024);
                    out.drain(..excess);
                }
            })
        })
        .collect();
        let deadline = system_now().plus(self.target.timeout);
        let status = loop {
            let late = system_now() > deadline;
            if let Some(incoming) = self.target.network.next(Duration::from_millis(10)).filter(|_| !late) {
                self.serve(sim, name, incoming);
                continue;
            }
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if late => {
                    kill_group(child.id());
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(format!("did not finish within {:?}: killed", self.target.timeout));
                }
                Ok(None) => {}
                Err(e) => break Err(format!("cannot wait for it: {e}")),
            }
        };
        // What the client left running would hold its output open: it goes too.
        kill_group(child.id());
        for r in readers {
            let _ = r.join();
        }
        let output = String::from_utf8_lossy(&output.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
        self.printed.push_str(&output);
        let tail: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = tail[tail.len().saturating_sub(3)..].join(" | ");
        match status {
            Ok(s) if s.success() => {
                sim.note(&format!("{name}: exited 0"));
                Ok(Outcome { result: Value::Null, authorizations: 0 })
            }
            Ok(s) => {
                sim.note(&format!("{name}: exited with {s}: {tail}"));
                Err(Error::Refused(format!("the client exited with {s}: {tail}")))
            }
            Err(why) => {
                sim.note(&format!("{name}: {why}: {tail}"));
                Err(Error::Refused(format!("the client {why}")))
            }
        }
    }

    /// Answers one request of the client from the simulator.
    fn serve(&mut self, sim: &mut Sim, name: &str, incoming: Incoming) {
        let mut req = clone_head(&incoming.request);
        if incoming.proxied && req.uri().scheme().is_none() && req.method() != http::Method::CONNECT {
            // Not proxied: the harness's browser reporting what the client opened.
            if req.uri().path() == "/opened" {
                let url = String::from_utf8_lossy(incoming.request.body()).trim().to_string();
                let shown = self.for_simulator(&url);
                sim.note(&format!("{name} asks the browser to open {shown}"));
                self.opened.push(shown);
                incoming.answer(text(http::StatusCode::NO_CONTENT, ""));
            } else {
                incoming.answer(text(http::StatusCode::NOT_FOUND, "the proxy serves only /opened"));
            }
            return;
        }
        let (from, url) = if incoming.proxied {
            let shown = if req.method() == http::Method::CONNECT {
                format!("CONNECT {}", req.uri())
            } else {
                format!("{} {}", req.method(), req.uri())
            };
            sim.note(&format!("{name} -> proxy {shown}"));
            self.proxied.push(shown);
            if req.method() == http::Method::CONNECT {
                // A tunnel: seen, not carried (the harness has no certificate for an https
                // one). A canary at that origin counts the attempt. Port 443 is https;
                // another is plain http tunnelled (Node's proxy agent tunnels every
                // request, `CONNECT 10.0.0.1:80` for `http://10.0.0.1/`).
                if let Some(a) = req.uri().authority() {
                    let origin = match a.port_u16() {
                        Some(443) => format!("https://{}", a.host()),
                        Some(80) | None => format!("http://{}", a.host()),
                        Some(port) => format!("http://{}:{port}", a.host()),
                    };
                    let _ = sim.get(name, &format!("{origin}/"));
                }
                incoming.answer(text(http::StatusCode::FORBIDDEN, "the harness's proxy does not tunnel"));
                return;
            }
            (name.to_string(), self.for_simulator(&req.uri().to_string()))
        } else {
            let Some(origin) = self.origins.iter().find(|(_, p)| *p == incoming.port).map(|(o, _)| o.clone())
            else {
                incoming.answer(text(http::StatusCode::NOT_FOUND, "no host at this port in this scenario"));
                return;
            };
            let path = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
            let browser = req.method() == http::Method::GET && req.uri().path().ends_with("/authorize");
            let url = format!("{origin}{}", self.for_simulator(&path));
            (if browser { format!("browser:{name}") } else { name.to_string() }, url)
        };
        let Ok(uri) = url.parse::<http::Uri>() else {
            incoming.answer(text(http::StatusCode::BAD_REQUEST, "unreadable request target"));
            return;
        };
        *req.uri_mut() = uri;
        translate_headers(req.headers_mut(), |v| self.for_simulator(v));
        *req.body_mut() = translate_body(incoming.request.body(), |b| self.for_simulator(b));
        self.watch_tokens(&req);
        self.learn_document_redirect_uri(&req);
        let resource = form_param(&req, "resource");
        let token_request = req.uri().path().ends_with("/token");
        let answer = match sim.send(&from, req) {
            Ok(mut r) => {
                if token_request && r.status().is_success() {
                    let issued = serde_json::from_slice::<Value>(r.body()).ok();
                    if let Some(t) = issued.as_ref().and_then(|v| v["access_token"].as_str()) {
                        self.tokens.push((t.to_string(), resource));
                    }
                }
                translate_headers(r.headers_mut(), |v| self.for_client(v));
                let body = translate_body(r.body(), |b| self.for_client(b));
                *r.body_mut() = body;
                r
            }
            Err(e) => text(http::StatusCode::BAD_GATEWAY, &format!("unreachable: {}", e.reason)),
        };
        incoming.answer(answer);
    }

    /// Notes the `redirect_uri` of a request whose `client_id` is the client's metadata
    /// document URL.
    fn learn_document_redirect_uri(&mut self, req: &Request) {
        let Some(url) = &self.target.client_metadata_url else { return };
        let query = req.uri().query().unwrap_or("").as_bytes();
        for params in [query, req.body().as_ref()] {
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(params).into_owned().collect();
            let of = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            if let (Some(id), Some(redirect)) = (of("client_id"), of("redirect_uri")) {
                let mut known = self.document_redirect_uris.borrow_mut();
                if id == *url && !known.contains(&redirect) {
                    known.push(redirect);
                }
            }
        }
    }

    /// Records a token issued to the client in a URL or body, or in an `Authorization`
    /// header to another server than the one it was asked for.
    fn watch_tokens(&mut self, req: &Request) {
        let url = req.uri().to_string();
        let body = String::from_utf8_lossy(req.body());
        let auth = req.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let to = mcp_authz_sim::sim::origin_of(req.uri()).unwrap_or_default();
        for (token, resource) in &self.tokens {
            let line = format!("{} {url}", req.method());
            if url.contains(token.as_str()) {
                self.leaks.push(format!("an access token in the URL of {line}"));
            }
            if body.contains(token.as_str()) && !req.uri().path().ends_with("/revoke") {
                self.leaks.push(format!("an access token in the body of {line}"));
            }
            let audience = resource.as_deref().and_then(|r| r.parse::<http::Uri>().ok());
            let audience = audience.as_ref().and_then(mcp_authz_sim::sim::origin_of);
            if auth.contains(token.as_str()) && audience.as_ref().is_some_and(|a| *a != to) {
                self.leaks.push(format!(
                    "the access token issued for {} sent to {line}",
                    resource.as_deref().unwrap_or("")
                ));
            }
        }
    }

    /// `text` with every simulated `https://….example` origin replaced by its loopback
    /// origin (plain and percent-encoded), giving origins seen for the first time the
    /// next free port. Origins beyond the pool stay as they are (unreachable).
    pub(crate) fn for_client(&mut self, text: &str) -> String {
        let mut out = text.to_string();
        for (scheme, sep) in [("https://", ":"), ("https%3A%2F%2F", "%3A"), ("https%3a%2f%2f", "%3a")] {
            let mut from = 0;
            while let Some(at) = out[from..].find(scheme).map(|i| i + from) {
                let host_start = at + scheme.len();
                let host_len = out[host_start..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                    .unwrap_or(out.len() - host_start);
                let host = out[host_start..host_start + host_len].to_ascii_lowercase();
                if !host.ends_with(".example") {
                    from = host_start;
                    continue;
                }
                let Some(port) = self.port_for(&format!("https://{host}")) else {
                    from = host_start;
                    continue;
                };
                let encoded = scheme != "https://";
                let replacement = if encoded {
                    format!("http%3A%2F%2F127.0.0.1{sep}{port}")
                } else {
                    format!("http://127.0.0.1:{port}")
                };
                out.replace_range(at..host_start + host_len, &replacement);
                from = at + replacement.len();
            }
        }
        out
    }

    /// `text` with every loopback origin of this world replaced by its simulated origin.
    fn for_simulator(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (origin, port) in &self.origins {
            let encoded_origin = origin.replacen("https://", "https%3A%2F%2F", 1);
            for host in ["127.0.0.1", "localhost"] {
                for (plain, with) in [
                    (format!("http://{host}:{port}"), origin),
                    (format!("http%3A%2F%2F{host}%3A{port}"), &encoded_origin),
                    (format!("http%3a%2f%2f{host}%3a{port}"), &encoded_origin),
                ] {
                    out = replace_origin(&out, &plain, with);
                }
            }
        }
        out
    }

    pub(crate) fn port_for(&mut self, origin: &str) -> Option<u16> {
        if let Some((_, p)) = self.origins.iter().find(|(o, _)| o == origin) {
            return Some(*p);
        }
        let port = *self.target.network.ports().get(self.origins.len())?;
        self.origins.push((origin.to_string(), port));
        Some(port)
    }
}

/// Kills the process group `id` leads (the client's shell and all it started).
fn kill_group(id: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{id}")])
        .stderr(std::process::Stdio::null())
        .status();
}

/// `text` with `origin` replaced by `with` wherever no further digit follows (so that
/// port 4123 does not match inside 41234).
fn replace_origin(text: &str, origin: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(origin) {
        let after = &rest[at + origin.len()..];
        out.push_str(&rest[..at]);
        if after.starts_with(|c: char| c.is_ascii_digit()) {
            out.push_str(origin);
        } else {
            out.push_str(with);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

fn translate_headers(headers: &mut http::HeaderMap, mut f: impl FnMut(&str) -> String) {
    headers.remove(http::header::CONTENT_LENGTH);
    headers.remove(http::header::HOST);
    for value in headers.values_mut() {
        if let Ok(s) = value.to_str() {
            if let Ok(v) = http::HeaderValue::from_str(&f(s)) {
                *value = v;
            }
        }
    }
}

fn translate_body(body: &bytes::Bytes, f: impl FnOnce(&str) -> String) -> bytes::Bytes {
    match std::str::from_utf8(body) {
        Ok(s) => bytes::Bytes::from(f(s)),
        Err(_) => body.clone(),
    }
}

fn clone_head(req: &Request) -> Request {
    let mut copy = http::Request::new(bytes::Bytes::new());
    *copy.method_mut() = req.method().clone();
    *copy.uri_mut() = req.uri().clone();
    *copy.headers_mut() = req.headers().clone();
    copy
}

fn form_param(req: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.body()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn text(status: http::StatusCode, body: &str) -> Response {
    let mut r = Response::new(bytes::Bytes::from(body.to_string()));
    *r.status_mut() = status;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn under_test(network: Rc<ClientNetwork>) -> ClientUnderTest {
        let scenario = mcp_authz_scenarios::catalog()
            .into_iter()
            .find(|s| s.meta.id == "CL-PKCE-01")
            .expect("CL-PKCE-01");
        let target = LiveClient {
            command: "true".into(),
            timeout: Duration::from_secs(1),
            network,
            browser: None,
            client_metadata_url: None,
            revision: None,
        };
        ClientUnderTest::new(&target, &scenario)
    }

    #[test]
    fn simulated_origins_are_shown_as_loopback_ones_and_read_back() {
        let network = Rc::new(ClientNetwork::start(2).expect("loopback listeners"));
        let [a, b] = [network.ports()[0], network.ports()[1]];
        let mut c = under_test(network);
        let shown = c.for_client(
            r#"{"issuer":"https://as.example","resource":"https://mcp.example/mcp","x":"https://as.example/t"}"#,
        );
        assert_eq!(
            shown,
            format!(
                r#"{{"issuer":"http://127.0.0.1:{a}","resource":"http://127.0.0.1:{b}/mcp","x":"http://127.0.0.1:{a}/t"}}"#
            )
        );
        let location = c.for_client("http://127.0.0.1:8765/cb?iss=https%3A%2F%2Fas.example&code=x");
        assert_eq!(location, format!("http://127.0.0.1:8765/cb?iss=http%3A%2F%2F127.0.0.1%3A{a}&code=x"));
        // Not simulated hosts: canaries and other names stay as they are.
        let kept = "http://169.254.169.254/x https://proxy-probe.invalid http://internal.example";
        assert_eq!(c.for_client(kept), kept);
        // Back: plain, percent-encoded (either case) and `localhost`; a longer port is
        // another origin.
        let sent = format!(
            "resource=http%3A%2F%2F127.0.0.1%3A{b}%2Fmcp&r2=http%3a%2f%2f127.0.0.1%3a{b}%2Fmcp&u=http://localhost:{a}/t&v=http://127.0.0.1:{a}9/"
        );
        assert_eq!(
            c.for_simulator(&sent),
            format!(
                "resource=https%3A%2F%2Fmcp.example%2Fmcp&r2=https%3A%2F%2Fmcp.example%2Fmcp&u=https://as.example/t&v=http://127.0.0.1:{a}9/"
            )
        );
    }

    #[test]
    fn origins_beyond_the_pool_stay_unreachable() {
        let network = Rc::new(ClientNetwork::start(1).expect("loopback listeners"));
        let mut c = under_test(network);
        let shown = c.for_client("https://one.example https://two.example");
        assert!(shown.starts_with("http://127.0.0.1:"), "{shown}");
        assert!(shown.ends_with(" https://two.example"), "{shown}");
    }
}
