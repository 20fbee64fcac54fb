//! Authorization server discovery (MCP authorization 2025-11-25): protected resource
//! metadata (RFC 9728) from the challenge's `resource_metadata` or the well-known URLs,
//! then authorization server metadata (RFC 8414 / OpenID Connect Discovery) over
//! [`metadata::discovery_urls`] in order.
//!
//! A candidate URL that answers anything but 200 (or cannot be fetched) sends the client
//! to the next candidate ([`Probe::Next`]); a 200 whose document fails the checks is a
//! refusal: the client stops there.

use crate::bearer::Challenge;
use crate::defects::{Defect, Defects};
use crate::metadata::{self, AuthorizationServerMetadata, Grant, check_endpoint_url};
use crate::protected_resource_metadata::{ProtectedResourceMetadata, WELL_KNOWN, well_known_urls};
use crate::resource_indicator::Resource;
use crate::sans_io::{FetchResult, Request};
use crate::wire;
use crate::{Error, Result};
use http::StatusCode;
use url::Url;

/// The outcome of fetching one candidate URL.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe<T> {
    /// A document that passed the checks.
    Found(T),
    /// This candidate has no document; try the next one. Holds why.
    Next(Error),
}

/// The candidate URLs of one discovery step, tried in order until one serves a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidates {
    what: &'static str,
    urls: Vec<String>,
    next: usize,
    last: Option<Error>,
    /// The client derived the URLs itself (well-known URLs), rather than a peer naming
    /// them (the challenge's `resource_metadata`).
    derived: bool,
}

impl Candidates {
    /// Candidates `urls` for the document `what`, derived by the client (well-known URLs).
    pub fn new(what: &'static str, urls: Vec<String>) -> Self {
        Candidates { what, urls, next: 0, last: None, derived: true }
    }

    /// The single candidate `url` for the document `what`, named by a peer.
    pub fn named(what: &'static str, url: String) -> Self {
        Candidates { derived: false, ..Candidates::new(what, vec![url]) }
    }

    /// Every candidate URL, in order.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The GET of the current candidate; when none is left, an error naming every URL
    /// tried and why the last one failed.
    pub fn request(&self) -> Result<Request> {
        match self.urls.get(self.next) {
            Some(url) => wire::get_json_request(url),
            None => {
                let last = self.last.as_ref().map_or_else(|| "no candidate".to_string(), Error::to_string);
                Err(Error::Missing(format!(
                    "{}: none of {:?} served it (last: {last})",
                    self.what, self.urls
                )))
            }
        }
    }

    /// Replaces the current candidate with `url`, the target of its redirect (defect
    /// `client-follows-redirects`).
    pub fn follow(&mut self, url: String) {
        if let Some(current) = self.urls.get_mut(self.next) {
            *current = url;
        }
    }

    /// Moves on to the next candidate; `why` says why the current one failed.
    pub fn advance(&mut self, why: Error) {
        self.next += 1;
        self.last = Some(why);
    }
}

/// Checks a URL a server supplied before the client fetches or opens it (CL-38, CL-41):
/// https, or http on loopback only ([`check_endpoint_url`]). The url crate puts IP
/// literals in canonical form first, so decimal, octal, hex and IPv4-mapped spellings of
/// an address get the verdict of the address itself. Private addresses behind https
/// names are the fetcher's to refuse (it resolves them), not the client's.
/// With defect `client-follows-insecure-urls`, any absolute URL passes.
pub fn check_server_url(name: &'static str, url: &str, defects: &Defects) -> Result<Url> {
    if defects.has(Defect::ClientFollowsInsecureUrls) {
        return Url::parse(url)
            .map_err(|e| Error::unexpected(name, format!("`{url}` ({e})"), "an absolute url"));
    }
    check_endpoint_url(name, url)
}

/// The protected resource metadata URLs to try for `server_url`, in order (CL-04): the
/// challenge's `resource_metadata` alone when present (after the URL safety check), else
/// the path-inserted then the root well-known URL.
/// With defect `client-no-discovery-order`, the challenge is ignored and the root URL
/// comes first.
pub fn prm_candidates(
    challenge: Option<&Challenge>,
    server_url: &str,
    defects: &Defects,
) -> Result<Candidates> {
    let what = "protected resource metadata";
    Ok(match challenge.and_then(|c| c.get("resource_metadata")) {
        _ if defects.has(Defect::ClientNoDiscoveryOrder) => {
            let mut urls = well_known_urls(server_url)?;
            urls.reverse();
            Candidates::new(what, urls)
        }
        Some(url) => {
            check_server_url("resource_metadata", url, defects)?;
            Candidates::named(what, url.to_string())
        }
        None => Candidates::new(what, well_known_urls(server_url)?),
    })
}

/// The resource identifiers the protected resource metadata from the current candidate
/// may name (RFC 9728 §3.3): `server_url`, the server the client connected to; and, for
/// the root well-known URL the client derived itself, the server's origin, the
/// identifier into which it inserted the well-known suffix. A URL the challenge named
/// must describe `server_url`.
pub fn prm_resources(candidates: &Candidates, server_url: &str) -> Result<Vec<String>> {
    let mut resources = vec![server_url.to_string()];
    let origin = Url::parse(server_url)
        .map_err(|e| Error::unexpected("server url", format!("`{server_url}` ({e})"), "an absolute url"))?
        .origin()
        .ascii_serialization();
    let root = format!("{origin}{WELL_KNOWN}");
    if candidates.derived && candidates.urls.get(candidates.next) == Some(&root) {
        resources.push(origin);
    }
    Ok(resources)
}

/// Reads the result of fetching protected resource metadata: the document's `resource`
/// must be one of `resources` (from [`prm_resources`]; RFC 9728 §3.3) and it must list
/// an authorization server.
/// With defect `client-no-prm-resource-check`, any `resource` is accepted.
pub fn read_prm(
    fetched: FetchResult,
    resources: &[String],
    defects: &Defects,
) -> Result<Probe<ProtectedResourceMetadata>> {
    let r = match found(fetched, "protected resource metadata") {
        Ok(r) => r,
        Err(e) => return Ok(Probe::Next(e)),
    };
    let prm = ProtectedResourceMetadata::parse(r.body())?;
    let mut checked = prm.clone();
    if defects.has(Defect::ClientNoPrmResourceCheck) {
        checked.resource = resources.first().cloned().unwrap_or_default();
    }
    if defects.has(Defect::ClientPrmResourcePrefix) {
        let prefix_of = |r: &&String| {
            Url::parse(&checked.resource).ok().zip(Url::parse(r).ok()).is_some_and(|(named, server)| {
                named.origin() == server.origin()
                    && server.path().starts_with(named.path().trim_end_matches('/'))
            })
        };
        if let Some(r) = resources.iter().find(prefix_of) {
            checked.resource.clone_from(r);
        }
    }
    let named = Resource::parse(&checked.resource)
        .ok()
        .and_then(|named| resources.iter().find(|r| named.is_named_by(r)));
    checked.check(named.or(resources.first()).map_or("", String::as_str))?;
    Ok(Probe::Found(prm))
}

/// The issuer the client uses: the first of `authorization_servers`, after the URL
/// safety check.
pub fn issuer(prm: &ProtectedResourceMetadata, defects: &Defects) -> Result<String> {
    let first = prm
        .authorization_servers
        .first()
        .ok_or_else(|| Error::Missing("authorization_servers in protected resource metadata".into()))?;
    check_server_url("authorization server issuer", first, defects)?;
    Ok(first.clone())
}

/// The authorization server metadata URLs for `issuer`, in the MCP order (CL-08).
/// With defect `client-no-discovery-order`, the root URLs of the issuer's origin come
/// first (the issuer's path is dropped); with `client-oauth-metadata-only`, the OpenID
/// Connect Discovery URLs are left out.
pub fn as_metadata_candidates(issuer: &str, defects: &Defects) -> Result<Candidates> {
    let mut urls = metadata::discovery_urls(issuer)?;
    if defects.has(Defect::ClientOauthMetadataOnly) {
        urls.retain(|u| !u.contains(metadata::OPENID_WELL_KNOWN));
    }
    if defects.has(Defect::ClientNoDiscoveryOrder) {
        let origin =
            Url::parse(issuer).map_err(|e| Error::malformed("issuer", e))?.origin().ascii_serialization();
        let mut root = metadata::discovery_urls(&origin)?;
        for u in urls {
            if !root.contains(&u) {
                root.push(u);
            }
        }
        urls = root;
    }
    Ok(Candidates::new("authorization server metadata", urls))
}

/// Reads the result of fetching authorization server metadata for `issuer` with the
/// checks a client using `grant` applies ([`AuthorizationServerMetadata::check_for`]):
/// issuer byte-equal, endpoints present and safe, and S256 advertised for the
/// authorization code grant, `client_credentials` listed for that grant.
/// With defects `client-no-issuer-check`, `client-no-pkce-check` and
/// `client-follows-insecure-urls`, any issuer, any PKCE methods and any absolute
/// endpoint URLs are accepted.
pub fn read_as_metadata(
    fetched: FetchResult,
    issuer: &str,
    grant: Grant,
    defects: &Defects,
) -> Result<Probe<AuthorizationServerMetadata>> {
    let r = match found(fetched, "authorization server metadata") {
        Ok(r) => r,
        Err(e) => return Ok(Probe::Next(e)),
    };
    let m = AuthorizationServerMetadata::parse(r.body())?;
    let mut checked = m.clone();
    if defects.has(Defect::ClientNoIssuerCheck) {
        checked.issuer = issuer.to_string();
    }
    if defects.has(Defect::ClientNoPkceCheck) {
        checked.code_challenge_methods_supported = Some(vec![crate::pkce::S256.into()]);
    }
    if defects.has(Defect::ClientFollowsInsecureUrls) {
        let endpoints = [
            &mut checked.authorization_endpoint,
            &mut checked.token_endpoint,
            &mut checked.registration_endpoint,
            &mut checked.jwks_uri,
            &mut checked.revocation_endpoint,
        ];
        for e in endpoints.into_iter().filter(|e| e.as_deref().is_some_and(|u| Url::parse(u).is_ok())) {
            *e = Some("https://unchecked.invalid/".into());
        }
    }
    checked.check_for(grant, issuer)?;
    Ok(Probe::Found(m))
}

/// The mistake of defect `client-follows-redirects`: the absolute `Location` of a 3xx
/// answer to a metadata request, to fetch next without any check. `None` without the
/// defect: redirects are never followed (CL-40).
pub fn redirect_to_follow(fetched: &FetchResult, defects: &Defects) -> Option<String> {
    if !defects.has(Defect::ClientFollowsRedirects) {
        return None;
    }
    let r = fetched.as_ref().ok().filter(|r| r.status().is_redirection())?;
    let location = r.headers().get(http::header::LOCATION)?.to_str().ok()?;
    Url::parse(location).ok().map(String::from)
}

/// The response when it is a 200; redirects are not followed (CL-40).
fn found(fetched: FetchResult, what: &'static str) -> Result<crate::sans_io::Response> {
    let r = fetched?;
    if r.status() != StatusCode::OK {
        return Err(Error::HttpStatus { what, received: r.status().as_u16(), expected: "200" });
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sans_io::FetchError;
    use crate::wire;

    #[test]
    fn challenge_url_is_the_only_candidate() {
        let c = Challenge::bearer().with("resource_metadata", "https://mcp.example/prm");
        assert_eq!(
            prm_candidates(Some(&c), "https://mcp.example/mcp", &Defects::none()).unwrap().urls(),
            ["https://mcp.example/prm"]
        );
        let c = Challenge::bearer().with("resource_metadata", "javascript:alert(1)");
        assert!(matches!(
            prm_candidates(Some(&c), "https://mcp.example/mcp", &Defects::none()),
            Err(Error::Refused(_))
        ));
    }

    const MCP: &str = "https://mcp.example/mcp";

    #[test]
    fn root_metadata_may_name_the_origin_the_client_derived_it_from() {
        let mut probed = prm_candidates(None, MCP, &Defects::none()).unwrap();
        assert_eq!(prm_resources(&probed, MCP).unwrap(), [MCP]);
        probed.advance(Error::HttpStatus {
            what: "protected resource metadata",
            received: 404,
            expected: "200",
        });
        let at_root = prm_resources(&probed, MCP).unwrap();
        assert_eq!(at_root, [MCP, "https://mcp.example"]);
        let prm = |resource: &str| {
            Ok(wire::json(
                StatusCode::OK,
                &serde_json::json!({"resource": resource, "authorization_servers": ["https://as.example"]}),
            ))
        };
        let none = Defects::none();
        assert!(matches!(read_prm(prm("https://mcp.example"), &at_root, &none), Ok(Probe::Found(_))));
        assert!(matches!(read_prm(prm(MCP), &at_root, &none), Ok(Probe::Found(_))));
        assert!(read_prm(prm("https://evil.example"), &at_root, &none).is_err());
        assert!(read_prm(prm("https://mcp.example/other"), &at_root, &none).is_err());
        // Named by the challenge, even the root URL must describe the server itself.
        let c = Challenge::bearer()
            .with("resource_metadata", "https://mcp.example/.well-known/oauth-protected-resource");
        let named = prm_candidates(Some(&c), MCP, &none).unwrap();
        assert_eq!(prm_resources(&named, MCP).unwrap(), [MCP]);
    }

    #[test]
    fn insecure_urls_are_refused_unless_the_defect_is_on() {
        let follow = Defects::of([Defect::ClientFollowsInsecureUrls]);
        // 167772161 and 012.0.0.1 are 10.0.0.1; the check sees the canonical address.
        for url in
            ["http://169.254.169.254/", "http://167772161/", "http://012.0.0.1/", "javascript:alert(1)"]
        {
            assert!(matches!(check_server_url("x", url, &Defects::none()), Err(Error::Refused(_))), "{url}");
            assert!(check_server_url("x", url, &follow).is_ok(), "{url}");
        }
        // Loopback in any spelling stays allowed over http (local servers).
        assert!(check_server_url("x", "http://2130706433:9000/", &Defects::none()).is_ok());
        let c = Challenge::bearer().with("resource_metadata", "http://10.0.0.1/prm");
        assert_eq!(
            prm_candidates(Some(&c), "https://mcp.example/mcp", &follow).unwrap().urls(),
            ["http://10.0.0.1/prm"]
        );
    }

    #[test]
    fn redirects_are_followed_only_with_the_defect() {
        let redirect = || Ok(wire::redirect(StatusCode::FOUND, "http://169.254.169.254/latest/meta-data/"));
        let follow = Defects::of([Defect::ClientFollowsRedirects]);
        assert_eq!(redirect_to_follow(&redirect(), &Defects::none()), None);
        assert!(matches!(
            read_prm(redirect(), &[MCP.into()], &Defects::none()),
            Ok(Probe::Next(Error::HttpStatus { received: 302, .. }))
        ));
        let target = redirect_to_follow(&redirect(), &follow).unwrap();
        assert_eq!(target, "http://169.254.169.254/latest/meta-data/");
        let mut c = Candidates::new("protected resource metadata", vec!["https://mcp.example/prm".into()]);
        c.follow(target);
        assert_eq!(c.request().unwrap().uri(), "http://169.254.169.254/latest/meta-data/");
    }

    #[test]
    fn discovery_order_defect_goes_to_the_root_first() {
        let c = Challenge::bearer().with("resource_metadata", "https://mcp.example/prm");
        let disorder = Defects::of([Defect::ClientNoDiscoveryOrder]);
        assert_eq!(
            prm_candidates(Some(&c), "https://mcp.example/mcp", &disorder).unwrap().urls(),
            [
                "https://mcp.example/.well-known/oauth-protected-resource",
                "https://mcp.example/.well-known/oauth-protected-resource/mcp"
            ]
        );
        assert_eq!(
            as_metadata_candidates("https://as.example/t", &disorder).unwrap().urls(),
            [
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration",
                "https://as.example/.well-known/oauth-authorization-server/t",
                "https://as.example/.well-known/openid-configuration/t",
                "https://as.example/t/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            as_metadata_candidates("https://as.example/t", &Defects::of([Defect::ClientOauthMetadataOnly]))
                .unwrap()
                .urls(),
            ["https://as.example/.well-known/oauth-authorization-server/t"]
        );
        assert_eq!(
            as_metadata_candidates("https://as.example/t", &Defects::none()).unwrap().urls()[0],
            "https://as.example/.well-known/oauth-authorization-server/t"
        );
    }

    #[test]
    fn not_found_and_fetch_failure_try_the_next_candidate() {
        let r = wire::json(StatusCode::NOT_FOUND, &serde_json::json!({}));
        assert_eq!(
            read_prm(Ok(r), &[MCP.into()], &Defects::none()).unwrap(),
            Probe::Next(Error::HttpStatus {
                what: "protected resource metadata",
                received: 404,
                expected: "200"
            })
        );
        let e = FetchError { url: "https://x.example".into(), reason: "refused".into() };
        assert!(matches!(
            read_as_metadata(Err(e), "https://x.example", Grant::AuthorizationCode, &Defects::none()),
            Ok(Probe::Next(Error::Fetch { .. }))
        ));
    }

    #[test]
    fn defects_relax_only_their_check() {
        let prm = serde_json::json!({"resource": "https://evil.example/mcp", "authorization_servers": ["https://as.example"]});
        let ok = || Ok(wire::json(StatusCode::OK, &prm));
        let lenient = Defects::of([Defect::ClientNoPrmResourceCheck]);
        assert!(read_prm(ok(), &[MCP.into()], &Defects::none()).is_err());
        assert!(matches!(read_prm(ok(), &[MCP.into()], &lenient), Ok(Probe::Found(_))));
        let m = serde_json::json!({"issuer": "https://evil.example", "response_types_supported": ["code"],
            "authorization_endpoint": "https://as.example/a", "token_endpoint": "https://as.example/t"});
        let ok = || Ok(wire::json(StatusCode::OK, &m));
        let issuer_only = Defects::of([Defect::ClientNoIssuerCheck]);
        let both = Defects::of([Defect::ClientNoIssuerCheck, Defect::ClientNoPkceCheck]);
        assert!(matches!(
            read_as_metadata(ok(), "https://as.example", Grant::AuthorizationCode, &issuer_only),
            Err(Error::Refused(_))
        ));
        assert!(matches!(
            read_as_metadata(ok(), "https://as.example", Grant::AuthorizationCode, &both),
            Ok(Probe::Found(_))
        ));
    }

    #[test]
    fn exhausted_candidates_name_every_url_and_the_last_failure() {
        let mut c = Candidates::new("protected resource metadata", vec!["https://a.example/x".into()]);
        assert_eq!(c.request().unwrap().uri(), "https://a.example/x");
        c.advance(Error::HttpStatus { what: "protected resource metadata", received: 404, expected: "200" });
        let e = c.request().unwrap_err();
        assert_eq!(
            e.to_string(),
            "missing protected resource metadata: none of [\"https://a.example/x\"] served it \
             (last: protected resource metadata answered HTTP 404, expected 200)"
        );
    }

    #[test]
    fn malformed_document_is_a_refusal() {
        let r = wire::json(StatusCode::OK, &serde_json::json!({"nope": 1}));
        assert!(matches!(read_prm(Ok(r), &[MCP.into()], &Defects::none()), Err(Error::Malformed { .. })));
    }
}
