//! `mcp-authz test-as`: the authorization server scenarios against a live AS over HTTP.
//!
//! The harness reads the AS's metadata, registers its apps there (RFC 7591), signs in
//! through its login and consent forms when given a login, and runs every AS scenario
//! of the catalog with the same IDs as in the simulator.

use crate::reporting::{GradeArgs, Hide, Replay, ReportArgs, read_baseline};
use anyhow::Context as _;
use mcp_authz_live::runs::{self as live, Progress};
use mcp_authz_live::serve::system_now;
use mcp_authz_live::target::{self, Limits};
use mcp_authz_live::targets::LiveAs;
use mcp_authz_scenarios::{Scenario, catalog};
use mcp_authz_sim::browser::Login;
use mcp_authz_sim::scenario::{CaseResult, Role};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `mcp-authz test-as`.
#[derive(clap::Args)]
pub struct Args {
    /// The issuer of the AS under test, e.g. http://127.0.0.1:9002; its metadata is read
    /// from the RFC 8414 well-known URL, else OpenID discovery.
    #[arg(long)]
    issuer: String,
    /// A resource (RFC 8707) the AS issues tokens for, with scopes mcp:read and mcp:write.
    #[arg(long, default_value = "http://127.0.0.1:9001/mcp")]
    resource: String,
    /// A second resource the AS issues tokens for, to check audiences and that a refresh
    /// cannot switch resource; without it those checks are skipped.
    #[arg(long)]
    other_resource: Option<String>,
    /// The AS's introspection endpoint (RFC 7662), when its metadata does not name it:
    /// AS-INTRO-01 checks that it refuses callers without credentials, and the
    /// revocation cases ask it (with a client the harness registers) whether tokens are
    /// still active.
    #[arg(long, value_name = "URL")]
    introspection_endpoint: Option<String>,
    /// The --resource server checks every token at this AS by introspection (as
    /// `mcp-authz serve --introspect` does): whether it still accepts an access token
    /// then shows whether the AS revoked it (AS-CODE-06, AS-REFRESH-02..04), for
    /// self-contained tokens the AS will not introspect for the harness.
    #[arg(long)]
    resource_introspects: bool,
    /// Sign in at the AS's login form as USER:PASSWORD (the harness fills in and submits
    /// login and consent forms, keeping cookies). Without it the AS must approve by itself.
    #[arg(long, value_name = "USER:PASSWORD")]
    login: Option<String>,
    /// Use this pre-registered client as the victim's app instead of registering one
    /// (its redirect URIs must include http://127.0.0.1:7777/callback). The attacker then
    /// has no app of its own, and the scenarios that need one are skipped.
    #[arg(long)]
    client_id: Option<String>,
    /// The pre-registered client's secret (sent with client_secret_basic).
    #[arg(long, requires = "client_id")]
    client_secret: Option<String>,
    /// Complete each authorization with this command instead of the harness's browser:
    /// it is run with `sh -c`, the authorization URL as its last argument, and must print
    /// the URL the AS finally redirects to (with `code` or `error`) as its last line. The
    /// scenarios that need to see or rewrite the front channel, or the login pages, are
    /// then skipped.
    #[arg(long, value_name = "CMD", conflicts_with = "login")]
    authorize_hook: Option<String>,
    /// Longest the authorize hook may take, in seconds.
    #[arg(long, default_value_t = 60)]
    hook_timeout: u64,
    /// The AS's authorization-code lifetime in seconds (RFC 6749 §4.1.2: at most 600).
    /// Given, AS-CODE-08 waits that long plus a second before redeeming a code and
    /// expects `invalid_grant` (the case takes that much longer); without it, it is
    /// skipped.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=600))]
    code_lifetime: Option<u64>,
    /// Let AS-REG-02 flood the AS: it registers the same client up to 1 100 times at once
    /// and expects to be throttled. An AS that throttles may then refuse registrations
    /// for a while, so the case runs last; without this flag it is skipped.
    #[arg(long)]
    flood: bool,
    /// Run the JWT bearer grant cases (AS-EMA-01..03, AS-WIF-01) as the client ID:SECRET,
    /// registered at the AS for grant_type urn:ietf:params:oauth:grant-type:jwt-bearer
    /// (client_secret_basic, scopes mcp:read mcp:write). The AS must trust the harness's
    /// IdP (https://idp.mcp-authz.example, ID-JAGs) and workload platform
    /// (https://workload.mcp-authz.example) with the JWK Sets this writes to
    /// STATE_DIR/grant-idp.jwks.json and grant-workload.jwks.json. Without it those cases
    /// are skipped.
    #[arg(long, value_name = "ID:SECRET")]
    jwt_bearer_client: Option<String>,
    /// Where the harness keeps its keys between runs. Default: $XDG_STATE_HOME/mcp-authz,
    /// else ~/.local/state/mcp-authz.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<std::path::PathBuf>,
    #[command(flatten)]
    live: LiveArgs,
    #[command(flatten)]
    grade: GradeArgs,
    #[command(flatten)]
    report: ReportArgs,
}

/// Runs `mcp-authz test-as`.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let issuer = args.issuer.clone();
    url::Url::parse(&issuer)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .with_context(|| format!("--issuer `{issuer}`: expected an absolute http(s) URL"))?;
    let login = match &args.login {
        Some(spec) => match spec.split_once(':') {
            Some((u, p)) if !u.is_empty() => Some(Login { username: u.into(), password: p.into() }),
            _ => anyhow::bail!("--login `{spec}`: expected USER:PASSWORD"),
        },
        None => None,
    };
    let all = catalog();
    let selected = args.live.select(&all, Role::AuthorizationServer)?;
    let baseline = match &args.report.baseline {
        Some(path) => Some(read_baseline(path, &|id| all.iter().any(|s| s.meta.id == id))?),
        None => None,
    };
    let code_lifetime = args.code_lifetime.map(Duration::from_secs);
    let mut limits = args.live.limits();
    // The wait for a code to expire is not the AS being slow.
    limits.case_timeout += code_lifetime.unwrap_or_default();
    let handle = tokio::runtime::Handle::current();
    let (resource, other_resource, iss) =
        (args.resource.clone(), args.other_resource.clone(), issuer.clone());
    let introspection_endpoint = args.introspection_endpoint.clone();
    if let Some(u) = &introspection_endpoint {
        url::Url::parse(u)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .with_context(|| format!("--introspection-endpoint `{u}`: expected an absolute http(s) URL"))?;
    }
    let client = args.client_id.clone().map(|id| (id, args.client_secret.clone()));
    let grant_issuers = match &args.jwt_bearer_client {
        Some(spec) => Some(crate::common::harness_grant_issuers(spec, args.state_dir.clone())?),
        None => None,
    };
    let (flood, revision) = (args.flood, args.grade.revision);
    let (hook, hook_timeout) = (args.authorize_hook.clone(), Duration::from_secs(args.hook_timeout.max(1)));
    let results = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<CaseResult>> {
        let target = LiveAs {
            issuer: iss,
            resource,
            other_resource,
            introspection_endpoint,
            resource_introspects: args.resource_introspects,
            login,
            authorize_hook: hook.map(|cmd| target::authorize_hook(cmd, hook_timeout)),
            client,
            code_lifetime,
            flood,
            signs_in: true,
            connect: target::over_http(handle, limits)?,
            revision,
            grant_issuers,
        };
        let bar = crate::progress::Progress::cases(selected.len());
        let run = live::test_authorization_server(&target, &selected, &system_now, |p| match p {
            Progress::Learned(notes) => notes.iter().for_each(|n| bar.note(n)),
            Progress::Case(_, r) => bar.case(r.meta.id, &r.verdict),
        });
        bar.finish();
        if let Some(why) = &run.setup_error {
            crate::common::tell!("error: {why}");
            crate::common::tell!(
                "hint: is the authorization server running, and is --issuer its exact issuer? \
                 (`mcp-authz serve` serves the reference AS at http://127.0.0.1:{})",
                crate::serve::SERVE_AS_PORT
            );
        }
        Ok(run.results)
    })
    .await
    .context("the test run stopped")??;

    let replay = Replay::of_this_run(HIDDEN_OPTIONS);
    let replay = |c: &CaseResult| replay.line(c.meta.id);
    let subtitle = format!("mcp-authz test-as --issuer {issuer} · {} cases", results.len());
    args.report.emit(&crate::redact::results(&results), baseline.as_ref(), &replay, &subtitle)
}

/// The options of `test-as` whose values a replay line hides.
const HIDDEN_OPTIONS: &[(&str, Hide)] = &[
    ("--client-secret", Hide::Value("SECRET")),
    ("--login", Hide::AfterColon("PASSWORD")),
    ("--jwt-bearer-client", Hide::AfterColon("SECRET")),
];

/// What every live run takes: which scenarios, and how long to wait.
#[derive(clap::Args)]
pub struct LiveArgs {
    /// Run only this scenario (repeatable).
    #[arg(long = "scenario", value_name = "ID")]
    scenarios: Vec<String>,
    /// Longest wait for one answer, in seconds.
    #[arg(long, default_value_t = 10)]
    request_timeout: u64,
    /// Longest a case may take, in seconds; its later requests fail at once.
    #[arg(long, default_value_t = 60)]
    case_timeout: u64,
}

impl LiveArgs {
    /// The limits of the run.
    pub fn limits(&self) -> Limits {
        Limits {
            request_timeout: Duration::from_secs(self.request_timeout.max(1)),
            case_timeout: Duration::from_secs(self.case_timeout.max(1)),
            ..Limits::default()
        }
    }

    /// The scenario IDs named with --scenario.
    pub fn named(&self) -> &[String] {
        &self.scenarios
    }

    /// The scenarios of `role` in `all`, or only those named with --scenario (each must
    /// exist and test `role`).
    pub fn select(&self, all: &[Scenario], role: Role) -> anyhow::Result<Vec<Scenario>> {
        let ids = &self.scenarios;
        for id in ids {
            match all.iter().find(|s| s.meta.id == id) {
                None => anyhow::bail!("no scenario `{id}`; `mcp-authz list` shows them"),
                Some(s) if s.meta.role != role => {
                    anyhow::bail!("`{id}` tests the {}, not the {role}", s.meta.role)
                }
                Some(_) => {}
            }
        }
        Ok(all
            .iter()
            .filter(|s| s.meta.role == role && (ids.is_empty() || ids.iter().any(|id| id == s.meta.id)))
            .copied()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hidden_options_are_options_of_test_as() {
        crate::reporting::assert_options_of::<Args>(HIDDEN_OPTIONS);
    }

    #[test]
    fn a_replay_of_test_as_hides_its_secrets() {
        let argv = "mcp-authz test-as --issuer http://127.0.0.1:9 --login alice:pw --client-id app \
                    --client-secret cs --jwt-bearer-client agent:js --state-dir /tmp/keys";
        let line = Replay::of(argv.split_whitespace().map(String::from), HIDDEN_OPTIONS).line("AS-EMA-02");
        assert_eq!(
            line,
            "mcp-authz test-as --issuer http://127.0.0.1:9 --login alice:PASSWORD --client-id app \
             --client-secret SECRET --jwt-bearer-client agent:SECRET --state-dir /tmp/keys --scenario AS-EMA-02"
        );
    }
}
