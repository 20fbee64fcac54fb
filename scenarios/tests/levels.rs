//! The level of a case is the level of its source sentence (issue 16): each scenario's
//! level, in every revision it applies to, is the strongest level among the requirement
//! rows it names in `requirements.md` — unless [`EXEMPT`] names it with the sentence that
//! makes its level differ.

use mcp_authz_scenarios::catalog;
use mcp_authz_sim::scenario::{Level, Revision};
use std::collections::BTreeMap;

/// Scenarios whose level differs from the strongest row they name, with the source
/// sentence that sets their level. Each names a row for what it covers, but grades a
/// weaker sentence of it (or of an RFC the row leads to).
const EXEMPT: &[(&str, &str)] = &[
    (
        "AS-CODE-06",
        "SHOULD: RFC 6749 §4.1.2, the AS \"MUST deny the request and SHOULD revoke (when possible) all \
         tokens previously issued based on that authorization code\"; the denial is AS-CODE-05's MUST",
    ),
    (
        "AS-DPOP-06",
        "SHOULD (a hardening), as RS-DPOP-05: RFC 9449 §11.1's MUST is the short acceptance window \
         (AS-DPOP-03's iat variant); tracking jti is what servers \"can\" do against \"multiple uses of the \
         same DPoP proof\"",
    ),
    (
        "AS-RES-01",
        "SHOULD: RFC 8707 §2, \"The authorization server SHOULD audience-restrict issued access tokens\" and \
         an unacceptable resource \"should\" get invalid_target; MCP binds audiences \"when the Authorization \
         Server supports the capability\" (2025-11-25 §Token Audience Binding and Validation)",
    ),
    (
        "CL-REG-01",
        "SHOULD: 2025-11-25 §Client Registration Approaches, \"Clients supporting all options SHOULD follow \
         the following priority order\" (CL-10); CL-12's URL form is named for context, not judged",
    ),
    (
        "CL-REG-03",
        "SHOULD: 2026-07-28 client registration §Application Type, native applications \"SHOULD use \
         application_type: native\", web applications \"SHOULD use application_type: web\"; the MUST \
         (the member present) is CL-REG-02's",
    ),
    (
        "CL-SSRF-01",
        "SHOULD: security best practices §SSRF, \"MCP clients SHOULD require HTTPS for all OAuth-related \
         URLs\"; CL-37's MUST is only to \"consider SSRF risks\"",
    ),
    (
        "CL-SSRF-02",
        "SHOULD: security best practices §SSRF, \"MCP clients SHOULD block requests to private and reserved \
         IP address ranges\"; CL-37's MUST is only to \"consider SSRF risks\"",
    ),
    (
        "CL-SSRF-04",
        "SHOULD: security best practices §SSRF, \"MCP clients SHOULD apply the same URL validation to \
         redirect targets\"; CL-37's MUST is only to \"consider SSRF risks\"",
    ),
    (
        "CL-WIRE-02",
        "SHOULD: 2026-07-28 versioning §Protocol Version Negotiation, \"The client SHOULD select a mutually \
         supported version from the supported list and retry\"; X-14's MUST is the server's",
    ),
    (
        "RS-CHAL-04",
        "SHOULD: RFC 6750 §3.1 (OAuth 2.1 §5.3.1), the resource server \"SHOULD include the error \
         attribute\"; RS-09's 401 is each validation case's MUST",
    ),
    (
        "RS-DPOP-05",
        "SHOULD (a hardening): the DPoP extension's \"MUST provide DPoP proof replay protection\" (RS-36) \
         is met by the iat window (RS-DPOP-04); tracking jti is a MAY there and in RFC 9449 §11.1",
    ),
    (
        "RS-HANDLE-01",
        "SHOULD: 2026-07-28 security best practices §State Handle Hijacking, \"MCP servers SHOULD bind \
         handles server-side to the authenticated user\" (RS-22); the presenter is authenticated by its own \
         token, so RS-20's MUST NOT (a handle as authentication) is not what the case breaks",
    ),
    (
        "RS-HANDLE-02",
        "SHOULD: 2026-07-28 security best practices §State Handle Hijacking, \"MCP servers SHOULD use \
         secure, non-deterministic handles\"; RS-21's MUST is about 2025 session IDs",
    ),
    (
        "RS-STATE-01",
        "SHOULD: 2026-07-28 mrtr §Server Requirements, the integrity MUST holds only \"If requestState \
         influences authorization, resource access, or business logic\", unknown from outside; binding \
         the principal is a SHOULD",
    ),
    (
        "RS-VAL-09",
        "SHOULD (hardening): no sentence of MCP, OAuth 2.1 §5.2, RFC 9068 or RFC 7517 bounds JWKS \
         refetches; RS-07 is named for the validation it hardens",
    ),
];

/// A row's level in `revision`, from its Level cell: `[06-18: X]` gives 2025-06-18's;
/// the strongest keyword otherwise (`MUST (SHOULD CSPRNG)` is a MUST). MAY, OPTIONAL and
/// guidance set none.
fn row_level(cell: &str, revision: Revision) -> Option<Level> {
    let (base, in_06_18) = match cell.split_once("[06-18:") {
        Some((before, after)) => (before, after.split(']').next()),
        None => (cell, None),
    };
    let cell = match (revision, in_06_18) {
        (Revision::R2025_06_18, Some(level)) => level,
        _ => base,
    };
    if cell.contains("MUST") {
        Some(Level::Must)
    } else if cell.contains("SHOULD") {
        Some(Level::Should)
    } else {
        None
    }
}

/// Requirement ID → its Level cell.
fn level_cells() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in include_str!("../requirements.md").lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if let [id, _role, level, _text, ..] = cells.as_slice() {
            out.insert(id.to_string(), level.to_string());
        }
    }
    out
}

/// The scenarios whose level in some revision is not the strongest level of their rows
/// there: `ID revision: level, rows …`.
fn disagreements() -> Vec<(&'static str, String)> {
    let cells = level_cells();
    let mut out = Vec::new();
    for s in catalog() {
        for revision in Revision::ALL.into_iter().filter(|r| s.meta.applies_to(*r)) {
            let levels: Vec<(&str, Option<Level>)> = s
                .meta
                .requirements
                .iter()
                .map(|r| (*r, cells.get(*r).and_then(|c| row_level(c, revision))))
                .collect();
            let strongest = levels.iter().filter_map(|(_, l)| *l).max_by_key(|l| *l == Level::Must);
            let level = s.meta.level_in(revision);
            if strongest != Some(level) {
                out.push((s.meta.id, format!("{} {revision}: {level:?}, rows {levels:?}", s.meta.id)));
            }
        }
    }
    out
}

#[test]
fn each_level_is_the_level_of_the_rows_it_names() {
    let exempt: BTreeMap<&str, &str> = EXEMPT.iter().copied().collect();
    let found = disagreements();
    let unexplained: Vec<&String> =
        found.iter().filter(|(id, _)| !exempt.contains_key(id)).map(|(_, line)| line).collect();
    assert!(
        unexplained.is_empty(),
        "scenarios graded at another level than the rows they name (fix the level, or add the \
         source sentence to EXEMPT):\n{}",
        unexplained.iter().map(|l| l.as_str()).collect::<Vec<_>>().join("\n")
    );
    // An exemption whose scenario now agrees with its rows (or is gone) is stale.
    let stale: Vec<&str> = exempt.keys().copied().filter(|id| !found.iter().any(|(f, _)| f == id)).collect();
    assert!(stale.is_empty(), "exemptions of scenarios that agree with their rows: {stale:?}");
}

/// Requirement ID → its version cell (the last column): the revisions the row holds in.
fn version_cells() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in include_str!("../requirements.md").lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if let ([id, _role, _level, _text, ..], Some(version)) = (cells.as_slice(), cells.last()) {
            out.insert(id.to_string(), version.to_string());
        }
    }
    out
}

/// Whether a row whose version cell is `cell` holds in `revision`: `11-25` from
/// 2025-11-25, `26-07`/`2026`/`2026-07-28` from 2026-07-28, `06-18` in 2025-06-18 alone;
/// `both`, `guide` (the security guide, not versioned) and anything else in every one.
fn row_holds_in(cell: &str, revision: Revision) -> bool {
    match cell {
        "11-25" | "2025-11-25" => revision >= Revision::R2025_11_25,
        "26-07" | "2026" | "2026-07-28" => revision >= Revision::R2026_07_28,
        "06-18" => revision == Revision::R2025_06_18,
        _ => true,
    }
}

/// A case grades a revision only where some row it names holds: one whose rows all
/// begin with 2025-11-25 is not a requirement of 2025-06-18 (issue 16: a case's level is
/// its source sentence's, and a revision without the sentence has none).
#[test]
fn each_case_applies_where_a_row_it_names_holds() {
    let versions = version_cells();
    let mut out = Vec::new();
    for s in catalog() {
        for revision in Revision::ALL.into_iter().filter(|r| s.meta.applies_to(*r)) {
            let holds = s
                .meta
                .requirements
                .iter()
                .any(|r| versions.get(*r).is_none_or(|c| row_holds_in(c, revision)));
            if !holds {
                let cells: Vec<String> = s
                    .meta
                    .requirements
                    .iter()
                    .map(|r| format!("{r}: {}", versions.get(*r).map_or("?", String::as_str)))
                    .collect();
                out.push(format!("{} graded by {revision}, rows {cells:?}", s.meta.id));
            }
        }
    }
    assert!(out.is_empty(), "cases graded by a revision none of their rows holds in:\n{}", out.join("\n"));
}

#[test]
fn row_levels_read_the_level_cell() {
    use Level::*;
    use Revision::*;
    assert_eq!(row_level("MUST (SHOULD CSPRNG)", R2026_07_28), Some(Must));
    assert_eq!(row_level("SHOULD (MAY fall back)", R2025_11_25), Some(Should));
    assert_eq!(row_level("MAY / SHOULD", R2026_07_28), Some(Should));
    assert_eq!(row_level("MAY [06-18: SHOULD]", R2025_11_25), None);
    assert_eq!(row_level("MAY [06-18: SHOULD]", R2025_06_18), Some(Should));
    assert_eq!(row_level("guidance", R2025_11_25), None);
}
