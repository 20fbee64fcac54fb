//! HTTP plumbing shared by every role: strict form and query parsing (a repeated
//! parameter is an error, RFC 6749 §3.1), header access that refuses duplicates, and
//! response builders for JSON, OAuth errors (RFC 6749 §5.2) and HTML.

use crate::oauth_error::ErrorCode;
use crate::sans_io::{Request, Response};
use crate::{Error, Result};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use std::collections::BTreeMap;

/// Largest request body any role accepts; drivers answer 413 above it.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest document (metadata, JWKS, client ID metadata document) a role fetches.
pub const MAX_FETCH_BYTES: usize = 64 * 1024;

/// Parameters of an `application/x-www-form-urlencoded` body or a query string, each
/// name at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes. Invalid UTF-8 and repeated
    /// names are errors.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut map = BTreeMap::new();
        for pair in bytes.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let (k, v) = (decode_component(k)?, decode_component(v)?);
            if map.contains_key(&k) {
                return Err(Error::RepeatedParameter(k));
            }
            map.insert(k, v);
        }
        Ok(Params(map))
    }

    /// The query string of `uri`, parsed like a form (empty when there is none).
    pub fn from_query(uri: &http::Uri) -> Result<Self> {
        Self::parse(uri.query().unwrap_or("").as_bytes())
    }

    /// The form body of a POST. The content type must be
    /// `application/x-www-form-urlencoded`.
    pub fn from_form_request(req: &Request) -> Result<Self> {
        let ct = single_header(req.headers(), header::CONTENT_TYPE)?.unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(Error::unexpected(
                "content-type",
                format!("`{ct}`"),
                "application/x-www-form-urlencoded",
            ));
        }
        Self::parse(req.body())
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of `name`, or [`Error::Missing`]. An empty value counts as missing.
    pub fn require(&self, name: &str) -> Result<&str> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Error::Missing(format!("parameter `{name}`"))),
        }
    }

    /// Sets `name` to `value`.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.insert(name.into(), value.into());
    }

    /// Every parameter, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Serializes as `application/x-www-form-urlencoded`, names in order.
    pub fn encode(&self) -> String {
        encode_pairs(self.iter())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Params(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

/// Decodes one name or value: `+` is a space, `%XX` a byte; the bytes must be UTF-8
/// (a lossy decoding would let `%FF` through as U+FFFD).
fn decode_component(raw: &[u8]) -> Result<String> {
    use std::borrow::Cow;
    let invalid = || Error::malformed("form body", "not valid utf-8 after percent-decoding");
    let plus_as_space: Cow<'_, [u8]> = if raw.contains(&b'+') {
        Cow::Owned(raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect())
    } else {
        Cow::Borrowed(raw)
    };
    match Cow::<[u8]>::from(percent_encoding::percent_decode(&plus_as_space)) {
        Cow::Borrowed(bytes) => std::str::from_utf8(bytes).map(str::to_string).map_err(|_| invalid()),
        Cow::Owned(bytes) => String::from_utf8(bytes).map_err(|_| invalid()),
    }
}

/// Serializes pairs as `application/x-www-form-urlencoded`, in the order given.
pub fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The value of header `name` as text: `None` when absent, an error when repeated or not
/// visible ASCII.
pub fn single_header(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<&str>> {
    let mut values = headers.get_all(&name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Error::RepeatedParameter(format!("header {name}")));
    }
    first.to_str().map(Some).map_err(|_| Error::malformed("header", format!("{name} is not visible ascii")))
}

/// A JSON response with `Content-Type: application/json`.
pub fn json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = Response::new(Bytes::from(bytes));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A JSON response that must not be cached (`Cache-Control: no-store`, RFC 6749 §5.1):
/// token responses and anything carrying a credential.
pub fn json_no_store(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let mut r = json(status, body);
    no_store(&mut r);
    r
}

/// Marks a response `Cache-Control: no-store` and `Pragma: no-cache`.
pub fn no_store(r: &mut Response) {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The body of an OAuth error response (RFC 6749 §5.2, RFC 7591 §3.2.2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OAuthErrorBody {
    /// The error code: `invalid_request`, `invalid_grant`, ...
    pub error: ErrorCode,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// An OAuth error response: JSON body, `no-store`. `error` is an [`ErrorCode`] or its
/// string.
pub fn oauth_error(
    status: StatusCode,
    error: impl Into<ErrorCode>,
    description: impl Into<String>,
) -> Response {
    json_no_store(
        status,
        &OAuthErrorBody { error: error.into(), error_description: Some(description.into()) },
    )
}

/// A `text/html; charset=utf-8` response that may not be framed
/// (`X-Frame-Options: DENY`, CSP `frame-ancestors 'none'`, RFC 9700 §4.16) and leaks no
/// referrer (RFC 9700 §4.2).
pub fn html(status: StatusCode, body: String) -> Response {
    let mut r = Response::new(Bytes::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A redirect with `Location: location` and status `status` (302 for authorization
/// responses, 303 after a form POST; never 307, RFC 9700 §4.12).
pub fn redirect(status: StatusCode, location: &str) -> Response {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    no_store(&mut r);
    r
}

/// Parses a JSON body into `T`, with an error that names `what`.
pub fn parse_json<T: serde::de::DeserializeOwned>(what: &'static str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::malformed(what, e))
}

/// A GET request for `url` with `Accept: application/json`.
pub fn get_json_request(url: &str) -> Result<Request> {
    http::Request::get(url)
        .header(header::ACCEPT, "application/json")
        .body(Bytes::new())
        .map_err(|e| Error::Config(format!("cannot build a request for `{url}`: {e}")))
}

/// A POST request for `url` with a form body.
pub fn post_form_request(url: &str, form: &str) -> Result<Request> {
    http::Request::post(url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Bytes::from(form.to_string()))
        .map_err(|e| Error::Config(format!("cannot build a request for `{url}`: {e}")))
}

/// A POST request for `url` with a JSON body.
pub fn post_json_request(url: &str, body: &impl serde::Serialize) -> Result<Request> {
    let bytes = serde_json::to_vec(body).map_err(|e| Error::Config(e.to_string()))?;
    http::Request::post(url)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .body(Bytes::from(bytes))
        .map_err(|e| Error::Config(format!("cannot build a request for `{url}`: {e}")))
}

/// Turns a non-2xx response into [`Error::OAuth`] when its body is an OAuth error,
/// else into [`Error::HttpStatus`].
pub fn error_from_response(endpoint: &'static str, r: &Response) -> Error {
    match serde_json::from_slice::<OAuthErrorBody>(r.body()) {
        Ok(b) => Error::OAuth {
            endpoint,
            status: r.status().as_u16(),
            error: b.error,
            description: b.error_description,
        },
        Err(_) => Error::HttpStatus { what: endpoint, received: r.status().as_u16(), expected: "2xx" },
    }
}

/// The `(id, secret)` of an `Authorization: Basic` header (RFC 6749 §2.3.1: each
/// form-urlencoded, then joined by `:` and base64-encoded): `Ok(None)` without one; an
/// error saying what is wrong with a malformed one (another scheme, not base64, not
/// UTF-8, no `:`).
pub fn basic_credentials(headers: &HeaderMap) -> std::result::Result<Option<(String, String)>, String> {
    use base64::Engine as _;
    let header = single_header(headers, header::AUTHORIZATION).map_err(|e| e.to_string())?;
    let Some(header) = header else { return Ok(None) };
    let (scheme, value) = header.split_once(' ').ok_or("expected `Basic <credentials>`")?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(format!("scheme `{scheme}` is not supported here, expected `Basic`"));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| "credentials are not base64".to_string())?;
    let decoded = String::from_utf8(decoded).map_err(|_| "credentials are not utf-8".to_string())?;
    let (id, secret) = decoded.split_once(':').ok_or("credentials have no `:`")?;
    let form_decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((form_decode(id), form_decode(secret))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameter_is_an_error() {
        assert_eq!(Params::parse(b"a=1&a=2"), Err(Error::RepeatedParameter("a".into())));
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert!(matches!(Params::parse(b"a=\xff"), Err(Error::Malformed { .. })));
        assert!(matches!(Params::parse(b"a=%FF"), Err(Error::Malformed { .. })));
        assert!(matches!(Params::parse(b"%C3=x"), Err(Error::Malformed { .. })));
    }

    #[test]
    fn decodes_plus_and_percent() {
        let p = Params::parse(b"a=x+y%2Bz&b&&c=%C3%A9").unwrap();
        assert_eq!((p.get("a"), p.get("b"), p.get("c")), (Some("x y+z"), Some(""), Some("é")));
    }

    #[test]
    fn round_trip() {
        let p: Params = [("b", "x y"), ("a", "1&2")].into_iter().collect();
        assert_eq!(Params::parse(p.encode().as_bytes()).unwrap(), p);
    }

    #[test]
    fn json_numbers_survive_a_round_trip() {
        // Found by the `registration` and `token_response` fuzz targets: without
        // serde_json's `float_roundtrip` these read one ulp off their shortest form.
        for n in ["28.0850000000359551615", "18446744073714254997", "28.085000000035954"] {
            let v: serde_json::Value = parse_json("number", n.as_bytes()).unwrap();
            let again: serde_json::Value = parse_json("number", &serde_json::to_vec(&v).unwrap()).unwrap();
            assert_eq!(again, v, "{n}");
        }
    }

    #[test]
    fn empty_value_is_missing() {
        let p = Params::parse(b"code=").unwrap();
        assert_eq!(p.require("code"), Err(Error::Missing("parameter `code`".into())));
    }
}
