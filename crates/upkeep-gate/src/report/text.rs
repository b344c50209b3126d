//! The text report, for people. A real shop has hundreds of findings of a few rules, so the
//! report starts with the count per rule (most first), then shows the findings grouped by rule
//! in that order, the rule's guideline once above its group:
//!
//! ```text
//! container-set-returns-array: 1 error
//!   = guideline: https://docs.spryker.com/...
//!
//! error[container-set-returns-array]: the closure passed to `$container->set()` returns an array literal
//!   --> src/Pyz/Zed/Product/ProductDependencyProvider.php:31:20
//!    |
//! 31 |             return [new FooPlugin()];
//!    |                    ^^^^^^^^^^^^^^^^^
//! ```
//!
//! then notices and a summary line with the counts per rule and the files read.

use std::fmt::Write;

use crate::engine::GateReport;
use crate::finding::{Finding, Severity};
use crate::report::{RenderOptions, plural};
use crate::rule::RuleMeta;

/// Tabs are shown as four spaces, so the marker lines up whatever the terminal's tab stops.
const TAB: &str = "    ";

/// The width of the text before the 1-based character `column` of `source`, with tabs
/// expanded to [`TAB`].
fn display_width(source: &str, column: u32) -> usize {
    source
        .chars()
        .take(column.saturating_sub(1) as usize)
        .map(|c| if c == '\t' { TAB.len() } else { 1 })
        .sum::<usize>()
        // A column past the end of the line (a span ending at the line break) still counts.
        + (column.saturating_sub(1) as usize).saturating_sub(source.chars().count())
}

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

pub fn render(report: &GateReport, options: RenderOptions) -> String {
    let style = Style {
        color: options.color,
    };
    let mut out = String::new();
    let groups = groups(report);
    if groups.len() > 1 {
        render_counts(&mut out, &groups, &style);
    }
    for group in &groups {
        let _ = writeln!(
            out,
            "{}: {}",
            style.paint("1", group.rule.name),
            group.counts()
        );
        let _ = writeln!(out, "  = guideline: {}\n", group.rule.guideline);
        for finding in &group.findings {
            render_finding(&mut out, finding, &style);
        }
    }
    if let Some(comparison) = &report.core_changes {
        comparison.render_text(&mut out);
    }
    for notice in &report.notices {
        let _ = writeln!(out, "{}: {}", style.paint("36", "note"), notice.message);
    }
    if !report.notices.is_empty() {
        out.push('\n');
    }
    if let Some(baseline) = &report.baseline {
        for line in baseline.lines() {
            match line.split_once(": ") {
                Some((label, rest)) => {
                    let _ = writeln!(out, "{}: {rest}", style.paint("36", label));
                }
                None => {
                    let _ = writeln!(out, "{line}");
                }
            }
        }
        out.push('\n');
    }
    render_summary(&mut out, report, &style);
    out
}

fn render_finding(out: &mut String, finding: &Finding, style: &Style) {
    let (label, code) = match finding.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
    };
    let location = &finding.location;
    let _ = writeln!(
        out,
        "{}: {}",
        style.paint(code, &format!("{label}[{}]", finding.rule.name)),
        finding.message
    );
    let _ = writeln!(
        out,
        "  --> {}:{}:{}",
        location.file, location.start.line, location.start.column
    );
    if let Some(source) = &location.source_line {
        let number = location.start.line.to_string();
        let gutter = " ".repeat(number.len());
        let line = source.replace('\t', TAB);
        let start = display_width(source, location.start.column);
        let end = if location.end.line == location.start.line {
            display_width(source, location.end.column)
        } else {
            // A span over several lines is marked to the end of its first line.
            line.chars().count()
        };
        let width = end.saturating_sub(start).max(1);
        let _ = writeln!(out, "{gutter} |");
        let _ = writeln!(out, "{number} | {line}");
        let _ = writeln!(
            out,
            "{gutter} | {}{}",
            " ".repeat(start),
            style.paint(code, &"^".repeat(width))
        );
    }
    out.push('\n');
}

/// The findings of one rule, in report order.
struct RuleGroup<'r> {
    rule: &'static RuleMeta,
    findings: Vec<&'r Finding>,
}

impl RuleGroup<'_> {
    fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|finding| finding.severity == Severity::Error)
            .count()
    }

    /// `2 errors`, `1 warning`, `1 error, 3 warnings`.
    fn counts(&self) -> String {
        let errors = self.errors();
        let warnings = self.findings.len() - errors;
        let mut parts = Vec::new();
        if errors > 0 {
            parts.push(plural(errors, "error"));
        }
        if warnings > 0 {
            parts.push(plural(warnings, "warning"));
        }
        parts.join(", ")
    }
}

/// The findings by rule: the rule with the most findings first, then by name.
fn groups(report: &GateReport) -> Vec<RuleGroup<'_>> {
    let mut groups: Vec<RuleGroup<'_>> = Vec::new();
    for finding in &report.findings {
        match groups
            .iter_mut()
            .find(|group| group.rule.name == finding.rule.name)
        {
            Some(group) => group.findings.push(finding),
            None => groups.push(RuleGroup {
                rule: finding.rule,
                findings: vec![finding],
            }),
        }
    }
    groups.sort_by(|a, b| {
        b.findings
            .len()
            .cmp(&a.findings.len())
            .then_with(|| a.rule.name.cmp(b.rule.name))
    });
    groups
}

/// The count per rule before the findings, so a long report says first where its bulk is.
fn render_counts(out: &mut String, groups: &[RuleGroup<'_>], style: &Style) {
    let total: usize = groups.iter().map(|group| group.findings.len()).sum();
    let width = groups
        .iter()
        .map(|group| group.findings.len().to_string().len())
        .max()
        .unwrap_or(1);
    let name_width = groups
        .iter()
        .map(|group| group.rule.name.len())
        .max()
        .unwrap_or(0);
    let _ = writeln!(out, "{} by rule:", plural(total, "finding"));
    for group in groups {
        let (label, code) = if group.errors() > 0 {
            ("error", "1;31")
        } else {
            ("warning", "1;33")
        };
        let _ = writeln!(
            out,
            "  {:>width$}  {}  {:<name_width$}  {}",
            group.findings.len(),
            style.paint(code, &format!("{label:<7}")),
            group.rule.name,
            group.counts()
        );
    }
    out.push('\n');
}

fn render_summary(out: &mut String, report: &GateReport, style: &Style) {
    let files = &report.files;
    let read = format!(
        "{} project files ({} PHP, {} XML) and {} core files",
        files.project(),
        files.project_php,
        files.project_xml,
        files.core_php + files.core_xml
    );
    if report.findings.is_empty() {
        let _ = writeln!(out, "{} no findings in {read}.", style.paint("1;32", "✓"));
        return;
    }
    let by_rule: Vec<String> = report
        .by_rule()
        .iter()
        .map(|(rule, count)| format!("{rule}: {count}"))
        .collect();
    let errors = report
        .findings
        .iter()
        .filter(|finding| finding.severity == Severity::Error)
        .count();
    let warnings = report.findings.len() - errors;
    let _ = writeln!(
        out,
        "{} {} finding{} ({errors} error{}, {warnings} warning{}) in {read}: {}.",
        style.paint("1;31", "✗"),
        report.findings.len(),
        if report.findings.len() == 1 { "" } else { "s" },
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
        by_rule.join(", ")
    );
}
