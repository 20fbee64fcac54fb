//! Running scenarios against live targets: the MCP server scenarios against an MCP
//! server (learning its tools and the scopes they need, each case in a
//! [`live_server_world`]), the authorization server scenarios against an AS (each case
//! in a [`live_as_world`]), and the client scenarios with a client under test that is a
//! process of its own (each case in a [`client_process_world`]).
//!
//! Tool scopes come from the operator (`--scopes echo=mcp:read`) or are probed: the
//! tool is called with a token carrying no scope, and a 403 `insufficient_scope`
//! challenge names what it needs. A tool whose scope neither says nor shows is reported,
//! never guessed.

use crate::client_under_test::LiveClient;
use crate::setup_failure;
use crate::target::Connect;
use crate::targets::{LiveAs, LiveTarget, client_process_world, live_as_world, live_server_world};
use crate::tokens::TokenSource;
use mcp_authz_reference::access_token::AccessTokenClaims;
use mcp_authz_reference::bearer;
use mcp_authz_reference::client::mcp;
use mcp_authz_reference::mcp_server::MODERN_PROTOCOL_VERSION;
use mcp_authz_reference::oauth_error::ErrorCode;
use mcp_authz_reference::protected_resource_metadata::{ProtectedResourceMetadata, well_known_urls};
use mcp_authz_reference::sans_io::Time;
use mcp_authz_scenarios::world::{
    HandleTools, SessionAnswer, TargetKind, Tool, Tools, World, describe, tool_ran, union_scopes,
};
use mcp_authz_scenarios::{Scenario, run_against};
use mcp_authz_sim::scenario::{CaseResult, Check, Revision};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What the harness learned about the tools of the server under test.
#[derive(Debug, Clone)]
pub struct Learned {
    /// The tools the scenarios will call.
    pub tools: Tools,
    /// How each tool's scope was found, one line per tool, for the report; the first
    /// line says which protocol revisions the server speaks.
    pub notes: Vec<String>,
    /// The MCP revisions the server speaks (see [`LiveTarget::speaks`]).
    pub speaks: Vec<Revision>,
}

/// What the operator tells the harness about the tools of the server under test.
#[derive(Debug, Clone, Default)]
pub struct ToolHints {
    /// The scope each named tool needs (`--scopes`); others are probed.
    pub scopes: BTreeMap<String, String>,
    /// The tools that mint and take back a state handle (`--state-handle-tools`): the
    /// state handle cases run with them, and no other case calls them.
    pub state_handles: Option<StateHandleTools>,
    /// A tool that needs a client capability such as `elicitation`
    /// (`--capability-tool`): RS-WIRE-08 calls it declaring none; no other case calls it.
    pub capability_tool: Option<String>,
    /// A scope the server treats as broader than the read tool's (`--broader-scope`):
    /// RS-SCOPE-06 runs the read tool with it alone.
    pub broader_scope: Option<String>,
    /// The server accepts DPoP-bound tokens (`--dpop`): the DPoP cases run, with tokens
    /// the harness's AS binds to the harness's key.
    pub dpop: bool,
}

/// `--state-handle-tools OPEN,SHOW:ARGUMENT`: `OPEN` returns a new handle as the text of
/// its result, `SHOW` takes it back in `ARGUMENT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateHandleTools {
    /// The tool that mints a handle.
    pub open: String,
    /// The tool that takes it back.
    pub show: String,
    /// The argument of `show` that carries it.
    pub argument: String,
}

/// Lists the tools of the server at `url` with a token from `tokens` carrying every
/// scope it names (in `hints` and its protected resource metadata), and finds the scope
/// of each: configured, or probed. Fails with a message saying what to fix when the
/// server refuses the valid token or has no tool it can call.
pub fn learn_tools(
    now: Time,
    url: &str,
    tokens: &TokenSource,
    connect: &Connect,
    hints: &ToolHints,
) -> Result<Learned, String> {
    let placeholder = Tools::with_read(Tool::new("", "", json!({})));
    let target = LiveTarget {
        url: url.into(),
        tokens: tokens.clone(),
        tools: placeholder,
        connect: connect.clone(),
        speaks: Revision::ALL.to_vec(),
        dpop: false,
    };
    let mut w = live_server_world(0, now, &target).map_err(|e| e.to_string())?;

    let configured = &hints.scopes;
    let mut scopes: Vec<&str> = configured.values().map(String::as_str).collect();
    let advertised = advertised_scopes(&mut w);
    scopes.extend(advertised.iter().map(String::as_str));
    let (all, token) = listing_token(&mut w, &union_scopes(&scopes))?;
    let speaks_modern = speaks_modern(&mut w, &token);
    // Legacy first (`initialize`); a server that refuses it but answers stateless requests
    // speaks only 2026-07-28, and its cases are spoken and graded in that era.
    let legacy = list_tools(&mut w, &token);
    let (listed, speaks, era) = match legacy {
        Ok(listed) if speaks_modern => (
            Ok(listed),
            Revision::ALL.to_vec(),
            format!(
                "protocol: 2025-11-25 (initialize) and {MODERN_PROTOCOL_VERSION} (stateless requests answered)"
            ),
        ),
        Ok(listed) => (
            Ok(listed),
            vec![Revision::R2025_06_18, Revision::R2025_11_25],
            format!(
                "protocol: 2025-11-25 (initialize); no {MODERN_PROTOCOL_VERSION} server/discover, so its cases are skipped"
            ),
        ),
        Err(refused) if speaks_modern => {
            w.revisions = vec![Revision::R2026_07_28];
            let era = format!(
                "protocol: {MODERN_PROTOCOL_VERSION} only (stateless requests answered; initialize refused: {}), \
                 so the cases speak {MODERN_PROTOCOL_VERSION} and the session cases do not apply",
                clipped(&refused, 160)
            );
            (list_tools(&mut w, &token), vec![Revision::R2026_07_28], era)
        }
        Err(refused) => (Err(refused), vec![], String::new()),
    };
    let listed = match listed {
        Ok(listed) => listed,
        Err(e) => {
            return Err(match w.transport_failures().first() {
                Some(failure) => {
                    format!("the server at {url} did not answer: {failure}. Is it running there?")
                }
                None if refused_version(&e) => format!(
                    "the server at {url} refused the protocol version, not our token: {e}. It answered no \
                     2026-07-28 server/discover either"
                ),
                None => match tokens {
                    TokenSource::Harness(authority) => {
                        setup_failure::explain(&mut w, url, authority, &all, &e)
                    }
                    TokenSource::TheServers(a) => format!(
                        "the server at {url} refused the token --token-command printed for it (resource {url}, \
                         scope `{all}`, user alice): {e}. Does the command get its tokens from {}, the \
                         authorization server the server's metadata names, for resource {url}?",
                        a.issuer
                    ),
                },
            });
        }
    };

    let base = probe_base(&mut w, &advertised)?;
    let connect_scope = connect_scope(&mut w, &base);
    let mut known = Vec::new();
    let mut notes = Vec::new();
    for (name, schema) in listed {
        let arguments = arguments_for(&schema);
        let probe = Tool { name: name.clone(), scope: String::new(), arguments };
        let found = match configured.get(&name) {
            Some(scope) => Ok((scope.clone(), "configured".to_string())),
            None => probe_scope(&mut w, &probe, &connect_scope, &base),
        };
        match found {
            // A token source may not give every scope (an identity provider that keeps an
            // admin scope from the command's client): such a tool cannot be called.
            Ok((scope, how)) => match w.try_mint(&w.claims(&scope)) {
                Ok(_) => {
                    notes.push(format!("{name}: needs `{scope}` ({how})"));
                    known.push(Tool { scope, ..probe });
                }
                Err(why) => notes.push(format!(
                    "{name}: needs `{scope}` ({how}), and no token with it could be had, not tested: {why}"
                )),
            },
            Err(why) => {
                notes.push(format!("{name}: scope unknown, not tested ({why}); name it with --scopes"))
            }
        }
    }
    for name in configured.keys().filter(|n| !known.iter().any(|t| &t.name == *n)) {
        notes.push(format!("{name}: configured but not in tools/list"));
    }
    // The state handle tools take part in their own cases only.
    let named = hints.state_handles.as_ref();
    let capability_tool = hints.capability_tool.as_deref();
    let is_handle_tool = |t: &Tool| {
        named.is_some_and(|h| t.name == h.open || t.name == h.show)
            || capability_tool == Some(t.name.as_str())
    };
    let (handle_tools, plain): (Vec<Tool>, Vec<Tool>) = known.into_iter().partition(|t| is_handle_tool(t));
    let mut tools = choose(plain, &advertised, hints.broader_scope.as_deref()).ok_or_else(|| {
        format!("no tool of {url} has a known scope, so no case can call one: {}", notes.join("; "))
    })?;
    if let Some(h) = named {
        let find = |name: &str| handle_tools.iter().find(|t| t.name == name).cloned();
        match (find(&h.open), find(&h.show)) {
            (Some(open), Some(show)) => {
                notes.push(format!("state handles: {} mints them, {} takes them in `{}`", h.open, h.show, h.argument));
                tools.handles = Some(HandleTools { open, show, argument: h.argument.clone() });
            }
            _ => notes.push(format!(
                "state handles: {} or {} has no known scope or is not in tools/list: the state handle cases skip",
                h.open, h.show
            )),
        }
    }
    if let Some(name) = capability_tool {
        match handle_tools.iter().find(|t| t.name == name) {
            Some(tool) => {
                notes.push(format!(
                    "{name}: needs a client capability; RS-WIRE-08 calls it declaring none, RS-STATE-01 \
                     declaring elicitation"
                ));
                tools.needs_elicitation = Some(tool.clone());
            }
            None => notes.push(format!(
                "{name}: no known scope or not in tools/list: RS-WIRE-08 and RS-STATE-01 skip"
            )),
        }
    }
    match &hints.broader_scope {
        Some(broader) if *broader == tools.read.scope => notes.push(format!(
            "--broader-scope `{broader}` is the read tool's own scope ({}): RS-SCOPE-06 skips",
            tools.read.name
        )),
        Some(broader) => {
            notes.push(format!(
                "`{broader}` implies `{}` ({}): RS-SCOPE-06",
                tools.read.scope, tools.read.name
            ));
            tools.broader_scope = Some(broader.clone());
        }
        None => {}
    }
    notes.insert(0, era);
    Ok(Learned { tools, notes, speaks })
}

/// True when the server answers 2026-07-28 requests with `token`: `server/discover`
/// lists the version, or (a server without it) a stateless `tools/list` gets a result.
fn speaks_modern(w: &mut World, token: &str) -> bool {
    let result = |w: &mut World, method: &'static str| {
        let r = w.modern("harness", token, method, json!({}));
        r.ok().filter(|r| r.status().is_success()).and_then(|r| mcp::read_result(&r, 2, method).ok())
    };
    let listed = |v: Value| {
        v["supportedVersions"].as_array().is_some_and(|s| s.contains(&json!(MODERN_PROTOCOL_VERSION)))
    };
    result(w, "server/discover").is_some_and(listed)
        || result(w, "tools/list").is_some_and(|v| v["tools"].is_array())
}

/// True when a failed `initialize` reads as a refusal of the protocol version (a 400
/// naming the version, or a 2026-07-28 error code) rather than of the token.
fn refused_version(error: &str) -> bool {
    let e = error.to_ascii_lowercase();
    e.contains("http 400") && (e.contains("version") || e.contains("-32022") || e.contains("-32020"))
}

/// The `scopes_supported` of the server's protected resource metadata, if it serves any.
fn advertised_scopes(w: &mut World) -> Vec<String> {
    let Some(url) = well_known_urls(&w.mcp).ok().and_then(|u| u.into_iter().next()) else {
        return vec![];
    };
    let r = w.get("harness", &url);
    r.ok()
        .filter(|r| r.status() == 200)
        .and_then(|r| ProtectedResourceMetadata::parse(r.body()).ok())
        .and_then(|m| m.scopes_supported)
        .unwrap_or_default()
}

/// A one-line `text`, cut after `max` characters.
fn clipped(text: &str, max: usize) -> String {
    let line = text.replace('\n', " ");
    match line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// `(name, inputSchema)` of each tool `tools/list` returns, on the world's wire.
fn list_tools(w: &mut World, token: &str) -> Result<Vec<(String, Value)>, String> {
    let url = w.mcp.clone();
    let list = json!({"jsonrpc":"2.0","id":3,"method":"tools/list","params":{}});
    match w.send_in_session("harness", &url, token, &list) {
        SessionAnswer::Message(r) => read_tools(&r, 3),
        SessionAnswer::FailedInitialize(init) => Err(format!("initialize answered {}", describe(&init))),
    }
}

/// The `(name, inputSchema)` of each tool in the `tools/list` answer `r` to JSON-RPC `id`.
fn read_tools(
    r: &mcp_authz_reference::sans_io::FetchResult,
    id: u64,
) -> Result<Vec<(String, Value)>, String> {
    let result = r
        .as_ref()
        .map_err(|e| e.reason.clone())
        .and_then(|resp| mcp::read_result(resp, id, "tools/list").map_err(|e| e.to_string()))
        .map_err(|e| format!("tools/list failed: {e} ({})", describe(r)))?;
    let tools = result.get("tools").and_then(Value::as_array).cloned().unwrap_or_default();
    Ok(tools
        .iter()
        .filter_map(|t| {
            let name = t.get("name")?.as_str()?.to_string();
            Some((name, t.get("inputSchema").cloned().unwrap_or(json!({}))))
        })
        .collect())
}

/// A token to list the tools with, and its scope: `all` the scopes the server names,
/// else those of them a token can be had for one by one (an authorization server may keep
/// some from the token's client), together.
fn listing_token(w: &mut World, all: &str) -> Result<(String, String), String> {
    let why = match w.try_mint(&w.claims(all)) {
        Ok(token) => return Ok((all.to_string(), token)),
        Err(why) => why,
    };
    let some: Vec<&str> =
        all.split(' ').filter(|s| !s.is_empty() && w.try_mint(&w.claims(s)).is_ok()).collect();
    let some = some.join(" ");
    match (some.is_empty(), w.try_mint(&w.claims(&some))) {
        (false, Ok(token)) => Ok((some, token)),
        _ => Err(format!(
            "no token to list the tools of {} with (scope `{all}`, nor any of those scopes): {why}; name the \
             scopes with --scopes",
            w.mcp
        )),
    }
}

/// The least scope the probes' tokens carry: none, else (a source whose authorization
/// server gives no token without scope, filling in its defaults) the first advertised
/// scope a token can be had for alone.
fn probe_base(w: &mut World, advertised: &[String]) -> Result<String, String> {
    let mut why = match w.try_mint(&AccessTokenClaims { scope: None, ..w.claims("") }) {
        Ok(_) => return Ok(String::new()),
        Err(skip) => vec![format!("without scope: {skip}")],
    };
    for scope in advertised {
        match w.try_mint(&w.claims(scope)) {
            Ok(_) => return Ok(scope.clone()),
            Err(skip) => why.push(format!("`{scope}` alone: {skip}")),
        }
    }
    Err(format!(
        "no token to probe the tools' scopes with ({}); name each tool's scope with --scopes",
        why.join("; ")
    ))
}

/// A token with `scope` alone (none when empty), or why there is none.
fn token_with(w: &mut World, scope: &str) -> Result<String, String> {
    let scope = (!scope.is_empty()).then(|| scope.to_string());
    w.try_mint(&AccessTokenClaims { scope, ..w.claims("") }).map_err(|skip| skip.0)
}

/// The scope `initialize` itself needs: what a 403 `insufficient_scope` challenge to a
/// token with only `base` names, else `base`.
fn connect_scope(w: &mut World, base: &str) -> String {
    let Ok(token) = token_with(w, base) else { return base.to_string() };
    let url = w.mcp.clone();
    let (r, _) = w.open("harness", &url, Some(&token));
    insufficient_scope(&r).unwrap_or_else(|| base.to_string())
}

/// The `scope` of a 403 `insufficient_scope` challenge.
fn insufficient_scope(r: &mcp_authz_reference::sans_io::FetchResult) -> Option<String> {
    r.as_ref()
        .ok()
        .filter(|r| r.status() == 403)
        .and_then(|r| bearer::bearer_challenge(r.headers()).ok().flatten())
        .filter(|c| c.get("error") == Some(ErrorCode::InsufficientScope.as_str()))
        .and_then(|c| c.get("scope").map(String::from))
        .filter(|s| !s.is_empty())
}

/// Calls `tool` with a token carrying only `connect_scope` (what `initialize` needs,
/// often nothing, else `base`, the least scope a token can be had for): `(scope, how it
/// was found)`.
fn probe_scope(
    w: &mut World,
    tool: &Tool,
    connect_scope: &str,
    base: &str,
) -> Result<(String, String), String> {
    let token = token_with(w, connect_scope)?;
    let r = w.call("harness", &token, tool);
    if tool_ran(&r, 2) {
        let how = if connect_scope.is_empty() {
            "probed: it runs with a token without scope".to_string()
        } else if connect_scope == base {
            format!(
                "probed: it runs with a token carrying only `{base}`, the least scope a token could be had \
                 for (none without scope)"
            )
        } else {
            "probed: it runs with a token carrying only the scope initialize needs".to_string()
        };
        return Ok((connect_scope.to_string(), how));
    }
    let with = match connect_scope {
        "" => "a token without scope".to_string(),
        s => format!("a token with `{s}`"),
    };
    match insufficient_scope(&r) {
        Some(scope) => Ok((scope, "probed: its 403 insufficient_scope challenge names it".into())),
        None => Err(format!("with {with} it answered {}", describe(&r))),
    }
}

/// Read: the least privileged tool — needing the fewest scopes, then the scope most tools
/// share, then the scope the server advertises first (`advertised`); write: one needing a
/// scope read lacks; admin: one needing a scope neither has.
fn choose(mut known: Vec<Tool>, advertised: &[String], broader: Option<&str>) -> Option<Tools> {
    let count = |t: &Tool| t.scope.split(' ').filter(|s| !s.is_empty()).count();
    let sharing: Vec<usize> =
        known.iter().map(|t| known.iter().filter(|o| o.scope == t.scope).count()).collect();
    // A tool needing the declared broader scope is never the least-scoped one.
    let mut ranked: Vec<(bool, usize, usize, usize, String, Tool)> = known
        .drain(..)
        .zip(sharing)
        .map(|(t, shared)| {
            let first =
                advertised.iter().position(|a| t.scope.split(' ').any(|s| s == a)).unwrap_or(usize::MAX);
            (Some(t.scope.as_str()) == broader, count(&t), usize::MAX - shared, first, t.name.clone(), t)
        })
        .collect();
    ranked.sort_by(|a, b| (a.0, a.1, a.2, a.3, &a.4).cmp(&(b.0, b.1, b.2, b.3, &b.4)));
    let known: Vec<Tool> = ranked.into_iter().map(|r| r.5).collect();
    let read = known.first()?.clone();
    let covers = |have: &str, t: &Tool| {
        t.scope.split(' ').filter(|s| !s.is_empty()).all(|s| have.split(' ').any(|h| h == s))
    };
    let write = known.iter().find(|t| !covers(&read.scope, t)).cloned();
    let both = union_scopes(&[&read.scope, write.as_ref().map_or("", |w| w.scope.as_str())]);
    let admin = write.as_ref().and_then(|_| known.iter().find(|t| !covers(&both, t)).cloned());
    let multi_scope = known.iter().find(|t| count(t) > 1).cloned();
    Some(Tools { write, admin, multi_scope, ..Tools::with_read(read) })
}

/// Arguments satisfying a JSON Schema's required properties, with plain values.
pub fn arguments_for(schema: &Value) -> Value {
    let mut args = serde_json::Map::new();
    let props = schema.get("properties").and_then(Value::as_object);
    let required = schema.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
    for name in required.iter().filter_map(Value::as_str) {
        let prop = props.and_then(|p| p.get(name)).cloned().unwrap_or(json!({}));
        let value = match prop.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
            Some(first) => first.clone(),
            None => match prop.get("type").and_then(Value::as_str) {
                Some("integer" | "number") => json!(1),
                Some("boolean") => json!(true),
                Some("array") => json!([]),
                Some("object") => arguments_for(&prop),
                _ => json!("mcp-authz"),
            },
        };
        args.insert(name.to_string(), value);
    }
    Value::Object(args)
}

/// Runs one MCP server scenario against the live target; other roles' scenarios are
/// skipped. A transport failure during the case makes it `error`, whatever it concluded.
pub fn run_live(scenario: &Scenario, seed: u64, now: Time, target: &LiveTarget) -> (CaseResult, String) {
    run_against(TargetKind::McpServer, scenario, seed, || live_server_world(seed, now, target))
}

/// What a live run reports as it goes.
pub enum Progress<'a> {
    /// The tools were learned: one note per tool.
    Learned(&'a [String]),
    /// Case `n` (from 0) has a result.
    Case(usize, &'a CaseResult),
}

/// A live run of the MCP server scenarios.
pub struct LiveRun {
    /// How each tool's scope was learned, or why none could be.
    pub notes: Vec<String>,
    /// Why no case could run, when the harness could not even list the tools.
    pub setup_error: Option<String>,
    /// One result per scenario run.
    pub results: Vec<CaseResult>,
}

/// Learns the tools of the server at `url` and runs `scenarios` (MCP server ones; see
/// [`run_live`]) against it, telling `progress` what it learned and each result. `now` reads the real
/// clock. The cases are graded by the revisions the server speaks, spoken in their era,
/// or by `revision` alone, which the server must speak. When the tools cannot be
/// learned, every case is `error` with the cause, and `setup_error` says it in full: the
/// likely cause (algorithm, audience, issuer, key cache, protocol version, transport)
/// on its first line, what was observed after it.
#[allow(clippy::too_many_arguments)] // each is one thing the operator chose
pub fn test_server(
    url: &str,
    tokens: &TokenSource,
    connect: Connect,
    hints: &ToolHints,
    scenarios: &[Scenario],
    revision: Option<Revision>,
    now: &dyn Fn() -> Time,
    mut progress: impl FnMut(Progress<'_>),
) -> LiveRun {
    let learned = learn_tools(now(), url, tokens, &connect, hints).and_then(|mut l| match revision {
        Some(r) if !l.speaks.contains(&r) => {
            let speaks: Vec<String> = l.speaks.iter().map(Revision::to_string).collect();
            Err(format!(
                "--revision {r}: the server at {url} does not speak MCP {r} (it speaks {})",
                speaks.join(", ")
            ))
        }
        Some(r) => {
            l.speaks = vec![r];
            l.notes[0].push_str(&format!("; graded by {r} alone (--revision)"));
            Ok(l)
        }
        None => Ok(l),
    });
    let learned = match learned {
        Ok(l) => l,
        Err(why) => return not_run(scenarios, why),
    };
    progress(Progress::Learned(&learned.notes));
    let target = LiveTarget {
        url: url.into(),
        tokens: tokens.clone(),
        tools: learned.tools,
        connect,
        speaks: learned.speaks,
        dpop: hints.dpop,
    };
    let mut results = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        let (result, _) = run_live(s, 1, now(), &target);
        progress(Progress::Case(i, &result));
        results.push(result);
    }
    LiveRun { notes: learned.notes, setup_error: None, results }
}

/// The run when the setup failed for the reason `why`: every case `error`, its detail
/// the first line of `why` (the cause; the lines after it say what was observed, and
/// are reported once, with the setup error).
pub(crate) fn not_run(scenarios: &[Scenario], why: String) -> LiveRun {
    let cause = why.lines().next().unwrap_or_default();
    let check = || Check::Undecided(format!("not run, the harness could not start: {cause}"));
    let results = scenarios.iter().map(|s| CaseResult::new(&s.meta, check(), vec![], 1)).collect();
    LiveRun { notes: vec![], setup_error: Some(why), results }
}

/// Runs the authorization server scenarios of `scenarios` (others are skipped) against
/// the live AS of `target`, telling `progress` each result. When its metadata cannot be
/// read, every case is `error` with the reason.
pub fn test_authorization_server(
    target: &LiveAs,
    scenarios: &[Scenario],
    now: &dyn Fn() -> Time,
    mut progress: impl FnMut(Progress<'_>),
) -> LiveRun {
    let probe = live_as_world(0, now(), target).map(|w| {
        let a = &w.as_under_test;
        let mut notes = vec![
            format!("authorization endpoint {}", a.authorization_endpoint),
            format!("token endpoint {}", a.token_endpoint),
        ];
        notes.push(match &a.registration_endpoint {
            Some(r) => format!("registration endpoint {r}: the scenarios register their apps there"),
            None => "no registration endpoint: the scenarios cannot register their apps".into(),
        });
        notes.push(match &a.introspection {
            Some(i) => format!("introspection at {} as client {}", i.endpoint, i.client_id),
            None => {
                "no introspection the harness can use: revocation is judged by refresh tokens only".into()
            }
        });
        notes
    });
    let notes = match probe {
        Ok(notes) => notes,
        Err(e) => return not_run(scenarios, format!("cannot read the metadata of {}: {e}", target.issuer)),
    };
    progress(Progress::Learned(&notes));
    let mut results = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        let (result, _) = run_live_as(s, 1, now(), target);
        progress(Progress::Case(i, &result));
        results.push(result);
    }
    LiveRun { notes, setup_error: None, results }
}

/// Runs one authorization server scenario against a live AS; other roles' scenarios are
/// skipped. A transport failure during the case makes it `error`.
pub fn run_live_as(scenario: &Scenario, seed: u64, now: Time, target: &LiveAs) -> (CaseResult, String) {
    run_against(TargetKind::AuthorizationServer, scenario, seed, || live_as_world(seed, now, target))
}

/// Runs one client scenario with the client under test `target` runs; other roles'
/// scenarios are skipped.
pub fn run_live_client(scenario: &Scenario, seed: u64, target: &LiveClient) -> (CaseResult, String) {
    run_against(TargetKind::ClientProcess, scenario, seed, || client_process_world(seed, target, scenario))
}

/// Runs the client scenarios of `scenarios` (others are skipped) with the client under
/// test `target` runs, telling `progress` each result.
pub fn test_client(
    target: &LiveClient,
    scenarios: &[Scenario],
    mut progress: impl FnMut(Progress<'_>),
) -> LiveRun {
    let mut results = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        let (result, _) = run_live_client(s, 1, target);
        progress(Progress::Case(i, &result));
        results.push(result);
    }
    LiveRun { notes: vec![], setup_error: None, results }
}
