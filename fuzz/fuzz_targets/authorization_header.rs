//! The `Authorization: Bearer` request header (RFC 6750 §2.1).
//! The body is `mcp_authz_fuzz_entries::parsers::authorization_header`, also run by the corpus replay test.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_authz_fuzz_entries::parsers::authorization_header(data));
