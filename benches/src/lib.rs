//! Fixtures shared by the benchmarks: a signing key, its JWKS and a realistic RFC 9068
//! access token per algorithm.
#![forbid(unsafe_code)]

use mcp_authz_reference::access_token::{AccessTokenClaims, Audience, Validator};
use mcp_authz_reference::jwt::{Algorithm, KeySet, SigningKey};
use mcp_authz_reference::sans_io::{Env, Time};
use rand_core::SeedableRng;

/// The issuer of the benchmark tokens.
pub const ISSUER: &str = "https://as.example";
/// The audience of the benchmark tokens.
pub const AUDIENCE: &str = "https://mcp.example/mcp";
/// The instant the benchmark validates at.
pub const NOW: Time = Time::from_unix_secs(1_764_028_900);

/// A key, a token it signed and a validator that trusts it.
pub struct Fixture {
    /// The signing key.
    pub key: SigningKey,
    /// A valid access token.
    pub token: String,
    /// A validator for it, keys parsed once.
    pub validator: Validator,
}

/// Builds the fixture for `alg`.
pub fn fixture(alg: Algorithm) -> Fixture {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let mut env = Env::new(NOW, &mut rng);
    let key = SigningKey::generate(alg, "bench-key", &mut env).expect("key generation");
    let claims = AccessTokenClaims {
        iss: ISSUER.into(),
        sub: Some("user-8c1f2a".into()),
        aud: Audience::one(AUDIENCE),
        client_id: Some("https://client.example/metadata.json".into()),
        scope: Some("mcp:read mcp:write".into()),
        exp: Some(NOW.unix_secs() + 600),
        iat: Some(NOW.unix_secs()),
        nbf: None,
        jti: Some("4Xq3b9fJ2kP0sT8vW1yZ6cE5".into()),
    };
    let token = claims.sign(&key).expect("signing");
    let validator = Validator::new(ISSUER, AUDIENCE, KeySet::from_jwks(&key.public_jwks()).expect("jwks"));
    Fixture { key, token, validator }
}
