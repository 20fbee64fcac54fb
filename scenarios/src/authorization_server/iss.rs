//! The issuer in authorization responses (RFC 9207, MCP 2026-07-28 §Authorization
//! Response Validation): `iss` on every response, error responses included, and the
//! metadata flag that tells clients to expect it.

use super::oauth::{SCOPE, VERIFIER, app, authorization_url, authorize};
use crate::world::{World, describe};
use mcp_authz_reference::metadata::{AuthorizationServerMetadata, discovery_urls};
use mcp_authz_reference::wire::Params;
use mcp_authz_sim::scenario::{Check, Violation};

/// How a request differs from the victim's honest one (see [`authorization_url`]).
type Changes = &'static [(&'static str, Option<&'static str>)];

/// Requests the AS must answer with an error redirect to the client (RFC 6749 §4.1.2.1):
/// what each is, and how it differs from the victim's honest request.
const ERRORS: [(&str, Changes); 4] = [
    ("an unknown scope", &[("scope", Some("mcp-authz:no-such-scope"))]),
    ("code_challenge_method plain", &[("code_challenge_method", Some("plain"))]),
    ("response_type token", &[("response_type", Some("token"))]),
    ("an unknown resource", &[("resource", Some("https://unknown.example/mcp"))]),
];

/// The authorization responses to the victim's honest request (a code) and to each
/// request of [`ERRORS`] the AS answers with an error redirect, each with what it is.
/// A request the AS answers with a code instead (it ignores an unknown scope, say) is
/// noted and left out; with no error response at all, undecided.
fn responses(w: &mut World) -> Result<Vec<(String, Params)>, Check> {
    let url = authorization_url(w, &app(w), VERIFIER, &[("scope", Some(SCOPE))]);
    let granted = authorize(w, "browser:victim", &url)?;
    if granted.get("code").is_none() {
        return Err(Check::Undecided(format!("expected a code, got `{}`", granted.encode())));
    }
    let mut out = vec![("the code response".to_string(), granted)];
    for (what, changes) in ERRORS {
        let url = authorization_url(w, &app(w), VERIFIER, changes);
        let response = authorize(w, "browser:victim", &url)?;
        match response.get("error") {
            Some(error) => out.push((format!("the `{error}` response to {what}"), response)),
            None => w.note(&format!("{what}: no error response (`{}`); not judged", response.encode())),
        }
    }
    if out.len() == 1 {
        return Err(Check::Undecided("no request drew an error response to the client".into()));
    }
    Ok(out)
}

/// AS-31: every authorization response, error responses included, carries `iss` equal
/// to the issuer byte for byte.
pub(super) fn iss_on_every_response(w: &mut World) -> Check {
    let responses = step!(responses(w));
    let issuer = w.as_under_test.issuer.clone();
    for (what, response) in responses {
        if response.get("iss") != Some(issuer.as_str()) {
            return Check::Violated(Violation::about(
                what,
                format!("iss `{issuer}`, the issuer byte for byte (RFC 9207 §2)"),
                format!("`{}`", response.encode()),
            ));
        }
    }
    Check::Holds
}

/// Every metadata document the AS serves at its discovery URLs, by URL: its
/// `authorization_response_iss_parameter_supported`.
fn iss_flags(w: &mut World) -> Result<Vec<(String, Option<bool>)>, Check> {
    let issuer = w.as_under_test.issuer.clone();
    let urls = discovery_urls(&issuer).map_err(|e| Check::Undecided(format!("the issuer: {e}")))?;
    let mut flags = vec![];
    for url in urls {
        let r = w.sim.get("harness", &url);
        let parsed = r
            .as_ref()
            .ok()
            .filter(|r| r.status() == 200)
            .map(|r| AuthorizationServerMetadata::parse(r.body()));
        match parsed {
            Some(Ok(m)) => flags.push((url, m.authorization_response_iss_parameter_supported)),
            _ => w.note(&format!("{url}: no metadata document ({})", describe(&r))),
        }
    }
    if flags.is_empty() {
        return Err(Check::Undecided("the AS serves no metadata document".into()));
    }
    Ok(flags)
}

/// AS-32: an AS that sends `iss` advertises `authorization_response_iss_parameter_supported:
/// true` in every metadata document; one that advertises it sends `iss` in every
/// authorization response (RFC 9207 §2, §3).
pub(super) fn iss_advertised(w: &mut World) -> Check {
    let flags = step!(iss_flags(w));
    let responses = step!(responses(w));
    if let Some((what, _)) = responses.iter().find(|(_, r)| r.get("iss").is_some()) {
        if let Some((url, flag)) = flags.iter().find(|(_, f)| *f != Some(true)) {
            return Check::Violated(Violation::about(
                format!("{url}, while {what} carries iss"),
                "authorization_response_iss_parameter_supported: true",
                match flag {
                    Some(false) => "false".to_string(),
                    _ => "absent (false)".to_string(),
                },
            ));
        }
    }
    if let Some((url, _)) = flags.iter().find(|(_, f)| *f == Some(true)) {
        if let Some((what, response)) = responses.iter().find(|(_, r)| r.get("iss").is_none()) {
            return Check::Violated(Violation::about(
                what.clone(),
                format!("iss, as {url} advertises authorization_response_iss_parameter_supported"),
                format!("none: `{}`", response.encode()),
            ));
        }
    }
    Check::Holds
}
