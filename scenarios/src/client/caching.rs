//! MCP 2026-07-28 §Caching, as a client must honour it: a `private` result stays with
//! the authorization context it was fetched in (CL-58).

use super::hostile::{challenged, echo, prm_url};
use super::wire::{McpRequest, rewrite_result, watch_server_a};
use crate::world::{MCP, MCP_ORIGIN, World};
use http::StatusCode;
use mcp_authz_reference::client::Operation;
use mcp_authz_reference::sans_io::Response;
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::{Value, json};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// The tool server A lists for the first token only.
const FIRST_TOKENS_TOOL: &str = "notes_of_the_first_token";

/// How long server A tells the client the first token's list stays fresh: an hour.
const TTL_MS: u64 = 3_600_000;

/// CL-58 (MCP 2026-07-28 server/utilities/caching §Cache Scope Field): for `"private"`,
/// "Cached responses **MAY** be reused for the same authorization context. Caches **MUST
/// NOT** be shared across authorization contexts (e.g. a different access token requires
/// a different cache)." The spec defines "authorization context" by that example only;
/// the case reads it as narrowly as it can be graded: another access token, obtained by
/// a new authorization or a refresh after server A refused the first, is another context.
///
/// Server A answers the client's first modern `tools/list` made with a token (A) as
/// `cacheScope: "private"`, `ttlMs` an hour, listing a tool for A only; the clock does not
/// move. Then server A refuses A (401 `invalid_token`) and the client, calling `echo`,
/// gets another token (B). Then it lists the tools again. A client that serves A's list
/// there fails: its outcome holds A's tool, or it calls A's tool with B. One that lists
/// with B passes, and so does one that does not cache at all. One that never lists again
/// with a new token cannot be judged (what it would use is not seen); one that never
/// listed over the modern wire with a token is not judged either (caching hints are
/// 2026-07-28's).
pub(super) fn private_cache_stays_with_its_token(w: &mut World) -> Check {
    let first: Rc<RefCell<Option<String>>> = Rc::default();
    let refusing = Rc::new(Cell::new(false));
    let (known, refuse) = (first.clone(), refusing.clone());
    let challenge = format!(r#"Bearer error="invalid_token", resource_metadata="{}""#, prm_url(MCP_ORIGIN));
    let answer = move |r: &McpRequest| {
        let is_first = r.bearer.is_some() && *known.borrow() == r.bearer;
        (refuse.get() && is_first).then(|| challenged(StatusCode::UNAUTHORIZED, &[&challenge]))
    };
    let keep = first.clone();
    let rewrite = move |r: &McpRequest, resp: &mut Response| {
        let listing = r.modern() && r.method() == Some("tools/list") && resp.status().is_success();
        if listing && r.bearer.is_some() && keep.borrow().is_none() && private_list(resp) {
            *keep.borrow_mut() = r.bearer.clone();
        }
    };
    let sent = watch_server_a(w, answer, rewrite);
    let mut client = w.public_client(MCP);
    let _ = w.run_client("victim", &mut client, Operation::ListTools);
    let Some(token_a) = first.borrow().clone() else {
        return Check::NotApplicable(
            "the client listed no tools over the 2026-07-28 wire with a token".into(),
        );
    };
    w.note("server A now refuses the token of that list: the client gets another");
    refusing.set(true);
    let _ = w.run_client("victim", &mut client, echo());
    let listed = w.run_client("victim", &mut client, Operation::ListTools);
    let sent = sent.borrow();
    let other = |r: &&McpRequest| r.bearer.as_ref().is_some_and(|t| *t != token_a);
    if !sent.iter().any(|r| other(&r)) {
        return Check::Undecided("the client never presented server A another token".into());
    }
    let given = format!(
        "tools/list with the first token answered cacheScope \"private\", ttlMs {TTL_MS}, listing \
         {FIRST_TOKENS_TOOL}; then the client works with another token"
    );
    let returned = listed.as_ref().is_ok_and(|o| o.result.to_string().contains(FIRST_TOKENS_TOOL));
    let called = sent.iter().filter(other).any(|r| r.body["params"]["name"] == FIRST_TOKENS_TOOL);
    if returned || called {
        return Check::Violated(Violation::about(
            given,
            "the first token's private list not served with the other token: tools/list sent again",
            match called {
                true => format!("tools/call of {FIRST_TOKENS_TOOL} with the other token"),
                false => format!("the cached list served: {}", listed.map(|o| o.result).unwrap_or_default()),
            },
        ));
    }
    let relisted = sent.iter().filter(other).any(|r| r.method() == Some("tools/list"));
    match relisted {
        true => Check::Holds,
        false => Check::NotApplicable(
            "the client did not list the tools again with its other token: whether it used the first \
             token's list cannot be seen"
                .into(),
        ),
    }
}

/// Server A's answer to a `tools/list` made private and fresh for [`TTL_MS`], with
/// [`FIRST_TOKENS_TOOL`] added; false when it has no result to change.
fn private_list(resp: &mut Response) -> bool {
    rewrite_result(resp, |r| {
        r.insert("ttlMs".into(), json!(TTL_MS));
        r.insert("cacheScope".into(), json!("private"));
        let tool = json!({"name": FIRST_TOKENS_TOOL, "inputSchema": {"type": "object"}});
        if let Some(tools) = r.get_mut("tools").and_then(Value::as_array_mut) {
            tools.push(tool);
        }
    })
}
