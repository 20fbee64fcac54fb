//! A sequence diagram of a trace, as inline SVG: one lifeline per participant (senders and
//! origins, in order of appearance), one arrow per request with its response as a dashed
//! return arrow, and notes as annotations at the side. Messages the adversary rewrote,
//! dropped or answered, and injected faults, are drawn in red and labelled.

use super::xml_escape as escape;
use crate::trace::{Event, Message, Outcome};
use std::fmt::Write as _;

const LEFT: usize = 60;
const COL: usize = 180;
const HEAD: usize = 48;
const ROW: usize = 46;
const LINE: usize = 14;
const NOTE_W: usize = 300;
const NOTE_CHARS: usize = 42;
/// Approximate width of a character of the 11px monospace labels.
const CHAR_W: usize = 7;
/// At most this many events are drawn; the raw trace has the rest.
const MAX_EVENTS: usize = 250;

/// Draws `events` as an SVG sequence diagram (an empty string when there are none).
pub fn svg(events: &[Event]) -> String {
    if events.is_empty() {
        return String::new();
    }
    let shown = &events[..events.len().min(MAX_EVENTS)];
    let mut participants: Vec<&str> = Vec::new();
    for e in shown {
        if let Event::Message(m) = e {
            for p in [m.from.as_str(), m.to.as_str()] {
                if !participants.contains(&p) {
                    participants.push(p);
                }
            }
        }
    }
    let x_of = |p: &str| LEFT + COL / 2 + COL * participants.iter().position(|q| *q == p).unwrap_or(0);
    let note_x = LEFT + COL * participants.len() + 10;
    let width = note_x + NOTE_W + 10;

    let mut body = String::new();
    let mut y = HEAD + 8;
    for e in shown {
        match e {
            Event::Message(m) => {
                message(&mut body, m, x_of(&m.from), x_of(&m.to), y, width - 10);
                y += ROW;
            }
            Event::Note { at, text } => {
                let lines = wrap(text, NOTE_CHARS);
                let h = lines.len() * LINE + 8;
                if let Some(at) = at {
                    let _ = write!(body, r#"<text class="at" x="4" y="{}">{}</text>"#, y + 14, escape(at));
                }
                let _ = write!(
                    body,
                    r#"<line class="guide" x1="{LEFT}" y1="{gy}" x2="{note_x}" y2="{gy}"/><rect class="note" x="{note_x}" y="{y}" width="{NOTE_W}" height="{h}" rx="3"/>"#,
                    gy = y + h / 2,
                );
                for (i, l) in lines.iter().enumerate() {
                    let _ = write!(
                        body,
                        r#"<text class="note" x="{}" y="{}">{}</text>"#,
                        note_x + 6,
                        y + 4 + LINE * (i + 1) - 3,
                        escape(l)
                    );
                }
                y += h + 6;
            }
        }
    }
    if events.len() > shown.len() {
        let _ = write!(
            body,
            r#"<text class="note" x="{LEFT}" y="{}">… {} more lines in the raw trace</text>"#,
            y + 12,
            events.len() - shown.len()
        );
        y += 20;
    }
    let height = y + 10;

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="seq" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="sequence diagram">"#
    );
    for p in &participants {
        let x = x_of(p);
        let _ = write!(
            out,
            r#"<line class="life" x1="{x}" y1="{HEAD}" x2="{x}" y2="{}"/><g><title>{}</title><rect class="actor" x="{}" y="8" width="{}" height="30" rx="4"/><text class="actor" x="{x}" y="28">{}</text></g>"#,
            height - 6,
            escape(p),
            x - COL / 2 + 8,
            COL - 16,
            escape(&truncate(p, (COL - 24) / CHAR_W))
        );
    }
    out.push_str(&body);
    out.push_str("</svg>");
    out
}

/// One request arrow and, when there is a response or failure, its return arrow. Labels
/// are centred on the arrow and may use the row's width up to `right` (rows do not share it).
fn message(out: &mut String, m: &Message, x1: usize, x2: usize, y: usize, right: usize) {
    let req_y = y + 16;
    let ret_y = y + 36;
    let _ = write!(out, r#"<g class="exchange"><title>{}</title>"#, escape(&describe(m)));
    let _ = write!(out, r#"<text class="at" x="4" y="{}">{}</text>"#, req_y + 4, escape(&m.at));
    let mid = x1.min(x2) + x1.abs_diff(x2) / 2;
    let room = if x1 == x2 {
        right.saturating_sub(x1 + 36) / CHAR_W
    } else {
        2 * mid.saturating_sub(LEFT).min(right.saturating_sub(mid)) / CHAR_W
    };
    let mark = if m.rewritten { "✎ " } else { "" };
    let label = format!("{mark}{} {}", m.method, m.target);
    let req_class = if m.rewritten { "req bad" } else { "req" };

    if x1 == x2 {
        // A request to itself: a loop to the right, labelled with its outcome.
        let text = format!("{label} ⇒ {}", outcome_text(&m.outcome));
        let _ = write!(
            out,
            r#"<path class="{req_class}" d="M{x1} {req_y} h30 v14 h-22"/>{}<text class="label self" x="{}" y="{}">{}</text>"#,
            head(x1 + 8, req_y + 14, -1),
            x1 + 36,
            req_y + 11,
            escape(&truncate(&text, room))
        );
    } else {
        let dir: isize = if x2 > x1 { 1 } else { -1 };
        let end = if m.outcome == Outcome::Dropped { x1.min(x2) + x1.abs_diff(x2) * 3 / 5 } else { x2 };
        let end = if dir < 0 && m.outcome == Outcome::Dropped { x1 + x2 - end } else { end };
        let _ = write!(out, r#"<line class="{req_class}" x1="{x1}" y1="{req_y}" x2="{end}" y2="{req_y}"/>"#);
        if m.outcome == Outcome::Dropped {
            let _ = write!(
                out,
                r#"<text class="cross" x="{end}" y="{}">✕</text><text class="label bad" x="{mid}" y="{}">dropped by adversary</text>"#,
                req_y + 5,
                ret_y - 4
            );
        } else {
            out.push_str(&head(x2, req_y, dir));
        }
        let _ = write!(
            out,
            r#"<text class="label{}" x="{mid}" y="{}">{}</text>"#,
            if m.rewritten { " bad" } else { "" },
            req_y - 4,
            escape(&truncate(&label, room.saturating_sub(2)))
        );
        let ret = match &m.outcome {
            Outcome::Response { status, error, by_adversary } => {
                let mut text = status.to_string();
                if let Some(e) = error {
                    text.push(' ');
                    text.push_str(e);
                }
                if *by_adversary {
                    text.push_str(" — answered by the adversary");
                }
                let class = if *by_adversary { "bad".to_string() } else { format!("s{}xx", status / 100) };
                Some((text, class))
            }
            Outcome::Failed(reason) => Some((format!("✕ error: {reason}"), "bad".to_string())),
            Outcome::Fault(fault) => {
                let _ = write!(
                    out,
                    r#"<text class="label bad" x="{mid}" y="{}">⚡ fault injected: {}</text>"#,
                    ret_y - 4,
                    escape(&truncate(fault, room.saturating_sub(20)))
                );
                None
            }
            Outcome::Dropped => None,
        };
        if let Some((text, class)) = ret {
            let _ = write!(
                out,
                r#"<line class="ret {class}" x1="{x2}" y1="{ret_y}" x2="{x1}" y2="{ret_y}"/>{}<text class="label {class}" x="{mid}" y="{}">{}</text>"#,
                head(x1, ret_y, -dir),
                ret_y - 4,
                escape(&truncate(&text, room.saturating_sub(2)))
            );
        }
    }
    out.push_str("</g>");
}

/// An arrowhead pointing in `dir` (1 = right) with its tip at (`x`, `y`).
fn head(x: usize, y: usize, dir: isize) -> String {
    let back = if dir > 0 { x.saturating_sub(8) } else { x + 8 };
    format!(r#"<polygon class="head" points="{x},{y} {back},{} {back},{}"/>"#, y.saturating_sub(4), y + 4)
}

/// The outcome in a few words.
fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Response { status, error, by_adversary } => format!(
            "{status}{}{}",
            error.as_deref().map(|e| format!(" {e}")).unwrap_or_default(),
            if *by_adversary { " (answered by the adversary)" } else { "" }
        ),
        Outcome::Failed(r) => format!("error: {r}"),
        Outcome::Dropped => "dropped by adversary".into(),
        Outcome::Fault(f) => format!("fault: {f}"),
    }
}

/// The full message, for the tooltip.
fn describe(m: &Message) -> String {
    format!(
        "{} {} → {} {} {}{} ⇒ {}",
        m.at,
        m.from,
        m.to,
        m.method,
        m.target,
        if m.rewritten { " [rewritten by adversary]" } else { "" },
        outcome_text(&m.outcome)
    )
}

/// `s` cut to `max` characters, ending in `…` when cut.
fn truncate(s: &str, max: usize) -> String {
    let max = max.max(4);
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}

/// `text` in lines of at most `width` characters, breaking at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            lines.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::parse_line;

    const TRACE: &[&str] = &[
        "   0.000 # scenario RS-AUD-01 seed 1",
        "   0.032 https://mcp.example -> https://as.example GET /jwks <- 200",
        "   0.040 attacker -> https://mcp.example POST /mcp <- 401 invalid_token",
        "   0.041 attacker -> https://as.example GET /authorize?response_type=code&client_id=dcr-RkARuDdrMLdtQ6caFnrIqQ&redirect_uri=http%3A%2F%2F127.0.0.1 [rewritten by adversary] <- 302",
        "   0.050 client -> https://mcp.example POST /mcp !! dropped by adversary",
        "   0.051 client -> https://mcp.example POST /mcp !! delay",
        "   0.052 client -> https://mcp.example POST /mcp <- error: timed out",
        "   0.053 client -> https://mcp.example POST /mcp <- 200 (adversary)",
        "   0.054 client -> client GET /self <- 200",
        "garbage <script>alert(1)</script>",
    ];

    fn events() -> Vec<Event> {
        TRACE.iter().map(|l| parse_line(l)).collect()
    }

    #[test]
    fn one_arrow_per_message_and_a_return_per_response() {
        let s = svg(&events());
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert_eq!(s.matches(r#"class="req"#).count(), 8, "{s}");
        // Responses and failures get a return arrow; drops, faults and self-loops do not.
        assert_eq!(s.matches(r#"class="ret"#).count(), 5, "{s}");
        assert_eq!(s.matches(r#"<rect class="actor""#).count(), 4, "{s}");
        // The scenario note and the garbage line are notes at the side.
        assert_eq!(s.matches(r#"<rect class="note""#).count(), 2, "{s}");
    }

    #[test]
    fn adversary_actions_are_marked() {
        let s = svg(&events());
        assert!(s.contains(r#"class="req bad""#));
        assert!(s.contains("dropped by adversary"));
        assert!(s.contains("fault injected: delay"));
        assert!(s.contains("answered by the adversary"));
        assert!(s.contains("✕ error: timed out"));
        assert!(s.contains("401 invalid_token"));
        assert!(s.contains(">GET /self ⇒ 200</text>"), "{s}");
    }

    #[test]
    fn long_queries_are_cut_and_text_is_escaped() {
        let s = svg(&events());
        // The label is cut to the room of its row; the tooltip has it all.
        assert!(s.contains("redirect_uri=http%3A%2F%2F…</text>"), "{s}");
        assert!(
            s.contains("redirect_uri=http%3A%2F%2F127.0.0.1 [rewritten by adversary] ⇒ 302</title>"),
            "{s}"
        );
        assert!(!s.contains("<script>"));
        assert!(s.contains("&lt;script&gt;"));
    }

    #[test]
    fn nothing_to_draw_is_empty() {
        assert_eq!(svg(&[]), "");
    }

    #[test]
    fn wrap_and_truncate() {
        assert_eq!(wrap("aaa bbb ccc", 7), vec!["aaa bbb", "ccc"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), vec![""]);
        assert_eq!(wrap("ab", 0), vec!["a", "b"]);
        assert_eq!(truncate("GET /authorize?x=1", 10), "GET /auth…");
        assert_eq!(truncate("GET /", 10), "GET /");
    }
}
