//! An arbitrary sequence of requests against the reference authorization server.
//! The body is `mcp_authz_fuzz_entries::roles::authorization_server`, also run by the corpus replay test.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_authz_fuzz_entries::roles::authorization_server(data));
