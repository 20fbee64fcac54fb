//! The JWT bearer grant (RFC 7523 §2.1): a JWT from an issuer this server trusts
//! ([`TrustedIssuer`]) buys an access token. Two kinds of JWT are taken:
//!
//! - **ID-JAGs** ([`crate::id_jag`]) of an enterprise IdP, for the MCP extension
//!   enterprise-managed authorization (SEP-990): presented by a client that authenticates
//!   (EMA §5: "The MCP Client authenticates with its credentials as registered"), whose
//!   `client_id` the grant must name (EMA draft §5.1); `typ` `oauth-id-jag+jwt` (EMA draft
//!   §4.3, §5.1); `aud` this
//!   server's issuer (EMA §7.6.2); `resource`, when present, one of this server's
//!   resources, and the token's audience (EMA §5.1); scopes the intersection of the
//!   requested ones and the grant's (EMA §7.2.1).
//! - **workload JWTs** of a workload platform, for the MCP extension workload identity
//!   federation (SEP-1933): no client needed; `aud` this server's token endpoint (its
//!   issuer is also taken, RFC 7523 §3 lets either identify it); the token's audience is
//!   the `resource` parameter.
//!
//! Both are validated per RFC 7523 §3: a signature by a key of the trusted issuer, with an
//! asymmetric algorithm (never `none`); `iss`, `sub`, `aud`, `exp`, `iat` and `jti`
//! present; `exp` in the future, at most [`MAX_GRANT_LIFETIME`] ahead; `iat` not in the
//! future. Each is taken once: its `jti` (per issuer) is remembered until its `exp`
//! (EMA §7.4.2, "MUST implement replay detection"), at most [`MAX_USED_GRANTS`] of them;
//! when that many live grants are remembered, new ones are refused (503) rather than
//! forgetting one that could then be replayed. Every refusal of the JWT is `invalid_grant`
//! (RFC 7521 §5.2, RFC 7523 §3.1); of the client, `invalid_client`.

use super::config::{AssertionKind, JWT_BEARER_GRANT, ResourceConfig, TrustedIssuer};
use super::token::{Grant, TokenResponse};
use super::{AuthorizationServer, RegisteredClient, Rejection};
use crate::access_token::Audience;
use crate::defects::Defect;
use crate::id_jag;
use crate::jwt::{self, Algorithm, KeySet};
use crate::oauth_error::ErrorCode;
use crate::sans_io::{Env, Request, Time};
use crate::wire::Params;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The longest an accepted grant may still be valid: an `exp` further ahead is refused
/// (ID-JAGs "MUST be short-lived", EMA §7.4.2), which also bounds how long its `jti` is
/// remembered.
pub const MAX_GRANT_LIFETIME: Duration = Duration::from_secs(3600);
/// How far ahead of this server's clock an `iat` may be (clock skew, RFC 7523 §3).
pub const CLOCK_SKEW: Duration = Duration::from_secs(60);
/// The most live grants remembered for replay detection.
pub const MAX_USED_GRANTS: usize = 100_000;

/// The claims of a JWT grant this server reads; all optional, so that what is missing is
/// named.
#[derive(Debug, Default, Deserialize)]
struct GrantClaims {
    iss: Option<String>,
    sub: Option<String>,
    #[serde(default)]
    aud: Audience,
    exp: Option<u64>,
    nbf: Option<u64>,
    iat: Option<u64>,
    jti: Option<String>,
    resource: Option<String>,
    client_id: Option<String>,
    scope: Option<String>,
}

/// The grants already taken, by issuer and `jti`, with their `exp`.
#[derive(Debug, Default)]
pub(super) struct UsedGrants(BTreeMap<(String, String), u64>);

impl UsedGrants {
    /// Records `(iss, jti)` until `exp`, or refuses: a replay of a grant not yet expired
    /// (`invalid_grant`), or a full store (503). Expired grants are forgotten only when the
    /// store is full, so that a request costs a lookup, not a sweep of the store.
    fn take(&mut self, iss: &str, jti: &str, exp: u64, now: Time) -> Result<(), Rejection> {
        let now = now.unix_secs();
        let key = (iss.to_string(), jti.to_string());
        match self.0.get(&key) {
            Some(e) if *e > now => {
                return Err(invalid_grant(format!(
                    "jti `{jti}` of `{iss}` was already used; a grant is taken once (EMA §7.4.2)"
                )));
            }
            // An expired entry of the same grant is taken over below.
            Some(_) => {}
            None if self.0.len() >= MAX_USED_GRANTS => {
                self.0.retain(|_, e| *e > now);
                if self.0.len() >= MAX_USED_GRANTS {
                    return Err(Rejection::unavailable("too many grants in use; try again later"));
                }
            }
            None => {}
        }
        self.0.insert(key, exp);
        Ok(())
    }
}

fn invalid_grant(description: impl std::fmt::Display) -> Rejection {
    Rejection::new(ErrorCode::InvalidGrant, description)
}

/// The scopes of a space-separated list, without duplicates, in order.
fn scope_list(s: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for s in s.unwrap_or_default().split(' ').filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// True when the request carries any client authentication or identification.
fn names_a_client(request: &Request, form: &Params) -> bool {
    request.headers().contains_key(http::header::AUTHORIZATION)
        || ["client_id", "client_secret", "client_assertion", "client_assertion_type"]
            .iter()
            .any(|p| form.get(p).is_some())
}

impl AuthorizationServer {
    /// The issuers whose JWTs this server takes: the JWT bearer grant is offered when
    /// there is one.
    pub fn takes_jwt_grants(&self) -> bool {
        !self.config.trusted_issuers.is_empty()
    }

    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1).
    pub(super) fn jwt_bearer_grant(
        &mut self,
        request: &Request,
        form: &Params,
        env: &mut Env<'_>,
    ) -> Result<TokenResponse, Rejection> {
        let assertion =
            form.require("assertion").map_err(|e| Rejection::new(ErrorCode::InvalidRequest, e))?;
        let client = match names_a_client(request, form) {
            true => Some(self.authenticate_client(request, form, env.now)?),
            false => None,
        };
        let compact = jwt::split(assertion).map_err(|e| invalid_grant(format!("assertion: {e}")))?;
        let unverified: GrantClaims = serde_json::from_slice(&compact.payload)
            .map_err(|e| invalid_grant(format!("assertion claims: {e}")))?;
        let iss = unverified.iss.unwrap_or_default();
        let Some(trusted) = self.config.trusted_issuers.iter().find(|t| t.issuer == iss).cloned() else {
            let known: Vec<&str> = self.config.trusted_issuers.iter().map(|t| t.issuer.as_str()).collect();
            return Err(invalid_grant(format!(
                "assertion issuer `{iss}` is not trusted, expected one of {known:?} (RFC 7523 §3)"
            )));
        };
        let id_jag = trusted.kind == AssertionKind::IdJag;
        let defects = self.config.defects.clone();
        let (typ, payload) = match id_jag && defects.has(Defect::IdJagSignatureUnchecked) {
            true => (compact.header.typ.clone(), compact.payload.clone()),
            false => {
                let keys =
                    KeySet::from_jwks(&trusted.jwks).map_err(|e| invalid_grant(format!("keys: {e}")))?;
                let (header, payload) = jwt::decode_verified(assertion, &keys, &Algorithm::ASYMMETRIC)
                    .map_err(|e| invalid_grant(format!("assertion of `{iss}`: {e}")))?;
                (header.typ, payload)
            }
        };
        let claims: GrantClaims =
            serde_json::from_slice(&payload).map_err(|e| invalid_grant(format!("assertion claims: {e}")))?;
        let checked = self.check_times(&claims, id_jag, env.now)?;
        // DPoP as for any token request (RFC 9449 §5): a valid proof binds the token, an
        // invalid one is refused, and a client registered `dpop_bound_access_tokens`
        // sends one. A workload presents no client: its proof alone decides.
        let jkt = self.token_proof(request, client.as_ref().unwrap_or(&RegisteredClient::default()), env)?;
        let (resource, scope, sub, client_id) = match trusted.kind {
            AssertionKind::IdJag => {
                if !typ.as_deref().is_some_and(id_jag::is_typ) && !defects.has(Defect::IdJagTypUnchecked) {
                    return Err(invalid_grant(format!(
                        "ID-JAG typ {typ:?}, expected `{}` (EMA draft §4.3)",
                        id_jag::TYP
                    )));
                }
                let client = client.ok_or_else(|| {
                    Rejection::invalid_client(
                        "an ID-JAG is presented by an authenticated client (EMA §5)",
                        false,
                    )
                })?;
                let (resource, scope) = self.id_jag_grant(&claims, &client, &trusted, form)?;
                let sub = claims.sub.clone().unwrap_or_else(|| client.client_id.clone());
                (resource, scope, sub, client.client_id)
            }
            AssertionKind::Workload => {
                self.check_workload_audience(&claims)?;
                let resource = self.target(form.get("resource"))?;
                let requested = scope_list(form.get("scope"));
                let scope = narrow(&requested, &resource, |s| trusted.scopes.iter().any(|t| t == s))?;
                let sub = claims.sub.clone().unwrap_or_default();
                let client_id = client.map_or_else(|| sub.clone(), |c| c.client_id);
                (resource, scope, sub, client_id)
            }
        };
        let replay_allowed = id_jag && self.config.defects.has(Defect::IdJagReplayAllowed);
        if !replay_allowed {
            self.used_grants.take(&iss, &checked.jti, checked.exp, env.now)?;
        }
        let g = Grant {
            client_id: &client_id,
            sub: &sub,
            resource: &resource.uri,
            scope: &scope,
            jkt: jkt.as_deref(),
        };
        let access = self.issue_access_token(&g, env)?;
        Ok(self.response(access, &scope, None))
    }

    /// RFC 7523 §3's presence and time checks: `sub`, `exp`, `iat`, `jti` present; `exp`
    /// after now and at most [`MAX_GRANT_LIFETIME`] ahead; `iat` at most [`CLOCK_SKEW`]
    /// ahead.
    fn check_times(&self, c: &GrantClaims, id_jag: bool, now: Time) -> Result<Checked, Rejection> {
        let defects = self.config.defects.clone();
        let claims_unchecked = id_jag && defects.has(Defect::IdJagClaimsUnchecked);
        let expiry_unchecked = match id_jag {
            true => defects.has(Defect::IdJagExpiryUnchecked),
            false => defects.has(Defect::WorkloadExpiryUnchecked),
        };
        let now = now.unix_secs();
        let missing = |claim: &str| invalid_grant(format!("assertion has no `{claim}` (RFC 7523 §3)"));
        if c.sub.as_deref().is_none_or(str::is_empty) && !claims_unchecked {
            return Err(missing("sub"));
        }
        let exp = match c.exp {
            Some(exp) => exp,
            None if claims_unchecked => now + 60,
            None => return Err(missing("exp")),
        };
        if exp <= now && !expiry_unchecked {
            return Err(invalid_grant(format!("assertion expired: exp {exp} is not after now ({now})")));
        }
        if exp > now + MAX_GRANT_LIFETIME.as_secs() {
            return Err(invalid_grant(format!(
                "assertion exp {exp} is more than {} s ahead; grants are short-lived",
                MAX_GRANT_LIFETIME.as_secs()
            )));
        }
        // RFC 7523 §3 (6): a JWT with `nbf` "MUST NOT be accepted for processing" before it.
        if let Some(nbf) = c.nbf
            && nbf > now + CLOCK_SKEW.as_secs()
        {
            return Err(invalid_grant(format!("assertion not valid before nbf {nbf} (now {now})")));
        }
        let iat = c.iat.ok_or_else(|| missing("iat"))?;
        if iat > now + CLOCK_SKEW.as_secs() {
            return Err(invalid_grant(format!("assertion iat {iat} is in the future (now {now})")));
        }
        let jti = c.jti.clone().filter(|j| !j.is_empty()).ok_or_else(|| missing("jti"))?;
        Ok(Checked { exp: exp.max(now + 1), jti })
    }

    /// The ID-JAG's own checks (EMA §5.1, §7.6.2, §7.2.1; EMA draft §5.1): `aud` this
    /// server's issuer; `client_id` the authenticated client, registered for the grant;
    /// `resource` one of this server's; its scopes known there. Returns the resource and
    /// the scopes to grant.
    fn id_jag_grant(
        &self,
        c: &GrantClaims,
        client: &RegisteredClient,
        trusted: &TrustedIssuer,
        form: &Params,
    ) -> Result<(ResourceConfig, Vec<String>), Rejection> {
        let d = &self.config.defects;
        let issuer = &self.config.issuer;
        if !c.aud.iter().any(|a| a == issuer) && !d.has(Defect::IdJagAudienceUnchecked) {
            return Err(invalid_grant(format!(
                "ID-JAG aud {:?} does not name this server, expected `{issuer}` (EMA §7.6.2)",
                c.aud
            )));
        }
        if c.client_id.as_deref() != Some(&client.client_id) && !d.has(Defect::IdJagClientUnchecked) {
            return Err(invalid_grant(format!(
                "ID-JAG client_id {:?}, expected the authenticated client `{}` (EMA draft §5.1)",
                c.client_id, client.client_id
            )));
        }
        if !client.allows_grant(JWT_BEARER_GRANT) {
            return Err(Rejection::new(
                ErrorCode::UnauthorizedClient,
                format!("grant_type `{JWT_BEARER_GRANT}` is not registered for this client"),
            ));
        }
        let mut resource = match c.resource.as_deref() {
            Some(r) => match self.config.resource(r) {
                Some(known) => known.clone(),
                None if d.has(Defect::IdJagResourceUnchecked) => {
                    ResourceConfig { uri: r.to_string(), scopes: self.config.scopes_supported() }
                }
                None => {
                    return Err(invalid_grant(format!(
                        "ID-JAG resource `{r}` is not a resource of this server (EMA §7.6.2)"
                    )));
                }
            },
            None => self.target(form.get("resource"))?,
        };
        self.check_resource(form.get("resource"), &resource.uri)?;
        let granted = scope_list(c.scope.as_deref());
        if let Some(unknown) = granted.iter().find(|s| !resource.scopes.contains(s)) {
            return Err(invalid_grant(format!(
                "ID-JAG scope `{unknown}` is not a scope of `{}` (EMA §7.6.2)",
                resource.uri
            )));
        }
        let requested = match scope_list(form.get("scope")) {
            r if r.is_empty() => granted.clone(),
            r => r,
        };
        let by_grant = |s: &str| {
            (c.scope.is_none() || d.has(Defect::IdJagScopeNotIntersected) || granted.iter().any(|g| g == s))
                && client.scopes.iter().any(|a| a == s)
                && trusted.scopes.iter().any(|t| t == s)
        };
        let scope = narrow(&requested, &resource, by_grant)?;
        if d.has(Defect::IdJagTokenAudienceIssuer) {
            resource.uri = self.config.issuer.clone();
        }
        Ok((resource, scope))
    }

    /// A workload JWT's `aud` names this server: its token endpoint (the workload
    /// identity extension, §JWT Format) or its issuer (RFC 7523 §3 lets either).
    fn check_workload_audience(&self, c: &GrantClaims) -> Result<(), Rejection> {
        let (endpoint, issuer) = (self.config.token_endpoint(), &self.config.issuer);
        if self.config.defects.has(Defect::WorkloadAudienceUnchecked)
            || c.aud.iter().any(|a| a == endpoint || a == issuer)
        {
            return Ok(());
        }
        Err(invalid_grant(format!(
            "workload JWT aud {:?} does not name this server, expected `{endpoint}` (RFC 7523 §3)",
            c.aud
        )))
    }
}

/// What [`AuthorizationServer::check_times`] found.
struct Checked {
    exp: u64,
    jti: String,
}

/// The scopes of `requested` (all the resource's, when none is) that `allowed` lets and
/// the resource knows, in order; `invalid_scope` when none is left.
fn narrow(
    requested: &[String],
    resource: &ResourceConfig,
    allowed: impl Fn(&str) -> bool,
) -> Result<Vec<String>, Rejection> {
    let wanted: &[String] = if requested.is_empty() { &resource.scopes } else { requested };
    let scope: Vec<String> =
        wanted.iter().filter(|s| resource.scopes.contains(s) && allowed(s)).cloned().collect();
    if scope.is_empty() {
        return Err(Rejection::new(
            ErrorCode::InvalidScope,
            format!("none of the scopes {wanted:?} may be granted for `{}` to this grant", resource.uri),
        ));
    }
    Ok(scope)
}

#[cfg(test)]
mod tests;
