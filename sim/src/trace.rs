//! The simulator's trace lines, read back: what reports draw (sequence diagrams) instead
//! of printing raw lines.
//!
//! [`crate::sim::Sim`] writes one line per event:
//!
//! ```text
//!    0.032 client -> https://mcp.example POST /mcp <- 401 invalid_token
//!    0.040 attacker -> https://as.example GET /authorize?x=1 [rewritten by adversary] <- 302
//!    0.051 client -> https://mcp.example POST /mcp !! dropped by adversary
//!    0.052 client -> https://mcp.example POST /mcp !! delay
//!    0.060 client -> https://mcp.example POST /mcp <- error: timed out (dropped)
//!    0.061 client -> https://mcp.example POST /mcp <- 200 (adversary)
//!    0.070 # a note
//! ```
//!
//! [`parse_line`] turns each into an [`Event`]; a line of any other shape is kept as a
//! [`Event::Note`] with its text, so nothing is lost and nothing panics.

/// One trace line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A request from one participant to an origin, and what came of it.
    Message(Message),
    /// A free-form line: a scenario note, or a line of no known shape.
    Note {
        /// The simulated time (`secs.millis`), when the line starts with one.
        at: Option<String>,
        /// The text.
        text: String,
    },
}

/// A request and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The simulated time (`secs.millis`).
    pub at: String,
    /// The sender (`client`, `attacker`, `browser:victim`, an origin).
    pub from: String,
    /// The origin the request was delivered to.
    pub to: String,
    /// The HTTP method.
    pub method: String,
    /// The path and query.
    pub target: String,
    /// The adversary altered the request before delivery.
    pub rewritten: bool,
    /// What came back.
    pub outcome: Outcome,
}

/// What came of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP response.
    Response {
        /// The status code.
        status: u16,
        /// The OAuth `error` code of the body or challenge, if any.
        error: Option<String>,
        /// The adversary answered in the server's place.
        by_adversary: bool,
    },
    /// The request could not be delivered (the reason).
    Failed(String),
    /// The adversary dropped the request.
    Dropped,
    /// The simulator injected a fault (`delay`, `duplicate`, `503`, ...).
    Fault(String),
}

/// Parses one trace line. Never fails: a line that is not a message is a note.
pub fn parse_line(line: &str) -> Event {
    let line = line.trim();
    let (at, rest) = match line.split_once(' ') {
        Some((stamp, rest)) if is_stamp(stamp) => (Some(stamp), rest.trim_start()),
        _ => (None, line),
    };
    if let Some(text) = rest.strip_prefix('#') {
        return Event::Note { at: at.map(String::from), text: text.trim().to_string() };
    }
    match at.and_then(|at| parse_message(at, rest)) {
        Some(m) => Event::Message(m),
        None => Event::Note { at: None, text: line.to_string() },
    }
}

/// Parses every line of `lines`.
pub fn parse(lines: &[String]) -> Vec<Event> {
    lines.iter().map(|l| parse_line(l)).collect()
}

fn is_stamp(s: &str) -> bool {
    match s.split_once('.') {
        Some((secs, millis)) => {
            !secs.is_empty()
                && secs.bytes().all(|b| b.is_ascii_digit())
                && millis.len() == 3
                && millis.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

fn parse_message(at: &str, rest: &str) -> Option<Message> {
    let mut words = rest.splitn(5, ' ');
    let from = words.next()?;
    if words.next()? != "->" {
        return None;
    }
    let to = words.next()?;
    let method = words.next()?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let tail = words.next()?;
    let (target, tail) = tail.split_once(' ')?;
    let (rewritten, tail) = match tail.strip_prefix("[rewritten by adversary]") {
        Some(t) => (true, t.trim_start()),
        None => (false, tail),
    };
    let outcome = if let Some(fault) = tail.strip_prefix("!! ") {
        if fault == "dropped by adversary" { Outcome::Dropped } else { Outcome::Fault(fault.to_string()) }
    } else {
        parse_response(tail.strip_prefix("<- ")?)?
    };
    Some(Message {
        at: at.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        method: method.to_string(),
        target: target.to_string(),
        rewritten,
        outcome,
    })
}

fn parse_response(s: &str) -> Option<Outcome> {
    if let Some(reason) = s.strip_prefix("error: ") {
        return Some(Outcome::Failed(reason.to_string()));
    }
    let (status, rest) = s.split_once(' ').unwrap_or((s, ""));
    let status: u16 = status.parse().ok()?;
    let (rest, by_adversary) = match rest.strip_suffix("(adversary)") {
        Some(r) => (r.trim(), true),
        None => (rest.trim(), false),
    };
    let error = (!rest.is_empty()).then(|| rest.to_string());
    Some(Outcome::Response { status, error, by_adversary })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(line: &str) -> Message {
        match parse_line(line) {
            Event::Message(m) => m,
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn a_response_with_and_without_error_code() {
        let m = message("   0.032 client -> https://mcp.example POST /mcp <- 401 invalid_token");
        assert_eq!(m.at, "0.032");
        assert_eq!(m.from, "client");
        assert_eq!(m.to, "https://mcp.example");
        assert_eq!(m.method, "POST");
        assert_eq!(m.target, "/mcp");
        assert!(!m.rewritten);
        assert_eq!(
            m.outcome,
            Outcome::Response { status: 401, error: Some("invalid_token".into()), by_adversary: false }
        );
        let m = message("12.000 browser:victim -> https://as.example GET /authorize?a=b&c=d <- 302");
        assert_eq!(m.from, "browser:victim");
        assert_eq!(m.target, "/authorize?a=b&c=d");
        assert_eq!(m.outcome, Outcome::Response { status: 302, error: None, by_adversary: false });
    }

    #[test]
    fn rewritten_dropped_faulted_failed_and_answered_by_the_adversary() {
        let m = message(
            "0.040 attacker -> https://as.example GET /token?x=1 [rewritten by adversary] <- 400 invalid_grant",
        );
        assert!(m.rewritten);
        assert_eq!(m.target, "/token?x=1");
        assert_eq!(
            m.outcome,
            Outcome::Response { status: 400, error: Some("invalid_grant".into()), by_adversary: false }
        );
        assert_eq!(
            message("0.051 client -> https://mcp.example POST /mcp !! dropped by adversary").outcome,
            Outcome::Dropped
        );
        assert_eq!(
            message("0.052 client -> https://mcp.example POST /mcp !! delay").outcome,
            Outcome::Fault("delay".into())
        );
        let m = message("0.053 client -> https://a.example GET / [rewritten by adversary] !! duplicate");
        assert!(m.rewritten);
        assert_eq!(m.outcome, Outcome::Fault("duplicate".into()));
        assert_eq!(
            message("0.060 client -> https://mcp.example POST /mcp <- error: timed out (dropped)").outcome,
            Outcome::Failed("timed out (dropped)".into())
        );
        assert_eq!(
            message("0.061 client -> https://mcp.example POST /mcp <- 200 (adversary)").outcome,
            Outcome::Response { status: 200, error: None, by_adversary: true }
        );
    }

    #[test]
    fn notes_keep_their_time_and_text() {
        assert_eq!(
            parse_line("   0.000 # scenario RS-AUD-01 seed 1"),
            Event::Note { at: Some("0.000".into()), text: "scenario RS-AUD-01 seed 1".into() }
        );
    }

    #[test]
    fn garbage_is_a_plain_note() {
        for line in [
            "",
            "   ",
            "garbage",
            "0.1 a -> b GET / <- 200",
            "0.100 a -> b",
            "0.100 a -> b get / <- 200",
            "0.100 a => b GET / <- 200",
            "0.100 a -> b GET /",
            "0.100 a -> b GET / <- two hundred",
            "0.100 a -> b GET / <- 99999999",
            "0.100 a -> b GET / ?? 200",
            "    0.071 (late copy, after `a -> b GET /`) -> b GET / <- 200",
            "0.100 a -> b GET / <- ",
            "ü 0.100 a -> b GET / <- 200 ✓",
        ] {
            assert_eq!(parse_line(line), Event::Note { at: None, text: line.trim().to_string() }, "{line:?}");
        }
    }

    #[test]
    fn reads_back_what_the_simulator_writes() {
        let mut sim = crate::sim::Sim::new(7);
        sim.add_fn("https://a.example", |_| {
            mcp_authz_reference::wire::oauth_error(http::StatusCode::BAD_REQUEST, "invalid_request", "no")
        });
        sim.note("hello");
        let _ = sim.get("client", "https://a.example/x?y=1");
        let _ = sim.get("client", "https://nowhere.example/");
        let events: Vec<Event> = sim.trace().lines().map(parse_line).collect();
        assert!(matches!(&events[0], Event::Note { at: Some(_), text } if text == "hello"), "{events:?}");
        let Event::Message(m) = &events[1] else { panic!("{events:?}") };
        assert_eq!(
            (m.from.as_str(), m.to.as_str(), m.method.as_str()),
            ("client", "https://a.example", "GET")
        );
        assert_eq!(m.target, "/x?y=1");
        assert_eq!(
            m.outcome,
            Outcome::Response { status: 400, error: Some("invalid_request".into()), by_adversary: false }
        );
        assert!(
            matches!(&events[2], Event::Message(Message { outcome: Outcome::Failed(_), .. })),
            "{events:?}"
        );
    }
}
