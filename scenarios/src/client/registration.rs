//! Registration rows of MCP 2026-07-28: the refresh grant in the client's metadata
//! (CL-56), a registration the AS refuses (CL-51), a client ID obtained before the
//! authorization request (CL-49), and pre-registered credentials kept from another
//! authorization server (CL-53).

use super::discovery::{NEW_AS, server_a_moves_to_new_as};
use super::hostile::{authorizations, challenged, echo, prm_url, registrations, seen};
use crate::world::{MCP, MCP_ORIGIN, REDIRECT, World, clone_response};
use bytes::Bytes;
use http::{StatusCode, header};
use mcp_authz_reference::authorization_server::RegisteredClient;
use mcp_authz_reference::client::PreRegistered;
use mcp_authz_reference::oauth_error::ErrorCode;
use mcp_authz_reference::sans_io::Request;
use mcp_authz_reference::wire;
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

/// Most registration requests a refused client may send: the refused one, and a retry
/// for each adjustment the sentence names (`application_type`, redirect URIs).
const MAX_REGISTRATIONS: usize = 3;

/// CL-51 (MCP 2026-07-28 §Application Type and Redirect URI Constraints): "MCP clients
/// MUST be prepared to handle registration failures due to redirect URI constraints";
/// they "SHOULD surface a meaningful error" and "MAY retry registration with an adjusted
/// `application_type` or with redirect URIs that conform". The AS answers every dynamic
/// registration with 400 `invalid_redirect_uri` (RFC 7591 §3.2.2). The client must not
/// loop: no registration may repeat an earlier one unchanged (the AS refused exactly
/// that; a retry the MAY allows is adjusted), and there are at most
/// [`MAX_REGISTRATIONS`]. Whether it then stops or finds a client ID another way is its
/// own; what it shows the user (the SHOULD) is not judged, nor how long it takes (a
/// client process that hangs is the run's timeout's).
pub(super) fn registration_failure_handled(w: &mut World) -> Check {
    w.note("the AS refuses every dynamic registration: 400 invalid_redirect_uri");
    let refusal = wire::oauth_error(
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidRedirectUri,
        "the redirect URIs do not fit the application_type (OpenID Connect Registration §2)",
    );
    let log = w.tap(
        &[Channel::Token],
        move |_, req| {
            if req.method() == "POST" && req.uri().path().ends_with("/register") {
                Verdict::Respond(clone_response(&refusal))
            } else {
                Verdict::Pass
            }
        },
        |_, _, _| {},
    );
    let mut client = w.public_client(MCP);
    let outcome = w.run_client("victim", &mut client, echo());
    let bodies = registrations(&log);
    if bodies.is_empty() {
        return Check::NotApplicable("the client did not register dynamically".into());
    }
    let given = "every dynamic registration refused with 400 invalid_redirect_uri";
    let repeated = (1..bodies.len()).find(|&i| bodies[..i].contains(&bodies[i]));
    if let Some(i) = repeated {
        return Check::Violated(Violation::about(
            given,
            "no registration repeated unchanged (a retry may adjust application_type or redirect_uris)",
            format!("{} registrations; number {} repeats an earlier one: {}", bodies.len(), i + 1, bodies[i]),
        ));
    }
    let ended = match &outcome {
        Ok(_) => "finished".to_string(),
        Err(e) => format!("stopped: {e}"),
    };
    Check::expect(bodies.len() <= MAX_REGISTRATIONS, || {
        Violation::about(
            given,
            format!("at most {MAX_REGISTRATIONS} registration requests"),
            format!("{} (the client then {ended})", bodies.len()),
        )
    })
}

/// True when `id` is a client ID metadata document URL (CL-12's form): `https`, with a
/// path. Whether a document is behind it is CL-12/13's business.
fn metadata_document_url(id: &str) -> bool {
    url::Url::parse(id).is_ok_and(|u| u.scheme() == "https" && u.path() != "/" && !u.path().is_empty())
}

/// CL-49 (MCP 2026-07-28 §Client Registration): "Before initiating the authorization
/// flow, MCP clients MUST obtain a client ID through one of three registration
/// mechanisms: Client ID Metadata Documents, pre-registration, or Dynamic Client
/// Registration". Every `client_id` of an authorization request must be one the AS's
/// registration endpoint issued the client before, or a client ID metadata document URL.
/// Pre-registration does not apply: the harness's AS has no client registered for the
/// client under test (an id a process was configured with was issued elsewhere, if
/// anywhere).
pub(super) fn client_id_obtained(w: &mut World) -> Check {
    let issued: Rc<RefCell<Vec<String>>> = Rc::default();
    let unobtained: Rc<RefCell<Vec<String>>> = Rc::default();
    let (known, bad) = (issued.clone(), unobtained.clone());
    let keep = issued.clone();
    let log = w.tap(
        &[Channel::FrontChannel, Channel::Token],
        move |msg, req| {
            if msg.channel == Channel::FrontChannel && req.uri().path().ends_with("/authorize") {
                let query = req.uri().query().unwrap_or("");
                let id = url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "client_id");
                match id.map(|(_, v)| v.into_owned()) {
                    Some(id) if known.borrow().contains(&id) || metadata_document_url(&id) => {}
                    Some(id) => bad.borrow_mut().push(format!("client_id {id:?}")),
                    None => bad.borrow_mut().push("no client_id".into()),
                }
            }
            Verdict::Pass
        },
        move |msg, req, resp| {
            let registration = msg.channel == Channel::Token && req.uri().path().ends_with("/register");
            if registration && resp.status().is_success() {
                let info = serde_json::from_slice::<Value>(resp.body()).unwrap_or(Value::Null);
                keep.borrow_mut().extend(info["client_id"].as_str().map(String::from));
            }
        },
    );
    let mut client = w.public_client(MCP);
    let outcome = w.run_client("victim", &mut client, echo());
    let unobtained = unobtained.borrow();
    if let Some(id) = unobtained.first() {
        return Check::Violated(Violation::about(
            format!("client ids issued by the registration endpoint: {:?}", issued.borrow()),
            "a client_id obtained before authorizing: issued by dynamic registration, pre-registered, or a \
             client ID metadata document URL",
            format!("an authorization request with {id}"),
        ));
    }
    match outcome {
        _ if !authorizations(&log).is_empty() => Check::Holds,
        Ok(_) => Check::Undecided("the client never authorized".into()),
        Err(e) => Check::Undecided(format!("the client never authorized: {e}")),
    }
}

/// The client id and secret registered for the client out of band in CL-REG-08.
const PRE_REGISTERED: (&str, &str) = ("pre-registered-app", "pre-registered-secret-7c1e");

/// CL-53 (MCP 2026-07-28 §Authorization Server Binding): "Pre-registered credentials are
/// inherently specific to a particular authorization server. If the authorization server
/// indicated by protected resource metadata no longer matches the one the credentials
/// were registered with, clients **SHOULD** surface an error rather than silently
/// attempting to use mismatched credentials." The client is given a client id and secret
/// registered at the trusted AS; server A's metadata then names only another AS
/// ([`server_a_moves_to_new_as`]). No request to that AS may carry the id or the secret.
/// Two variants, each a new client: the credentials name their issuer (the client knows
/// where they belong before it meets another AS), and they do not, but the client has
/// used them with the trusted AS first. What the client does instead is not graded: the
/// reference client stops with an error naming both issuers; re-registering is the
/// MUST of CL-52 for credentials from dynamic registration and "cannot apply" to these
/// (revision ambiguity 6), and what the user is shown is not seen. A client process
/// cannot be given pre-registered credentials by the harness (`Need::PreRegistration`).
pub(super) fn pre_registered_credentials_stay_home(w: &mut World) -> Check {
    let (id, secret) = PRE_REGISTERED;
    let app = RegisteredClient {
        client_id: id.into(),
        client_secret: Some(secret.into()),
        redirect_uris: vec![REDIRECT.into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        token_endpoint_auth_method: "client_secret_basic".into(),
        scopes: ["mcp:read", "mcp:write", "mcp:admin"].map(String::from).to_vec(),
        jwks: None,
        client_name: Some("pre-registered client".into()),
        ..RegisteredClient::default()
    };
    if let Err(skip) = w.register_directly(app) {
        return Check::NotApplicable(skip.0);
    }
    let issuer = w.issuer.clone();
    for (variant, bound) in
        [("naming their issuer", Some(issuer.clone())), ("used at the trusted AS first", None)]
    {
        let credentials =
            PreRegistered { client_id: id.into(), client_secret: Some(secret.into()), issuer: bound };
        let first_use = credentials.issuer.is_none();
        let client = w.public_client_with(MCP, |c| c.pre_registered = Some(credentials));
        let mut client = match client {
            Ok(c) => c,
            Err(e) => return Check::Undecided(format!("the client refuses pre-registered credentials: {e}")),
        };
        w.note(&format!("a client with credentials pre-registered at {issuer}, {variant}"));
        if first_use {
            let _ = w.record(&[]);
            if let Err(e) = w.run_client("victim", &mut client, echo()) {
                return Check::Undecided(format!(
                    "the client could not use its credentials at {issuer}: {e}"
                ));
            }
        }
        let received = server_a_moves_to_new_as(w);
        let outcome = w.run_client("victim", &mut client, echo());
        let received = received.borrow();
        if let Some(carrying) = received.iter().find(|r| r.contains(id) || r.contains(secret)) {
            let shown: String = carrying.split(' ').take(2).collect::<Vec<_>>().join(" ");
            return Check::Violated(Violation::about(
                format!(
                    "client id {id} pre-registered at {issuer} ({variant}); server A's metadata names {NEW_AS}"
                ),
                format!("neither the id nor the secret sent to {NEW_AS} (an error instead)"),
                format!("{shown} carrying them"),
            ));
        }
        let ended = match outcome {
            Ok(_) => "finished without them".to_string(),
            Err(e) => format!("stopped: {e}"),
        };
        w.note(&format!("{variant}: the client {ended}"));
    }
    Check::Holds
}
