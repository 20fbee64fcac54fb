//! The Identity Assertion JWT Authorization Grant (ID-JAG,
//! draft-ietf-oauth-identity-assertion-authz-grant §3), as the MCP extension
//! `io.modelcontextprotocol/enterprise-managed-authorization` (SEP-990, ext-auth
//! `specification/stable/enterprise-managed-authorization.mdx`) profiles it, and the
//! identifiers of the two exchanges around it: the token exchange (RFC 8693) at the
//! enterprise IdP that issues it ([`crate::enterprise_idp`]), and the JWT bearer grant
//! (RFC 7523 §2.1) at the authorization server that takes it
//! ([`crate::authorization_server::jwt_bearer`]).
//!
//! ```
//! use mcp_authz_reference::id_jag::{IdJagClaims, TYP};
//! use mcp_authz_reference::jwt::{self, Algorithm, SigningKey};
//! use mcp_authz_reference::sans_io::{Env, Time};
//! use rand_core::SeedableRng;
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! let mut env = Env::new(Time::from_unix_secs(1_700_000_000), &mut rng);
//! let key = SigningKey::generate(Algorithm::ES256, "idp-key", &mut env).unwrap();
//! let claims = IdJagClaims {
//!     iss: "https://idp.example".into(),
//!     sub: "alice".into(),
//!     aud: "https://as.example".into(),
//!     resource: Some("https://mcp.example/mcp".into()),
//!     client_id: "agent".into(),
//!     jti: "j1".into(),
//!     iat: 1_700_000_000,
//!     exp: 1_700_000_300,
//!     scope: Some("mcp:read".into()),
//! };
//! let grant = claims.sign(&key).unwrap();
//! assert_eq!(jwt::split(&grant).unwrap().header.typ.as_deref(), Some(TYP));
//! ```

use crate::Result;
use crate::jwt::{self, SigningKey};
use serde::{Deserialize, Serialize};

/// The `typ` header of an ID-JAG (draft §3.1; the EMA extension, §4.3 of its draft
/// text: "The `typ` claim of the JWT indicated in the JWT header **MUST** be
/// `oauth-id-jag+jwt`").
pub const TYP: &str = "oauth-id-jag+jwt";

/// True when a JOSE `typ` names an ID-JAG: [`TYP`], with or without the `application/`
/// prefix a recipient "MUST treat it as if" it had (RFC 7515 §4.1.9), in any case (media
/// types are case-insensitive, RFC 2045 §5.1).
pub fn is_typ(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ.strip_prefix("application/").unwrap_or(&typ) == TYP
}
/// The token type of an ID-JAG, as `requested_token_type` and `issued_token_type` of the
/// token exchange (RFC 8693 §3).
pub const TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// The grant profile an authorization server that takes ID-JAGs lists in
/// `authorization_grant_profiles_supported` (draft §7.2; EMA §6 Discovery).
pub const GRANT_PROFILE: &str = "urn:ietf:params:oauth:grant-profile:id-jag";
/// The metadata member that lists grant profiles (draft §7.2).
pub const GRANT_PROFILES_SUPPORTED: &str = "authorization_grant_profiles_supported";
/// `grant_type` of the JWT bearer grant (RFC 7523 §2.1), with which an ID-JAG or a
/// workload JWT buys an access token.
pub const JWT_BEARER: &str = crate::metadata::Grant::JwtBearer.as_str();
/// `grant_type` of the token exchange (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// `subject_token_type` of an OpenID Connect ID token (RFC 8693 §3).
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// `token_type` of a token exchange response whose token is not an access token
/// (RFC 8693 §2.2.1; EMA §4.2).
pub const NOT_APPLICABLE: &str = "N_A";

/// The claims of an ID-JAG (draft §3.1; EMA §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdJagClaims {
    /// The IdP's issuer URL.
    pub iss: String,
    /// The user, as the MCP server's authorization server knows them.
    pub sub: String,
    /// The issuer URL of the MCP server's authorization server.
    pub aud: String,
    /// The MCP server's resource identifier (RFC 9728); optional in the stable text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The client the grant was issued to, as registered at that authorization server.
    pub client_id: String,
    /// A unique identifier (the authorization server refuses it a second time).
    pub jti: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// The scopes granted, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl IdJagClaims {
    /// Signs the claims as an ID-JAG: `typ` [`TYP`], `alg` and `kid` of `key`.
    pub fn sign(&self, key: &SigningKey) -> Result<String> {
        jwt::encode(key, TYP, self)
    }
}
