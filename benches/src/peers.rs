//! Peers for context: `jsonwebtoken` validating the same tokens with the same checks
//! (signature, `typ`, `iss`, `aud`, `exp`/`nbf`, scope), its key built once.

use crate::{AUDIENCE, Fixture, ISSUER, SCOPE};
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::{DecodingKey, Validation};
use mcp_authz_reference::access_token::{AccessTokenClaims, TYP};
use mcp_authz_reference::jwt::Algorithm;

/// `jsonwebtoken` set up for one fixture: the decoding key and the validation rules.
pub struct JsonWebToken {
    key: DecodingKey,
    validation: Validation,
}

impl JsonWebToken {
    /// Selects `jsonwebtoken`'s crypto backend for this process (both are compiled in, so
    /// it picks none by itself). Call once, before the first [`JsonWebToken::validate`].
    pub fn install(provider: &'static CryptoProvider) {
        provider.install_default().expect("one jsonwebtoken backend per process");
    }

    /// The key and rules for `f`'s token.
    pub fn new(f: &Fixture) -> Self {
        let jwk = &f.jwks.keys[0];
        let m = |v: &Option<String>| v.clone().unwrap_or_default();
        let (key, alg) = match f.alg {
            Algorithm::ES256 => {
                (DecodingKey::from_ec_components(&m(&jwk.x), &m(&jwk.y)), jsonwebtoken::Algorithm::ES256)
            }
            Algorithm::RS256 => {
                (DecodingKey::from_rsa_components(&m(&jwk.n), &m(&jwk.e)), jsonwebtoken::Algorithm::RS256)
            }
            Algorithm::PS256 => {
                (DecodingKey::from_rsa_components(&m(&jwk.n), &m(&jwk.e)), jsonwebtoken::Algorithm::PS256)
            }
            Algorithm::EdDSA => (DecodingKey::from_ed_components(&m(&jwk.x)), jsonwebtoken::Algorithm::EdDSA),
            Algorithm::HS256 => (
                Ok(DecodingKey::from_secret(f.secret.as_deref().unwrap_or_default())),
                jsonwebtoken::Algorithm::HS256,
            ),
        };
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        JsonWebToken { key: key.expect("jsonwebtoken takes the key"), validation }
    }

    /// True when `token` passes every check and grants [`SCOPE`].
    pub fn validate(&self, token: &str) -> bool {
        jsonwebtoken::decode::<AccessTokenClaims>(token, &self.key, &self.validation).is_ok_and(|d| {
            d.header.typ.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(TYP)) && d.claims.has_scope(SCOPE)
        })
    }
}
