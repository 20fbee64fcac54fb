//! Authorization server metadata: RFC 8414 and OpenID Connect Discovery 1.0.
//!
//! [`AuthorizationServerMetadata`] is the document; [`discovery_urls`] lists the
//! well-known URLs a client probes, in the order MCP authorization (2025-11-25) fixes;
//! [`AuthorizationServerMetadata::check`] applies the client-side rules: `issuer`
//! byte-equal to the issuer the URL was derived from (RFC 8414 §3.3), S256 advertised,
//! endpoints present and safe.
//!
//! ```
//! use mcp_authz_reference::metadata::discovery_urls;
//! assert_eq!(discovery_urls("https://as.example/tenant").unwrap(), [
//!     "https://as.example/.well-known/oauth-authorization-server/tenant",
//!     "https://as.example/.well-known/openid-configuration/tenant",
//!     "https://as.example/tenant/.well-known/openid-configuration",
//! ]);
//! assert_eq!(discovery_urls("https://as.example").unwrap(), [
//!     "https://as.example/.well-known/oauth-authorization-server",
//!     "https://as.example/.well-known/openid-configuration",
//! ]);
//! ```

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use url::Url;

/// Well-known suffix of RFC 8414 metadata.
pub const OAUTH_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
/// Well-known suffix of OpenID Connect Discovery metadata.
pub const OPENID_WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// The grant a client uses, which decides what it requires of the authorization server
/// metadata ([`AuthorizationServerMetadata::check_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// `authorization_code` with PKCE (a user signs in through a user agent).
    AuthorizationCode,
    /// `client_credentials` (OAuth 2.1 §4.2; the MCP extension
    /// `io.modelcontextprotocol/oauth-client-credentials`): a machine client.
    ClientCredentials,
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1): a JWT is the grant —
    /// an ID-JAG from the enterprise IdP (the MCP extension
    /// `io.modelcontextprotocol/enterprise-managed-authorization`) or a workload's JWT
    /// (workload identity federation, SEP-1933).
    JwtBearer,
}

impl Grant {
    /// The `grant_type` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "authorization_code",
            Grant::ClientCredentials => "client_credentials",
            Grant::JwtBearer => "urn:ietf:params:oauth:grant-type:jwt-bearer",
        }
    }
}

/// An authorization server metadata document (RFC 8414 §2; the OpenID fields the MCP
/// spec relies on are the same names).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier; must equal the issuer the document was fetched for.
    pub issuer: String,
    /// The authorization endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// The JWKS URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// The RFC 7591 registration endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// Scopes this AS knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// Supported `response_type` values.
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    /// Supported grant types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// Supported client authentication methods at the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Signing algorithms accepted for `private_key_jwt` assertions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// The RFC 7009 revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// The RFC 7662 introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// PKCE methods; MCP clients refuse an AS without `S256` here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// RFC 9207: the AS puts `iss` in authorization responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// The AS accepts URL-formatted client IDs (client ID metadata documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_metadata_document_supported: Option<bool>,
    /// RFC 9449 §5.1: the JWS algorithms the AS accepts in DPoP proofs (asymmetric only);
    /// present when it binds tokens to DPoP keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// OpenID field: subject identifier types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_types_supported: Option<Vec<String>>,
    /// OpenID field: id_token signing algorithms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// Any other member, kept for round trips.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl AuthorizationServerMetadata {
    /// Parses a metadata document.
    pub fn parse(body: &[u8]) -> Result<Self> {
        crate::wire::parse_json("authorization server metadata", body)
    }

    /// Client-side checks (MCP authorization §Authorization Server Metadata Discovery,
    /// RFC 8414 §3.3) for the authorization code grant: `issuer` byte-equal to
    /// `expected_issuer`; `S256` in `code_challenge_methods_supported`; `code` in
    /// `response_types_supported`; authorization and token endpoints present, `https` or
    /// loopback `http`.
    pub fn check(&self, expected_issuer: &str) -> Result<()> {
        self.check_for(Grant::AuthorizationCode, expected_issuer)
    }

    /// The client-side checks for a client using `grant`. For
    /// [`Grant::AuthorizationCode`], those of [`Self::check`]. For
    /// [`Grant::ClientCredentials`] (the `io.modelcontextprotocol/oauth-client-credentials`
    /// extension: no browser, no PKCE): `issuer` byte-equal, `client_credentials` in
    /// `grant_types_supported` (absent, RFC 8414 §2's default
    /// `["authorization_code", "implicit"]` applies, which lacks it), a safe token endpoint.
    /// For [`Grant::JwtBearer`] the same, with the JWT bearer grant type listed.
    pub fn check_for(&self, grant: Grant, expected_issuer: &str) -> Result<()> {
        if self.issuer != expected_issuer {
            return Err(Error::unexpected(
                "issuer",
                format!("`{}`", self.issuer),
                format!("`{expected_issuer}` byte for byte (RFC 8414 §3.3)"),
            ));
        }
        match grant {
            Grant::AuthorizationCode => self.check_code_flow()?,
            Grant::ClientCredentials | Grant::JwtBearer => self.check_grant_listed(grant)?,
        }
        let token_endpoint =
            self.token_endpoint.as_deref().ok_or_else(|| Error::Missing("token_endpoint".into()))?;
        check_endpoint_url("token_endpoint", token_endpoint)?;
        for (name, url) in [
            ("registration_endpoint", &self.registration_endpoint),
            ("jwks_uri", &self.jwks_uri),
            ("revocation_endpoint", &self.revocation_endpoint),
        ] {
            if let Some(url) = url {
                check_endpoint_url(name, url)?;
            }
        }
        Ok(())
    }

    /// PKCE `S256`, response type `code` and a safe authorization endpoint.
    fn check_code_flow(&self) -> Result<()> {
        match &self.code_challenge_methods_supported {
            Some(m) if m.iter().any(|m| m == crate::pkce::S256) => {}
            Some(m) => {
                return Err(Error::Refused(format!(
                    "code_challenge_methods_supported is {m:?}; it must contain \"S256\""
                )));
            }
            None => {
                return Err(Error::Refused(
                    "code_challenge_methods_supported is absent; PKCE support cannot be verified".into(),
                ));
            }
        }
        if !self.response_types_supported.iter().any(|t| t == "code") {
            return Err(Error::unexpected(
                "response_types_supported",
                format!("{:?}", self.response_types_supported),
                "a list containing \"code\"",
            ));
        }
        let endpoint = self.authorization_endpoint.as_deref();
        check_endpoint_url(
            "authorization_endpoint",
            endpoint.ok_or_else(|| Error::Missing("authorization_endpoint".into()))?,
        )?;
        Ok(())
    }

    /// `grant` is in `grant_types_supported`, or in RFC 8414 §2's default when it is
    /// absent (`["authorization_code", "implicit"]`).
    pub fn check_grant_listed(&self, grant: Grant) -> Result<()> {
        let listed = match &self.grant_types_supported {
            Some(g) => g.iter().any(|g| g == grant.as_str()),
            None => matches!(grant, Grant::AuthorizationCode),
        };
        if listed {
            return Ok(());
        }
        let received = match &self.grant_types_supported {
            Some(g) => format!("{g:?}"),
            None => {
                "no grant_types_supported (RFC 8414 §2: then [\"authorization_code\", \"implicit\"])".into()
            }
        };
        Err(Error::unexpected(
            "grant_types_supported",
            received,
            format!("a list containing \"{}\"", grant.as_str()),
        ))
    }

    /// True when `method` is in `token_endpoint_auth_methods_supported` (RFC 8414 §2: the
    /// default when absent is `client_secret_basic`).
    pub fn supports_auth_method(&self, method: &str) -> bool {
        match &self.token_endpoint_auth_methods_supported {
            Some(m) => m.iter().any(|m| m == method),
            None => method == "client_secret_basic",
        }
    }
}

/// Refuses URLs a client must not use for OAuth endpoints: anything but `https`, except
/// `http` on a loopback host (OAuth 2.1 §1.5; the `javascript:`/`file:`/`data:` cases of
/// the security guide fall here too).
pub fn check_endpoint_url(name: &'static str, url: &str) -> Result<Url> {
    let parsed =
        Url::parse(url).map_err(|e| Error::unexpected(name, format!("`{url}` ({e})"), "an absolute url"))?;
    match parsed.scheme() {
        "https" if parsed.host_str().is_some() => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        _ => Err(Error::Refused(format!("{name} `{url}` is not https (http is allowed on loopback only)"))),
    }
}

/// True for `localhost`, `127.0.0.0/8` and `[::1]`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The metadata URLs to try for `issuer`, in the MCP 2025-11-25 order: with a path,
/// OAuth path-inserted, OpenID path-inserted, OpenID path-appended; without a path,
/// OAuth then OpenID.
pub fn discovery_urls(issuer: &str) -> Result<Vec<String>> {
    let url = Url::parse(issuer)
        .map_err(|e| Error::unexpected("issuer", format!("`{issuer}` ({e})"), "an absolute url"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::unexpected(
            "issuer",
            format!("`{issuer}`"),
            "a url without query or fragment (RFC 8414 §2)",
        ));
    }
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    Ok(if path.is_empty() {
        vec![format!("{origin}{OAUTH_WELL_KNOWN}"), format!("{origin}{OPENID_WELL_KNOWN}")]
    } else {
        vec![
            format!("{origin}{OAUTH_WELL_KNOWN}{path}"),
            format!("{origin}{OPENID_WELL_KNOWN}{path}"),
            format!("{origin}{path}{OPENID_WELL_KNOWN}"),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> AuthorizationServerMetadata {
        AuthorizationServerMetadata {
            issuer: "https://as.example".into(),
            authorization_endpoint: Some("https://as.example/authorize".into()),
            token_endpoint: Some("https://as.example/token".into()),
            response_types_supported: vec!["code".into()],
            code_challenge_methods_supported: Some(vec!["S256".into()]),
            ..Default::default()
        }
    }

    #[test]
    fn accepts_good_metadata() {
        good().check("https://as.example").unwrap();
    }

    #[test]
    fn issuer_must_match_byte_for_byte() {
        assert!(good().check("https://as.example/").is_err());
    }

    #[test]
    fn refuses_metadata_without_s256() {
        let mut m = good();
        m.code_challenge_methods_supported = None;
        assert!(matches!(m.check("https://as.example"), Err(Error::Refused(_))));
        m.code_challenge_methods_supported = Some(vec!["plain".into()]);
        assert!(matches!(m.check("https://as.example"), Err(Error::Refused(_))));
    }

    #[test]
    fn refuses_dangerous_endpoint_schemes() {
        for bad in
            ["javascript:alert(1)", "file:///etc/passwd", "http://as.example/authorize", "data:text/html,x"]
        {
            let mut m = good();
            m.authorization_endpoint = Some(bad.into());
            assert!(m.check("https://as.example").is_err(), "{bad}");
        }
        let mut m = good();
        m.issuer = "http://127.0.0.1:9000".into();
        m.authorization_endpoint = Some("http://127.0.0.1:9000/authorize".into());
        m.token_endpoint = Some("http://localhost:9000/token".into());
        m.check("http://127.0.0.1:9000").unwrap();
    }

    #[test]
    fn round_trip_keeps_unknown_members() {
        let body = br#"{"issuer":"https://as.example","response_types_supported":["code"],"x-extra":[1,2]}"#;
        let m = AuthorizationServerMetadata::parse(body).unwrap();
        let again = AuthorizationServerMetadata::parse(&serde_json::to_vec(&m).unwrap()).unwrap();
        assert_eq!(m, again);
        assert!(m.other.contains_key("x-extra"));
    }
}
