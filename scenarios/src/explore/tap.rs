//! The runner's view of the network: an [`Interceptor`] on every channel that records
//! each message with its answer, and carries out what attackers do to messages in
//! flight: intercept an authorization response (keeping the code, handing the client
//! `error=access_denied`), rewrite a parameter of an honest authorization request,
//! withhold an honest code request from the AS (keeping its code and verifier; the client
//! sees a timeout), widen the scope of their own client's token requests, and spell the
//! scope of their upper-case client's authorization requests in upper case.

use super::model::{Server, TamperedParam};
use crate::world::REDIRECT;
use bytes::Bytes;
use mcp_authz_reference::access_token::AccessTokenClaims;
use mcp_authz_reference::jwt;
use mcp_authz_reference::sans_io::{Request, Response, Time};
use mcp_authz_sim::party::Party;
use mcp_authz_sim::sim::{Channel, Interceptor, Message, Verdict, clone_request};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Every scope of the MCP servers: what a tampering attacker asks for.
const EVERY_SCOPE: &str = "mcp:read mcp:write mcp:admin";

/// What ends the party name of an attacker's second own client, whose authorization
/// requests ask for the upper-case spelling of their scopes (`mallory0-upper`).
pub(super) const UPPER_CASE_CLIENT: &str = "-upper";

/// A code request an attacker withheld from the authorization server.
#[derive(Debug, Clone)]
pub(super) struct Withheld {
    /// The form it carried: code, `code_verifier`, `client_id`, `redirect_uri`.
    pub(super) form: BTreeMap<String, String>,
    /// The authorization server it was addressed to.
    pub(super) issuer: String,
    /// When it was sent.
    pub(super) at: Time,
}

/// A message as the tap saw it: the request as delivered and the answer.
pub(super) struct Observed {
    pub(super) from: Party,
    pub(super) to: String,
    pub(super) at: Time,
    pub(super) request: Request,
    pub(super) status: u16,
    pub(super) response_session: Option<String>,
    pub(super) location: Option<String>,
    pub(super) response_body: Bytes,
}

impl Observed {
    pub(super) fn path(&self) -> &str {
        self.request.uri().path()
    }

    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.request.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// The access token the request carried: `Authorization: Bearer`, or `DPoP` (RFC 9449
    /// §7.1).
    pub(super) fn access_token(&self) -> Option<String> {
        let headers = self.request.headers();
        let dpop = mcp_authz_reference::dpop::dpop_token(headers).ok().flatten();
        dpop.or_else(|| mcp_authz_reference::bearer::bearer_token(headers).ok().flatten())
    }

    /// The `DPoP` proof the request carried, when it carried exactly one.
    pub(super) fn dpop_proof(&self) -> Option<String> {
        let mut proofs = self.request.headers().get_all(mcp_authz_reference::dpop::HEADER).iter();
        match (proofs.next(), proofs.next()) {
            (Some(p), None) => p.to_str().ok().map(String::from),
            _ => None,
        }
    }

    pub(super) fn form(&self) -> BTreeMap<String, String> {
        form_of(&self.request)
    }
}

/// The form a request carries (the first value of each field).
fn form_of(request: &Request) -> BTreeMap<String, String> {
    let mut form = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(request.body()) {
        form.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    form
}

/// The network tap shared by the simulator (as interceptor) and the runner.
#[derive(Default)]
pub(super) struct Tap {
    pub(super) log: Vec<Observed>,
    /// Attackers waiting to intercept the next authorization response, in order.
    pub(super) intercepting: Vec<usize>,
    /// Attackers whose own client's token requests ask for every scope.
    pub(super) tampering: BTreeSet<usize>,
    /// Attackers waiting to rewrite a parameter of the next honest authorization
    /// request, in order.
    pub(super) tampering_authorization: Vec<(usize, TamperedParam)>,
    /// Codes intercepted: attacker, code, client id, issuer.
    pub(super) intercepted: Vec<(usize, String, String, String)>,
    /// Attackers waiting to withhold the next honest code request, in order.
    pub(super) withholding: Vec<usize>,
    /// Code requests withheld, by attacker.
    pub(super) withheld: Vec<(usize, Withheld)>,
}

/// The tap as the simulator holds it.
pub(super) struct TapHandle(pub(super) Rc<RefCell<Tap>>);

/// The first value of query parameter `name` of `uri`.
pub(super) fn query_param(uri: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Claims of a JWT, unverified (for attributing tokens, never for trusting them).
pub(super) fn unverified_claims(token: &str) -> Option<AccessTokenClaims> {
    let parts = jwt::split(token).ok()?;
    serde_json::from_slice(&parts.payload).ok()
}

/// `uri` (an authorization request) with `param` rewritten: `resource` to the other of
/// MCP servers A and B, `redirect_uri` one path segment longer.
fn tampered(uri: &str, param: TamperedParam) -> Option<http::Uri> {
    let (name, value) = match param {
        TamperedParam::Resource => {
            let now = query_param(uri, "resource").unwrap_or_default();
            ("resource", if now == Server::B.url() { Server::A.url() } else { Server::B.url() }.to_string())
        }
        TamperedParam::RedirectUri => ("redirect_uri", format!("{REDIRECT}/evil")),
    };
    with_query_param(uri, name, |_| value.clone())
}

/// `uri` with the value of each query parameter `name` replaced by `f` of it.
fn with_query_param(uri: &str, name: &str, f: impl Fn(&str) -> String) -> Option<http::Uri> {
    let mut url = url::Url::parse(uri).ok()?;
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name { f(&v) } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.as_str().parse().ok()
}

impl Interceptor for TapHandle {
    fn on_request(&mut self, msg: &Message, req: &mut Request) -> Verdict {
        let tampering =
            msg.from.index_after("mallory").is_some_and(|a| self.0.borrow().tampering.contains(&a));
        let mut tap = self.0.borrow_mut();
        if msg.channel == Channel::FrontChannel
            && msg.from.is_browser()
            && msg.from.acts_for("honest")
            && req.uri().path() == "/authorize"
            && !tap.tampering_authorization.is_empty()
        {
            let (_, param) = tap.tampering_authorization.remove(0);
            if let Some(uri) = tampered(&req.uri().to_string(), param) {
                *req.uri_mut() = uri;
            }
        }
        if msg.channel == Channel::FrontChannel
            && msg.from.is_browser()
            && msg.from.acts_for("mallory")
            && msg.from.principal().ends_with(UPPER_CASE_CLIENT)
            && req.uri().path() == "/authorize"
            && let Some(uri) = with_query_param(&req.uri().to_string(), "scope", str::to_uppercase)
        {
            *req.uri_mut() = uri;
        }
        if msg.channel == Channel::Token
            && !msg.from.is_browser()
            && msg.from.acts_for("honest")
            && req.uri().path() == "/token"
            && !tap.withholding.is_empty()
        {
            let form = form_of(req);
            if form.get("grant_type").map(String::as_str) == Some("authorization_code") {
                let attacker = tap.withholding.remove(0);
                let withheld = Withheld { form, issuer: msg.to.clone(), at: msg.at };
                tap.withheld.push((attacker, withheld));
                return Verdict::Drop;
            }
        }
        drop(tap);
        if tampering && msg.channel == Channel::Token && req.uri().path() == "/token" {
            let pairs = url::form_urlencoded::parse(req.body()).filter(|(k, _)| k != "scope");
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.extend_pairs(pairs);
            form.append_pair("scope", EVERY_SCOPE);
            *req.body_mut() = Bytes::from(form.finish());
        }
        Verdict::Pass
    }

    fn on_response(&mut self, msg: &Message, req: &Request, resp: &mut Response) {
        let mut tap = self.0.borrow_mut();
        let location = |r: &Response| {
            r.headers().get(http::header::LOCATION).and_then(|v| v.to_str().ok()).map(String::from)
        };
        if msg.channel == Channel::FrontChannel
            && msg.from.is_browser()
            && msg.from.acts_for("honest")
            && !tap.intercepting.is_empty()
            && let Some(loc) = location(resp)
            && let Some(code) = query_param(&loc, "code")
        {
            let attacker = tap.intercepting.remove(0);
            let client_id = query_param(&req.uri().to_string(), "client_id").unwrap_or_default();
            let mut denied = format!("{REDIRECT}?error=access_denied");
            for name in ["state", "iss"] {
                if let Some(v) = query_param(&loc, name) {
                    let v: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                    denied.push_str(&format!("&{name}={v}"));
                }
            }
            if let Ok(v) = http::HeaderValue::from_str(&denied) {
                resp.headers_mut().insert(http::header::LOCATION, v);
            }
            tap.intercepted.push((attacker, code, client_id, msg.to.clone()));
        }
        let observed = Observed {
            from: msg.from.clone(),
            to: msg.to.clone(),
            at: msg.at,
            request: clone_request(req),
            status: resp.status().as_u16(),
            response_session: resp
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .map(String::from),
            location: location(resp),
            response_body: resp.body().clone(),
        };
        tap.log.push(observed);
    }
}
