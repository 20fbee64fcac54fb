//! `scan`: an MCP server as it is deployed, graded from outside with no trust
//! configured and no token of its own.
//!
//! The scan follows the discovery funnel a client follows ([`black_box`]), then runs the
//! catalog's cases against what it found, with the same IDs as everywhere else:
//!
//! - the MCP server cases, with the server's own authorization server in the place of the
//!   harness's: what needs no accepted token runs (the challenge, the metadata, malformed
//!   and forged tokens: `alg: none`, HS256 keyed with each published key, another key
//!   under a published `kid`); each case that needs a token the server accepts is skipped
//!   and says how to give the harness one (`test-server --token-command`);
//! - the authorization server cases that need no sign-in, against the AS the server names
//!   (its metadata and published keys), and with `active` those that register clients
//!   there and send the authorization requests it must refuse before a sign-in.
//!
//! Nothing is fetched that the operator or the server did not name.

use crate::black_box::{self, FunnelError};
use crate::runs::{LiveRun, Progress, not_run, run_live, run_live_as};
use crate::target::Connect;
use crate::targets::{LiveAs, LiveTarget};
use crate::tokens::TokenSource;
use mcp_authz_reference::sans_io::Time;
use mcp_authz_scenarios::Scenario;
use mcp_authz_scenarios::world::{Tool, Tools};
use mcp_authz_sim::scenario::{CaseResult, Check, Revision, Role};
use serde_json::json;

/// The authorization server cases a scan runs without signing in: they read what the AS
/// publishes (its metadata, its keys).
pub const PASSIVE_AS_CASES: &[&str] = &["AS-META-01", "AS-JWKS-01", "AS-CC-01"];

/// The authorization server cases `--active` adds: they register clients at the AS (and
/// delete them where it allows, RFC 7592). Those that send authorization requests judge
/// what the AS answers before any sign-in (a request without PKCE, with `plain`, with an
/// unregistered redirect URI, for an implicit grant); where it asks for a sign-in first,
/// they are skipped.
pub const ACTIVE_AS_CASES: &[&str] =
    &["AS-REG-01", "AS-CODE-02", "AS-CODE-03", "AS-REDIR-02", "AS-TOKEN-03", "AS-CC-02"];

/// What to scan and how.
pub struct Scan<'a> {
    /// The MCP endpoint.
    pub url: &'a str,
    /// Reaches the server and the hosts it names.
    pub connect: Connect,
    /// Grade by this revision alone; `None`: each case by the newest it applies to (the
    /// revision a server speaks cannot be learned without a token it accepts).
    pub revision: Option<Revision>,
    /// Also run the cases that write state at the AS (client registrations).
    pub active: bool,
}

/// Scans `scan.url`: the funnel, then `scenarios` (MCP server and authorization server
/// ones; client ones are skipped), telling `progress` what was found and each result.
/// `now` reads the real clock. The setup fails only when the server does not answer.
pub fn scan(
    scan: &Scan<'_>,
    scenarios: &[Scenario],
    now: &dyn Fn() -> Time,
    mut progress: impl FnMut(Progress<'_>),
) -> LiveRun {
    let (authority, mut notes) = match black_box::the_servers_authority(scan.url, now(), &scan.connect) {
        Ok(found) => (Some(found.authority), found.notes),
        Err(FunnelError::Unreachable(why)) => return not_run(scenarios, why),
        Err(FunnelError::Stopped(why)) => (None, vec![format!("stopped: {why}")]),
    };
    notes.push(match scan.revision {
        Some(r) => format!("graded by MCP {r} alone (--revision)"),
        None => "graded by the newest revision each case applies to: without a token the server accepts, \
                 the revision it speaks cannot be learned (name it with --revision)"
            .into(),
    });
    progress(Progress::Learned(&notes));

    let speaks = scan.revision.map_or_else(|| Revision::ALL.to_vec(), |r| vec![r]);
    let server = LiveTarget {
        url: scan.url.into(),
        tokens: TokenSource::TheServers(authority.clone().unwrap_or_default()),
        // Which tools the server has, and what they need, takes a token to learn: the
        // forged tokens call a tool of no importance, refused before it is looked up.
        tools: Tools::with_read(Tool::new("mcp-authz-scan", "", json!({}))),
        connect: scan.connect.clone(),
        speaks,
        dpop: false,
    };
    let authorization_server = authority.map(|a| LiveAs {
        issuer: a.issuer,
        resource: scan.url.into(),
        other_resource: None,
        introspection_endpoint: None,
        resource_introspects: false,
        login: None,
        authorize_hook: None,
        client: None,
        code_lifetime: None,
        flood: false,
        signs_in: false,
        connect: scan.connect.clone(),
        revision: scan.revision,
        grant_issuers: None,
    });
    let mut results = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        let result = match s.meta.role {
            Role::McpServer => run_live(s, 1, now(), &server).0,
            Role::AuthorizationServer => match &authorization_server {
                Some(target) => match why_not_run(s.meta.id, scan.active, &target.issuer) {
                    None => run_live_as(s, 1, now(), target).0,
                    Some(why) => skipped(s, why),
                },
                None => skipped(s, "the server names no authorization server the scan could read".into()),
            },
            Role::Client => skipped(s, "a client scenario: `mcp-authz test-client` runs those".into()),
        };
        progress(Progress::Case(i, &result));
        results.push(result);
    }
    LiveRun { notes, setup_error: None, results }
}

/// Why the scan does not run the authorization server case `id` against `issuer`;
/// `None` when it does.
fn why_not_run(id: &str, active: bool, issuer: &str) -> Option<String> {
    if PASSIVE_AS_CASES.contains(&id) || active && ACTIVE_AS_CASES.contains(&id) {
        None
    } else if ACTIVE_AS_CASES.contains(&id) {
        Some("registers clients at the authorization server: run the scan with --active".into())
    } else if id.starts_with("AS-EMA-") || id.starts_with("AS-WIF-") {
        Some(format!(
            "needs grant issuers the authorization server trusts: `mcp-authz test-as --issuer {issuer} \
             --jwt-bearer-client ID:SECRET` runs it"
        ))
    } else {
        Some(format!(
            "needs a sign-in at the authorization server: `mcp-authz test-as --issuer {issuer}` runs it"
        ))
    }
}

/// The result of a case the scan does not run, and why.
fn skipped(s: &Scenario, why: String) -> CaseResult {
    CaseResult::new(&s.meta, Check::NotApplicable(why), vec![], 1)
}
