//! One test per check of RFC 9449 §4.3: a proof breaking only that check is refused with
//! its error, and, for the checks a validator can leave out, accepted once it is left
//! out (so the check, and nothing else, refuses it).

use super::*;
use crate::jwt::encode_with_header;
use rand_core::SeedableRng;

const URL: &str = "https://mcp.example/mcp";
const TOKEN: &str = "access-token";
const NOW: u64 = 1_700_000_000;

fn at(secs: u64) -> Time {
    Time::from_unix_secs(secs)
}

fn key(seed: u64) -> SigningKey {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    SigningKey::generate(Algorithm::ES256, "client", &mut Env::new(at(NOW), &mut rng)).unwrap()
}

fn claims(seed: u64) -> ProofClaims {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    ProofClaims::new("POST", URL, Some(TOKEN), None, &mut Env::new(at(NOW), &mut rng))
}

fn headers(proofs: &[&str]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for p in proofs {
        h.append(HEADER, p.parse().unwrap());
    }
    h
}

/// Validates `proof` (signed by `key(1)`) for POST [`URL`] with [`TOKEN`] bound to
/// `key(1)`, at [`NOW`], with `skipped` left out.
fn check(proof: &str, skipped: &[ProofCheck]) -> Result<ProofClaims, TokenError> {
    check_with(proof, skipped, None, NOW)
}

fn check_with(
    proof: &str,
    skipped: &[ProofCheck],
    nonces: Option<&Nonces>,
    now: u64,
) -> Result<ProofClaims, TokenError> {
    let mut v = Validator::new();
    v.skipped = skipped.iter().copied().collect();
    let bound = jkt(&key(1).public_jwk());
    let expected =
        Expectation { method: "POST", url: URL, access_token: Some(TOKEN), jkt: Some(&bound), nonces };
    v.validate(&headers(&[proof]), &expected, at(now))
}

/// Refused with an error `want` accepts, and accepted once `skip` is left out.
fn refused_by(proof: &str, skip: ProofCheck, want: fn(&TokenError) -> bool) {
    let e = check(proof, &[]).unwrap_err();
    assert!(want(&e), "unexpected {e:?}");
    assert!(check(proof, &[skip]).is_ok(), "still refused without {skip:?}");
}

#[test]
fn an_honest_proof_passes_and_names_the_request() {
    let proof = claims(2).sign(&key(1)).unwrap();
    let c = check(&proof, &[]).unwrap();
    assert_eq!((c.htm.as_str(), c.htu.as_str(), c.iat), ("POST", URL, NOW));
    assert_eq!(c.ath, Some(ath(TOKEN)));
    // RFC 9449 §4.2 example of `ath`: the hash of the token of §7.1's example.
    assert_eq!(
        ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    );
}

#[test]
fn exactly_one_dpop_header() {
    let (a, b) = (claims(2).sign(&key(1)).unwrap(), claims(3).sign(&key(1)).unwrap());
    let mut v = Validator::new();
    let expected = Expectation { method: "POST", url: URL, access_token: None, jkt: None, nonces: None };
    for (n, h) in [(0, headers(&[])), (2, headers(&[&a, &b]))] {
        assert_eq!(v.validate(&h, &expected, at(NOW)), Err(TokenError::ProofHeaders(n)));
    }
}

#[test]
fn a_malformed_proof_is_refused_without_panic() {
    for bad in ["", "a.b", "a.b.c", "e30.e30.", "e30.e30.e30.e30", "éé.é.é"] {
        let Ok(value) = http::HeaderValue::from_str(bad) else { continue };
        let mut h = HeaderMap::new();
        h.insert(HEADER, value);
        let expected = Expectation { method: "POST", url: URL, access_token: None, jkt: None, nonces: None };
        assert!(Validator::new().validate(&h, &expected, at(NOW)).is_err(), "{bad}");
    }
}

#[test]
fn typ_must_be_dpop_jwt() {
    let k = key(1);
    for typ in ["JWT", "at+jwt"] {
        let header = ProofHeader { typ: typ.into(), ..ProofHeader::for_key(&k) };
        let proof = encode_proof(&k, &header, &claims(2)).unwrap();
        assert_eq!(check(&proof, &[]), Err(TokenError::WrongProofType(typ.into())));
    }
}

#[test]
fn alg_none_and_hmac_are_refused() {
    let k = key(1);
    let unsigned = encode_unsigned_proof(&ProofHeader::for_key(&k), &claims(2)).unwrap();
    refused_by(&unsigned, ProofCheck::Alg, |e| matches!(e, TokenError::AlgorithmNotAllowed { .. }));
    // HS256 keyed with an `oct` key whose `k` travels in the header.
    let secret = b"a shared secret of thirty-two b!";
    let jwk = Jwk { kty: "oct".into(), ..Jwk::default() };
    let mut header = serde_json::to_value(ProofHeader { alg: "HS256".into(), jwk, typ: TYP.into() }).unwrap();
    header["jwk"]["k"] = URL_SAFE_NO_PAD.encode(secret).into();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(2)).unwrap())
    );
    let tag = SigningKey::hmac("k", secret).sign(input.as_bytes()).unwrap();
    let hmac = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag));
    let e = check(&hmac, &[]).unwrap_err();
    assert!(matches!(e, TokenError::AlgorithmNotAllowed { .. }), "{e:?}");
    // Left out, the thumbprint of the `oct` key is not `cnf.jkt`: only `alg` and `jkt`
    // stood in the way.
    assert!(check(&hmac, &[ProofCheck::Alg, ProofCheck::Jkt]).is_ok());
    assert!(check(&hmac, &[ProofCheck::Jkt]).is_err());
}

#[test]
fn the_signature_is_checked_with_the_header_jwk() {
    // Signed by key(3) with key(1)'s public key in the header.
    let header = ProofHeader::for_key(&key(1));
    let proof = encode_proof(&key(3), &header, &claims(2)).unwrap();
    assert_eq!(check(&proof, &[]), Err(TokenError::BadSignature));
    // An access-token-shaped header (kid, no jwk) is no proof.
    let jose = crate::jwt::JoseHeader {
        alg: "ES256".into(),
        typ: Some(TYP.into()),
        kid: Some("client".into()),
        crit: None,
    };
    let kid_only = encode_with_header(&key(1), &jose, &claims(2)).unwrap();
    assert!(matches!(check(&kid_only, &[]), Err(TokenError::Malformed(_))));
}

#[test]
fn a_private_key_in_the_jwk_is_refused() {
    let k = key(1);
    let mut header = serde_json::to_value(ProofHeader::for_key(&k)).unwrap();
    header["jwk"]["d"] = "c2VjcmV0".into();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(2)).unwrap())
    );
    let proof = format!("{input}.{}", URL_SAFE_NO_PAD.encode(k.sign(input.as_bytes()).unwrap()));
    assert_eq!(check(&proof, &[]), Err(TokenError::PrivateKeyInProof("d".into())));
}

#[test]
fn htm_must_be_the_method() {
    let proof = ProofClaims { htm: "GET".into(), ..claims(2) }.sign(&key(1)).unwrap();
    refused_by(&proof, ProofCheck::Htm, |e| matches!(e, TokenError::WrongMethod { .. }));
}

#[test]
fn htu_must_be_the_uri_after_normalisation() {
    for other in [
        "https://mcp.example/other",
        "https://other.example/mcp",
        "http://mcp.example/mcp",
        "https://mcp.example:8443/mcp",
    ] {
        let proof = ProofClaims { htu: other.into(), ..claims(2) }.sign(&key(1)).unwrap();
        refused_by(&proof, ProofCheck::Htu, |e| matches!(e, TokenError::WrongUrl { .. }));
    }
    // The same URI written otherwise: case of scheme and host, default port, query and
    // fragment, a percent-encoded unreserved character.
    for same in [
        "HTTPS://MCP.Example/mcp",
        "https://mcp.example:443/mcp",
        "https://mcp.example/mcp?x=1#f",
        "https://mcp.example/%6Dcp",
    ] {
        let proof = ProofClaims { htu: same.into(), ..claims(2) }.sign(&key(1)).unwrap();
        assert!(check(&proof, &[]).is_ok(), "{same}");
    }
    assert_eq!(htu("https://a.example/p?q=1#f"), "https://a.example/p");
}

#[test]
fn an_alias_origin_stands_for_the_servers_own() {
    let at_loopback = |htu: &str| ProofClaims { htu: htu.into(), ..claims(2) }.sign(&key(1)).unwrap();
    let bound = jkt(&key(1).public_jwk());
    let validate = |v: &mut Validator, proof: &str| {
        let expected = Expectation {
            method: "POST",
            url: URL,
            access_token: Some(TOKEN),
            jkt: Some(&bound),
            nonces: None,
        };
        v.validate(&headers(&[proof]), &expected, at(NOW))
    };
    let mut v = Validator::new();
    assert!(validate(&mut v, &at_loopback("http://127.0.0.1:4100/mcp")).is_err(), "no alias yet");
    v.aliases.push(("http://127.0.0.1:4100".into(), "https://mcp.example".into()));
    assert!(validate(&mut v, &at_loopback("http://127.0.0.1:4100/mcp")).is_ok());
    // Another port, another path: still refused.
    for other in ["http://127.0.0.1:4101/mcp", "http://127.0.0.1:4100/other"] {
        assert!(matches!(validate(&mut v, &at_loopback(other)), Err(TokenError::WrongUrl { .. })), "{other}");
    }
}

#[test]
fn iat_must_be_within_five_minutes() {
    for iat in [NOW - 301, NOW + 301, 0, u64::MAX] {
        let proof = ProofClaims { iat, ..claims(2) }.sign(&key(1)).unwrap();
        refused_by(&proof, ProofCheck::Iat, |e| matches!(e, TokenError::ProofTime { .. }));
    }
    for iat in [NOW - 300, NOW + 300] {
        assert!(check(&ProofClaims { iat, ..claims(2) }.sign(&key(1)).unwrap(), &[]).is_ok());
    }
}

#[test]
fn ath_must_hash_the_presented_token() {
    for wrong in [None, Some(ath("another-token"))] {
        let proof = ProofClaims { ath: wrong, ..claims(2) }.sign(&key(1)).unwrap();
        refused_by(&proof, ProofCheck::Ath, |e| matches!(e, TokenError::WrongAth(_)));
    }
}

#[test]
fn the_key_must_be_the_tokens_cnf_jkt() {
    let proof = claims(2).sign(&key(3)).unwrap();
    refused_by(&proof, ProofCheck::Jkt, |e| matches!(e, TokenError::WrongProofKey { .. }));
}

#[test]
fn a_replayed_jti_is_refused_until_it_expires() {
    let proof = claims(2).sign(&key(1)).unwrap();
    let bound = jkt(&key(1).public_jwk());
    let expected =
        Expectation { method: "POST", url: URL, access_token: Some(TOKEN), jkt: Some(&bound), nonces: None };
    let mut v = Validator::new();
    let h = headers(&[&proof]);
    assert!(v.validate(&h, &expected, at(NOW)).is_ok());
    assert!(matches!(v.validate(&h, &expected, at(NOW + 1)), Err(TokenError::Replayed(_))));
    v.skipped.insert(ProofCheck::Jti);
    assert!(v.validate(&h, &expected, at(NOW + 1)).is_ok());
    // Once the proof could no longer be accepted, its jti is forgotten.
    v.skipped.clear();
    v.skipped.insert(ProofCheck::Iat);
    assert!(v.validate(&h, &expected, at(NOW + 600)).is_ok());
}

#[test]
fn the_replay_cache_is_bounded_and_forgets_the_oldest_first() {
    let mut cache = ReplayCache::new(3);
    let keep = Duration::from_secs(600);
    for jti in ["a", "b", "c", "d"] {
        assert!(cache.remember(jti, at(NOW), keep));
    }
    assert_eq!(cache.len(), 3);
    assert!(cache.remember("a", at(NOW), keep), "the oldest was forgotten");
    assert!(!cache.remember("d", at(NOW), keep));
    assert!(cache.remember("d", at(NOW + 600), keep), "expired");
    assert_eq!(cache.len(), 1);
}

#[test]
fn the_servers_nonce_is_required() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let nonces = Nonces::new(Duration::from_secs(60), &mut Env::new(at(NOW), &mut rng));
    let current = nonces.current(at(NOW));
    let mut other_rng = rand_chacha::ChaCha20Rng::seed_from_u64(6);
    let foreign =
        Nonces::new(Duration::from_secs(60), &mut Env::new(at(NOW), &mut other_rng)).current(at(NOW));
    for wrong in [None, Some("made-up".to_string()), Some(foreign)] {
        let proof = ProofClaims { nonce: wrong.clone(), ..claims(2) }.sign(&key(1)).unwrap();
        assert_eq!(check_with(&proof, &[], Some(&nonces), NOW), Err(TokenError::ProofNonce(wrong)));
        assert!(check_with(&proof, &[ProofCheck::Nonce], Some(&nonces), NOW).is_ok());
    }
    let proof = ProofClaims { nonce: Some(current.clone()), ..claims(2) }.sign(&key(1)).unwrap();
    assert!(check_with(&proof, &[], Some(&nonces), NOW).is_ok());
    // Current for one more lifetime, then stale.
    assert!(nonces.is_current(&current, at(NOW + 60)));
    assert!(!nonces.is_current(&current, at(NOW + 180)));
}

#[test]
fn the_dpop_scheme_is_read() {
    let mut h = HeaderMap::new();
    h.insert(http::header::AUTHORIZATION, "DPoP abc.def-_~+/=".parse().unwrap());
    assert_eq!(dpop_token(&h).unwrap().as_deref(), Some("abc.def-_~+/="));
    h.insert(http::header::AUTHORIZATION, "Bearer abc".parse().unwrap());
    assert_eq!(dpop_token(&h).unwrap(), None);
    h.insert(http::header::AUTHORIZATION, "DPoP a,b".parse().unwrap());
    assert!(dpop_token(&h).is_err());
}

#[test]
fn proof_keys_are_parsed_once_and_the_cache_is_bounded() {
    let mut v = Validator::new();
    let expected =
        Expectation { method: "POST", url: URL, access_token: Some(TOKEN), jkt: None, nonces: None };
    for seed in 0..3 {
        let proof = claims(seed + 10).sign(&key(1)).unwrap();
        assert_eq!(v.validate(&headers(&[&proof]), &expected, at(NOW)).map(|c| c.htm), Ok("POST".into()));
    }
    let cached = |v: &Validator| v.keys.values().map(BTreeMap::len).sum::<usize>();
    assert_eq!(cached(&v), 1, "one client key, parsed once");
    let thumbprint = &v.keys[&Algorithm::ES256].values().next().unwrap().thumbprint;
    assert_eq!(thumbprint, &jkt(&key(1).public_jwk()));
    // The cached key verifies: a proof by another key under key(1)'s `jwk` is refused.
    let forged = encode_proof(&key(3), &ProofHeader::for_key(&key(1)), &claims(19)).unwrap();
    assert_eq!(v.validate(&headers(&[&forged]), &expected, at(NOW)), Err(TokenError::BadSignature));
    // A proof by another key with the first key's `x` but its own `y` is not the first key.
    let other = key(3);
    let mixed = ProofHeader {
        jwk: Jwk { y: key(1).public_jwk().y, ..ProofHeader::for_key(&other).jwk },
        ..ProofHeader::for_key(&other)
    };
    let proof = encode_proof(&other, &mixed, &claims(20)).unwrap();
    assert!(v.validate(&headers(&[&proof]), &expected, at(NOW)).is_err());
    // A `jwk` with a private member is refused every time, never cached.
    let k = key(1);
    let mut header = serde_json::to_value(ProofHeader::for_key(&k)).unwrap();
    header["jwk"]["d"] = "c2VjcmV0".into();
    for seed in [21, 22] {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(seed)).unwrap())
        );
        let proof = format!("{input}.{}", URL_SAFE_NO_PAD.encode(k.sign(input.as_bytes()).unwrap()));
        let got = v.validate(&headers(&[&proof]), &expected, at(NOW));
        assert_eq!(got, Err(TokenError::PrivateKeyInProof("d".into())));
    }
    assert_eq!(cached(&v), 1);
    // Many one-off keys fill the cache; the key in use all along stays, the least recently
    // used ones give way.
    for seed in 0..(KEY_CACHE_CAPACITY as u64 + 5) {
        let proof = claims(seed + 100).sign(&key(seed + 100)).unwrap();
        assert!(v.validate(&headers(&[&proof]), &expected, at(NOW)).is_ok());
        let proof = claims(seed + 1000).sign(&key(1)).unwrap();
        assert!(v.validate(&headers(&[&proof]), &expected, at(NOW)).is_ok());
    }
    assert_eq!(cached(&v), KEY_CACHE_CAPACITY);
    let holds = |v: &Validator, k: &SigningKey| {
        v.keys[&Algorithm::ES256].values().any(|c| c.thumbprint == jkt(&k.public_jwk()))
    };
    assert!(holds(&v, &key(1)), "the key in use was evicted");
    assert!(!holds(&v, &key(100)), "the least recently used key stayed");
    assert!(holds(&v, &key(100 + KEY_CACHE_CAPACITY as u64 + 4)), "the newest key is cached");
}

#[test]
fn the_replay_capacity_can_be_sized() {
    let expected =
        Expectation { method: "POST", url: URL, access_token: Some(TOKEN), jkt: None, nonces: None };
    let mut v = Validator::with_replay_capacity(2);
    let proofs: Vec<String> = (0..3).map(|seed| claims(seed + 30).sign(&key(1)).unwrap()).collect();
    for p in &proofs {
        assert!(v.validate(&headers(&[p]), &expected, at(NOW)).is_ok());
    }
    assert_eq!(v.replay_cache().len(), 2);
    // The first was forgotten to make room: past its capacity a cache lets a replay in.
    assert!(v.validate(&headers(&[&proofs[0]]), &expected, at(NOW)).is_ok());
    assert!(v.validate(&headers(&[&proofs[2]]), &expected, at(NOW)).is_err());
    assert_eq!(Validator::new().replay_cache().len(), 0);
}
