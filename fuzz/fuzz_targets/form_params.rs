//! Token request forms (`application/x-www-form-urlencoded`, repeated parameters).
//! The body is `mcp_authz_fuzz_entries::parsers::form_params`, also run by the corpus replay test.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_authz_fuzz_entries::parsers::form_params(data));
