//! Per-request access token validation (MCP authorization §Token Handling, OAuth 2.1
//! §5.2, RFC 6750 §3): where the token may come from, the issuer's keys (fetched once,
//! cached by `kid`, refetched at most once per interval for an unknown `kid`), optional
//! introspection (RFC 7662), and the challenges sent when a request is refused.
//!
//! Decisions, each tested:
//! - The token is only read from the `Authorization` header. A token in the query
//!   (`access_token=`), in a form body or as a top-level member of a JSON body is refused
//!   with 400 `invalid_request` and never used (MCP §Token Requirements, RFC 6750 §2).
//! - Two `Authorization` headers, a `Bearer` scheme with an empty or ill-formed token, or
//!   a header that is no `scheme credentials` pair at all: 400 `invalid_request`.
//! - Another well-formed scheme (`Basic`, `Digest`, ...) is an authentication method this
//!   server does not support, which RFC 6750 §3.1 treats like no credentials: 401 with a
//!   challenge and no `error` code.
//! - A JWKS that cannot be fetched or parsed fails closed: 401 `invalid_token` with a
//!   description naming the JWKS URL, never a 5xx (the client cannot fix the AS, but a
//!   503 would invite it to retry with the same token forever).
//! - Until a JWKS has been loaded, every request presenting a token fetches it; once keys
//!   are cached, a token naming an unknown `kid` (or none) triggers a refetch only when
//!   the last fetch is at least `jwks_refetch_interval` old, so forged `kid`s cannot make
//!   the server hammer the AS.
//! - Introspection (when configured) runs on every request after local validation; a
//!   failed introspection fails closed the same way.
//! - `error_description` values are cut to 300 characters of visible ASCII: they echo
//!   claims an attacker chooses, and a header cannot carry anything else.
//! - A token that passed every check is remembered, per issuer, with its claims (at most
//!   [`VERIFIED_CAPACITY`] tokens, the oldest forgotten first), as resource servers
//!   cache signature verification: presented again byte for byte, it skips the
//!   signature and header checks, while the claim checks (`iss`, `aud`, `exp`/`nbf`/`iat`
//!   at the current time, the RFC 9068 claims) run on every request. Installing the
//!   issuer's JWKS forgets them all, and no token is remembered or looked up while a
//!   token defect is injected.

use super::config::{Config, Introspection};
use crate::access_token::{AccessTokenClaims, Audience, TYP, Validator};
use crate::bearer::{self, Challenge};
use crate::defects::{Defect, Defects};
use crate::error::TokenError;
use crate::jwt::{self, Algorithm, Jwks, KeySet, SigningKey};
use crate::oauth_error::ErrorCode;
use crate::sans_io::{FetchResult, Request, Response, Time};
use crate::wire;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// The defects that change how a token is validated.
const TOKEN_DEFECTS: [Defect; 7] = [
    Defect::AcceptAlgNone,
    Defect::HmacKeyConfusion,
    Defect::NoSignatureCheck,
    Defect::NoTypCheck,
    Defect::NoIssuerCheck,
    Defect::SkipAudienceCheck,
    Defect::NoExpRequired,
];

/// Which resource a token is presented to: decides the audience it must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// The MCP endpoint: audience = the server's canonical URI.
    Mcp,
    /// The downstream API this server also serves: audience = the downstream resource.
    DownstreamApi,
}

/// Why a request was refused before reaching the MCP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Rejection {
    /// 400 `invalid_request`: the credentials are malformed or in the wrong place.
    InvalidRequest(String),
    /// 401 without an error code: no (supported) credentials were presented.
    NoToken,
    /// 401 `invalid_token`, with its description.
    InvalidToken(String),
}

impl Rejection {
    /// The response: status, `WWW-Authenticate` naming the metadata URL and the `scope`
    /// needed (when given), and an OAuth error body when there is an error code.
    pub(super) fn response(&self, resource_metadata: Option<&str>, scope: Option<&str>) -> Response {
        let (status, error) = match self {
            Rejection::InvalidRequest(d) => (StatusCode::BAD_REQUEST, Some((ErrorCode::InvalidRequest, d))),
            Rejection::NoToken => (StatusCode::UNAUTHORIZED, None),
            Rejection::InvalidToken(d) => (StatusCode::UNAUTHORIZED, Some((ErrorCode::InvalidToken, d))),
        };
        let mut c = Challenge::bearer();
        if let Some(m) = resource_metadata {
            c = c.with("resource_metadata", m);
        }
        if let Some(s) = scope {
            c = c.with("scope", s);
        }
        let mut r = match error {
            Some((code, description)) => {
                let description = header_safe(description);
                c = c.with("error", code.as_str()).with("error_description", description.as_str());
                wire::oauth_error(status, code, description)
            }
            None => {
                let mut r = Response::new(Bytes::new());
                *r.status_mut() = status;
                r
            }
        };
        set_challenge(&mut r, &c);
        r
    }
}

/// Longest `error_description` sent, in characters.
const MAX_DESCRIPTION: usize = 300;

/// `text` made fit for a quoted-string in a header: at most [`MAX_DESCRIPTION`]
/// characters, anything but visible ASCII and space replaced by `?`. Descriptions echo
/// values from the token (`iss`, `aud`), which an attacker chooses.
pub(super) fn header_safe(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_DESCRIPTION)
        .map(|c| if c == ' ' || c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if text.chars().nth(MAX_DESCRIPTION).is_some() {
        out.push_str("...");
    }
    out
}

/// Puts `challenge` in the `WWW-Authenticate` header of `r`.
pub(super) fn set_challenge(r: &mut Response, challenge: &Challenge) {
    if let Ok(v) = HeaderValue::from_str(&challenge.to_header_value()) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
}

/// The bearer token of `req`, read from the `Authorization` header only. `json_body` is
/// the request body when it parsed as JSON. The `accept-query-token` defect reads an
/// `access_token` query parameter instead of refusing it.
pub(super) fn presented_token(
    req: &Request,
    json_body: Option<&Value>,
    defects: &Defects,
) -> Result<String, Rejection> {
    let misplaced = |place: &str| {
        Rejection::InvalidRequest(format!(
            "received an access token in the {place}, expected it only in the authorization header"
        ))
    };
    let query = req.uri().query().unwrap_or("");
    if let Some((_, t)) = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "access_token") {
        if defects.has(Defect::AcceptQueryToken) && req.headers().get(header::AUTHORIZATION).is_none() {
            return Ok(t.into_owned());
        }
        return Err(misplaced("query string"));
    }
    let form = wire::single_header(req.headers(), header::CONTENT_TYPE).ok().flatten().is_some_and(|ct| {
        ct.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if form && form_urlencoded::parse(req.body()).any(|(k, _)| k == "access_token") {
        return Err(misplaced("form body"));
    }
    if json_body.and_then(Value::as_object).is_some_and(|o| o.contains_key("access_token")) {
        return Err(misplaced("json body"));
    }
    if unsupported_scheme(req) {
        return Err(Rejection::NoToken);
    }
    // `Authorization: DPoP` (RFC 9449 §7.1): the proof is checked once the token is valid.
    match crate::dpop::dpop_token(req.headers()) {
        Ok(Some(t)) => return Ok(t),
        Ok(None) => {}
        Err(e) => return Err(Rejection::InvalidRequest(format!("authorization header: {e}"))),
    }
    match bearer::bearer_token(req.headers()) {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(Rejection::NoToken),
        Err(e) => Err(Rejection::InvalidRequest(format!("authorization header: {e}"))),
    }
}

/// True for a single, well-formed `Authorization` header whose scheme is neither
/// `Bearer` nor `DPoP`.
fn unsupported_scheme(req: &Request) -> bool {
    let mut values = req.headers().get_all(header::AUTHORIZATION).iter();
    let (Some(v), None) = (values.next(), values.next()) else { return false };
    let Some((scheme, credentials)) = v.to_str().ok().and_then(|v| v.split_once(' ')) else { return false };
    let is_token = !scheme.is_empty()
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    is_token
        && !credentials.trim().is_empty()
        && !scheme.eq_ignore_ascii_case("bearer")
        && !scheme.eq_ignore_ascii_case(crate::dpop::SCHEME)
}

/// What validating a token against the cached keys concluded.
#[derive(Debug)]
pub(super) enum Verdict {
    /// The token is valid; here are its claims.
    Valid(AccessTokenClaims),
    /// The token is invalid; the description.
    Invalid(String),
    /// The keys must be (re)fetched first: send this request.
    FetchKeys(Request),
}

struct Validators {
    mcp: Validator,
    downstream: Option<Validator>,
}

/// Most tokens an issuer's [`Verified`] remembers.
pub(super) const VERIFIED_CAPACITY: usize = 1024;

/// Tokens whose signature and header were verified with the issuer's current keys, with
/// their claims; the oldest is forgotten first.
#[derive(Default)]
struct Verified {
    claims: BTreeMap<String, AccessTokenClaims>,
    order: VecDeque<String>,
}

impl Verified {
    fn get(&self, token: &str) -> Option<&AccessTokenClaims> {
        self.claims.get(token)
    }

    fn remember(&mut self, token: &str, claims: &AccessTokenClaims) {
        if self.claims.contains_key(token) {
            return;
        }
        if self.order.len() >= VERIFIED_CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.claims.remove(&oldest);
        }
        self.claims.insert(token.to_string(), claims.clone());
        self.order.push_back(token.to_string());
    }

    fn clear(&mut self) {
        self.claims.clear();
        self.order.clear();
    }
}

/// One trusted issuer's keys and the validators built on them.
struct IssuerKeys {
    issuer: String,
    jwks_uri: String,
    /// The JWKS as fetched (the `hmac-key-confusion` defect keys HMAC with its members).
    jwks: Option<Jwks>,
    validators: Option<Validators>,
    /// Tokens verified with `validators`' keys.
    verified: Verified,
    last_fetch: Option<Time>,
}

/// The trusted issuers' keys (the configured issuer first, then `also_trusted`), each
/// fetched when first needed.
pub(super) struct TokenValidation {
    defects: Defects,
    issuers: Vec<IssuerKeys>,
    mcp_audience: String,
    downstream_audience: Option<String>,
    leeway_secs: u64,
    /// The signature algorithms accepted ([`Config::algorithms`]).
    algorithms: Vec<Algorithm>,
    refetch_interval: Duration,
    fetches: u64,
}

impl TokenValidation {
    /// No keys yet; the first token of each issuer triggers a JWKS fetch.
    pub(super) fn new(config: &Config) -> Self {
        let trusted = [(&config.issuer, &config.jwks_uri)]
            .into_iter()
            .chain(config.also_trusted.iter().map(|t| (&t.issuer, &t.jwks_uri)));
        TokenValidation {
            defects: config.defects.clone(),
            issuers: trusted
                .map(|(issuer, jwks_uri)| IssuerKeys {
                    issuer: issuer.clone(),
                    jwks_uri: jwks_uri.clone(),
                    jwks: None,
                    validators: None,
                    verified: Verified::default(),
                    last_fetch: None,
                })
                .collect(),
            mcp_audience: config.resource.clone(),
            downstream_audience: config.downstream.as_ref().map(|d| d.resource.clone()),
            leeway_secs: config.leeway_secs,
            algorithms: config.algorithms.clone(),
            refetch_interval: config.jwks_refetch_interval,
            fetches: 0,
        }
    }

    /// How many JWKS fetches were started.
    pub(super) fn fetches(&self) -> u64 {
        self.fetches
    }

    /// The trusted issuer whose keys `token` is checked with: the one its (unverified)
    /// `iss` names, else the configured issuer, whose validator then refuses the `iss`.
    fn issuer_of(&self, token: &str) -> usize {
        if self.issuers.len() == 1 {
            return 0;
        }
        #[derive(serde::Deserialize)]
        struct Iss {
            iss: String,
        }
        jwt::split(token)
            .ok()
            .and_then(|c| serde_json::from_slice::<Iss>(&c.payload).ok())
            .and_then(|i| self.issuers.iter().position(|k| k.issuer == i.iss))
            .unwrap_or(0)
    }

    /// Validates `token` for `target`. Without keys, or for an unknown `kid` when the
    /// last fetch is at least the refetch interval old, asks for the JWKS first.
    pub(super) fn check(&mut self, token: &str, target: Target, now: Time) -> Verdict {
        let i = self.issuer_of(token);
        let refetch_allowed = self.defects.has(Defect::JwksRefetchEveryUnknownKid)
            || self.issuers[i].last_fetch.is_none_or(|t| now.since(t) >= self.refetch_interval);
        match self.validate(i, token, target, now) {
            None => Verdict::FetchKeys(self.fetch_request(i, now)),
            Some(Err(TokenError::UnknownKey(_))) if refetch_allowed => {
                Verdict::FetchKeys(self.fetch_request(i, now))
            }
            Some(Err(e)) => Verdict::Invalid(e.to_string()),
            Some(Ok(c)) => Verdict::Valid(c),
        }
    }

    /// Installs a fetched JWKS, then validates `token` without fetching again.
    pub(super) fn check_with_fetched(
        &mut self,
        fetched: FetchResult,
        token: &str,
        target: Target,
        now: Time,
    ) -> Result<AccessTokenClaims, String> {
        let i = self.issuer_of(token);
        let installed = self.install(i, fetched);
        match (self.validate(i, token, target, now), installed) {
            (Some(Ok(c)), _) => Ok(c),
            (_, Err(fetch_error)) => Err(fetch_error),
            (Some(Err(e)), Ok(())) => Err(e.to_string()),
            (None, Ok(())) => Err("no trusted keys".into()),
        }
    }

    fn validate(
        &mut self,
        i: usize,
        token: &str,
        target: Target,
        now: Time,
    ) -> Option<Result<AccessTokenClaims, TokenError>> {
        let IssuerKeys { jwks, validators, verified, .. } = &mut self.issuers[i];
        let v = validators.as_ref()?;
        let validator = match target {
            Target::Mcp => &v.mcp,
            Target::DownstreamApi => v.downstream.as_ref()?,
        };
        if TOKEN_DEFECTS.iter().any(|d| self.defects.has(*d)) {
            return Some(validate_defective(&self.defects, jwks.as_ref(), validator, token, now));
        }
        if let Some(claims) = verified.get(token) {
            return Some(validator.check_claims(claims, now).map(|()| claims.clone()));
        }
        let validated = validator.validate(token, now);
        if let Ok(claims) = &validated {
            verified.remember(token, claims);
        }
        Some(validated)
    }

    fn fetch_request(&mut self, i: usize, now: Time) -> Request {
        let keys = &mut self.issuers[i];
        keys.last_fetch = Some(now);
        self.fetches += 1;
        wire::get_json_request(&keys.jwks_uri).unwrap_or_else(|_| Request::new(Bytes::new()))
    }

    fn install(&mut self, i: usize, fetched: FetchResult) -> Result<(), String> {
        let (leeway, mcp_audience, downstream_audience) =
            (self.leeway_secs, &self.mcp_audience, self.downstream_audience.as_deref());
        let algorithms = &self.algorithms;
        let keys = &mut self.issuers[i];
        keys.verified.clear();
        let failed = |why: String| format!("cannot use the issuer's jwks from `{}`: {why}", keys.jwks_uri);
        let r = fetched.map_err(|e| failed(e.reason))?;
        if r.status() != StatusCode::OK {
            return Err(failed(format!("received http {}, expected 200", r.status().as_u16())));
        }
        let jwks = Jwks::parse(r.body()).map_err(|e| failed(e.to_string()))?;
        let validator = |audience: &str| -> Result<Validator, String> {
            let set = KeySet::from_jwks(&jwks).map_err(|e| failed(e.to_string()))?;
            let mut v = Validator::new(keys.issuer.clone(), audience, set);
            v.leeway_secs = leeway;
            v.allowed.clone_from(algorithms);
            Ok(v)
        };
        let mcp = validator(mcp_audience)?;
        let downstream = downstream_audience.map(validator).transpose()?;
        keys.validators = Some(Validators { mcp, downstream });
        keys.jwks = Some(jwks);
        Ok(())
    }
}

/// `v.validate` with the injected token defects: each skips its one check.
fn validate_defective(
    defects: &Defects,
    jwks: Option<&Jwks>,
    v: &Validator,
    token: &str,
    now: Time,
) -> Result<AccessTokenClaims, TokenError> {
    let compact = jwt::split(token)?;
    let alg = compact.header.alg.as_str();
    if alg == "HS256" && defects.has(Defect::HmacKeyConfusion) {
        verify_confused_hmac(jwks, &compact)?;
    } else if !(defects.has(Defect::NoSignatureCheck) || alg == "none" && defects.has(Defect::AcceptAlgNone))
    {
        jwt::decode_verified(token, &v.keys, &v.allowed)?;
    }
    let typ = compact.header.typ.as_deref().unwrap_or("(none)");
    let typ_ok = typ.eq_ignore_ascii_case(TYP) || typ.eq_ignore_ascii_case("application/at+jwt");
    if !typ_ok && !defects.has(Defect::NoTypCheck) {
        return Err(TokenError::WrongType(typ.to_string()));
    }
    let claims: AccessTokenClaims = serde_json::from_slice(&compact.payload)
        .map_err(|e| TokenError::Malformed(format!("claims: {e}")))?;
    let mut checked = claims.clone();
    if defects.has(Defect::NoIssuerCheck) {
        checked.iss = v.issuer.clone();
    }
    if defects.has(Defect::SkipAudienceCheck) {
        checked.aud = Audience::one(v.audience.clone());
    }
    if defects.has(Defect::NoExpRequired) {
        checked.exp = Some(now.unix_secs());
    }
    v.check_claims(&checked, now)?;
    Ok(claims)
}

/// The `hmac-key-confusion` defect: HS256 keyed with the JSON of the public JWK the
/// token's `kid` names.
fn verify_confused_hmac(jwks: Option<&Jwks>, c: &jwt::Compact<'_>) -> Result<(), TokenError> {
    let kid = c.header.kid.as_deref().unwrap_or("(none)");
    let jwk = jwks
        .and_then(|j| j.keys.iter().find(|k| k.kid.as_deref() == Some(kid)))
        .ok_or_else(|| TokenError::UnknownKey(kid.to_string()))?;
    let secret = serde_json::to_vec(jwk).map_err(|_| TokenError::BadSignature)?;
    let mac = SigningKey::hmac(kid, &secret)
        .sign(c.signing_input.as_bytes())
        .map_err(|_| TokenError::BadSignature)?;
    if mac == c.signature { Ok(()) } else { Err(TokenError::BadSignature) }
}

/// The RFC 7662 introspection request for `token`, authenticated with
/// `client_secret_basic`.
pub(super) fn introspection_request(config: &Introspection, token: &str) -> Request {
    let form = wire::encode_pairs([("token", token), ("token_type_hint", "access_token")]);
    let mut r =
        wire::post_form_request(&config.endpoint, &form).unwrap_or_else(|_| Request::new(Bytes::new()));
    if let Ok(v) =
        HeaderValue::from_str(&super::client_secret_basic(&config.client_id, &config.client_secret))
    {
        r.headers_mut().insert(header::AUTHORIZATION, v);
    }
    r
}

/// Reads an introspection response: `Ok` only for 200 with `"active": true`.
pub(super) fn introspection_verdict(endpoint: &str, fetched: FetchResult) -> Result<(), String> {
    let r = fetched.map_err(|e| format!("cannot introspect the token at `{endpoint}`: {}", e.reason))?;
    if r.status() != StatusCode::OK {
        return Err(format!(
            "introspection at `{endpoint}` answered http {}, expected 200",
            r.status().as_u16()
        ));
    }
    let body: Value = wire::parse_json("introspection response", r.body()).map_err(|e| e.to_string())?;
    match body.get("active") {
        Some(Value::Bool(true)) => Ok(()),
        _ => Err(TokenError::Inactive.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sans_io::Env;
    use rand_core::SeedableRng;

    const RS: &str = "http://127.0.0.1:9001/mcp";
    const ISS: &str = "http://127.0.0.1:9000";
    const NOW: u64 = 1_700_000_000;

    fn at(secs: u64) -> Time {
        Time::from_unix_secs(secs)
    }

    fn key(kid: &str, seed: u64) -> SigningKey {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        SigningKey::generate(jwt::Algorithm::ES256, kid, &mut Env::new(at(NOW), &mut rng)).unwrap()
    }

    fn token(key: &SigningKey, jti: &str) -> String {
        AccessTokenClaims {
            iss: ISS.into(),
            sub: Some("alice".into()),
            aud: Audience::one(RS),
            client_id: Some("client-a".into()),
            scope: Some("mcp:read".into()),
            exp: Some(NOW + 600),
            iat: Some(NOW),
            nbf: None,
            jti: Some(jti.into()),
            cnf: None,
        }
        .sign(key)
        .unwrap()
    }

    /// Validates `token` at `now`, answering a JWKS fetch with `jwks`.
    fn check(
        v: &mut TokenValidation,
        token: &str,
        now: Time,
        jwks: &Jwks,
    ) -> Result<AccessTokenClaims, String> {
        match v.check(token, Target::Mcp, now) {
            Verdict::Valid(c) => Ok(c),
            Verdict::Invalid(e) => Err(e),
            Verdict::FetchKeys(_) => {
                let fetched = Ok(wire::json(StatusCode::OK, jwks));
                v.check_with_fetched(fetched, token, Target::Mcp, now)
            }
        }
    }

    fn remembered(v: &TokenValidation) -> Vec<&str> {
        v.issuers[0].verified.order.iter().map(String::as_str).collect()
    }

    #[test]
    fn a_remembered_token_still_expires() {
        let k1 = key("k1", 1);
        let mut v = TokenValidation::new(&Config::new(RS, ISS));
        let t = token(&k1, "j1");
        let first = check(&mut v, &t, at(NOW), &k1.public_jwks()).unwrap();
        assert_eq!(remembered(&v), [t.as_str()]);
        assert_eq!(check(&mut v, &t, at(NOW + 600 + 29), &k1.public_jwks()), Ok(first));
        let expired = TokenError::Expired { exp: NOW + 600, now: NOW + 630 }.to_string();
        assert_eq!(check(&mut v, &t, at(NOW + 630), &k1.public_jwks()), Err(expired));
        assert_eq!(v.fetches(), 1);
    }

    #[test]
    fn a_token_whose_key_was_rotated_away_is_refused() {
        let (k1, k2) = (key("k1", 1), key("k2", 2));
        let mut v = TokenValidation::new(&Config::new(RS, ISS));
        let old = token(&k1, "j1");
        check(&mut v, &old, at(NOW), &k1.public_jwks()).unwrap();
        // The AS rotates to k2 only; a k2 token after the refetch interval installs it.
        let later = at(NOW + 61);
        check(&mut v, &token(&k2, "j2"), later, &k2.public_jwks()).unwrap();
        assert_eq!(v.fetches(), 2);
        let unknown = TokenError::UnknownKey("k1".into()).to_string();
        assert_eq!(check(&mut v, &old, later, &k2.public_jwks()), Err(unknown));
        assert!(!remembered(&v).contains(&old.as_str()));
    }

    #[test]
    fn a_tampered_token_is_not_remembered_as_its_original() {
        let k1 = key("k1", 1);
        let mut v = TokenValidation::new(&Config::new(RS, ISS));
        let t = token(&k1, "j1");
        check(&mut v, &t, at(NOW), &k1.public_jwks()).unwrap();
        let signature_at = t.rfind('.').unwrap() + 5;
        for i in [10, signature_at] {
            let mut bytes = t.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert!(check(&mut v, &tampered, at(NOW), &k1.public_jwks()).is_err(), "byte {i}");
        }
        assert_eq!(remembered(&v), [t.as_str()]);
    }

    #[test]
    fn nothing_is_remembered_under_a_token_defect() {
        let k1 = key("k1", 1);
        let mut config = Config::new(RS, ISS);
        config.defects = Defects::of([Defect::NoTypCheck]);
        let mut v = TokenValidation::new(&config);
        for _ in 0..2 {
            check(&mut v, &token(&k1, "j1"), at(NOW), &k1.public_jwks()).unwrap();
        }
        assert!(remembered(&v).is_empty());
    }

    #[test]
    fn the_oldest_token_is_forgotten_first() {
        let mut verified = Verified::default();
        let claims = AccessTokenClaims::default();
        for n in 0..=VERIFIED_CAPACITY {
            verified.remember(&format!("t{n}"), &claims);
        }
        assert_eq!((verified.claims.len(), verified.order.len()), (VERIFIED_CAPACITY, VERIFIED_CAPACITY));
        assert!(verified.get("t0").is_none() && verified.get("t1").is_some());
        assert!(verified.get(&format!("t{VERIFIED_CAPACITY}")).is_some());
    }
}
