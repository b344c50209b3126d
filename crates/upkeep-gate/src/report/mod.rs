//! Report formats: what a gate run found, written for people (`text`) and for CIs (`json`,
//! `sarif`, `gitlab`, `junit`, `checkstyle`, `github`). Every renderer is a pure function of
//! the [`GateReport`]: the same report always renders to the same bytes.

mod checkstyle;
mod fingerprint;
mod github;
mod gitlab;
mod json;
mod junit;
mod sarif;
mod text;
mod xml;

use std::fmt;
use std::str::FromStr;

use crate::engine::GateReport;
use crate::finding::{Location, Severity};
use crate::rule::RuleMeta;

pub use fingerprint::fingerprints;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people: each finding with its source line, then a summary.
    Text,
    /// Our own JSON: `findings` and `summary`.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and SARIF viewers.
    Sarif,
    /// GitLab Code Quality JSON, for merge-request widgets.
    Gitlab,
    /// `JUnit` XML: one test case per finding, and one per rule that found nothing.
    Junit,
    /// Checkstyle XML, for tools that read `PHP_CodeSniffer`'s and `PHPStan`'s reports.
    Checkstyle,
    /// GitHub Actions workflow commands that annotate the changed lines.
    Github,
}

impl Format {
    pub const ALL: &'static [Format] = &[
        Self::Text,
        Self::Json,
        Self::Sarif,
        Self::Gitlab,
        Self::Junit,
        Self::Checkstyle,
        Self::Github,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
            Self::Sarif => "sarif",
            Self::Gitlab => "gitlab",
            Self::Junit => "junit",
            Self::Checkstyle => "checkstyle",
            Self::Github => "github",
        }
    }
}

impl Format {
    /// One line on who reads the format, for `--help`.
    pub fn description(self) -> &'static str {
        match self {
            Self::Text => "for people: findings grouped by rule, with their source lines",
            Self::Json => "upkeep's own JSON: findings, notices and a summary",
            Self::Sarif => "SARIF 2.1.0, for GitHub code scanning and SARIF viewers",
            Self::Gitlab => "GitLab Code Quality, for the merge-request widget",
            Self::Junit => "JUnit XML, one test case per finding, for CI test reports",
            Self::Checkstyle => "Checkstyle XML, as PHP_CodeSniffer and PHPStan write it",
            Self::Github => "GitHub Actions annotations on the changed lines",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|format| format.name().eq_ignore_ascii_case(value))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|format| format.name()).collect();
                format!(
                    "unknown format `{value}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Use ANSI colours (text format only).
    pub color: bool,
}

pub fn render(report: &GateReport, format: Format, options: &RenderOptions) -> String {
    match format {
        Format::Text => text::render(report, *options),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Gitlab => gitlab::render(report),
        Format::Junit => junit::render(report),
        Format::Checkstyle => checkstyle::render(report),
        Format::Github => github::render(report),
    }
}

/// The rules of a report: those that ran, then any rule that has a finding without being in
/// `report.rules` (a hand-built report), so every finding can point at its rule.
fn rules_of(report: &GateReport) -> Vec<&'static RuleMeta> {
    let mut rules: Vec<&'static RuleMeta> = Vec::with_capacity(report.rules.len());
    let all = report
        .rules
        .iter()
        .copied()
        .chain(report.findings.iter().map(|finding| finding.rule));
    for rule in all {
        if !rules.iter().any(|known| known.name == rule.name) {
            rules.push(rule);
        }
    }
    rules
}

/// The path CIs resolve against their checkout: `file` (relative to the project) prefixed
/// with the project's directory in its git repository (`shop/src/...`). The CI formats use
/// it; `text` and `json` stay relative to the project, as the gate's own messages are.
fn ci_path(report: &GateReport, file: &str) -> String {
    report
        .source_root
        .as_ref()
        .map_or_else(|| file.to_string(), |root| root.path_of(file))
}

/// True for a location that stands for a whole file (`Location::whole_file`: no source line,
/// an empty span at 1:1), which formats that can say so report without a position.
fn is_whole_file(location: &Location) -> bool {
    location.source_line.is_none() && location.start == location.end
}

/// How many findings fail the gate and how many only warn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SeverityCounts {
    errors: usize,
    warnings: usize,
}

impl SeverityCounts {
    fn of(report: &GateReport) -> Self {
        let errors = report
            .findings
            .iter()
            .filter(|finding| finding.severity == Severity::Error)
            .count();
        Self {
            errors,
            warnings: report.findings.len() - errors,
        }
    }
}

/// `1 finding`, `2 findings`.
fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// One line for CI summaries: `3 findings (2 errors, 1 warning) in 12 project files: a: 2, b: 1.`
fn summary_line(report: &GateReport) -> String {
    let files = plural(report.files.project(), "project file");
    if report.findings.is_empty() {
        return format!("no findings in {files}.");
    }
    let counts = SeverityCounts::of(report);
    let by_rule: Vec<String> = report
        .by_rule()
        .iter()
        .map(|(rule, count)| format!("{rule}: {count}"))
        .collect();
    format!(
        "{} ({}, {}) in {files}: {}.",
        plural(report.findings.len(), "finding"),
        plural(counts.errors, "error"),
        plural(counts.warnings, "warning"),
        by_rule.join(", ")
    )
}
