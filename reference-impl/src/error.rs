//! The one error type of this crate.
//!
//! Variants are grouped by who is at fault: the peer that sent a message (`Malformed`,
//! `Unexpected`, ...), a token that does not validate (`InvalidToken`), a policy of ours
//! that refuses what a peer offers (`Refused`), the network (`Fetch`). Messages are
//! lowercase and say what was received and what was expected.

use crate::oauth_error::ErrorCode;
use std::fmt;

/// Everything that can go wrong in the reference roles and their parsers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A peer sent bytes that do not parse as the expected structure.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being parsed ("jwt", "form body", "www-authenticate header", ...).
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A required parameter or field is absent.
    #[error("missing {0}")]
    Missing(String),
    /// A parameter appeared more than once where the protocol allows one.
    #[error("parameter `{0}` is repeated; it must appear once")]
    RepeatedParameter(String),
    /// A field had a value other than the one required.
    #[error("{what}: received {received}, expected {expected}")]
    Unexpected {
        /// The field or property compared.
        what: &'static str,
        /// The value received (already rendered).
        received: String,
        /// The value or constraint expected.
        expected: String,
    },
    /// An access token (or other JWT) failed validation.
    #[error("invalid token: {0}")]
    InvalidToken(TokenError),
    /// A peer returned an OAuth error response (RFC 6749 §5.2, RFC 7591 §3.2.2).
    #[error("{endpoint} answered {status} with error `{error}`{}", describe(.description))]
    OAuth {
        /// Which endpoint answered.
        endpoint: &'static str,
        /// HTTP status received.
        status: u16,
        /// The `error` code received.
        error: ErrorCode,
        /// The `error_description`, when sent.
        description: Option<String>,
    },
    /// A peer answered with an HTTP status we did not expect.
    #[error("{what} answered HTTP {received}, expected {expected}")]
    HttpStatus {
        /// The request that was made.
        what: &'static str,
        /// Status received.
        received: u16,
        /// Status or class expected.
        expected: &'static str,
    },
    /// Our own policy refuses what a peer offered (insecure URL, no PKCE S256, ...).
    #[error("refused: {0}")]
    Refused(String),
    /// A network exchange failed (refused, timeout, too large, ...).
    #[error("fetch of {url} failed: {reason}")]
    Fetch {
        /// The URL fetched.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// A local misconfiguration (bad key material, bad URL in our own config).
    #[error("configuration: {0}")]
    Config(String),
}

fn describe(d: &Option<String>) -> String {
    match d {
        Some(d) => format!(" ({d})"),
        None => String::new(),
    }
}

/// Why a token was rejected: an access token, or a DPoP proof (RFC 9449 §4.3), which is
/// a JWT too. An access token's errors map to `error="invalid_token"` at a resource
/// server; a proof's (the variants from [`TokenError::ProofHeaders`] on, and the shared
/// ones a proof fails with: `Malformed`, `AlgorithmNotAllowed`, `BadSignature`, `Claim`)
/// to `invalid_dpop_proof`, but [`TokenError::ProofNonce`]'s to `use_dpop_nonce`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// Not three base64url segments, or a segment is not the JSON it must be.
    Malformed(String),
    /// `alg` not on the allow-list (includes `none` and HMAC against a public key).
    AlgorithmNotAllowed {
        /// The `alg` of the token (and, for a key of another kind, which).
        received: String,
        /// What was allowed instead.
        expected: String,
    },
    /// `typ` is not `at+jwt`.
    WrongType(String),
    /// `kid` names no key in the trusted JWKS.
    UnknownKey(String),
    /// The signature does not verify.
    BadSignature,
    /// `iss` differs from the trusted issuer.
    WrongIssuer {
        /// `iss` received.
        received: String,
        /// Issuer expected.
        expected: String,
    },
    /// `aud` does not contain this resource.
    WrongAudience {
        /// `aud` received, rendered.
        received: String,
        /// This resource's canonical URI.
        expected: String,
    },
    /// `exp` is absent.
    MissingExpiry,
    /// `exp` is in the past.
    Expired {
        /// `exp` received.
        exp: u64,
        /// Current time (seconds).
        now: u64,
    },
    /// `nbf` (or `iat`) is in the future.
    NotYetValid {
        /// `nbf` received.
        nbf: u64,
        /// Current time (seconds).
        now: u64,
    },
    /// A required claim is absent or of the wrong type.
    Claim(String),
    /// The token was revoked or is otherwise inactive (introspection `active: false`).
    Inactive,
    /// A request carried no `DPoP` header, or more than one (RFC 9449 §4.3 check 1).
    ProofHeaders(usize),
    /// A DPoP proof's `typ` is not `dpop+jwt` (RFC 9449 §4.3 check 4).
    WrongProofType(String),
    /// A DPoP proof's `jwk` holds private key members (RFC 9449 §4.3 check 7).
    PrivateKeyInProof(String),
    /// A DPoP proof's `htm` is not the request's method (RFC 9449 §4.3 check 8).
    WrongMethod {
        /// `htm` received.
        received: String,
        /// The request's method.
        expected: String,
    },
    /// A DPoP proof's `htu` is not the request's URI (RFC 9449 §4.3 check 9).
    WrongUrl {
        /// `htu` received.
        received: String,
        /// The request's URI, without query and fragment.
        expected: String,
    },
    /// A DPoP proof's `nonce` is absent or not one this server provided (RFC 9449 §4.3
    /// check 10, §9): answered with `use_dpop_nonce` and a fresh nonce.
    ProofNonce(Option<String>),
    /// A DPoP proof's `iat` is outside the window accepted around now (RFC 9449 §4.3
    /// check 11).
    ProofTime {
        /// `iat` received.
        iat: u64,
        /// Current time (seconds).
        now: u64,
        /// The window accepted either side of now (seconds).
        window: u64,
    },
    /// A DPoP proof's `jti` was seen before within the window (RFC 9449 §11.1).
    Replayed(String),
    /// A DPoP proof's `ath` is absent or not the hash of the presented access token
    /// (RFC 9449 §4.3 check 12).
    WrongAth(Option<String>),
    /// A DPoP proof's key is not the key the access token is bound to (`cnf.jkt`, RFC
    /// 9449 §4.3 check 12, §6.1).
    WrongProofKey {
        /// The RFC 7638 thumbprint of the proof's `jwk`.
        received: String,
        /// The token's `cnf.jkt`.
        expected: String,
    },
    /// A DPoP-bound access token presented with the `Bearer` scheme (RFC 9449 §7.2).
    BoundTokenAsBearer,
    /// An access token without `cnf.jkt` presented with the `DPoP` scheme (RFC 9449 §7.1).
    NotBound,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(d) => write!(f, "malformed jwt: {d}"),
            Self::AlgorithmNotAllowed { received, expected } => {
                write!(f, "alg `{received}` is not allowed, expected {expected}")
            }
            Self::WrongType(t) => write!(f, "typ: received `{t}`, expected `at+jwt`"),
            Self::UnknownKey(k) => write!(f, "kid `{k}` is not in the trusted jwks"),
            Self::BadSignature => write!(f, "signature does not verify"),
            Self::WrongIssuer { received, expected } => {
                write!(f, "iss: received `{received}`, expected `{expected}`")
            }
            Self::WrongAudience { received, expected } => {
                write!(f, "aud: received {received}, expected it to contain `{expected}`")
            }
            Self::MissingExpiry => write!(f, "exp: missing, expected a number"),
            Self::Expired { exp, now } => write!(f, "exp: {exp} is before now ({now})"),
            Self::NotYetValid { nbf, now } => write!(f, "nbf: {nbf} is after now ({now})"),
            Self::Claim(d) => write!(f, "claim {d}"),
            Self::Inactive => write!(f, "token is revoked or inactive"),
            Self::ProofHeaders(n) => write!(f, "dpop header: received {n}, expected exactly one"),
            Self::WrongProofType(t) => write!(f, "dpop proof typ: received `{t}`, expected `dpop+jwt`"),
            Self::PrivateKeyInProof(m) => {
                write!(f, "dpop proof jwk: received private member(s) {m}, expected a public key only")
            }
            Self::WrongMethod { received, expected } => {
                write!(f, "dpop proof htm: received `{received}`, expected `{expected}`")
            }
            Self::WrongUrl { received, expected } => {
                write!(f, "dpop proof htu: received `{received}`, expected `{expected}`")
            }
            Self::ProofNonce(None) => {
                write!(f, "dpop proof nonce: received none, expected the server's nonce")
            }
            Self::ProofNonce(Some(n)) => {
                write!(f, "dpop proof nonce: received `{n}`, expected a current nonce of this server")
            }
            Self::ProofTime { iat, now, window } => {
                write!(f, "dpop proof iat: received {iat}, expected within {window} s of now ({now})")
            }
            Self::Replayed(jti) => write!(f, "dpop proof jti: received `{jti}` again, expected a new one"),
            Self::WrongAth(None) => {
                write!(f, "dpop proof ath: received none, expected the access token's hash")
            }
            Self::WrongAth(Some(a)) => {
                write!(f, "dpop proof ath: received `{a}`, expected the hash of the presented access token")
            }
            Self::WrongProofKey { received, expected } => write!(
                f,
                "dpop proof key: received thumbprint `{received}`, expected `{expected}` (the token's cnf.jkt)"
            ),
            Self::BoundTokenAsBearer => write!(
                f,
                "received a dpop-bound access token (cnf.jkt) with the Bearer scheme, expected `Authorization: DPoP` and a proof"
            ),
            Self::NotBound => write!(
                f,
                "received an access token without cnf.jkt with the DPoP scheme, expected a dpop-bound token"
            ),
        }
    }
}

impl From<TokenError> for Error {
    fn from(e: TokenError) -> Self {
        Error::InvalidToken(e)
    }
}

/// Shorthand for `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A [`Error::Malformed`] with a rendered detail.
    pub fn malformed(what: &'static str, detail: impl fmt::Display) -> Self {
        Error::Malformed { what, detail: detail.to_string() }
    }

    /// A [`Error::Unexpected`] with rendered values.
    pub fn unexpected(what: &'static str, received: impl fmt::Display, expected: impl fmt::Display) -> Self {
        Error::Unexpected { what, received: received.to_string(), expected: expected.to_string() }
    }
}
