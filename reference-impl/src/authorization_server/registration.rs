//! The dynamic client registration endpoint (RFC 7591 §3). Registered clients get a
//! server-chosen random `client_id` (never one the client picks, nor one equal to a
//! user's `sub`, RFC 9700 §4.15), a secret when they asked for a secret-based method,
//! and at most the configured registration scopes. Registration is rate-limited and the
//! registered clients capped ([`Limits`](super::Limits), RFC 7591 §3).
//!
//! `application_type` (OpenID Connect Dynamic Client Registration §2, which MCP clients
//! send since 2026-07-28) is recorded as sent, `web` when absent, and returned with the
//! rest of the registered metadata (RFC 7591 §3.2.1). It changes no rule: MCP
//! 2026-07-28 (client-registration §Application Type and Redirect URI Constraints) says
//! only that an OIDC server "may enforce additional constraints on redirect URIs based on
//! the `application_type`", and this server holds every client to the one MCP requires
//! of all (§Communication Security: every redirect URI `localhost` or https), which
//! already refuses a plain-http redirect URI on a public host whatever the type.

use super::config::{AUTHORIZATION_CODE, RegisteredClient};
use super::{AuthorizationServer, Rejection};
use crate::defects::Defect;
use crate::oauth_error::ErrorCode;
use crate::registration::{self, ClientInformation, ClientMetadata};
use crate::sans_io::{Env, Request, Response};
use crate::wire;
use http::StatusCode;

fn invalid_metadata(e: impl std::fmt::Display) -> Rejection {
    Rejection::new(ErrorCode::InvalidClientMetadata, e)
}

impl AuthorizationServer {
    /// `POST /register`.
    pub(super) fn register(&mut self, request: &Request, env: &mut Env<'_>) -> Response {
        match self.register_client_metadata(request, env) {
            Ok(info) => wire::json_no_store(StatusCode::CREATED, &info),
            Err(r) => r.into_response(),
        }
    }

    fn register_client_metadata(
        &mut self,
        request: &Request,
        env: &mut Env<'_>,
    ) -> Result<ClientInformation, Rejection> {
        self.admit_registration(env.now)?;
        let ct =
            wire::single_header(request.headers(), http::header::CONTENT_TYPE).map_err(invalid_metadata)?;
        let mime = ct.unwrap_or("").split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/json") {
            return Err(invalid_metadata(format!(
                "content-type: received {ct:?}, expected application/json"
            )));
        }
        let mut m: ClientMetadata =
            wire::parse_json("client metadata", request.body()).map_err(invalid_metadata)?;
        if m.client_id.is_some() {
            return Err(invalid_metadata("client_id is chosen by the server; it must not be sent"));
        }
        let method = m.auth_method().to_string();
        let validate = !self.config.defects.has(Defect::RegistrationUnvalidated);
        if validate {
            registration::check_client_metadata(&m, &method).map_err(invalid_metadata)?;
        }
        let grant_types = m.grant_types_or_default();
        if validate && (grant_types.iter().any(|g| g == AUTHORIZATION_CODE) || !m.redirect_uris.is_empty()) {
            registration::check_redirect_uris(&m.redirect_uris)
                .map_err(|e| Rejection::new(ErrorCode::InvalidRedirectUri, e))?;
        }
        let client_id = loop {
            let id = format!("dcr-{}", env.random_string(16));
            if self.client(&id).is_none() && !self.config.users.iter().any(|u| u.sub == id) {
                break id;
            }
        };
        let secret = matches!(method.as_str(), "client_secret_basic" | "client_secret_post")
            .then(|| env.random_string(32));
        let scopes = match m.scope.as_deref() {
            Some(s) if self.config.defects.has(Defect::RegistrationScopeUnchecked) => {
                s.split(' ').filter(|s| !s.is_empty()).map(String::from).collect()
            }
            requested => self.config.scopes_of_registered(requested),
        };
        self.registered_clients += 1;
        self.register_client(RegisteredClient {
            client_id: client_id.clone(),
            client_secret: secret.clone(),
            redirect_uris: m.redirect_uris.clone(),
            grant_types: grant_types.clone(),
            token_endpoint_auth_method: method.clone(),
            scopes: scopes.clone(),
            jwks: m.jwks.clone(),
            client_name: m.client_name.clone(),
            dpop_bound_access_tokens: m.dpop_bound_access_tokens == Some(true),
        });
        m.application_type.get_or_insert_with(|| registration::DEFAULT_APPLICATION_TYPE.into());
        m.scope = Some(scopes.join(" "));
        m.grant_types = Some(grant_types);
        m.token_endpoint_auth_method = Some(method);
        Ok(ClientInformation {
            client_id,
            client_secret_expires_at: secret.as_ref().map(|_| 0),
            client_secret: secret,
            client_id_issued_at: Some(env.now.unix_secs()),
            metadata: m,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use serde_json::json;

    fn register(t: &mut Tester, body: serde_json::Value) -> Response {
        t.post_json("/register", &body.to_string())
    }

    #[test]
    fn public_client_registers_and_authorizes() {
        let mut t = Tester::new();
        let r = register(
            &mut t,
            json!({"redirect_uris": ["http://127.0.0.1:4000/cb"], "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"], "client_name": "Mine", "scope": "mcp:read mcp:admin"}),
        );
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let info: ClientInformation = serde_json::from_slice(r.body()).unwrap();
        assert!(info.client_id.starts_with("dcr-") && info.client_secret.is_none());
        assert_eq!(info.metadata.scope.as_deref(), Some("mcp:read"), "narrowed to the registration scopes");
        let r = t.authorize(&[
            ("client_id", Some(&info.client_id)),
            ("redirect_uri", Some("http://127.0.0.1:4000/cb")),
            ("scope", None),
        ]);
        assert!(location_params(&r).get("code").is_some());
    }

    /// Registered with `mcp:read`, a client asks `mcp:read mcp:write`: refused by default,
    /// granted when the registered scope is a hint (the harness's AS in client worlds).
    #[test]
    fn a_registered_scope_limits_unless_it_is_a_hint() {
        for hint in [false, true] {
            let mut t = Tester::new();
            if hint {
                t.with_env(|server, _| server.take_registered_scope_as_a_hint());
            }
            let r = register(
                &mut t,
                json!({"redirect_uris": ["http://127.0.0.1:4000/cb"], "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code"], "scope": "mcp:read"}),
            );
            let info: ClientInformation = serde_json::from_slice(r.body()).unwrap();
            let r = t.authorize(&[
                ("client_id", Some(&info.client_id)),
                ("redirect_uri", Some("http://127.0.0.1:4000/cb")),
                ("scope", Some("mcp:read mcp:write")),
            ]);
            let params = location_params(&r);
            match hint {
                false => assert_eq!(params.get("error"), Some("invalid_scope"), "{}", location(&r)),
                true => assert!(params.get("code").is_some(), "{}", location(&r)),
            }
        }
    }

    #[test]
    fn application_type_is_recorded_web_by_default() {
        let mut t = Tester::new();
        let loopback = json!(["http://127.0.0.1:4000/cb"]);
        for (sent, recorded) in [(None, "web"), (Some("native"), "native"), (Some("web"), "web")] {
            let mut body = json!({"redirect_uris": loopback, "token_endpoint_auth_method": "none"});
            if let Some(sent) = sent {
                body["application_type"] = json!(sent);
            }
            let r = register(&mut t, body);
            assert_eq!(r.status(), StatusCode::CREATED, "{sent:?}");
            assert_eq!(json_of(&r)["application_type"], recorded, "{sent:?}");
        }
        // One redirect URI rule for every type (MCP §Communication Security).
        for sent in ["native", "web"] {
            let body = json!({"redirect_uris": ["http://app.example/cb"], "token_endpoint_auth_method": "none",
                "application_type": sent});
            assert_eq!(error_of(&register(&mut t, body)), (400, "invalid_redirect_uri".into()), "{sent}");
        }
    }

    #[test]
    fn confidential_client_gets_a_secret() {
        let mut t = Tester::new();
        let r = register(
            &mut t,
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"}),
        );
        let info: ClientInformation = serde_json::from_slice(r.body()).unwrap();
        let secret = info.client_secret.unwrap();
        assert_eq!(info.client_secret_expires_at, Some(0));
        let r = t.token(&[
            ("grant_type", "client_credentials"),
            ("resource", RESOURCE),
            ("client_id", &info.client_id),
            ("client_secret", &secret),
        ]);
        assert_eq!(json_of(&r)["scope"], "mcp:read mcp:write");
    }

    #[test]
    fn default_method_is_client_secret_basic() {
        let mut t = Tester::new();
        let info: ClientInformation = serde_json::from_slice(
            register(&mut t, json!({"redirect_uris": ["https://app.example/cb"]})).body(),
        )
        .unwrap();
        assert!(info.client_secret.is_some());
        assert_eq!(info.metadata.token_endpoint_auth_method.as_deref(), Some("client_secret_basic"));
        assert_eq!(info.metadata.grant_types, Some(vec!["authorization_code".to_string()]));
    }

    #[test]
    fn bad_redirect_uris() {
        let mut t = Tester::new();
        for uris in [
            json!([]),
            json!(["http://app.example/cb"]),
            json!(["https://app.example/cb#x"]),
            json!(["relative/cb"]),
            json!(["javascript:alert(1)"]),
        ] {
            let r = register(&mut t, json!({"redirect_uris": uris, "token_endpoint_auth_method": "none"}));
            assert_eq!(error_of(&r), (400, "invalid_redirect_uri".into()), "{uris}");
        }
    }

    #[test]
    fn registration_unvalidated_defect() {
        let mut t = Tester::with_defect(crate::defects::Defect::RegistrationUnvalidated);
        let body = json!({"redirect_uris": ["javascript:alert(1)"], "token_endpoint_auth_method": "none",
            "grant_types": ["implicit"], "response_types": ["token"]});
        let r = register(&mut t, body);
        assert_eq!(r.status(), StatusCode::CREATED);
        let info: ClientInformation = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(info.metadata.redirect_uris, ["javascript:alert(1)"]);
        assert_eq!(info.metadata.grant_types, Some(vec!["implicit".to_string()]));
    }

    #[test]
    fn bad_metadata() {
        let mut t = Tester::new();
        let cb = json!(["https://app.example/cb"]);
        let bad = [
            json!({"redirect_uris": cb, "token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]}),
            json!({"redirect_uris": cb, "token_endpoint_auth_method": "none", "grant_types": ["implicit"]}),
            json!({"redirect_uris": cb, "token_endpoint_auth_method": "none", "response_types": ["token"]}),
            json!({"redirect_uris": cb, "token_endpoint_auth_method": "tls_client_auth"}),
            json!({"redirect_uris": cb, "token_endpoint_auth_method": "private_key_jwt"}),
            json!({"redirect_uris": cb, "client_id": "alice"}),
            json!({"redirect_uris": "https://app.example/cb"}),
        ];
        for body in bad {
            assert_eq!(
                error_of(&register(&mut t, body.clone())),
                (400, "invalid_client_metadata".into()),
                "{body}"
            );
        }
        assert_eq!(error_of(&t.post_json("/register", "{not json")), (400, "invalid_client_metadata".into()));
        assert_eq!(error_of(&t.post_json("/register", "\u{0}")), (400, "invalid_client_metadata".into()));
        let mut raw = http::Request::post("/register").header("content-type", "application/json");
        raw = raw.header("accept", "application/json");
        let r = t.send(raw.body(bytes::Bytes::from_static(b"{\"client_name\": \"\xff\"}")).unwrap());
        assert_eq!(error_of(&r), (400, "invalid_client_metadata".into()));
        let r = t.post_form("/register", &[("redirect_uris", "https://app.example/cb")]);
        assert_eq!(error_of(&r), (400, "invalid_client_metadata".into()));
    }

    #[test]
    fn registration_scope_unchecked_defect() {
        let body = json!({"redirect_uris": ["http://127.0.0.1:4000/cb"], "token_endpoint_auth_method": "none",
            "scope": "mcp:read mcp:admin"});
        let r = register(&mut Tester::new(), body.clone());
        assert_eq!(json_of(&r)["scope"], "mcp:read", "narrowed to the registration scopes");

        let mut t = Tester::with_defect(crate::defects::Defect::RegistrationScopeUnchecked);
        let r = register(&mut t, body);
        assert_eq!(r.status(), StatusCode::CREATED);
        let info: ClientInformation = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(info.metadata.scope.as_deref(), Some("mcp:read mcp:admin"));
        assert_eq!(t.server.clients[&info.client_id].scopes, ["mcp:read", "mcp:admin"]);
    }

    #[test]
    fn private_key_jwt_registration() {
        let mut t = Tester::new();
        let jwks = t.with_env(|_, env| {
            crate::jwt::SigningKey::generate(crate::jwt::Algorithm::ES256, "k", env).unwrap().public_jwks()
        });
        let r = register(
            &mut t,
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks}),
        );
        assert_eq!(r.status(), StatusCode::CREATED);
        assert!(json_of(&r).get("client_secret").is_none());
    }
}
