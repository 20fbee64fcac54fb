//! The documents this server publishes: RFC 8414 authorization server metadata, OpenID
//! Connect Discovery configuration, and the JWKS (served by [`AuthorizationServer::jwks`]).

use super::AuthorizationServer;
use super::config::{AUTHORIZATION_CODE, CLIENT_CREDENTIALS, JWT_BEARER_GRANT, NONE, REFRESH_TOKEN};
use crate::defects::Defect;
use crate::id_jag;
use crate::jwt::Algorithm;
use crate::metadata::AuthorizationServerMetadata;

/// The private scalar in a PKCS #8 key: the 32 bytes after a P-256 `ECPrivateKey`'s
/// version (`02 01 01 04 20`) or an Ed25519 key's `CurvePrivateKey` (`04 22 04 20`).
fn private_scalar(der: &[u8]) -> Option<Vec<u8>> {
    [&[0x02, 0x01, 0x01, 0x04, 0x20][..], &[0x04, 0x22, 0x04, 0x20][..]].iter().find_map(|prefix| {
        let at = der.windows(prefix.len()).position(|w| w == *prefix)? + prefix.len();
        der.get(at..at + 32).map(<[u8]>::to_vec)
    })
}

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
        let incomplete = c.defects.has(Defect::ClientCredentialsMetadataIncomplete);
        AuthorizationServerMetadata {
            issuer,
            authorization_endpoint: Some(c.authorization_endpoint()),
            token_endpoint: Some(c.token_endpoint()),
            jwks_uri: Some(c.jwks_uri()),
            registration_endpoint: Some(c.registration_endpoint()),
            scopes_supported: Some(c.scopes_supported()),
            response_types_supported: strings(&["code"]),
            grant_types_supported: Some(self.grant_types_supported()),
            token_endpoint_auth_methods_supported: Some(match incomplete {
                true => strings(&[NONE, "client_secret_post"]),
                false => strings(&[NONE, "client_secret_basic", "client_secret_post", "private_key_jwt"]),
            }),
            token_endpoint_auth_signing_alg_values_supported: (!incomplete)
                .then(|| Algorithm::ASYMMETRIC.iter().map(|a| a.name().to_string()).collect()),
            revocation_endpoint: Some(c.revocation_endpoint()),
            introspection_endpoint: Some(c.introspection_endpoint()),
            code_challenge_methods_supported: pkce,
            authorization_response_iss_parameter_supported: (!c.defects.has(Defect::IssNotAdvertised))
                .then_some(true),
            client_id_metadata_document_supported: Some(true),
            dpop_signing_alg_values_supported: (!c.defects.has(Defect::DpopAlgsNotAdvertised))
                .then(|| c.dpop.algorithms.iter().map(|a| a.name().to_string()).collect()),
            other: self.grant_profiles(),
            ..Default::default()
        }
    }

    /// The grant types of the token endpoint: the JWT bearer grant (RFC 7523 §2.1) when
    /// an issuer of JWT grants is trusted (the workload identity extension, §Authorization
    /// Server Metadata: "The `grant_types_supported` array MUST include the value
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer`").
    fn grant_types_supported(&self) -> Vec<String> {
        let mut grants = strings(&[AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS]);
        if self.takes_jwt_grants() && !self.config.defects.has(Defect::JwtBearerNotAdvertised) {
            grants.push(JWT_BEARER_GRANT.into());
        }
        grants
    }

    /// `authorization_grant_profiles_supported` with the ID-JAG profile when an enterprise
    /// IdP is trusted (EMA §6 Discovery; draft-ietf-oauth-identity-assertion-authz-grant
    /// §7.2).
    fn grant_profiles(&self) -> std::collections::BTreeMap<String, serde_json::Value> {
        let c = &self.config;
        let id_jags = c.trusted_issuers.iter().any(|t| t.kind == super::AssertionKind::IdJag);
        let mut other = std::collections::BTreeMap::new();
        if id_jags && !c.defects.has(Defect::JwtBearerNotAdvertised) {
            other.insert(id_jag::GRANT_PROFILES_SUPPORTED.into(), serde_json::json!([id_jag::GRANT_PROFILE]));
        }
        other
    }

    /// The JWK Set served at `jwks_uri`: [`AuthorizationServer::jwks`], public keys only;
    /// with the `jwks-private-key` defect the signing key's entry also carries its private
    /// member `d` (the scalar of an EC or Ed25519 key; for RSA, the whole PKCS #8 key).
    pub fn jwks_document(&self) -> serde_json::Value {
        let mut document = serde_json::to_value(self.jwks()).unwrap_or_default();
        if self.config.defects.has(Defect::JwksPrivateKey) {
            let private = self.current_key.to_pkcs8_der().ok().map(|der| private_scalar(&der).unwrap_or(der));
            if let (Some(first), Some(d)) = (document["keys"].get_mut(0), private) {
                use base64::Engine as _;
                first["d"] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d).into();
            }
        }
        document
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
    fn the_jwks_holds_public_keys_unless_the_defect_publishes_the_private_scalar() {
        use crate::defects::Defect;
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        use base64::Engine as _;
        let b64 = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(v.as_str().expect("a string"))
                .expect("base64url")
        };
        let issuer = Config::default().issuer;
        let clean: serde_json::Value =
            serde_json::from_slice(Tester::new().get(&format!("{issuer}/jwks")).body()).unwrap();
        assert!(clean["keys"][0].get("d").is_none(), "{clean}");
        let leaked: serde_json::Value = serde_json::from_slice(
            Tester::with_defect(Defect::JwksPrivateKey).get(&format!("{issuer}/jwks")).body(),
        )
        .unwrap();
        let key = &leaked["keys"][0];
        // The published `d` is the scalar of the published public key.
        let public = [vec![0x04], b64(&key["x"]), b64(&key["y"])].concat();
        EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &b64(&key["d"]),
            &public,
        )
        .expect("d matches x and y");
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
