//! One integration of a project: which manifests its installed versions call for (from
//! `composer.lock`, `integrator.lock` and the versions integrated before), their changes in
//! memory, and the lock to write afterwards. The upgrade calls it after each Composer group;
//! `upkeep upgrade manifests` calls it on its own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use upkeep_composer::{ComposerLock, DocumentError};

use std::fmt::Write as _;

use crate::apply::{ManifestReport, StepStatus, apply_manifests};
use crate::lock::{IntegratorLock, LockError, ModuleUpdate, select, updates_from_lock};
use crate::manifest::{ManifestSet, ModuleId};
use crate::project::{FileChange, Workspace};

/// What an integration would change, and the lock after it.
#[derive(Debug, Clone)]
pub struct Integration {
    pub updates: Vec<ModuleUpdate>,
    pub reports: Vec<ManifestReport>,
    pub changes: Vec<FileChange>,
    pub lock: IntegratorLock,
}

#[derive(Debug, thiserror::Error)]
pub enum IntegrateError {
    #[error(transparent)]
    ComposerLock(#[from] DocumentError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl upkeep_hint::Hint for IntegrateError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::ComposerLock(_) => Some(
                "run `composer install` so that composer.lock names the installed versions"
                    .to_string(),
            ),
            Self::Lock(error) => error.hint(),
            Self::Write { .. } => None,
        }
    }
}

/// The installed packages and versions of `composer.lock` (`packages` and `packages-dev`).
pub fn installed_versions(root: &Path) -> Result<BTreeMap<String, String>, IntegrateError> {
    let lock = ComposerLock::from_path(&root.join("composer.lock"))?;
    Ok(lock
        .packages
        .iter()
        .chain(&lock.packages_dev)
        .map(|package| (package.name.clone(), package.version.clone()))
        .collect())
}

/// Plans the integration of the project at `root`: every manifest of `set` whose version lies
/// above the integrated one (from `integrator.lock`, else `previous[package]`, else the
/// installed one: nothing) and at most the installed one, applied in memory.
pub fn integrate(
    root: &Path,
    set: &ManifestSet,
    previous: &BTreeMap<String, String>,
) -> Result<Integration, IntegrateError> {
    let installed = installed_versions(root)?;
    let lock = IntegratorLock::read(root)?;
    // A package with no earlier version known counts as integrated at its installed version.
    let mut previous_or_installed = installed.clone();
    previous_or_installed.extend(
        previous
            .iter()
            .map(|(package, version)| (package.clone(), version.clone())),
    );
    let updates = updates_from_lock(&lock, &installed, &previous_or_installed, set);
    let manifests = select(set, &updates);
    let mut workspace = Workspace::new(root);
    let reports = apply_manifests(&mut workspace, &manifests);
    let mut lock = lock;
    for update in &updates {
        lock.modules
            .insert(update.module.clone(), update.installed.pretty().to_string());
    }
    Ok(Integration {
        updates,
        reports,
        changes: workspace.changes(),
        lock,
    })
}

impl Integration {
    /// Writes the changed files and `integrator.lock`.
    pub fn write(&self, root: &Path) -> Result<(), IntegrateError> {
        crate::write(root, &self.changes).map_err(|source| IntegrateError::Write {
            path: root.to_path_buf(),
            source,
        })?;
        self.lock.write(root)?;
        Ok(())
    }

    /// The pull request's part: per module the manifest versions and what they changed, then
    /// every step that could not be applied with its reason (Markdown).
    pub fn pull_request_section(&self) -> String {
        let mut text = String::new();
        if self.reports.is_empty() {
            return text;
        }
        text.push_str("### Code changes\n\n| Module | Versions | Changes |\n|---|---|---|\n");
        let mut modules: BTreeMap<&ModuleId, (Vec<&str>, usize, usize)> = BTreeMap::new();
        for report in &self.reports {
            let entry = modules.entry(&report.module).or_default();
            entry.0.push(&report.version);
            for step in &report.steps {
                match step.status {
                    StepStatus::Applied => entry.1 += 1,
                    StepStatus::Failed(_) => entry.2 += 1,
                    _ => {}
                }
            }
        }
        for (module, (versions, applied, failed)) in &modules {
            let failed = if *failed > 0 {
                format!(", {failed} not applied")
            } else {
                String::new()
            };
            let _ = writeln!(
                text,
                "| {module} | {} | {applied} applied{failed} |",
                versions.join(", ")
            );
        }
        let problems: Vec<String> = self
            .reports
            .iter()
            .flat_map(|report| {
                report
                    .steps
                    .iter()
                    .filter_map(move |step| match &step.status {
                        StepStatus::Failed(why) => Some(format!(
                            "- {} {}: `{}`: {}",
                            report.module,
                            report.version,
                            step.description,
                            why.replace('|', "\\|")
                        )),
                        StepStatus::ToRun(command) => Some(format!(
                            "- {} {}: run `{command}`",
                            report.module, report.version
                        )),
                        _ => None,
                    })
            })
            .collect();
        if !problems.is_empty() {
            text.push_str("\n**To do by hand**\n\n");
            text.push_str(&problems.join("\n"));
            text.push('\n');
        }
        text
    }

    /// True when some step could not be applied.
    pub fn has_failures(&self) -> bool {
        self.reports
            .iter()
            .flat_map(|report| &report.steps)
            .any(|step| step.status.is_failure())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::StepReport;

    #[test]
    fn the_pull_request_lists_changes_per_module_and_what_is_left_to_do() {
        let step = |status| StepReport {
            kind: "wire-plugin",
            description: "wire-plugin P in C::m".to_string(),
            status,
        };
        let report = |version: &str, steps| ManifestReport {
            module: ModuleId::new("Spryker", "Acl"),
            version: version.to_string(),
            steps,
            rolled_back: None,
        };
        let integration = Integration {
            updates: Vec::new(),
            reports: vec![
                report(
                    "3.9.1",
                    vec![step(StepStatus::Applied), step(StepStatus::AlreadyApplied)],
                ),
                report(
                    "3.10.0",
                    vec![
                        step(StepStatus::Failed("C::m builds its stack | oddly".into())),
                        step(StepStatus::ToRun(
                            "vendor/bin/console transfer:generate".into(),
                        )),
                    ],
                ),
            ],
            changes: Vec::new(),
            lock: IntegratorLock::default(),
        };
        assert_eq!(
            integration.pull_request_section(),
            "### Code changes\n\n| Module | Versions | Changes |\n|---|---|---|\n| Spryker.Acl | 3.9.1, 3.10.0 | 1 applied, 1 not applied |\n\n**To do by hand**\n\n- Spryker.Acl 3.10.0: `wire-plugin P in C::m`: C::m builds its stack \\| oddly\n- Spryker.Acl 3.10.0: run `vendor/bin/console transfer:generate`\n"
        );
        assert!(integration.has_failures());
    }
}
