//! A published public key as the PEM text a verifier may hold it in: what an HS256 token
//! is keyed with in the key-confusion attack on a verifier that takes the algorithm from
//! the token and the "secret" from its key store (`jsonwebtoken` with a PEM from a JWKS
//! client, say).
//!
//! - [`Jwk::spki_pem`]: `-----BEGIN PUBLIC KEY-----`, RFC 7468 §13 (SubjectPublicKeyInfo,
//!   RFC 5280 §4.1), for RSA (RFC 8017 A.1), EC P-256 (RFC 5480) and Ed25519 (RFC 8410).
//! - [`Jwk::pkcs1_pem`]: `-----BEGIN RSA PUBLIC KEY-----` (RFC 8017 A.1.1), the form older
//!   JWKS clients produce for RSA keys.

use super::Jwk;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// rsaEncryption, 1.2.840.113549.1.1.1.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-ecPublicKey, 1.2.840.10045.2.1.
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1, 1.2.840.10045.3.1.7.
const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// id-Ed25519, 1.3.101.112.
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

impl Jwk {
    /// The key as SubjectPublicKeyInfo PEM, when it is an RSA, P-256 or Ed25519 key
    /// whose members decode.
    pub fn spki_pem(&self) -> Option<String> {
        let member = |m: &Option<String>| m.as_deref().and_then(|v| URL_SAFE_NO_PAD.decode(v).ok());
        let (algorithm, key) = match (self.kty.as_str(), self.crv.as_deref()) {
            ("RSA", _) => {
                let algorithm = [tlv(0x06, RSA_ENCRYPTION), tlv(0x05, &[])].concat();
                (algorithm, self.rsa_public_key()?)
            }
            ("EC", Some("P-256")) => {
                let algorithm = [tlv(0x06, EC_PUBLIC_KEY), tlv(0x06, PRIME256V1)].concat();
                (algorithm, [vec![0x04], member(&self.x)?, member(&self.y)?].concat())
            }
            ("OKP", Some("Ed25519")) => (tlv(0x06, ED25519), member(&self.x)?),
            _ => return None,
        };
        let bits = [vec![0x00], key].concat();
        let spki = tlv(0x30, &[tlv(0x30, &algorithm), tlv(0x03, &bits)].concat());
        Some(pem("PUBLIC KEY", &spki))
    }

    /// An RSA key as PKCS #1 `RSAPublicKey` PEM.
    pub fn pkcs1_pem(&self) -> Option<String> {
        (self.kty == "RSA").then(|| self.rsa_public_key()).flatten().map(|der| pem("RSA PUBLIC KEY", &der))
    }

    /// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
    fn rsa_public_key(&self) -> Option<Vec<u8>> {
        let n = URL_SAFE_NO_PAD.decode(self.n.as_deref()?).ok()?;
        let e = URL_SAFE_NO_PAD.decode(self.e.as_deref()?).ok()?;
        Some(tlv(0x30, &[integer(&n), integer(&e)].concat()))
    }
}

/// A DER INTEGER of the unsigned big-endian `bytes`: leading zeros dropped, one added
/// when the high bit is set.
fn integer(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len().saturating_sub(1));
    let digits = &bytes[start..];
    match digits.first() {
        Some(b) if b & 0x80 != 0 => tlv(0x02, &[&[0u8][..], digits].concat()),
        _ => tlv(0x02, digits),
    }
}

/// A DER tag-length-value.
fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let len = value.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value);
    out
}

/// PEM text (RFC 7468): the label's lines around base64 in lines of 64, ending in a
/// newline.
fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use crate::jwt::{Algorithm, SigningKey};
    use crate::sans_io::{Env, Time};
    use aws_lc_rs::signature as sig;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// The DER inside PEM text.
    fn der(pem: &str) -> Vec<u8> {
        use base64::Engine as _;
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD.decode(body).expect("base64")
    }

    #[test]
    fn each_key_type_is_the_spki_its_signer_verifies_with() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let mut env = Env::new(Time::from_unix_secs(1_700_000_000), &mut rng);
        for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
            let key = SigningKey::generate(alg, "k", &mut env).expect("a key");
            let jwk = key.public_jwk();
            let pem = jwk.spki_pem().expect("a PEM");
            assert!(
                pem.starts_with("-----BEGIN PUBLIC KEY-----\n")
                    && pem.ends_with("-----END PUBLIC KEY-----\n")
            );
            assert!(pem.lines().all(|l| l.len() <= 64), "{pem}");
            // The SPKI parses back into the same key: aws-lc reads it and verifies a
            // signature the key made.
            let verification: &'static dyn sig::VerificationAlgorithm = match alg {
                Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
                _ => &sig::ED25519,
            };
            let signature = key.sign(b"message").expect("signs");
            let verified =
                sig::UnparsedPublicKey::new(verification, der(&pem)).verify(b"message", &signature);
            assert!(verified.is_ok(), "{alg:?}: {pem}");
        }
    }

    #[test]
    fn an_rsa_key_has_a_pkcs1_form_and_others_none() {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let mut env = Env::new(Time::from_unix_secs(1_700_000_000), &mut rng);
        let rsa = SigningKey::generate(Algorithm::RS256, "k", &mut env).expect("a key").public_jwk();
        let pem = rsa.pkcs1_pem().expect("a PEM");
        assert!(pem.starts_with("-----BEGIN RSA PUBLIC KEY-----\n"));
        // SEQUENCE { INTEGER n (256 bytes and a zero), INTEGER e }.
        let der = der(&pem);
        assert_eq!(&der[..2], &[0x30, 0x82]);
        assert_eq!(&der[4..8], &[0x02, 0x82, 0x01, 0x01]);
        let ec = SigningKey::generate(Algorithm::ES256, "k", &mut env).expect("a key").public_jwk();
        assert_eq!(ec.pkcs1_pem(), None);
    }
}
