//! The JWT bearer grant against the fake world: enterprise-managed authorization (token
//! exchange at an enterprise IdP, then the ID-JAG at the AS) and workload identity
//! federation (the workload's JWT at the AS).

use super::*;
use crate::client::jwt_bearer::GRANT_TYPE;
use crate::client::token_exchange::{self, ID_JAG_TOKEN_TYPE, ID_JAG_TYP, ID_TOKEN_TYPE};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// The enterprise IdP's token endpoint.
pub(super) const IDP_TOKEN: &str = "https://idp.example/token";
const ID_TOKEN: &str = "eyJ.id-token.sig";
const AS_TOKEN: &str = "https://as.example/token";

/// A compact JWS with `typ` and `claims` and a signature nobody checks here.
fn unsigned_jws(typ: &str, claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        part(&json!({"alg": "ES256", "typ": typ})),
        part(claims),
        URL_SAFE_NO_PAD.encode("sig")
    )
}

impl World {
    /// The enterprise IdP: exchanges any ID token for a fresh ID-JAG (or answers
    /// [`World::idp_answer`], once).
    pub(super) fn idp_token_exchange(&mut self, form: &Params) -> Response {
        if let Some(answer) = self.idp_answer.take() {
            return answer;
        }
        let jti = self.fresh("jag");
        let claims = json!({"iss": "https://idp.example", "sub": "alice", "aud": form.get("audience"),
            "resource": form.get("resource"), "client_id": "agent", "jti": jti, "iat": 1_000, "exp": 1_300});
        let body = json!({"access_token": unsigned_jws(ID_JAG_TYP, &claims), "issued_token_type": ID_JAG_TOKEN_TYPE,
            "token_type": "N_A", "expires_in": 300});
        wire::json_no_store(StatusCode::OK, &body)
    }
}

/// An AS that offers the JWT bearer grant only.
fn jwt_bearer_world() -> World {
    let mut world = World::new();
    world.no_refresh = true;
    world.as_metadata.grant_types_supported = Some(vec![GRANT_TYPE.into()]);
    world.as_metadata.token_endpoint_auth_methods_supported = Some(vec!["client_secret_basic".into()]);
    world.as_metadata.code_challenge_methods_supported = None;
    world.as_metadata.authorization_endpoint = None;
    world
}

fn enterprise() -> EnterpriseManaged {
    EnterpriseManaged {
        idp_token_endpoint: IDP_TOKEN.into(),
        idp_client: Some(IdpClient { client_id: "idp-client".into(), client_secret: None }),
        id_token: ID_TOKEN.into(),
        client: ClientCredentials {
            client_id: "agent".into(),
            credential: Credential::Secret("s3".into()),
            issuer: None,
        },
    }
}

fn workload_jwt(aud: Value, exp: u64) -> String {
    let claims = json!({"iss": "https://platform.example", "sub": "system:serviceaccount:ns:agent",
        "aud": aud, "exp": exp, "iat": 900, "jti": "w-1"});
    unsigned_jws("JWT", &claims)
}

fn workload(jwt: String) -> JwtBearerGrant {
    JwtBearerGrant::Workload(WorkloadIdentity { jwt, client_id: Some("workload".into()) })
}

fn with_grant(grant: JwtBearerGrant) -> PublicClient {
    let config = PublicClientConfig {
        jwt_bearer: Some(grant),
        ..PublicClientConfig::new(MCP, REDIRECT, "test client")
    };
    PublicClient::new(config).unwrap()
}

/// The form of `seen`, as sorted pairs.
fn fields(seen: &Seen) -> Vec<(String, String)> {
    seen.form().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    v.sort();
    v
}

/// CL-60, CL-61: the token exchange asks the IdP for an ID-JAG with `audience` the AS's
/// issuer and `resource` the MCP server; the ID-JAG goes to the AS as the `assertion`
/// of the JWT bearer grant with the client's Basic credentials; never `/authorize`,
/// never a registration.
#[test]
fn enterprise_exchanges_the_id_token_then_presents_the_id_jag() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = jwt_bearer_world();
    let mut c = with_grant(JwtBearerGrant::Enterprise(enterprise()));
    let ClientStep::Done(out) = call(&mut c, &mut world, &mut env) else { panic!("expected done") };
    assert_eq!(out.result["content"][0]["text"], MCP);
    assert!(world.authorize_urls.is_empty() && world.requests_to("https://as.example/register").is_empty());
    // tools/list with tools:read, then the step-up to tools:write: two grants, each an
    // exchange at the IdP followed by the grant at the AS.
    let legs: Vec<&str> = world
        .seen
        .iter()
        .filter(|s| s.url == IDP_TOKEN || s.url == AS_TOKEN)
        .map(|s| if s.url == IDP_TOKEN { "idp" } else { "as" })
        .collect();
    assert_eq!(legs, ["idp", "as", "idp", "as"]);
    let exchanges = world.requests_to(IDP_TOKEN);
    assert_eq!(
        fields(exchanges[0]),
        pairs(&[
            ("grant_type", token_exchange::GRANT_TYPE),
            ("requested_token_type", ID_JAG_TOKEN_TYPE),
            ("audience", AS),
            ("resource", MCP),
            ("scope", "tools:read"),
            ("subject_token", ID_TOKEN),
            ("subject_token_type", ID_TOKEN_TYPE),
            ("client_id", "idp-client"),
        ])
    );
    assert_eq!(exchanges[1].form().get("scope"), Some("tools:read tools:write"));
    let grants = world.requests_to(AS_TOKEN);
    let assertions: Vec<String> =
        grants.iter().map(|g| g.form().get("assertion").unwrap().to_string()).collect();
    assert_ne!(assertions[0], assertions[1], "a fresh ID-JAG per grant");
    assert_eq!(
        fields(grants[0]),
        pairs(&[
            ("grant_type", GRANT_TYPE),
            ("assertion", &assertions[0]),
            ("resource", MCP),
            ("scope", "tools:read"),
        ])
    );
    for g in &grants {
        assert_eq!(g.authorization(), Some(format!("Basic {}", STANDARD.encode("agent:s3")).as_str()));
    }
    assert_eq!(c.tokens().unwrap().issuer.as_deref(), Some(AS));
}

#[test]
fn enterprise_stops_at_the_idp_refusal_or_an_answer_that_is_no_id_jag() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = jwt_bearer_world();
    world.idp_answer =
        Some(wire::oauth_error(StatusCode::BAD_REQUEST, ErrorCode::InvalidGrant, "audience not allowed"));
    let e = failure(call(&mut with_grant(JwtBearerGrant::Enterprise(enterprise())), &mut world, &mut env));
    assert!(
        matches!(&e, Error::OAuth { endpoint: "identity provider token endpoint", error, .. }
            if *error == ErrorCode::InvalidGrant),
        "{e}"
    );
    assert!(world.requests_to(AS_TOKEN).is_empty());

    let mut world = jwt_bearer_world();
    let body = json!({"access_token": "opaque", "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "token_type": "Bearer"});
    world.idp_answer = Some(wire::json(StatusCode::OK, &body));
    let e = failure(call(&mut with_grant(JwtBearerGrant::Enterprise(enterprise())), &mut world, &mut env));
    assert!(e.to_string().contains("issued_token_type") && e.to_string().contains(ID_JAG_TOKEN_TYPE), "{e}");
    assert!(world.requests_to(AS_TOKEN).is_empty());
}

#[test]
fn enterprise_credentials_of_another_server_never_reach_the_idp() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = jwt_bearer_world();
    let mut bound = enterprise();
    bound.client.issuer = Some(AS2.into());
    let e =
        failure(call(&mut with_grant(JwtBearerGrant::Enterprise(bound)), &mut world, &mut env)).to_string();
    assert!(e.contains(AS2) && e.contains(AS), "{e}");
    // Nor a secret the AS cannot take: the metadata lists private_key_jwt only.
    let mut world = jwt_bearer_world();
    world.as_metadata.token_endpoint_auth_methods_supported = Some(vec!["private_key_jwt".into()]);
    let e = failure(call(&mut with_grant(JwtBearerGrant::Enterprise(enterprise())), &mut world, &mut env));
    assert!(e.to_string().contains("private_key_jwt"), "{e}");
    assert!(world.requests_to(IDP_TOKEN).is_empty());
}

/// CL-65: the workload's JWT is the `assertion`, with `resource`; no client
/// authentication (the configured client id in the body).
#[test]
fn workload_jwt_is_the_assertion_with_the_resource() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = jwt_bearer_world();
    world.as_metadata.token_endpoint_auth_methods_supported = Some(vec!["none".into()]);
    let jwt = workload_jwt(json!(AS), 2_000);
    let mut c = with_grant(workload(jwt.clone()));
    let ClientStep::Done(out) = call(&mut c, &mut world, &mut env) else { panic!("expected done") };
    assert_eq!(out.result["content"][0]["text"], MCP);
    assert!(world.authorize_urls.is_empty() && world.requests_to(IDP_TOKEN).is_empty());
    let grants = world.requests_to(AS_TOKEN);
    assert_eq!(grants.len(), 2, "tools/list, then the step-up");
    assert_eq!(
        fields(grants[0]),
        pairs(&[
            ("grant_type", GRANT_TYPE),
            ("assertion", &jwt),
            ("resource", MCP),
            ("scope", "tools:read"),
            ("client_id", "workload"),
        ])
    );
    assert!(grants.iter().all(|g| g.authorization().is_none()));
    // An `aud` array naming the token endpoint will do too, and no client id is sent
    // when none is configured.
    let mut world = jwt_bearer_world();
    let jwt = workload_jwt(json!(["https://other.example", AS_TOKEN]), 2_000);
    let grant = JwtBearerGrant::Workload(WorkloadIdentity { jwt, client_id: None });
    assert!(matches!(call(&mut with_grant(grant), &mut world, &mut env), ClientStep::Done(_)));
    assert_eq!(world.token_requests()[0].get("client_id"), None);
}

/// The conformance scenario `auth/wif-jwt-bearer`: an error answer ends the grant; the
/// client sends no second token request, and no request of another grant.
#[test]
fn a_refused_jwt_bearer_grant_is_the_last_request() {
    for code in [ErrorCode::InvalidGrant, ErrorCode::InvalidScope, ErrorCode::UnauthorizedClient] {
        let mut rng = rng();
        let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
        let mut world = jwt_bearer_world();
        world.refuse_jwt_bearer = Some(code.clone());
        let mut c = with_grant(workload(workload_jwt(json!(AS), 2_000)));
        let e = failure(call(&mut c, &mut world, &mut env));
        assert!(matches!(&e, Error::OAuth { error, .. } if *error == code), "{e}");
        assert_eq!(world.seen.last().map(|s| s.url.as_str()), Some(AS_TOKEN), "{code}");
        assert_eq!(world.requests_to(AS_TOKEN).len(), 1, "{code}");
        assert!(
            world.authorize_urls.is_empty() && world.requests_to("https://as.example/register").is_empty()
        );
        assert!(c.tokens().is_none());
    }
    // The same for an ID-JAG: one exchange, one grant, then nothing.
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = jwt_bearer_world();
    world.refuse_jwt_bearer = Some(ErrorCode::InvalidGrant);
    let _ = failure(call(&mut with_grant(JwtBearerGrant::Enterprise(enterprise())), &mut world, &mut env));
    assert_eq!((world.requests_to(IDP_TOKEN).len(), world.requests_to(AS_TOKEN).len()), (1, 1));
    assert_eq!(world.seen.last().map(|s| s.url.as_str()), Some(AS_TOKEN));
}

#[test]
fn a_workload_jwt_for_another_server_or_expired_is_not_sent() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = jwt_bearer_world();
    let wrong = workload(workload_jwt(json!("https://wrong.example"), 2_000));
    let e = failure(call(&mut with_grant(wrong), &mut world, &mut env)).to_string();
    assert!(
        e.contains("aud of the workload jwt") && e.contains("https://wrong.example") && e.contains(AS),
        "{e}"
    );
    let expired = workload(workload_jwt(json!(AS), 1_000));
    let e = failure(call(&mut with_grant(expired), &mut world, &mut env)).to_string();
    assert!(e.contains("exp of the workload jwt") && e.contains("expired"), "{e}");
    assert!(world.requests_to(AS_TOKEN).is_empty());
}

#[test]
fn the_jwt_bearer_grant_needs_the_as_to_list_it() {
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = jwt_bearer_world();
    world.as_metadata.grant_types_supported = Some(vec!["client_credentials".into()]);
    let e = failure(call(&mut with_grant(workload(workload_jwt(json!(AS), 2_000))), &mut world, &mut env));
    assert_eq!(
        e,
        Error::unexpected(
            "grant_types_supported",
            "[\"client_credentials\"]",
            format!("a list containing \"{GRANT_TYPE}\"")
        )
    );
    assert!(world.requests_to(AS_TOKEN).is_empty());
}

#[test]
fn a_configuration_that_cannot_work_is_refused_at_once() {
    let config = |grant: JwtBearerGrant| PublicClientConfig {
        jwt_bearer: Some(grant),
        ..PublicClientConfig::new(MCP, REDIRECT, "test client")
    };
    let refused = |c: PublicClientConfig| PublicClient::new(c).unwrap_err().to_string();
    let mut both = config(JwtBearerGrant::Enterprise(enterprise()));
    both.client_credentials = Some(enterprise().client);
    assert!(refused(both).contains("expected one grant"));
    let e = refused(config(workload("not-a-jwt".into())));
    assert!(e.contains("workload jwt") && e.contains("compact JWS"), "{e}");
    let insecure =
        EnterpriseManaged { idp_token_endpoint: "http://idp.example/token".into(), ..enterprise() };
    assert!(refused(config(JwtBearerGrant::Enterprise(insecure))).contains("idp_token_endpoint"));
    let empty = EnterpriseManaged { id_token: " ".into(), ..enterprise() };
    assert!(refused(config(JwtBearerGrant::Enterprise(empty))).contains("id token"));
    let debug = format!("{:?}", config(workload(workload_jwt(json!(AS), 2_000))));
    assert!(!debug.contains("eyJ"), "{debug}");
}

/// The defects of the JWT bearer grants change only what they name: the token exchange's
/// `audience` (the MCP server, not the AS's issuer), the grant the ID-JAG is sent with
/// (token exchange, as `subject_token`), the workload grant's `resource`.
#[test]
fn the_jwt_bearer_defects_change_what_they_name() {
    let with_defect = |grant: JwtBearerGrant, defect: Defect| {
        let mut config = PublicClientConfig {
            jwt_bearer: Some(grant),
            ..PublicClientConfig::new(MCP, REDIRECT, "test client")
        };
        config.defects = Defects::of([defect]);
        PublicClient::new(config).unwrap()
    };
    let mut rng = rng();
    let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
    let mut world = jwt_bearer_world();
    let mut c = with_grant(JwtBearerGrant::Enterprise(enterprise()));
    let _ = call(&mut c, &mut world, &mut env);
    assert_eq!(world.requests_to(IDP_TOKEN)[0].form().get("audience"), Some(AS));

    let mut world = jwt_bearer_world();
    let mut c = with_defect(JwtBearerGrant::Enterprise(enterprise()), Defect::ClientEmaAudienceResource);
    let _ = call(&mut c, &mut world, &mut env);
    assert_eq!(world.requests_to(IDP_TOKEN)[0].form().get("audience"), Some(MCP));

    let mut world = jwt_bearer_world();
    let mut c = with_defect(JwtBearerGrant::Enterprise(enterprise()), Defect::ClientEmaWrongGrant);
    let _ = call(&mut c, &mut world, &mut env);
    let form = world.requests_to(AS_TOKEN)[0].form();
    assert_eq!(form.get("grant_type"), Some(token_exchange::GRANT_TYPE));
    assert_eq!(form.get("subject_token_type"), Some(ID_JAG_TOKEN_TYPE));
    assert!(form.get("subject_token").is_some() && form.get("assertion").is_none());

    let mut world = jwt_bearer_world();
    let mut c = with_defect(workload(workload_jwt(json!(AS), 2_000)), Defect::ClientWifNoResource);
    let _ = call(&mut c, &mut world, &mut env);
    let form = world.requests_to(AS_TOKEN)[0].form();
    assert_eq!((form.get("grant_type"), form.get("resource")), (Some(GRANT_TYPE), None));
}
