//! Registration rows of MCP 2026-07-28: the refresh grant in the client's metadata
//! (CL-56).

use super::hostile::{challenged, echo, prm_url, seen};
use crate::world::{MCP, MCP_ORIGIN, World};
use bytes::Bytes;
use http::{StatusCode, header};
use mcp_authz_reference::sans_io::Request;
use mcp_authz_sim::scenario::{Check, Violation};
use mcp_authz_sim::sim::{Channel, Verdict};
use serde_json::{Value, json};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// True when the registration body `b` lists `refresh_token` in `grant_types`.
fn lists_refresh_grant(b: &Value) -> bool {
    b["grant_types"].as_array().is_some_and(|g| g.iter().any(|g| g == "refresh_token"))
}

/// The `grant_types` of a registration body, as a verdict shows it.
fn grant_types_shown(b: &Value) -> String {
    match b.get("grant_types") {
        Some(g) => format!("grant_types {g}"),
        None => "no grant_types (RFC 7591 §2: the default is [\"authorization_code\"])".into(),
    }
}

/// `req`'s JSON body with `refresh_token` added to its `grant_types` (which default to
/// `["authorization_code"]`, RFC 7591 §2).
fn with_refresh_grant(req: &mut Request) {
    let Ok(mut body) = serde_json::from_slice::<Value>(req.body()) else { return };
    let mut grants =
        body["grant_types"].as_array().cloned().unwrap_or_else(|| vec![json!("authorization_code")]);
    grants.push(json!("refresh_token"));
    body["grant_types"] = Value::Array(grants);
    *req.body_mut() = Bytes::from(body.to_string());
    req.headers_mut().remove(header::CONTENT_LENGTH);
}

/// CL-56 (MCP 2026-07-28 §Refresh Tokens): "MCP Clients that desire refresh tokens ...
/// SHOULD include `refresh_token` in their `grant_types` client metadata". A dynamic
/// registration listing it passes. One that does not (no `grant_types` at all means RFC
/// 7591's default, `["authorization_code"]`) is judged only if the client shows it
/// desires refresh tokens: the adversary adds the grant on the wire, so that the AS
/// (which issues refresh tokens only for it) issues one, as many an AS does whatever the
/// client registered; then server A refuses the client's first token once with 401
/// `invalid_token`, as if it had expired early. A client that answers with a refresh
/// request desires refresh tokens, and should have registered the grant; one that
/// re-authorizes instead is not judged (the sentence is for clients that desire them).
///
/// Not graded: the MAY of the same list, `offline_access` in the scope when the AS's
/// `scopes_supported` lists it — a client that never asks for it is right. Client ID
/// metadata documents carry `grant_types` too, but a process's document is served by the
/// harness, not written by the client: only dynamic registrations are read, and a client
/// that does not register dynamically is not judged.
pub(super) fn refresh_grant_registered(w: &mut World) -> Check {
    let bodies: Rc<RefCell<Vec<Value>>> = Rc::default();
    let lacking = Rc::new(Cell::new(false));
    let refused_once = Rc::new(Cell::new(false));
    let (keep, lacks, refused) = (bodies.clone(), lacking.clone(), refused_once.clone());
    let challenge = format!(r#"Bearer error="invalid_token", resource_metadata="{}""#, prm_url(MCP_ORIGIN));
    let log = w.tap(
        &[Channel::Token, Channel::Resource],
        move |msg, req| {
            let registration = req.method() == "POST" && req.uri().path().ends_with("/register");
            if msg.channel == Channel::Token && registration {
                let body = serde_json::from_slice::<Value>(req.body()).unwrap_or(Value::Null);
                if !lists_refresh_grant(&body) {
                    lacks.set(true);
                    with_refresh_grant(req);
                }
                keep.borrow_mut().push(body);
            }
            let bearer = req.headers().contains_key(header::AUTHORIZATION);
            if msg.channel == Channel::Resource && bearer && lacks.get() && !refused.get() {
                refused.set(true);
                return Verdict::Respond(challenged(StatusCode::UNAUTHORIZED, &[&challenge]));
            }
            Verdict::Pass
        },
        |_, _, _| {},
    );
    let mut client = w.public_client(MCP);
    let _ = w.run_client("victim", &mut client, echo());
    let bodies = bodies.borrow();
    if bodies.is_empty() {
        return Check::NotApplicable("the client did not register dynamically".into());
    }
    let Some(lacking) = bodies.iter().find(|b| !lists_refresh_grant(b)) else {
        return Check::Holds;
    };
    let refreshed = !seen(&log, |s| s.param("grant_type").as_deref() == Some("refresh_token")).is_empty();
    if !refreshed {
        return Check::NotApplicable(format!(
            "the client registered {} and, holding a refresh token when server A refused its access \
             token, did not refresh: no sign it desires refresh tokens, which the SHOULD is for",
            grant_types_shown(lacking)
        ));
    }
    Check::Violated(Violation::about(
        format!(
            "a dynamic registration with redirect_uris {}; the client refreshed when it held a refresh token",
            lacking["redirect_uris"]
        ),
        "grant_types listing \"refresh_token\"",
        grant_types_shown(lacking),
    ))
}
