//! The weekly upgrader as a service: a workspace's upgrade run, on its schedule or when a super
//! user asks. A run clones the repository afresh (with the connection's credentials), runs
//! `upkeep-upgrade`'s scheduled job on it — the same plan, Composer runs, gate and pull request
//! as `upkeep upgrade apply --pr`, never a second encoding — and keeps its log (a file with byte
//! offsets, read like a pipeline step's) and its report (plan, groups applied, failures, majors
//! with where their upgrade is explained, the pull or merge request) in its run directory.
//! While the previous upgrade's request is open it refuses to start and says so, unless the
//! workspace turned `refresh` on, which rebuilds and updates that request.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::json;
use tokio::runtime::Handle;
use upkeep_forge::git::Git;
use upkeep_pipeline::log_store::{LineSink as _, LogLine, LogWriter, Stream};
use upkeep_pipeline::mask::Masker;
use upkeep_store::{
    AccountId, RepositoryStore, Store, StoreError, UpgradeRun, UpgradeRunEnd, UpgradeRunStatus,
    UpgradeSchedule, UpgradeStore, UpgradeTrigger, WorkspaceId,
};
use upkeep_upgrade::apply::ApplyError;
use upkeep_upgrade::scheduled::{
    ForgeTarget, RepositoryOptions, ScheduledRun, ScheduledUpgrade, run_scheduled_upgrade,
};
use upkeep_upgrade::settings::SettingsOverrides;

use crate::AppState;
use crate::connection::{ForgeAccess, RepositoryAccess};

/// The run's log, in its run directory.
pub const LOG_FILE: &str = "upgrade.log";
/// The run's report (plan, groups, majors, pull request), in its run directory.
pub const REPORT_FILE: &str = "report.json";

/// Why an upgrade run cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the workspace has no repository yet; a super user connects one first")]
    NoRepository,
    #[error(
        "the upgrader opens a pull or merge request, which needs the repository connected through GitHub or GitLab with a token"
    )]
    NoForge,
    #[error("upgrade run {0} is not over yet; one runs at a time")]
    Running(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Credentials(#[from] crate::oauth::AccessError),
}

/// Queues an upgrade run of `workspace` and starts it in the background.
pub async fn start(
    state: &AppState,
    workspace: WorkspaceId,
    trigger: UpgradeTrigger,
    requested_by: Option<AccountId>,
) -> Result<UpgradeRun, StartError> {
    let store = &state.inner.store;
    let repository = store
        .repository(workspace)
        .await?
        .ok_or(StartError::NoRepository)?;
    let access = state.inner.tokens.open(&repository).await?;
    let forge = access.forge.clone().ok_or(StartError::NoForge)?;
    // Between the look for a running upgrade and the new one's row, no other may start here
    // (the scheduler and a "run now" at the same moment).
    let _starting = state.inner.upgrade_starts.lock().await;
    if let Some(active) = store
        .upgrade_runs(workspace, upkeep_store::PageRequest::first(1))
        .await?
        .items
        .into_iter()
        .find(|run| !run.status.is_final())
    {
        return Err(StartError::Running(active.id));
    }
    let now = state.inner.clock.now();
    let schedule = store.ensure_upgrade_schedule(workspace, now).await?;
    let run_dir =
        upgrades_dir(&state.inner.data_dir, workspace).join(upkeep_runner::new_run_id().as_str());
    let run = store
        .queue_upgrade_run(workspace, trigger, requested_by, &run_dir)
        .await?;
    let job = Job {
        run: run.clone(),
        access,
        forge,
        schedule,
        now,
        data_dir: state.inner.data_dir.clone(),
        composer: state.inner.composer.clone(),
        store: store.clone(),
    };
    let handle = Handle::current();
    tokio::task::spawn_blocking(move || job.run(&handle));
    Ok(run)
}

/// Where a workspace's upgrade runs live.
pub fn upgrades_dir(data_dir: &Path, workspace: WorkspaceId) -> PathBuf {
    data_dir
        .join("workspaces")
        .join(workspace.0.to_string())
        .join("upgrades")
}

/// One run, in a blocking thread.
struct Job {
    run: UpgradeRun,
    access: RepositoryAccess,
    forge: ForgeAccess,
    schedule: UpgradeSchedule,
    /// The time of the run, for the request's title.
    now: Timestamp,
    data_dir: PathBuf,
    composer: String,
    store: Store,
}

/// How a run ended, before it is stored.
struct Ending {
    status: UpgradeRunStatus,
    summary: String,
    pull_request: Option<(String, i64)>,
    applied: i64,
    failed_groups: i64,
}

impl Ending {
    fn failed(summary: String) -> Self {
        Self {
            status: UpgradeRunStatus::Failed,
            summary,
            pull_request: None,
            applied: 0,
            failed_groups: 0,
        }
    }
}

impl Job {
    fn run(self, handle: &Handle) {
        let _ = handle.block_on(self.store.start_upgrade_run(self.run.id, Timestamp::now()));
        let ending = match fs_err::create_dir_all(&self.run.run_dir) {
            Ok(()) => self.run_logged(),
            Err(error) => Ending::failed(format!("cannot make the run directory: {error}")),
        };
        let (url, number) = ending
            .pull_request
            .as_ref()
            .map_or((None, None), |(url, number)| {
                (Some(url.as_str()), Some(*number))
            });
        let _ = handle.block_on(self.store.finish_upgrade_run(
            self.run.id,
            &UpgradeRunEnd {
                status: ending.status,
                summary: &ending.summary,
                pull_request_url: url,
                pull_request_number: number,
                applied_count: ending.applied,
                failed_groups: ending.failed_groups,
            },
            Timestamp::now(),
        ));
    }

    /// Runs with the log open; every line of it is masked for the connection's secrets.
    fn run_logged(&self) -> Ending {
        let mut writer = match LogWriter::open(&self.run.run_dir.join(LOG_FILE)) {
            Ok(writer) => writer,
            Err(error) => return Ending::failed(format!("cannot write the log: {error}")),
        };
        let masker = Masker::new(secrets_of(&self.access));
        let mut log = |line: &str| {
            let _ = writer.write_line(&LogLine::now(Stream::Stdout, masker.mask_line(line)));
            let _ = writer.flush();
        };
        let ending = self.upgrade(&mut log);
        log(&ending.summary);
        let _ = writer.finish();
        ending
    }

    fn upgrade(&self, log: &mut dyn FnMut(&str)) -> Ending {
        let checkout = self.run.run_dir.join("checkout");
        let auth = match self.access.git_auth(&self.data_dir) {
            Ok(auth) => auth,
            Err(error) => return Ending::failed(error.to_string()),
        };
        log(&format!("cloning {}", self.access.url));
        let git = match Git::clone_from_with(&self.access.url, &checkout, auth.env()) {
            Ok(git) => git,
            Err(error) => return Ending::failed(format!("cannot clone the repository: {error}")),
        };
        // The remote's default branch is checked out; the upgrade switches to the base branch
        // of the settings, if they name one.
        if git.rev_parse("HEAD").is_ok() {
            if let Err(error) = git.reset_hard("HEAD") {
                return Ending::failed(format!("cannot check the repository out: {error}"));
            }
        } else if self.schedule.settings.base_branch.is_none() {
            return Ending::failed(
                "the remote's HEAD names no branch; set `settings.base_branch` in the upgrader's settings"
                    .to_string(),
            );
        }
        let job = ScheduledUpgrade {
            project: checkout.clone(),
            remote: "origin".to_string(),
            forge: ForgeTarget {
                kind: Some(self.forge.kind),
                repository: Some(self.forge.path.clone()),
                api_base: self.forge.api_base_url(),
            },
            token: self.forge.token.clone(),
            composer: self.composer.clone(),
            repositories: RepositoryOptions {
                cache_dir: Some(self.data_dir.join("cache").join("composer")),
                ..RepositoryOptions::default()
            },
            refresh: self.schedule.settings.refresh,
            overrides: overrides_of(&self.schedule),
            git_env: auth.env().clone(),
        };
        let ending = match run_scheduled_upgrade(&job, self.now, log) {
            Ok(run) => self.ended(&run),
            Err(error) => Ending::failed(with_hint(&error)),
        };
        drop(auth);
        // The checkout (with its vendor directory) is only needed while the run lasts.
        let _ = fs_err::remove_dir_all(&checkout);
        ending
    }

    /// How the run ended, and its report written next to its log.
    fn ended(&self, run: &ScheduledRun) -> Ending {
        let mut report = json!({ "plan": run.plan });
        let ending = match &run.applied {
            Err(ApplyError::AlreadyOpen { what }) => Ending {
                status: UpgradeRunStatus::Refused,
                summary: format!(
                    "not started: the previous upgrade is still open ({what}); merge or close it, or turn `refresh` on in the upgrader's settings to rebuild and update it"
                ),
                ..Ending::failed(String::new())
            },
            Err(error) => Ending::failed(with_hint(error)),
            Ok(outcome) => {
                let applied = &outcome.report;
                report["branch"] = json!(outcome.branch);
                report["base"] = json!(outcome.base);
                report["commits"] = json!(outcome.commits);
                report["pushed"] = json!(outcome.pushed);
                report["pull_request"] = json!(outcome.pull_request);
                report["applied"] = json!(applied.applied);
                report["failed_groups"] = json!(applied.failed_groups);
                report["new_findings"] = json!(applied.new_findings);
                report["gate_problem"] = json!(applied.gate_problem);
                report["deferred"] = json!(applied.deferred);
                report["majors"] = json!(
                    applied
                        .majors
                        .iter()
                        .map(|major| json!({
                            "name": major.name,
                            "locked": major.locked,
                            "major": major.major,
                            "instructions": major.instructions(),
                        }))
                        .collect::<Vec<_>>()
                );
                let failed = applied.failed_groups.len();
                let request = outcome.pull_request.as_ref().map(|request| {
                    (
                        request.url.clone(),
                        i64::try_from(request.number).unwrap_or(i64::MAX),
                    )
                });
                let summary = match (&request, applied.applied.len(), failed) {
                    (_, 0, 0) => "nothing to update".to_string(),
                    (Some((url, _)), count, 0) => format!("{count} packages updated: {url}"),
                    (Some((url, _)), count, failed) => {
                        format!("{count} packages updated, {failed} groups could not be: {url}")
                    }
                    (None, count, failed) => format!(
                        "{count} packages updated, {failed} groups could not be; no request was opened"
                    ),
                };
                Ending {
                    status: if failed == 0 {
                        UpgradeRunStatus::Succeeded
                    } else {
                        UpgradeRunStatus::Partial
                    },
                    summary,
                    pull_request: request,
                    applied: i64::try_from(applied.applied.len()).unwrap_or(i64::MAX),
                    failed_groups: i64::try_from(failed).unwrap_or(i64::MAX),
                }
            }
        };
        report["status"] = json!(ending.status.as_str());
        report["summary"] = json!(ending.summary);
        if let Err(error) = fs_err::write(
            self.run.run_dir.join(REPORT_FILE),
            serde_json::to_vec_pretty(&report).unwrap_or_default(),
        ) {
            return Ending::failed(format!("cannot write the report: {error}"));
        }
        ending
    }
}

/// An error with what to do about it.
fn with_hint(error: &(impl std::fmt::Display + upkeep_hint::Hint)) -> String {
    match error.hint() {
        Some(hint) => format!("{error} (hint: {hint})"),
        None => error.to_string(),
    }
}

/// The values the log must never show.
fn secrets_of(access: &RepositoryAccess) -> Vec<String> {
    let mut secrets = Vec::new();
    if let upkeep_forge::git_auth::GitCredentials::Basic { password, .. } = &access.credentials {
        secrets.push(password.clone());
    }
    if let Some(forge) = &access.forge {
        secrets.push(forge.token.expose().to_string());
    }
    secrets
}

/// The workspace's settings over `upkeep.toml`'s.
pub fn overrides_of(schedule: &UpgradeSchedule) -> SettingsOverrides {
    let limit = |value: Option<u32>| value.and_then(|value| usize::try_from(value).ok());
    SettingsOverrides {
        max_minor: limit(schedule.settings.max_minor),
        max_patch: limit(schedule.settings.max_patch),
        max_groups: limit(schedule.settings.max_groups),
        reviewers: schedule.settings.reviewers.clone(),
        base_branch: schedule.settings.base_branch.clone(),
    }
}
