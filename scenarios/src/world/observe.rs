//! What the harness sees and plants in a world: taps and recorders on the simulator's
//! channels, fake hosts and SSRF canaries, and readers of the answers a role gave.

use super::World;
use http::StatusCode;
use mcp_authz_reference::client::mcp;
use mcp_authz_reference::oauth_error::ErrorCode;
use mcp_authz_reference::sans_io::{FetchResult, Request, Response};
use mcp_authz_reference::{bearer, wire};
pub use mcp_authz_sim::network::clone_response;
use mcp_authz_sim::party::Party;
use mcp_authz_sim::scenario::{Check, Violation};
use mcp_authz_sim::sim::{Channel, Interceptor, Message, Verdict};
use serde_json::{Value, json};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// True when `r` shows that the `tools/call` with JSON-RPC id `id` ran: a 2xx whose
/// JSON-RPC response (JSON or event stream) has a `result` that is not a tool error.
pub fn tool_ran(r: &FetchResult, id: u64) -> bool {
    let Ok(r) = r else { return false };
    r.status().is_success()
        && mcp::response_messages(r).unwrap_or_default().iter().any(|m| {
            m.get("id").and_then(Value::as_u64) == Some(id)
                && m.get("result").is_some_and(|result| result.get("isError") != Some(&Value::Bool(true)))
        })
}

/// `(status, error code of the Bearer challenge)` of a response.
pub fn status_and_challenge_error(r: &Response) -> (u16, Option<ErrorCode>) {
    let err = bearer::bearer_challenge(r.headers()).ok().flatten().and_then(|c| c.error());
    (r.status().as_u16(), err)
}

/// The `error` of an OAuth JSON error body.
pub fn oauth_error_code(r: &Response) -> Option<ErrorCode> {
    serde_json::from_slice::<Value>(r.body()).ok()?.get("error")?.as_str().map(ErrorCode::parse)
}

/// Renders a fetch result for a verdict message.
pub fn describe(r: &FetchResult) -> String {
    match r {
        Ok(r) => {
            // One line: event-stream bodies and pretty JSON have newlines.
            let body = String::from_utf8_lossy(r.body());
            let body: String =
                body.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(160).collect();
            format!("HTTP {} {}", r.status().as_u16(), body)
        }
        Err(e) => format!("no answer ({})", e.reason),
    }
}

/// A request an adversary's tap saw (see [`World::tap`]).
#[derive(Debug, Clone)]
pub struct Seen {
    /// The channel it travelled on.
    pub channel: Channel,
    /// The sender.
    pub from: Party,
    /// The method.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// The body, as text.
    pub body: String,
    /// The headers.
    pub headers: http::HeaderMap,
}

impl Seen {
    /// The path of the URL.
    pub fn path(&self) -> String {
        url::Url::parse(&self.url).map(|u| u.path().to_string()).unwrap_or_default()
    }

    /// Parameter `name` of the query, else of a form body.
    pub fn param(&self, name: &str) -> Option<String> {
        let query = url::Url::parse(&self.url).ok().and_then(|u| u.query().map(String::from));
        [query.unwrap_or_default(), self.body.clone()].iter().find_map(|s| {
            url::form_urlencoded::parse(s.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
        })
    }
}

/// The requests a tap saw, in order.
pub type Log = Rc<RefCell<Vec<Seen>>>;

/// The `METHOD path` lines a fake host received, in order.
pub type Hits = Rc<RefCell<Vec<String>>>;

/// How a fake host answers one path.
pub type Route = Box<dyn FnMut(&Request) -> Response>;

/// An adversary made of two closures that logs every request it lets through.
struct Tap<Q, R> {
    log: Log,
    on_request: Q,
    on_response: R,
}

impl<Q, R> Interceptor for Tap<Q, R>
where
    Q: FnMut(&Message, &mut Request) -> Verdict,
    R: FnMut(&Message, &Request, &mut Response),
{
    fn on_request(&mut self, msg: &Message, req: &mut Request) -> Verdict {
        let verdict = (self.on_request)(msg, req);
        self.log.borrow_mut().push(Seen {
            channel: msg.channel,
            from: msg.from.clone(),
            method: req.method().to_string(),
            url: req.uri().to_string(),
            body: String::from_utf8_lossy(req.body()).into_owned(),
            headers: req.headers().clone(),
        });
        verdict
    }

    fn on_response(&mut self, msg: &Message, req: &Request, resp: &mut Response) {
        (self.on_response)(msg, req, resp);
    }
}

/// A route that always answers with (a copy of) `r`.
pub fn fixed(r: Response) -> Route {
    Box::new(move |_| clone_response(&r))
}

impl World {
    /// Installs an adversary on `channels` that may rewrite or answer requests with
    /// `on_request` and rewrite responses with `on_response`, and logs every request it
    /// sees as delivered. A scenario step sets up its view of the network afresh: the
    /// adversary and observers of earlier steps go.
    pub fn tap(
        &mut self,
        channels: &[Channel],
        on_request: impl FnMut(&Message, &mut Request) -> Verdict + 'static,
        on_response: impl FnMut(&Message, &Request, &mut Response) + 'static,
    ) -> Log {
        let log = Log::default();
        let tap = Tap { log: log.clone(), on_request, on_response };
        self.sim.clear_observers();
        self.sim.set_interceptor(channels.to_vec(), Box::new(tap));
        log
    }

    /// Logs every request on `channels`, changing nothing: the harness watching the role
    /// under test, not an adversary, so no capability is needed. The adversary and
    /// observers of earlier steps go.
    pub fn record(&mut self, channels: &[Channel]) -> Log {
        let log = Log::default();
        let tap = Tap {
            log: log.clone(),
            on_request: |_: &Message, _: &mut Request| Verdict::Pass,
            on_response: |_: &Message, _: &Request, _: &mut Response| {},
        };
        self.sim.clear_interceptor();
        self.sim.clear_observers();
        self.sim.observe(channels.to_vec(), Box::new(tap));
        log
    }

    /// Adds a fake host at `origin`: `routes` map a path (query ignored) to its answer,
    /// other paths get 404. Returns the log of what it received.
    pub fn fake_host(&mut self, origin: &str, mut routes: Vec<(String, Route)>) -> Hits {
        let hits = Hits::default();
        let log = hits.clone();
        self.sim.add_fn(origin, move |req| {
            log.borrow_mut().push(format!("{} {}", req.method(), req.uri().path()));
            match routes.iter_mut().find(|(path, _)| path == req.uri().path()) {
                Some((_, answer)) => answer(&req),
                None => wire::json(StatusCode::NOT_FOUND, &json!({"error": "not_found"})),
            }
        });
        hits
    }

    /// Adds an SSRF canary at each of `origins` (one address may have several
    /// spellings): every request is counted and answered 404. It must stay at 0.
    pub fn canary(&mut self, origins: &[&str]) -> Rc<Cell<u32>> {
        let count = Rc::new(Cell::new(0));
        for origin in origins {
            let c = count.clone();
            self.sim.add_fn(origin, move |_| {
                c.set(c.get() + 1);
                wire::json(StatusCode::NOT_FOUND, &json!({}))
            });
        }
        count
    }
}

/// A case's conclusion from all of its variants, each run: every variant's outcome is
/// written to the trace (the case's evidence), and the case concludes with the worst —
/// a violation (naming every violated variant), else undecided, else holds when some
/// variant held, else not applicable.
pub fn all_variants(w: &mut World, outcomes: Vec<(String, Check)>) -> Check {
    let mut violated: Vec<(String, Violation)> = Vec::new();
    let (mut undecided, mut held, mut not_applicable) = (None, false, None);
    for (variant, outcome) in outcomes {
        let line = match &outcome {
            Check::Holds => "holds".to_string(),
            Check::Violated(v) => format!("violated: {v}"),
            Check::NotApplicable(why) => format!("not applicable: {why}"),
            Check::Undecided(why) => format!("undecided: {why}"),
        };
        w.note(&format!("variant {variant}: {line}"));
        match outcome {
            Check::Holds => held = true,
            Check::Violated(v) => violated.push((variant, v)),
            Check::Undecided(why) => undecided = undecided.or(Some(format!("{variant}: {why}"))),
            Check::NotApplicable(why) => not_applicable = not_applicable.or(Some(why)),
        }
    }
    match violated.len() {
        0 => match (undecided, held, not_applicable) {
            (Some(why), _, _) => Check::Undecided(why),
            (None, true, _) => Check::Holds,
            (None, false, why) => Check::NotApplicable(why.unwrap_or_else(|| "no variant ran".into())),
        },
        1 => {
            let (variant, v) = violated.remove(0);
            let context = if v.context.is_empty() { variant } else { v.context };
            Check::Violated(Violation { context, ..v })
        }
        n => {
            let observed: Vec<String> =
                violated.iter().map(|(variant, v)| format!("{variant}: {}", v.observed)).collect();
            Check::Violated(Violation::about(
                format!("{n} variants"),
                violated[0].1.expected.clone(),
                observed.join("; "),
            ))
        }
    }
}
