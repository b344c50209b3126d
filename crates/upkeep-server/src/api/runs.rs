//! Runs: start an environment's main pipeline, list and read runs, approve or reject a waiting deployment (super users), and read
//! a step's log by byte offset or follow it live (server-sent events that resume from
//! `Last-Event-ID`).

use std::convert::Infallible;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use futures_util::stream::Stream;
use serde::{Deserialize, Serialize};
use upkeep_pipeline::record::{RunId, RunKind, RunRecord, RunStatus, StageKind, SubPipelineKind};
use upkeep_runner::Decision;
use upkeep_store::{
    AuditStore, DeliveryStore, NewRun, Role, RunStore, StoredRun, Trigger, WorkspaceId,
};

use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult, ErrorBody};
use super::logs::{LogLines, LogPage, LogRange, LogSource, LogState, live_events, read_log};
use super::page::{PageQuery, next_cursor};
use super::{Body, PathParams, QueryParams, WorkspacePath, check_field};
use crate::AppState;
use crate::auth::{Caller, require_role};
use crate::executor::Job;

#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    /// `github` or `gitlab`.
    pub provider: String,
    pub delivery_id: String,
    pub event: String,
    /// `accepted`, `ignored`, `unsigned`, `forged`, `replayed` or `malformed`.
    pub verdict: String,
    pub detail: String,
    #[schema(format = DateTime)]
    pub received_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
    /// The cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The webhook deliveries of the workspace and their verdicts, newest first.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/deliveries",
    tag = "repositories",
    params(WorkspacePath, PageQuery),
    responses((status = 200, description = "A page of the deliveries", body = DeliveryList)),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
    QueryParams(page): QueryParams<PageQuery>,
) -> ApiResult<Json<DeliveryList>> {
    let workspace = WorkspaceId(path.workspace);
    require_role(&state, &caller, workspace, Role::SuperUser).await?;
    let deliveries = state
        .inner
        .store
        .deliveries(workspace, page.request("deliveries")?)
        .await?;
    Ok(Json(DeliveryList {
        next_cursor: next_cursor("deliveries", &deliveries),
        deliveries: deliveries
            .items
            .into_iter()
            .map(|delivery| DeliveryView {
                provider: delivery.provider,
                delivery_id: delivery.delivery_id,
                event: delivery.event,
                verdict: delivery.verdict,
                detail: delivery.detail,
                received_at: delivery.received_at.to_string(),
            })
            .collect(),
    }))
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "revision": "main" }))]
pub struct StartRun {
    /// A branch, tag or commit (default: the environment's branch).
    #[serde(default)]
    pub revision: Option<String>,
    /// Only the main pipeline can be started; named here, a sub-pipeline is refused.
    #[serde(default)]
    pub pipeline: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EnvironmentPath {
    /// The workspace's id.
    pub(super) workspace: i64,
    /// An environment of the repository's `upkeep.yml`.
    pub(super) environment: String,
}

/// Start the environment's main pipeline by hand.
#[utoipa::path(
    post,
    path = "/workspaces/{workspace}/environments/{environment}/runs",
    tag = "runs",
    params(EnvironmentPath),
    request_body = StartRun,
    responses(
        (status = 202, description = "The run, queued", body = RunView),
        (status = 400, description = "`sub_pipeline`: only the main pipeline can be started; `invalid_field`", body = ErrorBody),
        (status = 409, description = "`no_repository`: the workspace has no repository yet", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn start_run(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(EnvironmentPath {
        workspace,
        environment,
    }): PathParams<EnvironmentPath>,
    Body(request): Body<StartRun>,
) -> ApiResult<(StatusCode, Json<RunView>)> {
    let stored = start(
        &state,
        &caller,
        WorkspaceId(workspace),
        environment,
        request,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(RunView::of(&stored, None))))
}

/// Queues and starts the environment's main pipeline for a member (regular users may run
/// pipelines). Shared by the API and the web UI.
pub async fn start(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
    environment: String,
    request: StartRun,
) -> ApiResult<StoredRun> {
    require_role(state, caller, workspace, Role::RegularUser).await?;
    check_field(
        "environment",
        &environment,
        64,
        environment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')),
    )?;
    let main = RunKind::Pipeline.pipeline_name(&environment);
    if let Some(name) = &request.pipeline
        && name != &main
    {
        let sub = [
            SubPipelineKind::Build,
            SubPipelineKind::QualityGate,
            SubPipelineKind::Deployment,
        ]
        .iter()
        .any(|sub| sub.as_str().eq_ignore_ascii_case(name));
        return Err(ApiError::bad_request(
            "sub_pipeline",
            if sub {
                format!(
                    "`{name}` is a sub-pipeline of `{main}` and cannot be started on its own; start `{main}`"
                )
            } else {
                format!(
                    "environment `{environment}` has no pipeline `{name}`; its pipeline is `{main}`"
                )
            },
        ));
    }
    if let Some(revision) = &request.revision {
        check_field(
            "revision",
            revision,
            255,
            !revision.starts_with('-') && !revision.chars().any(char::is_whitespace),
        )?;
    }
    let store = &state.inner.store;
    let (_, access) = super::repository::connected(state, workspace).await?;
    let run_id = upkeep_runner::new_run_id();
    let dirs = state.inner.executor.dirs(workspace);
    let stored = store
        .queue_run(&NewRun {
            workspace,
            run_id: &run_id,
            environment: &environment,
            kind: RunKind::Pipeline,
            trigger: Trigger::Manual,
            requested_by: Some(caller.account.id),
            commit: None,
            run_dir: &dirs.run_dir(&run_id),
        })
        .await?;
    state.inner.executor.start(Job {
        workspace,
        run_id: run_id.clone(),
        environment,
        revision: request.revision,
        requested_by: caller.account.email.clone(),
        access,
    });
    Ok(stored)
}

/// A run as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct RunView {
    pub run_id: String,
    pub environment: String,
    /// `*** <environment> Pipeline ***`.
    pub pipeline: String,
    /// `queued`, `running`, `waiting_for_approval`, `succeeded`, `failed`, `rejected`,
    /// `cancelled`, `interrupted`, ….
    pub status: String,
    /// `push`, `manual` or `schedule`.
    pub trigger: String,
    /// The commit the run builds, once known.
    pub commit: Option<String>,
    #[schema(format = DateTime)]
    pub queued_at: String,
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
    /// The run's record (stages, steps, gate summary, approval), when it has one yet.
    #[schema(value_type = Option<Object>)]
    pub record: Option<serde_json::Value>,
}

impl RunView {
    fn of(run: &StoredRun, record: Option<&RunRecord>) -> Self {
        Self {
            run_id: run.run_id.as_str().to_string(),
            environment: run.environment.clone(),
            pipeline: RunKind::Pipeline.pipeline_name(&run.environment),
            status: run.status.as_str().to_string(),
            trigger: run.trigger.as_str().to_string(),
            commit: run.commit.clone(),
            queued_at: run.queued_at.to_string(),
            started_at: run.started_at.map(|at| at.to_string()),
            finished_at: run.finished_at.map(|at| at.to_string()),
            record: record.and_then(|record| serde_json::to_value(record).ok()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RunList {
    pub runs: Vec<RunView>,
    /// The cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

impl RunList {
    fn of(page: &upkeep_store::Page<StoredRun>) -> Self {
        Self {
            runs: page
                .items
                .iter()
                .map(|run| RunView::of(run, None))
                .collect(),
            next_cursor: next_cursor("runs", page),
        }
    }
}

/// The runs of an environment, newest first.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/environments/{environment}/runs",
    tag = "runs",
    params(EnvironmentPath, PageQuery),
    responses((status = 200, description = "A page of the runs", body = RunList)),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(EnvironmentPath {
        workspace,
        environment,
    }): PathParams<EnvironmentPath>,
    QueryParams(page): QueryParams<PageQuery>,
) -> ApiResult<Json<RunList>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let runs = state
        .inner
        .store
        .runs_of_environment(workspace, &environment, page.request("runs")?)
        .await?;
    Ok(Json(RunList::of(&runs)))
}

/// The runs of the workspace, all environments, newest first.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/runs",
    tag = "runs",
    params(WorkspacePath, PageQuery),
    responses((status = 200, description = "A page of the runs", body = RunList)),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn workspace_runs(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
    QueryParams(page): QueryParams<PageQuery>,
) -> ApiResult<Json<RunList>> {
    let workspace = WorkspaceId(path.workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let runs = state
        .inner
        .store
        .runs_of_workspace(workspace, page.request("runs")?)
        .await?;
    Ok(Json(RunList::of(&runs)))
}

/// A run of the workspace, and its record when it has one yet.
pub async fn find_run(
    state: &AppState,
    workspace: WorkspaceId,
    run_id: &str,
) -> ApiResult<(StoredRun, Option<RunRecord>)> {
    let run_id: RunId = run_id.parse().map_err(|_| ApiError::not_found("run"))?;
    let stored = state
        .inner
        .store
        .run(&run_id)
        .await?
        .filter(|run| run.workspace == workspace)
        .ok_or_else(|| ApiError::not_found("run"))?;
    // Read as it stands: a record whose process a stop killed reads as interrupted.
    let record =
        upkeep_runner::index::load_current(&state.inner.executor.dirs(workspace).run_dir(&run_id))
            .ok();
    Ok((stored, record))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RunPath {
    /// The workspace's id.
    pub(super) workspace: i64,
    /// The run's id, e.g. `20261201T080000.000Z-00000001`.
    pub(super) run: String,
}

/// A run and its record.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/runs/{run}",
    tag = "runs",
    params(RunPath),
    responses(
        (status = 200, description = "The run", body = RunView),
        (status = 404, description = "`not_found`: no such run in the workspace", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn get_run(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(RunPath { workspace, run }): PathParams<RunPath>,
) -> ApiResult<Json<RunView>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let (stored, record) = find_run(&state, workspace, &run).await?;
    Ok(Json(RunView::of(&stored, record.as_ref())))
}

/// A decision on a waiting run.
#[derive(Serialize, ToSchema)]
pub struct Decided {
    pub run_id: String,
    /// `approved` or `rejected`.
    pub decision: &'static str,
}

/// Approve the deployment a run waits for: it continues with the image it built.
#[utoipa::path(
    post,
    path = "/workspaces/{workspace}/runs/{run}/approve",
    tag = "runs",
    params(RunPath),
    responses(
        (status = 202, description = "Approved; the deployment goes on", body = Decided),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`not_waiting`: the run does not wait for approval", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn approve(
    state: State<AppState>,
    caller: Caller,
    path: PathParams<RunPath>,
) -> ApiResult<(StatusCode, Json<Decided>)> {
    decide(state, caller, path, Decision::Approve).await
}

/// Reject the deployment a run waits for: the run ends `rejected`.
#[utoipa::path(
    post,
    path = "/workspaces/{workspace}/runs/{run}/reject",
    tag = "runs",
    params(RunPath),
    responses(
        (status = 202, description = "Rejected", body = Decided),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`not_waiting`: the run does not wait for approval", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn reject(
    state: State<AppState>,
    caller: Caller,
    path: PathParams<RunPath>,
) -> ApiResult<(StatusCode, Json<Decided>)> {
    decide(state, caller, path, Decision::Reject).await
}

async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(RunPath {
        workspace,
        run: run_id,
    }): PathParams<RunPath>,
    decision: Decision,
) -> ApiResult<(StatusCode, Json<Decided>)> {
    let decided = decide_run(&state, &caller, WorkspaceId(workspace), &run_id, decision).await?;
    Ok((StatusCode::ACCEPTED, Json(decided)))
}

/// Approves or rejects a run that waits for approval (super users), recorded in the audit log.
/// Shared by the API and the web UI.
pub async fn decide_run(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
    run_id: &str,
    decision: Decision,
) -> ApiResult<Decided> {
    require_role(state, caller, workspace, Role::SuperUser).await?;
    let (stored, _) = find_run(state, workspace, run_id).await?;
    if stored.status != RunStatus::WaitingForApproval {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_waiting",
            format!(
                "the run does not wait for approval: it {}",
                stored.status.describe()
            ),
        ));
    }
    let word = match decision {
        Decision::Approve => "approved",
        Decision::Reject => "rejected",
    };
    state
        .inner
        .store
        .record_audit(
            Some(workspace),
            Some(caller.account.id),
            &format!("run.{word}"),
            &format!("{} {word} run {}", caller.account.email, stored.run_id),
        )
        .await?;
    state.inner.executor.decide(
        workspace,
        stored.environment.clone(),
        stored.run_id.clone(),
        decision,
        caller.account.email.clone(),
    );
    Ok(Decided {
        run_id: stored.run_id.as_str().to_string(),
        decision: word,
    })
}

#[derive(Serialize, ToSchema)]
pub struct Cancelling {
    pub run_id: String,
    pub cancelling: bool,
}

/// Stop a queued or running run.
///
/// Members may: whoever may start a run may stop one. The step's process group is stopped and
/// the run ends `cancelled`.
#[utoipa::path(
    post,
    path = "/workspaces/{workspace}/runs/{run}/cancel",
    tag = "runs",
    params(RunPath),
    responses(
        (status = 202, description = "The run is being stopped", body = Cancelling),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`waiting`: it waits for approval (reject it); `not_running`", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(RunPath {
        workspace,
        run: run_id,
    }): PathParams<RunPath>,
) -> ApiResult<(StatusCode, Json<Cancelling>)> {
    let cancelling = cancel_run(&state, &caller, WorkspaceId(workspace), &run_id).await?;
    Ok((StatusCode::ACCEPTED, Json(cancelling)))
}

/// Stops a queued or running run, for the API and the run's page.
pub async fn cancel_run(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
    run_id: &str,
) -> ApiResult<Cancelling> {
    require_role(state, caller, workspace, Role::RegularUser).await?;
    let (stored, _) = find_run(state, workspace, run_id).await?;
    if stored.status == RunStatus::WaitingForApproval {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "waiting",
            "the run waits for approval: a super user rejects it instead",
        ));
    }
    if !state
        .inner
        .executor
        .cancel(&stored.run_id, stored.status)
        .await?
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_running",
            format!("the run does not run: it {}", stored.status.describe()),
        ));
    }
    state
        .inner
        .store
        .record_audit(
            Some(workspace),
            Some(caller.account.id),
            "run.cancelled",
            &format!("{} cancelled run {}", caller.account.email, stored.run_id),
        )
        .await?;
    Ok(Cancelling {
        run_id: stored.run_id.as_str().to_string(),
        cancelling: true,
    })
}

/// Run a finished run again: the same environment and commit, as a new run.
#[utoipa::path(
    post,
    path = "/workspaces/{workspace}/runs/{run}/rerun",
    tag = "runs",
    params(RunPath),
    responses(
        (status = 202, description = "The new run, queued", body = RunView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`not_finished`; `no_repository`", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn rerun(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(RunPath {
        workspace,
        run: run_id,
    }): PathParams<RunPath>,
) -> ApiResult<(StatusCode, Json<RunView>)> {
    let queued = rerun_run(&state, &caller, WorkspaceId(workspace), &run_id).await?;
    Ok((StatusCode::ACCEPTED, Json(RunView::of(&queued, None))))
}

/// Queues a finished run again as a new run of the same commit, for the API and the run's
/// page; the new run.
pub async fn rerun_run(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
    run_id: &str,
) -> ApiResult<StoredRun> {
    require_role(state, caller, workspace, Role::RegularUser).await?;
    let (stored, record) = find_run(state, workspace, run_id).await?;
    if !stored.status.is_final() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_finished",
            format!("the run is not over: it {}", stored.status.describe()),
        ));
    }
    let store = &state.inner.store;
    let (_, access) = super::repository::connected(state, workspace).await?;
    let commit = record.and_then(|record| record.commit).or(stored.commit);
    let new_id = upkeep_runner::new_run_id();
    let dirs = state.inner.executor.dirs(workspace);
    let queued = store
        .queue_run(&NewRun {
            workspace,
            run_id: &new_id,
            environment: &stored.environment,
            kind: RunKind::Pipeline,
            trigger: Trigger::Manual,
            requested_by: Some(caller.account.id),
            commit: commit.as_deref(),
            run_dir: &dirs.run_dir(&new_id),
        })
        .await?;
    state.inner.executor.start(Job {
        workspace,
        run_id: new_id,
        environment: stored.environment.clone(),
        revision: commit,
        requested_by: caller.account.email.clone(),
        access,
    });
    Ok(queued)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LogPath {
    /// The workspace's id.
    workspace: i64,
    /// The run's id.
    run: String,
    /// The stage whose step's log to read: `build`, `gate`, `pre-deploy`, `install`,
    /// `post-deploy`, ….
    stage: String,
}

#[derive(Serialize, ToSchema)]
pub struct LogChunk {
    pub stage: &'static str,
    /// The step's status.
    pub status: &'static str,
    #[serde(flatten)]
    pub log: LogLines,
}

/// The log of a stage's step of a run, relative to the run directory, once the record names it.
fn step_log(
    state: &AppState,
    workspace: WorkspaceId,
    run: &RunId,
    wanted: StageKind,
) -> Option<(std::path::PathBuf, RunStatus)> {
    let run_dir = state.inner.executor.dirs(workspace).run_dir(run);
    let record = RunRecord::load(&run_dir).ok()?;
    record
        .steps()
        .find(|(kind, _)| *kind == wanted)
        .and_then(|(_, step)| {
            let log = step.log.as_ref()?;
            upkeep_runner::logs::confined(&run_dir, log)
                .ok()
                .map(|path| (path, step.status))
        })
}

fn parse_stage(stage: &str) -> ApiResult<StageKind> {
    stage
        .parse()
        .map_err(|message: String| ApiError::invalid_field("stage", message))
}

/// A stage's log: the lines from a byte offset on, the last lines (`tail`), or those before
/// an offset (`before`, `limit`).
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/runs/{run}/logs/{stage}",
    tag = "runs",
    params(LogPath, LogPage),
    responses(
        (status = 200, description = "The lines asked for, where they start (`offset`), where to go on (`next_offset`) and to page back (`previous_offset`)", body = LogChunk),
        (status = 400, description = "`invalid_field`: a bad or clashing `offset`, `tail`, `before` or `limit`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such run, or the stage has no log (yet)", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn log_range(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(LogPath {
        workspace,
        run: run_id,
        stage: stage_name,
    }): PathParams<LogPath>,
    QueryParams(page): QueryParams<LogPage>,
) -> ApiResult<Json<LogChunk>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let kind = parse_stage(&stage_name)?;
    let read = page.read()?;
    let (stored, _) = find_run(&state, workspace, &run_id).await?;
    let Some((path, status)) = step_log(&state, workspace, &stored.run_id, kind) else {
        return Err(ApiError::not_found("log of this stage (yet)"));
    };
    Ok(Json(LogChunk {
        stage: kind.as_str(),
        status: status.as_str(),
        log: read_log(&path, read)?,
    }))
}

/// Follow a stage's log live, as server-sent events.
///
/// Every line from the offset (`Last-Event-ID`, or `?offset=`) on, then new lines as the step
/// writes them, each event's id the offset after it, so a reconnecting client loses and
/// repeats nothing; an `end` event carries the step's result.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/runs/{run}/logs/{stage}/events",
    tag = "runs",
    params(
        LogPath,
        LogRange,
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received: the stream resumes after it"),
    ),
    responses(
        (status = 200, description = "Events: `data` a line as JSON (`time`, `stream`, `text`), `id` the offset after it; then `event: end` with the step's status", content_type = "text/event-stream", body = String),
        (status = 404, description = "`not_found`: no such run", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn log_events(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(LogPath {
        workspace,
        run: run_id,
        stage: stage_name,
    }): PathParams<LogPath>,
    QueryParams(range): QueryParams<LogRange>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let kind = parse_stage(&stage_name)?;
    let resume = range.resume_at(&headers)?;
    let (stored, _) = find_run(&state, workspace, &run_id).await?;
    Ok(live_events(
        StepLog {
            state,
            workspace,
            run: stored.run_id,
            stage: kind,
        },
        resume,
    ))
}

/// A step's log, as a live stream follows it.
struct StepLog {
    state: AppState,
    workspace: WorkspaceId,
    run: RunId,
    stage: StageKind,
}

impl LogSource for StepLog {
    async fn state(&self) -> LogState {
        match step_log(&self.state, self.workspace, &self.run, self.stage) {
            Some((path, RunStatus::Running)) => LogState::Writing(path),
            Some((path, status)) => LogState::Done {
                path: Some(path),
                result: status.as_str().to_string(),
            },
            None if self.run_is_over().await => LogState::Done {
                path: None,
                result: "skipped".to_string(),
            },
            None => LogState::NotYet,
        }
    }
}

impl StepLog {
    /// Whether the run ended without this stage writing a log.
    async fn run_is_over(&self) -> bool {
        self.state
            .inner
            .store
            .run(&self.run)
            .await
            .ok()
            .flatten()
            .is_some_and(|run| {
                !matches!(
                    run.status,
                    RunStatus::Queued | RunStatus::Running | RunStatus::WaitingForApproval
                )
            })
    }
}
