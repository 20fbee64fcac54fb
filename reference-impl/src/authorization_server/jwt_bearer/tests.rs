use super::super::test_support::*;
use super::super::{AssertionKind, Config, RegisteredClient, TrustedIssuer};
use super::*;
use crate::access_token::Validator;
use crate::defects::Defects;
use crate::jwt::{JoseHeader, SigningKey};
use crate::metadata::AuthorizationServerMetadata;
use rand_core::SeedableRng;
use serde_json::{Value, json};

const IDP: &str = "https://idp.example";
const WORKLOAD: &str = "https://workload.example";
const AGENT: &str = "agent";
const AGENT_SECRET: &str = "agent-secret";

struct Setup {
    t: Tester,
    idp: SigningKey,
    workload: SigningKey,
    jti: u32,
}

fn key(label: u64, kid: &str) -> SigningKey {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(label);
    SigningKey::generate(Algorithm::ES256, kid, &mut Env::new(Time::from_unix_secs(NOW), &mut rng)).unwrap()
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

fn setup(defects: &[Defect]) -> Setup {
    setup_with(defects, |_| {})
}

/// [`setup`] with `edit` applied to the AS's configuration.
fn setup_with(defects: &[Defect], edit: impl FnOnce(&mut Config)) -> Setup {
    let (idp, workload) = (key(11, "idp"), key(12, "workload"));
    let all = strings(&["mcp:read", "mcp:write", "mcp:admin"]);
    let trusted = |issuer: &str, k: &SigningKey, kind| TrustedIssuer {
        issuer: issuer.into(),
        jwks: k.public_jwks(),
        kind,
        scopes: all.clone(),
    };
    let mut config = Config {
        auto_approve: true,
        trusted_issuers: vec![
            trusted(IDP, &idp, AssertionKind::IdJag),
            trusted(WORKLOAD, &workload, AssertionKind::Workload),
        ],
        defects: Defects::of(defects.iter().copied()),
        ..Config::default()
    };
    config.resources[0].scopes = all.clone();
    config.clients.push(RegisteredClient {
        client_id: AGENT.into(),
        client_secret: Some(AGENT_SECRET.into()),
        grant_types: strings(&[JWT_BEARER_GRANT]),
        token_endpoint_auth_method: "client_secret_basic".into(),
        scopes: strings(&["mcp:read", "mcp:write"]),
        ..RegisteredClient::default()
    });
    edit(&mut config);
    Setup { t: Tester::with_config(config), idp, workload, jti: 0 }
}

impl Setup {
    fn id_jag_claims(&mut self) -> Value {
        self.jti += 1;
        json!({"iss": IDP, "sub": "alice", "aud": ISSUER, "resource": RESOURCE, "client_id": AGENT,
            "jti": format!("jag-{}", self.jti), "iat": NOW, "exp": NOW + 300, "scope": "mcp:read"})
    }

    fn workload_claims(&mut self) -> Value {
        self.jti += 1;
        json!({"iss": WORKLOAD, "sub": "spiffe://example.org/agent", "aud": format!("{ISSUER}/token"),
            "jti": format!("wl-{}", self.jti), "iat": NOW, "exp": NOW + 300})
    }

    fn sign(&self, key: &SigningKey, typ: Option<&str>, claims: &Value) -> String {
        let header = JoseHeader {
            alg: key.alg().name().into(),
            typ: typ.map(String::from),
            kid: Some(key.kid().into()),
            crit: None,
        };
        jwt::encode_with_header(key, &header, claims).unwrap()
    }

    fn present(&mut self, assertion: &str, extra: &[(&str, &str)]) -> Response {
        let mut form = vec![("grant_type", JWT_BEARER_GRANT), ("assertion", assertion)];
        form.extend_from_slice(extra);
        self.t.post_form_basic("/token", &form, AGENT, AGENT_SECRET)
    }

    fn id_jag(&mut self, change: impl FnOnce(&mut Value)) -> String {
        let mut claims = self.id_jag_claims();
        change(&mut claims);
        let key = key(11, "idp");
        self.sign(&key, Some(id_jag::TYP), &claims)
    }
}

use crate::sans_io::Response;

fn claims_of(t: &Tester, body: &Value, audience: &str) -> crate::access_token::AccessTokenClaims {
    let keys = KeySet::from_jwks(&t.server.jwks()).unwrap();
    Validator::new(ISSUER, audience, keys).validate(body["access_token"].as_str().unwrap(), t.now).unwrap()
}

#[test]
fn an_id_jag_buys_a_token_for_its_resource_and_scopes() {
    let mut s = setup(&[]);
    let grant = s.id_jag(|_| {});
    let r = s.present(&grant, &[("scope", "mcp:read mcp:write")]);
    assert_eq!(r.status(), 200, "{:?}", r.body());
    let body = json_of(&r);
    assert_eq!((body["scope"].as_str(), body.get("refresh_token")), (Some("mcp:read"), None));
    let claims = claims_of(&s.t, &body, RESOURCE);
    assert_eq!((claims.sub.as_deref(), claims.client_id.as_deref()), (Some("alice"), Some(AGENT)));
    // Scopes beyond the client's are withheld too.
    let grant = s.id_jag(|c| c["scope"] = json!("mcp:read mcp:admin"));
    assert_eq!(json_of(&s.present(&grant, &[]))["scope"], "mcp:read");
    // The same grant again is a replay.
    assert_eq!(error_of(&s.present(&grant, &[])), (400, "invalid_grant".into()));
}

#[test]
fn each_defective_id_jag_is_invalid_grant() {
    let mut s = setup(&[]);
    let foreign = key(99, "idp");
    let cases: Vec<(&str, String)> = vec![
        ("untrusted key", {
            let c = s.id_jag_claims();
            s.sign(&foreign, Some(id_jag::TYP), &c)
        }),
        ("alg none", {
            let c = s.id_jag_claims();
            use base64::Engine as _;
            let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            format!("{}.{}.", b64(&json!({"alg": "none", "typ": id_jag::TYP, "kid": "idp"})), b64(&c))
        }),
        ("typ JWT", {
            let c = s.id_jag_claims();
            s.sign(&s.idp, Some("JWT"), &c)
        }),
        ("no typ", {
            let c = s.id_jag_claims();
            s.sign(&s.idp, None, &c)
        }),
        ("no sub", s.id_jag(|c| drop(c.as_object_mut().unwrap().remove("sub")))),
        ("no exp", s.id_jag(|c| drop(c.as_object_mut().unwrap().remove("exp")))),
        ("aud another AS", s.id_jag(|c| c["aud"] = json!("https://other-as.example"))),
        ("foreign resource", s.id_jag(|c| c["resource"] = json!("https://elsewhere.example/mcp"))),
        ("another client", s.id_jag(|c| c["client_id"] = json!(CLIENT))),
        ("expired", s.id_jag(|c| c["exp"] = json!(NOW - 10))),
        ("unknown scope", s.id_jag(|c| c["scope"] = json!("mcp:read files:delete"))),
    ];
    for (what, grant) in cases {
        assert_eq!(error_of(&s.present(&grant, &[])), (400, "invalid_grant".into()), "{what}");
    }
    let grant = s.id_jag(|_| {});
    let r = s.t.post_form("/token", &[("grant_type", JWT_BEARER_GRANT), ("assertion", &grant)]);
    assert_eq!(error_of(&r), (401, "invalid_client".into()), "an ID-JAG without client authentication");
}

#[test]
fn workload_jwts() {
    let mut s = setup(&[]);
    let c = s.workload_claims();
    let jwt = s.sign(&s.workload, Some("JWT"), &c);
    let form = [("grant_type", JWT_BEARER_GRANT), ("assertion", jwt.as_str()), ("resource", RESOURCE)];
    let body = json_of(&s.t.post_form("/token", &form));
    let claims = claims_of(&s.t, &body, RESOURCE);
    assert_eq!(claims.sub.as_deref(), Some("spiffe://example.org/agent"));
    assert_eq!(error_of(&s.t.post_form("/token", &form)), (400, "invalid_grant".into()), "replayed");
    let rogue = key(98, "rogue");
    let mut bad: Vec<(&str, String)> = vec![];
    let mut c = s.workload_claims();
    c["iss"] = json!("https://rogue.example");
    bad.push(("untrusted issuer", s.sign(&rogue, Some("JWT"), &c)));
    let mut c = s.workload_claims();
    c["exp"] = json!(NOW - 1);
    bad.push(("expired", s.sign(&s.workload, Some("JWT"), &c)));
    let mut c = s.workload_claims();
    c["aud"] = json!("https://other-as.example/token");
    bad.push(("wrong aud", s.sign(&s.workload, Some("JWT"), &c)));
    for (what, jwt) in bad {
        let form = [("grant_type", JWT_BEARER_GRANT), ("assertion", jwt.as_str()), ("resource", RESOURCE)];
        assert_eq!(error_of(&s.t.post_form("/token", &form)), (400, "invalid_grant".into()), "{what}");
    }
}

#[test]
fn metadata_advertises_the_grant_only_when_configured() {
    let grants = |t: &mut Tester| {
        let m = AuthorizationServerMetadata::parse(t.get("/.well-known/oauth-authorization-server").body())
            .unwrap();
        let profiles = m.other.get(id_jag::GRANT_PROFILES_SUPPORTED).cloned();
        (m.grant_types_supported.unwrap().contains(&JWT_BEARER_GRANT.to_string()), profiles)
    };
    assert_eq!(grants(&mut setup(&[]).t), (true, Some(json!([id_jag::GRANT_PROFILE]))));
    assert_eq!(grants(&mut setup(&[Defect::JwtBearerNotAdvertised]).t), (false, None));
    let mut plain = Tester::new();
    assert_eq!(grants(&mut plain), (false, None));
    let r = plain.post_form_basic(
        "/token",
        &[("grant_type", JWT_BEARER_GRANT), ("assertion", "x.y.z")],
        CONFIDENTIAL,
        SECRET,
    );
    assert_eq!(error_of(&r), (400, "unsupported_grant_type".into()));
}

/// Each defect lets through the one grant it names, which the correct server refuses.
#[test]
fn defects() {
    type Make = fn(&mut Setup) -> (String, Vec<(&'static str, &'static str)>);
    let foreign: Make = |s| {
        let c = s.id_jag_claims();
        (s.sign(&key(99, "idp"), Some(id_jag::TYP), &c), vec![])
    };
    let typ: Make = |s| {
        let c = s.id_jag_claims();
        (s.sign(&s.idp, Some("JWT"), &c), vec![])
    };
    let no_sub: Make = |s| (s.id_jag(|c| drop(c.as_object_mut().unwrap().remove("sub"))), vec![]);
    let aud: Make = |s| (s.id_jag(|c| c["aud"] = json!("https://other-as.example")), vec![]);
    let resource: Make = |s| (s.id_jag(|c| c["resource"] = json!("https://elsewhere.example/mcp")), vec![]);
    let client: Make = |s| (s.id_jag(|c| c["client_id"] = json!(CLIENT)), vec![]);
    let expired: Make = |s| (s.id_jag(|c| c["exp"] = json!(NOW - 10)), vec![]);
    let workload_aud: Make = |s| {
        let mut c = s.workload_claims();
        c["aud"] = json!("https://other-as.example/token");
        (s.sign(&s.workload, Some("JWT"), &c), vec![("resource", RESOURCE)])
    };
    let workload_expired: Make = |s| {
        let mut c = s.workload_claims();
        c["exp"] = json!(NOW - 1);
        (s.sign(&s.workload, Some("JWT"), &c), vec![("resource", RESOURCE)])
    };
    let cases: [(Defect, Make); 9] = [
        (Defect::IdJagSignatureUnchecked, foreign),
        (Defect::IdJagTypUnchecked, typ),
        (Defect::IdJagClaimsUnchecked, no_sub),
        (Defect::IdJagAudienceUnchecked, aud),
        (Defect::IdJagResourceUnchecked, resource),
        (Defect::IdJagClientUnchecked, client),
        (Defect::IdJagExpiryUnchecked, expired),
        (Defect::WorkloadAudienceUnchecked, workload_aud),
        (Defect::WorkloadExpiryUnchecked, workload_expired),
    ];
    for (defect, make) in cases {
        let mut s = setup(&[]);
        let (grant, extra) = make(&mut s);
        assert_eq!(error_of(&s.present(&grant, &extra)).1, "invalid_grant", "{defect} without the defect");
        let mut s = setup(&[defect]);
        let (grant, extra) = make(&mut s);
        assert_eq!(s.present(&grant, &extra).status(), 200, "{defect}");
    }
    let mut s = setup(&[Defect::IdJagReplayAllowed]);
    let grant = s.id_jag(|_| {});
    assert_eq!(
        (s.present(&grant, &[]).status().as_u16(), s.present(&grant, &[]).status().as_u16()),
        (200, 200)
    );
    let mut s = setup(&[Defect::IdJagScopeNotIntersected]);
    let grant = s.id_jag(|_| {});
    assert_eq!(
        json_of(&s.present(&grant, &[("scope", "mcp:read mcp:write")]))["scope"],
        "mcp:read mcp:write"
    );
    let mut s = setup(&[Defect::IdJagTokenAudienceIssuer]);
    let grant = s.id_jag(|_| {});
    let body = json_of(&s.present(&grant, &[]));
    assert_eq!(claims_of(&s.t, &body, ISSUER).aud, Audience::one(ISSUER));
}

#[test]
fn replay_store_is_bounded_and_forgets_expired_grants() {
    let mut used = UsedGrants::default();
    let now = Time::from_unix_secs(NOW);
    used.take(IDP, "a", NOW + 10, now).unwrap();
    assert_eq!(used.take(IDP, "a", NOW + 10, now).unwrap_err().error, ErrorCode::InvalidGrant);
    used.take(WORKLOAD, "a", NOW + 10, now).unwrap();
    used.take(IDP, "a", NOW + 20, Time::from_unix_secs(NOW + 10)).unwrap();
    assert_eq!(used.0.len(), 2, "the expired grant's entry was taken over, not kept twice");
    for i in used.0.len()..MAX_USED_GRANTS {
        used.0.insert((IDP.into(), format!("fill-{i}")), NOW + 100);
    }
    assert_eq!(used.take(IDP, "b", NOW + 50, now).unwrap_err().status, http::StatusCode::SERVICE_UNAVAILABLE);
    assert!(used.take(IDP, "b", NOW + 200, Time::from_unix_secs(NOW + 100)).is_ok());
}

/// The grant does DPoP as any token request (RFC 9449 §5, §5.2): a valid proof binds the
/// token, an invalid one is `invalid_dpop_proof`, and a client registered with
/// `dpop_bound_access_tokens` gets nothing without one.
#[test]
fn dpop_binds_the_token_and_a_bound_client_needs_a_proof() {
    use crate::dpop::{ProofClaims, jkt};
    let mut s = setup(&[]);
    let dpop_key = s.t.with_env(|_, env| SigningKey::generate(Algorithm::ES256, "dpop", env).unwrap());
    let endpoint = format!("{ISSUER}/token");
    let proof = |s: &mut Setup, htm: &str| {
        let now = s.t.now;
        let mut claims = s.t.with_env(|_, env| ProofClaims::new(htm, &endpoint, None, None, env));
        claims.iat = now.unix_secs();
        claims.sign(&dpop_key).unwrap()
    };
    let basic = |id: &str, secret: &str| {
        use base64::Engine as _;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
    };
    let with_proof = |s: &mut Setup, grant: &str, proof: Option<&str>| {
        let mut headers = vec![("authorization".to_string(), basic(AGENT, AGENT_SECRET))];
        headers.extend(proof.map(|p| ("dpop".to_string(), p.to_string())));
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        s.t.post_form_headers("/token", &[("grant_type", JWT_BEARER_GRANT), ("assertion", grant)], &headers)
    };
    let grant = s.id_jag(|_| {});
    let p = proof(&mut s, "POST");
    let r = with_proof(&mut s, &grant, Some(&p));
    assert_eq!(r.status(), 200, "{:?}", r.body());
    let body = json_of(&r);
    assert_eq!(body["token_type"], "DPoP");
    let bound = claims_of(&s.t, &body, RESOURCE).cnf.and_then(|c| c.jkt);
    assert_eq!(bound, Some(jkt(&dpop_key.public_jwk())));
    let grant = s.id_jag(|_| {});
    let p = proof(&mut s, "GET");
    assert_eq!(error_of(&with_proof(&mut s, &grant, Some(&p))), (400, "invalid_dpop_proof".into()));
    // A client registered dpop_bound_access_tokens: no proof, no token.
    let mut s = setup_with(&[], |c| c.clients.iter_mut().for_each(|c| c.dpop_bound_access_tokens = true));
    let grant = s.id_jag(|_| {});
    assert_eq!(error_of(&with_proof(&mut s, &grant, None)), (400, "invalid_dpop_proof".into()));
}

/// RFC 7523 §3 (6): a grant whose `nbf` is still ahead is not accepted yet.
#[test]
fn a_grant_not_yet_valid_is_invalid_grant() {
    let mut s = setup(&[]);
    let grant = s.id_jag(|c| c["nbf"] = json!(NOW + 120));
    assert_eq!(error_of(&s.present(&grant, &[])), (400, "invalid_grant".into()));
    let grant = s.id_jag(|c| c["nbf"] = json!(NOW));
    assert_eq!(s.present(&grant, &[]).status(), 200);
}

/// RFC 7515 §4.1.9: `typ` `application/oauth-id-jag+jwt`, in any case, is an ID-JAG's.
#[test]
fn the_typ_may_carry_its_application_prefix() {
    assert!(id_jag::is_typ("application/oauth-id-jag+jwt") && id_jag::is_typ("OAuth-ID-JAG+JWT"));
    assert!(
        !id_jag::is_typ("JWT") && !id_jag::is_typ("application/jwt") && !id_jag::is_typ("x/oauth-id-jag+jwt")
    );
    let mut s = setup(&[]);
    let claims = s.id_jag_claims();
    let grant = s.sign(&key(11, "idp"), Some("application/oauth-id-jag+jwt"), &claims);
    assert_eq!(s.present(&grant, &[]).status(), 200);
}
