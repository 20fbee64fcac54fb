//! Stateful targets: an [`Arbitrary`] sequence of requests against the reference
//! authorization server and MCP server, driven sans-IO with a seeded RNG and a virtual
//! clock. Besides "never a panic", each checks invariants after every exchange:
//!
//! - authorization server: a code is redeemed at most once and never after its
//!   lifetime; a refresh token is used at most once (rotation); every access token
//!   issued validates against the server's own JWKS; no 5xx.
//! - MCP server: a side-effecting tool (`write_note`, `admin_reset`) runs only for a
//!   request whose token was signed by the trusted key, names the trusted issuer, is
//!   unexpired and carries the tool's scope; no 5xx.

use crate::parsers::NOW;
use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, header};
use mcp_authz_reference::access_token::{AccessTokenClaims, Audience, TYP, Validator};
use mcp_authz_reference::authorization_server::{self as authz, AuthorizationServer, RegisteredClient};
use mcp_authz_reference::defects::Defects;
use mcp_authz_reference::jwt::{self, Algorithm, JoseHeader, KeySet, SigningKey};
use mcp_authz_reference::mcp_server::{self, McpServer, PROTOCOL_VERSION, SESSION_ID};
use mcp_authz_reference::sans_io::{Env, FetchError, Request, Response, Time, drive};
use mcp_authz_reference::wire::{self, Params};
use rand_core::SeedableRng;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A string the fuzzer either picks from a table of plausible values or makes up.
#[derive(Arbitrary, Debug, Clone)]
pub enum Text {
    /// Entry `n % len` of the field's table.
    Known(u8),
    /// Anything.
    Raw(String),
}

impl Text {
    pub(crate) fn pick<'a>(&'a self, table: &[&'a str]) -> &'a str {
        match self {
            Text::Known(i) if !table.is_empty() => table[usize::from(*i) % table.len()],
            Text::Known(_) => "",
            Text::Raw(s) => s,
        }
    }

    /// Like [`Text::pick`] over owned values seen earlier in the run.
    fn pick_seen<'a>(&'a self, seen: &'a [String]) -> &'a str {
        match self {
            Text::Known(i) if !seen.is_empty() => &seen[usize::from(*i) % seen.len()],
            Text::Known(_) => "",
            Text::Raw(s) => s,
        }
    }
}

fn opt<'a>(t: &'a Option<Text>, table: &[&'a str]) -> Option<&'a str> {
    t.as_ref().map(|t| t.pick(table))
}

/// A field whose absence means the valid value, `table[0]`: half of the draws keep the
/// request on the path that succeeds, so the fuzzer reaches the deep states.
fn valid_or<'a>(t: &'a Option<Text>, table: &[&'a str]) -> &'a str {
    t.as_ref().map_or(table[0], |t| t.pick(table))
}

fn empty_request(method: Method, uri: &str) -> Request {
    let uri = http::Uri::try_from(uri).unwrap_or_else(|_| http::Uri::from_static("/"));
    let mut r = Request::new(Bytes::new());
    *r.method_mut() = method;
    *r.uri_mut() = uri;
    r
}

fn form(uri: &str, pairs: &[(&str, &str)]) -> Request {
    let mut r = empty_request(Method::POST, uri);
    *r.body_mut() = Bytes::from(wire::encode_pairs(pairs.iter().copied()));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
    r
}

fn set_header(r: &mut Request, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::DELETE, Method::PUT, Method::OPTIONS];

// ---------------------------------------------------------------- authorization server

const AS_ISSUER: &str = "http://127.0.0.1:9000";
const AS_RESOURCE: &str = "http://127.0.0.1:9001/mcp";
const PUBLIC: &str = "test-client";
const CONFIDENTIAL: &str = "conf-client";
const SECRET: &str = "conf-secret";
const CIMD: &str = "https://client.example/mcp.json";
const REDIRECT: &str = "http://127.0.0.1:7777/callback";
/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

const CLIENTS: [&str; 4] = [PUBLIC, CONFIDENTIAL, CIMD, "unknown"];
const CONFIDENTIAL_FIRST: [&str; 3] = [CONFIDENTIAL, PUBLIC, "unknown"];
const REDIRECTS: [&str; 4] = [REDIRECT, "http://127.0.0.1:1234/callback", "https://evil.example/cb", ""];
const RESOURCES: [&str; 4] = [AS_RESOURCE, "HTTP://127.0.0.1:9001/mcp/", "http://127.0.0.1:9001/other", ""];
const SCOPES: [&str; 5] = ["mcp:read", "mcp:write", "mcp:read mcp:write", "mcp:admin", ""];
const PATHS: [&str; 10] = [
    "/authorize",
    "/token",
    "/register",
    "/revoke",
    "/introspect",
    "/jwks",
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/nope",
    "/authorize?",
];

/// One request to the authorization server.
#[derive(Arbitrary, Debug)]
pub enum AsOp {
    /// `GET /authorize` with chosen parameters (`None`: the valid value).
    Authorize {
        /// client_id.
        client: Option<Text>,
        /// redirect_uri.
        redirect: Option<Text>,
        /// code_challenge.
        challenge: Option<Text>,
        /// code_challenge_method.
        method: Option<Text>,
        /// state.
        state: Option<Text>,
        /// resource.
        resource: Option<Text>,
        /// scope.
        scope: Option<Text>,
        /// Which one of the eight parameters to leave out.
        drop: Option<u8>,
    },
    /// `POST /authorize`: the login and consent form.
    Consent {
        /// A CSRF token seen in a form, or made up.
        csrf: Text,
        /// username.
        username: Option<Text>,
        /// password.
        password: Option<Text>,
        /// approve / deny.
        action: Option<Text>,
    },
    /// `grant_type=authorization_code`.
    Code {
        /// A code seen in a redirect, or made up.
        code: Text,
        /// code_verifier.
        verifier: Option<Text>,
        /// client_id.
        client: Option<Text>,
        /// redirect_uri.
        redirect: Option<Text>,
        /// resource.
        resource: Option<Text>,
        /// Authenticate as the confidential client with HTTP Basic.
        basic: bool,
    },
    /// `grant_type=refresh_token`.
    Refresh {
        /// A refresh token seen, or made up.
        token: Text,
        /// client_id.
        client: Option<Text>,
        /// scope.
        scope: Option<Text>,
        /// resource.
        resource: Option<Text>,
    },
    /// `grant_type=client_credentials` with HTTP Basic.
    ClientCredentials {
        /// The client id of the Basic credentials.
        client: Option<Text>,
        /// The secret of the Basic credentials.
        secret: Option<Text>,
        /// scope.
        scope: Option<Text>,
        /// resource.
        resource: Option<Text>,
    },
    /// `POST /register` with a JSON body.
    Register(Vec<u8>),
    /// `POST /revoke` or `/introspect` for a token seen (as the confidential client).
    RevokeOrIntrospect {
        /// `/introspect` rather than `/revoke`.
        introspect: bool,
        /// A token seen, or made up.
        token: Text,
    },
    /// Anything.
    Raw {
        /// Index into a few methods.
        method: u8,
        /// Path (and query).
        path: Text,
        /// Content-Type.
        content_type: Option<String>,
        /// Authorization.
        authorization: Option<String>,
        /// Body.
        body: Vec<u8>,
    },
    /// Shortcut: a valid authorization request of the public client, approved at the
    /// consent form when the form shows.
    ValidAuthorize,
    /// Shortcut: the latest code redeemed with valid parameters.
    RedeemLatest,
    /// Shortcut: the latest refresh token used by the public client.
    RefreshLatest,
    /// The clock moves on.
    Advance(u16),
    /// The server rotates its signing key.
    Rotate,
}

/// A run against the authorization server.
#[derive(Arbitrary, Debug)]
pub struct AsScript {
    /// Show the login and consent form rather than auto-approving.
    pub form: bool,
    /// The body every client ID metadata document fetch gets.
    pub document: Vec<u8>,
    /// The requests, in order.
    pub ops: Vec<AsOp>,
}

/// What the run saw and what the invariants need.
struct AsWorld {
    server: AuthorizationServer,
    rng: rand_chacha::ChaCha20Rng,
    now: Time,
    document: Vec<u8>,
    /// Codes from redirects, with the instant they were issued.
    codes: Vec<String>,
    issued_at: BTreeMap<String, Time>,
    csrfs: Vec<String>,
    tokens: Vec<String>,
    refresh_tokens: Vec<String>,
    redeemed_codes: BTreeSet<String>,
    used_refresh: BTreeSet<String>,
}

impl AsWorld {
    fn new(form: bool, document: Vec<u8>, defects: Defects) -> Self {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let now = Time::from_unix_secs(NOW);
        let config = authz::Config {
            auto_approve: !form,
            signing_alg: Algorithm::EdDSA,
            defects,
            ..Default::default()
        };
        let mut server =
            AuthorizationServer::new(config, &mut Env::new(now, &mut rng)).expect("default config");
        let scopes = ["mcp:read", "mcp:write"];
        server.register_client(RegisteredClient::public(PUBLIC, &[REDIRECT], &scopes));
        server.register_client(RegisteredClient {
            client_secret: Some(SECRET.into()),
            grant_types: ["authorization_code", "refresh_token", "client_credentials"]
                .map(String::from)
                .to_vec(),
            token_endpoint_auth_method: "client_secret_basic".into(),
            ..RegisteredClient::public(CONFIDENTIAL, &[REDIRECT], &scopes)
        });
        AsWorld {
            server,
            rng,
            now,
            document,
            codes: vec![],
            issued_at: BTreeMap::new(),
            csrfs: vec![],
            tokens: vec![],
            refresh_tokens: vec![],
            redeemed_codes: BTreeSet::new(),
            used_refresh: BTreeSet::new(),
        }
    }

    fn send(&mut self, request: Request) {
        let path = request.uri().path().to_string();
        let sent = if request.method() == Method::POST { Params::parse(request.body()).ok() } else { None };
        let query = Params::from_query(request.uri()).ok();
        let AsWorld { server, rng, now, document, .. } = self;
        let response = drive(server, request, &mut Env::new(*now, rng), |r| {
            let mut answer = Response::new(Bytes::from(document.clone()));
            answer.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            if r.uri().to_string().starts_with("https://client.example/") {
                Ok(answer)
            } else {
                Err(FetchError { url: r.uri().to_string(), reason: "connection refused".into() })
            }
        });
        assert!(response.status().as_u16() < 500, "{} at {path}: {:?}", response.status(), response.body());
        self.observe(&path, sent.as_ref(), query.as_ref(), &response);
    }

    fn observe(&mut self, path: &str, sent: Option<&Params>, query: Option<&Params>, r: &Response) {
        if let Some(location) = r.headers().get(header::LOCATION).and_then(|l| l.to_str().ok())
            && let Ok(url) = url::Url::parse(location)
            && let Ok(p) = Params::parse(url.query().unwrap_or("").as_bytes())
            && let Some(code) = p.get("code")
        {
            assert_eq!(p.get("iss"), Some(AS_ISSUER), "a code redirect without the issuer: {location}");
            if let Some(state) = query.and_then(|q| q.get("state")).filter(|s| !s.is_empty()) {
                assert_eq!(p.get("state"), Some(state), "state changed in {location}");
            }
            self.codes.push(code.to_string());
            self.issued_at.insert(code.to_string(), self.now);
        }
        let body = String::from_utf8_lossy(r.body());
        if let Some(csrf) = body.split("name=\"csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()) {
            self.csrfs.push(csrf.to_string());
        }
        if path != "/token" || r.status() != 200 {
            return;
        }
        let sent = sent.expect("a 200 from /token for a form that does not parse");
        match sent.get("grant_type") {
            Some("authorization_code") => {
                let code = sent.get("code").unwrap_or("");
                assert!(self.redeemed_codes.insert(code.to_string()), "code `{code}` redeemed twice");
                let issued =
                    self.issued_at.get(code).copied().expect("a code the server never issued redeemed");
                assert!(
                    self.now.since(issued) <= authz::config::MAX_CODE_TTL,
                    "code redeemed {:?} after issue",
                    self.now.since(issued)
                );
            }
            Some("refresh_token") => {
                let t = sent.get("refresh_token").unwrap_or("");
                assert!(self.used_refresh.insert(t.to_string()), "refresh token used twice");
            }
            _ => {}
        }
        let v: serde_json::Value = serde_json::from_slice(r.body()).expect("a json token response");
        let access = v["access_token"].as_str().expect("an access token");
        let keys = KeySet::from_jwks(&self.server.jwks()).expect("own jwks");
        let aud = jwt::split(access)
            .ok()
            .and_then(|c| serde_json::from_slice::<AccessTokenClaims>(&c.payload).ok())
            .and_then(|c| c.aud.iter().next().map(String::from))
            .unwrap_or_default();
        if let Err(e) = Validator::new(AS_ISSUER, aud.clone(), keys).validate(access, self.now) {
            panic!("an issued access token for `{aud}` does not validate: {e}");
        }
        self.tokens.push(access.to_string());
        if let Some(rt) = v["refresh_token"].as_str() {
            self.tokens.push(rt.to_string());
            self.refresh_tokens.push(rt.to_string());
        }
    }

    fn op(&mut self, op: &AsOp) {
        match op {
            AsOp::Authorize { client, redirect, challenge, method, state, resource, scope, drop } => {
                let all = [
                    ("response_type", Some("code")),
                    ("client_id", Some(valid_or(client, &CLIENTS))),
                    ("redirect_uri", Some(valid_or(redirect, &REDIRECTS))),
                    ("code_challenge", Some(valid_or(challenge, &[CHALLENGE, VERIFIER, "short"]))),
                    ("code_challenge_method", Some(valid_or(method, &["S256", "plain", "s256"]))),
                    ("state", opt(state, &["xyz", "a&b=c", ""])),
                    ("resource", Some(valid_or(resource, &RESOURCES))),
                    ("scope", opt(scope, &SCOPES)),
                ];
                let pairs: Vec<(&str, &str)> = all
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| drop.is_none_or(|d| usize::from(d) % 8 != *i))
                    .filter_map(|(_, (k, v))| v.map(|v| (*k, v)))
                    .collect();
                self.send(empty_request(Method::GET, &format!("/authorize?{}", wire::encode_pairs(pairs))));
            }
            AsOp::Consent { csrf, username, password, action } => {
                let csrf = csrf.pick_seen(&self.csrfs).to_string();
                let pairs = [
                    ("csrf", csrf.as_str()),
                    ("username", valid_or(username, &["alice", "bob"])),
                    ("password", valid_or(password, &["alice", "wrong"])),
                    ("action", valid_or(action, &["approve", "deny"])),
                ];
                self.send(form("/authorize", &pairs));
            }
            AsOp::Code { code, verifier, client, redirect, resource, basic } => {
                let code = code.pick_seen(&self.codes).to_string();
                let mut pairs = vec![
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("code_verifier", valid_or(verifier, &[VERIFIER, CHALLENGE])),
                    ("redirect_uri", valid_or(redirect, &REDIRECTS)),
                ];
                if !basic {
                    pairs.push(("client_id", valid_or(client, &CLIENTS)));
                }
                pairs.extend(opt(resource, &RESOURCES).map(|r| ("resource", r)));
                let mut r = form("/token", &pairs);
                if *basic {
                    set_header(
                        &mut r,
                        header::AUTHORIZATION,
                        &basic_auth(valid_or(client, &CONFIDENTIAL_FIRST), SECRET),
                    );
                }
                self.send(r);
            }
            AsOp::Refresh { token, client, scope, resource } => {
                let token = token.pick_seen(&self.tokens).to_string();
                let mut pairs = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                    ("client_id", valid_or(client, &CLIENTS)),
                ];
                pairs.extend(opt(scope, &SCOPES).map(|s| ("scope", s)));
                pairs.extend(opt(resource, &RESOURCES).map(|r| ("resource", r)));
                self.send(form("/token", &pairs));
            }
            AsOp::ClientCredentials { client, secret, scope, resource } => {
                let mut pairs = vec![("grant_type", "client_credentials")];
                pairs.extend(opt(scope, &SCOPES).map(|s| ("scope", s)));
                pairs.extend(opt(resource, &RESOURCES).map(|r| ("resource", r)));
                let mut r = form("/token", &pairs);
                let auth =
                    basic_auth(valid_or(client, &CONFIDENTIAL_FIRST), valid_or(secret, &[SECRET, "wrong"]));
                set_header(&mut r, header::AUTHORIZATION, &auth);
                self.send(r);
            }
            AsOp::Register(body) => {
                let mut r = empty_request(Method::POST, "/register");
                *r.body_mut() = Bytes::from(body.clone());
                r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                self.send(r);
            }
            AsOp::RevokeOrIntrospect { introspect, token } => {
                let token = token.pick_seen(&self.tokens).to_string();
                let path = if *introspect { "/introspect" } else { "/revoke" };
                let mut r = form(path, &[("token", &token)]);
                set_header(&mut r, header::AUTHORIZATION, &basic_auth(CONFIDENTIAL, SECRET));
                self.send(r);
            }
            AsOp::Raw { method, path, content_type, authorization, body } => {
                let mut r =
                    empty_request(METHODS[usize::from(*method) % METHODS.len()].clone(), path.pick(&PATHS));
                *r.body_mut() = Bytes::from(body.clone());
                if let Some(ct) = content_type {
                    set_header(&mut r, header::CONTENT_TYPE, ct);
                }
                if let Some(a) = authorization {
                    set_header(&mut r, header::AUTHORIZATION, a);
                }
                self.send(r);
            }
            AsOp::ValidAuthorize => {
                let csrfs = self.csrfs.len();
                self.op(&AsOp::Authorize {
                    client: None,
                    redirect: None,
                    challenge: None,
                    method: None,
                    state: Some(Text::Known(0)),
                    resource: None,
                    scope: None,
                    drop: None,
                });
                if self.csrfs.len() > csrfs {
                    let csrf = self.csrfs.last().cloned().unwrap_or_default();
                    let pairs = [
                        ("csrf", csrf.as_str()),
                        ("username", "alice"),
                        ("password", "alice"),
                        ("action", "approve"),
                    ];
                    self.send(form("/authorize", &pairs));
                }
            }
            AsOp::RedeemLatest => {
                let code = self.codes.last().cloned().unwrap_or_default();
                let pairs = [
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("code_verifier", VERIFIER),
                    ("redirect_uri", REDIRECT),
                    ("client_id", PUBLIC),
                ];
                self.send(form("/token", &pairs));
            }
            AsOp::RefreshLatest => {
                let token = self.refresh_tokens.last().cloned().unwrap_or_default();
                let pairs = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                    ("client_id", PUBLIC),
                ];
                self.send(form("/token", &pairs));
            }
            AsOp::Advance(secs) => self.now = self.now.plus(Duration::from_secs(u64::from(*secs))),
            AsOp::Rotate => {
                let AsWorld { server, rng, now, .. } = self;
                server.rotate_signing_key(&mut Env::new(*now, rng)).expect("key rotation");
            }
        }
    }
}

fn basic_auth(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", enc(id), enc(secret));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

/// What a run against the authorization server got through to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsSummary {
    /// Codes issued in redirects.
    pub codes_issued: usize,
    /// Codes redeemed (200 from the token endpoint).
    pub codes_redeemed: usize,
    /// Refresh tokens redeemed.
    pub refreshes: usize,
}

/// Runs `script` (its first 64 requests) against an authorization server committing
/// `defects`, checking the invariants after each exchange.
pub fn run_authorization_server(script: &AsScript, defects: Defects) -> AsSummary {
    let mut world = AsWorld::new(script.form, script.document.clone(), defects);
    for op in script.ops.iter().take(64) {
        world.op(op);
    }
    AsSummary {
        codes_issued: world.codes.len(),
        codes_redeemed: world.redeemed_codes.len(),
        refreshes: world.used_refresh.len(),
    }
}

/// The authorization server target: the input is an [`AsScript`], run against a
/// correct server.
pub fn authorization_server(data: &[u8]) {
    if let Ok(script) = AsScript::arbitrary_take_rest(Unstructured::new(data)) {
        run_authorization_server(&script, Defects::none());
    }
}

// ---------------------------------------------------------------- MCP server

const MCP_ISSUER: &str = "http://127.0.0.1:9000";
const MCP_RESOURCE: &str = "http://127.0.0.1:9001/mcp";
const MCP_SCOPES: [&str; 3] = ["mcp:read", "mcp:write", "mcp:admin"];
const TOOLS: [&str; 5] = ["write_note", "admin_reset", "echo", "fetch_report", "nope"];
/// The side-effecting tools and the scope each needs.
const SIDE_EFFECTS: [(&str, &str); 2] = [("write_note", "mcp:write"), ("admin_reset", "mcp:admin")];

/// Which key signs a minted token.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// The key the server trusts.
    Trusted,
    /// Another EdDSA key under the trusted key's `kid`.
    Impostor,
    /// HS256 keyed with the trusted public JWK (algorithm confusion).
    Confusion,
    /// `alg: none`.
    Unsigned,
}

/// The token a request carries.
#[derive(Arbitrary, Debug, Clone)]
pub enum Token {
    /// No `Authorization` header.
    Absent,
    /// A token minted for this request.
    Minted {
        /// Who signs.
        signer: Signer,
        /// Bit i grants `MCP_SCOPES[i]`.
        scopes: u8,
        /// Issuer.
        iss: Option<Text>,
        /// Audience.
        aud: Option<Text>,
        /// `typ` header.
        typ: Option<Text>,
        /// `exp` relative to now (`None`: 600).
        exp: Option<i16>,
        /// `iat` relative to now (`None`: now).
        iat: Option<i16>,
        /// `nbf` relative to now.
        nbf: Option<i16>,
        /// Leave out `sub`, `client_id`, `jti`, `exp`, `iat` (bits 0 to 4).
        missing: u8,
        /// Use the header scheme `bearer` and odd spacing.
        odd_header: bool,
    },
    /// A raw `Authorization` header value.
    Raw(String),
}

/// A token of the trusted issuer for this resource, with the scopes of `scopes`' bits.
fn valid_token(scopes: u8) -> Token {
    minted_token(Signer::Trusted, scopes, None)
}

/// A token signed by `signer`, with the scopes of `scopes`' bits and issuer `iss`
/// (`None`: the trusted one), otherwise valid.
pub fn minted_token(signer: Signer, scopes: u8, iss: Option<Text>) -> Token {
    Token::Minted {
        signer,
        scopes,
        iss,
        aud: None,
        typ: None,
        exp: None,
        iat: None,
        nbf: None,
        missing: 0,
        odd_header: false,
    }
}

/// The `Mcp-Session-Id` a request carries.
#[derive(Arbitrary, Debug, Clone)]
pub enum Session {
    /// None.
    Absent,
    /// One handed out earlier in the run.
    Seen(u8),
    /// The last one handed out.
    Latest,
    /// Anything.
    Raw(String),
}

/// A JSON-RPC body.
#[derive(Arbitrary, Debug, Clone)]
pub enum Body {
    /// `initialize` with a protocol version (`None`: the latest).
    Initialize(Option<Text>),
    /// `notifications/initialized`.
    Initialized,
    /// `tools/list`.
    ToolsList,
    /// `tools/call`.
    Call {
        /// The tool (`None`: `write_note`).
        tool: Option<Text>,
        /// `text` argument.
        text: String,
    },
    /// A batch of the above (as JSON values).
    Batch(Vec<Body>),
    /// Any bytes.
    Raw(Vec<u8>),
}

impl Body {
    fn value(&self) -> serde_json::Value {
        match self {
            Body::Initialize(v) => json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": valid_or(v, &["2025-11-25", "2025-06-18", "1999-01-01"]),
                "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "1"}}}),
            Body::Initialized => json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            Body::ToolsList => json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
            Body::Call { tool, text } => json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": valid_or(tool, &TOOLS), "arguments": {"text": text}}}),
            Body::Batch(items) => items.iter().take(8).map(Body::value).collect(),
            Body::Raw(bytes) => serde_json::from_slice(bytes).unwrap_or(serde_json::Value::Null),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Body::Raw(bytes) => bytes.clone(),
            b => serde_json::to_vec(&b.value()).expect("json serializes"),
        }
    }
}

/// One request to the MCP server.
#[derive(Arbitrary, Debug)]
pub enum McpOp {
    /// A POST to the MCP endpoint.
    Post {
        /// The token.
        token: Token,
        /// The session.
        session: Session,
        /// The body.
        body: Body,
        /// `MCP-Protocol-Version` (`None`: the latest; an empty pick: absent).
        version: Option<Text>,
        /// `Accept`.
        accept: Option<Text>,
        /// `Content-Type`.
        content_type: Option<Text>,
        /// `Origin`.
        origin: Option<Text>,
    },
    /// Another method or path.
    Other {
        /// Index into a few methods.
        method: u8,
        /// The path.
        path: Text,
        /// The token.
        token: Token,
        /// The session.
        session: Session,
    },
    /// Shortcut: `initialize` with a valid token carrying every scope.
    ValidInitialize,
    /// Shortcut: `tools/call` in the latest session with a valid token.
    ValidCall {
        /// The tool (`None`: `write_note`).
        tool: Option<Text>,
        /// Bit i grants `MCP_SCOPES[i]`.
        scopes: u8,
    },
    /// The clock moves on.
    Advance(u16),
    /// The JWKS endpoint fails from now on (or recovers).
    JwksDown(bool),
}

/// A run against the MCP server.
#[derive(Arbitrary, Debug)]
pub struct McpScript {
    /// The requests, in order.
    pub ops: Vec<McpOp>,
}

struct Keys {
    trusted: SigningKey,
    impostor: SigningKey,
    confusion: SigningKey,
}

struct McpWorld {
    server: McpServer,
    keys: Keys,
    rng: rand_chacha::ChaCha20Rng,
    now: Time,
    jwks_down: bool,
    sessions: Vec<String>,
}

/// What the invariant needs to know of a minted token.
struct Minted {
    signer: Signer,
    typ_ok: bool,
    iss_ok: bool,
    aud_ok: bool,
    exp: Option<u64>,
    scopes: Vec<&'static str>,
}

impl McpWorld {
    fn new(defects: Defects) -> Self {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let now = Time::from_unix_secs(NOW);
        let mut env = Env::new(now, &mut rng);
        let trusted = SigningKey::generate(Algorithm::EdDSA, "k1", &mut env).expect("key");
        let impostor = SigningKey::generate(Algorithm::EdDSA, "k1", &mut env).expect("key");
        let confusion = SigningKey::hmac("k1", &trusted.public_key_bytes_for_confusion());
        let config = mcp_server::Config { defects, ..mcp_server::Config::new(MCP_RESOURCE, MCP_ISSUER) };
        let server = McpServer::new(config).expect("default config");
        McpWorld {
            server,
            keys: Keys { trusted, impostor, confusion },
            rng,
            now,
            jwks_down: false,
            sessions: vec![],
        }
    }

    fn offset(&self, d: i16) -> u64 {
        self.now.unix_secs().saturating_add_signed(i64::from(d))
    }

    /// The `Authorization` value of `token`, and what was minted.
    fn authorization(&self, token: &Token) -> (Option<String>, Option<Minted>) {
        let Token::Minted { signer, scopes, iss, aud, typ, exp, iat, nbf, missing, odd_header } = token
        else {
            return (if let Token::Raw(s) = token { Some(s.clone()) } else { None }, None);
        };
        let granted: Vec<&'static str> =
            MCP_SCOPES.iter().enumerate().filter(|(i, _)| scopes & (1 << i) != 0).map(|(_, s)| *s).collect();
        let iss = valid_or(iss, &[MCP_ISSUER, "http://127.0.0.1:9000/", "https://evil.example"]);
        let claims = AccessTokenClaims {
            iss: iss.to_string(),
            sub: (missing & 1 == 0).then(|| "alice".into()),
            aud: Audience::one(valid_or(
                aud,
                &[MCP_RESOURCE, "HTTP://127.0.0.1:9001/mcp/", "http://127.0.0.1:9001/x"],
            )),
            client_id: (missing & 2 == 0).then(|| "client-a".into()),
            scope: Some(granted.join(" ")),
            exp: (missing & 8 == 0).then(|| self.offset(exp.unwrap_or(600))),
            iat: (missing & 16 == 0).then(|| self.offset(iat.unwrap_or(0))),
            nbf: nbf.map(|d| self.offset(d)),
            jti: (missing & 4 == 0).then(|| format!("jti-{}", self.now.unix_millis())),
        };
        let typ = valid_or(typ, &[TYP, "AT+JWT", "JWT", "application/at+jwt"]);
        let key = match signer {
            Signer::Trusted | Signer::Unsigned => &self.keys.trusted,
            Signer::Impostor => &self.keys.impostor,
            Signer::Confusion => &self.keys.confusion,
        };
        let header = JoseHeader {
            alg: key.alg().name().into(),
            typ: Some(typ.into()),
            kid: Some("k1".into()),
            crit: None,
        };
        let jwt = match signer {
            Signer::Unsigned => jwt::encode_unsigned(&claims),
            _ => jwt::encode_with_header(key, &header, &claims).expect("signing"),
        };
        let value = if *odd_header { format!("bearer   {jwt}") } else { format!("Bearer {jwt}") };
        let minted = Minted {
            signer: *signer,
            typ_ok: typ.eq_ignore_ascii_case(TYP) || typ.eq_ignore_ascii_case("application/at+jwt"),
            iss_ok: iss == MCP_ISSUER,
            aud_ok: claims.aud.contains(MCP_RESOURCE),
            exp: claims.exp,
            scopes: granted,
        };
        (Some(value), Some(minted))
    }

    fn session(&self, s: &Session) -> Option<String> {
        match s {
            Session::Absent => None,
            Session::Latest => self.sessions.last().cloned(),
            Session::Seen(i) => (!self.sessions.is_empty())
                .then(|| self.sessions[usize::from(*i) % self.sessions.len()].clone()),
            Session::Raw(s) => Some(s.clone()),
        }
    }

    fn send(&mut self, request: Request, minted: Option<Minted>) {
        let body = String::from_utf8_lossy(request.body()).into_owned();
        let before = self.server.side_effects();
        let McpWorld { server, keys, rng, now, jwks_down, .. } = self;
        let jwks = keys.trusted.public_jwks();
        let response = drive(server, request, &mut Env::new(*now, rng), |r| {
            let url = r.uri().to_string();
            if url == format!("{MCP_ISSUER}/jwks") && !*jwks_down {
                Ok(wire::json(http::StatusCode::OK, &jwks))
            } else {
                Err(FetchError { url, reason: "connection refused".into() })
            }
        });
        assert!(response.status().as_u16() < 500, "{}: {:?}", response.status(), response.body());
        if let Some(id) = response.headers().get(SESSION_ID).and_then(|v| v.to_str().ok()) {
            self.sessions.push(id.to_string());
        }
        let ran = self.server.side_effects() - before;
        if ran == 0 {
            return;
        }
        let Some(m) = minted else { panic!("a tool ran {ran} time(s) without a minted token: {body}") };
        assert_eq!(m.signer, Signer::Trusted, "a tool ran for a token not signed by the trusted key");
        assert!(m.typ_ok && m.iss_ok, "a tool ran for a token with the wrong typ or issuer");
        assert!(m.aud_ok, "a tool ran for a token meant for another resource");
        let exp = m.exp.expect("a tool ran for a token without exp");
        assert!(exp + 30 > self.now.unix_secs(), "a tool ran for a token expired at {exp}");
        let justified =
            SIDE_EFFECTS.iter().any(|(tool, scope)| body.contains(tool) && m.scopes.contains(scope));
        assert!(justified, "a tool ran without its scope (granted {:?}): {body}", m.scopes);
    }

    fn op(&mut self, op: &McpOp) {
        match op {
            McpOp::Post { token, session, body, version, accept, content_type, origin } => {
                let mut r = empty_request(Method::POST, MCP_RESOURCE);
                *r.body_mut() = Bytes::from(body.bytes());
                let ct = content_type
                    .as_ref()
                    .map_or("application/json", |t| t.pick(&["application/json", "text/plain"]));
                set_header(&mut r, header::CONTENT_TYPE, ct);
                let accept = accept.as_ref().map_or("application/json, text/event-stream", |t| {
                    t.pick(&["application/json", "text/event-stream", "*/*"])
                });
                set_header(&mut r, header::ACCEPT, accept);
                let v = valid_or(version, &["2025-11-25", "2025-06-18", "2024-11-05", ""]);
                if !v.is_empty() {
                    set_header(&mut r, PROTOCOL_VERSION, v);
                }
                if let Some(o) = opt(origin, &["http://127.0.0.1:9001", "https://evil.example", "null"]) {
                    set_header(&mut r, header::ORIGIN, o);
                }
                self.post(r, token, session);
            }
            McpOp::Other { method, path, token, session } => {
                let path = path.pick(&[
                    MCP_RESOURCE,
                    "/.well-known/oauth-protected-resource/mcp",
                    "/.well-known/oauth-protected-resource",
                    "/mcp/",
                    "/downstream/report",
                ]);
                let r = empty_request(METHODS[usize::from(*method) % METHODS.len()].clone(), path);
                self.post(r, token, session);
            }
            McpOp::ValidInitialize => self.op(&McpOp::Post {
                token: valid_token(0b111),
                session: Session::Absent,
                body: Body::Initialize(None),
                version: None,
                accept: None,
                content_type: None,
                origin: None,
            }),
            McpOp::ValidCall { tool, scopes } => {
                self.op(&McpOp::Post {
                    token: valid_token(*scopes),
                    session: Session::Latest,
                    body: Body::Call { tool: tool.clone(), text: "note".into() },
                    version: None,
                    accept: None,
                    content_type: None,
                    origin: None,
                });
            }
            McpOp::Advance(secs) => self.now = self.now.plus(Duration::from_secs(u64::from(*secs))),
            McpOp::JwksDown(down) => self.jwks_down = *down,
        }
    }

    fn post(&mut self, mut r: Request, token: &Token, session: &Session) {
        let (authorization, minted) = self.authorization(token);
        if let Some(a) = authorization {
            set_header(&mut r, header::AUTHORIZATION, &a);
        }
        if let Some(s) = self.session(session) {
            set_header(&mut r, SESSION_ID, &s);
        }
        self.send(r, minted);
    }
}

/// Runs `script` (its first 64 requests) against an MCP server committing `defects`,
/// checking the invariant after each exchange; returns how many side-effecting tool runs
/// happened.
pub fn run_mcp_server(script: &McpScript, defects: Defects) -> u64 {
    let mut world = McpWorld::new(defects);
    for op in script.ops.iter().take(64) {
        world.op(op);
    }
    world.server.side_effects()
}

/// The MCP server target: the input is an [`McpScript`], run against a correct server.
pub fn mcp_server(data: &[u8]) {
    if let Ok(script) = McpScript::arbitrary_take_rest(Unstructured::new(data)) {
        run_mcp_server(&script, Defects::none());
    }
}
