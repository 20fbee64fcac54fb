//! The MCP side of the client's work (MCP 2026-07-28 §Versioning, §Lifecycle of
//! 2025-11-25): the era of each request, the legacy `initialize` handshake and session,
//! the operation's request and its answer, and the dual-era fallback.

use super::{
    ClientStep, Era, Eras, Operation, Outcome, PublicClient, Stage, Waiting, mcp, param_headers, step_up,
};
use crate::defects::Defect;
use crate::sans_io::{Env, FetchResult, Response};
use crate::{Error, Result};
use mcp::ModernError;
use serde_json::Value;

impl PublicClient {
    /// The era of the next request: the one the server showed, else the first the
    /// client tries.
    pub(super) fn wire(&self) -> Era {
        self.era.unwrap_or(self.config.eras.first())
    }

    pub(super) fn send_mcp(&mut self, env: &mut Env<'_>) -> Result<ClientStep> {
        if let Some(t) = self.current_tokens().filter(|_| !self.budget.fresh_tokens) {
            if t.expires_within(env.now, self.config.refresh_margin) {
                if self.refreshable() {
                    return self.send_refresh(env);
                }
                // No refresh token (the AS need not issue one, MCP 2026-07-28 §Refresh
                // Tokens, CL-57): the next request goes without a token, and its 401
                // starts a new authorization.
                if self.has(Defect::ClientAssumesRefreshToken) {
                    return Err(no_refresh_token("has expired"));
                }
                self.tokens = None;
            }
        }
        // The era of an operation's request: the one the origin showed (MCP 2026-07-28
        // §Backward Compatibility, "Clients SHOULD cache the result"); with defect
        // `client-era-not-cached`, the modern form first, always.
        let era = match self.has(Defect::ClientEraNotCached) {
            true => self.config.eras.first(),
            false => self.wire(),
        };
        if let Some(done) = self.cached_answer(era, env) {
            return Ok(done);
        }
        let id = self.next_id;
        self.next_id += 1;
        let bearer = self.current_tokens().map(|t| t.access_token.as_str());
        let url = &self.config.server_url;
        let session = if self.stage == Stage::Initialize { None } else { self.session.as_ref() };
        let mut request = match self.stage {
            Stage::Initialize => {
                mcp::post(url, &mcp::initialize(id, &self.config.client_name), session, bearer)
            }
            Stage::Initialized => mcp::post(url, &mcp::initialized(), session, bearer),
            Stage::Operation => {
                let op = self.op.as_ref().ok_or_else(|| Error::Config("no operation was started".into()))?;
                match era {
                    Era::Modern => {
                        let params = match op {
                            Operation::CallTool { name, arguments } => match self.tools.get(name) {
                                Some(headers) => param_headers::mirror(headers, arguments)?,
                                None => Vec::new(),
                            },
                            Operation::ListTools => Vec::new(),
                        };
                        mcp::post_stateless(url, id, op, &self.config.client_name, bearer, params)
                    }
                    Era::Legacy => mcp::post(url, &mcp::OperationRequest { id, op }, session, bearer),
                }
            }
        }?;
        let sent_token = bearer.is_some();
        self.present_dpop(&mut request, env)?;
        if self.has(Defect::ClientModernHeadersMissing) {
            request.headers_mut().remove("mcp-method");
            request.headers_mut().remove("mcp-name");
        }
        self.waiting = Waiting::Mcp { id, sent_token };
        Ok(ClientStep::Send(request))
    }

    /// The answer to the operation from the cache, when a fresh result may be served to
    /// its request (a modern one, with the token it would carry; see [`super::caching`]).
    fn cached_answer(&mut self, era: Era, env: &Env<'_>) -> Option<ClientStep> {
        let op = self.op.as_ref().filter(|_| self.stage == Stage::Operation && era == Era::Modern)?;
        let bearer = self.current_tokens().map(|t| t.access_token.as_str());
        let mut result =
            self.cache.get(&self.config.server_url, op, bearer, env.now, &self.config.defects)?;
        self.read_tools(&mut result);
        Some(ClientStep::Done(Outcome { result, authorizations: self.budget.authorizations }))
    }

    pub(super) fn on_mcp_response(
        &mut self,
        fetched: FetchResult,
        id: u64,
        sent_token: bool,
        env: &mut Env<'_>,
    ) -> Result<ClientStep> {
        let r = fetched?;
        if let Some(rejection) = step_up::rejection(&r, &self.config.defects) {
            return self.on_rejection(rejection, sent_token, env);
        }
        let has_session_id = self.session.as_ref().is_some_and(|s| s.id.is_some());
        if r.status() == http::StatusCode::NOT_FOUND
            && self.stage != Stage::Initialize
            && has_session_id
            && !self.budget.session_restarted
        {
            // The session expired (MCP §Session Management): start a new one, once.
            self.budget.session_restarted = true;
            self.session = None;
            self.stage = Stage::Initialize;
            return self.send_mcp(env);
        }
        if self.wire() == Era::Modern && r.status().is_client_error() {
            return self.on_modern_refusal(&r, env);
        }
        if !r.status().is_success() {
            return Err(Error::HttpStatus {
                what: "mcp server",
                received: r.status().as_u16(),
                expected: "2xx",
            });
        }
        match self.stage {
            Stage::Initialize => {
                let result = mcp::read_result(&r, id, "initialize")?;
                self.session = Some(mcp::read_session(&r, &result)?);
                self.stage = Stage::Initialized;
                self.send_mcp(env)
            }
            Stage::Initialized => {
                self.stage = Stage::Operation;
                self.send_mcp(env)
            }
            Stage::Operation => {
                let method = self.op.as_ref().map_or("mcp request", Operation::method);
                let mut result = mcp::read_result(&r, id, method)?;
                if self.wire() == Era::Modern {
                    self.era = Some(Era::Modern);
                    mcp::check_complete(&result, method, &self.config.defects)?;
                    let bearer = self.current_tokens().filter(|_| sent_token).map(|t| t.access_token.clone());
                    if let Some(op) = &self.op {
                        self.cache.put(&self.config.server_url, op, bearer.as_deref(), &result, env.now);
                    }
                    if self.op == Some(Operation::ListTools) {
                        self.read_tools(&mut result);
                    }
                }
                Ok(ClientStep::Done(Outcome { result, authorizations: self.budget.authorizations }))
            }
        }
    }

    /// A 4xx (other than the 401 and 403 of authorization) to a modern request (MCP
    /// 2026-07-28 §Streamable HTTP, Backward Compatibility): a modern JSON-RPC error
    /// shows a modern server — the client sends its version once more if the server
    /// names it as supported, goes legacy if it names only legacy versions and the
    /// client speaks them, else stops; anything else shows a legacy server, and a
    /// dual-era client opens a legacy session.
    pub(super) fn on_modern_refusal(&mut self, r: &Response, env: &mut Env<'_>) -> Result<ClientStep> {
        let status = r.status().as_u16();
        let dual = self.config.eras == Eras::DualEra;
        if dual && self.era.is_none() && self.has(Defect::ClientFallsBackOnAny4xx) {
            return self.go_legacy(env);
        }
        let retry_unbounded = self.has(Defect::ClientVersionRetryUnbounded);
        match mcp::modern_error(r) {
            Some(ModernError::UnsupportedVersion { supported }) => {
                self.era = Some(Era::Modern);
                let retried = self.budget.version_retried && !retry_unbounded;
                if supported.iter().any(|v| v == mcp::STATELESS_VERSION) && !retried {
                    self.budget.version_retried = true;
                    return self.send_mcp(env);
                }
                if dual && supported.iter().any(|v| mcp::SUPPORTED_VERSIONS.contains(&v.as_str())) {
                    return self.go_legacy(env);
                }
                Err(Error::Refused(format!(
                    "the mcp server refused protocol version {} (-32022); it supports {supported:?}, this client \
                     speaks {}",
                    mcp::STATELESS_VERSION,
                    self.spoken_versions()
                )))
            }
            Some(ModernError::Other { code, message }) => {
                self.era = Some(Era::Modern);
                Err(Error::unexpected(
                    "mcp server",
                    format!("HTTP {status} with json-rpc error {code} `{message}`"),
                    "a result to a well-formed 2026-07-28 request",
                ))
            }
            None if dual && self.era.is_none() => self.go_legacy(env),
            None => Err(Error::HttpStatus { what: "mcp server", received: status, expected: "2xx" }),
        }
    }

    /// Falls back to the legacy era for this origin: `initialize` first.
    pub(super) fn go_legacy(&mut self, env: &mut Env<'_>) -> Result<ClientStep> {
        self.era = Some(Era::Legacy);
        self.session = None;
        self.stage = Stage::Initialize;
        self.send_mcp(env)
    }

    /// The protocol versions this client speaks, for messages.
    pub(super) fn spoken_versions(&self) -> String {
        let mut versions = Vec::new();
        if self.config.eras != Eras::LegacyOnly {
            versions.push(mcp::STATELESS_VERSION);
        }
        if self.config.eras != Eras::ModernOnly {
            versions.extend(mcp::SUPPORTED_VERSIONS);
        }
        versions.join(", ")
    }

    /// Reads a modern `tools/list` result: keeps each tool's `x-mcp-header` annotations
    /// for its calls, and removes from `result` every tool whose annotations break the
    /// rules (MCP 2026-07-28: the client MUST exclude it), noting why in
    /// [`PublicClient::rejected_tools`].
    fn read_tools(&mut self, result: &mut Value) {
        let Some(tools) = result.get_mut("tools").and_then(Value::as_array_mut) else { return };
        tools.retain(|tool| {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            let schema = tool.get("inputSchema").unwrap_or(&Value::Null);
            match param_headers::param_headers(schema) {
                Ok(headers) => {
                    self.tools.insert(name, headers);
                    true
                }
                Err(why) => {
                    let note = format!("tool `{name}` left out: {why}");
                    if !self.rejected_tools.contains(&note) {
                        self.rejected_tools.push(note);
                    }
                    false
                }
            }
        });
    }
}

/// The error of defect `client-assumes-refresh-token`: the access token `why` (has expired,
/// was refused with 401) and there is no refresh token to renew it.
pub(super) fn no_refresh_token(why: &str) -> Error {
    Error::Missing(format!(
        "a refresh token: the access token {why} and none was issued to renew it (client-assumes-refresh-token)"
    ))
}
