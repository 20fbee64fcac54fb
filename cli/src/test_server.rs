//! `mcp-authz test-server`: the MCP server scenarios against a live server over HTTP.
//!
//! The harness serves its own authorization server on loopback and tells the operator
//! what the server under test must trust; it then mints tokens (valid and hostile) and
//! runs every MCP server scenario of the catalog with the same IDs as in the simulator.
//!
//! With `--token-command`, the server trusts its own identity provider instead: the
//! harness finds that provider from outside (the discovery funnel), gets real tokens
//! from the command, forges what the provider's published keys allow, and skips the
//! cases that need claims the provider would not issue, with that reason.

use crate::common::Alg;
use crate::reporting::{GradeArgs, Hide, Replay, ReportArgs, read_baseline};
use crate::test_as::LiveArgs;
use anyhow::Context as _;
use mcp_authz_live::harness_key::{self, KeyFile};
use mcp_authz_live::runs::{self as live, Progress, StateHandleTools, ToolHints};
use mcp_authz_live::serve::system_now;
use mcp_authz_live::test_authority::TestAuthority;
use mcp_authz_live::tokens::{GetToken, TokenSource};
use mcp_authz_live::{black_box, target};
use mcp_authz_reference::jwt::{Algorithm, SigningKey};
use mcp_authz_scenarios::catalog;
use mcp_authz_scenarios::world::OTHER_MCP;
use mcp_authz_sim::scenario::{CaseResult, Role};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `mcp-authz test-server`.
#[derive(clap::Args)]
pub struct Args {
    /// The MCP endpoint under test, e.g. http://127.0.0.1:9001/mcp. It is also the
    /// audience the harness's tokens carry.
    #[arg(long)]
    url: String,
    /// Port of the harness's authorization server on 127.0.0.1 (issuer
    /// http://127.0.0.1:PORT, keys at http://127.0.0.1:PORT/jwks).
    #[arg(long, default_value_t = 9000)]
    as_port: u16,
    /// The algorithm the harness's authorization server signs access tokens with: the
    /// one the server's verifier expects (many are pinned to rs256, the default of most
    /// identity providers). The forged tokens (RS-VAL-*) follow it. When the server
    /// refuses the harness's token, the setup tries the others and says which it accepts.
    #[arg(long, value_enum, default_value_t = Alg::Es256)]
    alg: Alg,
    /// Sign with HS256 and this shared secret instead, for a server that verifies its
    /// authorization server's tokens with a secret they share rather than with its keys.
    #[arg(long, value_name = "SECRET", conflicts_with_all = ["alg", "key_file", "rotate_key"])]
    hmac_secret: Option<String>,
    /// For a server that trusts its own identity provider, not the harness's: the
    /// harness starts no authorization server, finds the server's from its metadata, and
    /// runs CMD (with `sh -c`, stdin closed, killed after 120 s) whenever it needs a real
    /// token, with MCP_AUTHZ_RESOURCE (the resource), MCP_AUTHZ_SCOPE (space-separated,
    /// empty for none) and MCP_AUTHZ_PRINCIPAL (`alice`, or `mallory` for the cross-user
    /// cases) set, and MCP_AUTHZ_URL (--url); the token is the last line of its stdout.
    /// Tokens are kept per (resource, scope, user) for the run. The cases that need forged
    /// claims are skipped, with that reason. E.g. `mcp-authz client --url "$MCP_AUTHZ_URL"
    /// --resource "$MCP_AUTHZ_RESOURCE" --scope "$MCP_AUTHZ_SCOPE" --login-hint
    /// "$MCP_AUTHZ_PRINCIPAL" --print-token` (the README has client-credentials and
    /// device-code recipes).
    #[arg(
        long,
        value_name = "CMD",
        conflicts_with_all = ["hmac_secret", "alg", "key_file", "rotate_key", "print_config", "as_port"]
    )]
    token_command: Option<String>,
    /// With --token-command: a second resource the identity provider issues tokens for
    /// (another MCP server or API of yours). RS-AUD-01 replays a real token for it at the
    /// server, which must refuse it; without it, that case is skipped.
    #[arg(long, value_name = "URL", requires = "token_command")]
    other_resource: Option<String>,
    /// With --token-command: how many seconds after it is got the server refuses a real
    /// token, its clock leeway included (the identity provider's access-token lifetime
    /// plus the leeway). The cases that need an expired token (RS-VAL-04, RS-CHAL-04) then
    /// get a new real one and wait that long before presenting it; each case may take
    /// that much longer. Without it those variants are skipped (an expired token is a
    /// forged claim). A test tenant with short-lived tokens keeps the wait short.
    #[arg(long, value_name = "SECS", requires = "token_command")]
    token_lifetime: Option<u64>,
    /// The harness's private key for --alg (PEM, PKCS#8), made there if missing and kept
    /// across runs: every run signs with the same key and `kid`, so a server that caches
    /// the JWKS (with a cooldown between refetches) knows it on a second run. Default:
    /// STATE_DIR/test-server-ALG.pem, one key per algorithm.
    #[arg(long, value_name = "PATH")]
    key_file: Option<PathBuf>,
    /// Make a new key (and `kid`) in place of the kept one, and keep that.
    #[arg(long)]
    rotate_key: bool,
    /// Where the harness keeps its keys between runs. Default: $XDG_STATE_HOME/mcp-authz,
    /// else ~/.local/state/mcp-authz.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Print what the server under test must trust as JSON, and exit.
    #[arg(long)]
    print_config: bool,
    /// The scope each tool needs: `echo=mcp:read,write_note=mcp:write`, or a TOML file
    /// with a `[scopes]` table. Tools not named are probed with a scope-less token.
    #[arg(long)]
    scopes: Option<String>,
    /// The tools that mint and take back a state handle, `OPEN,SHOW:ARGUMENT` (e.g.
    /// `open_cart,cart_show:cart`): OPEN's result text is a new handle, SHOW takes it in
    /// ARGUMENT. The state handle cases (RS-HANDLE-*) run with them; no other case calls
    /// them. Without it those cases are skipped.
    #[arg(long, value_name = "OPEN,SHOW:ARGUMENT", value_parser = parse_state_handle_tools)]
    state_handle_tools: Option<StateHandleTools>,
    /// A tool that needs a client capability (e.g. `elicitation`): RS-WIRE-08 calls it
    /// from a client declaring none and expects 400 `-32021`; RS-STATE-01 calls it
    /// declaring `elicitation`, then retries with its `requestState` altered and with
    /// another user's token. No other case calls it. Without it both are skipped.
    #[arg(long, value_name = "TOOL")]
    capability_tool: Option<String>,
    /// A scope the server treats as broader than the read tool's (its scope hierarchy,
    /// e.g. `files:admin` implying `files:read`): RS-SCOPE-06 calls the read tool with a
    /// token holding this scope alone and expects it to run. Without it RS-SCOPE-06 is
    /// skipped.
    #[arg(long, value_name = "SCOPE", value_parser = parse_scope_token)]
    broader_scope: Option<String>,
    /// The server accepts DPoP-bound tokens (RFC 9449, the MCP DPoP extension): the
    /// harness's AS binds tokens to a key of the harness's (`cnf.jkt`) and the DPoP cases
    /// (RS-DPOP-*) present them with `Authorization: DPoP` and proofs. Without it they
    /// are skipped.
    #[arg(long)]
    dpop: bool,
    #[command(flatten)]
    live: LiveArgs,
    #[command(flatten)]
    grade: GradeArgs,
    #[command(flatten)]
    report: ReportArgs,
}

/// One scope token (RFC 6749 §3.3: no space, no quote, no backslash, printable ASCII).
fn parse_scope_token(s: &str) -> Result<String, String> {
    let valid = |c: char| c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c);
    match !s.is_empty() && s.chars().all(valid) {
        true => Ok(s.to_string()),
        false => {
            Err(format!("received `{s}`, expected one scope token (printable ASCII, no space, `\"` or `\\`)"))
        }
    }
}

/// What a replay line of `test-server` hides: the shared secret, and the key rotation
/// (a replay signs with the key this run kept).
const HIDDEN_OPTIONS: &[(&str, Hide)] =
    &[("--hmac-secret", Hide::Value("SECRET")), ("--rotate-key", Hide::Switch)];

/// Runs `mcp-authz test-server`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let url = crate::common::mcp_endpoint(&args.url)?;
    let scopes = match &args.scopes {
        Some(spec) => parse_scopes(spec)?,
        None => BTreeMap::new(),
    };
    let hints = ToolHints {
        scopes,
        state_handles: args.state_handle_tools.clone(),
        capability_tool: args.capability_tool.clone(),
        broader_scope: args.broader_scope.clone(),
        dpop: args.dpop,
    };
    let all = catalog();
    let baseline = match &args.report.baseline {
        Some(path) => Some(read_baseline(path, &|id| all.iter().any(|s| s.meta.id == id))?),
        None => None,
    };
    let selected = args.live.select(&all, Role::McpServer)?;

    let mut limits = args.live.limits();
    let expire_after = args.token_lifetime.map(|secs| Duration::from_secs(secs.max(1)));
    if let Some(wait) = expire_after {
        // A case waits a token out, then still has its own time.
        limits.case_timeout += wait;
    }
    let handle = tokio::runtime::Handle::current();
    let (tokens, harness) = match &args.token_command {
        Some(command) => {
            let command = command.clone();
            let (target_url, other_resource, handle) =
                (url.clone(), args.other_resource.clone(), handle.clone());
            let tokens = tokio::task::spawn_blocking(move || {
                let connect = target::over_http(handle, limits)?;
                the_servers_tokens(&target_url, command, other_resource, expire_after, connect)
            });
            (tokens.await.context("finding the server's authorization server stopped")??, None)
        }
        None => match harness_authority(&args, &url).await? {
            Some(authority) => (TokenSource::Harness(authority.clone()), Some(authority)),
            None => return Ok(ExitCode::SUCCESS),
        },
    };

    let (target_url, source, revision) = (url.clone(), tokens.clone(), args.grade.revision);
    let results =
        tokio::task::spawn_blocking(move || -> anyhow::Result<(Vec<CaseResult>, Option<String>)> {
            let connect = target::over_http(handle, limits)?;
            let bar = crate::progress::Progress::cases(selected.len());
            let run = live::test_server(
                &target_url,
                &source,
                connect,
                &hints,
                &selected,
                revision,
                &system_now,
                |p| match p {
                    Progress::Learned(notes) => {
                        bar.note("tools:");
                        notes.iter().for_each(|note| bar.note(&format!("  {note}")));
                    }
                    Progress::Case(_, r) => bar.case(r.meta.id, &r.verdict),
                },
            );
            bar.finish();
            Ok((run.results, run.setup_error))
        })
        .await
        .context("the test run stopped")??;
    if let Some(authority) = harness {
        authority.shutdown();
    }

    let (results, setup_error) = results;
    let replay = Replay::of_this_run(HIDDEN_OPTIONS);
    let replay = |c: &CaseResult| replay.line(c.meta.id);
    let subtitle = format!("mcp-authz test-server --url {url} · {} cases", results.len());
    // Tokens the command printed need not look like credentials: each is redacted by value.
    let got = match &tokens {
        TokenSource::TheServers(a) => a.get.as_ref().map(GetToken::tokens).unwrap_or_default(),
        TokenSource::Harness(_) => Vec::new(),
    };
    let results = crate::redact::results_without(&results, &got);
    match setup_error {
        Some(why) => {
            let why = crate::redact::text_without(&why, &got);
            args.report.emit_setup_failure(&why, &results, &replay, &subtitle)
        }
        None => args.report.emit(&results, baseline.as_ref(), &replay, &subtitle),
    }
}

/// Starts the harness's authorization server and says what the server under test must
/// trust; `None` when `--print-config` printed it and nothing is to run.
async fn harness_authority(args: &Args, url: &str) -> anyhow::Result<Option<TestAuthority>> {
    let (key, about_key) = harness_signing_key(args)?;
    let alg = key.alg();
    let kid = key.kid().to_string();
    let authority = TestAuthority::start_with_key(args.as_port, &[url, OTHER_MCP], key).await?;
    for probe in probe_keys(args, alg) {
        authority.publish_probe_key(probe);
    }
    let config = serde_json::json!({
        "issuer": authority.issuer(),
        "jwks_uri": authority.jwks_uri(),
        "audience": url,
        "resource": url,
        "algorithm": alg.name(),
        "kid": kid,
    });
    if args.print_config {
        crate::common::say!("{}", serde_json::to_string_pretty(&config)?);
        authority.shutdown();
        return Ok(None);
    }
    crate::common::tell!("the server under test must trust:");
    crate::common::tell!("  issuer    {}", authority.issuer());
    crate::common::tell!("  jwks_uri  {}", authority.jwks_uri());
    crate::common::tell!("  audience  {url}  (the resource its metadata names)");
    crate::common::tell!("  alg       {alg}, kid {kid} ({about_key})");
    Ok(Some(authority))
}

/// The server's own authorization server, found from outside, with real tokens from
/// `command` (and `other_resource` for RS-AUD-01, `expire_after` for the expired
/// tokens); says on stderr how it was found.
fn the_servers_tokens(
    url: &str,
    command: String,
    other_resource: Option<String>,
    expire_after: Option<Duration>,
    connect: target::Connect,
) -> anyhow::Result<TokenSource> {
    let found = black_box::the_servers_authority(url, system_now(), &connect).map_err(|why| {
        anyhow::anyhow!("--token-command: cannot find the server's authorization server: {why}")
    })?;
    crate::common::tell!("the server's authorization server (tokens from --token-command):");
    for note in &found.notes {
        crate::common::tell!("  {note}");
    }
    let mut authority = found.authority;
    let get = crate::token_command::get_token(command, url.to_string(), crate::token_command::TIMEOUT);
    authority.get = Some(match expire_after {
        Some(lifetime) => get.expiring_after(lifetime),
        None => get,
    });
    authority.other_resource = other_resource;
    authority.expire_after = expire_after;
    Ok(TokenSource::TheServers(authority))
}

/// The `kid` of the HS256 key of `--hmac-secret` (a thumbprint would publish a digest of
/// the secret).
const HMAC_KID: &str = "mcp-authz-hs256";

/// The key the harness signs with, and where it comes from: the shared secret of
/// `--hmac-secret`, or the kept key of `--alg` (`--key-file`, `--rotate-key`).
fn harness_signing_key(args: &Args) -> anyhow::Result<(SigningKey, String)> {
    if let Some(secret) = &args.hmac_secret {
        anyhow::ensure!(
            !secret.is_empty(),
            "--hmac-secret: received an empty secret, expected the shared one"
        );
        return Ok((SigningKey::hmac(HMAC_KID, secret.as_bytes()), "the secret of --hmac-secret".into()));
    }
    let alg = Algorithm::from(args.alg);
    let path = match (&args.key_file, state_dir(args)) {
        (Some(path), _) => path.clone(),
        (None, Some(dir)) => harness_key::key_path(&dir, alg),
        (None, None) => anyhow::bail!(
            "no state folder for the harness's key: set XDG_STATE_HOME or HOME, or give --state-dir or --key-file"
        ),
    };
    let kept = KeyFile::at(path).load_or_create(alg, args.rotate_key)?;
    Ok((kept.key, format!("{}, {}", kept.how, kept.path.display())))
}

/// `--state-dir`, else the default state folder.
fn state_dir(args: &Args) -> Option<PathBuf> {
    args.state_dir.clone().or_else(harness_key::default_state_dir)
}

/// The keys of the other asymmetric algorithms, published from the start so that the
/// setup can try them when the server refuses the harness's token (and the server's
/// first fetch of the JWKS already holds them): each kept in the state folder like the
/// harness's own, so a rerun with the algorithm found signs under a `kid` the server
/// has already fetched. A key that cannot be kept is made for this run alone.
fn probe_keys(args: &Args, signing: Algorithm) -> Vec<SigningKey> {
    let dir = state_dir(args);
    Algorithm::ASYMMETRIC
        .into_iter()
        .filter(|a| *a != signing)
        .filter_map(|alg| {
            let kept = dir
                .as_ref()
                .and_then(|d| KeyFile::at(harness_key::key_path(d, alg)).load_or_create(alg, false).ok());
            match kept {
                Some(k) => Some(k.key),
                None => harness_key::fresh(alg).ok(),
            }
        })
        .collect()
}

/// `OPEN,SHOW:ARGUMENT` of `--state-handle-tools`.
fn parse_state_handle_tools(spec: &str) -> Result<StateHandleTools, String> {
    let parsed = spec.split_once(',').and_then(|(open, rest)| {
        let (show, argument) = rest.split_once(':')?;
        let ok = |s: &str| !s.is_empty() && !s.contains([',', ':', ' ']);
        (ok(open) && ok(show) && ok(argument)).then(|| StateHandleTools {
            open: open.into(),
            show: show.into(),
            argument: argument.into(),
        })
    });
    parsed.ok_or_else(|| format!("`{spec}`: expected OPEN,SHOW:ARGUMENT, e.g. open_cart,cart_show:cart"))
}

/// `name=scope,name=scope` or the path of a TOML file with a `[scopes]` table.
fn parse_scopes(spec: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let path = std::path::Path::new(spec);
    if path.is_file() {
        #[derive(serde::Deserialize)]
        struct File {
            scopes: BTreeMap<String, String>,
        }
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {spec}"))?;
        let file: File = toml::from_str(&text).with_context(|| {
            format!("{spec}: expected a TOML file with a [scopes] table of tool = \"scope\"")
        })?;
        return Ok(file.scopes);
    }
    spec.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((tool, scope)) if !tool.trim().is_empty() => {
                Ok((tool.trim().to_string(), scope.trim().to_string()))
            }
            _ => anyhow::bail!("--scopes: `{pair}` is not `tool=scope` (and `{spec}` is not a file)"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Args, HIDDEN_OPTIONS, parse_scopes};

    #[test]
    fn the_hidden_options_are_options_of_test_server() {
        crate::reporting::assert_options_of::<Args>(HIDDEN_OPTIONS);
    }

    #[test]
    fn scopes_from_pairs_and_from_a_toml_file() {
        let pairs = parse_scopes("echo=mcp:read, write_note = mcp:write").unwrap();
        assert_eq!(pairs["echo"], "mcp:read");
        assert_eq!(pairs["write_note"], "mcp:write");
        let err = parse_scopes("echo").unwrap_err().to_string();
        assert!(err.contains("`echo` is not `tool=scope`"), "{err}");

        let path = std::env::temp_dir().join(format!("mcp-authz-scopes-{}.toml", std::process::id()));
        std::fs::write(&path, "[scopes]\necho = \"mcp:read\"\nwrite_note = \"mcp:write files:rw\"\n")
            .unwrap();
        let file = parse_scopes(path.to_str().unwrap()).unwrap();
        assert_eq!(file["write_note"], "mcp:write files:rw");
        std::fs::write(&path, "echo = 3\n").unwrap();
        let err = format!("{:#}", parse_scopes(path.to_str().unwrap()).unwrap_err());
        assert!(err.contains("[scopes] table"), "{err}");
        let _ = std::fs::remove_file(path);
    }
}
