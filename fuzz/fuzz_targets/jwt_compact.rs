//! JWS compact serialization, the JOSE header and RFC 9068 claims.
//! The body is `mcp_authz_fuzz_entries::parsers::jwt_compact`, also run by the corpus replay test.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_authz_fuzz_entries::parsers::jwt_compact(data));
