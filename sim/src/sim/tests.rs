//! Tests of the simulator: determinism, channels, faults, the adversary.
use super::*;
use std::cell::Cell;
use std::rc::Rc;

fn counting(sim: &mut Sim, origin: &str) -> Rc<Cell<u32>> {
    let hits = Rc::new(Cell::new(0));
    let h = Rc::clone(&hits);
    sim.add_fn(origin, move |_| {
        h.set(h.get() + 1);
        Response::new(Bytes::from_static(b"ok"))
    });
    hits
}

fn traffic(seed: u64) -> String {
    let mut sim = Sim::new(seed);
    counting(&mut sim, "https://a.example");
    for i in 0..5 {
        let _ = sim.get("c", &format!("https://a.example/{i}"));
    }
    sim.trace().to_string()
}

#[test]
fn stamps_are_seconds_and_milliseconds() {
    let stamp = |ms| format!("{:>8}", Stamp(ms));
    assert_eq!(stamp(0), "   0.000");
    assert_eq!(stamp(7), "   0.007");
    assert_eq!(stamp(12_345), "  12.345");
    assert_eq!(stamp(123_456_789), "123456.789");
}

#[test]
fn same_seed_same_trace_other_seed_other_timing() {
    assert_eq!(traffic(3), traffic(3));
    assert_ne!(traffic(3), traffic(4));
}

#[test]
fn faults_follow_their_probabilities() {
    let mut sim = Sim::new(1);
    let hits = counting(&mut sim, "https://a.example");
    sim.set_faults(Faults { drop: 1.0, ..Faults::default() });
    assert!(sim.get("c", "https://a.example/").unwrap_err().reason.contains("dropped"));
    sim.set_faults(Faults { server_error: 1.0, ..Faults::default() });
    assert_eq!(sim.get("c", "https://a.example/").unwrap().status(), 503);
    assert_eq!(hits.get(), 0);
    sim.set_faults(Faults { duplicate: 1.0, ..Faults::default() });
    sim.get("c", "https://a.example/").unwrap();
    assert_eq!(hits.get(), 2);
    sim.set_faults(Faults { reorder: 1.0, ..Faults::default() });
    sim.get("c", "https://a.example/").unwrap();
    assert_eq!(hits.get(), 4, "the held copy arrives after the original");
    assert!(sim.trace().contains("(late copy"));
    sim.set_faults(Faults { delay: 1.0, ..Faults::default() });
    let before = sim.now();
    sim.get("c", "https://a.example/").unwrap();
    assert!(sim.now() > before);
    assert_eq!(
        sim.get("c", "https://nowhere.example/").unwrap_err().reason,
        "no host at https://nowhere.example (connection refused)"
    );
}

struct Thief {
    seen: Rc<Cell<u32>>,
}

impl Interceptor for Thief {
    fn on_request(&mut self, _msg: &Message, req: &mut Request) -> Verdict {
        self.seen.set(self.seen.get() + 1);
        match req.uri().path() {
            "/drop" => Verdict::Drop,
            "/answer" => Verdict::Respond(Response::new(Bytes::from_static(b"forged"))),
            _ => {
                *req.uri_mut() = "https://a.example/rewritten".parse().unwrap();
                Verdict::Pass
            }
        }
    }
}

/// Counts the requests and responses it sees.
struct Watcher {
    requests: Rc<Cell<u32>>,
    responses: Rc<Cell<u32>>,
}

impl Interceptor for Watcher {
    fn on_request(&mut self, _msg: &Message, _req: &mut Request) -> Verdict {
        self.requests.set(self.requests.get() + 1);
        Verdict::Pass
    }
    fn on_response(&mut self, _msg: &Message, _req: &Request, _resp: &mut Response) {
        self.responses.set(self.responses.get() + 1);
    }
}

#[test]
fn the_interceptor_sees_the_copies_faults_make() {
    let mut sim = Sim::new(1);
    let hits = counting(&mut sim, "https://a.example");
    let (requests, responses) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let watcher = Watcher { requests: Rc::clone(&requests), responses: Rc::clone(&responses) };
    sim.set_interceptor(vec![Channel::Resource], Box::new(watcher));
    sim.set_faults(Faults { duplicate: 1.0, ..Faults::default() });
    sim.get("c", "https://a.example/twice").unwrap();
    assert_eq!((hits.get(), requests.get(), responses.get()), (2, 2, 2));
    assert!(sim.trace().contains("(duplicate) c -> https://a.example GET /twice <- 200"));
    sim.set_faults(Faults { reorder: 1.0, ..Faults::default() });
    sim.get("c", "https://a.example/late").unwrap();
    assert_eq!((hits.get(), requests.get(), responses.get()), (4, 4, 4));
    assert!(sim.trace().contains(") c -> https://a.example GET /late <- 200"));
    assert!(sim.trace().contains("(late copy, after `c -> https://a.example GET /late`)"));
}

#[test]
#[should_panic(expected = "not granted the channels [Token]")]
fn the_adversary_is_held_to_its_grant() {
    let mut sim = Sim::new(1);
    sim.grant(vec![Channel::FrontChannel]);
    sim.set_interceptor(vec![Channel::FrontChannel], Box::new(Thief { seen: Rc::default() }));
    sim.set_interceptor(vec![Channel::Token], Box::new(Thief { seen: Rc::default() }));
}

#[test]
fn the_adversary_sees_only_its_channels() {
    let mut sim = Sim::new(1);
    sim.add_fn("https://a.example", |req| Response::new(req.uri().path().to_string().into()));
    let seen = Rc::new(Cell::new(0));
    sim.set_interceptor(vec![Channel::Resource], Box::new(Thief { seen: Rc::clone(&seen) }));
    assert!(sim.get("c", "https://a.example/drop").is_err());
    assert_eq!(&sim.get("c", "https://a.example/answer").unwrap().body()[..], b"forged");
    assert_eq!(&sim.get("c", "https://a.example/x").unwrap().body()[..], b"/rewritten");
    // Metadata is on another channel: untouched.
    let r = sim.get("c", "https://a.example/.well-known/oauth-protected-resource").unwrap();
    assert_eq!(&r.body()[..], b"/.well-known/oauth-protected-resource");
    assert_eq!(seen.get(), 3);
    assert!(sim.trace().contains("dropped by adversary"));
    assert!(sim.trace().contains("c -> https://a.example GET /rewritten [rewritten by adversary] <- 200"));
}

/// A service that answers every request by fetching from another host.
struct Proxy;

impl Service for Proxy {
    type Pending = ();
    fn handle(&mut self, _req: Request, _env: &mut Env<'_>) -> Step<()> {
        let request = http::Request::get("https://b.example/data").body(Bytes::new()).unwrap();
        Step::Fetch { request, pending: () }
    }
    fn resume(&mut self, _p: (), r: FetchResult, _env: &mut Env<'_>) -> Step<()> {
        let body = r.map(|r| r.into_body()).unwrap_or_else(|e| Bytes::from(e.reason));
        Step::Respond(Response::new(body))
    }
}

#[test]
fn services_fetch_through_the_network_and_cannot_reenter() {
    let mut sim = Sim::new(1);
    sim.add_service("https://a.example", Proxy);
    sim.add_fn("https://b.example", |_| Response::new(Bytes::from_static(b"from b")));
    assert_eq!(&sim.get("c", "https://a.example/").unwrap().body()[..], b"from b");
    assert!(sim.trace().contains("https://a.example -> https://b.example GET /data"));
    sim.add_service("https://b.example", Proxy);
    let r = sim.get("c", "https://b.example/").unwrap();
    assert_eq!(&r.body()[..], b"https://b.example is busy (re-entrant request)");
}

/// An interceptor made of a closure, recording the paths it saw.
struct PathRule<F> {
    seen: Rc<std::cell::RefCell<Vec<String>>>,
    act: F,
}

impl<F: FnMut(&mut Request) -> Verdict> Interceptor for PathRule<F> {
    fn on_request(&mut self, _msg: &Message, req: &mut Request) -> Verdict {
        self.seen.borrow_mut().push(req.uri().path().to_string());
        (self.act)(req)
    }
}

fn rule<F: FnMut(&mut Request) -> Verdict + 'static>(
    act: F,
) -> (Box<dyn Interceptor>, Rc<std::cell::RefCell<Vec<String>>>) {
    let seen = Rc::default();
    (Box::new(PathRule { seen: Rc::clone(&seen), act }), seen)
}

#[test]
fn adversary_rules_apply_in_order_and_observers_see_what_is_delivered() {
    let mut sim = Sim::new(1);
    let hits = counting(&mut sim, "https://a.example");
    let (first, first_saw) = rule(|req| {
        *req.uri_mut() = "https://a.example/rewritten".parse().expect("uri");
        Verdict::Pass
    });
    let (second, second_saw) =
        rule(|req| if req.uri().path() == "/blocked" { Verdict::Drop } else { Verdict::Pass });
    let (watcher, watched) = rule(|req| {
        // An observer's changes are not delivered.
        *req.uri_mut() = "https://a.example/observer".parse().expect("uri");
        Verdict::Drop
    });
    sim.set_interceptor(vec![Channel::Resource], first);
    sim.add_interceptor(vec![Channel::Resource], second);
    sim.observe(vec![Channel::Resource], watcher);
    assert!(sim.get("c", "https://a.example/x").is_ok());
    assert_eq!(*first_saw.borrow(), ["/x"]);
    assert_eq!(*second_saw.borrow(), ["/rewritten"], "the second rule sees the first one's rewrite");
    assert_eq!(*watched.borrow(), ["/rewritten"], "the observer sees what is delivered");
    assert_eq!(hits.get(), 1, "an observer neither drops nor rewrites");
    assert!(sim.trace().contains("-> https://a.example GET /rewritten [rewritten by adversary] <- 200"));

    // Replacing the adversary leaves the observer in place.
    let (blocker, _) = rule(|_| Verdict::Drop);
    sim.set_interceptor(vec![Channel::Resource], blocker);
    assert!(sim.get("c", "https://a.example/y").is_err());
    assert_eq!(*watched.borrow(), ["/rewritten"], "a dropped message is not delivered, so not observed");
    sim.clear_interceptor();
    assert!(sim.get("c", "https://a.example/z").is_ok());
    assert_eq!(*watched.borrow(), ["/rewritten", "/z"]);
    sim.clear_observers();
    assert!(sim.get("c", "https://a.example/w").is_ok());
    assert_eq!(watched.borrow().len(), 2);
}
