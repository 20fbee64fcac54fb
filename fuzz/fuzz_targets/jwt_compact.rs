//! JWS compact serialization and RFC 9068 claims: never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mcp_authz_reference::access_token::AccessTokenClaims;
use mcp_authz_reference::{jwt, wire};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(c) = jwt::split(s) {
        let _ = wire::parse_json::<AccessTokenClaims>("claims", &c.payload);
    }
});
