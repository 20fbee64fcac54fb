//! RFC 7591 registration requests and responses.
//! The body is `mcp_authz_fuzz_entries::parsers::registration`, also run by the corpus replay test.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_authz_fuzz_entries::parsers::registration(data));
