//! The Upgrader project's pages: its next scheduled run, "Run now" and the schedule and
//! settings form (super users; checked by the API's own function, whose errors show at the
//! field they name), the history of upgrade runs a page at a time, and a run's page with its
//! plan, the groups applied and those that failed with Composer's text, the majors left to do
//! with where their upgrade is explained, the pull or merge request, and its log. Pages with a
//! run not over yet reload themselves.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use upkeep_pipeline::log_store::{LogStore, Stream};
use upkeep_store::{
    RepositoryStore, Role, UpgradeRun, UpgradeStore, UpgraderSettings, WorkspaceId,
};
use upkeep_upgrade::pull_request::{AppliedUpdate, FailedGroup};

use super::dashboard::REFRESH_SECONDS;
use super::layout::{Badge, Layout, Pager, account_names, workspace_of};
use super::request::{Asked, Flash, NoFields, Posted, Visitor, redirect};
use super::session::FormError;
use super::time::{Moment, duration};
use super::{UiResult, render};
use crate::AppState;
use crate::api::error::ApiError;
use crate::api::page::PageQuery;
use crate::api::upgrades::{
    OverridesRequest, UpgraderRequest, find_run, save_upgrader, start_now, upgrader_of,
};
use crate::auth::require_role;
use crate::upgrader::{LOG_FILE, MajorReport, UpgradeReportFile};

/// The most log lines a run's page shows: the tail, where a run ends.
const LOG_LINES_SHOWN: usize = 2_000;

/// The settings form's fields, as text (as the form was sent, or from the stored settings).
#[derive(Default)]
struct SettingsValues {
    enabled: bool,
    cron: String,
    time_zone: String,
    refresh: bool,
    max_minor: String,
    max_patch: String,
    max_groups: String,
    reviewers: String,
    base_branch: String,
}

/// Whether the repository's connection lets runs open requests.
#[derive(PartialEq, Eq)]
enum Connection {
    NoRepository,
    /// Plain git, or no token: nothing can open a request.
    NoForge,
    OpensRequests,
}

/// An upgrade run in the history.
struct UpgradeRow {
    id: i64,
    status: Badge,
    trigger: &'static str,
    who: Option<String>,
    queued: Moment,
    took: Option<String>,
    summary: String,
    pull_request: Option<RequestLink>,
}

struct RequestLink {
    url: String,
    number: Option<i64>,
}

#[derive(Template)]
#[template(path = "workspace/upgrader.html")]
struct UpgraderPage {
    layout: Layout,
    workspace: i64,
    name: String,
    is_super_user: bool,
    connection: Connection,
    enabled: bool,
    /// The settings as they are.
    current: SettingsValues,
    next_run: Option<Moment>,
    /// The next run in the schedule's time zone (`Monday 2026-11-23 08:00 Europe/Berlin`).
    next_run_local: Option<String>,
    /// The form's fields: the settings as they are, or as sent with an error.
    values: SettingsValues,
    error: Option<FormError>,
    /// A run that is not over yet.
    active: Option<i64>,
    history: Vec<UpgradeRow>,
    pager: Pager,
}

impl SettingsValues {
    fn of(settings: &UpgraderSettings) -> Self {
        let limit = |value: Option<u32>| value.map(|value| value.to_string()).unwrap_or_default();
        Self {
            enabled: settings.enabled,
            cron: settings.cron.clone(),
            time_zone: settings.time_zone.clone(),
            refresh: settings.refresh,
            max_minor: limit(settings.max_minor),
            max_patch: limit(settings.max_patch),
            max_groups: limit(settings.max_groups),
            reviewers: match &settings.reviewers {
                None => String::new(),
                Some(reviewers) if reviewers.is_empty() => NOBODY.to_string(),
                Some(reviewers) => reviewers.join(", "),
            },
            base_branch: settings.base_branch.clone().unwrap_or_default(),
        }
    }
}

/// The upgrader's page with its settings form as stored, its history's page as `query` asks.
async fn upgrader_page_for(
    state: &AppState,
    visitor: &Visitor,
    workspace: WorkspaceId,
    query: &PageQuery,
) -> UiResult<UpgraderPage> {
    let (role, name) = workspace_of(state, visitor, workspace, Role::RegularUser).await?;
    let (schedule, opens_requests) = upgrader_of(state, &visitor.caller, workspace).await?;
    let store = &state.inner.store;
    let connection = if opens_requests {
        Connection::OpensRequests
    } else if store
        .repository(workspace)
        .await
        .map_err(ApiError::from)?
        .is_some()
    {
        Connection::NoForge
    } else {
        Connection::NoRepository
    };
    let settings = &schedule.settings;
    let next = crate::scheduler::next_run(&schedule)
        .ok()
        .flatten()
        .filter(|_| settings.enabled);
    let next_run_local = next.and_then(|at| {
        let zone = jiff::tz::TimeZone::get(&settings.time_zone).ok()?;
        Some(format!(
            "{} {}",
            at.to_zoned(zone).strftime("%A %Y-%m-%d %H:%M"),
            settings.time_zone
        ))
    });
    let runs = store
        .upgrade_runs(workspace, query.request("upgrades")?)
        .await
        .map_err(ApiError::from)?;
    let path = format!("/workspaces/{}/upgrader", workspace.0);
    let pager = Pager::of(&path, "#history", "upgrades", query, &runs);
    let requesters = runs.items.iter().filter_map(|run| run.requested_by);
    let names = account_names(state, requesters.collect()).await?;
    // The newest run comes first: if any is not over, it is.
    let active = runs
        .items
        .iter()
        .find(|run| !run.status.is_final())
        .map(|run| run.id);
    let history = runs
        .items
        .iter()
        .map(|run| UpgradeRow {
            id: run.id,
            status: Badge::of(run.status.as_str()),
            trigger: run.trigger.as_str(),
            who: run
                .requested_by
                .and_then(|account| names.get(&account).cloned()),
            queued: Moment::now_relative(run.queued_at),
            took: took(run),
            summary: run.summary.clone(),
            pull_request: request_link(run),
        })
        .collect();
    Ok(UpgraderPage {
        layout: Layout::of(
            state,
            visitor,
            &format!("Upgrader of {name}"),
            Some(workspace),
        )
        .await?
        .refreshing(active.map(|_| REFRESH_SECONDS)),
        workspace: workspace.0,
        name,
        is_super_user: role == Role::SuperUser,
        connection,
        enabled: settings.enabled,
        next_run: next.map(Moment::now_relative),
        next_run_local,
        current: SettingsValues::of(settings),
        values: SettingsValues::of(settings),
        error: None,
        active,
        history,
        pager,
    })
}

fn took(run: &UpgradeRun) -> Option<String> {
    run.started_at
        .zip(run.finished_at)
        .map(|(started, finished)| duration(started, finished))
}

fn request_link(run: &UpgradeRun) -> Option<RequestLink> {
    run.pull_request_url.as_ref().map(|url| RequestLink {
        url: url.clone(),
        number: run.pull_request_number,
    })
}

pub async fn upgrader_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Asked(query): Asked<PageQuery>,
) -> UiResult<Response> {
    let page = upgrader_page_for(&state, &visitor, WorkspaceId(id), &query).await?;
    Ok(render(StatusCode::OK, &page))
}

/// What the reviewers field holds for "nobody" (blank: as `upkeep.toml` says). No GitHub or
/// GitLab account is called `-`.
const NOBODY: &str = "-";

/// The settings form. The limits' and overrides' inputs are named as the API names their
/// fields (`settings.max_minor`), so that an error naming one shows beside it.
#[derive(Deserialize)]
pub struct UpgraderForm {
    enabled: Option<String>,
    #[serde(default)]
    cron: String,
    #[serde(default)]
    time_zone: String,
    refresh: Option<String>,
    #[serde(default, rename = "settings.max_minor")]
    max_minor: String,
    #[serde(default, rename = "settings.max_patch")]
    max_patch: String,
    #[serde(default, rename = "settings.max_groups")]
    max_groups: String,
    #[serde(default, rename = "settings.reviewers")]
    reviewers: String,
    #[serde(default, rename = "settings.base_branch")]
    base_branch: String,
}

fn limit(field: &str, text: &str) -> Result<Option<u32>, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        ApiError::invalid_field(
            field,
            format!("`{field}` must be a whole number between 1 and 1000, or blank"),
        )
    })
}

impl UpgraderForm {
    /// The API's request: blank limits and overrides follow `upkeep.toml`.
    fn request(&self) -> Result<UpgraderRequest, ApiError> {
        let reviewers = match self.reviewers.trim() {
            "" => None,
            NOBODY => Some(Vec::new()),
            list => Some(
                list.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|login| !login.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
        };
        let base_branch = self.base_branch.trim();
        Ok(UpgraderRequest {
            enabled: Some(self.enabled.is_some()),
            cron: Some(self.cron.trim().to_string()),
            time_zone: Some(self.time_zone.trim().to_string()),
            refresh: Some(self.refresh.is_some()),
            settings: OverridesRequest {
                max_minor: limit("settings.max_minor", &self.max_minor)?,
                max_patch: limit("settings.max_patch", &self.max_patch)?,
                max_groups: limit("settings.max_groups", &self.max_groups)?,
                reviewers,
                base_branch: (!base_branch.is_empty()).then(|| base_branch.to_string()),
            },
        })
    }

    fn values(self) -> SettingsValues {
        SettingsValues {
            enabled: self.enabled.is_some(),
            cron: self.cron,
            time_zone: self.time_zone,
            refresh: self.refresh.is_some(),
            max_minor: self.max_minor,
            max_patch: self.max_patch,
            max_groups: self.max_groups,
            reviewers: self.reviewers,
            base_branch: self.base_branch,
        }
    }
}

pub async fn save_settings(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted { visitor, form }: Posted<UpgraderForm>,
) -> UiResult<Response> {
    let workspace = WorkspaceId(id);
    // The role first: a regular user's post is refused whatever it holds.
    require_role(&state, &visitor.caller, workspace, Role::SuperUser).await?;
    let saved = match form.request() {
        Ok(request) => save_upgrader(&state, &visitor.caller, workspace, request).await,
        Err(error) => Err(error),
    };
    match saved {
        Ok(schedule) => Ok(redirect(
            &format!("/workspaces/{id}/upgrader"),
            Some(Flash::notice(if schedule.settings.enabled {
                format!(
                    "The upgrader runs at `{}` in {} from now on.",
                    schedule.settings.cron, schedule.settings.time_zone
                )
            } else {
                "The schedule is off: the upgrader runs only when someone presses “Run now”."
                    .to_string()
            })),
        )),
        Err(error) if error.status == StatusCode::FORBIDDEN => Err(error.into()),
        Err(error) => {
            let status = error.status;
            let mut page =
                upgrader_page_for(&state, &visitor, workspace, &PageQuery::default()).await?;
            page.values = form.values();
            page.error = Some(error.into());
            Ok(render(status, &page))
        }
    }
}

/// "Run now": through the same function as `POST …/upgrades`, then the run's page.
pub async fn run_now(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted { visitor, .. }: Posted<NoFields>,
) -> UiResult<Response> {
    Ok(
        match start_now(&state, &visitor.caller, WorkspaceId(id)).await {
            Ok(run) => redirect(
                &format!("/workspaces/{id}/upgrades/{}", run.id),
                Some(Flash::notice(format!(
                    "Upgrade run {} is queued: this page follows it.",
                    run.id
                ))),
            ),
            Err(error) if error.status == StatusCode::FORBIDDEN => return Err(error.into()),
            Err(error) => redirect(
                &format!("/workspaces/{id}/upgrader"),
                Some(Flash::error(error.message)),
            ),
        },
    )
}

/// A package of the plan, as the run's page lists it.
struct PlanRow {
    name: String,
    locked: String,
    to: Option<String>,
    update: &'static str,
    major: Option<String>,
    security: bool,
    advisories: Vec<String>,
    group: Option<String>,
    reason: String,
}

struct AppliedGroup {
    name: String,
    updates: Vec<AppliedUpdate>,
}

struct LogLineView {
    /// `o`, `e` or `s`, for its colour.
    stream: char,
    text: String,
}

#[derive(Template)]
#[template(path = "workspace/upgrade.html")]
struct UpgradeRunPage {
    layout: Layout,
    workspace: i64,
    name: String,
    id: i64,
    status: Badge,
    described: &'static str,
    running: bool,
    trigger: &'static str,
    who: Option<String>,
    queued: Moment,
    took: Option<String>,
    summary: String,
    pull_request: Option<RequestLink>,
    /// Whether the run wrote its report.
    reported: bool,
    branch: Option<String>,
    plan: Vec<PlanRow>,
    /// Packages of the plan with nothing to do.
    up_to_date: usize,
    applied: Vec<AppliedGroup>,
    failed: Vec<FailedGroup>,
    majors: Vec<MajorReport>,
    new_findings: Vec<String>,
    gate_problem: Option<String>,
    deferred: Vec<String>,
    log: Vec<LogLineView>,
    /// Earlier lines the page leaves out.
    log_left_out: usize,
}

fn described(status: &str) -> &'static str {
    match status {
        "queued" => "waits for its turn",
        "running" => "is running",
        "succeeded" => "updated everything it planned",
        "partial" => "updated some groups; others could not be",
        "refused" => "did not start",
        "interrupted" => "was cut off by a stop of the server",
        _ => "failed",
    }
}

impl UpgradeRunPage {
    /// What the run's report says: the plan's packages with something to do, the groups
    /// applied and failed, the majors, the gate and the request.
    fn fill_from(&mut self, report: UpgradeReportFile) {
        let (planned, up_to_date): (Vec<_>, Vec<_>) = report
            .plan
            .packages
            .into_iter()
            .partition(|package| package.needs_action() || package.major.is_some());
        self.up_to_date = up_to_date.len();
        self.plan = planned
            .into_iter()
            .map(|package| PlanRow {
                name: package.name,
                locked: package.locked,
                to: package.to,
                update: package.update.as_str(),
                major: package.major,
                security: package.security,
                advisories: package.advisories,
                group: package.group,
                reason: package.reason,
            })
            .collect();
        if let Some(outcome) = report.outcome {
            // Groups in the order they were applied.
            for update in outcome.applied {
                match self
                    .applied
                    .iter_mut()
                    .find(|group| group.name == update.group)
                {
                    Some(group) => group.updates.push(update),
                    None => self.applied.push(AppliedGroup {
                        name: update.group.clone(),
                        updates: vec![update],
                    }),
                }
            }
            self.failed = outcome.failed_groups;
            self.majors = outcome.majors;
            self.new_findings = outcome.new_findings;
            self.gate_problem = outcome.gate_problem;
            self.deferred = outcome.deferred;
            self.branch = Some(outcome.branch);
            // The report knows the request's number when the store's row does not.
            if self.pull_request.is_none() {
                self.pull_request = outcome.pull_request.map(|request| RequestLink {
                    url: request.url,
                    number: i64::try_from(request.number).ok(),
                });
            }
        }
    }
}

pub async fn upgrade_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, run_id)): Path<(i64, i64)>,
) -> UiResult<Response> {
    let workspace = WorkspaceId(id);
    let (_, name) = workspace_of(&state, &visitor, workspace, Role::RegularUser).await?;
    let run = find_run(&state, workspace, run_id).await?;
    let run_dir = run.run_dir.clone();
    let (report, lines) = tokio::task::spawn_blocking(move || {
        let lines = LogStore::read_from(&run_dir.join(LOG_FILE), 0)
            .map(|(lines, _)| lines)
            .unwrap_or_default();
        (UpgradeReportFile::read(&run_dir), lines)
    })
    .await
    .map_err(|error| ApiError::internal(&error))?;
    let log_left_out = lines.len().saturating_sub(LOG_LINES_SHOWN);
    let log = lines
        .into_iter()
        .skip(log_left_out)
        .map(|line| LogLineView {
            stream: match line.stream {
                Stream::Stdout => 'o',
                Stream::Stderr => 'e',
                Stream::System => 's',
            },
            text: line.text,
        })
        .collect();
    let names = account_names(&state, run.requested_by.into_iter().collect()).await?;
    let running = !run.status.is_final();
    let mut page = UpgradeRunPage {
        layout: Layout::of(
            &state,
            &visitor,
            &format!("Upgrade run {}", run.id),
            Some(workspace),
        )
        .await?
        .refreshing(running.then_some(REFRESH_SECONDS)),
        workspace: id,
        name,
        id: run.id,
        status: Badge::of(run.status.as_str()),
        described: described(run.status.as_str()),
        running,
        trigger: run.trigger.as_str(),
        who: run
            .requested_by
            .and_then(|account| names.get(&account).cloned()),
        queued: Moment::now_relative(run.queued_at),
        took: took(&run),
        summary: run.summary.clone(),
        pull_request: request_link(&run),
        reported: report.is_some(),
        branch: None,
        plan: Vec::new(),
        up_to_date: 0,
        applied: Vec::new(),
        failed: Vec::new(),
        majors: Vec::new(),
        new_findings: Vec::new(),
        gate_problem: None,
        deferred: Vec::new(),
        log,
        log_left_out,
    };
    if let Some(report) = report {
        page.fill_from(report);
    }
    Ok(render(StatusCode::OK, &page))
}
