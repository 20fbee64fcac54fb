//! Tests of the JWT codec: sign-then-verify and tamper checks for every algorithm, the
//! RFC 7515 and RFC 8037 vectors, and the refusal of `alg: none`, algorithm confusion
//! and unknown keys.

use super::*;
use crate::sans_io::Time;
use rand_core::SeedableRng;

fn env_rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(42)
}

/// Sign-then-verify vectors for each algorithm, plus tamper and cross-key checks.
#[test]
fn every_algorithm_round_trips_and_detects_tampering() {
    let mut rng = env_rng();
    let mut env = Env::new(Time::default(), &mut rng);
    for alg in Algorithm::ASYMMETRIC {
        let key = SigningKey::generate(alg, format!("k-{alg}"), &mut env).unwrap();
        let token = encode(&key, "at+jwt", &serde_json::json!({"sub":"a"})).unwrap();
        let keys = KeySet::from_jwks(&key.public_jwks()).unwrap();
        let (h, p) = decode_verified(&token, &keys, &Algorithm::ASYMMETRIC).unwrap();
        assert_eq!(h.alg, alg.name());
        assert_eq!(p, br#"{"sub":"a"}"#);
        // Flip one payload character: the signature must fail.
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        parts[1] = b64(br#"{"sub":"b"}"#);
        let forged = parts.join(".");
        assert_eq!(
            decode_verified(&forged, &keys, &Algorithm::ASYMMETRIC).unwrap_err(),
            TokenError::BadSignature
        );
    }
}

/// RFC 8037 Appendix A.4: Ed25519 signature over "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".
#[test]
fn rfc8037_ed25519_vector() {
    let jwk = Jwk {
        kty: "OKP".into(),
        crv: Some("Ed25519".into()),
        x: Some("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into()),
        ..Default::default()
    };
    let key = VerifyingKey::from_jwk(&jwk).unwrap();
    let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    let sig = unb64(
        "sig",
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
    )
    .unwrap();
    key.verify(input.as_bytes(), &sig).unwrap();
    assert!(key.verify(b"other", &sig).is_err());
}

/// RFC 7515 Appendix A.3: ES256 example (public key and signature from the RFC).
#[test]
fn rfc7515_es256_vector() {
    let jwk = Jwk {
        kty: "EC".into(),
        crv: Some("P-256".into()),
        x: Some("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU".into()),
        y: Some("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0".into()),
        ..Default::default()
    };
    let key = VerifyingKey::from_jwk(&jwk).unwrap();
    let input = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    let sig = unb64(
        "sig",
        "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
    )
    .unwrap();
    key.verify(input.as_bytes(), &sig).unwrap();
}

/// RFC 7515 Appendix A.2: RS256 example (public key and signature from the RFC).
#[test]
fn rfc7515_rs256_vector() {
    let jwk = Jwk {
        kty: "RSA".into(),
        alg: Some("RS256".into()),
        n: Some(concat!(
            "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4Ql",
            "L-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUs",
            "LA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoud",
            "F8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
        )
        .into()),
        e: Some("AQAB".into()),
        ..Default::default()
    };
    let key = VerifyingKey::from_jwk(&jwk).unwrap();
    let input = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    let sig = unb64(
        "sig",
        concat!(
            "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujG",
            "bds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K",
            "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6",
            "LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
        ),
    )
    .unwrap();
    key.verify(input.as_bytes(), &sig).unwrap();
    assert!(key.verify(b"other", &sig).is_err());
}

/// RFC 7515 Appendix A.1: HS256 example (key and MAC from the RFC).
#[test]
fn rfc7515_hs256_vector() {
    let secret =
        unb64("k", "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
            .unwrap();
    let key = SigningKey::hmac("k", &secret);
    let input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    assert_eq!(b64(&key.sign(input.as_bytes()).unwrap()), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    let mac = unb64("mac", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
    let verifying = VerifyingKey::hmac(&secret);
    verifying.verify(input.as_bytes(), &mac).unwrap();
    assert_eq!(verifying.verify(b"other", &mac), Err(TokenError::BadSignature));
}

/// An HS256 key is used only when inserted explicitly and HS256 is allowed.
#[test]
fn hmac_key_needs_explicit_trust() {
    let key = SigningKey::hmac("s1", b"a shared secret of thirty-two b.");
    let token = encode(&key, "at+jwt", &serde_json::json!({"sub":"a"})).unwrap();
    let mut keys = KeySet::default();
    keys.insert("s1", VerifyingKey::hmac(b"a shared secret of thirty-two b."));
    assert!(matches!(
        decode_verified(&token, &keys, &Algorithm::ASYMMETRIC),
        Err(TokenError::AlgorithmNotAllowed { .. })
    ));
    let (_, payload) = decode_verified(&token, &keys, &[Algorithm::HS256]).unwrap();
    assert_eq!(payload, br#"{"sub":"a"}"#);
    let mut other = KeySet::default();
    other.insert("s1", VerifyingKey::hmac(b"another secret"));
    assert_eq!(decode_verified(&token, &other, &[Algorithm::HS256]).unwrap_err(), TokenError::BadSignature);
}

#[test]
fn alg_none_and_hmac_confusion_are_refused() {
    let mut rng = env_rng();
    let mut env = Env::new(Time::default(), &mut rng);
    let key = SigningKey::generate(Algorithm::ES256, "k1", &mut env).unwrap();
    let keys = KeySet::from_jwks(&key.public_jwks()).unwrap();
    let none = encode_unsigned(&serde_json::json!({"sub":"a"}));
    assert!(matches!(
        decode_verified(&none, &keys, &Algorithm::ASYMMETRIC),
        Err(TokenError::AlgorithmNotAllowed { .. })
    ));
    let hmac = SigningKey::hmac("k1", &key.public_key_bytes_for_confusion());
    let confused = encode(&hmac, "at+jwt", &serde_json::json!({"sub":"a"})).unwrap();
    assert!(matches!(
        decode_verified(&confused, &keys, &Algorithm::ASYMMETRIC),
        Err(TokenError::AlgorithmNotAllowed { .. })
    ));
    // Even with HS256 allowed, an EC key never verifies an HS256 token.
    assert!(matches!(
        decode_verified(&confused, &keys, &[Algorithm::HS256]),
        Err(TokenError::AlgorithmNotAllowed { .. })
    ));
}

#[test]
fn unknown_kid_and_garbage() {
    let mut rng = env_rng();
    let mut env = Env::new(Time::default(), &mut rng);
    let key = SigningKey::generate(Algorithm::EdDSA, "k1", &mut env).unwrap();
    let other = SigningKey::generate(Algorithm::EdDSA, "k2", &mut env).unwrap();
    let keys = KeySet::from_jwks(&key.public_jwks()).unwrap();
    let t = encode(&other, "at+jwt", &serde_json::json!({})).unwrap();
    assert_eq!(
        decode_verified(&t, &keys, &Algorithm::ASYMMETRIC).unwrap_err(),
        TokenError::UnknownKey("k2".into())
    );
    for garbage in ["", "a", "a.b", "a.b.c.d", "!!.!!.!!", "e30.e30.e30"] {
        assert!(decode_verified(garbage, &keys, &Algorithm::ASYMMETRIC).is_err(), "{garbage}");
    }
}

#[test]
fn es256_keys_follow_the_seed() {
    let jwk = |seed| {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let mut env = Env::new(Time::default(), &mut rng);
        SigningKey::generate(Algorithm::ES256, "k", &mut env).unwrap().public_jwk()
    };
    assert_eq!(jwk(5), jwk(5));
    assert_ne!(jwk(5), jwk(6));
}

#[test]
fn keys_survive_pkcs8_and_keep_their_thumbprint() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let mut env = Env::new(Time::from_unix_secs(0), &mut rng);
    for alg in Algorithm::ASYMMETRIC {
        let key = SigningKey::generate(alg, "k", &mut env).unwrap();
        let der = key.to_pkcs8_der().unwrap();
        let back = SigningKey::from_pkcs8_der(alg, "k", &der).unwrap();
        assert_eq!(back.public_jwk(), key.public_jwk(), "{alg}");
        assert_eq!(back.public_jwk().thumbprint(), key.public_jwk().thumbprint(), "{alg}");
        let token = encode(&back, "at+jwt", &serde_json::json!({"sub": "a"})).unwrap();
        let keys = KeySet::from_jwks(&key.public_jwks()).unwrap();
        decode_verified(&token, &keys, &[alg]).unwrap();
    }
    let ec = SigningKey::generate(Algorithm::ES256, "k", &mut env).unwrap().to_pkcs8_der().unwrap();
    let err = SigningKey::from_pkcs8_der(Algorithm::RS256, "k", &ec).unwrap_err().to_string();
    assert!(err.contains("unfit for RS256, expected a key of type RSA"), "{err}");
    assert!(SigningKey::hmac("k", b"s").to_pkcs8_der().is_err());
}

#[test]
fn thumbprint_matches_rfc7638_example() {
    // RFC 7638 §3.1.
    let jwk = Jwk {
        kty: "RSA".into(),
        e: Some("AQAB".into()),
        n: Some("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into()),
        ..Default::default()
    };
    assert_eq!(jwk.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

#[test]
fn thumbprint_input_is_the_required_members_as_serde_json_writes_them() {
    let odd = "a\"b\\c\u{1}é";
    let ec = Jwk {
        kty: "EC".into(),
        kid: Some("ignored".into()),
        crv: Some("P-256".into()),
        x: Some(odd.into()),
        y: None,
        ..Default::default()
    };
    let want = serde_json::json!({"crv": "P-256", "kty": "EC", "x": odd, "y": ""}).to_string();
    assert_eq!(ec.thumbprint_input(), want);
    let okp =
        Jwk { kty: "OKP".into(), crv: Some("Ed25519".into()), x: Some("abc".into()), ..Default::default() };
    assert_eq!(okp.thumbprint_input(), r#"{"crv":"Ed25519","kty":"OKP","x":"abc"}"#);
    assert_eq!(Jwk { kty: "oct".into(), ..Default::default() }.thumbprint_input(), r#"{"kty":"oct"}"#);
}
