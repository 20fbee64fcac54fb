//! The issuers of JWT authorization grants (RFC 7523 §2.1) in the simulated world, which
//! the simulated AS trusts: an enterprise IdP at [`IDP`] (enterprise-managed
//! authorization: it signs ID tokens and exchanges them for ID-JAGs, RFC 8693) and a
//! workload platform at [`WORKLOAD_ISSUER`] (workload identity federation: it signs
//! workload JWTs). The harness holds both keys, drawn from the seed, so that the AS
//! scenarios can also forge the grants a broken or hostile issuer would sign.
//!
//! A live AS trusts neither: [`World::enterprise`] then says why the cases that need
//! them cannot run.

use super::{AS, MCP, OTHER_MCP, World};
use mcp_authz_reference::authorization_server::{
    self as authz, AssertionKind, RegisteredClient, TrustedIssuer,
};
use mcp_authz_reference::enterprise_idp::{self, AudienceResource, EnterpriseIdp, IdpClient};
use mcp_authz_reference::id_jag;
use mcp_authz_reference::jwt::{self, Algorithm, JoseHeader, SigningKey};
use mcp_authz_reference::sans_io::FetchResult;
use mcp_authz_reference::wire;
use mcp_authz_sim::scenario::Check;
use mcp_authz_sim::sim::Sim;
use serde_json::Value;
use std::time::Duration;

/// The enterprise IdP.
pub const IDP: &str = "https://idp.example";
/// The workload platform that issues workload JWTs.
pub const WORKLOAD_ISSUER: &str = "https://workload.example";
/// The enterprise's MCP client: registered with the IdP and, for the JWT bearer grant,
/// with the AS (`client_secret_basic`, scopes `mcp:read mcp:write`).
pub const ENTERPRISE_CLIENT: &str = "enterprise-agent";
/// Its secret, at both.
pub const ENTERPRISE_SECRET: &str = "enterprise-agent-secret";
/// The enterprise user who signed in to the client.
pub const ENTERPRISE_USER: &str = "alice";
/// The `kid` of the IdP's key.
pub const IDP_KID: &str = "idp-key";
/// The `kid` of the workload platform's key.
pub const WORKLOAD_KID: &str = "workload-key";

/// Who the harness can sign grants as, and for which client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enterprise {
    /// The enterprise IdP's issuer (its `/token` exchanges ID tokens for ID-JAGs).
    pub idp: String,
    /// The workload platform's issuer.
    pub workload_issuer: String,
    /// The client that presents ID-JAGs, and its secret at the AS under test.
    pub client: (String, String),
}

fn key(sim: &mut Sim, label: &str, kid: &str) -> SigningKey {
    sim.env_for(label, |env| SigningKey::generate(Algorithm::EdDSA, kid, env))
        .expect("key generation from a seeded rng")
}

/// The IdP's signing key (the same for every call in one world: drawn from the seed).
fn idp_key(sim: &mut Sim) -> SigningKey {
    key(sim, "key:enterprise idp", IDP_KID)
}

/// The workload platform's signing key.
fn workload_key(sim: &mut Sim) -> SigningKey {
    key(sim, "key:workload platform", WORKLOAD_KID)
}

/// Adds the IdP to `sim` and makes `as_config` trust it and the workload platform, with
/// the enterprise's client registered for the JWT bearer grant.
pub(crate) fn add_issuers(
    sim: &mut Sim,
    as_config: &mut authz::Config,
) -> Result<(), mcp_authz_reference::Error> {
    let scopes: Vec<String> = ["mcp:read", "mcp:write", "mcp:admin"].map(String::from).to_vec();
    let pair = |resource: &str| AudienceResource {
        audience: AS.into(),
        resource: resource.into(),
        scopes: scopes.clone(),
    };
    let config = enterprise_idp::Config {
        issuer: IDP.into(),
        users: vec![ENTERPRISE_USER.into()],
        clients: vec![IdpClient {
            client_id: ENTERPRISE_CLIENT.into(),
            client_secret: ENTERPRISE_SECRET.into(),
        }],
        pairs: vec![pair(MCP), pair(OTHER_MCP)],
        id_jag_lifetime: Duration::from_secs(300),
    };
    let idp = EnterpriseIdp::new(config, idp_key(sim))?;
    let trusted = |issuer: &str, key: SigningKey, kind| TrustedIssuer {
        issuer: issuer.into(),
        jwks: key.public_jwks(),
        kind,
        scopes: scopes.clone(),
    };
    as_config.trusted_issuers = vec![
        trusted(IDP, idp_key(sim), AssertionKind::IdJag),
        trusted(WORKLOAD_ISSUER, workload_key(sim), AssertionKind::Workload),
    ];
    as_config.clients.push(RegisteredClient {
        client_id: ENTERPRISE_CLIENT.into(),
        client_secret: Some(ENTERPRISE_SECRET.into()),
        grant_types: vec![id_jag::JWT_BEARER.into()],
        token_endpoint_auth_method: "client_secret_basic".into(),
        scopes: scopes[..2].to_vec(),
        client_name: Some("enterprise agent".into()),
        ..RegisteredClient::default()
    });
    sim.add_service(IDP, idp);
    Ok(())
}

impl Enterprise {
    /// The simulated world's.
    pub(crate) fn simulated() -> Enterprise {
        Enterprise {
            idp: IDP.into(),
            workload_issuer: WORKLOAD_ISSUER.into(),
            client: (ENTERPRISE_CLIENT.into(), ENTERPRISE_SECRET.into()),
        }
    }
}

impl World {
    /// The grant issuers the AS under test trusts and whose keys the harness holds; not
    /// applicable when there are none (a live AS: it trusts no key of the harness's).
    pub fn enterprise(&self) -> Result<Enterprise, Check> {
        self.enterprise.clone().ok_or_else(|| {
            Check::NotApplicable(
                "needs an enterprise IdP and a workload platform the AS under test trusts, whose keys the \
                 harness holds: only the simulated AS is set up so (a live AS trusts no issuer of the harness's)"
                    .into(),
            )
        })
    }

    /// An ID-JAG for the enterprise user at MCP server A with `scope`, the honest way: the
    /// user's ID token (single sign-on, EMA §3) exchanged at the IdP (RFC 8693, EMA §4).
    pub fn id_jag_from_idp(&mut self, scope: &str) -> Result<String, Check> {
        let e = self.enterprise()?;
        let now = self.now();
        let idp = self.sim.service::<EnterpriseIdp>(&e.idp);
        let id_token = idp.map(|idp| idp.id_token(ENTERPRISE_USER, &e.client.0, now));
        let Some(Ok(id_token)) = id_token else {
            return Err(Check::Undecided("the harness's IdP gave no ID token".into()));
        };
        self.note(&format!("single sign-on: {ENTERPRISE_USER} signed in to {} at {}", e.client.0, e.idp));
        let (audience, resource) = (self.as_under_test.issuer.clone(), self.as_under_test.resource.clone());
        let form = wire::encode_pairs([
            ("grant_type", id_jag::TOKEN_EXCHANGE),
            ("requested_token_type", id_jag::TOKEN_TYPE),
            ("audience", audience.as_str()),
            ("resource", resource.as_str()),
            ("scope", scope),
            ("subject_token", id_token.as_str()),
            ("subject_token_type", id_jag::ID_TOKEN_TYPE),
            ("client_id", e.client.0.as_str()),
            ("client_secret", e.client.1.as_str()),
        ]);
        let r: FetchResult = match wire::post_form_request(&format!("{}/token", e.idp), &form) {
            Ok(req) => self.send(&e.client.0, req),
            Err(err) => return Err(Check::Undecided(format!("token exchange request: {err}"))),
        };
        let exchanged = r.as_ref().ok().and_then(enterprise_idp::exchange_response);
        exchanged.map(|x| x.access_token).ok_or_else(|| {
            Check::Undecided(format!("the harness's IdP refused the token exchange: {}", super::describe(&r)))
        })
    }

    /// `claims` signed under `header` by the IdP's key, or by `key` when given (a key the
    /// IdP does not hold).
    pub fn sign_as_idp(&mut self, header: &JoseHeader, claims: &Value, key: Option<&SigningKey>) -> String {
        let idp = idp_key(&mut self.sim);
        jwt::encode_with_header(key.unwrap_or(&idp), header, claims).unwrap_or_default()
    }

    /// `claims` signed as a workload JWT (`typ: JWT`) by the workload platform's key.
    pub fn sign_as_workload_platform(&mut self, claims: &Value) -> String {
        jwt::encode(&workload_key(&mut self.sim), "JWT", claims).unwrap_or_default()
    }
}
