//! SARIF 2.1.0 (OASIS), the format code scanning reads (GitHub's `upload-sarif`, for
//! one): one rule per scenario of the run (its title, level, requirement IDs and tags),
//! one result per case that failed (`error`), warned (`warning`) or could not be decided
//! (`note`); passes and skips are not results. Each result's location is what was tested
//! (`subject`: the URL under test, or the simulator), and its partial fingerprint is the
//! case ID, so a finding keeps its identity from run to run.

use crate::scenario::{CaseResult, Verdict};
use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, PropertyBag,
    ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};
use std::collections::BTreeMap;

/// The SARIF level of a verdict, or `None` for one that is not a result.
fn level(verdict: Verdict) -> Option<ResultLevel> {
    match verdict {
        Verdict::Fail => Some(ResultLevel::Error),
        Verdict::Warn => Some(ResultLevel::Warning),
        Verdict::Error => Some(ResultLevel::Note),
        Verdict::Pass | Verdict::Skip => None,
    }
}

/// The SARIF log of `cases`, run against `subject`.
pub fn sarif(cases: &[CaseResult], subject: &str) -> String {
    let rules: Vec<ReportingDescriptor> = cases
        .iter()
        .map(|c| {
            let m = &c.meta;
            let mut properties = BTreeMap::new();
            properties.insert("requirements".to_string(), json!(m.requirements));
            properties.insert("level".to_string(), json!(m.level));
            properties.insert("role".to_string(), json!(m.role));
            ReportingDescriptor::builder()
                .id(m.id)
                .short_description(MultiformatMessageString::builder().text(m.title).build())
                .properties(
                    PropertyBag::builder()
                        .tags(m.tags.iter().map(|t| t.to_string()).collect::<Vec<_>>())
                        .additional_properties(properties)
                        .build(),
                )
                .build()
        })
        .collect();
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(ArtifactLocation::builder().uri(subject).build())
                .build(),
        )
        .build();
    let results: Vec<SarifResult> = cases
        .iter()
        .enumerate()
        .filter_map(|(index, c)| {
            let level = level(c.verdict)?;
            let text = if c.detail.is_empty() { c.meta.title.to_string() } else { c.detail.clone() };
            let mut properties = BTreeMap::new();
            properties.insert("verdict".to_string(), json!(c.verdict));
            properties.insert("seed".to_string(), json!(c.seed));
            if let Some(r) = c.revision {
                properties.insert("revision".to_string(), json!(r));
            }
            let fingerprint = BTreeMap::from([("mcpAuthzCase/v1".to_string(), c.meta.id.to_string())]);
            Some(
                SarifResult::builder()
                    .rule_id(c.meta.id)
                    .rule_index(index as i64)
                    .level(level)
                    .message(Message::builder().text(text).build())
                    .locations(vec![location.clone()])
                    .partial_fingerprints(fingerprint)
                    .properties(PropertyBag::builder().additional_properties(properties).build())
                    .build(),
            )
        })
        .collect();
    let driver = ToolComponent::builder()
        .name("mcp-authz")
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization")
        .rules(rules)
        .build();
    let log = Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .version(json!("2.1.0"))
        .runs(vec![Run::builder().tool(Tool::builder().driver(driver).build()).results(results).build()])
        .build();
    serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".into())
}
