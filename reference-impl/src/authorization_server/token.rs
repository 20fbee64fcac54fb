//! The token endpoint (OAuth 2.1 §3.2): the `authorization_code` and
//! `client_credentials` grants (the `refresh_token` grant is in [`super::refresh`], the
//! JWT bearer grant in [`super::jwt_bearer`]), and access tokens as RFC 9068 JWTs.
//!
//! An authorization code is single use: a second redemption is `invalid_grant` and
//! revokes every token issued from the code (RFC 6749 §4.1.2, RFC 9700 §4.2.4). Codes are
//! bound to the client, the redirect URI and the PKCE challenge. PKCE is mandatory at
//! `/authorize`, so a code without a challenge (the downgrade of RFC 9700 §4.8) never
//! exists, unless [`Defect::NoPkceRequired`] is injected.

use super::authorize::Redemption;
use super::config::{AUTHORIZATION_CODE, CLIENT_CREDENTIALS, JWT_BEARER_GRANT, REFRESH_TOKEN};
use super::{AuthorizationServer, RegisteredClient, Rejection};
use crate::access_token::{AccessTokenClaims, Audience};
use crate::defects::Defect;
use crate::oauth_error::ErrorCode;
use crate::resource_indicator::Resource;
use crate::sans_io::{Env, Request, Response};
use crate::wire::{self, Params};
use http::StatusCode;
use serde::{Deserialize, Serialize};

/// `grant_type=password`, refused: OAuth 2.1 removed it (accepted only with
/// [`Defect::PasswordGrant`]).
const PASSWORD: &str = "password";

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token (an RFC 9068 JWT).
    pub access_token: String,
    /// `Bearer`, or `DPoP` for a token bound to a DPoP key (RFC 9449 §5).
    pub token_type: String,
    /// Lifetime of the access token in seconds.
    pub expires_in: u64,
    /// The scopes granted, space-separated.
    pub scope: String,
    /// A refresh token, for clients registered for the `refresh_token` grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// What an access token is issued for.
pub(super) struct Grant<'a> {
    pub client_id: &'a str,
    pub sub: &'a str,
    pub resource: &'a str,
    pub scope: &'a [String],
    /// The DPoP key the access token is bound to (its thumbprint, RFC 9449 §6.1).
    pub jkt: Option<&'a str>,
}

/// An access token just signed.
pub(super) struct IssuedToken {
    pub token: String,
    pub jti: String,
    pub exp: u64,
    /// Bound to a DPoP key: `token_type` `DPoP`.
    pub bound: bool,
}

/// The `token_type` of an access token: `DPoP` when bound to a key (RFC 9449 §5), else
/// `Bearer`.
pub(super) fn token_type(bound: bool) -> &'static str {
    if bound { "DPoP" } else { "Bearer" }
}

fn invalid_grant(description: impl std::fmt::Display) -> Rejection {
    Rejection::new(ErrorCode::InvalidGrant, description)
}

impl AuthorizationServer {
    /// Checks that a `resource` sent at the token endpoint, if any, names `granted`
    /// (not at all with [`Defect::IgnoreResource`]).
    pub(super) fn check_resource(&self, sent: Option<&str>, granted: &str) -> Result<(), Rejection> {
        if self.config.defects.has(Defect::IgnoreResource) {
            return Ok(());
        }
        match sent.filter(|s| !s.is_empty()) {
            Some(s) if !Resource::parse(s).is_ok_and(|r| r.as_str() == granted) => Err(Rejection::new(
                ErrorCode::InvalidTarget,
                format!("resource `{s}` was not authorized, expected `{granted}`"),
            )),
            _ => Ok(()),
        }
    }

    /// `POST /token`.
    pub(super) fn token(&mut self, request: &Request, env: &mut Env<'_>) -> Response {
        let response = match self.token_response(request, env) {
            Ok(body) if self.config.defects.has(Defect::TokenResponseCacheable) => {
                wire::json(StatusCode::OK, &body)
            }
            Ok(body) => wire::json_no_store(StatusCode::OK, &body),
            Err(r) => r.into_response(),
        };
        self.with_dpop_nonce(response, env)
    }

    /// The lifetime of new access tokens: the configured one, or 30 days with
    /// [`Defect::LongLivedAccessTokens`].
    pub(super) fn access_token_ttl(&self) -> u64 {
        if self.config.defects.has(Defect::LongLivedAccessTokens) {
            30 * 24 * 3600
        } else {
            self.config.access_token_ttl.as_secs()
        }
    }

    fn token_response(&mut self, request: &Request, env: &mut Env<'_>) -> Result<TokenResponse, Rejection> {
        let form =
            Params::from_form_request(request).map_err(|e| Rejection::new(ErrorCode::InvalidRequest, e))?;
        let grant_type =
            form.require("grant_type").map_err(|e| Rejection::new(ErrorCode::InvalidRequest, e))?;
        if grant_type == PASSWORD && self.config.defects.has(Defect::PasswordGrant) {
            let client = self.authenticate_client(request, &form, env.now)?;
            return self.password_grant(&client, &form, env);
        }
        if grant_type == JWT_BEARER_GRANT && self.takes_jwt_grants() {
            return self.jwt_bearer_grant(request, &form, env);
        }
        if ![AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS].contains(&grant_type) {
            let jwt = if self.takes_jwt_grants() {
                ", client_credentials or jwt-bearer"
            } else {
                " or client_credentials"
            };
            return Err(Rejection::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                    "grant_type `{grant_type}` is not supported, expected authorization_code, refresh_token{jwt}"
                ),
            ));
        }
        let client = self.authenticate_client(request, &form, env.now)?;
        if grant_type == CLIENT_CREDENTIALS && client.is_public() {
            return Err(Rejection::new(
                ErrorCode::UnauthorizedClient,
                "client_credentials is for confidential clients only",
            ));
        }
        if !client.allows_grant(grant_type) {
            return Err(Rejection::new(
                ErrorCode::UnauthorizedClient,
                format!(
                    "grant_type `{grant_type}` is not registered for this client, expected one of {:?}",
                    client.grant_types
                ),
            ));
        }
        let jkt = self.token_proof(request, &client, env)?;
        let jkt = jkt.as_deref();
        match grant_type {
            AUTHORIZATION_CODE => self.authorization_code_grant(&client, &form, jkt, env),
            REFRESH_TOKEN => self.refresh_grant(&client, &form, jkt, env),
            _ => self.client_credentials_grant(&client, &form, jkt, env),
        }
    }

    /// Signs an access token for `grant`.
    pub(super) fn issue_access_token(
        &self,
        grant: &Grant<'_>,
        env: &mut Env<'_>,
    ) -> Result<IssuedToken, Rejection> {
        let now = env.now.unix_secs();
        let exp = now.saturating_add(self.access_token_ttl());
        let jti = env.random_string(16);
        let claims = AccessTokenClaims {
            iss: self.config.issuer.clone(),
            sub: Some(grant.sub.to_string()),
            aud: Audience::one(grant.resource),
            client_id: Some(grant.client_id.to_string()),
            scope: Some(grant.scope.join(" ")),
            exp: Some(exp),
            iat: Some(now),
            nbf: None,
            jti: Some(jti.clone()),
            cnf: grant.jkt.map(crate::access_token::Confirmation::jkt),
        };
        let token = self.sign_access_token(&claims).map_err(|e| Rejection {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            ..Rejection::new(ErrorCode::ServerError, e)
        })?;
        Ok(IssuedToken { token, jti, exp, bound: grant.jkt.is_some() })
    }

    pub(super) fn response(
        &self,
        access: IssuedToken,
        scope: &[String],
        refresh_token: Option<String>,
    ) -> TokenResponse {
        TokenResponse {
            token_type: token_type(access.bound).into(),
            access_token: access.token,
            expires_in: self.access_token_ttl(),
            scope: scope.join(" "),
            refresh_token,
        }
    }

    fn authorization_code_grant(
        &mut self,
        client: &RegisteredClient,
        form: &Params,
        jkt: Option<&str>,
        env: &mut Env<'_>,
    ) -> Result<TokenResponse, Rejection> {
        let invalid_request = |e: crate::Error| Rejection::new(ErrorCode::InvalidRequest, e);
        let code = form.require("code").map_err(invalid_request)?;
        let redirect_uri = form.require("redirect_uri").map_err(invalid_request)?;
        let Some(grant) = self.codes.get(code) else {
            return Err(invalid_grant("unknown authorization code"));
        };
        let defects = &self.config.defects;
        match grant.redeemed.clone() {
            None => {}
            Some(_) if defects.has(Defect::CodeReusable) => {}
            Some(_) if defects.has(Defect::NoCodeReuseRevocation) => {
                return Err(invalid_grant("authorization code was already used"));
            }
            Some(redeemed) => {
                self.revoke_jti(&redeemed.jti, redeemed.exp, env.now);
                if let Some(family) = &redeemed.refresh_family {
                    self.revoke_family(family, env.now);
                }
                return Err(invalid_grant(
                    "authorization code was already used; the tokens issued from it are revoked (introspection reports them inactive)",
                ));
            }
        }
        let r = &grant.request;
        if r.client_id != client.client_id && !defects.has(Defect::CodeNotClientBound) {
            return Err(invalid_grant("authorization code was issued to another client"));
        }
        if env.now.since(grant.issued) > self.config.code_ttl && !defects.has(Defect::CodeNoExpiry) {
            return Err(invalid_grant("authorization code expired"));
        }
        if r.redirect_uri != redirect_uri && !defects.has(Defect::NoRedirectUriBinding) {
            return Err(invalid_grant(format!(
                "redirect_uri `{redirect_uri}` differs from the one of the authorization request, `{}`",
                r.redirect_uri
            )));
        }
        // A code without a challenge exists only with `Defect::NoPkceRequired`; any
        // `code_verifier`, or none, then redeems it (the RFC 9700 §4.8.2 downgrade).
        if let Some(challenge) = &r.code_challenge {
            let verifier = form.require("code_verifier").map_err(invalid_grant)?;
            if !defects.has(Defect::PkceVerifierIgnored) {
                challenge.verify(verifier).map_err(invalid_grant)?;
            }
        }
        self.check_resource(form.get("resource"), &r.resource)?;
        let (mut request, sub) = (r.clone(), grant.sub.clone());
        if let Some(wider) = form.get("scope").filter(|_| defects.has(Defect::TokenRequestScopeWidening)) {
            request.scope = wider.split(' ').filter(|s| !s.is_empty()).map(String::from).collect();
        }
        let g = Grant {
            client_id: &client.client_id,
            sub: &sub,
            resource: &request.resource,
            scope: &request.scope,
            jkt,
        };
        let access = self.issue_access_token(&g, env)?;
        // A public client's refresh token is bound to its DPoP key (RFC 9449 §5).
        let bind = jkt.filter(|_| client.is_public());
        let refresh =
            client.allows_grant(REFRESH_TOKEN).then(|| self.start_refresh_family(&g, bind, env)).flatten();
        if let Some((family, _)) = &refresh {
            self.record_access_token(family, &access);
        }
        if let Some(grant) = self.codes.get_mut(code) {
            grant.redeemed = Some(Redemption {
                jti: access.jti.clone(),
                exp: access.exp,
                refresh_family: refresh.as_ref().map(|(f, _)| f.clone()),
            });
        }
        Ok(self.response(access, &request.scope, refresh.map(|(_, t)| t)))
    }

    /// `grant_type=password`, only with [`Defect::PasswordGrant`]: the resource owner's
    /// username and password, sent by the client, buy a token.
    fn password_grant(
        &mut self,
        client: &RegisteredClient,
        form: &Params,
        env: &mut Env<'_>,
    ) -> Result<TokenResponse, Rejection> {
        let user = self.config.users.iter().find(|u| {
            Some(u.username.as_str()) == form.get("username")
                && Some(u.password.as_str()) == form.get("password")
        });
        let Some(sub) = user.map(|u| u.sub.clone()) else {
            return Err(invalid_grant("wrong username or password"));
        };
        let resource = self.target(form.get("resource"))?;
        let scope = super::grant_scope(form.get("scope"), client, &resource, &self.config.defects)?;
        let g = Grant {
            client_id: &client.client_id,
            sub: &sub,
            resource: &resource.uri,
            scope: &scope,
            jkt: None,
        };
        let access = self.issue_access_token(&g, env)?;
        Ok(self.response(access, &scope, None))
    }

    fn client_credentials_grant(
        &mut self,
        client: &RegisteredClient,
        form: &Params,
        jkt: Option<&str>,
        env: &mut Env<'_>,
    ) -> Result<TokenResponse, Rejection> {
        let resource = self.target(form.get("resource"))?;
        let scope = super::grant_scope(form.get("scope"), client, &resource, &self.config.defects)?;
        let g = Grant {
            client_id: &client.client_id,
            sub: &client.client_id,
            resource: &resource.uri,
            scope: &scope,
            jkt,
        };
        let access = self.issue_access_token(&g, env)?;
        Ok(self.response(access, &scope, None))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::access_token::Validator;
    use crate::jwt::KeySet;

    fn redeem(t: &mut Tester, code: &str, change: (&str, Option<&str>)) -> Response {
        t.token(&changed(&code_pairs(code), &[change]))
    }

    #[test]
    fn access_token_is_an_rfc9068_jwt_for_the_resource() {
        let mut t = Tester::new();
        let code = t.code();
        let r = t.token(&code_pairs(&code));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let body: TokenResponse = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(
            (body.token_type.as_str(), body.expires_in, body.scope.as_str()),
            ("Bearer", 600, "mcp:read mcp:write")
        );
        assert!(body.refresh_token.is_some());
        let v = Validator::new(ISSUER, RESOURCE, KeySet::from_jwks(&t.server.jwks()).unwrap());
        let claims = v.validate(&body.access_token, t.now).unwrap();
        assert_eq!((claims.sub.as_deref(), claims.client_id.as_deref()), (Some("alice"), Some(CLIENT)));
        let header = crate::jwt::split(&body.access_token).unwrap().header;
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid, t.server.jwks().keys[0].kid);
    }

    #[test]
    fn other_signing_algorithms() {
        for alg in [crate::jwt::Algorithm::EdDSA, crate::jwt::Algorithm::RS256] {
            let mut t = Tester::with_config(super::super::Config {
                signing_alg: alg,
                auto_approve: true,
                ..Default::default()
            });
            let at = t.tokens()["access_token"].as_str().unwrap().to_string();
            let v = Validator::new(ISSUER, RESOURCE, KeySet::from_jwks(&t.server.jwks()).unwrap());
            v.validate(&at, t.now).unwrap();
            assert_eq!(crate::jwt::split(&at).unwrap().header.alg, alg.name());
        }
    }

    #[test]
    fn code_is_bound_to_client_redirect_verifier_and_resource() {
        let mut t = Tester::new();
        let other_verifier = "x".repeat(43);
        let cases: [((&str, Option<&str>), &str); 6] = [
            (("redirect_uri", Some("http://127.0.0.1:7778/callback")), "invalid_grant"),
            (("code_verifier", Some(&other_verifier)), "invalid_grant"),
            (("code_verifier", None), "invalid_grant"),
            (("code_verifier", Some("short")), "invalid_grant"),
            (("resource", Some("http://127.0.0.1:9001/other")), "invalid_target"),
            (("client_id", Some(OTHER_CLIENT)), "invalid_grant"),
        ];
        for (change, error) in cases {
            let code = t.code();
            assert_eq!(error_of(&redeem(&mut t, &code, change)), (400, error.into()), "{change:?}");
        }
        let code = t.code();
        assert_eq!(
            error_of(&redeem(&mut t, &code, ("code", Some("unknown")))),
            (400, "invalid_grant".into())
        );
        assert_eq!(error_of(&redeem(&mut t, &code, ("code", None))), (400, "invalid_request".into()));
        assert_eq!(error_of(&redeem(&mut t, &code, ("redirect_uri", None))), (400, "invalid_request".into()));
        assert_eq!(redeem(&mut t, &code, ("resource", Some(RESOURCE))).status(), StatusCode::OK);
    }

    #[test]
    fn second_redemption_revokes_the_tokens() {
        let mut t = Tester::new();
        let code = t.code();
        let first = json_of(&t.token(&code_pairs(&code)));
        assert_eq!(error_of(&t.token(&code_pairs(&code))), (400, "invalid_grant".into()));
        assert_eq!(t.introspect(first["access_token"].as_str().unwrap())["active"], false);
        let refresh = first["refresh_token"].as_str().unwrap();
        assert_eq!(t.introspect(refresh)["active"], false);
        assert_eq!(error_of(&t.refresh(refresh, &[])), (400, "invalid_grant".into()));
    }

    #[test]
    fn expired_code_is_invalid_grant() {
        let mut t = Tester::new();
        let code = t.code();
        t.advance(61);
        assert_eq!(error_of(&t.token(&code_pairs(&code))), (400, "invalid_grant".into()));
    }

    #[test]
    fn form_errors() {
        let mut t = Tester::new();
        assert_eq!(error_of(&t.post_json("/token", "{}")), (400, "invalid_request".into()));
        let r = t.send(form_request("/token", "grant_type=authorization_code&grant_type=refresh_token"));
        assert_eq!(error_of(&r), (400, "invalid_request".into()));
        let mut r = form_request("/token", "");
        *r.body_mut() = bytes::Bytes::from_static(b"grant_type=\xff");
        let r = t.send(r);
        assert_eq!(error_of(&r), (400, "invalid_request".into()));
        assert_eq!(error_of(&t.token(&[("client_id", CLIENT)])), (400, "invalid_request".into()));
        for g in ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code"] {
            assert_eq!(
                error_of(&t.token(&[("grant_type", g), ("client_id", CLIENT)])),
                (400, "unsupported_grant_type".into())
            );
        }
    }

    #[test]
    fn client_credentials() {
        let mut t = Tester::new();
        let form = [("grant_type", "client_credentials"), ("resource", RESOURCE), ("scope", "mcp:read")];
        let r = t.post_form_basic("/token", &form, CONFIDENTIAL, SECRET);
        let body: TokenResponse = serde_json::from_slice(r.body()).unwrap();
        assert_eq!((body.scope.as_str(), body.refresh_token), ("mcp:read", None));
        let v = Validator::new(ISSUER, RESOURCE, KeySet::from_jwks(&t.server.jwks()).unwrap());
        assert_eq!(v.validate(&body.access_token, t.now).unwrap().sub.as_deref(), Some(CONFIDENTIAL));
        let bad: [(&[(&str, &str)], &str); 3] = [
            (
                &[("grant_type", "client_credentials"), ("resource", "http://127.0.0.1:9001/other")],
                "invalid_target",
            ),
            (&[("grant_type", "client_credentials")], "invalid_target"),
            (
                &[("grant_type", "client_credentials"), ("resource", RESOURCE), ("scope", "mcp:admin")],
                "invalid_scope",
            ),
        ];
        for (form, error) in bad {
            assert_eq!(
                error_of(&t.post_form_basic("/token", form, CONFIDENTIAL, SECRET)),
                (400, error.into()),
                "{form:?}"
            );
        }
        let public =
            t.token(&[("grant_type", "client_credentials"), ("resource", RESOURCE), ("client_id", CLIENT)]);
        assert_eq!(error_of(&public), (400, "unauthorized_client".into()));
    }

    #[test]
    fn unregistered_grant_is_unauthorized_client() {
        let mut t = Tester::new();
        let mut c = t.server.clients[CONFIDENTIAL].clone();
        c.grant_types = vec!["authorization_code".into()];
        t.server.register_client(c);
        let r = t.post_form_basic(
            "/token",
            &[("grant_type", "client_credentials"), ("resource", RESOURCE)],
            CONFIDENTIAL,
            SECRET,
        );
        assert_eq!(error_of(&r), (400, "unauthorized_client".into()));
    }

    mod defects {
        use super::super::super::test_support::*;
        use crate::access_token::{Audience, Validator};
        use crate::defects::Defect;
        use crate::jwt::KeySet;
        use http::StatusCode;

        fn access_token(body: &serde_json::Value) -> &str {
            body["access_token"].as_str().unwrap()
        }

        #[test]
        fn code_reusable() {
            let mut t = Tester::with_defect(Defect::CodeReusable);
            let code = t.code();
            let first = t.exchange(&code);
            let second = t.exchange(&code);
            assert_ne!(access_token(&first), access_token(&second));
            assert_eq!(t.introspect(access_token(&first))["active"], true);
        }

        #[test]
        fn no_code_reuse_revocation() {
            let mut t = Tester::with_defect(Defect::NoCodeReuseRevocation);
            let code = t.code();
            let first = t.exchange(&code);
            assert_eq!(error_of(&t.token(&code_pairs(&code))), (400, "invalid_grant".into()));
            assert_eq!(t.introspect(access_token(&first))["active"], true);
            let refresh = first["refresh_token"].as_str().unwrap();
            assert_eq!(t.refresh(refresh, &[]).status(), StatusCode::OK);
        }

        #[test]
        fn no_redirect_uri_binding() {
            let other = [("redirect_uri", Some("http://127.0.0.1:7778/x"))];
            let mut t = Tester::new();
            let code = t.code();
            let r = t.token(&changed(&code_pairs(&code), &other));
            assert_eq!(error_of(&r), (400, "invalid_grant".into()));

            let mut t = Tester::with_defect(Defect::NoRedirectUriBinding);
            let code = t.code();
            assert_eq!(t.token(&changed(&code_pairs(&code), &other)).status(), StatusCode::OK);
        }

        #[test]
        fn code_not_client_bound() {
            let other = [("client_id", Some(OTHER_CLIENT))];
            let mut t = Tester::new();
            let code = t.code();
            assert_eq!(
                error_of(&t.token(&changed(&code_pairs(&code), &other))),
                (400, "invalid_grant".into())
            );

            let mut t = Tester::with_defect(Defect::CodeNotClientBound);
            let code = t.code();
            let body = json_of(&t.token(&changed(&code_pairs(&code), &other)));
            let keys = KeySet::from_jwks(&t.server.jwks()).unwrap();
            let claims = Validator::new(ISSUER, RESOURCE, keys).validate(access_token(&body), t.now).unwrap();
            assert_eq!(claims.client_id.as_deref(), Some(OTHER_CLIENT));
        }

        #[test]
        fn pkce_verifier_ignored() {
            let wrong = "x".repeat(43);
            let wrong = [("code_verifier", Some(wrong.as_str()))];
            let mut t = Tester::new();
            let code = t.code();
            assert_eq!(
                error_of(&t.token(&changed(&code_pairs(&code), &wrong))),
                (400, "invalid_grant".into())
            );

            let mut t = Tester::with_defect(Defect::PkceVerifierIgnored);
            let code = t.code();
            assert_eq!(t.token(&changed(&code_pairs(&code), &wrong)).status(), StatusCode::OK);
            let code = t.code();
            let none = changed(&code_pairs(&code), &[("code_verifier", None)]);
            assert_eq!(
                error_of(&t.token(&none)),
                (400, "invalid_grant".into()),
                "a verifier is still required"
            );
        }

        #[test]
        fn code_no_expiry() {
            let mut t = Tester::with_defect(Defect::CodeNoExpiry);
            let code = t.code();
            t.advance(24 * 3600);
            assert_eq!(t.token(&code_pairs(&code)).status(), StatusCode::OK);
        }

        #[test]
        fn token_request_scope_widening() {
            let mut t = Tester::new();
            let r = t.authorize(&[("scope", Some("mcp:read"))]);
            let code = location_params(&r).get("code").unwrap().to_string();
            let wider = changed(&code_pairs(&code), &[("scope", Some("mcp:read mcp:admin"))]);
            assert_eq!(
                json_of(&t.token(&wider))["scope"],
                "mcp:read",
                "the authorized scope, not the asked one"
            );

            let mut t = Tester::with_defect(Defect::TokenRequestScopeWidening);
            let r = t.authorize(&[("scope", Some("mcp:read"))]);
            let code = location_params(&r).get("code").unwrap().to_string();
            let wider = changed(&code_pairs(&code), &[("scope", Some("mcp:read mcp:admin"))]);
            assert_eq!(json_of(&t.token(&wider))["scope"], "mcp:read mcp:admin");
        }

        #[test]
        fn token_response_cacheable() {
            let mut t = Tester::with_defect(Defect::TokenResponseCacheable);
            let code = t.code();
            let r = t.token(&code_pairs(&code));
            assert_eq!(r.status(), StatusCode::OK);
            assert!(r.headers().get("cache-control").is_none());
        }

        #[test]
        fn long_lived_access_tokens() {
            let mut t = Tester::with_defect(Defect::LongLivedAccessTokens);
            let body = t.tokens();
            assert_eq!(body["expires_in"], 30 * 24 * 3600);
            let keys = KeySet::from_jwks(&t.server.jwks()).unwrap();
            let claims = Validator::new(ISSUER, RESOURCE, keys).validate(access_token(&body), t.now).unwrap();
            assert_eq!(claims.exp.unwrap() - claims.iat.unwrap(), 30 * 24 * 3600);
        }

        #[test]
        fn password_grant() {
            let form = [
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice"),
                ("client_id", CLIENT),
                ("resource", RESOURCE),
            ];
            assert_eq!(error_of(&Tester::new().token(&form)), (400, "unsupported_grant_type".into()));

            let mut t = Tester::with_defect(Defect::PasswordGrant);
            let body = json_of(&t.token(&form));
            let keys = KeySet::from_jwks(&t.server.jwks()).unwrap();
            let claims = Validator::new(ISSUER, RESOURCE, keys).validate(access_token(&body), t.now).unwrap();
            assert_eq!(claims.sub.as_deref(), Some("alice"));
            let wrong = changed(&form, &[("password", Some("guess"))]);
            assert_eq!(error_of(&t.token(&wrong)), (400, "invalid_grant".into()));
        }

        /// Any `resource`, or none, is accepted, and every token has the issuer as its
        /// audience: tokens for one resource are tokens for all.
        #[test]
        fn ignore_resource() {
            let unknown = "http://127.0.0.1:9001/other";
            let mut t = Tester::new();
            let r = t.authorize(&[("resource", Some(unknown))]);
            assert_eq!(location_params(&r).get("error"), Some("invalid_target"));

            let mut t = Tester::with_defect(Defect::IgnoreResource);
            for resource in [Some(unknown), None, Some(RESOURCE)] {
                let r = t.authorize(&[("resource", resource)]);
                let code = location_params(&r).get("code").unwrap().to_string();
                let redeem = changed(&code_pairs(&code), &[("resource", Some(unknown))]);
                let body = json_of(&t.token(&redeem));
                let keys = KeySet::from_jwks(&t.server.jwks()).unwrap();
                let claims = Validator::new(ISSUER, ISSUER, keys).validate(access_token(&body), t.now);
                assert_eq!(claims.unwrap().aud, Audience::one(ISSUER), "{resource:?}");
            }
        }
    }
}
