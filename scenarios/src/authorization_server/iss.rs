//! The issuer in authorization responses (RFC 9207, MCP 2026-07-28 §Authorization
//! Response Validation): `iss` on every response, error responses included, and the
//! metadata flag that tells clients to expect it.

use super::oauth::{SCOPE, VERIFIER, app, authorization_url, authorize};
use crate::world::{World, all_variants, describe};
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

/// One authorization response of [`responses`]: the request it answers, and the response
/// with what it is (`the code response`, ``the `invalid_scope` response to …``), or why
/// it cannot be judged.
type Answer = (String, Result<(String, Params), Check>);

/// The authorization responses to the victim's honest request (a code) and to each
/// request of [`ERRORS`]. A request the AS answers with a code instead (it ignores an
/// unknown scope, say) is not applicable, one it does not answer undecided; with no error
/// response at all, the case is undecided.
fn responses(w: &mut World) -> Result<Vec<Answer>, Check> {
    let url = authorization_url(w, &app(w), VERIFIER, &[("scope", Some(SCOPE))]);
    let granted = authorize(w, "browser:victim", &url)?;
    if granted.get("code").is_none() {
        return Err(Check::Undecided(format!("expected a code, got `{}`", granted.encode())));
    }
    let code = "the code response".to_string();
    let mut out = vec![(code.clone(), Ok((code, granted)))];
    for (what, changes) in ERRORS {
        let url = authorization_url(w, &app(w), VERIFIER, changes);
        let answer = authorize(w, "browser:victim", &url).and_then(|response| match response.get("error") {
            Some(error) => Ok((format!("the `{error}` response to {what}"), response)),
            None => Err(Check::NotApplicable(format!("no error response (`{}`)", response.encode()))),
        });
        out.push((what.to_string(), answer));
    }
    if out[1..].iter().all(|(_, a)| a.is_err()) {
        let why: Vec<String> = out[1..]
            .iter()
            .filter_map(|(what, a)| a.as_ref().err().map(|c| format!("{what}: {}", reason(c))))
            .collect();
        return Err(Check::Undecided(format!(
            "no request drew an error response to the client ({})",
            why.join("; ")
        )));
    }
    Ok(out)
}

/// Why a check that is not a verdict of its own came out as it did.
fn reason(c: &Check) -> String {
    match c {
        Check::Holds => "holds".into(),
        Check::Violated(v) => v.to_string(),
        Check::NotApplicable(why) | Check::Undecided(why) => why.clone(),
    }
}

/// AS-31: every authorization response, error responses included, carries `iss` equal
/// to the issuer byte for byte.
pub(super) fn iss_on_every_response(w: &mut World) -> Check {
    let responses = step!(responses(w));
    let issuer = w.as_under_test.issuer.clone();
    let outcomes = responses
        .into_iter()
        .map(|(request, answer)| {
            let check = match answer {
                Err(check) => check,
                Ok((what, response)) => Check::expect(response.get("iss") == Some(issuer.as_str()), || {
                    Violation::about(
                        what,
                        format!("iss `{issuer}`, the issuer byte for byte (RFC 9207 §2)"),
                        format!("`{}`", response.encode()),
                    )
                }),
            };
            (request, check)
        })
        .collect();
    all_variants(w, outcomes)
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

/// Whether some metadata document the AS serves advertises
/// `authorization_response_iss_parameter_supported: true` (false when it serves none).
pub(super) fn iss_advertised_in_metadata(w: &mut World) -> bool {
    iss_flags(w).is_ok_and(|flags| flags.iter().any(|(_, f)| *f == Some(true)))
}

/// AS-32: an AS that sends `iss` advertises `authorization_response_iss_parameter_supported:
/// true` in every metadata document; one that advertises it sends `iss` in every
/// authorization response (RFC 9207 §2, §3).
pub(super) fn iss_advertised(w: &mut World) -> Check {
    let flags = step!(iss_flags(w));
    let responses = step!(responses(w));
    let carrying =
        responses.iter().find_map(|(_, a)| a.as_ref().ok().filter(|(_, r)| r.get("iss").is_some()));
    let mut outcomes = Vec::new();
    // Each metadata document: the flag, when some response carries iss.
    for (url, flag) in &flags {
        let check = match carrying {
            Some((what, _)) if *flag != Some(true) => Check::Violated(Violation::about(
                format!("{url}, while {what} carries iss"),
                "authorization_response_iss_parameter_supported: true",
                match flag {
                    Some(false) => "false".to_string(),
                    _ => "absent (false)".to_string(),
                },
            )),
            _ => Check::Holds,
        };
        outcomes.push((format!("the metadata at {url}"), check));
    }
    // Each response: iss, when some metadata document advertises it.
    let advertised = flags.iter().find(|(_, f)| *f == Some(true));
    for (request, answer) in responses {
        let check = match (answer, advertised) {
            (Err(check), _) => check,
            (Ok((what, response)), Some((url, _))) if response.get("iss").is_none() => {
                Check::Violated(Violation::about(
                    what,
                    format!("iss, as {url} advertises authorization_response_iss_parameter_supported"),
                    format!("none: `{}`", response.encode()),
                ))
            }
            (Ok(_), _) => Check::Holds,
        };
        outcomes.push((request, check));
    }
    all_variants(w, outcomes)
}
