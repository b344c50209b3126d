//! A run's page, provisional until the live run page: its stages and steps with their status
//! and logs (escaped like any text), refreshed while it runs, and Approve / Reject for super
//! users while it waits.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use upkeep_pipeline::log_store::LogStore;
use upkeep_pipeline::record::{RunKind, RunStatus};
use upkeep_runner::Decision;
use upkeep_store::{Role, WorkspaceId};

use super::dashboard::REFRESH_SECONDS;
use super::layout::{Badge, Layout, workspace_of};
use super::request::{Flash, NoFields, Posted, Visitor, redirect};
use super::time::Moment;
use super::{UiResult, render};
use crate::AppState;
use crate::api::runs::{decide_run, find_run};

struct SubPipelineView {
    name: String,
    status: Badge,
    steps: Vec<StepView>,
}

struct StepView {
    stage: String,
    status: Badge,
    log: String,
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    layout: Layout,
    workspace: i64,
    name: String,
    is_super_user: bool,
    run_id: String,
    pipeline: String,
    status: Badge,
    /// The status in a sentence (`waits for approval`).
    described: String,
    waiting: bool,
    trigger: &'static str,
    commit: Option<String>,
    requested_by: Option<String>,
    queued: Moment,
    sub_pipelines: Vec<SubPipelineView>,
    notes: Vec<String>,
}

pub async fn run_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, run_id)): Path<(i64, String)>,
) -> UiResult<Response> {
    let workspace = WorkspaceId(id);
    let (role, name) = workspace_of(&state, &visitor, workspace, Role::RegularUser).await?;
    let (stored, record) = find_run(&state, workspace, &run_id).await?;
    let run_dir = state.inner.executor.dirs(workspace).run_dir(&stored.run_id);
    // The record, once the run has one, knows more than the store (a step's status).
    let status = record
        .as_ref()
        .map_or(stored.status, |record| record.status);
    let sub_pipelines = record
        .as_ref()
        .map(|record| {
            record
                .sub_pipelines
                .iter()
                .map(|sub| SubPipelineView {
                    name: sub.name.to_string(),
                    status: Badge::of(sub.status.as_str()),
                    steps: sub
                        .stages
                        .iter()
                        .flat_map(|stage| stage.steps.iter().map(move |step| (stage, step)))
                        .map(|(stage, step)| StepView {
                            stage: stage.name.to_string(),
                            status: Badge::of(step.status.as_str()),
                            log: step
                                .log
                                .as_ref()
                                .and_then(|log| upkeep_runner::logs::confined(&run_dir, log).ok())
                                .and_then(|path| LogStore::read_from(&path, 0).ok())
                                .map(|(lines, _)| {
                                    lines
                                        .into_iter()
                                        .map(|line| line.text)
                                        .collect::<Vec<_>>()
                                        .join("\n")
                                })
                                .unwrap_or_default(),
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    let running = matches!(status, RunStatus::Queued | RunStatus::Running);
    let pipeline = RunKind::Pipeline.pipeline_name(&stored.environment);
    let page = RunPage {
        layout: Layout::of(&state, &visitor, &pipeline, Some(workspace))
            .await?
            .refreshing(running.then_some(REFRESH_SECONDS)),
        workspace: id,
        name,
        is_super_user: role == Role::SuperUser,
        run_id: stored.run_id.as_str().to_string(),
        pipeline,
        status: Badge::of(status.as_str()),
        described: status.describe().to_string(),
        waiting: stored.status == RunStatus::WaitingForApproval,
        trigger: stored.trigger.as_str(),
        commit: record
            .as_ref()
            .and_then(|record| record.commit.clone())
            .or(stored.commit),
        requested_by: record
            .as_ref()
            .and_then(|record| record.requested_by.clone()),
        queued: Moment::now_relative(stored.queued_at),
        sub_pipelines,
        notes: record.map(|record| record.notes).unwrap_or_default(),
    };
    Ok(render(StatusCode::OK, &page))
}

pub async fn approve(
    state: State<AppState>,
    path: Path<(i64, String)>,
    posted: Posted<NoFields>,
) -> UiResult<Response> {
    decide(state, path, posted, Decision::Approve).await
}

pub async fn reject(
    state: State<AppState>,
    path: Path<(i64, String)>,
    posted: Posted<NoFields>,
) -> UiResult<Response> {
    decide(state, path, posted, Decision::Reject).await
}

async fn decide(
    State(state): State<AppState>,
    Path((id, run_id)): Path<(i64, String)>,
    Posted { visitor, .. }: Posted<NoFields>,
    decision: Decision,
) -> UiResult<Response> {
    let decided = decide_run(&state, &visitor.caller, WorkspaceId(id), &run_id, decision).await?;
    let text = match decision {
        Decision::Approve => "Approved: the deployment goes on with the image this run built.",
        Decision::Reject => "Rejected: nothing is deployed.",
    };
    Ok(redirect(
        &format!("/workspaces/{id}/runs/{}", decided.run_id),
        Some(Flash::notice(text)),
    ))
}
