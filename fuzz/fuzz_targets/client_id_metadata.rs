//! Client ID metadata documents as the authorization server fetches them.
//! The body is `mcp_authz_fuzz_entries::parsers::client_id_metadata`, also run by the corpus replay test.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_authz_fuzz_entries::parsers::client_id_metadata(data));
