//! Shared helpers of the authorization server's unit tests: a [`Tester`] owning the
//! server, a seeded RNG, a fixed clock and the client ID metadata documents it serves.

use super::config::{AUTHORIZATION_CODE, CLIENT_CREDENTIALS, REFRESH_TOKEN};
use super::{AuthorizationServer, Config, RegisteredClient};
use crate::defects::{Defect, Defects};
use crate::jwt::{Algorithm, SigningKey};
use crate::sans_io::{Env, FetchError, FetchResult, Request, Response, Time, drive};
use crate::wire::{Params, encode_pairs};
use base64::Engine as _;
use bytes::Bytes;
use rand_core::SeedableRng;
use std::collections::BTreeMap;

pub const NOW: u64 = 1_700_000_000;
pub const ISSUER: &str = "http://127.0.0.1:9000";
pub const RESOURCE: &str = "http://127.0.0.1:9001/mcp";
pub const CLIENT: &str = "test-client";
pub const OTHER_CLIENT: &str = "other-client";
pub const CONFIDENTIAL: &str = "conf-client";
pub const SECRET: &str = "conf-secret";
pub const REDIRECT: &str = "http://127.0.0.1:7777/callback";
pub const STATE: &str = "st&te=1";
/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub struct Tester {
    pub server: AuthorizationServer,
    pub rng: rand_chacha::ChaCha20Rng,
    pub now: Time,
    /// Answers to fetches, by URL.
    pub documents: BTreeMap<String, FetchResult>,
    /// URLs fetched, in order.
    pub fetched: Vec<String>,
}

/// Parameters to change in a request: a new value, or `None` to drop the parameter.
pub type Changes<'a> = &'a [(&'a str, Option<&'a str>)];

/// `base` without the names in `changes`, plus the changes that have a value.
pub fn changed<'a>(
    base: &[(&'a str, &'a str)],
    changes: &[(&'a str, Option<&'a str>)],
) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<_> =
        base.iter().filter(|(k, _)| !changes.iter().any(|(c, _)| c == k)).copied().collect();
    out.extend(changes.iter().filter_map(|(k, v)| v.map(|v| (*k, v))));
    out
}

pub fn authorize_query(changes: &[(&str, Option<&str>)]) -> String {
    let base = [
        ("response_type", "code"),
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", STATE),
        ("resource", RESOURCE),
        ("scope", "mcp:read mcp:write"),
    ];
    encode_pairs(changed(&base, changes))
}

/// The token request redeeming `code` for [`CLIENT`].
pub fn code_pairs(code: &str) -> [(&str, &str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", CLIENT),
    ]
}

pub fn form_request(uri: &str, body: &str) -> Request {
    http::Request::post(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(body.to_string()))
        .unwrap()
}

pub fn json_response(status: u16, body: &str) -> Response {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap()
}

fn copy(r: &FetchResult) -> FetchResult {
    let r = r.as_ref().map_err(Clone::clone)?;
    let mut b = http::Response::builder().status(r.status());
    for (k, v) in r.headers() {
        b = b.header(k, v);
    }
    Ok(b.body(r.body().clone()).unwrap())
}

/// Status and `error` of a JSON error response.
pub fn error_of(r: &Response) -> (u16, String) {
    let v = json_of(r);
    (r.status().as_u16(), v["error"].as_str().unwrap_or("(none)").to_string())
}

/// Status and error code of an HTML error page.
pub fn page_error(r: &Response) -> (u16, String) {
    let body = std::str::from_utf8(r.body()).unwrap();
    let code = body.split("<p id=\"error\">").nth(1).and_then(|s| s.split("</p>").next()).unwrap_or("(none)");
    assert!(r.headers().get("location").is_none(), "an error page never redirects");
    (r.status().as_u16(), code.to_string())
}

pub fn json_of(r: &Response) -> serde_json::Value {
    serde_json::from_slice(r.body()).unwrap_or(serde_json::Value::Null)
}

pub fn location(r: &Response) -> &str {
    r.headers()["location"].to_str().unwrap()
}

pub fn location_params(r: &Response) -> Params {
    Params::parse(location(r).split_once('?').map(|(_, q)| q).unwrap_or("").as_bytes()).unwrap()
}

/// The CSRF token of a consent form.
pub fn csrf_of(r: &Response) -> String {
    let body = std::str::from_utf8(r.body()).unwrap();
    body.split("name=\"csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string()
}

impl Tester {
    /// A server that auto-approves, with the test clients.
    pub fn new() -> Self {
        Self::with_config(Config { auto_approve: true, ..Config::default() })
    }

    /// A server that shows the login and consent form.
    pub fn with_form() -> Self {
        Self::with_config(Config::default())
    }

    /// A server that auto-approves and commits `defect`.
    pub fn with_defect(defect: Defect) -> Self {
        Self::with_config(Config { auto_approve: true, defects: Defects::of([defect]), ..Config::default() })
    }

    /// A server that shows the login and consent form and commits `defect`.
    pub fn with_form_defect(defect: Defect) -> Self {
        Self::with_config(Config { defects: Defects::of([defect]), ..Config::default() })
    }

    pub fn with_config(config: Config) -> Self {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let now = Time::from_unix_secs(NOW);
        let mut server = AuthorizationServer::new(config, &mut Env::new(now, &mut rng)).unwrap();
        let scopes = ["mcp:read", "mcp:write"];
        server.register_client(RegisteredClient::public(CLIENT, &[REDIRECT], &scopes));
        server.register_client(RegisteredClient::public(OTHER_CLIENT, &[REDIRECT], &scopes));
        server.register_client(RegisteredClient {
            client_secret: Some(SECRET.into()),
            grant_types: [AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS].map(String::from).to_vec(),
            token_endpoint_auth_method: "client_secret_basic".into(),
            ..RegisteredClient::public(CONFIDENTIAL, &[REDIRECT], &scopes)
        });
        Tester { server, rng, now, documents: BTreeMap::new(), fetched: vec![] }
    }

    pub fn with_env<R>(&mut self, f: impl FnOnce(&mut AuthorizationServer, &mut Env<'_>) -> R) -> R {
        f(&mut self.server, &mut Env::new(self.now, &mut self.rng))
    }

    pub fn advance(&mut self, secs: u64) {
        self.now = Time::from_unix_secs(self.now.unix_secs() + secs);
    }

    pub fn send(&mut self, request: Request) -> Response {
        let Tester { server, rng, now, documents, fetched } = self;
        drive(server, request, &mut Env::new(*now, rng), |r| {
            let url = r.uri().to_string();
            fetched.push(url.clone());
            documents
                .get(&url)
                .map(copy)
                .unwrap_or(Err(FetchError { url, reason: "connection refused".into() }))
        })
    }

    pub fn get(&mut self, uri: &str) -> Response {
        self.send(http::Request::get(uri).body(Bytes::new()).unwrap())
    }

    pub fn post_form(&mut self, uri: &str, pairs: &[(&str, &str)]) -> Response {
        self.send(form_request(uri, &encode_pairs(pairs.iter().copied())))
    }

    pub fn post_form_headers(
        &mut self,
        uri: &str,
        pairs: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = form_request(uri, &encode_pairs(pairs.iter().copied()));
        for (k, v) in headers {
            request.headers_mut().append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        self.send(request)
    }

    pub fn post_form_basic(&mut self, uri: &str, pairs: &[(&str, &str)], id: &str, secret: &str) -> Response {
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        self.post_form_headers(uri, pairs, &[("authorization", &format!("Basic {credentials}"))])
    }

    pub fn post_json(&mut self, uri: &str, body: &str) -> Response {
        let request = http::Request::post(uri)
            .header("content-type", "application/json")
            .body(Bytes::from(body.to_string()))
            .unwrap();
        self.send(request)
    }

    pub fn authorize(&mut self, changes: &[(&str, Option<&str>)]) -> Response {
        self.get(&format!("/authorize?{}", authorize_query(changes)))
    }

    /// A code from an auto-approved authorization of [`CLIENT`].
    pub fn code(&mut self) -> String {
        location_params(&self.authorize(&[])).get("code").unwrap().to_string()
    }

    pub fn token(&mut self, pairs: &[(&str, &str)]) -> Response {
        self.post_form("/token", pairs)
    }

    /// The token response for `code`, which must succeed.
    pub fn exchange(&mut self, code: &str) -> serde_json::Value {
        let r = self.token(&code_pairs(code));
        assert_eq!(r.status(), 200, "{:?}", r.body());
        json_of(&r)
    }

    /// A successful token response for a fresh code of [`CLIENT`].
    pub fn tokens(&mut self) -> serde_json::Value {
        let code = self.code();
        self.exchange(&code)
    }

    /// A fresh refresh token of [`CLIENT`].
    pub fn refresh_token(&mut self) -> String {
        self.tokens()["refresh_token"].as_str().unwrap().to_string()
    }

    pub fn refresh(&mut self, token: &str, extra: &[(&str, &str)]) -> Response {
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", CLIENT)];
        form.extend_from_slice(extra);
        self.token(&form)
    }

    /// Introspection by [`CONFIDENTIAL`].
    pub fn introspect(&mut self, token: &str) -> serde_json::Value {
        json_of(&self.post_form_basic("/introspect", &[("token", token)], CONFIDENTIAL, SECRET))
    }

    pub fn consent(&mut self, csrf: &str, username: &str, password: &str, action: &str) -> Response {
        let form = [("csrf", csrf), ("username", username), ("password", password), ("action", action)];
        self.post_form("/authorize", &form)
    }

    /// Registers a `private_key_jwt` client for client credentials; returns its key.
    pub fn jwt_client(&mut self, client_id: &str) -> SigningKey {
        let key = self.with_env(|_, env| SigningKey::generate(Algorithm::ES256, "jwt-key", env).unwrap());
        self.server.register_client(RegisteredClient {
            grant_types: vec![CLIENT_CREDENTIALS.into()],
            token_endpoint_auth_method: "private_key_jwt".into(),
            jwks: Some(key.public_jwks()),
            ..RegisteredClient::public(client_id, &[], &["mcp:read", "mcp:write"])
        });
        key
    }
}
