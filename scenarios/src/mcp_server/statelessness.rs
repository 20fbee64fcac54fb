//! MCP 2026-07-28 is stateless (basic/index §Statelessness): "Servers MUST NOT rely on
//! prior requests over the same connection to establish context (e.g., capabilities,
//! protocol version, client identity)" (RS-33), and server/tools §Capabilities: the
//! `tools/list` set "MAY change over time …, but MUST NOT vary per-connection or as a side
//! effect of other requests on the connection. The set MAY vary by the authorization
//! presented on the request" (RS-31).
//!
//! A fresh connection is asked for by sending the request before it with `Connection:
//! close` (RFC 9112 §9.6); requests without it reuse the connection where the server
//! keeps it alive. In the simulator a party keeps one connection to each server (the
//! request's `Connection` is its sender), so there every request of the case shares one.

use super::stateless::message;
use crate::world::stateless::{modern_body, modern_request, with_header};
use crate::world::{World, all_variants, describe};
use mcp_authz_reference::access_token::AccessTokenClaims;
use mcp_authz_reference::mcp_server::MODERN_PROTOCOL_VERSION;
use mcp_authz_reference::sans_io::FetchResult;
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::json;
use std::collections::BTreeSet;

/// A 2026-07-28 `tools/list` with `token`; `last` closes the connection after the answer.
pub(super) fn list(w: &mut World, token: Option<&str>, last: bool) -> FetchResult {
    let url = w.mcp.clone();
    let request = modern_request(&url, token, &modern_body("tools/list", json!({}), MODERN_PROTOCOL_VERSION));
    w.send("client", with_header(request, "connection", last.then_some("close")))
}

/// The names of the tools a `tools/list` answer lists, or `None` when it lists none.
fn names(r: &FetchResult) -> Option<BTreeSet<String>> {
    let tools = message(r)["result"]["tools"].as_array()?.clone();
    Some(tools.iter().filter_map(|t| t["name"].as_str().map(String::from)).collect())
}

/// RS-31: the same token lists the same tools on two fresh connections, and again after
/// a `tools/call` on the connection.
pub(super) fn tools_list_not_per_connection(w: &mut World) -> Check {
    let token = w.mint(&w.claims(&w.tools.all_scopes()));
    let first = list(w, Some(&token), true);
    let Some(first_names) = names(&first) else {
        return Check::Undecided(format!("tools/list failed: {}", describe(&first)));
    };
    let second = list(w, Some(&token), true);
    let read = w.tools.read.clone();
    let called =
        w.modern("client", &token, "tools/call", json!({"name": read.name, "arguments": read.arguments}));
    let third = list(w, Some(&token), false);
    let listings = [
        ("a second fresh connection", "a second fresh connection".to_string(), names(&second), &second),
        (
            "the connection of a tools/call",
            format!("the connection of a tools/call of {} ({})", read.name, describe(&called)),
            names(&third),
            &third,
        ),
    ];
    let outcomes = listings
        .into_iter()
        .map(|(variant, when, listed, r)| {
            let check = Check::expect(listed.as_ref() == Some(&first_names), || {
                Violation::about(
                    format!("tools/list with the same token on {when}"),
                    format!("the tools of the first listing {first_names:?}"),
                    listed.map_or_else(|| describe(r), |n| format!("{n:?}")),
                )
            });
            (format!("tools/list on {variant}"), check)
        })
        .collect();
    all_variants(w, outcomes)
}

/// RS-33: on one kept-alive connection, an authorized request, then one without a token
/// and one with an expired token: both refused with 401, as on a fresh connection.
pub(super) fn no_context_from_earlier_requests(w: &mut World) -> Check {
    let claims = w.claims(&w.tools.all_scopes());
    let token = w.mint(&claims);
    let r = list(w, Some(&token), false);
    if !message(&r)["result"].is_object() {
        return Check::Undecided(format!("an authorized tools/list failed: {}", describe(&r)));
    }
    let now = w.now().unix_secs();
    let expired = w.mint(&AccessTokenClaims { exp: Some(now - 3600), iat: Some(now - 7200), ..claims });
    let mut outcomes = Vec::new();
    for (what, token) in [("no token", None), ("an expired token", Some(expired.as_str()))] {
        let r = list(w, token, false);
        let status = r.as_ref().ok().map(|r| r.status().as_u16());
        let check = Check::expect(status == Some(401), || {
            Violation::about(
                format!("tools/list with {what}, after an authorized request on the same connection"),
                "401: nothing is inherited from earlier requests",
                describe(&r),
            )
        });
        outcomes.push((format!("tools/list with {what}"), check));
    }
    all_variants(w, outcomes)
}
