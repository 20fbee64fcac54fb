//! What a user agent or a client driver needs of a network: send a request as a named
//! party and get its answer, and read the clock. The simulator ([`crate::sim::Sim`]) is
//! one; a real-HTTP network (the `mcp-authz-live` crate) is another. The
//! [`Browser`](crate::browser::Browser) and the [`driver`](crate::driver) are generic
//! over it, so neither depends on the simulator.

use mcp_authz_reference::sans_io::{FetchResult, Request, Response, Time};

/// A network a party sends requests over.
pub trait Network {
    /// Sends `req` as `from` and returns the answer, or why there is none.
    fn send(&mut self, from: &str, req: Request) -> FetchResult;

    /// The current time.
    fn now(&self) -> Time;

    /// Writes `line` to the network's trace, if it keeps one.
    fn note(&mut self, _line: &str) {}
}

/// The origin (`scheme://host[:port]`) of an absolute URL, or `None`.
pub fn origin_of(uri: &http::Uri) -> Option<String> {
    let (scheme, authority) = (uri.scheme_str()?, uri.authority()?.as_str());
    let mut origin = String::with_capacity(scheme.len() + 3 + authority.len());
    origin.push_str(scheme);
    origin.push_str("://");
    origin.push_str(authority);
    Some(origin)
}

/// A copy of a response (status, headers, body).
pub fn clone_response(r: &Response) -> Response {
    let mut copy = Response::new(r.body().clone());
    *copy.status_mut() = r.status();
    *copy.headers_mut() = r.headers().clone();
    copy
}
