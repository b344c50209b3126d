//! Baselines: today's findings written down, so a gate on an existing shop fails only on what
//! is new.
//!
//! An entry is keyed by file, rule and message, without line numbers, with how many findings
//! share that key: code that moves (a method added above it) stays baselined. Applying a
//! baseline drops the first `count` findings of each key; the rest are new. Entries that no
//! longer occur are reported as fixed, which never fails the gate.
//!
//! The file is pretty JSON, sorted, so it diffs well in review:
//!
//! ```json
//! {
//!   "version": 1,
//!   "entries": [
//!     {
//!       "file": "src/Pyz/Zed/Product/ProductDependencyProvider.php",
//!       "rule": "container-set-returns-array",
//!       "message": "the closure passed to `$container->set()` returns an array literal",
//!       "count": 2
//!     }
//!   ]
//! }
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::engine::GateReport;
use crate::finding::Finding;
use crate::registry;
use crate::rule::{Notice, RuleMeta};

/// The format version this code writes and reads.
pub const BASELINE_VERSION: u32 = 1;

/// The key of a baseline entry: where, which rule, what it said.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    file: String,
    rule: String,
    message: String,
}

impl Key {
    fn of(finding: &Finding) -> Self {
        Self {
            file: finding.location.file.clone(),
            rule: finding.rule.name.to_string(),
            message: finding.message.clone(),
        }
    }
}

/// One line of a baseline: `count` findings of `rule` in `file` with this `message`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    /// Path relative to the project root, with `/` separators.
    pub file: String,
    /// Our rule name (a Spryker id is accepted when reading).
    pub rule: String,
    pub message: String,
    pub count: u32,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineDocument {
    version: u32,
    entries: Vec<BaselineEntry>,
}

/// A baseline file that cannot be used: it names the file and, for bad content, the position
/// and key path.
#[derive(Debug, thiserror::Error)]
#[error("{file}{position}: {message}", file = file.display(), position = position.map(|(line, column)| format!(":{line}:{column}")).unwrap_or_default())]
pub struct BaselineError {
    pub file: PathBuf,
    /// 1-based line and column of the problem in the file, when it is about the content.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

/// Today's findings, counted per key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Sorted by file, rule and message; one entry per key; counts are at least 1.
    entries: Vec<BaselineEntry>,
}

impl Baseline {
    /// The baseline of `findings` (every finding, warnings included).
    pub fn of_findings(findings: &[Finding]) -> Self {
        let mut counts: BTreeMap<Key, u32> = BTreeMap::new();
        for finding in findings {
            *counts.entry(Key::of(finding)).or_insert(0) += 1;
        }
        Self::from_counts(counts)
    }

    fn from_counts(counts: BTreeMap<Key, u32>) -> Self {
        let entries = counts
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(key, count)| BaselineEntry {
                file: key.file,
                rule: key.rule,
                message: key.message,
                count,
            })
            .collect();
        Self { entries }
    }

    pub fn entries(&self) -> &[BaselineEntry] {
        &self.entries
    }

    /// How many findings the baseline accepts in total.
    pub fn findings(&self) -> usize {
        self.entries.iter().map(|entry| entry.count as usize).sum()
    }

    /// The file's text: pretty JSON with a trailing newline; the same findings always give the
    /// same bytes.
    pub fn to_json(&self) -> String {
        let document = BaselineDocument {
            version: BASELINE_VERSION,
            entries: self.entries.clone(),
        };
        let mut text = serde_json::to_string_pretty(&document)
            .expect("a baseline is plain strings and numbers");
        text.push('\n');
        text
    }

    /// Reads a baseline written by [`Baseline::to_json`] (or by hand). Spryker ids in `rule`
    /// become our rule names; entries with the same key are added up.
    pub fn parse(text: &str, path: &Path) -> Result<Self, BaselineError> {
        let error = |position, message: String| BaselineError {
            file: path.to_path_buf(),
            position,
            message,
        };
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let document: BaselineDocument = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|problem| {
                let key_path = problem.path().to_string();
                let inner = problem.into_inner();
                let position = Some((inner.line(), inner.column()));
                let reason = without_position(&inner);
                let message = if key_path == "." || key_path.is_empty() {
                    format!("not a baseline: {reason}")
                } else {
                    format!("not a baseline: {reason} (at key `{key_path}`)")
                };
                error(position, message)
            })?;
        deserializer.end().map_err(|inner| {
            error(
                Some((inner.line(), inner.column())),
                format!("not a baseline: {}", without_position(&inner)),
            )
        })?;
        if document.version != BASELINE_VERSION {
            return Err(error(
                None,
                format!(
                    "baseline version {} is not supported (this upkeep reads version {BASELINE_VERSION})",
                    document.version
                ),
            ));
        }
        let mut counts: BTreeMap<Key, u32> = BTreeMap::new();
        for (index, entry) in document.entries.into_iter().enumerate() {
            if entry.count == 0 {
                return Err(error(
                    None,
                    format!("`entries[{index}].count` is 0; an entry counts at least one finding"),
                ));
            }
            let rule = registry::meta(&entry.rule).map_or(entry.rule, |meta| meta.name.to_string());
            let key = Key {
                file: entry.file,
                rule,
                message: entry.message,
            };
            let count = counts.entry(key).or_insert(0);
            *count = count.saturating_add(entry.count);
        }
        Ok(Self::from_counts(counts))
    }

    /// Reads the baseline file at `path`; a missing file is an error.
    pub fn read(path: &Path) -> Result<Self, BaselineError> {
        // `std::fs`, not `fs-err`: the error names the path itself, in the same form as the
        // content errors.
        let text = std::fs::read_to_string(path).map_err(|problem| BaselineError {
            file: path.to_path_buf(),
            position: None,
            message: format!("cannot read the baseline: {problem}"),
        })?;
        Self::parse(&text, path)
    }

    /// Splits `findings` (in report order) into what is new and what the baseline accepts.
    /// Entries of rules that did not run (`ran`) are left alone: they are neither matched nor
    /// reported as fixed.
    pub fn apply(&self, findings: Vec<Finding>, ran: &[&'static RuleMeta]) -> BaselineOutcome {
        let ran: HashSet<&str> = ran.iter().map(|meta| meta.name).collect();
        let mut remaining: HashMap<Key, u32> = self
            .entries
            .iter()
            .map(|entry| {
                let key = Key {
                    file: entry.file.clone(),
                    rule: entry.rule.clone(),
                    message: entry.message.clone(),
                };
                (key, entry.count)
            })
            .collect();
        let mut new = Vec::new();
        let mut baselined = 0;
        for finding in findings {
            match remaining.get_mut(&Key::of(&finding)) {
                Some(left) if *left > 0 => {
                    *left -= 1;
                    baselined += 1;
                }
                _ => new.push(finding),
            }
        }
        let mut fixed = Vec::new();
        let mut unknown_rules: BTreeMap<&str, u32> = BTreeMap::new();
        for entry in &self.entries {
            if registry::meta(&entry.rule).is_none() {
                *unknown_rules.entry(&entry.rule).or_insert(0) += 1;
                continue;
            }
            if !ran.contains(entry.rule.as_str()) {
                continue;
            }
            let key = Key {
                file: entry.file.clone(),
                rule: entry.rule.clone(),
                message: entry.message.clone(),
            };
            let gone = remaining.get(&key).copied().unwrap_or(0);
            if gone > 0 {
                fixed.push(FixedEntry {
                    file: entry.file.clone(),
                    rule: entry.rule.clone(),
                    message: entry.message.clone(),
                    fixed: gone,
                    baselined: entry.count,
                });
            }
        }
        let notices = unknown_rules
            .into_iter()
            .map(|(rule, entries)| Notice {
                rule: "baseline",
                message: format!(
                    "the baseline names rule `{rule}`, which upkeep does not have; its {entries} {} ignored",
                    if entries == 1 { "entry was" } else { "entries were" }
                ),
            })
            .collect();
        BaselineOutcome {
            new,
            summary: BaselineSummary { baselined, fixed },
            notices,
        }
    }
}

/// `serde_json`'s message without its trailing "at line L column C", which the error shows
/// as `file:line:column` already.
fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    message
        .strip_suffix(&suffix)
        .map_or_else(|| message.clone(), str::to_string)
}

impl Baseline {
    /// Keeps only the report's new findings, and records what the baseline accepted and what
    /// was fixed in `report.baseline`.
    pub fn apply_to_report(&self, report: &mut GateReport) {
        let findings = std::mem::take(&mut report.findings);
        let outcome = self.apply(findings, &report.rules);
        report.findings = outcome.new;
        report.notices.extend(outcome.notices);
        report.notices.sort();
        report.baseline = Some(outcome.summary);
    }
}

/// What applying a baseline gives.
#[derive(Debug)]
pub struct BaselineOutcome {
    /// The findings the baseline does not cover, in their original order.
    pub new: Vec<Finding>,
    pub summary: BaselineSummary,
    pub notices: Vec<Notice>,
}

/// How a run compares with its baseline, for reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BaselineSummary {
    /// Findings the baseline accepted (not reported).
    pub baselined: usize,
    /// Entries that occur fewer times than the baseline says, sorted by file, rule and message.
    pub fixed: Vec<FixedEntry>,
}

impl BaselineSummary {
    /// The lines every format shows: a headline, one line per fixed entry and, when something
    /// was fixed, how to drop it from the baseline.
    pub fn lines(&self) -> Vec<String> {
        let known = match self.baselined {
            1 => "1 known finding not shown".to_string(),
            count => format!("{count} known findings not shown"),
        };
        let fixed = match self.fixed.len() {
            0 => String::new(),
            1 => "; 1 entry no longer occurs (fixed)".to_string(),
            count => format!("; {count} entries no longer occur (fixed)"),
        };
        let mut lines = vec![format!("baseline: {known}{fixed}")];
        for entry in &self.fixed {
            let part = if entry.fixed < entry.baselined {
                format!(" ({} of {})", entry.fixed, entry.baselined)
            } else if entry.fixed > 1 {
                format!(" (all {})", entry.fixed)
            } else {
                String::new()
            };
            lines.push(format!(
                "fixed: {} [{}] {}{part}",
                entry.file, entry.rule, entry.message
            ));
        }
        if !self.fixed.is_empty() {
            lines.push(
                "hint: `upkeep gate --generate-baseline FILE` rewrites the baseline without them"
                    .to_string(),
            );
        }
        lines
    }
}

/// A baseline entry that no longer occurs, fully or partly.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FixedEntry {
    pub file: String,
    pub rule: String,
    pub message: String,
    /// How many of the baselined findings are gone.
    pub fixed: u32,
    /// How many the baseline counted.
    pub baselined: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;
    use crate::rules::syntax::parse_error;

    fn finding(file: &str, line: u32, message: &str) -> Finding {
        let mut location = Location::whole_file(file);
        location.start.line = line;
        location.end.line = line;
        Finding::new(&parse_error::META, location, message)
    }

    fn ran() -> Vec<&'static RuleMeta> {
        vec![&parse_error::META]
    }

    #[test]
    fn generated_baselines_are_sorted_counted_and_without_lines() {
        let findings = [
            finding("src/B.php", 9, "b"),
            finding("src/A.php", 3, "x"),
            finding("src/A.php", 40, "x"),
        ];
        let baseline = Baseline::of_findings(&findings);
        assert_eq!(
            baseline.to_json(),
            r#"{
  "version": 1,
  "entries": [
    {
      "file": "src/A.php",
      "rule": "parse-error",
      "message": "x",
      "count": 2
    },
    {
      "file": "src/B.php",
      "rule": "parse-error",
      "message": "b",
      "count": 1
    }
  ]
}
"#
        );
        let reversed: Vec<Finding> = findings.iter().rev().cloned().collect();
        assert_eq!(
            Baseline::of_findings(&reversed).to_json(),
            baseline.to_json()
        );
        let read = Baseline::parse(&baseline.to_json(), Path::new("baseline.json")).unwrap();
        assert_eq!(read, baseline);
        assert_eq!(read.findings(), 3);
    }

    #[test]
    fn applying_reports_only_what_is_beyond_the_counts_and_what_was_fixed() {
        let baseline = Baseline::of_findings(&[
            finding("src/A.php", 3, "x"),
            finding("src/A.php", 4, "x"),
            finding("src/B.php", 1, "gone"),
            finding("src/C.php", 1, "half"),
            finding("src/C.php", 2, "half"),
        ]);
        // The code moved (other lines), one more `x`, `gone` fixed, one `half` fixed.
        let today = vec![
            finding("src/A.php", 10, "x"),
            finding("src/A.php", 11, "x"),
            finding("src/A.php", 12, "x"),
            finding("src/C.php", 7, "half"),
            finding("src/D.php", 1, "new"),
        ];
        let outcome = baseline.apply(today, &ran());
        let new: Vec<(String, u32)> = outcome
            .new
            .iter()
            .map(|f| (f.location.file.clone(), f.location.start.line))
            .collect();
        assert_eq!(
            new,
            [("src/A.php".to_string(), 12), ("src/D.php".to_string(), 1)]
        );
        assert_eq!(outcome.summary.baselined, 3);
        assert_eq!(
            outcome.summary.fixed,
            [
                FixedEntry {
                    file: "src/B.php".into(),
                    rule: "parse-error".into(),
                    message: "gone".into(),
                    fixed: 1,
                    baselined: 1,
                },
                FixedEntry {
                    file: "src/C.php".into(),
                    rule: "parse-error".into(),
                    message: "half".into(),
                    fixed: 1,
                    baselined: 2,
                },
            ]
        );
        assert!(outcome.notices.is_empty());
    }

    #[test]
    fn entries_of_rules_that_did_not_run_are_not_fixed() {
        let baseline = Baseline::of_findings(&[finding("src/A.php", 3, "x")]);
        let outcome = baseline.apply(Vec::new(), &[]);
        assert!(outcome.summary.fixed.is_empty());
    }

    #[test]
    fn spryker_ids_are_read_as_rule_names_and_duplicates_add_up() {
        let text = r#"{"version": 1, "entries": [
            {"file": "a.php", "rule": "parse-error", "message": "m", "count": 1},
            {"file": "a.php", "rule": "PARSE-ERROR", "message": "m", "count": 2},
            {"file": "b.php", "rule": "no-such-rule", "message": "m", "count": 1}
        ]}"#;
        let baseline = Baseline::parse(text, Path::new("b.json")).unwrap();
        assert_eq!(baseline.entries()[0].rule, "parse-error");
        assert_eq!(baseline.entries()[0].count, 3);
        let outcome = baseline.apply(Vec::new(), &ran());
        assert_eq!(
            outcome.notices[0].message,
            "the baseline names rule `no-such-rule`, which upkeep does not have; its 1 entry was ignored"
        );
        assert_eq!(outcome.summary.fixed.len(), 1);
    }

    #[test]
    fn malformed_baselines_name_file_position_and_key() {
        let error = Baseline::parse(
            "{\"version\": 1,\n \"entries\": [{\"file\": \"a\", \"rule\": \"r\", \"message\": \"m\", \"count\": -1}]}",
            Path::new("base.json"),
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("base.json:2:"), "{text}");
        assert!(!text.contains(" at line "), "{text}");
        assert!(text.contains("entries[0].count"), "{text}");

        let error =
            Baseline::parse("{\"version\": 1, \"entries\": [}", Path::new("b.json")).unwrap_err();
        assert_eq!(error.position, Some((1, 28)), "{error}");

        let error =
            Baseline::parse("{\"version\": 2, \"entries\": []}", Path::new("b.json")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "b.json: baseline version 2 is not supported (this upkeep reads version 1)"
        );
        let error = Baseline::parse("{\"version\": 1, \"entries\": []} x", Path::new("b.json"))
            .unwrap_err();
        assert_eq!(error.position, Some((1, 31)), "{error}");

        let missing = Baseline::read(Path::new("/no/such/baseline.json")).unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("/no/such/baseline.json: cannot read the baseline: "),
            "{missing}"
        );
    }
}
