//! Proof Key for Code Exchange (RFC 7636), S256 only: `plain` is refused everywhere, as
//! OAuth 2.1 and the MCP authorization spec require.
//!
//! ```
//! use mcp_authz_reference::pkce;
//! // RFC 7636 Appendix B.
//! let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
//! assert_eq!(pkce::challenge_s256(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
//! assert!(pkce::verify_s256(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").is_ok());
//! ```

use crate::sans_io::Env;
use crate::{Error, Result};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The only method this crate accepts or sends.
pub const S256: &str = "S256";

/// A verifier and its S256 challenge, fresh per authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkce {
    /// The `code_verifier`: 43 unreserved characters (32 random bytes).
    pub verifier: String,
    /// `BASE64URL(SHA256(verifier))`.
    pub challenge: String,
}

impl Pkce {
    /// Draws a fresh verifier from `env`'s random source.
    pub fn generate(env: &mut Env<'_>) -> Self {
        let verifier = env.random_string(32);
        let challenge = challenge_s256(&verifier);
        Pkce { verifier, challenge }
    }
}

/// `BASE64URL-ENCODE(SHA256(ASCII(verifier)))` (RFC 7636 §4.2).
pub fn challenge_s256(verifier: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(d.as_ref())
}

/// Checks a `code_verifier` has the RFC 7636 §4.1 syntax: 43–128 characters from
/// `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
pub fn check_verifier_syntax(verifier: &str) -> Result<()> {
    let ok_chars =
        verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !(43..=128).contains(&verifier.len()) || !ok_chars {
        return Err(Error::unexpected(
            "code_verifier",
            format!("{} characters", verifier.len()),
            "43 to 128 unreserved characters (RFC 7636 §4.1)",
        ));
    }
    Ok(())
}

/// Checks a `code_challenge` has the syntax of an S256 challenge: 43 base64url characters.
pub fn check_challenge_syntax(challenge: &str) -> Result<()> {
    let ok = challenge.len() == 43
        && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(Error::unexpected(
            "code_challenge",
            format!("`{challenge}`"),
            "43 base64url characters (an S256 challenge)",
        ));
    }
    Ok(())
}

/// Verifies `verifier` against an S256 `challenge` in constant time.
pub fn verify_s256(verifier: &str, challenge: &str) -> Result<()> {
    check_verifier_syntax(verifier)?;
    let computed = challenge_s256(verifier);
    if aws_lc_rs::constant_time::verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes()).is_err() {
        return Err(Error::unexpected(
            "code_verifier",
            "a verifier whose S256 hash differs",
            "the verifier of the code_challenge",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sans_io::Time;
    use rand_core::SeedableRng;

    #[test]
    fn rfc7636_appendix_b() {
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(challenge_s256(v), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn wrong_verifier_is_refused() {
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX";
        assert!(verify_s256(v, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").is_err());
    }

    #[test]
    fn short_verifier_is_refused() {
        assert!(check_verifier_syntax("abc").is_err());
        assert!(check_verifier_syntax(&"a".repeat(129)).is_err());
        assert!(check_verifier_syntax(&"a".repeat(42)).is_err());
        assert!(check_verifier_syntax(&format!("{}!", "a".repeat(42))).is_err());
    }

    #[test]
    fn generated_pair_verifies_and_is_fresh() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let mut env = Env::new(Time::default(), &mut rng);
        let a = Pkce::generate(&mut env);
        let b = Pkce::generate(&mut env);
        assert!(verify_s256(&a.verifier, &a.challenge).is_ok());
        check_challenge_syntax(&a.challenge).unwrap();
        assert_ne!(a.verifier, b.verifier);
    }
}
