//! Package, platform and advisory rules (section B of the spec).
//!
//! These rules read the project's manifests (`composer.json`, `composer.lock`, deploy files,
//! `package-lock.json`) rather than PHP code. Each manifest is parsed once per run by
//! [`crate::manifests::ProjectManifests`]; the helpers here turn a missing or unreadable
//! manifest into the notice (and `parse-error` finding) the user needs, and find where a
//! package is written so that findings point at its line.

pub mod discouraged_package;
pub mod minimum_shop_version;
pub mod npm_advisory;
pub mod php_version;
pub mod security_advisory;
pub mod spryker_dev_package;

pub(crate) mod json_position;

use std::cell::OnceCell;
use std::collections::HashMap;

use upkeep_composer::{ComposerJson, ComposerLock};

use crate::finding::{Finding, Location};
use crate::manifests::ManifestFile;
use crate::rule::{ProjectScope, RuleMeta, Sink};
use json_position::Member;

/// The parsed `composer.json`, or `None` after telling the user why the rule skipped it.
pub(crate) fn composer_json<'a>(
    project: &ProjectScope<'a>,
    rule: &'static RuleMeta,
    sink: &mut Sink,
) -> Option<&'a ComposerJson> {
    match project.manifests.composer_json() {
        None => {
            sink.notice(
                rule,
                "no composer.json at the project root: nothing to check",
            );
            None
        }
        Some(Err(error)) => {
            project.manifests.report_unreadable(rule, error, sink);
            None
        }
        Some(Ok(manifest)) => Some(manifest),
    }
}

/// The parsed `composer.lock`, or `None` after telling the user why the rule skipped it.
pub(crate) fn composer_lock<'a>(
    project: &ProjectScope<'a>,
    rule: &'static RuleMeta,
    sink: &mut Sink,
) -> Option<&'a ComposerLock> {
    match project.manifests.composer_lock() {
        None => {
            sink.notice(
                rule,
                "no composer.lock at the project root: installed versions are unknown (run `composer update` and commit the lock file)",
            );
            None
        }
        Some(Err(error)) => {
            project.manifests.report_unreadable(rule, error, sink);
            None
        }
        Some(Ok(lock)) => Some(lock),
    }
}

/// The parsed `composer.lock` with the positions of its package entries, for rules that
/// report on locked packages; `None` (after a notice) when there is no usable lock file.
pub(crate) fn locked_packages<'a>(
    project: &ProjectScope<'a>,
    rule: &'static RuleMeta,
    sink: &mut Sink,
) -> Option<(&'a ComposerLock, LockedPackageLocations<'a>)> {
    let lock = composer_lock(project, rule, sink)?;
    let file = project.manifests.composer_lock.as_ref()?;
    Some((lock, LockedPackageLocations::new(file)))
}

/// True for the vendors Spryker publishes under: `spryker`, `spryker-shop`, `spryker-eco`,
/// `spryker-feature`, `spryker-sdk`, … (Spryker's own checkers match the `spryker` prefix).
/// A data table of a rule: the one shipped with the tool, or the project's replacement.
pub(crate) enum DataTable<'a, T> {
    BuiltIn(&'a T),
    Custom(T),
}

impl<T> std::ops::Deref for DataTable<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self {
            Self::BuiltIn(table) => table,
            Self::Custom(table) => table,
        }
    }
}

/// The table at `custom` when the project names one, else the built-in table. A table that
/// cannot be read skips the rule with a notice naming the problem (`what` names the table).
pub(crate) fn data_table<'a, T>(
    custom: Option<&std::path::Path>,
    built_in: impl FnOnce() -> &'a T,
    read: impl FnOnce(&std::path::Path) -> Result<T, String>,
    rule: &'static RuleMeta,
    what: &str,
    sink: &mut Sink,
) -> Option<DataTable<'a, T>> {
    let Some(path) = custom else {
        return Some(DataTable::BuiltIn(built_in()));
    };
    match read(path) {
        Ok(table) => Some(DataTable::Custom(table)),
        Err(error) => {
            sink.notice(
                rule,
                format!("cannot use the {what}: {error}; the rule was skipped"),
            );
            None
        }
    }
}

pub(crate) fn is_spryker_package(name: &str) -> bool {
    name.split_once('/')
        .is_some_and(|(vendor, _)| vendor.to_ascii_lowercase().starts_with("spryker"))
}

/// Where packages are written in `composer.lock`: the `"name": "<package>"` line of each
/// entry, found on first use (only rules with findings pay for the scan).
pub(crate) struct LockedPackageLocations<'a> {
    file: &'a ManifestFile,
    names: OnceCell<HashMap<String, Member>>,
}

impl<'a> LockedPackageLocations<'a> {
    pub fn new(file: &'a ManifestFile) -> Self {
        Self {
            file,
            names: OnceCell::new(),
        }
    }

    /// The `"name": "<package>"` member of the package's lock entry, or the whole file when
    /// the entry cannot be found (the lock parsed, so this does not happen in practice).
    pub fn location(&self, package: &str) -> Location {
        let names = self.names.get_or_init(|| {
            json_position::JsonPositions::of(&self.file.text).locked_package_names()
        });
        names.get(package).map_or_else(
            || Location::whole_file(&self.file.path),
            |member| self.file.location(member.whole()),
        )
    }

    pub fn finding(
        &self,
        rule: &'static RuleMeta,
        package: &str,
        message: impl Into<String>,
    ) -> Finding {
        Finding::new(rule, self.location(package), message)
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Runs rules on a small project written to a temporary directory, and applies fixes to it.

    use std::collections::BTreeMap;

    use crate::finding::{Edit, Fix};

    use crate::engine::{GateOptions, GateReport, run};
    use crate::inputs::GateInputs;

    pub fn run_rules(rules: &[&str], files: &[(&str, &str)]) -> GateReport {
        run_rules_with(rules, files, GateInputs::default())
    }

    /// Like [`run_rules`], with the inputs a caller gathered.
    pub fn run_rules_with(
        rules: &[&str],
        files: &[(&str, &str)],
        inputs: GateInputs,
    ) -> GateReport {
        let project = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let full = project.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
        let options = GateOptions {
            root: project.path().to_path_buf(),
            rules: rules.iter().map(ToString::to_string).collect(),
            jobs: 1,
            inputs,
            ..GateOptions::default()
        };
        run(&options).unwrap_or_else(|error| panic!("{error}"))
    }

    /// `rule file:line: message` of every finding.
    pub fn findings(report: &GateReport) -> Vec<String> {
        report
            .findings
            .iter()
            .map(|finding| {
                format!(
                    "{} {}:{}: {}",
                    finding.rule.name,
                    finding.location.file,
                    finding.location.start.line,
                    finding.message
                )
            })
            .collect()
    }

    /// The notices of one rule.
    pub fn notices(report: &GateReport, rule: &str) -> Vec<String> {
        report
            .notices
            .iter()
            .filter(|notice| notice.rule == rule)
            .map(|notice| notice.message.clone())
            .collect()
    }

    /// The files after applying `fix`, for the files it touches.
    pub fn apply_fix(files: &[(String, String)], fix: &Fix) -> BTreeMap<String, String> {
        let mut by_file: BTreeMap<&str, Vec<&Edit>> = BTreeMap::new();
        for edit in &fix.edits {
            by_file.entry(edit.file.as_str()).or_default().push(edit);
        }
        by_file
            .into_iter()
            .map(|(file, mut edits)| {
                let mut text = files
                    .iter()
                    .find(|(path, _)| path == file)
                    .unwrap_or_else(|| panic!("edit in unknown file {file}"))
                    .1
                    .clone();
                edits.sort_by_key(|edit| std::cmp::Reverse(edit.span.start));
                let mut previous_start = u32::MAX;
                for edit in edits {
                    assert!(
                        edit.span.end <= previous_start,
                        "overlapping edits in {file}"
                    );
                    previous_start = edit.span.start;
                    text.replace_range(
                        edit.span.start as usize..edit.span.end as usize,
                        &edit.replacement,
                    );
                }
                (file.to_string(), text)
            })
            .collect()
    }
}
