use super::*;
use crate::sans_io::drive;
use rand_core::SeedableRng;

const NOW: u64 = 1_700_000_000;
const ISSUER: &str = "https://idp.example";
const AS: &str = "https://as.example";
const MCP: &str = "https://mcp.example/mcp";

struct Tester {
    idp: EnterpriseIdp,
    rng: rand_chacha::ChaCha20Rng,
    now: Time,
}

fn key(seed: u64) -> SigningKey {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    SigningKey::generate(Algorithm::ES256, "idp", &mut Env::new(Time::from_unix_secs(NOW), &mut rng)).unwrap()
}

fn tester() -> Tester {
    let config = Config {
        issuer: ISSUER.into(),
        users: vec!["alice".into()],
        clients: vec![
            IdpClient { client_id: "agent".into(), client_secret: "agent-secret".into() },
            IdpClient { client_id: "other".into(), client_secret: "other-secret".into() },
        ],
        pairs: vec![AudienceResource {
            audience: AS.into(),
            resource: MCP.into(),
            scopes: vec!["mcp:read".into(), "mcp:write".into()],
        }],
        id_jag_lifetime: Duration::from_secs(300),
    };
    Tester {
        idp: EnterpriseIdp::new(config, key(1)).unwrap(),
        rng: rand_chacha::ChaCha20Rng::seed_from_u64(2),
        now: Time::from_unix_secs(NOW),
    }
}

impl Tester {
    fn id_token(&self, client: &str) -> String {
        self.idp.id_token("alice", client, self.now).unwrap()
    }

    /// A token exchange by `agent` with its secret, `changes` applied (`None` drops).
    fn exchange(&mut self, changes: &[(&str, Option<&str>)]) -> Response {
        let id_token = self.id_token("agent");
        let base = [
            ("grant_type", id_jag::TOKEN_EXCHANGE),
            ("requested_token_type", id_jag::TOKEN_TYPE),
            ("audience", AS),
            ("resource", MCP),
            ("scope", "mcp:read mcp:admin"),
            ("subject_token", id_token.as_str()),
            ("subject_token_type", id_jag::ID_TOKEN_TYPE),
            ("client_id", "agent"),
            ("client_secret", "agent-secret"),
        ];
        let mut form: Vec<(&str, &str)> =
            base.iter().filter(|(k, _)| !changes.iter().any(|(c, _)| c == k)).copied().collect();
        form.extend(changes.iter().filter_map(|(k, v)| v.map(|v| (*k, v))));
        let request = wire::post_form_request(&format!("{ISSUER}/token"), &wire::encode_pairs(form)).unwrap();
        drive(&mut self.idp, request, &mut Env::new(self.now, &mut self.rng), |_| unreachable!())
    }
}

fn error_of(r: &Response) -> (u16, String) {
    let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
    (r.status().as_u16(), body["error"].as_str().unwrap_or_default().to_string())
}

#[test]
fn exchanges_an_id_token_for_an_id_jag() {
    let mut t = tester();
    let r = t.exchange(&[]);
    let body = exchange_response(&r).expect("200 with an exchange response");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(
        (body.issued_token_type.as_str(), body.token_type.as_str(), body.scope.as_str(), body.expires_in),
        (id_jag::TOKEN_TYPE, "N_A", "mcp:read", 300)
    );
    let keys = KeySet::from_jwks(&t.idp.jwks()).unwrap();
    let (header, payload) = jwt::decode_verified(&body.access_token, &keys, &Algorithm::ASYMMETRIC).unwrap();
    assert_eq!(header.typ.as_deref(), Some(id_jag::TYP));
    let claims: IdJagClaims = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        (claims.iss.as_str(), claims.sub.as_str(), claims.aud.as_str(), claims.client_id.as_str()),
        (ISSUER, "alice", AS, "agent")
    );
    assert_eq!((claims.resource.as_deref(), claims.exp - claims.iat), (Some(MCP), 300));
    // Without a resource: the pair of the audience, no `resource` claim.
    let body = exchange_response(&t.exchange(&[("resource", None), ("scope", None)])).unwrap();
    assert_eq!(body.scope, "mcp:read mcp:write");
    let (_, payload) = jwt::decode_verified(&body.access_token, &keys, &Algorithm::ASYMMETRIC).unwrap();
    assert_eq!(serde_json::from_slice::<IdJagClaims>(&payload).unwrap().resource, None);
}

/// AS-38: an `(audience, resource)` pair outside the policy, and an exchange without
/// client authentication, are refused.
#[test]
fn refuses_unknown_pairs_and_unauthenticated_clients() {
    let mut t = tester();
    let other_mcp = [("resource", Some("https://other.example/mcp"))];
    assert_eq!(error_of(&t.exchange(&other_mcp)), (400, "invalid_target".into()));
    let other_as = [("audience", Some("https://other-as.example"))];
    assert_eq!(error_of(&t.exchange(&other_as)), (400, "invalid_target".into()));
    assert_eq!(error_of(&t.exchange(&[("client_secret", None)])), (401, "invalid_client".into()));
    assert_eq!(error_of(&t.exchange(&[("client_secret", Some("guess"))])), (401, "invalid_client".into()));
    assert_eq!(error_of(&t.exchange(&[("scope", Some("mcp:admin"))])), (400, "invalid_scope".into()));
}

#[test]
fn refuses_subject_tokens_it_did_not_issue_to_the_client() {
    let mut t = tester();
    let others = t.id_token("other");
    assert_eq!(error_of(&t.exchange(&[("subject_token", Some(&others))])), (400, "invalid_grant".into()));
    let forged = EnterpriseIdp::new(t.idp.config.clone(), key(9)).unwrap().id_token("alice", "agent", t.now);
    let forged = forged.unwrap();
    assert_eq!(error_of(&t.exchange(&[("subject_token", Some(&forged))])), (400, "invalid_grant".into()));
    let old = t.id_token("agent");
    t.now = Time::from_unix_secs(NOW + ID_TOKEN_LIFETIME.as_secs());
    assert_eq!(error_of(&t.exchange(&[("subject_token", Some(&old))])), (400, "invalid_grant".into()));
}

#[test]
fn refuses_other_grants_and_token_types() {
    let mut t = tester();
    let cases = [
        ("grant_type", "client_credentials", "unsupported_grant_type"),
        ("requested_token_type", "urn:ietf:params:oauth:token-type:access_token", "invalid_request"),
        ("subject_token_type", "urn:ietf:params:oauth:token-type:saml2", "invalid_request"),
    ];
    for (name, value, error) in cases {
        assert_eq!(error_of(&t.exchange(&[(name, Some(value))])), (400, error.into()), "{name}");
    }
    assert_eq!(error_of(&t.exchange(&[("audience", None)])), (400, "invalid_request".into()));
    let get = http::Request::get("/token").body(bytes::Bytes::new()).unwrap();
    let r = drive(&mut t.idp, get, &mut Env::new(t.now, &mut t.rng), |_| unreachable!());
    assert_eq!(r.status(), 405);
}

/// HTTP Basic credentials are form-urlencoded before base64 (RFC 6749 §2.3.1), as the
/// reference client sends them: a secret with `+`, `%`, `:` or a space still matches.
#[test]
fn basic_credentials_are_form_decoded() {
    let pairs = wire::basic_credentials(&{
        use base64::Engine as _;
        let mut h = http::HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%20client:a%2Bb%3Ac%25");
        h.insert(http::header::AUTHORIZATION, format!("Basic {encoded}").parse().unwrap());
        h
    });
    assert_eq!(pairs, Ok(Some(("my client".to_string(), "a+b:c%".to_string()))));
}
