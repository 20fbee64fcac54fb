//! `mcp-authz open-url` (hidden): the browser `mcp-authz test-client` gives the client
//! under test.

use anyhow::Context as _;
use mcp_authz_live::fetch::Fetcher;
use std::process::ExitCode;

/// Arguments of `mcp-authz open-url`.
#[derive(clap::Args)]
pub struct Args {
    /// Where to POST the URL.
    #[arg(long)]
    report: Option<String>,
    /// The URL to open.
    url: String,
}

/// Runs `mcp-authz open-url`: reports the URL to `--report`, then follows it (http and
/// https only) through the authorization server's redirects to the client's redirect URI.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (report, url) = (args.report.as_deref(), args.url.as_str());
    let fetcher = Fetcher::trusted()?;
    if let Some(report) = report {
        let req = http::Request::post(report).body(bytes::Bytes::from(url.to_string()))?;
        fetcher
            .fetch(req)
            .await
            .map_err(|e| anyhow::anyhow!("reporting the URL to {report}: {}", e.reason))?;
    }
    let mut current = url::Url::parse(url).with_context(|| format!("`{url}` is not a URL"))?;
    for _ in 0..10 {
        if !matches!(current.scheme(), "http" | "https") {
            anyhow::bail!("a browser of the harness does not open `{current}`");
        }
        let req = http::Request::get(current.as_str()).body(bytes::Bytes::new())?;
        let resp =
            fetcher.fetch(req).await.map_err(|e| anyhow::anyhow!("opening {current}: {}", e.reason))?;
        let location = resp.headers().get(http::header::LOCATION).and_then(|v| v.to_str().ok());
        match location.filter(|_| resp.status().is_redirection()) {
            Some(next) => current = current.join(next).with_context(|| format!("redirect to `{next}`"))?,
            None => return Ok(ExitCode::SUCCESS),
        }
    }
    anyhow::bail!("more than 10 redirects from {url}")
}
