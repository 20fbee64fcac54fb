//! `WWW-Authenticate` challenges and the `Authorization` header: never a panic, and
//! serialize → parse keeps the parameters.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mcp_authz_reference::bearer::{Challenge, bearer_token, parse_www_authenticate};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(challenges) = parse_www_authenticate(s) {
        for c in challenges.iter().filter(|c| c.token68.is_none() && !c.params.is_empty()) {
            let again = parse_www_authenticate(&c.to_header_value()).expect("own output parses");
            let c2 = Challenge { params: again[0].params.clone(), ..c.clone() };
            assert_eq!(c2.params.len(), c.params.len());
        }
    }
    if let Ok(v) = http::HeaderValue::from_bytes(data) {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, v);
        let _ = bearer_token(&h);
    }
});
