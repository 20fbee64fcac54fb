//! INV-TOOL: no tool runs (alone or as a call of a JSON-RPC batch) unless the request
//! carried a token valid at that instant, signed by the trusted AS, for that server, with
//! the scope the server's table asks for the tool, compared exactly (scope strings are
//! case-sensitive, RFC 6749 §3.3).

use super::{Exchange, Invariant, Spec, Verdict};
use crate::explore::model::{Server, Tool, ToolTable};
use mcp_authz_reference::access_token::{AccessTokenClaims, Validator};
use serde_json::Value;
use std::collections::BTreeMap;

/// INV-TOOL. The ground truth: for each MCP server, a validator of its own (the trusted
/// issuer's keys, the server's audience) and the tool table it was given.
pub(super) struct ToolCalls {
    validators: BTreeMap<Server, Validator>,
    /// Tokens a server's validator accepted, with their claims: its keys never change
    /// during a run, so a token seen again needs only its claims checked.
    verified: BTreeMap<(Server, String), AccessTokenClaims>,
    tables: BTreeMap<Server, ToolTable>,
}

impl ToolCalls {
    /// Judges the MCP servers of `validators` with the tool tables of `tables`.
    pub(super) fn new(validators: BTreeMap<Server, Validator>, tables: BTreeMap<Server, ToolTable>) -> Self {
        ToolCalls { validators, verified: BTreeMap::new(), tables }
    }

    /// Whether `tool` may have run at `server` for `exchange`: the evidence when not
    /// (`ran` says what ran).
    fn judge(&mut self, exchange: &Exchange<'_>, server: Server, tool: Tool, ran: String) -> Option<String> {
        let Some(token) = exchange.bearer.clone() else { return Some(format!("{ran} without a token")) };
        let validator = self.validators.get(&server)?;
        let at = exchange.seen.at;
        let checked = match self.verified.get(&(server, token.clone())) {
            Some(claims) => validator.check_claims(claims, at).map(|()| claims.clone()),
            None => validator.validate(&token, at),
        };
        let claims = match checked {
            Err(e) => return Some(format!("{ran} with a token it must refuse: {e}")),
            Ok(claims) => self.verified.entry((server, token)).or_insert(claims),
        };
        let scope = claims.scope.as_deref().unwrap_or_default();
        let Some(required) = self.tables.get(&server).and_then(|t| t.required_scope(tool)) else {
            return Some(format!("{ran}, which does not offer it"));
        };
        (!scope.split(' ').any(|s| s == required))
            .then(|| format!("{ran} with scope `{scope}`, which lacks `{required}`"))
    }
}

/// The tools an MCP server ran for `exchange`: the `tools/call` it answered with a
/// result, or each such call of a JSON-RPC batch (matched to its answer by id).
fn tools_run(exchange: &Exchange<'_>) -> Vec<Tool> {
    let o = exchange.seen;
    let read = |body: &[u8]| serde_json::from_slice::<Value>(body).ok();
    let (Some(request), Some(response)) = (read(o.request.body()), read(&o.response_body)) else {
        return Vec::new();
    };
    if o.status != 200 {
        return Vec::new();
    }
    match (request, response) {
        (Value::Array(calls), Value::Array(answers)) => calls
            .iter()
            .filter_map(|call| {
                let id = call.get("id")?;
                ran(call, answers.iter().find(|a| a.get("id") == Some(id))?)
            })
            .collect(),
        (call, answer) => ran(&call, &answer).into_iter().collect(),
    }
}

/// The tool `call` ran, when it is a `tools/call` and `answer` a result.
fn ran(call: &Value, answer: &Value) -> Option<Tool> {
    if call.get("method").and_then(Value::as_str) != Some("tools/call") {
        return None;
    }
    let tool = call.get("params")?.get("name")?.as_str().and_then(Tool::named)?;
    let result = answer.get("result")?;
    (result.get("isError").and_then(Value::as_bool) != Some(true)).then_some(tool)
}

impl Invariant for ToolCalls {
    const SPEC: Spec = Spec {
        id: "INV-TOOL",
        statement: "no tool runs, alone or in a JSON-RPC batch, unless the request carried a token, valid at that instant, issued by the trusted AS, whose audience is that server and whose scopes cover the tool (compared exactly)",
        requirements: &["RS-07", "RS-08", "RS-11", "RS-13", "RS-17", "RS-20"],
    };

    /// Judges every tool call an MCP server answered with a result, alone or in a batch.
    fn observe(&mut self, exchange: &Exchange<'_>) -> Verdict {
        let Some(server) = exchange.server else { return Verdict::Untouched };
        let tools = tools_run(exchange);
        if tools.is_empty() {
            return Verdict::Untouched;
        }
        let batch = if exchange.seen.request.body().starts_with(b"[") { " in a batch" } else { "" };
        let broken = tools.into_iter().find_map(|tool| {
            let ran = format!("{} ran at {server:?}{batch} for {}", tool.name(), exchange.seen.from);
            self.judge(exchange, server, tool, ran)
        });
        Verdict::from(broken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::tap::Observed;
    use bytes::Bytes;
    use mcp_authz_reference::sans_io::Time;
    use mcp_authz_sim::party::Party;

    fn exchanged(request: Value, response: Value) -> Observed {
        let body = Bytes::from(request.to_string());
        Observed {
            from: Party::named("attacker0"),
            to: "https://mcp.example".into(),
            at: Time::from_unix_secs(0),
            request: http::Request::post("https://mcp.example/mcp").body(body).unwrap(),
            status: 200,
            response_session: None,
            location: None,
            response_body: Bytes::from(response.to_string()),
        }
    }

    #[test]
    fn each_call_of_a_batch_is_matched_to_its_answer_by_id() {
        let call = |id: u64, name: &str| serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name}});
        let batch = Value::from(vec![call(1, "echo"), call(2, "write_note"), call(3, "admin_reset")]);
        let answers = serde_json::json!([
            {"jsonrpc": "2.0", "id": 3, "result": {"content": []}},
            {"jsonrpc": "2.0", "id": 1, "error": {"code": -32003, "message": "insufficient scope"}},
            {"jsonrpc": "2.0", "id": 2, "result": {"content": [], "isError": true}},
        ]);
        let seen = exchanged(batch, answers);
        assert_eq!(tools_run(&Exchange::new(&seen)), [Tool::AdminReset]);
        let single = exchanged(call(1, "echo"), serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {}}));
        assert_eq!(tools_run(&Exchange::new(&single)), [Tool::Echo]);
    }
}
