//! Discovery and registration: protected resource metadata naming another server, AS
//! metadata with another issuer or without S256, the discovery order of both, odd
//! challenges, client ID metadata documents, the `application_type` of a dynamic
//! registration, credentials kept with the authorization server that issued them.

use super::hostile::{
    CANARY, EVIL_MCP, as_metadata, authorizations, challenged, echo, hostile_as, hostile_mcp,
    openid_metadata, prm_of, prm_url, received, registered, registrations, seen, urls,
};
use crate::world::{AS, EVIL, Log, MCP, MCP_ORIGIN, Route, World, all_variants, clone_response, fixed};
use base64::Engine as _;
use http::{HeaderValue, StatusCode, header};
use mcp_authz_reference::bearer::{self, Challenge};
use mcp_authz_reference::client::{ApplicationType, PublicClient};
use mcp_authz_reference::metadata::discovery_urls;
use mcp_authz_reference::protected_resource_metadata::{WELL_KNOWN, well_known_urls};
use mcp_authz_reference::sans_io::Response;
use mcp_authz_reference::wire;
use mcp_authz_sim::scenario::{Check, Violation};
use mcp_authz_sim::sim::{Channel, Verdict};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::rc::Rc;

/// RFC 9728 §3.3 (rust-sdk PR #937): a hostile server publishes metadata claiming to
/// be server A, to collect a token for A.
pub(super) fn prm_names_another_server(w: &mut World) -> Check {
    hostile_mcp(w, EVIL, &prm_url(EVIL), prm_of(MCP, AS));
    let log = w.record(&[Channel::FrontChannel, Channel::Token]);
    let mut client = w.public_client(EVIL_MCP);
    let _ = w.run_client("victim", &mut client, echo());
    let to_as = urls(&seen(&log, |_| true));
    Check::expect(to_as.is_empty(), || {
        Violation::about(
            format!("metadata of {EVIL_MCP} says resource {MCP}"),
            "no registration, authorization or token request",
            format!("{to_as:?}"),
        )
    })
}

/// RFC 8414 §3.3: metadata fetched for one issuer that claims to be another.
pub(super) fn issuer_mismatch(w: &mut World) -> Check {
    let mirror = "https://as-mirror.example";
    hostile_mcp(w, EVIL, &prm_url(EVIL), prm_of(EVIL_MCP, mirror));
    hostile_as(w, mirror, as_metadata(AS, CANARY), vec![]);
    let canary = w.canary(&[CANARY]);
    let mut client = w.public_client(EVIL_MCP);
    let _ = w.run_client("victim", &mut client, echo());
    Check::expect(canary.get() == 0, || {
        Violation::about(
            format!("metadata fetched for issuer {mirror} says issuer {AS}"),
            "its endpoints unused",
            format!("{} requests to {CANARY}", canary.get()),
        )
    })
}

/// RFC 9728 §3.3, which MCP clients follow for discovery (CL-01): metadata fetched from
/// the challenge's `resource_metadata` URL "MUST be identical to the URL that the client
/// used to make the request to the resource server"; from a path-inserted well-known URL,
/// to the resource identifier the suffix was inserted into — "If these values are not
/// identical, the data contained in the response MUST NOT be used." (Metadata at the
/// root well-known URL, found after the path-inserted one is missing, names the origin:
/// that is the identifier it was fetched for, and is not tested here.) Two variants: the
/// metadata of `https://evil.example/mcp` names the origin `https://evil.example`, and
/// that of `https://evil2.example/tenant/mcp` its parent path `…/tenant`; the AS it names
/// must get no registration, authorization or token request.
pub(super) fn prm_naming_a_prefix_not_used(w: &mut World) -> Check {
    let variants = [
        ("https://evil1.example", "/mcp", "https://evil1.example", "the origin"),
        ("https://evil2.example", "/tenant/mcp", "https://evil2.example/tenant", "a parent path"),
    ];
    let mut outcomes = Vec::new();
    for (i, (origin, path, resource, what)) in variants.into_iter().enumerate() {
        let issuer = format!("https://as{i}.prefix.example");
        let prm_path = format!("{WELL_KNOWN}{path}");
        let challenge = format!(r#"Bearer resource_metadata="{origin}{prm_path}", scope="mcp:read""#);
        w.fake_host(
            origin,
            vec![
                (path.to_string(), fixed(challenged(StatusCode::UNAUTHORIZED, &[&challenge]))),
                (prm_path, fixed(wire::json(StatusCode::OK, &prm_of(resource, &issuer)))),
            ],
        );
        let hits = hostile_as(w, &issuer, as_metadata(&issuer, &issuer), vec![]);
        let mut client = w.public_client(&format!("{origin}{path}"));
        let _ = w.run_client(&format!("victim{i}"), &mut client, echo());
        let used: Vec<String> = ["POST /register", "GET /authorize", "POST /token"]
            .into_iter()
            .filter(|l| received(&hits, l))
            .map(String::from)
            .collect();
        let variant = format!("metadata of {origin}{path} naming {what}, {resource}");
        let check = Check::expect(used.is_empty(), || {
            Violation::about(
                variant.clone(),
                "the metadata not used: no request to the AS it names",
                format!("{used:?} at {issuer}"),
            )
        });
        outcomes.push((variant, check));
    }
    all_variants(w, outcomes)
}

/// CL-29: PKCE support must be verified in the metadata before any authorization.
pub(super) fn no_s256(w: &mut World) -> Check {
    let mut outcomes = Vec::new();
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
        let check = Check::expect(!received(&hits, "GET /authorize"), || {
            Violation::about(what.clone(), "no authorization request", format!("one at {issuer}/authorize"))
        });
        outcomes.push((what, check));
    }
    all_variants(w, outcomes)
}

/// CL-10/15: the honest AS advertises client ID metadata documents; the client, which
/// has one, uses its URL as `client_id` and does not register. The reference client is
/// given one at `https://app.example/client.json`; a client process brings its own
/// (`--client-metadata-url`: on a simulated host the world serves it, so the flow
/// completes; elsewhere the AS cannot fetch it, and the check is the client's choice
/// alone).
pub(super) fn metadata_document_preferred(w: &mut World) -> Check {
    let (mut client, url) = match client_with_metadata_document(w, "https://app.example/client.json") {
        Ok(c) => c,
        Err(check) => return check,
    };
    let log = w.record(&[Channel::FrontChannel, Channel::Token]);
    let outcome = w.run_client("victim", &mut client, echo());
    let registrations = urls(&seen(&log, |s| s.path().ends_with("/register")));
    let client_ids: Vec<Option<String>> = authorizations(&log).iter().map(|a| a.param("client_id")).collect();
    if !registrations.is_empty() || client_ids.iter().any(|c| c.as_deref() != Some(url.as_str())) {
        return Check::Violated(Violation::about(
            format!("AS with client_id_metadata_document_supported, client metadata document {url}"),
            format!("client_id={url} and no registration"),
            format!("client ids {client_ids:?} and registrations {registrations:?}"),
        ));
    }
    match outcome {
        _ if !client_ids.is_empty() => Check::Holds,
        Ok(_) => Check::Undecided("the client never authorized".into()),
        Err(e) => Check::Undecided(format!("the client never authorized: {e}")),
    }
}

/// The client under test with a client ID metadata document, and the document's URL:
/// a client's own, or the reference client given `url`, its document served there.
fn client_with_metadata_document(w: &mut World, url: &str) -> Result<(PublicClient, String), Check> {
    if let Some(own) = w.client_metadata_document().map_err(|s| Check::NotApplicable(s.0))? {
        return Ok((w.public_client(MCP), own));
    }
    let client = w.public_client_with(MCP, |c| c.client_id_metadata_url = Some(url.into()));
    let client = client.map_err(|e| {
        Check::Undecided(format!("the client refuses {url} as its metadata document URL: {e}"))
    })?;
    let Some(document) = client.metadata_document() else {
        return Err(Check::Undecided("the client has no metadata document to publish".into()));
    };
    let parsed = url::Url::parse(url).map_err(|e| Check::Undecided(format!("{url}: {e}")))?;
    let origin = parsed.origin().ascii_serialization();
    w.fake_host(&origin, vec![(parsed.path().into(), fixed(wire::json(StatusCode::OK, &document)))]);
    Ok((client, url.to_string()))
}

/// A remote https redirect URI: a client registering with it is a web app (CL-50).
const WEB_REDIRECT: &str = "https://app.example/callback";

/// CL-50: the client's dynamic registration names an `application_type`, `native` or
/// `web` (OpenID Connect Registration §2); without it an OIDC server assumes `web`.
pub(super) fn application_type_named(w: &mut World) -> Check {
    let log = w.record(&[Channel::Token]);
    let mut client = w.public_client(MCP);
    let _ = w.run_client("victim", &mut client, echo());
    let bodies = registrations(&log);
    if bodies.is_empty() {
        return Check::NotApplicable("the client did not register dynamically".into());
    }
    match bodies.iter().find(|b| !matches!(b["application_type"].as_str(), Some("native" | "web"))) {
        Some(b) => Check::Violated(Violation::about(
            format!("registration with redirect_uris {}", b["redirect_uris"]),
            "application_type \"native\" or \"web\"",
            format!("application_type {}", b["application_type"]),
        )),
        None => Check::Holds,
    }
}

/// CL-50: the `application_type` fits the redirect URIs: `native` for loopback (or a
/// private-use scheme), `web` for a remote https host. The reference client runs once
/// with the world's loopback redirect URI and once as a web app on
/// `https://app.example/callback`; a client process registers its own way both times.
/// Each registration is judged by its own redirect URIs; one mixing both kinds is not
/// judged.
pub(super) fn application_type_fits_redirect(w: &mut World) -> Check {
    let log = w.record(&[Channel::Token]);
    let mut client = w.public_client(MCP);
    let _ = w.run_client("victim", &mut client, echo());
    match w.public_client_with(MCP, |c| c.redirect_uri = WEB_REDIRECT.into()) {
        Ok(mut web_app) => {
            w.note(&format!("a second client, a web app with redirect uri {WEB_REDIRECT}"));
            let _ = w.run_client("web-victim", &mut web_app, echo());
        }
        Err(e) => {
            return Check::Undecided(format!("the client refuses the redirect uri {WEB_REDIRECT}: {e}"));
        }
    }
    let mut outcomes = Vec::new();
    for b in registrations(&log) {
        let uris: Vec<&str> =
            b["redirect_uris"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let mut implied: Vec<&str> =
            uris.iter().map(|u| ApplicationType::for_redirect_uri(u).as_str()).collect();
        implied.sort_unstable();
        implied.dedup();
        let what = format!("registration with redirect_uris {uris:?}");
        let check = match implied[..] {
            [expected] => Check::expect(b["application_type"].as_str() == Some(expected), || {
                Violation::about(
                    what.clone(),
                    format!("application_type \"{expected}\""),
                    format!("application_type {}", b["application_type"]),
                )
            }),
            _ => Check::NotApplicable(format!("redirect uris of no one kind ({implied:?})")),
        };
        outcomes.push((what, check));
    }
    if outcomes.is_empty() {
        return Check::NotApplicable("no dynamic registration with redirect uris of one kind".into());
    }
    all_variants(w, outcomes)
}

/// The authorization server server A moves to in CL-REG-04 and CL-REG-08.
pub(super) const NEW_AS: &str = "https://as2.example";

/// Server A moves to [`NEW_AS`]: its protected resource metadata names only that AS,
/// and it answers every request with 401 `invalid_token` (the old AS's tokens are no
/// good to it). The new AS serves its metadata and registers anyone; its `/authorize`
/// and `/token` answer 404. Returns each request the new AS received, as
/// [`request_text`] shows it (to search for credentials).
pub(super) fn server_a_moves_to_new_as(w: &mut World) -> Rc<RefCell<Vec<String>>> {
    let received: Rc<RefCell<Vec<String>>> = Rc::default();
    let recorded = |mut answer: Route| -> Route {
        let record = received.clone();
        Box::new(move |req| {
            record.borrow_mut().push(request_text(req));
            answer(req)
        })
    };
    let not_found = || fixed(wire::json(StatusCode::NOT_FOUND, &json!({"error": "not_found"})));
    let metadata = fixed(wire::json(StatusCode::OK, &as_metadata(NEW_AS, NEW_AS)));
    let routes = [
        ("/.well-known/oauth-authorization-server", metadata),
        ("/register", registered()),
        ("/authorize", not_found()),
        ("/token", not_found()),
    ];
    w.fake_host(
        NEW_AS,
        routes.into_iter().map(|(path, answer)| (path.to_string(), recorded(answer))).collect(),
    );
    let prm = wire::json(StatusCode::OK, &prm_of(MCP, NEW_AS));
    let challenge = format!(r#"Bearer error="invalid_token", resource_metadata="{}""#, prm_url(MCP_ORIGIN));
    w.note(&format!("server A moves to {NEW_AS}: its metadata names it, and it refuses the old tokens"));
    let _ = w.tap(
        &[Channel::Resource, Channel::Other],
        move |msg, req| match msg.channel {
            Channel::Resource => Verdict::Respond(challenged(StatusCode::UNAUTHORIZED, &[&challenge])),
            _ if req.uri() == prm_url(MCP_ORIGIN).as_str() => Verdict::Respond(clone_response(&prm)),
            _ => Verdict::Pass,
        },
        |_, _, _| {},
    );
    received
}

/// What the client got from the trusted AS: in `issued`, the client ids it used there
/// that are not metadata document URLs, and every secret and token the AS gave it; in
/// `registered`, whether it registered dynamically.
#[derive(Debug, Default)]
struct Credentials {
    issued: Vec<String>,
    registered: bool,
}

/// CL-52/54 (MCP 2026-07-28 §Authorization Server Binding): after the client used server
/// A with the trusted AS, A's protected resource metadata names another AS (the server
/// moved; A, in the adversary's hands, now refuses the old tokens). The new AS must see
/// none of the old AS's client id, secret or tokens; a client that registered
/// dynamically at the old AS must register at the new one. A client ID metadata
/// document URL is portable (the spec says so) and is not counted; pre-registered
/// credentials are the old AS's and must not be sent either (surfacing an error, CL-53,
/// is what the reference client does).
pub(super) fn credentials_stay_with_their_as(w: &mut World) -> Check {
    let got: Rc<RefCell<Credentials>> = Rc::default();
    let keep = got.clone();
    let _ = w.tap(
        &[Channel::FrontChannel, Channel::Token],
        move |msg, req| {
            let q = url::Url::parse(&req.uri().to_string()).ok();
            let id =
                q.and_then(|u| u.query_pairs().find(|(k, _)| k == "client_id").map(|(_, v)| v.into_owned()));
            if let Some(id) =
                id.filter(|id| msg.channel == Channel::FrontChannel && !id.starts_with("https://"))
            {
                keep.borrow_mut().issued.push(id);
            }
            Verdict::Pass
        },
        {
            let keep = got.clone();
            move |_, req, resp| {
                let Ok(v) = serde_json::from_slice::<Value>(resp.body()) else { return };
                let mut c = keep.borrow_mut();
                c.registered |= req.uri().path().ends_with("/register") && resp.status().is_success();
                for k in ["client_id", "client_secret", "access_token", "refresh_token"] {
                    c.issued.extend(v[k].as_str().filter(|s| !s.starts_with("https://")).map(String::from));
                }
            }
        },
    );
    let mut client = match w.connected_client("victim") {
        Ok(c) => c,
        Err(e) => return Check::Undecided(format!("the client could not use server A: {e}")),
    };
    let received = server_a_moves_to_new_as(w);
    let _ = w.run_client("victim", &mut client, echo());
    let got = got.borrow();
    let received = received.borrow();
    if received.is_empty() {
        return Check::Undecided(format!("the client never turned to {NEW_AS}"));
    }
    // `METHOD path` of the requests to the new AS, of all or of those carrying credentials.
    let lines = |carrying: bool| -> Vec<String> {
        let carries = |r: &String| got.issued.iter().any(|s| r.contains(s.as_str()));
        let kept = received.iter().filter(|r| !carrying || carries(r));
        kept.map(|r| r.split(' ').take(2).collect::<Vec<_>>().join(" ")).collect()
    };
    let carrying = lines(true);
    if !carrying.is_empty() {
        return Check::Violated(Violation::about(
            format!("server A's metadata names {NEW_AS} instead of {AS}"),
            format!("no client id, secret or token {AS} issued presented to {NEW_AS}"),
            format!("one in {carrying:?}"),
        ));
    }
    let registered_again = received.iter().any(|r| r.starts_with("POST /register"));
    Check::expect(!got.registered || registered_again, || {
        Violation::about(
            format!("a client registered dynamically at {AS}; server A's metadata now names {NEW_AS}"),
            format!("a registration at {NEW_AS}"),
            format!("only {:?}", lines(false)),
        )
    })
}

/// A request as a host received it, for finding credentials in it: method, path and
/// query, and form-decoded query and body, the `Authorization` header with Basic
/// credentials decoded.
fn request_text(req: &mcp_authz_reference::sans_io::Request) -> String {
    let decoded = |bytes: &[u8]| -> String {
        url::form_urlencoded::parse(bytes).map(|(k, v)| format!("{k}={v} ")).collect()
    };
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    let basic = authorization
        .strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .map(|b| decoded(&b))
        .unwrap_or_default();
    let query = decoded(req.uri().query().unwrap_or("").as_bytes());
    let body = String::from_utf8_lossy(req.body());
    let form = decoded(req.body());
    format!("{} {} {query} {authorization} {basic} {body} {form}", req.method(), req.uri().path())
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
pub(super) fn prm_discovery_order(w: &mut World) -> Check {
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
        return Check::Violated(Violation::about(
            "challenge without resource_metadata",
            format!("GET {path} then {root}"),
            format!("{asked:?}"),
        ));
    }
    if let Err(e) = outcome {
        return Check::Violated(Violation::about(
            "metadata at the root only",
            "the call to succeed",
            format!("`{e}`"),
        ));
    }
    w.note("the challenge names resource_metadata; the root metadata is a trap");
    let log = w.record(&[Channel::Other]);
    let mut client = w.public_client(MCP);
    let _ = w.run_client("victim2", &mut client, echo());
    let asked = prm_requests(&log);
    Check::expect(!asked.is_empty() && asked.iter().all(|a| *a == path), || {
        Violation::about(
            format!("challenge with resource_metadata={path}"),
            "only that URL fetched",
            format!("{asked:?}"),
        )
    })
}

/// CL-08: for `https://tenant.example/t1`, OAuth path-inserted, OpenID path-inserted,
/// OpenID path-appended; the root metadata (another issuer's) is a trap.
pub(super) fn as_discovery_order(w: &mut World) -> Check {
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
        Violation::about(
            format!("issuer {issuer}"),
            format!("metadata requests {want:?} and then registration at {issuer}/register"),
            format!("{:?}", hits.borrow()),
        )
    })
}

/// CL-03: challenges the client must read right — a `Basic` challenge first (in its
/// own header), escaped quotes, commas inside quoted strings, spaces around `=`. The
/// PRM sits at a URL only the challenge names. (An unescaped quote inside a value is
/// the server's fault, checked on the server side; the reference parser reads it as a
/// literal quote, so there is no client-side verdict to give.)
pub(super) fn challenge_syntax(w: &mut World) -> Check {
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
    let mut outcomes = Vec::new();
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
        let (before, decoyed_before) = (meta_hits.borrow().len(), decoy.get());
        let mut client = w.public_client(MCP);
        let outcome = w.run_client(&format!("victim{i}"), &mut client, echo());
        let used = meta_hits.borrow().len() > before;
        let probed = prm_requests(&log);
        let decoyed = decoy.get() - decoyed_before;
        let ok = used && probed.is_empty() && decoyed == 0 && outcome.is_ok();
        let check = Check::expect(ok, || {
            Violation::about(
                format!("{what} (`{shown}`)"),
                format!("the metadata fetched from {meta}/prm/mcp only and the call to succeed"),
                format!(
                    "metadata from the challenge URL: {used}, well-known probes {probed:?}, decoy hits {decoyed}, \
                     outcome {:?}",
                    outcome.map(|_| "ok").map_err(|e| e.to_string())
                ),
            )
        });
        outcomes.push((what.to_string(), check));
    }
    all_variants(w, outcomes)
}
