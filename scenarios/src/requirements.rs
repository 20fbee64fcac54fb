//! The requirement texts of `requirements.md`, by ID, for reports.

use std::collections::BTreeMap;

/// Requirement ID (`RS-08`) → its text, from the requirements matrix this crate ships.
pub fn texts() -> BTreeMap<String, String> {
    parse(include_str!("../requirements.md"))
}

/// Reads the rows `| ID | Role | Level | Requirement | ... |` of a markdown table: the
/// text is the level and the requirement (`MUST: ...`). Other lines are ignored.
pub fn parse(markdown: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in markdown.lines() {
        let Some(row) = line.trim().strip_prefix('|') else { continue };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        if let [id, _role, level, text, ..] = cells.as_slice() {
            if is_requirement_id(id) && !text.is_empty() {
                out.insert(id.to_string(), format!("{level}: {text}"));
            }
        }
    }
    out
}

/// `AS-01`, `RS-08`, `CL-28`, `X-10`: letters, a hyphen, digits.
fn is_requirement_id(s: &str) -> bool {
    match s.split_once('-') {
        Some((role, n)) => {
            !role.is_empty()
                && role.bytes().all(|b| b.is_ascii_uppercase())
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_requirement_rows_only() {
        let md = "| ID | Role | Level | Requirement | Source |\n|---|---|---|---|---|\n\
                  | RS-08 | RS | MUST | Accept only tokens for this server. | §Token |\n\
                  | Area | a | b | c |\n| X-1x | X | MAY | no |\n| CL-02 | CL |\nplain text\n";
        let t = parse(md);
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t["RS-08"], "MUST: Accept only tokens for this server.");
    }

    #[test]
    fn every_catalog_requirement_has_a_text() {
        let t = texts();
        for s in crate::catalog() {
            for r in s.meta.requirements {
                assert!(t.contains_key(*r), "{}: no text for {r}", s.meta.id);
            }
        }
    }
}
