//! The tools (MCP server features §Tools): `echo`, `write_note`, `admin_reset` and the
//! downstream `fetch_report`, their `tools/list` entries and their results.
//!
//! A malformed `tools/call` (params not an object, no `name`, an unknown tool, arguments
//! not an object) is a JSON-RPC error `-32602`. A call whose arguments do not fit the
//! tool's input schema is a tool execution error: a result with `isError: true` (MCP
//! 2025-11-25 §Error Handling), and it has no side effect.

use super::config::{Config, ToolConfig};
use crate::defects::Defect;
use crate::sans_io::Connection;
use std::collections::BTreeSet;

/// The most connections the `tools-list-grows-with-calls` defect remembers.
const MAX_CONNECTIONS_SEEN: usize = 1024;
use serde_json::{Map, Value, json};

/// Which behavior a tool has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tool {
    Echo,
    WriteNote,
    AdminReset,
    FetchReport,
    /// Mints a state handle ([`super::state_handles`]).
    OpenCart,
    /// Takes a state handle back.
    CartShow,
    /// Needs two scopes (`publish_note`).
    PublishNote,
    /// Needs the client's `elicitation` capability (`confirm_action`).
    ConfirmAction,
}

impl Tool {
    fn named(name: &str) -> Option<Tool> {
        Some(match name {
            "echo" => Tool::Echo,
            "write_note" => Tool::WriteNote,
            "admin_reset" => Tool::AdminReset,
            "fetch_report" => Tool::FetchReport,
            "open_cart" => Tool::OpenCart,
            "cart_show" => Tool::CartShow,
            "publish_note" => Tool::PublishNote,
            "confirm_action" => Tool::ConfirmAction,
            _ => return None,
        })
    }

    fn input_schema(self) -> Value {
        match self {
            Tool::Echo | Tool::WriteNote | Tool::PublishNote => json!({
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
                "additionalProperties": false
            }),
            Tool::AdminReset | Tool::FetchReport | Tool::ConfirmAction => {
                json!({"type": "object", "properties": {}, "additionalProperties": false})
            }
            Tool::OpenCart => json!({
                "type": "object",
                "properties": {"item": {"type": "string"}},
                "additionalProperties": false
            }),
            Tool::CartShow => json!({
                "type": "object",
                "properties": {"cart": {"type": "string"}},
                "required": ["cart"],
                "additionalProperties": false
            }),
        }
    }
}

/// A `tools/call` that named an offered tool.
#[derive(Debug)]
pub(super) struct Call {
    /// The scope the tool needs.
    pub required_scope: String,
    /// Its behavior.
    pub tool: Tool,
    /// The arguments (an empty object when absent).
    pub arguments: Map<String, Value>,
}

/// What running a tool produced.
#[derive(Debug, PartialEq)]
pub(super) enum Ran {
    /// The `CallToolResult`.
    Done(Value),
    /// The downstream API must be called first.
    Downstream,
}

/// The offered tools and their state.
#[derive(Debug)]
pub(super) struct Tools {
    offered: Vec<ToolConfig>,
    notes: Vec<String>,
    side_effects: u64,
    /// The `tools-list-grows-with-calls` defect: the connections a call was run on (at most
    /// [`MAX_CONNECTIONS_SEEN`]); `tools/list` shows `echo` alone on any other.
    called_on: Option<BTreeSet<Connection>>,
}

impl Tools {
    /// The configured tools; `fetch_report` only when a downstream is configured.
    pub(super) fn new(config: &Config) -> Self {
        let offered = config
            .tools
            .iter()
            .filter(|t| t.name != "fetch_report" || config.downstream.is_some())
            .cloned()
            .collect();
        let called_on = config.defects.has(Defect::ToolsListGrowsWithCalls).then(BTreeSet::new);
        Tools { offered, notes: Vec::new(), side_effects: 0, called_on }
    }

    /// Side-effecting runs so far.
    pub(super) fn side_effects(&self) -> u64 {
        self.side_effects
    }

    /// The `tools/list` result for a request on `connection`.
    pub(super) fn list(&self, connection: Option<&Connection>) -> Value {
        let echo_only = match (&self.called_on, connection) {
            (Some(called), Some(c)) => !called.contains(c),
            _ => false,
        };
        let tools: Vec<Value> = self
            .offered
            .iter()
            .filter(|t| !echo_only || t.name == "echo")
            .filter_map(|t| {
                let tool = Tool::named(&t.name)?;
                Some(
                    json!({"name": t.name, "description": t.description, "inputSchema": tool.input_schema()}),
                )
            })
            .collect();
        json!({ "tools": tools })
    }

    /// Reads `tools/call` params; the error is the `-32602` message.
    pub(super) fn call(&self, params: Option<&Value>) -> Result<Call, String> {
        let Some(Value::Object(p)) = params else {
            return Err("tools/call params: expected an object with `name`".into());
        };
        let Some(Value::String(name)) = p.get("name") else {
            return Err("tools/call params: `name` missing, expected a string".into());
        };
        let (config, tool) = self
            .offered
            .iter()
            .find(|t| t.name == *name)
            .and_then(|t| Some((t, Tool::named(&t.name)?)))
            .ok_or_else(|| format!("unknown tool `{name}`"))?;
        let arguments = match p.get("arguments") {
            None => Map::new(),
            Some(Value::Object(a)) => a.clone(),
            Some(_) => return Err("tools/call params: `arguments` must be an object".into()),
        };
        Ok(Call { required_scope: config.required_scope.clone(), tool, arguments })
    }

    /// The scope the offered tool `name` needs, if it is offered.
    pub(super) fn scope_of(&self, name: &str) -> Option<&str> {
        self.offered.iter().find(|t| t.name == name).map(|t| t.required_scope.as_str())
    }

    /// Notes a call run on `connection` (the `tools-list-grows-with-calls` defect).
    pub(super) fn called_on(&mut self, connection: Option<&Connection>) {
        if let (Some(called), Some(c)) = (&mut self.called_on, connection) {
            if called.len() >= MAX_CONNECTIONS_SEEN {
                called.clear();
            }
            called.insert(c.clone());
        }
    }

    /// Runs an authorized call.
    pub(super) fn run(&mut self, tool: Tool, arguments: &Map<String, Value>) -> Ran {
        let text = arguments.get("text").and_then(Value::as_str);
        let accepted: &[&str] = match tool {
            Tool::Echo | Tool::WriteNote | Tool::PublishNote => &["text"],
            Tool::AdminReset | Tool::FetchReport | Tool::ConfirmAction => &[],
            Tool::OpenCart => &["item"],
            Tool::CartShow => &["cart"],
        };
        if let Some(k) = arguments.keys().find(|k| !accepted.contains(&k.as_str())) {
            return Ran::Done(text_result(&format!("unexpected argument `{k}`"), true));
        }
        match (tool, text) {
            (Tool::Echo, Some(t)) => Ran::Done(text_result(t, false)),
            (Tool::WriteNote | Tool::PublishNote, Some(t)) => {
                self.notes.push(t.to_string());
                self.side_effects += 1;
                Ran::Done(text_result(&format!("stored note {}", self.notes.len()), false))
            }
            (Tool::Echo | Tool::WriteNote | Tool::PublishNote, None) => {
                Ran::Done(text_result("argument `text`: missing, expected a string", true))
            }
            (Tool::AdminReset, _) => {
                let n = self.notes.len();
                self.notes.clear();
                self.side_effects += 1;
                Ran::Done(text_result(&format!("deleted {n} notes"), false))
            }
            (Tool::FetchReport, _) => Ran::Downstream,
            // Run once the user confirmed (`request_state`).
            (Tool::ConfirmAction, _) => {
                self.side_effects += 1;
                Ran::Done(text_result("action confirmed and done", false))
            }
            // The server runs them with the caller's principal (`state_handles`).
            (Tool::OpenCart | Tool::CartShow, _) => {
                Ran::Done(text_result("a state handle tool is run by the server, not here", true))
            }
        }
    }
}

/// A `CallToolResult` with one text content item.
pub(super) fn text_result(text: &str, is_error: bool) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": is_error})
}
