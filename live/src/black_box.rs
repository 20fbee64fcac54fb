//! What the harness learns of a deployed MCP server from outside, as a client would on
//! its first contact: the 401 challenge, its protected resource metadata (RFC 9728), the
//! authorization server that names (RFC 8414 or OpenID discovery) and that AS's
//! published keys. [`the_servers_authority`] follows that funnel; `scan` and
//! `test-server --token-command` then forge tokens from those keys, or ask the server's
//! own AS for real ones.
//!
//! Only what the server names is fetched: its metadata (at the challenge's
//! `resource_metadata`, else the well-known URLs), the first authorization server the
//! metadata names, and the `jwks_uri` that AS's metadata names.

use crate::target::Connect;
use crate::tokens::TheServersAuthority;
use mcp_authz_reference::bearer;
use mcp_authz_reference::jwt::Jwks;
use mcp_authz_reference::protected_resource_metadata::{ProtectedResourceMetadata, well_known_urls};
use mcp_authz_reference::sans_io::Time;
use mcp_authz_scenarios::world::{World, discover};
use mcp_authz_sim::sim::Sim;

/// The server's authorization server as found from outside, and how it was found (one
/// line per step, for the report).
pub struct Found {
    /// Its issuer and published keys (no way to get tokens yet).
    pub authority: TheServersAuthority,
    /// One line per step of the funnel.
    pub notes: Vec<String>,
}

/// Why the funnel stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunnelError {
    /// The server did not answer at all: nothing can be tested.
    Unreachable(String),
    /// A step gave nothing to go on (no metadata, no authorization server): what was
    /// expected and what was seen. The server can still be tested without its AS.
    Stopped(String),
}

impl From<String> for FunnelError {
    fn from(why: String) -> FunnelError {
        FunnelError::Stopped(why)
    }
}

impl std::fmt::Display for FunnelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FunnelError::Unreachable(why) | FunnelError::Stopped(why) => f.write_str(why),
        }
    }
}

/// Follows the discovery funnel from the MCP endpoint `url`, at `now`, reaching each
/// host with `connect`. Fails with what was expected and what was seen at the first step
/// that gives nothing to go on.
pub fn the_servers_authority(url: &str, now: Time, connect: &Connect) -> Result<Found, FunnelError> {
    let mut sim = Sim::starting_at(0, now);
    let mut hosts = Hosts { connect: connect.clone(), added: Vec::new() };
    let mut notes = Vec::new();
    hosts.reach(&mut sim, url)?;

    let opening = World::rpc_request(url, None, &World::initialize_body(), &[]);
    let challenge = match sim.send("harness", opening) {
        Ok(r) if r.status() == 401 => bearer::bearer_challenge(r.headers()).ok().flatten(),
        Ok(r) => {
            notes.push(format!("a request without a token answered HTTP {}, not 401", r.status().as_u16()));
            None
        }
        Err(e) => {
            let why = format!("the server at {url} did not answer: {}. Is it running there?", e.reason);
            return Err(FunnelError::Unreachable(why));
        }
    };
    let named = challenge.as_ref().and_then(|c| c.get("resource_metadata")).map(String::from);
    let candidates = match &named {
        Some(prm) => vec![prm.clone()],
        None => well_known_urls(url).map_err(|e| format!("--url {url}: {e}"))?,
    };
    let mut metadata = None;
    let mut seen = Vec::new();
    for at in candidates {
        hosts.reach(&mut sim, &at)?;
        match sim.get("harness", &at) {
            Ok(r) if r.status() == 200 => match ProtectedResourceMetadata::parse(r.body()) {
                Ok(m) => {
                    metadata = Some((at, m));
                    break;
                }
                Err(e) => seen.push(format!("{at}: {e}")),
            },
            Ok(r) => seen.push(format!("{at} answered HTTP {}", r.status().as_u16())),
            Err(e) => seen.push(format!("{at}: {}", e.reason)),
        }
    }
    let (at, metadata) = metadata.ok_or_else(|| {
        format!(
            "no protected resource metadata for {url} ({}): expected it at the challenge's resource_metadata \
             or a well-known URL (RFC 9728 §3)",
            seen.join("; ")
        )
    })?;
    let how = if named.is_some() { "the challenge's resource_metadata" } else { "the well-known URL" };
    notes.push(format!("protected resource metadata at {at} ({how})"));
    let issuer =
        metadata.authorization_servers.first().cloned().ok_or_else(|| {
            format!("the protected resource metadata at {at} names no authorization_servers")
        })?;
    notes.push(format!("authorization server {issuer}"));

    hosts.reach(&mut sim, &issuer)?;
    let as_metadata = discover(&mut sim, &issuer).map_err(|e| FunnelError::Stopped(e.to_string()))?;
    let keys = match as_metadata.jwks_uri {
        Some(jwks_uri) => {
            hosts.reach(&mut sim, &jwks_uri)?;
            let jwks = match sim.get("harness", &jwks_uri) {
                Ok(r) if r.status() == 200 => Jwks::parse(r.body()).map_err(|e| format!("{jwks_uri}: {e}")),
                Ok(r) => Err(format!("{jwks_uri} answered HTTP {}", r.status().as_u16())),
                Err(e) => Err(format!("{jwks_uri}: {}", e.reason)),
            };
            match jwks {
                Ok(jwks) => {
                    notes.push(format!("{} published key(s) at {jwks_uri}", jwks.keys.len()));
                    jwks.keys
                }
                Err(why) => {
                    notes.push(format!("no keys: {why}; the forgeries that need one are not tried"));
                    Vec::new()
                }
            }
        }
        None => {
            notes.push("no jwks_uri in its metadata: the forgeries that need a key are not tried".into());
            Vec::new()
        }
    };
    let scopes = metadata.scopes_supported.clone().unwrap_or_default();
    let authority = TheServersAuthority { issuer, keys, scopes, ..TheServersAuthority::default() };
    Ok(Found { authority, notes })
}

/// The origins the funnel has reached so far, each a host of the simulator that sends
/// over `connect`.
struct Hosts {
    connect: Connect,
    added: Vec<String>,
}

impl Hosts {
    /// Makes `url`'s origin reachable.
    fn reach(&mut self, sim: &mut Sim, url: &str) -> Result<(), String> {
        let origin = url
            .parse::<http::Uri>()
            .ok()
            .as_ref()
            .and_then(mcp_authz_sim::sim::origin_of)
            .ok_or_else(|| format!("`{url}`: expected an absolute http(s) URL"))?;
        if !self.added.contains(&origin) {
            sim.add_remote(&origin, (self.connect)());
            self.added.push(origin);
        }
        Ok(())
    }
}
