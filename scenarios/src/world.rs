//! The world a scenario runs in: the reference roles in the simulator, at fixed origins,
//! with the defects of the run injected, and the helpers scenario bodies share (mint a
//! token, call a tool, run an honest client).
//!
//! | origin | what |
//! |---|---|
//! | `https://as.example` | the trusted authorization server |
//! | `https://mcp.example/mcp` | MCP server A (the usual target) |
//! | `https://api.example/downstream` | the downstream API server A calls with its own token |
//! | `https://other.example/mcp` | MCP server B, trusting the same AS |
//! | `https://evil.example` | the attacker's servers (hostile RS / AS / canaries), added per scenario |

use bytes::Bytes;
use http::StatusCode;
use mcp_authz_harness::sim::{Channel, Interceptor, Message, Sim, Verdict};
use mcp_authz_reference::access_token::{AccessTokenClaims, Audience, Validator};
use mcp_authz_reference::authorization_server::{self as authz, AuthorizationServer, RegisteredClient};
use mcp_authz_reference::client::token::token_request;
use mcp_authz_reference::client::{
    ClientAuth, ClientStep, Operation, Outcome, PublicClient, PublicClientConfig,
};
use mcp_authz_reference::defects::{Defect, Defects};
use mcp_authz_reference::jwt::Algorithm;
use mcp_authz_reference::jwt::{KeySet, SigningKey};
use mcp_authz_reference::mcp_server::{self, McpServer};
use mcp_authz_reference::sans_io::Time;
use mcp_authz_reference::sans_io::{Env, FetchResult, Request, Response};
use mcp_authz_reference::{Error, bearer, wire};
use serde_json::{Value, json};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

/// The trusted issuer.
pub const AS: &str = "https://as.example";
/// MCP server A.
pub const MCP: &str = "https://mcp.example/mcp";
/// MCP server A's origin.
pub const MCP_ORIGIN: &str = "https://mcp.example";
/// MCP server B.
pub const OTHER_MCP: &str = "https://other.example/mcp";
/// The downstream API MCP server A calls with its own token.
pub const DOWNSTREAM: &str = "https://api.example/downstream";
/// The downstream API's origin.
pub const DOWNSTREAM_ORIGIN: &str = "https://api.example";
/// The attacker's origin.
pub const EVIL: &str = "https://evil.example";
/// The honest public client's redirect URI (a native app on loopback).
pub const REDIRECT: &str = "http://127.0.0.1:7777/callback";
/// The MCP server's own client at the AS.
pub const RS_CLIENT_ID: &str = "mcp-server";
const RS_SECRET: &str = "rs-secret-for-the-simulation";

/// A scenario's world.
pub struct World {
    /// The simulator.
    pub sim: Sim,
    /// The defects injected in this run.
    pub defects: Defects,
    /// The `Authorization` headers the downstream API received.
    downstream_seen: Rc<RefCell<Vec<String>>>,
}

impl World {
    /// The standard topology, with `defects` injected into the roles they belong to.
    pub fn new(seed: u64, defects: &Defects) -> Result<World, Error> {
        World::with_resources(seed, defects, &[])
    }

    /// The standard topology, whose authorization server also knows the resources
    /// `extra` (scopes `mcp:read mcp:write mcp:admin`); the caller adds their servers.
    pub fn with_resources(seed: u64, defects: &Defects, extra: &[&str]) -> Result<World, Error> {
        let mut sim = Sim::new(seed);
        let mut as_config = authz::Config {
            issuer: AS.into(),
            auto_approve: true,
            // Ed25519 signatures are deterministic: traces stay byte-identical per seed.
            signing_alg: Algorithm::EdDSA,
            defects: defects.clone(),
            ..authz::Config::default()
        };
        let scopes = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        as_config.resources = vec![
            authz::ResourceConfig {
                uri: MCP.into(),
                scopes: scopes(&["mcp:read", "mcp:write", "mcp:admin"]),
            },
            authz::ResourceConfig {
                uri: OTHER_MCP.into(),
                scopes: scopes(&["mcp:read", "mcp:write", "mcp:admin"]),
            },
            authz::ResourceConfig { uri: DOWNSTREAM.into(), scopes: scopes(&["reports:read"]) },
        ];
        as_config.resources.extend(extra.iter().map(|uri| authz::ResourceConfig {
            uri: uri.to_string(),
            scopes: scopes(&["mcp:read", "mcp:write", "mcp:admin"]),
        }));
        as_config.registration_scopes = scopes(&["mcp:read", "mcp:write", "mcp:admin"]);
        as_config.clients.push(RegisteredClient {
            client_id: RS_CLIENT_ID.into(),
            client_secret: Some(RS_SECRET.into()),
            redirect_uris: vec![],
            grant_types: vec!["client_credentials".into()],
            token_endpoint_auth_method: "client_secret_basic".into(),
            scopes: scopes(&["reports:read"]),
            jwks: None,
            client_name: Some("MCP server A".into()),
        });
        let authorization_server = sim.env_for("as", |env| AuthorizationServer::new(as_config, env))?;
        let keys = KeySet::from_jwks(&authorization_server.jwks())?;
        sim.add_service(AS, authorization_server);
        let downstream_seen = Rc::new(RefCell::new(Vec::new()));
        let mut validator = Validator::new(AS, DOWNSTREAM, keys);
        // A plain function host has no clock: the API checks signature, issuer and
        // audience, and tolerates any time skew.
        validator.leeway_secs = 10 * 365 * 86_400;
        sim.add_fn(DOWNSTREAM_ORIGIN, downstream_api(validator, Rc::clone(&downstream_seen)));
        for url in [MCP, OTHER_MCP] {
            let config = mcp_config(url, AS, defects);
            let origin = url.trim_end_matches("/mcp");
            sim.add_service(origin, McpServer::new(config)?);
        }
        Ok(World { sim, defects: defects.clone(), downstream_seen })
    }

    /// The configuration of an MCP server at `url` (ending in `/mcp`) trusting `issuer`,
    /// with the defects of this run; MCP server A's calls the downstream API.
    pub fn mcp_config(&self, url: &str, issuer: &str) -> mcp_server::Config {
        mcp_config(url, issuer, &self.defects)
    }

    /// The `Authorization` header values the downstream API has received.
    pub fn downstream_authorizations_seen(&self) -> Vec<String> {
        self.downstream_seen.borrow().clone()
    }

    /// True when `d` is injected.
    pub fn has(&self, d: Defect) -> bool {
        self.defects.has(d)
    }

    /// The authorization server.
    pub fn authorization_server(&mut self) -> &mut AuthorizationServer {
        self.sim.service::<AuthorizationServer>(AS).expect("the world has an AS")
    }

    /// MCP server A.
    pub fn mcp_server(&mut self) -> &mut McpServer {
        self.sim.service::<McpServer>(MCP_ORIGIN).expect("the world has MCP server A")
    }

    /// The current time.
    pub fn now(&self) -> Time {
        self.sim.now()
    }

    /// A GET for `url` from `from`.
    pub fn get(&mut self, from: &str, url: &str) -> FetchResult {
        self.sim.get(from, url)
    }

    /// The trusted AS's current signing key (to build tokens an attacker could not).
    pub fn signing_key(&mut self) -> &SigningKey {
        self.authorization_server().signing_key()
    }

    /// A fresh key for `alg` with `kid`, drawn from the seed (an attacker's key).
    pub fn generate_key(&mut self, alg: Algorithm, kid: &str) -> SigningKey {
        self.sim
            .env_for(&format!("key:{kid}"), |env| SigningKey::generate(alg, kid, env))
            .expect("key generation from a seeded rng")
    }

    /// How many times the trusted AS has served its JWKS (fetch amplification is counted
    /// where it hurts: at the AS).
    pub fn jwks_requests(&self) -> usize {
        let needle = format!("-> {AS} GET /jwks ");
        self.sim.trace().lines().filter(|l| l.contains(&needle)).count()
    }

    /// How many side-effecting tool runs MCP server A has performed.
    pub fn side_effects(&mut self) -> u64 {
        self.mcp_server().side_effects()
    }

    /// Claims of a valid token for MCP server A, user alice, scopes `scope`, issued now.
    pub fn claims(&self, scope: &str) -> AccessTokenClaims {
        let now = self.sim.now().unix_secs();
        AccessTokenClaims {
            iss: AS.into(),
            sub: Some("alice".into()),
            aud: Audience::one(MCP),
            client_id: Some("honest-client".into()),
            scope: Some(scope.into()),
            exp: Some(now + 600),
            iat: Some(now),
            nbf: None,
            jti: Some(format!("jti-{now}-{scope}")),
        }
    }

    /// Signs `claims` with the trusted AS's current key.
    pub fn mint(&mut self, claims: &AccessTokenClaims) -> String {
        self.authorization_server().sign_access_token(claims).expect("the AS signs")
    }

    /// A JSON-RPC POST to `url` with optional bearer `token` and extra headers.
    pub fn rpc_request(url: &str, token: Option<&str>, body: &Value, headers: &[(&str, &str)]) -> Request {
        let mut b = http::Request::post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Bytes::from(body.to_string())).expect("valid request")
    }

    /// The `initialize` request body.
    pub fn initialize_body() -> Value {
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"scenario","version":"1"}}})
    }

    /// A `tools/call` body.
    pub fn call_body(tool: &str, arguments: Value) -> Value {
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":tool,"arguments":arguments}})
    }

    /// Sends `req` from `from`.
    pub fn send(&mut self, from: &str, req: Request) -> FetchResult {
        self.sim.send(from, req)
    }

    /// `initialize` at `url` with `token`; returns the response and the session id.
    pub fn initialize(
        &mut self,
        from: &str,
        url: &str,
        token: Option<&str>,
    ) -> (FetchResult, Option<String>) {
        let r = self.send(from, Self::rpc_request(url, token, &Self::initialize_body(), &[]));
        let session = r
            .as_ref()
            .ok()
            .and_then(|r| r.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(String::from));
        (r, session)
    }

    /// Opens a session at `url` with `token` and calls `tool` in it; returns the call's
    /// response (or the failed `initialize`'s).
    pub fn call_tool(
        &mut self,
        from: &str,
        url: &str,
        token: &str,
        tool: &str,
        arguments: Value,
    ) -> FetchResult {
        let (init, session) = self.initialize(from, url, Some(token));
        let Some(session) = session else { return init };
        let initialized = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
        let headers = [("mcp-session-id", session.as_str()), ("mcp-protocol-version", "2025-11-25")];
        let _ = self.send(from, Self::rpc_request(url, Some(token), &initialized, &headers));
        self.send(from, Self::rpc_request(url, Some(token), &Self::call_body(tool, arguments), &headers))
    }

    /// A reference public client for `server`, with the client defects of this run.
    pub fn public_client(&self, server: &str) -> PublicClient {
        let mut config = PublicClientConfig::new(server, REDIRECT, "honest client");
        config.defects = self.defects.clone();
        PublicClient::new(config).expect("valid client config")
    }

    /// A reference public client for `server` configured by `configure`, with the client
    /// defects of this run.
    pub fn public_client_with(
        &self,
        server: &str,
        configure: impl FnOnce(&mut PublicClientConfig),
    ) -> Result<PublicClient, Error> {
        let mut config = PublicClientConfig::new(server, REDIRECT, "honest client");
        configure(&mut config);
        config.defects = self.defects.clone();
        PublicClient::new(config)
    }

    /// Runs `client` (named `name` in the trace) for `op`.
    pub fn run_client(
        &mut self,
        name: &str,
        client: &mut PublicClient,
        op: Operation,
    ) -> Result<Outcome, Error> {
        self.sim.run_client(name, client, REDIRECT, |c, env| c.start(op, env))
    }

    /// Runs an explicit step of `client` (e.g. a refresh) to completion.
    pub fn run_client_step(
        &mut self,
        name: &str,
        client: &mut PublicClient,
        start: impl FnOnce(&mut PublicClient, &mut Env<'_>) -> ClientStep,
    ) -> Result<Outcome, Error> {
        self.sim.run_client(name, client, REDIRECT, start)
    }

    /// An honest client that connected to MCP server A and called `echo`.
    pub fn connected_client(&mut self, name: &str) -> Result<PublicClient, Error> {
        let mut client = self.public_client(MCP);
        let op = Operation::CallTool { name: "echo".into(), arguments: json!({"text": "hi"}) };
        self.run_client(name, &mut client, op)?;
        Ok(client)
    }

    /// What the AS says about `token` (RFC 7662 introspection, asked as MCP server A's
    /// client `mcp-server`): the response, or `Value::Null` when introspection fails.
    pub fn introspect(&mut self, token: &str) -> Value {
        let auth = ClientAuth::SecretBasic(RS_SECRET.into());
        let url = format!("{AS}/introspect");
        let req = self.sim.env_for("introspect", |env| {
            token_request(&url, RS_CLIENT_ID, &auth, AS, &[("token", token)], env)
        });
        match req.map(|req| self.send(RS_CLIENT_ID, req)) {
            Ok(Ok(r)) if r.status() == 200 => serde_json::from_slice(r.body()).unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// Moves the clock.
    pub fn advance(&mut self, d: Duration) {
        self.sim.advance(d);
    }

    /// A trace note.
    pub fn note(&mut self, s: &str) {
        self.sim.note(s);
    }
}

/// See [`World::mcp_config`].
fn mcp_config(url: &str, issuer: &str, defects: &Defects) -> mcp_server::Config {
    let mut config = mcp_server::Config::new(url.to_string(), issuer.to_string());
    config.defects = defects.clone();
    if url == MCP {
        config.downstream = Some(mcp_server::Downstream {
            token_endpoint: format!("{AS}/token"),
            client_id: RS_CLIENT_ID.into(),
            client_secret: RS_SECRET.into(),
            resource: DOWNSTREAM.into(),
        });
    }
    config
}

/// The downstream API: records every `Authorization` header, answers 200 to a token
/// whose audience is the API, 401 otherwise.
fn downstream_api(validator: Validator, seen: Rc<RefCell<Vec<String>>>) -> impl FnMut(Request) -> Response {
    move |req| {
        let auth = req.headers().get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        seen.borrow_mut().push(auth.to_string());
        let ok = bearer::bearer_token(req.headers())
            .ok()
            .flatten()
            .is_some_and(|t| validator.validate(&t, mcp_authz_harness::sim::EPOCH).is_ok());
        let mut r = Response::new(Bytes::from(if ok {
            r#"{"report":"quarterly numbers"}"#
        } else {
            r#"{"error":"invalid_token"}"#
        }));
        *r.status_mut() = if ok { http::StatusCode::OK } else { http::StatusCode::UNAUTHORIZED };
        r.headers_mut()
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        r
    }
}

/// `(status, error code of the Bearer challenge)` of a response.
pub fn status_and_challenge_error(r: &Response) -> (u16, Option<String>) {
    let err =
        bearer::bearer_challenge(r.headers()).ok().flatten().and_then(|c| c.get("error").map(String::from));
    (r.status().as_u16(), err)
}

/// The `error` of an OAuth JSON error body.
pub fn oauth_error_code(r: &Response) -> Option<String> {
    serde_json::from_slice::<Value>(r.body()).ok()?.get("error")?.as_str().map(String::from)
}

/// Renders a fetch result for a verdict message.
pub fn describe(r: &FetchResult) -> String {
    match r {
        Ok(r) => {
            let body = String::from_utf8_lossy(r.body());
            let body: String = body.chars().take(160).collect();
            format!("HTTP {} {}", r.status().as_u16(), body)
        }
        Err(e) => format!("no answer ({})", e.reason),
    }
}

/// A request an adversary's tap saw (see [`World::tap`]).
#[derive(Debug, Clone)]
pub struct Seen {
    /// The channel it travelled on.
    pub channel: Channel,
    /// The sender.
    pub from: String,
    /// The method.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// The body, as text.
    pub body: String,
}

impl Seen {
    /// The path of the URL.
    pub fn path(&self) -> String {
        url::Url::parse(&self.url).map(|u| u.path().to_string()).unwrap_or_default()
    }

    /// Parameter `name` of the query, else of a form body.
    pub fn param(&self, name: &str) -> Option<String> {
        let query = url::Url::parse(&self.url).ok().and_then(|u| u.query().map(String::from));
        [query.unwrap_or_default(), self.body.clone()].iter().find_map(|s| {
            url::form_urlencoded::parse(s.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
        })
    }
}

/// The requests a tap saw, in order.
pub type Log = Rc<RefCell<Vec<Seen>>>;

/// The `METHOD path` lines a fake host received, in order.
pub type Hits = Rc<RefCell<Vec<String>>>;

/// How a fake host answers one path.
pub type Route = Box<dyn FnMut(&Request) -> Response>;

/// An adversary made of two closures that logs every request it lets through.
struct Tap<Q, R> {
    log: Log,
    on_request: Q,
    on_response: R,
}

impl<Q, R> Interceptor for Tap<Q, R>
where
    Q: FnMut(&Message, &mut Request) -> Verdict,
    R: FnMut(&Message, &Request, &mut Response),
{
    fn on_request(&mut self, msg: &Message, req: &mut Request) -> Verdict {
        let verdict = (self.on_request)(msg, req);
        self.log.borrow_mut().push(Seen {
            channel: msg.channel,
            from: msg.from.clone(),
            method: req.method().to_string(),
            url: req.uri().to_string(),
            body: String::from_utf8_lossy(req.body()).into_owned(),
        });
        verdict
    }

    fn on_response(&mut self, msg: &Message, req: &Request, resp: &mut Response) {
        (self.on_response)(msg, req, resp);
    }
}

/// A copy of a response (status, headers, body).
pub fn copy_response(r: &Response) -> Response {
    let mut copy = Response::new(r.body().clone());
    *copy.status_mut() = r.status();
    *copy.headers_mut() = r.headers().clone();
    copy
}

/// A route that always answers with (a copy of) `r`.
pub fn fixed(r: Response) -> Route {
    Box::new(move |_| copy_response(&r))
}

impl World {
    /// Installs an adversary on `channels` (replacing any other) that may rewrite or
    /// answer requests with `on_request` and rewrite responses with `on_response`, and
    /// logs every request it sees as delivered.
    pub fn tap(
        &mut self,
        channels: &[Channel],
        on_request: impl FnMut(&Message, &mut Request) -> Verdict + 'static,
        on_response: impl FnMut(&Message, &Request, &mut Response) + 'static,
    ) -> Log {
        let log = Log::default();
        let tap = Tap { log: log.clone(), on_request, on_response };
        self.sim.set_interceptor(channels.to_vec(), Box::new(tap));
        log
    }

    /// Logs every request on `channels`, changing nothing: the harness watching the role
    /// under test, not an adversary, so no capability is needed.
    pub fn record(&mut self, channels: &[Channel]) -> Log {
        let log = Log::default();
        let tap = Tap {
            log: log.clone(),
            on_request: |_: &Message, _: &mut Request| Verdict::Pass,
            on_response: |_: &Message, _: &Request, _: &mut Response| {},
        };
        self.sim.observe(channels.to_vec(), Box::new(tap));
        log
    }

    /// Adds a fake host at `origin`: `routes` map a path (query ignored) to its answer,
    /// other paths get 404. Returns the log of what it received.
    pub fn fake_host(&mut self, origin: &str, mut routes: Vec<(String, Route)>) -> Hits {
        let hits = Hits::default();
        let log = hits.clone();
        self.sim.add_fn(origin, move |req| {
            log.borrow_mut().push(format!("{} {}", req.method(), req.uri().path()));
            match routes.iter_mut().find(|(path, _)| path == req.uri().path()) {
                Some((_, answer)) => answer(&req),
                None => wire::json(StatusCode::NOT_FOUND, &json!({"error": "not_found"})),
            }
        });
        hits
    }

    /// Adds an SSRF canary at each of `origins` (one address may have several
    /// spellings): every request is counted and answered 404. It must stay at 0.
    pub fn canary(&mut self, origins: &[&str]) -> Rc<Cell<u32>> {
        let count = Rc::new(Cell::new(0));
        for origin in origins {
            let c = count.clone();
            self.sim.add_fn(origin, move |_| {
                c.set(c.get() + 1);
                wire::json(StatusCode::NOT_FOUND, &json!({}))
            });
        }
        count
    }
}
