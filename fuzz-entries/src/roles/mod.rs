//! Stateful targets: an [`Arbitrary`](arbitrary::Arbitrary) sequence of requests against
//! the reference authorization server and MCP server, driven sans-IO with a seeded RNG
//! and a virtual clock. Besides "never a panic", each checks invariants after every
//! exchange:
//!
//! - authorization server: a code is redeemed at most once and never after its
//!   lifetime; a refresh token is used at most once (rotation); every access token
//!   issued validates against the server's own JWKS; no 5xx.
//! - MCP server: a side-effecting tool (`write_note`, `admin_reset`) runs only for a
//!   request whose token was signed by the trusted key, names the trusted issuer, is
//!   unexpired and carries the tool's scope; no 5xx.
//!
//! One file per role, `authorization_server.rs` and `mcp_server.rs`, each with the
//! role's script, the world it runs in and the invariants; `shared.rs` holds [`Text`]
//! and the request builders both use. Every public item is re-exported here: callers
//! name `roles::AsScript`, not the file it lives in.

mod authorization_server;
mod mcp_server;
mod shared;

pub use authorization_server::{AsOp, AsScript, AsSummary, authorization_server, run_authorization_server};
pub use mcp_server::{
    Body, McpOp, McpScript, Session, Signer, Token, mcp_server, minted_token, run_mcp_server,
};
pub use shared::Text;
