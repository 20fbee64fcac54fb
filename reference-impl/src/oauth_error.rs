//! OAuth error codes: the `error` of an error response (RFC 6749 §4.1.2.1 and §5.2),
//! of a `WWW-Authenticate: Bearer` challenge (RFC 6750 §3.1) and of the extensions the
//! roles speak (RFC 7591, RFC 8707, RFC 7009, RFC 9449).
//!
//! [`ErrorCode`] is generated from one table, each row with the code as sent on the wire
//! and the section that defines it. A code read from a peer that is not in the table is
//! kept as [`ErrorCode::Other`], so nothing a peer says is lost. Equality, hashing and
//! serialization go by the code string alone.
//!
//! ```
//! use mcp_authz_reference::oauth_error::ErrorCode;
//! assert_eq!(ErrorCode::InvalidGrant.as_str(), "invalid_grant");
//! assert_eq!(ErrorCode::parse("invalid_grant"), ErrorCode::InvalidGrant);
//! assert_eq!(ErrorCode::parse("login_required"), ErrorCode::Other("login_required".into()));
//! assert!(ErrorCode::InvalidTarget == "invalid_target");
//! assert_eq!(ErrorCode::InvalidTarget.spec(), Some("RFC 8707 §2"));
//! ```

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

macro_rules! error_codes {
    ($( $variant:ident = $code:literal, $spec:literal, $doc:literal; )*) => {
        /// An OAuth error code, as sent in `error` (JSON body, redirect query, or
        /// `WWW-Authenticate` parameter).
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( #[doc = concat!("`", $code, "` (", $spec, "): ", $doc)] $variant, )*
            /// A code not in the table, as received from a peer.
            Other(String),
        }

        impl ErrorCode {
            /// Every code of the table, in declaration order (not [`ErrorCode::Other`]).
            pub const KNOWN: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The code of the table spelled `code` exactly, or `None`.
            pub fn known(code: &str) -> Option<ErrorCode> {
                match code {
                    $( $code => Some(ErrorCode::$variant), )*
                    _ => None,
                }
            }

            /// The code as sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( ErrorCode::$variant => $code, )*
                    ErrorCode::Other(code) => code,
                }
            }

            /// The specification sections that define the code; `None` for
            /// [`ErrorCode::Other`].
            pub fn spec(&self) -> Option<&'static str> {
                match self {
                    $( ErrorCode::$variant => Some($spec), )*
                    ErrorCode::Other(_) => None,
                }
            }

            /// What the code means; `None` for [`ErrorCode::Other`].
            pub fn description(&self) -> Option<&'static str> {
                match self {
                    $( ErrorCode::$variant => Some($doc), )*
                    ErrorCode::Other(_) => None,
                }
            }
        }
    };
}

error_codes! {
    // RFC 6749: authorization and token endpoints
    InvalidRequest = "invalid_request", "RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1", "a parameter is missing, repeated, unsupported or malformed";
    InvalidClient = "invalid_client", "RFC 6749 §5.2", "client authentication failed, or the client is unknown";
    InvalidGrant = "invalid_grant", "RFC 6749 §5.2", "the authorization code or refresh token is invalid, expired, revoked, or bound to another client or redirect URI";
    UnauthorizedClient = "unauthorized_client", "RFC 6749 §4.1.2.1, §5.2", "the client may not use this grant type or response type";
    UnsupportedGrantType = "unsupported_grant_type", "RFC 6749 §5.2", "the server does not support the grant type";
    InvalidScope = "invalid_scope", "RFC 6749 §4.1.2.1, §5.2", "the requested scope is invalid, unknown, or exceeds what was granted";
    AccessDenied = "access_denied", "RFC 6749 §4.1.2.1", "the resource owner or the server denied the request";
    UnsupportedResponseType = "unsupported_response_type", "RFC 6749 §4.1.2.1", "the server does not support the response type";
    ServerError = "server_error", "RFC 6749 §4.1.2.1", "the server met an unexpected condition";
    TemporarilyUnavailable = "temporarily_unavailable", "RFC 6749 §4.1.2.1", "the server is overloaded or under maintenance";
    // RFC 6750: bearer token challenges
    InvalidToken = "invalid_token", "RFC 6750 §3.1", "the access token is expired, revoked, malformed or invalid";
    InsufficientScope = "insufficient_scope", "RFC 6750 §3.1", "the request needs more scope than the access token grants";
    // RFC 7591: dynamic client registration
    InvalidRedirectUri = "invalid_redirect_uri", "RFC 7591 §3.2.2", "a registered redirect URI is invalid";
    InvalidClientMetadata = "invalid_client_metadata", "RFC 7591 §3.2.2", "a client metadata field is invalid";
    InvalidSoftwareStatement = "invalid_software_statement", "RFC 7591 §3.2.2", "the software statement is invalid";
    UnapprovedSoftwareStatement = "unapproved_software_statement", "RFC 7591 §3.2.2", "the software statement is not approved";
    // RFC 8707: resource indicators
    InvalidTarget = "invalid_target", "RFC 8707 §2", "the requested resource is invalid, unknown, or not allowed";
    // RFC 7009: token revocation
    UnsupportedTokenType = "unsupported_token_type", "RFC 7009 §2.2.1", "the server cannot revoke tokens of this type";
    // RFC 9449: DPoP
    InvalidDpopProof = "invalid_dpop_proof", "RFC 9449 §5, §7.1", "the DPoP proof is missing, malformed or invalid";
    UseDpopNonce = "use_dpop_nonce", "RFC 9449 §8, §9", "the DPoP proof must carry the nonce the server provides";
}

impl ErrorCode {
    /// The code spelled `code`: a code of the table, else [`ErrorCode::Other`].
    pub fn parse(code: &str) -> ErrorCode {
        ErrorCode::known(code).unwrap_or_else(|| ErrorCode::Other(code.to_string()))
    }

    /// True for a code of the table (not [`ErrorCode::Other`], whatever it spells).
    pub fn is_known(&self) -> bool {
        !matches!(self, ErrorCode::Other(_))
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = Infallible;
    /// Never fails: an unknown code becomes [`ErrorCode::Other`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ErrorCode::parse(s))
    }
}

impl From<&str> for ErrorCode {
    fn from(code: &str) -> Self {
        ErrorCode::parse(code)
    }
}

impl From<String> for ErrorCode {
    fn from(code: String) -> Self {
        ErrorCode::known(&code).unwrap_or(ErrorCode::Other(code))
    }
}

impl From<ErrorCode> for String {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::Other(code) => code,
            known => known.as_str().to_string(),
        }
    }
}

impl AsRef<str> for ErrorCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

// Equality and hashing go by the code string: `Other("invalid_grant")` is `InvalidGrant`.
impl PartialEq for ErrorCode {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ErrorCode {}

impl Hash for ErrorCode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for ErrorCode {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<ErrorCode> for str {
    fn eq(&self, other: &ErrorCode) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<ErrorCode> for &str {
    fn eq(&self, other: &ErrorCode) -> bool {
        *self == other.as_str()
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Cow::<'de, str>::deserialize(deserializer).map(|code| match code {
            Cow::Borrowed(code) => ErrorCode::parse(code),
            Cow::Owned(code) => ErrorCode::from(code),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_round_trips() {
        for code in ErrorCode::KNOWN {
            assert_eq!(ErrorCode::parse(code.as_str()), *code);
            assert!(ErrorCode::parse(code.as_str()).is_known(), "{code}");
            assert_eq!(code.to_string(), code.as_str());
            assert!(code.spec().is_some_and(|s| s.starts_with("RFC ")), "{code}");
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{code}\""));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *code);
        }
    }

    #[test]
    fn codes_are_distinct() {
        for (i, a) in ErrorCode::KNOWN.iter().enumerate() {
            assert!(ErrorCode::KNOWN[i + 1..].iter().all(|b| a != b), "{a} twice");
        }
    }

    #[test]
    fn unknown_codes_are_kept() {
        let code: ErrorCode = "login_required".parse().unwrap();
        assert_eq!(code, ErrorCode::Other("login_required".into()));
        assert!(!code.is_known());
        assert_eq!((code.as_str(), code.spec()), ("login_required", None));
        assert_eq!(serde_json::from_str::<ErrorCode>(r#""x\"y""#).unwrap(), "x\"y");
        assert_eq!(String::from(code), "login_required");
        // Case matters: codes are compared byte for byte.
        assert!(!ErrorCode::parse("INVALID_GRANT").is_known());
    }

    #[test]
    fn equality_goes_by_the_string() {
        assert_eq!(ErrorCode::Other("invalid_grant".into()), ErrorCode::InvalidGrant);
        assert!(ErrorCode::InvalidGrant == "invalid_grant");
        assert!("invalid_grant" == ErrorCode::InvalidGrant);
        assert!(ErrorCode::InvalidGrant != *"invalid_request");
        let owned = String::from("invalid_grant");
        assert!(ErrorCode::InvalidGrant == owned);
        let hash = |c: &ErrorCode| {
            use std::hash::DefaultHasher;
            let mut h = DefaultHasher::new();
            c.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&ErrorCode::Other("invalid_grant".into())), hash(&ErrorCode::InvalidGrant));
    }
}
