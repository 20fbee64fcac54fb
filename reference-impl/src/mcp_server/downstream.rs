//! Calling a downstream API without token passthrough (MCP authorization §Access Token
//! Privilege Restriction; security best practices §Token Passthrough).
//!
//! The `fetch_report` tool never forwards the caller's token. The server gets its own
//! token from the AS with the client credentials grant (`client_secret_basic`,
//! `resource=<downstream resource>`, RFC 8707), caches it until it expires, and calls
//! `GET <downstream resource>/report` with it.
//!
//! The downstream API itself is served by the same [`McpServer`](super::McpServer) (at
//! `<downstream resource path>/report`): it records every `Authorization` value it
//! receives (the RS-18 evidence) and accepts only tokens whose audience is the downstream
//! resource, so a caller's token (audience: the MCP server) is refused there too.

use super::config::Downstream;
use super::session::Principal;
use crate::sans_io::{FetchResult, Request, Response, Time};
use crate::wire;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// A cached token is not used in its last seconds, so it does not expire in flight.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// The server's own client for the downstream API, and the API's record of what it saw.
#[derive(Debug)]
pub(super) struct DownstreamClient {
    config: Downstream,
    token: Option<(String, Time)>,
    seen: Vec<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
}

/// The next fetch the `fetch_report` tool needs.
#[derive(Debug)]
pub(super) enum Next {
    /// A token from the AS (nothing cached).
    Token(Request),
    /// The report, with the cached token.
    Report(Request),
}

impl DownstreamClient {
    /// A client with no token yet.
    pub(super) fn new(config: Downstream) -> Self {
        DownstreamClient { config, token: None, seen: Vec::new() }
    }

    /// The `Authorization` values the downstream API received.
    pub(super) fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Records the `Authorization` headers of a request to the downstream API.
    pub(super) fn record(&mut self, req: &Request) {
        for v in req.headers().get_all(header::AUTHORIZATION) {
            self.seen.push(String::from_utf8_lossy(v.as_bytes()).into_owned());
        }
    }

    /// Starts `fetch_report`: the report request when a token is cached, else the token
    /// request.
    pub(super) fn start(&self, now: Time) -> Result<Next, String> {
        match &self.token {
            Some((token, expires)) if now.plus(EXPIRY_MARGIN) < *expires => {
                self.report_request(token).map(Next::Report)
            }
            _ => self.token_request().map(Next::Token),
        }
    }

    fn token_request(&self) -> Result<Request, String> {
        let d = &self.config;
        let form =
            wire::encode_pairs([("grant_type", "client_credentials"), ("resource", d.resource.as_str())]);
        let mut r = wire::post_form_request(&d.token_endpoint, &form).map_err(|e| e.to_string())?;
        let basic = HeaderValue::from_str(&super::client_secret_basic(&d.client_id, &d.client_secret))
            .map_err(|e| format!("client credentials do not fit a header: {e}"))?;
        r.headers_mut().insert(header::AUTHORIZATION, basic);
        Ok(r)
    }

    /// The report request, with `token`.
    pub(super) fn report_request(&self, token: &str) -> Result<Request, String> {
        let url = format!("{}/report", self.config.resource.trim_end_matches('/'));
        let mut r = wire::get_json_request(&url).map_err(|e| e.to_string())?;
        let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "the token endpoint issued a token that does not fit a header".to_string())?;
        r.headers_mut().insert(header::AUTHORIZATION, bearer);
        Ok(r)
    }

    /// Reads the token response, caches the token, and returns the report request.
    pub(super) fn token_fetched(&mut self, fetched: FetchResult, now: Time) -> Result<Request, String> {
        let r = fetched.map_err(|e| format!("token request to `{}` failed: {}", e.url, e.reason))?;
        if r.status() != StatusCode::OK {
            return Err(wire::error_from_response("token endpoint", &r).to_string());
        }
        let t: TokenResponse = wire::parse_json("token response", r.body()).map_err(|e| e.to_string())?;
        if !t.token_type.eq_ignore_ascii_case("bearer") {
            return Err(format!("token_type: received `{}`, expected `Bearer`", t.token_type));
        }
        let request = self.report_request(&t.access_token)?;
        if let Some(secs) = t.expires_in {
            self.token = Some((t.access_token, now.plus(Duration::from_secs(secs))));
        }
        Ok(request)
    }

    /// Reads the report response: its body text on 200. A 401 drops the cached token.
    pub(super) fn report_fetched(&mut self, fetched: FetchResult) -> Result<String, String> {
        let r = fetched.map_err(|e| format!("downstream request to `{}` failed: {}", e.url, e.reason))?;
        if r.status() == StatusCode::UNAUTHORIZED {
            self.token = None;
        }
        if r.status() != StatusCode::OK {
            return Err(format!("downstream api answered http {}, expected 200", r.status().as_u16()));
        }
        String::from_utf8(r.body().to_vec()).map_err(|_| "downstream report is not utf-8".to_string())
    }
}

/// The downstream API's answer to an authorized `GET .../report`.
pub(super) fn report(principal: &Principal) -> Response {
    let body = json!({
        "report": "quarterly figures: 42",
        "requested_by": {"sub": principal.sub, "client_id": principal.client_id},
    });
    let mut r = wire::json(StatusCode::OK, &body);
    wire::no_store(&mut r);
    r
}

/// The downstream API's answer to anything but `GET`.
pub(super) fn method_not_allowed() -> Response {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
    r
}
