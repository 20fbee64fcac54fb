//! What MCP 2026-07-28 asks of a server that speaks **only** 2026-07-28 when legacy
//! traffic reaches it (basic/versioning §Backward Compatibility with Initialization-Based
//! Versions; streamable-http §Earlier Streamable HTTP Revisions): it names the versions
//! it supports when refusing `initialize`, answers GET and DELETE with 405, and
//! ignores — neither mints nor echoes — a session id. Both SHOULDs.
//!
//! In the simulator, MCP server A is made to speak 2026-07-28 only for the case; a live
//! server is what it is: one that answers `initialize` speaks a legacy revision too, and
//! these cases do not apply to it.

use super::{response, status};
use crate::world::stateless::{modern_body, modern_request, with_header};
use crate::world::{World, all_variants, describe};
use mcp_authz_reference::mcp_server::{MODERN_PROTOCOL_VERSION, McpServer, SESSION_ID};
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::json;

/// Makes MCP server A speak 2026-07-28 only (simulated), or checks that it does (live):
/// a token for its tools, or why the case cannot run.
fn modern_only(w: &mut World) -> Result<String, Check> {
    if let Ok(server) = w.mcp_server() {
        let mut config = server.config().clone();
        config.legacy = false;
        *server = McpServer::new(config).map_err(|e| Check::Undecided(format!("cannot reconfigure: {e}")))?;
        w.note("MCP server A speaks 2026-07-28 only in this case");
    }
    let token = w.mint(&w.claims(&w.tools.all_scopes()));
    let url = w.mcp.clone();
    let init = World::rpc_request(&url, Some(&token), &World::initialize_body(), &[]);
    let r = w.send("client", init);
    if (200..300).contains(&status(&r)) {
        return Err(Check::NotApplicable(
            "the server answered initialize: it speaks a legacy revision too, and these are \
             requirements of servers that speak only 2026-07-28"
                .into(),
        ));
    }
    Ok(token)
}

/// the refusal of `initialize` names a supported version (in `error.data.supported`,
/// or anywhere in the answer: the spec fixes no format).
pub(super) fn initialize_refusal_names_versions(w: &mut World) -> Check {
    let token = match modern_only(w) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let url = w.mcp.clone();
    let r = w.send("client", World::rpc_request(&url, Some(&token), &World::initialize_body(), &[]));
    let names =
        response(&r).is_some_and(|r| String::from_utf8_lossy(r.body()).contains(MODERN_PROTOCOL_VERSION));
    Check::expect(names, || {
        Violation::about("initialize at a 2026-07-28-only server", "an error naming 2026-07-28", describe(&r))
    })
}

/// GET and DELETE on the endpoint get 405; a 2026-07-28 request carrying an
/// `Mcp-Session-Id` (and a `Last-Event-ID`) is served as if it had none, and the answer
/// carries no session id.
pub(super) fn legacy_transport_refused(w: &mut World) -> Check {
    let token = match modern_only(w) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let url = w.mcp.clone();
    let mut outcomes = Vec::new();
    for method in [http::Method::GET, http::Method::DELETE] {
        let req = http::Request::builder()
            .method(method.clone())
            .uri(&url)
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "text/event-stream")
            .header(SESSION_ID, "an-old-session")
            .body(bytes::Bytes::new())
            .expect("a valid request");
        let r = w.send("client", req);
        let what = format!("{method} {url}");
        let check = Check::expect(status(&r) == 405, || Violation::about(what.clone(), "405", describe(&r)));
        outcomes.push((what, check));
    }
    let body = modern_body("tools/list", json!({}), MODERN_PROTOCOL_VERSION);
    let req = modern_request(&url, Some(&token), &body);
    let req = with_header(
        with_header(req, SESSION_ID.as_str(), Some("an-old-session")),
        "last-event-id",
        Some("7"),
    );
    let r = w.send("client", req);
    let echoed = response(&r).and_then(|r| r.headers().get(SESSION_ID)).is_some();
    let what = "tools/list with Mcp-Session-Id and Last-Event-ID";
    let check = Check::expect(status(&r) == 200 && !echoed, || {
        Violation::about(what, "200, the headers ignored, no Mcp-Session-Id in the answer", describe(&r))
    });
    outcomes.push((what.to_string(), check));
    all_variants(w, outcomes)
}
