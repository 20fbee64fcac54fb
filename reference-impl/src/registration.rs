//! Dynamic client registration (RFC 7591): the client metadata a client sends and the
//! client information an authorization server returns. Client ID metadata documents
//! reuse [`ClientMetadata`] with `client_id` set to the document's own URL.
//!
//! The checks an authorization server applies to registered metadata are here too:
//! [`check_redirect_uris`] (`invalid_redirect_uri`) and [`check_client_metadata`]
//! (`invalid_client_metadata`).
//!
//! ```
//! use mcp_authz_reference::registration::check_redirect_uris;
//! assert!(check_redirect_uris(&["http://127.0.0.1:3000/callback".into()]).is_ok());
//! assert!(check_redirect_uris(&["http://app.example/callback".into()]).is_err());
//! ```

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Client metadata (RFC 7591 §2), as sent in a registration request or published as a
/// client ID metadata document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClientMetadata {
    /// For a client ID metadata document: the URL of the document itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Redirect URIs (https, or http on loopback; no fragment).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// `none`, `client_secret_basic`, `client_secret_post` or `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// Grant types the client will use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    /// Response types the client will use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types: Option<Vec<String>>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// Space-separated scopes the client may request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// URL of the client's JWKS (for `private_key_jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// The client's JWKS by value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<crate::jwt::Jwks>,
    /// `native` or `web` (OpenID Connect Dynamic Client Registration §2; MCP clients
    /// send it since SEP-837). Absent means [`DEFAULT_APPLICATION_TYPE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_type: Option<String>,
    /// RFC 9449 §5.2: the client always uses DPoP at the token endpoint, so the AS must
    /// refuse its token requests without a proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_bound_access_tokens: Option<bool>,
    /// Any other member, kept for round trips.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// Client information response (RFC 7591 §3.2.1): the metadata as registered plus the
/// credentials issued.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClientInformation {
    /// The issued client identifier.
    pub client_id: String,
    /// The issued secret, for confidential clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// When the id was issued (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_issued_at: Option<u64>,
    /// When the secret expires; 0 for never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<u64>,
    /// The metadata as registered (the server may have changed it, e.g. the scope).
    #[serde(flatten)]
    pub metadata: ClientMetadata,
}

/// The `application_type` of a client that registers without one: OpenID Connect Dynamic
/// Client Registration §2, "If omitted, the default value is web" (as MCP 2026-07-28
/// client-registration §Application Type and Redirect URI Constraints recalls).
pub const DEFAULT_APPLICATION_TYPE: &str = "web";

/// Token endpoint authentication methods an authorization server may accept.
pub const AUTH_METHODS: [&str; 4] = ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"];

impl ClientMetadata {
    /// `token_endpoint_auth_method`, or its RFC 7591 §2 default `client_secret_basic`.
    pub fn auth_method(&self) -> &str {
        self.token_endpoint_auth_method.as_deref().unwrap_or("client_secret_basic")
    }

    /// `grant_types`, or its RFC 7591 §2 default `["authorization_code"]`.
    pub fn grant_types_or_default(&self) -> Vec<String> {
        self.grant_types.clone().unwrap_or_else(|| vec!["authorization_code".into()])
    }
}

/// Checks one redirect URI: absolute, `https` (or `http` on a loopback host, RFC 8252
/// §7.3), without fragment (RFC 6749 §3.1.2) or userinfo, visible ASCII only (so it can
/// go in a `Location` header as is).
pub fn check_redirect_uri(uri: &str) -> Result<()> {
    let expected = "an absolute https uri, or http on a loopback host, without fragment";
    let unexpected = || Error::unexpected("redirect_uri", format!("`{uri}`"), expected);
    if uri.contains('#') || !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(unexpected());
    }
    let url = url::Url::parse(uri).map_err(|_| unexpected())?;
    let secure = match url.scheme() {
        "https" => url.host_str().is_some(),
        "http" => crate::metadata::is_loopback(&url),
        _ => false,
    };
    if !secure || !url.username().is_empty() || url.password().is_some() {
        return Err(unexpected());
    }
    Ok(())
}

/// Checks a list of redirect URIs: at least one, each valid per [`check_redirect_uri`].
pub fn check_redirect_uris(uris: &[String]) -> Result<()> {
    if uris.is_empty() {
        return Err(Error::Missing("redirect_uris (at least one)".into()));
    }
    uris.iter().try_for_each(|u| check_redirect_uri(u))
}

/// Checks the metadata of a client that authenticates with `auth_method`: the method is
/// known; `private_key_jwt` comes with an inline `jwks` (`jwks_uri` is not supported);
/// grant types are `authorization_code` and `refresh_token`, plus `client_credentials`
/// for a confidential client; response types are `code` only.
pub fn check_client_metadata(m: &ClientMetadata, auth_method: &str) -> Result<()> {
    if !AUTH_METHODS.contains(&auth_method) {
        return Err(Error::unexpected(
            "token_endpoint_auth_method",
            format!("`{auth_method}`"),
            format!("one of {AUTH_METHODS:?}"),
        ));
    }
    if auth_method == "private_key_jwt" && m.jwks.as_ref().is_none_or(|j| j.keys.is_empty()) {
        return Err(Error::Missing("jwks (private_key_jwt needs the client's public keys inline)".into()));
    }
    let public = auth_method == "none";
    for g in m.grant_types_or_default() {
        let ok = matches!(g.as_str(), "authorization_code" | "refresh_token")
            || (!public && g == "client_credentials");
        if !ok {
            let expected = if public {
                "authorization_code or refresh_token"
            } else {
                "authorization_code, refresh_token or client_credentials"
            };
            return Err(Error::unexpected("grant_types", format!("`{g}`"), expected));
        }
    }
    if let Some(t) = m.response_types.iter().flatten().find(|t| *t != "code") {
        return Err(Error::unexpected("response_types", format!("`{t}`"), "`code` only"));
    }
    Ok(())
}

/// The scopes a registered client gets: those of `requested` (space-separated) that are
/// in `allowed`, or all of `allowed` when nothing is requested.
pub fn narrow_scope(requested: Option<&str>, allowed: &[String]) -> Vec<String> {
    match requested {
        Some(r) => allowed.iter().filter(|a| r.split(' ').any(|s| s == a.as_str())).cloned().collect(),
        None => allowed.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        for good in [
            "https://app.example/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "http://localhost/cb?x=1",
        ] {
            check_redirect_uri(good).unwrap();
        }
        for bad in [
            "http://app.example/cb",
            "https://app.example/cb#f",
            "/cb",
            "javascript:alert(1)",
            "com.app:/cb",
            "https://u:p@app.example/cb",
            "https://app.example/c\nb",
            "https://app.example/c b",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
        assert!(check_redirect_uris(&[]).is_err());
    }

    #[test]
    fn metadata_rules() {
        let m = |grants: &[&str]| ClientMetadata {
            grant_types: Some(grants.iter().map(|g| g.to_string()).collect()),
            ..Default::default()
        };
        check_client_metadata(&m(&["authorization_code", "refresh_token"]), "none").unwrap();
        check_client_metadata(&m(&["client_credentials"]), "client_secret_basic").unwrap();
        assert!(check_client_metadata(&m(&["client_credentials"]), "none").is_err());
        assert!(check_client_metadata(&m(&["implicit"]), "client_secret_post").is_err());
        assert!(check_client_metadata(&m(&[]), "tls_client_auth").is_err());
        assert!(check_client_metadata(&m(&[]), "private_key_jwt").is_err());
        let token = ClientMetadata { response_types: Some(vec!["token".into()]), ..Default::default() };
        assert!(check_client_metadata(&token, "none").is_err());
    }

    #[test]
    fn scope_is_narrowed() {
        let allowed = vec!["mcp:read".to_string(), "mcp:write".to_string()];
        assert_eq!(narrow_scope(Some("mcp:read mcp:admin"), &allowed), ["mcp:read"]);
        assert_eq!(narrow_scope(None, &allowed), allowed);
    }
}
