//! How the public client gets a `client_id` (CL-10): pre-registered credentials first,
//! then a client ID metadata document when the AS advertises
//! `client_id_metadata_document_supported`, then dynamic client registration (RFC 7591)
//! when it has a `registration_endpoint`; otherwise there is no way in. A registration
//! request names the client's `application_type` (MCP 2026-07-28, SEP-837, CL-50).
//!
//! What the client obtains is kept per authorization server, keyed by its `issuer`
//! ([`Registrations`], MCP 2026-07-28 §Authorization Server Binding, CL-52/54): an id or
//! secret from one AS is never presented to another, where the client registers anew.

use super::PublicClient;
use super::token::ClientAuth;
use crate::defects::{Defect, Defects};
use crate::metadata::{AuthorizationServerMetadata, check_endpoint_url, is_loopback};
use crate::registration::{ClientInformation, ClientMetadata};
use crate::sans_io::{Request, Response};
use crate::wire;
use crate::{Error, Result};
use http::StatusCode;
use std::collections::BTreeMap;

/// The `client_id` of defect `client-invented-client-id`: one no authorization server
/// issued.
pub const INVENTED_CLIENT_ID: &str = "mcp-client";

/// Credentials registered with the AS out of band. They belong to one authorization
/// server (CL-52): `issuer`, or without it the first one the client uses them with; any
/// other AS gets an error instead of them (CL-53).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreRegistered {
    /// The client id.
    pub client_id: String,
    /// The secret, for a confidential registration.
    pub client_secret: Option<String>,
    /// The issuer of the authorization server that issued them, if known.
    pub issuer: Option<String>,
}

/// The registration approach chosen for one authorization server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approach {
    /// Use the configured credentials.
    PreRegistered(PreRegistered),
    /// Use the URL of the client ID metadata document as `client_id`.
    MetadataDocument(String),
    /// Register at this `registration_endpoint`.
    Dynamic(String),
}

/// The client's identity at one authorization server.
#[derive(Debug)]
pub struct Registration {
    /// The client id.
    pub client_id: String,
    /// How the client authenticates at the token endpoint.
    pub auth: ClientAuth,
    /// The id is the configured, pre-registered one.
    pub pre_registered: bool,
}

/// The client's registrations, one per authorization server, keyed by its `issuer`
/// (CL-52, CL-54).
#[derive(Debug, Default)]
pub struct Registrations(BTreeMap<String, Registration>);

impl Registrations {
    /// The registration at the AS `issuer`. With defect
    /// `client-credentials-reused-across-as`, when there is none, the registration at
    /// another AS (the first by issuer).
    pub fn get(&self, issuer: &str, defects: &Defects) -> Option<&Registration> {
        let reuse = || defects.has(Defect::ClientCredentialsReusedAcrossAs).then(|| self.0.values().next());
        self.0.get(issuer).or_else(|| reuse().flatten())
    }

    /// Keeps `registration` as the one at the AS `issuer`.
    pub fn insert(&mut self, issuer: String, registration: Registration) {
        self.0.insert(issuer, registration);
    }

    /// The `pre_registered` credentials if they may be used at the AS `issuer`: unless
    /// they name another issuer or are already in use at another AS, which is an error
    /// (CL-53: "surface an error rather than silently attempting to use mismatched
    /// credentials"). With defect `client-pre-registered-any-as`, they may be used
    /// anywhere.
    pub fn pre_registered_for<'a>(
        &self,
        pre_registered: Option<&'a PreRegistered>,
        issuer: &str,
        defects: &Defects,
    ) -> Result<Option<&'a PreRegistered>> {
        if defects.has(Defect::ClientPreRegisteredAnyAs) {
            return Ok(pre_registered);
        }
        let in_use =
            || self.0.iter().find(|(i, r)| r.pre_registered && *i != issuer).map(|(i, _)| i.as_str());
        let named = pre_registered.and_then(|p| p.issuer.as_deref()).filter(|i| *i != issuer);
        match (pre_registered, named.or_else(in_use)) {
            (Some(p), Some(bound)) => Err(Error::Refused(format!(
                "the pre-registered client_id `{}` belongs to `{bound}`; the protected resource metadata \
                 now names `{issuer}`: expected credentials registered there, not another server's",
                p.client_id
            ))),
            _ => Ok(pre_registered),
        }
    }
}

/// Chooses the approach in the CL-10 order. `metadata` has passed discovery's checks
/// (its `registration_endpoint` is a safe URL).
pub fn choose(
    pre_registered: Option<&PreRegistered>,
    client_id_metadata_url: Option<&str>,
    metadata: &AuthorizationServerMetadata,
) -> Result<Approach> {
    if let Some(p) = pre_registered {
        return Ok(Approach::PreRegistered(p.clone()));
    }
    if let Some(url) = client_id_metadata_url {
        if metadata.client_id_metadata_document_supported == Some(true) {
            return Ok(Approach::MetadataDocument(url.to_string()));
        }
    }
    if let Some(endpoint) = &metadata.registration_endpoint {
        return Ok(Approach::Dynamic(endpoint.clone()));
    }
    Err(Error::Refused(format!(
        "no way to obtain a client_id at `{}`: no pre-registered credentials, no client ID metadata \
         document (configured: {}, advertised: {}), no registration_endpoint",
        metadata.issuer,
        client_id_metadata_url.is_some(),
        metadata.client_id_metadata_document_supported == Some(true),
    )))
}

/// Checks a client ID metadata document URL (CL-12): https (or loopback http, for local
/// tests), with a path, without fragment.
pub fn check_metadata_document_url(url: &str) -> Result<()> {
    let parsed = check_endpoint_url("client_id_metadata_url", url)?;
    if parsed.path() == "/" || parsed.fragment().is_some() {
        return Err(Error::unexpected(
            "client_id_metadata_url",
            format!("`{url}`"),
            "an https url with a path and no fragment",
        ));
    }
    Ok(())
}

/// The metadata of a public client using the authorization code grant with refresh
/// tokens (`token_endpoint_auth_method` `none`): the body of a registration request, and
/// with `client_id` set, a client ID metadata document.
pub fn public_client_metadata(
    client_id: Option<&str>,
    redirect_uri: &str,
    client_name: &str,
) -> ClientMetadata {
    ClientMetadata {
        client_id: client_id.map(str::to_string),
        redirect_uris: vec![redirect_uri.to_string()],
        token_endpoint_auth_method: Some("none".into()),
        grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
        response_types: Some(vec!["code".into()]),
        client_name: Some(client_name.to_string()),
        ..Default::default()
    }
}

/// The OpenID Connect Dynamic Client Registration `application_type` (§2), which MCP
/// 2026-07-28 asks every dynamic registration to carry (CL-50): an OIDC server that
/// assumes its default, `web`, may refuse a loopback redirect URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationType {
    /// A desktop, mobile or command-line app, or a web app served on `localhost`.
    Native,
    /// A browser-based app served from a remote host.
    Web,
}

impl ApplicationType {
    /// The member's value: `native` or `web`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationType::Native => "native",
            ApplicationType::Web => "web",
        }
    }

    /// The type a redirect URI implies: `native` for a loopback host (`localhost`,
    /// `127.0.0.0/8`, `::1`, any scheme) or a private-use URI scheme (RFC 8252 §7.1);
    /// `web` for `http`/`https` to any other host, or a URI that does not parse.
    pub fn for_redirect_uri(redirect_uri: &str) -> ApplicationType {
        match url::Url::parse(redirect_uri) {
            Ok(u) if is_loopback(&u) || !matches!(u.scheme(), "http" | "https") => ApplicationType::Native,
            _ => ApplicationType::Web,
        }
    }

    /// The type a client registers with: `configured` if set, else the one its
    /// `redirect_uri` implies. `None` with defect `client-no-application-type`; always
    /// `web` with `client-application-type-web`.
    pub fn to_register(
        configured: Option<ApplicationType>,
        redirect_uri: &str,
        defects: &Defects,
    ) -> Option<ApplicationType> {
        if defects.has(Defect::ClientNoApplicationType) {
            return None;
        }
        if defects.has(Defect::ClientApplicationTypeWeb) {
            return Some(ApplicationType::Web);
        }
        Some(configured.unwrap_or_else(|| ApplicationType::for_redirect_uri(redirect_uri)))
    }
}

/// The RFC 7591 registration request of a public client using the authorization code
/// grant with refresh tokens, as an app of `application_type`. Its `grant_types` list
/// `refresh_token` (MCP 2026-07-28 §Refresh Tokens: clients that desire refresh tokens
/// "SHOULD include `refresh_token` in their `grant_types` client metadata", CL-56); with
/// defect `client-no-refresh-grant-type`, `authorization_code` alone.
pub fn registration_request(
    endpoint: &str,
    redirect_uri: &str,
    client_name: &str,
    application_type: Option<ApplicationType>,
    defects: &Defects,
) -> Result<Request> {
    let mut metadata = ClientMetadata {
        application_type: application_type.map(|t| t.as_str().to_string()),
        ..public_client_metadata(None, redirect_uri, client_name)
    };
    if defects.has(Defect::ClientNoRefreshGrantType) {
        metadata.grant_types = Some(vec!["authorization_code".into()]);
    }
    wire::post_json_request(endpoint, &metadata)
}

/// Reads a registration response: 201 with client information (RFC 7591 §3.2.1).
pub fn read_registration_response(r: &Response) -> Result<ClientInformation> {
    if r.status() != StatusCode::CREATED {
        return Err(match wire::error_from_response("registration endpoint", r) {
            Error::HttpStatus { what, received, .. } => Error::HttpStatus { what, received, expected: "201" },
            e => e,
        });
    }
    let info: ClientInformation = wire::parse_json("client information response", r.body())?;
    if info.client_id.is_empty() {
        return Err(Error::Missing("client_id in the client information response (it is empty)".into()));
    }
    Ok(info)
}

/// How to authenticate with credentials `client_secret` at an AS with `metadata`: none
/// without a secret; the registered method when it names one; else `client_secret_basic`
/// unless the AS only supports `client_secret_post`.
pub fn client_auth(
    client_secret: Option<&str>,
    registered_method: Option<&str>,
    metadata: &AuthorizationServerMetadata,
) -> ClientAuth {
    let Some(secret) = client_secret else {
        return ClientAuth::None;
    };
    let secret = secret.to_string();
    match registered_method {
        Some("client_secret_post") => ClientAuth::SecretPost(secret),
        Some("client_secret_basic") => ClientAuth::SecretBasic(secret),
        _ if !metadata.supports_auth_method("client_secret_basic")
            && metadata.supports_auth_method("client_secret_post") =>
        {
            ClientAuth::SecretPost(secret)
        }
        _ => ClientAuth::SecretBasic(secret),
    }
}

impl PublicClient {
    /// The client id at the current authorization server, once known.
    pub fn client_id(&self) -> Option<&str> {
        self.metadata.as_ref().and_then(|m| self.client_id_at(&m.issuer))
    }

    /// The client id at the authorization server `issuer`, once known.
    pub fn client_id_at(&self, issuer: &str) -> Option<&str> {
        self.registrations.get(issuer, &self.config.defects).map(|r| r.client_id.as_str())
    }

    /// The client ID metadata document to serve at `client_id_metadata_url` (CL-13): its
    /// `client_id` is that URL exactly, with `client_name` and `redirect_uris`.
    pub fn metadata_document(&self) -> Option<ClientMetadata> {
        let url = self.config.client_id_metadata_url.as_deref()?;
        Some(public_client_metadata(Some(url), &self.config.redirect_uri, &self.config.client_name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth_error::ErrorCode;

    fn meta() -> AuthorizationServerMetadata {
        AuthorizationServerMetadata {
            issuer: "https://as.example".into(),
            registration_endpoint: Some("https://as.example/register".into()),
            client_id_metadata_document_supported: Some(true),
            ..Default::default()
        }
    }

    #[test]
    fn order_is_pre_registered_then_cimd_then_dcr() {
        let pre = PreRegistered { client_id: "c".into(), client_secret: None, issuer: None };
        let url = "https://client.example/meta.json";
        let cimd = Some(url);
        assert_eq!(choose(Some(&pre), cimd, &meta()).unwrap(), Approach::PreRegistered(pre));
        assert_eq!(choose(None, cimd, &meta()).unwrap(), Approach::MetadataDocument(url.into()));
        let mut m = meta();
        m.client_id_metadata_document_supported = None;
        assert_eq!(choose(None, cimd, &m).unwrap(), Approach::Dynamic("https://as.example/register".into()));
        m.registration_endpoint = None;
        assert!(matches!(choose(None, cimd, &m), Err(Error::Refused(_))));
    }

    #[test]
    fn pre_registered_credentials_belong_to_their_issuer() {
        let named = PreRegistered {
            client_id: "c".into(),
            client_secret: None,
            issuer: Some("https://as.example".into()),
        };
        let none = Registrations::default();
        let correct = Defects::none();
        assert_eq!(
            none.pre_registered_for(Some(&named), "https://as.example", &correct).unwrap(),
            Some(&named)
        );
        let e = none.pre_registered_for(Some(&named), "https://as2.example", &correct).unwrap_err();
        assert!(
            matches!(e, Error::Refused(ref m) if m.contains("`c` belongs to `https://as.example`")),
            "{e}"
        );
        let first_use = PreRegistered { issuer: None, ..named };
        let mut used = Registrations::default();
        assert!(used.pre_registered_for(Some(&first_use), "https://as2.example", &correct).is_ok());
        let registration =
            Registration { client_id: "c".into(), auth: ClientAuth::None, pre_registered: true };
        used.insert("https://as2.example".into(), registration);
        assert!(used.pre_registered_for(Some(&first_use), "https://as.example", &correct).is_err());
        assert_eq!(used.pre_registered_for(None, "https://as.example", &correct).unwrap(), None);
        let any_as = Defects::of([Defect::ClientPreRegisteredAnyAs]);
        assert!(used.pre_registered_for(Some(&first_use), "https://as.example", &any_as).is_ok());
    }

    #[test]
    fn registration_needs_201() {
        let r = wire::json(StatusCode::OK, &serde_json::json!({"client_id": "c"}));
        assert_eq!(
            read_registration_response(&r),
            Err(Error::HttpStatus { what: "registration endpoint", received: 200, expected: "201" })
        );
        let r = wire::oauth_error(StatusCode::BAD_REQUEST, ErrorCode::InvalidRedirectUri, "no");
        assert!(matches!(
            read_registration_response(&r),
            Err(Error::OAuth { status: 400, ref error, .. }) if *error == ErrorCode::InvalidRedirectUri
        ));
    }

    #[test]
    fn application_type_follows_the_redirect_uri() {
        for native in [
            "http://127.0.0.1:8765/callback",
            "http://localhost/cb",
            "http://[::1]:3000/cb",
            "https://localhost/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(ApplicationType::for_redirect_uri(native), ApplicationType::Native, "{native}");
        }
        for web in ["https://app.example/callback", "https://127.0.0.1.example/cb", "not a uri"] {
            assert_eq!(ApplicationType::for_redirect_uri(web), ApplicationType::Web, "{web}");
        }
    }

    #[test]
    fn registration_names_the_application_type_unless_a_defect_says_otherwise() {
        let loopback = "http://127.0.0.1:8765/callback";
        let body = |t: Option<ApplicationType>| {
            let r = registration_request("https://as.example/register", loopback, "c", t, &Defects::none())
                .unwrap();
            serde_json::from_slice::<serde_json::Value>(r.body()).unwrap()
        };
        let to_register = |configured, d: &[Defect]| {
            ApplicationType::to_register(configured, loopback, &Defects::of(d.iter().copied()))
        };
        assert_eq!(body(to_register(None, &[]))["application_type"], "native");
        assert_eq!(body(to_register(Some(ApplicationType::Web), &[]))["application_type"], "web");
        assert_eq!(body(to_register(None, &[Defect::ClientApplicationTypeWeb]))["application_type"], "web");
        let omitted = body(to_register(None, &[Defect::ClientNoApplicationType]));
        assert!(omitted.get("application_type").is_none(), "{omitted}");
        assert_eq!(omitted["redirect_uris"], serde_json::json!([loopback]));
    }

    #[test]
    fn registration_lists_the_refresh_token_grant_unless_a_defect_says_otherwise() {
        let grant_types = |defects: Defects| {
            let r = registration_request(
                "https://as.example/register",
                "http://127.0.0.1/cb",
                "c",
                None,
                &defects,
            )
            .unwrap();
            serde_json::from_slice::<serde_json::Value>(r.body()).unwrap()["grant_types"].clone()
        };
        assert_eq!(grant_types(Defects::none()), serde_json::json!(["authorization_code", "refresh_token"]));
        assert_eq!(
            grant_types(Defects::of([Defect::ClientNoRefreshGrantType])),
            serde_json::json!(["authorization_code"])
        );
    }

    #[test]
    fn metadata_document_url_needs_a_path() {
        assert!(check_metadata_document_url("https://client.example/").is_err());
        assert!(check_metadata_document_url("http://client.example/meta.json").is_err());
        check_metadata_document_url("https://client.example/meta.json").unwrap();
    }

    #[test]
    fn secret_post_only_when_basic_is_not_supported() {
        let mut m = meta();
        assert!(matches!(client_auth(None, None, &m), ClientAuth::None));
        assert!(matches!(client_auth(Some("s"), None, &m), ClientAuth::SecretBasic(_)));
        m.token_endpoint_auth_methods_supported = Some(vec!["client_secret_post".into()]);
        assert!(matches!(client_auth(Some("s"), None, &m), ClientAuth::SecretPost(_)));
        assert!(matches!(
            client_auth(Some("s"), Some("client_secret_basic"), &m),
            ClientAuth::SecretBasic(_)
        ));
    }
}
