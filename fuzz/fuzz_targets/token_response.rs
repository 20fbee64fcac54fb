//! Token endpoint responses (RFC 6749 §5).
//! The body is `mcp_authz_fuzz_entries::parsers::token_response`, also run by the corpus replay test.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_authz_fuzz_entries::parsers::token_response(data));
