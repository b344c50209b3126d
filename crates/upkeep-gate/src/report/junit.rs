//! `JUnit` XML, for CIs that show test results (GitLab, Jenkins, Azure DevOps): one test suite
//! `upkeep gate` with one test case per rule that ran. A rule's test case fails with one
//! `<failure>` per error finding; its warnings, which do not fail the gate, are listed in the
//! test case's `<system-out>` so the test stays green, as the exit code does. Notices about
//! the run go to the suite's `<system-out>`.

use std::fmt::Write;

use super::{rules_of, xml};
use crate::engine::GateReport;
use crate::finding::{Finding, Severity};

fn position(finding: &Finding) -> String {
    let location = &finding.location;
    format!(
        "{}:{}:{}",
        location.file, location.start.line, location.start.column
    )
}

pub fn render(report: &GateReport) -> String {
    let rules = rules_of(report);
    let failing = rules
        .iter()
        .filter(|rule| {
            report.findings.iter().any(|finding| {
                finding.rule.name == rule.name && finding.severity == Severity::Error
            })
        })
        .count();
    let seconds = format!("{:.3}", report.duration.as_secs_f64());
    let counts = format!(
        "tests=\"{}\" failures=\"{failing}\" errors=\"0\" skipped=\"0\" time=\"{seconds}\"",
        rules.len()
    );

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, "<testsuites name=\"upkeep\" {counts}>");
    let _ = writeln!(out, "  <testsuite name=\"upkeep gate\" {counts}>");
    for rule in rules {
        let findings: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|finding| finding.rule.name == rule.name)
            .collect();
        let head = format!(
            "    <testcase name=\"{}\" classname=\"upkeep.{}\"",
            xml::attribute(rule.name),
            xml::attribute(rule.category.name())
        );
        if findings.is_empty() {
            let _ = writeln!(out, "{head}/>");
            continue;
        }
        let _ = writeln!(out, "{head}>");
        for finding in findings
            .iter()
            .filter(|finding| finding.severity == Severity::Error)
        {
            let _ = writeln!(
                out,
                "      <failure type=\"{}\" message=\"{}\">{}: {}\nguideline: {}</failure>",
                xml::attribute(rule.name),
                xml::attribute(&finding.message),
                xml::text(&position(finding)),
                xml::text(&finding.message),
                xml::text(rule.guideline),
            );
        }
        let warnings: Vec<String> = findings
            .iter()
            .filter(|finding| finding.severity == Severity::Warning)
            .map(|finding| format!("warning: {}: {}", position(finding), finding.message))
            .collect();
        if !warnings.is_empty() {
            let _ = writeln!(
                out,
                "      <system-out>{}</system-out>",
                xml::text(&warnings.join("\n"))
            );
        }
        out.push_str("    </testcase>\n");
    }
    if !report.notices.is_empty() {
        let notes: Vec<String> = report
            .notices
            .iter()
            .map(|notice| format!("note: {}", notice.message))
            .collect();
        let _ = writeln!(
            out,
            "    <system-out>{}</system-out>",
            xml::text(&notes.join("\n"))
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
