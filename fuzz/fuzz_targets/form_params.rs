//! `application/x-www-form-urlencoded` bodies and query strings: never a panic, and
//! encode → parse is the identity.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mcp_authz_reference::wire::Params;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Params::parse(data) {
        assert_eq!(Params::parse(p.encode().as_bytes()).expect("own output parses"), p);
    }
});
