use super::*;
use crate::wire;
use serde_json::json;

fn with_nonce(mut r: Response, challenge: Option<&str>) -> Response {
    r.headers_mut().insert(dpop::NONCE_HEADER, HeaderValue::from_static("n-1"));
    if let Some(c) = challenge {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(c).unwrap());
    }
    r
}

#[test]
fn a_nonce_is_asked_by_use_dpop_nonce_only() {
    let as_asks = with_nonce(wire::json(StatusCode::BAD_REQUEST, &json!({"error": "use_dpop_nonce"})), None);
    assert_eq!(nonce_asked(&as_asks).as_deref(), Some("n-1"));
    let other = with_nonce(wire::json(StatusCode::BAD_REQUEST, &json!({"error": "invalid_grant"})), None);
    assert_eq!(nonce_asked(&other), None);
    let rs_asks = with_nonce(
        wire::json(StatusCode::UNAUTHORIZED, &json!({})),
        Some(r#"DPoP error="use_dpop_nonce", algs="ES256""#),
    );
    assert_eq!(nonce_asked(&rs_asks).as_deref(), Some("n-1"));
    let bearer = with_nonce(
        wire::json(StatusCode::UNAUTHORIZED, &json!({})),
        Some(r#"Bearer error="use_dpop_nonce""#),
    );
    assert_eq!(nonce_asked(&bearer), None);
    let mut none = wire::json(StatusCode::BAD_REQUEST, &json!({"error": "use_dpop_nonce"}));
    none.headers_mut().remove(dpop::NONCE_HEADER);
    assert_eq!(nonce_asked(&none), None);
}

#[test]
fn the_dpop_challenge_is_found_among_others() {
    let r = with_nonce(
        wire::json(StatusCode::UNAUTHORIZED, &json!({})),
        Some(r#"Bearer realm="x", DPoP resource_metadata="https://m/.well-known/x""#),
    );
    let c = dpop_challenge(r.headers()).unwrap();
    assert_eq!(c.get("resource_metadata"), Some("https://m/.well-known/x"));
    assert_eq!(origin("https://a.example:8443/token?x"), "https://a.example:8443");
}
