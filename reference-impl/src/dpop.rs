//! DPoP: Demonstrating Proof of Possession (RFC 9449). A client proves, on each request,
//! that it holds the private key an access token is bound to (`cnf.jkt`, §6.1): a proof
//! JWT in the `DPoP` header, signed by that key and naming the request.
//!
//! - Making a proof (§4.2): [`ProofClaims::new`] then [`ProofClaims::sign`]: `typ:
//!   dpop+jwt`, the signing key's `alg`, its public `jwk` in the header; claims `jti`,
//!   `htm`, `htu` (no query or fragment), `iat`, and `ath` (the access token's hash) and
//!   `nonce` when given.
//! - Checking a proof (§4.3): [`Validator::validate`], against an [`Expectation`]
//!   (method, URI, access token, the token's `cnf.jkt`, the server's nonces), in the
//!   order of §4.3: one `DPoP` header, a JWT, `typ`, an asymmetric `alg`, the signature
//!   by the header's `jwk`, no private key in it, `htm`, `htu` (compared after RFC 3986
//!   §6.2.2/§6.2.3 normalisation, without query and fragment), `nonce`, `iat` within the
//!   window (±5 min by default), `ath`, the key's RFC 7638 thumbprint = `cnf.jkt`; then
//!   the `jti` is remembered in a bounded, expiring [`ReplayCache`] (§11.1).
//! - Server nonces (§8, §9): [`Nonces`], stateless (an HMAC over a time bucket).
//!
//! No clock and no RNG of its own: the time and randomness come from the caller's
//! [`Env`] / [`Time`]. Errors are [`TokenError`]s.
//!
//! ```
//! use mcp_authz_reference::dpop::{Expectation, ProofClaims, Validator, jkt};
//! use mcp_authz_reference::jwt::{Algorithm, SigningKey};
//! use mcp_authz_reference::sans_io::{Env, Time};
//! use rand_core::SeedableRng;
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! let mut env = Env::new(Time::from_unix_secs(1_700_000_000), &mut rng);
//! let key = SigningKey::generate(Algorithm::ES256, "client", &mut env).unwrap();
//! let url = "https://mcp.example/mcp";
//! let proof = ProofClaims::new("POST", url, Some("the-token"), None, &mut env).sign(&key).unwrap();
//! let mut headers = http::HeaderMap::new();
//! headers.insert("dpop", proof.parse().unwrap());
//! let thumbprint = jkt(&key.public_jwk());
//! let expected = Expectation {
//!     method: "POST", url, access_token: Some("the-token"), jkt: Some(&thumbprint), nonces: None,
//! };
//! let mut validator = Validator::new();
//! assert!(validator.validate(&headers, &expected, env.now).is_ok());
//! // The same proof again is a replay.
//! assert!(validator.validate(&headers, &expected, env.now).is_err());
//! ```

use crate::Result;
use crate::error::TokenError;
use crate::jwt::{Algorithm, Jwk, SigningKey, VerifyingKey};
use crate::sans_io::{Env, Time};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub const TYP: &str = "dpop+jwt";
/// The request header that carries the proof.
pub const HEADER: &str = "dpop";
/// The response header that carries a server nonce (RFC 9449 §8.1).
pub const NONCE_HEADER: &str = "dpop-nonce";
/// The authentication scheme of a DPoP-bound access token (RFC 9449 §7.1).
pub const SCHEME: &str = "DPoP";
/// The window accepted either side of now for a proof's `iat` (RFC 9449 §11.1 leaves it
/// to the server; the MCP DPoP extension names ±5 minutes).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);
/// The most proofs a [`ReplayCache`] remembers by default.
pub const REPLAY_CAPACITY: usize = 4096;
/// The most parsed proof keys a [`Validator`] keeps per algorithm.
pub const KEY_CACHE_CAPACITY: usize = 256;
/// JWK members that belong to a private (or symmetric) key (RFC 7518 §6.2.2, §6.3.2,
/// §6.4.1): a proof's `jwk` must hold none of them.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The JOSE header of a proof: `typ`, `alg` and the public key that verifies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofHeader {
    /// `dpop+jwt`.
    pub typ: String,
    /// The signature algorithm (asymmetric).
    pub alg: String,
    /// The public key, which the client proves it holds.
    pub jwk: Jwk,
}

impl ProofHeader {
    /// The honest header for `key`: `typ: dpop+jwt`, its `alg`, its public JWK (without
    /// `kid`, `alg` and `use`: the thumbprint does not depend on them).
    pub fn for_key(key: &SigningKey) -> Self {
        let jwk = Jwk { kid: None, alg: None, use_: None, ..key.public_jwk() };
        ProofHeader { typ: TYP.into(), alg: key.alg().name().into(), jwk }
    }
}

/// The claims of a proof (RFC 9449 §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofClaims {
    /// A unique identifier of this proof.
    pub jti: String,
    /// The HTTP method of the request.
    pub htm: String,
    /// The HTTP URI of the request, without query and fragment.
    pub htu: String,
    /// When the proof was made (seconds since the epoch).
    pub iat: u64,
    /// base64url(SHA-256(access token)), when an access token goes with the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ath: Option<String>,
    /// The server's nonce, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

impl ProofClaims {
    /// The claims of a proof for `method` `url` made now: a random `jti` (128 bits from
    /// `env`), `htu` without query and fragment, `ath` of `access_token` and `nonce` when
    /// given.
    pub fn new(
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
        env: &mut Env<'_>,
    ) -> Self {
        ProofClaims {
            jti: env.random_string(16),
            htm: method.to_string(),
            htu: htu(url),
            iat: env.now.unix_secs(),
            ath: access_token.map(ath),
            nonce: nonce.map(String::from),
        }
    }

    /// Signs these claims with `key` under [`ProofHeader::for_key`].
    pub fn sign(&self, key: &SigningKey) -> Result<String> {
        encode_proof(key, &ProofHeader::for_key(key), self)
    }
}

/// Signs `claims` with `key` under `header`, which may lie (another `jwk`, another
/// `typ`): the harness builds hostile proofs with it.
pub fn encode_proof(key: &SigningKey, header: &ProofHeader, claims: &ProofClaims) -> Result<String> {
    let input = signing_input(header, claims)?;
    let signature = key.sign(input.as_bytes())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// An unsigned proof (`alg: none`, empty signature) with `header`'s `jwk`, for attacks.
pub fn encode_unsigned_proof(header: &ProofHeader, claims: &ProofClaims) -> Result<String> {
    let header = ProofHeader { alg: "none".into(), ..header.clone() };
    Ok(format!("{}.", signing_input(&header, claims)?))
}

fn signing_input(header: &ProofHeader, claims: &ProofClaims) -> Result<String> {
    let h = serde_json::to_vec(header).map_err(|e| crate::Error::Config(e.to_string()))?;
    let c = serde_json::to_vec(claims).map_err(|e| crate::Error::Config(e.to_string()))?;
    Ok(format!("{}.{}", URL_SAFE_NO_PAD.encode(h), URL_SAFE_NO_PAD.encode(c)))
}

/// The `ath` of `access_token`: base64url(SHA-256(its ASCII bytes)) (RFC 9449 §4.2).
pub fn ath(access_token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// The `jkt` of a key: its RFC 7638 thumbprint (RFC 9449 §6.1).
pub fn jkt(jwk: &Jwk) -> String {
    jwk.thumbprint()
}

/// The RFC 7638 thumbprint of the `jwk` in a proof's header, read without any check (the
/// caller has validated the proof): the `jkt` a token bound by it carries.
pub fn proof_jkt(proof: &str) -> Option<String> {
    let header = URL_SAFE_NO_PAD.decode(proof.split('.').next()?).ok()?;
    let header: Value = serde_json::from_slice(&header).ok()?;
    let jwk: Jwk = serde_json::from_value(header.get("jwk")?.clone()).ok()?;
    Some(jkt(&jwk))
}

/// `url` without its query and fragment: what `htu` holds.
pub fn htu(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].to_string()
}

/// `url` with its origin replaced by the one it stands for, if it is one of `aliases`'
/// (`(alias, own)` origin pairs, as in [`Validator::aliases`]).
pub fn unaliased(url: &str, aliases: &[(String, String)]) -> String {
    let origin = |u: &str| url::Url::parse(u).ok().map(|u| u.origin().ascii_serialization());
    let at = origin(url);
    match (aliases.iter().find(|(alias, _)| at.is_some() && origin(alias) == at), url::Url::parse(url)) {
        (Some((_, own)), Ok(u)) => {
            format!("{}{}", own.trim_end_matches('/'), &u[url::Position::BeforePath..])
        }
        _ => url.to_string(),
    }
}

/// `url` normalised for comparison (RFC 3986 §6.2.2 case and percent-encoding, §6.2.3
/// default port and empty path), without query and fragment; `None` when it is not an
/// absolute URL.
fn normalised(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?;
    let port = match u.port() {
        Some(p) => format!(":{p}"),
        None => String::new(),
    };
    Some(format!("{}://{host}{port}{}", u.scheme(), normalised_percent_encoding(u.path())))
}

/// `path` with percent-encoded unreserved characters decoded and the hex digits of the
/// others upper-cased (RFC 3986 §6.2.2.1, §6.2.2.2).
fn normalised_percent_encoding(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(c)) if c.is_ascii_alphanumeric() || b"-._~".contains(&c) => {
                out.push(char::from(c));
                i += 3;
            }
            (b'%', Some(c)) => {
                out.push_str(&format!("%{c:02X}"));
                i += 3;
            }
            (b, _) => {
                out.push(char::from(b));
                i += 1;
            }
        }
    }
    out
}

/// The access token of an `Authorization: DPoP <token>` header; `None` without an
/// `Authorization` header or with another scheme.
pub fn dpop_token(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(value) = crate::wire::single_header(headers, http::header::AUTHORIZATION)? else {
        return Ok(None);
    };
    let Some((scheme, rest)) = value.split_once(' ') else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return Ok(None);
    }
    let token = rest.trim_start_matches(' ');
    let body = token.trim_end_matches('=');
    if body.is_empty() || !body.bytes().all(crate::bearer::is_token68_char) {
        return Err(crate::Error::malformed("authorization header", "DPoP token is not token68 syntax"));
    }
    Ok(Some(token.to_string()))
}

/// A check of RFC 9449 §4.3 that a [`Validator`] can be told to leave out (the reference
/// MCP server's DPoP defects).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProofCheck {
    /// `alg` asymmetric and allowed: left out, `none` goes unverified and HS256 is
    /// verified with the `k` of the header's `oct` key.
    Alg,
    /// `htm` = the request's method.
    Htm,
    /// `htu` = the request's URI.
    Htu,
    /// `iat` within the window.
    Iat,
    /// `jti` not seen before.
    Jti,
    /// `ath` = the access token's hash.
    Ath,
    /// The proof key's thumbprint = `cnf.jkt`.
    Jkt,
    /// `nonce` = a current server nonce.
    Nonce,
}

/// What a proof must match: the request it came with.
#[derive(Debug, Clone, Copy)]
pub struct Expectation<'a> {
    /// The request's method.
    pub method: &'a str,
    /// The request's absolute URI (query and fragment are ignored).
    pub url: &'a str,
    /// The access token presented with the request, if any: `ath` must be its hash.
    pub access_token: Option<&'a str>,
    /// The `cnf.jkt` of that token: the proof's key must have this thumbprint.
    pub jkt: Option<&'a str>,
    /// The server's nonces, when it requires one in every proof.
    pub nonces: Option<&'a Nonces>,
}

/// Checks proofs (RFC 9449 §4.3) and remembers their `jti`s.
#[derive(Debug)]
pub struct Validator {
    /// The algorithms accepted (the asymmetric ones by default).
    pub algorithms: Vec<Algorithm>,
    /// The window accepted either side of now for `iat` ([`DEFAULT_WINDOW`]).
    pub window: Duration,
    /// Checks left out (none by default).
    pub skipped: BTreeSet<ProofCheck>,
    /// Other origins this server is also reached at, each with the origin it stands for
    /// (`(alias, own)`): a proof whose `htu` is at `alias` is read as naming `own`. The
    /// harness's simulated roles are reached by a client process at loopback origins.
    pub aliases: Vec<(String, String)>,
    replay: ReplayCache,
    /// Proof keys parsed, by algorithm and the exact JSON text of the proof's `jwk`, with
    /// their thumbprint: a client sends the same `jwk` with every proof, and reading and
    /// parsing it (for P-256, a point's curve check) cost as much as the rest of the
    /// proof's checks. Only a `jwk` that parsed as a key of that algorithm and holds no
    /// private member is kept; at most [`KEY_CACHE_CAPACITY`] per algorithm, the least
    /// recently used one giving way to a new one.
    keys: BTreeMap<Algorithm, BTreeMap<String, CachedKey>>,
    /// Proofs read so far: the key cache's clock, for its least recently used key.
    key_uses: u64,
    /// The last expected URL and its normalised form.
    expected_url: Option<(String, Option<String>)>,
}

impl Default for Validator {
    fn default() -> Self {
        Validator::new()
    }
}

impl Validator {
    /// The asymmetric algorithms, a ±5 minute window, every check, a replay cache of
    /// [`REPLAY_CAPACITY`] proofs.
    pub fn new() -> Self {
        Validator::with_replay_capacity(REPLAY_CAPACITY)
    }

    /// [`Validator::new`] with a replay cache of `capacity` proofs. A proof is remembered
    /// for twice the window, so a server that accepts more than `capacity` proofs in that
    /// time forgets some before they expire: size it for the request rate (4096 over
    /// 10 minutes is under 7 proofs a second).
    pub fn with_replay_capacity(capacity: usize) -> Self {
        Validator {
            algorithms: Algorithm::ASYMMETRIC.to_vec(),
            window: DEFAULT_WINDOW,
            skipped: BTreeSet::new(),
            aliases: Vec::new(),
            replay: ReplayCache::new(capacity),
            keys: BTreeMap::new(),
            key_uses: 0,
            expected_url: None,
        }
    }

    /// The proofs remembered against replay.
    pub fn replay_cache(&self) -> &ReplayCache {
        &self.replay
    }

    fn checks(&self, c: ProofCheck) -> bool {
        !self.skipped.contains(&c)
    }

    /// Checks the `DPoP` header(s) of a request against `expected` at `now`; returns
    /// the proof's claims. A proof that passes is remembered: the same `jti` (for the
    /// same key) is refused while it could still be accepted.
    pub fn validate(
        &mut self,
        headers: &HeaderMap,
        expected: &Expectation<'_>,
        now: Time,
    ) -> Result<ProofClaims, TokenError> {
        let values: Vec<_> = headers.get_all(HEADER).iter().collect();
        let [value] = values.as_slice() else { return Err(TokenError::ProofHeaders(values.len())) };
        let proof = value.to_str().map_err(|_| TokenError::Malformed("dpop header is not ascii".into()))?;
        let (claims, thumbprint) = self.verified(proof)?;
        if self.checks(ProofCheck::Htm) && claims.htm != expected.method {
            return Err(TokenError::WrongMethod { received: claims.htm, expected: expected.method.into() });
        }
        if self.checks(ProofCheck::Htu) && !self.same_url(&claims.htu, expected.url) {
            return Err(TokenError::WrongUrl { received: claims.htu, expected: htu(expected.url) });
        }
        if let Some(nonces) = expected.nonces.filter(|_| self.checks(ProofCheck::Nonce))
            && !claims.nonce.as_deref().is_some_and(|n| nonces.is_current(n, now))
        {
            return Err(TokenError::ProofNonce(claims.nonce));
        }
        let (now_s, window) = (now.unix_secs(), self.window.as_secs());
        if self.checks(ProofCheck::Iat)
            && (claims.iat.saturating_add(window) < now_s || claims.iat > now_s.saturating_add(window))
        {
            return Err(TokenError::ProofTime { iat: claims.iat, now: now_s, window });
        }
        if let Some(token) = expected.access_token
            && self.checks(ProofCheck::Ath)
            && claims.ath.as_deref() != Some(ath(token).as_str())
        {
            return Err(TokenError::WrongAth(claims.ath));
        }
        if let Some(bound) = expected.jkt
            && self.checks(ProofCheck::Jkt)
            && thumbprint != bound
        {
            return Err(TokenError::WrongProofKey { received: thumbprint, expected: bound.into() });
        }
        if self.checks(ProofCheck::Jti)
            && !self.replay.remember(&format!("{thumbprint} {}", claims.jti), now, self.window * 2)
        {
            return Err(TokenError::Replayed(claims.jti));
        }
        Ok(claims)
    }

    /// True when `htu` names `expected` (both normalised, `htu` read through
    /// [`Validator::aliases`]; `expected` must be absolute). The common case, `htu` byte
    /// for byte the expected URL without its query, is decided without parsing `htu`; the
    /// expected URL's form is kept from the last call.
    fn same_url(&mut self, htu_claim: &str, expected: &str) -> bool {
        let want = match &self.expected_url {
            Some((url, want)) if url == expected => want,
            _ => &self.expected_url.insert((expected.to_string(), normalised(expected))).1,
        };
        let Some(want) = want else { return false };
        htu_claim == htu(expected) || normalised(&unaliased(htu_claim, &self.aliases)).as_ref() == Some(want)
    }

    /// A proof parsed and its signature verified by its own `jwk` (§4.3 checks 2–7):
    /// its claims and that key's RFC 7638 thumbprint.
    fn verified(&mut self, proof: &str) -> Result<(ProofClaims, String), TokenError> {
        let malformed = |d: &str| TokenError::Malformed(format!("dpop proof: {d}"));
        let mut parts = proof.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("expected three dot-separated segments"));
        };
        let decode = |segment: &str, what: &str| {
            URL_SAFE_NO_PAD.decode(segment).map_err(|_| malformed(&format!("{what} is not base64url")))
        };
        let header_bytes = decode(h, "header")?;
        let header: HeaderView<'_> =
            serde_json::from_slice(&header_bytes).map_err(|e| malformed(&format!("header: {e}")))?;
        let signature = decode(s, "signature")?;
        let claims: ProofClaims = serde_json::from_slice(&decode(p, "payload")?).map_err(|e| {
            TokenError::Claim(format!("of the dpop proof: {e} (jti, htm, htu, iat are required)"))
        })?;
        let typ = header.typ.as_deref().unwrap_or("(none)");
        if typ != TYP {
            return Err(TokenError::WrongProofType(typ.into()));
        }
        let alg = header.alg.as_deref().unwrap_or("(none)");
        let raw_jwk = header
            .jwk
            .filter(|j| j.get().starts_with('{'))
            .ok_or_else(|| malformed("no jwk in the header"))?;
        let message = &proof.as_bytes()[..h.len() + 1 + p.len()];
        let allowed = Algorithm::parse(alg).filter(|a| self.algorithms.contains(a));
        self.key_uses += 1;
        if let Some(a) = allowed
            && let Some(cached) = self.keys.get_mut(&a).and_then(|keys| keys.get_mut(raw_jwk.get()))
        {
            // This very `jwk` came before: it is an `a` key and holds no private member.
            cached.last_used = self.key_uses;
            cached.key.verify(message, &signature)?;
            return Ok((claims, cached.thumbprint.clone()));
        }
        let proof_jwk: ProofJwk =
            serde_json::from_str(raw_jwk.get()).map_err(|e| malformed(&format!("jwk: {e}")))?;
        let (jwk, private, k) = proof_jwk.split();
        let key = match allowed {
            Some(a) => {
                let key = VerifyingKey::from_jwk(&Jwk { alg: Some(a.name().into()), ..jwk.clone() })
                    .map_err(|e| malformed(&format!("jwk: {e}")))?;
                key.verify(message, &signature)?;
                Some((a, key))
            }
            // The `dpop-alg-none-accepted` defect: takes the `alg` at its word.
            None if !self.checks(ProofCheck::Alg) && alg == "none" => None,
            None if !self.checks(ProofCheck::Alg) && alg == "HS256" => {
                let k = k.as_deref().unwrap_or_default();
                let secret = URL_SAFE_NO_PAD.decode(k).map_err(|_| malformed("jwk k is not base64url"))?;
                VerifyingKey::hmac(&secret).verify(message, &signature)?;
                return Ok((claims, jkt(&jwk)));
            }
            None => {
                let names: Vec<&str> = self.algorithms.iter().map(|a| a.name()).collect();
                return Err(TokenError::AlgorithmNotAllowed {
                    received: alg.into(),
                    expected: format!("an asymmetric one: {}", names.join(", ")),
                });
            }
        };
        if !private.is_empty() {
            return Err(TokenError::PrivateKeyInProof(private.join(", ")));
        }
        let thumbprint = jkt(&jwk);
        if let Some((a, key)) = key {
            let keys = self.keys.entry(a).or_default();
            if keys.len() >= KEY_CACHE_CAPACITY
                && let Some(oldest) = keys.iter().min_by_key(|(_, c)| c.last_used).map(|(j, _)| j.clone())
            {
                keys.remove(&oldest);
            }
            let cached = CachedKey { key, thumbprint: thumbprint.clone(), last_used: self.key_uses };
            keys.insert(raw_jwk.get().to_string(), cached);
        }
        Ok((claims, thumbprint))
    }
}

/// A proof key parsed once, with its thumbprint and when a proof last used it.
#[derive(Debug)]
struct CachedKey {
    key: VerifyingKey,
    thumbprint: String,
    last_used: u64,
}

/// A proof's JOSE header as the validator reads it: `typ` and `alg` borrowed when they are
/// strings (anything else reads as absent), the `jwk` as its raw JSON.
#[derive(Deserialize)]
struct HeaderView<'a> {
    #[serde(borrow, default, deserialize_with = "lenient_str")]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient_str")]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    jwk: Option<&'a RawValue>,
}

/// A string member, borrowed where it has no escapes; `None` for any other JSON value.
fn lenient_str<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct Lenient;
    impl<'de> serde::de::Visitor<'de> for Lenient {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_string())))
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(Lenient)
}

/// A proof's `jwk`: its public members ([`Jwk`]'s), and which private ones it (wrongly)
/// holds, read in one pass.
#[derive(Deserialize)]
struct ProofJwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    /// The `oct` secret, read only by the `dpop-alg-none-accepted` defect's HS256.
    #[serde(default)]
    k: Option<String>,
    #[serde(default)]
    d: Option<IgnoredAny>,
    #[serde(default)]
    p: Option<IgnoredAny>,
    #[serde(default)]
    q: Option<IgnoredAny>,
    #[serde(default)]
    dp: Option<IgnoredAny>,
    #[serde(default)]
    dq: Option<IgnoredAny>,
    #[serde(default)]
    qi: Option<IgnoredAny>,
    #[serde(default)]
    oth: Option<IgnoredAny>,
}

impl ProofJwk {
    /// The public key, the members of a private (or symmetric) key it holds (in
    /// [`PRIVATE_MEMBERS`] order), and its `k`.
    fn split(self) -> (Jwk, Vec<&'static str>, Option<String>) {
        let present = [
            self.d.is_some(),
            self.p.is_some(),
            self.q.is_some(),
            self.dp.is_some(),
            self.dq.is_some(),
            self.qi.is_some(),
            self.oth.is_some(),
            self.k.is_some(),
        ];
        let private = PRIVATE_MEMBERS.into_iter().zip(present).filter_map(|(m, p)| p.then_some(m)).collect();
        let ProofJwk { kty, kid, alg, use_, crv, x, y, n, e, k, .. } = self;
        (Jwk { kty, kid, alg, use_, crv, x, y, n, e }, private, k)
    }
}

/// The proofs a server has accepted, remembered (by key thumbprint and `jti`) while
/// they could still be accepted, and at most `capacity` of them: when full, the oldest
/// is forgotten first. Never grows beyond `capacity`.
#[derive(Debug, Clone, Default)]
pub struct ReplayCache {
    capacity: usize,
    seen: BTreeSet<String>,
    /// Entries by expiry, oldest first.
    order: VecDeque<(Time, String)>,
}

impl ReplayCache {
    /// An empty cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        ReplayCache { capacity: capacity.max(1), ..ReplayCache::default() }
    }

    /// Forgets what expired by `now`; then `false` if `key` is remembered, else
    /// remembers it for `keep` (forgetting the oldest entry when full) and returns `true`.
    pub fn remember(&mut self, key: &str, now: Time, keep: Duration) -> bool {
        while let Some((expiry, _)) = self.order.front()
            && *expiry <= now
        {
            if let Some((_, old)) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        if self.seen.contains(key) {
            return false;
        }
        if self.order.len() >= self.capacity
            && let Some((_, oldest)) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        self.seen.insert(key.to_string());
        self.order.push_back((now.plus(keep), key.to_string()));
        true
    }

    /// How many proofs are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// Server nonces (RFC 9449 §8, §9), stateless: a nonce is a time bucket and an HMAC
/// of it under a secret; the current bucket's and the previous one's are accepted.
pub struct Nonces {
    key: aws_lc_rs::hmac::Key,
    lifetime: Duration,
    /// Accept a nonce of any earlier bucket too: never stale (a defect's behaviour).
    never_stale: bool,
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nonces").field("lifetime", &self.lifetime).finish_non_exhaustive()
    }
}

impl Nonces {
    /// Nonces under a secret drawn from `env`, each current for between `lifetime` and
    /// twice that (at least a second).
    pub fn new(lifetime: Duration, env: &mut Env<'_>) -> Self {
        let secret = env.random_bytes(32);
        Nonces {
            key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret),
            lifetime: lifetime.max(Duration::from_secs(1)),
            never_stale: false,
        }
    }

    /// These nonces, but one once given stays current for ever (for a defect).
    pub fn never_stale(self) -> Self {
        Nonces { never_stale: true, ..self }
    }

    fn bucket(&self, now: Time) -> u64 {
        now.unix_secs() / self.lifetime.as_secs()
    }

    fn for_bucket(&self, bucket: u64) -> String {
        let tag = aws_lc_rs::hmac::sign(&self.key, &bucket.to_be_bytes());
        format!("{}.{}", URL_SAFE_NO_PAD.encode(bucket.to_be_bytes()), URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The nonce to give clients at `now`.
    pub fn current(&self, now: Time) -> String {
        self.for_bucket(self.bucket(now))
    }

    /// True when `nonce` is one this server gave, still current at `now`.
    pub fn is_current(&self, nonce: &str, now: Time) -> bool {
        let Some((bucket, tag)) = nonce.split_once('.') else { return false };
        let (Ok(bucket), Ok(tag)) = (URL_SAFE_NO_PAD.decode(bucket), URL_SAFE_NO_PAD.decode(tag)) else {
            return false;
        };
        let Ok(bytes) = <[u8; 8]>::try_from(bucket.as_slice()) else { return false };
        let bucket = u64::from_be_bytes(bytes);
        let current = self.bucket(now);
        (bucket == current || bucket.saturating_add(1) == current || (self.never_stale && bucket < current))
            && aws_lc_rs::hmac::verify(&self.key, &bytes, &tag).is_ok()
    }
}

#[cfg(test)]
mod tests;
