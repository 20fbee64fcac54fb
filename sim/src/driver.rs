//! The client driver: runs a sans-IO client from its first step to its end.
//!
//! [`Run`] is the driver itself, sans-IO like the clients it drives: it holds the step
//! the client is at, says what the client needs next ([`Next`]: a request sent, an
//! authorization URL taken through a user agent, or the end), and bounds the run at
//! [`MAX_STEPS`]. Executors only carry out what it asks:
//!
//! - [`run_client`] over any [`Network`], with a [`Browser`] named `browser:<client>` for
//!   the front channel: the simulator ([`Sim::run_client`](crate::sim::Sim::run_client)),
//!   the catalog's scenarios and exploration all drive clients through it;
//! - the `mcp-authz-live` crate's async executor, over real HTTP with a real user agent.

use crate::browser::Browser;
use crate::network::Network;
use crate::party::Party;
use mcp_authz_reference::Error;
use mcp_authz_reference::client::{ClientStep, ConfidentialClient, Outcome, PublicClient};
use mcp_authz_reference::sans_io::{Env, FetchResult, Request};
use rand_core::RngCore;

/// The most steps one run may take before it is given up.
pub const MAX_STEPS: usize = 200;

/// A sans-IO client a [`Run`] can drive.
pub trait Client {
    /// The client's next step after the answer to its last request.
    fn on_response(&mut self, fetched: FetchResult, env: &mut Env<'_>) -> ClientStep;
    /// The client's next step after its authorization request came back to `url`.
    fn on_redirect(&mut self, url: &str, env: &mut Env<'_>) -> ClientStep;
}

impl Client for PublicClient {
    fn on_response(&mut self, fetched: FetchResult, env: &mut Env<'_>) -> ClientStep {
        PublicClient::on_response(self, fetched, env)
    }

    fn on_redirect(&mut self, url: &str, env: &mut Env<'_>) -> ClientStep {
        PublicClient::on_redirect(self, url, env)
    }
}

impl Client for ConfidentialClient {
    fn on_response(&mut self, fetched: FetchResult, env: &mut Env<'_>) -> ClientStep {
        ConfidentialClient::on_response(self, fetched, env)
    }

    fn on_redirect(&mut self, _url: &str, _env: &mut Env<'_>) -> ClientStep {
        ClientStep::Failed(Error::Refused("a client-credentials client asked for a user agent".into()))
    }
}

/// What a running client needs next.
#[derive(Debug)]
pub enum Next {
    /// Send this request and hand the answer to [`Run::on_response`].
    Send(Request),
    /// Take this authorization URL through a user agent and hand where it ended to
    /// [`Run::on_redirect`].
    Authorize(String),
    /// The client finished: its outcome.
    Done(Outcome),
    /// The client failed, and why.
    Failed(Error),
    /// The client took [`MAX_STEPS`] steps without finishing: the run is given up.
    GaveUp(Error),
}

/// One client run: the step the client is at, and how many it took.
#[derive(Debug)]
pub struct Run {
    name: String,
    step: Option<ClientStep>,
    steps: usize,
}

impl Run {
    /// A run of the client named `name`, whose first step is `first`.
    pub fn new(name: &str, first: ClientStep) -> Run {
        Run { name: name.to_string(), step: Some(first), steps: 0 }
    }

    /// What the client needs next. After [`Next::Send`] or [`Next::Authorize`], give the
    /// client its answer with [`Run::on_response`] or [`Run::on_redirect`] before asking
    /// again.
    pub fn poll(&mut self) -> Next {
        let name = &self.name;
        if self.steps == MAX_STEPS {
            return Next::GaveUp(Error::Refused(format!("{name} did not finish within {MAX_STEPS} steps")));
        }
        self.steps += 1;
        match self.step.take() {
            Some(ClientStep::Done(o)) => Next::Done(o),
            Some(ClientStep::Failed(e)) => Next::Failed(e),
            Some(ClientStep::Send(req)) => Next::Send(req),
            Some(ClientStep::Authorize { url }) => Next::Authorize(url),
            None => {
                Next::GaveUp(Error::Refused(format!("{name} was asked for a step before its last answer")))
            }
        }
    }

    /// Hands `client` the answer to the request [`Run::poll`] asked for.
    pub fn on_response(&mut self, client: &mut impl Client, fetched: FetchResult, env: &mut Env<'_>) {
        self.step = Some(client.on_response(fetched, env));
    }

    /// Hands `client` the URL its authorization request came back to.
    pub fn on_redirect(&mut self, client: &mut impl Client, url: &str, env: &mut Env<'_>) {
        self.step = Some(client.on_redirect(url, env));
    }
}

/// Runs `client` (named `name`) from `start` to its end over `net`, drawing randomness
/// from `rng`; the browser walks until a URL starting with `redirect_uri`. `opened` is
/// told each authorization URL before the browser opens it. A failure is noted in the
/// network's trace.
pub fn run_client<N: Network + ?Sized>(
    net: &mut N,
    rng: &mut dyn RngCore,
    name: &str,
    client: &mut PublicClient,
    redirect_uri: &str,
    start: impl FnOnce(&mut PublicClient, &mut Env<'_>) -> ClientStep,
    opened: &mut dyn FnMut(&str),
) -> Result<Outcome, Error> {
    let mut run = Run::new(name, start(client, &mut Env::new(net.now(), rng)));
    let browser = Party::browser_of(name);
    loop {
        match run.poll() {
            Next::Send(req) => {
                let r = net.send(name, req);
                run.on_response(client, r, &mut Env::new(net.now(), rng));
            }
            Next::Authorize(url) => {
                opened(&url);
                let redirect = browse(net, browser.name(), &url, redirect_uri)?;
                run.on_redirect(client, &redirect, &mut Env::new(net.now(), rng));
            }
            Next::Done(outcome) => return Ok(outcome),
            Next::Failed(e) => {
                net.note(&format!("{name} failed: {e}"));
                return Err(e);
            }
            Next::GaveUp(e) => return Err(e),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// A client that asks for one more request, forever.
    struct Endless;

    impl Client for Endless {
        fn on_response(&mut self, _: FetchResult, _: &mut Env<'_>) -> ClientStep {
            ClientStep::Send(
                http::Request::get("https://a.example/").body(Default::default()).expect("request"),
            )
        }
        fn on_redirect(&mut self, _: &str, _: &mut Env<'_>) -> ClientStep {
            ClientStep::Failed(Error::Refused("no user agent here".into()))
        }
    }

    #[test]
    fn a_run_is_given_up_after_max_steps_and_says_what_the_client_needs() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut env = Env::new(mcp_authz_reference::sans_io::Time::from_unix_secs(0), &mut rng);
        let mut run = Run::new("endless", Endless.on_response(Ok(Default::default()), &mut env));
        let mut sent = 0;
        let gave_up = loop {
            match run.poll() {
                Next::Send(_) => {
                    sent += 1;
                    run.on_response(&mut Endless, Ok(Default::default()), &mut env);
                }
                Next::GaveUp(e) => break e,
                other => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(sent, MAX_STEPS);
        assert!(gave_up.to_string().contains("endless did not finish within 200 steps"), "{gave_up}");

        let mut run = Run::new("c", ClientStep::Authorize { url: "https://as.example/authorize".into() });
        assert!(matches!(run.poll(), Next::Authorize(u) if u == "https://as.example/authorize"));
        run.on_redirect(&mut Endless, "http://127.0.0.1/cb", &mut env);
        assert!(matches!(run.poll(), Next::Failed(Error::Refused(_))));
    }
}
