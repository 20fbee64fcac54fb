//! Token requests and responses (OAuth 2.1 §3.2, RFC 6749 §5): the authorization code
//! and refresh token grants of the public client, the client credentials grant of the
//! confidential client, and the client authentication methods of RFC 6749 §2.3.1 and
//! RFC 7523 (`private_key_jwt`).

use crate::jwt::{self, SigningKey};
use crate::resource_indicator::same_resource;
use crate::sans_io::{Env, Request, Response, Time};
use crate::wire::{self, encode_pairs};
use crate::{Error, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Lifetime of a `private_key_jwt` client assertion.
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(60);

/// How a client authenticates at the token endpoint. `Debug` hides the secret.
pub enum ClientAuth {
    /// A public client: `client_id` in the body, no secret (`none`).
    None,
    /// `client_secret_basic`: the id and secret in an `Authorization: Basic` header.
    SecretBasic(String),
    /// `client_secret_post`: the id and secret in the form body.
    SecretPost(String),
    /// `private_key_jwt` (RFC 7523 §2.2): a signed assertion in the form body.
    PrivateKeyJwt(SigningKey),
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuth::None => f.write_str("None"),
            ClientAuth::SecretBasic(_) => f.write_str("SecretBasic(..)"),
            ClientAuth::SecretPost(_) => f.write_str("SecretPost(..)"),
            ClientAuth::PrivateKeyJwt(key) => f.debug_tuple("PrivateKeyJwt").field(key).finish(),
        }
    }
}

/// Claims of a `private_key_jwt` client assertion (RFC 7523 §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientAssertionClaims {
    /// The client id.
    pub iss: String,
    /// The client id.
    pub sub: String,
    /// The token endpoint (or the configured audience).
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issue time, seconds since the epoch.
    pub iat: u64,
    /// A fresh random identifier.
    pub jti: String,
}

/// A token request to `endpoint`: `grant` parameters plus client authentication per
/// `auth`. `client_id` goes in the body except with `client_secret_basic`, where it is in
/// the header. `assertion_audience` is the `aud` of a `private_key_jwt` assertion.
pub fn token_request(
    endpoint: &str,
    client_id: &str,
    auth: &ClientAuth,
    assertion_audience: &str,
    grant: &[(&str, &str)],
    env: &mut Env<'_>,
) -> Result<Request> {
    let mut pairs: Vec<(&str, &str)> = grant.to_vec();
    let assertion;
    match auth {
        ClientAuth::None => pairs.push(("client_id", client_id)),
        ClientAuth::SecretBasic(_) => {}
        ClientAuth::SecretPost(secret) => {
            pairs.push(("client_id", client_id));
            pairs.push(("client_secret", secret));
        }
        ClientAuth::PrivateKeyJwt(key) => {
            let iat = env.now.unix_secs();
            let claims = ClientAssertionClaims {
                iss: client_id.to_string(),
                sub: client_id.to_string(),
                aud: assertion_audience.to_string(),
                exp: env.now.plus(ASSERTION_LIFETIME).unix_secs(),
                iat,
                jti: env.random_string(16),
            };
            assertion = jwt::encode(key, "JWT", &claims)?;
            pairs.push(("client_id", client_id));
            pairs.push(("client_assertion_type", JWT_BEARER_ASSERTION));
            pairs.push(("client_assertion", &assertion));
        }
    }
    let mut request = wire::post_form_request(endpoint, &encode_pairs(pairs))?;
    if let ClientAuth::SecretBasic(secret) = auth {
        request.headers_mut().insert(header::AUTHORIZATION, basic_authorization(client_id, secret)?);
    }
    Ok(request)
}

/// `Authorization: Basic` for `client_secret_basic`: id and secret form-urlencoded
/// before base64 (RFC 6749 §2.3.1).
fn basic_authorization(client_id: &str, secret: &str) -> Result<HeaderValue> {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = STANDARD.encode(format!("{}:{}", enc(client_id), enc(secret)));
    let mut v = HeaderValue::from_str(&format!("Basic {credentials}"))
        .map_err(|e| Error::Config(format!("cannot build a basic authorization header: {e}")))?;
    v.set_sensitive(true);
    Ok(v)
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// The token type; must be `Bearer` (case-insensitive).
    pub token_type: String,
    /// Lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// A refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The granted scope, when it differs from the requested one (or always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Any other member.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// Reads a token endpoint response: 200 with a JSON body holding a non-empty
/// `access_token` of `token_type` `Bearer` or `DPoP`; an OAuth error body becomes [`Error::OAuth`].
pub fn read_token_response(r: &Response) -> Result<TokenResponse> {
    if r.status() != StatusCode::OK {
        return Err(wire::error_from_response("token endpoint", r));
    }
    let t: TokenResponse = wire::parse_json("token response", r.body())?;
    if !t.token_type.eq_ignore_ascii_case("bearer") && !t.token_type.eq_ignore_ascii_case(crate::dpop::SCHEME)
    {
        return Err(Error::unexpected("token_type", format!("`{}`", t.token_type), "`Bearer` or `DPoP`"));
    }
    if !is_b64token(&t.access_token) {
        return Err(Error::unexpected(
            "access_token",
            format!("{} characters that are not a b64token", t.access_token.len()),
            "a non-empty b64token (RFC 6750 §2.1), the only form an authorization header carries",
        ));
    }
    Ok(t)
}

/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="` (RFC 6750 §2.1).
fn is_b64token(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(crate::bearer::is_token68_char)
}

/// The tokens a client holds for one MCP server. `Debug` hides the tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// The access token.
    pub access_token: String,
    /// The refresh token, replaced whenever the AS rotates it.
    pub refresh_token: Option<String>,
    /// When the access token expires (`None` when the AS did not say).
    pub expires_at: Option<Time>,
    /// The granted scope (the requested one when the response did not say).
    pub scope: Option<String>,
    /// The scope the authorization asked for (`None`: none was asked for, or the client
    /// does not know, as for restored tokens): with `scope`, what a step-up keeps.
    pub requested_scope: Option<String>,
    /// The canonical URI of the MCP server the token was requested for: the only server it
    /// is ever sent to.
    pub resource: String,
    /// The issuer of the token (`None` when the client never learned it).
    pub issuer: Option<String>,
    /// The access token is bound to the client's DPoP key (`token_type` `DPoP`, RFC 9449
    /// §5): it goes with `Authorization: DPoP` and a proof.
    pub dpop: bool,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"..")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| ".."))
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("requested_scope", &self.requested_scope)
            .field("resource", &self.resource)
            .field("issuer", &self.issuer)
            .field("dpop", &self.dpop)
            .finish()
    }
}

impl TokenSet {
    /// The tokens of response `t`, requested with `requested_scope` for `resource` from
    /// `issuer`, received at `now`.
    pub fn from_response(
        t: TokenResponse,
        requested_scope: Option<String>,
        resource: &str,
        issuer: Option<String>,
        now: Time,
    ) -> Self {
        TokenSet {
            dpop: t.token_type.eq_ignore_ascii_case(crate::dpop::SCHEME),
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_at: t.expires_in.map(|s| now.plus(Duration::from_secs(s))),
            scope: t.scope.or_else(|| requested_scope.clone()),
            requested_scope,
            resource: resource.to_string(),
            issuer,
        }
    }

    /// Applies a refresh response: new access token, the rotated refresh token (the old
    /// one is kept when none is returned), new expiry, scope if returned.
    pub fn refreshed(&mut self, t: TokenResponse, now: Time) {
        self.dpop = t.token_type.eq_ignore_ascii_case(crate::dpop::SCHEME);
        self.access_token = t.access_token;
        if t.refresh_token.is_some() {
            self.refresh_token = t.refresh_token;
        }
        self.expires_at = t.expires_in.map(|s| now.plus(Duration::from_secs(s)));
        if t.scope.is_some() {
            self.scope = t.scope;
        }
    }

    /// True when the access token expires within `margin` of `now`.
    pub fn expires_within(&self, now: Time, margin: Duration) -> bool {
        self.expires_at.is_some_and(|e| now.plus(margin) >= e)
    }

    /// True when the token was issued for the MCP server at `server_url` (CL-25).
    pub fn is_for(&self, server_url: &str) -> bool {
        same_resource(&self.resource, server_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth_error::ErrorCode;
    use crate::wire::Params;
    use rand_core::SeedableRng;

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let mut env = Env::new(Time::from_unix_secs(10), &mut rng);
        let auth = ClientAuth::SecretBasic("s:e c".into());
        let r = token_request("https://as.example/token", "a b", &auth, "", &[("grant_type", "x")], &mut env)
            .unwrap();
        let h = r.headers().get(header::AUTHORIZATION).unwrap().to_str().unwrap();
        assert_eq!(h, format!("Basic {}", STANDARD.encode("a+b:s%3Ae+c")));
        assert_eq!(Params::parse(r.body()).unwrap().get("client_id"), None);
    }

    #[test]
    fn token_type_must_be_bearer_or_dpop() {
        let r = wire::json(StatusCode::OK, &serde_json::json!({"access_token": "a", "token_type": "MAC"}));
        let e = read_token_response(&r).unwrap_err();
        assert_eq!(e, Error::unexpected("token_type", "`MAC`", "`Bearer` or `DPoP`"));
        let r = wire::json(StatusCode::OK, &serde_json::json!({"access_token": "a", "token_type": "DPoP"}));
        assert!(read_token_response(&r).is_ok());
        let r = wire::json(StatusCode::OK, &serde_json::json!({"access_token": "a", "token_type": "bEaReR"}));
        assert!(read_token_response(&r).is_ok());
    }

    #[test]
    fn access_token_must_fit_an_authorization_header() {
        for bad in ["", "a b", "a\r\nx-injected: 1", "==", "tok=en"] {
            let body = serde_json::json!({"access_token": bad, "token_type": "Bearer"});
            let e = read_token_response(&wire::json(StatusCode::OK, &body)).unwrap_err();
            assert!(matches!(e, Error::Unexpected { what: "access_token", .. }), "{bad:?}");
        }
        let body = serde_json::json!({"access_token": "eyJ.a-b_c~d+e/f==", "token_type": "Bearer"});
        assert!(read_token_response(&wire::json(StatusCode::OK, &body)).is_ok());
    }

    #[test]
    fn oauth_error_is_reported() {
        let r = wire::oauth_error(StatusCode::BAD_REQUEST, ErrorCode::InvalidGrant, "used");
        assert!(matches!(
            read_token_response(&r),
            Err(Error::OAuth { status: 400, ref error, .. }) if *error == ErrorCode::InvalidGrant
        ));
    }
}
