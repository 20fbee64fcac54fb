//! The MCP server target: an [`McpScript`] of requests, each carrying a token minted for
//! it (or none, or raw bytes), against the reference MCP server. After every exchange: a
//! side-effecting tool (`write_note`, `admin_reset`) ran only for a request whose token
//! was signed by the trusted key, names the trusted issuer, is meant for this resource,
//! is unexpired and carries the tool's scope; and no 5xx.

use super::shared::{METHODS, Text, empty_request, opt, set_header, valid_or};
use crate::parsers::NOW;
use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use http::{Method, header};
use mcp_authz_reference::access_token::{AccessTokenClaims, Audience, TYP};
use mcp_authz_reference::defects::Defects;
use mcp_authz_reference::jwt::{self, Algorithm, JoseHeader, SigningKey};
use mcp_authz_reference::mcp_server::{self, McpServer, PROTOCOL_VERSION, SESSION_ID};
use mcp_authz_reference::sans_io::{Env, FetchError, Request, Time, drive};
use mcp_authz_reference::wire;
use rand_core::SeedableRng;
use serde_json::json;
use std::time::Duration;

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
            cnf: None,
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
