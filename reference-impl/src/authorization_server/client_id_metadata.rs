//! Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, MCP
//! 2025-11-25): a `client_id` that is an `https` URL names a JSON document describing the
//! client, which this server fetches (as a [`Step::Fetch`](crate::sans_io::Step)) at
//! every authorization request.
//!
//! The URL is checked before anything is fetched (https only, a path, no fragment, no
//! dot segments, no userinfo, normalized form; `http` and loopback hosts only with
//! [`Config::allow_insecure_client_id_urls`](super::Config)). The driver enforces size,
//! time, redirect and address policy on the fetch; the answer is refused unless it is a
//! 200 JSON document of at most [`wire::MAX_FETCH_BYTES`] whose `client_id` equals the URL
//! byte for byte and which has `client_name` and `redirect_uris`. Such clients are public
//! (`none`, or `private_key_jwt` with inline `jwks`) and get the registration scopes.
//!
//! Caching (AS-08): a document is reused for later authorization requests while its
//! `Cache-Control: max-age` lasts (at most [`MAX_CACHE_AGE`]); without `max-age`, or with
//! `no-store` / `no-cache`, every request fetches it again. The token endpoint uses the
//! document of the latest authorization.

use super::config::{Config, NONE, RegisteredClient};
use crate::registration::{self, ClientMetadata};
use crate::sans_io::{FetchResult, Request, Response};
use crate::wire::{self, Params};
use crate::{Error, Result};
use std::time::Duration;
use url::Url;

/// The longest time a fetched document is reused.
pub const MAX_CACHE_AGE: Duration = Duration::from_secs(3600);

/// True when `client_id` has the form of a URL (and so may name a metadata document).
pub fn is_url(client_id: &str) -> bool {
    let lower = client_id.get(..8).unwrap_or(client_id).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// Refuses a client ID URL before fetching it: not `https` (unless `allow_insecure`), no
/// path, a fragment, dot segments, userinfo, a loopback host (unless `allow_insecure`),
/// or a form that URL normalization would change.
pub fn check_url(client_id: &str, allow_insecure: bool) -> Result<Url> {
    let refuse =
        |why: &str| Err(Error::Refused(format!("client id metadata document url `{client_id}` {why}")));
    if client_id.contains('#') {
        return refuse("has a fragment");
    }
    let path =
        client_id.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..])).unwrap_or("");
    let path = path.split('?').next().unwrap_or("");
    if path.split('/').any(|seg| {
        matches!(seg.to_ascii_lowercase().as_str(), "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e.")
    }) {
        return refuse("has dot segments");
    }
    let url = Url::parse(client_id)
        .map_err(|e| Error::unexpected("client_id", format!("`{client_id}` ({e})"), "an absolute url"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        _ => return refuse("is not https"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("has userinfo");
    }
    if url.path() == "/" {
        return refuse("has no path");
    }
    if crate::metadata::is_loopback(&url) && !allow_insecure {
        return refuse("names a loopback host");
    }
    if url.as_str() != client_id {
        return refuse(&format!("is not in normalized form (`{url}`)"));
    }
    Ok(url)
}

/// Turns the fetched answer into a client, or says why it is refused.
pub fn client_from_response(url: &str, response: &Response, config: &Config) -> Result<RegisteredClient> {
    let what = "client id metadata document";
    if response.status() != http::StatusCode::OK {
        return Err(Error::HttpStatus { what, received: response.status().as_u16(), expected: "200" });
    }
    let ct = wire::single_header(response.headers(), http::header::CONTENT_TYPE)?.unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime != "application/json" && !mime.ends_with("+json") {
        return Err(Error::unexpected("content-type", format!("`{ct}`"), "application/json"));
    }
    if response.body().len() > wire::MAX_FETCH_BYTES {
        return Err(Error::Refused(format!(
            "{what} is {} bytes, over the limit of {}",
            response.body().len(),
            wire::MAX_FETCH_BYTES
        )));
    }
    let doc: ClientMetadata = wire::parse_json(what, response.body())?;
    if doc.client_id.as_deref() != Some(url) {
        return Err(Error::unexpected(
            "client_id",
            format!("{:?}", doc.client_id),
            format!("`{url}` byte for byte"),
        ));
    }
    let Some(client_name) = doc.client_name.clone().filter(|n| !n.is_empty()) else {
        return Err(Error::Missing(format!("client_name in the {what}")));
    };
    registration::check_redirect_uris(&doc.redirect_uris)?;
    let method = doc.token_endpoint_auth_method.as_deref().unwrap_or(NONE);
    if method != NONE && method != "private_key_jwt" {
        return Err(Error::unexpected(
            "token_endpoint_auth_method",
            format!("`{method}`"),
            "`none` or `private_key_jwt`",
        ));
    }
    registration::check_client_metadata(&doc, method)?;
    Ok(RegisteredClient {
        client_id: url.to_string(),
        client_secret: None,
        redirect_uris: doc.redirect_uris.clone(),
        grant_types: doc.grant_types_or_default(),
        token_endpoint_auth_method: method.to_string(),
        scopes: config.scopes_of_registered(doc.scope.as_deref()),
        dpop_bound_access_tokens: doc.dpop_bound_access_tokens == Some(true),
        jwks: doc.jwks,
        client_name: Some(client_name),
    })
}

/// An authorization request waiting for its client's metadata document: the
/// continuation ([`Service::Pending`](crate::sans_io::Service)) of the authorization
/// server.
#[derive(Debug)]
pub struct ClientIdMetadataFetch {
    url: String,
    params: Params,
}

/// How long a fetched document may be reused: its `Cache-Control: max-age`, capped at
/// [`MAX_CACHE_AGE`]; zero without it or with `no-store` / `no-cache`.
pub fn cache_lifetime(response: &Response) -> Duration {
    let mut max_age = None;
    for value in response.headers().get_all(http::header::CACHE_CONTROL) {
        for directive in value.to_str().unwrap_or("no-store").split(',') {
            let directive = directive.trim().to_ascii_lowercase();
            if directive == "no-store" || directive == "no-cache" {
                return Duration::ZERO;
            }
            if let Some(secs) = directive.strip_prefix("max-age=") {
                max_age = secs.parse().ok().map(Duration::from_secs);
            }
        }
    }
    max_age.unwrap_or(Duration::ZERO).min(MAX_CACHE_AGE)
}

impl ClientIdMetadataFetch {
    /// The fetch of `url` for the authorization request `params`.
    pub(super) fn start(url: &str, params: Params, allow_insecure: bool) -> Result<(Request, Self)> {
        check_url(url, allow_insecure)?;
        let request = wire::get_json_request(url)?;
        Ok((request, ClientIdMetadataFetch { url: url.to_string(), params }))
    }

    /// The authorization request to continue, and the client the document describes
    /// with how long it may be reused.
    pub(super) fn finish(
        self,
        fetched: FetchResult,
        config: &Config,
    ) -> (Params, Result<(RegisteredClient, Duration)>) {
        let client = fetched.map_err(crate::Error::from).and_then(|response| {
            let client = client_from_response(&self.url, &response, config)?;
            Ok((client, cache_lifetime(&response)))
        });
        (self.params, client)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use http::StatusCode;
    use serde_json::json;

    const URL: &str = "https://app.example/client.json";

    fn document() -> serde_json::Value {
        json!({"client_id": URL, "client_name": "App", "redirect_uris": [REDIRECT],
               "grant_types": ["authorization_code", "refresh_token"], "token_endpoint_auth_method": "none"})
    }

    fn serve(t: &mut Tester, body: serde_json::Value) {
        t.documents.insert(URL.into(), Ok(json_response(200, &body.to_string())));
    }

    fn authorize_with_document(t: &mut Tester) -> http::Response<bytes::Bytes> {
        t.authorize(&[("client_id", Some(URL))])
    }

    #[test]
    fn document_client_completes_the_flow() {
        let mut t = Tester::new();
        serve(&mut t, document());
        let r = authorize_with_document(&mut t);
        assert_eq!(t.fetched, [URL]);
        let code = location_params(&r).get("code").unwrap().to_string();
        let token = t.token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", URL),
            ("resource", RESOURCE),
        ]);
        assert_eq!(token.status(), StatusCode::OK);
        assert_eq!(json_of(&token)["scope"], "mcp:read mcp:write");
        authorize_with_document(&mut t);
        assert_eq!(t.fetched.len(), 2, "no max-age: fetched again");
    }

    /// A document naming `mcp:read` may ask for `mcp:write` only when the registered
    /// scope is a hint, as for a dynamic registration.
    #[test]
    fn a_document_s_scope_limits_unless_it_is_a_hint() {
        for hint in [false, true] {
            let mut t = Tester::new();
            if hint {
                t.with_env(|server, _| server.take_registered_scope_as_a_hint());
            }
            let mut doc = document();
            doc["scope"] = json!("mcp:read");
            serve(&mut t, doc);
            let r = t.authorize(&[("client_id", Some(URL)), ("scope", Some("mcp:read mcp:write"))]);
            let params = location_params(&r);
            match hint {
                false => assert_eq!(params.get("error"), Some("invalid_scope"), "{}", location(&r)),
                true => assert!(params.get("code").is_some(), "{}", location(&r)),
            }
        }
    }

    #[test]
    fn documents_are_cached_for_max_age() {
        let mut t = Tester::new();
        let cached = |cache_control: &str| {
            let mut r = json_response(200, &document().to_string());
            r.headers_mut().insert("cache-control", cache_control.parse().unwrap());
            Ok(r)
        };
        t.documents.insert(URL.into(), cached("public, max-age=60"));
        authorize_with_document(&mut t);
        assert!(location_params(&authorize_with_document(&mut t)).get("code").is_some());
        assert_eq!(t.fetched.len(), 1);
        t.advance(61);
        t.documents.insert(URL.into(), cached("max-age=60, no-store"));
        authorize_with_document(&mut t);
        authorize_with_document(&mut t);
        assert_eq!(t.fetched.len(), 3);
    }

    #[test]
    fn bad_documents_get_an_error_page() {
        let mut t = Tester::new();
        let with = |k: &str, v: serde_json::Value| {
            let mut d = document();
            d[k] = v;
            d
        };
        let bad = [
            with("client_id", json!("https://app.example/client.json/")),
            with("client_id", json!("https://APP.example/client.json")),
            with("client_id", json!("https://app.example/other.json")),
            with("client_name", json!(null)),
            with("redirect_uris", json!([])),
            with("redirect_uris", json!("http://127.0.0.1:7777/callback")),
            with("redirect_uris", json!(["http://app.example/cb"])),
            with("token_endpoint_auth_method", json!("client_secret_basic")),
            with("token_endpoint_auth_method", json!("private_key_jwt")),
            with("grant_types", json!(["client_credentials"])),
            with("response_types", json!(["token"])),
        ];
        for doc in bad {
            serve(&mut t, doc.clone());
            assert_eq!(page_error(&authorize_with_document(&mut t)), (400, "invalid_client".into()), "{doc}");
        }
    }

    #[test]
    fn bad_answers_get_an_error_page() {
        let mut t = Tester::new();
        let big = format!("{{\"client_name\":\"{}\"}}", "a".repeat(wire::MAX_FETCH_BYTES));
        let answers = [
            Ok(json_response(404, &document().to_string())),
            Ok(json_response(302, "")),
            Ok(json_response(200, "{not json")),
            Ok(json_response(200, &big)),
            Ok(http::Response::builder()
                .status(200)
                .header("content-type", "text/html")
                .body(document().to_string().into())
                .unwrap()),
            Err(crate::sans_io::FetchError { url: URL.into(), reason: "timed out".into() }),
        ];
        for answer in answers {
            t.documents.insert(URL.into(), answer);
            assert_eq!(page_error(&authorize_with_document(&mut t)), (400, "invalid_client".into()));
        }
    }

    #[test]
    fn unlisted_redirect_uri_gets_an_error_page() {
        let mut t = Tester::new();
        serve(&mut t, document());
        let r = t.authorize(&[("client_id", Some(URL)), ("redirect_uri", Some("https://evil.example/cb"))]);
        assert_eq!(page_error(&r), (400, "invalid_request".into()));
    }

    #[test]
    fn bad_urls_are_refused_before_fetching() {
        let mut t = Tester::new();
        for url in [
            "https://app.example/client.json#x",
            "https://app.example/a/../client.json",
            "https://app.example/./client.json",
            "https://app.example/%2E%2E/client.json",
            "http://app.example/client.json",
            "https://127.0.0.1/client.json",
            "https://user@app.example/client.json",
            "https://app.example",
            "https://APP.example/client.json",
        ] {
            let r = t.authorize(&[("client_id", Some(url))]);
            assert_eq!(page_error(&r), (400, "invalid_client".into()), "{url}");
        }
        assert!(t.fetched.is_empty());
    }

    #[test]
    fn insecure_urls_need_the_dev_flag() {
        let url = "http://127.0.0.1:8000/client.json";
        assert!(check_url(url, false).is_err());
        assert!(check_url(url, true).is_ok());
    }
}
