//! The authorization server target: an [`AsScript`] of requests against the reference
//! authorization server. After every exchange: a code is redeemed at most once and never
//! after its lifetime, a refresh token is used at most once (rotation), every access
//! token issued validates against the server's own JWKS, and no 5xx.

use super::shared::{METHODS, Text, empty_request, form, opt, set_header, valid_or};
use crate::parsers::NOW;
use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use http::{HeaderValue, Method, header};
use mcp_authz_reference::access_token::{AccessTokenClaims, Validator};
use mcp_authz_reference::authorization_server::{self as authz, AuthorizationServer, RegisteredClient};
use mcp_authz_reference::defects::Defects;
use mcp_authz_reference::jwt::{self, Algorithm, KeySet};
use mcp_authz_reference::sans_io::{Env, FetchError, Request, Response, Time, drive};
use mcp_authz_reference::wire::{self, Params};
use rand_core::SeedableRng;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

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
