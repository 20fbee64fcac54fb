//! State handles (MCP 2026-07-28: no protocol sessions; "Servers that need state spanning
//! multiple requests mint an explicit handle … and receive it back as an ordinary tool
//! argument"). Security Best Practices §State Handle Hijacking: servers "SHOULD use secure,
//! non-deterministic handles generated with secure random number generators" and "SHOULD
//! bind handles server-side to the authenticated user … and reject a handle presented by
//! any other principal". The 2026-07-28 counterpart of the session cases.
//!
//! They need to know which tools mint and take a handle ([`crate::world::HandleTools`]):
//! the reference server's `open_cart` and `cart_show`; a live server's, the operator
//! names (`test-server --state-handle-tools OPEN,SHOW:ARGUMENT`), else the cases are
//! skipped with that reason.

use super::response;
use super::sessions::unpredictable;
use crate::world::{HandleTools, World, describe, tool_ran};
use mcp_authz_reference::access_token::AccessTokenClaims;
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::{Value, json};

/// The handle tools, or why the case cannot run.
fn handle_tools(w: &World) -> Result<HandleTools, Check> {
    w.tools.handles.clone().ok_or_else(|| {
        Check::NotApplicable(
            "the harness does not know which of the server's tools mint and take a state handle".into(),
        )
    })
}

/// The text of a tool result's first content item, when the call ran.
fn result_text(r: &mcp_authz_reference::sans_io::FetchResult) -> Option<String> {
    if !tool_ran(r, 2) {
        return None;
    }
    let messages = mcp_authz_reference::client::mcp::response_messages(response(r)?).ok()?;
    let result = messages.iter().find(|m| m.get("id").and_then(Value::as_u64) == Some(2))?.get("result")?;
    result["content"][0]["text"].as_str().map(String::from)
}

/// Opens a handle as `from` with `token`, storing `item`: the handle, or why not.
fn open(w: &mut World, tools: &HandleTools, from: &str, token: &str, item: &str) -> Result<String, Check> {
    let url = w.mcp.clone();
    let mut arguments = tools.open.arguments.clone();
    arguments["item"] = json!(item);
    let r = w.call_tool(from, &url, token, &tools.open.name, arguments);
    result_text(&r).filter(|h| !h.is_empty()).ok_or_else(|| {
        Check::Undecided(format!("{} did not return a handle: {}", tools.open.name, describe(&r)))
    })
}

/// RS-22 (2026-07-28 text): alice opens a handle holding a secret; mallory, with a valid
/// token of her own, presents it: the answer must not show alice's state. The level is
/// the binding's (2026-07-28 security best practices §State Handle Hijacking: "MCP servers
/// **SHOULD** bind handles server-side to the authenticated user … and reject a handle
/// presented by any other principal"): mallory is authenticated by her token, so RS-20's
/// MUST NOT (a handle as authentication) is not what this case breaks.
pub(super) fn handle_bound_to_its_owner(w: &mut World) -> Check {
    let tools = match handle_tools(w) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let alice = w.mint(&w.claims(&w.tools.all_scopes()));
    let alice_all =
        crate::world::union_scopes(&[&w.tools.all_scopes(), &tools.open.scope, &tools.show.scope]);
    let alice = if alice_all == w.tools.all_scopes() { alice } else { w.mint(&w.claims(&alice_all)) };
    let secret = "alice's secret 7f3a";
    let handle = match open(w, &tools, "alice", &alice, secret) {
        Ok(h) => h,
        Err(c) => return c,
    };
    let mallory = w.mint(&AccessTokenClaims {
        sub: Some("mallory".into()),
        client_id: Some("mallory-app".into()),
        ..w.claims(&alice_all)
    });
    let mut arguments = tools.show.arguments.clone();
    arguments[&tools.argument] = json!(handle);
    let url = w.mcp.clone();
    let own = w.call_tool("alice", &url, &alice, &tools.show.name, arguments.clone());
    if !result_text(&own).is_some_and(|t| t.contains(secret)) {
        return Check::Undecided(format!("alice's own handle did not show her state: {}", describe(&own)));
    }
    let r = w.call_tool("attacker", &url, &mallory, &tools.show.name, arguments);
    Check::expect(!result_text(&r).is_some_and(|t| t.contains(secret)), || {
        Violation::about(
            format!("mallory's token with alice's handle in {}", tools.show.name),
            "a refusal, without alice's state",
            describe(&r),
        )
    })
}

/// RS-21 (2026-07-28 text): eight handles in a row look drawn from a CSPRNG ("MCP servers
/// **SHOULD** use secure, non-deterministic handles generated with secure random number
/// generators"; the MUST of RS-21 is about 2025 session IDs).
pub(super) fn handles_unpredictable(w: &mut World) -> Check {
    let tools = match handle_tools(w) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let scope = crate::world::union_scopes(&[&w.tools.all_scopes(), &tools.open.scope]);
    let token = w.mint(&w.claims(&scope));
    let mut handles = Vec::new();
    for i in 0..8 {
        match open(w, &tools, "client", &token, &format!("item {i}")) {
            Ok(h) => handles.push(h),
            Err(c) => return c,
        }
    }
    unpredictable(&handles, "state handles")
}
