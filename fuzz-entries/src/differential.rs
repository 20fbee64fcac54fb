//! The differential access-token target: our [`Validator`] against `jsonwebtoken`'s
//! `decode`, with the same keys and rules.
//!
//! The fuzzer input is an [`arbitrary`] description of a token ([`Case`]): who signs,
//! the header's `alg`, `typ`, `kid` and `crit`, each claim, times relative to now, and
//! an optional byte flip. [`build`] turns it into a [`Built`] token; [`ours`] validates
//! it; the cargo-fuzz target runs `jsonwebtoken::decode` on it with the key
//! [`Built::oracle_jwk`] and the same issuer ([`ISSUER`]), audience ([`RESOURCE`]),
//! leeway ([`LEEWAY`]) and required claims, and hands both verdicts to [`compare`].
//! Disagreements are findings, except the ones we chose, which [`stricter`] and
//! [`looser`] name:
//!
//! - we are stricter: `typ` must be `at+jwt` (RFC 9068 §2.1); a `kid` naming a key of the
//!   JWKS is required; `crit` is refused (RFC 7515 §4.1.11: we understand no extension);
//!   `client_id`, `jti` and `iat` are required (RFC 9068 §2.2); an `iat` in the future
//!   is refused; a token is expired from `exp` on (RFC 7519 §4.1.4 "on or after"), where
//!   `jsonwebtoken` still accepts it at `exp + leeway`.
//! - we are looser: `aud` is compared as a canonical URI (requirement X-08), where
//!   `jsonwebtoken` compares bytes.
//! - `jsonwebtoken` reads the system clock: a time claim within a second of a boundary
//!   is not compared.
//!
//! Without the oracle (the stable-toolchain replay in `cargo test`), [`replay`] builds
//! the case, validates it and checks that whatever we accept was signed by a trusted key
//! and breaks none of our stricter rules.

pub use crate::parsers::{ISSUER, NOW, RESOURCE};
use crate::roles::Text;
use arbitrary::{Arbitrary, Unstructured};
use mcp_authz_reference::access_token::{AccessTokenClaims, Audience, TYP, Validator};
use mcp_authz_reference::jwt::{self, Algorithm, JoseHeader, Jwk, Jwks, KeySet, SigningKey};
use mcp_authz_reference::sans_io::{Env, Time};
use rand_core::SeedableRng;
use std::sync::OnceLock;

/// The leeway both sides are given, in seconds.
pub const LEEWAY: u64 = 30;

/// Which key signs.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// The trusted ES256 key, `kid` `k1`.
    TrustedEs256,
    /// The trusted EdDSA key, `kid` `k2`.
    TrustedEdDsa,
    /// An untrusted ES256 key.
    Impostor,
    /// HS256 keyed with the trusted ES256 public JWK (algorithm confusion).
    Confusion,
    /// `alg: none`, empty signature.
    Unsigned,
}

/// The `aud` claim.
#[derive(Arbitrary, Debug, Clone)]
pub enum Aud {
    /// Absent.
    Absent,
    /// One string.
    One(Text),
    /// An array.
    Many(Vec<Text>),
}

/// A token to validate, as the fuzzer describes it.
#[derive(Arbitrary, Debug, Clone)]
pub struct Case {
    /// Who signs.
    pub signer: Signer,
    /// The header's `alg`; the signer's by default.
    pub alg: Option<Text>,
    /// `typ`.
    pub typ: Option<Text>,
    /// `kid`; the signer's by default.
    pub kid: Option<Option<Text>>,
    /// A `crit` member.
    pub crit: bool,
    /// `iss`.
    pub iss: Text,
    /// `aud`.
    pub aud: Aud,
    /// Leave out `sub`, `client_id`, `jti` (bits 0, 1, 2).
    pub missing: u8,
    /// `exp`, relative to now.
    pub exp: Option<i32>,
    /// `iat`, relative to now.
    pub iat: Option<i32>,
    /// `nbf`, relative to now.
    pub nbf: Option<i32>,
    /// XOR the byte at this index of the token (modulo its length) with this value.
    pub flip: Option<(u16, u8)>,
}

struct Keys {
    es256: SigningKey,
    eddsa: SigningKey,
    impostor: SigningKey,
    confusion: SigningKey,
    jwks: Jwks,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let mut env = Env::new(Time::from_unix_secs(NOW), &mut rng);
        let es256 = SigningKey::generate(Algorithm::ES256, "k1", &mut env).expect("key");
        let eddsa = SigningKey::generate(Algorithm::EdDSA, "k2", &mut env).expect("key");
        let impostor = SigningKey::generate(Algorithm::ES256, "k1", &mut env).expect("key");
        let confusion = SigningKey::hmac("k1", &es256.public_key_bytes_for_confusion());
        let jwks = Jwks { keys: vec![es256.public_jwk(), eddsa.public_jwk()] };
        Keys { es256, eddsa, impostor, confusion, jwks }
    })
}

/// A token built from a [`Case`], with what the comparison needs.
#[derive(Debug, Clone)]
pub struct Built {
    /// The compact JWS.
    pub token: String,
    /// The instant both sides validate at (seconds since the epoch).
    pub now: u64,
    /// The case it was built from.
    pub case: Case,
    /// The header as built (before any flip).
    pub header: JoseHeader,
    /// The claims as built (before any flip).
    pub claims: AccessTokenClaims,
}

impl Built {
    /// The JWK the oracle verifies with: the one whose `kid` the header names, else the
    /// ES256 key (`jsonwebtoken` is handed one key and ignores `kid`).
    pub fn oracle_jwk(&self) -> &'static Jwk {
        let jwks = &keys().jwks;
        let kid = jwt::split(&self.token).ok().and_then(|c| c.header.kid);
        jwks.keys.iter().find(|k| k.kid.is_some() && k.kid == kid).unwrap_or(&jwks.keys[0])
    }
}

fn at(now: u64, d: i32) -> u64 {
    now.saturating_add_signed(i64::from(d))
}

/// Builds the token `data` describes, at `now`; `None` when `data` describes none.
pub fn build(data: &[u8], now: u64) -> Option<Built> {
    build_case(Case::arbitrary_take_rest(Unstructured::new(data)).ok()?, now)
}

/// Builds the token `case` describes, at `now`; `None` when a byte flip leaves no UTF-8.
pub fn build_case(case: Case, now: u64) -> Option<Built> {
    let k = keys();
    let key = match case.signer {
        Signer::TrustedEs256 | Signer::Unsigned => &k.es256,
        Signer::TrustedEdDsa => &k.eddsa,
        Signer::Impostor => &k.impostor,
        Signer::Confusion => &k.confusion,
    };
    let default_alg = if case.signer == Signer::Unsigned { "none" } else { key.alg().name() };
    let header = JoseHeader {
        alg: case
            .alg
            .as_ref()
            .map_or(default_alg, |a| a.pick(&["ES256", "EdDSA", "HS256", "none", "RS256"]))
            .into(),
        typ: case.typ.as_ref().map(|t| t.pick(&[TYP, "AT+JWT", "application/at+jwt", "JWT"]).into()),
        kid: match &case.kid {
            None => Some(key.kid().into()),
            Some(kid) => kid.as_ref().map(|t| t.pick(&["k1", "k2", "k3"]).into()),
        },
        crit: case.crit.then(|| vec!["exp".into()]),
    };
    let aud_table =
        [RESOURCE, "HTTPS://MCP.example/mcp/", "https://mcp.example/other", "https://mcp.example"];
    let claims = AccessTokenClaims {
        iss: case.iss.pick(&[ISSUER, "https://as.example/", "https://evil.example"]).into(),
        sub: (case.missing & 1 == 0).then(|| "alice".into()),
        aud: match &case.aud {
            Aud::Absent => Audience::None,
            Aud::One(t) => Audience::One(t.pick(&aud_table).into()),
            Aud::Many(v) => Audience::Many(v.iter().take(4).map(|t| t.pick(&aud_table).into()).collect()),
        },
        client_id: (case.missing & 2 == 0).then(|| "client-a".into()),
        scope: Some("mcp:read".into()),
        exp: case.exp.map(|d| at(now, d)),
        iat: case.iat.map(|d| at(now, d)),
        nbf: case.nbf.map(|d| at(now, d)),
        jti: (case.missing & 4 == 0).then(|| "jti-1".into()),
        cnf: None,
    };
    let mut token = if case.signer == Signer::Unsigned {
        let h = serde_json::to_vec(&header).expect("json");
        let c = serde_json::to_vec(&claims).expect("json");
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        format!("{}.{}.", b64(&h), b64(&c))
    } else {
        jwt::encode_with_header(key, &header, &claims).ok()?
    };
    if let Some((i, x)) = case.flip {
        let mut bytes = token.into_bytes();
        let i = usize::from(i) % bytes.len();
        bytes[i] ^= x;
        token = String::from_utf8(bytes).ok()?;
    }
    Some(Built { token, now, case, header, claims })
}

/// Our verdict on `b`: the claims, or why the token is refused.
pub fn ours(b: &Built) -> Result<AccessTokenClaims, String> {
    let keys = KeySet::from_jwks(&keys().jwks).expect("own jwks");
    let mut v = Validator::new(ISSUER, RESOURCE, keys);
    v.leeway_secs = LEEWAY;
    v.validate(&b.token, Time::from_unix_secs(b.now)).map_err(|e| e.to_string())
}

/// A time claim of `b` within a second of a boundary, where the oracle's system clock
/// may have ticked.
fn near_boundary(b: &Built) -> Option<&'static str> {
    let near = |t: Option<u64>, edge: u64| t.is_some_and(|t| t.abs_diff(edge) <= 1);
    let c = &b.claims;
    (near(c.exp, b.now - LEEWAY) || near(c.nbf, b.now + LEEWAY) || near(c.iat, b.now + LEEWAY))
        .then_some("a time claim within a second of a boundary (the oracle reads the system clock)")
}

/// The rules by which we refuse what `jsonwebtoken` accepts, that `b` breaks: each
/// explains a disagreement where only we refuse.
pub fn stricter(b: &Built) -> Vec<&'static str> {
    let mut why = vec![];
    let c = &b.claims;
    let typ_ok = b
        .header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(TYP) || t.eq_ignore_ascii_case("application/at+jwt"));
    if !typ_ok {
        why.push("typ must be at+jwt (RFC 9068 §2.1)");
    }
    let kid_known = |k: &str| keys().jwks.keys.iter().any(|j| j.kid.as_deref() == Some(k));
    if !b.header.kid.as_deref().is_some_and(kid_known) {
        why.push("a kid naming a key of the jwks is required");
    }
    if b.header.crit.is_some() {
        why.push("crit is refused (RFC 7515 §4.1.11)");
    }
    if c.client_id.is_none() || c.jti.is_none() || c.iat.is_none() {
        why.push("client_id, jti and iat are required (RFC 9068 §2.2)");
    }
    if c.iat.is_some_and(|iat| iat > b.now + LEEWAY) {
        why.push("an iat in the future is refused");
    }
    if c.exp == Some(b.now - LEEWAY) {
        why.push("expired from exp on (RFC 7519 §4.1.4)");
    }
    why.extend(near_boundary(b));
    why
}

/// The rules by which we accept what `jsonwebtoken` refuses, that `b` relies on.
pub fn looser(b: &Built) -> Vec<&'static str> {
    let mut why = vec![];
    let exact = b.claims.aud.iter().any(|a| a == RESOURCE);
    if !exact && b.claims.aud.contains(RESOURCE) {
        why.push("aud compared as a canonical uri (X-08)");
    }
    why.extend(near_boundary(b));
    why
}

/// Compares our verdict with the oracle's (`theirs`: the claims `jsonwebtoken` accepted,
/// or its error) and panics on a disagreement that [`stricter`] or [`looser`] does not
/// explain.
pub fn compare(
    b: &Built,
    ours: &Result<AccessTokenClaims, String>,
    theirs: &Result<AccessTokenClaims, String>,
) {
    let why = match (ours, theirs) {
        (Ok(a), Ok(t)) => return assert_eq!(a, t, "both accept `{}` but read different claims", b.token),
        (Err(_), Err(_)) => return,
        (Err(_), Ok(_)) => stricter(b),
        (Ok(_), Err(_)) => looser(b),
    };
    assert!(
        !why.is_empty(),
        "disagreement on `{}`: ours {ours:?}, jsonwebtoken {theirs:?}\nheader {:?}\nclaims {:?}",
        b.token,
        b.header,
        b.claims
    );
}

/// The target without the oracle: whatever we accept was signed by a trusted key, left
/// untouched, and breaks none of our stricter rules.
pub fn replay(data: &[u8]) {
    let Some(b) = build(data, NOW) else { return };
    let Ok(claims) = ours(&b) else { return };
    let trusted = matches!(b.case.signer, Signer::TrustedEs256 | Signer::TrustedEdDsa);
    assert!(trusted, "accepted a token signed by {:?}: {}", b.case.signer, b.token);
    assert_eq!(claims, b.claims, "accepted `{}` with other claims than signed", b.token);
    let broken = stricter(&b);
    assert!(broken.is_empty(), "accepted `{}` although {broken:?}", b.token);
    assert!(claims.exp.is_some_and(|e| e + LEEWAY > b.now), "accepted an expired token");
}
