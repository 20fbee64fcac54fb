//! RFC 8414 / RFC 9728 / RFC 7591 documents and JWKS: never a panic; the client-side
//! checks never panic either.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mcp_authz_reference::jwt::{Jwks, KeySet};
use mcp_authz_reference::metadata::AuthorizationServerMetadata;
use mcp_authz_reference::protected_resource_metadata::ProtectedResourceMetadata;
use mcp_authz_reference::registration::ClientMetadata;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = AuthorizationServerMetadata::parse(data) {
        let _ = m.check("https://as.example");
    }
    if let Ok(m) = ProtectedResourceMetadata::parse(data) {
        let _ = m.check("https://mcp.example/mcp");
    }
    let _ = mcp_authz_reference::wire::parse_json::<ClientMetadata>("client metadata", data);
    if let Ok(j) = Jwks::parse(data) {
        let _ = KeySet::from_jwks(&j);
    }
});
