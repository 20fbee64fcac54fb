//! `mcp-authz completions SHELL` and `mcp-authz man --out DIR`: what a packaged command
//! brings with it, generated from the command line's own definition (clap_complete,
//! clap_mangen), so they never disagree with `--help`.

use anyhow::Context as _;
use clap::CommandFactory;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mcp-authz completions`.
#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Arguments of `mcp-authz man`.
#[derive(clap::Args)]
pub struct ManArgs {
    /// The directory to write the pages into (made if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Prints the completion script of `C` for the shell asked.
pub fn completions<C: CommandFactory>(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut command = C::command();
    let name = command.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    crate::common::say!("{}", String::from_utf8_lossy(&script).trim_end());
    Ok(ExitCode::SUCCESS)
}

/// Writes the man pages of `C` (one for the command, one per subcommand) into `--out`,
/// and says which.
pub fn man<C: CommandFactory>(args: ManArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out).with_context(|| format!("making {}", args.out.display()))?;
    let command = C::command();
    clap_mangen::generate_to(command, &args.out)
        .with_context(|| format!("writing into {}", args.out.display()))?;
    let mut written: Vec<String> = std::fs::read_dir(&args.out)
        .with_context(|| format!("reading {}", args.out.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".1"))
        .collect();
    written.sort();
    crate::common::tell!(
        "wrote {} page(s) into {}: {}",
        written.len(),
        args.out.display(),
        written.join(" ")
    );
    Ok(ExitCode::SUCCESS)
}
