//! What several subcommands share: printing to stdout, the text-or-JSON format
//! option, and reading `--defect` names.

use clap::ValueEnum;
use mcp_authz_reference::defects::{Defect, Defects};

/// `println!` that ignores a closed stdout (`mcp-authz list | head` must not panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = std::io::Write::write_fmt(&mut std::io::stdout().lock(), format_args!("{}\n", format_args!($($arg)*)));
    }};
}
pub(crate) use say;

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
