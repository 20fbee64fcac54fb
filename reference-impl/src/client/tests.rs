//! The public client driven against a scripted fake world: MCP servers, their protected
//! resource metadata, one authorization server and a user agent that consents at once.

use super::*;
use crate::defects::{Defect, Defects};
use crate::oauth_error::ErrorCode;
use crate::pkce;
use crate::protected_resource_metadata::ProtectedResourceMetadata;
use crate::sans_io::{Response, Time};
use crate::wire::{self, Params};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rand_core::SeedableRng;
use serde_json::json;
use std::collections::BTreeMap;

const MCP: &str = "https://mcp.example/mcp";
const MCP_B: &str = "https://b.example/mcp";
const AS: &str = "https://as.example";
/// A second authorization server, whose registrations are `as2-client-N`.
const AS2: &str = "https://as2.example";
const REDIRECT: &str = "http://127.0.0.1:8765/callback";
const PRM_PATH: &str = "https://mcp.example/.well-known/oauth-protected-resource/mcp";
const PRM_ROOT: &str = "https://mcp.example/.well-known/oauth-protected-resource";

/// A request as the fake world saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    url: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn form(&self) -> Params {
        Params::parse(&self.body).unwrap()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn authorization(&self) -> Option<&str> {
        self.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
    }
}

/// How the user agent's redirect is tampered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tamper {
    None,
    State,
    DropIss,
    WrongIss,
    /// `iss` is the issuer with a trailing slash.
    SlashIss,
}

#[derive(Debug, Clone)]
struct Grant {
    scope: String,
    resource: String,
    challenge: String,
    redirect_uri: String,
}

/// The scripted servers. Knobs are public fields; the rest is bookkeeping.
struct World {
    /// MCP servers (all protected by [`AS`]).
    servers: Vec<&'static str>,
    /// Put `resource_metadata` in 401 challenges.
    challenge_names_metadata: bool,
    /// Serve protected resource metadata at the path-inserted well-known URL.
    prm_at_path: bool,
    /// The `resource` the metadata claims (`None`: the server itself).
    prm_resource: Option<&'static str>,
    prm_scopes: Option<Vec<String>>,
    /// The issuer the metadata names.
    prm_issuer: &'static str,
    /// A `scope` in 401 challenges.
    scope_in_401: Option<&'static str>,
    /// Treat every access token as unknown.
    reject_all_tokens: bool,
    /// Answer the next request in a session with 404 (the session expired).
    expire_session: bool,
    /// Speak MCP 2026-07-28 only (else 2025-11-25 only: a request outside a session is
    /// answered 400 "not initialized", as the TypeScript SDK v1 does).
    modern: bool,
    /// Answer the next modern request with -32022 listing these versions.
    refuse_version: Option<Vec<&'static str>>,
    /// The tools `tools/list` lists.
    tools: Vec<Value>,
    as_metadata: AuthorizationServerMetadata,
    /// URL the metadata is served at.
    as_metadata_url: String,
    /// Scope each method needs.
    needs: BTreeMap<&'static str, &'static str>,
    /// Answer every tools/call with 403 insufficient_scope.
    always_forbid: bool,
    tamper: Tamper,
    expires_in: u64,
    /// Answer refresh requests with invalid_grant.
    refresh_invalid: bool,
    /// Issue no refresh tokens (the AS's discretion, MCP 2026-07-28 §Refresh Tokens).
    no_refresh: bool,
    /// Answer dynamic registrations with 400 `invalid_redirect_uri` (RFC 7591 §3.2.2).
    refuse_registration: bool,
    /// Answer JWT bearer grants with this error (RFC 6749 §5.2).
    refuse_jwt_bearer: Option<ErrorCode>,
    /// The enterprise IdP's answer to token exchanges, instead of an ID-JAG.
    idp_answer: Option<Response>,
    seen: Vec<Seen>,
    authorize_urls: Vec<String>,
    counter: u32,
    codes: BTreeMap<String, Grant>,
    access: BTreeMap<String, Grant>,
    refresh: BTreeMap<String, Grant>,
}

impl World {
    fn new() -> Self {
        World {
            servers: vec![MCP],
            challenge_names_metadata: true,
            prm_at_path: true,
            prm_resource: None,
            prm_scopes: Some(vec!["tools:read".into()]),
            prm_issuer: AS,
            scope_in_401: None,
            reject_all_tokens: false,
            expire_session: false,
            modern: false,
            refuse_version: None,
            tools: Vec::new(),
            as_metadata: AuthorizationServerMetadata {
                issuer: AS.into(),
                authorization_endpoint: Some(format!("{AS}/authorize")),
                token_endpoint: Some(format!("{AS}/token")),
                registration_endpoint: Some(format!("{AS}/register")),
                response_types_supported: vec!["code".into()],
                code_challenge_methods_supported: Some(vec!["S256".into()]),
                authorization_response_iss_parameter_supported: Some(true),
                ..Default::default()
            },
            as_metadata_url: format!("{AS}/.well-known/oauth-authorization-server"),
            needs: [("tools/list", "tools:read"), ("tools/call", "tools:write")].into_iter().collect(),
            always_forbid: false,
            tamper: Tamper::None,
            expires_in: 3600,
            refresh_invalid: false,
            no_refresh: false,
            refuse_registration: false,
            refuse_jwt_bearer: None,
            idp_answer: None,
            seen: Vec::new(),
            authorize_urls: Vec::new(),
            counter: 0,
            codes: BTreeMap::new(),
            access: BTreeMap::new(),
            refresh: BTreeMap::new(),
        }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}-{}", self.counter)
    }

    fn respond(&mut self, req: &Request) -> Response {
        let seen = Seen {
            method: req.method().to_string(),
            url: req.uri().to_string(),
            headers: req.headers().clone(),
            body: req.body().clone(),
        };
        self.seen.push(seen.clone());
        let url = seen.url.as_str();
        if let Some(server) = self.servers.iter().copied().find(|s| *s == url) {
            return self.mcp(server, &seen);
        }
        match (seen.method.as_str(), url) {
            ("GET", u) if self.prm_url(u).is_some() => {
                let server = self.prm_url(u).unwrap_or(MCP);
                let prm = ProtectedResourceMetadata {
                    resource: self.prm_resource.unwrap_or(server).into(),
                    authorization_servers: vec![self.prm_issuer.into()],
                    scopes_supported: self.prm_scopes.clone(),
                    ..Default::default()
                };
                wire::json(StatusCode::OK, &prm)
            }
            ("GET", u) if u == self.as_metadata_url => wire::json(StatusCode::OK, &self.as_metadata),
            ("POST", "https://as.example/register") if self.refuse_registration => wire::oauth_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRedirectUri,
                "a native client's redirect uri must be on loopback",
            ),
            ("POST", "https://as.example/register") => {
                let mut info: Value = seen.json();
                info["client_id"] = json!("dyn-client");
                wire::json(StatusCode::CREATED, &info)
            }
            ("POST", "https://as2.example/register") => {
                let mut info: Value = seen.json();
                info["client_id"] = json!(self.fresh("as2-client"));
                wire::json(StatusCode::CREATED, &info)
            }
            ("POST", "https://as.example/token" | "https://as2.example/token") => self.token(&seen.form()),
            ("POST", jwt_bearer::IDP_TOKEN) => self.idp_token_exchange(&seen.form()),
            _ => wire::json(StatusCode::NOT_FOUND, &json!({})),
        }
    }

    /// The server whose protected resource metadata `url` is.
    fn prm_url(&self, url: &str) -> Option<&'static str> {
        self.servers.iter().copied().find(|s| {
            let urls = crate::protected_resource_metadata::well_known_urls(s).unwrap();
            (self.prm_at_path && urls.first().map(String::as_str) == Some(url))
                || (!self.prm_at_path && urls.get(1).map(String::as_str) == Some(url))
        })
    }

    fn challenge(&self, server: &str, status: StatusCode, c: Challenge) -> Response {
        let c = if self.challenge_names_metadata && status == StatusCode::UNAUTHORIZED {
            let urls = crate::protected_resource_metadata::well_known_urls(server).unwrap();
            c.with("resource_metadata", urls[0].clone())
        } else {
            c
        };
        let mut r = wire::json(status, &json!({}));
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&c.to_header_value()).unwrap());
        r
    }

    fn mcp(&mut self, server: &str, seen: &Seen) -> Response {
        let grant = seen
            .authorization()
            .and_then(|h| h.strip_prefix("Bearer "))
            .and_then(|t| self.access.get(t))
            .filter(|g| {
                (g.resource == server || self.prm_resource == Some(&g.resource)) && !self.reject_all_tokens
            })
            .cloned();
        let Some(grant) = grant else {
            let mut c = if seen.authorization().is_some() {
                Challenge::bearer().with("error", ErrorCode::InvalidToken)
            } else {
                Challenge::bearer()
            };
            if let Some(scope) = self.scope_in_401 {
                c = c.with("scope", scope);
            }
            return self.challenge(server, StatusCode::UNAUTHORIZED, c);
        };
        let msg = seen.json();
        let method = msg["method"].as_str().unwrap_or("");
        if method != "initialize" && std::mem::take(&mut self.expire_session) {
            return wire::json(
                StatusCode::NOT_FOUND,
                &json!({"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32600, "message": "no session"}}),
            );
        }
        let id = msg["id"].clone();
        let refuse = |code: i64, data: Value| {
            let error = json!({"code": code, "message": "refused", "data": data});
            wire::json(StatusCode::BAD_REQUEST, &json!({"jsonrpc": "2.0", "id": id, "error": error}))
        };
        let meta_version = msg["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"].as_str();
        if self.modern {
            if method == "initialize" {
                return refuse(-32022, json!({"supported": ["2026-07-28"]}));
            }
            if let Some(supported) = self.refuse_version.take() {
                return refuse(-32022, json!({"supported": supported}));
            }
            assert_eq!(meta_version, Some("2026-07-28"), "{method} without _meta");
            assert_eq!(seen.headers.get("mcp-protocol-version").unwrap(), "2026-07-28");
            assert_eq!(seen.headers.get("mcp-method").unwrap(), method);
            assert!(seen.headers.get("mcp-session-id").is_none());
        } else if method != "initialize" {
            if seen.headers.get("mcp-session-id").is_none() {
                return refuse(-32000, json!("Bad Request: Server not initialized"));
            }
            assert_eq!(seen.headers.get("mcp-session-id").unwrap(), "sess-1", "{method} without session");
            assert_eq!(seen.headers.get("mcp-protocol-version").unwrap(), "2025-11-25");
            assert_eq!(meta_version, None, "a legacy request with modern _meta");
        }
        if let Some(need) = self.needs.get(method) {
            if self.always_forbid || !grant.scope.split(' ').any(|s| s == *need) {
                let c = Challenge::bearer().with("error", ErrorCode::InsufficientScope).with("scope", *need);
                return self.challenge(server, StatusCode::FORBIDDEN, c);
            }
        }
        match method {
            "initialize" => {
                let mut r = wire::json(
                    StatusCode::OK,
                    &json!({"jsonrpc": "2.0", "id": id, "result": {
                        "protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                        "serverInfo": {"name": "fake", "version": "0"}}}),
                );
                r.headers_mut().insert("mcp-session-id", HeaderValue::from_static("sess-1"));
                r
            }
            "notifications/initialized" => {
                let mut r = Response::new(Bytes::new());
                *r.status_mut() = StatusCode::ACCEPTED;
                r
            }
            "tools/list" => wire::json(
                StatusCode::OK,
                &json!({"jsonrpc": "2.0", "id": id, "result": {"tools": self.tools}}),
            ),
            _ => {
                // tools/call answers as an event stream.
                let body = format!(
                    "event: message\ndata: {}\n\n",
                    json!({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": server}]}})
                );
                let mut r = Response::new(Bytes::from(body));
                r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
                r
            }
        }
    }

    fn issue(&mut self, grant: Grant) -> Response {
        let access = self.fresh("at");
        let refresh = self.fresh("rt");
        self.access.insert(access.clone(), grant.clone());
        self.refresh.insert(refresh.clone(), grant.clone());
        let mut body = json!({"access_token": access, "token_type": "Bearer", "expires_in": self.expires_in,
                    "refresh_token": refresh, "scope": grant.scope});
        if self.no_refresh {
            body.as_object_mut().map(|b| b.remove("refresh_token"));
        }
        wire::json_no_store(StatusCode::OK, &body)
    }

    fn token(&mut self, p: &Params) -> Response {
        let bad = |e: ErrorCode| wire::oauth_error(StatusCode::BAD_REQUEST, e, "fake");
        match p.get("grant_type") {
            Some("authorization_code") => {
                let Some(g) = p.get("code").and_then(|c| self.codes.remove(c)) else {
                    return bad(ErrorCode::InvalidGrant);
                };
                let ok = p.get("code_verifier").is_some_and(|v| pkce::verify_s256(v, &g.challenge).is_ok())
                    && p.get("resource") == Some(g.resource.as_str())
                    && p.get("redirect_uri") == Some(g.redirect_uri.as_str());
                if !ok {
                    return bad(ErrorCode::InvalidGrant);
                }
                self.issue(g)
            }
            Some(g @ ("client_credentials" | super::jwt_bearer::GRANT_TYPE)) => {
                if let Some(e) = self.refuse_jwt_bearer.clone().filter(|_| g != "client_credentials") {
                    return bad(e);
                }
                let grant = Grant {
                    scope: p.get("scope").unwrap_or("").into(),
                    resource: p.get("resource").unwrap_or("").into(),
                    challenge: String::new(),
                    redirect_uri: String::new(),
                };
                self.issue(grant)
            }
            Some("refresh_token") => {
                if self.refresh_invalid {
                    return bad(ErrorCode::InvalidGrant);
                }
                let Some(g) = p.get("refresh_token").and_then(|t| self.refresh.remove(t)) else {
                    return bad(ErrorCode::InvalidGrant);
                };
                self.issue(g)
            }
            _ => bad(ErrorCode::UnsupportedGrantType),
        }
    }

    /// The user agent at the authorization endpoint: consents and follows the redirect.
    fn user_agent(&mut self, url: &str) -> String {
        self.authorize_urls.push(url.to_string());
        let q = Params::from_query(&url.parse::<http::Uri>().unwrap()).unwrap();
        let code = self.fresh("code");
        let grant = Grant {
            scope: q.get("scope").unwrap_or("").into(),
            resource: q.get("resource").unwrap_or("").into(),
            challenge: q.get("code_challenge").unwrap_or("").into(),
            redirect_uri: q.get("redirect_uri").unwrap_or("").into(),
        };
        let redirect = grant.redirect_uri.clone();
        self.codes.insert(code.clone(), grant);
        let state = if self.tamper == Tamper::State { "forged" } else { q.get("state").unwrap_or("") };
        let issuer = self.as_metadata.issuer.clone();
        let mut pairs = vec![("code", code.as_str()), ("state", state)];
        match self.tamper {
            Tamper::DropIss => {}
            Tamper::WrongIss => pairs.push(("iss", "https://evil.example")),
            Tamper::SlashIss => pairs.push(("iss", "https://as.example/")),
            _ => pairs.push(("iss", issuer.as_str())),
        }
        format!("{redirect}?{}", wire::encode_pairs(pairs))
    }

    /// The protected resource metadata now names `issuer` (`AS` or `AS2`), whose
    /// metadata is served at its root well-known URL.
    fn move_to(&mut self, issuer: &'static str) {
        self.prm_issuer = issuer;
        self.as_metadata_url = format!("{issuer}/.well-known/oauth-authorization-server");
        self.as_metadata.issuer = issuer.into();
        self.as_metadata.authorization_endpoint = Some(format!("{issuer}/authorize"));
        self.as_metadata.token_endpoint = Some(format!("{issuer}/token"));
        self.as_metadata.registration_endpoint = Some(format!("{issuer}/register"));
    }

    fn requests_to(&self, prefix: &str) -> Vec<&Seen> {
        self.seen.iter().filter(|s| s.url.starts_with(prefix)).collect()
    }

    fn token_requests(&self) -> Vec<Params> {
        self.requests_to("https://as.example/token").iter().map(|s| s.form()).collect()
    }
}

mod jwt_bearer;

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(42)
}

fn client() -> PublicClient {
    PublicClient::new(PublicClientConfig::new(MCP, REDIRECT, "test client")).unwrap()
}

/// Runs the client against `world` from `step` until it is done or fails.
fn drive(
    client: &mut PublicClient,
    world: &mut World,
    mut step: ClientStep,
    env: &mut Env<'_>,
) -> ClientStep {
    for _ in 0..100 {
        step = match step {
            ClientStep::Send(req) => {
                let resp = world.respond(&req);
                client.on_response(Ok(resp), env)
            }
            ClientStep::Authorize { url } => {
                let redirect = world.user_agent(&url);
                client.on_redirect(&redirect, env)
            }
            done => return done,
        };
    }
    panic!("the client did not finish in 100 steps")
}

fn call(client: &mut PublicClient, world: &mut World, env: &mut Env<'_>) -> ClientStep {
    let op = Operation::CallTool { name: "echo".into(), arguments: json!({"x": 1}) };
    let step = client.start(op, env);
    drive(client, world, step, env)
}

fn failure(step: ClientStep) -> Error {
    match step {
        ClientStep::Failed(e) => e,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn query(url: &str) -> Params {
    Params::from_query(&url.parse::<http::Uri>().unwrap()).unwrap()
}

#[test]
fn happy_path_walks_the_whole_flow() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    // A legacy (2025-11-25) server: the dual-era client tries a modern request first.
    let mut world = World::new();
    let mut c = client();
    let ClientStep::Done(out) = call(&mut c, &mut world, &mut env) else { panic!("expected done") };
    assert_eq!(out.result["content"][0]["text"], MCP);
    // tools/call needs tools:write, PRM offers tools:read: one authorization, one step-up.
    assert_eq!(out.authorizations, 2);

    let trail: Vec<String> = world.seen.iter().map(|s| format!("{} {}", s.method, s.url)).collect();
    assert_eq!(
        trail[..7],
        [
            format!("POST {MCP}"),
            format!("GET {PRM_PATH}"),
            format!("GET {AS}/.well-known/oauth-authorization-server"),
            format!("POST {AS}/register"),
            format!("POST {AS}/token"),
            format!("POST {MCP}"),
            format!("POST {MCP}"),
        ]
    );
    let mcp: Vec<Value> = world.requests_to(MCP).iter().map(|s| s.json()).collect();
    let methods: Vec<&str> = mcp.iter().map(|m| m["method"].as_str().unwrap_or("")).collect();
    // Modern tools/call: 401, then 400 "not initialized" (not a modern error): fall back
    // to initialize; the step-up's retry stays legacy.
    assert_eq!(
        methods,
        ["tools/call", "tools/call", "initialize", "notifications/initialized", "tools/call", "tools/call"]
    );
    assert!(mcp[..2].iter().all(|m| m["params"]["_meta"].is_object()));
    assert!(mcp[2..].iter().all(|m| m["params"]["_meta"].is_null()));

    // Registration body.
    let reg = world.requests_to("https://as.example/register")[0].json();
    assert_eq!(reg["redirect_uris"], json!([REDIRECT]));
    assert_eq!(reg["grant_types"], json!(["authorization_code", "refresh_token"]));
    assert_eq!(reg["token_endpoint_auth_method"], "none");
    assert_eq!(reg["application_type"], "native");
    assert_eq!(c.client_id(), Some("dyn-client"));

    // Authorization requests: resource, S256, fresh state and verifier, scopes.
    let auths: Vec<Params> = world.authorize_urls.iter().map(|u| query(u)).collect();
    assert!(world.authorize_urls[0].starts_with("https://as.example/authorize?"));
    assert_eq!(auths[0].get("resource"), Some(MCP));
    assert_eq!(auths[0].get("code_challenge_method"), Some("S256"));
    assert_eq!(auths[0].get("scope"), Some("tools:read"));
    assert_eq!(auths[1].get("scope"), Some("tools:read tools:write"));
    assert_ne!(auths[0].get("state"), auths[1].get("state"));
    let tokens = world.token_requests();
    for (a, t) in auths.iter().zip(&tokens) {
        assert_eq!(t.get("grant_type"), Some("authorization_code"));
        assert_eq!(t.get("resource"), Some(MCP));
        assert_eq!(t.get("client_id"), Some("dyn-client"));
        assert_eq!(t.get("redirect_uri"), Some(REDIRECT));
        let verifier = t.get("code_verifier").unwrap();
        pkce::check_verifier_syntax(verifier).unwrap();
        assert_eq!(a.get("code_challenge"), Some(pkce::challenge_s256(verifier).as_str()));
    }
    assert_ne!(tokens[0].get("code_verifier"), tokens[1].get("code_verifier"));

    // The token travels in the header only, on every request once it exists.
    let token = c.tokens().unwrap().access_token.clone();
    for s in &world.seen {
        assert!(!s.url.contains(&token) && !s.url.contains("access_token"), "{}", s.url);
    }
    for s in world.requests_to(MCP).iter().skip(1) {
        assert!(s.authorization().is_some_and(|h| h.starts_with("Bearer at-")), "{:?}", s.authorization());
    }
    let t = c.tokens().unwrap();
    assert_eq!(t.resource, MCP);
    assert_eq!(t.issuer.as_deref(), Some(AS));
    assert_eq!(t.expires_at, Some(Time::from_unix_secs(4_600)));
    assert_eq!(t.scope.as_deref(), Some("tools:read tools:write"));
    assert_eq!(c.session().unwrap().id.as_deref(), Some("sess-1"));

    // Traces of the client and of its requests show neither tokens nor the session id.
    let refresh = t.refresh_token.clone().unwrap();
    let step = c.start(Operation::ListTools, &mut env);
    let debug = format!("{c:?} {step:?}");
    for secret in [token.as_str(), refresh.as_str(), "sess-1"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    c.on_response(
        Ok(world.respond(&match step {
            ClientStep::Send(r) => r,
            other => panic!("expected a request, got {other:?}"),
        })),
        &mut env,
    );

    // A second operation reuses the session and the token: one request, no authorization.
    let before = world.seen.len();
    let step = c.start(Operation::ListTools, &mut env);
    let ClientStep::Done(out) = drive(&mut c, &mut world, step, &mut env) else { panic!("expected done") };
    assert_eq!((out.result, out.authorizations), (json!({"tools": []}), 0));
    assert_eq!(world.seen.len(), before + 1);
}

#[test]
fn a_modern_server_is_never_sent_initialize() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World { modern: true, ..World::new() };
    let mut c = client();
    let ClientStep::Done(out) = call(&mut c, &mut world, &mut env) else { panic!("expected done") };
    assert_eq!(out.result["content"][0]["text"], MCP);
    let methods: Vec<String> =
        world.requests_to(MCP).iter().map(|s| s.json()["method"].as_str().unwrap_or("").into()).collect();
    assert_eq!(methods, ["tools/call"; 3], "401, 403 (step-up), then the result");
    assert!(c.session().is_some_and(|s| s.id.is_none()));
}

#[test]
fn unsupported_version_is_answered_by_the_versions_the_server_names() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let list = |c: &mut PublicClient, world: &mut World, env: &mut Env<'_>| {
        let step = c.start(Operation::ListTools, env);
        drive(c, world, step, env)
    };
    // Our version named as supported (a rejection the client may retry): sent once more.
    let mut world = World { modern: true, refuse_version: Some(vec!["2026-07-28"]), ..World::new() };
    let mut c = client();
    assert!(matches!(list(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    assert!(world.requests_to(MCP).iter().all(|s| s.json()["method"] == "tools/list"));
    // Only another modern version: the client stops, naming what each side speaks.
    let mut world = World { modern: true, refuse_version: Some(vec!["2027-01-01"]), ..World::new() };
    let e = failure(list(&mut client(), &mut world, &mut env));
    assert!(
        matches!(e, Error::Refused(ref m) if m.contains("[\"2027-01-01\"]") && m.contains("2025-11-25")),
        "{e}"
    );
    // A modern-only client stops at a legacy server's 400; a dual-era one keeps the era
    // it found for the origin: a second operation opens no modern request.
    let mut world = World::new();
    let config = PublicClientConfig { eras: Eras::ModernOnly, ..PublicClientConfig::new(MCP, REDIRECT, "t") };
    let e = failure(list(&mut PublicClient::new(config).unwrap(), &mut world, &mut env));
    assert!(matches!(e, Error::HttpStatus { received: 400, .. }), "{e}");
    let mut world = World::new();
    let mut c = client();
    assert!(matches!(list(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    let before = world.seen.len();
    c.connect("https://mcp.example/other").unwrap();
    world.servers.push("https://mcp.example/other");
    assert!(matches!(list(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    let second: Vec<Value> = world.seen[before..]
        .iter()
        .filter(|s| s.url == "https://mcp.example/other")
        .map(|s| s.json())
        .collect();
    assert_eq!(second[0]["method"], "initialize", "no modern attempt first: {second:?}");
    assert!(second.iter().all(|m| m["params"]["_meta"].is_null()), "{second:?}");
}

#[test]
fn annotated_arguments_are_mirrored_and_broken_tools_left_out() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let annotated = |name: &str, header: &str| {
        json!({"name": name, "inputSchema": {"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": header}, "query": {"type": "string"}}}})
    };
    let mut world = World {
        modern: true,
        tools: vec![annotated("echo", "Region"), annotated("broken", "")],
        ..World::new()
    };
    let mut c = client();
    let step = c.start(Operation::ListTools, &mut env);
    let ClientStep::Done(out) = drive(&mut c, &mut world, step, &mut env) else { panic!("expected done") };
    assert_eq!(out.result["tools"].as_array().unwrap().len(), 1);
    assert_eq!(out.result["tools"][0]["name"], "echo");
    assert!(c.rejected_tools()[0].contains("`broken`") && c.rejected_tools()[0].contains("empty"));
    let op =
        Operation::CallTool { name: "echo".into(), arguments: json!({"region": "eu west ", "query": "q"}) };
    let step = c.start(op, &mut env);
    assert!(matches!(drive(&mut c, &mut world, step, &mut env), ClientStep::Done(_)));
    let call = world.requests_to(MCP).into_iter().rfind(|s| s.json()["method"] == "tools/call").unwrap();
    assert_eq!(call.headers["mcp-param-region"], "=?base64?ZXUgd2VzdCA=?=", "trailing space: encoded");
    assert!(call.headers.get("mcp-param-query").is_none(), "not annotated");
}

#[test]
fn refuses_metadata_naming_another_resource() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.prm_resource = Some("https://evil.example/mcp");
    let e = failure(call(&mut client(), &mut world, &mut env));
    assert!(matches!(e, Error::Unexpected { what: "protected resource metadata `resource`", .. }), "{e}");
    assert!(world.requests_to(AS).is_empty());
}

#[test]
fn refuses_authorization_server_metadata_with_another_issuer() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.as_metadata.issuer = "https://evil.example".into();
    let e = failure(call(&mut client(), &mut world, &mut env));
    assert!(matches!(e, Error::Unexpected { what: "issuer", .. }), "{e}");
    assert!(world.authorize_urls.is_empty());
    assert!(world.requests_to("https://as.example/register").is_empty());
}

#[test]
fn refuses_authorization_server_without_s256() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    for methods in [None, Some(vec!["plain".to_string()])] {
        let mut world = World::new();
        world.as_metadata.code_challenge_methods_supported = methods;
        let e = failure(call(&mut client(), &mut world, &mut env));
        assert!(matches!(e, Error::Refused(ref m) if m.contains("code_challenge_methods_supported")), "{e}");
        assert!(world.authorize_urls.is_empty());
    }
}

#[test]
fn refuses_javascript_authorization_endpoint() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.as_metadata.authorization_endpoint = Some("javascript:alert(document.cookie)".into());
    let e = failure(call(&mut client(), &mut world, &mut env));
    assert!(matches!(e, Error::Refused(ref m) if m.contains("authorization_endpoint")), "{e}");
    assert!(world.authorize_urls.is_empty());
}

#[test]
fn state_mismatch_stops_before_the_token_request() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.tamper = Tamper::State;
    let e = failure(call(&mut client(), &mut world, &mut env));
    assert!(matches!(e, Error::Unexpected { what: "state in the authorization response", .. }), "{e}");
    assert!(world.token_requests().is_empty());
}

#[test]
fn missing_or_wrong_iss_is_refused_when_advertised() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.tamper = Tamper::DropIss;
    let e = failure(call(&mut client(), &mut world, &mut env));
    assert!(matches!(e, Error::Missing(ref m) if m.starts_with("iss in the authorization response")), "{e}");
    assert!(world.token_requests().is_empty());

    let mut world = World::new();
    world.tamper = Tamper::WrongIss;
    let e = failure(call(&mut client(), &mut world, &mut env));
    assert!(matches!(e, Error::Unexpected { what: "iss in the authorization response", .. }), "{e}");
    assert!(world.token_requests().is_empty());

    // Not advertised and absent: accepted.
    let mut world = World::new();
    world.tamper = Tamper::DropIss;
    world.as_metadata.authorization_response_iss_parameter_supported = None;
    assert!(matches!(call(&mut client(), &mut world, &mut env), ClientStep::Done(_)));
}

#[test]
fn step_up_gives_up_after_max_step_up() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.always_forbid = true;
    let e = failure(call(&mut client(), &mut world, &mut env));
    assert!(matches!(e, Error::Refused(ref m) if m.contains("after 2 step-up authorizations")), "{e}");
    // The first authorization plus two step-ups.
    assert_eq!(world.authorize_urls.len(), 3);
}

#[test]
fn token_for_one_server_is_never_sent_to_another() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.servers.push(MCP_B);
    let mut c = client();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    let token_a = c.tokens().unwrap().access_token.clone();

    c.connect(MCP_B).unwrap();
    let first_b = world.seen.len();
    let ClientStep::Done(out) = call(&mut c, &mut world, &mut env) else { panic!("expected done") };
    assert_eq!(out.result["content"][0]["text"], MCP_B);
    let to_b = world.requests_to(MCP_B);
    assert!(to_b[0].authorization().is_none());
    assert!(to_b.iter().all(|s| s.authorization() != Some(&format!("Bearer {token_a}"))));
    assert!(world.seen[first_b..].iter().all(|s| !s.url.contains(&token_a)));
    let auth_b = query(world.authorize_urls.last().unwrap());
    assert_eq!(auth_b.get("resource"), Some(MCP_B));
    assert_eq!(world.token_requests().last().unwrap().get("resource"), Some(MCP_B));
    assert_eq!(c.tokens().unwrap().resource, MCP_B);
}

#[test]
fn discovery_falls_back_from_path_to_root_without_resource_metadata() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.challenge_names_metadata = false;
    world.prm_at_path = false;
    assert!(matches!(call(&mut client(), &mut world, &mut env), ClientStep::Done(_)));
    let prm: Vec<&str> =
        world.requests_to("https://mcp.example/.well-known").iter().map(|s| s.url.as_str()).collect();
    assert_eq!(prm[..2], [PRM_PATH, PRM_ROOT]);
}

#[test]
fn requests_tokens_for_the_resource_its_metadata_published() {
    // The origin's metadata names the origin (RFC 9728 §3.3: the identifier the
    // well-known suffix was inserted into): the client asks for exactly that resource.
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.challenge_names_metadata = false;
    world.prm_at_path = false;
    world.prm_resource = Some("https://mcp.example");
    let mut c = client();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    assert_eq!(query(&world.authorize_urls[0]).get("resource"), Some("https://mcp.example"));
    assert_eq!(world.token_requests()[0].get("resource"), Some("https://mcp.example"));
    assert_eq!(c.tokens().unwrap().resource, "https://mcp.example");
    // The token is kept for this server: a second call sends it without authorizing again.
    let authorizations = world.authorize_urls.len();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    assert_eq!(world.authorize_urls.len(), authorizations);
}

#[test]
fn authorization_server_discovery_follows_the_mcp_order_for_a_path_issuer() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    let issuer = "https://as.example/tenant";
    world.prm_issuer = issuer;
    world.as_metadata.issuer = issuer.into();
    world.as_metadata_url = format!("{issuer}/.well-known/openid-configuration");
    let mut c = client();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    let metadata: Vec<&str> = world
        .seen
        .iter()
        .map(|s| s.url.as_str())
        .filter(|u| u.starts_with(AS) && u.contains("/.well-known/"))
        .collect();
    assert_eq!(
        metadata[..3],
        [
            "https://as.example/.well-known/oauth-authorization-server/tenant",
            "https://as.example/.well-known/openid-configuration/tenant",
            "https://as.example/tenant/.well-known/openid-configuration",
        ]
    );
    assert_eq!(c.tokens().unwrap().issuer.as_deref(), Some(issuer));
}

#[test]
fn refresh_before_expiry_stores_the_rotated_token() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.expires_in = 300;
    let mut c = client();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    let first = c.tokens().unwrap().clone();

    // 250 s later the token is within the 60 s margin: refresh, then call.
    env.now = Time::from_unix_secs(1_250);
    let before = world.seen.len();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    let trail: Vec<&str> = world.seen[before..].iter().map(|s| s.url.as_str()).collect();
    assert_eq!(trail, ["https://as.example/token", MCP]);
    let refresh = world.token_requests().pop().unwrap();
    assert_eq!(refresh.get("grant_type"), Some("refresh_token"));
    assert_eq!(refresh.get("refresh_token"), first.refresh_token.as_deref());
    assert_eq!(refresh.get("resource"), Some(MCP));
    let now = c.tokens().unwrap().clone();
    assert_ne!(now.refresh_token, first.refresh_token);
    assert!(world.refresh.contains_key(now.refresh_token.as_deref().unwrap()));
    assert_eq!(now.expires_at, Some(Time::from_unix_secs(1_550)));
    assert_eq!(now.scope, first.scope);

    // An explicit refresh uses the rotated token and finishes with null.
    let step = c.refresh(&mut env);
    let ClientStep::Done(out) = drive(&mut c, &mut world, step, &mut env) else { panic!("expected done") };
    assert_eq!(out.result, Value::Null);
    assert_eq!(world.token_requests().pop().unwrap().get("refresh_token"), now.refresh_token.as_deref());
}

#[test]
fn tokens_shorter_than_the_refresh_margin_do_not_loop() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.expires_in = 30;
    let mut c = client();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    // Two code exchanges (first authorization and step-up), no refresh.
    assert_eq!(world.token_requests().len(), 2);
    // The next operation refreshes once, then uses the refreshed token.
    let before = world.seen.len();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    let trail: Vec<&str> = world.seen[before..].iter().map(|s| s.url.as_str()).collect();
    assert_eq!(trail, ["https://as.example/token", MCP]);
}

#[test]
fn invalid_grant_on_refresh_runs_a_new_authorization() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.expires_in = 300;
    let mut c = client();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    world.refresh_invalid = true;
    env.now = Time::from_unix_secs(1_250);
    let authorized = world.authorize_urls.len();
    let ClientStep::Done(out) = call(&mut c, &mut world, &mut env) else { panic!("expected done") };
    assert_eq!(out.authorizations, 1);
    assert_eq!(world.authorize_urls.len(), authorized + 1);
    assert_eq!(query(world.authorize_urls.last().unwrap()).get("scope"), Some("tools:read tools:write"));
}

#[test]
fn rejected_fresh_token_gets_one_reauthorization() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    let mut c = client();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    world.reject_all_tokens = true;
    let authorized = world.authorize_urls.len();
    let step = c.start(Operation::ListTools, &mut env);
    let e = failure(drive(&mut c, &mut world, step, &mut env));
    assert!(matches!(e, Error::Refused(ref m) if m.contains("`invalid_token`")), "{e}");
    assert_eq!(world.authorize_urls.len(), authorized + 1);
}

#[test]
fn expired_session_is_initialized_again_once() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    let mut c = client();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    world.expire_session = true;
    let before = world.seen.len();
    let step = c.start(Operation::ListTools, &mut env);
    assert!(matches!(drive(&mut c, &mut world, step, &mut env), ClientStep::Done(_)));
    let methods: Vec<Value> = world.seen[before..].iter().map(|s| s.json()["method"].clone()).collect();
    assert_eq!(methods, ["tools/list", "initialize", "notifications/initialized", "tools/list"]);

    // A server that keeps forgetting the session gets one new initialize per operation.
    world.expire_session = true;
    let step = c.start(Operation::ListTools, &mut env);
    let ClientStep::Send(req) = step else { panic!("expected a request") };
    let r = world.respond(&req);
    let ClientStep::Send(init) = c.on_response(Ok(r), &mut env) else { panic!("expected initialize") };
    let r = world.respond(&init);
    let ClientStep::Send(initialized) = c.on_response(Ok(r), &mut env) else {
        panic!("expected initialized")
    };
    let r = world.respond(&initialized);
    let ClientStep::Send(list) = c.on_response(Ok(r), &mut env) else { panic!("expected tools/list") };
    let e = failure(c.on_response(Ok(wire::json(StatusCode::NOT_FOUND, &json!({}))), &mut env));
    assert_eq!(e, Error::HttpStatus { what: "mcp server", received: 404, expected: "2xx" });
    assert!(list.headers().get("mcp-session-id").is_some());
}

#[test]
fn pre_registered_client_skips_registration_and_uses_basic() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    let mut config = PublicClientConfig::new(MCP, REDIRECT, "test client");
    config.pre_registered =
        Some(PreRegistered { client_id: "static".into(), client_secret: Some("s".into()), issuer: None });
    config.client_id_metadata_url = Some("https://client.example/meta.json".into());
    world.as_metadata.client_id_metadata_document_supported = Some(true);
    let mut c = PublicClient::new(config).unwrap();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    assert!(world.requests_to("https://as.example/register").is_empty());
    assert_eq!(query(&world.authorize_urls[0]).get("client_id"), Some("static"));
    let token = world.requests_to("https://as.example/token")[0];
    assert!(token.authorization().is_some_and(|h| h.starts_with("Basic ")));
}

#[test]
fn credentials_are_kept_per_authorization_server() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.servers.push(MCP_B);
    let mut c = client();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    let refresh_a = c.tokens().unwrap().refresh_token.clone().unwrap();

    // Server B's metadata names AS2: the client registers there, and AS2 sees nothing of
    // what AS gave it.
    world.move_to(AS2);
    c.connect(MCP_B).unwrap();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    assert_eq!(world.requests_to("https://as2.example/register").len(), 1);
    assert!(c.client_id().unwrap().starts_with("as2-client"));
    assert_eq!(c.client_id_at(AS), Some("dyn-client"));
    for s in world.requests_to(AS2) {
        let text = format!("{} {:?} {}", s.url, s.headers, String::from_utf8_lossy(&s.body));
        assert!(!text.contains("dyn-client") && !text.contains(&refresh_a), "{text}");
    }

    // Back at server A (AS): its registration is still there; no second registration.
    world.move_to(AS);
    c.connect(MCP).unwrap();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    assert_eq!(world.requests_to("https://as.example/register").len(), 1);
    assert_eq!(query(world.authorize_urls.last().unwrap()).get("client_id"), Some("dyn-client"));

    // The defect presents AS's client id at AS2 instead of registering there.
    let mut world = World::new();
    world.servers.push(MCP_B);
    let mut c = defective(Defect::ClientCredentialsReusedAcrossAs);
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    world.move_to(AS2);
    c.connect(MCP_B).unwrap();
    let _ = call(&mut c, &mut world, &mut env);
    assert!(world.requests_to("https://as2.example/register").is_empty());
    assert_eq!(query(world.authorize_urls.last().unwrap()).get("client_id"), Some("dyn-client"));
}

#[test]
fn pre_registered_credentials_stay_with_their_authorization_server() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.servers.push(MCP_B);
    let mut config = PublicClientConfig::new(MCP, REDIRECT, "test client");
    config.pre_registered =
        Some(PreRegistered { client_id: "static".into(), client_secret: Some("s".into()), issuer: None });
    let mut c = PublicClient::new(config).unwrap();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    let authorizations = world.authorize_urls.len();
    world.move_to(AS2);
    c.connect(MCP_B).unwrap();
    let e = failure(call(&mut c, &mut world, &mut env));
    assert!(
        matches!(e, Error::Refused(ref m) if m.contains("`static` belongs to `https://as.example`")),
        "{e}"
    );
    assert!(world.requests_to(AS2).iter().all(|s| s.authorization().is_none() && s.method == "GET"));
    assert_eq!(world.authorize_urls.len(), authorizations, "no authorization at AS2");
}

#[test]
fn metadata_document_url_is_the_client_id_when_advertised() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.as_metadata.client_id_metadata_document_supported = Some(true);
    let mut config = PublicClientConfig::new(MCP, REDIRECT, "test client");
    config.client_id_metadata_url = Some("https://client.example/meta.json".into());
    let mut c = PublicClient::new(config).unwrap();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    assert!(world.requests_to("https://as.example/register").is_empty());
    assert_eq!(query(&world.authorize_urls[0]).get("client_id"), Some("https://client.example/meta.json"));
    assert_eq!(world.token_requests()[0].get("client_id"), Some("https://client.example/meta.json"));

    let mut world = World::new();
    world.as_metadata.client_id_metadata_document_supported = Some(true);
    let mut config = PublicClientConfig::new(MCP, REDIRECT, "test client");
    config.client_id_metadata_url = Some("https://client.example/meta.json".into());
    config.defects = Defects::of([Defect::ClientIgnoresCimd]);
    let mut c = PublicClient::new(config).unwrap();
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    assert_eq!(world.requests_to("https://as.example/register").len(), 1, "the defect registers");
}

#[test]
fn registration_names_the_application_type_of_the_redirect_uri() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let web = "https://app.example/callback";
    for (redirect, configured, expected) in [
        (web, None, "web"),
        (web, Some(ApplicationType::Native), "native"),
        (REDIRECT, Some(ApplicationType::Web), "web"),
    ] {
        let mut world = World::new();
        let mut config = PublicClientConfig::new(MCP, redirect, "test client");
        config.application_type = configured;
        let mut c = PublicClient::new(config).unwrap();
        assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)), "{redirect}");
        let reg = world.requests_to("https://as.example/register")[0].json();
        assert_eq!(reg["application_type"], expected, "{redirect} {configured:?}");
        assert_eq!(reg["redirect_uris"], json!([redirect]));
    }
}

#[test]
fn no_registration_approach_fails_clearly() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.as_metadata.registration_endpoint = None;
    let e = failure(call(&mut client(), &mut world, &mut env));
    assert!(matches!(e, Error::Refused(ref m) if m.starts_with("no way to obtain a client_id")), "{e}");
}

#[test]
fn challenged_scope_is_requested_over_scopes_supported() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.scope_in_401 = Some("mcp:basic");
    assert!(matches!(call(&mut client(), &mut world, &mut env), ClientStep::Done(_)));
    assert_eq!(query(&world.authorize_urls[0]).get("scope"), Some("mcp:basic"));
    assert_eq!(query(&world.authorize_urls[1]).get("scope"), Some("mcp:basic tools:write"));
}

#[test]
fn scope_is_omitted_without_challenge_scope_or_scopes_supported() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.prm_scopes = None;
    world.needs.clear();
    assert!(matches!(call(&mut client(), &mut world, &mut env), ClientStep::Done(_)));
    assert_eq!(query(&world.authorize_urls[0]).get("scope"), None);
}

#[test]
fn redirect_to_another_uri_is_refused() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    let mut c = client();
    let mut step = c.start(Operation::ListTools, &mut env);
    let url = loop {
        step = match step {
            ClientStep::Send(req) => {
                let r = world.respond(&req);
                c.on_response(Ok(r), &mut env)
            }
            ClientStep::Authorize { url } => break url,
            other => panic!("unexpected {other:?}"),
        };
    };
    let state = query(&url).get("state").unwrap().to_string();
    let e = failure(c.on_redirect(&format!("https://evil.example/callback?code=c&state={state}"), &mut env));
    assert!(matches!(e, Error::Unexpected { what: "redirect url", .. }), "{e}");
    assert!(world.token_requests().is_empty());
}

#[test]
fn insecure_configuration_is_refused() {
    let bad = PublicClientConfig::new(MCP, "http://example.com/callback", "c");
    assert!(matches!(PublicClient::new(bad), Err(Error::Config(_))));
    let bad = PublicClientConfig::new("https://mcp.example/mcp#x", REDIRECT, "c");
    assert!(matches!(PublicClient::new(bad), Err(Error::Config(_))));
}

#[test]
fn fetch_failure_of_the_server_fails() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut c = client();
    let _ = c.start(Operation::ListTools, &mut env);
    let err = crate::sans_io::FetchError { url: MCP.into(), reason: "connection refused".into() };
    let e = failure(c.on_response(Err(err), &mut env));
    assert_eq!(e, Error::Fetch { url: MCP.into(), reason: "connection refused".into() });
    assert_eq!(c.state_name(), "idle");
}

fn defective(defect: Defect) -> PublicClient {
    let mut config = PublicClientConfig::new(MCP, REDIRECT, "defective client");
    config.defects = Defects::of([defect]);
    PublicClient::new(config).unwrap()
}

#[test]
fn each_client_defect_lets_its_attack_through() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    type Setup = fn(&mut World);
    type Passed = fn(&World) -> bool;
    let cases: [(Defect, Setup, Passed); 13] = [
        (Defect::NoStateCheck, |w| w.tamper = Tamper::State, |w| !w.token_requests().is_empty()),
        (Defect::ClientNoIssCheck, |w| w.tamper = Tamper::WrongIss, |w| !w.token_requests().is_empty()),
        (
            Defect::ClientIssUnadvertisedIgnored,
            |w| {
                w.tamper = Tamper::WrongIss;
                w.as_metadata.authorization_response_iss_parameter_supported = None;
            },
            |w| !w.token_requests().is_empty(),
        ),
        (Defect::ClientIssNormalized, |w| w.tamper = Tamper::SlashIss, |w| !w.token_requests().is_empty()),
        (
            Defect::ClientNoIssuerCheck,
            |w| w.as_metadata.issuer = "https://evil.example".into(),
            |w| !w.authorize_urls.is_empty(),
        ),
        (
            Defect::ClientNoPkceCheck,
            |w| w.as_metadata.code_challenge_methods_supported = None,
            |w| !w.authorize_urls.is_empty(),
        ),
        (
            Defect::ClientNoPrmResourceCheck,
            |w| w.prm_resource = Some("https://evil.example/mcp"),
            |w| !w.requests_to(AS).is_empty(),
        ),
        (
            Defect::ClientPrefersScopesSupported,
            |w| w.scope_in_401 = Some("tools:write"),
            |w| w.authorize_urls.first().is_some_and(|u| query(u).get("scope") == Some("tools:read")),
        ),
        (Defect::ClientNoDiscoveryOrder, |_| {}, |w| w.seen.iter().any(|s| s.url == PRM_ROOT)),
        (
            Defect::ClientStepUpIgnoresScope,
            |_| {},
            |w| {
                w.authorize_urls.len() > 1
                    && w.authorize_urls[1..]
                        .iter()
                        .all(|u| !query(u).get("scope").unwrap_or("").contains("tools:write"))
            },
        ),
        (
            Defect::ClientStepUpChallengedScopeOnly,
            |_| {},
            |w| w.authorize_urls.get(1).is_some_and(|u| query(u).get("scope") == Some("tools:write")),
        ),
        (
            Defect::ClientFollowsInsecureUrls,
            |w| w.as_metadata.authorization_endpoint = Some("http://evil.example/authorize".into()),
            |w| !w.authorize_urls.is_empty(),
        ),
        (
            Defect::ClientNoResourceParam,
            |_| {},
            |w| {
                w.authorize_urls.iter().all(|u| query(u).get("resource").is_none())
                    && w.token_requests().iter().all(|t| t.get("resource").is_none())
                    && !w.token_requests().is_empty()
            },
        ),
    ];
    for (defect, setup, passed) in cases {
        let mut world = World::new();
        setup(&mut world);
        let _ = call(&mut client(), &mut world, &mut env);
        assert!(!passed(&world), "{defect}: the honest client let the attack through");
        let mut world = World::new();
        setup(&mut world);
        let _ = call(&mut defective(defect), &mut world, &mut env);
        assert!(passed(&world), "{defect}: the defective client refused");
    }
}

#[test]
fn token_to_any_server_defect_leaks_the_token() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.servers.push(MCP_B);
    let mut c = defective(Defect::ClientTokenToAnyServer);
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    let token_a = c.tokens().unwrap().access_token.clone();
    c.connect(MCP_B).unwrap();
    let step = c.start(Operation::ListTools, &mut env);
    let ClientStep::Send(req) = step else { panic!("expected a request") };
    assert_eq!(req.headers().get(header::AUTHORIZATION).unwrap(), format!("Bearer {token_a}").as_str());
}

#[test]
fn unbounded_step_up_defect_keeps_authorizing() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.always_forbid = true;
    let mut c = defective(Defect::ClientUnboundedStepUp);
    let mut step = c.start(Operation::CallTool { name: "t".into(), arguments: json!({}) }, &mut env);
    while world.authorize_urls.len() < 6 {
        step = match step {
            ClientStep::Send(req) => {
                let r = world.respond(&req);
                c.on_response(Ok(r), &mut env)
            }
            ClientStep::Authorize { url } => {
                let redirect = world.user_agent(&url);
                c.on_redirect(&redirect, &mut env)
            }
            other => panic!("the defective client stopped: {other:?}"),
        };
    }
}

/// CL-57: an AS that issues no refresh token. When the access token expires, or is
/// refused with 401, the client authorizes again; with defect
/// `client-assumes-refresh-token` it stops with an error instead.
#[test]
fn without_a_refresh_token_the_client_authorizes_again() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    for defect in [None, Some(Defect::ClientAssumesRefreshToken)] {
        // Expired by the client's clock, then refused by the server before it expires.
        for expired in [true, false] {
            let mut world = World::new();
            world.no_refresh = true;
            world.expires_in = 300;
            let mut c = defect.map_or_else(client, defective);
            env.now = Time::from_unix_secs(1_000);
            assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)), "{defect:?}");
            assert_eq!(c.tokens().unwrap().refresh_token, None);
            if expired {
                env.now = Time::from_unix_secs(1_400);
            } else {
                world.access.clear();
            }
            let authorized = world.authorize_urls.len();
            let outcome = call(&mut c, &mut world, &mut env);
            let refreshes = world
                .token_requests()
                .iter()
                .filter(|t| t.get("grant_type") == Some("refresh_token"))
                .count();
            assert_eq!(refreshes, 0, "no refresh token, no refresh request");
            match defect {
                None => {
                    let ClientStep::Done(out) = outcome else { panic!("expected done, got {outcome:?}") };
                    assert!(
                        out.authorizations >= 1 && world.authorize_urls.len() > authorized,
                        "expired {expired}"
                    );
                }
                Some(_) => {
                    let e = failure(outcome);
                    assert!(matches!(e, Error::Missing(ref m) if m.starts_with("a refresh token")), "{e}");
                    assert_eq!(
                        world.authorize_urls.len(),
                        authorized,
                        "expired {expired}: no new authorization"
                    );
                }
            }
        }
    }
}

/// CL-51: a registration refused with 400 `invalid_redirect_uri` stops the client with
/// the AS's error after one request; with defect `client-retries-registration` it
/// registers again and again.
#[test]
fn a_refused_registration_stops_the_client() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    world.refuse_registration = true;
    let e = failure(call(&mut client(), &mut world, &mut env));
    assert!(
        matches!(e, Error::OAuth { status: 400, ref error, .. } if *error == ErrorCode::InvalidRedirectUri),
        "{e}"
    );
    assert!(e.to_string().contains("invalid_redirect_uri"), "{e}");
    assert_eq!(world.requests_to("https://as.example/register").len(), 1);
    assert!(world.authorize_urls.is_empty());

    let mut world = World::new();
    world.refuse_registration = true;
    let mut c = defective(Defect::ClientRetriesRegistration);
    let mut step = c.start(Operation::ListTools, &mut env);
    while world.requests_to("https://as.example/register").len() < 10 {
        step = match step {
            ClientStep::Send(req) => {
                let r = world.respond(&req);
                c.on_response(Ok(r), &mut env)
            }
            other => panic!("the defective client stopped: {other:?}"),
        };
    }
    let bodies: Vec<Value> =
        world.requests_to("https://as.example/register").iter().map(|s| s.json()).collect();
    assert!(bodies.iter().all(|b| *b == bodies[0]), "the same registration each time");
}

/// CL-49: the client_id of the authorization request is the one the AS issued; with
/// defect `client-invented-client-id` it is one the client made up, without registering.
#[test]
fn the_client_id_is_obtained_before_authorizing() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    assert!(matches!(call(&mut client(), &mut world, &mut env), ClientStep::Done(_)));
    assert_eq!(world.requests_to("https://as.example/register").len(), 1);
    assert!(world.authorize_urls.iter().all(|u| query(u).get("client_id") == Some("dyn-client")));

    let mut world = World::new();
    let _ = call(&mut defective(Defect::ClientInventedClientId), &mut world, &mut env);
    assert!(world.requests_to("https://as.example/register").is_empty());
    assert_eq!(query(&world.authorize_urls[0]).get("client_id"), Some(registration::INVENTED_CLIENT_ID));
}

/// CL-56: the registration lists the refresh_token grant; with defect
/// `client-no-refresh-grant-type` only authorization_code.
#[test]
fn the_registration_lists_the_refresh_token_grant() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    let _ = call(&mut defective(Defect::ClientNoRefreshGrantType), &mut world, &mut env);
    let reg = world.requests_to("https://as.example/register")[0].json();
    assert_eq!(reg["grant_types"], json!(["authorization_code"]));
}

/// A machine client (extension `io.modelcontextprotocol/oauth-client-credentials`).
fn machine(credential: Credential) -> PublicClient {
    let credentials = ClientCredentials { client_id: "svc".into(), credential, issuer: None };
    let config = PublicClientConfig {
        client_credentials: Some(credentials),
        ..PublicClientConfig::new(MCP, REDIRECT, "test client")
    };
    PublicClient::new(config).unwrap()
}

fn client_credentials_world() -> World {
    let mut world = World::new();
    world.no_refresh = true;
    world.as_metadata.grant_types_supported = Some(vec!["client_credentials".into()]);
    world.as_metadata.code_challenge_methods_supported = None;
    world.as_metadata.authorization_endpoint = None;
    world.as_metadata.registration_endpoint = None;
    world
}

#[test]
fn client_credentials_discovers_then_uses_the_grant_without_browser_or_registration() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = client_credentials_world();
    let mut c = machine(Credential::Secret("s3".into()));
    let ClientStep::Done(out) = call(&mut c, &mut world, &mut env) else { panic!("expected done") };
    assert_eq!(out.result["content"][0]["text"], MCP);
    assert!(world.authorize_urls.is_empty() && world.requests_to("https://as.example/register").is_empty());
    let requests = world.requests_to("https://as.example/token");
    // tools/list with the PRM's scope, then tools/call needs tools:write: a second grant
    // for the union (the step-up), each authenticated by client_secret_basic.
    assert_eq!(requests.len(), 2);
    let scopes: Vec<Option<String>> =
        requests.iter().map(|r| r.form().get("scope").map(String::from)).collect();
    assert_eq!(scopes, [Some("tools:read".into()), Some("tools:read tools:write".into())]);
    for r in requests {
        let form = r.form();
        assert_eq!(form.get("grant_type"), Some("client_credentials"));
        assert_eq!(form.get("resource"), Some(MCP));
        assert_eq!(form.get("client_secret"), None);
        assert!(r.authorization().is_some_and(|a| a.starts_with("Basic ")));
    }
    assert_eq!(c.tokens().unwrap().issuer.as_deref(), Some(AS));
}

#[test]
fn client_credentials_sign_a_fresh_assertion_for_the_issuer() {
    use crate::jwt::{Algorithm, KeySet, SigningKey, decode_verified};
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let key = SigningKey::generate(Algorithm::ES256, "k1", &mut env).unwrap();
    let keys = KeySet::from_jwks(&key.public_jwks()).unwrap();
    let credential = Credential::private_key(Algorithm::ES256, "k1", &key.to_pkcs8_der().unwrap()).unwrap();
    let mut world = client_credentials_world();
    world.as_metadata.token_endpoint_auth_methods_supported = Some(vec!["private_key_jwt".into()]);
    world.as_metadata.token_endpoint_auth_signing_alg_values_supported = Some(vec!["ES256".into()]);
    let mut c = machine(credential);
    assert!(matches!(call(&mut c, &mut world, &mut env), ClientStep::Done(_)));
    let mut jtis = Vec::new();
    for form in world.token_requests() {
        assert_eq!(form.get("client_assertion_type"), Some(token::JWT_BEARER_ASSERTION));
        let (_, payload) =
            decode_verified(form.get("client_assertion").unwrap(), &keys, &[Algorithm::ES256]).unwrap();
        let claims: token::ClientAssertionClaims = serde_json::from_slice(&payload).unwrap();
        assert_eq!((claims.iss.as_str(), claims.sub.as_str(), claims.aud.as_str()), ("svc", "svc", AS));
        assert!(claims.exp > claims.iat);
        jtis.push(claims.jti);
    }
    assert_eq!(jtis.len(), 2);
    assert_ne!(jtis[0], jtis[1], "a fresh jti per assertion");
}

#[test]
fn client_credentials_stop_where_the_as_does_not_offer_them() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = World::new();
    let e = failure(call(&mut machine(Credential::Secret("s".into())), &mut world, &mut env)).to_string();
    assert!(e.contains("grant_types_supported") && e.contains("client_credentials"), "{e}");
    let mut world = client_credentials_world();
    world.as_metadata.token_endpoint_auth_methods_supported = Some(vec!["private_key_jwt".into()]);
    let e = failure(call(&mut machine(Credential::Secret("s".into())), &mut world, &mut env)).to_string();
    assert!(e.contains("client_secret_basic") && e.contains("private_key_jwt"), "{e}");
    assert!(world.token_requests().is_empty());
    let mut world = client_credentials_world();
    let mut bound = machine(Credential::Secret("s".into()));
    bound.config.client_credentials.as_mut().unwrap().issuer = Some(AS2.into());
    let e = failure(call(&mut bound, &mut world, &mut env)).to_string();
    assert!(e.contains(AS2) && world.token_requests().is_empty(), "{e}");
}

/// `client-cc-unauthenticated` sends the client id alone; `client-cc-assertion-wrong-audience`
/// signs its assertions for the MCP server, not the AS.
#[test]
fn client_credentials_defects_change_what_they_name() {
    use crate::jwt::{Algorithm, SigningKey};
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let defective_machine = |credential: Credential, defect: Defect| {
        let mut c = machine(credential);
        c.config.defects = Defects::of([defect]);
        c
    };
    let mut world = client_credentials_world();
    let mut c = defective_machine(Credential::Secret("s3".into()), Defect::ClientCcUnauthenticated);
    let _ = call(&mut c, &mut world, &mut env);
    let r = &world.requests_to("https://as.example/token")[0];
    assert_eq!((r.form().get("client_id"), r.form().get("client_secret")), (Some("svc"), None));
    assert!(r.authorization().is_none());

    let key = SigningKey::generate(Algorithm::ES256, "k1", &mut env).unwrap();
    let credential = Credential::private_key(Algorithm::ES256, "k1", &key.to_pkcs8_der().unwrap()).unwrap();
    let mut world = client_credentials_world();
    world.as_metadata.token_endpoint_auth_methods_supported = Some(vec!["private_key_jwt".into()]);
    let mut c = defective_machine(credential, Defect::ClientCcAssertionWrongAudience);
    let _ = call(&mut c, &mut world, &mut env);
    let assertion = world.token_requests()[0].get("client_assertion").unwrap().to_string();
    let payload = crate::jwt::split(&assertion).unwrap().payload;
    let claims: token::ClientAssertionClaims = serde_json::from_slice(&payload).unwrap();
    assert_eq!(claims.aud, MCP);
}
