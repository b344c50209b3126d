//! Runs: start an environment's main pipeline, list and read runs, approve or reject a waiting deployment (super users), and read
//! a step's log by byte offset or follow it live (server-sent events that resume from
//! `Last-Event-ID`).

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use serde_json::json;
use upkeep_pipeline::log_store::LogStore;
use upkeep_pipeline::record::{RunId, RunKind, RunRecord, RunStatus, StageKind, SubPipelineKind};
use upkeep_runner::Decision;
use upkeep_store::{
    AuditStore, DeliveryStore, NewRun, Role, RunStore, StoredRun, Trigger, WorkspaceId,
};

use super::error::{ApiError, ApiResult};
use super::{Body, check_field};
use crate::AppState;
use crate::auth::{Caller, require_role};
use crate::executor::Job;

/// The webhook deliveries of a workspace and their verdicts (super users).
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(workspace): Path<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::SuperUser).await?;
    let deliveries = state.inner.store.deliveries(workspace, 100).await?;
    Ok(Json(json!({
        "deliveries": deliveries.iter().map(|delivery| json!({
            "provider": delivery.provider,
            "delivery_id": delivery.delivery_id,
            "event": delivery.event,
            "verdict": delivery.verdict,
            "detail": delivery.detail,
            "received_at": delivery.received_at.to_string(),
        })).collect::<Vec<_>>()
    })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    /// A branch, tag or commit (default: the environment's branch).
    #[serde(default)]
    revision: Option<String>,
    /// Only the main pipeline can be started; named here, a sub-pipeline is refused.
    #[serde(default)]
    pipeline: Option<String>,
}

pub async fn start_run(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, environment)): Path<(i64, String)>,
    Body(request): Body<StartRun>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let workspace = WorkspaceId(workspace);
    // Regular users may run pipelines.
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
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
    let (_, access) = super::repository::connected(&state, workspace).await?;
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
    Ok((StatusCode::ACCEPTED, Json(run_json(&stored, None))))
}

fn run_json(run: &StoredRun, record: Option<&RunRecord>) -> serde_json::Value {
    json!({
        "run_id": run.run_id.as_str(),
        "environment": run.environment,
        "pipeline": RunKind::Pipeline.pipeline_name(&run.environment),
        "status": run.status.as_str(),
        "trigger": run.trigger.as_str(),
        "commit": run.commit,
        "queued_at": run.queued_at.to_string(),
        "started_at": run.started_at.map(|at| at.to_string()),
        "finished_at": run.finished_at.map(|at| at.to_string()),
        "record": record,
    })
}

/// A page of a list: the entries before an id (newest first), at most `limit` (default 20).
#[derive(Deserialize)]
pub struct Page {
    #[serde(default)]
    pub before: Option<i64>,
    #[serde(default)]
    limit: Option<u32>,
}

impl Page {
    /// How many entries the page holds at most (1–100).
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(20).clamp(1, 100)
    }

    /// Where the next page starts (`next_before`), when this one is full.
    pub fn next_before<T>(&self, entries: &[T], id: impl Fn(&T) -> i64) -> Option<i64> {
        (entries.len() == self.limit() as usize)
            .then(|| entries.last().map(id))
            .flatten()
    }
}

pub async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, environment)): Path<(i64, String)>,
    Query(page): Query<Page>,
) -> ApiResult<Json<serde_json::Value>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let runs = state
        .inner
        .store
        .runs_of_environment(workspace, &environment, page.before, page.limit())
        .await?;
    let next = page.next_before(&runs, |run| run.row_id);
    Ok(Json(json!({
        "runs": runs.iter().map(|run| run_json(run, None)).collect::<Vec<_>>(),
        "next_before": next,
    })))
}

/// A run of the workspace, and its record when it has one yet.
async fn find_run(
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

pub async fn get_run(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, run_id)): Path<(i64, String)>,
) -> ApiResult<Json<serde_json::Value>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let (stored, record) = find_run(&state, workspace, &run_id).await?;
    Ok(Json(run_json(&stored, record.as_ref())))
}

pub async fn approve(
    state: State<AppState>,
    caller: Caller,
    path: Path<(i64, String)>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    decide(state, caller, path, Decision::Approve).await
}

pub async fn reject(
    state: State<AppState>,
    caller: Caller,
    path: Path<(i64, String)>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    decide(state, caller, path, Decision::Reject).await
}

async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, run_id)): Path<(i64, String)>,
    decision: Decision,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::SuperUser).await?;
    let (stored, _) = find_run(&state, workspace, &run_id).await?;
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
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "run_id": stored.run_id.as_str(), "decision": word })),
    ))
}

/// Stops a queued or running run (members: whoever may start a run may stop one).
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, run_id)): Path<(i64, String)>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let (stored, _) = find_run(&state, workspace, &run_id).await?;
    if stored.status == RunStatus::WaitingForApproval {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "waiting",
            "the run waits for approval: a super user rejects it instead",
        ));
    }
    if !state.inner.executor.cancel(&stored.run_id, stored.status) {
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
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "run_id": stored.run_id.as_str(), "cancelling": true })),
    ))
}

/// Runs a finished run again: the same environment and the same commit, as a new run.
pub async fn rerun(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, run_id)): Path<(i64, String)>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let (stored, record) = find_run(&state, workspace, &run_id).await?;
    if !stored.status.is_final() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_finished",
            format!("the run is not over: it {}", stored.status.describe()),
        ));
    }
    let store = &state.inner.store;
    let (_, access) = super::repository::connected(&state, workspace).await?;
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
    Ok((StatusCode::ACCEPTED, Json(run_json(&queued, None))))
}

/// Where to read a log from: a byte offset.
#[derive(Deserialize)]
pub struct LogRange {
    #[serde(default)]
    pub offset: u64,
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
        .map_err(|message: String| ApiError::bad_request("invalid_field", message))
}

pub async fn log_range(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, run_id, stage_name)): Path<(i64, String, String)>,
    Query(range): Query<LogRange>,
) -> ApiResult<Json<serde_json::Value>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let kind = parse_stage(&stage_name)?;
    let (stored, _) = find_run(&state, workspace, &run_id).await?;
    let Some((path, status)) = step_log(&state, workspace, &stored.run_id, kind) else {
        return Err(ApiError::not_found("log of this stage (yet)"));
    };
    let mut body = read_log(&path, range.offset)?;
    body["stage"] = json!(kind.as_str());
    body["status"] = json!(status.as_str());
    Ok(Json(body))
}

/// A log from the first whole line at or after `offset`: `offset` (where that line starts),
/// `next_offset` (where to continue) and the `lines`.
pub fn read_log(path: &std::path::Path, offset: u64) -> ApiResult<serde_json::Value> {
    let start = LogStore::line_start_at_or_after(path, offset)
        .map_err(|error| ApiError::internal(&error))?;
    let (lines, next) =
        LogStore::read_from(path, start).map_err(|error| ApiError::internal(&error))?;
    Ok(json!({
        "offset": start,
        "next_offset": next,
        "lines": lines.iter().map(|line| json!({
            "time": line.timestamp.to_string(),
            "stream": line.stream.code().to_string(),
            "text": line.text,
        })).collect::<Vec<_>>(),
    }))
}

/// Follows a step's log: every line from the offset (`Last-Event-ID`, or `?offset=`) on, then
/// new lines as the step writes them, each event's id the offset after it, so a reconnecting
/// client loses and repeats nothing; an `end` event carries the step's result.
pub async fn log_events(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, run_id, stage_name)): Path<(i64, String, String)>,
    Query(range): Query<LogRange>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let kind = parse_stage(&stage_name)?;
    let (stored, _) = find_run(&state, workspace, &run_id).await?;
    let resume = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or(range.offset);
    let follower = Follower {
        state,
        workspace,
        run: stored.run_id,
        stage: kind,
        offset: resume,
        ended: false,
        pending: Vec::new(),
    };
    let events = stream::unfold(follower, |mut follower| async move {
        let event = follower.next().await?;
        Some((Ok(event), follower))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

struct Follower {
    state: AppState,
    workspace: WorkspaceId,
    run: RunId,
    stage: StageKind,
    offset: u64,
    ended: bool,
    pending: Vec<Event>,
}

impl Follower {
    /// The next event, waiting for the step to write; `None` after the end event.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            let found = step_log(&self.state, self.workspace, &self.run, self.stage);
            if let Some((path, status)) = found {
                let start =
                    LogStore::line_start_at_or_after(&path, self.offset).unwrap_or(self.offset);
                if let Ok((lines, next)) = LogStore::read_from(&path, start) {
                    let mut offset = start;
                    let mut events = Vec::new();
                    for line in lines {
                        offset += line.to_string().len() as u64 + 1;
                        events.push(Event::default().id(offset.to_string()).data(line.text));
                    }
                    self.offset = next;
                    if status != RunStatus::Running && events.is_empty() {
                        self.ended = true;
                        events.push(Event::default().event("end").data(status.as_str()));
                    }
                    events.reverse();
                    self.pending = events;
                    if !self.pending.is_empty() {
                        continue;
                    }
                }
            } else if self.run_is_over().await {
                self.ended = true;
                self.pending = vec![Event::default().event("end").data("skipped")];
                continue;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

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
