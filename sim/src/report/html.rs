//! The HTML report: one self-contained page (inline CSS, no scripts, nothing fetched)
//! with the counts per verdict and per role, every finding (failed, warned or errored
//! case) with the requirement it breaks, what happened, how to replay it and a sequence
//! diagram of the exchange, the results by requirement, and all cases.

use super::Summary;
use super::sequence_diagram;
use super::xml_escape as escape;
use crate::baseline::Baseline;
use crate::scenario::{CaseResult, Level, Role, Verdict};
use crate::trace;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What the page needs besides the results.
pub struct HtmlOptions<'a> {
    /// What was run, shown under the heading (e.g. the command line).
    pub subtitle: &'a str,
    /// Requirement ID → its text (IDs without one are shown without text).
    pub requirements: &'a BTreeMap<String, String>,
    /// The command that re-runs one case alone.
    pub replay: &'a dyn Fn(&CaseResult) -> String,
    /// Failures expected by a baseline, shown as such.
    pub baseline: Option<&'a Baseline>,
}

const STYLE: &str = r#"
:root{--fail:#c62828;--warn:#e65100;--pass:#2e7d32;--skip:#757575;--error:#6a1b9a;--expected:#546e7a;--line:#d0d7de}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:20px 32px}
header h1{margin:0;font-size:24px}
header p{margin:4px 0 0;color:#c9d1d9;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
main{padding:8px 32px 40px;max-width:1400px}
h2{margin:32px 0 12px;font-size:20px;border-bottom:1px solid var(--line);padding-bottom:6px}
h3{margin:0 0 6px;font-size:17px}
h4{margin:14px 0 4px;font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:#57606a}
nav a{margin-right:16px}
a{color:#0969da;text-decoration:none}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
code{background:#eff1f3;padding:1px 5px;border-radius:4px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{background:#fff;border:1px solid var(--line);border-left:6px solid;border-radius:6px;padding:10px 18px;min-width:120px}
.card b{display:block;font-size:28px;line-height:1.1}
.card span{font-size:13px;color:#57606a}
table{border-collapse:collapse;background:#fff;border:1px solid var(--line);width:100%}
th,td{border-bottom:1px solid var(--line);padding:6px 10px;text-align:left;vertical-align:top}
th{background:#f0f3f6;font-size:13px}
td.n{text-align:right;font-variant-numeric:tabular-nums}
table.roles{width:auto}
.badge{display:inline-block;min-width:52px;text-align:center;color:#fff;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;text-transform:uppercase}
.b-fail{background:var(--fail)}.b-warn{background:var(--warn)}.b-pass{background:var(--pass)}.b-skip{background:var(--skip)}.b-error{background:var(--error)}.b-expected{background:var(--expected)}
.chip{display:inline-block;margin:1px 4px 1px 0;padding:0 6px;border-radius:4px;font-size:12px;font-family:ui-monospace,Menlo,Consolas,monospace;border:1px solid}
.chip.v-fail{color:var(--fail)}.chip.v-warn{color:var(--warn)}.chip.v-pass{color:var(--pass)}.chip.v-skip{color:var(--skip)}.chip.v-error{color:var(--error)}
.finding{background:#fff;border:1px solid var(--line);border-left:6px solid;border-radius:6px;padding:16px 20px;margin:16px 0}
.c-fail{border-left-color:var(--fail)}.c-warn{border-left-color:var(--warn)}.c-pass{border-left-color:var(--pass)}.c-skip{border-left-color:var(--skip)}.c-error{border-left-color:var(--error)}.c-expected{border-left-color:var(--expected)}
.meta{color:#57606a;font-size:13px;margin:0}
.requirement{background:#f6f8fa;border-left:3px solid #8c959f;padding:6px 10px;margin:6px 0}
.detail{background:#fff8f0;border:1px solid #f0d0b0;border-radius:4px;padding:8px 12px;margin:4px 0;overflow-wrap:anywhere;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
.halves{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}.halves dt{color:#57606a}.halves dd{margin:0}
.expected{color:var(--expected);font-weight:600}
.diagram{overflow-x:auto;border:1px solid var(--line);border-radius:4px;background:#fff;padding:4px}
details pre{background:#f6f8fa;padding:8px;overflow-x:auto;font-size:12px}
.muted{color:#57606a}
svg.seq{max-width:100%;height:auto;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11px}
svg.seq .life{stroke:#8c959f;stroke-dasharray:4 4}
svg.seq rect.actor{fill:#ddf4ff;stroke:#54aeff}
svg.seq text.actor{text-anchor:middle;font-size:12px;font-weight:600;fill:#0a3069}
svg.seq .req{stroke:#1f2328;stroke-width:1.5;fill:none}
svg.seq .ret{stroke:#57606a;stroke-width:1.2;stroke-dasharray:5 3}
svg.seq .req.bad,svg.seq .ret.bad{stroke:var(--fail);stroke-width:2}
svg.seq .head{fill:#1f2328}
svg.seq .label{text-anchor:middle;fill:#1f2328}svg.seq .label.self{text-anchor:start}
svg.seq .label.s2xx{fill:var(--pass)}svg.seq .label.s3xx{fill:#0969da}svg.seq .label.s4xx{fill:var(--warn)}svg.seq .label.s5xx,svg.seq .label.bad{fill:var(--fail);font-weight:600}
svg.seq .ret.s2xx{stroke:var(--pass)}svg.seq .ret.s3xx{stroke:#0969da}svg.seq .ret.s4xx{stroke:var(--warn)}svg.seq .ret.s5xx{stroke:var(--fail)}
svg.seq .cross{fill:var(--fail);font-size:16px;font-weight:700;text-anchor:middle}
svg.seq .at{fill:#8c959f;font-size:10px}
svg.seq rect.note{fill:#fff8c5;stroke:#d4a72c}
svg.seq text.note{fill:#3d2c00}
svg.seq .guide{stroke:#eaeef2;stroke-dasharray:2 4}
svg.seq g.exchange:hover text.label{font-weight:700}
"#;

/// The whole page.
pub fn render(cases: &[CaseResult], opts: &HtmlOptions<'_>) -> String {
    let summary = Summary::of(cases);
    let expected = |c: &CaseResult| {
        opts.baseline
            .and_then(|b| b.reason(c.meta.id))
            .filter(|_| matches!(c.verdict, Verdict::Fail | Verdict::Warn))
    };
    let findings: Vec<&CaseResult> = cases
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Warn | Verdict::Error))
        .collect();
    let n_expected = findings.iter().filter(|c| expected(c).is_some()).count();

    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<title>mcp-authz report</title>\n<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n");
    let revisions = crate::scenario::revisions_line(cases).map(|l| format!("<p>{}</p>", escape(&l)));
    let _ = writeln!(
        out,
        "<header><h1>MCP authorization report</h1><p>{}</p>{}</header>\n<main>",
        escape(opts.subtitle),
        revisions.unwrap_or_default()
    );
    out.push_str(
        "<nav><a href=\"#summary\">Summary</a><a href=\"#findings\">Findings</a>\
         <a href=\"#requirements\">By requirement</a><a href=\"#cases\">All cases</a></nav>\n",
    );

    // Summary.
    out.push_str("<h2 id=\"summary\">Summary</h2>\n<div class=\"cards\">");
    for (v, n) in [
        (Verdict::Fail, summary.fail),
        (Verdict::Warn, summary.warn),
        (Verdict::Error, summary.error),
        (Verdict::Pass, summary.pass),
        (Verdict::Skip, summary.skip),
    ] {
        let _ = write!(out, "<div class=\"card c-{v}\"><b>{n}</b><span>{}</span></div>", verdict_word(v));
    }
    if opts.baseline.is_some() {
        let _ = write!(
            out,
            "<div class=\"card c-expected\"><b>{n_expected}</b><span>of them expected (baseline)</span></div>"
        );
    }
    out.push_str("</div>\n");
    let mut by_role: BTreeMap<Role, Vec<CaseResult>> = BTreeMap::new();
    for c in cases {
        by_role.entry(c.meta.role).or_default().push(c.clone());
    }
    out.push_str(
        "<table class=\"roles\"><tr><th>Role</th><th>Cases</th><th>Fail</th><th>Warn</th>\
         <th>Error</th><th>Pass</th><th>Skip</th></tr>\n",
    );
    for (role, cs) in &by_role {
        let s = Summary::of(cs);
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&role.to_string()),
            cs.len(),
            s.fail,
            s.warn,
            s.error,
            s.pass,
            s.skip
        );
    }
    out.push_str("</table>\n");

    // Findings.
    let _ = writeln!(out, "<h2 id=\"findings\">Findings ({})</h2>", findings.len());
    if findings.is_empty() {
        out.push_str("<p class=\"muted\">No case failed, warned or errored.</p>\n");
    }
    for c in &findings {
        finding(&mut out, c, expected(c), opts);
    }

    // By requirement.
    let mut by_req: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    for c in cases {
        for r in c.meta.requirements {
            by_req.entry(r).or_default().push(c);
        }
    }
    out.push_str("<h2 id=\"requirements\">By requirement</h2>\n");
    out.push_str("<table><tr><th>Requirement</th><th>Text</th><th>Result</th><th>Cases</th></tr>\n");
    for (req, cs) in &by_req {
        let worst = cs.iter().map(|c| c.verdict).max_by_key(|v| v.severity()).unwrap_or(Verdict::Skip);
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td><span class=\"badge b-{worst}\">{worst}</span></td><td>",
            escape(req),
            requirement_text(opts.requirements, req)
        );
        for c in cs {
            chip(&mut out, c);
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table>\n");

    // All cases.
    out.push_str("<h2 id=\"cases\">All cases</h2>\n");
    out.push_str(
        "<table><tr><th>Case</th><th>Verdict</th><th>Title</th><th>Role</th><th>Level</th>\
         <th>Requirements</th></tr>\n",
    );
    for c in cases {
        let id = if findings.iter().any(|f| f.meta.id == c.meta.id) {
            format!("<a href=\"#case-{0}\">{0}</a>", escape(c.meta.id))
        } else {
            escape(c.meta.id)
        };
        let _ = writeln!(
            out,
            "<tr><td><code>{id}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            badge(c.verdict, expected(c).is_some()),
            escape(c.meta.title),
            escape(&c.meta.role.to_string()),
            level_word(c.meta.level),
            escape(&c.meta.requirements.join(", "))
        );
    }
    out.push_str("</table>\n");
    let _ = writeln!(out, "<p class=\"muted\">{}</p>\n</main>\n</body>\n</html>", escape(&summary.line()));
    out
}

/// One finding: the case, the requirements it checks, what happened, the replay command
/// and the exchange.
fn finding(out: &mut String, c: &CaseResult, expected: Option<&str>, opts: &HtmlOptions<'_>) {
    let class = if expected.is_some() { "expected".to_string() } else { c.verdict.to_string() };
    let _ = writeln!(
        out,
        "<article class=\"finding c-{class}\" id=\"case-{}\"><h3>{} {} — {}</h3>",
        escape(c.meta.id),
        badge(c.verdict, expected.is_some()),
        escape(c.meta.id),
        escape(c.meta.title)
    );
    let mut meta = vec![escape(&c.meta.role.to_string()), level_word(c.meta.level).to_string()];
    if let Some(s) = c.meta.rfc9700 {
        meta.push(format!("RFC 9700 §{}", escape(s)));
    }
    if !c.meta.tags.is_empty() {
        meta.push(format!("tags: {}", escape(&c.meta.tags.join(", "))));
    }
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", meta.join(" · "));
    if let Some(reason) = expected {
        let _ = writeln!(out, "<p class=\"expected\">expected failure (baseline: {})</p>", escape(reason));
    }
    out.push_str("<h4>Requirement</h4>\n");
    for r in c.meta.requirements {
        let _ = writeln!(
            out,
            "<div class=\"requirement\"><code>{}</code> {}</div>",
            escape(r),
            requirement_text(opts.requirements, r)
        );
    }
    out.push_str("<h4>Expected, and what happened</h4>\n");
    match &c.violation {
        Some(v) => {
            out.push_str("<div class=\"detail\">");
            if !v.context.is_empty() {
                let _ = write!(out, "<p class=\"meta\">{}</p>", escape(&v.context));
            }
            let _ = writeln!(
                out,
                "<dl class=\"halves\"><dt>expected</dt><dd>{}</dd><dt>observed</dt><dd>{}</dd></dl></div>",
                escape(&v.expected),
                escape(&v.observed)
            );
        }
        None => {
            let _ = writeln!(out, "<div class=\"detail\">{}</div>", escape(&c.detail));
        }
    }
    let _ = writeln!(
        out,
        "<h4>Replay</h4>\n<p>seed <code>{}</code> · <code>{}</code></p>",
        c.seed,
        escape(&(opts.replay)(c))
    );
    let diagram = sequence_diagram::svg(&trace::parse(&c.evidence));
    if !diagram.is_empty() {
        let _ = writeln!(out, "<h4>Exchange</h4>\n<div class=\"diagram\">{diagram}</div>");
    }
    let _ = writeln!(
        out,
        "<details><summary>Raw trace ({} lines)</summary><pre>{}</pre></details>\n</article>",
        c.evidence.len(),
        escape(&c.evidence.join("\n"))
    );
}

fn chip(out: &mut String, c: &CaseResult) {
    let _ = write!(
        out,
        "<span class=\"chip v-{}\" title=\"{}: {}\">{}</span>",
        c.verdict,
        c.verdict,
        escape(c.meta.title),
        escape(c.meta.id)
    );
}

fn badge(v: Verdict, expected: bool) -> String {
    if expected {
        format!(
            "<span class=\"badge b-expected\" title=\"{v}, expected by the baseline\">expected {v}</span>"
        )
    } else {
        format!("<span class=\"badge b-{v}\">{v}</span>")
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "passed",
        Verdict::Fail => "failed (MUST)",
        Verdict::Warn => "warned (SHOULD)",
        Verdict::Skip => "skipped",
        Verdict::Error => "errors",
    }
}

fn level_word(l: Level) -> &'static str {
    match l {
        Level::Must => "MUST",
        Level::Should => "SHOULD",
    }
}

fn requirement_text(texts: &BTreeMap<String, String>, id: &str) -> String {
    match texts.get(id) {
        Some(t) => inline_markdown(t),
        None => "<span class=\"muted\">(no text for this ID)</span>".into(),
    }
}

/// Escapes `s` and renders its `` `code` `` and `**bold**` spans; an unpaired marker
/// stays as it is.
fn inline_markdown(s: &str) -> String {
    spans(s, "`", "code", &escape, &|p| spans(p, "**", "strong", &escape, &escape))
}

/// `s` split at `marker`: paired spans rendered by `inside` in `<tag>`, the rest by
/// `outside`.
fn spans(
    s: &str,
    marker: &str,
    tag: &str,
    inside: &dyn Fn(&str) -> String,
    outside: &dyn Fn(&str) -> String,
) -> String {
    let parts: Vec<&str> = s.split(marker).collect();
    let paired = parts.len() % 2 == 1;
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i % 2 == 1 && paired {
            let _ = write!(out, "<{tag}>{}</{tag}>", inside(p));
        } else {
            if i > 0 && !paired {
                out.push_str(&escape(marker));
            }
            out.push_str(&outside(p));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Check, Meta, Violation};

    const META: Meta = Meta {
        id: "RS-AUD-01",
        title: "token <script>alert(1)</script> refused",
        role: Role::McpServer,
        requirements: &["RS-08", "RS-99"],
        rfc9700: Some("4.9"),
        level: Level::Must,
        tags: &["audience"],
        capabilities: &[],
        needs: &[],
        revisions: crate::scenario::Revisions::ALL,
    };

    fn cases() -> Vec<CaseResult> {
        vec![
            CaseResult::new(
                &META,
                Check::Violated(Violation::about("a token for <B>", "401", "\"200\" <b>")),
                vec![
                    "   0.000 # scenario RS-AUD-01 seed 1".into(),
                    "   0.032 attacker -> https://mcp.example POST /mcp <- 200".into(),
                    "   0.040 attacker -> https://mcp.example POST /mcp?<script> <- 200".into(),
                ],
                3,
            ),
            CaseResult::new(&Meta { id: "RS-AUD-02", ..META }, Check::Holds, vec![], 1),
        ]
    }

    fn texts() -> BTreeMap<String, String> {
        [("RS-08".to_string(), "MUST: accept only tokens with `aud` = **this** server <here>".to_string())]
            .into_iter()
            .collect()
    }

    fn page(baseline: Option<&Baseline>) -> String {
        let texts = texts();
        let replay = |c: &CaseResult| format!("mcp-authz run --scenario {} --seed {}", c.meta.id, c.seed);
        render(
            &cases(),
            &HtmlOptions { subtitle: "mcp-authz run <x>", requirements: &texts, replay: &replay, baseline },
        )
    }

    #[test]
    fn everything_is_escaped() {
        let h = page(None);
        assert!(!h.contains("<script"), "{h}");
        assert!(!h.contains("got \"200\" <b>"));
        assert!(!h.contains("<here>"));
        assert!(!h.contains("<x>"));
        assert!(h.contains("token &lt;script&gt;alert(1)&lt;/script&gt; refused"));
        assert!(h.contains("<p class=\"meta\">a token for &lt;B&gt;</p>"));
        assert!(
            h.contains("<dt>expected</dt><dd>401</dd><dt>observed</dt><dd>&quot;200&quot; &lt;b&gt;</dd>")
        );
        assert!(h.contains("POST /mcp?&lt;script&gt;"));
    }

    #[test]
    fn self_contained_with_findings_requirements_and_replay() {
        let h = page(None);
        assert!(h.starts_with("<!DOCTYPE html>") && h.trim_end().ends_with("</html>"));
        for needle in ["<script", "<link", "<img", "src=", "url(", "@import"] {
            assert!(!h.contains(needle), "{needle}");
        }
        assert!(h.contains("Findings (1)"));
        assert!(h.contains("id=\"case-RS-AUD-01\""));
        assert!(h.contains("<code>RS-08</code> MUST: accept only tokens with <code>aud</code> = <strong>this</strong> server &lt;here&gt;"));
        assert!(h.contains("<code>RS-99</code> <span class=\"muted\">(no text for this ID)</span>"));
        assert!(h.contains("<code>mcp-authz run --scenario RS-AUD-01 --seed 3</code>"));
        assert_eq!(h.matches("<svg").count(), 1);
        assert_eq!(h.matches(r#"<line class="req"#).count(), 2);
        assert!(h.contains("Raw trace (3 lines)"));
        assert!(h.contains("1 passed, 1 failed, 0 warned, 0 skipped, 0 errors"));
    }

    #[test]
    fn baselined_failures_are_marked_expected() {
        let b = Baseline::parse("RS-AUD-01 known <bug>\n").unwrap();
        let h = page(Some(&b));
        assert!(h.contains("expected failure (baseline: known &lt;bug&gt;)"));
        assert!(h.contains("of them expected (baseline)"));
        assert!(h.contains("badge b-expected"));
    }

    #[test]
    fn inline_markdown_pairs_markers_only() {
        assert_eq!(inline_markdown("a `b` **c**"), "a <code>b</code> <strong>c</strong>");
        assert_eq!(inline_markdown("a ` b <"), "a ` b &lt;");
        assert_eq!(inline_markdown("`**x**` **`y`**"), "<code>**x**</code> **<code>y</code>**");
    }
}
