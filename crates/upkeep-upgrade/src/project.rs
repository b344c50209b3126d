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

use crate::plan::{PlanInput, UpgradePlan, plan};
use crate::settings::UpgradeSettings;

/// A plan and what the planner wants the reader to know.
#[derive(Debug)]
pub struct ProjectPlan {
    pub plan: UpgradePlan,
    /// Packages whose metadata could not be had, skipped repositories, unreadable advisories.
    pub warnings: Vec<String>,
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

impl ProjectError {
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::Missing {
                file: "composer.lock",
                ..
            } => Some(
                "the upgrader updates locked versions: run `composer update` once and commit composer.lock",
            ),
            Self::Missing { .. } => Some("run the command in the project root, or pass its path"),
            _ => None,
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
    let mut warnings: Vec<String> = set.warnings().to_vec();
    warnings.extend(std::mem::take(&mut metadata.warnings));
    warnings.extend(metadata.problems.iter().map(ToString::to_string));

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
                    .map(|problem| format!("advisory skipped: {problem}")),
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
