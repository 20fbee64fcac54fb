//! The `iss` of the authorization response (MCP 2026-07-28 §Authorization Response
//! Validation, RFC 9207 §2.4): the table of what to do with and without the metadata
//! flag, the byte-for-byte comparison, and error responses from another issuer.
//!
//! The harness plays an authorization server with a posture: its metadata advertises
//! `authorization_response_iss_parameter_supported` or not, and its authorization
//! responses carry the issuer, another one, a respelling of it, or no `iss`.

use super::hostile::{CANARY, code_redemptions, echo, rewrite_redirect, urls};
use crate::world::{MCP, World, all_variants};
use mcp_authz_reference::Error;
use mcp_authz_reference::client::Outcome;
use mcp_authz_sim::scenario::{Check, Violation};
use mcp_authz_sim::sim::{Channel, Verdict};
use serde_json::Value;
use std::cell::Cell;
use std::rc::Rc;

/// The issuer of the mix-up attacker's authorization server.
const FOREIGN: &str = "https://as.attacker.example";

/// The metadata member that advertises `iss` in authorization responses (RFC 9207 §3).
const FLAG: &str = "authorization_response_iss_parameter_supported";

/// One honest client's flow under an AS posture.
struct Flow {
    /// An authorization response reached the client (and was rewritten).
    answered: bool,
    /// The code redemptions it sent, as `METHOD url`.
    redeemed: Vec<String>,
    /// How the client ended.
    outcome: Result<Outcome, Error>,
}

impl Flow {
    /// How the client ended, for a verdict.
    fn ended(&self) -> String {
        match &self.outcome {
            Ok(_) => "it finished".into(),
            Err(e) => format!("it stopped: {e}"),
        }
    }
}

/// Runs a new client named `name` at MCP server A while the AS metadata advertises
/// `iss` or not (`advertised`; the flag is removed from the metadata in transit) and
/// each authorization response's query is rewritten by `rewrite`.
fn flow(
    w: &mut World,
    name: &str,
    advertised: bool,
    rewrite: impl Fn(&mut Vec<(String, String)>) + 'static,
) -> Flow {
    let answered = Rc::new(Cell::new(false));
    let flag = answered.clone();
    let log = w.tap(
        &[Channel::FrontChannel, Channel::Token, Channel::Other],
        |_, _| Verdict::Pass,
        move |msg, _, resp| {
            if msg.channel == Channel::Other && !advertised {
                if let Ok(Value::Object(mut metadata)) = serde_json::from_slice(resp.body()) {
                    if metadata.remove(FLAG).is_some() {
                        *resp.body_mut() = Value::Object(metadata).to_string().into();
                    }
                }
            }
            if rewrite_redirect(resp, &rewrite) {
                flag.set(true);
            }
        },
    );
    let mut client = w.public_client(MCP);
    let outcome = w.run_client(name, &mut client, echo());
    Flow { answered: answered.get(), redeemed: urls(&code_redemptions(&log)), outcome }
}

/// A rewrite of an authorization response that sets its `iss` (or removes it: `None`).
fn set_iss(iss: Option<String>) -> impl Fn(&mut Vec<(String, String)>) {
    move |p| {
        p.retain(|(k, _)| k != "iss");
        p.extend(iss.clone().map(|i| ("iss".to_string(), i)));
    }
}

/// CL-45/46: the table of RFC 9207 §2.4 as MCP 2026-07-28 states it, before any code
/// reaches a token endpoint. Advertised and present: compare; advertised and absent:
/// reject; not advertised and present: compare (MCP's rule, beyond RFC 9207); neither:
/// proceed. Each posture with the recorded issuer, another issuer, or no `iss`; the
/// first row is the honest flow, and a client that does not finish it leaves the case
/// undecided. A response the table accepts must be redeemed as surely as one it rejects
/// must not.
pub(super) fn iss_table(w: &mut World) -> Check {
    let issuer = w.issuer.clone();
    let rows = [
        (true, Some(issuer.clone()), true),
        (true, Some(FOREIGN.to_string()), false),
        (true, None, false),
        (false, Some(FOREIGN.to_string()), false),
        (false, Some(issuer), true),
        (false, None, true),
    ];
    let mut outcomes = Vec::new();
    for (i, (advertised, iss, accepted)) in rows.into_iter().enumerate() {
        let posture = format!(
            "metadata {} {FLAG}, response with {}",
            if advertised { "with" } else { "without" },
            iss.as_deref().map_or_else(|| "no iss".to_string(), |i| format!("iss={i}"))
        );
        w.note(&format!("the AS: {posture}"));
        let f = flow(w, &format!("victim{i}"), advertised, set_iss(iss));
        // The honest flow is the control: without it, no other row can be judged.
        if i == 0 && !(f.answered && accepted && !f.redeemed.is_empty()) {
            return Check::Undecided(match f.answered {
                false => format!("{posture}: no authorization response reached the client"),
                true => format!("the client redeemed no code of an honest flow: {}", f.ended()),
            });
        }
        let check = match (f.answered, accepted, f.redeemed.is_empty()) {
            (false, _, _) => Check::Undecided("no authorization response reached the client".into()),
            (true, false, false) => Check::Violated(Violation::about(
                posture.clone(),
                "no code redemption",
                format!("{:?}", f.redeemed),
            )),
            (true, true, true) => Check::Violated(Violation::about(
                posture.clone(),
                "the code redeemed: the table says proceed",
                format!("no code redemption; {}", f.ended()),
            )),
            _ => Check::Holds,
        };
        outcomes.push((posture, check));
    }
    all_variants(w, outcomes)
}

/// Respellings of `issuer` that URL normalization would equate with it: scheme and
/// host upper-cased, the default port written out, a trailing slash, a percent-encoded
/// host letter. Empty for an issuer that is not `scheme://host…`.
fn respellings(issuer: &str) -> Vec<(&'static str, String)> {
    let Some((scheme, rest)) = issuer.split_once("://") else { return vec![] };
    let split = rest.find('/').unwrap_or(rest.len());
    let (host, path) = rest.split_at(split);
    let Some(first) = host.bytes().next() else { return vec![] };
    let port = if scheme == "https" { ":443" } else { ":80" };
    let slash =
        if path.ends_with('/') { issuer.trim_end_matches('/').to_string() } else { format!("{issuer}/") };
    vec![
        ("scheme and host upper-cased", format!("{}://{}{path}", scheme.to_uppercase(), host.to_uppercase())),
        ("default port written out", format!("{scheme}://{host}{port}{path}")),
        ("trailing slash", slash),
        (
            "a host letter percent-encoded",
            format!("{scheme}://%{first:02X}{}{path}", host.get(1..).unwrap_or("")),
        ),
    ]
}

/// CL-47: the AS advertises `iss` and sends a respelling of its issuer that a URL
/// normalizer would equate with it. The comparison is a simple string comparison: no
/// code may be redeemed. First an honest flow, to show the client finishes one.
pub(super) fn iss_compared_byte_for_byte(w: &mut World) -> Check {
    let issuer = w.issuer.clone();
    let honest = flow(w, "victim", true, set_iss(Some(issuer.clone())));
    if honest.redeemed.is_empty() {
        return Check::Undecided(format!(
            "the client redeemed no code of an honest flow: {}",
            honest.ended()
        ));
    }
    let mut outcomes = Vec::new();
    for (i, (what, respelled)) in respellings(&issuer).into_iter().enumerate() {
        w.note(&format!("the AS answers with iss={respelled} ({what})"));
        let f = flow(w, &format!("victim{i}"), true, set_iss(Some(respelled.clone())));
        let check = match f.answered {
            false => Check::Undecided("no authorization response reached the client".into()),
            true => Check::expect(f.redeemed.is_empty(), || {
                Violation::about(
                    format!("iss={respelled} ({what}) for issuer {issuer}"),
                    "no code redemption: iss compared as a simple string",
                    format!("{:?}", f.redeemed),
                )
            }),
        };
        outcomes.push((format!("iss={respelled} ({what})"), check));
    }
    if outcomes.is_empty() {
        return Check::NotApplicable(format!("the issuer {issuer} has no respelling (not scheme://host…)"));
    }
    all_variants(w, outcomes)
}

/// What the forged error response says: the marker of its `error_description`, its
/// `error_uri` (on the canary host) and its `error` code.
const MARKER: &str = "MCP-AUTHZ-FORGED-ERROR";
const ERROR_URI: &str = "https://canary.example/forged-error-help";
const ERROR_CODE: &str = "mcp_authz_forged_error";

/// CL-48: an error response whose `iss` is another issuer's. Its `error`,
/// `error_description` and `error_uri` must not be acted on or displayed: none of them
/// appears in what the client reports (the outcome of its run, and all a process
/// printed), and the `error_uri` (a canary) is never fetched.
pub(super) fn foreign_error_not_shown(w: &mut World) -> Check {
    let canary = w.canary(&[CANARY]);
    w.note(&format!("the authorization response becomes an error response with iss={FOREIGN}"));
    let forged = |p: &mut Vec<(String, String)>| {
        p.retain(|(k, _)| k == "state");
        let fields = [
            ("error", ERROR_CODE.to_string()),
            ("error_description", format!("{MARKER}: sign in again at {ERROR_URI}")),
            ("error_uri", ERROR_URI.to_string()),
            ("iss", FOREIGN.to_string()),
        ];
        p.extend(fields.map(|(k, v)| (k.to_string(), v)));
    };
    let f = flow(w, "victim", true, forged);
    if !f.answered {
        return Check::Undecided("no authorization response reached the client".into());
    }
    let printed = w.client_observations().output;
    let reported = match &f.outcome {
        Ok(_) => printed,
        Err(e) => format!("{e}\n{printed}"),
    };
    let shown: Vec<&str> =
        [MARKER, ERROR_URI, ERROR_CODE].into_iter().filter(|m| reported.contains(m)).collect();
    if !shown.is_empty() || canary.get() > 0 {
        return Check::Violated(Violation::about(
            format!("error response with iss={FOREIGN}, error={ERROR_CODE}, error_uri={ERROR_URI}"),
            "its error fields neither shown nor acted on",
            format!("the client showed {shown:?}; {} requests to {CANARY}", canary.get()),
        ));
    }
    Check::Holds
}
