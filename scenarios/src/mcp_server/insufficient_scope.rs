//! MCP 2026-07-28 §Runtime Insufficient Scope Errors: "servers SHOULD include all scopes
//! required for the current operation in a single challenge" (RS-27) — so a client that
//! asks for what the 403 names gets a token that works, with no second round of step-up.

use super::{CALL_ID, ran};
use crate::world::{World, describe, union_scopes};
use mcp_authz_reference::bearer;
use mcp_authz_sim::scenario::{Check, Violation};

/// RS-27: a tool needing two scopes, called with a token holding the read scope: the 403
/// names every scope the tool needs; a token for the challenged scopes (with the read
/// scope) then runs it.
pub(super) fn one_challenge_names_every_scope(w: &mut World) -> Check {
    let Some(tool) = w.tools.multi_scope.clone() else {
        return Check::NotApplicable("no tool of the server needs more than one scope".into());
    };
    let read = w.tools.read.scope.clone();
    let token = w.mint(&w.claims(&read));
    let r = w.call("client", &token, &tool);
    let challenged = r
        .as_ref()
        .ok()
        .filter(|r| r.status() == 403)
        .and_then(|r| bearer::bearer_challenge(r.headers()).ok().flatten())
        .and_then(|c| c.get("scope").map(String::from));
    let Some(challenged) = challenged else {
        return Check::Undecided(format!(
            "{} with a `{read}` token: expected 403 insufficient_scope with a scope, got {}",
            tool.name,
            describe(&r)
        ));
    };
    let missing: Vec<&str> =
        tool.scope.split(' ').filter(|s| !challenged.split(' ').any(|c| c == *s)).collect();
    if !missing.is_empty() {
        return Check::Violated(Violation::about(
            format!("{} (needs `{}`) with a `{read}` token", tool.name, tool.scope),
            format!("one 403 naming every scope it needs (`{}`)", tool.scope),
            format!("scope `{challenged}`, missing {missing:?}"),
        ));
    }
    let stepped = w.mint(&w.claims(&union_scopes(&[&read, &challenged])));
    let before = w.side_effects();
    let r = w.call("client", &stepped, &tool);
    Check::expect(ran(w, before, &r, CALL_ID), || {
        Violation::about(
            format!("a token with the challenged scope `{challenged}`"),
            "the tool to run",
            describe(&r),
        )
    })
}

/// RS-28 (§Step-Up Authorization Flow: "Servers MUST account for scope hierarchies,
/// where a broader scope implies narrower ones, when deciding whether a token is
/// sufficient for an operation"): a token holding only a scope the server declares
/// broader than the read tool's runs the read tool. The hierarchy is the server's own:
/// known for the reference server, named by the operator live (`--broader-scope`).
pub(super) fn broader_scope_suffices(w: &mut World) -> Check {
    let Some(broader) = w.tools.broader_scope.clone() else {
        return Check::NotApplicable(
            "the harness knows no scope the server declares broader than the read tool's \
             (name one with --broader-scope)"
                .into(),
        );
    };
    let read = w.tools.read.clone();
    let token = w.mint(&w.claims(&broader));
    let before = w.side_effects();
    let r = w.call("client", &token, &read);
    Check::expect(ran(w, before, &r, CALL_ID), || {
        Violation::about(
            format!("{} (needs `{}`) with a token for `{broader}` alone", read.name, read.scope),
            format!("the tool to run: `{broader}` implies `{}`", read.scope),
            describe(&r),
        )
    })
}
