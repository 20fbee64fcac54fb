//! Refresh tokens (OAuth 2.1 §4.3, RFC 9700 §4.14): opaque, bound to the client, rotated
//! on every use (for every client), grouped in families. Presenting a rotated token again
//! is taken as theft: the whole family dies, with the access tokens issued from it.
//! A refresh may narrow the scope, never widen it, and only for the resource granted.
//!
//! The store is bounded ([`Limits::max_refresh_tokens`](super::Limits)) and expiring:
//! expired tokens are forgotten, and so is a family once it has no token left and none of
//! its access tokens is still valid.

use super::token::{Grant, IssuedToken, TokenResponse};
use super::{AuthorizationServer, RegisteredClient, Rejection};
use crate::defects::Defect;
use crate::oauth_error::ErrorCode;
use crate::sans_io::{Env, Time};
use crate::wire::Params;
use std::collections::{BTreeMap, BTreeSet};

/// Every refresh token issued, and the families they belong to.
#[derive(Debug, Default)]
pub(super) struct RefreshTokens {
    tokens: BTreeMap<String, RefreshToken>,
    families: BTreeMap<String, Family>,
    /// No token in `tokens` expires before this (`None`: there is none): the sweep of
    /// expired tokens walks them only once one may have expired.
    earliest_expiry: Option<Time>,
}

#[derive(Debug)]
struct RefreshToken {
    family: String,
    /// Already exchanged for a newer token: presenting it again is reuse.
    rotated: bool,
    expires: Time,
}

/// The refresh tokens descending from one authorization.
#[derive(Debug)]
pub(super) struct Family {
    pub client_id: String,
    pub sub: String,
    /// The scope originally granted.
    pub scope: Vec<String>,
    /// The resource originally granted (canonical URI).
    pub resource: String,
    /// The DPoP key (thumbprint) the family's refresh tokens are bound to: a public
    /// client's, when it sent a proof (RFC 9449 §5).
    pub jkt: Option<String>,
    /// `(jti, exp)` of every access token issued in this family.
    access_tokens: Vec<(String, u64)>,
    pub revoked: bool,
}

impl RefreshTokens {
    /// Forgets the tokens expired at `now`, the families left without a token whose access
    /// tokens have all expired, and those access tokens of the others.
    fn sweep(&mut self, now: Time) {
        self.tokens.retain(|_, t| t.expires > now);
        self.earliest_expiry = self.tokens.values().map(|t| t.expires).min();
        let with_tokens: BTreeSet<&String> = self.tokens.values().map(|t| &t.family).collect();
        let now_secs = now.unix_secs();
        self.families.retain(|id, f| {
            f.access_tokens.retain(|(_, exp)| *exp > now_secs);
            with_tokens.contains(id) || !f.access_tokens.is_empty()
        });
    }

    /// How many refresh tokens are kept, current and rotated.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.tokens.len()
    }

    /// How many families are kept.
    #[cfg(test)]
    pub(super) fn families(&self) -> usize {
        self.families.len()
    }

    /// The family of an active (not rotated, not expired, not revoked) refresh token.
    pub(super) fn active_family(&self, token: &str, now: Time) -> Option<(&String, &Family)> {
        let t = self.tokens.get(token).filter(|t| !t.rotated && t.expires > now)?;
        self.families.get_key_value(&t.family).filter(|(_, f)| !f.revoked)
    }
}

impl AuthorizationServer {
    /// Room for one more refresh token: the expired ones are forgotten first, once one
    /// may have expired or when the store is full.
    fn room_for_refresh_token(&mut self, now: Time) -> bool {
        let max = self.config.limits.max_refresh_tokens;
        let r = &mut self.refresh;
        if r.tokens.len() >= max || r.earliest_expiry.is_some_and(|e| e <= now) {
            r.sweep(now);
        }
        r.tokens.len() < max
    }

    /// Starts a refresh-token family for `grant`, bound to the DPoP key `bind` if any:
    /// its ID and first token; none when the store is full (the grant then comes without
    /// a refresh token).
    pub(super) fn start_refresh_family(
        &mut self,
        grant: &Grant<'_>,
        bind: Option<&str>,
        env: &mut Env<'_>,
    ) -> Option<(String, String)> {
        if !self.room_for_refresh_token(env.now) {
            return None;
        }
        let id = env.random_string(16);
        let family = Family {
            client_id: grant.client_id.to_string(),
            sub: grant.sub.to_string(),
            scope: grant.scope.to_vec(),
            resource: grant.resource.to_string(),
            jkt: bind.map(String::from),
            access_tokens: vec![],
            revoked: false,
        };
        self.refresh.families.insert(id.clone(), family);
        let token = self.new_refresh_token(&id, env);
        Some((id, token))
    }

    /// A new token of `family` (after [`Self::room_for_refresh_token`]).
    fn new_refresh_token(&mut self, family: &str, env: &mut Env<'_>) -> String {
        let now = env.now;
        let r = &mut self.refresh;
        let token = env.random_string(32);
        let expires = now.plus(self.config.refresh_token_ttl);
        r.earliest_expiry = Some(r.earliest_expiry.map_or(expires, |e| e.min(expires)));
        r.tokens.insert(token.clone(), RefreshToken { family: family.to_string(), rotated: false, expires });
        token
    }

    /// Remembers an access token issued in `family`, to revoke it with the family.
    pub(super) fn record_access_token(&mut self, family: &str, access: &IssuedToken) {
        if let Some(f) = self.refresh.families.get_mut(family) {
            f.access_tokens.push((access.jti.clone(), access.exp));
        }
    }

    /// Revokes a family: its refresh tokens and every access token issued in it.
    pub(super) fn revoke_family(&mut self, family: &str, now: Time) {
        let Some(f) = self.refresh.families.get_mut(family) else {
            return;
        };
        f.revoked = true;
        let issued = std::mem::take(&mut f.access_tokens);
        for (jti, exp) in issued {
            self.revoke_jti(&jti, exp, now);
        }
    }

    /// The client's own refresh token, if `token` is one: its family ID.
    pub(super) fn refresh_family_of(&self, token: &str, client_id: &str) -> Option<String> {
        let t = self.refresh.tokens.get(token)?;
        let f = self.refresh.families.get(&t.family)?;
        (f.client_id == client_id).then(|| t.family.clone())
    }

    /// `grant_type=refresh_token`.
    pub(super) fn refresh_grant(
        &mut self,
        client: &RegisteredClient,
        form: &Params,
        jkt: Option<&str>,
        env: &mut Env<'_>,
    ) -> Result<TokenResponse, Rejection> {
        let invalid_grant = |why: &str| Rejection::new(ErrorCode::InvalidGrant, why);
        let token =
            form.require("refresh_token").map_err(|e| Rejection::new(ErrorCode::InvalidRequest, e))?;
        let Some(entry) = self.refresh.tokens.get(token) else {
            return Err(invalid_grant("unknown refresh token"));
        };
        let (family_id, rotated, expires) = (entry.family.clone(), entry.rotated, entry.expires);
        let Some(family) = self.refresh.families.get(&family_id) else {
            return Err(invalid_grant("unknown refresh token"));
        };
        if family.client_id != client.client_id && !self.config.defects.has(Defect::RefreshNotClientBound) {
            return Err(invalid_grant("refresh token was issued to another client"));
        }
        if family.revoked {
            return Err(invalid_grant("refresh token was revoked"));
        }
        if rotated {
            if self.config.defects.has(Defect::NoReuseDetection) {
                return Err(invalid_grant("refresh token was already used"));
            }
            self.revoke_family(&family_id, env.now);
            return Err(invalid_grant(
                "refresh token was already used; it and every token issued with it are revoked",
            ));
        }
        if env.now >= expires {
            return Err(invalid_grant("refresh token expired"));
        }
        if !self.config.defects.has(Defect::DpopRefreshNotBound) {
            super::dpop::check_refresh_binding(family.jkt.as_deref(), jkt)?;
        }
        let scope = match form.get("scope").filter(|s| !s.is_empty()) {
            None => family.scope.clone(),
            Some(requested) => {
                let requested: Vec<String> =
                    requested.split(' ').filter(|s| !s.is_empty()).map(String::from).collect();
                let widening = self.config.defects.has(Defect::RefreshScopeWidening);
                if let Some(extra) = requested.iter().find(|s| !family.scope.contains(s) && !widening) {
                    return Err(Rejection::new(
                        ErrorCode::InvalidScope,
                        format!(
                            "scope `{extra}` was not granted, expected a subset of `{}`",
                            family.scope.join(" ")
                        ),
                    ));
                }
                requested
            }
        };
        self.check_resource(form.get("resource"), &family.resource)?;
        let (sub, resource) = (family.sub.clone(), family.resource.clone());
        let g = Grant { client_id: &client.client_id, sub: &sub, resource: &resource, scope: &scope, jkt };
        let access = self.issue_access_token(&g, env)?;
        let new_token = if self.config.defects.has(Defect::NoRefreshRotation) {
            token.to_string()
        } else {
            // Kept, rotated, to detect its reuse; forgotten when the store is full.
            if !self.room_for_refresh_token(env.now) {
                self.refresh.tokens.remove(token);
            } else if let Some(entry) = self.refresh.tokens.get_mut(token) {
                entry.rotated = true;
            }
            self.new_refresh_token(&family_id, env)
        };
        self.record_access_token(&family_id, &access);
        Ok(TokenResponse {
            token_type: super::token::token_type(access.bound).into(),
            access_token: access.token,
            expires_in: self.access_token_ttl(),
            scope: scope.join(" "),
            refresh_token: Some(new_token),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use http::StatusCode;

    /// The whole code flow: authorize (auto-approve), token, refresh, then reuse of the
    /// rotated refresh token revokes the family, as introspection shows.
    #[test]
    fn code_flow_refresh_and_reuse_detection() {
        let mut t = Tester::new();
        let code = t.code();
        let first = json_of(&t.token(&code_pairs(&code)));
        let rt1 = first["refresh_token"].as_str().unwrap().to_string();
        let at1 = first["access_token"].as_str().unwrap().to_string();
        assert_eq!(t.introspect(&at1)["active"], true);

        let second = t.refresh(&rt1, &[]);
        assert_eq!(second.status(), StatusCode::OK);
        assert_eq!(second.headers()["cache-control"], "no-store");
        let second = json_of(&second);
        let rt2 = second["refresh_token"].as_str().unwrap().to_string();
        let at2 = second["access_token"].as_str().unwrap().to_string();
        assert_ne!(rt1, rt2);
        assert_eq!(second["scope"], "mcp:read mcp:write");
        let info = t.introspect(&at2);
        assert_eq!(
            (info["active"].as_bool(), info["sub"].as_str(), info["aud"].as_str()),
            (Some(true), Some("alice"), Some(RESOURCE))
        );
        assert_eq!(t.introspect(&rt2)["token_type"], "refresh_token");

        assert_eq!(error_of(&t.refresh(&rt1, &[])), (400, "invalid_grant".into()));
        for token in [&at1, &at2, &rt2] {
            assert_eq!(t.introspect(token)["active"], false);
        }
        assert_eq!(error_of(&t.refresh(&rt2, &[])), (400, "invalid_grant".into()));
    }

    #[test]
    fn scope_may_only_narrow() {
        let mut t = Tester::new();
        let rt = t.refresh_token();
        let narrowed = t.refresh(&rt, &[("scope", "mcp:read")]);
        assert_eq!(json_of(&narrowed)["scope"], "mcp:read");
        let rt = json_of(&narrowed)["refresh_token"].as_str().unwrap().to_string();
        assert_eq!(
            error_of(&t.refresh(&rt, &[("scope", "mcp:read mcp:admin")])),
            (400, "invalid_scope".into())
        );
        let wide_again = t.refresh(&rt, &[("scope", "mcp:read mcp:write")]);
        assert_eq!(
            json_of(&wide_again)["scope"],
            "mcp:read mcp:write",
            "the family keeps the original grant"
        );
    }

    #[test]
    fn resource_must_be_the_one_granted() {
        let mut t = Tester::new();
        let rt = t.refresh_token();
        assert_eq!(
            error_of(&t.refresh(&rt, &[("resource", "http://127.0.0.1:9001/other")])),
            (400, "invalid_target".into())
        );
        assert_eq!(t.refresh(&rt, &[("resource", RESOURCE)]).status(), StatusCode::OK);
    }

    #[test]
    fn bound_to_the_client() {
        let mut t = Tester::new();
        let rt = t.refresh_token();
        let r =
            t.token(&[("grant_type", "refresh_token"), ("refresh_token", &rt), ("client_id", OTHER_CLIENT)]);
        assert_eq!(error_of(&r), (400, "invalid_grant".into()));
        assert_eq!(
            t.refresh(&rt, &[]).status(),
            StatusCode::OK,
            "a foreign client's attempt does not burn the token"
        );
    }

    #[test]
    fn unknown_missing_and_expired() {
        let mut t = Tester::new();
        assert_eq!(error_of(&t.refresh("garbage", &[])), (400, "invalid_grant".into()));
        let r = t.token(&[("grant_type", "refresh_token"), ("client_id", CLIENT)]);
        assert_eq!(error_of(&r), (400, "invalid_request".into()));
        let rt = t.refresh_token();
        t.advance(24 * 3600);
        assert_eq!(error_of(&t.refresh(&rt, &[])), (400, "invalid_grant".into()));
    }

    mod defects {
        use super::super::super::test_support::*;
        use crate::defects::Defect;
        use http::StatusCode;

        #[test]
        fn no_refresh_rotation() {
            let mut t = Tester::with_defect(Defect::NoRefreshRotation);
            let rt = t.refresh_token();
            for _ in 0..2 {
                let r = t.refresh(&rt, &[]);
                assert_eq!(r.status(), StatusCode::OK);
                assert_eq!(json_of(&r)["refresh_token"], rt.as_str());
            }
        }

        #[test]
        fn no_reuse_detection() {
            let mut t = Tester::with_defect(Defect::NoReuseDetection);
            let rt1 = t.refresh_token();
            let second = json_of(&t.refresh(&rt1, &[]));
            assert_eq!(error_of(&t.refresh(&rt1, &[])), (400, "invalid_grant".into()));
            assert_eq!(t.introspect(second["access_token"].as_str().unwrap())["active"], true);
            let rt2 = second["refresh_token"].as_str().unwrap();
            assert_eq!(t.refresh(rt2, &[]).status(), StatusCode::OK);
        }

        #[test]
        fn refresh_scope_widening() {
            let wider = [("scope", "mcp:read mcp:write mcp:admin")];
            for (mut t, expected) in
                [(Tester::new(), None), (Tester::with_defect(Defect::RefreshScopeWidening), Some(wider[0].1))]
            {
                let code = location_params(&t.authorize(&[("scope", Some("mcp:read"))]))
                    .get("code")
                    .unwrap()
                    .to_string();
                let rt = t.exchange(&code)["refresh_token"].as_str().unwrap().to_string();
                let r = t.refresh(&rt, &wider);
                match expected {
                    None => assert_eq!(error_of(&r), (400, "invalid_scope".into())),
                    Some(scope) => assert_eq!(json_of(&r)["scope"], scope),
                }
            }
        }

        #[test]
        fn refresh_not_client_bound() {
            let mut t = Tester::with_defect(Defect::RefreshNotClientBound);
            let rt = t.refresh_token();
            let r = t.token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt),
                ("client_id", OTHER_CLIENT),
            ]);
            assert_eq!(r.status(), StatusCode::OK);
            let info = t.introspect(json_of(&r)["access_token"].as_str().unwrap());
            assert_eq!(
                (info["sub"].as_str(), info["client_id"].as_str()),
                (Some("alice"), Some(OTHER_CLIENT))
            );
        }
    }
}
