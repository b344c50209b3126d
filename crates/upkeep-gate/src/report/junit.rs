//! `JUnit` XML, for CIs that show test results (GitLab, Jenkins, Azure DevOps): one test suite
//! `upkeep gate` with one test case per finding, so a CI lists each one with its file (the
//! `file` and `line` attributes, relative to the repository's root as the other CI formats
//! are), and one passing test case per rule that ran and found nothing. An error finding's test
//! case fails; a warning's passes, with the warning in its `<system-out>`, as the exit code
//! does. Notices about the run go to the suite's `<system-out>`.

use std::fmt::Write;

use super::{ci_path, rules_of, xml};
use crate::engine::GateReport;
use crate::finding::{Finding, Severity};

fn position(report: &GateReport, finding: &Finding) -> String {
    let location = &finding.location;
    format!(
        "{}:{}:{}",
        ci_path(report, &location.file),
        location.start.line,
        location.start.column
    )
}

pub fn render(report: &GateReport) -> String {
    let rules = rules_of(report);
    let clean_rules: Vec<_> = rules
        .iter()
        .filter(|rule| {
            !report
                .findings
                .iter()
                .any(|finding| finding.rule.name == rule.name)
        })
        .collect();
    let failing = report
        .findings
        .iter()
        .filter(|finding| finding.severity == Severity::Error)
        .count();
    let seconds = format!("{:.3}", report.duration.as_secs_f64());
    let counts = format!(
        "tests=\"{}\" failures=\"{failing}\" errors=\"0\" skipped=\"0\" time=\"{seconds}\"",
        report.findings.len() + clean_rules.len()
    );

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, "<testsuites name=\"upkeep\" {counts}>");
    let _ = writeln!(out, "  <testsuite name=\"upkeep gate\" {counts}>");
    for rule in &rules {
        let findings = report
            .findings
            .iter()
            .filter(|finding| finding.rule.name == rule.name);
        for finding in findings {
            let position = position(report, finding);
            let _ = writeln!(
                out,
                "    <testcase name=\"{}\" classname=\"upkeep.{}\" file=\"{}\" line=\"{}\">",
                xml::attribute(&format!("{} at {position}", rule.name)),
                xml::attribute(rule.name),
                xml::attribute(&ci_path(report, &finding.location.file)),
                finding.location.start.line,
            );
            let body = format!(
                "{position}: {}\nguideline: {}",
                finding.message, rule.guideline
            );
            match finding.severity {
                Severity::Error => {
                    let _ = writeln!(
                        out,
                        "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                        xml::attribute(rule.name),
                        xml::attribute(&finding.message),
                        xml::text(&body),
                    );
                }
                Severity::Warning => {
                    let _ = writeln!(
                        out,
                        "      <system-out>{}</system-out>",
                        xml::text(&format!("warning: {body}"))
                    );
                }
            }
            out.push_str("    </testcase>\n");
        }
    }
    for rule in clean_rules {
        let _ = writeln!(
            out,
            "    <testcase name=\"{}\" classname=\"upkeep.{}\"/>",
            xml::attribute(rule.name),
            xml::attribute(rule.name)
        );
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
