//! URLs a server hands the client: plain-http and internal addresses (however spelled)
//! never fetched, dangerous authorization URLs never opened, redirects not followed.

use super::hostile::{as_metadata, challenged, echo, hostile_as, hostile_mcp, prm_of, prm_url};
use crate::world::{AS, World, all_variants, fixed};
use http::StatusCode;
use mcp_authz_reference::client::Operation;
use mcp_authz_reference::protected_resource_metadata::WELL_KNOWN;
use mcp_authz_reference::wire;
use mcp_authz_sim::scenario::{Check, Violation};
use serde_json::json;

/// `NotApplicable` when the client's requests to other hosts reach the harness only
/// through its proxy (a process) and the client does not use it, so that requests to
/// internal addresses cannot be seen.
fn unobservable_ssrf(w: &mut World) -> Option<Check> {
    (w.client_egress_via_proxy() && !client_uses_proxy(w)).then(|| {
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
    let probed =
        |w: &World| w.client_observations().proxied.iter().any(|p| p.contains("proxy-probe.invalid"));
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
pub(super) fn insecure_http_urls(w: &mut World) -> Check {
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
    let hits = [
        ("resource_metadata http://169.254.169.254/latest/meta-data/iam/", &metadata_canary),
        ("authorization_servers [http://10.0.0.1]", &issuer_canary),
        ("AS endpoints at http://internal.example", &endpoint_canary),
    ]
    .map(|(what, canary)| (what.to_string(), canary.get()));
    untouched(w, "never fetched", &hits)
}

/// Each variant of `hits` (what it tries, the requests the canary of the internal address
/// it names got) holds when there were none; `expected` says what should happen.
fn untouched(w: &mut World, expected: &str, hits: &[(String, u32)]) -> Check {
    let outcomes = hits
        .iter()
        .map(|(what, n)| {
            let check =
                Check::expect(*n == 0, || Violation::about(what.clone(), expected, format!("{n} requests")));
            (what.clone(), check)
        })
        .collect();
    all_variants(w, outcomes)
}

/// CL-39: internal addresses spelled so a string check misses them.
pub(super) fn encoded_addresses(w: &mut World) -> Check {
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
    let mut hits = Vec::new();
    for (i, (url, spellings)) in cases.into_iter().enumerate() {
        let canary = w.canary(&spellings);
        hostile_flow(w, &format!("victim{i}"), &format!("https://ssrf{i}.example"), Some(url), AS);
        hits.push((format!("resource_metadata {url}"), canary.get()));
    }
    untouched(w, "never fetched", &hits)
}

/// CL-41: authorization endpoints a user agent must never be sent to.
pub(super) fn dangerous_authorization_endpoints(w: &mut World) -> Check {
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
    let mut outcomes = Vec::new();
    for (i, endpoint) in endpoints.into_iter().enumerate() {
        let origin = format!("https://url{i}.example");
        let issuer = format!("https://as-url{i}.example");
        let mut metadata = as_metadata(&issuer, &issuer);
        metadata["authorization_endpoint"] = json!(endpoint);
        hostile_as(w, &issuer, metadata, vec![]);
        hostile_mcp(w, &origin, &prm_url(&origin), prm_of(&format!("{origin}/mcp"), &issuer));
        let mut client = w.public_client(&format!("{origin}/mcp"));
        // The client opens a URL with its browser (a process: the harness's browser, env
        // BROWSER), or fetches it itself (a process: through the proxy).
        let before = w.client_observations();
        let _ = w.run_client(&format!("victim{i}"), &mut client, echo());
        let after = w.client_observations();
        let mut opened: Vec<String> = after.opened[before.opened.len()..].to_vec();
        opened.extend(
            after.proxied[before.proxied.len()..].iter().filter(|p| p.contains("/authorize")).cloned(),
        );
        let what = format!("authorization_endpoint `{endpoint}`");
        let check = Check::expect(opened.is_empty(), || {
            Violation::about(what.clone(), "the URL opener never called", format!("{opened:?}"))
        });
        outcomes.push((what, check));
    }
    all_variants(w, outcomes)
}

/// CL-40: metadata URLs that answer 302 to an internal address.
pub(super) fn redirects_not_followed(w: &mut World) -> Check {
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
    let hits = [
        ("resource metadata 302 to http://169.254.169.254/latest/meta-data/", &metadata_canary),
        ("authorization server metadata 302 to http://10.0.0.1/metadata", &issuer_canary),
    ]
    .map(|(what, canary)| (what.to_string(), canary.get()));
    untouched(w, "the redirect not followed", &hits)
}
