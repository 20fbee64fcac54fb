//! JSON-RPC messages and batches.
//! The body is `mcp_authz_fuzz_entries::parsers::jsonrpc`, also run by the corpus replay test.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_authz_fuzz_entries::parsers::jsonrpc(data));
