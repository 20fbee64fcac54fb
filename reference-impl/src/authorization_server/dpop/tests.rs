use super::super::test_support::*;
use super::super::{Config, RegisteredClient, TokenDpop};
use crate::access_token::Validator;
use crate::defects::Defect;
use crate::dpop::{ProofClaims, ProofHeader, encode_unsigned_proof, jkt};
use crate::jwt::{Algorithm, KeySet, SigningKey};
use crate::sans_io::Env;

const TOKEN_ENDPOINT: &str = "http://127.0.0.1:9000/token";

fn key(t: &mut Tester, kid: &str) -> SigningKey {
    t.with_env(|_, env| SigningKey::generate(Algorithm::ES256, kid, env).unwrap())
}

fn proof_with(t: &mut Tester, key: &SigningKey, change: impl FnOnce(&mut ProofClaims)) -> String {
    let now = t.now;
    let mut claims = t.with_env(|_, env| ProofClaims::new("POST", TOKEN_ENDPOINT, None, None, env));
    claims.iat = now.unix_secs();
    change(&mut claims);
    claims.sign(key).unwrap()
}

fn proof(t: &mut Tester, key: &SigningKey) -> String {
    proof_with(t, key, |_| {})
}

fn token_with_proof(t: &mut Tester, pairs: &[(&str, &str)], proof: &str) -> crate::sans_io::Response {
    t.post_form_headers("/token", pairs, &[("dpop", proof)])
}

fn cnf_jkt(t: &Tester, access_token: &str) -> Option<String> {
    let v = Validator::new(ISSUER, RESOURCE, KeySet::from_jwks(&t.server.jwks()).unwrap());
    v.validate(access_token, t.now).unwrap().cnf.and_then(|c| c.jkt)
}

#[test]
fn metadata_advertises_asymmetric_algorithms_only() {
    let m = Tester::new().server.metadata();
    let algs = m.dpop_signing_alg_values_supported.unwrap();
    assert!(!algs.is_empty() && algs.iter().all(|a| a != "none" && !a.starts_with("HS")), "{algs:?}");
    let bad = Config {
        dpop: TokenDpop { algorithms: vec![Algorithm::HS256], ..TokenDpop::default() },
        ..Config::default()
    };
    assert!(bad.checked().is_err());
    let m = Tester::with_defect(Defect::DpopAlgsNotAdvertised).server.metadata();
    assert_eq!(m.dpop_signing_alg_values_supported, None);
}

#[test]
fn a_valid_proof_binds_the_access_token_and_the_public_clients_refresh_token() {
    let mut t = Tester::new();
    let k = key(&mut t, "client-key");
    let code = t.code();
    let p = proof(&mut t, &k);
    let body = json_of(&token_with_proof(&mut t, &code_pairs(&code), &p));
    assert_eq!(body["token_type"], "DPoP");
    let thumbprint = jkt(&k.public_jwk());
    assert_eq!(cnf_jkt(&t, body["access_token"].as_str().unwrap()), Some(thumbprint.clone()));
    let rt = body["refresh_token"].as_str().unwrap().to_string();
    // Without a proof, or with another key's: refused.
    assert_eq!(error_of(&t.refresh(&rt, &[])), (400, "invalid_dpop_proof".into()));
    let other = key(&mut t, "other-key");
    let p = proof(&mut t, &other);
    let form = [("grant_type", "refresh_token"), ("refresh_token", rt.as_str()), ("client_id", CLIENT)];
    assert_eq!(error_of(&token_with_proof(&mut t, &form, &p)), (400, "invalid_grant".into()));
    // With the bound key: a new bound token.
    let p = proof(&mut t, &k);
    let body = json_of(&token_with_proof(&mut t, &form, &p));
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(cnf_jkt(&t, body["access_token"].as_str().unwrap()), Some(thumbprint));
}

#[test]
fn without_a_proof_tokens_are_bearer() {
    let mut t = Tester::new();
    let body = t.tokens();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(cnf_jkt(&t, body["access_token"].as_str().unwrap()), None);
    let rt = body["refresh_token"].as_str().unwrap();
    assert_eq!(t.refresh(rt, &[]).status(), 200);
}

#[test]
fn a_confidential_clients_refresh_token_is_not_key_bound() {
    let mut t = Tester::new();
    let k = key(&mut t, "client-key");
    let p = proof(&mut t, &k);
    let form = [("grant_type", "client_credentials"), ("resource", RESOURCE)];
    let credentials = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{CONFIDENTIAL}:{SECRET}"))
    };
    let r = t.post_form_headers(
        "/token",
        &form,
        &[("dpop", &p), ("authorization", &format!("Basic {credentials}"))],
    );
    let body = json_of(&r);
    assert_eq!(body["token_type"], "DPoP");
}

fn bad_proofs(t: &mut Tester, k: &SigningKey) -> Vec<(&'static str, String)> {
    let replayed = proof(t, k);
    let code = t.code();
    assert_eq!(token_with_proof(t, &code_pairs(&code), &replayed).status(), 200);
    let header = ProofHeader::for_key(k);
    let claims = t.with_env(|_, env: &mut Env<'_>| ProofClaims::new("POST", TOKEN_ENDPOINT, None, None, env));
    vec![
        ("htm GET", proof_with(t, k, |c| c.htm = "GET".into())),
        ("htu another", proof_with(t, k, |c| c.htu = "http://127.0.0.1:9000/other".into())),
        ("iat 10 min old", proof_with(t, k, |c| c.iat -= 600)),
        ("alg none", encode_unsigned_proof(&header, &claims).unwrap()),
        ("replayed", replayed),
        ("not a jwt", "not-a-jwt".into()),
    ]
}

#[test]
fn an_invalid_proof_is_invalid_dpop_proof() {
    let mut t = Tester::new();
    let k = key(&mut t, "client-key");
    for (what, p) in bad_proofs(&mut t, &k) {
        let code = t.code();
        assert_eq!(
            error_of(&token_with_proof(&mut t, &code_pairs(&code), &p)),
            (400, "invalid_dpop_proof".into()),
            "{what}"
        );
    }
}

#[test]
fn a_bound_client_must_send_a_proof() {
    let mut t = Tester::new();
    t.server.register_client(RegisteredClient {
        dpop_bound_access_tokens: true,
        ..RegisteredClient::public(CLIENT, &[REDIRECT], &["mcp:read", "mcp:write"])
    });
    let code = t.code();
    assert_eq!(error_of(&t.token(&code_pairs(&code))), (400, "invalid_dpop_proof".into()));
    let k = key(&mut t, "client-key");
    let p = proof(&mut t, &k);
    assert_eq!(json_of(&token_with_proof(&mut t, &code_pairs(&code), &p))["token_type"], "DPoP");
}

#[test]
fn nonces_when_required() {
    let mut t = Tester::with_config(Config {
        auto_approve: true,
        dpop: TokenDpop { require_nonce: true, ..TokenDpop::default() },
        ..Config::default()
    });
    let k = key(&mut t, "client-key");
    let code = t.code();
    let p = proof(&mut t, &k);
    let r = token_with_proof(&mut t, &code_pairs(&code), &p);
    assert_eq!(error_of(&r), (400, "use_dpop_nonce".into()));
    let nonce = r.headers()["dpop-nonce"].to_str().unwrap().to_string();
    let p = proof_with(&mut t, &k, |c| c.nonce = Some(nonce));
    let r = token_with_proof(&mut t, &code_pairs(&code), &p);
    assert_eq!(json_of(&r)["token_type"], "DPoP");
    assert!(r.headers().contains_key("dpop-nonce"));
}

mod defects {
    use super::*;

    #[test]
    fn token_not_bound() {
        let mut t = Tester::with_defect(Defect::DpopTokenNotBound);
        let k = key(&mut t, "client-key");
        let code = t.code();
        let p = proof(&mut t, &k);
        let body = json_of(&token_with_proof(&mut t, &code_pairs(&code), &p));
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(cnf_jkt(&t, body["access_token"].as_str().unwrap()), None);
    }

    #[test]
    fn token_proof_unchecked() {
        let mut t = Tester::with_defect(Defect::DpopTokenProofUnchecked);
        let k = key(&mut t, "client-key");
        for (what, p) in bad_proofs(&mut t, &k).into_iter().filter(|(w, _)| *w != "not a jwt") {
            let code = t.code();
            assert_eq!(token_with_proof(&mut t, &code_pairs(&code), &p).status(), 200, "{what}");
        }
    }

    #[test]
    fn refresh_not_bound() {
        let mut t = Tester::with_defect(Defect::DpopRefreshNotBound);
        let k = key(&mut t, "client-key");
        let code = t.code();
        let p = proof(&mut t, &k);
        let body = json_of(&token_with_proof(&mut t, &code_pairs(&code), &p));
        assert_eq!(t.refresh(body["refresh_token"].as_str().unwrap(), &[]).status(), 200);
    }

    #[test]
    fn bound_client_without_proof() {
        let mut t = Tester::with_defect(Defect::DpopBoundClientWithoutProof);
        t.server.register_client(RegisteredClient {
            dpop_bound_access_tokens: true,
            ..RegisteredClient::public(CLIENT, &[REDIRECT], &["mcp:read", "mcp:write"])
        });
        assert_eq!(t.tokens()["token_type"], "Bearer");
    }
}
