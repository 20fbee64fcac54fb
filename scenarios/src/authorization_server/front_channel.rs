//! Redirect URI matching and the front channel: exact matching, no open redirect on
//! errors, `state` and `iss` in responses, the login POST's redirect, consent framing.

use super::iss::iss_advertised_in_metadata;
use super::oauth::{SCOPE, VERIFIER, app, at_callback, authorization_url, authorize, register_apps};
use crate::world::{EVIL, World, all_variants, describe};
use mcp_authz_reference::sans_io::FetchResult;
use mcp_authz_sim::browser::Browser;
use mcp_authz_sim::scenario::{Check, Violation};

fn location(r: &FetchResult) -> Option<String> {
    let r = r.as_ref().ok()?;
    r.headers().get(http::header::LOCATION)?.to_str().ok().map(String::from)
}

/// Holds when `r` is an error page: a 4xx without `Location`.
fn expect_error_page(r: &FetchResult, what: &str) -> Check {
    let status = r.as_ref().map_or(0, |r| r.status().as_u16());
    match location(r) {
        Some(l) => Check::Violated(Violation::about(what, "an error page", format!("HTTP {status} to {l}"))),
        None => Check::expect((400..500).contains(&status), || {
            Violation::about(what, "an error page (4xx)", describe(r))
        }),
    }
}

pub(super) fn redirect_exact_match(w: &mut World) -> Check {
    let variants = [
        ("extra path", "https://app.example/callback/x"),
        ("extra query", "https://app.example/callback?x=1"),
        ("fragment", "https://app.example/callback#x"),
        ("path case", "https://app.example/Callback"),
        ("trailing slash", "https://app.example/callback/"),
        ("userinfo", "https://app.example@evil.example/callback"),
        ("percent-encoding", "https://app.example/%63allback"),
        ("other host", "https://evil.example/callback"),
        ("other port", "https://app.example:8443/callback"),
        ("other scheme", "http://app.example/callback"),
    ];
    let mut outcomes = Vec::new();
    for (what, uri) in variants {
        let url = authorization_url(w, &app(w), VERIFIER, &[("redirect_uri", Some(uri))]);
        let r = w.sim.get("browser:victim", &url);
        let what = format!("redirect_uri {uri} ({what})");
        let check = expect_error_page(&r, &what);
        outcomes.push((what, check));
    }
    let loopback = "http://127.0.0.1:40123/callback";
    let what = "loopback redirect_uri on another port (allowed, RFC 8252 §7.3)";
    let url = authorization_url(w, &app(w), VERIFIER, &[("redirect_uri", Some(loopback))]);
    let check = match authorize(w, "browser:victim", &url) {
        Err(check) => check,
        Ok(response) => Check::expect(response.get("code").is_some(), || {
            Violation::about(what, "a code", format!("`{}`", response.encode()))
        }),
    };
    outcomes.push((what.to_string(), check));
    all_variants(w, outcomes)
}

pub(super) fn open_redirect_on_error(w: &mut World) -> Check {
    let target = format!("{EVIL}/callback");
    let app = app(w);
    let mut outcomes = Vec::new();
    for (what, client_id) in [("unknown client", "nobody"), ("unregistered redirect_uri", app.as_str())] {
        let url = authorization_url(w, client_id, VERIFIER, &[("redirect_uri", Some(&target))]);
        let r = w.sim.get("browser:victim", &url);
        outcomes.push((what.to_string(), expect_error_page(&r, what)));
    }
    all_variants(w, outcomes)
}

/// `state` comes back unchanged on the code and on the error response (RFC 6749 §4.1.2
/// and §4.1.2.1: `state` is "REQUIRED if the "state" parameter was present in the client
/// authorization request. The exact value received from the client"). `iss`, when the
/// response carries it or the metadata advertises
/// `authorization_response_iss_parameter_supported`, is the issuer (RFC 9207 §2: an AS
/// supporting it "MUST indicate its identity by including the `iss` parameter"); an AS
/// that neither sends nor advertises it breaks no MUST here (MCP 2026-07-28's SHOULD is
/// AS-ISS-01's).
pub(super) fn state_and_iss(w: &mut World) -> Check {
    let state = "st&te=1 /é";
    let issuer = w.as_under_test.issuer.clone();
    let advertised = iss_advertised_in_metadata(w);
    let mut outcomes = Vec::new();
    for (what, scope) in [("code response", SCOPE), ("error response", "no-such-scope")] {
        let url = authorization_url(w, &app(w), VERIFIER, &[("state", Some(state)), ("scope", Some(scope))]);
        let check = match authorize(w, "browser:victim", &url) {
            Err(check) => check,
            Ok(response) => {
                let iss = response.get("iss");
                let iss_ok = iss == Some(issuer.as_str()) || (iss.is_none() && !advertised);
                Check::expect(response.get("state") == Some(state) && iss_ok, || {
                    let iss_expected = if advertised { "" } else { ", if any," };
                    Violation::about(
                        what,
                        format!("state `{state}` and iss{iss_expected} `{issuer}` (RFC 9207 §2)"),
                        format!("`{}`", response.encode()),
                    )
                })
            }
        };
        outcomes.push((what.to_string(), check));
    }
    all_variants(w, outcomes)
}

/// Makes the AS show its login and consent form (the target's step: the simulated AS is
/// replaced by one with the same configuration and no auto-approve, where alice signs
/// in; a live AS shows its forms when the run has a login). A new AS gets the apps again.
fn show_forms(w: &mut World) -> Result<(), Check> {
    if w.show_login_forms().map_err(|s| Check::NotApplicable(s.0))? {
        register_apps(w)?;
    }
    Ok(())
}

/// The victim signs in through the forms: the browser, with the pages and form posts
/// it saw.
fn sign_in(w: &mut World) -> Result<Browser, Check> {
    show_forms(w)?;
    let url = authorization_url(w, &app(w), VERIFIER, &[]);
    let (result, browser) = w.browse("browser:victim", &url, at_callback);
    if browser.first_page.is_none() {
        let ended = match result {
            Ok(url) => format!("it went straight to {url}"),
            Err(e) => format!("it failed: {e}"),
        };
        return Err(Check::Undecided(format!("the authorization request showed no form: {ended}")));
    }
    Ok(browser)
}

pub(super) fn login_redirect_status(w: &mut World) -> Check {
    let browser = step!(sign_in(w));
    match browser.form_posts.first() {
        None => Check::Undecided("no form was submitted".into()),
        // RFC 9700 §4.12.2: an AS redirecting a request that may carry credentials "MUST NOT
        // use the HTTP 307 status code for redirection"; 303 is only a SHOULD ("SHOULD use
        // HTTP status code 303"), so any other answer holds.
        Some(307) => Check::Violated(Violation::about(
            "the login POST",
            "no 307 (303 See Other, RFC 9700 §4.12.2)",
            "HTTP 307",
        )),
        Some(_) => Check::Holds,
    }
}

pub(super) fn consent_framing(w: &mut World) -> Check {
    let browser = step!(sign_in(w));
    let Some(page) = browser.first_page else { return Check::Undecided("no form was shown".into()) };
    let header = |name| page.headers().get(name).and_then(|v| v.to_str().ok()).map(String::from);
    let xfo = header(http::header::X_FRAME_OPTIONS);
    let csp = header(http::header::CONTENT_SECURITY_POLICY);
    let ok = xfo
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("deny") || v.eq_ignore_ascii_case("sameorigin"))
        || csp.as_deref().is_some_and(|v| v.contains("frame-ancestors"));
    Check::expect(ok, || {
        Violation::about(
            "the consent page",
            "X-Frame-Options or CSP frame-ancestors",
            format!("X-Frame-Options {xfo:?}, Content-Security-Policy {csp:?}"),
        )
    })
}
