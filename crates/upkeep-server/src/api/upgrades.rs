//! The Upgrader project of a workspace: its schedule and settings (`…/upgrader`; members read,
//! super users change), "run now" (`POST …/upgrades`, super users: an upgrade pushes a branch
//! and opens a request on the provider, which is more than running a pipeline), and the history
//! of upgrade runs with their report and log (members).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use upkeep_store::{
    AuditStore, DEFAULT_CRON, DEFAULT_TIME_ZONE, RepositoryStore, Role, UpgradeRun,
    UpgradeSchedule, UpgradeStore, UpgradeTrigger, UpgraderSettings, WorkspaceId,
};

use super::error::{ApiError, ApiResult};
use super::runs::{LogRange, Page};
use super::{Body, check_field};
use crate::AppState;
use crate::auth::{Caller, require_role};
use crate::scheduler::next_run;
use crate::upgrader::{self, LOG_FILE, REPORT_FILE, StartError};

fn schedule_json(schedule: &UpgradeSchedule) -> serde_json::Value {
    let next = next_run(schedule)
        .ok()
        .flatten()
        .filter(|_| schedule.settings.enabled);
    json!({
        "enabled": schedule.settings.enabled,
        "cron": schedule.settings.cron,
        "time_zone": schedule.settings.time_zone,
        "next_run_at": next.map(|at| at.to_string()),
        "refresh": schedule.settings.refresh,
        "settings": {
            "max_minor": schedule.settings.max_minor,
            "max_patch": schedule.settings.max_patch,
            "max_groups": schedule.settings.max_groups,
            "reviewers": schedule.settings.reviewers,
            "base_branch": schedule.settings.base_branch,
        },
        "updated_at": schedule.updated_at.to_string(),
    })
}

fn run_json(run: &UpgradeRun) -> serde_json::Value {
    json!({
        "id": run.id,
        "trigger": run.trigger.as_str(),
        "status": run.status.as_str(),
        "summary": run.summary,
        "pull_request": run.pull_request_url.as_ref().map(|url| json!({
            "url": url,
            "number": run.pull_request_number,
        })),
        "applied": run.applied_count,
        "failed_groups": run.failed_groups,
        "queued_at": run.queued_at.to_string(),
        "started_at": run.started_at.map(|at| at.to_string()),
        "finished_at": run.finished_at.map(|at| at.to_string()),
    })
}

/// `GET …/upgrader`: the schedule and settings (members).
pub async fn show_upgrader(
    State(state): State<AppState>,
    caller: Caller,
    Path(workspace): Path<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let store = &state.inner.store;
    let schedule = store
        .ensure_upgrade_schedule(workspace, state.inner.clock.now())
        .await?;
    let mut body = schedule_json(&schedule);
    body["opens_requests"] = json!(
        store
            .repository(workspace)
            .await?
            .is_some_and(|repository| repository.token_sealed.is_some()
                && repository.provider != upkeep_store::Provider::Git)
    );
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpgraderRequest {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    cron: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    refresh: Option<bool>,
    /// Each `null` or missing: as `upkeep.toml` says.
    #[serde(default)]
    settings: OverridesRequest,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OverridesRequest {
    #[serde(default)]
    max_minor: Option<u32>,
    #[serde(default)]
    max_patch: Option<u32>,
    #[serde(default)]
    max_groups: Option<u32>,
    #[serde(default)]
    reviewers: Option<Vec<String>>,
    #[serde(default)]
    base_branch: Option<String>,
}

/// Checks the request field by field, naming what is wrong.
fn validate(request: UpgraderRequest) -> ApiResult<UpgraderSettings> {
    let cron = request.cron.unwrap_or_else(|| DEFAULT_CRON.to_string());
    check_field("cron", &cron, 200, true)?;
    upkeep_upgrade::schedule::Schedule::parse(&cron).map_err(|error| {
        ApiError::bad_request("invalid_field", format!("`cron`: {}", error.reason))
    })?;
    let time_zone = request
        .time_zone
        .unwrap_or_else(|| DEFAULT_TIME_ZONE.to_string());
    check_field("time_zone", &time_zone, 100, true)?;
    if jiff::tz::TimeZone::get(&time_zone).is_err() {
        return Err(ApiError::bad_request(
            "invalid_field",
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
            return Err(ApiError::bad_request(
                "invalid_field",
                format!("`{field}` must be between 1 and 1000"),
            ));
        }
    }
    if let Some(reviewers) = &settings.reviewers {
        if reviewers.len() > 20 {
            return Err(ApiError::bad_request(
                "invalid_field",
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

/// `PUT …/upgrader`: replaces the schedule and settings (super users); fields left out take
/// their defaults, settings left out follow `upkeep.toml`.
pub async fn set_upgrader(
    State(state): State<AppState>,
    caller: Caller,
    Path(workspace): Path<i64>,
    Body(request): Body<UpgraderRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::SuperUser).await?;
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
    Ok(Json(schedule_json(&schedule)))
}

/// `POST …/upgrades`: runs the upgrader now (super users).
pub async fn run_now(
    State(state): State<AppState>,
    caller: Caller,
    Path(workspace): Path<i64>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::SuperUser).await?;
    let run = upgrader::start(
        &state,
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
        StartError::Credentials(error) => ApiError::internal(&error),
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
    Ok((StatusCode::ACCEPTED, Json(run_json(&run))))
}

/// `GET …/upgrades`: the history, newest first (members).
pub async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
    Path(workspace): Path<i64>,
    Query(page): Query<Page>,
) -> ApiResult<Json<serde_json::Value>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let runs = state
        .inner
        .store
        .upgrade_runs(workspace, page.before, page.limit())
        .await?;
    let next = page.next_before(&runs, |run| run.id);
    Ok(Json(json!({
        "upgrades": runs.iter().map(run_json).collect::<Vec<_>>(),
        "next_before": next,
    })))
}

async fn find_run(state: &AppState, workspace: WorkspaceId, id: i64) -> ApiResult<UpgradeRun> {
    state
        .inner
        .store
        .upgrade_run(workspace, id)
        .await?
        .ok_or_else(|| ApiError::not_found("upgrade run"))
}

/// `GET …/upgrades/{id}`: a run with its report — plan, groups applied, failures, majors with
/// their instructions, the request (members).
pub async fn get_run(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, id)): Path<(i64, i64)>,
) -> ApiResult<Json<serde_json::Value>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let run = find_run(&state, workspace, id).await?;
    let report = fs_err::read(run.run_dir.join(REPORT_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
    let mut body = run_json(&run);
    body["report"] = report.unwrap_or(serde_json::Value::Null);
    Ok(Json(body))
}

/// `GET …/upgrades/{id}/log?offset=N`: the run's log from a byte offset, as a pipeline step's
/// (members).
pub async fn log_range(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, id)): Path<(i64, i64)>,
    Query(range): Query<LogRange>,
) -> ApiResult<Json<serde_json::Value>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let run = find_run(&state, workspace, id).await?;
    let path = run.run_dir.join(LOG_FILE);
    if !path.is_file() {
        return Err(ApiError::not_found("log of this upgrade run (yet)"));
    }
    let mut body = super::runs::read_log(&path, range.offset)?;
    body["status"] = json!(run.status.as_str());
    Ok(Json(body))
}
