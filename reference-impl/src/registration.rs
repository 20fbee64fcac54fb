//! Dynamic client registration (RFC 7591): the client metadata a client sends and the
//! client information an authorization server returns. Client ID metadata documents
//! reuse [`ClientMetadata`] with `client_id` set to the document's own URL.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Client metadata (RFC 7591 §2), as sent in a registration request or published as a
/// client ID metadata document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClientMetadata {
    /// For a client ID metadata document: the URL of the document itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Redirect URIs (https, or http on loopback; no fragment).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// `none`, `client_secret_basic`, `client_secret_post` or `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// Grant types the client will use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    /// Response types the client will use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types: Option<Vec<String>>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// Space-separated scopes the client may request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// URL of the client's JWKS (for `private_key_jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// The client's JWKS by value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<crate::jwt::Jwks>,
    /// `native` or `web` (SEP-837).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_type: Option<String>,
    /// Any other member, kept for round trips.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// Client information response (RFC 7591 §3.2.1): the metadata as registered plus the
/// credentials issued.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClientInformation {
    /// The issued client identifier.
    pub client_id: String,
    /// The issued secret, for confidential clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// When the id was issued (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_issued_at: Option<u64>,
    /// When the secret expires; 0 for never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<u64>,
    /// The metadata as registered (the server may have changed it, e.g. the scope).
    #[serde(flatten)]
    pub metadata: ClientMetadata,
}
