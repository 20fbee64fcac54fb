//! `mcp-authz defects`: the defect switches the reference roles can be told to commit.

use crate::common::say;
use mcp_authz_reference::defects::Defect;
use std::process::ExitCode;

/// Runs `mcp-authz defects`: name, role and description of every defect.
pub fn run() -> ExitCode {
    for d in Defect::ALL {
        say!("{:<38} {:<22} {}", d.name(), format!("{:?}", d.role()), d.description());
    }
    ExitCode::SUCCESS
}
