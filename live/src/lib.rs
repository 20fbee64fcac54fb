//! The mcp-authz harness over real HTTP: the drivers that run the reference roles of
//! `mcp-authz-reference` on loopback, reach live targets, and run a client under test as
//! a process of its own; and the targets the scenario catalog runs against when the role
//! under test is not simulated.
//!
//! - [`serve`]: any sans-IO role behind an axum `Router` (system clock, OS RNG).
//! - [`fetch`]: outbound HTTP with timeouts, size limits, no redirects and an SSRF
//!   address policy.
//! - [`stack`]: the reference AS and MCP server wired together on loopback.
//! - [`target`]: how a live run reaches the server under test (HTTP or in-process).
//! - [`test_authority`]: the AS the harness plays for a live MCP server under test;
//!   [`harness_key`]: its signing key, kept across runs; [`tokens`]: where the tokens
//!   for the server under test come from (that AS, or the server's own);
//!   [`black_box`]: the server's own AS and keys, found from outside.
//! - [`targets`]: the catalog's [`Target`](mcp_authz_scenarios::world::Target)s for a
//!   live MCP server, a live authorization server and a client process.
//! - [`runs`]: runs the catalog against those targets (`test-server`, `test-as`,
//!   `test-client`); [`scan`]: against a deployed server from outside (`scan`).
//! - [`live_client`]: the reference client driven over real HTTP.
//! - [`client_network`]: loopback listeners and a proxy standing in for the simulator's
//!   hosts when the client under test is a process of its own; [`client_under_test`]
//!   runs that process.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// `eprintln!` that ignores a closed stderr: output into a pipe whose reader left (`… 2>&1 |
/// head -2`) must not end the program with a panic. The CLI writes to stderr with it too.
#[macro_export]
macro_rules! tell {
    () => {{
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), b"\n");
    }};
    ($($arg:tt)*) => {{
        let _ = std::io::Write::write_fmt(&mut std::io::stderr().lock(), format_args!("{}\n", format_args!($($arg)*)));
    }};
}

pub mod black_box;
pub mod client_network;
pub mod client_under_test;
pub mod fetch;
pub mod harness_key;
pub mod live_client;
pub mod runs;
pub mod scan;
pub mod serve;
mod setup_failure;
pub mod stack;
pub mod target;
pub mod targets;
pub mod test_authority;
pub mod tokens;
