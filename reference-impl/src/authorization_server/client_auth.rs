//! Client authentication at the token, revocation and introspection endpoints (OAuth 2.1
//! §2.4): `client_secret_basic`, `client_secret_post`, `private_key_jwt` (RFC 7523 §2.2)
//! and public clients named by `client_id`.
//!
//! A client must use exactly the method it registered; a confidential client must
//! authenticate on every request; two methods at once are `invalid_request`. Failures
//! are 401 `invalid_client`, with `WWW-Authenticate: Basic` when Basic was tried.

use super::config::NONE;
use super::{AuthorizationServer, RegisteredClient, Rejection};
use crate::access_token::Audience;
use crate::defects::Defect;
use crate::jwt::{self, Algorithm, KeySet};
use crate::oauth_error::ErrorCode;
use crate::sans_io::{Request, Time};
use crate::wire::{self, Params};
use serde::Deserialize;

/// `client_assertion_type` of `private_key_jwt` (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The claims of a client assertion this server reads (RFC 7523 §3).
#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    sub: Option<String>,
    #[serde(default)]
    aud: Audience,
    exp: Option<u64>,
    jti: Option<String>,
}

/// The `(client_id, client_secret)` of an `Authorization: Basic` header, if any.
fn basic_credentials(request: &Request) -> Result<Option<(String, String)>, Rejection> {
    wire::basic_credentials(request.headers())
        .map_err(|why| Rejection::invalid_client(format!("authorization header: {why}"), true))
}

fn secrets_equal(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

impl AuthorizationServer {
    /// Authenticates the client of a form POST to the token, revocation or introspection
    /// endpoint and returns it.
    pub(super) fn authenticate_client(
        &mut self,
        request: &Request,
        form: &Params,
        now: Time,
    ) -> Result<RegisteredClient, Rejection> {
        let basic = basic_credentials(request)?;
        let post = form.get("client_secret");
        let assertion = form.get("client_assertion");
        let used = [
            basic.is_some(),
            post.is_some(),
            assertion.is_some() || form.get("client_assertion_type").is_some(),
        ];
        if used.iter().filter(|u| **u).count() > 1 {
            return Err(Rejection::new(
                ErrorCode::InvalidRequest,
                "more than one client authentication method was used",
            ));
        }
        let form_id = form.get("client_id").filter(|c| !c.is_empty());
        let (client_id, method) = if let Some((id, _)) = &basic {
            if form_id.is_some_and(|f| f != id) {
                return Err(Rejection::new(
                    ErrorCode::InvalidRequest,
                    "client_id in the body differs from the basic credentials",
                ));
            }
            (id.clone(), "client_secret_basic")
        } else if used[2] {
            let from_assertion = || {
                let c = jwt::split(assertion?).ok()?;
                serde_json::from_slice::<AssertionClaims>(&c.payload).ok()?.iss
            };
            let id = form_id.map(str::to_string).or_else(from_assertion);
            let id = id.ok_or_else(|| {
                Rejection::invalid_client("client_assertion names no client (`iss`)", false)
            })?;
            (id, "private_key_jwt")
        } else {
            let Some(id) = form_id else {
                return Err(Rejection::invalid_client("no client authentication and no client_id", false));
            };
            (id.to_string(), if post.is_some() { "client_secret_post" } else { NONE })
        };
        let basic_used = basic.is_some();
        let Some(client) = self.client(&client_id).cloned() else {
            return Err(Rejection::invalid_client(format!("unknown client `{client_id}`"), basic_used));
        };
        if client.token_endpoint_auth_method != method {
            return Err(Rejection::invalid_client(
                format!("client authenticated with {method}, expected {}", client.token_endpoint_auth_method),
                basic_used,
            ));
        }
        let secret = basic.as_ref().map(|(_, s)| s.as_str()).or(post);
        match method {
            NONE => {}
            "private_key_jwt" => self.verify_assertion(&client, form, now)?,
            _ => {
                let ok = matches!((&client.client_secret, secret), (Some(want), Some(got)) if secrets_equal(want, got));
                if !ok {
                    return Err(Rejection::invalid_client("client secret does not match", basic_used));
                }
            }
        }
        Ok(client)
    }

    /// Verifies a `private_key_jwt` client assertion (RFC 7523 §3) and records its `jti`.
    fn verify_assertion(
        &mut self,
        client: &RegisteredClient,
        form: &Params,
        now: Time,
    ) -> Result<(), Rejection> {
        let invalid = |why: String| Rejection::invalid_client(format!("client_assertion: {why}"), false);
        let kind = form
            .require("client_assertion_type")
            .map_err(|e| Rejection::new(ErrorCode::InvalidRequest, e))?;
        if kind != JWT_BEARER {
            return Err(invalid(format!("type `{kind}` is not supported, expected `{JWT_BEARER}`")));
        }
        let assertion =
            form.require("client_assertion").map_err(|e| Rejection::new(ErrorCode::InvalidRequest, e))?;
        let jwks = client.jwks.as_ref().ok_or_else(|| invalid("the client registered no jwks".into()))?;
        let keys = KeySet::from_jwks(jwks).map_err(|e| invalid(e.to_string()))?;
        let defects = &self.config.defects;
        let payload = match defects.has(Defect::AssertionSignatureUnchecked) {
            true => jwt::split(assertion).map(|c| c.payload).map_err(|e| invalid(e.to_string()))?,
            false => {
                jwt::decode_verified(assertion, &keys, &Algorithm::ASYMMETRIC)
                    .map_err(|e| invalid(e.to_string()))?
                    .1
            }
        };
        let claims: AssertionClaims =
            serde_json::from_slice(&payload).map_err(|e| invalid(format!("claims: {e}")))?;
        let id = client.client_id.as_str();
        if claims.iss.as_deref() != Some(id) || claims.sub.as_deref() != Some(id) {
            return Err(invalid(format!(
                "iss {:?} and sub {:?} must both be `{id}`",
                claims.iss, claims.sub
            )));
        }
        let (token_endpoint, issuer) = (self.config.token_endpoint(), &self.config.issuer);
        let aud_unchecked = defects.has(Defect::AssertionAudienceUnchecked);
        if !aud_unchecked && !claims.aud.iter().any(|a| a == token_endpoint || a == issuer) {
            return Err(invalid(format!(
                "aud {:?} must contain `{token_endpoint}` or `{issuer}`",
                claims.aud
            )));
        }
        let now = now.unix_secs();
        let exp = claims.exp.ok_or_else(|| invalid("exp is missing".into()))?;
        if exp <= now && !defects.has(Defect::AssertionExpiryUnchecked) {
            return Err(invalid(format!("exp {exp} is not after now ({now})")));
        }
        let jti = claims.jti.ok_or_else(|| invalid("jti is missing".into()))?;
        self.used_assertion_jtis.retain(|_, e| *e > now);
        if self.used_assertion_jtis.contains_key(&jti) {
            return Err(invalid(format!("jti `{jti}` was already used")));
        }
        self.used_assertion_jtis.insert(jti, exp);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use serde_json::json;

    fn cc(t: &mut Tester, extra: &[(&str, &str)]) -> http::Response<bytes::Bytes> {
        let mut form = vec![("grant_type", "client_credentials"), ("resource", RESOURCE)];
        form.extend_from_slice(extra);
        t.token(&form)
    }

    #[test]
    fn secret_basic_and_post() {
        let mut t = Tester::new();
        let r = t.post_form_basic(
            "/token",
            &[("grant_type", "client_credentials"), ("resource", RESOURCE)],
            CONFIDENTIAL,
            SECRET,
        );
        assert_eq!(r.status(), 200);
        let mut post = t.server.clients[CONFIDENTIAL].clone();
        post.token_endpoint_auth_method = "client_secret_post".into();
        t.server.register_client(post);
        assert_eq!(cc(&mut t, &[("client_id", CONFIDENTIAL), ("client_secret", SECRET)]).status(), 200);
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut t = Tester::new();
        let mut c = t.server.clients[CONFIDENTIAL].clone();
        c.client_id = "a:b c".into();
        t.server.register_client(c);
        let r = t.post_form_basic(
            "/token",
            &[("grant_type", "client_credentials"), ("resource", RESOURCE)],
            "a%3Ab+c",
            SECRET,
        );
        assert_eq!(r.status(), 200);
    }

    #[test]
    fn wrong_secret_is_invalid_client_with_basic_challenge() {
        let mut t = Tester::new();
        let r = t.post_form_basic(
            "/token",
            &[("grant_type", "client_credentials"), ("resource", RESOURCE)],
            CONFIDENTIAL,
            "nope",
        );
        assert_eq!(error_of(&r), (401, "invalid_client".into()));
        assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    }

    #[test]
    fn authentication_failures() {
        let mut t = Tester::new();
        let cases: [&[(&str, &str)]; 5] = [
            &[],
            &[("client_id", "nobody")],
            &[("client_id", CONFIDENTIAL)],
            &[("client_id", CONFIDENTIAL), ("client_secret", SECRET)],
            &[("client_id", CLIENT), ("client_secret", "x")],
        ];
        for extra in cases {
            let r = cc(&mut t, extra);
            assert_eq!(error_of(&r), (401, "invalid_client".into()), "{extra:?}");
            assert!(r.headers().get("www-authenticate").is_none());
        }
    }

    #[test]
    fn bad_authorization_headers() {
        let mut t = Tester::new();
        for value in ["Bearer abc", "Basic !!!", "Basic bm9jb2xvbg=="] {
            let r = t.post_form_headers(
                "/token",
                &[("grant_type", "client_credentials"), ("resource", RESOURCE)],
                &[("authorization", value)],
            );
            assert_eq!(error_of(&r), (401, "invalid_client".into()), "{value}");
        }
    }

    #[test]
    fn two_methods_at_once_are_invalid_request() {
        let mut t = Tester::new();
        let r = t.post_form_basic(
            "/token",
            &[("grant_type", "client_credentials"), ("resource", RESOURCE), ("client_secret", SECRET)],
            CONFIDENTIAL,
            SECRET,
        );
        assert_eq!(error_of(&r), (400, "invalid_request".into()));
        let r = t.post_form_basic(
            "/token",
            &[("grant_type", "client_credentials"), ("client_id", CLIENT)],
            CONFIDENTIAL,
            SECRET,
        );
        assert_eq!(error_of(&r), (400, "invalid_request".into()));
    }

    #[test]
    fn private_key_jwt() {
        let mut t = Tester::new();
        let key = t.jwt_client("jwt-client");
        let aud = t.server.config().token_endpoint();
        let claims = |jti: &str| json!({"iss": "jwt-client", "sub": "jwt-client", "aud": aud, "exp": NOW + 60, "jti": jti});
        let assertion = jwt::encode(&key, "JWT", &claims("1")).unwrap();
        let send = |t: &mut Tester, a: &str| {
            cc(t, &[("client_assertion_type", JWT_BEARER), ("client_assertion", a)])
        };
        assert_eq!(send(&mut t, &assertion).status(), 200);
        assert_eq!(error_of(&send(&mut t, &assertion)), (401, "invalid_client".into()), "replayed jti");
        let bad = [
            json!({"iss": "jwt-client", "sub": "jwt-client", "aud": aud, "exp": NOW - 1, "jti": "2"}),
            json!({"iss": "jwt-client", "sub": "jwt-client", "aud": aud, "jti": "3"}),
            json!({"iss": "jwt-client", "sub": "jwt-client", "aud": aud, "exp": NOW + 60}),
            json!({"iss": "jwt-client", "sub": "jwt-client", "aud": "https://other.example", "exp": NOW + 60, "jti": "4"}),
            json!({"iss": "jwt-client", "sub": "other", "aud": aud, "exp": NOW + 60, "jti": "5"}),
        ];
        for c in bad {
            let a = jwt::encode(&key, "JWT", &c).unwrap();
            assert_eq!(error_of(&send(&mut t, &a)), (401, "invalid_client".into()), "{c}");
        }
        let other = t.with_env(|_, env| jwt::SigningKey::generate(Algorithm::ES256, key.kid(), env).unwrap());
        let forged = jwt::encode(&other, "JWT", &claims("6")).unwrap();
        assert_eq!(error_of(&send(&mut t, &forged)), (401, "invalid_client".into()));
        let issuer_aud =
            json!({"iss": "jwt-client", "sub": "jwt-client", "aud": [ISSUER], "exp": NOW + 60, "jti": "7"});
        assert_eq!(send(&mut t, &jwt::encode(&key, "JWT", &issuer_aud).unwrap()).status(), 200);
        let r = cc(&mut t, &[("client_assertion_type", "urn:other"), ("client_assertion", &assertion)]);
        assert_eq!(error_of(&r), (401, "invalid_client".into()));
        let r = cc(&mut t, &[("client_id", "jwt-client"), ("client_assertion_type", JWT_BEARER)]);
        assert_eq!(error_of(&r), (400, "invalid_request".into()));
    }
}
