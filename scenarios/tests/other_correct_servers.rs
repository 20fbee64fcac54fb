//! Authorization servers that are correct in another way than the reference AS pass, and
//! the cases judge the property, not the reference AS's habits. The reference AS is
//! wrapped so that it
//! - answers refusals with the *other* error code the governing sentence allows: a token
//!   request without `code_verifier` with `invalid_request` ("missing a required
//!   parameter", RFC 6749 §5.2) instead of `invalid_grant`; `response_type=token` with
//!   `invalid_request` (an invalid parameter value, OAuth 2.1 §4.1.2.1) instead of
//!   `unsupported_response_type`; `grant_type=password` with `unauthorized_client`
//!   (RFC 6749 §5.2) instead of `unsupported_grant_type` — and the cases run every variant;
//! - ignores the `resource` of a refresh, issuing a token for the granted resource again
//!   (RFC 8707 leaves that to the AS; the grant's bound holds): AS-REFRESH-07 judges the
//!   new token's audience, not the 200;
//! - issues opaque access tokens, keeping `expires_in` and `scope` in its token responses:
//!   AS-TOKEN-02 judges `expires_in` instead of giving up on "not a JWT";
//! - neither sends `iss` in its authorization responses nor advertises it, as an AS
//!   written before RFC 9207 does: AS-FRONT-01 (`state`) and AS-ISS-02 (iss if and only if
//!   advertised) pass, and only AS-ISS-01, the 2026-07-28 SHOULD, warns.

use bytes::Bytes;
use mcp_authz_reference::authorization_server::{AuthorizationServer, RegisteredClient};
use mcp_authz_reference::defects::Defects;
use mcp_authz_reference::sans_io::{Env, FetchResult, Request, Service, Step};
use mcp_authz_reference::wire::Params;
use mcp_authz_scenarios::world::{AS, REDIRECT, TargetKind, World, reference_as_config};
use mcp_authz_scenarios::{catalog, run_against};
use mcp_authz_sim::scenario::Verdict;
use serde_json::Value;
use std::cell::Cell;
use std::rc::Rc;

/// How the wrapped AS differs from the reference AS.
#[derive(Clone, Copy, PartialEq)]
enum Otherwise {
    OtherCodes,
    IgnoresRefreshResource,
    OpaqueTokens,
    NoIss,
}

/// The reference AS, [`Otherwise`]; counts the exchanges it changed.
struct Wrapped {
    inner: AuthorizationServer,
    how: Otherwise,
    changed: Rc<Cell<usize>>,
}

impl Wrapped {
    fn changed(&self) {
        self.changed.set(self.changed.get() + 1);
    }

    /// `request` with the form field `name` removed, when it has one.
    fn without_field(&self, mut request: Request, name: &str) -> Request {
        let Ok(form) = Params::parse(request.body()) else { return request };
        if form.get(name).is_none() {
            return request;
        }
        let mut kept = Params::default();
        for (k, v) in form.iter().filter(|(k, _)| *k != name) {
            kept.insert(k, v);
        }
        *request.body_mut() = Bytes::from(kept.encode());
        self.changed();
        request
    }
}

impl Service for Wrapped {
    type Pending = <AuthorizationServer as Service>::Pending;

    fn handle(&mut self, request: Request, env: &mut Env<'_>) -> Step<Self::Pending> {
        let query = request.uri().query().and_then(|q| Params::parse(q.as_bytes()).ok());
        let implicit = query.as_ref().is_some_and(|q| q.get("response_type") == Some("token"));
        let form = Params::parse(request.body()).ok();
        let field = |name: &str| form.as_ref().and_then(|f| f.get(name)).map(String::from);
        let token_request = request.uri().path() == "/token";
        let grant = field("grant_type").filter(|_| token_request);
        let no_verifier = grant.as_deref() == Some("authorization_code") && field("code_verifier").is_none();
        let request = match (self.how, grant.as_deref()) {
            (Otherwise::IgnoresRefreshResource, Some("refresh_token")) => {
                self.without_field(request, "resource")
            }
            _ => request,
        };
        let mut r = match self.inner.handle(request, env) {
            Step::Respond(r) => r,
            step => return step,
        };
        let body = String::from_utf8_lossy(r.body()).to_string();
        match self.how {
            Otherwise::OtherCodes => {
                let swap = match (no_verifier, grant.as_deref()) {
                    (true, _) => Some(("\"invalid_grant\"", "\"invalid_request\"")),
                    (_, Some("password")) => Some(("\"unsupported_grant_type\"", "\"unauthorized_client\"")),
                    _ => None,
                };
                if let Some((from, to)) = swap.filter(|(from, _)| body.contains(from)) {
                    *r.body_mut() = Bytes::from(body.replace(from, to));
                    self.changed();
                }
                let location = r.headers().get(http::header::LOCATION).and_then(|l| l.to_str().ok());
                let from = "error=unsupported_response_type";
                if let Some(l) = location.filter(|l| implicit && l.contains(from)).map(String::from) {
                    let l = l.replace(from, "error=invalid_request");
                    r.headers_mut().insert(http::header::LOCATION, l.parse().expect("a header value"));
                    self.changed();
                }
            }
            Otherwise::OpaqueTokens => {
                if let Ok(mut t) = serde_json::from_str::<Value>(&body)
                    && t.get("access_token").is_some()
                {
                    t["access_token"] = Value::String(format!("opaque-{}", self.changed.get()));
                    *r.body_mut() = Bytes::from(t.to_string());
                    self.changed();
                }
            }
            Otherwise::NoIss => {
                let location = r.headers().get(http::header::LOCATION).and_then(|l| l.to_str().ok());
                let without = location
                    .and_then(|l| url::Url::parse(l).ok())
                    .filter(|u| u.query_pairs().any(|(k, _)| k == "iss"))
                    .map(|mut u| {
                        let kept: Vec<(String, String)> = u
                            .query_pairs()
                            .filter(|(k, _)| k != "iss")
                            .map(|(k, v)| (k.into_owned(), v.into_owned()))
                            .collect();
                        u.query_pairs_mut().clear().extend_pairs(kept);
                        u.to_string()
                    });
                if let Some(l) = without {
                    r.headers_mut().insert(http::header::LOCATION, l.parse().expect("a header value"));
                    self.changed();
                }
                if let Ok(mut m) = serde_json::from_str::<Value>(&body)
                    && m.get("authorization_response_iss_parameter_supported").is_some()
                {
                    m.as_object_mut().map(|o| o.remove("authorization_response_iss_parameter_supported"));
                    *r.body_mut() = Bytes::from(m.to_string());
                    self.changed();
                }
            }
            Otherwise::IgnoresRefreshResource => {}
        }
        Step::Respond(r)
    }

    fn resume(
        &mut self,
        pending: Self::Pending,
        fetched: FetchResult,
        env: &mut Env<'_>,
    ) -> Step<Self::Pending> {
        self.inner.resume(pending, fetched, env)
    }
}

/// Runs case `id` against the reference AS made `how`: its verdict, its trace, and how
/// many exchanges the wrapper changed.
fn run(id: &str, how: Otherwise) -> (Verdict, String, String, usize) {
    let scenario = catalog().into_iter().find(|s| s.meta.id == id).expect("in the catalog");
    let changed = Rc::new(Cell::new(0));
    let (result, trace) = run_against(TargetKind::Simulated, &scenario, 1, || {
        let mut world = World::new(1, &Defects::none())?;
        let config = reference_as_config(&Defects::none(), &[]);
        let mut inner = world.sim.env_for("as", |env| AuthorizationServer::new(config, env))?;
        // The apps the AS cases register directly at the reference AS (which the wrapper
        // hides from them): the victim's and the attacker's.
        let scopes = ["mcp:read", "mcp:write"];
        let web = "https://app.example/callback";
        inner.register_client(RegisteredClient::public("notes-app", &[REDIRECT, web], &scopes));
        inner.register_client(RegisteredClient::public("evil-app", &[REDIRECT], &scopes));
        world.sim.add_service(AS, Wrapped { inner, how, changed: Rc::clone(&changed) });
        Ok(world)
    });
    (result.verdict, result.detail, trace, changed.get())
}

#[test]
fn the_other_allowed_error_codes_pass_and_every_variant_runs() {
    // Each case, its variants, and how many of its answers carry the other code.
    for (id, variants, changed) in [("AS-CODE-01", 4, 2), ("AS-TOKEN-03", 2, 2)] {
        let (verdict, detail, trace, rewritten) = run(id, Otherwise::OtherCodes);
        assert_eq!(rewritten, changed, "{id}: the server answered with the other codes\n{trace}");
        assert_eq!(verdict, Verdict::Pass, "{id}: {detail}\n{trace}");
        let reported = trace.lines().filter(|l| l.contains("# variant")).count();
        assert_eq!(reported, variants, "{id} reports each variant:\n{trace}");
    }
}

#[test]
fn a_refresh_answered_with_a_token_for_the_granted_resource_keeps_the_bound() {
    let (verdict, detail, trace, changed) = run("AS-REFRESH-07", Otherwise::IgnoresRefreshResource);
    assert_eq!(changed, 1, "the refresh asked another resource:\n{trace}");
    assert_eq!(verdict, Verdict::Pass, "{detail}\n{trace}");
}

#[test]
fn an_opaque_token_is_judged_by_what_the_response_says() {
    let (verdict, detail, trace, changed) = run("AS-TOKEN-02", Otherwise::OpaqueTokens);
    assert!(changed > 0, "the tokens were opaque:\n{trace}");
    assert_eq!(verdict, Verdict::Pass, "judged by expires_in: {detail}\n{trace}");
}

#[test]
fn an_authorization_server_without_iss_owes_only_the_2026_should() {
    for (id, verdict) in
        [("AS-FRONT-01", Verdict::Pass), ("AS-ISS-02", Verdict::Pass), ("AS-ISS-01", Verdict::Warn)]
    {
        let (got, detail, trace, changed) = run(id, Otherwise::NoIss);
        assert!(changed > 0, "{id}: iss was removed:\n{trace}");
        assert_eq!(got, verdict, "{id}: {detail}\n{trace}");
    }
}
