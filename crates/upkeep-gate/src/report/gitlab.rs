//! GitLab Code Quality JSON (a subset of Code Climate's issue format), for the merge-request
//! widget: an array of
//!
//! ```json
//! {"description": "...", "check_name": "parse-error", "fingerprint": "...",
//!  "severity": "major", "location": {"path": "src/...", "lines": {"begin": 3, "end": 3}}}
//! ```
//!
//! GitLab compares fingerprints between the source and the target branch to tell new findings
//! from fixed ones, so they must not depend on line numbers (see [`super::fingerprints`]).

use serde_json::{Value, json};

use super::{ci_path, fingerprints};
use crate::engine::GateReport;
use crate::finding::Severity;

/// GitLab's scale is info, minor, major, critical, blocker. A gate error blocks the merge
/// request's pipeline but is not a security issue, so it maps to `major`, not `blocker`.
fn gitlab_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "major",
        Severity::Warning => "minor",
    }
}

pub fn render(report: &GateReport) -> String {
    let issues: Vec<Value> = report
        .findings
        .iter()
        .zip(fingerprints(report))
        .map(|(finding, fingerprint)| {
            let location = &finding.location;
            json!({
                "description": finding.message,
                "check_name": finding.rule.name,
                "fingerprint": fingerprint,
                "severity": gitlab_severity(finding.severity),
                "location": {
                    "path": ci_path(report, &location.file),
                    "lines": {
                        "begin": location.start.line,
                        "end": location.end.line.max(location.start.line),
                    },
                },
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&issues).unwrap_or_else(|_| "[]".to_string());
    text.push('\n');
    text
}
