//! The issuers of JWT authorization grants (RFC 7523 §2.1) in the simulated world, which
//! the simulated AS trusts: an enterprise IdP at [`IDP`] (enterprise-managed
//! authorization: it signs ID tokens and exchanges them for ID-JAGs, RFC 8693) and a
//! workload platform at [`WORKLOAD_ISSUER`] (workload identity federation: it signs
//! workload JWTs). The harness holds both keys, drawn from the seed, so that the AS
//! scenarios can also forge the grants a broken or hostile issuer would sign.
//!
//! A live AS trusts them once its operator configured it to (`mcp-authz test-as
//! --jwt-bearer-client`, with the harness's keys from its state folder); otherwise
//! [`World::enterprise`] says why the cases that need them cannot run.

use super::World;
use mcp_authz_reference::Error;
use mcp_authz_reference::authorization_server::{
    self as authz, AssertionKind, RegisteredClient, TrustedIssuer,
};
use mcp_authz_reference::enterprise_idp::{self, AudienceResource, EnterpriseIdp, IdpClient};
use mcp_authz_reference::id_jag;
use mcp_authz_reference::jwt::{self, Algorithm, JoseHeader, Jwks, SigningKey};
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

/// A key the harness signs grants with, kept as PKCS#8 so that a world can hold it and a
/// live run can read it from a file. Its `Debug` leaves the private key out.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuerKey {
    /// Its algorithm (asymmetric).
    pub alg: Algorithm,
    /// Its `kid`.
    pub kid: String,
    /// The private key, PKCS#8 DER.
    pub pkcs8: Vec<u8>,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKey").field("alg", &self.alg).field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl IssuerKey {
    /// The key `key` is.
    pub fn of(key: &SigningKey) -> Result<IssuerKey, Error> {
        Ok(IssuerKey { alg: key.alg(), kid: key.kid().into(), pkcs8: key.to_pkcs8_der()? })
    }

    /// The signing key.
    pub fn signing_key(&self) -> Result<SigningKey, Error> {
        SigningKey::from_pkcs8_der(self.alg, self.kid.clone(), &self.pkcs8)
    }

    /// Its public JWK Set, which the AS under test must trust.
    pub fn public_jwks(&self) -> Result<Jwks, Error> {
        Ok(self.signing_key()?.public_jwks())
    }
}

/// Who the harness can sign grants as, and for which client. Its `Debug` leaves the
/// client's secret out.
#[derive(Clone, PartialEq, Eq)]
pub struct Enterprise {
    /// The enterprise IdP's issuer, an origin (its `/token` exchanges ID tokens for
    /// ID-JAGs; the harness runs it in its simulator).
    pub idp: String,
    /// The IdP's signing key.
    pub idp_key: IssuerKey,
    /// The workload platform's issuer.
    pub workload_issuer: String,
    /// The workload platform's signing key.
    pub workload_key: IssuerKey,
    /// The client that presents ID-JAGs, and its secret at the AS under test
    /// (`client_secret_basic`, registered for the JWT bearer grant).
    pub client: (String, String),
}

impl std::fmt::Debug for Enterprise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enterprise")
            .field("idp", &self.idp)
            .field("idp_key", &self.idp_key)
            .field("workload_issuer", &self.workload_issuer)
            .field("workload_key", &self.workload_key)
            .field("client", &self.client.0)
            .finish_non_exhaustive()
    }
}

fn key(sim: &mut Sim, label: &str, kid: &str) -> Result<IssuerKey, Error> {
    IssuerKey::of(&sim.env_for(label, |env| SigningKey::generate(Algorithm::EdDSA, kid, env))?)
}

impl Enterprise {
    /// The simulated world's: the IdP at [`IDP`], the platform at [`WORKLOAD_ISSUER`],
    /// EdDSA keys drawn from the seed (deterministic signatures: the traces stay
    /// byte-identical), the client [`ENTERPRISE_CLIENT`].
    pub fn simulated(sim: &mut Sim) -> Result<Enterprise, Error> {
        Ok(Enterprise {
            idp: IDP.into(),
            idp_key: key(sim, "key:enterprise idp", IDP_KID)?,
            workload_issuer: WORKLOAD_ISSUER.into(),
            workload_key: key(sim, "key:workload platform", WORKLOAD_KID)?,
            client: (ENTERPRISE_CLIENT.into(), ENTERPRISE_SECRET.into()),
        })
    }

    /// The issuers an AS must trust for the cases to run: the IdP for ID-JAGs, the
    /// platform for workload JWTs, each for `scopes`.
    pub fn trusted_issuers(&self, scopes: &[String]) -> Result<Vec<TrustedIssuer>, Error> {
        let trusted = |issuer: &str, key: &IssuerKey, kind| -> Result<TrustedIssuer, Error> {
            Ok(TrustedIssuer {
                issuer: issuer.into(),
                jwks: key.public_jwks()?,
                kind,
                scopes: scopes.to_vec(),
            })
        };
        Ok(vec![
            trusted(&self.idp, &self.idp_key, AssertionKind::IdJag)?,
            trusted(&self.workload_issuer, &self.workload_key, AssertionKind::Workload)?,
        ])
    }

    /// The enterprise's client, registered for the JWT bearer grant with `scopes`.
    pub fn registered_client(&self, scopes: &[String]) -> RegisteredClient {
        RegisteredClient {
            client_id: self.client.0.clone(),
            client_secret: Some(self.client.1.clone()),
            grant_types: vec![id_jag::JWT_BEARER.into()],
            token_endpoint_auth_method: "client_secret_basic".into(),
            scopes: scopes.to_vec(),
            client_name: Some("enterprise agent".into()),
            ..RegisteredClient::default()
        }
    }
}

/// The scopes of the MCP servers.
fn mcp_scopes() -> Vec<String> {
    ["mcp:read", "mcp:write", "mcp:admin"].map(String::from).to_vec()
}

/// Makes `as_config` (the simulated AS's) trust `e`'s issuers, with its client registered
/// (scopes `mcp:read mcp:write`).
pub(crate) fn trust(as_config: &mut authz::Config, e: &Enterprise) -> Result<(), Error> {
    let scopes = mcp_scopes();
    as_config.trusted_issuers = e.trusted_issuers(&scopes)?;
    as_config.clients.push(e.registered_client(&scopes[..2]));
    Ok(())
}

impl World {
    /// Runs `e`'s IdP in the simulator (at its origin), with the `(audience, resource)`
    /// pairs of the AS under test: its issuer with its resource and, if known, its other
    /// resource (EMA §7.6.1); and lets the cases sign grants as `e`'s issuers. The AS under
    /// test must trust them ([`Enterprise::trusted_issuers`]).
    pub fn with_grant_issuers(&mut self, e: Enterprise) -> Result<(), Error> {
        let t = &self.as_under_test;
        let resources = std::iter::once(&t.resource).chain(&t.other_resource);
        let pairs = resources
            .map(|r| AudienceResource {
                audience: t.issuer.clone(),
                resource: r.clone(),
                scopes: mcp_scopes(),
            })
            .collect();
        let config = enterprise_idp::Config {
            issuer: e.idp.clone(),
            users: vec![ENTERPRISE_USER.into()],
            clients: vec![IdpClient { client_id: e.client.0.clone(), client_secret: e.client.1.clone() }],
            pairs,
            id_jag_lifetime: Duration::from_secs(300),
        };
        let origin = url::Url::parse(&e.idp).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        if origin != e.idp {
            return Err(Error::Config(format!("the harness's IdP issuer `{}` must be an origin", e.idp)));
        }
        self.sim.add_service(&e.idp, EnterpriseIdp::new(config, e.idp_key.signing_key()?)?);
        self.enterprise = Some(e);
        Ok(())
    }

    /// The grant issuers the AS under test trusts and whose keys the harness holds; not
    /// applicable when there are none.
    pub fn enterprise(&self) -> Result<Enterprise, Check> {
        self.enterprise.clone().ok_or_else(|| {
            Check::NotApplicable(
                "needs an ID-JAG issuer and a workload platform that the AS under test trusts and whose keys \
                 the harness holds: the simulated AS trusts the world's; a live one, those of \
                 `mcp-authz test-as --jwt-bearer-client` once configured (docs: test-as)"
                    .into(),
            )
        })
    }

    /// An ID-JAG for the enterprise user at the AS under test's resource with `scope`, the
    /// honest way: the user's ID token (single sign-on, EMA §3) exchanged at the IdP
    /// (RFC 8693, EMA §4).
    pub fn id_jag_from_idp(&mut self, scope: &str) -> Result<String, Check> {
        let e = self.enterprise()?;
        let id_token = self.id_token()?;
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

    /// The ID token of the enterprise user for the enterprise client, signed by the IdP
    /// now: what the client holds after single sign-on (EMA §3).
    pub fn id_token(&mut self) -> Result<String, Check> {
        let e = self.enterprise()?;
        let now = self.now();
        let idp = self.sim.service::<EnterpriseIdp>(&e.idp);
        let id_token = idp.map(|idp| idp.id_token(ENTERPRISE_USER, &e.client.0, now));
        let Some(Ok(id_token)) = id_token else {
            return Err(Check::Undecided("the harness's IdP gave no ID token".into()));
        };
        self.note(&format!("single sign-on: {ENTERPRISE_USER} signed in to {} at {}", e.client.0, e.idp));
        Ok(id_token)
    }

    /// `claims` signed by the IdP's key under a header with `typ` (none when `None`), its
    /// `alg` and `kid`; or, when `foreign`, by another key of the same algorithm under the
    /// same `kid` (a key the IdP does not hold).
    pub fn sign_as_idp(&mut self, typ: Option<&str>, claims: &Value, foreign: bool) -> String {
        let Ok(e) = self.enterprise() else { return String::new() };
        let key = match foreign {
            false => e.idp_key.signing_key(),
            true => self.sim.env_for("key:foreign idp", |env| {
                SigningKey::generate(e.idp_key.alg, e.idp_key.kid.clone(), env)
            }),
        };
        let Ok(key) = key else { return String::new() };
        let header = JoseHeader {
            alg: key.alg().name().into(),
            typ: typ.map(String::from),
            kid: Some(key.kid().into()),
            crit: None,
        };
        jwt::encode_with_header(&key, &header, claims).unwrap_or_default()
    }

    /// `claims` signed as a workload JWT (`typ: JWT`) by the workload platform's key.
    pub fn sign_as_workload_platform(&mut self, claims: &Value) -> String {
        let key = self.enterprise().ok().and_then(|e| e.workload_key.signing_key().ok());
        key.and_then(|k| jwt::encode(&k, "JWT", claims).ok()).unwrap_or_default()
    }
}
