//! Differential: our access-token validator against `jsonwebtoken::decode` with the same
//! key, issuer, audience, leeway and required claims. The token comes from
//! `mcp_authz_fuzz_entries::differential::build`; `differential::compare` decides which
//! disagreements are deliberate.
#![no_main]
use jsonwebtoken::{DecodingKey, Validation, decode};
use mcp_authz_fuzz_entries::differential::{self, ISSUER, LEEWAY, RESOURCE};
use mcp_authz_reference::access_token::AccessTokenClaims;

fn theirs(b: &differential::Built) -> Result<AccessTokenClaims, String> {
    let jwk = b.oracle_jwk();
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(serde_json::to_value(jwk).expect("jwk")).expect("jsonwebtoken reads our jwk");
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
    let alg = jwk.common.key_algorithm.expect("our jwks names algorithms");
    let mut v = Validation::new(alg.to_string().parse().expect("a signing algorithm"));
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[RESOURCE]);
    v.leeway = LEEWAY;
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.validate_nbf = true;
    decode::<AccessTokenClaims>(&b.token, &key, &v).map(|d| d.claims).map_err(|e| e.to_string())
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    let Some(b) = differential::build(data, now) else { return };
    differential::compare(&b, &differential::ours(&b), &theirs(&b));
});
