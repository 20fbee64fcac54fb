//! Targets over the parsers of peer input: never a panic, and `parse(serialize(x)) == x`
//! wherever the crate serializes the same type.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use mcp_authz_reference::access_token::{AccessTokenClaims, Validator};
use mcp_authz_reference::authorization_server::{self as authz, client_id_metadata};
use mcp_authz_reference::bearer::{self, Challenge};
use mcp_authz_reference::client::authorization::redirect_params;
use mcp_authz_reference::client::registration::read_registration_response;
use mcp_authz_reference::client::token::{TokenSet, read_token_response};
use mcp_authz_reference::jsonrpc::{self, Message, Parsed};
use mcp_authz_reference::jwt::{self, Algorithm, JoseHeader, Jwks, KeySet, SigningKey, VerifyingKey};
use mcp_authz_reference::metadata::{self, AuthorizationServerMetadata};
use mcp_authz_reference::protected_resource_metadata::{self as prm, ProtectedResourceMetadata};
use mcp_authz_reference::registration::{self, AUTH_METHODS, ClientInformation, ClientMetadata};
use mcp_authz_reference::resource_indicator::canonical_resource;
use mcp_authz_reference::sans_io::{Env, Response, Time};
use mcp_authz_reference::wire::{self, Params};
use rand_core::SeedableRng;
use serde_json::Value;
use std::fmt::Debug;
use std::sync::OnceLock;
use std::time::Duration;

/// The issuer of the fixed validator.
pub const ISSUER: &str = "https://as.example";
/// The resource (audience) of the fixed validator.
pub const RESOURCE: &str = "https://mcp.example/mcp";
/// The instant every time check is made at.
pub const NOW: u64 = 1_700_000_000;

/// The fixed ES256 key (`kid` `k1`) the JWT targets verify against, derived from seed 1.
pub fn signing_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let mut env = Env::new(Time::from_unix_secs(NOW), &mut rng);
        SigningKey::generate(Algorithm::ES256, "k1", &mut env).expect("an ES256 key from a seeded rng")
    })
}

fn validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| {
        let keys = KeySet::from_jwks(&signing_key().public_jwks()).expect("own jwks parses");
        Validator::new(ISSUER, RESOURCE, keys)
    })
}

/// `x` serialized as JSON parses back to `x`.
fn round_trip<T>(x: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + Debug,
{
    let bytes = serde_json::to_vec(x).expect("serializes");
    let back: T = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("own output {} does not parse: {e}", String::from_utf8_lossy(&bytes)));
    assert_eq!(&back, x, "round trip through {}", String::from_utf8_lossy(&bytes));
}

/// The first line of `data` and the rest (the rest is empty without a newline).
fn first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fn response(status: u16, content_type: &'static str, body: &[u8]) -> Response {
    let mut r = Response::new(Bytes::copy_from_slice(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// JWS compact serialization, the JOSE header and RFC 9068 claims: split, verify against
/// the fixed key, validate; header and claims round-trip.
pub fn jwt_compact(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let now = Time::from_unix_secs(NOW);
    let verdict = validator().validate(token, now);
    let Ok(c) = jwt::split(token) else {
        assert!(verdict.is_err(), "a token that does not split was accepted");
        return;
    };
    round_trip::<JoseHeader>(&c.header);
    let _ = Algorithm::parse(&c.header.alg);
    let _ = jwt::decode_verified(token, &validator().keys, &Algorithm::ASYMMETRIC);
    if let Ok(claims) = wire::parse_json::<AccessTokenClaims>("claims", &c.payload) {
        round_trip(&claims);
        let _ = claims.has_scope("mcp:read");
        let _ = claims.aud.contains(RESOURCE);
        let _ = validator().check_claims(&claims, now);
        if let Ok(accepted) = &verdict {
            assert_eq!(accepted, &claims);
        }
    }
}

/// JWK Sets: parse, round-trip, turn into verifying keys, verify a signature with each.
pub fn jwks(data: &[u8]) {
    let Ok(jwks) = Jwks::parse(data) else { return };
    round_trip(&jwks);
    let _ = KeySet::from_jwks(&jwks);
    for jwk in &jwks.keys {
        if let Ok(k) = VerifyingKey::from_jwk(jwk) {
            let _ = k.alg();
            assert!(k.verify(b"message", data).is_err() || data.len() >= 64, "a short signature verified");
        }
    }
}

/// RFC 8414 / OpenID Connect AS metadata and RFC 9728 protected resource metadata, with
/// their client-side checks; both round-trip.
pub fn metadata_documents(data: &[u8]) {
    if let Ok(m) = AuthorizationServerMetadata::parse(data) {
        round_trip(&m);
        let _ = m.check(ISSUER);
        let _ = m.check(&m.issuer);
        let _ = m.supports_auth_method("private_key_jwt");
        let _ = metadata::discovery_urls(&m.issuer);
        let endpoints = [&m.authorization_endpoint, &m.token_endpoint, &m.jwks_uri, &m.registration_endpoint];
        for url in endpoints.into_iter().flatten() {
            let _ = metadata::check_endpoint_url("endpoint", url);
        }
    }
    if let Ok(m) = ProtectedResourceMetadata::parse(data) {
        round_trip(&m);
        let _ = m.check(RESOURCE);
        let _ = m.check(&m.resource);
        let _ = prm::well_known_urls(&m.resource);
        let _ = canonical_resource(&m.resource);
    }
}

/// A client ID metadata document as the AS fetches it: first line the `Cache-Control`
/// value, the rest the body. The document is checked against its own `client_id` (so that
/// the checks past the URL comparison run) and against a fixed URL.
pub fn client_id_metadata(data: &[u8]) {
    let (cache_control, body) = first_line(data);
    let mut r = response(200, "application/json", body);
    if let Ok(v) = HeaderValue::from_bytes(cache_control) {
        r.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    assert!(client_id_metadata::cache_lifetime(&r) <= Duration::from_secs(3600));
    let own = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("client_id")?.as_str().map(String::from));
    let scopes = ["mcp:read".to_string(), "mcp:write".to_string()];
    let config = authz::Config { registration_scopes: scopes.to_vec(), ..Default::default() };
    for url in own.iter().map(String::as_str).chain(["https://client.example/mcp.json"]) {
        let _ = client_id_metadata::is_url(url);
        let _ = client_id_metadata::check_url(url, false);
        if let Ok(client) = client_id_metadata::client_from_response(url, &r, &config) {
            assert_eq!(client.client_id, url);
            assert!(client.scopes.iter().all(|s| scopes.contains(s)), "scopes widened: {:?}", client.scopes);
        }
    }
    if let Ok(m) = wire::parse_json::<ClientMetadata>("client metadata", body) {
        round_trip(&m);
    }
}

/// What a challenge becomes once serialized: control characters turn into spaces.
fn as_serialized(c: &Challenge) -> Challenge {
    let printable = |v: &String| v.chars().map(|ch| if ch.is_control() { ' ' } else { ch }).collect();
    Challenge { params: c.params.iter().map(|(n, v)| (n.clone(), printable(v))).collect(), ..c.clone() }
}

/// `WWW-Authenticate` values (RFC 7235 / RFC 6750): several challenges, quoted strings
/// with escapes, odd whitespace and case. Each parsed challenge, and the whole list,
/// serializes and parses back to itself.
pub fn www_authenticate(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Ok(challenges) = bearer::parse_www_authenticate(s) else { return };
    assert!(!challenges.is_empty(), "`{s}` parsed to no challenge");
    let expected: Vec<Challenge> = challenges.iter().map(as_serialized).collect();
    for (c, e) in challenges.iter().zip(&expected) {
        let v = c.to_header_value();
        let back = bearer::parse_www_authenticate(&v).unwrap_or_else(|e| panic!("own output `{v}`: {e}"));
        assert_eq!(&back, std::slice::from_ref(e), "round trip through `{v}`");
    }
    let all = challenges.iter().map(Challenge::to_header_value).collect::<Vec<_>>().join(", ");
    let back = bearer::parse_www_authenticate(&all).unwrap_or_else(|e| panic!("own output `{all}`: {e}"));
    assert_eq!(back, expected, "round trip through `{all}`");
    if let Ok(v) = HeaderValue::from_str(s) {
        let mut h = HeaderMap::new();
        h.insert(header::WWW_AUTHENTICATE, v);
        let _ = bearer::bearer_challenge(&h);
    }
}

/// The `Authorization` header, given as up to four values one per line: a token comes
/// out only from exactly one `Bearer` value, and it is b64token syntax.
pub fn authorization_header(data: &[u8]) {
    let mut h = HeaderMap::new();
    for line in data.split(|&b| b == b'\n').take(4) {
        if let Ok(v) = HeaderValue::from_bytes(line) {
            h.append(header::AUTHORIZATION, v);
        }
    }
    if let Ok(Some(token)) = bearer::bearer_token(&h) {
        assert_eq!(h.get_all(header::AUTHORIZATION).iter().count(), 1);
        let body = token.trim_end_matches('=');
        assert!(
            !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
        );
    }
}

/// RFC 7591: a registration request (client metadata, checked for every auth method)
/// and a registration response (client information); both round-trip.
pub fn registration(data: &[u8]) {
    let allowed = ["mcp:read".to_string(), "mcp:write".to_string()];
    if let Ok(m) = wire::parse_json::<ClientMetadata>("client metadata", data) {
        round_trip(&m);
        for method in AUTH_METHODS {
            let _ = registration::check_client_metadata(&m, method);
        }
        let _ = registration::check_redirect_uris(&m.redirect_uris);
        let _ = (m.auth_method(), m.grant_types_or_default());
        let granted = registration::narrow_scope(m.scope.as_deref(), &allowed);
        assert!(granted.iter().all(|s| allowed.contains(s)), "scope widened to {granted:?}");
    }
    if let Ok(info) = wire::parse_json::<ClientInformation>("client information", data) {
        round_trip(&info);
    }
    if let Ok(info) = read_registration_response(&response(201, "application/json", data)) {
        assert!(!info.client_id.is_empty());
    }
}

/// A token request form (`application/x-www-form-urlencoded`): a repeated parameter or
/// invalid UTF-8 is refused; what parses round-trips.
pub fn form_params(data: &[u8]) {
    let parsed = Params::parse(data);
    if let Ok(p) = &parsed {
        let encoded = p.encode();
        assert_eq!(&Params::parse(encoded.as_bytes()).expect("own output parses"), p, "through `{encoded}`");
        let _ = p.require("grant_type");
    }
    let request = http::Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")
        .body(Bytes::copy_from_slice(data))
        .expect("a valid request");
    assert_eq!(Params::from_form_request(&request).ok(), parsed.ok());
}

/// A token endpoint response: first byte picks the status, the rest is the body.
pub fn token_response(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else { return };
    let status = [200, 400, 401, 500][usize::from(first % 4)];
    let r = response(status, "application/json", body);
    match read_token_response(&r) {
        Ok(t) => {
            assert_eq!(status, 200);
            round_trip(&t);
            let now = Time::from_unix_secs(NOW);
            let set = TokenSet::from_response(t, None, RESOURCE, Some(ISSUER.into()), now);
            let _ = set.expires_within(now, Duration::from_secs(30));
            let _ = set.is_for(RESOURCE);
        }
        Err(_) if status != 200 => {
            let _ = wire::error_from_response("token endpoint", &r);
        }
        Err(_) => {}
    }
}

/// The URL an authorization server redirects to (RFC 6749 §4.1.2, RFC 9207): parsed,
/// then validated against fixed values and against its own `state` and `iss`.
pub fn authorization_response(data: &[u8]) {
    let Ok(url) = std::str::from_utf8(data) else { return };
    let Ok(r) = redirect_params(url) else { return };
    for (state, iss) in
        [("state-1", ISSUER), (r.state.as_deref().unwrap_or(""), r.iss.as_deref().unwrap_or(""))]
    {
        for required in [false, true] {
            if let Ok(code) = r.clone().validate(state, iss, required) {
                assert!(r.error.is_none(), "an error response gave code `{code}`");
                assert_eq!(r.code.as_deref(), Some(code.as_str()));
                assert_eq!(r.state.as_deref(), Some(state));
            }
        }
    }
}

fn message_round_trip(m: &Message) {
    let value = match m {
        Message::Request(r) => r.to_value(),
        Message::Response(r) if r.id.is_some() => r.to_value(),
        _ => return,
    };
    let back = jsonrpc::parse_value(value.clone()).unwrap_or_else(|e| panic!("own output {value}: {e:?}"));
    assert_eq!(back, Parsed::Single(m.clone()), "round trip through {value}");
}

/// JSON-RPC messages and batches: every defect is an error response, never a panic;
/// requests and responses round-trip.
pub fn jsonrpc(data: &[u8]) {
    match jsonrpc::parse(data) {
        Ok(Parsed::Single(m)) => message_round_trip(&m),
        Ok(Parsed::Batch(items)) => {
            assert!(!items.is_empty(), "an empty batch parsed");
            items.iter().flatten().for_each(message_round_trip);
        }
        Err(e) => {
            assert!(e.outcome.is_err(), "a parse failure without an error object");
            let _ = serde_json::to_vec(&e).expect("an error response serializes");
        }
    }
}
