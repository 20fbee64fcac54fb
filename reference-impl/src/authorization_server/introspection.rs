//! Token introspection (RFC 7662), for confidential clients (resource servers): the
//! claims of an active access token issued here, or of an active refresh token;
//! `{"active": false}` for anything else (expired, revoked, foreign, garbage).

use super::{AuthorizationServer, Rejection};
use crate::access_token::{AccessTokenClaims, Audience};
use crate::defects::Defect;
use crate::jwt::{self, Algorithm};
use crate::oauth_error::ErrorCode;
use crate::sans_io::{Env, Request, Response, Time};
use crate::wire::{self, Params};
use http::StatusCode;
use serde::{Deserialize, Serialize};

/// An introspection response (RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Introspection {
    /// Whether the token is currently active.
    pub active: bool,
    /// Space-separated scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The resource owner (or the client, for client credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The resource the token is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// The issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Expiry (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `access_token` or `refresh_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
}

impl AuthorizationServer {
    /// The claims of an access token signed by this server, whatever its time or
    /// revocation state.
    pub(super) fn own_access_token(&self, token: &str) -> Option<AccessTokenClaims> {
        let keys = self.key_set().ok()?;
        let (_, payload) = jwt::decode_verified(token, &keys, &Algorithm::ASYMMETRIC).ok()?;
        let claims: AccessTokenClaims = serde_json::from_slice(&payload).ok()?;
        (claims.iss == self.config.issuer).then_some(claims)
    }

    /// What introspection says about `token` at `now`.
    pub fn introspection(&self, token: &str, now: Time) -> Introspection {
        if let Some(c) = self.own_access_token(token) {
            let live = c.exp.is_some_and(|e| e > now.unix_secs());
            let revoked = c.jti.as_ref().is_none_or(|j| self.revoked_jtis.contains_key(j));
            if live && !revoked {
                return Introspection {
                    active: true,
                    scope: c.scope,
                    client_id: c.client_id,
                    sub: c.sub,
                    aud: Some(c.aud),
                    iss: Some(c.iss),
                    exp: c.exp,
                    iat: c.iat,
                    jti: c.jti,
                    token_type: Some("access_token".into()),
                };
            }
        }
        if let Some((_, f)) = self.refresh.active_family(token, now) {
            return Introspection {
                active: true,
                scope: Some(f.scope.join(" ")),
                client_id: Some(f.client_id.clone()),
                sub: Some(f.sub.clone()),
                aud: Some(Audience::one(&f.resource)),
                iss: Some(self.config.issuer.clone()),
                token_type: Some("refresh_token".into()),
                ..Default::default()
            };
        }
        Introspection::default()
    }

    /// `POST /introspect`.
    pub(super) fn introspect(&mut self, request: &Request, env: &mut Env<'_>) -> Response {
        match self.introspect_request(request, env) {
            Ok(body) => wire::json_no_store(StatusCode::OK, &body),
            Err(r) => r.into_response(),
        }
    }

    fn introspect_request(
        &mut self,
        request: &Request,
        env: &mut Env<'_>,
    ) -> Result<Introspection, Rejection> {
        let form =
            Params::from_form_request(request).map_err(|e| Rejection::new(ErrorCode::InvalidRequest, e))?;
        if self.config.defects.has(Defect::IntrospectionUnauthenticated) {
            let token = form.require("token").map_err(|e| Rejection::new(ErrorCode::InvalidRequest, e))?;
            return Ok(self.introspection(token, env.now));
        }
        let client = self.authenticate_client(request, &form, env.now)?;
        if client.is_public() {
            return Err(Rejection::invalid_client("introspection is for confidential clients only", false));
        }
        let token = form.require("token").map_err(|e| Rejection::new(ErrorCode::InvalidRequest, e))?;
        Ok(self.introspection(token, env.now))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn expired_and_garbage_tokens_are_inactive() {
        let mut t = Tester::new();
        let at = t.tokens()["access_token"].as_str().unwrap().to_string();
        let info = t.introspect(&at);
        assert_eq!(
            (info["active"].as_bool(), info["client_id"].as_str(), info["scope"].as_str()),
            (Some(true), Some(CLIENT), Some("mcp:read mcp:write"))
        );
        assert_eq!(info["iss"], ISSUER);
        for garbage in ["x", "a.b.c", &at[..at.len() - 2]] {
            assert_eq!(t.introspect(garbage).as_object().unwrap().len(), 1, "{garbage}");
        }
        t.advance(600);
        assert_eq!(t.introspect(&at)["active"], false);
    }

    #[test]
    fn requires_a_confidential_client() {
        let mut t = Tester::new();
        let r = t.post_form("/introspect", &[("token", "x"), ("client_id", CLIENT)]);
        assert_eq!(error_of(&r), (401, "invalid_client".into()));
        let r = t.post_form("/introspect", &[("token", "x")]);
        assert_eq!(error_of(&r), (401, "invalid_client".into()));
        let r = t.post_form_basic("/introspect", &[], CONFIDENTIAL, SECRET);
        assert_eq!(error_of(&r), (400, "invalid_request".into()));
    }
}
