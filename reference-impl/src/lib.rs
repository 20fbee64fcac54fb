//! Reference implementations of the MCP authorization roles, strict and sans-IO.
//!
//! - [`authorization_server`]: OAuth 2.1 authorization server (RFC 8414 metadata, PKCE
//!   S256, RFC 8707 resource indicators, RFC 9068 JWT access tokens, RFC 7591
//!   registration, client ID metadata documents, RFC 7009/7662).
//! - [`mcp_server`]: an MCP server (Streamable HTTP) acting as resource server: RFC 9728
//!   metadata, per-request token validation, per-tool scopes.
//! - [`client`]: public and confidential MCP clients.
//! - [`enterprise_idp`]: an enterprise identity provider that exchanges ID tokens for
//!   ID-JAGs ([`id_jag`], RFC 8693 token exchange), for enterprise-managed authorization.
//!
//! Wire formats each have a module named after their spec: [`pkce`], [`metadata`]
//! (RFC 8414), [`protected_resource_metadata`] (RFC 9728), [`bearer`] (RFC 6750
//! challenges), [`registration`] (RFC 7591), [`resource_indicator`] (RFC 8707),
//! [`jwt`], [`access_token`] (RFC 9068), [`dpop`] (RFC 9449), [`jsonrpc`]; [`oauth_error`] holds the OAuth
//! error codes they all send and read.
//!
//! Every role follows the contract of [`sans_io`]: no sockets, no system clock, no OS RNG.
//! Every role can be told to commit a documented mistake ([`defects`]), so that each
//! check of the harness is shown able to fail.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access_token;
pub mod authorization_server;
pub mod bearer;
pub mod client;
pub mod defects;
pub mod dpop;
pub mod enterprise_idp;
pub mod error;
pub mod id_jag;
pub mod jsonrpc;
pub mod jwt;
pub mod mcp_server;
pub mod metadata;
pub mod oauth_error;
pub mod pkce;
pub mod protected_resource_metadata;
pub mod registration;
pub mod resource_indicator;
pub mod sans_io;
pub mod wire;

pub use error::{Error, Result};
