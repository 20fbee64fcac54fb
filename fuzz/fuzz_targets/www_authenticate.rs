//! `WWW-Authenticate` challenges (RFC 7235 / RFC 6750).
//! The body is `mcp_authz_fuzz_entries::parsers::www_authenticate`, also run by the corpus replay test.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_authz_fuzz_entries::parsers::www_authenticate(data));
