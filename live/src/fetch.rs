//! Outbound HTTP for the roles and the harness over real networks: reqwest with a
//! timeout, a body size limit, no redirects followed, and an address policy that keeps
//! server-side fetches (client ID metadata documents, metadata a hostile server points
//! at) away from loopback and private ranges unless allowed (SSRF, RFC 9728 §7.7,
//! CIMD §6.5).

use bytes::Bytes;
use mcp_authz_reference::Error;
use mcp_authz_reference::sans_io::{FetchError, FetchResult, Request};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Which destination addresses a [`Fetcher`] may connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Public addresses only: no loopback, private, link-local, unspecified, multicast
    /// or other reserved ranges (IPv4-mapped IPv6 addresses are judged as IPv4).
    PublicOnly,
    /// Anything, loopback included: for fetching from servers the user configured
    /// (the harness's own AS and RS on 127.0.0.1).
    Any,
}

impl AddressPolicy {
    /// True when this policy allows connecting to `ip`.
    pub fn allows(self, ip: IpAddr) -> bool {
        match self {
            AddressPolicy::Any => true,
            AddressPolicy::PublicOnly => is_public(ip),
        }
    }
}

/// True for globally routable unicast addresses.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // CGNAT 100.64/10
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) // benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || s[0] == 0x2001 && s[1] == 0xdb8) // documentation
        }
    }
}

/// A DNS resolver that drops addresses the policy forbids, so a name that resolves to
/// 127.0.0.1 or 169.254.169.254 is refused before any connection.
struct PolicyResolver(AddressPolicy);

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs.into_iter().filter(|a| policy.allows(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!("`{host}` resolves only to addresses the fetch policy forbids").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Performs the fetches roles ask for, over real HTTP.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: AddressPolicy,
    max_body: usize,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher").field("policy", &self.policy).field("max_body", &self.max_body).finish()
    }
}

impl Fetcher {
    /// A fetcher with `policy`, a `timeout` per request and a body limit of `max_body`
    /// bytes. Redirects are never followed: a 3xx is returned as is. Fails when the HTTP
    /// client cannot be built (no TLS roots, say); it never falls back to a client without
    /// these limits.
    pub fn new(policy: AddressPolicy, timeout: Duration, max_body: usize) -> Result<Self, Error> {
        Self::build(policy, timeout, max_body, false)
    }

    /// Like [`Fetcher::trusted`], but honouring `HTTP_PROXY`, `HTTPS_PROXY` and
    /// `NO_PROXY` as other HTTP clients do: for `mcp-authz client`, run by a user.
    pub fn with_env_proxies() -> Result<Self, Error> {
        Self::trusted_with_proxies(true)
    }

    fn build(
        policy: AddressPolicy,
        timeout: Duration,
        max_body: usize,
        env_proxies: bool,
    ) -> Result<Self, Error> {
        let mut builder = reqwest::Client::builder();
        if !env_proxies {
            builder = builder.no_proxy();
        }
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .dns_resolver(Arc::new(PolicyResolver(policy)))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {}", describe(&e))))?;
        Ok(Fetcher { client, policy, max_body })
    }

    /// The default for talking to servers the user named: any address, 10 s, 1 MiB.
    pub fn trusted() -> Result<Self, Error> {
        Self::trusted_with_proxies(false)
    }

    fn trusted_with_proxies(env_proxies: bool) -> Result<Self, Error> {
        Self::build(AddressPolicy::Any, Duration::from_secs(10), 1024 * 1024, env_proxies)
    }

    /// The default for URLs a peer chose: public addresses only, 5 s, 64 KiB.
    pub fn untrusted() -> Result<Self, Error> {
        Self::new(
            AddressPolicy::PublicOnly,
            Duration::from_secs(5),
            mcp_authz_reference::wire::MAX_FETCH_BYTES,
        )
    }

    /// Performs `request` and returns the response with its whole body, or why it failed.
    pub async fn fetch(&self, request: Request) -> FetchResult {
        let url = request.uri().to_string();
        let fail = |reason: String| FetchError { url: url.clone(), reason };
        let parsed = url::Url::parse(&url).map_err(|e| fail(format!("not an absolute url: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(fail(format!("scheme `{}` is not http(s)", parsed.scheme())));
        }
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal.filter(|ip| !self.policy.allows(*ip)) {
            return Err(fail(format!("address {ip} is forbidden by the fetch policy (loopback/private)")));
        }
        let (parts, body) = request.into_parts();
        let mut builder = self.client.request(parts.method, parsed);
        for (name, value) in &parts.headers {
            builder = builder.header(name, value);
        }
        let mut resp = builder.body(body).send().await.map_err(|e| fail(describe(&e)))?;
        let mut out = http::Response::builder().status(resp.status());
        for (name, value) in resp.headers() {
            out = out.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| fail(describe(&e)))? {
            if body.len() + chunk.len() > self.max_body {
                return Err(fail(format!("body over {} bytes", self.max_body)));
            }
            body.extend_from_slice(&chunk);
        }
        out.body(Bytes::from(body)).map_err(|e| fail(e.to_string()))
    }
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut s = if e.is_timeout() { "timed out".to_string() } else { e.to_string() };
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_only_refuses_internal_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "93.184.216.34", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn literal_loopback_is_refused_without_connecting() {
        let f = Fetcher::untrusted().unwrap();
        for url in [
            "http://127.0.0.1:1/x",
            "http://[::ffff:127.0.0.1]:1/x",
            "http://2130706433:1/x",
            "http://0x7f.1:1/x",
        ] {
            let req = http::Request::get(url).body(Bytes::new()).unwrap();
            let err = f.fetch(req).await.unwrap_err();
            assert!(err.reason.contains("forbidden"), "{url}: {}", err.reason);
        }
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        let f = Fetcher::untrusted().unwrap();
        let req = http::Request::get("http://localhost:1/x").body(Bytes::new()).unwrap();
        let err = f.fetch(req).await.unwrap_err();
        assert!(err.reason.contains("forbids"), "{}", err.reason);
    }
}
