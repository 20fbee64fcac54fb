//! MCP 2026-07-28 §Refresh Tokens, the server's part: "MCP Servers (Protected Resources)
//! SHOULD NOT include `offline_access` in `WWW-Authenticate` scope or Protected Resource
//! Metadata `scopes_supported`, as refresh tokens are not a resource requirement" (RS-29).

use super::{response, unauthenticated_challenge, write_tool};
use crate::world::{World, describe};
use mcp_authz_reference::bearer;
use mcp_authz_reference::protected_resource_metadata::{ProtectedResourceMetadata, well_known_urls};
use mcp_authz_sim::scenario::{Check, Violation};

const OFFLINE_ACCESS: &str = "offline_access";

/// True when the space-separated `scope` holds `offline_access`.
fn names_offline_access(scope: &str) -> bool {
    scope.split(' ').any(|s| s == OFFLINE_ACCESS)
}

/// RS-29: the metadata's `scopes_supported`, the 401 challenge's `scope` and a 403
/// `insufficient_scope` challenge's `scope` (when the server has a tool needing more
/// than the read scope) name no `offline_access`. What the server does not send is not
/// judged: a missing metadata document or scope is other cases' business.
pub(super) fn no_offline_access_asked(w: &mut World) -> Check {
    let url = match well_known_urls(&w.mcp) {
        Ok(urls) => urls[0].clone(),
        Err(e) => return Check::Undecided(format!("no metadata url for `{}`: {e}", w.mcp)),
    };
    let r = w.get("client", &url);
    let listed = response(&r)
        .filter(|r| r.status() == 200)
        .and_then(|r| ProtectedResourceMetadata::parse(r.body()).ok())
        .and_then(|m| m.scopes_supported)
        .unwrap_or_default();
    if listed.iter().any(|s| s == OFFLINE_ACCESS) {
        let observed = format!("scopes_supported {listed:?}");
        return Check::Violated(Violation::about(format!("GET {url}"), "no offline_access", observed));
    }
    match unauthenticated_challenge(w) {
        Ok(c) if c.get("scope").is_some_and(names_offline_access) => {
            let observed = format!("`{}`", c.to_header_value());
            return Check::Violated(Violation::about(
                "the 401 challenge",
                "a scope without offline_access",
                observed,
            ));
        }
        Ok(_) => {}
        Err(c) => return c,
    }
    let Ok(write) = write_tool(w) else { return Check::Holds };
    let token = w.mint(&w.claims(&w.tools.read.scope));
    let r = w.call("client", &token, &write);
    let forbidden = response(&r)
        .filter(|r| r.status() == 403)
        .and_then(|r| bearer::bearer_challenge(r.headers()).ok().flatten());
    match forbidden.and_then(|c| c.get("scope").map(String::from)) {
        Some(scope) if names_offline_access(&scope) => Check::Violated(Violation::about(
            format!("the 403 to {} with a `{}` token", write.name, w.tools.read.scope),
            "a scope without offline_access",
            describe(&r),
        )),
        _ => Check::Holds,
    }
}
