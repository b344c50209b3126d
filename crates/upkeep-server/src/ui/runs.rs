//! A run's page: the stage graph Build → Quality gate → Approval → Deployment with each
//! stage's status, every step's log from its tail (older lines page in on demand, a running
//! step's lines arrive live over server-sent events, colours rendered, every line numbered and
//! linkable, the raw text downloadable), and the actions a visitor may take: Approve / Reject
//! (super users), Cancel and Re-run (members). The page script follows what runs; the page
//! reloads when the run moves to another stage.

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use upkeep_pipeline::log_store::{LogLine, LogStore, Stream};
use upkeep_pipeline::record::{ApprovalDecision, RunKind, RunRecord, RunStatus, SubPipelineKind};
use upkeep_runner::Decision;
use upkeep_store::{Role, WorkspaceId};

use super::ansi::{Segment, segments};
use super::layout::{Badge, Layout, workspace_of};
use super::request::{Flash, NoFields, Posted, Visitor, redirect};
use super::time::Moment;
use super::{UiError, UiResult, render};
use crate::AppState;
use crate::api::findings::{RunFindings, run_findings};
use crate::api::runs::{cancel_run, decide_run, find_run, rerun_run};

/// How many lines of a step's log the page shows at first: its tail.
const TAIL_LINES: usize = 500;

/// A box of the stage graph.
struct GraphNode {
    name: String,
    status: Badge,
    /// Deployment's stages, shown inside its box.
    parts: Vec<(String, Badge)>,
}

struct StepView {
    /// The stage's name in URLs and line anchors (`install`).
    stage: &'static str,
    sub_pipeline: String,
    status: Badge,
    running: bool,
    duration: Option<String>,
    exit_code: Option<i32>,
    lines: Vec<LineView>,
    /// Where the lines shown start, when earlier lines exist.
    earlier: Option<u64>,
    /// Where the live stream goes on.
    next_offset: u64,
    /// The number the next line gets.
    next_number: u64,
}

struct LineView {
    number: u64,
    /// Standard error, or upkeep's own line.
    class: &'static str,
    segments: Vec<Segment>,
}

/// What members may do to the run now.
struct Actions {
    /// Queued or running: it may be cancelled, and the page follows it.
    cancel: bool,
    /// Over: it may run again.
    rerun: bool,
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    layout: Layout,
    workspace: i64,
    name: String,
    is_super_user: bool,
    run_id: String,
    environment: String,
    pipeline: String,
    status: Badge,
    /// The status as the store has it, and every step's stage and status: the page script
    /// reloads when either changes (the run moved on).
    status_name: &'static str,
    steps_signature: String,
    /// The status in a sentence (`waits for approval`).
    described: String,
    waiting: bool,
    actions: Actions,
    /// `push to main`, `manual by ops@agency.test`.
    started_by: String,
    commit: Option<String>,
    queued: Moment,
    graph: Vec<GraphNode>,
    /// The quality gate's findings by rule, once it ran; or why they cannot be shown.
    findings: Option<Result<RunFindings, String>>,
    steps: Vec<StepView>,
    notes: Vec<String>,
}

/// The graph of a run: its sub-pipelines in order, with the approval before the deployment
/// when the run asked for one.
fn graph(record: &RunRecord, status: RunStatus) -> Vec<GraphNode> {
    let mut nodes = Vec::new();
    for sub in &record.sub_pipelines {
        if sub.name == SubPipelineKind::Deployment
            && let Some(approval) = approval_node(record, status)
        {
            nodes.push(approval);
        }
        let parts = if sub.name == SubPipelineKind::Deployment {
            sub.stages
                .iter()
                .map(|stage| (stage.name.to_string(), Badge::of(stage.status.as_str())))
                .collect()
        } else {
            Vec::new()
        };
        nodes.push(GraphNode {
            name: sub.name.to_string(),
            status: Badge::of(sub.status.as_str()),
            parts,
        });
    }
    // Waiting, the deployment has no record yet: the approval is the last box.
    let has_deployment = record
        .sub_pipelines
        .iter()
        .any(|sub| sub.name == SubPipelineKind::Deployment);
    if !has_deployment && let Some(approval) = approval_node(record, status) {
        nodes.push(approval);
    }
    nodes
}

fn approval_node(record: &RunRecord, status: RunStatus) -> Option<GraphNode> {
    let state = match record.approval.as_ref().map(|approval| approval.decision) {
        Some(ApprovalDecision::Approved) => "approved",
        Some(ApprovalDecision::Rejected) => "rejected",
        Some(ApprovalDecision::Pending) => "waiting_for_approval",
        None if status == RunStatus::WaitingForApproval => "waiting_for_approval",
        None => return None,
    };
    Some(GraphNode {
        name: "Approval".to_string(),
        status: Badge::of(state),
        parts: Vec::new(),
    })
}

fn line_view(number: u64, line: &LogLine) -> LineView {
    LineView {
        number,
        class: match line.stream {
            Stream::Stderr => "err",
            Stream::System => "own",
            Stream::Stdout => "",
        },
        segments: segments(&line.text),
    }
}

/// The tail of a step's log: its last lines with their numbers, where they start and where
/// the log goes on. Read backwards from the end, so that a long log costs what its tail does;
/// the first number comes from counting the line breaks before it.
fn log_tail(path: &std::path::Path) -> (Vec<LineView>, Option<u64>, u64, u64) {
    let Ok((lines, start, end)) = LogStore::read_before(path, u64::MAX, TAIL_LINES) else {
        return (Vec::new(), None, 0, 1);
    };
    let first = lines_before(path, start).map_or(1, |count| count + 1);
    let count = lines.len() as u64;
    let shown = lines
        .iter()
        .enumerate()
        .map(|(index, line)| line_view(first + index as u64, line))
        .collect();
    (shown, (start > 0).then_some(start), end, first + count)
}

/// How many lines end before byte `offset` of a log.
fn lines_before(path: &std::path::Path, offset: u64) -> std::io::Result<u64> {
    use std::io::Read as _;
    let mut reader = std::fs::File::open(path)?.take(offset);
    let mut buffer = vec![0; 64 * 1024];
    let mut count = 0;
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            return Ok(count);
        }
        count += memchr::memchr_iter(b'\n', &buffer[..read]).count() as u64;
    }
}

fn step_views(record: &RunRecord, run_dir: &std::path::Path) -> Vec<StepView> {
    let mut views = Vec::new();
    for sub in &record.sub_pipelines {
        for stage in &sub.stages {
            for step in &stage.steps {
                let path = step
                    .log
                    .as_ref()
                    .and_then(|log| upkeep_runner::logs::confined(run_dir, log).ok());
                let (lines, earlier, next_offset, next_number) = match &path {
                    Some(path) => log_tail(path),
                    None => (Vec::new(), None, 0, 1),
                };
                views.push(StepView {
                    stage: stage.name.as_str(),
                    sub_pipeline: sub.name.to_string(),
                    status: Badge::of(step.status.as_str()),
                    running: step.status == RunStatus::Running,
                    duration: step.duration_ms.map(duration),
                    exit_code: step.exit_code,
                    lines,
                    earlier,
                    next_offset,
                    next_number,
                });
            }
        }
    }
    views
}

/// `build:succeeded,quality-gate:running`: the page script computes the same from the API's
/// record.
fn steps_signature(record: &RunRecord) -> String {
    record
        .steps()
        .map(|(stage, step)| format!("{}:{}", stage.as_str(), step.status.as_str()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Who or what started a run, in words: a push names its branch itself.
fn started_by(trigger: &str, record: Option<&RunRecord>) -> String {
    match record.and_then(|record| record.requested_by.as_deref()) {
        Some(by) if by.starts_with("push to ") => by.to_string(),
        Some(by) => format!("{trigger} by {by}"),
        None => trigger.to_string(),
    }
}

/// `1.2 s`, `3 min 4 s`.
fn duration(milliseconds: u64) -> String {
    let seconds = milliseconds / 1000;
    if seconds < 60 {
        format!("{seconds}.{} s", milliseconds % 1000 / 100)
    } else {
        format!("{} min {} s", seconds / 60, seconds % 60)
    }
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
    let (graph, steps) = record.as_ref().map_or_else(
        || (Vec::new(), Vec::new()),
        |record| (graph(record, stored.status), step_views(record, &run_dir)),
    );
    let findings = match run_findings(&stored, record.as_ref()).await {
        Ok(findings) => Some(Ok(findings)),
        // No gate report (yet, or on an agent): nothing to show beyond the gate's step.
        Err(error) if error.status == StatusCode::NOT_FOUND => None,
        Err(error) => Some(Err(error.message)),
    };
    let pipeline = RunKind::Pipeline.pipeline_name(&stored.environment);
    let page = RunPage {
        layout: Layout::of(&state, &visitor, &pipeline, Some(workspace)).await?,
        workspace: id,
        name,
        is_super_user: role == Role::SuperUser,
        run_id: stored.run_id.as_str().to_string(),
        environment: stored.environment.clone(),
        pipeline,
        status: Badge::of(status.as_str()),
        status_name: stored.status.as_str(),
        steps_signature: record.as_ref().map_or_else(String::new, steps_signature),
        described: status.describe().to_string(),
        waiting: stored.status == RunStatus::WaitingForApproval,
        actions: Actions {
            cancel: matches!(stored.status, RunStatus::Queued | RunStatus::Running),
            rerun: stored.status.is_final(),
        },
        started_by: started_by(stored.trigger.as_str(), record.as_ref()),
        commit: record
            .as_ref()
            .and_then(|record| record.commit.clone())
            .or(stored.commit),
        queued: Moment::now_relative(stored.queued_at),
        graph,
        findings,
        steps,
        notes: record.map(|record| record.notes).unwrap_or_default(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET …/runs/{run}/logs/{stage}/raw`: a step's log as plain text (the lines' text, without
/// times), to download.
pub async fn raw_log(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, run_id, stage_name)): Path<(i64, String, String)>,
) -> UiResult<Response> {
    let workspace = WorkspaceId(id);
    workspace_of(&state, &visitor, workspace, Role::RegularUser).await?;
    let (stored, record) = find_run(&state, workspace, &run_id).await?;
    let run_dir = state.inner.executor.dirs(workspace).run_dir(&stored.run_id);
    let path = record
        .as_ref()
        .and_then(|record| {
            record
                .steps()
                .find(|(kind, _)| kind.as_str() == stage_name)
                .and_then(|(_, step)| step.log.clone())
        })
        .and_then(|log| upkeep_runner::logs::confined(&run_dir, &log).ok())
        .ok_or_else(|| UiError::not_found("log"))?;
    // Read and sent a piece at a time: a log may be large.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(8);
    tokio::task::spawn_blocking(move || send_texts(&path, &sender));
    let body = Body::from_stream(futures_util::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|piece| (piece, receiver)) },
    ));
    let file_name = format!("{}-{stage_name}.log", stored.run_id.as_str());
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// Sends the text of a log's whole lines in pieces of about 64 KiB, until the receiver goes.
fn send_texts(
    path: &std::path::Path,
    sender: &tokio::sync::mpsc::Sender<Result<String, std::io::Error>>,
) {
    use std::io::BufRead as _;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => {
            let _ = sender.blocking_send(Err(error));
            return;
        }
    };
    let mut reader = std::io::BufReader::new(file);
    let (mut record, mut piece) = (String::new(), String::new());
    loop {
        record.clear();
        match reader.read_line(&mut record) {
            // The end, or a line still being written.
            Ok(0) => break,
            Ok(_) if !record.ends_with('\n') => break,
            Ok(_) => {}
            Err(error) => {
                let _ = sender.blocking_send(Err(error));
                return;
            }
        }
        if let Some(line) = LogLine::parse(record.trim_end_matches('\n')) {
            piece.push_str(&line.text);
            piece.push('\n');
        }
        if piece.len() >= 64 * 1024
            && sender
                .blocking_send(Ok(std::mem::take(&mut piece)))
                .is_err()
        {
            return;
        }
    }
    if !piece.is_empty() {
        let _ = sender.blocking_send(Ok(piece));
    }
}

pub async fn cancel(
    State(state): State<AppState>,
    Path((id, run_id)): Path<(i64, String)>,
    Posted { visitor, .. }: Posted<NoFields>,
) -> UiResult<Response> {
    let cancelling = cancel_run(&state, &visitor.caller, WorkspaceId(id), &run_id).await?;
    Ok(redirect(
        &format!("/workspaces/{id}/runs/{}", cancelling.run_id),
        Some(Flash::notice(
            "Cancelling: the step that runs is being stopped.",
        )),
    ))
}

pub async fn rerun(
    State(state): State<AppState>,
    Path((id, run_id)): Path<(i64, String)>,
    Posted { visitor, .. }: Posted<NoFields>,
) -> UiResult<Response> {
    let queued = rerun_run(&state, &visitor.caller, WorkspaceId(id), &run_id).await?;
    Ok(redirect(
        &format!("/workspaces/{id}/runs/{}", queued.run_id.as_str()),
        Some(Flash::notice(
            "Queued again, as a new run of the same commit.",
        )),
    ))
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
