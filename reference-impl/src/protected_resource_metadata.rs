//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document an MCP server
//! publishes so clients can find its authorization servers.
//!
//! ```
//! use mcp_authz_reference::protected_resource_metadata::well_known_urls;
//! assert_eq!(well_known_urls("https://mcp.example/mcp").unwrap(), [
//!     "https://mcp.example/.well-known/oauth-protected-resource/mcp",
//!     "https://mcp.example/.well-known/oauth-protected-resource",
//! ]);
//! ```

use crate::resource_indicator::same_resource;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use url::Url;

/// Well-known suffix of RFC 9728 metadata.
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// A protected resource metadata document (RFC 9728 §2).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// The resource identifier: the MCP server's canonical URI.
    pub resource: String,
    /// Issuers of the authorization servers that protect this resource (MCP: at least one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// Scopes used to call this resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// How bearer tokens may be sent; this crate's server says `["header"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_methods_supported: Option<Vec<String>>,
    /// The JWKS of the resource itself, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// Any other member, kept for round trips.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl ProtectedResourceMetadata {
    /// Parses a metadata document.
    pub fn parse(body: &[u8]) -> Result<Self> {
        crate::wire::parse_json("protected resource metadata", body)
    }

    /// Client-side checks: `resource` names the server the client connected to (RFC 9728
    /// §3.3; a malicious server cannot send clients to another resource's AS) and at
    /// least one authorization server is listed.
    pub fn check(&self, server_url: &str) -> Result<()> {
        if !same_resource(&self.resource, server_url) {
            return Err(Error::unexpected(
                "protected resource metadata `resource`",
                format!("`{}`", self.resource),
                format!("`{server_url}`, the server connected to (RFC 9728 §3.3)"),
            ));
        }
        if self.authorization_servers.is_empty() {
            return Err(Error::Missing("authorization_servers in protected resource metadata".into()));
        }
        Ok(())
    }
}

/// The well-known URLs to probe for `resource` when the challenge names none: the
/// path-inserted form first, then the root (MCP 2025-11-25 §Protected Resource Metadata
/// Discovery). A resource without a path has only the root form.
pub fn well_known_urls(resource: &str) -> Result<Vec<String>> {
    let url = Url::parse(resource)
        .map_err(|e| Error::unexpected("resource", format!("`{resource}` ({e})"), "an absolute url"))?;
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    let root = format!("{origin}{WELL_KNOWN}");
    Ok(if path.is_empty() { vec![root] } else { vec![format!("{origin}{WELL_KNOWN}{path}"), root] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_must_match_server() {
        let m = ProtectedResourceMetadata {
            resource: "https://other.example/mcp".into(),
            authorization_servers: vec!["https://as.example".into()],
            ..Default::default()
        };
        assert!(m.check("https://mcp.example/mcp").is_err());
        assert!(m.check("https://other.example/mcp").is_ok());
    }

    #[test]
    fn requires_an_authorization_server() {
        let m = ProtectedResourceMetadata { resource: "https://a.example/mcp".into(), ..Default::default() };
        assert!(matches!(m.check("https://a.example/mcp"), Err(Error::Missing(_))));
    }

    #[test]
    fn root_resource_has_one_url() {
        assert_eq!(
            well_known_urls("http://127.0.0.1:9001").unwrap(),
            ["http://127.0.0.1:9001/.well-known/oauth-protected-resource"]
        );
    }
}
