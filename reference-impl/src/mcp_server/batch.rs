//! The `batch-skips-scope-check` defect: JSON-RPC batches, which MCP 2025-06-18 removed
//! and the correct server refuses, run with the scope of their first call checked only.

use super::McpServer;
use super::scopes::{self, INSUFFICIENT_SCOPE};
use super::session::Principal;
use super::tools::{self, Ran};
use super::transport;
use super::{MODERN_PROTOCOL_VERSION, PROTOCOL_VERSION};
use crate::access_token::AccessTokenClaims;
use crate::jsonrpc::{self, INVALID_PARAMS, Message};
use crate::sans_io::{Request, Response, Time};
use crate::wire;
use http::StatusCode;

impl McpServer {
    /// The `batch-skips-scope-check` defect: runs the `tools/call`s of a batch, checking
    /// the scope of the first one only (a tool that fetches is not run in a batch); in a
    /// session, or with no session at all when the request names 2026-07-28.
    pub(super) fn batch(
        &mut self,
        request: &Request,
        items: Vec<Result<Message, jsonrpc::Response>>,
        claims: &AccessTokenClaims,
        now: Time,
    ) -> Response {
        let modern = request.headers().get(PROTOCOL_VERSION).is_some_and(|v| v == MODERN_PROTOCOL_VERSION);
        match transport::session_id(request) {
            _ if modern => {}
            Ok(id) if self.sessions.resume(id, &Principal::of(claims), now).is_some() => {}
            Ok(_) => return transport::session_not_found(),
            Err(detail) => return transport::bad_session_id(&detail),
        }
        let mut first = true;
        let mut answers = Vec::new();
        for item in items {
            let r = match item {
                Ok(Message::Request(r)) => r,
                Ok(_) => continue,
                Err(invalid) => {
                    answers.push(invalid);
                    continue;
                }
            };
            if r.method != "tools/call" {
                let e = "only tools/call is run in a batch";
                answers.push(jsonrpc::Response::error(Some(r.id), jsonrpc::METHOD_NOT_FOUND, e));
                continue;
            }
            let call = match self.tools.call(r.params.as_ref()) {
                Ok(call) => call,
                Err(e) => {
                    answers.push(jsonrpc::Response::error(Some(r.id), INVALID_PARAMS, e));
                    continue;
                }
            };
            if std::mem::take(&mut first) && !scopes::grants(&self.config, claims, &call.required_scope) {
                answers.push(jsonrpc::Response::error(Some(r.id), INSUFFICIENT_SCOPE, "insufficient scope"));
                continue;
            }
            let result = match self.tools.run(call.tool, &call.arguments) {
                Ran::Done(result) => result,
                Ran::Downstream => tools::text_result("fetch_report is not run in a batch", true),
            };
            answers.push(jsonrpc::Response::result(r.id, result));
        }
        wire::json(StatusCode::OK, &answers)
    }
}
