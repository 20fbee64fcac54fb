//! The token exchange (RFC 8693) at the enterprise identity provider: the first leg of
//! enterprise-managed authorization, the MCP extension
//! `io.modelcontextprotocol/enterprise-managed-authorization` (SEP-990; ext-auth
//! `specification/stable/enterprise-managed-authorization.mdx` §4, row CL-60). The
//! second leg, the ID-JAG presented to the MCP server's authorization server with the
//! JWT bearer grant, is [`super::jwt_bearer`]'s.
//!
//! The user signed in to the client through the enterprise IdP (OpenID Connect); the
//! client holds the ID token ([`EnterpriseManaged::id_token`]). Once discovery named the
//! MCP server's authorization server, the client "**MUST** make a Token Exchange
//! ([RFC8693]) request to the IdP's Token Endpoint" (the draft's §4; the stable §4 says
//! it sends one "as defined in Section 4.3 of
//! draft-ietf-oauth-identity-assertion-authz-grant") with:
//!
//! - `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693 §2.1);
//! - `requested_token_type=urn:ietf:params:oauth:token-type:id-jag`;
//! - `audience`: "**MUST** be the issuer identifier of the Resource Authorization
//!   Server" — the `issuer` of the metadata discovery validated, byte for byte;
//! - `resource`: the MCP server's RFC 9728 resource identifier (OPTIONAL in the stable
//!   text, REQUIRED in the draft; always sent, as the conformance suite's IdP requires);
//! - `scope`, when the client asks for one (the scope the code flow would ask for);
//! - `subject_token` (the ID token) and
//!   `subject_token_type=urn:ietf:params:oauth:token-type:id_token`;
//! - the client's authentication at the IdP, when configured ([`IdpClient`]): "If the IdP
//!   requires client authentication when the MCP Client performs OpenID Connect for single
//!   sign-on, then client authentication of the Token Exchange request is also required."
//!
//! The answer (RFC 8693 §2.2.1; EMA §4.2) carries the ID-JAG in `access_token` ("for
//! historical reasons, not an OAuth token"), `issued_token_type` the ID-JAG type and
//! `token_type` `N_A`. The client checks `issued_token_type` and that the token is a
//! compact JWS with `typ` `oauth-id-jag+jwt` (EMA draft §4.3: the `typ` "**MUST** be
//! `oauth-id-jag+jwt`"); it does not verify the IdP's signature — the authorization
//! server does. An error answer (RFC 6749 §5.2) ends the flow with the IdP's error.
//!
//! [RFC8693]: https://datatracker.ietf.org/doc/html/rfc8693

use super::client_credentials::ClientCredentials;
use super::token::{self, ClientAuth};
use crate::jwt;
use crate::metadata::check_endpoint_url;
use crate::sans_io::{Env, Request, Response};
use crate::wire;
use crate::{Error, Result};
use http::StatusCode;
use serde::Deserialize;
use std::fmt;

/// The identifier of the extension (MCP extensions overview; SEP-990).
pub const EXTENSION: &str = "io.modelcontextprotocol/enterprise-managed-authorization";
/// The token exchange's identifiers, defined once in [`crate::id_jag`] for the client,
/// the IdP and the AS: `grant_type` (RFC 8693 §2.1), the ID token's
/// `subject_token_type` (§3), the ID-JAG's token type and `typ` header (EMA §4).
pub use crate::id_jag::{
    ID_TOKEN_TYPE, TOKEN_EXCHANGE as GRANT_TYPE, TOKEN_TYPE as ID_JAG_TOKEN_TYPE, TYP as ID_JAG_TYP,
};
/// Which endpoint answered, in errors.
const ENDPOINT: &str = "identity provider token endpoint";

/// What a client using enterprise-managed authorization holds: the user's ID token from
/// the enterprise IdP, where to exchange it, and its own credentials at the MCP server's
/// authorization server ("It is also assumed that the MCP client will be pre-registered
/// with the MCP server's authorization server", EMA draft §6.1). `Debug` hides the ID token
/// and the secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct EnterpriseManaged {
    /// The token endpoint of the enterprise IdP: https, or http on loopback.
    pub idp_token_endpoint: String,
    /// How the client authenticates at the IdP; `None`: it does not (an IdP that does not
    /// require it).
    pub idp_client: Option<IdpClient>,
    /// The identity assertion: the OpenID Connect ID token the IdP issued the client at
    /// the user's single sign-on (the `subject_token`).
    pub id_token: String,
    /// The client's credentials at the MCP server's authorization server, with which it
    /// presents the ID-JAG (the ID-JAG's `client_id` names this client).
    pub client: ClientCredentials,
}

/// The client at the enterprise IdP. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct IdpClient {
    /// The client id at the IdP (the `aud` of its ID tokens).
    pub client_id: String,
    /// The client secret at the IdP, sent with `client_secret_basic` (RFC 6749 §2.3.1:
    /// every authorization server supports it); `None`: the client id goes in the body,
    /// without a secret (`none`).
    pub client_secret: Option<String>,
}

impl fmt::Debug for EnterpriseManaged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterpriseManaged")
            .field("idp_token_endpoint", &self.idp_token_endpoint)
            .field("idp_client", &self.idp_client)
            .field("id_token", &"..")
            .field("client", &self.client)
            .finish()
    }
}

impl fmt::Debug for IdpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdpClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| ".."))
            .finish()
    }
}

impl EnterpriseManaged {
    /// Checks what can be checked before any request: the IdP's token endpoint is https
    /// (or loopback http), the ID token is not empty, the credentials are usable
    /// ([`ClientCredentials::check`]).
    pub fn check(&self) -> Result<()> {
        check_endpoint_url("idp_token_endpoint", &self.idp_token_endpoint)?;
        if self.id_token.trim().is_empty() {
            return Err(Error::Config(
                "the id token to exchange is empty; expected the IdP's ID token".into(),
            ));
        }
        self.client.check()
    }
}

/// An Identity Assertion JWT Authorization Grant as the IdP issued it: a compact JWS
/// with `typ` `oauth-id-jag+jwt`, its signature unverified (the authorization server
/// verifies it). `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct IdJag(String);

impl IdJag {
    /// The compact JWS, for the `assertion` parameter.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdJag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdJag(..)")
    }
}

/// One token exchange request for an ID-JAG (EMA §4).
#[derive(Debug, Clone, Copy)]
pub struct TokenExchange<'a> {
    /// The IdP's token endpoint.
    pub token_endpoint: &'a str,
    /// The client's authentication at the IdP, if any.
    pub client: Option<&'a IdpClient>,
    /// The ID token.
    pub subject_token: &'a str,
    /// The issuer identifier of the MCP server's authorization server.
    pub audience: &'a str,
    /// The MCP server's resource identifier, if sent.
    pub resource: Option<&'a str>,
    /// The scope asked for at the MCP server, if any.
    pub scope: Option<&'a str>,
}

impl TokenExchange<'_> {
    /// The POST to the IdP's token endpoint: `grant_type`, `requested_token_type`,
    /// `audience`, `resource` and `scope` when given, `subject_token` and
    /// `subject_token_type`, then the client's authentication (none, its id in the
    /// body, or `client_secret_basic`).
    pub fn request(&self, env: &mut Env<'_>) -> Result<Request> {
        let mut pairs = vec![
            ("grant_type", GRANT_TYPE),
            ("requested_token_type", ID_JAG_TOKEN_TYPE),
            ("audience", self.audience),
        ];
        pairs.extend(self.resource.map(|r| ("resource", r)));
        pairs.extend(self.scope.map(|s| ("scope", s)));
        pairs.push(("subject_token", self.subject_token));
        pairs.push(("subject_token_type", ID_TOKEN_TYPE));
        let Some(client) = self.client else {
            return wire::post_form_request(self.token_endpoint, &wire::encode_pairs(pairs));
        };
        let auth = match &client.client_secret {
            Some(secret) => ClientAuth::SecretBasic(secret.clone()),
            None => ClientAuth::None,
        };
        token::token_request(self.token_endpoint, &client.client_id, &auth, self.token_endpoint, &pairs, env)
    }
}

/// A token exchange response (RFC 8693 §2.2.1), the members the client reads.
#[derive(Deserialize)]
struct ExchangeResponse {
    access_token: String,
    issued_token_type: Option<String>,
}

/// Reads the IdP's answer to a token exchange: 200 with `issued_token_type` the ID-JAG
/// type and an `access_token` that is a compact JWS of `typ` `oauth-id-jag+jwt`. An
/// OAuth error body becomes [`Error::OAuth`] (endpoint "identity provider token
/// endpoint").
pub fn read_token_exchange_response(r: &Response) -> Result<IdJag> {
    if r.status() != StatusCode::OK {
        return Err(wire::error_from_response(ENDPOINT, r));
    }
    let answer: ExchangeResponse = wire::parse_json("token exchange response", r.body())?;
    match answer.issued_token_type.as_deref() {
        Some(ID_JAG_TOKEN_TYPE) => {}
        other => {
            return Err(Error::unexpected(
                "issued_token_type",
                other.map_or("none".to_string(), |t| format!("`{t}`")),
                format!("`{ID_JAG_TOKEN_TYPE}` (EMA §4.2)"),
            ));
        }
    }
    let typ = match jwt::split(&answer.access_token) {
        Ok(compact) => compact.header.typ,
        Err(e) => {
            return Err(Error::unexpected(
                "access_token of the token exchange",
                format!("{} characters that are not a compact JWS ({e})", answer.access_token.len()),
                "an ID-JAG: a signed JWT (EMA §4.3)",
            ));
        }
    };
    if !typ.as_deref().is_some_and(crate::id_jag::is_typ) {
        return Err(Error::unexpected(
            "typ of the ID-JAG",
            typ.map_or("none".to_string(), |t| format!("`{t}`")),
            format!("`{ID_JAG_TYP}` (EMA draft §4.3)"),
        ));
    }
    Ok(IdJag(answer.access_token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::{Algorithm, SigningKey};
    use crate::oauth_error::ErrorCode;
    use crate::sans_io::Time;
    use crate::wire::Params;
    use base64::Engine as _;
    use http::header;
    use rand_core::SeedableRng;
    use serde_json::json;

    fn exchange(client: Option<&IdpClient>) -> TokenExchange<'_> {
        TokenExchange {
            token_endpoint: "https://idp.example/token",
            client,
            subject_token: "id.token.here",
            audience: "https://as.example",
            resource: Some("https://mcp.example/mcp"),
            scope: Some("tools:read"),
        }
    }

    fn id_jag(typ: &str) -> String {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
        let key = SigningKey::generate(Algorithm::ES256, "idp", &mut env).unwrap();
        jwt::encode(&key, typ, &json!({"iss": "https://idp.example", "aud": "https://as.example"})).unwrap()
    }

    #[test]
    fn the_request_asks_for_an_id_jag_for_the_issuer_and_the_resource() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
        let idp_client = IdpClient { client_id: "idp-client".into(), client_secret: None };
        let r = exchange(Some(&idp_client)).request(&mut env).unwrap();
        assert_eq!(r.uri(), "https://idp.example/token");
        let form = Params::parse(r.body()).unwrap();
        let expected = [
            ("grant_type", GRANT_TYPE),
            ("requested_token_type", ID_JAG_TOKEN_TYPE),
            ("audience", "https://as.example"),
            ("resource", "https://mcp.example/mcp"),
            ("scope", "tools:read"),
            ("subject_token", "id.token.here"),
            ("subject_token_type", ID_TOKEN_TYPE),
            ("client_id", "idp-client"),
        ];
        let sent: Vec<(&str, &str)> = form.iter().collect();
        let mut expected = expected.to_vec();
        expected.sort_unstable();
        assert_eq!(sent, expected);
        assert!(r.headers().get(header::AUTHORIZATION).is_none());
    }

    #[test]
    fn a_secret_at_the_idp_goes_basic_and_no_client_sends_no_id() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let mut env = Env::new(Time::from_unix_secs(1_000), &mut rng);
        let idp_client = IdpClient { client_id: "idp-client".into(), client_secret: Some("s3".into()) };
        let r = exchange(Some(&idp_client)).request(&mut env).unwrap();
        let basic = base64::engine::general_purpose::STANDARD.encode("idp-client:s3");
        assert_eq!(r.headers()[header::AUTHORIZATION], format!("Basic {basic}").as_str());
        let form = Params::parse(r.body()).unwrap();
        assert_eq!((form.get("client_id"), form.get("client_secret")), (None, None));
        let r = TokenExchange { resource: None, scope: None, ..exchange(None) }.request(&mut env).unwrap();
        let form = Params::parse(r.body()).unwrap();
        assert_eq!((form.get("client_id"), form.get("resource"), form.get("scope")), (None, None, None));
        assert!(r.headers().get(header::AUTHORIZATION).is_none());
    }

    #[test]
    fn the_answer_must_be_an_id_jag() {
        let ok = |body: serde_json::Value| read_token_exchange_response(&wire::json(StatusCode::OK, &body));
        let grant = id_jag(ID_JAG_TYP);
        let answer =
            json!({"access_token": grant, "issued_token_type": ID_JAG_TOKEN_TYPE, "token_type": "N_A"});
        assert_eq!(ok(answer).unwrap().as_str(), grant);
        let e = ok(json!({"access_token": grant, "token_type": "N_A"})).unwrap_err();
        assert_eq!(
            e,
            Error::unexpected("issued_token_type", "none", format!("`{ID_JAG_TOKEN_TYPE}` (EMA §4.2)"))
        );
        let access = "urn:ietf:params:oauth:token-type:access_token";
        let e = ok(json!({"access_token": grant, "issued_token_type": access})).unwrap_err().to_string();
        assert!(e.contains(access) && e.contains(ID_JAG_TOKEN_TYPE), "{e}");
        let e = ok(json!({"access_token": "opaque", "issued_token_type": ID_JAG_TOKEN_TYPE})).unwrap_err();
        assert!(e.to_string().contains("not a compact JWS"), "{e}");
        let plain = id_jag("JWT");
        let e = ok(json!({"access_token": plain, "issued_token_type": ID_JAG_TOKEN_TYPE})).unwrap_err();
        assert_eq!(
            e,
            Error::unexpected("typ of the ID-JAG", "`JWT`", format!("`{ID_JAG_TYP}` (EMA draft §4.3)"))
        );
    }

    #[test]
    fn an_idp_refusal_is_its_oauth_error() {
        let refusal =
            wire::oauth_error(StatusCode::BAD_REQUEST, ErrorCode::InvalidGrant, "audience not allowed");
        let e = read_token_exchange_response(&refusal).unwrap_err();
        assert!(matches!(&e, Error::OAuth { endpoint: ENDPOINT, status: 400, error, .. }
            if *error == ErrorCode::InvalidGrant));
        assert!(e.to_string().contains("audience not allowed"), "{e}");
    }

    #[test]
    fn debug_hides_the_id_token_the_secret_and_the_grant() {
        let e = EnterpriseManaged {
            idp_token_endpoint: "https://idp.example/token".into(),
            idp_client: Some(IdpClient { client_id: "c".into(), client_secret: Some("idp-s3cr3t".into()) }),
            id_token: "eyJ-id-token".into(),
            client: ClientCredentials {
                client_id: "agent".into(),
                credential: super::super::Credential::Secret("as-s3cr3t".into()),
                issuer: None,
            },
        };
        let shown = format!("{e:?} {:?}", IdJag("eyJ-grant".into()));
        for secret in ["idp-s3cr3t", "eyJ-id-token", "as-s3cr3t", "eyJ-grant"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
