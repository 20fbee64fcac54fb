//! JWT access tokens (RFC 9068) and their validation at a resource server
//! (OAuth 2.1 §5.2, MCP authorization §Token Handling).
//!
//! [`Validator::validate`] checks, in order: JWS syntax, `alg` on the allow-list, `typ`
//! = `at+jwt`, `kid` known, signature, `iss` exact, `aud` contains this resource, `exp`
//! present and not past, `nbf`/`iat` not in the future (with a small leeway), and the
//! claims RFC 9068 requires (`sub`, `client_id`, `jti`, `iat`).
//!
//! ```
//! use mcp_authz_reference::access_token::{AccessTokenClaims, Audience, Validator};
//! use mcp_authz_reference::jwt::{Algorithm, SigningKey, KeySet};
//! use mcp_authz_reference::sans_io::{Env, Time};
//! use rand_core::SeedableRng;
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! let mut env = Env::new(Time::from_unix_secs(1000), &mut rng);
//! let key = SigningKey::generate(Algorithm::ES256, "k1", &mut env).unwrap();
//! let claims = AccessTokenClaims {
//!     iss: "https://as.example".into(), sub: Some("alice".into()),
//!     aud: Audience::one("https://mcp.example/mcp"), client_id: Some("c1".into()),
//!     scope: Some("mcp:read".into()), exp: Some(1600), iat: Some(1000), nbf: None,
//!     jti: Some("j1".into()), cnf: None,
//! };
//! let token = claims.sign(&key).unwrap();
//! let v = Validator::new("https://as.example", "https://mcp.example/mcp", KeySet::from_jwks(&key.public_jwks()).unwrap());
//! let ok = v.validate(&token, Time::from_unix_secs(1100)).unwrap();
//! assert!(ok.has_scope("mcp:read"));
//! assert!(v.validate(&token, Time::from_unix_secs(2000)).is_err()); // expired
//! ```

use crate::error::TokenError;
use crate::jwt::{self, Algorithm, KeySet, SigningKey};
use crate::resource_indicator::Resource;
use crate::sans_io::Time;
use serde::{Deserialize, Serialize};

/// The `typ` header of an access token (RFC 9068 §2.1).
pub const TYP: &str = "at+jwt";

/// The `aud` claim: one string or an array of strings (RFC 7519 §4.1.3). Deserialized
/// by hand: serde's untagged enums buffer the value first, on every request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(untagged)]
pub enum Audience {
    /// No audience (invalid for an access token; kept to report it).
    #[default]
    None,
    /// A single audience, serialized as a string.
    One(String),
    /// Several audiences, serialized as an array.
    Many(Vec<String>),
}

impl Audience {
    /// A single audience.
    pub fn one(aud: impl Into<String>) -> Self {
        Audience::One(aud.into())
    }

    /// The audiences as a slice-like iterator.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let all: &[String] = match self {
            Audience::None => &[],
            Audience::One(a) => std::slice::from_ref(a),
            Audience::Many(v) => v,
        };
        all.iter().map(String::as_str)
    }

    /// True when one of the audiences names `resource` (canonical comparison; never when
    /// `resource` is not a resource indicator).
    pub fn contains(&self, resource: &str) -> bool {
        Resource::parse(resource).is_ok_and(|r| self.names(&r))
    }

    /// True when one of the audiences names `resource` (canonical comparison).
    pub fn names(&self, resource: &Resource) -> bool {
        self.iter().any(|a| resource.is_named_by(a))
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Audience;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string, an array of strings or null")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Audience, E> {
                Ok(Audience::One(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Audience, E> {
                Ok(Audience::One(v))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Audience, E> {
                Ok(Audience::None)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
                while let Some(a) = seq.next_element::<String>()? {
                    all.push(a);
                }
                Ok(Audience::Many(all))
            }
        }
        d.deserialize_any(Visitor)
    }
}

fn is_none_audience(a: &Audience) -> bool {
    matches!(a, Audience::None)
}

/// The claims of an RFC 9068 access token.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the resource owner, or the client for client credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience: the resource(s) the token is for.
    #[serde(default, skip_serializing_if = "is_none_audience")]
    pub aud: Audience,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Space-separated scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Expiry (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The key the token is bound to (RFC 7800 `cnf`; RFC 9449 §6.1 `jkt`): a DPoP-bound
    /// token is only accepted with `Authorization: DPoP` and a proof signed by that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// The `cnf` claim (RFC 7800 §3.1): what the presenter must prove it holds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Confirmation {
    /// The RFC 7638 thumbprint of the DPoP key the token is bound to (RFC 9449 §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
}

impl Confirmation {
    /// A binding to the DPoP key whose thumbprint is `jkt`.
    pub fn jkt(jkt: impl Into<String>) -> Self {
        Confirmation { jkt: Some(jkt.into()) }
    }
}

impl AccessTokenClaims {
    /// The scopes, split on spaces.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.as_deref().unwrap_or("").split(' ').filter(|s| !s.is_empty())
    }

    /// True when `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// The thumbprint of the DPoP key the token is bound to (`cnf.jkt`), if it is bound.
    pub fn bound_jkt(&self) -> Option<&str> {
        self.cnf.as_ref().and_then(|c| c.jkt.as_deref())
    }

    /// Signs these claims as an access token (`typ: at+jwt`).
    pub fn sign(&self, key: &SigningKey) -> crate::Result<String> {
        jwt::encode(key, TYP, self)
    }
}

/// Validates access tokens for one resource server, against one trusted issuer.
#[derive(Debug)]
pub struct Validator {
    /// The trusted issuer (compared byte for byte).
    pub issuer: String,
    /// This server's canonical URI; `aud` must contain it.
    pub audience: String,
    /// The issuer's keys, parsed once.
    pub keys: KeySet,
    /// Accepted algorithms (default: the asymmetric ones).
    pub allowed: Vec<Algorithm>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (default 30).
    pub leeway_secs: u64,
    /// `audience` as given to [`Validator::new`] and parsed, when its canonical form is
    /// its own canonical form: an `aud` equal to that form then needs no URI parsing.
    canonical_audience: Option<(String, Resource)>,
}

impl Validator {
    /// A validator with the default algorithm allow-list and a 30 s leeway.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, keys: KeySet) -> Self {
        let audience = audience.into();
        let canonical_audience = Resource::parse(&audience)
            .ok()
            .filter(|r| r.is_named_by(r.as_str()))
            .map(|r| (audience.clone(), r));
        Validator {
            issuer: issuer.into(),
            audience,
            keys,
            allowed: Algorithm::ASYMMETRIC.to_vec(),
            leeway_secs: 30,
            canonical_audience,
        }
    }

    /// True when `aud` names this resource: [`Audience::contains`], without parsing an
    /// `aud` that is byte for byte the canonical form of [`Validator::audience`].
    fn names_this_resource(&self, aud: &Audience) -> bool {
        match &self.canonical_audience {
            Some((given, resource)) if *given == self.audience => {
                aud.iter().any(|a| a == resource.as_str() || resource.is_named_by(a))
            }
            _ => aud.contains(&self.audience),
        }
    }

    /// Validates `token` at `now` and returns its claims.
    pub fn validate(&self, token: &str, now: Time) -> Result<AccessTokenClaims, TokenError> {
        let ((), payload) = jwt::verified(token, &self.keys, &self.allowed, |h| check_typ(h.typ()))?;
        let claims: AccessTokenClaims =
            serde_json::from_slice(&payload).map_err(|e| TokenError::Malformed(format!("claims: {e}")))?;
        self.check_claims(&claims, now)?;
        Ok(claims)
    }

    /// The claim checks alone (issuer, audience, time, required claims).
    pub fn check_claims(&self, c: &AccessTokenClaims, now: Time) -> Result<(), TokenError> {
        if c.iss != self.issuer {
            return Err(TokenError::WrongIssuer { received: c.iss.clone(), expected: self.issuer.clone() });
        }
        if !self.names_this_resource(&c.aud) {
            let received = match &c.aud {
                Audience::None => "(none)".to_string(),
                a => format!("{:?}", a.iter().collect::<Vec<_>>()),
            };
            return Err(TokenError::WrongAudience { received, expected: self.audience.clone() });
        }
        let now_s = now.unix_secs();
        let exp = c.exp.ok_or(TokenError::MissingExpiry)?;
        if exp.saturating_add(self.leeway_secs) <= now_s {
            return Err(TokenError::Expired { exp, now: now_s });
        }
        for nbf in [c.nbf, c.iat].into_iter().flatten() {
            if nbf > now_s.saturating_add(self.leeway_secs) {
                return Err(TokenError::NotYetValid { nbf, now: now_s });
            }
        }
        if c.sub.is_none() {
            return Err(TokenError::Claim("`sub` is missing (RFC 9068 §2.2)".into()));
        }
        if c.client_id.is_none() {
            return Err(TokenError::Claim("`client_id` is missing (RFC 9068 §2.2)".into()));
        }
        if c.jti.is_none() {
            return Err(TokenError::Claim("`jti` is missing (RFC 9068 §2.2)".into()));
        }
        if c.iat.is_none() {
            return Err(TokenError::Claim("`iat` is missing (RFC 9068 §2.2)".into()));
        }
        Ok(())
    }
}

fn check_typ(typ: Option<&str>) -> Result<(), TokenError> {
    match typ {
        // RFC 9068 §2.1: `at+jwt`; `application/at+jwt` is the same media type.
        Some(t) if t.eq_ignore_ascii_case(TYP) || t.eq_ignore_ascii_case("application/at+jwt") => Ok(()),
        other => Err(TokenError::WrongType(other.unwrap_or("(none)").to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::{JoseHeader, encode_with_header};
    use crate::sans_io::Env;
    use rand_core::SeedableRng;

    const ISS: &str = "https://as.example";
    const AUD: &str = "https://mcp.example/mcp";

    fn setup() -> (SigningKey, Validator, AccessTokenClaims) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let mut env = Env::new(Time::default(), &mut rng);
        let key = SigningKey::generate(Algorithm::ES256, "k1", &mut env).unwrap();
        let v = Validator::new(ISS, AUD, KeySet::from_jwks(&key.public_jwks()).unwrap());
        let c = AccessTokenClaims {
            iss: ISS.into(),
            sub: Some("alice".into()),
            aud: Audience::one(AUD),
            client_id: Some("c".into()),
            scope: Some("mcp:read mcp:write".into()),
            exp: Some(2000),
            iat: Some(1000),
            nbf: None,
            jti: Some("j".into()),
            cnf: None,
        };
        (key, v, c)
    }

    fn at(s: u64) -> Time {
        Time::from_unix_secs(s)
    }

    #[test]
    fn valid_token_passes() {
        let (k, v, c) = setup();
        let got = v.validate(&c.sign(&k).unwrap(), at(1500)).unwrap();
        assert_eq!(got, c);
        assert!(got.has_scope("mcp:write") && !got.has_scope("mcp:admin"));
    }

    #[test]
    fn each_claim_rejection() {
        let (k, v, c) = setup();
        let check = |c: AccessTokenClaims, want: fn(&TokenError) -> bool| {
            let e = v.validate(&c.sign(&k).unwrap(), at(1500)).unwrap_err();
            assert!(want(&e), "unexpected {e:?}");
        };
        check(AccessTokenClaims { iss: "https://evil.example".into(), ..c.clone() }, |e| {
            matches!(e, TokenError::WrongIssuer { .. })
        });
        check(AccessTokenClaims { aud: Audience::one("https://other.example/mcp"), ..c.clone() }, |e| {
            matches!(e, TokenError::WrongAudience { .. })
        });
        check(AccessTokenClaims { aud: Audience::one("https://mcp.example/other"), ..c.clone() }, |e| {
            matches!(e, TokenError::WrongAudience { .. })
        });
        check(AccessTokenClaims { aud: Audience::one(ISS), ..c.clone() }, |e| {
            matches!(e, TokenError::WrongAudience { .. })
        });
        check(AccessTokenClaims { aud: Audience::None, ..c.clone() }, |e| {
            matches!(e, TokenError::WrongAudience { .. })
        });
        check(AccessTokenClaims { exp: None, ..c.clone() }, |e| *e == TokenError::MissingExpiry);
        check(AccessTokenClaims { exp: Some(1400), ..c.clone() }, |e| {
            matches!(e, TokenError::Expired { .. })
        });
        check(AccessTokenClaims { nbf: Some(1600), ..c.clone() }, |e| {
            matches!(e, TokenError::NotYetValid { .. })
        });
        check(AccessTokenClaims { sub: None, ..c.clone() }, |e| matches!(e, TokenError::Claim(_)));
        check(AccessTokenClaims { client_id: None, ..c.clone() }, |e| matches!(e, TokenError::Claim(_)));
        check(AccessTokenClaims { jti: None, ..c.clone() }, |e| matches!(e, TokenError::Claim(_)));
    }

    #[test]
    fn audience_reads_a_string_an_array_or_null() {
        let aud = |json: &str| serde_json::from_str::<Audience>(json);
        assert_eq!(aud(r#""https://a.example""#).unwrap(), Audience::one("https://a.example"));
        assert_eq!(aud(r#""a\u0041""#).unwrap(), Audience::one("aA"));
        assert_eq!(aud(r#"["x","y"]"#).unwrap(), Audience::Many(vec!["x".into(), "y".into()]));
        assert_eq!(aud("[]").unwrap(), Audience::Many(vec![]));
        assert_eq!(aud("null").unwrap(), Audience::None);
        for bad in ["1", "{}", r#"["x",1]"#, "true"] {
            assert!(aud(bad).is_err(), "{bad}");
        }
        for a in [Audience::one("x"), Audience::Many(vec!["x".into(), "y".into()]), Audience::None] {
            assert_eq!(serde_json::from_value::<Audience>(serde_json::to_value(&a).unwrap()).unwrap(), a);
        }
    }

    #[test]
    fn multi_audience_containing_this_server_is_accepted() {
        let (k, v, c) = setup();
        let c =
            AccessTokenClaims { aud: Audience::Many(vec!["https://other.example".into(), AUD.into()]), ..c };
        v.validate(&c.sign(&k).unwrap(), at(1500)).unwrap();
    }

    /// The canonical-audience fast path decides as the canonical comparison does.
    #[test]
    fn audience_comparison_is_canonical() {
        let (k, _, c) = setup();
        let keys = || KeySet::from_jwks(&k.public_jwks()).unwrap();
        let token = |aud: &str| AccessTokenClaims { aud: Audience::one(aud), ..c.clone() }.sign(&k).unwrap();
        let cases = [
            ("HTTPS://MCP.EXAMPLE:443/mcp", AUD, true),
            (AUD, "https://mcp.example:443/mcp/", true),
            ("https://mcp.example//", "https://mcp.example/", false),
            ("https://mcp.example/MCP", AUD, false),
            ("not a uri", "not a uri", false),
        ];
        for (configured, aud, accepted) in cases {
            let v = Validator::new(ISS, configured, keys());
            assert_eq!(v.validate(&token(aud), at(1500)).is_ok(), accepted, "{configured} vs {aud}");
            let mut changed = Validator::new(ISS, "https://elsewhere.example", keys());
            changed.audience = configured.into();
            assert_eq!(changed.validate(&token(aud), at(1500)).is_ok(), accepted, "{configured} vs {aud}");
        }
    }

    #[test]
    fn typ_must_be_at_jwt() {
        let (k, v, c) = setup();
        for typ in [Some("JWT"), None] {
            let h = JoseHeader {
                alg: "ES256".into(),
                typ: typ.map(String::from),
                kid: Some("k1".into()),
                crit: None,
            };
            let t = encode_with_header(&k, &h, &c).unwrap();
            assert!(matches!(v.validate(&t, at(1500)), Err(TokenError::WrongType(_))));
        }
    }

    #[test]
    fn a_bound_token_carries_cnf_jkt() {
        let (k, v, c) = setup();
        let bound = AccessTokenClaims {
            cnf: Some(Confirmation::jkt("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")),
            ..c
        };
        let token = bound.sign(&k).unwrap();
        let payload = jwt::split(&token).unwrap().payload;
        let json: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(json["cnf"], serde_json::json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}));
        let got = v.validate(&token, at(1500)).unwrap();
        assert_eq!(got.bound_jkt(), Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
        assert_eq!(AccessTokenClaims::default().bound_jkt(), None);
    }

    #[test]
    fn leeway_is_small() {
        let (k, v, c) = setup();
        let t = c.sign(&k).unwrap();
        assert!(v.validate(&t, at(2029)).is_ok());
        assert!(v.validate(&t, at(2030)).is_err());
    }
}
