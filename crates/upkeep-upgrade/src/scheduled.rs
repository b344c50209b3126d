//! The job the server runs on each workspace's schedule (by default Monday 08:00) or when asked:
//! plan, apply, push and open (or, with `refresh`, rebuild and update) the pull request. The
//! command line's `upkeep upgrade apply --pr` is the same run, started by hand.

use std::path::PathBuf;

use jiff::Timestamp;
// Re-exported: the server configures metadata fetching without depending on the Composer crate.
pub use upkeep_composer::repository::RepositoryOptions;
use upkeep_forge::remote::{ForgeKind, RemoteRepository};
use upkeep_forge::{Forge, Git, Token, forge};

use upkeep_forge::git_auth::GitEnv;

use crate::apply::{ApplyOptions, ApplyOutcome, apply};
use crate::plan::UpgradePlan;
use crate::project::plan_project;
use crate::settings::{SettingsOverrides, UpgradeSettings};

/// Where the pull request goes, when the remote URL alone does not tell (a self-hosted forge,
/// or a local path in tests). What is `None` comes from the remote's URL.
#[derive(Debug, Clone, Default)]
pub struct ForgeTarget {
    pub kind: Option<ForgeKind>,
    /// `owner/repo` or `group/sub/project`.
    pub repository: Option<String>,
    pub api_base: Option<String>,
}

/// One connected repository's upgrade job.
#[derive(Debug, Clone)]
pub struct ScheduledUpgrade {
    /// The project directory in the server's checkout of the repository.
    pub project: PathBuf,
    pub remote: String,
    pub forge: ForgeTarget,
    pub token: Token,
    pub composer: String,
    pub repositories: RepositoryOptions,
    /// Rebuild an upgrade whose pull request is still open and update it; without, such a run
    /// refuses to start ([`crate::apply::ApplyError::AlreadyOpen`]).
    pub refresh: bool,
    /// The workspace's settings, over the `[upgrade]` table of `upkeep.toml`.
    pub overrides: SettingsOverrides,
    /// Credentials for git (the push).
    pub git_env: GitEnv,
}

/// What a run did: the plan it made, and how applying it went (an upgrade still open is
/// [`crate::apply::ApplyError::AlreadyOpen`]).
#[derive(Debug)]
pub struct ScheduledRun {
    pub plan: UpgradePlan,
    pub applied: Result<ApplyOutcome, crate::apply::ApplyError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduledError {
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    #[error(transparent)]
    Project(#[from] crate::project::ProjectError),
    #[error(transparent)]
    Apply(#[from] crate::apply::ApplyError),
    #[error(transparent)]
    Git(#[from] upkeep_forge::GitError),
    #[error(transparent)]
    Remote(#[from] upkeep_forge::RemoteUrlError),
    #[error(transparent)]
    Forge(#[from] upkeep_forge::ForgeError),
}

impl upkeep_hint::Hint for ScheduledError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Settings(error) => error.hint(),
            Self::Project(error) => error.hint(),
            Self::Apply(error) => error.hint(),
            Self::Git(error) => error.hint(),
            Self::Remote(error) => error.hint(),
            Self::Forge(error) => error.hint(),
        }
    }
}

/// Whether the job is due: its schedule has a time after `last_run` and not after `now`.
pub fn is_due(schedule: &crate::schedule::Schedule, last_run: Timestamp, now: Timestamp) -> bool {
    schedule
        .next_after(last_run)
        .is_some_and(|next| next <= now)
}

/// Runs the job once. A pull request still open from an earlier week is, with `refresh`,
/// rebuilt on the current base and updated, never duplicated; without, left alone. `Err` when
/// no plan could be made (settings, metadata, the forge).
pub fn run_scheduled_upgrade(
    job: &ScheduledUpgrade,
    now: Timestamp,
    log: &mut dyn FnMut(&str),
) -> Result<ScheduledRun, ScheduledError> {
    let mut settings = UpgradeSettings::read(&job.project)?;
    job.overrides.apply(&mut settings);
    let planned = plan_project(&job.project, &settings, &job.repositories)?;
    for warning in &planned.warnings {
        log(&format!("warning: {warning}"));
        if let Some(hint) = upkeep_hint::Hint::hint(warning) {
            log(&format!("hint: {hint}"));
        }
    }
    let forge = connect(job)?;
    // Manifests that cannot be had leave the code changes out, not the updates.
    let manifests = settings.manifests.as_ref().and_then(|source| {
        crate::manifests::load_manifests(source, &job.project, &job.repositories, log)
            .map_err(|error| {
                log(&format!("warning: no code changes are applied: {error}"));
                if let Some(hint) = upkeep_hint::Hint::hint(&error) {
                    log(&format!("hint: {hint}"));
                }
            })
            .ok()
    });
    let options = ApplyOptions {
        project: &job.project,
        plan: &planned.plan,
        settings: &settings,
        composer: &job.composer,
        push: true,
        forge: Some(forge.as_ref()),
        refresh: job.refresh,
        remote: &job.remote,
        gate: true,
        date: now.strftime("%Y-%m-%d").to_string(),
        cancel: None,
        git_env: &job.git_env,
        dry_run: false,
        manifests: manifests.as_ref(),
    };
    let applied = apply(&options, log);
    Ok(ScheduledRun {
        plan: planned.plan,
        applied,
    })
}

/// The forge client of the job's repository.
pub fn connect(job: &ScheduledUpgrade) -> Result<Box<dyn Forge>, ScheduledError> {
    let target = &job.forge;
    let remote = if let (Some(kind), Some(repository)) = (target.kind, &target.repository) {
        RemoteRepository {
            host: "configured".to_string(),
            web_port: None,
            path: repository.clone(),
            kind,
        }
    } else {
        let url = Git::open(&job.project)?.remote_url(&job.remote)?;
        let mut remote = RemoteRepository::parse(&url)?;
        if let Some(kind) = target.kind {
            remote = remote.with_kind(kind);
        }
        if let Some(repository) = &target.repository {
            remote.path.clone_from(repository);
        }
        remote
    };
    Ok(forge::connect(
        &remote,
        target.api_base.as_deref(),
        job.token.clone(),
    )?)
}
