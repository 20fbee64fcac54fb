//! What the scripts of both roles draw on: [`Text`], a field picked from a table or made
//! up, and the builders of the requests they send.

use arbitrary::Arbitrary;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, header};
use mcp_authz_reference::sans_io::Request;
use mcp_authz_reference::wire;

/// A string the fuzzer either picks from a table of plausible values or makes up.
#[derive(Arbitrary, Debug, Clone)]
pub enum Text {
    /// Entry `n % len` of the field's table.
    Known(u8),
    /// Anything.
    Raw(String),
}

impl Text {
    pub(crate) fn pick<'a>(&'a self, table: &[&'a str]) -> &'a str {
        match self {
            Text::Known(i) if !table.is_empty() => table[usize::from(*i) % table.len()],
            Text::Known(_) => "",
            Text::Raw(s) => s,
        }
    }

    /// Like [`Text::pick`] over owned values seen earlier in the run.
    pub(super) fn pick_seen<'a>(&'a self, seen: &'a [String]) -> &'a str {
        match self {
            Text::Known(i) if !seen.is_empty() => &seen[usize::from(*i) % seen.len()],
            Text::Known(_) => "",
            Text::Raw(s) => s,
        }
    }
}

/// The pick of `t` from `table`, or `None` when the field is absent.
pub(super) fn opt<'a>(t: &'a Option<Text>, table: &[&'a str]) -> Option<&'a str> {
    t.as_ref().map(|t| t.pick(table))
}

/// A field whose absence means the valid value, `table[0]`: half of the draws keep the
/// request on the path that succeeds, so the fuzzer reaches the deep states.
pub(super) fn valid_or<'a>(t: &'a Option<Text>, table: &[&'a str]) -> &'a str {
    t.as_ref().map_or(table[0], |t| t.pick(table))
}

/// A bodyless `method` request to `uri` (`/` when `uri` does not parse).
pub(super) fn empty_request(method: Method, uri: &str) -> Request {
    let uri = http::Uri::try_from(uri).unwrap_or_else(|_| http::Uri::from_static("/"));
    let mut r = Request::new(Bytes::new());
    *r.method_mut() = method;
    *r.uri_mut() = uri;
    r
}

/// A `POST` to `uri` with `pairs` as an `application/x-www-form-urlencoded` body.
pub(super) fn form(uri: &str, pairs: &[(&str, &str)]) -> Request {
    let mut r = empty_request(Method::POST, uri);
    *r.body_mut() = Bytes::from(wire::encode_pairs(pairs.iter().copied()));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
    r
}

/// Sets header `name` to `value`, or leaves it out when `value` is not a valid header value.
pub(super) fn set_header(r: &mut Request, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

/// The methods a raw request picks from.
pub(super) const METHODS: [Method; 5] =
    [Method::GET, Method::POST, Method::DELETE, Method::PUT, Method::OPTIONS];
