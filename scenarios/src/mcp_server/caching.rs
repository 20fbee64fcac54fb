//! Caching hints (MCP 2026-07-28 server/utilities/caching §Security Considerations): a
//! `public` `cacheScope` lets any client or proxy share the result across tokens, so
//! "Server implementors … MUST apply appropriate per-primitive access controls, and MUST
//! NOT rely on `cacheScope` alone to prevent unauthorized access to primitives" (RS-32).

use super::stateless::message;
use super::{CALL_ID, ran};
use crate::world::{World, describe};
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::json;

/// RS-32: the server lists its tools as `public`; a token without the write tool's scope
/// calls it anyway: refused, nothing runs.
pub(super) fn public_list_is_not_access_control(w: &mut World) -> Check {
    let Some(write) = w.tools.write.clone() else {
        return Check::NotApplicable("the server has no tool needing more than the read scope".into());
    };
    let read = w.tools.read.scope.clone();
    let token = w.mint(&w.claims(&read));
    let listed = super::statelessness::list(w, Some(&token), false);
    let result = &message(&listed)["result"];
    match result["cacheScope"].as_str() {
        Some("public") => {}
        Some(other) => {
            return Check::NotApplicable(format!(
                "tools/list is `{other}`, not shared across tokens: nothing to rely on"
            ));
        }
        None => return Check::Undecided(format!("tools/list carried no cacheScope: {}", describe(&listed))),
    }
    let before = w.side_effects();
    let r =
        w.modern("client", &token, "tools/call", json!({"name": write.name, "arguments": write.arguments}));
    Check::expect(!ran(w, before, &r, CALL_ID), || {
        Violation::about(
            format!(
                "{} (needs `{}`) with a `{read}` token, the tool listed as public",
                write.name, write.scope
            ),
            "a refusal: access is checked per tool, whatever the cacheScope",
            describe(&r),
        )
    })
}
