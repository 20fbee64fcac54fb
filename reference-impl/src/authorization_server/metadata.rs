//! The documents this server publishes: RFC 8414 authorization server metadata, OpenID
//! Connect Discovery configuration, and the JWKS (served by [`AuthorizationServer::jwks`]).

use super::AuthorizationServer;
use super::config::{AUTHORIZATION_CODE, CLIENT_CREDENTIALS, NONE, REFRESH_TOKEN};
use crate::defects::Defect;
use crate::jwt::Algorithm;
use crate::metadata::AuthorizationServerMetadata;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl AuthorizationServer {
    /// The RFC 8414 metadata document, `issuer` byte-equal to the configured issuer.
    pub fn metadata(&self) -> AuthorizationServerMetadata {
        let c = &self.config;
        let issuer = match c.defects.has(Defect::MetadataIssuerMismatch) {
            true => format!("{}/", c.issuer),
            false => c.issuer.clone(),
        };
        let pkce = (!c.defects.has(Defect::MetadataWithoutS256)).then(|| strings(&[crate::pkce::S256]));
        AuthorizationServerMetadata {
            issuer,
            authorization_endpoint: Some(c.authorization_endpoint()),
            token_endpoint: Some(c.token_endpoint()),
            jwks_uri: Some(c.jwks_uri()),
            registration_endpoint: Some(c.registration_endpoint()),
            scopes_supported: Some(c.scopes_supported()),
            response_types_supported: strings(&["code"]),
            grant_types_supported: Some(strings(&[AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS])),
            token_endpoint_auth_methods_supported: Some(strings(&[
                NONE,
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
            ])),
            token_endpoint_auth_signing_alg_values_supported: Some(
                Algorithm::ASYMMETRIC.iter().map(|a| a.name().to_string()).collect(),
            ),
            revocation_endpoint: Some(c.revocation_endpoint()),
            introspection_endpoint: Some(c.introspection_endpoint()),
            code_challenge_methods_supported: pkce,
            authorization_response_iss_parameter_supported: (!c.defects.has(Defect::IssNotAdvertised))
                .then_some(true),
            client_id_metadata_document_supported: Some(true),
            ..Default::default()
        }
    }

    /// The OpenID Connect Discovery document: the RFC 8414 document plus the fields
    /// OpenID requires (`subject_types_supported`, `id_token_signing_alg_values_supported`).
    pub fn openid_configuration(&self) -> AuthorizationServerMetadata {
        AuthorizationServerMetadata {
            subject_types_supported: Some(strings(&["public"])),
            id_token_signing_alg_values_supported: Some(vec![self.config.signing_alg.name().to_string()]),
            ..self.metadata()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::super::test_support::*;
    use crate::metadata::{AuthorizationServerMetadata, discovery_urls};

    #[test]
    fn metadata_defects() {
        use crate::defects::Defect;
        let issuer = Config::default().issuer;
        let mut t = Tester::with_defect(Defect::MetadataIssuerMismatch);
        let m =
            AuthorizationServerMetadata::parse(t.get(&discovery_urls(&issuer).unwrap()[0]).body()).unwrap();
        assert_eq!(m.issuer, format!("{issuer}/"));
        assert!(m.check(&issuer).is_err());
        let mut t = Tester::with_defect(Defect::MetadataWithoutS256);
        let m =
            AuthorizationServerMetadata::parse(t.get(&discovery_urls(&issuer).unwrap()[0]).body()).unwrap();
        assert_eq!(m.code_challenge_methods_supported, None);
        assert!(m.check(&issuer).is_err());
    }

    #[test]
    fn metadata_is_served_at_every_discovery_url() {
        for issuer in ["http://127.0.0.1:9000", "http://127.0.0.1:9000/tenant/a"] {
            let mut t = Tester::with_config(Config { issuer: issuer.into(), ..Config::default() });
            for url in discovery_urls(issuer).unwrap() {
                let r = t.get(&url);
                assert_eq!(r.status(), 200, "{url}");
                let m = AuthorizationServerMetadata::parse(r.body()).unwrap();
                m.check(issuer).unwrap();
                assert_eq!(m.issuer, issuer);
                assert_eq!(m.token_endpoint.as_deref(), Some(format!("{issuer}/token").as_str()));
                assert_eq!(m.client_id_metadata_document_supported, Some(true));
                assert_eq!(m.authorization_response_iss_parameter_supported, Some(true));
                let openid =
                    m.subject_types_supported.is_some() && m.id_token_signing_alg_values_supported.is_some();
                assert_eq!(openid, url.contains("openid"), "{url}");
            }
            assert_eq!(t.get(&format!("{issuer}/jwks")).status(), 200);
        }
    }

    #[test]
    fn root_metadata_is_not_served_for_a_path_issuer() {
        let mut t = Tester::with_config(Config {
            issuer: "http://127.0.0.1:9000/tenant".into(),
            ..Config::default()
        });
        assert_eq!(error_of(&t.get("/.well-known/oauth-authorization-server")), (404, "not_found".into()));
        assert_eq!(error_of(&t.get("/token")), (404, "not_found".into()));
    }
}
