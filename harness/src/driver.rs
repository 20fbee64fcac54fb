//! The client driver: runs a sans-IO client ([`PublicClient`]) from its first step to
//! its end. Its requests go over a [`Network`] as the client; its authorization requests
//! go through a [`Browser`] named `browser:<client>`, which follows the front channel
//! until the redirect URI. The simulator, the catalog and exploration all drive clients
//! with it (the simulator through [`Sim::run_client`](crate::sim::Sim::run_client)).

use crate::browser::Browser;
use crate::network::Network;
use crate::party::Party;
use mcp_authz_reference::Error;
use mcp_authz_reference::client::{ClientStep, Outcome, PublicClient};
use mcp_authz_reference::sans_io::Env;
use rand_core::RngCore;

/// The most steps one run may take before it is given up.
pub const MAX_STEPS: usize = 200;

/// Runs `client` (named `name`) from `start` to its end over `net`, drawing randomness
/// from `rng`; the browser walks until a URL starting with `redirect_uri`. `opened` is
/// told each authorization URL before the browser opens it.
pub fn run_client<N: Network + ?Sized>(
    net: &mut N,
    rng: &mut dyn RngCore,
    name: &str,
    client: &mut PublicClient,
    redirect_uri: &str,
    start: impl FnOnce(&mut PublicClient, &mut Env<'_>) -> ClientStep,
    opened: &mut dyn FnMut(&str),
) -> Result<Outcome, Error> {
    let mut step = start(client, &mut Env::new(net.now(), rng));
    let mut browser = String::new();
    for _ in 0..MAX_STEPS {
        step = match step {
            ClientStep::Done(o) => return Ok(o),
            ClientStep::Failed(e) => {
                net.note(&format!("{name} failed: {e}"));
                return Err(e);
            }
            ClientStep::Send(req) => {
                let r = net.send(name, req);
                client.on_response(r, &mut Env::new(net.now(), rng))
            }
            ClientStep::Authorize { url } => {
                opened(&url);
                if browser.is_empty() {
                    browser = Party::browser_of(name).name().to_string();
                }
                let redirect = browse(net, &browser, &url, redirect_uri)?;
                client.on_redirect(&redirect, &mut Env::new(net.now(), rng))
            }
        };
    }
    Err(Error::Refused(format!("{name} did not finish within {MAX_STEPS} steps")))
}

/// A user agent at `browser` opens `url` and follows redirects until one leads to a URL
/// starting with `redirect_uri`, which it returns (the front channel). A page instead of
/// a redirect (a login form) ends the walk with an error.
pub fn browse<N: Network + ?Sized>(
    net: &mut N,
    browser: &str,
    url: &str,
    redirect_uri: &str,
) -> Result<String, Error> {
    Browser::new(browser, None).open(net, url, |u| u.as_str().starts_with(redirect_uri))
}
