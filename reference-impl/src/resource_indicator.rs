//! Resource indicators (RFC 8707) and the MCP canonical server URI.
//!
//! The canonical URI of an MCP server is its absolute URL without fragment, with
//! lower-case scheme and host, and without a trailing slash unless the path is `/`
//! (MCP authorization §Canonical Server URI). Comparison is tolerant of case in scheme
//! and host (requirement X-08) and strict on the path.
//!
//! [`Resource`] is a resource indicator parsed once and held in that canonical form, so
//! that `==` on two of them is the canonical comparison.
//!
//! ```
//! use mcp_authz_reference::resource_indicator::{Resource, canonical_resource};
//! assert_eq!(canonical_resource("HTTPS://MCP.Example.com/mcp/").unwrap(), "https://mcp.example.com/mcp");
//! assert!(canonical_resource("https://mcp.example.com/mcp#frag").is_err());
//! assert!(canonical_resource("mcp.example.com").is_err());
//! let mcp = Resource::parse("https://mcp.example.com:443/mcp").unwrap();
//! assert_eq!(mcp, "HTTPS://MCP.EXAMPLE.COM/mcp/".parse().unwrap());
//! assert!(mcp.is_named_by("https://MCP.example.com/mcp") && !mcp.is_named_by("https://mcp.example.com/MCP"));
//! ```

use crate::{Error, Result};
use std::fmt;
use std::str::FromStr;
use url::Url;

/// A resource indicator (RFC 8707 §2): an absolute `http(s)` URI with a host and without
/// fragment, held in canonical form ([`canonical_resource`]). Equality, ordering and
/// hashing compare the canonical forms: scheme and host case-insensitively, a default
/// port as none, a trailing slash as none, the rest of the path byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resource(String);

impl Resource {
    /// Parses `uri` as a resource indicator, or explains why it cannot be one (relative,
    /// has a fragment, not http(s)).
    pub fn parse(uri: &str) -> Result<Resource> {
        if uri.contains('#') {
            return Err(Error::unexpected(
                "resource",
                format!("`{uri}`"),
                "an absolute uri without fragment (RFC 8707 §2)",
            ));
        }
        let url = Url::parse(uri).map_err(|e| {
            Error::unexpected("resource", format!("`{uri}` ({e})"), "an absolute uri (RFC 8707 §2)")
        })?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(Error::unexpected("resource", format!("`{uri}`"), "an http(s) uri with a host"));
        }
        // `Url` lower-cases scheme and host and drops a default port.
        let mut s = url.to_string();
        if s.ends_with('/') && url.path() != "/" && url.query().is_none() {
            s.pop();
        }
        if url.path() == "/" && url.query().is_none() {
            s.pop();
        }
        Ok(Resource(s))
    }

    /// The canonical form, as sent in `resource` and expected in `aud`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The canonical form, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// True when `uri` names this resource: it parses as a resource indicator with the
    /// same canonical form.
    pub fn is_named_by(&self, uri: &str) -> bool {
        Resource::parse(uri).is_ok_and(|r| r == *self)
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Resource {
    type Err = Error;
    fn from_str(uri: &str) -> Result<Self> {
        Resource::parse(uri)
    }
}

impl AsRef<str> for Resource {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<Resource> for String {
    fn from(r: Resource) -> Self {
        r.0
    }
}

impl serde::Serialize for Resource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Resource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let uri = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Resource::parse(&uri).map_err(serde::de::Error::custom)
    }
}

/// Normalizes `uri` to the canonical form of a resource indicator, or explains why it
/// cannot be one (relative, has a fragment, not http(s)).
pub fn canonical_resource(uri: &str) -> Result<String> {
    Resource::parse(uri).map(Resource::into_string)
}

/// True when `a` and `b` name the same resource after canonicalization.
pub fn same_resource(a: &str, b: &str) -> bool {
    // Identical strings name the same resource when they name one at all: one parse.
    if a == b {
        return Resource::parse(a).is_ok();
    }
    match (Resource::parse(a), Resource::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_has_no_trailing_slash() {
        assert_eq!(canonical_resource("https://a.example/").unwrap(), "https://a.example");
        assert_eq!(canonical_resource("http://127.0.0.1:9001").unwrap(), "http://127.0.0.1:9001");
    }

    #[test]
    fn path_is_case_sensitive() {
        assert!(!same_resource("https://a.example/MCP", "https://a.example/mcp"));
        assert!(same_resource("HTTPS://A.EXAMPLE/mcp", "https://a.example/mcp"));
        assert!(!same_resource("https://a.example/mcp", "https://a.example/other"));
    }

    #[test]
    fn default_port_is_dropped() {
        assert_eq!(canonical_resource("https://a.example:443/mcp").unwrap(), "https://a.example/mcp");
    }

    #[test]
    fn resources_compare_canonically() {
        let r = |u: &str| Resource::parse(u).unwrap();
        assert_eq!(r("HTTPS://A.EXAMPLE:443/mcp/"), r("https://a.example/mcp"));
        assert_ne!(r("https://a.example/MCP"), r("https://a.example/mcp"));
        assert_eq!(r("https://a.example/").as_str(), "https://a.example");
        let set: std::collections::BTreeSet<Resource> =
            ["https://a.example/mcp", "https://A.example:443/mcp", "http://a.example/mcp"].map(r).into();
        assert_eq!(set.len(), 2);
        let hash = |r: &Resource| {
            use std::hash::{DefaultHasher, Hash, Hasher};
            let mut h = DefaultHasher::new();
            r.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&r("HTTPS://A.EXAMPLE/mcp/")), hash(&r("https://a.example/mcp")));
        assert!(r("https://a.example/mcp").is_named_by("HTTPS://a.example/mcp/"));
        assert!(!r("https://a.example/mcp").is_named_by("https://a.example/mcp#x"));
        assert_eq!("https://a.example/mcp".parse::<Resource>().unwrap().to_string(), "https://a.example/mcp");
        assert_eq!(serde_json::to_string(&r("https://A.example/")).unwrap(), r#""https://a.example""#);
        assert_eq!(
            serde_json::from_str::<Resource>(r#""https://a.example/""#).unwrap(),
            r("https://a.example")
        );
        assert!(serde_json::from_str::<Resource>(r#""/mcp""#).is_err());
    }

    #[test]
    fn rejects_non_http_and_relative() {
        assert!(canonical_resource("/mcp").is_err());
        assert!(canonical_resource("ftp://a.example/mcp").is_err());
        assert!(canonical_resource("https://a.example/mcp#x").is_err());
    }
}
