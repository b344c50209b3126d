//! The Upgrader project of a workspace: its schedule and settings (`…/upgrader`; members read,
//! super users change), "run now" (`POST …/upgrades`, super users: an upgrade pushes a branch
//! and opens a request on the provider, which is more than running a pipeline), and the history
//! of upgrade runs with their report and log (members).

use std::convert::Infallible;
use std::path::PathBuf;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use futures_util::stream::Stream;
use serde::{Deserialize, Serialize};
use upkeep_store::{
    AuditStore, DEFAULT_CRON, DEFAULT_TIME_ZONE, RepositoryStore, Role, UpgradeRun,
    UpgradeSchedule, UpgradeStore, UpgradeTrigger, UpgraderSettings, WorkspaceId,
};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult, ErrorBody};
use super::logs::{LogLines, LogPage, LogRange, LogSource, LogState, live_events};
use super::page::{PageQuery, next_cursor};
use super::{Body, PathParams, QueryParams, WorkspacePath, check_field};
use crate::AppState;
use crate::auth::{Caller, require_role};
use crate::scheduler::next_run;
use crate::upgrader::{self, LOG_FILE, REPORT_FILE, StartError};

/// The Upgrader project of a workspace: its schedule and the settings that override
/// `upkeep.toml`'s `[upgrade]` table.
#[derive(Serialize, ToSchema)]
pub struct UpgraderView {
    pub enabled: bool,
    /// Five fields, as cron's (`0 8 * * MON`).
    pub cron: String,
    /// Of the tz database (`Europe/Berlin`).
    pub time_zone: String,
    /// When the schedule fires next; `null` when it is off.
    #[schema(format = DateTime)]
    pub next_run_at: Option<String>,
    /// Whether a run refreshes the previous upgrade's request while it is open (else it is
    /// refused).
    pub refresh: bool,
    pub settings: UpgraderOverrides,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Whether runs can open pull or merge requests (a GitHub or GitLab connection with a
    /// token); in the answer to `GET` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opens_requests: Option<bool>,
}

/// Each `null`: as `upkeep.toml` says.
#[derive(Serialize, ToSchema)]
pub struct UpgraderOverrides {
    pub max_minor: Option<u32>,
    pub max_patch: Option<u32>,
    pub max_groups: Option<u32>,
    pub reviewers: Option<Vec<String>>,
    pub base_branch: Option<String>,
}

impl UpgraderView {
    fn of(schedule: &UpgradeSchedule) -> Self {
        let settings = &schedule.settings;
        let next = next_run(schedule)
            .ok()
            .flatten()
            .filter(|_| settings.enabled);
        Self {
            enabled: settings.enabled,
            cron: settings.cron.clone(),
            time_zone: settings.time_zone.clone(),
            next_run_at: next.map(|at| at.to_string()),
            refresh: settings.refresh,
            settings: UpgraderOverrides {
                max_minor: settings.max_minor,
                max_patch: settings.max_patch,
                max_groups: settings.max_groups,
                reviewers: settings.reviewers.clone(),
                base_branch: settings.base_branch.clone(),
            },
            updated_at: schedule.updated_at.to_string(),
            opens_requests: None,
        }
    }
}

/// An upgrade run as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct UpgradeRunView {
    pub id: i64,
    /// `schedule` or `manual`.
    pub trigger: &'static str,
    /// `queued`, `running`, `succeeded`, `partial`, `refused`, `failed` or `interrupted`.
    pub status: &'static str,
    pub summary: String,
    /// The pull or merge request the run opened or refreshed.
    pub pull_request: Option<PullRequestView>,
    /// How many updates were applied.
    pub applied: i64,
    pub failed_groups: i64,
    #[schema(format = DateTime)]
    pub queued_at: String,
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PullRequestView {
    pub url: String,
    pub number: Option<i64>,
}

impl UpgradeRunView {
    pub(super) fn of(run: &UpgradeRun) -> Self {
        Self {
            id: run.id,
            trigger: run.trigger.as_str(),
            status: run.status.as_str(),
            summary: run.summary.clone(),
            pull_request: run.pull_request_url.as_ref().map(|url| PullRequestView {
                url: url.clone(),
                number: run.pull_request_number,
            }),
            applied: run.applied_count,
            failed_groups: run.failed_groups,
            queued_at: run.queued_at.to_string(),
            started_at: run.started_at.map(|at| at.to_string()),
            finished_at: run.finished_at.map(|at| at.to_string()),
        }
    }
}

/// An upgrade run with its report.
#[derive(Serialize, ToSchema)]
pub struct UpgradeRunDetail {
    #[serde(flatten)]
    pub run: UpgradeRunView,
    /// The plan, the groups applied, the failures, the majors with their instructions and the
    /// request; `null` until the run wrote it.
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct UpgradeList {
    pub upgrades: Vec<UpgradeRunView>,
    /// The cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// An upgrade run's log from a byte offset, and the run's status.
#[derive(Serialize, ToSchema)]
pub struct UpgradeLog {
    pub status: &'static str,
    #[serde(flatten)]
    pub log: LogLines,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UpgradePath {
    /// The workspace's id.
    workspace: i64,
    /// The upgrade run's id.
    id: i64,
}

/// The workspace's upgrader: schedule and settings.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/upgrader",
    tag = "upgrades",
    params(WorkspacePath),
    responses((status = 200, description = "The schedule, its next run and the settings", body = UpgraderView)),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn show_upgrader(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
) -> ApiResult<Json<UpgraderView>> {
    let (schedule, opens_requests) =
        upgrader_of(&state, &caller, WorkspaceId(path.workspace)).await?;
    let mut view = UpgraderView::of(&schedule);
    view.opens_requests = Some(opens_requests);
    Ok(Json(view))
}

/// The workspace's upgrader for a member: its schedule and settings (the defaults until a
/// super user sets them), and whether runs can open pull or merge requests (a GitHub or
/// GitLab connection with a token). Shared by the API and the web UI.
pub async fn upgrader_of(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
) -> ApiResult<(UpgradeSchedule, bool)> {
    require_role(state, caller, workspace, Role::RegularUser).await?;
    let store = &state.inner.store;
    let schedule = store
        .ensure_upgrade_schedule(workspace, state.inner.clock.now())
        .await?;
    let opens_requests = store
        .repository(workspace)
        .await?
        .is_some_and(|repository| {
            repository.token_sealed.is_some() && repository.provider != upkeep_store::Provider::Git
        });
    Ok((schedule, opens_requests))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "cron": "0 8 * * MON",
    "time_zone": "Europe/Berlin",
    "settings": { "max_minor": 10, "reviewers": ["lead-dev"] },
}))]
pub struct UpgraderRequest {
    /// Default `true`.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Default `0 8 * * MON`.
    #[serde(default)]
    pub cron: Option<String>,
    /// Default `UTC`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Default `false`.
    #[serde(default)]
    pub refresh: Option<bool>,
    /// Each `null` or missing: as `upkeep.toml` says.
    #[serde(default)]
    pub settings: OverridesRequest,
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverridesRequest {
    #[serde(default)]
    pub max_minor: Option<u32>,
    #[serde(default)]
    pub max_patch: Option<u32>,
    #[serde(default)]
    pub max_groups: Option<u32>,
    #[serde(default)]
    pub reviewers: Option<Vec<String>>,
    #[serde(default)]
    pub base_branch: Option<String>,
}

/// Checks the request field by field, naming what is wrong.
fn validate(request: UpgraderRequest) -> ApiResult<UpgraderSettings> {
    let cron = request.cron.unwrap_or_else(|| DEFAULT_CRON.to_string());
    check_field("cron", &cron, 200, true)?;
    upkeep_upgrade::schedule::Schedule::parse(&cron)
        .map_err(|error| ApiError::invalid_field("cron", format!("`cron`: {}", error.reason)))?;
    let time_zone = request
        .time_zone
        .unwrap_or_else(|| DEFAULT_TIME_ZONE.to_string());
    check_field("time_zone", &time_zone, 100, true)?;
    if jiff::tz::TimeZone::get(&time_zone).is_err() {
        return Err(ApiError::invalid_field(
            "time_zone",
            format!(
                "`time_zone` `{time_zone}` is not a time zone of the tz database (e.g. `Europe/Berlin`, `UTC`)"
            ),
        ));
    }
    let settings = request.settings;
    for (field, value) in [
        ("settings.max_minor", settings.max_minor),
        ("settings.max_patch", settings.max_patch),
        ("settings.max_groups", settings.max_groups),
    ] {
        if value.is_some_and(|value| !(1..=1000).contains(&value)) {
            return Err(ApiError::invalid_field(
                field,
                format!("`{field}` must be between 1 and 1000"),
            ));
        }
    }
    if let Some(reviewers) = &settings.reviewers {
        if reviewers.len() > 20 {
            return Err(ApiError::invalid_field(
                "settings.reviewers",
                "`settings.reviewers` holds at most 20 names",
            ));
        }
        for login in reviewers {
            check_field(
                "settings.reviewers",
                login,
                100,
                !login.chars().any(|c| c.is_whitespace() || c.is_control()),
            )?;
        }
    }
    if let Some(base) = &settings.base_branch {
        let valid = !base.starts_with('-')
            && !base.contains("..")
            && !base
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c));
        check_field("settings.base_branch", base, 255, valid)?;
    }
    Ok(UpgraderSettings {
        enabled: request.enabled.unwrap_or(true),
        cron,
        time_zone,
        refresh: request.refresh.unwrap_or(false),
        max_minor: settings.max_minor,
        max_patch: settings.max_patch,
        max_groups: settings.max_groups,
        reviewers: settings.reviewers,
        base_branch: settings.base_branch,
    })
}

/// Replace the upgrader's schedule and settings.
///
/// Fields left out take their defaults; settings left out follow `upkeep.toml`.
#[utoipa::path(
    put,
    path = "/workspaces/{workspace}/upgrader",
    tag = "upgrades",
    params(WorkspacePath),
    request_body = UpgraderRequest,
    responses((status = 200, description = "The schedule and settings as set", body = UpgraderView)),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn set_upgrader(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
    Body(request): Body<UpgraderRequest>,
) -> ApiResult<Json<UpgraderView>> {
    let schedule = save_upgrader(&state, &caller, WorkspaceId(path.workspace), request).await?;
    Ok(Json(UpgraderView::of(&schedule)))
}

/// Replaces the upgrader's schedule and settings (super users) after checking them field by
/// field, and records it in the audit log. Shared by the API and the web UI.
pub async fn save_upgrader(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
    request: UpgraderRequest,
) -> ApiResult<UpgradeSchedule> {
    require_role(state, caller, workspace, Role::SuperUser).await?;
    let update = validate(request)?;
    let store = &state.inner.store;
    let schedule = store
        .set_upgrade_schedule(
            workspace,
            &update,
            caller.account.id,
            state.inner.clock.now(),
        )
        .await?;
    store
        .record_audit(
            Some(workspace),
            Some(caller.account.id),
            "upgrader.changed",
            &format!(
                "{} set the upgrader to `{}` in {}{}{}",
                caller.account.email,
                schedule.settings.cron,
                schedule.settings.time_zone,
                if schedule.settings.enabled {
                    ""
                } else {
                    " (off)"
                },
                if schedule.settings.refresh {
                    ", refreshing an open request"
                } else {
                    ""
                }
            ),
        )
        .await?;
    Ok(schedule)
}

/// Run the upgrader now.
///
/// An upgrade pushes a branch and opens a request on the provider, which is more than running
/// a pipeline: super users only.
#[utoipa::path(
    post,
    path = "/workspaces/{workspace}/upgrades",
    tag = "upgrades",
    params(WorkspacePath),
    responses(
        (status = 202, description = "The upgrade run, queued", body = UpgradeRunView),
        (status = 409, description = "`no_repository`; `no_forge`: the repository is not on GitHub or GitLab with a token; `upgrade_running`", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn run_now(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
) -> ApiResult<(StatusCode, Json<UpgradeRunView>)> {
    let run = start_now(&state, &caller, WorkspaceId(path.workspace)).await?;
    Ok((StatusCode::ACCEPTED, Json(UpgradeRunView::of(&run))))
}

/// Queues an upgrade run by hand (super users) and records it in the audit log. Shared by the
/// API and the web UI.
pub async fn start_now(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
) -> ApiResult<UpgradeRun> {
    require_role(state, caller, workspace, Role::SuperUser).await?;
    let run = upgrader::start(
        state,
        workspace,
        UpgradeTrigger::Manual,
        Some(caller.account.id),
    )
    .await
    .map_err(|error| match error {
        StartError::NoRepository => {
            ApiError::new(StatusCode::CONFLICT, "no_repository", error.to_string())
        }
        StartError::NoForge => ApiError::new(StatusCode::CONFLICT, "no_forge", error.to_string()),
        StartError::Running(_) => {
            ApiError::new(StatusCode::CONFLICT, "upgrade_running", error.to_string())
        }
        StartError::Store(error) => error.into(),
        StartError::Credentials(error) => super::repository::access_error(error),
    })?;
    state
        .inner
        .store
        .record_audit(
            Some(workspace),
            Some(caller.account.id),
            "upgrade.started",
            &format!("{} started upgrade run {}", caller.account.email, run.id),
        )
        .await?;
    Ok(run)
}

/// The history of upgrade runs, newest first.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/upgrades",
    tag = "upgrades",
    params(WorkspacePath, PageQuery),
    responses((status = 200, description = "A page of the upgrade runs", body = UpgradeList)),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
    QueryParams(page): QueryParams<PageQuery>,
) -> ApiResult<Json<UpgradeList>> {
    let workspace = WorkspaceId(path.workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let runs = state
        .inner
        .store
        .upgrade_runs(workspace, page.request("upgrades")?)
        .await?;
    Ok(Json(UpgradeList {
        upgrades: runs.items.iter().map(UpgradeRunView::of).collect(),
        next_cursor: next_cursor("upgrades", &runs),
    }))
}

/// An upgrade run of the workspace.
pub async fn find_run(state: &AppState, workspace: WorkspaceId, id: i64) -> ApiResult<UpgradeRun> {
    state
        .inner
        .store
        .upgrade_run(workspace, id)
        .await?
        .ok_or_else(|| ApiError::not_found("upgrade run"))
}

/// An upgrade run with its report.
///
/// The report holds the plan, the groups applied, the failures, the majors with their
/// instructions and the request.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/upgrades/{id}",
    tag = "upgrades",
    params(UpgradePath),
    responses(
        (status = 200, description = "The run and its report", body = UpgradeRunDetail),
        (status = 404, description = "`not_found`: no such upgrade run in this workspace", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn get_run(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(UpgradePath { workspace, id }): PathParams<UpgradePath>,
) -> ApiResult<Json<UpgradeRunDetail>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let run = find_run(&state, workspace, id).await?;
    let report = fs_err::read(run.run_dir.join(REPORT_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
    Ok(Json(UpgradeRunDetail {
        run: UpgradeRunView::of(&run),
        report,
    }))
}

/// An upgrade run's log, as a pipeline step's: from a byte offset on, the last lines (`tail`),
/// or those before an offset (`before`, `limit`).
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/upgrades/{id}/log",
    tag = "upgrades",
    params(UpgradePath, LogPage),
    responses(
        (status = 200, description = "The whole lines asked for, where they start, where to continue and where to page back from", body = UpgradeLog),
        (status = 400, description = "`invalid_field`: a bad or clashing `offset`, `tail`, `before` or `limit`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such upgrade run, or no log yet", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn log_range(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(UpgradePath { workspace, id }): PathParams<UpgradePath>,
    QueryParams(page): QueryParams<LogPage>,
) -> ApiResult<Json<UpgradeLog>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let read = page.read()?;
    let run = find_run(&state, workspace, id).await?;
    let path = run.run_dir.join(LOG_FILE);
    if !path.is_file() {
        return Err(ApiError::not_found("log of this upgrade run (yet)"));
    }
    Ok(Json(UpgradeLog {
        status: run.status.as_str(),
        log: super::logs::read_log(&path, read)?,
    }))
}

/// Follow an upgrade run's log live, as server-sent events.
///
/// As a pipeline step's: every line from the offset (`Last-Event-ID`, or `?offset=`) on, then
/// new lines as the upgrader writes them, each event's id the offset after it; an `end` event
/// carries the run's status.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/upgrades/{id}/log/events",
    tag = "upgrades",
    params(
        UpgradePath,
        LogRange,
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received: the stream resumes after it"),
    ),
    responses(
        (status = 200, description = "Events: `data` a line as JSON (`time`, `stream`, `text`), `id` the offset after it; then `event: end` with the run's status", content_type = "text/event-stream", body = String),
        (status = 404, description = "`not_found`: no such upgrade run in this workspace", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn log_events(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(UpgradePath { workspace, id }): PathParams<UpgradePath>,
    QueryParams(range): QueryParams<LogRange>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let resume = range.resume_at(&headers)?;
    let run = find_run(&state, workspace, id).await?;
    Ok(live_events(
        UpgradeLogSource {
            state,
            workspace,
            id,
            path: run.run_dir.join(LOG_FILE),
        },
        resume,
    ))
}

/// An upgrade run's log, as a live stream follows it.
struct UpgradeLogSource {
    state: AppState,
    workspace: WorkspaceId,
    id: i64,
    path: PathBuf,
}

impl LogSource for UpgradeLogSource {
    async fn state(&self) -> LogState {
        let run = self
            .state
            .inner
            .store
            .upgrade_run(self.workspace, self.id)
            .await;
        let written = self.path.is_file().then(|| self.path.clone());
        match run {
            Ok(Some(run)) if run.status.is_final() => LogState::Done {
                path: written,
                result: run.status.as_str().to_string(),
            },
            // Gone, or the database does not answer: keep waiting rather than end the stream
            // with a result that is not one.
            Ok(_) | Err(_) => written.map_or(LogState::NotYet, LogState::Writing),
        }
    }
}
