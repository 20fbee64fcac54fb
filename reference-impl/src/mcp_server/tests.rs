//! End-to-end tests of the MCP server through its sans-IO interface, against a fake
//! authorization server (JWKS, introspection, client credentials) served by the fetch
//! function, with a fixed clock and a seeded RNG.

use super::*;
use crate::access_token::Audience;
use crate::bearer::{Challenge, parse_www_authenticate};
use crate::defects::{Defect, Defects};
use crate::jwt::{Algorithm, JoseHeader, Jwks, SigningKey, encode, encode_unsigned, encode_with_header};
use crate::oauth_error::ErrorCode;
use crate::sans_io::{FetchError, Time};
use crate::wire::Params;
use bytes::Bytes;
use http::header;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use std::collections::BTreeSet;
use std::time::Duration;

const RS: &str = "http://127.0.0.1:9001/mcp";
const ISS: &str = "http://127.0.0.1:9000";
const PRM_URL: &str = "http://127.0.0.1:9001/.well-known/oauth-protected-resource/mcp";
const DOWNSTREAM: &str = "http://127.0.0.1:9001/downstream";
const NOW: u64 = 1_700_000_000;

/// The `inputResponses` of a user who confirmed `confirm_action`.
fn confirmed() -> Value {
    json!({"confirm": {"action": "accept", "content": {"confirmed": true}}})
}

/// The fake AS: serves the JWKS, answers introspection and client credentials requests,
/// and logs every fetch.
struct Authority {
    key: SigningKey,
    jwks: Jwks,
    jwks_down: bool,
    /// Status the JWKS, introspection and token endpoints answer instead of 200.
    failing_status: Option<StatusCode>,
    introspection_down: bool,
    revoked: BTreeSet<String>,
    fetched: Vec<String>,
}

struct Fixture {
    server: McpServer,
    authority: Authority,
    rng: ChaCha20Rng,
    now: Time,
}

impl Fixture {
    fn new() -> Self {
        Self::with(|_| {})
    }

    fn with(edit: impl FnOnce(&mut Config)) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let now = Time::from_unix_secs(NOW);
        let key = SigningKey::generate(Algorithm::ES256, "k1", &mut Env::new(now, &mut rng)).unwrap();
        let mut config = Config::new(RS, ISS);
        edit(&mut config);
        Fixture {
            server: McpServer::new(config).unwrap(),
            authority: Authority {
                jwks: key.public_jwks(),
                key,
                jwks_down: false,
                failing_status: None,
                introspection_down: false,
                revoked: BTreeSet::new(),
                fetched: Vec::new(),
            },
            rng,
            now,
        }
    }

    fn with_downstream() -> Self {
        Self::with(|c| {
            c.downstream = Some(Downstream {
                token_endpoint: format!("{ISS}/token"),
                client_id: "rs-client".into(),
                client_secret: "rs secret".into(),
                resource: DOWNSTREAM.into(),
            })
        })
    }

    fn claims(&self, scope: &str) -> AccessTokenClaims {
        let now = self.now.unix_secs();
        AccessTokenClaims {
            iss: ISS.into(),
            sub: Some("alice".into()),
            aud: Audience::one(RS),
            client_id: Some("client-a".into()),
            scope: Some(scope.into()),
            exp: Some(now + 600),
            iat: Some(now),
            nbf: None,
            jti: Some(format!("jti-{now}-{scope}")),
            cnf: None,
        }
    }

    fn sign(&self, claims: &AccessTokenClaims) -> String {
        claims.sign(&self.authority.key).unwrap()
    }

    fn token(&self, scope: &str) -> String {
        self.sign(&self.claims(scope))
    }

    fn key(&mut self, alg: Algorithm, kid: &str) -> SigningKey {
        SigningKey::generate(alg, kid, &mut Env::new(self.now, &mut self.rng)).unwrap()
    }

    /// The server, with `broader` implying `narrower` from now on (same defects).
    fn implying(&mut self, broader: &str, narrower: &str) {
        let mut config = self.server.config().clone();
        config.scope_implies.push((broader.into(), narrower.into()));
        self.server = McpServer::new(config).unwrap();
    }

    /// The server, offering `tools` too from now on (same defects).
    fn offering(&mut self, tools: Vec<ToolConfig>) {
        let mut config = self.server.config().clone();
        config.tools.extend(tools);
        self.server = McpServer::new(config).unwrap();
    }

    /// `open_cart` holding `item` with a token for `scope`, over the 2026-07-28 wire: the handle.
    fn open_cart(&mut self, scope: &str, item: &str) -> String {
        let t = self.token(scope);
        let params = json!({"name": "open_cart", "arguments": {"item": item}});
        let r = self.send(stateless::modern(Some(&t), "tools/call", params, &[("mcp-name", "open_cart")]));
        body(&r)["result"]["content"][0]["text"].as_str().unwrap_or_default().to_string()
    }

    /// `cart_show` of `handle` with `token`: the result's text.
    fn cart_show(&mut self, token: &str, handle: &str) -> String {
        let params = json!({"name": "cart_show", "arguments": {"cart": handle}});
        let r = self.send(stateless::modern(Some(token), "tools/call", params, &[("mcp-name", "cart_show")]));
        body(&r)["result"]["content"][0]["text"].as_str().unwrap_or_default().to_string()
    }

    /// `confirm_action` with `token` over the 2026-07-28 wire from a client declaring
    /// `elicitation`, its params extended by `retry` (`requestState`, `inputResponses`):
    /// the JSON-RPC answer.
    fn confirm(&mut self, token: &str, retry: Value) -> Value {
        let mut params = json!({"name": "confirm_action", "arguments": {}});
        for (k, v) in retry.as_object().into_iter().flatten() {
            params[k] = v.clone();
        }
        let mut r = stateless::modern(Some(token), "tools/call", params, &[("mcp-name", "confirm_action")]);
        let mut v: Value = serde_json::from_slice(r.body()).unwrap();
        v["params"]["_meta"][META_CLIENT_CAPABILITIES] = json!({"elicitation": {}});
        *r.body_mut() = Bytes::from(v.to_string());
        body(&self.send(r))
    }

    /// The server, speaking 2026-07-28 only from now on (same defects).
    fn modern_only(&mut self) {
        let mut config = self.server.config().clone();
        config.legacy = false;
        self.server = McpServer::new(config).unwrap();
    }

    /// Sends `request` on the fixture's one connection.
    fn send(&mut self, mut request: Request) -> Response {
        request.extensions_mut().insert(crate::sans_io::Connection("fixture".into()));
        let Fixture { server, authority, rng, now } = self;
        exchange(server, authority, &mut Env::new(*now, rng), request)
    }

    fn post(&mut self, token: Option<&str>, session: Option<&str>, body: Value) -> Response {
        self.send(post(token, session, &body))
    }

    fn initialize(&mut self, token: &str) -> String {
        let r = self.post(Some(token), None, init_body("2025-11-25"));
        assert_eq!(r.status(), 200, "{}", text(&r));
        r.headers()[SESSION_ID].to_str().unwrap().to_string()
    }

    fn call(&mut self, token: Option<&str>, session: &str, tool: &str, arguments: Value) -> Response {
        self.post(token, Some(session), call_body(tool, arguments))
    }

    fn advance(&mut self, secs: u64) {
        self.now = self.now.plus(Duration::from_secs(secs));
    }
}

/// Runs one exchange, answering the server's fetches; requests to the server's own
/// origin (the downstream API) go back to the server.
fn exchange(
    server: &mut McpServer,
    authority: &mut Authority,
    env: &mut Env<'_>,
    request: Request,
) -> Response {
    let mut step = server.handle(request, env);
    loop {
        match step {
            Step::Respond(r) => return r,
            Step::Fetch { request, pending } => {
                let fetched = serve(server, authority, env, request);
                step = server.resume(pending, fetched, env);
            }
        }
    }
}

fn serve(server: &mut McpServer, authority: &mut Authority, env: &mut Env<'_>, req: Request) -> FetchResult {
    let url = req.uri().to_string();
    authority.fetched.push(format!("{} {url}", req.method()));
    let down = |reason: &str| Err(FetchError { url: url.clone(), reason: reason.into() });
    if url.starts_with(DOWNSTREAM) {
        return Ok(exchange(server, authority, env, req));
    }
    if let (Some(status), Some(_)) = (authority.failing_status, url.strip_prefix(ISS)) {
        return Ok(wire::oauth_error(status, ErrorCode::ServerError, "failing on purpose"));
    }
    match url.strip_prefix(ISS) {
        Some("/jwks") if authority.jwks_down => down("connection refused"),
        Some("/jwks") => Ok(wire::json(StatusCode::OK, &authority.jwks)),
        Some("/introspect") if authority.introspection_down => down("timed out"),
        Some("/introspect") => {
            assert_eq!(req.headers()[header::AUTHORIZATION], client_secret_basic("rs-client", "rs secret"));
            let form = Params::parse(req.body()).unwrap();
            let active = !authority.revoked.contains(form.require("token").unwrap());
            Ok(wire::json(StatusCode::OK, &json!({ "active": active })))
        }
        Some("/token") => {
            assert_eq!(req.headers()[header::AUTHORIZATION], client_secret_basic("rs-client", "rs secret"));
            let form = Params::parse(req.body()).unwrap();
            assert_eq!(form.get("grant_type"), Some("client_credentials"));
            let now = env.now.unix_secs();
            let claims = AccessTokenClaims {
                iss: ISS.into(),
                sub: Some("rs-client".into()),
                aud: Audience::one(form.require("resource").unwrap()),
                client_id: Some("rs-client".into()),
                scope: Some("report:read".into()),
                exp: Some(now + 300),
                iat: Some(now),
                nbf: None,
                jti: Some(format!("cc-{now}")),
                cnf: None,
            };
            let token = claims.sign(&authority.key).unwrap();
            Ok(wire::json(
                StatusCode::OK,
                &json!({"access_token": token, "token_type": "Bearer", "expires_in": 300}),
            ))
        }
        _ => down("no such host in this test"),
    }
}

fn post(token: Option<&str>, session: Option<&str>, body: &Value) -> Request {
    let mut b = http::Request::post(RS)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(s) = session {
        b = b.header(SESSION_ID, s).header(PROTOCOL_VERSION, "2025-11-25");
    }
    b.body(Bytes::from(serde_json::to_vec(body).unwrap())).unwrap()
}

fn request(method: &str, uri: &str, token: Option<&str>, session: Option<&str>) -> Request {
    let mut b = http::Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(s) = session {
        b = b.header(SESSION_ID, s);
    }
    b.body(Bytes::new()).unwrap()
}

fn init_body(version: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}})
}

fn call_body(tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
}

fn text(r: &Response) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

fn body(r: &Response) -> Value {
    serde_json::from_slice(r.body()).unwrap_or_else(|e| panic!("body is not json ({e}): {}", text(r)))
}

fn rpc_error(r: &Response) -> i64 {
    body(r)["error"]["code"].as_i64().unwrap_or_else(|| panic!("no json-rpc error in {}", text(r)))
}

fn challenge(r: &Response) -> Challenge {
    let h =
        r.headers().get(header::WWW_AUTHENTICATE).unwrap_or_else(|| panic!("no challenge on {}", r.status()));
    let mut all = parse_www_authenticate(h.to_str().unwrap()).unwrap();
    assert_eq!(all.len(), 1);
    all.remove(0)
}

/// Asserts the status and the challenge's `error` (`None`: a challenge without error).
fn assert_refused(r: &Response, status: u16, error: Option<&str>) {
    assert_eq!(r.status(), status, "{}", text(r));
    let c = challenge(r);
    assert!(c.scheme.eq_ignore_ascii_case("bearer"));
    assert_eq!(c.get("error"), error, "{c:?}");
    assert_eq!(c.get("resource_metadata"), Some(PRM_URL));
    if error.is_some() {
        assert_eq!(body(r)["error"].as_str(), error);
    }
}

fn tool_text(r: &Response) -> (String, bool) {
    let b = body(r);
    let result = &b["result"];
    (result["content"][0]["text"].as_str().unwrap_or_default().to_string(), result["isError"] == json!(true))
}

#[test]
fn happy_path_initialize_list_call() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read");
    let r = f.post(Some(&t), None, init_body("2025-11-25"));
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    let b = body(&r);
    assert_eq!(b["id"], 1);
    assert_eq!(b["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(b["result"]["capabilities"], json!({"tools": {}}));
    assert_eq!(b["result"]["serverInfo"]["name"], "mcp-authz-reference");
    let session = r.headers()[SESSION_ID].to_str().unwrap().to_string();
    assert_eq!(session.len(), 43);

    let r =
        f.post(Some(&t), Some(&session), json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert_eq!((r.status().as_u16(), r.body().len()), (202, 0));

    let r = f.post(Some(&t), Some(&session), json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}));
    assert_eq!(body(&r), json!({"jsonrpc": "2.0", "id": 2, "result": {}}));

    let r = f.post(Some(&t), Some(&session), json!({"jsonrpc": "2.0", "id": "l", "method": "tools/list"}));
    let tools = body(&r)["result"]["tools"].as_array().unwrap().clone();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["echo", "write_note", "admin_reset"], "fetch_report needs a downstream");
    assert!(tools.iter().all(|t| t["inputSchema"]["type"] == "object" && t["description"].is_string()));

    let r = f.call(Some(&t), &session, "echo", json!({"text": "hi \"there\""}));
    assert_eq!(r.status(), 200);
    assert_eq!(
        body(&r)["result"],
        json!({"content": [{"type": "text", "text": "hi \"there\""}], "isError": false})
    );
    assert_eq!(f.server.jwks_fetches(), 1, "keys are fetched once and cached");
    assert_eq!(f.server.side_effects(), 0);
}

#[test]
fn protocol_version_negotiation() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read");
    for (asked, got) in
        [("2025-06-18", "2025-06-18"), ("2025-11-25", "2025-11-25"), ("1999-01-01", "2025-11-25")]
    {
        let r = f.post(Some(&t), None, init_body(asked));
        assert_eq!(body(&r)["result"]["protocolVersion"], got);
    }
    let r = f.post(Some(&t), None, json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}));
    assert_eq!((r.status().as_u16(), rpc_error(&r)), (200, jsonrpc::INVALID_PARAMS));
    assert!(r.headers().get(SESSION_ID).is_none());
}

#[test]
fn session_ids_are_fresh_and_visible_ascii() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read");
    let ids: BTreeSet<String> = (0..20).map(|_| f.initialize(&t)).collect();
    assert_eq!(ids.len(), 20);
    assert!(ids.iter().all(|id| id.len() == 43 && id.bytes().all(|b| (0x21..=0x7e).contains(&b))));
}

#[test]
fn protected_resource_metadata_is_public_at_both_well_known_urls() {
    let mut f = Fixture::new();
    for url in [PRM_URL, "http://127.0.0.1:9001/.well-known/oauth-protected-resource"] {
        let r = f.send(request("GET", url, None, None));
        assert_eq!(r.status(), 200);
        assert_eq!(
            body(&r),
            json!({
                "resource": RS,
                "authorization_servers": [ISS],
                "scopes_supported": ["mcp:read", "mcp:write", "mcp:admin"],
                "bearer_methods_supported": ["header"],
                "resource_name": "mcp-authz-harness reference MCP server",
            })
        );
        let r = f.send(request("POST", url, None, None));
        assert_eq!(
            (r.status().as_u16(), &r.headers()[header::ALLOW]),
            (405, &HeaderValue::from_static("GET"))
        );
    }
    assert_eq!(f.server.jwks_fetches(), 0);
}

#[test]
fn no_token_gets_401_with_metadata_and_needed_scope() {
    let mut f = Fixture::new();
    let r = f.post(None, None, init_body("2025-11-25"));
    assert_refused(&r, 401, None);
    assert_eq!(challenge(&r).get("scope"), Some("mcp:read"));
    let r = f.post(None, Some("whatever"), call_body("write_note", json!({"text": "x"})));
    assert_refused(&r, 401, None);
    assert_eq!(challenge(&r).get("scope"), Some("mcp:write"), "the challenge names the tool's scope");
    for method in ["GET", "DELETE", "PUT"] {
        let r = f.send(request(method, RS, None, Some("whatever")));
        assert_refused(&r, 401, None);
    }
    assert_eq!(f.server.jwks_fetches(), 0, "no token, no key fetch");
}

#[test]
fn validation_matrix_each_rejection_is_401_invalid_token() {
    let mut f = Fixture::new();
    let good = f.claims("mcp:read");
    let other_key = f.key(Algorithm::ES256, "k1");
    let hmac = SigningKey::hmac("k1", &f.authority.key.public_key_bytes_for_confusion());
    let valid = f.sign(&good);
    let jwt_typ =
        JoseHeader { alg: "ES256".into(), typ: Some("JWT".into()), kid: Some("k1".into()), crit: None };
    let now = f.now.unix_secs();
    let cases: Vec<(&str, String)> = vec![
        ("garbage", "not-a-jwt".into()),
        ("truncated", valid[..valid.len() - 12].to_string()),
        ("bad signature", good.sign(&other_key).unwrap()),
        ("alg none", encode_unsigned(&good)),
        ("hmac with the public key", encode(&hmac, "at+jwt", &good).unwrap()),
        ("typ JWT", encode_with_header(&f.authority.key, &jwt_typ, &good).unwrap()),
        ("wrong iss", f.sign(&AccessTokenClaims { iss: "http://127.0.0.1:9999".into(), ..good.clone() })),
        (
            "non-ascii iss",
            f.sign(&AccessTokenClaims { iss: "http://ïss.example/\n\"x".into(), ..good.clone() }),
        ),
        ("huge iss", f.sign(&AccessTokenClaims { iss: "i".repeat(20_000), ..good.clone() })),
        ("expired", f.sign(&AccessTokenClaims { exp: Some(now - 60), iat: Some(now - 660), ..good.clone() })),
        ("future nbf", f.sign(&AccessTokenClaims { nbf: Some(now + 120), ..good.clone() })),
        ("missing exp", f.sign(&AccessTokenClaims { exp: None, ..good.clone() })),
        (
            "aud other server",
            f.sign(&AccessTokenClaims { aud: Audience::one("http://127.0.0.1:9002/mcp"), ..good.clone() }),
        ),
        ("aud = the AS", f.sign(&AccessTokenClaims { aud: Audience::one(ISS), ..good.clone() })),
        (
            "aud same host other path",
            f.sign(&AccessTokenClaims { aud: Audience::one("http://127.0.0.1:9001/other"), ..good.clone() }),
        ),
        ("no aud", f.sign(&AccessTokenClaims { aud: Audience::None, ..good.clone() })),
        ("aud downstream", f.sign(&AccessTokenClaims { aud: Audience::one(DOWNSTREAM), ..good.clone() })),
    ];
    for (name, token) in cases {
        let r = f.post(Some(&token), None, init_body("2025-11-25"));
        assert_eq!(r.status(), 401, "{name}: {}", text(&r));
        assert_refused(&r, 401, Some("invalid_token"));
        let c = challenge(&r);
        assert!(c.get("error_description").is_some_and(|d| !d.is_empty() && d.len() <= 303), "{name}");
        assert_eq!(c.get("scope"), Some("mcp:read"), "{name}");
    }
    assert_eq!(f.server.jwks_fetches(), 1, "no token above names an unknown kid");
    let multi =
        f.sign(&AccessTokenClaims { aud: Audience::Many(vec![ISS.into(), RS.into()]), ..good.clone() });
    assert_eq!(
        f.post(Some(&multi), None, init_body("2025-11-25")).status(),
        200,
        "multi-aud naming this server"
    );
    let upper = f.sign(&AccessTokenClaims { aud: Audience::one("HTTP://127.0.0.1:9001/mcp"), ..good });
    assert_eq!(f.post(Some(&upper), None, init_body("2025-11-25")).status(), 200, "scheme/host case (X-08)");
}

#[test]
fn malformed_authorization_is_400_invalid_request() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read");
    let with = |values: &[&str]| {
        let mut r = post(None, None, &init_body("2025-11-25"));
        for v in values {
            r.headers_mut().append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        r
    };
    let bearer = format!("Bearer {t}");
    for values in [
        vec![bearer.as_str(), bearer.as_str()],
        vec!["Bearer"],
        vec!["Bearer "],
        vec!["Bearer a b"],
        vec!["nonsense"],
    ] {
        let r = f.send(with(&values));
        assert_refused(&r, 400, Some("invalid_request"));
    }
    // An unsupported scheme is no credentials (RFC 6750 §3.1): 401 without error.
    let r = f.send(with(&["Basic YWxpY2U6c2VjcmV0"]));
    assert_refused(&r, 401, None);
    // The scheme is case-insensitive.
    let r = f.send(with(&[&format!("bEaReR {t}")]));
    assert_eq!(r.status(), 200);
}

#[test]
fn token_outside_the_header_is_refused_and_never_used() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read");
    let mut in_query = post(Some(&t), None, &init_body("2025-11-25"));
    *in_query.uri_mut() = format!("{RS}?access_token={t}").parse().unwrap();
    assert_refused(&f.send(in_query), 400, Some("invalid_request"));

    let mut only_query = post(None, None, &init_body("2025-11-25"));
    *only_query.uri_mut() = format!("{RS}?access_token={t}").parse().unwrap();
    assert_refused(&f.send(only_query), 400, Some("invalid_request"));

    let form = http::Request::post(RS)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Bytes::from(format!("access_token={t}")))
        .unwrap();
    assert_refused(&f.send(form), 400, Some("invalid_request"));

    let mut in_json = init_body("2025-11-25");
    in_json["access_token"] = json!(t);
    assert_refused(&f.post(None, None, in_json), 400, Some("invalid_request"));
    assert_eq!(f.server.jwks_fetches(), 0, "the misplaced token was never validated");
}

#[test]
fn unknown_kid_refetches_at_most_once_per_interval() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read");
    assert_eq!(f.post(Some(&t), None, init_body("2025-11-25")).status(), 200);
    assert_eq!(f.server.jwks_fetches(), 1);

    // The AS rotates to k2; within the interval, tokens naming k2 do not trigger a fetch.
    let k2 = f.key(Algorithm::EdDSA, "k2");
    f.authority.jwks.keys.push(k2.public_jwk());
    let t2 = f.claims("mcp:read").sign(&k2).unwrap();
    for _ in 0..3 {
        assert_refused(&f.post(Some(&t2), None, init_body("2025-11-25")), 401, Some("invalid_token"));
    }
    assert_eq!(f.server.jwks_fetches(), 1);

    // After the interval, one refetch finds k2.
    f.advance(61);
    let t2 = f.claims("mcp:read").sign(&k2).unwrap();
    assert_eq!(f.post(Some(&t2), None, init_body("2025-11-25")).status(), 200);
    assert_eq!(f.server.jwks_fetches(), 2);

    // A kid the AS never published: refused, no fetch storm.
    let k3 = f.key(Algorithm::ES256, "k3");
    let t3 = f.claims("mcp:read").sign(&k3).unwrap();
    for _ in 0..3 {
        assert_refused(&f.post(Some(&t3), None, init_body("2025-11-25")), 401, Some("invalid_token"));
    }
    assert_eq!(f.server.jwks_fetches(), 2);
    let jwks_gets = f.authority.fetched.iter().filter(|l| l.ends_with("/jwks")).count();
    assert_eq!(jwks_gets, 2);
}

#[test]
fn jwks_unavailable_fails_closed_with_401() {
    let mut f = Fixture::new();
    f.authority.jwks_down = true;
    let t = f.token("mcp:read");
    let r = f.post(Some(&t), None, init_body("2025-11-25"));
    assert_refused(&r, 401, Some("invalid_token"));
    assert!(challenge(&r).get("error_description").unwrap().contains("/jwks"));
    f.authority.jwks_down = false;
    f.authority.jwks = Jwks { keys: vec![] };
    assert_refused(&f.post(Some(&t), None, init_body("2025-11-25")), 401, Some("invalid_token"));
}

#[test]
fn insufficient_scope_is_403_and_nothing_runs() {
    let mut f = Fixture::new();
    let read = f.token("mcp:read");
    let session = f.initialize(&read);
    let r = f.call(Some(&read), &session, "write_note", json!({"text": "x"}));
    assert_eq!(r.status(), 403);
    let c = challenge(&r);
    assert_eq!(c.get("error"), Some("insufficient_scope"));
    assert_eq!(c.get("scope"), Some("mcp:write mcp:read"), "needed scope plus the ones held");
    assert_eq!(c.get("resource_metadata"), Some(PRM_URL));
    assert_eq!((body(&r)["id"].clone(), rpc_error(&r)), (json!(7), INSUFFICIENT_SCOPE));
    assert_eq!(f.server.side_effects(), 0);

    // A token with exactly the challenged scopes succeeds (RS-15).
    let write = f.token(c.get("scope").unwrap());
    let session = f.initialize(&write);
    assert_eq!(
        tool_text(&f.call(Some(&write), &session, "write_note", json!({"text": "x"}))),
        ("stored note 1".into(), false)
    );
    assert_eq!(f.server.side_effects(), 1);
    let r = f.call(Some(&write), &session, "admin_reset", json!({}));
    assert_eq!(
        (r.status().as_u16(), challenge(&r).get("scope")),
        (403, Some("mcp:admin mcp:write mcp:read"))
    );
    assert_eq!(f.server.side_effects(), 1);
    let admin = f.token("mcp:admin");
    let session = f.initialize(&admin);
    assert_eq!(
        tool_text(&f.call(Some(&admin), &session, "admin_reset", json!({}))),
        ("deleted 1 notes".into(), false)
    );
    assert_eq!(f.server.side_effects(), 2);
}

#[test]
fn invalid_token_on_a_side_effecting_call_has_no_effect() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read mcp:write");
    let session = f.initialize(&t);
    let expired = f.sign(&AccessTokenClaims { exp: Some(NOW - 100), ..f.claims("mcp:write") });
    let r = f.call(Some(&expired), &session, "write_note", json!({"text": "x"}));
    assert_refused(&r, 401, Some("invalid_token"));
    assert_eq!(challenge(&r).get("scope"), Some("mcp:write"));
    assert!(body(&r).get("result").is_none());
    assert_refused(&f.call(None, &session, "write_note", json!({"text": "x"})), 401, None);
    assert_eq!(f.server.side_effects(), 0);
}

#[test]
fn session_is_bound_to_its_principal() {
    let mut f = Fixture::new();
    let alice = f.token("mcp:read");
    let session = f.initialize(&alice);
    let bob = f.sign(&AccessTokenClaims { sub: Some("bob".into()), ..f.claims("mcp:read") });
    let alice_other_client =
        f.sign(&AccessTokenClaims { client_id: Some("client-b".into()), ..f.claims("mcp:read") });
    for intruder in [&bob, &alice_other_client] {
        let r = f.call(Some(intruder), &session, "echo", json!({"text": "x"}));
        assert_eq!((r.status().as_u16(), rpc_error(&r)), (404, jsonrpc::INVALID_REQUEST));
        assert_eq!(f.send(request("DELETE", RS, Some(intruder), Some(&session))).status(), 404);
    }
    // The owner still has it: the intruders' DELETE did not end it.
    assert_eq!(f.call(Some(&alice), &session, "echo", json!({"text": "x"})).status(), 200);
}

#[test]
fn a_session_never_stands_in_for_a_token() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read");
    let session = f.initialize(&t);
    assert_refused(&f.call(None, &session, "echo", json!({"text": "x"})), 401, None);
    assert_refused(
        &f.call(Some("garbage"), &session, "echo", json!({"text": "x"})),
        401,
        Some("invalid_token"),
    );
    let ping = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_refused(&f.post(None, Some(&session), ping), 401, None);
}

#[test]
fn session_lifecycle_statuses() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read");
    let list = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
    let r = f.post(Some(&t), None, list.clone());
    assert_eq!((r.status().as_u16(), rpc_error(&r)), (400, jsonrpc::INVALID_REQUEST), "missing session id");
    let r = f.post(Some(&t), Some("no-such-session"), list.clone());
    assert_eq!((r.status().as_u16(), rpc_error(&r)), (404, jsonrpc::INVALID_REQUEST));
    let r = f.send(request("DELETE", RS, Some(&t), None));
    assert_eq!(r.status(), 400, "delete without session id");

    let session = f.initialize(&t);
    assert_eq!(f.send(request("GET", RS, Some(&t), Some(&session))).status(), 405, "no sse stream");
    let r = f.send(request("PUT", RS, Some(&t), None));
    assert_eq!(
        (r.status().as_u16(), &r.headers()[header::ALLOW]),
        (405, &HeaderValue::from_static("POST, DELETE"))
    );
    assert_eq!(f.send(request("DELETE", RS, Some(&t), Some(&session))).status(), 204);
    assert_eq!(f.post(Some(&t), Some(&session), list.clone()).status(), 404, "terminated");

    let session = f.initialize(&t);
    f.advance(3601);
    let t = f.token("mcp:read");
    assert_eq!(f.post(Some(&t), Some(&session), list).status(), 404, "idled out");
}

#[test]
fn protocol_version_header_must_match_the_negotiated_one() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read");
    let session = f.initialize(&t);
    let mut r = post(Some(&t), Some(&session), &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}));
    r.headers_mut().insert(PROTOCOL_VERSION, HeaderValue::from_static("2025-06-18"));
    let r = f.send(r);
    assert_eq!((r.status().as_u16(), rpc_error(&r)), (400, jsonrpc::INVALID_REQUEST));
}

#[test]
fn foreign_origin_is_403_before_authentication() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read");
    for token in [None, Some(t.as_str())] {
        let mut r = post(token, None, &init_body("2025-11-25"));
        r.headers_mut().insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        let r = f.send(r);
        assert_eq!((r.status().as_u16(), rpc_error(&r)), (403, jsonrpc::INVALID_REQUEST));
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
    }
    assert_eq!(f.server.jwks_fetches(), 0);
    let mut r = post(Some(&t), None, &init_body("2025-11-25"));
    r.headers_mut().insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:9001"));
    assert_eq!(f.send(r).status(), 200, "the server's own origin");
}

#[test]
fn batches_are_refused_whole() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read mcp:write");
    let session = f.initialize(&t);
    let batch = json!([call_body("write_note", json!({"text": "a"})), call_body("admin_reset", json!({}))]);
    let r = f.post(Some(&t), Some(&session), batch);
    assert_eq!((r.status().as_u16(), rpc_error(&r)), (400, jsonrpc::INVALID_REQUEST));
    assert_eq!(f.server.side_effects(), 0);
}

#[test]
fn bad_input_gets_the_right_status_and_code() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read");
    let session = f.initialize(&t);
    let raw = |ct: &str, bytes: &[u8]| {
        http::Request::post(RS)
            .header(header::CONTENT_TYPE, ct)
            .header(header::AUTHORIZATION, format!("Bearer {t}"))
            .header(SESSION_ID, session.as_str())
            .body(Bytes::copy_from_slice(bytes))
            .unwrap()
    };
    let cases: Vec<(Request, u16, Option<i64>)> = vec![
        (raw("application/json", b"{\"jsonrpc\":"), 400, Some(jsonrpc::PARSE_ERROR)),
        (
            raw("application/json", b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\xfe\"}"),
            400,
            Some(jsonrpc::PARSE_ERROR),
        ),
        (raw("application/json", b"42"), 400, Some(jsonrpc::INVALID_REQUEST)),
        (raw("application/json", b"[]"), 400, Some(jsonrpc::INVALID_REQUEST)),
        (
            raw("application/json", br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#),
            400,
            Some(jsonrpc::INVALID_REQUEST),
        ),
        (
            raw("text/plain", br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            415,
            Some(jsonrpc::INVALID_REQUEST),
        ),
        (
            raw("application/json; charset=utf-8", br#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#),
            200,
            Some(jsonrpc::METHOD_NOT_FOUND),
        ),
        (
            raw("application/json", br#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#),
            200,
            Some(jsonrpc::INVALID_PARAMS),
        ),
        (
            raw(
                "application/json",
                br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}}"#,
            ),
            200,
            Some(jsonrpc::INVALID_PARAMS),
        ),
        (
            raw(
                "application/json",
                br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":[]}}"#,
            ),
            200,
            Some(jsonrpc::INVALID_PARAMS),
        ),
        (raw("application/json", br#"{"jsonrpc":"2.0","id":1,"result":{}}"#), 202, None),
    ];
    for (req, status, code) in cases {
        let r = f.send(req);
        assert_eq!(r.status(), status, "{}", text(&r));
        if let Some(code) = code {
            assert_eq!(rpc_error(&r), code);
        }
    }
    let mut html_only = post(Some(&t), Some(&session), &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}));
    html_only.headers_mut().insert(header::ACCEPT, HeaderValue::from_static("text/html"));
    let r = f.send(html_only);
    assert_eq!((r.status().as_u16(), rpc_error(&r)), (406, jsonrpc::INVALID_REQUEST));
    for path in
        ["http://127.0.0.1:9001/", "http://127.0.0.1:9001/mcp/", "http://127.0.0.1:9001/downstream/report"]
    {
        assert_eq!(f.send(request("GET", path, Some(&t), None)).status(), 404, "{path}");
    }
}

#[test]
fn tool_argument_errors_are_tool_results_without_effect() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read mcp:write");
    let session = f.initialize(&t);
    for (tool, args) in [
        ("echo", json!({})),
        ("write_note", json!({"text": 5})),
        ("write_note", json!({"text": "a", "x": 1})),
    ] {
        let r = f.call(Some(&t), &session, tool, args);
        assert_eq!(r.status(), 200);
        assert!(tool_text(&r).1, "{}", text(&r));
    }
    assert_eq!(f.server.side_effects(), 0);
}

#[test]
fn downstream_call_uses_the_servers_own_token() {
    let mut f = Fixture::with_downstream();
    let t = f.token("mcp:read");
    let session = f.initialize(&t);
    let r = f.call(Some(&t), &session, "fetch_report", json!({}));
    let (report, is_error) = tool_text(&r);
    assert!(!is_error, "{report}");
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["requested_by"], json!({"sub": "rs-client", "client_id": "rs-client"}));

    let seen = f.server.downstream_authorizations_seen().to_vec();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].starts_with("Bearer ") && !seen[0].contains(&t), "the caller's token was forwarded");
    let token_requests = || f.authority.fetched.iter().filter(|l| l.ends_with("/token")).count();
    assert_eq!(token_requests(), 1);

    // The second call reuses the cached downstream token.
    f.call(Some(&t), &session, "fetch_report", json!({}));
    assert_eq!(f.authority.fetched.iter().filter(|l| l.ends_with("/token")).count(), 1);
    assert_eq!(f.server.downstream_authorizations_seen()[1], seen[0]);

    // The caller's token is not accepted by the downstream API either.
    let direct = f.send(request("GET", &format!("{DOWNSTREAM}/report"), Some(&t), None));
    assert_eq!(direct.status(), 401);
    assert_eq!(challenge(&direct).get("error"), Some("invalid_token"));
    let r = f.send(request("GET", &format!("{DOWNSTREAM}/report"), None, None));
    assert_eq!((r.status().as_u16(), challenge(&r).get("error")), (401, None));
    assert_eq!(f.send(request("POST", &format!("{DOWNSTREAM}/report"), None, None)).status(), 405);
}

/// A server that asks the fake AS's introspection endpoint about every token.
fn introspecting() -> Fixture {
    Fixture::with(|c| {
        c.introspection = Some(Introspection {
            endpoint: format!("{ISS}/introspect"),
            client_id: "rs-client".into(),
            client_secret: "rs secret".into(),
        })
    })
}

#[test]
fn introspection_refuses_inactive_tokens() {
    let mut f = introspecting();
    let t = f.token("mcp:read");
    assert_eq!(f.post(Some(&t), None, init_body("2025-11-25")).status(), 200);
    f.authority.revoked.insert(t.clone());
    let r = f.post(Some(&t), None, init_body("2025-11-25"));
    assert_refused(&r, 401, Some("invalid_token"));
    assert!(challenge(&r).get("error_description").unwrap().contains("revoked"));
    let other = f.token("mcp:read mcp:write");
    f.authority.introspection_down = true;
    assert_refused(&f.post(Some(&other), None, init_body("2025-11-25")), 401, Some("invalid_token"));
    let introspections = f.authority.fetched.iter().filter(|l| l.ends_with("/introspect")).count();
    assert_eq!(introspections, 3, "every request is introspected");
}

#[test]
fn config_is_checked() {
    let bad_tool = |c: &mut Config| c.tools.push(ToolConfig::new("rm_rf", "mcp:admin", "no"));
    let dup = |c: &mut Config| c.tools.push(ToolConfig::new("echo", "mcp:read", "again"));
    let two_spaces = |c: &mut Config| c.tools[0].required_scope = "mcp:read  mcp:write".into();
    let bad_resource = |c: &mut Config| c.resource = "mcp.example/mcp".into();
    let no_as = |c: &mut Config| c.authorization_servers.clear();
    for edit in [bad_tool, dup, two_spaces, bad_resource, no_as] {
        let mut c = Config::new(RS, ISS);
        edit(&mut c);
        assert!(matches!(McpServer::new(c), Err(crate::Error::Config(_))));
    }
    let s = McpServer::new(Config::new("HTTP://127.0.0.1:9001/mcp/", ISS)).unwrap();
    assert_eq!(s.config().resource, RS);
}

#[test]
fn repeated_transport_headers_are_refused() {
    let mut f = Fixture::new();
    let t = f.token("mcp:read");
    let session = f.initialize(&t);
    let mut r = post(Some(&t), Some(&session), &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}));
    r.headers_mut().append(SESSION_ID, HeaderValue::from_str(&session).unwrap());
    let r = f.send(r);
    assert_eq!((r.status().as_u16(), rpc_error(&r)), (400, jsonrpc::INVALID_REQUEST));
    let mut r = post(Some(&t), None, &init_body("2025-11-25"));
    r.headers_mut().append(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:9001"));
    r.headers_mut().append(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:9001"));
    let r = f.send(r);
    assert_eq!((r.status().as_u16(), rpc_error(&r)), (403, jsonrpc::INVALID_REQUEST));
}

#[test]
fn jwks_or_introspection_error_status_fails_closed() {
    let mut f = Fixture::new();
    f.authority.failing_status = Some(StatusCode::NOT_FOUND);
    let t = f.token("mcp:read");
    assert_refused(&f.post(Some(&t), None, init_body("2025-11-25")), 401, Some("invalid_token"));

    let mut f = introspecting();
    let t = f.token("mcp:read");
    assert_eq!(f.post(Some(&t), None, init_body("2025-11-25")).status(), 200);
    f.authority.failing_status = Some(StatusCode::INTERNAL_SERVER_ERROR);
    assert_refused(&f.post(Some(&t), None, init_body("2025-11-25")), 401, Some("invalid_token"));
}

#[test]
fn downstream_failures_are_tool_errors_and_tokens_are_renewed() {
    let mut f = Fixture::with_downstream();
    let t = f.token("mcp:read");
    let session = f.initialize(&t);
    let token_requests = |f: &Fixture| f.authority.fetched.iter().filter(|l| l.ends_with("/token")).count();

    f.authority.failing_status = Some(StatusCode::UNAUTHORIZED);
    let (text, is_error) = tool_text(&f.call(Some(&t), &session, "fetch_report", json!({})));
    assert!(is_error && text.contains("server_error"), "{text}");
    assert!(f.server.downstream_authorizations_seen().is_empty());
    f.authority.failing_status = None;

    assert!(!tool_text(&f.call(Some(&t), &session, "fetch_report", json!({}))).1);
    assert_eq!(token_requests(&f), 2);
    // Close to expiry (300 s, 10 s margin) the cached token is replaced.
    f.advance(295);
    let t = f.token("mcp:read");
    assert!(!tool_text(&f.call(Some(&t), &session, "fetch_report", json!({}))).1);
    assert_eq!(token_requests(&f), 3);
    let seen = f.server.downstream_authorizations_seen();
    assert_ne!(seen[0], seen[1], "a fresh downstream token");

    let r = f.call(Some(&t), &session, "fetch_report", json!({"unexpected": 1}));
    assert!(tool_text(&r).1);
    assert_eq!(token_requests(&f), 3, "bad arguments: nothing fetched");
}

#[test]
fn hostile_input_never_gets_a_5xx() {
    let mut f = Fixture::with_downstream();
    let t = f.token("mcp:read mcp:write mcp:admin");
    let session = f.initialize(&t);
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let paths = [
        "/mcp",
        "/mcp?x=%ff",
        "/.well-known/oauth-protected-resource/mcp",
        "/downstream/report",
        "/%00",
        "/",
    ];
    let methods = ["GET", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD"];
    let bodies: [&[u8]; 6] = [
        b"",
        b"\xff\xfe\x00",
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_note","arguments":{"text":{"a":1}}}}"#,
        br#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#,
        br#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"#,
        br#"{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{"name":"admin_reset"}}"#,
    ];
    for i in 0..300u32 {
        let pick = |n: usize, rng: &mut ChaCha20Rng| (rng.next_u32() as usize) % n;
        let mut b = http::Request::builder()
            .method(methods[pick(methods.len(), &mut rng)])
            .uri(format!("http://127.0.0.1:9001{}", paths[pick(paths.len(), &mut rng)]));
        if i % 2 == 0 {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}")).header(SESSION_ID, session.as_str());
        }
        if i % 3 == 0 {
            b = b.header(header::CONTENT_TYPE, "application/json");
        }
        let mut body = bodies[pick(bodies.len(), &mut rng)].to_vec();
        if i % 5 == 0 {
            let mut noise = vec![0u8; 16];
            rng.fill_bytes(&mut noise);
            body.extend(noise);
        }
        let r = f.send(b.body(Bytes::from(body)).unwrap());
        assert!(r.status().as_u16() < 500, "request {i}: {}", r.status());
    }
}

/// Does the mistake `d` show? Each probe returns true when the server committed it.
fn probe(d: Defect, f: &mut Fixture) -> bool {
    let init = || init_body("2025-11-25");
    let good = f.claims("mcp:read");
    let accepted = |f: &mut Fixture, claims_or_token: String| {
        f.post(Some(&claims_or_token), None, init_body("2025-11-25")).status() == 200
    };
    match d {
        Defect::SkipAudienceCheck => {
            let t = f.sign(&AccessTokenClaims { aud: Audience::one("http://127.0.0.1:9002/mcp"), ..good });
            accepted(f, t)
        }
        Defect::ScopeCheckAtConnectOnly => {
            let t = f.token("mcp:read");
            let session = f.initialize(&t);
            f.call(Some(&t), &session, "write_note", json!({"text": "x"})).status() == 200
        }
        Defect::AcceptQueryToken => {
            let mut r = post(None, None, &init());
            *r.uri_mut() = format!("{RS}?access_token={}", f.token("mcp:read")).parse().unwrap();
            f.send(r).status() == 200
        }
        Defect::AcceptAlgNone => accepted(f, encode_unsigned(&good)),
        Defect::HmacKeyConfusion => {
            let hmac = SigningKey::hmac("k1", &f.authority.key.public_key_bytes_for_confusion());
            accepted(f, encode(&hmac, "at+jwt", &good).unwrap())
        }
        Defect::NoExpRequired => {
            let now = f.now.unix_secs();
            let expired =
                f.sign(&AccessTokenClaims { exp: Some(now - 600), iat: Some(now - 1200), ..good.clone() });
            let no_exp = f.sign(&AccessTokenClaims { exp: None, ..good });
            accepted(f, expired) && accepted(f, no_exp)
        }
        Defect::NoTypCheck => {
            let h = JoseHeader {
                alg: "ES256".into(),
                typ: Some("JWT".into()),
                kid: Some("k1".into()),
                crit: None,
            };
            accepted(f, encode_with_header(&f.authority.key, &h, &good).unwrap())
        }
        Defect::NoIssuerCheck => {
            let t = f.sign(&AccessTokenClaims { iss: "http://127.0.0.1:9999".into(), ..good });
            accepted(f, t)
        }
        Defect::NoSignatureCheck => {
            let other = f.key(Algorithm::ES256, "k1");
            accepted(f, good.sign(&other).unwrap())
        }
        Defect::SessionNotBound => {
            let session = f.initialize(&f.token("mcp:read"));
            let bob = f.sign(&AccessTokenClaims { sub: Some("bob".into()), ..good });
            f.call(Some(&bob), &session, "echo", json!({"text": "x"})).status() == 200
        }
        Defect::SessionAsAuthentication => {
            let session = f.initialize(&f.token("mcp:read"));
            f.call(None, &session, "echo", json!({"text": "x"})).status() == 200
        }
        Defect::TokenPassthrough => {
            let t = f.token("mcp:read");
            let session = f.initialize(&t);
            f.call(Some(&t), &session, "fetch_report", json!({}));
            f.server.downstream_authorizations_seen().iter().any(|a| a.contains(&t))
        }
        Defect::JwksRefetchEveryUnknownKid => {
            accepted(f, f.token("mcp:read"));
            for kid in ["x1", "x2"] {
                let stranger = f.key(Algorithm::ES256, kid);
                accepted(f, good.sign(&stranger).unwrap());
            }
            f.server.jwks_fetches() > 1
        }
        Defect::ServerErrorOnBadToken => f.post(Some("garbage"), None, init()).status() == 500,
        Defect::NoOriginCheck => {
            let mut r = post(Some(&f.token("mcp:read")), None, &init());
            r.headers_mut().insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
            f.send(r).status() == 200
        }
        Defect::PrmWrongResource => {
            let r = f.send(request("GET", PRM_URL, None, None));
            body(&r)["resource"] != RS
        }
        Defect::ChallengeWithoutScope => challenge(&f.post(None, None, init())).get("scope").is_none(),
        Defect::OfflineAccessAdvertised => {
            let prm = body(&f.send(request("GET", PRM_URL, None, None)));
            let listed =
                prm["scopes_supported"].as_array().is_some_and(|s| s.contains(&json!("offline_access")));
            let challenged = challenge(&f.post(None, None, init()))
                .get("scope")
                .is_some_and(|s| s.contains("offline_access"));
            listed && challenged
        }
        Defect::ChallengeWithoutResourceMetadata => {
            let r = f.post(None, None, init());
            challenge(&r).get("resource_metadata").is_none()
                && f.send(request("GET", PRM_URL, None, None)).status() == 404
        }
        Defect::BatchSkipsScopeCheck => {
            let t = f.token("mcp:read");
            let session = f.initialize(&t);
            let batch = json!([
                call_body("echo", json!({"text": "a"})),
                call_body("write_note", json!({"text": "b"}))
            ]);
            f.post(Some(&t), Some(&session), batch);
            f.server.side_effects() > 0
        }
        Defect::PredictableSessionId => {
            let t = f.token("mcp:read");
            let (a, b) = (f.initialize(&t), f.initialize(&t));
            (a.as_str(), b.as_str()) == ("session-1", "session-2")
        }
        Defect::ScopeCaseInsensitive => {
            let t = f.token("MCP:WRITE mcp:read");
            let session = f.initialize(&t);
            f.call(Some(&t), &session, "write_note", json!({"text": "x"})).status() == 200
        }
        Defect::ModernHeadersUnchecked => {
            let t = f.token("mcp:read");
            let r = f.send(stateless::modern(Some(&t), "tools/list", json!({}), &[("mcp-method", "")]));
            r.status() == 200
        }
        Defect::ModernMetaUnchecked => {
            let t = f.token("mcp:read");
            let mut request = stateless::modern(Some(&t), "tools/list", json!({}), &[]);
            let mut v: Value = serde_json::from_slice(request.body()).unwrap();
            v["params"]["_meta"].as_object_mut().unwrap().remove(META_CLIENT_CAPABILITIES);
            *request.body_mut() = Bytes::from(v.to_string());
            f.send(request).status() == 200
        }
        Defect::AnyProtocolVersion => {
            let t = f.token("mcp:read");
            let mut request = stateless::modern(
                Some(&t),
                "tools/list",
                json!({}),
                &[("mcp-protocol-version", "2099-01-01")],
            );
            let mut v: Value = serde_json::from_slice(request.body()).unwrap();
            v["params"]["_meta"][META_PROTOCOL_VERSION] = json!("2099-01-01");
            *request.body_mut() = Bytes::from(v.to_string());
            f.send(request).status() == 200
        }
        Defect::NoServerDiscover => {
            let t = f.token("mcp:read");
            let r = f.send(stateless::modern(Some(&t), "server/discover", json!({}), &[]));
            serde_json::from_slice::<Value>(r.body()).unwrap_or(Value::Null)["result"].is_null()
        }
        Defect::RetiredErrorCodes => {
            let t = f.token("mcp:read");
            let read = stateless::modern(
                Some(&t),
                "resources/read",
                json!({"uri": "x://y"}),
                &[("mcp-name", "x://y")],
            );
            body(&f.send(read))["error"]["code"] == -32002
        }
        Defect::ChallengeNamesOneScope => {
            f.offering(ToolConfig::two_scopes());
            let t = f.token("mcp:read");
            let params = json!({"name": "publish_note", "arguments": {"text": "x"}});
            let r =
                f.send(stateless::modern(Some(&t), "tools/call", params, &[("mcp-name", "publish_note")]));
            r.status() == 403 && !challenge(&r).get("scope").is_some_and(|s| s.contains("mcp:admin"))
        }
        Defect::UndeclaredCapabilityUsed => {
            f.offering(ToolConfig::needing_elicitation());
            let t = f.token("mcp:read");
            let params = json!({"name": "confirm_action", "arguments": {}});
            let r =
                f.send(stateless::modern(Some(&t), "tools/call", params, &[("mcp-name", "confirm_action")]));
            body(&r)["result"]["resultType"] == "input_required"
        }
        Defect::StateHandleNotBound => {
            f.offering(ToolConfig::state_handles());
            let handle = f.open_cart("mcp:read mcp:write", "alice's secret");
            let mallory = f.sign(&AccessTokenClaims { sub: Some("mallory".into()), ..f.claims("mcp:read") });
            f.cart_show(&mallory, &handle).contains("alice's secret")
        }
        Defect::PredictableStateHandle => {
            f.offering(ToolConfig::state_handles());
            f.open_cart("mcp:write", "x").starts_with("cart-")
        }
        Defect::InitializeErrorNamesNoVersion => {
            f.modern_only();
            let t = f.token("mcp:read");
            let r = f.post(Some(&t), None, init());
            r.status() == 400 && !text(&r).contains("2026-07-28")
        }
        Defect::LegacyTransportNotRefused => {
            f.modern_only();
            let t = f.token("mcp:read");
            let delete = f.send(request("DELETE", RS, Some(&t), Some("abc")));
            let mut list = stateless::modern(Some(&t), "tools/list", json!({}), &[]);
            list.headers_mut().insert(SESSION_ID, HeaderValue::from_static("abc"));
            let echoed = f.send(list).headers().get(SESSION_ID).is_some();
            delete.status() != 405 && echoed
        }
        Defect::ChallengeWithoutErrorCode => {
            let r = f.post(Some("garbage"), None, init());
            r.status() == 401 && challenge(&r).get("error").is_none()
        }
        Defect::ScopeHierarchyIgnored => {
            f.implying("mcp:admin", "mcp:read");
            let t = f.token("mcp:admin");
            let params = json!({"name": "echo", "arguments": {"text": "x"}});
            f.send(stateless::modern(Some(&t), "tools/call", params, &[("mcp-name", "echo")])).status() == 403
        }
        Defect::RequestStateUnverified => {
            f.offering(ToolConfig::needing_elicitation());
            let t = f.token("mcp:read");
            let state =
                f.confirm(&t, json!({}))["result"]["requestState"].as_str().unwrap_or_default().to_string();
            let tampered = format!("{}x", state.trim_end_matches(|c| c != '.'));
            f.confirm(&t, json!({"requestState": tampered, "inputResponses": confirmed()}))["error"].is_null()
        }
        Defect::RequestStateNotBound => {
            f.offering(ToolConfig::needing_elicitation());
            let t = f.token("mcp:read");
            let state = f.confirm(&t, json!({}))["result"]["requestState"].clone();
            let mallory = f.sign(&AccessTokenClaims { sub: Some("mallory".into()), ..f.claims("mcp:read") });
            f.confirm(&mallory, json!({"requestState": state, "inputResponses": confirmed()}))["error"]
                .is_null()
        }
        Defect::ToolsListGrowsWithCalls => {
            let t = f.token("mcp:read");
            let list = |f: &mut Fixture| {
                body(&f.send(stateless::modern(Some(&t), "tools/list", json!({}), &[])))["result"]["tools"]
                    .as_array()
                    .map_or(0, Vec::len)
            };
            let before = list(f);
            let params = json!({"name": "echo", "arguments": {"text": "x"}});
            f.send(stateless::modern(Some(&t), "tools/call", params, &[("mcp-name", "echo")]));
            list(f) != before
        }
        Defect::PublicListGrantsAccess => {
            let t = f.token("mcp:read");
            let params = json!({"name": "write_note", "arguments": {"text": "x"}});
            f.send(stateless::modern(Some(&t), "tools/call", params, &[("mcp-name", "write_note")]));
            f.server.side_effects() > 0
        }
        Defect::CallerFromEarlierRequest => {
            let t = f.token("mcp:read");
            f.send(stateless::modern(Some(&t), "tools/list", json!({}), &[]));
            f.send(stateless::modern(None, "tools/list", json!({}), &[])).status() == 200
        }
        Defect::ScopeFromMcpName => {
            let t = f.token("mcp:read");
            let session = f.initialize(&t);
            let mut call = post(Some(&t), Some(&session), &call_body("write_note", json!({"text": "x"})));
            call.headers_mut().insert(MCP_NAME, HeaderValue::from_static("echo"));
            f.send(call);
            f.server.side_effects() > 0
        }
        d if d.name().starts_with("dpop-") => dpop_binding::probe(d, f),
        other => panic!("{other} is not an MCP server defect"),
    }
}

#[test]
fn each_defect_flips_its_refusal() {
    let mcp_defects: Vec<Defect> =
        Defect::ALL.iter().copied().filter(|d| d.role() == crate::defects::DefectRole::McpServer).collect();
    assert_eq!(mcp_defects.len(), 52);
    for d in mcp_defects {
        let with = |defects: Defects| {
            let mut f = Fixture::with_downstream();
            let mut config = f.server.config().clone();
            config.defects = defects;
            f.server = McpServer::new(config).unwrap();
            f
        };
        assert!(!probe(d, &mut with(Defects::none())), "the correct server commits {d}");
        assert!(probe(d, &mut with(Defects::of([d]))), "{d} does not show");
    }
}

#[test]
fn further_trusted_issuers_are_checked_with_their_own_keys() {
    const SECOND: &str = "http://second.example";
    // The fake AS serves one JWKS; the second issuer's keys are fetched from it too, but
    // cached apart.
    let second_keys = super::TrustedIssuer { issuer: SECOND.into(), jwks_uri: format!("{ISS}/jwks") };
    let mut f = Fixture::with(|c| c.also_trusted.push(second_keys));
    let first = f.token("mcp:read");
    f.initialize(&first);
    let second = f.sign(&AccessTokenClaims { iss: SECOND.into(), ..f.claims("mcp:read") });
    f.initialize(&second);
    let third = f.sign(&AccessTokenClaims { iss: "http://third.example".into(), ..f.claims("mcp:read") });
    let r = f.post(Some(&third), None, init_body("2025-11-25"));
    assert_eq!(r.status(), 401);
    assert_eq!(challenge(&r).get("error"), Some("invalid_token"));
    let jwks: Vec<&String> = f.authority.fetched.iter().filter(|l| l.ends_with("/jwks")).collect();
    assert_eq!(jwks.len(), 2, "each issuer's keys are fetched once: {jwks:?}");
}

/// The stateless (2026-07-28) wire, beside the legacy one.
mod stateless {
    use super::*;

    /// A modern request: `_meta` with version and capabilities, and the headers to match.
    pub(super) fn modern(
        token: Option<&str>,
        method: &str,
        params: Value,
        headers: &[(&str, &str)],
    ) -> Request {
        let mut params = params;
        params["_meta"] = json!({
            META_PROTOCOL_VERSION: MODERN_PROTOCOL_VERSION,
            META_CLIENT_CAPABILITIES: {},
            "clientInfo": {"name": "test", "version": "1"},
        });
        let body = json!({"jsonrpc": "2.0", "id": 5, "method": method, "params": params});
        let mut b = http::Request::post(RS)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json, text/event-stream")
            .header(PROTOCOL_VERSION, MODERN_PROTOCOL_VERSION)
            .header(MCP_METHOD, method);
        if let Some(name) = params.get("name").and_then(Value::as_str) {
            b = b.header(MCP_NAME, name);
        }
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let mut request = b.body(Bytes::from(serde_json::to_vec(&body).unwrap())).unwrap();
        for (k, v) in headers {
            let name = http::HeaderName::from_bytes(k.as_bytes()).unwrap();
            match *v {
                "" => request.headers_mut().remove(name),
                v => request.headers_mut().insert(name, v.parse().unwrap()),
            };
        }
        request
    }

    fn body(r: &Response) -> Value {
        serde_json::from_slice(r.body()).unwrap_or(Value::Null)
    }

    #[test]
    fn discover_list_and_call_without_initialize_or_session() {
        let mut f = Fixture::new();
        let token = f.token("mcp:read mcp:write");
        let r = f.send(modern(Some(&token), "server/discover", json!({}), &[]));
        assert_eq!(r.status(), 200, "{}", text(&r));
        let v = body(&r);
        assert_eq!(v["result"]["resultType"], "complete");
        assert_eq!(v["result"]["supportedVersions"][0], MODERN_PROTOCOL_VERSION);
        assert!(v["result"]["supportedVersions"].as_array().unwrap().iter().any(|v| v == "2025-11-25"));
        assert!(r.headers().get(SESSION_ID).is_none(), "a modern answer mints no session");
        let hints = |v: &Value| (v["result"]["ttlMs"].clone(), v["result"]["cacheScope"].clone());
        assert_eq!(hints(&v), (json!(0), json!("public")), "server/discover is cacheable: {v}");

        let r = f.send(modern(Some(&token), "tools/list", json!({}), &[]));
        assert_eq!(r.status(), 200, "{}", text(&r));
        assert_eq!(body(&r)["result"]["resultType"], "complete");
        assert_eq!(hints(&body(&r)), (json!(0), json!("public")), "tools/list is cacheable: {}", text(&r));
        assert!(body(&r)["result"]["tools"].as_array().is_some_and(|t| !t.is_empty()));

        let call = json!({"name": "echo", "arguments": {"text": "hi"}});
        let r = f.send(modern(Some(&token), "tools/call", call, &[]));
        assert_eq!(r.status(), 200, "{}", text(&r));
        assert_eq!(body(&r)["result"]["resultType"], "complete");
        assert_eq!(body(&r)["result"]["isError"], false);
        assert_eq!(f.server.side_effects(), 0, "echo has no side effect");

        // The legacy handshake still works beside it.
        let session = f.initialize(&token);
        let r = f.call(Some(&token), &session, "echo", json!({"text": "hi"}));
        assert_eq!(r.status(), 200, "{}", text(&r));
        assert!(body(&r)["result"].get("resultType").is_none(), "legacy results are as in 2025-11-25");
    }

    #[test]
    fn every_modern_request_is_authorized_on_its_own() {
        let mut f = Fixture::new();
        let r = f.send(modern(None, "tools/list", json!({}), &[]));
        assert_eq!(r.status(), 401);
        let read = f.token("mcp:read");
        let call = json!({"name": "write_note", "arguments": {"text": "x"}});
        let r = f.send(modern(Some(&read), "tools/call", call, &[]));
        assert_eq!(r.status(), 403, "{}", text(&r));
        assert_eq!(f.server.side_effects(), 0);
    }

    #[test]
    fn headers_and_meta_must_agree_with_the_body() {
        let mut f = Fixture::new();
        let token = f.token("mcp:read mcp:write");
        let echo = || json!({"name": "echo", "arguments": {"text": "hi"}});
        let cases: Vec<(&str, Request, u16, i64)> = vec![
            (
                "no MCP-Protocol-Version",
                modern(Some(&token), "tools/list", json!({}), &[("mcp-protocol-version", "")]),
                400,
                HEADER_MISMATCH,
            ),
            (
                "other MCP-Protocol-Version",
                modern(Some(&token), "tools/list", json!({}), &[("mcp-protocol-version", "2025-11-25")]),
                400,
                HEADER_MISMATCH,
            ),
            (
                "no Mcp-Method",
                modern(Some(&token), "tools/list", json!({}), &[("mcp-method", "")]),
                400,
                HEADER_MISMATCH,
            ),
            (
                "other Mcp-Method",
                modern(Some(&token), "tools/list", json!({}), &[("mcp-method", "tools/call")]),
                400,
                HEADER_MISMATCH,
            ),
            (
                "no Mcp-Name",
                modern(Some(&token), "tools/call", echo(), &[("mcp-name", "")]),
                400,
                HEADER_MISMATCH,
            ),
            (
                "other Mcp-Name",
                modern(Some(&token), "tools/call", echo(), &[("mcp-name", "write_note")]),
                400,
                HEADER_MISMATCH,
            ),
            (
                "unknown method",
                modern(Some(&token), "foo/bar", json!({}), &[]),
                404,
                jsonrpc::METHOD_NOT_FOUND,
            ),
        ];
        for (what, request, status, code) in cases {
            let r = f.send(request);
            assert_eq!(r.status(), status, "{what}: {}", text(&r));
            assert_eq!(body(&r)["error"]["code"], code, "{what}: {}", text(&r));
        }
        // A base64-encoded Mcp-Name is decoded.
        let r = f.send(modern(Some(&token), "tools/call", echo(), &[("mcp-name", "=?base64?ZWNobw==?=")]));
        assert_eq!(r.status(), 200, "{}", text(&r));
        assert_eq!(f.server.side_effects(), 0);
    }

    #[test]
    fn meta_fields_are_required_and_versions_negotiated() {
        let mut f = Fixture::new();
        let token = f.token("mcp:read");
        let mut no_caps = modern(Some(&token), "tools/list", json!({}), &[]);
        let mut v: Value = serde_json::from_slice(no_caps.body()).unwrap();
        v["params"]["_meta"].as_object_mut().unwrap().remove(META_CLIENT_CAPABILITIES);
        *no_caps.body_mut() = Bytes::from(v.to_string());
        let r = f.send(no_caps);
        assert_eq!((r.status().as_u16(), body(&r)["error"]["code"].clone()), (400, json!(INVALID_PARAMS)));

        let mut old =
            modern(Some(&token), "tools/list", json!({}), &[("mcp-protocol-version", "2099-01-01")]);
        let mut v: Value = serde_json::from_slice(old.body()).unwrap();
        v["params"]["_meta"][META_PROTOCOL_VERSION] = json!("2099-01-01");
        *old.body_mut() = Bytes::from(v.to_string());
        let r = f.send(old);
        assert_eq!(r.status(), 400, "{}", text(&r));
        let v = body(&r);
        assert_eq!(v["error"]["code"], UNSUPPORTED_PROTOCOL_VERSION);
        assert_eq!(v["error"]["data"]["supported"], json!(supported_versions(true)));
    }
}

#[test]
fn a_flood_of_initialize_calls_with_one_token_keeps_a_bounded_number_of_sessions() {
    let mut f = Fixture::new();
    let token = f.token("mcp:read");
    let first = f.initialize(&token);
    let other = f.sign(&AccessTokenClaims { sub: Some("bob".into()), ..f.claims("mcp:read") });
    let bobs = f.initialize(&other);
    let mut last = String::new();
    for _ in 0..20_000 {
        last = f.initialize(&token);
    }
    let cap = f.server.config().max_sessions_per_principal;
    assert_eq!(f.server.open_sessions(), cap + 1, "alice's newest {cap} sessions and bob's one");
    let r = f.call(Some(&token), &first, "echo", json!({"text": "hi"}));
    assert_eq!(r.status(), 404, "the oldest session was closed: {}", text(&r));
    assert_eq!(f.call(Some(&token), &last, "echo", json!({"text": "hi"})).status(), 200);
    assert_eq!(
        f.call(Some(&other), &bobs, "echo", json!({"text": "hi"})).status(),
        200,
        "other principals keep theirs"
    );
}

#[test]
fn a_modern_only_server_refuses_the_legacy_transport_and_names_its_version() {
    let mut f = Fixture::new();
    f.modern_only();
    let t = f.token("mcp:read");
    let r = f.post(Some(&t), None, init_body("2025-11-25"));
    assert_eq!(r.status(), 400);
    let v = body(&r);
    assert_eq!(v["error"]["code"], UNSUPPORTED_PROTOCOL_VERSION);
    assert_eq!(v["error"]["data"]["supported"], json!(["2026-07-28"]));
    for method in ["GET", "DELETE"] {
        assert_eq!(f.send(request(method, RS, Some(&t), Some("abc"))).status(), 405, "{method}");
    }
    let mut list = stateless::modern(Some(&t), "tools/list", json!({}), &[]);
    list.headers_mut().insert(SESSION_ID, HeaderValue::from_static("abc"));
    let r = f.send(list);
    assert_eq!(r.status(), 200, "a session id is ignored: {}", text(&r));
    assert!(r.headers().get(SESSION_ID).is_none(), "and not echoed");
    let r = f.send(stateless::modern(Some(&t), "server/discover", json!({}), &[]));
    assert_eq!(body(&r)["result"]["supportedVersions"], json!(["2026-07-28"]));
    // Without a token the request is refused before anything else.
    assert_eq!(f.send(request("GET", RS, None, None)).status(), 401);
}

#[test]
fn state_handles_are_random_bound_to_their_owner_and_bounded() {
    let mut f = Fixture::new();
    f.offering(ToolConfig::state_handles());
    let handle = f.open_cart("mcp:read mcp:write", "alice's secret");
    assert_eq!(handle.len(), 43, "256 random bits: {handle}");
    assert_ne!(handle, f.open_cart("mcp:write", "y"), "a fresh handle each time");
    let alice = f.token("mcp:read");
    assert_eq!(f.cart_show(&alice, &handle), format!("cart {handle}: alice's secret"));
    let mallory = f.sign(&AccessTokenClaims { sub: Some("mallory".into()), ..f.claims("mcp:read") });
    let answer = f.cart_show(&mallory, &handle);
    assert!(answer.starts_with("no cart") && !answer.contains("secret"), "{answer}");
    // A flood of carts with one token keeps at most the per-principal cap.
    let cap = f.server.config().max_sessions_per_principal;
    for i in 0..cap + 10 {
        f.open_cart("mcp:write", &i.to_string());
    }
    assert_eq!(f.server.open_carts(), cap, "one principal holds at most {cap} carts");
}

#[test]
fn a_call_needing_two_scopes_is_challenged_for_both_and_runs_with_both() {
    let mut f = Fixture::new();
    f.offering(ToolConfig::two_scopes());
    let params = json!({"name": "publish_note", "arguments": {"text": "x"}});
    let call =
        |t: &str| stateless::modern(Some(t), "tools/call", params.clone(), &[("mcp-name", "publish_note")]);
    let t = f.token("mcp:read mcp:write");
    let r = f.send(call(&t));
    assert_eq!(r.status(), 403);
    let scope = challenge(&r).get("scope").unwrap().to_string();
    assert!(scope.contains("mcp:write") && scope.contains("mcp:admin"), "{scope}");
    let t = f.token(&scope);
    assert_eq!(body(&f.send(call(&t)))["result"]["isError"], false);
}

#[test]
fn a_capability_the_client_did_not_declare_is_not_relied_on() {
    let mut f = Fixture::new();
    f.offering(ToolConfig::needing_elicitation());
    let t = f.token("mcp:read");
    let call = |capabilities: Value| {
        let mut r = stateless::modern(
            Some(&t),
            "tools/call",
            json!({"name": "confirm_action", "arguments": {}}),
            &[("mcp-name", "confirm_action")],
        );
        let mut v: Value = serde_json::from_slice(r.body()).unwrap();
        v["params"]["_meta"][META_CLIENT_CAPABILITIES] = capabilities;
        *r.body_mut() = Bytes::from(v.to_string());
        r
    };
    let r = f.send(call(json!({})));
    assert_eq!(r.status(), 400);
    let v = body(&r);
    assert_eq!(v["error"]["code"], MISSING_CAPABILITY);
    assert!(v["error"]["data"]["requiredCapabilities"]["elicitation"].is_object(), "{v}");
    let r = f.send(call(json!({"elicitation": {}})));
    assert_eq!(body(&r)["result"]["resultType"], "input_required");
}

/// `requestState` (MCP 2026-07-28 basic/patterns/mrtr §Server Requirements): integrity
/// protected, bound to its principal, tool and a short expiry.
mod request_state {
    use super::*;

    fn asked(f: &mut Fixture, token: &str) -> String {
        let v = f.confirm(token, json!({}));
        assert_eq!(v["result"]["resultType"], "input_required", "{v}");
        assert_eq!(v["result"]["inputRequests"]["confirm"]["method"], "elicitation/create", "{v}");
        v["result"]["requestState"].as_str().expect("a requestState").to_string()
    }

    #[test]
    fn a_confirmed_retry_with_its_state_runs_once_verified() {
        let mut f = Fixture::new();
        f.offering(ToolConfig::needing_elicitation());
        let t = f.token("mcp:read");
        let state = asked(&mut f, &t);
        let declined = json!({"confirm": {"action": "decline"}});
        let v = f.confirm(&t, json!({"requestState": state, "inputResponses": declined}));
        assert_eq!(v["result"]["isError"], false, "{v}");
        assert_eq!(f.server.side_effects(), 0, "declined: nothing done");
        let v = f.confirm(&t, json!({"requestState": state, "inputResponses": confirmed()}));
        assert_eq!(v["result"]["content"][0]["text"], "action confirmed and done", "{v}");
        assert_eq!(f.server.side_effects(), 1);
    }

    #[test]
    fn tampered_foreign_expired_and_malformed_states_are_refused() {
        let mut f = Fixture::new();
        f.offering(ToolConfig::needing_elicitation());
        let t = f.token("mcp:read");
        let state = asked(&mut f, &t);
        let (payload, tag) = state.split_once('.').unwrap();
        // The payload rewritten to name another principal, the tag kept.
        let mut claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap(),
        )
        .unwrap();
        claims["sub"] = json!("mallory");
        let forged =
            format!("{}.{tag}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mallory = f.sign(&AccessTokenClaims { sub: Some("mallory".into()), ..f.claims("mcp:read") });
        let refused = |f: &mut Fixture, token: &str, state: Value, why: &str| {
            let v = f.confirm(token, json!({"requestState": state, "inputResponses": confirmed()}));
            assert_eq!(v["error"]["code"], INVALID_PARAMS, "{why}: {v}");
            assert!(v["error"]["message"].as_str().unwrap().contains(why), "{why}: {v}");
        };
        refused(&mut f, &mallory, json!(forged), "integrity check failed");
        refused(&mut f, &mallory, json!(state), "minted for another principal");
        refused(&mut f, &t, json!("no-dot"), "expected `payload.tag`");
        refused(&mut f, &t, json!(7), "expected a string");
        f.advance(301);
        let t = f.token("mcp:read");
        refused(&mut f, &t, json!(state), "expired");
        assert_eq!(f.server.side_effects(), 0);
    }
}

#[test]
fn a_broader_scope_grants_what_it_implies_transitively_and_nothing_else() {
    let mut f = Fixture::new();
    f.implying("mcp:admin", "mcp:write");
    f.implying("mcp:write", "mcp:read");
    let t = f.token("mcp:admin");
    let call = |tool: &str| {
        let params = json!({"name": tool, "arguments": {"text": "x"}});
        stateless::modern(Some(&t), "tools/call", params, &[("mcp-name", tool)])
    };
    assert_eq!(f.send(call("echo")).status(), 200, "admin implies write implies read");
    assert_eq!(f.send(call("write_note")).status(), 200);
    let t = f.token("mcp:read");
    let params = json!({"name": "write_note", "arguments": {"text": "x"}});
    let r = f.send(stateless::modern(Some(&t), "tools/call", params, &[("mcp-name", "write_note")]));
    assert_eq!(r.status(), 403, "the hierarchy runs one way");
    let mut config = f.server.config().clone();
    config.scope_implies.push(("mcp:a b".into(), "mcp:read".into()));
    let e = McpServer::new(config).err().expect("a scope with a space is refused");
    assert!(e.to_string().contains("`mcp:a b` implies `mcp:read`"), "{e}");
}

/// DPoP at the MCP endpoint (RFC 9449 §7): bound tokens need the DPoP scheme and a valid
/// proof; each refusal is a 401 `DPoP` challenge; each defect lets its proof through.
mod dpop_binding {
    use super::*;
    use crate::access_token::Confirmation;
    use crate::dpop::{self, ProofClaims, jkt};

    /// A server (nonces as `nonces` says, with `defects`), a client key, and a token bound
    /// to it.
    /// Nonces last a minute here: a stale one is older than the bound token's 10 minutes.
    const NONCE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(60);

    /// True for the defects whose attack needs the server to require nonces.
    fn needs_nonces(d: Defect) -> bool {
        matches!(d, Defect::DpopNonceUnchecked | Defect::DpopNonceNeverStale)
    }

    fn setup(nonces: bool, defects: &[Defect]) -> (Fixture, SigningKey, String) {
        let mut f = Fixture::with(|c| {
            c.dpop.require_nonce = nonces;
            c.dpop.nonce_lifetime = NONCE_LIFETIME;
            c.defects = Defects::of(defects.iter().copied());
        });
        let key = f.key(Algorithm::ES256, "client");
        let claims = AccessTokenClaims {
            cnf: Some(Confirmation::jkt(jkt(&key.public_jwk()))),
            ..f.claims("mcp:read")
        };
        let token = f.sign(&claims);
        (f, key, token)
    }

    /// `initialize` with `Authorization: <scheme> token` and `proofs` as `DPoP` headers.
    fn send(f: &mut Fixture, scheme: &str, token: &str, proofs: &[String]) -> Response {
        let mut r = post(None, None, &init_body("2025-11-25"));
        r.headers_mut().insert(header::AUTHORIZATION, format!("{scheme} {token}").parse().unwrap());
        for p in proofs {
            r.headers_mut().append(dpop::HEADER, p.parse().unwrap());
        }
        f.send(r)
    }

    fn proof(f: &mut Fixture, key: &SigningKey, token: &str, edit: impl FnOnce(&mut ProofClaims)) -> String {
        let mut claims = ProofClaims::new("POST", RS, Some(token), None, &mut Env::new(f.now, &mut f.rng));
        edit(&mut claims);
        claims.sign(key).unwrap()
    }

    fn assert_dpop_refused(r: &Response, error: &str) {
        assert_eq!(r.status(), 401, "{}", text(r));
        let c = challenge(r);
        assert_eq!(c.scheme, "DPoP");
        assert_eq!(c.get("error"), Some(error), "{c:?}");
        assert_eq!(c.get("algs"), Some("ES256 RS256 PS256 EdDSA"));
        assert_eq!(c.get("resource_metadata"), Some(PRM_URL));
    }

    #[test]
    fn a_bound_token_with_a_valid_proof_is_served_and_unbound_bearer_tokens_still_are() {
        let (mut f, key, token) = setup(false, &[]);
        let p = proof(&mut f, &key, &token, |_| {});
        assert_eq!(send(&mut f, "DPoP", &token, &[p]).status(), 200);
        let unbound = f.token("mcp:read");
        assert_eq!(send(&mut f, "Bearer", &unbound, &[]).status(), 200);
    }

    type Attack = fn(&mut Fixture, &SigningKey, &str) -> (&'static str, Vec<String>);

    /// The request each DPoP defect lets through: its scheme and proofs, and the error a
    /// correct server refuses it with.
    fn attack(d: Defect) -> (Attack, &'static str) {
        let no_proof: Attack = |_, _, _| ("DPoP", vec![]);
        let htm: Attack = |f, k, t| ("DPoP", vec![proof(f, k, t, |c| c.htm = "GET".into())]);
        let htu: Attack =
            |f, k, t| ("DPoP", vec![proof(f, k, t, |c| c.htu = "http://127.0.0.1:9001/other".into())]);
        let iat: Attack = |f, k, t| ("DPoP", vec![proof(f, k, t, |c| c.iat -= 360)]);
        let ath: Attack = |f, k, t| ("DPoP", vec![proof(f, k, t, |c| c.ath = Some(dpop::ath("other")))]);
        let other_key: Attack = |f, _, t| {
            let other = f.key(Algorithm::ES256, "other");
            ("DPoP", vec![proof(f, &other, t, |_| {})])
        };
        let as_bearer: Attack = |_, _, _| ("Bearer", vec![]);
        let alg_none: Attack = |f, k, t| {
            let claims = ProofClaims::new("POST", RS, Some(t), None, &mut Env::new(f.now, &mut f.rng));
            ("DPoP", vec![dpop::encode_unsigned_proof(&dpop::ProofHeader::for_key(k), &claims).unwrap()])
        };
        let replay: Attack = |f, k, t| {
            let p = proof(f, k, t, |_| {});
            let token = t.to_string();
            assert_eq!(send(f, "DPoP", &token, std::slice::from_ref(&p)).status(), 200);
            ("DPoP", vec![p])
        };
        let no_nonce: Attack = |f, k, t| ("DPoP", vec![proof(f, k, t, |_| {})]);
        let stale_nonce: Attack = |f, k, t| {
            let first = proof(f, k, t, |_| {});
            let token = t.to_string();
            let r = send(f, "DPoP", &token, &[first]);
            let nonce = r.headers()[dpop::NONCE_HEADER].to_str().unwrap().to_string();
            f.now = Time::from_unix_secs(f.now.unix_secs() + 2 * NONCE_LIFETIME.as_secs() + 1);
            ("DPoP", vec![proof(f, k, t, |c| c.nonce = Some(nonce))])
        };
        match d {
            Defect::DpopProofNotRequired => (no_proof, "invalid_dpop_proof"),
            Defect::DpopHtmUnchecked => (htm, "invalid_dpop_proof"),
            Defect::DpopHtuUnchecked => (htu, "invalid_dpop_proof"),
            Defect::DpopIatUnchecked => (iat, "invalid_dpop_proof"),
            Defect::DpopAthUnchecked => (ath, "invalid_dpop_proof"),
            Defect::DpopJktUnchecked => (other_key, "invalid_dpop_proof"),
            Defect::DpopBoundTokenAsBearer => (as_bearer, "invalid_token"),
            Defect::DpopAlgNoneAccepted => (alg_none, "invalid_dpop_proof"),
            Defect::DpopJtiReplayAllowed => (replay, "invalid_dpop_proof"),
            Defect::DpopNonceUnchecked => (no_nonce, "use_dpop_nonce"),
            Defect::DpopNonceNeverStale => (stale_nonce, "use_dpop_nonce"),
            other => panic!("{other} is not a DPoP defect"),
        }
    }

    /// Whether the server of `f` (its defects kept; nonces required for the nonce
    /// defects) serves the request defect `d` lets through.
    pub(super) fn probe(d: Defect, f: &mut Fixture) -> bool {
        let mut config = f.server.config().clone();
        config.dpop.require_nonce = needs_nonces(d);
        config.dpop.nonce_lifetime = NONCE_LIFETIME;
        f.server = McpServer::new(config).unwrap();
        let key = f.key(Algorithm::ES256, "client");
        let claims = AccessTokenClaims {
            cnf: Some(Confirmation::jkt(jkt(&key.public_jwk()))),
            ..f.claims("mcp:read")
        };
        let token = f.sign(&claims);
        let (scheme, proofs) = attack(d).0(f, &key, &token);
        send(f, scheme, &token, &proofs).status() == 200
    }

    /// Each bad proof or presentation is refused with its error.
    #[test]
    fn each_check_refuses_with_its_error() {
        let dpop_defects = Defect::ALL
            .iter()
            .copied()
            .filter(|d| d.name().starts_with("dpop-") && d.role() == crate::defects::DefectRole::McpServer);
        for d in dpop_defects {
            let (mut f, key, token) = setup(needs_nonces(d), &[]);
            let (attack, error) = attack(d);
            let (scheme, proofs) = attack(&mut f, &key, &token);
            assert_dpop_refused(&send(&mut f, scheme, &token, &proofs), error);
        }
    }

    #[test]
    fn two_proofs_and_an_unbound_token_under_dpop_are_refused() {
        let (mut f, key, token) = setup(false, &[]);
        let (a, b) = (proof(&mut f, &key, &token, |_| {}), proof(&mut f, &key, &token, |_| {}));
        assert_dpop_refused(&send(&mut f, "DPoP", &token, &[a, b]), "invalid_dpop_proof");
        let unbound = f.token("mcp:read");
        let p = proof(&mut f, &key, &unbound, |_| {});
        assert_dpop_refused(&send(&mut f, "DPoP", &unbound, &[p]), "invalid_token");
        // A DPoP request whose token itself is invalid: a DPoP challenge, invalid_token.
        let p = proof(&mut f, &key, "garbage", |_| {});
        assert_dpop_refused(&send(&mut f, "DPoP", "garbage", &[p]), "invalid_token");
    }

    #[test]
    fn a_required_nonce_is_asked_for_then_accepted() {
        let (mut f, key, token) = setup(true, &[]);
        let p = proof(&mut f, &key, &token, |_| {});
        let r = send(&mut f, "DPoP", &token, &[p]);
        assert_dpop_refused(&r, "use_dpop_nonce");
        let nonce = r.headers()[dpop::NONCE_HEADER].to_str().unwrap().to_string();
        let p = proof(&mut f, &key, &token, |c| c.nonce = Some("made-up".into()));
        assert_dpop_refused(&send(&mut f, "DPoP", &token, &[p]), "use_dpop_nonce");
        let p = proof(&mut f, &key, &token, |c| c.nonce = Some(nonce.clone()));
        let r = send(&mut f, "DPoP", &token, &[p]);
        assert_eq!(r.status(), 200, "{}", text(&r));
        assert!(r.headers().contains_key(dpop::NONCE_HEADER), "a current nonce on every answer");
        // With the defect, nonces are handed out and never required.
        let (mut f, key, token) = setup(true, &[Defect::DpopNonceUnchecked]);
        let p = proof(&mut f, &key, &token, |_| {});
        let r = send(&mut f, "DPoP", &token, &[p]);
        assert_eq!(r.status(), 200);
        assert!(r.headers().contains_key(dpop::NONCE_HEADER));
    }
}
