//! RFC 8414 / OpenID AS metadata and RFC 9728 protected resource metadata.
//! The body is `mcp_authz_fuzz_entries::parsers::metadata_documents`, also run by the corpus replay test.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_authz_fuzz_entries::parsers::metadata_documents(data));
