//! Our JSON report: `{"findings": [...], "summary": {"files", "findings", "by_rule"}}`.

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
    let document = json!({
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
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}
