//! Runs the MCP server scenarios against an axum `Router` in-process: no port for the
//! server under test, the same case IDs as `mcp-authz run` and `mcp-authz test-server`.
//!
//! Replace `my_router` with your own server's router, configured to trust the issuer
//! and JWKS of the harness's authorization server (which does listen on loopback, so
//! your server can fetch its keys as it would in production).
//!
//! ```text
//! cargo run -p mcp-authz-scenarios --example test_my_router
//! ```

use mcp_authz_live::fetch::Fetcher;
use mcp_authz_live::runs::{self as live, Progress};
use mcp_authz_live::serve::{Served, system_now};
use mcp_authz_live::target::{self, Limits};
use mcp_authz_live::test_authority::TestAuthority;
use mcp_authz_live::tokens::TokenSource;
use mcp_authz_reference::mcp_server::{self, McpServer};
use mcp_authz_scenarios::world::OTHER_MCP;
use mcp_authz_scenarios::{catalog, mcp_server_scenarios};
use mcp_authz_sim::report;

/// The server under test: here the reference MCP server; yours goes here.
fn my_router(resource: &str, issuer: &str, jwks_uri: &str) -> axum::Router {
    let mut config = mcp_server::Config::new(resource, issuer);
    config.jwks_uri = jwks_uri.into();
    let server = McpServer::new(config).expect("valid config");
    Served::new(server, Fetcher::trusted().expect("http client")).router()
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    // Any URL: nothing resolves it, requests go straight to the router. https, as a
    // deployed server's resource identifier is (RFC 9728 §2; RS-PRM-01 checks it).
    let url = "https://my-server.test/mcp";
    let authority = runtime.block_on(TestAuthority::start(0, &[url, OTHER_MCP])).expect("the harness's AS");
    let router = my_router(url, authority.issuer(), &authority.jwks_uri());

    let connect = target::in_process(router, runtime.handle().clone(), Limits::default());
    let scenarios = mcp_server_scenarios(&catalog());
    let hints = live::ToolHints::default();
    let tokens = TokenSource::Harness(authority.clone());
    let run = live::test_server(url, &tokens, connect, &hints, &scenarios, None, &system_now, |p| {
        if let Progress::Learned(notes) = p {
            notes.iter().for_each(|n| eprintln!("tool {n}"));
        }
    });
    print!("{}", report::text(&run.results, false, &|c| format!("scenario {}", c.meta.id), None));
}
