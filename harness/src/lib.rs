//! The mcp-authz harness: drivers that run the reference roles of
//! `mcp-authz-reference` over real HTTP, and the library behind the `mcp-authz` CLI.
//!
//! - [`serve`]: any sans-IO role behind an axum `Router` (system clock, OS RNG).
//! - [`fetch`]: outbound HTTP with timeouts, size limits, no redirects and an SSRF
//!   address policy.
//! - [`stack`]: the reference AS and MCP server wired together on loopback.
//! - [`target`]: how a live run reaches the server under test (HTTP or in-process).
//! - [`test_authority`]: the AS the harness plays for a live MCP server under test.
//! - [`live_client`]: the reference client driven over real HTTP.
//! - [`client_network`]: loopback listeners and a proxy standing in for the simulator's
//!   hosts when the client under test is a process of its own.
//! - [`browser`]: a user agent with cookies that signs in through login and consent forms.
//! - [`sim`]: the deterministic in-process network simulator; [`trace`] reads its trace back.
//! - [`scenario`]: the scenario model (roles, levels, verdicts, adversary capabilities).
//! - [`report`]: text, JSON, JUnit and HTML reports; [`baseline`]: expected failures.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod baseline;
pub mod browser;
pub mod client_network;
pub mod fetch;
pub mod live_client;
pub mod report;
pub mod scenario;
pub mod serve;
pub mod sim;
pub mod stack;
pub mod target;
pub mod test_authority;
pub mod trace;
