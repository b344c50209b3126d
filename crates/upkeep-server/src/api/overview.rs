//! What a workspace's dashboard shows, in one request: the Upgrader (its next scheduled run,
//! its last run, the newest request it opened) and each environment of the repository's
//! `upkeep.yml` with its main pipeline, last run, gate verdict, the runs that wait for
//! approval and its status badge; and the members' badge itself. Counts come from the store
//! and the run records alone: one record is read per environment (its last run's), and
//! `upkeep.yml` is read from the workspace's clone without checking it out, since a run may
//! be using the checkout.

use std::path::Path;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use upkeep_forge::git::Git;
use upkeep_pipeline::project_file::ProjectFile;
use upkeep_pipeline::record::{RunKind, RunRecord, RunStatus};
use upkeep_store::{
    AccountStore, PageRequest, RepositoryStore, Role, RunStore, StoredRun, UpgradeStore,
    WorkspaceId,
};
use utoipa::ToSchema;

use super::error::ApiResult;
use super::runs::EnvironmentPath;
use super::upgrades::{PullRequestView, UpgradeRunView};
use super::{PathParams, WorkspacePath};
use crate::AppState;
use crate::auth::{Caller, require_role};
use crate::badge;
use crate::scheduler::next_run;

/// A workspace's projects as its dashboard shows them.
#[derive(Serialize, ToSchema)]
pub struct WorkspaceOverview {
    pub workspace: i64,
    pub upgrader: UpgraderOverview,
    /// Where the environments come from: `upkeep.yml` of the repository's default branch, or,
    /// when it cannot be read, the environments that have runs (`runs`).
    #[schema(example = "upkeep.yml")]
    pub environments_from: &'static str,
    /// Why `upkeep.yml` could not be read, when it could not.
    pub problem: Option<String>,
    /// In the order of `upkeep.yml`; then environments it no longer declares that have runs.
    pub environments: Vec<EnvironmentOverview>,
}

/// The Upgrader project.
#[derive(Serialize, ToSchema)]
pub struct UpgraderOverview {
    pub enabled: bool,
    /// When the schedule fires next; `null` when it is off.
    #[schema(format = DateTime)]
    pub next_run_at: Option<String>,
    /// The newest upgrade run, with its status and summary.
    pub last_run: Option<UpgradeRunView>,
    /// The newest pull or merge request an upgrade run opened or refreshed. Whether it is
    /// still open is the provider's to say (a later run refused for it says it is).
    pub pull_request: Option<UpgradeRequestView>,
}

#[derive(Serialize, ToSchema)]
pub struct UpgradeRequestView {
    #[serde(flatten)]
    pub request: PullRequestView,
    /// The upgrade run that opened or refreshed it.
    pub upgrade_run: i64,
}

/// An environment's project.
#[derive(Serialize, ToSchema)]
pub struct EnvironmentOverview {
    pub name: String,
    /// `*** <environment> Pipeline ***`.
    pub pipeline: String,
    /// Whether `upkeep.yml` declares it (else it only has runs).
    pub declared: bool,
    /// The branch whose pushes run the pipeline, as `upkeep.yml` says.
    pub branch: Option<String>,
    /// Whether deployments wait for a super user's approval, as `upkeep.yml` says.
    pub approval: Option<bool>,
    /// `block`, `warn` or `off`, as `upkeep.yml` says.
    pub gate_policy: Option<String>,
    pub last_run: Option<LastRun>,
    /// The runs that wait for approval, newest first.
    pub waiting_for_approval: Vec<WaitingRun>,
    pub badge: BadgeLinks,
}

/// The newest run of an environment.
#[derive(Serialize, ToSchema)]
pub struct LastRun {
    pub run_id: String,
    /// `queued`, `running`, `waiting_for_approval`, `succeeded`, `failed`, ….
    pub status: &'static str,
    /// `push`, `manual` or `schedule`.
    pub trigger: &'static str,
    /// Who started it: an account's email, or the push (`push to main`).
    pub requested_by: Option<String>,
    pub commit: Option<String>,
    #[schema(format = DateTime)]
    pub queued_at: String,
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
    /// The quality gate's verdict, once the run has one.
    pub gate: Option<GateView>,
}

#[derive(Serialize, ToSchema)]
pub struct GateView {
    /// `passed`, `warned`, `blocked` or `skipped`.
    pub verdict: &'static str,
    pub findings: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Why the gate could not run, when it could not.
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WaitingRun {
    pub run_id: String,
    pub commit: Option<String>,
    #[schema(format = DateTime)]
    pub queued_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct BadgeLinks {
    /// The members' badge (`…/environments/{environment}/badge.svg`).
    pub url: String,
    /// The public badge for a README, with its key; given to super users only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

/// The workspace's projects: the Upgrader and each environment, as the dashboard shows them.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/overview",
    tag = "runs",
    params(WorkspacePath),
    responses(
        (status = 200, description = "The Upgrader and the environments with their last runs", body = WorkspaceOverview),
    ),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn overview(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
) -> ApiResult<Json<WorkspaceOverview>> {
    let workspace = WorkspaceId(path.workspace);
    let role = require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let store = &state.inner.store;
    let declared = declared_environments(&state, workspace).await?;
    let newest = store.newest_run_of_each_environment(workspace).await?;
    let waiting = store
        .runs_in_status(workspace, RunStatus::WaitingForApproval)
        .await?;
    let (environments_from, problem, mut names) = match declared {
        Ok(project) => {
            let names = project
                .environments
                .values()
                .map(|environment| {
                    (
                        environment.name.clone(),
                        Some((
                            environment.branch.clone(),
                            environment.approval,
                            environment.gate.to_string(),
                        )),
                    )
                })
                .collect::<Vec<_>>();
            ("upkeep.yml", None, names)
        }
        Err(problem) => ("runs", Some(problem), Vec::new()),
    };
    for run in &newest {
        if !names.iter().any(|(name, _)| *name == run.environment) {
            names.push((run.environment.clone(), None));
        }
    }
    let mut environments = Vec::with_capacity(names.len());
    for (name, declared) in names {
        let last_run = match newest.iter().find(|run| run.environment == name) {
            Some(run) => Some(last_run(&state, run).await?),
            None => None,
        };
        let public_url = (role == Role::SuperUser).then(|| {
            format!(
                "{}{}",
                state.public_url(),
                badge::public_path(&state.inner.sealer, workspace, &name)
            )
        });
        let (is_declared, branch, approval, gate_policy) = match declared {
            Some((branch, approval, policy)) => (true, branch, Some(approval), Some(policy)),
            None => (false, None, None, None),
        };
        let waiting_for_approval = waiting
            .iter()
            .filter(|run| run.environment == name)
            .map(|run| WaitingRun {
                run_id: run.run_id.as_str().to_string(),
                // A run started by hand learns its commit as it runs: its record, read
                // for the last run only, says it.
                commit: run.commit.clone().or_else(|| {
                    last_run
                        .as_ref()
                        .filter(|last| last.run_id == run.run_id.as_str())
                        .and_then(|last| last.commit.clone())
                }),
                queued_at: run.queued_at.to_string(),
            })
            .collect();
        environments.push(EnvironmentOverview {
            pipeline: RunKind::Pipeline.pipeline_name(&name),
            declared: is_declared,
            branch,
            approval,
            gate_policy,
            last_run,
            waiting_for_approval,
            badge: BadgeLinks {
                url: format!(
                    "{}/workspaces/{}/environments/{}/badge.svg",
                    super::PREFIX,
                    workspace.0,
                    badge::percent_encoded(&name)
                ),
                public_url,
            },
            name,
        });
    }
    Ok(Json(WorkspaceOverview {
        workspace: workspace.0,
        upgrader: upgrader(&state, workspace).await?,
        environments_from,
        problem,
        environments,
    }))
}

async fn upgrader(state: &AppState, workspace: WorkspaceId) -> ApiResult<UpgraderOverview> {
    let store = &state.inner.store;
    let schedule = store
        .ensure_upgrade_schedule(workspace, state.inner.clock.now())
        .await?;
    let enabled = schedule.settings.enabled;
    let last = store
        .upgrade_runs(workspace, PageRequest::first(1))
        .await?
        .items;
    let request = store.latest_upgrade_request(workspace).await?;
    Ok(UpgraderOverview {
        enabled,
        next_run_at: next_run(&schedule)
            .ok()
            .flatten()
            .filter(|_| enabled)
            .map(|at| at.to_string()),
        last_run: last.first().map(UpgradeRunView::of),
        pull_request: request.and_then(|run| {
            Some(UpgradeRequestView {
                request: PullRequestView {
                    url: run.pull_request_url?,
                    number: run.pull_request_number,
                },
                upgrade_run: run.id,
            })
        }),
    })
}

/// The newest run of an environment, with who started it and its gate from its record.
async fn last_run(state: &AppState, run: &StoredRun) -> ApiResult<LastRun> {
    // Read as it stands: a record whose process a stop killed reads as interrupted.
    let record: Option<RunRecord> = upkeep_runner::index::load_current(&run.run_dir).ok();
    let mut requested_by = record
        .as_ref()
        .and_then(|record| record.requested_by.clone());
    if requested_by.is_none()
        && let Some(account) = run.requested_by
    {
        requested_by = state
            .inner
            .store
            .account(account)
            .await?
            .map(|account| account.email);
    }
    Ok(LastRun {
        run_id: run.run_id.as_str().to_string(),
        status: run.status.as_str(),
        trigger: run.trigger.as_str(),
        requested_by,
        commit: record
            .as_ref()
            .and_then(|record| record.commit.clone())
            .or_else(|| run.commit.clone()),
        queued_at: run.queued_at.to_string(),
        started_at: run.started_at.map(|at| at.to_string()),
        finished_at: run.finished_at.map(|at| at.to_string()),
        gate: record.and_then(|record| record.gate).map(|gate| GateView {
            verdict: gate.verdict.as_str(),
            findings: gate.findings,
            errors: gate.errors,
            warnings: gate.warnings,
            error: gate.error,
        }),
    })
}

/// `upkeep.yml` of the default branch in the workspace's clone, or why it cannot be read.
async fn declared_environments(
    state: &AppState,
    workspace: WorkspaceId,
) -> ApiResult<Result<ProjectFile, String>> {
    let Some(repository) = state.inner.store.repository(workspace).await? else {
        return Ok(Err(
            "no repository is connected yet; a super user connects one".to_string(),
        ));
    };
    let clone = state.inner.executor.dirs(workspace).clone;
    Ok(
        tokio::task::spawn_blocking(move || read_project_file(&clone, &repository.url))
            .await
            .unwrap_or_else(|error| Err(error.to_string())),
    )
}

/// Reads `upkeep.yml` at the tip of the default branch as the clone last fetched it, the way
/// a run finds its environment's branch, without a checkout (git reads objects while a run
/// may change the working tree).
fn read_project_file(clone: &Path, url: &str) -> Result<ProjectFile, String> {
    let not_yet = "the repository has not been cloned yet: the first run clones it";
    if !clone.join(".git").is_dir() {
        return Err(not_yet.to_string());
    }
    let git = Git::open(clone).map_err(|error| error.to_string())?;
    if git.remote_url("origin").ok().as_deref() != Some(url) {
        return Err(
            "the clone is of the repository connected before: the next run clones the new one"
                .to_string(),
        );
    }
    let file = upkeep_runner::context::PROJECT_FILE_NAME;
    match git.file_at(Git::REMOTE_HEAD, file) {
        Ok(Some(text)) => {
            ProjectFile::parse(&text, &clone.join(file)).map_err(|error| error.to_string())
        }
        Ok(None) if git.rev_parse(Git::REMOTE_HEAD).is_err() => Err(not_yet.to_string()),
        Ok(None) => Err(format!(
            "the default branch has no {file} declaring the environments"
        )),
        Err(error) => Err(error.to_string()),
    }
}

/// An environment's status badge: `<environment> | passing`, `failed`, `running`, `waiting`
/// or `unknown`, as its newest run stands.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/environments/{environment}/badge.svg",
    tag = "runs",
    params(EnvironmentPath),
    responses(
        (status = 200, description = "The badge, never cached (`Cache-Control: no-cache`)", content_type = "image/svg+xml", body = String),
    ),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn badge(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(EnvironmentPath {
        workspace,
        environment,
    }): PathParams<EnvironmentPath>,
) -> ApiResult<Response> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    badge::badge_response(&state, workspace, &environment).await
}
