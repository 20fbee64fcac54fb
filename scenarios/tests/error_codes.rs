//! An authorization server that refuses what it must with the *other* error code the
//! governing sentence allows passes: the cases accept every code the RFC does for that
//! refusal, and run every variant. The reference AS, wrapped so that it answers
//! - a token request without `code_verifier` with `invalid_request` ("missing a required
//!   parameter", RFC 6749 §5.2) instead of `invalid_grant`;
//! - `response_type=token` with `invalid_request` (an invalid parameter value, OAuth 2.1
//!   §4.1.2.1) instead of `unsupported_response_type`;
//! - `grant_type=password` with `unauthorized_client` (RFC 6749 §5.2) instead of
//!   `unsupported_grant_type`.

use bytes::Bytes;
use mcp_authz_reference::authorization_server::{AuthorizationServer, RegisteredClient};
use mcp_authz_reference::defects::Defects;
use mcp_authz_reference::sans_io::{Env, FetchResult, Request, Service, Step};
use mcp_authz_reference::wire::Params;
use mcp_authz_scenarios::world::{AS, REDIRECT, TargetKind, World, reference_as_config};
use mcp_authz_scenarios::{catalog, run_against};
use mcp_authz_sim::scenario::Verdict;
use std::cell::Cell;
use std::rc::Rc;

/// The reference AS, answering the refusals above with the other allowed code; counts
/// the answers it changed.
struct OtherCodes(AuthorizationServer, Rc<Cell<usize>>);

impl Service for OtherCodes {
    type Pending = <AuthorizationServer as Service>::Pending;

    fn handle(&mut self, request: Request, env: &mut Env<'_>) -> Step<Self::Pending> {
        let query = request.uri().query().and_then(|q| Params::parse(q.as_bytes()).ok());
        let implicit = query.as_ref().is_some_and(|q| q.get("response_type") == Some("token"));
        let form = Params::parse(request.body()).ok();
        let field = |name: &str| form.as_ref().and_then(|f| f.get(name)).map(String::from);
        let token_request = request.uri().path() == "/token";
        let no_verifier = token_request
            && field("grant_type").as_deref() == Some("authorization_code")
            && field("code_verifier").is_none();
        let password = token_request && field("grant_type").as_deref() == Some("password");
        match self.0.handle(request, env) {
            Step::Respond(mut r) => {
                let body = String::from_utf8_lossy(r.body()).to_string();
                let swap = match (no_verifier, password) {
                    (true, _) => Some(("\"invalid_grant\"", "\"invalid_request\"")),
                    (_, true) => Some(("\"unsupported_grant_type\"", "\"unauthorized_client\"")),
                    _ => None,
                };
                if let Some((from, to)) = swap.filter(|(from, _)| body.contains(from)) {
                    *r.body_mut() = Bytes::from(body.replace(from, to));
                    self.1.set(self.1.get() + 1);
                }
                let location = r.headers().get(http::header::LOCATION).and_then(|l| l.to_str().ok());
                let from = "error=unsupported_response_type";
                if let Some(l) = location.filter(|l| implicit && l.contains(from)).map(String::from) {
                    let l = l.replace(from, "error=invalid_request");
                    r.headers_mut().insert(http::header::LOCATION, l.parse().expect("a header value"));
                    self.1.set(self.1.get() + 1);
                }
                Step::Respond(r)
            }
            step => step,
        }
    }

    fn resume(
        &mut self,
        pending: Self::Pending,
        fetched: FetchResult,
        env: &mut Env<'_>,
    ) -> Step<Self::Pending> {
        self.0.resume(pending, fetched, env)
    }
}

#[test]
fn the_other_allowed_error_codes_pass_and_every_variant_runs() {
    // Each case, its variants, and how many of its answers carry the other code.
    for (id, variants, changed) in [("AS-CODE-01", 4, 2), ("AS-TOKEN-03", 2, 2)] {
        let scenario = catalog().into_iter().find(|s| s.meta.id == id).expect("in the catalog");
        let rewritten = Rc::new(Cell::new(0));
        let (result, trace) = run_against(TargetKind::Simulated, &scenario, 1, || {
            let mut world = World::new(1, &Defects::none())?;
            let config = reference_as_config(&Defects::none(), &[]);
            let mut other = world.sim.env_for("as", |env| AuthorizationServer::new(config, env))?;
            // The apps the AS cases register directly at the reference AS (which the
            // wrapper hides from them): the victim's and the attacker's.
            let scopes = ["mcp:read", "mcp:write"];
            let web = "https://app.example/callback";
            other.register_client(RegisteredClient::public("notes-app", &[REDIRECT, web], &scopes));
            other.register_client(RegisteredClient::public("evil-app", &[REDIRECT], &scopes));
            world.sim.add_service(AS, OtherCodes(other, Rc::clone(&rewritten)));
            Ok(world)
        });
        assert_eq!(rewritten.get(), changed, "{id}: the server answered with the other codes\n{trace}");
        assert_eq!(result.verdict, Verdict::Pass, "{id}: {}\n{trace}", result.detail);
        let reported = trace.lines().filter(|l| l.contains("# variant")).count();
        assert_eq!(reported, variants, "{id} reports each variant:\n{trace}");
    }
}
