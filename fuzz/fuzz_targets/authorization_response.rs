//! Authorization response redirect URLs (code, state, iss, error).
//! The body is `mcp_authz_fuzz_entries::parsers::authorization_response`, also run by the corpus replay test.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_authz_fuzz_entries::parsers::authorization_response(data));
