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
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use upkeep_forge::forge::PullRequest;
use upkeep_forge::git::Git;
use upkeep_pipeline::log_store::{LineSink as _, LogLine, LogWriter, Stream};
use upkeep_pipeline::mask::Masker;
use upkeep_store::{
    AccountId, RepositoryStore, Store, StoreError, UpgradeRun, UpgradeRunEnd, UpgradeRunStatus,
    UpgradeSchedule, UpgradeStore, UpgradeTrigger, WorkspaceId,
};
use upkeep_upgrade::apply::{ApplyError, ApplyOutcome};
use upkeep_upgrade::plan::UpgradePlan;
use upkeep_upgrade::pull_request::{AppliedUpdate, FailedGroup, Link};
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
        let (ending, outcome) = match &run.applied {
            Err(ApplyError::AlreadyOpen { what }) => (
                Ending {
                    status: UpgradeRunStatus::Refused,
                    summary: format!(
                        "not started: the previous upgrade is still open ({what}); merge or close it, or turn `refresh` on in the upgrader's settings to rebuild and update it"
                    ),
                    ..Ending::failed(String::new())
                },
                None,
            ),
            Err(error) => (Ending::failed(with_hint(error)), None),
            Ok(outcome) => {
                let applied = &outcome.report;
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
                let ending = Ending {
                    status: if failed == 0 {
                        UpgradeRunStatus::Succeeded
                    } else {
                        UpgradeRunStatus::Partial
                    },
                    summary,
                    pull_request: request,
                    applied: i64::try_from(applied.applied.len()).unwrap_or(i64::MAX),
                    failed_groups: i64::try_from(failed).unwrap_or(i64::MAX),
                };
                (ending, Some(AppliedReport::of(outcome)))
            }
        };
        let report = UpgradeReportFile {
            plan: run.plan.clone(),
            outcome,
            status: ending.status.as_str().to_string(),
            summary: ending.summary.clone(),
        };
        if let Err(error) = fs_err::write(
            self.run.run_dir.join(REPORT_FILE),
            serde_json::to_vec_pretty(&report).unwrap_or_default(),
        ) {
            return Ending::failed(format!("cannot write the report: {error}"));
        }
        ending
    }
}

/// A run's report file (`report.json`): written when the run ends, answered by the API as it
/// is and read back by the run's page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpgradeReportFile {
    pub plan: UpgradePlan,
    /// What the apply did; none when the run was refused or failed before it.
    #[serde(flatten)]
    pub outcome: Option<AppliedReport>,
    pub status: String,
    pub summary: String,
}

impl UpgradeReportFile {
    /// The report of a run, once it wrote one.
    pub fn read(run_dir: &Path) -> Option<Self> {
        let bytes = fs_err::read(run_dir.join(REPORT_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppliedReport {
    pub branch: String,
    pub base: String,
    pub commits: Vec<String>,
    pub pushed: bool,
    pub pull_request: Option<PullRequest>,
    pub applied: Vec<AppliedUpdate>,
    pub failed_groups: Vec<FailedGroup>,
    pub new_findings: Vec<String>,
    pub gate_problem: Option<String>,
    pub deferred: Vec<String>,
    pub majors: Vec<MajorReport>,
}

/// A major upgrade left to do by hand, with where it is explained.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MajorReport {
    pub name: String,
    pub locked: String,
    pub major: String,
    pub instructions: Vec<Link>,
}

impl AppliedReport {
    fn of(outcome: &ApplyOutcome) -> Self {
        let report = &outcome.report;
        Self {
            branch: outcome.branch.clone(),
            base: outcome.base.clone(),
            commits: outcome.commits.clone(),
            pushed: outcome.pushed,
            pull_request: outcome.pull_request.clone(),
            applied: report.applied.clone(),
            failed_groups: report.failed_groups.clone(),
            new_findings: report.new_findings.clone(),
            gate_problem: report.gate_problem.clone(),
            deferred: report
                .held_back
                .iter()
                .filter(|held| held.deferred)
                .map(|held| held.name.clone())
                .collect(),
            majors: report
                .majors
                .iter()
                .map(|major| MajorReport {
                    name: major.name.clone(),
                    locked: major.locked.clone(),
                    major: major.major.clone(),
                    instructions: major.instructions(),
                })
                .collect(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> UpgradePlan {
        UpgradePlan {
            packages: Vec::new(),
            groups: Vec::new(),
        }
    }

    #[test]
    fn a_report_without_an_apply_reads_back_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let report = UpgradeReportFile {
            plan: plan(),
            outcome: None,
            status: "refused".to_string(),
            summary: "not started".to_string(),
        };
        let json = serde_json::to_value(&report).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["plan", "status", "summary"]);
        fs_err::write(dir.path().join(REPORT_FILE), json.to_string()).unwrap();
        let read = UpgradeReportFile::read(dir.path()).unwrap();
        assert!(read.outcome.is_none());
        assert_eq!(read.status, "refused");
    }

    #[test]
    fn a_report_with_its_request_and_majors_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let report = UpgradeReportFile {
            plan: plan(),
            outcome: Some(AppliedReport {
                branch: "upkeep/upgrade-for-main".to_string(),
                base: "main".to_string(),
                commits: vec!["abc".to_string()],
                pushed: true,
                pull_request: Some(PullRequest {
                    number: 7,
                    url: "https://github.test/acme/shop/pull/7".to_string(),
                    head: "upkeep/upgrade-for-main".to_string(),
                    base: "main".to_string(),
                    title: "Upkeep: update 1 package".to_string(),
                }),
                applied: Vec::new(),
                failed_groups: vec![FailedGroup {
                    name: "conflicting".to_string(),
                    packages: vec!["conflicting/pkg".to_string()],
                    problem: "Problem 1".to_string(),
                }],
                new_findings: Vec::new(),
                gate_problem: None,
                deferred: Vec::new(),
                majors: vec![MajorReport {
                    name: "spryker/kernel".to_string(),
                    locked: "3.70.0".to_string(),
                    major: "4.0.0".to_string(),
                    instructions: vec![Link {
                        label: "upgrade guide".to_string(),
                        url: "https://docs.spryker.com/".to_string(),
                    }],
                }],
            }),
            status: "partial".to_string(),
            summary: "0 packages updated, 1 groups could not be".to_string(),
        };
        let json = serde_json::to_value(&report).unwrap();
        // The API answers the file as it is: its members stay where clients read them.
        assert_eq!(json["pull_request"]["number"], 7);
        assert_eq!(
            json["majors"][0]["instructions"][0]["label"],
            "upgrade guide"
        );
        fs_err::write(dir.path().join(REPORT_FILE), json.to_string()).unwrap();
        let read = UpgradeReportFile::read(dir.path()).unwrap();
        let outcome = read.outcome.unwrap();
        assert_eq!(outcome.pull_request.unwrap().number, 7);
        assert_eq!(outcome.failed_groups[0].problem, "Problem 1");
        assert_eq!(outcome.majors[0].major, "4.0.0");
    }
}
