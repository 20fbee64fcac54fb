//! Resource indicators (RFC 8707) and the MCP canonical server URI.
//!
//! The canonical URI of an MCP server is its absolute URL without fragment, with
//! lower-case scheme and host, and without a trailing slash unless the path is `/`
//! (MCP authorization §Canonical Server URI). Comparison is tolerant of case in scheme
//! and host (requirement X-08) and strict on the path.
//!
//! ```
//! use mcp_authz_reference::resource_indicator::canonical_resource;
//! assert_eq!(canonical_resource("HTTPS://MCP.Example.com/mcp/").unwrap(), "https://mcp.example.com/mcp");
//! assert!(canonical_resource("https://mcp.example.com/mcp#frag").is_err());
//! assert!(canonical_resource("mcp.example.com").is_err());
//! ```

use crate::{Error, Result};
use url::Url;

/// Normalizes `uri` to the canonical form of a resource indicator, or explains why it
/// cannot be one (relative, has a fragment, not http(s)).
pub fn canonical_resource(uri: &str) -> Result<String> {
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
    Ok(s)
}

/// True when `a` and `b` name the same resource after canonicalization.
pub fn same_resource(a: &str, b: &str) -> bool {
    // Identical strings name the same resource when they name one at all: one parse.
    if a == b {
        return canonical_resource(a).is_ok();
    }
    match (canonical_resource(a), canonical_resource(b)) {
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
    fn rejects_non_http_and_relative() {
        assert!(canonical_resource("/mcp").is_err());
        assert!(canonical_resource("ftp://a.example/mcp").is_err());
        assert!(canonical_resource("https://a.example/mcp#x").is_err());
    }
}
