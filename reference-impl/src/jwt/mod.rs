//! JSON Web Tokens (RFC 7519) with JWS compact serialization (RFC 7515) and JSON Web
//! Keys (RFC 7517), on aws-lc-rs.
//!
//! Why not the `jsonwebtoken` crate: a resource server validates a token on every
//! request, and `jsonwebtoken::decode` parses the header and claims twice and re-parses
//! the key on every call. Here a [`VerifyingKey`] holds one parsed aws-lc-rs key per
//! `kid` and the claims are deserialized once, by the caller, into a typed struct (see
//! [`crate::access_token`]). `jsonwebtoken` stays the oracle of the differential fuzz
//! target and a peer in the benchmarks.
//!
//! ```
//! use mcp_authz_reference::jwt::{Algorithm, SigningKey, KeySet, encode, decode_verified};
//! use mcp_authz_reference::sans_io::{Env, Time};
//! use rand_core::SeedableRng;
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! let mut env = Env::new(Time::from_unix_secs(0), &mut rng);
//! let key = SigningKey::generate(Algorithm::ES256, "k1", &mut env).unwrap();
//! let token = encode(&key, "at+jwt", &serde_json::json!({"sub": "alice"})).unwrap();
//! let keys = KeySet::from_jwks(&key.public_jwks()).unwrap();
//! let (header, payload) = decode_verified(&token, &keys, &[Algorithm::ES256]).unwrap();
//! assert_eq!(header.typ.as_deref(), Some("at+jwt"));
//! assert_eq!(payload, br#"{"sub":"alice"}"#);
//! ```

mod pem;

use crate::error::TokenError;
use crate::sans_io::Env;
use crate::{Error, Result};
use aws_lc_rs::signature::{self as sig, KeyPair as _, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// JWS algorithms this crate knows. Only the asymmetric ones are ever accepted for
/// access tokens; `HS256` exists for benchmarks and for building hostile tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256 (the default).
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// Ed25519.
    EdDSA,
    /// HMAC with SHA-256 (symmetric; never accepted by the reference resource server).
    HS256,
}

impl Algorithm {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
            Self::EdDSA => "EdDSA",
            Self::HS256 => "HS256",
        }
    }

    /// Parses an `alg` value (case-sensitive, as RFC 7515 requires).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ES256" => Self::ES256,
            "RS256" => Self::RS256,
            "PS256" => Self::PS256,
            "EdDSA" => Self::EdDSA,
            "HS256" => Self::HS256,
            _ => return None,
        })
    }

    /// The asymmetric algorithms a resource server accepts by default.
    pub const ASYMMETRIC: [Algorithm; 4] = [Self::ES256, Self::RS256, Self::PS256, Self::EdDSA];
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A JOSE header (RFC 7515 §4).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JoseHeader {
    /// The signing algorithm.
    pub alg: String,
    /// The media type (`at+jwt` for access tokens, RFC 9068 §2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// The key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Critical extensions; any present makes the token unacceptable here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<Vec<String>>,
}

/// A JSON Web Key (RFC 7517), public members only.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `EC`, `RSA`, `OKP`, `oct`.
    pub kty: String,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use (`sig`).
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Curve (`P-256`, `Ed25519`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate / OKP public key (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA exponent (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// A JWK Set (RFC 7517 §5).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a JWKS document.
    pub fn parse(body: &[u8]) -> Result<Self> {
        crate::wire::parse_json("jwks", body)
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(what: &'static str, s: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).map_err(|e| Error::malformed(what, format!("not base64url: {e}")))
}

enum Signer {
    Ec(sig::EcdsaKeyPair),
    Ed(sig::Ed25519KeyPair),
    Rsa(sig::RsaKeyPair),
    Hmac(Box<aws_lc_rs::hmac::Key>),
}

/// A private signing key with its `kid` and algorithm.
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    signer: Signer,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("alg", &self.alg).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a key. ES256, EdDSA and HS256 keys are derived from `env.rng` (so the
    /// simulator's keys follow its seed); RSA keys come from aws-lc's own generator.
    pub fn generate(alg: Algorithm, kid: impl Into<String>, env: &mut Env<'_>) -> Result<Self> {
        let kid = kid.into();
        let bad = |e: &dyn fmt::Display| Error::Config(format!("cannot make a {alg} key: {e}"));
        let signer = match alg {
            Algorithm::ES256 => loop {
                let scalar = env.random_bytes(32);
                let Ok(private) = aws_lc_rs::agreement::PrivateKey::from_private_key(
                    &aws_lc_rs::agreement::ECDH_P256,
                    &scalar,
                ) else {
                    continue; // scalar out of range: draw again
                };
                let public = private.compute_public_key().map_err(|e| bad(&e))?;
                let pair = sig::EcdsaKeyPair::from_private_key_and_public_key(
                    &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &scalar,
                    public.as_ref(),
                )
                .map_err(|e| bad(&e))?;
                break Signer::Ec(pair);
            },
            Algorithm::EdDSA => {
                let seed = env.random_bytes(32);
                Signer::Ed(sig::Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|e| bad(&e))?)
            }
            Algorithm::RS256 | Algorithm::PS256 => {
                Signer::Rsa(sig::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(|e| bad(&e))?)
            }
            Algorithm::HS256 => {
                let secret = env.random_bytes(32);
                Signer::Hmac(Box::new(aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret)))
            }
        };
        Ok(SigningKey { kid, alg, signer })
    }

    /// An HS256 key over `secret` (for building hostile tokens: e.g. HMAC keyed with a
    /// public key's bytes).
    pub fn hmac(kid: impl Into<String>, secret: &[u8]) -> Self {
        SigningKey {
            kid: kid.into(),
            alg: Algorithm::HS256,
            signer: Signer::Hmac(Box::new(aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret))),
        }
    }

    /// A key read from its PKCS#8 DER encoding (as [`SigningKey::to_pkcs8_der`] writes
    /// it): P-256 for ES256, Ed25519 for EdDSA, RSA for RS256 and PS256. HS256 keys have
    /// no PKCS#8 form.
    pub fn from_pkcs8_der(alg: Algorithm, kid: impl Into<String>, der: &[u8]) -> Result<Self> {
        let rejected = |e: &dyn fmt::Display| {
            Error::Config(format!(
                "received a PKCS#8 key unfit for {alg}, expected a key of type {}: {e}",
                key_kind(alg)
            ))
        };
        let signer = match alg {
            Algorithm::ES256 => Signer::Ec(
                sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| rejected(&e))?,
            ),
            Algorithm::EdDSA => Signer::Ed(sig::Ed25519KeyPair::from_pkcs8(der).map_err(|e| rejected(&e))?),
            Algorithm::RS256 | Algorithm::PS256 => {
                Signer::Rsa(sig::RsaKeyPair::from_pkcs8(der).map_err(|e| rejected(&e))?)
            }
            Algorithm::HS256 => {
                return Err(Error::Config(
                    "received HS256, expected an asymmetric algorithm: an HMAC secret has no PKCS#8 form"
                        .into(),
                ));
            }
        };
        Ok(SigningKey { kid: kid.into(), alg, signer })
    }

    /// The private key in PKCS#8 DER (what a PEM `PRIVATE KEY` block holds), to keep a
    /// key across runs. HS256 keys have none.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>> {
        use aws_lc_rs::encoding::AsDer as _;
        let failed = |e: &dyn fmt::Display| Error::Config(format!("cannot encode the {} key: {e}", self.alg));
        Ok(match &self.signer {
            Signer::Ec(k) => k.to_pkcs8v1().map_err(|e| failed(&e))?.as_ref().to_vec(),
            Signer::Ed(k) => k.to_pkcs8().map_err(|e| failed(&e))?.as_ref().to_vec(),
            Signer::Rsa(k) => {
                let der: aws_lc_rs::encoding::Pkcs8V1Der<'_> = k.as_der().map_err(|e| failed(&e))?;
                der.as_ref().to_vec()
            }
            Signer::Hmac(_) => {
                return Err(Error::Config("received an HS256 key: an HMAC secret has no PKCS#8 form".into()));
            }
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Signs `message` (the JWS signing input).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let fail = |e: &dyn fmt::Display| Error::Config(format!("signing failed: {e}"));
        Ok(match &self.signer {
            // aws-lc draws the ECDSA nonce itself; `rng` is ignored by aws-lc-rs.
            Signer::Ec(k) => k.sign(&rng, message).map_err(|e| fail(&e))?.as_ref().to_vec(),
            Signer::Ed(k) => k.sign(message).as_ref().to_vec(),
            Signer::Rsa(k) => {
                let enc: &'static dyn sig::RsaEncoding =
                    if self.alg == Algorithm::PS256 { &sig::RSA_PSS_SHA256 } else { &sig::RSA_PKCS1_SHA256 };
                let mut out = vec![0u8; k.public_modulus_len()];
                k.sign(enc, &rng, message, &mut out).map_err(|e| fail(&e))?;
                out
            }
            Signer::Hmac(k) => aws_lc_rs::hmac::sign(k, message).as_ref().to_vec(),
        })
    }

    /// The public half as a JWK (`kid`, `alg`, `use: sig`). HS256 keys have none and
    /// yield an `oct` JWK without key material.
    pub fn public_jwk(&self) -> Jwk {
        let mut jwk = Jwk {
            kid: Some(self.kid.clone()),
            alg: Some(self.alg.name().to_string()),
            use_: Some("sig".into()),
            ..Default::default()
        };
        match &self.signer {
            Signer::Ec(k) => {
                let p = k.public_key().as_ref(); // 0x04 || x || y
                jwk.kty = "EC".into();
                jwk.crv = Some("P-256".into());
                jwk.x = Some(b64(&p[1..33]));
                jwk.y = Some(b64(&p[33..65]));
            }
            Signer::Ed(k) => {
                jwk.kty = "OKP".into();
                jwk.crv = Some("Ed25519".into());
                jwk.x = Some(b64(k.public_key().as_ref()));
            }
            Signer::Rsa(k) => {
                let p = k.public_key();
                jwk.kty = "RSA".into();
                jwk.n = Some(b64(p.modulus().big_endian_without_leading_zero()));
                jwk.e = Some(b64(p.exponent().big_endian_without_leading_zero()));
            }
            Signer::Hmac(_) => jwk.kty = "oct".into(),
        }
        jwk
    }

    /// A JWKS holding only this key's public half.
    pub fn public_jwks(&self) -> Jwks {
        Jwks { keys: vec![self.public_jwk()] }
    }

    /// The raw bytes of the public key as a naive verifier might use them as an HMAC
    /// secret (for the alg-confusion attack): the JWK serialized as JSON.
    pub fn public_key_bytes_for_confusion(&self) -> Vec<u8> {
        serde_json::to_vec(&self.public_jwk()).unwrap_or_default()
    }
}

/// The kind of key `alg` signs with, for messages.
fn key_kind(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 => "P-256 (EC)",
        Algorithm::EdDSA => "Ed25519",
        Algorithm::RS256 | Algorithm::PS256 => "RSA",
        Algorithm::HS256 => "HMAC",
    }
}

impl Jwk {
    /// The RFC 7638 thumbprint: base64url SHA-256 of the required public members in
    /// lexicographic order (`crv, kty, x, y` for EC, `crv, kty, x` for OKP, `e, kty, n`
    /// for RSA; `kty` alone otherwise). A stable `kid` for a key.
    pub fn thumbprint(&self) -> String {
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.thumbprint_input().as_bytes());
        b64(digest.as_ref())
    }

    /// What [`Jwk::thumbprint`] hashes: the required public members as a JSON object,
    /// in lexicographic order, no whitespace (RFC 7638 §3.3). Two keys with the same
    /// input are the same key.
    pub fn thumbprint_input(&self) -> String {
        let members: [(&str, Option<&String>); 4] = match self.kty.as_str() {
            "EC" => [
                ("crv", self.crv.as_ref()),
                ("kty", Some(&self.kty)),
                ("x", self.x.as_ref()),
                ("y", self.y.as_ref()),
            ],
            "OKP" => {
                [("crv", self.crv.as_ref()), ("kty", Some(&self.kty)), ("x", self.x.as_ref()), ("", None)]
            }
            "RSA" => [("e", self.e.as_ref()), ("kty", Some(&self.kty)), ("n", self.n.as_ref()), ("", None)],
            _ => [("kty", Some(&self.kty)), ("", None), ("", None), ("", None)],
        };
        let mut out = String::with_capacity(160);
        out.push('{');
        for (i, (name, value)) in members.iter().filter(|(name, _)| !name.is_empty()).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(name);
            out.push_str("\":");
            // A JSON string, escaped as serde_json escapes (a missing member is "").
            let value = value.map_or("", |v| v.as_str());
            if value.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
                out.push_str(&serde_json::Value::from(value).to_string());
            } else {
                out.push('"');
                out.push_str(value);
                out.push('"');
            }
        }
        out.push('}');
        out
    }
}

/// Signs `claims` as a compact JWS with header `{alg, typ, kid}`.
pub fn encode(key: &SigningKey, typ: &str, claims: &impl Serialize) -> Result<String> {
    let header = JoseHeader {
        alg: key.alg.name().into(),
        typ: Some(typ.into()),
        kid: Some(key.kid.clone()),
        crit: None,
    };
    encode_with_header(key, &header, claims)
}

/// Signs `claims` under an arbitrary `header` (which may lie about `alg` or `kid`: the
/// harness uses this to build hostile tokens).
pub fn encode_with_header(key: &SigningKey, header: &JoseHeader, claims: &impl Serialize) -> Result<String> {
    let h = serde_json::to_vec(header).map_err(|e| Error::Config(e.to_string()))?;
    let c = serde_json::to_vec(claims).map_err(|e| Error::Config(e.to_string()))?;
    let input = format!("{}.{}", b64(&h), b64(&c));
    let signature = key.sign(input.as_bytes())?;
    Ok(format!("{input}.{}", b64(&signature)))
}

/// An unsigned token (`alg: none`, empty signature), for attacks.
pub fn encode_unsigned(claims: &impl Serialize) -> String {
    let h = br#"{"alg":"none","typ":"at+jwt"}"#;
    let c = serde_json::to_vec(claims).unwrap_or_default();
    format!("{}.{}.", b64(h), b64(&c))
}

/// A compact JWS split into its parts, header parsed, nothing verified yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compact<'a> {
    /// The parsed header.
    pub header: JoseHeader,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`.
    pub signing_input: &'a str,
    /// The decoded payload bytes.
    pub payload: Vec<u8>,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

/// Splits and decodes a compact JWS without verifying it.
pub fn split(token: &str) -> Result<Compact<'_>, TokenError> {
    let malformed = |d: &str| TokenError::Malformed(d.to_string());
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("expected three dot-separated segments"));
    };
    let header_bytes = URL_SAFE_NO_PAD.decode(h).map_err(|_| malformed("header is not base64url"))?;
    let header: JoseHeader =
        serde_json::from_slice(&header_bytes).map_err(|e| TokenError::Malformed(format!("header: {e}")))?;
    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| malformed("payload is not base64url"))?;
    let signature = URL_SAFE_NO_PAD.decode(s).map_err(|_| malformed("signature is not base64url"))?;
    Ok(Compact { header, signing_input: &token[..h.len() + 1 + p.len()], payload, signature })
}

/// A key parsed once, ready to verify many signatures: a public key, or (for HS256
/// only, built explicitly with [`VerifyingKey::hmac`]) a shared secret.
pub struct VerifyingKey {
    alg: Algorithm,
    key: Verifier,
}

enum Verifier {
    Public(ParsedPublicKey),
    Hmac(Box<aws_lc_rs::hmac::Key>),
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey").field("alg", &self.alg).finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// Parses a public JWK. The algorithm comes from the JWK's `alg`, else from its key
    /// type (EC P-256 → ES256, OKP Ed25519 → EdDSA, RSA → RS256). `oct` keys are refused.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self> {
        let alg = match jwk.alg.as_deref() {
            Some(a) => Algorithm::parse(a).ok_or_else(|| {
                Error::unexpected("jwk alg", format!("`{a}`"), "ES256, RS256, PS256 or EdDSA")
            })?,
            None => match (jwk.kty.as_str(), jwk.crv.as_deref()) {
                ("EC", Some("P-256")) => Algorithm::ES256,
                ("OKP", Some("Ed25519")) => Algorithm::EdDSA,
                ("RSA", _) => Algorithm::RS256,
                (kty, crv) => {
                    return Err(Error::unexpected(
                        "jwk kty/crv",
                        format!("{kty}/{crv:?}"),
                        "EC/P-256, OKP/Ed25519 or RSA",
                    ));
                }
            },
        };
        let need = |v: &Option<String>, name: &'static str| {
            v.as_deref()
                .ok_or_else(|| Error::Missing(format!("jwk member `{name}`")))
                .and_then(|s| unb64("jwk", s))
        };
        let rejected = |e: &dyn fmt::Display| Error::malformed("jwk", e);
        let key = match (alg, jwk.kty.as_str()) {
            (Algorithm::ES256, "EC") => {
                if jwk.crv.as_deref() != Some("P-256") {
                    return Err(Error::unexpected("jwk crv", format!("{:?}", jwk.crv), "P-256"));
                }
                let (x, y) = (need(&jwk.x, "x")?, need(&jwk.y, "y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(Error::malformed("jwk", "P-256 coordinates must be 32 bytes"));
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                ParsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point).map_err(|e| rejected(&e))?
            }
            (Algorithm::EdDSA, "OKP") => {
                if jwk.crv.as_deref() != Some("Ed25519") {
                    return Err(Error::unexpected("jwk crv", format!("{:?}", jwk.crv), "Ed25519"));
                }
                ParsedPublicKey::new(&sig::ED25519, need(&jwk.x, "x")?).map_err(|e| rejected(&e))?
            }
            (Algorithm::RS256 | Algorithm::PS256, "RSA") => {
                let (n, e) = (need(&jwk.n, "n")?, need(&jwk.e, "e")?);
                let params: &'static sig::RsaParameters = if alg == Algorithm::PS256 {
                    &sig::RSA_PSS_2048_8192_SHA256
                } else {
                    &sig::RSA_PKCS1_2048_8192_SHA256
                };
                sig::RsaPublicKeyComponents { n: &n, e: &e }
                    .to_parsed_public_key(params)
                    .map_err(|e| rejected(&e))?
            }
            (alg, kty) => {
                return Err(Error::unexpected(
                    "jwk",
                    format!("alg {alg} with kty {kty}"),
                    "a matching asymmetric key type",
                ));
            }
        };
        Ok(VerifyingKey { alg, key: Verifier::Public(key) })
    }

    /// An HS256 key over the shared `secret`. Never built from a JWKS (`oct` JWKs are
    /// refused there): a caller that trusts a symmetric key says so explicitly, and the
    /// [`Algorithm::HS256`] must also be on its allow-list.
    pub fn hmac(secret: &[u8]) -> Self {
        VerifyingKey {
            alg: Algorithm::HS256,
            key: Verifier::Hmac(Box::new(aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret))),
        }
    }

    /// The algorithm this key verifies.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Verifies `signature` over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), TokenError> {
        match &self.key {
            Verifier::Public(k) => k.verify_sig(message, signature),
            // Constant-time comparison of the tag.
            Verifier::Hmac(k) => aws_lc_rs::hmac::verify(k, message, signature),
        }
        .map_err(|_| TokenError::BadSignature)
    }
}

/// Parsed verification keys by `kid`: what a resource server caches from a JWKS.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: BTreeMap<String, VerifyingKey>,
}

impl KeySet {
    /// Parses every key of `jwks`. Keys without `kid` or of unsupported types are
    /// skipped; an empty result is an error.
    pub fn from_jwks(jwks: &Jwks) -> Result<Self> {
        let mut keys = BTreeMap::new();
        let mut last_err = None;
        for jwk in &jwks.keys {
            let Some(kid) = &jwk.kid else { continue };
            match VerifyingKey::from_jwk(jwk) {
                Ok(k) => {
                    keys.insert(kid.clone(), k);
                }
                Err(e) => last_err = Some(e),
            }
        }
        if keys.is_empty() {
            return Err(
                last_err.unwrap_or_else(|| Error::Missing("a usable key with a kid in the jwks".into()))
            );
        }
        Ok(KeySet { keys })
    }

    /// Adds (or replaces) the key for `kid`.
    pub fn insert(&mut self, kid: impl Into<String>, key: VerifyingKey) {
        self.keys.insert(kid.into(), key);
    }

    /// The key for `kid`.
    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.get(kid)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Verifies a compact JWS against `keys` and returns its header and payload bytes.
/// `alg` must be in `allowed` and equal the algorithm of the key named by `kid`
/// (so `none` and HMAC-with-a-public-key are refused before any crypto).
pub fn decode_verified(
    token: &str,
    keys: &KeySet,
    allowed: &[Algorithm],
) -> Result<(JoseHeader, Vec<u8>), TokenError> {
    verified(token, keys, allowed, |h| Ok(h.to_owned()))
}

/// The header as the verifier reads it: borrowed from the decoded bytes where the JSON
/// has no escapes, so the per-request path allocates no header strings.
#[derive(Deserialize)]
pub(crate) struct HeaderView<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(default)]
    crit: Option<Vec<String>>,
}

impl HeaderView<'_> {
    /// The `typ` member.
    pub(crate) fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    fn to_owned(&self) -> JoseHeader {
        JoseHeader {
            alg: self.alg.to_string(),
            typ: self.typ.as_deref().map(String::from),
            kid: self.kid.as_deref().map(String::from),
            crit: self.crit.clone(),
        }
    }
}

/// Longest header and signature decoded on the stack (an RSA-4096 signature is 512 bytes).
const STACK: usize = 512;

/// `segment` base64url-decoded into `buf` when it fits, else onto the heap.
fn decode_segment<'b>(segment: &str, buf: &'b mut [u8; STACK], heap: &'b mut Vec<u8>) -> Option<&'b [u8]> {
    if segment.len() / 4 * 3 + 3 <= STACK {
        let n = URL_SAFE_NO_PAD.decode_slice(segment, buf).ok()?;
        Some(&buf[..n])
    } else {
        *heap = URL_SAFE_NO_PAD.decode(segment).ok()?;
        Some(heap)
    }
}

/// [`decode_verified`] with the header borrowed: the checks and their order are those of
/// [`split`] then [`decode_verified`]; once the signature verifies, `then` reads the
/// header. Returns what `then` returned and the payload bytes.
pub(crate) fn verified<T>(
    token: &str,
    keys: &KeySet,
    allowed: &[Algorithm],
    then: impl FnOnce(&HeaderView<'_>) -> Result<T, TokenError>,
) -> Result<(T, Vec<u8>), TokenError> {
    let malformed = |d: &str| TokenError::Malformed(d.to_string());
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("expected three dot-separated segments"));
    };
    let (mut header_buf, mut header_heap) = ([0u8; STACK], Vec::new());
    let header_bytes = decode_segment(h, &mut header_buf, &mut header_heap)
        .ok_or_else(|| malformed("header is not base64url"))?;
    let header: HeaderView<'_> =
        serde_json::from_slice(header_bytes).map_err(|e| TokenError::Malformed(format!("header: {e}")))?;
    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| malformed("payload is not base64url"))?;
    let (mut signature_buf, mut signature_heap) = ([0u8; STACK], Vec::new());
    let signature = decode_segment(s, &mut signature_buf, &mut signature_heap)
        .ok_or_else(|| malformed("signature is not base64url"))?;
    let alg = Algorithm::parse(&header.alg).filter(|a| allowed.contains(a)).ok_or_else(|| {
        let names: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        TokenError::AlgorithmNotAllowed {
            received: header.alg.to_string(),
            expected: format!("one of {}", names.join(", ")),
        }
    })?;
    if let Some(crit) = &header.crit {
        return Err(TokenError::Malformed(format!("unsupported critical header parameters {crit:?}")));
    }
    let kid = header.kid.as_deref().ok_or_else(|| TokenError::UnknownKey("(none)".into()))?;
    let key = keys.get(kid).ok_or_else(|| TokenError::UnknownKey(kid.to_string()))?;
    if key.alg != alg {
        return Err(TokenError::AlgorithmNotAllowed {
            received: alg.to_string(),
            expected: format!("{} (the algorithm of key `{kid}`)", key.alg),
        });
    }
    key.verify(&token.as_bytes()[..h.len() + 1 + p.len()], signature)?;
    Ok((then(&header)?, payload))
}

#[cfg(test)]
mod tests;
