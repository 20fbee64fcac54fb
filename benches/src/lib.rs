//! Fixtures shared by the benchmarks: a signing key, its JWKS and a realistic RFC 9068
//! access token per algorithm, and a validator that trusts the key.
#![forbid(unsafe_code)]

use mcp_authz_reference::access_token::{AccessTokenClaims, Audience, Validator};
use mcp_authz_reference::jwt::{Algorithm, Jwks, KeySet, SigningKey, VerifyingKey};
use mcp_authz_reference::sans_io::{Env, Time};
use rand_core::SeedableRng;

pub mod cpu_time;
pub mod dpop;
pub mod paired;
pub mod peers;
pub mod sim;
pub mod summary;

/// The issuer of the benchmark tokens.
pub const ISSUER: &str = "https://as.example";
/// The audience of the benchmark tokens.
pub const AUDIENCE: &str = "https://mcp.example/mcp";
/// The instant our validator validates at (the token's `iat`).
pub const NOW: Time = Time::from_unix_secs(1_764_028_900);
/// The token's `exp`: 2100-01-01, so that peer crates, which read the system clock,
/// accept the same token (same number of digits as a realistic `exp`).
pub const EXP: u64 = 4_102_444_800;
/// The `kid` of every benchmark key.
pub const KID: &str = "bench-key";
/// The scope a `tools/call` of `echo` needs; the token carries it.
pub const SCOPE: &str = "mcp:read";
/// The algorithms benchmarked, in table order.
pub const ALGORITHMS: [Algorithm; 5] =
    [Algorithm::ES256, Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA, Algorithm::HS256];

/// A key, a token it signed and a validator that trusts it.
pub struct Fixture {
    /// The algorithm.
    pub alg: Algorithm,
    /// The signing key.
    pub key: SigningKey,
    /// The public JWKS (an `oct` JWK without material for HS256).
    pub jwks: Jwks,
    /// The shared secret, for HS256 only.
    pub secret: Option<Vec<u8>>,
    /// The claims of [`Fixture::token`].
    pub claims: AccessTokenClaims,
    /// A valid access token.
    pub token: String,
    /// A validator for it, keys parsed once (HS256 allowed only for the HS256 fixture).
    pub validator: Validator,
}

/// Realistic RFC 9068 claims for the benchmark audience.
pub fn claims() -> AccessTokenClaims {
    AccessTokenClaims {
        iss: ISSUER.into(),
        sub: Some("user-8c1f2a".into()),
        aud: Audience::one(AUDIENCE),
        client_id: Some("https://client.example/metadata.json".into()),
        scope: Some("mcp:read mcp:write".into()),
        exp: Some(EXP),
        iat: Some(NOW.unix_secs()),
        nbf: None,
        jti: Some("4Xq3b9fJ2kP0sT8vW1yZ6cE5".into()),
        cnf: None,
    }
}

/// Builds the fixture for `alg`.
pub fn fixture(alg: Algorithm) -> Fixture {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let mut env = Env::new(NOW, &mut rng);
    let (key, secret) = match alg {
        Algorithm::HS256 => {
            let secret = env.random_bytes(32);
            (SigningKey::hmac(KID, &secret), Some(secret))
        }
        _ => (SigningKey::generate(alg, KID, &mut env).expect("key generation"), None),
    };
    let claims = claims();
    let token = claims.sign(&key).expect("signing");
    let jwks = key.public_jwks();
    let validator = match &secret {
        Some(s) => {
            let mut keys = KeySet::default();
            keys.insert(KID, VerifyingKey::hmac(s));
            let mut v = Validator::new(ISSUER, AUDIENCE, keys);
            v.allowed = vec![Algorithm::HS256];
            v
        }
        None => Validator::new(ISSUER, AUDIENCE, KeySet::from_jwks(&jwks).expect("jwks")),
    };
    Fixture { alg, key, jwks, secret, claims, token, validator }
}
