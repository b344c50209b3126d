//! What a rule reports: a finding with its rule, severity, message and exact location.

use std::fmt;

use upkeep_php::source::{LineColumn, LineIndex, TextSpan};

use crate::rule::RuleMeta;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Shown, but does not fail the gate (Spryker's "ignored rules" become warnings).
    Warning,
    /// Fails the gate.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a finding is: a file relative to the project root, with 1-based positions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Path relative to the project root, with `/` separators.
    pub file: String,
    pub start: LineColumn,
    pub end: LineColumn,
    /// Byte span in the file (for fixes and fingerprints).
    pub span: TextSpan,
    /// The text of the start line, to show under the message.
    pub source_line: Option<String>,
}

impl Location {
    /// A location for `span` of `text`.
    pub fn in_text(file: &str, text: &[u8], lines: &LineIndex, span: TextSpan) -> Self {
        let start = lines.line_column(text, span.start);
        let end = lines.line_column(text, span.end.max(span.start));
        let source_line = String::from_utf8_lossy(lines.line_text(text, start.line)).into_owned();
        Self {
            file: file.to_string(),
            start,
            end,
            span,
            source_line: Some(source_line),
        }
    }

    /// A location for `span` of `text`, computing the line index on the spot (for files that
    /// have only one or two findings, like `composer.json`).
    pub fn in_unindexed_text(file: &str, text: &[u8], span: TextSpan) -> Self {
        Self::in_text(file, text, &LineIndex::new(text), span)
    }

    /// A whole file, when there is no better place (line 1, column 1).
    pub fn whole_file(file: &str) -> Self {
        let first = LineColumn { line: 1, column: 1 };
        Self {
            file: file.to_string(),
            start: first,
            end: first,
            span: TextSpan::default(),
            source_line: None,
        }
    }
}

/// One replacement in a file: the bytes of `span` become `replacement`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Edit {
    /// Path relative to the project root, with `/` separators.
    pub file: String,
    pub span: TextSpan,
    pub replacement: String,
}

/// A safe, mechanical change that resolves a finding (applied by `--fix`, shown by `--diff`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// What the fix does, e.g. "rename `FOO` to `PYZ_FOO` and its 3 uses".
    pub description: String,
    /// Non-overlapping edits, possibly in several files.
    pub edits: Vec<Edit>,
}

/// One reported problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static RuleMeta,
    pub severity: Severity,
    pub message: String,
    pub location: Location,
    pub fix: Option<Fix>,
}

impl Finding {
    pub fn new(rule: &'static RuleMeta, location: Location, message: impl Into<String>) -> Self {
        Self {
            rule,
            severity: rule.category.default_severity(),
            message: message.into(),
            location,
            fix: None,
        }
    }

    #[must_use]
    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    /// The order of a report: by file, position, then rule.
    pub fn sort_key(&self) -> (&str, LineColumn, &str, &str) {
        (
            &self.location.file,
            self.location.start,
            self.rule.name,
            &self.message,
        )
    }
}
