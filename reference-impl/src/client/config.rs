//! The configuration of a [`PublicClient`](super::PublicClient).

use super::{ApplicationType, ClientCredentials, Eras, JwtBearerGrant, PreRegistered};
use crate::defects::Defects;
use std::time::Duration;

/// Configuration of a [`PublicClient`](super::PublicClient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicClientConfig {
    /// The MCP endpoint, e.g. `http://127.0.0.1:9001/mcp`.
    pub server_url: String,
    /// The redirect URI: https, or http on loopback (CL-33).
    pub redirect_uri: String,
    /// The `client_name` to register with and the `clientInfo.name` of `initialize`.
    pub client_name: String,
    /// Credentials registered out of band; used first (CL-10).
    pub pre_registered: Option<PreRegistered>,
    /// Machine credentials: with them the client uses the client credentials grant
    /// (extension `io.modelcontextprotocol/oauth-client-credentials`) instead of the
    /// authorization code grant — no user agent, no registration
    /// ([`super::client_credentials`]); `redirect_uri`, `pre_registered`,
    /// `client_id_metadata_url` and `login_hint` are then unused.
    pub client_credentials: Option<ClientCredentials>,
    /// A JWT to present as the grant: with it the client uses the JWT bearer grant
    /// (RFC 7523 §2.1) instead of the authorization code grant — an ID-JAG it gets from
    /// the enterprise IdP (enterprise-managed authorization) or a workload's JWT
    /// (workload identity federation); no user agent, no registration
    /// ([`super::jwt_bearer`]). Not with `client_credentials`.
    pub jwt_bearer: Option<JwtBearerGrant>,
    /// The eras of MCP the client speaks: both by default (a modern request first, the
    /// legacy `initialize` handshake when the server turns out to be legacy).
    pub eras: Eras,
    /// The URL of this client's metadata document; used as `client_id` when the AS
    /// advertises `client_id_metadata_document_supported`.
    pub client_id_metadata_url: Option<String>,
    /// The scope to request, overriding the selection strategy (a step-up still adds the
    /// challenged scopes); empty: none (the `scope` parameter is left out).
    pub scope: Option<String>,
    /// The resource (RFC 8707) to request tokens for instead of the server's own: a
    /// token for another resource of the same authorization server, which this client
    /// then never sends to the server (CL-25). Only for [`PublicClient::get_token`]
    /// (`mcp-authz client --print-token --resource`).
    ///
    /// [`PublicClient::get_token`]: super::PublicClient::get_token
    pub resource: Option<String>,
    /// The `login_hint` of authorization requests (OpenID Connect Core §3.1.2.1): the
    /// user the authorization server should sign in.
    pub login_hint: Option<String>,
    /// The `application_type` to register with (CL-50); `None`: the one the redirect URI
    /// implies ([`ApplicationType::for_redirect_uri`]).
    pub application_type: Option<ApplicationType>,
    /// Most step-up re-authorizations per operation (CL-27).
    pub max_step_up: u32,
    /// Refresh the access token this long before it expires.
    pub refresh_margin: Duration,
    /// Use DPoP (RFC 9449) with an ES256 key of its own, drawn at the first proof, when
    /// the authorization server lists ES256 in `dpop_signing_alg_values_supported` or the
    /// MCP server challenges with the `DPoP` scheme ([`super::dpop`]).
    pub dpop: bool,
    /// Mistakes to commit on purpose (the `Client` defects of [`crate::defects`]); none
    /// by default.
    pub defects: Defects,
}

impl PublicClientConfig {
    /// A configuration with no credentials, no scope, resource, login hint or
    /// application type override, `max_step_up` 2, a 60 s refresh margin, no DPoP.
    pub fn new(
        server_url: impl Into<String>,
        redirect_uri: impl Into<String>,
        client_name: impl Into<String>,
    ) -> Self {
        PublicClientConfig {
            server_url: server_url.into(),
            redirect_uri: redirect_uri.into(),
            client_name: client_name.into(),
            pre_registered: None,
            client_credentials: None,
            jwt_bearer: None,
            eras: Eras::DualEra,
            client_id_metadata_url: None,
            scope: None,
            resource: None,
            login_hint: None,
            application_type: None,
            max_step_up: 2,
            refresh_margin: Duration::from_secs(60),
            dpop: false,
            defects: Defects::none(),
        }
    }
}
