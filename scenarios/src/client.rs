//! Client scenarios: the world's reference client (with the run's defects) against
//! hostile or odd servers — discovery (protected resource metadata, authorization
//! server metadata, the 401 challenge), mix-up, `state`, the `resource` indicator,
//! where tokens go, step-up, and URLs a server hands the client (SSRF, dangerous
//! authorization URLs).
//!
//! What the client can enforce about URLs, and so what is tested here: only `https`,
//! `http` on loopback only, no other scheme (`javascript:`, `file:`, `data:`). IP
//! literals are judged in canonical form, so decimal, octal, hex and IPv4-mapped
//! spellings of an internal address are refused like the address itself. Loopback
//! stays reachable over `http` by design (local servers, RFC 8252). Internal addresses
//! behind `https` names, or `https` to a private IP, are the fetcher's to refuse (it
//! resolves names; see the harness's `AddressPolicy`): not simulated here.

use crate::Scenario;
use crate::world::{AS, EVIL, Hits, Log, MCP, MCP_ORIGIN, REDIRECT, Route, Seen, World, fixed};
use http::{HeaderValue, StatusCode, header};
use mcp_authz_harness::scenario::{Capability, Check, Level, Role};
use mcp_authz_harness::sim::{Channel, Verdict};
use mcp_authz_reference::Error;
use mcp_authz_reference::bearer::{self, Challenge};
use mcp_authz_reference::client::{ClientStep, Operation, Outcome, PublicClient};
use mcp_authz_reference::metadata::discovery_urls;
use mcp_authz_reference::pkce;
use mcp_authz_reference::protected_resource_metadata::{WELL_KNOWN, well_known_urls};
use mcp_authz_reference::sans_io::Response;
use mcp_authz_reference::wire::{self, Params};
use serde_json::{Value, json};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// The client scenarios.
pub fn scenarios() -> Vec<Scenario> {
    use Capability::*;
    use Level::*;
    use Role::Client;
    vec![
        Scenario::new(Client, "CL-DISC-01", "resource metadata naming another server is refused")
            .requirements(&["CL-01", "CL-25"])
            .level(Must)
            .tags(&["discovery", "attack"])
            .grants(&[MaliciousMcpServer])
            .body(prm_names_another_server),
        Scenario::new(Client, "CL-DISC-02", "AS metadata with another issuer is refused")
            .requirements(&["CL-09"])
            .level(Must)
            .tags(&["discovery", "attack"])
            .grants(&[MaliciousAuthorizationServer])
            .body(issuer_mismatch),
        Scenario::new(Client, "CL-DISC-03", "AS without S256 gets no authorization request")
            .requirements(&["CL-29", "CL-28"])
            .rfc9700("4.8")
            .level(Must)
            .tags(&["discovery", "pkce"])
            .grants(&[MaliciousAuthorizationServer])
            .body(no_s256),
        Scenario::new(Client, "CL-DISC-04", "resource metadata: challenge URL, else path then root")
            .requirements(&["CL-04", "CL-01"])
            .level(Must)
            .tags(&["discovery"])
            .grants(&[MaliciousMcpServer, Rewrite])
            .body(prm_discovery_order),
        Scenario::new(Client, "CL-DISC-05", "AS metadata discovery order for an issuer with a path")
            .requirements(&["CL-08", "CL-02"])
            .level(Must)
            .tags(&["discovery"])
            .body(as_discovery_order),
        Scenario::new(Client, "CL-DISC-06", "odd but valid WWW-Authenticate challenges are read right")
            .requirements(&["CL-03", "CL-04"])
            .level(Must)
            .tags(&["discovery"])
            .grants(&[MaliciousMcpServer, Rewrite])
            .body(challenge_syntax),
        Scenario::new(Client, "CL-REG-01", "a client ID metadata document is used when the AS accepts it")
            .requirements(&["CL-10", "CL-15", "CL-12"])
            .level(Should)
            .tags(&["registration"])
            .body(metadata_document_preferred),
        Scenario::new(Client, "CL-MIX-01", "mix-up: a response from another issuer is not redeemed")
            .requirements(&["CL-09", "X-05"])
            .rfc9700("4.4")
            .level(Must)
            .tags(&["mix-up", "attack"])
            .grants(&[MaliciousAuthorizationServer, Rewrite])
            .body(mix_up),
        Scenario::new(Client, "CL-SCOPE-01", "the challenged scope is requested, not scopes_supported")
            .requirements(&["CL-05", "CL-06"])
            .level(Must)
            .tags(&["scope"])
            .grants(&[MaliciousMcpServer, ReadFrontChannel, Rewrite])
            .body(challenged_scope_requested),
        Scenario::new(Client, "CL-STATE-01", "missing or altered state: no token request")
            .requirements(&["CL-32"])
            .rfc9700("4.7")
            .level(Should)
            .tags(&["front-channel", "attack"])
            .grants(&[ReadFrontChannel, ReadTokenRequests, Rewrite])
            .body(state_tampering),
        Scenario::new(Client, "CL-PKCE-01", "PKCE S256 with a fresh verifier on every flow")
            .requirements(&["CL-28", "CL-30"])
            .rfc9700("4.8")
            .level(Must)
            .tags(&["pkce"])
            .body(pkce_s256),
        Scenario::new(Client, "CL-RES-01", "resource names the server on authorize, token, refresh")
            .requirements(&["CL-19", "CL-20", "CL-21", "CL-22"])
            .level(Must)
            .tags(&["resource"])
            .grants(&[MaliciousMcpServer, ReadFrontChannel, ReadTokenRequests])
            .body(resource_everywhere),
        Scenario::new(Client, "CL-TOKEN-01", "a token goes only to the server it was issued for")
            .requirements(&["CL-25"])
            .rfc9700("4.9")
            .level(Must)
            .tags(&["audience", "attack"])
            .grants(&[MaliciousMcpServer])
            .body(token_only_to_its_server),
        Scenario::new(Client, "CL-STEP-01", "step-up re-authorizes with the challenged scope")
            .requirements(&["CL-26", "CL-06"])
            .level(Should)
            .tags(&["scope"])
            .grants(&[MaliciousMcpServer, ReadFrontChannel, ReadTokenRequests])
            .body(step_up_with_challenged_scope),
        Scenario::new(Client, "CL-STEP-02", "step-up stops when the server always answers 403")
            .requirements(&["CL-27"])
            .level(Should)
            .tags(&["scope"])
            .grants(&[MaliciousMcpServer, ReadFrontChannel])
            .body(step_up_bounded),
        Scenario::new(Client, "CL-SSRF-01", "plain-http OAuth URLs from a server are never fetched")
            .requirements(&["CL-37", "CL-38"])
            .level(Should)
            .tags(&["ssrf", "attack"])
            .grants(&[MaliciousMcpServer, MaliciousAuthorizationServer])
            .body(insecure_http_urls),
        Scenario::new(Client, "CL-SSRF-02", "internal IPs in decimal, octal, hex, v6 form never fetched")
            .requirements(&["CL-37", "CL-39"])
            .level(Should)
            .tags(&["ssrf", "attack"])
            .grants(&[MaliciousMcpServer, MaliciousAuthorizationServer])
            .body(encoded_addresses),
        Scenario::new(Client, "CL-SSRF-03", "javascript:, file:, data:, http authorize URLs never opened")
            .requirements(&["CL-41", "CL-43"])
            .level(Must)
            .tags(&["ssrf", "attack"])
            .grants(&[MaliciousMcpServer, MaliciousAuthorizationServer])
            .body(dangerous_authorization_endpoints),
        Scenario::new(Client, "CL-SSRF-04", "metadata redirects to internal addresses are not followed")
            .requirements(&["CL-37", "CL-40"])
            .level(Should)
            .tags(&["ssrf", "attack"])
            .grants(&[MaliciousMcpServer, MaliciousAuthorizationServer])
            .body(redirects_not_followed),
    ]
}

/// The hostile MCP server's endpoint.
const EVIL_MCP: &str = "https://evil.example/mcp";
/// Where canary endpoints live.
const CANARY: &str = "https://canary.example";

fn echo() -> Operation {
    Operation::CallTool { name: "echo".into(), arguments: json!({"text": "hi"}) }
}

/// The path-inserted protected resource metadata URL of `origin`'s `/mcp`.
fn prm_url(origin: &str) -> String {
    format!("{origin}{WELL_KNOWN}/mcp")
}

/// Protected resource metadata for `resource` naming `issuer`.
fn prm_of(resource: &str, issuer: &str) -> Value {
    json!({"resource": resource, "authorization_servers": [issuer], "scopes_supported": ["mcp:read"]})
}

/// A response with `status` and one `WWW-Authenticate` header per value.
fn challenged(status: StatusCode, values: &[&str]) -> Response {
    let mut r = wire::json(status, &json!({}));
    for v in values {
        if let Ok(v) = HeaderValue::from_str(v) {
            r.headers_mut().append(header::WWW_AUTHENTICATE, v);
        }
    }
    r
}

/// A hostile MCP server at `origin` (endpoint `/mcp`): every MCP request gets 401 with
/// a challenge naming `resource_metadata`; `prm` is served at the path-inserted URL.
fn hostile_mcp(w: &mut World, origin: &str, resource_metadata: &str, prm: Value) -> Hits {
    let challenge = format!(r#"Bearer resource_metadata="{resource_metadata}", scope="mcp:read""#);
    w.fake_host(
        origin,
        vec![
            ("/mcp".into(), fixed(challenged(StatusCode::UNAUTHORIZED, &[&challenge]))),
            (format!("{WELL_KNOWN}/mcp"), fixed(wire::json(StatusCode::OK, &prm))),
        ],
    )
}

/// Authorization server metadata for `issuer` with every endpoint under `endpoints`:
/// S256, `iss` in authorization responses, open registration.
fn as_metadata(issuer: &str, endpoints: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{endpoints}/authorize"),
        "token_endpoint": format!("{endpoints}/token"),
        "registration_endpoint": format!("{endpoints}/register"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true
    })
}

/// [`as_metadata`] with what OpenID Connect Discovery also requires (`jwks_uri`,
/// `subject_types_supported`, `id_token_signing_alg_values_supported`).
fn openid_metadata(issuer: &str) -> Value {
    let mut m = as_metadata(issuer, issuer);
    m["jwks_uri"] = json!(format!("{issuer}/jwks"));
    m["subject_types_supported"] = json!(["public"]);
    m["id_token_signing_alg_values_supported"] = json!(["ES256"]);
    m
}

/// A registration endpoint's answer: any client is welcome.
fn registered() -> Route {
    fixed(wire::json(
        StatusCode::CREATED,
        &json!({"client_id": "hostile-client", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code"], "response_types": ["code"]}),
    ))
}

/// An authorization server at `origin` serving `metadata` at the RFC 8414 root URL and
/// registering anyone at `/register`; everything else (its `/authorize`, `/token`) 404.
fn hostile_as(w: &mut World, origin: &str, metadata: Value, extra: Vec<(String, Route)>) -> Hits {
    let mut routes = vec![
        ("/.well-known/oauth-authorization-server".to_string(), fixed(wire::json(StatusCode::OK, &metadata))),
        ("/register".to_string(), registered()),
    ];
    routes.extend(extra);
    w.fake_host(origin, routes)
}

fn received(hits: &Hits, line: &str) -> bool {
    hits.borrow().iter().any(|h| h == line)
}

fn seen(log: &Log, keep: impl Fn(&Seen) -> bool) -> Vec<Seen> {
    log.borrow().iter().filter(|s| keep(s)).cloned().collect()
}

fn urls(seen: &[Seen]) -> Vec<String> {
    seen.iter().map(|s| format!("{} {}", s.method, s.url)).collect()
}

/// Authorization requests to any authorization endpoint.
fn authorizations(log: &Log) -> Vec<Seen> {
    seen(log, |s| s.channel == Channel::FrontChannel && s.path().ends_with("/authorize"))
}

/// Token requests redeeming an authorization code.
fn code_redemptions(log: &Log) -> Vec<Seen> {
    seen(log, |s| s.param("grant_type").as_deref() == Some("authorization_code"))
}

/// Runs `client` for `op` like [`World::run_client`] and also returns every URL the
/// client asked the user agent to open: the URL-opener hook of CL-41. Each is noted in
/// the trace before the simulated browser tries it.
fn run_opening(
    w: &mut World,
    name: &str,
    client: &mut PublicClient,
    op: Operation,
) -> (Result<Outcome, Error>, Vec<String>) {
    let mut opened = Vec::new();
    let browser = format!("browser:{name}");
    let mut step = w.sim.env_for(&format!("{name}:0"), |env| client.start(op, env));
    for i in 1..200 {
        step = match step {
            ClientStep::Done(o) => return (Ok(o), opened),
            ClientStep::Failed(e) => {
                w.note(&format!("{name} failed: {e}"));
                return (Err(e), opened);
            }
            ClientStep::Send(req) => {
                let r = w.sim.send(name, req);
                w.sim.env_for(&format!("{name}:{i}"), |env| client.on_response(r, env))
            }
            ClientStep::Authorize { url } => {
                w.note(&format!("{name} opens {url}"));
                opened.push(url.clone());
                match w.sim.browse(&browser, &url, REDIRECT) {
                    Ok(redirect) => {
                        w.sim.env_for(&format!("{name}:{i}"), |env| client.on_redirect(&redirect, env))
                    }
                    Err(e) => return (Err(e), opened),
                }
            }
        };
    }
    (Err(Error::Refused(format!("{name} did not finish within 200 steps"))), opened)
}

/// Rewrites the query of an authorization response (a redirect carrying `code` or
/// `error`, to whatever redirect URI the client registered) with `f`; false when `resp`
/// is no such redirect.
fn rewrite_redirect(resp: &mut Response, f: impl Fn(&mut Vec<(String, String)>)) -> bool {
    let location = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(String::from);
    let Some(mut url) = location.and_then(|l| url::Url::parse(&l).ok()) else {
        return false;
    };
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if !pairs.iter().any(|(k, _)| k == "code" || k == "error") {
        return false;
    }
    f(&mut pairs);
    url.set_query(None);
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    match HeaderValue::from_str(url.as_str()) {
        Ok(v) => {
            resp.headers_mut().insert(header::LOCATION, v);
            true
        }
        Err(_) => false,
    }
}

/// RFC 9728 §3.3 (rust-sdk PR #937): a hostile server publishes metadata claiming to
/// be server A, to collect a token for A.
fn prm_names_another_server(w: &mut World) -> Check {
    hostile_mcp(w, EVIL, &prm_url(EVIL), prm_of(MCP, AS));
    let log = w.record(&[Channel::FrontChannel, Channel::Token]);
    let mut client = w.public_client(EVIL_MCP);
    let _ = w.run_client("victim", &mut client, echo());
    let to_as = urls(&seen(&log, |_| true));
    Check::expect(to_as.is_empty(), || {
        format!(
            "metadata of {EVIL_MCP} says resource {MCP}: expected no registration, authorization or token \
             request, got {to_as:?}"
        )
    })
}

/// RFC 8414 §3.3: metadata fetched for one issuer that claims to be another.
fn issuer_mismatch(w: &mut World) -> Check {
    let mirror = "https://as-mirror.example";
    hostile_mcp(w, EVIL, &prm_url(EVIL), prm_of(EVIL_MCP, mirror));
    hostile_as(w, mirror, as_metadata(AS, CANARY), vec![]);
    let canary = w.canary(&[CANARY]);
    let mut client = w.public_client(EVIL_MCP);
    let _ = w.run_client("victim", &mut client, echo());
    Check::expect(canary.get() == 0, || {
        format!(
            "metadata fetched for issuer {mirror} says issuer {AS}: expected its endpoints unused, got {} \
             requests to {CANARY}",
            canary.get()
        )
    })
}

/// CL-29: PKCE support must be verified in the metadata before any authorization.
fn no_s256(w: &mut World) -> Check {
    for (i, methods) in [(1, None), (2, Some(json!(["plain"])))] {
        let origin = format!("https://evil{i}.example");
        let issuer = format!("https://as{i}.evil.example");
        hostile_mcp(w, &origin, &prm_url(&origin), prm_of(&format!("{origin}/mcp"), &issuer));
        let mut metadata = as_metadata(&issuer, &issuer);
        let what = match methods {
            Some(m) => {
                let what = format!("code_challenge_methods_supported {m}");
                metadata["code_challenge_methods_supported"] = m;
                what
            }
            None => {
                if let Some(m) = metadata.as_object_mut() {
                    m.remove("code_challenge_methods_supported");
                }
                "no code_challenge_methods_supported".to_string()
            }
        };
        let hits = hostile_as(w, &issuer, metadata, vec![]);
        let mut client = w.public_client(&format!("{origin}/mcp"));
        let _ = w.run_client(&format!("victim{i}"), &mut client, echo());
        if received(&hits, "GET /authorize") {
            return Check::Violated(format!(
                "{what}: expected no authorization request, got one at {issuer}/authorize"
            ));
        }
    }
    Check::Holds
}

/// CL-10/15: the honest AS advertises client ID metadata documents; the client, which
/// has one, uses its URL as `client_id` and does not register.
fn metadata_document_preferred(w: &mut World) -> Check {
    if w.client_is_external() {
        return metadata_document_of_a_process(w);
    }
    let url = "https://app.example/client.json";
    let client = w.public_client_with(MCP, |c| c.client_id_metadata_url = Some(url.into()));
    let mut client = match client {
        Ok(c) => c,
        Err(e) => {
            return Check::Undecided(format!("the client refuses {url} as its metadata document URL: {e}"));
        }
    };
    let Some(document) = client.metadata_document() else {
        return Check::Undecided("the client has no metadata document to publish".into());
    };
    w.fake_host(
        "https://app.example",
        vec![("/client.json".into(), fixed(wire::json(StatusCode::OK, &document)))],
    );
    let log = w.record(&[Channel::FrontChannel, Channel::Token]);
    let outcome = w.run_client("victim", &mut client, echo());
    let registrations = urls(&seen(&log, |s| s.path().ends_with("/register")));
    let client_ids: Vec<Option<String>> = authorizations(&log).iter().map(|a| a.param("client_id")).collect();
    if !registrations.is_empty() || client_ids.iter().any(|c| c.as_deref() != Some(url)) {
        return Check::Violated(format!(
            "AS with client_id_metadata_document_supported: expected client_id={url} and no registration, got \
             client ids {client_ids:?} and registrations {registrations:?}"
        ));
    }
    match outcome {
        Ok(_) if !client_ids.is_empty() => Check::Holds,
        Ok(_) => Check::Undecided("the client never authorized".into()),
        Err(e) => Check::Undecided(format!("the flow with the metadata document failed: {e}")),
    }
}

/// CL-10/15 for a client that is a process of its own, told (`--client-metadata-url`)
/// the URL of its metadata document: `client_id` = the URL, no registration. (On a
/// simulated host the world serves the document, so the flow completes; elsewhere the AS
/// cannot fetch it, and the check is the client's choice alone.)
fn metadata_document_of_a_process(w: &mut World) -> Check {
    let Some(url) = w.client_metadata_url() else {
        return Check::NotApplicable(
            "the client's metadata document URL is not known: give it with --client-metadata-url".into(),
        );
    };
    let log = w.record(&[Channel::FrontChannel, Channel::Token]);
    let mut client = w.public_client(MCP);
    let _ = w.run_client("victim", &mut client, echo());
    let registrations = urls(&seen(&log, |s| s.path().ends_with("/register")));
    let client_ids: Vec<Option<String>> = authorizations(&log).iter().map(|a| a.param("client_id")).collect();
    if !registrations.is_empty() || client_ids.iter().any(|c| c.as_deref() != Some(url.as_str())) {
        return Check::Violated(format!(
            "AS with client_id_metadata_document_supported, client metadata document {url}: expected \
             client_id={url} and no registration, got client ids {client_ids:?} and registrations {registrations:?}"
        ));
    }
    if client_ids.is_empty() {
        return Check::Undecided("the client never authorized".into());
    }
    Check::Holds
}

/// The challenge of a 401 without its `resource_metadata`.
fn drop_resource_metadata(resp: &mut Response) {
    if resp.status() != StatusCode::UNAUTHORIZED {
        return;
    }
    if let Ok(Some(c)) = bearer::bearer_challenge(resp.headers()) {
        let params =
            c.params.into_iter().filter(|(k, _)| !k.eq_ignore_ascii_case("resource_metadata")).collect();
        let c = Challenge { params, ..c };
        if let Ok(v) = HeaderValue::from_str(&c.to_header_value()) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
    }
}

fn prm_requests(log: &Log) -> Vec<String> {
    seen(log, |s| s.url.contains(WELL_KNOWN)).into_iter().map(|s| s.url).collect()
}

/// CL-04: without `resource_metadata`, path-inserted then root; with it, only it.
fn prm_discovery_order(w: &mut World) -> Check {
    let [path, root]: [String; 2] = match well_known_urls(MCP).map(TryInto::try_into) {
        Ok(Ok(urls)) => urls,
        _ => return Check::Undecided(format!("{MCP} has no path-inserted and root metadata URLs")),
    };
    w.note("the adversary strips resource_metadata from the challenge and hides the path-inserted metadata");
    let hidden = path.clone();
    let log = w.tap(
        &[Channel::Resource, Channel::Other],
        move |_, req| {
            if req.uri() == hidden.as_str() {
                Verdict::Respond(wire::json(StatusCode::NOT_FOUND, &json!({})))
            } else {
                Verdict::Pass
            }
        },
        |_, _, resp| drop_resource_metadata(resp),
    );
    let mut client = w.public_client(MCP);
    let outcome = w.run_client("victim", &mut client, echo());
    let asked = prm_requests(&log);
    // A client may discover again on a later 401: each round must be path, then root.
    let rounds_in_order = !asked.is_empty() && asked.chunks(2).all(|r| r == [path.clone(), root.clone()]);
    if !rounds_in_order {
        return Check::Violated(format!(
            "challenge without resource_metadata: expected GET {path} then {root}, got {asked:?}"
        ));
    }
    if let Err(e) = outcome {
        return Check::Violated(format!(
            "metadata at the root only: expected the call to succeed, got `{e}`"
        ));
    }
    w.note("the challenge names resource_metadata; the root metadata is a trap");
    let log = w.record(&[Channel::Other]);
    let mut client = w.public_client(MCP);
    let _ = w.run_client("victim2", &mut client, echo());
    let asked = prm_requests(&log);
    Check::expect(!asked.is_empty() && asked.iter().all(|a| *a == path), || {
        format!("challenge with resource_metadata={path}: expected only that URL fetched, got {asked:?}")
    })
}

/// CL-08: for `https://tenant.example/t1`, OAuth path-inserted, OpenID path-inserted,
/// OpenID path-appended; the root metadata (another issuer's) is a trap.
fn as_discovery_order(w: &mut World) -> Check {
    let origin = "https://tenant.example";
    let issuer = "https://tenant.example/t1";
    let Ok(expected) = discovery_urls(issuer) else {
        return Check::Undecided(format!("no discovery urls for {issuer}"));
    };
    hostile_mcp(w, EVIL, &prm_url(EVIL), prm_of(EVIL_MCP, issuer));
    let routes = vec![
        (
            "/t1/.well-known/openid-configuration".to_string(),
            fixed(wire::json(StatusCode::OK, &openid_metadata(issuer))),
        ),
        (
            "/.well-known/oauth-authorization-server".to_string(),
            fixed(wire::json(StatusCode::OK, &as_metadata(origin, origin))),
        ),
        ("/t1/register".to_string(), registered()),
    ];
    let hits = w.fake_host(origin, routes);
    let mut client = w.public_client(EVIL_MCP);
    let _ = w.run_client("victim", &mut client, echo());
    let asked: Vec<String> = hits.borrow().iter().filter(|h| h.contains("/.well-known/")).cloned().collect();
    let want: Vec<String> =
        expected.iter().map(|u| format!("GET {}", u.trim_start_matches(origin))).collect();
    Check::expect(asked == want && received(&hits, "POST /t1/register"), || {
        format!(
            "issuer {issuer}: expected metadata requests {want:?} and then registration at {issuer}/register, \
             got {:?}",
            hits.borrow()
        )
    })
}

/// CL-03: challenges the client must read right — a `Basic` challenge first (in its
/// own header), escaped quotes, commas inside quoted strings, spaces around `=`. The
/// PRM sits at a URL only the challenge names. (An unescaped quote inside a value is
/// the server's fault, checked on the server side; the reference parser reads it as a
/// literal quote, so there is no client-side verdict to give.)
fn challenge_syntax(w: &mut World) -> Check {
    let meta = "https://meta.example";
    let metadata = match w.mcp_server() {
        Ok(server) => server.protected_resource_metadata(),
        Err(skip) => return Check::NotApplicable(skip.0),
    };
    let meta_hits =
        w.fake_host(meta, vec![("/prm/mcp".into(), fixed(wire::json(StatusCode::OK, &metadata)))]);
    let decoy = w.canary(&[CANARY]);
    let variants: [(&str, Vec<String>); 2] = [
        (
            "a Basic challenge in a first header, escapes and odd spacing in the second",
            vec![
                r#"Basic realm="legacy \"v1\", kept""#.into(),
                format!(
                    r#"Bearer realm="mcp" ,error="invalid_request",  error_description="no \"Bearer\" token, try again" , scope="mcp:read",resource_metadata = "{meta}/prm/mcp""#
                ),
            ],
        ),
        (
            "a comma and a decoy inside a quoted string",
            vec![format!(
                r#"Bearer error_description="see docs, resource_metadata={CANARY}/prm", resource_metadata="{meta}/prm/mcp", scope="mcp:read""#
            )],
        ),
    ];
    for (i, (what, values)) in variants.into_iter().enumerate() {
        let shown = values.join(" | ");
        w.note(&format!("the adversary rewrites 401 challenges to: {shown}"));
        let log = w.tap(
            &[Channel::Resource, Channel::Other],
            |_, _| Verdict::Pass,
            move |_, _, resp| {
                if resp.status() == StatusCode::UNAUTHORIZED {
                    resp.headers_mut().remove(header::WWW_AUTHENTICATE);
                    for v in &values {
                        if let Ok(v) = HeaderValue::from_str(v) {
                            resp.headers_mut().append(header::WWW_AUTHENTICATE, v);
                        }
                    }
                }
            },
        );
        let before = meta_hits.borrow().len();
        let mut client = w.public_client(MCP);
        let outcome = w.run_client(&format!("victim{i}"), &mut client, echo());
        let used = meta_hits.borrow().len() > before;
        let probed = prm_requests(&log);
        if !used || !probed.is_empty() || decoy.get() > 0 || outcome.is_err() {
            return Check::Violated(format!(
                "{what} (`{shown}`): expected the metadata fetched from {meta}/prm/mcp only and the call to \
                 succeed; got metadata from the challenge URL: {used}, well-known probes {probed:?}, decoy \
                 hits {}, outcome {:?}",
                decoy.get(),
                outcome.map(|_| "ok").map_err(|e| e.to_string())
            ));
        }
    }
    Check::Holds
}

/// RFC 9207 / RFC 9700 §4.4: a hostile MCP server names the attacker's AS, whose
/// authorization endpoint sends the user to the honest AS; the honest AS's response
/// (iss = the honest AS) must not be redeemed at the attacker's token endpoint. Then an
/// honest flow whose response lost its `iss` although the AS advertises it.
fn mix_up(w: &mut World) -> Check {
    let attacker_as = "https://as.attacker.example";
    let registration = wire::post_json_request(
        &format!("{AS}/register"),
        &json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none", "client_name": "attacker app"}),
    );
    let attacker_client = registration
        .ok()
        .and_then(|r| w.send("attacker", r).ok())
        .and_then(|r| serde_json::from_slice::<Value>(r.body()).ok())
        .and_then(|v| v["client_id"].as_str().map(String::from));
    let Some(attacker_client) = attacker_client else {
        return Check::Undecided("the attacker could not register a client at the honest AS".into());
    };
    w.note("the attacker's AS forwards authorization requests to the honest AS under its own client id");
    let forward: Route = Box::new(move |req| {
        let q = Params::from_query(req.uri()).unwrap_or_default();
        let pairs = [
            ("response_type", "code"),
            ("client_id", attacker_client.as_str()),
            ("redirect_uri", q.get("redirect_uri").unwrap_or(REDIRECT)),
            ("code_challenge", q.get("code_challenge").unwrap_or("")),
            ("code_challenge_method", "S256"),
            ("state", q.get("state").unwrap_or("")),
            ("resource", MCP),
            ("scope", "mcp:read"),
        ];
        wire::redirect(StatusCode::FOUND, &format!("{AS}/authorize?{}", wire::encode_pairs(pairs)))
    });
    hostile_mcp(w, EVIL, &prm_url(EVIL), prm_of(EVIL_MCP, attacker_as));
    let hits = hostile_as(
        w,
        attacker_as,
        as_metadata(attacker_as, attacker_as),
        vec![("/authorize".into(), forward)],
    );
    let coded = Rc::new(Cell::new(false));
    let flag = coded.clone();
    let log = w.tap(
        &[Channel::FrontChannel, Channel::Token],
        |_, _| Verdict::Pass,
        move |_, _, resp| {
            let location = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
            let url = location.and_then(|l| url::Url::parse(l).ok());
            if url.is_some_and(|u| u.query_pairs().any(|(k, _)| k == "code")) {
                flag.set(true);
            }
        },
    );
    let mut client = w.public_client(EVIL_MCP);
    let _ = w.run_client("victim", &mut client, echo());
    if !received(&hits, "GET /authorize") {
        return Check::Undecided("the client never reached the attacker's authorization endpoint".into());
    }
    if !coded.get() {
        return Check::Undecided(format!(
            "the honest AS issued no code to the attacker's forwarded request (it allows the redirect URI \
             {REDIRECT} and loopback variants of it)"
        ));
    }
    let redeemed = urls(&code_redemptions(&log));
    if !redeemed.is_empty() {
        return Check::Violated(format!(
            "authorization started at {attacker_as}, response from iss={AS}: expected no code redemption, got \
             {redeemed:?}"
        ));
    }
    w.note("honest flow; the adversary removes iss from the authorization response");
    let stripped = Rc::new(Cell::new(false));
    let flag = stripped.clone();
    let log = w.tap(
        &[Channel::FrontChannel, Channel::Token],
        |_, _| Verdict::Pass,
        move |_, _, resp| {
            if rewrite_redirect(resp, |p| p.retain(|(k, _)| k != "iss")) {
                flag.set(true);
            }
        },
    );
    let mut client = w.public_client(MCP);
    let _ = w.run_client("victim2", &mut client, echo());
    if !stripped.get() {
        return Check::Undecided("no authorization response reached the client".into());
    }
    let redeemed = urls(&code_redemptions(&log));
    Check::expect(redeemed.is_empty(), || {
        format!(
            "authorization response without iss from {AS}, which advertises it: expected no code redemption, got {redeemed:?}"
        )
    })
}

/// CL-05/06: the metadata's `scopes_supported` leaves out the scope the challenge names;
/// the challenge wins.
fn challenged_scope_requested(w: &mut World) -> Check {
    w.note("the adversary rewrites scopes_supported in the resource metadata to [mcp:write, mcp:admin]");
    let challenges: Rc<RefCell<Vec<String>>> = Rc::default();
    let record = challenges.clone();
    let log = w.tap(
        &[Channel::Resource, Channel::Other, Channel::FrontChannel],
        |_, _| Verdict::Pass,
        move |msg, req, resp| {
            if msg.channel == Channel::Other && req.uri().path().starts_with(WELL_KNOWN) {
                if let Ok(mut prm) = serde_json::from_slice::<Value>(resp.body()) {
                    prm["scopes_supported"] = json!(["mcp:write", "mcp:admin"]);
                    *resp.body_mut() = prm.to_string().into();
                }
            }
            if let Ok(Some(c)) = bearer::bearer_challenge(resp.headers()) {
                record.borrow_mut().extend(c.get("scope").map(String::from));
            }
        },
    );
    let mut client = w.public_client(MCP);
    let _ = w.run_client("victim", &mut client, echo());
    let Some(challenged) = challenges.borrow().first().cloned() else {
        return Check::Undecided("server A's challenge named no scope".into());
    };
    let requested = authorizations(&log).first().and_then(|a| a.param("scope"));
    let covers =
        requested.as_deref().is_some_and(|r| challenged.split(' ').all(|c| r.split(' ').any(|s| s == c)));
    Check::expect(covers, || {
        format!(
            "challenge scope=\"{challenged}\", scopes_supported [mcp:write, mcp:admin]: expected the authorization \
             request to ask for {challenged}, got scope {requested:?}"
        )
    })
}

/// CL-32: an adversary on the front channel drops or replaces `state`.
fn state_tampering(w: &mut World) -> Check {
    type Tamper = fn(&mut Vec<(String, String)>);
    let variants: [(&str, Tamper); 2] = [
        ("state removed", |p| p.retain(|(k, _)| k != "state")),
        ("state replaced", |p| {
            for (k, v) in p.iter_mut() {
                if k == "state" {
                    *v = "attacker-state".into();
                }
            }
        }),
    ];
    for (i, (what, tamper)) in variants.into_iter().enumerate() {
        w.note(&format!("the adversary rewrites the authorization response: {what}"));
        let tampered = Rc::new(Cell::new(false));
        let flag = tampered.clone();
        let log = w.tap(
            &[Channel::FrontChannel, Channel::Token],
            |_, _| Verdict::Pass,
            move |_, _, resp| {
                if rewrite_redirect(resp, tamper) {
                    flag.set(true);
                }
            },
        );
        let mut client = w.public_client(MCP);
        let _ = w.run_client(&format!("victim{i}"), &mut client, echo());
        if !tampered.get() {
            return Check::Undecided("no authorization response reached the client".into());
        }
        let redeemed = urls(&code_redemptions(&log));
        if !redeemed.is_empty() {
            return Check::Violated(format!("{what}: expected no token request, got {redeemed:?}"));
        }
    }
    Check::Holds
}

/// CL-28/30: two flows; each authorization request carries an S256 challenge that the
/// verifier of its code exchange hashes to, and the two challenges differ.
fn pkce_s256(w: &mut World) -> Check {
    let log = w.record(&[Channel::FrontChannel, Channel::Token]);
    let _ = w.connected_client("victim");
    let _ = w.connected_client("victim2");
    let authz = authorizations(&log);
    for a in &authz {
        let method = a.param("code_challenge_method");
        if method.as_deref() != Some(pkce::S256) || a.param("code_challenge").is_none() {
            return Check::Violated(format!(
                "authorization request {}: expected a code_challenge with code_challenge_method=S256, got \
                 method {method:?}",
                a.url
            ));
        }
    }
    let codes = code_redemptions(&log);
    if authz.len() != 2 || codes.len() != 2 {
        return Check::Undecided(format!(
            "expected two authorizations and two code exchanges, saw {} and {}",
            authz.len(),
            codes.len()
        ));
    }
    let mut challenges = Vec::new();
    for (a, c) in authz.iter().zip(&codes) {
        let challenge = a.param("code_challenge").unwrap_or_default();
        let verifier = c.param("code_verifier").unwrap_or_default();
        if let Err(e) =
            pkce::check_verifier_syntax(&verifier).and_then(|()| pkce::verify_s256(&verifier, &challenge))
        {
            return Check::Violated(format!(
                "code_verifier `{verifier}` for code_challenge `{challenge}`: expected 43-128 unreserved \
                 characters hashing to the challenge, got {e}"
            ));
        }
        challenges.push(challenge);
    }
    Check::expect(challenges[0] != challenges[1], || {
        format!(
            "two flows sent the same code_challenge `{}`: expected a fresh verifier per flow",
            challenges[0]
        )
    })
}

/// CL-19..22: `resource` = the canonical server URI on every request to the AS.
fn resource_everywhere(w: &mut World) -> Check {
    let external = w.client_is_external();
    let log = if external {
        // A process cannot be told to refresh: server A answers the first MCP request
        // carrying a token with 401 invalid_token (expired), and the client refreshes.
        w.note("server A answers the first request with a token: 401 invalid_token (expired)");
        let expired = Cell::new(false);
        let challenge = format!(
            r#"Bearer error="invalid_token", error_description="the token expired", resource_metadata="{}""#,
            prm_url(MCP_ORIGIN)
        );
        w.tap(
            &[Channel::FrontChannel, Channel::Token, Channel::Resource],
            move |msg, req| {
                if msg.channel == Channel::Resource
                    && req.headers().contains_key(header::AUTHORIZATION)
                    && !expired.replace(true)
                {
                    Verdict::Respond(challenged(StatusCode::UNAUTHORIZED, &[&challenge]))
                } else {
                    Verdict::Pass
                }
            },
            |_, _, _| {},
        )
    } else {
        w.record(&[Channel::FrontChannel, Channel::Token])
    };
    if let Ok(mut client) = w.connected_client("victim") {
        if !external {
            let _ = w.run_client_step("victim", &mut client, |c, env| c.refresh(env));
        }
    }
    let authz = authorizations(&log);
    let codes = code_redemptions(&log);
    let refreshes = seen(&log, |s| s.param("grant_type").as_deref() == Some("refresh_token"));
    for (what, requests) in
        [("authorization request", &authz), ("code exchange", &codes), ("refresh", &refreshes)]
    {
        if let Some(bad) = requests.iter().find(|s| s.param("resource").as_deref() != Some(MCP)) {
            return Check::Violated(format!(
                "{what} {} {}: expected resource={MCP}, got {:?}",
                bad.method,
                bad.url,
                bad.param("resource")
            ));
        }
    }
    if authz.is_empty() || codes.is_empty() || refreshes.is_empty() {
        return Check::Undecided(format!(
            "expected an authorization, a code exchange and a refresh; saw {}, {} and {}",
            authz.len(),
            codes.len(),
            refreshes.len()
        ));
    }
    Check::Holds
}

/// CL-25: after using server A, the client is pointed at a hostile server.
fn token_only_to_its_server(w: &mut World) -> Check {
    if w.client_is_external() {
        return token_only_to_its_server_across_runs(w);
    }
    let mut client = match w.connected_client("victim") {
        Ok(c) => c,
        Err(e) => return Check::Undecided(format!("the client could not use server A: {e}")),
    };
    let Some(token) = client.tokens().map(|t| t.access_token.clone()) else {
        return Check::Undecided("the client holds no token after using server A".into());
    };
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
    let leaked = authorizations_seen.borrow().iter().any(|a| a.contains(&token));
    Check::expect(!leaked, || {
        format!(
            "{EVIL_MCP} received the token issued for {MCP}: expected no Authorization header carrying it"
        )
    })
}

/// CL-25 for a client that is a process of its own: it uses server A, then (a new run)
/// a hostile server; a client that keeps its tokens must not send A's there. Every
/// request of both runs is watched: a token issued to the client must travel only in
/// the `Authorization` header, and only to the server it was asked for.
fn token_only_to_its_server_across_runs(w: &mut World) -> Check {
    let mut client = match w.connected_client("victim") {
        Ok(c) => c,
        Err(e) => return Check::Undecided(format!("the client could not use server A: {e}")),
    };
    hostile_mcp(w, EVIL, &prm_url(EVIL), prm_of(EVIL_MCP, AS));
    w.note(&format!("the same client (its state folder kept) is run again, against {EVIL_MCP}"));
    if let Err(e) = client.connect(EVIL_MCP) {
        return Check::Undecided(format!("cannot point the client at {EVIL_MCP}: {e}"));
    }
    let _ = w.run_client("victim", &mut client, echo());
    let leaks = w.client_token_leaks();
    Check::expect(leaks.is_empty(), || {
        format!("expected each token only in the Authorization header to its own server, got {leaks:?}")
    })
}

/// CL-26 for a client that is a process of its own: server A answers the first
/// `tools/…` request carrying a token with 403 insufficient_scope naming `mcp:write`.
fn step_up_of_a_process(w: &mut World) -> Check {
    let challenge = format!(
        r#"Bearer error="insufficient_scope", scope="mcp:read mcp:write", resource_metadata="{}""#,
        prm_url(MCP_ORIGIN)
    );
    w.note("server A answers every tools request whose token lacks mcp:write: 403 insufficient_scope");
    let challenged_once = Rc::new(Cell::new(false));
    let flag = challenged_once.clone();
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
            if msg.channel == Channel::Token && resp.status() == StatusCode::OK {
                if let Ok(v) = serde_json::from_slice::<Value>(resp.body()) {
                    if let (Some(t), Some(scope)) = (v["access_token"].as_str(), v["scope"].as_str()) {
                        issued.borrow_mut().push((t.to_string(), scope.to_string()));
                    }
                }
            }
        },
    );
    let mut client = w.public_client(MCP);
    let outcome = w.run_client("victim", &mut client, echo());
    if !challenged_once.get() {
        return Check::Undecided("the client sent no tools/list or tools/call with a token".into());
    }
    let scopes: Vec<Option<String>> = authorizations(&log).iter().map(|s| s.param("scope")).collect();
    let widened =
        scopes.get(1).and_then(Option::as_deref).is_some_and(|s| s.split(' ').any(|s| s == "mcp:write"));
    Check::expect(widened && outcome.is_ok(), || {
        format!(
            "403 insufficient_scope scope=\"mcp:read mcp:write\": expected a second authorization asking for \
             mcp:write and the client to finish, got authorization scopes {scopes:?}, outcome {:?}",
            outcome.map(|_| "ok").map_err(|e| e.to_string())
        )
    })
}

/// CL-26: a `write_note` call with a `mcp:read` token gets 403 insufficient_scope.
fn step_up_with_challenged_scope(w: &mut World) -> Check {
    if w.client_is_external() {
        return step_up_of_a_process(w);
    }
    let mut client = match w.connected_client("victim") {
        Ok(c) => c,
        Err(e) => return Check::Undecided(format!("the client could not use server A: {e}")),
    };
    let scope = client.tokens().and_then(|t| t.scope.clone()).unwrap_or_default();
    if scope.split(' ').any(|s| s == "mcp:write") {
        return Check::Undecided(format!(
            "the first token already has scope `{scope}`: no step-up to observe"
        ));
    }
    let log = w.record(&[Channel::FrontChannel]);
    let write = Operation::CallTool { name: "write_note".into(), arguments: json!({"text": "hi"}) };
    let outcome = w.run_client("victim", &mut client, write);
    let scopes: Vec<Option<String>> = authorizations(&log).iter().map(|s| s.param("scope")).collect();
    let widened =
        scopes.first().and_then(Option::as_deref).is_some_and(|s| s.split(' ').any(|s| s == "mcp:write"));
    Check::expect(widened && outcome.is_ok(), || {
        format!(
            "403 insufficient_scope scope=\"mcp:write\": expected a re-authorization with mcp:write and the call \
             to succeed, got authorization scopes {scopes:?}, outcome {:?}",
            outcome.map(|_| "ok").map_err(|e| e.to_string())
        )
    })
}

/// CL-27: every `tools/call` is answered 403 insufficient_scope; the suite allows 3
/// authorizations.
fn step_up_bounded(w: &mut World) -> Check {
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
        format!("a server that always answers 403: expected at most 3 authorizations, got {n}")
    })
}

/// For a client that is a process of its own: `NotApplicable` when it does not send
/// requests for other hosts through the harness's proxy, so that requests to internal
/// addresses cannot be seen.
fn unobservable_ssrf(w: &mut World) -> Option<Check> {
    (w.client_is_external() && !client_uses_proxy(w)).then(|| {
        Check::NotApplicable(
            "the client does not use HTTP_PROXY/HTTPS_PROXY, so the harness cannot see requests it would send \
             to internal addresses"
                .into(),
        )
    })
}

/// True when the external client sends requests to non-loopback addresses through the
/// harness's proxy, as `HTTP_PROXY`/`HTTPS_PROXY` ask: then requests it makes to internal
/// addresses can be seen. Probed with a run against a server whose metadata names an
/// authorization server at `https://proxy-probe.invalid` (an honest https URL the client
/// may fetch).
fn client_uses_proxy(w: &mut World) -> bool {
    let probed = |w: &World| w.client_proxied().iter().any(|p| p.contains("proxy-probe.invalid"));
    if probed(w) {
        return true;
    }
    let origin = "https://proxy-probe.example";
    let prm = json!({"resource": format!("{origin}/mcp"), "authorization_servers": ["https://proxy-probe.invalid"]});
    let challenge = format!(r#"Bearer resource_metadata="{}""#, prm_url(origin));
    w.fake_host(
        origin,
        vec![
            ("/mcp".into(), fixed(challenged(StatusCode::UNAUTHORIZED, &[&challenge]))),
            (format!("{WELL_KNOWN}/mcp"), fixed(wire::json(StatusCode::OK, &prm))),
        ],
    );
    w.note("probe: does the client send requests for other hosts through HTTP(S)_PROXY?");
    let mut client = w.public_client(&format!("{origin}/mcp"));
    let _ = w.run_client("proxy-probe", &mut client, Operation::ListTools);
    probed(w)
}

/// Runs a client named `name` against a hostile MCP server at `origin` whose challenge
/// names `resource_metadata` (default: its path-inserted URL) and whose metadata names
/// `issuer`. The verdict comes from the canaries the scenario set up.
fn hostile_flow(w: &mut World, name: &str, origin: &str, resource_metadata: Option<&str>, issuer: &str) {
    let endpoint = format!("{origin}/mcp");
    let prm_at = resource_metadata.map_or_else(|| prm_url(origin), String::from);
    hostile_mcp(w, origin, &prm_at, prm_of(&endpoint, issuer));
    let mut client = w.public_client(&endpoint);
    let _ = w.run_client(name, &mut client, echo());
}

/// CL-38: `http` to a non-loopback host in `resource_metadata`,
/// `authorization_servers` and AS endpoints.
fn insecure_http_urls(w: &mut World) -> Check {
    if let Some(skip) = unobservable_ssrf(w) {
        return skip;
    }
    let metadata_canary = w.canary(&["http://169.254.169.254"]);
    hostile_flow(
        w,
        "victim1",
        "https://ssrf1.example",
        Some("http://169.254.169.254/latest/meta-data/iam/"),
        AS,
    );
    let issuer_canary = w.canary(&["http://10.0.0.1"]);
    hostile_flow(w, "victim2", "https://ssrf2.example", None, "http://10.0.0.1");
    let endpoint_canary = w.canary(&["http://internal.example"]);
    let issuer = "https://as-ssrf3.example";
    hostile_as(w, issuer, as_metadata(issuer, "http://internal.example"), vec![]);
    hostile_flow(w, "victim3", "https://ssrf3.example", None, issuer);
    for (what, canary) in [
        ("resource_metadata http://169.254.169.254/latest/meta-data/iam/", &metadata_canary),
        ("authorization_servers [http://10.0.0.1]", &issuer_canary),
        ("AS endpoints at http://internal.example", &endpoint_canary),
    ] {
        if canary.get() > 0 {
            return Check::Violated(format!("{what}: expected never fetched, got {} requests", canary.get()));
        }
    }
    Check::Holds
}

/// CL-39: internal addresses spelled so a string check misses them.
fn encoded_addresses(w: &mut World) -> Check {
    if let Some(skip) = unobservable_ssrf(w) {
        return skip;
    }
    let cases = [
        ("http://167772161/latest/", vec!["http://167772161", "http://10.0.0.1"]),
        (
            "http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/",
            vec!["http://0xa9.0xfe.0xa9.0xfe", "http://169.254.169.254"],
        ),
        ("http://012.0.0.1/", vec!["http://012.0.0.1", "http://10.0.0.1"]),
        (
            "http://[::ffff:a9fe:a9fe]/latest/",
            vec!["http://[::ffff:a9fe:a9fe]", "http://[::ffff:169.254.169.254]"],
        ),
    ];
    for (i, (url, spellings)) in cases.into_iter().enumerate() {
        let canary = w.canary(&spellings);
        hostile_flow(w, &format!("victim{i}"), &format!("https://ssrf{i}.example"), Some(url), AS);
        if canary.get() > 0 {
            return Check::Violated(format!(
                "resource_metadata {url}: expected never fetched, got {} requests",
                canary.get()
            ));
        }
    }
    Check::Holds
}

/// CL-41: authorization endpoints a user agent must never be sent to.
fn dangerous_authorization_endpoints(w: &mut World) -> Check {
    if let Some(skip) = unobservable_ssrf(w) {
        return skip;
    }
    let endpoints = [
        "javascript:alert(document.cookie)//",
        "file:///etc/passwd",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "http://evil.example/authorize",
    ];
    for (i, endpoint) in endpoints.into_iter().enumerate() {
        let origin = format!("https://url{i}.example");
        let issuer = format!("https://as-url{i}.example");
        let mut metadata = as_metadata(&issuer, &issuer);
        metadata["authorization_endpoint"] = json!(endpoint);
        hostile_as(w, &issuer, metadata, vec![]);
        hostile_mcp(w, &origin, &prm_url(&origin), prm_of(&format!("{origin}/mcp"), &issuer));
        let mut client = w.public_client(&format!("{origin}/mcp"));
        let (_, opened) = if w.client_is_external() {
            // A process opens a URL with the harness's browser (env BROWSER), or fetches
            // it itself (through the proxy).
            let (proxied, opened) = (w.client_proxied().len(), w.client_opened().len());
            let outcome = w.run_client(&format!("victim{i}"), &mut client, echo());
            let mut seen: Vec<String> = w.client_opened()[opened..].to_vec();
            seen.extend(w.client_proxied()[proxied..].iter().filter(|p| p.contains("/authorize")).cloned());
            (outcome, seen)
        } else {
            run_opening(w, &format!("victim{i}"), &mut client, echo())
        };
        if !opened.is_empty() {
            return Check::Violated(format!(
                "authorization_endpoint `{endpoint}`: expected the URL opener never called, got {opened:?}"
            ));
        }
    }
    Check::Holds
}

/// CL-40: metadata URLs that answer 302 to an internal address.
fn redirects_not_followed(w: &mut World) -> Check {
    if let Some(skip) = unobservable_ssrf(w) {
        return skip;
    }
    let to = |location: &str| fixed(wire::redirect(StatusCode::FOUND, location));
    let redirector = "https://redirector.example";
    w.fake_host(
        redirector,
        vec![
            ("/prm".into(), to("http://169.254.169.254/latest/meta-data/")),
            ("/.well-known/oauth-authorization-server".into(), to("http://10.0.0.1/metadata")),
        ],
    );
    let metadata_canary = w.canary(&["http://169.254.169.254"]);
    let issuer_canary = w.canary(&["http://10.0.0.1"]);
    hostile_flow(w, "victim1", "https://redir1.example", Some(&format!("{redirector}/prm")), AS);
    hostile_flow(w, "victim2", "https://redir2.example", None, redirector);
    for (what, canary) in [
        ("resource metadata 302 to http://169.254.169.254/latest/meta-data/", &metadata_canary),
        ("authorization server metadata 302 to http://10.0.0.1/metadata", &issuer_canary),
    ] {
        if canary.get() > 0 {
            return Check::Violated(format!(
                "{what}: expected the redirect not followed, got {} requests",
                canary.get()
            ));
        }
    }
    Check::Holds
}
