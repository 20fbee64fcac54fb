//! `mcp-authz client`: the reference MCP client against an MCP server — discovery,
//! registration, authorization (PKCE), token, then one MCP operation; or, with `--grant
//! client-credentials`, discovery then the client credentials grant; with `--grant
//! enterprise`, discovery, a token exchange at the enterprise IdP for an ID-JAG, then the
//! JWT bearer grant; with `--grant jwt-bearer`, discovery then the JWT bearer grant with
//! a workload's JWT.

use crate::common::{defects_named, say};
use crate::token_store;
use anyhow::Context as _;
use mcp_authz_live::fetch::Fetcher;
use mcp_authz_live::harness_key;
use mcp_authz_live::live_client::{ClientDriver, FrontChannel};
use mcp_authz_reference::client::{
    ClientCredentials, Credential, EnterpriseManaged, Eras, IdpClient, JwtBearerGrant, Operation,
    PreRegistered, PublicClient, PublicClientConfig, WorkloadIdentity,
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
    /// The OAuth grant. Every grant starts with the same discovery (the server's 401, its
    /// protected resource metadata, its authorization server's metadata) and asks for
    /// `resource` and the scope (--scope, else the challenge's, else scopes_supported).
    ///
    /// `authorization-code`: a user signs in (PKCE; the client registers unless given
    /// --client-id).
    ///
    /// `client-credentials`: a machine client (the MCP extension
    /// `io.modelcontextprotocol/oauth-client-credentials`, SEP-1046) asks the token
    /// endpoint for a token with grant_type=client_credentials — no browser, no
    /// registration. It needs --client-id and a credential (--client-secret,
    /// --client-secret-file or --private-key-file), and an AS whose metadata lists
    /// `client_credentials` in grant_types_supported.
    ///
    /// `enterprise`: enterprise-managed authorization (the MCP extension
    /// `io.modelcontextprotocol/enterprise-managed-authorization`, SEP-990). The user
    /// signed in to this client at the enterprise IdP, which issued the ID token of
    /// --id-token-file; the client exchanges it at --idp-token-endpoint (RFC 8693 token
    /// exchange: requested_token_type id-jag, audience = the AS issuer, resource = the
    /// server) for an ID-JAG, then presents the ID-JAG to the AS with the JWT bearer grant
    /// (RFC 7523, assertion = the ID-JAG) and its credentials there (--client-id and
    /// --client-secret, --client-secret-file or --private-key-file) — no browser, no
    /// /authorize, no registration; a new ID-JAG for every token.
    ///
    /// `jwt-bearer`: workload identity federation (SEP-1933). The JWT of
    /// --assertion-file, which the workload's platform issued it (a Kubernetes service
    /// account token, a SPIFFE JWT-SVID), goes to the token endpoint as the assertion of
    /// the JWT bearer grant, without client authentication (--client-id, if given, in the
    /// body). The client first reads the JWT's aud and exp: one for another server, or
    /// expired, is not sent.
    ///
    /// With `enterprise` and `jwt-bearer` the AS metadata must list
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` in grant_types_supported, and an error
    /// answer (invalid_grant, invalid_scope, unauthorized_client, ...) ends the run with
    /// it: the grant is not sent again, and no other grant is tried.
    #[arg(long, value_enum, default_value_t = GrantArg::AuthorizationCode)]
    grant: GrantArg,
    /// Use this pre-registered client id instead of registering (with --grant
    /// client-credentials: the machine client's id; with --grant enterprise: the client's
    /// id at the MCP server's AS, which the IdP names in the ID-JAG; with --grant
    /// jwt-bearer: sent in the body, for an AS that wants one).
    #[arg(long)]
    client_id: Option<String>,
    /// Secret of the pre-registered client. With --grant client-credentials or
    /// enterprise it goes in an `Authorization: Basic` header (client_secret_basic) when
    /// the AS metadata lists that method or none, else in the body (client_secret_post)
    /// when it lists that.
    #[arg(long, requires = "client_id", conflicts_with = "client_secret_file")]
    client_secret: Option<String>,
    /// --client-secret read from this file (`-`: standard input), to keep it out of the
    /// command line; the end of line is dropped.
    #[arg(long, value_name = "FILE", requires = "client_id")]
    client_secret_file: Option<PathBuf>,
    /// With --grant client-credentials or enterprise: authenticate with a
    /// `private_key_jwt` assertion (RFC 7523 §2.2) signed by the private key in this PEM
    /// file (PKCS#8, `-----BEGIN PRIVATE KEY-----`; `openssl pkcs8 -topk8 -nocrypt`
    /// converts other forms): iss = sub = --client-id, aud = the AS issuer, exp 60 s after
    /// iat, a fresh jti, header kid = the key's RFC 7638 thumbprint. The AS metadata must
    /// list `private_key_jwt`.
    #[arg(
        long,
        value_name = "PEM",
        requires = "client_id",
        conflicts_with_all = ["client_secret", "client_secret_file"]
    )]
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
    /// With --grant enterprise: the ID token (OpenID Connect) the enterprise IdP issued
    /// this client at the user's single sign-on, read from this file (`-`: standard
    /// input); the subject_token of the token exchange.
    #[arg(long, value_name = "FILE")]
    id_token_file: Option<PathBuf>,
    /// With --grant enterprise: the token endpoint of the enterprise IdP (https, or http
    /// on loopback), where the ID token is exchanged for an ID-JAG.
    #[arg(long, value_name = "URL")]
    idp_token_endpoint: Option<String>,
    /// With --grant enterprise: the client's id at the IdP, sent with the token exchange
    /// (in the body, or with --idp-client-secret-file in an `Authorization: Basic`
    /// header). Without it the token exchange carries no client authentication.
    #[arg(long, value_name = "ID")]
    idp_client_id: Option<String>,
    /// With --grant enterprise: the client's secret at the IdP, read from this file
    /// (`-`: standard input).
    #[arg(long, value_name = "FILE", requires = "idp_client_id")]
    idp_client_secret_file: Option<PathBuf>,
    /// With --grant jwt-bearer: the workload's JWT, read from this file (`-`: standard
    /// input), e.g. a projected Kubernetes service account token.
    #[arg(long, value_name = "FILE")]
    assertion_file: Option<PathBuf>,
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
    /// Enterprise-managed authorization: the IdP's ID token exchanged for an ID-JAG,
    /// presented with the JWT bearer grant.
    Enterprise,
    /// The JWT bearer grant with a workload's JWT (workload identity federation).
    JwtBearer,
}

impl GrantArg {
    /// As written on the command line.
    fn name(self) -> &'static str {
        match self {
            GrantArg::AuthorizationCode => "authorization-code",
            GrantArg::ClientCredentials => "client-credentials",
            GrantArg::Enterprise => "enterprise",
            GrantArg::JwtBearer => "jwt-bearer",
        }
    }
}

/// `--signing-alg`: an asymmetric JWS algorithm.
fn parse_signing_alg(s: &str) -> Result<Algorithm, String> {
    Algorithm::parse(s)
        .filter(|a| Algorithm::ASYMMETRIC.contains(a))
        .ok_or_else(|| format!("received `{s}`, expected one of ES256, EdDSA, RS256, PS256"))
}

/// The machine grant of `--grant`: client credentials, or a JWT bearer grant; neither
/// for the code flow. Refuses an option of another grant, the options that have no use
/// without a browser, and a missing credential, each with one message.
fn machine_grant(args: &Args) -> anyhow::Result<(Option<ClientCredentials>, Option<JwtBearerGrant>)> {
    use GrantArg::{ClientCredentials as Cc, Enterprise, JwtBearer};
    let grant = args.grant;
    let from_stdin: Vec<&str> = [
        ("--client-secret-file", &args.client_secret_file),
        ("--id-token-file", &args.id_token_file),
        ("--idp-client-secret-file", &args.idp_client_secret_file),
        ("--assertion-file", &args.assertion_file),
    ]
    .into_iter()
    .filter(|(_, path)| path.as_deref() == Some(Path::new("-")))
    .map(|(name, _)| name)
    .collect();
    if from_stdin.len() > 1 {
        anyhow::bail!("standard input (`-`) can feed only one of {}", from_stdin.join(", "));
    }
    let of_grants: [(&str, bool, &[GrantArg]); 6] = [
        ("--private-key-file", args.private_key_file.is_some(), &[Cc, Enterprise]),
        ("--id-token-file", args.id_token_file.is_some(), &[Enterprise]),
        ("--idp-token-endpoint", args.idp_token_endpoint.is_some(), &[Enterprise]),
        ("--idp-client-id", args.idp_client_id.is_some(), &[Enterprise]),
        ("--idp-client-secret-file", args.idp_client_secret_file.is_some(), &[Enterprise]),
        ("--assertion-file", args.assertion_file.is_some(), &[JwtBearer]),
    ];
    if let Some((name, _, grants)) =
        of_grants.iter().find(|(_, given, grants)| *given && !grants.contains(&grant))
    {
        let needed: Vec<&str> = grants.iter().map(|g| g.name()).collect();
        anyhow::bail!("{name} needs --grant {}", needed.join(" or "));
    }
    if grant == GrantArg::AuthorizationCode {
        return Ok((None, None));
    }
    let unused = [
        ("--browser", args.browser),
        ("--login-hint", args.login_hint.is_some()),
        ("--client-metadata-url", args.client_metadata_url.is_some()),
    ];
    if let Some((name, _)) = unused.iter().find(|(_, given)| *given) {
        anyhow::bail!(
            "{name} has no use with --grant {}: no browser opens, and the client does not register",
            grant.name()
        );
    }
    let client = |who: &str| -> anyhow::Result<ClientCredentials> {
        let client_id = args
            .client_id
            .clone()
            .with_context(|| format!("--grant {} needs --client-id ({who})", grant.name()))?;
        let credential = match (&args.client_secret, &args.client_secret_file, &args.private_key_file) {
            (Some(secret), None, None) => Credential::Secret(secret.clone()),
            (None, Some(path), None) => {
                Credential::Secret(read_value(path, "--client-secret-file", "the client secret")?)
            }
            (None, None, Some(path)) => private_key(path, args.signing_alg)?,
            _ => anyhow::bail!(
                "--grant {} needs --client-secret, --client-secret-file or --private-key-file ({who})",
                grant.name()
            ),
        };
        Ok(ClientCredentials { client_id, credential, issuer: args.client_issuer.clone() })
    };
    match grant {
        GrantArg::AuthorizationCode => Ok((None, None)),
        GrantArg::ClientCredentials => Ok((Some(client("the machine client's credentials")?), None)),
        GrantArg::Enterprise => {
            let id_token = args.id_token_file.as_deref().context(
                "--grant enterprise needs --id-token-file (the ID token the enterprise IdP issued at the user's sign-in)",
            )?;
            let idp_token_endpoint = args.idp_token_endpoint.clone().context(
                "--grant enterprise needs --idp-token-endpoint (where the ID token is exchanged for an ID-JAG)",
            )?;
            let client = client("the client's credentials at the MCP server's authorization server")?;
            let idp_client_secret = args
                .idp_client_secret_file
                .as_deref()
                .map(|p| read_value(p, "--idp-client-secret-file", "the client secret at the IdP"))
                .transpose()?;
            let enterprise = EnterpriseManaged {
                idp_token_endpoint,
                idp_client: args
                    .idp_client_id
                    .clone()
                    .map(|client_id| IdpClient { client_id, client_secret: idp_client_secret }),
                id_token: read_value(id_token, "--id-token-file", "the ID token")?,
                client,
            };
            Ok((None, Some(JwtBearerGrant::Enterprise(enterprise))))
        }
        GrantArg::JwtBearer => {
            let credentials = [
                ("--client-secret", args.client_secret.is_some()),
                ("--client-secret-file", args.client_secret_file.is_some()),
                ("--client-issuer", args.client_issuer.is_some()),
            ];
            if let Some((name, _)) = credentials.iter().find(|(_, given)| *given) {
                anyhow::bail!(
                    "{name} has no use with --grant jwt-bearer: the workload's JWT is the credential, sent without client authentication"
                );
            }
            let assertion = args.assertion_file.as_deref().context(
                "--grant jwt-bearer needs --assertion-file (the workload's JWT, from its platform)",
            )?;
            let workload = WorkloadIdentity {
                jwt: read_value(assertion, "--assertion-file", "the workload's JWT")?,
                client_id: args.client_id.clone(),
            };
            Ok((None, Some(JwtBearerGrant::Workload(workload))))
        }
    }
}

/// The value in the file at `path` (`-`: standard input) given as `option`, without the
/// whitespace around it; an empty one is refused as not being `what`.
fn read_value(path: &Path, option: &str, what: &str) -> anyhow::Result<String> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
            .with_context(|| format!("{option} -: cannot read standard input"))?
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("{option} {}: cannot read it", path.display()))?
    };
    let value = text.trim();
    if value.is_empty() {
        anyhow::bail!("{option} {}: received an empty file, expected {what}", path.display());
    }
    if value.contains(['\n', '\r']) {
        anyhow::bail!("{option} {}: received several lines, expected {what} on one line", path.display());
    }
    Ok(value.to_string())
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
    let (client_credentials, jwt_bearer) = machine_grant(&args)?;
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
    // A pre-registered client's secret, for the code flow (the machine grants hold theirs).
    let client_secret = match (args.client_secret, &args.client_secret_file) {
        (Some(secret), _) => Some(secret),
        (None, Some(path)) if args.grant == GrantArg::AuthorizationCode => {
            Some(read_value(path, "--client-secret-file", "the client secret")?)
        }
        (None, _) => None,
    };
    let config = PublicClientConfig {
        pre_registered: args
            .client_id
            .filter(|_| args.grant == GrantArg::AuthorizationCode)
            .map(|client_id| PreRegistered { client_id, client_secret, issuer: args.client_issuer }),
        client_credentials,
        jwt_bearer,
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
