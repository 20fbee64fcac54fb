//! Token revocation (RFC 7009): a client revokes its own refresh token (and with it the
//! whole family) or access token (its `jti`). Unknown tokens, and tokens of other
//! clients, get the same 200 and are left alone.

use super::{AuthorizationServer, Rejection};
use crate::oauth_error::ErrorCode;
use crate::sans_io::{Env, Request, Response};
use crate::wire::{self, Params};
use bytes::Bytes;
use http::StatusCode;

impl AuthorizationServer {
    /// `POST /revoke`.
    pub(super) fn revoke(&mut self, request: &Request, env: &mut Env<'_>) -> Response {
        match self.revoke_token(request, env) {
            Ok(()) => {
                let mut r = Response::new(Bytes::new());
                *r.status_mut() = StatusCode::OK;
                wire::no_store(&mut r);
                r
            }
            Err(r) => r.into_response(),
        }
    }

    fn revoke_token(&mut self, request: &Request, env: &mut Env<'_>) -> Result<(), Rejection> {
        let form =
            Params::from_form_request(request).map_err(|e| Rejection::new(ErrorCode::InvalidRequest, e))?;
        let client = self.authenticate_client(request, &form, env.now)?;
        let token = form.require("token").map_err(|e| Rejection::new(ErrorCode::InvalidRequest, e))?;
        if let Some(family) = self.refresh_family_of(token, &client.client_id) {
            self.revoke_family(&family, env.now);
        } else if let Some(claims) = self.own_access_token(token) {
            if claims.client_id.as_deref() == Some(client.client_id.as_str()) {
                if let (Some(jti), Some(exp)) = (&claims.jti, claims.exp) {
                    self.revoke_jti(jti, exp, env.now);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn revoking_a_refresh_token_kills_the_family() {
        let mut t = Tester::new();
        let body = t.tokens();
        let (at, rt) = (body["access_token"].as_str().unwrap(), body["refresh_token"].as_str().unwrap());
        let r = t.post_form("/revoke", &[("token", rt), ("client_id", CLIENT)]);
        assert_eq!(r.status(), 200);
        assert_eq!(t.introspect(at)["active"], false);
        assert_eq!(error_of(&t.refresh(rt, &[])), (400, "invalid_grant".into()));
    }

    #[test]
    fn revoking_an_access_token() {
        let mut t = Tester::new();
        let body = t.tokens();
        let (at, rt) = (body["access_token"].as_str().unwrap(), body["refresh_token"].as_str().unwrap());
        assert_eq!(t.post_form("/revoke", &[("token", at), ("client_id", OTHER_CLIENT)]).status(), 200);
        assert_eq!(t.introspect(at)["active"], true, "another client cannot revoke it");
        assert_eq!(t.post_form("/revoke", &[("token", at), ("client_id", CLIENT)]).status(), 200);
        assert_eq!(t.introspect(at)["active"], false);
        assert_eq!(t.introspect(rt)["active"], true);
    }

    #[test]
    fn unknown_token_is_200_and_errors_are_oauth_errors() {
        let mut t = Tester::new();
        assert_eq!(t.post_form("/revoke", &[("token", "garbage"), ("client_id", CLIENT)]).status(), 200);
        assert_eq!(
            error_of(&t.post_form("/revoke", &[("client_id", CLIENT)])),
            (400, "invalid_request".into())
        );
        assert_eq!(error_of(&t.post_form("/revoke", &[("token", "x")])), (401, "invalid_client".into()));
        assert_eq!(
            error_of(&t.post_form("/revoke", &[("token", "x"), ("client_id", CONFIDENTIAL)])),
            (401, "invalid_client".into())
        );
        assert_eq!(error_of(&t.post_json("/revoke", "{}")), (400, "invalid_request".into()));
    }
}
