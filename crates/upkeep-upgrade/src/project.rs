//! Plans a project on disk: reads `composer.json` and `composer.lock`, fetches the locked
//! packages' metadata from the project's repositories (concurrently, through the disk cache),
//! reads the advisory database, and runs the planner. The command line and the scheduled
//! server job both start here.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use upkeep_composer::repository::{
    FetchReport, FetchStats, RepositoryError, RepositoryOptions, RepositorySet,
};
use upkeep_composer::{ComposerJson, ComposerLock};
use upkeep_gate::advisories::AdvisoryDatabase;
use upkeep_hint::Hint;

use crate::plan::{PlanInput, UpgradePlan, plan};
use crate::settings::UpgradeSettings;

/// A plan and what the planner wants the reader to know.
#[derive(Debug)]
pub struct ProjectPlan {
    pub plan: UpgradePlan,
    /// Packages whose metadata could not be had (with what to do about it), skipped
    /// repositories, unreadable advisories.
    pub warnings: Vec<Warning>,
    pub stats: FetchStats,
    /// The metadata the plan was made from: every known version of every locked package, tens
    /// of thousands in a shop. A command that ends right after planning can leave it to the
    /// operating system instead of freeing it piece by piece.
    pub metadata: FetchReport,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("no {file} in {}", project.display())]
    Missing {
        project: PathBuf,
        file: &'static str,
    },
    #[error("{0}")]
    Document(String),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    #[error("cannot read the advisory database {}: {message}", path.display())]
    Advisories { path: PathBuf, message: String },
}

impl Hint for ProjectError {
    fn hint(&self) -> Option<String> {
        let hint = match self {
            Self::Missing {
                file: "composer.lock",
                ..
            } => {
                "the upgrader updates locked versions: run `composer update` once and commit composer.lock"
            }
            Self::Missing { .. } => "run the command in the project root, or pass its path",
            Self::Repository(error) => return error.hint(),
            Self::Document(_) | Self::Advisories { .. } => return None,
        };
        Some(hint.to_string())
    }
}

/// Something the planner wants the reader to know, said apart from what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub message: String,
    pub hint: Option<String>,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Hint for Warning {
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

impl From<String> for Warning {
    fn from(message: String) -> Self {
        Warning {
            message,
            hint: None,
        }
    }
}

/// Plans the project in `project`.
pub fn plan_project(
    project: &Path,
    settings: &UpgradeSettings,
    repositories: &RepositoryOptions,
) -> Result<ProjectPlan, ProjectError> {
    let manifest_path = project.join("composer.json");
    let lock_path = project.join("composer.lock");
    for (path, file) in [
        (&manifest_path, "composer.json"),
        (&lock_path, "composer.lock"),
    ] {
        if !path.is_file() {
            return Err(ProjectError::Missing {
                project: project.to_path_buf(),
                file,
            });
        }
    }
    let manifest = ComposerJson::from_path(&manifest_path)
        .map_err(|error| ProjectError::Document(error.to_string()))?;
    let lock = ComposerLock::from_path(&lock_path)
        .map_err(|error| ProjectError::Document(error.to_string()))?;
    let names: Vec<String> = lock
        .packages
        .iter()
        .chain(&lock.packages_dev)
        .map(|package| package.name.to_ascii_lowercase())
        .collect();

    let set = RepositorySet::from_project(project, &manifest, repositories)?;
    let mut metadata = set.fetch(&names)?;
    // The planner checks an update's requirements as Composer's solver would: packages that
    // are not locked (new dependencies of newer releases, and theirs) are asked for too.
    for _ in 0..crate::plan::FETCH_ROUNDS {
        let wanted = crate::plan::unknown_requirements(&lock, &metadata.versions);
        if wanted.is_empty() {
            break;
        }
        let mut more = set.fetch(&wanted)?;
        // A package whose metadata could not be had (offline and not cached, say) is left
        // out: unknown to the planner, Composer decides about it; empty, it would read as a
        // package no repository has.
        for problem in &more.problems {
            more.versions.shift_remove(&problem.package);
        }
        metadata.versions.extend(more.versions);
        metadata
            .warnings
            .extend(more.warnings.into_iter().filter(|warning| {
                // The set's own warnings (skipped repositories) come with every fetch.
                !set.warnings().contains(warning)
            }));
    }
    let mut warnings: Vec<Warning> = set.warnings().iter().cloned().map(Warning::from).collect();
    warnings.extend(
        std::mem::take(&mut metadata.warnings)
            .into_iter()
            .map(Warning::from),
    );
    warnings.extend(metadata.problems.iter().map(|problem| Warning {
        message: problem.to_string(),
        hint: problem.hint(),
    }));

    // The planner leaves such a package alone; say so rather than drop it silently.
    warnings.extend(
        lock.packages
            .iter()
            .chain(&lock.packages_dev)
            .filter_map(|package| {
                let error = package.parse_version().err()?;
                Some(Warning::from(format!(
                    "{}: `{}` is left alone: {error}",
                    lock_path.display(),
                    package.name
                )))
            }),
    );

    let advisories = match &settings.advisories {
        Some(path) => {
            let wanted: HashSet<String> = names.iter().cloned().collect();
            let database = AdvisoryDatabase::load(path, &wanted).map_err(|message| {
                ProjectError::Advisories {
                    path: path.clone(),
                    message,
                }
            })?;
            warnings.extend(
                database
                    .problems
                    .iter()
                    .map(|problem| Warning::from(format!("advisory skipped: {problem}"))),
            );
            Some(database)
        }
        None => None,
    };
    let plan = plan(&PlanInput {
        manifest: &manifest,
        lock: &lock,
        available: &metadata.versions,
        advisories: advisories.as_ref(),
        settings,
    });
    Ok(ProjectPlan {
        plan,
        warnings,
        stats: set.stats(),
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_lock_file_says_what_to_do_in_the_hint() {
        let project = tempfile::tempdir().unwrap();
        let settings = UpgradeSettings::default();
        let options = RepositoryOptions::default();
        let error = plan_project(project.path(), &settings, &options).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("no composer.json in {}", project.path().display())
        );
        assert_eq!(
            error.hint().as_deref(),
            Some("run the command in the project root, or pass its path")
        );

        fs_err::write(project.path().join("composer.json"), "{}").unwrap();
        let error = plan_project(project.path(), &settings, &options).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("no composer.lock in {}", project.path().display())
        );
        assert_eq!(
            error.hint().as_deref(),
            Some(
                "the upgrader updates locked versions: run `composer update` once and commit composer.lock"
            )
        );
    }

    #[test]
    fn warnings_keep_their_hint_apart_from_the_message() {
        let warning = Warning {
            message: "acme/core: no credentials".to_string(),
            hint: Some("add them to auth.json".to_string()),
        };
        assert_eq!(warning.to_string(), "acme/core: no credentials");
        assert_eq!(warning.hint().as_deref(), Some("add them to auth.json"));
        assert_eq!(Warning::from("plain".to_string()).hint(), None);
    }
}
