//! `mcp-authz client`: the reference MCP client against an MCP server — discovery,
//! registration, authorization (PKCE), token, then one MCP operation; or, with `--grant
//! client-credentials`, discovery then the client credentials grant.

use crate::common::{defects_named, say};
use crate::token_store;
use anyhow::Context as _;
use mcp_authz_live::fetch::Fetcher;
use mcp_authz_live::harness_key;
use mcp_authz_live::live_client::{ClientDriver, FrontChannel};
use mcp_authz_reference::client::{
    ClientCredentials, Credential, Eras, Operation, PreRegistered, PublicClient, PublicClientConfig,
};
use mcp_authz_reference::defects::DefectRole;
use mcp_authz_reference::jwt::{Algorithm, SigningKey};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `mcp-authz client`.
#[derive(clap::Args)]
pub struct Args {
    /// The MCP endpoint, e.g. http://127.0.0.1:9001/mcp.
    #[arg(long = "url", value_name = "URL")]
    url_option: Option<String>,
    /// The MCP endpoint, as the last argument (instead of --url).
    #[arg(value_name = "URL", conflicts_with = "url_option")]
    url: Option<String>,
    /// Tool to call (after listing the tools: it must be listed); without it the client
    /// lists the tools and prints the list.
    #[arg(long)]
    tool: Option<String>,
    /// Tool arguments as a JSON object.
    #[arg(long, default_value = "{}")]
    arguments: String,
    /// Get a new access token and print only it, with no MCP operation (for scripts, and
    /// as `mcp-authz test-server --token-command`): the client sends the server one
    /// request without a token, and its 401 starts an authorization for --scope (default:
    /// the challenge's, else the scopes_supported) and --resource (default: the server's).
    /// Tokens kept in --token-store are not reused.
    #[arg(long, conflicts_with = "tool")]
    print_token: bool,
    /// The resource (RFC 8707) to get the token for, instead of the server's own: another
    /// resource of its authorization server (a second MCP server, say). Such a token is
    /// never sent to the server. Needs --print-token.
    #[arg(long, value_name = "URL", requires = "print_token")]
    resource: Option<String>,
    /// The user the authorization server should sign in (`login_hint`): `mcp-authz serve
    /// --auto-approve` signs in the user it names (alice, mallory).
    #[arg(long, value_name = "USER")]
    login_hint: Option<String>,
    /// Print the authorization URL for a person to open, and wait for the redirect
    /// on a loopback port. Without it the client follows the AS's redirects itself,
    /// which works with an auto-approving AS.
    #[arg(long)]
    browser: bool,
    /// Redirect URI to register (ignored with --browser, which picks a free port).
    #[arg(long, default_value = "http://127.0.0.1:8765/callback")]
    redirect_uri: String,
    /// The OAuth grant. `authorization-code`: a user signs in (PKCE; the client
    /// registers unless given --client-id). `client-credentials`: a machine client (the
    /// MCP extension `io.modelcontextprotocol/oauth-client-credentials`, SEP-1046): after
    /// the same discovery it asks the token endpoint for a token with
    /// grant_type=client_credentials, `resource` and the scope (--scope, else the
    /// challenge's, else scopes_supported) — no browser, no registration. It needs
    /// --client-id and one of --client-secret or --private-key-file, and an authorization
    /// server whose metadata lists `client_credentials` in grant_types_supported.
    #[arg(long, value_enum, default_value_t = GrantArg::AuthorizationCode)]
    grant: GrantArg,
    /// Use this pre-registered client id instead of registering (with --grant
    /// client-credentials: the machine client's id).
    #[arg(long)]
    client_id: Option<String>,
    /// Secret of the pre-registered client. With --grant client-credentials it goes in
    /// an `Authorization: Basic` header (client_secret_basic) when the AS metadata lists
    /// that method or none, else in the body (client_secret_post) when it lists that.
    #[arg(long, requires = "client_id")]
    client_secret: Option<String>,
    /// With --grant client-credentials: authenticate with a `private_key_jwt` assertion
    /// (RFC 7523 §2.2) signed by the private key in this PEM file (PKCS#8, `-----BEGIN
    /// PRIVATE KEY-----`; `openssl pkcs8 -topk8 -nocrypt` converts other forms): iss = sub
    /// = --client-id, aud = the AS issuer, exp 60 s after iat, a fresh jti, header kid =
    /// the key's RFC 7638 thumbprint. The AS metadata must list `private_key_jwt`.
    #[arg(long, value_name = "PEM", requires = "client_id", conflicts_with = "client_secret")]
    private_key_file: Option<PathBuf>,
    /// The algorithm of --private-key-file's assertions: ES256, EdDSA, RS256 or PS256.
    /// Default: from the key, ES256 for P-256, EdDSA for Ed25519, RS256 for RSA.
    #[arg(long, value_name = "ALG", value_parser = parse_signing_alg, requires = "private_key_file")]
    signing_alg: Option<Algorithm>,
    /// Issuer of the authorization server the pre-registered client belongs to: at any
    /// other the client stops with an error instead of presenting it. Without it, the
    /// first authorization server the client uses it with.
    #[arg(long, value_name = "ISSUER", requires = "client_id")]
    client_issuer: Option<String>,
    /// Use DPoP (RFC 9449, the MCP DPoP extension): with an ES256 key drawn for this run,
    /// when the AS lists ES256 in `dpop_signing_alg_values_supported` or the server
    /// challenges with `DPoP`, put a fresh proof on every token request and every MCP
    /// request (`Authorization: DPoP`, `ath`), and retry once with the server's nonce on
    /// `use_dpop_nonce`.
    #[arg(long)]
    dpop: bool,
    /// Use this client ID metadata document URL as client id when the AS supports it.
    #[arg(long)]
    client_metadata_url: Option<String>,
    /// Scopes to request, space-separated (default: the server's challenge, else its
    /// scopes_supported); an empty one asks for none (no `scope` parameter).
    #[arg(long)]
    scope: Option<String>,
    /// The MCP eras to speak. `dual`: a 2026-07-28 request first (no `initialize`;
    /// `_meta` and the `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers), the
    /// 2025-11-25 `initialize` handshake if the server answers it with a 4xx that is not
    /// a 2026-07-28 error; `modern`: 2026-07-28 only; `legacy`: 2025-11-25 only.
    #[arg(long, value_enum, default_value_t = EraArg::Dual)]
    era: EraArg,
    /// Print every request and response status to stderr.
    #[arg(long, short)]
    verbose: bool,
    /// Make the client commit this defect (repeatable; see `mcp-authz defects`), to
    /// see `mcp-authz test-client` catch it.
    #[arg(long = "defect", value_name = "NAME")]
    defects: Vec<String>,
    /// Keep the tokens in this JSON file between runs: read at the start (used only
    /// with the server they were issued for), written at the end. It holds secrets.
    #[arg(long, value_name = "FILE")]
    token_store: Option<std::path::PathBuf>,
}

/// Refuses to call `name` when the `tools/list` result does not list it (on its one page:
/// with a `nextCursor`, the tool may be on a later one).
fn check_listed(listed: &serde_json::Value, name: &str) -> anyhow::Result<()> {
    let tools = listed.get("tools").and_then(serde_json::Value::as_array);
    let names: Vec<&str> =
        tools.into_iter().flatten().filter_map(|t| t.get("name").and_then(|n| n.as_str())).collect();
    if names.contains(&name) || listed.get("nextCursor").is_some_and(|c| !c.is_null()) {
        return Ok(());
    }
    anyhow::bail!("the mcp server lists no tool `{name}` in tools/list (it lists: {})", names.join(", "))
}

/// `--grant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum GrantArg {
    /// The authorization code grant with PKCE: a user signs in.
    AuthorizationCode,
    /// The client credentials grant: a machine client.
    ClientCredentials,
}

/// `--signing-alg`: an asymmetric JWS algorithm.
fn parse_signing_alg(s: &str) -> Result<Algorithm, String> {
    Algorithm::parse(s)
        .filter(|a| Algorithm::ASYMMETRIC.contains(a))
        .ok_or_else(|| format!("received `{s}`, expected one of ES256, EdDSA, RS256, PS256"))
}

/// The machine credentials of `--grant client-credentials`; `None` for the code flow.
/// Refuses the options that have no use without a user, and a missing credential.
fn client_credentials(args: &Args) -> anyhow::Result<Option<ClientCredentials>> {
    if args.grant == GrantArg::AuthorizationCode {
        if args.private_key_file.is_some() {
            anyhow::bail!("--private-key-file needs --grant client-credentials");
        }
        return Ok(None);
    }
    let unused = [
        ("--browser", args.browser),
        ("--login-hint", args.login_hint.is_some()),
        ("--client-metadata-url", args.client_metadata_url.is_some()),
    ];
    if let Some((name, _)) = unused.iter().find(|(_, given)| *given) {
        anyhow::bail!(
            "{name} has no use with --grant client-credentials: no user signs in, and the client does not register"
        );
    }
    let client_id = args.client_id.clone().context("--grant client-credentials needs --client-id")?;
    let credential = match (&args.client_secret, &args.private_key_file) {
        (Some(secret), None) => Credential::Secret(secret.clone()),
        (None, Some(path)) => private_key(path, args.signing_alg)?,
        _ => anyhow::bail!("--grant client-credentials needs --client-secret or --private-key-file"),
    };
    Ok(Some(ClientCredentials { client_id, credential, issuer: args.client_issuer.clone() }))
}

/// The private key in the PEM file at `path`, for `alg` or, without it, for the
/// algorithm its type implies; its `kid` is its RFC 7638 thumbprint.
fn private_key(path: &Path, alg: Option<Algorithm>) -> anyhow::Result<Credential> {
    let what = || format!("--private-key-file {}", path.display());
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read it", what()))?;
    let der = harness_key::pem_private_key(&text).with_context(what)?;
    let candidates = match alg {
        Some(alg) => vec![alg],
        None => vec![Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256],
    };
    let mut last = None;
    for alg in candidates {
        match SigningKey::from_pkcs8_der(alg, "", &der) {
            Ok(key) => return Ok(Credential::private_key(alg, key.public_jwk().thumbprint(), &der)?),
            Err(e) => last = Some(e),
        }
    }
    match (alg, last) {
        (Some(_), Some(e)) => Err(e).with_context(what),
        _ => anyhow::bail!(
            "{}: received a PKCS#8 key that is not P-256, Ed25519 or RSA (or not a key); expected one of those (ES256, EdDSA, RS256)",
            what()
        ),
    }
}

/// `--era`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EraArg {
    /// 2026-07-28 first, 2025-11-25 when the server is legacy.
    Dual,
    /// 2026-07-28 only.
    Modern,
    /// 2025-11-25 only.
    Legacy,
}

impl From<EraArg> for Eras {
    fn from(e: EraArg) -> Eras {
        match e {
            EraArg::Dual => Eras::DualEra,
            EraArg::Modern => Eras::ModernOnly,
            EraArg::Legacy => Eras::LegacyOnly,
        }
    }
}

/// Runs `mcp-authz client`: prints the operation's result, or the access token.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let client_credentials = client_credentials(&args)?;
    let url = args
        .url
        .or(args.url_option)
        .context("give the MCP endpoint: --url URL, or URL as the last argument")?;
    let injected = defects_named(&args.defects)?;
    if let Some(d) = injected.iter().find(|d| d.role() != DefectRole::Client) {
        anyhow::bail!("--defect {}: a defect of the {:?}, not of the client", d.name(), d.role());
    }
    let arguments: serde_json::Value =
        serde_json::from_str(&args.arguments).context("--arguments is not valid JSON")?;
    if !arguments.is_object() {
        anyhow::bail!("--arguments must be a JSON object, received {arguments}");
    }
    let (front, redirect_uri) =
        if args.browser { FrontChannel::person().await? } else { (FrontChannel::Follow, args.redirect_uri) };
    let config = PublicClientConfig {
        pre_registered: args.client_id.filter(|_| client_credentials.is_none()).map(|client_id| {
            PreRegistered { client_id, client_secret: args.client_secret, issuer: args.client_issuer }
        }),
        client_credentials,
        client_id_metadata_url: args.client_metadata_url,
        scope: args.scope,
        resource: args.resource,
        login_hint: args.login_hint,
        eras: args.era.into(),
        dpop: args.dpop,
        defects: injected,
        ..PublicClientConfig::new(url, redirect_uri.clone(), "mcp-authz client")
    };
    let mut client = PublicClient::new(config)?;
    if let Some(kept) = args.token_store.as_deref().map(token_store::read).transpose()?.flatten() {
        client.restore_tokens(kept);
    }
    let mut driver = ClientDriver::new(Fetcher::with_env_proxies()?, front, redirect_uri);
    driver.verbose = args.verbose;
    if args.print_token {
        return print_token(&mut driver, &mut client, args.token_store.as_deref()).await;
    }
    // As an MCP client does: list the tools, then call the one asked for if listed.
    let mut outcome = driver.run(&mut client, |c, env| c.start(Operation::ListTools, env)).await;
    for rejected in client.rejected_tools() {
        crate::common::tell!("warning: {rejected}");
    }
    if let (Some(name), Ok(listed)) = (args.tool, &outcome) {
        check_listed(&listed.result, &name)?;
        let op = Operation::CallTool { name, arguments };
        outcome = driver.run(&mut client, |c, env| c.start(op, env)).await;
    }
    if let (Some(path), Some(tokens)) = (&args.token_store, client.tokens()) {
        token_store::write(path, tokens)?;
    }
    let outcome = outcome?;
    say!("{}", serde_json::to_string_pretty(&outcome.result)?);
    Ok(ExitCode::SUCCESS)
}

/// `--print-token`: gets a new token and prints it alone.
async fn print_token(
    driver: &mut ClientDriver,
    client: &mut PublicClient,
    token_store: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    driver.run(client, |c, env| c.get_token(env)).await?;
    let token = client.tokens().map(|t| t.access_token.clone()).with_context(|| {
        format!(
            "the mcp server at {} answered without asking for a token: there is none to print",
            client.server_url()
        )
    })?;
    if let (Some(path), Some(tokens)) = (token_store, client.tokens()) {
        token_store::write(path, tokens)?;
    }
    say!("{token}");
    Ok(ExitCode::SUCCESS)
}
