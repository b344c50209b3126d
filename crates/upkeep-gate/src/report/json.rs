//! Our JSON report: `{"findings": [...], "summary": {"files", "findings", "by_rule"}}`, with
//! `fixed` (baseline entries that no longer occur) and `summary.baselined` after `--baseline`.

use serde_json::{Value, json};

use crate::engine::GateReport;

pub fn render(report: &GateReport) -> String {
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|finding| {
            json!({
                "rule": finding.rule.name,
                "spryker_id": finding.rule.spryker_id(),
                "severity": finding.severity.as_str(),
                "message": finding.message,
                "file": finding.location.file,
                "line": finding.location.start.line,
                "column": finding.location.start.column,
                "end_line": finding.location.end.line,
                "end_column": finding.location.end.column,
                "guideline": finding.rule.guideline,
            })
        })
        .collect();
    let notices: Vec<Value> = report
        .notices
        .iter()
        .map(|notice| json!({"rule": notice.rule, "message": notice.message}))
        .collect();
    let mut document = json!({
        "findings": findings,
        "notices": notices,
        "summary": {
            "files": report.files.project(),
            "core_files": report.files.core_php + report.files.core_xml,
            "findings": report.findings.len(),
            "errors": report.findings.iter().filter(|finding| finding.severity == crate::finding::Severity::Error).count(),
            "by_rule": report.by_rule(),
        },
    });
    // Only with `--baseline`: what it accepted, and its entries that no longer occur.
    if let Some(baseline) = &report.baseline {
        document["summary"]["baselined"] = json!(baseline.baselined);
        document["fixed"] = baseline
            .fixed
            .iter()
            .map(|entry| {
                json!({
                    "file": entry.file,
                    "rule": entry.rule,
                    "message": entry.message,
                    "count": entry.fixed,
                    "baseline_count": entry.baselined,
                })
            })
            .collect();
    }
    // Only with `--compare-core`: what changed in the core classes the project builds on.
    if let Some(comparison) = &report.core_changes {
        document["core_changes"] = serde_json::to_value(&comparison.changes).unwrap_or_default();
    }
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}
