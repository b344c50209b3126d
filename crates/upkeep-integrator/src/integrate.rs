//! One integration of a project: which manifests its installed versions call for (from
//! `composer.lock`, `integrator.lock` and the versions integrated before), their changes in
//! memory, and the lock to write afterwards. The upgrade calls it after each Composer group;
//! `upkeep upgrade manifests` calls it on its own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use upkeep_composer::{ComposerLock, DocumentError};

use crate::apply::{ManifestReport, apply_manifests};
use crate::lock::{IntegratorLock, LockError, ModuleUpdate, select, updates_from_lock};
use crate::manifest::ManifestSet;
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

    /// True when some step could not be applied.
    pub fn has_failures(&self) -> bool {
        self.reports
            .iter()
            .flat_map(|report| &report.steps)
            .any(|step| step.status.is_failure())
    }
}
