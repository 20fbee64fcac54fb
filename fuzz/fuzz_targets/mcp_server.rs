//! An arbitrary sequence of requests against the reference MCP server.
//! The body is `mcp_authz_fuzz_entries::roles::mcp_server`, also run by the corpus replay test.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_authz_fuzz_entries::roles::mcp_server(data));
