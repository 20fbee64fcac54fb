//! What several subcommands share: printing to stdout and stderr, the text-or-JSON format
//! option, reading `--defect` names, and the `--alg` values.

use anyhow::Context as _;
use clap::ValueEnum;
use mcp_authz_reference::defects::{Defect, Defects};
use mcp_authz_reference::jwt::Algorithm;

/// `println!` that ignores a closed stdout (`mcp-authz list | head` must not panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = std::io::Write::write_fmt(&mut std::io::stdout().lock(), format_args!("{}\n", format_args!($($arg)*)));
    }};
}
pub(crate) use say;

/// `eprintln!` that ignores a closed stderr (the live crate's: see [`mcp_authz_live::tell`]).
pub(crate) use mcp_authz_live::tell;

/// Output format of `list`, `explore` and `merge`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

/// The defects named by `--defect` options, each a name `mcp-authz defects` lists.
pub fn defects_named(names: &[String]) -> anyhow::Result<Defects> {
    let mut defects = Defects::none();
    for name in names {
        defects.insert(name.parse::<Defect>()?);
    }
    Ok(defects)
}

/// The MCP endpoint of `--url`: an absolute http(s) URL, kept without a trailing slash
/// unless it was given with one (the slash matters to a resource identifier).
pub fn mcp_endpoint(arg: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(arg)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            anyhow::anyhow!("--url `{arg}`: expected an absolute http(s) URL of the MCP endpoint")
        })?
        .to_string();
    Ok(if arg.ends_with('/') { url } else { url.trim_end_matches('/').to_string() })
}

/// An access-token signing algorithm of `--alg` (`serve`, `test-server`).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Alg {
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (a 2048-bit key).
    Rs256,
    /// RSASSA-PSS with SHA-256 (a 2048-bit key).
    Ps256,
    /// Ed25519.
    Eddsa,
}

impl From<Alg> for Algorithm {
    fn from(a: Alg) -> Self {
        match a {
            Alg::Es256 => Algorithm::ES256,
            Alg::Rs256 => Algorithm::RS256,
            Alg::Ps256 => Algorithm::PS256,
            Alg::Eddsa => Algorithm::EdDSA,
        }
    }
}

/// The harness's IdP and workload platform, with the client `spec` (`ID:SECRET`)
/// registered at the AS for the JWT bearer grant; says what the AS must trust.
pub fn harness_grant_issuers(
    spec: &str,
    state_dir: Option<std::path::PathBuf>,
) -> anyhow::Result<mcp_authz_scenarios::world::Enterprise> {
    use mcp_authz_live::harness_key;
    let Some((id, secret)) = spec.split_once(':').filter(|(i, s)| !i.is_empty() && !s.is_empty()) else {
        // The secret part is never echoed.
        let id = spec.split_once(':').map_or(spec, |(id, _)| id);
        anyhow::bail!("--jwt-bearer-client: expected ID:SECRET, both non-empty (received the id `{id}`)");
    };
    let dir = state_dir.or_else(harness_key::default_state_dir).context(
        "no state folder for the harness's grant keys: set XDG_STATE_HOME or HOME, or give --state-dir",
    )?;
    let issuers = harness_key::grant_issuers(&dir, (id.into(), secret.into()))?;
    tell!(
        "JWT bearer grant: the AS must trust {} (ID-JAGs) with {} and {} (workload JWTs) with {}",
        issuers.idp,
        dir.join("grant-idp.jwks.json").display(),
        issuers.workload_issuer,
        dir.join("grant-workload.jwks.json").display()
    );
    Ok(issuers)
}
