//! The JWT bearer grant at the client: enterprise-managed authorization (CL-EMA-01/02;
//! `io.modelcontextprotocol/enterprise-managed-authorization`, SEP-990, rows CL-60 and
//! CL-61) — the user's ID token exchanged at the enterprise IdP for an ID-JAG (RFC 8693),
//! the ID-JAG presented to the MCP server's AS with the JWT bearer grant (RFC 7523) — and
//! workload identity federation (CL-WIF-01; SEP-1933, a proposal, row CL-65) — the
//! workload's own JWT presented with the same grant.
//!
//! The harness's IdP (`https://idp.example`) and workload platform
//! (`https://workload.example`), which the simulated AS trusts, issue what the client is
//! given: the ID token of the enterprise user after single sign-on, or a workload JWT.
//! A client process cannot be handed either
//! ([`Need::GrantAssertion`](mcp_authz_sim::scenario::Need::GrantAssertion)): the cases
//! are then not applicable. What the client sent is judged from the wire.

use super::hostile::{echo, seen};
use crate::world::enterprise::{ENTERPRISE_CLIENT, ENTERPRISE_SECRET, WORKLOAD_ISSUER};
use crate::world::{Log, MCP, Seen, World};
use mcp_authz_reference::Error;
use mcp_authz_reference::client::{
    ClientCredentials, Credential, EnterpriseManaged, IdpClient, JwtBearerGrant, Outcome, PublicClient,
    WorkloadIdentity,
};
use mcp_authz_reference::id_jag;
use mcp_authz_sim::scenario::{Check, Violation};
use mcp_authz_sim::sim::{Channel, Verdict};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::rc::Rc;

/// The value of a step, or the check it ended the case with.
macro_rules! step {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(check) => return check,
        }
    };
}

/// The sentence of the token exchange's `audience` (EMA §4).
const AUDIENCE_RULE: &str = "ema §4, \"audience MUST be the issuer identifier of the Resource Authorization \
    Server\"";

/// The reference client configured for `grant`, or why not.
fn client_for(w: &World, grant: JwtBearerGrant) -> Result<PublicClient, Check> {
    w.public_client_with(MCP, |c| c.jwt_bearer = Some(grant))
        .map_err(|e| Check::Undecided(format!("the client refuses its JWT bearer configuration: {e}")))
}

/// The enterprise client's configuration: the user's ID token from the harness's IdP,
/// the client's credentials there and at the AS (`client_secret_basic` at both).
fn enterprise_grant(w: &mut World) -> Result<(JwtBearerGrant, String), Check> {
    let e = w.enterprise()?;
    let id_token = w.id_token()?;
    let managed = EnterpriseManaged {
        idp_token_endpoint: format!("{}/token", e.idp),
        idp_client: Some(IdpClient {
            client_id: ENTERPRISE_CLIENT.into(),
            client_secret: Some(ENTERPRISE_SECRET.into()),
        }),
        id_token: id_token.clone(),
        client: ClientCredentials {
            client_id: ENTERPRISE_CLIENT.into(),
            credential: Credential::Secret(ENTERPRISE_SECRET.into()),
            issuer: None,
        },
    };
    Ok((JwtBearerGrant::Enterprise(managed), id_token))
}

/// True when `resource` names server A (the trailing-slash form too: CL-RES-02's SHOULD).
fn names_server(w: &World, resource: Option<&str>) -> bool {
    let slashed = format!("{}/", w.mcp);
    resource == Some(w.mcp.as_str()) || resource == Some(slashed.as_str())
}

/// The requests of `log` to the token endpoint `endpoint`.
fn posts_to(log: &Log, endpoint: &str) -> Vec<Seen> {
    seen(log, |s| s.method == "POST" && s.url == endpoint)
}

/// The verdict when every request judged was right: it holds, whatever came after (what
/// the AS made of them is another case's); how the client ended goes to the trace.
fn right(w: &mut World, outcome: Result<Outcome, Error>) -> Check {
    if let Err(e) = outcome {
        w.note(&format!("the requests judged are right; the client then stopped: {e}"));
    }
    Check::Holds
}

/// CL-EMA-01: a client holding the enterprise user's ID token calls a tool of server A.
/// Each request to the IdP's token endpoint is the token exchange of EMA §4 (the draft's
/// §4: "the MCP Client **MUST** make a Token Exchange (RFC 8693) request to the IdP's
/// Token Endpoint"):
/// `grant_type` token-exchange, `requested_token_type` the ID-JAG type, `subject_token`
/// the ID token with `subject_token_type` id_token (each REQUIRED by the draft §4's table),
/// `audience` the issuer identifier of server A's AS, byte for byte ("`audience` **MUST**
/// be the issuer identifier of the Resource Authorization Server"; not the MCP server,
/// not the token endpoint). `resource` is OPTIONAL in the stable text (REQUIRED in the
/// draft): absent is taken; present, it must name server A (the "RFC9728 Resource
/// Identifier of the MCP server"). `scope` and the client's authentication at the IdP are
/// not graded (the IdP's policy).
pub(super) fn token_exchange_at_the_idp(w: &mut World) -> Check {
    let (grant, id_token) = step!(enterprise_grant(w));
    let idp_token = match w.enterprise() {
        Ok(e) => format!("{}/token", e.idp),
        Err(check) => return check,
    };
    let mut client = step!(client_for(w, grant));
    let log = w.record(&[Channel::Token]);
    let outcome = w.run_client("enterprise-agent", &mut client, echo());
    let exchanges = posts_to(&log, &idp_token);
    if exchanges.is_empty() {
        return Check::Undecided(format!("the client sent no token exchange to {idp_token} ({outcome:?})"));
    }
    let issuer = w.as_under_test.issuer.clone();
    for x in &exchanges {
        let at = format!("POST {}", x.url);
        let param = |name: &str| x.param(name);
        let expected = [
            ("grant_type", id_jag::TOKEN_EXCHANGE, "RFC 8693 §2.1"),
            ("requested_token_type", id_jag::TOKEN_TYPE, "ema draft §4, REQUIRED"),
            (
                "subject_token",
                id_token.as_str(),
                "ema draft §4, REQUIRED: the identity assertion (the ID token)",
            ),
            ("subject_token_type", id_jag::ID_TOKEN_TYPE, "ema draft §4, REQUIRED"),
        ];
        for (name, value, source) in expected {
            let sent = param(name);
            if sent.as_deref() != Some(value) {
                let shown = if name == "subject_token" { sent.map(|_| "another token".into()) } else { sent };
                return Check::Violated(Violation::about(
                    at,
                    format!(
                        "{name}={} ({source})",
                        if name == "subject_token" { "the ID token" } else { value }
                    ),
                    format!("{name} {shown:?}"),
                ));
            }
        }
        let audience = param("audience");
        if audience.as_deref() != Some(issuer.as_str()) {
            return Check::Violated(Violation::about(
                at,
                format!("audience={issuer}, the issuer of server A's AS ({AUDIENCE_RULE})"),
                format!("audience {audience:?}"),
            ));
        }
        let resource = param("resource");
        if resource.is_some() && !names_server(w, resource.as_deref()) {
            return Check::Violated(Violation::about(
                at,
                format!(
                    "no resource, or resource={} (ema §4: \"MUST be the Resource Identifier of the MCP Server\")",
                    w.mcp
                ),
                format!("resource {resource:?}"),
            ));
        }
    }
    right(w, outcome)
}

/// CL-EMA-02: the ID-JAGs the harness's IdP issued the client go to server A's AS, each
/// as the `assertion` of a token request with `grant_type=urn:ietf:params:oauth:
/// grant-type:jwt-bearer` (EMA draft §5: `grant_type` "**MUST** be
/// `urn:ietf:params:oauth:grant-type:jwt-bearer`", `assertion` REQUIRED, "The Identity
/// Assertion JWT Authorization Grant obtained in the previous token exchange step"); no
/// request to the AS carries one otherwise (as a `subject_token`, say), and, when the
/// client finished, each one issued was presented. The AS's `/authorize` opened as well
/// is noted in the trace, not graded: no sentence forbids it (the extension makes the
/// grant the way to a token "without" a per-server authorization, and a client that
/// authorizes instead leaves its ID-JAG unpresented, which is graded). A dynamic
/// registration is taken: §5 lets a client that "has not yet registered" do one "at this
/// stage". The client's authentication at the AS is the AS's to judge (AS-EMA-01).
pub(super) fn id_jag_presented_as_assertion(w: &mut World) -> Check {
    let (grant, _) = step!(enterprise_grant(w));
    let idp_token = match w.enterprise() {
        Ok(e) => format!("{}/token", e.idp),
        Err(check) => return check,
    };
    let mut client = step!(client_for(w, grant));
    let issued: Rc<RefCell<Vec<String>>> = Rc::default();
    let keep = Rc::clone(&issued);
    let endpoint = idp_token.clone();
    let log = w.tap(
        &[Channel::FrontChannel, Channel::Token],
        |_, _| Verdict::Pass,
        move |_, req, resp| {
            if req.uri().to_string() != endpoint || !resp.status().is_success() {
                return;
            }
            let body: Value = serde_json::from_slice(resp.body()).unwrap_or_default();
            if let Some(jag) = body["access_token"].as_str() {
                keep.borrow_mut().push(jag.to_string());
            }
        },
    );
    let outcome = w.run_client("enterprise-agent", &mut client, echo());
    let issued = issued.borrow().clone();
    if issued.is_empty() {
        return Check::Undecided(format!(
            "no ID-JAG to judge: the harness's IdP issued the client none (CL-EMA-01 judges its token \
             exchange; {outcome:?})"
        ));
    }
    let authorize = w.as_under_test.authorization_endpoint.clone();
    let opened = seen(&log, |s| s.channel == Channel::FrontChannel && s.url.starts_with(&authorize));
    if let Some(s) = opened.first() {
        // Reported, not graded: no sentence forbids it; an ID-JAG left unpresented is.
        w.note(&format!("the client also opened the AS's authorization endpoint: {} {}", s.method, s.url));
    }
    let token_endpoint = w.as_under_test.token_endpoint.clone();
    let requests = posts_to(&log, &token_endpoint);
    for r in &requests {
        let carried = issued
            .iter()
            .any(|jag| r.body.contains(jag.as_str()) || r.param("assertion").as_deref() == Some(jag));
        if !carried {
            continue;
        }
        let (grant_type, assertion) = (r.param("grant_type"), r.param("assertion"));
        let presented = grant_type.as_deref() == Some(id_jag::JWT_BEARER)
            && assertion.as_ref().is_some_and(|a| issued.contains(a));
        if !presented {
            return Check::Violated(Violation::about(
                format!("POST {} with the ID-JAG", r.url),
                format!(
                    "grant_type={} and the ID-JAG as assertion (ema draft §5: grant_type \"MUST be \
                     urn:ietf:params:oauth:grant-type:jwt-bearer\")",
                    id_jag::JWT_BEARER
                ),
                format!(
                    "grant_type {grant_type:?}, the ID-JAG {}",
                    if assertion.is_some() {
                        "as assertion"
                    } else {
                        "elsewhere in the request (not as assertion)"
                    }
                ),
            ));
        }
    }
    let presented = |jag: &String| requests.iter().any(|r| r.param("assertion").as_ref() == Some(jag));
    let unpresented = issued.iter().filter(|jag| !presented(jag)).count();
    match (unpresented, outcome) {
        (0, outcome) => right(w, outcome),
        (n, Ok(_)) => Check::Violated(Violation::about(
            format!("{} ID-JAGs issued to the client", issued.len()),
            "each presented to the AS as the assertion of the JWT bearer grant (ema §5)",
            format!("{n} never presented ({} token requests to {token_endpoint})", requests.len()),
        )),
        (n, Err(e)) => {
            Check::Undecided(format!("{n} ID-JAGs never presented: the client stopped first: {e}"))
        }
    }
}

/// CL-WIF-01: a workload holding a JWT of its platform (`aud` the AS's token endpoint,
/// `resource` not in it) calls a tool of server A. Each token request carrying it is the
/// JWT bearer grant (wif §Message Flow: `grant_type=urn:ietf:params:oauth:grant-type:
/// jwt-bearer`, `assertion=<JWT>`, `resource=…`; RFC 7523 §2.1) with the JWT, unaltered,
/// as `assertion`, and `resource` naming server A (MCP §Resource Parameter
/// Implementation: it "MUST be included in both authorization requests and token
/// requests"). The JWT's claims are the platform's (the harness's), not the client's.
/// The conformance suite also warns when a client retries or switches grants after an
/// error; no sentence of the text requires that, so it is not graded.
pub(super) fn workload_jwt_presented(w: &mut World) -> Check {
    if let Err(check) = w.enterprise() {
        return check;
    }
    let token_endpoint = w.as_under_test.token_endpoint.clone();
    let now = w.now().unix_secs();
    let claims = json!({"iss": WORKLOAD_ISSUER, "sub": "spiffe://workload.example/ns/agents/sa/mcp-agent",
        "aud": token_endpoint, "iat": now, "exp": now + 600, "jti": format!("workload-{now}")});
    let workload_jwt = w.sign_as_workload_platform(&claims);
    let identity = WorkloadIdentity { jwt: workload_jwt.clone(), client_id: None };
    let mut client = step!(client_for(w, JwtBearerGrant::Workload(identity)));
    w.note(&format!("a workload holding a JWT of {WORKLOAD_ISSUER} for {token_endpoint}"));
    let log = w.record(&[Channel::Token]);
    let outcome = w.run_client("workload", &mut client, echo());
    let grants: Vec<Seen> = posts_to(&log, &token_endpoint)
        .into_iter()
        .filter(|r| r.body.contains(workload_jwt.as_str()))
        .collect();
    if grants.is_empty() {
        return Check::Undecided(format!(
            "the client never presented its workload JWT to the AS ({outcome:?})"
        ));
    }
    for g in &grants {
        let at = format!("POST {}", g.url);
        let (grant_type, assertion) = (g.param("grant_type"), g.param("assertion"));
        if grant_type.as_deref() != Some(id_jag::JWT_BEARER)
            || assertion.as_deref() != Some(workload_jwt.as_str())
        {
            return Check::Violated(Violation::about(
                at,
                format!(
                    "grant_type={} with the workload JWT as assertion (wif; RFC 7523 §2.1)",
                    id_jag::JWT_BEARER
                ),
                format!(
                    "grant_type {grant_type:?}, {}",
                    if assertion.is_some() { "an assertion" } else { "the JWT not as assertion" }
                ),
            ));
        }
        let resource = g.param("resource");
        if !names_server(w, resource.as_deref()) {
            return Check::Violated(Violation::about(
                at,
                format!(
                    "resource={} (MCP §Resource Parameter Implementation: it \"MUST be included in both \
                     authorization requests and token requests\")",
                    w.mcp
                ),
                format!("resource {resource:?}"),
            ));
        }
    }
    right(w, outcome)
}
