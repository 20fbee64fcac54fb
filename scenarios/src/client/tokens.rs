//! Where tokens go, and step-up: a token only to its own server, re-authorization with
//! the challenged scope (and, MCP 2026-07-28, the scopes asked for before), and a bound
//! on it; and an AS that issues no refresh token.

use super::hostile::{EVIL_MCP, authorizations, challenged, code_redemptions, echo, prm_of, prm_url};
use crate::world::{AS, EVIL, Log, MCP, MCP_ORIGIN, Route, World, fixed, union_scopes};
use bytes::Bytes;
use http::{StatusCode, header};
use mcp_authz_reference::bearer;
use mcp_authz_reference::protected_resource_metadata::{WELL_KNOWN, well_known_urls};
use mcp_authz_reference::wire;
use mcp_authz_sim::scenario::{Check, Violation};
use mcp_authz_sim::sim::{Channel, Verdict};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

/// CL-25: after using server A, the client (a process: run again, its state kept) is
/// pointed at a hostile server, which must not receive A's token. Every request is
/// watched too: a token must travel only in the `Authorization` header, and only to the
/// server it was asked for (what the harness sees of a client process's traffic).
pub(super) fn token_only_to_its_server(w: &mut World) -> Check {
    let mut client = match w.connected_client("victim") {
        Ok(c) => c,
        Err(e) => return Check::Undecided(format!("the client could not use server A: {e}")),
    };
    // The reference client shows the token it holds; a process keeps its own.
    let token = client.tokens().map(|t| t.access_token.clone());
    let authorizations_seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let record = authorizations_seen.clone();
    let challenge = format!(r#"Bearer resource_metadata="{}", scope="mcp:read""#, prm_url(EVIL));
    let mcp: Route = Box::new(move |req| {
        if let Some(v) = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            record.borrow_mut().push(v.to_string());
        }
        challenged(StatusCode::UNAUTHORIZED, &[&challenge])
    });
    let prm = fixed(wire::json(StatusCode::OK, &prm_of(EVIL_MCP, AS)));
    w.fake_host(EVIL, vec![("/mcp".into(), mcp), (format!("{WELL_KNOWN}/mcp"), prm)]);
    w.note(&format!("the client is pointed at {EVIL_MCP}"));
    if let Err(e) = client.connect(EVIL_MCP) {
        return Check::Undecided(format!("the client refuses to connect to {EVIL_MCP}: {e}"));
    }
    let _ = w.run_client("victim", &mut client, echo());
    let leaked = token.is_some_and(|t| authorizations_seen.borrow().iter().any(|a| a.contains(&t)));
    if leaked {
        return Check::Violated(Violation::about(
            format!("the requests to {EVIL_MCP}"),
            format!("no Authorization header carrying the token issued for {MCP}"),
            "one carrying it",
        ));
    }
    let leaks = w.client_observations().token_leaks;
    Check::expect(leaks.is_empty(), || {
        Violation::new("each token only in the Authorization header to its own server", format!("{leaks:?}"))
    })
}

/// Has the adversary, in server A's place, answer every `tools/…` request whose token
/// lacks `mcp:write` (by the scope the AS's token response gave it) with 403
/// insufficient_scope naming `challenge_scope`. Returns the log of the front channel,
/// resource and token requests, and whether it ever answered so.
fn forbid_tools_without_write(w: &mut World, challenge_scope: &str) -> (Log, Rc<Cell<bool>>, Rc<Cell<bool>>) {
    let challenge = format!(
        r#"Bearer error="insufficient_scope", scope="{challenge_scope}", resource_metadata="{}""#,
        prm_url(MCP_ORIGIN)
    );
    let challenged_once = Rc::new(Cell::new(false));
    let flag = challenged_once.clone();
    // Whether the AS refused an authorization with `invalid_scope` (a policy of the AS;
    // the harness's takes a registered scope as a hint, but may still refuse a scope its
    // resource does not know).
    let scope_refused = Rc::new(Cell::new(false));
    let refused = scope_refused.clone();
    // The scope of each token the AS issued, read from its token responses.
    let scopes: Rc<RefCell<Vec<(String, String)>>> = Rc::default();
    let issued = scopes.clone();
    let log = w.tap(
        &[Channel::FrontChannel, Channel::Resource, Channel::Token],
        move |msg, req| {
            let tools = String::from_utf8_lossy(req.body()).contains("\"tools/");
            let token = bearer::bearer_token(req.headers()).ok().flatten().unwrap_or_default();
            let lacks_write = scopes
                .borrow()
                .iter()
                .any(|(t, scope)| *t == token && !scope.split(' ').any(|s| s == "mcp:write"));
            if msg.channel == Channel::Resource && tools && lacks_write {
                flag.set(true);
                Verdict::Respond(challenged(StatusCode::FORBIDDEN, &[&challenge]))
            } else {
                Verdict::Pass
            }
        },
        move |msg, _, resp| {
            let location = resp.headers().get(http::header::LOCATION).and_then(|l| l.to_str().ok());
            if msg.channel == Channel::FrontChannel
                && location.is_some_and(|l| l.contains("error=invalid_scope"))
            {
                refused.set(true);
            }
            if msg.channel == Channel::Token && resp.status() == StatusCode::OK {
                if let Ok(v) = serde_json::from_slice::<Value>(resp.body()) {
                    if let (Some(t), Some(scope)) = (v["access_token"].as_str(), v["scope"].as_str()) {
                        issued.borrow_mut().push((t.to_string(), scope.to_string()));
                    }
                }
            }
        },
    );
    (log, challenged_once, scope_refused)
}

/// CL-26: server A answers every `tools/…` request whose token lacks `mcp:write` with 403
/// insufficient_scope naming `mcp:read mcp:write`; the client re-authorizes with the
/// challenged scope and finishes (2025-11-25 §Step-Up Authorization Flow: clients
/// "SHOULD respond to these errors by requesting a new access token with an increased set
/// of scopes via a step-up authorization flow or handle the errors in other, appropriate
/// ways").
pub(super) fn step_up_with_challenged_scope(w: &mut World) -> Check {
    let run = match step_up_run(w) {
        Ok(run) => run,
        Err(check) => return check,
    };
    let widened = run.step_up_scope().is_some_and(|s| s.split(' ').any(|s| s == "mcp:write"));
    Check::expect(widened && run.finished, || {
        Violation::about(
            "403 insufficient_scope scope=\"mcp:read mcp:write\"",
            "a second authorization asking for mcp:write and the client to finish",
            format!("authorization scopes {:?}, outcome {}", run.scopes, run.outcome),
        )
    })
}

/// CL-06: a step-up authorization asks for the scope the challenge names (2025-11-25
/// §Scope Challenge Handling: the challenged scopes are authoritative — "MUST treat the
/// scopes provided in the challenge as authoritative for satisfying the current
/// request"). A client that does not step up is CL-STEP-01's finding.
pub(super) fn step_up_asks_for_the_challenged_scope(w: &mut World) -> Check {
    let run = match step_up_run(w) {
        Ok(run) => run,
        Err(check) => return check,
    };
    match run.step_up_scope() {
        None if run.scopes.len() < 2 => {
            Check::NotApplicable("the client did not step up (CL-STEP-01 judges that)".into())
        }
        Some(scope) if scope.split(' ').any(|s| s == "mcp:write") => Check::Holds,
        scope => Check::Violated(Violation::about(
            "the step-up authorization after 403 insufficient_scope scope=\"mcp:read mcp:write\"",
            "scope including mcp:write (the challenged scopes are authoritative)",
            format!("scope {scope:?}"),
        )),
    }
}

/// What an honest client did when server A answered its tools requests without
/// `mcp:write` with 403 insufficient_scope naming `mcp:read mcp:write`.
struct StepUpRun {
    /// The `scope` of each authorization request, in order.
    scopes: Vec<Option<String>>,
    /// It finished, or asked for the challenged scope and the AS refused it
    /// (`invalid_scope`: the AS's policy, not the client's fault).
    finished: bool,
    /// How the run ended, for messages.
    outcome: String,
}

impl StepUpRun {
    /// The scope of the second authorization: the step-up's.
    fn step_up_scope(&self) -> Option<&str> {
        self.scopes.get(1).and_then(Option::as_deref)
    }
}

fn step_up_run(w: &mut World) -> Result<StepUpRun, Check> {
    w.note("server A answers every tools request whose token lacks mcp:write: 403 insufficient_scope");
    let (log, challenged_once, scope_refused) = forbid_tools_without_write(w, "mcp:read mcp:write");
    let mut client = w.public_client(MCP);
    let outcome = w.run_client("victim", &mut client, echo());
    if !challenged_once.get() {
        return Err(Check::Undecided("the client sent no tools/list or tools/call with a token".into()));
    }
    let scopes = authorizations(&log).iter().map(|s| s.param("scope")).collect();
    let finished = outcome.is_ok() || scope_refused.get();
    let outcome = match outcome {
        Ok(_) => "ok".to_string(),
        Err(e) => format!("error: {e}"),
    };
    Ok(StepUpRun { scopes, finished, outcome })
}

/// CL-55/26 (MCP 2026-07-28): server A's 403 names only the scope the operation lacks,
/// `mcp:write`, as the 2026 text allows ("not required to include the client's
/// previously granted scopes"). The step-up must ask for the union: every scope of the
/// first authorization, and `mcp:write`. (The first authorization's scope is what the
/// client requested and, here, what it was granted: the requested/granted ambiguity of
/// the revision is not graded.)
pub(super) fn step_up_keeps_earlier_scopes(w: &mut World) -> Check {
    w.note("server A answers every tools request whose token lacks mcp:write: 403 naming mcp:write only");
    let (log, challenged_once, _) = forbid_tools_without_write(w, "mcp:write");
    let mut client = w.public_client(MCP);
    let _ = w.run_client("victim", &mut client, echo());
    if !challenged_once.get() {
        return Check::Undecided("the client sent no tools/list or tools/call with a token".into());
    }
    let scopes: Vec<String> =
        authorizations(&log).iter().map(|s| s.param("scope").unwrap_or_default()).collect();
    let [first, second, ..] = &scopes[..] else {
        return Check::Violated(Violation::about(
            "403 insufficient_scope scope=\"mcp:write\"",
            "a step-up authorization asking for the earlier scopes and mcp:write",
            format!("no second authorization (scopes {scopes:?})"),
        ));
    };
    let wanted = union_scopes(&[first, "mcp:write"]);
    let missing: Vec<&str> = wanted.split(' ').filter(|s| !second.split(' ').any(|t| t == *s)).collect();
    Check::expect(missing.is_empty(), || {
        Violation::about(
            format!("first authorization for \"{first}\", then 403 insufficient_scope scope=\"mcp:write\""),
            format!("a step-up asking for the union \"{wanted}\""),
            format!("scope \"{second}\" (missing {missing:?})"),
        )
    })
}

/// CL-27: every `tools/call` is answered 403 insufficient_scope; the suite allows 3
/// authorizations.
pub(super) fn step_up_bounded(w: &mut World) -> Check {
    let mut client = match w.connected_client("victim") {
        Ok(c) => c,
        Err(e) => return Check::Undecided(format!("the client could not use server A: {e}")),
    };
    let prm = well_known_urls(MCP).ok().and_then(|u| u.into_iter().next()).unwrap_or_default();
    let challenge =
        format!(r#"Bearer error="insufficient_scope", scope="mcp:admin", resource_metadata="{prm}""#);
    w.note("the adversary answers every tools/list and tools/call with 403 insufficient_scope");
    let log = w.tap(
        &[Channel::Resource, Channel::FrontChannel],
        move |msg, req| {
            let call =
                msg.channel == Channel::Resource && String::from_utf8_lossy(req.body()).contains("\"tools/");
            if call {
                Verdict::Respond(challenged(StatusCode::FORBIDDEN, &[&challenge]))
            } else {
                Verdict::Pass
            }
        },
        |_, _, _| {},
    );
    let _ = w.run_client("victim", &mut client, echo());
    let n = authorizations(&log).len();
    Check::expect(n <= 3, || {
        Violation::about("a server that always answers 403", "at most 3 authorizations", n.to_string())
    })
}

/// CL-57 (MCP 2026-07-28 §Refresh Tokens): MCP clients "MUST NOT assume refresh tokens
/// will be issued; the AS retains discretion". The AS issues none (the adversary drops
/// `refresh_token` from its token responses, the only change to them); the client calls
/// a tool, the access token's lifetime passes, and the same client calls again. That call
/// must succeed, by a new authorization: without a refresh token there is no other way.
/// (A client that keeps no tokens between runs authorizes afresh, which is right too.) A
/// client that loops is stopped — the driver gives up after 200 steps, a process is
/// killed at the run's timeout — and fails like one that stops with an error.
pub(super) fn no_refresh_token_reauthorizes(w: &mut World) -> Check {
    let lifetime = Rc::new(Cell::new(0u64));
    let longest = lifetime.clone();
    w.note("the AS issues no refresh tokens: the adversary drops refresh_token from its token responses");
    let log = w.tap(
        &[Channel::Token],
        |_, _| Verdict::Pass,
        move |_, req, resp| {
            if !req.uri().path().ends_with("/token") || !resp.status().is_success() {
                return;
            }
            let Ok(mut v) = serde_json::from_slice::<Value>(resp.body()) else { return };
            longest.set(longest.get().max(v["expires_in"].as_u64().unwrap_or(0)));
            if v.as_object_mut().and_then(|m| m.remove("refresh_token")).is_some() {
                *resp.body_mut() = Bytes::from(v.to_string());
                resp.headers_mut().remove(header::CONTENT_LENGTH);
            }
        },
    );
    let given = "token responses without refresh_token";
    let mut client = w.public_client(MCP);
    if let Err(e) = w.run_client("victim", &mut client, echo()) {
        return Check::Violated(Violation::about(given, "the tool call to succeed", format!("`{e}`")));
    }
    let first = code_redemptions(&log).len();
    if first == 0 {
        return Check::Undecided("the client redeemed no authorization code".into());
    }
    // The lifetime the AS gave, and a minute more (an hour when it named none).
    let lifetime = match lifetime.get() {
        0 => 3600,
        secs => secs + 60,
    };
    w.note(&format!("{lifetime} s pass: the access token has expired"));
    w.wait(Duration::from_secs(lifetime));
    let outcome = w.run_client("victim", &mut client, echo());
    let again = code_redemptions(&log).len() - first;
    match outcome {
        Err(e) => Check::Violated(Violation::about(
            format!("{given}; the access token expired"),
            "the next tool call to succeed, after a new authorization",
            format!("`{e}`"),
        )),
        Ok(_) if again == 0 => Check::Undecided(
            "the second call needed no new authorization code: the access token did not expire?".into(),
        ),
        Ok(_) => Check::Holds,
    }
}
