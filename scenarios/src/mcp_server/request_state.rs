//! `requestState` (MCP 2026-07-28 basic/patterns/mrtr §Server Requirements): the opaque
//! state of an `InputRequiredResult`, which the client echoes on its retry. "Servers MUST
//! treat `requestState` as an attacker-controlled input. If `requestState` influences
//! authorization, resource access, or business logic, servers MUST protect its integrity
//! (e.g. HMAC or AEAD) and MUST reject state that fails verification", and "SHOULD include
//! … inside the integrity-protected `requestState` payload and verify each on receipt: the
//! authenticated principal, rejecting state presented by a different principal" (RS-30).
//!
//! From outside, the harness cannot tell whether a server's state influences anything
//! (the MUST's condition), so the case is graded at the SHOULD, which presumes a protected
//! payload bound to its principal: a tampered copy, or the state presented by another
//! user, must not complete the call. The call must then complete for its owner, else the
//! case cannot judge.

use super::stateless::message;
use crate::world::stateless::{modern_body, modern_request};
use crate::world::{Tool, World, all_variants, describe, union_scopes};
use mcp_authz_reference::access_token::AccessTokenClaims;
use mcp_authz_reference::mcp_server::{META_CLIENT_CAPABILITIES, MODERN_PROTOCOL_VERSION};
use mcp_authz_reference::sans_io::FetchResult;
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::{Map, Value, json};

/// A 2026-07-28 call of `tool` with `token` from a client declaring `elicitation`, its
/// params extended by `retry`.
fn call(w: &mut World, tool: &Tool, token: &str, retry: &Map<String, Value>) -> FetchResult {
    let mut params = json!({"name": tool.name, "arguments": tool.arguments});
    for (k, v) in retry {
        params[k] = v.clone();
    }
    let mut body = modern_body("tools/call", params, MODERN_PROTOCOL_VERSION);
    body["params"]["_meta"][META_CLIENT_CAPABILITIES] = json!({"elicitation": {}});
    let url = w.mcp.clone();
    w.send("client", modern_request(&url, Some(token), &body))
}

/// True when `r` completed the call: a result that neither asks for more input nor is a
/// tool error.
fn completed(r: &FetchResult) -> bool {
    let result = &message(r)["result"];
    result.is_object()
        && result.get("resultType").is_none_or(|t| t == "complete")
        && result.get("isError") != Some(&Value::Bool(true))
}

/// The `inputResponses` of a user who accepts every elicitation of `requests`, filling
/// each requested property with a value of its type (booleans true).
fn accept_all(requests: &Value) -> Value {
    let fill = |schema: &Value| match schema.get("type").and_then(Value::as_str) {
        Some("boolean") => json!(true),
        Some("number" | "integer") => json!(1),
        _ => json!("yes"),
    };
    let answers: Map<String, Value> = requests
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, request)| {
            let properties = request.pointer("/params/requestedSchema/properties").and_then(Value::as_object);
            let content: Map<String, Value> =
                properties.into_iter().flatten().map(|(p, schema)| (p.clone(), fill(schema))).collect();
            (key.clone(), json!({"action": "accept", "content": content}))
        })
        .collect();
    Value::Object(answers)
}

/// `state` with the character at `i` replaced by another of the base64url alphabet.
fn flipped(state: &str, i: usize) -> String {
    state
        .char_indices()
        .map(|(j, c)| match (j == i, c) {
            (false, c) => c,
            (true, 'A') => 'B',
            (true, _) => 'A',
        })
        .collect()
}

/// RS-30: alice's call asks for input with a `requestState`; tampered copies of it and
/// the state presented by mallory must not complete the call; alice's own retry must.
/// Graded at the SHOULD (2026-07-28 mrtr §Server Requirements: the integrity MUST holds
/// "If `requestState` influences authorization, resource access, or business logic",
/// which is unknown from outside; binding the principal is a **SHOULD**).
pub(super) fn request_state_protected(w: &mut World) -> Check {
    let Some(tool) = w.tools.needs_elicitation.clone() else {
        return Check::NotApplicable(
            "the harness knows no tool of the server that asks for input (name one with --capability-tool)"
                .into(),
        );
    };
    let scopes = union_scopes(&[&w.tools.all_scopes(), &tool.scope]);
    let alice = w.mint(&w.claims(&scopes));
    let first = call(w, &tool, &alice, &Map::new());
    let asked = message(&first)["result"].clone();
    if asked["resultType"] != "input_required" {
        return Check::Undecided(format!(
            "{} from a client declaring elicitation: expected an input_required result, got {}",
            tool.name,
            describe(&first)
        ));
    }
    let Some(state) = asked["requestState"].as_str().filter(|s| !s.is_empty()).map(String::from) else {
        return Check::NotApplicable(format!("{} asks for input without a requestState", tool.name));
    };
    let retry = |state: &str| -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("requestState".into(), json!(state));
        m.insert("inputResponses".into(), accept_all(&asked["inputRequests"]));
        m
    };
    // The first, middle and next-to-last characters (the last may carry padding bits only).
    let n = state.chars().count();
    let mut positions = vec![0, n / 2, n.saturating_sub(2)];
    positions.dedup();
    // Each variant: its name, the violation's context and expectation, and the answer.
    let mut tried = Vec::new();
    for i in positions {
        let tampered = flipped(&state, i);
        let r = call(w, &tool, &alice, &retry(&tampered));
        tried.push((
            format!("requestState altered at character {i}"),
            format!("{}'s retry with its requestState altered at character {i}", tool.name),
            "a refusal: state that fails verification is rejected",
            r,
        ));
    }
    let mallory = w.mint(&AccessTokenClaims { sub: Some("mallory".into()), ..w.claims(&scopes) });
    let r = call(w, &tool, &mallory, &retry(&state));
    tried.push((
        "alice's requestState with mallory's token".to_string(),
        format!("alice's requestState for {} presented with mallory's token", tool.name),
        "a refusal: state presented by a different principal is rejected",
        r,
    ));
    // The control: alice's own retry completes, so that the refusals above say something.
    let control = call(w, &tool, &alice, &retry(&state));
    let outcomes = tried
        .into_iter()
        .map(|(variant, context, expected, r)| {
            let check = match (completed(&r), completed(&control)) {
                (true, _) => Check::Violated(Violation::about(context, expected, describe(&r))),
                (false, true) => Check::Holds,
                (false, false) => Check::Undecided(format!(
                    "refused, but {}'s retry by alice with her untouched requestState did not complete \
                     either, so the refusal says nothing: {}",
                    tool.name,
                    describe(&control)
                )),
            };
            (variant, check)
        })
        .collect();
    all_variants(w, outcomes)
}
