//! A workspace's dashboard — its projects: the Upgrader and each environment of `upkeep.yml`
//! with its last run, the runs waiting for approval and the latest runs — the list of one's
//! workspaces (where the server's admin creates one), and "Run pipeline".

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use upkeep_pipeline::record::{RunKind, RunStatus};
use upkeep_store::{
    PageRequest, RepositoryStore, Role, RunStore, StoredRun, UpgradeStore, WorkspaceId,
};

use super::layout::{Badge, Layout, workspace_of};
use super::request::{Flash, NoFields, Posted, Visitor, redirect};
use super::session::FormError;
use super::time::Moment;
use super::{UiResult, render};
use crate::AppState;
use crate::api::error::ApiError;
use crate::api::{people, runs};
use crate::environments::{self, Environments};

/// How often a page with something running reloads itself, in seconds.
pub const REFRESH_SECONDS: u32 = 3;

#[derive(Template)]
#[template(path = "workspace/list.html")]
struct WorkspacesPage {
    layout: Layout,
    name: String,
    error: Option<FormError>,
}

async fn workspaces_page_for(
    state: &AppState,
    visitor: &Visitor,
    name: String,
    error: Option<FormError>,
) -> UiResult<WorkspacesPage> {
    Ok(WorkspacesPage {
        layout: Layout::of(state, visitor, "Workspaces", None).await?,
        name,
        error,
    })
}

pub async fn workspaces_page(
    State(state): State<AppState>,
    visitor: Visitor,
) -> UiResult<Response> {
    let page = workspaces_page_for(&state, &visitor, String::new(), None).await?;
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct WorkspaceForm {
    #[serde(default)]
    name: String,
}

pub async fn create_workspace(
    State(state): State<AppState>,
    Posted { visitor, form }: Posted<WorkspaceForm>,
) -> UiResult<Response> {
    match people::create_workspace_as(&state, &visitor.caller, &form.name).await {
        Ok(workspace) => Ok(redirect(
            &format!("/workspaces/{}", workspace.id.0),
            Some(Flash::notice(format!(
                "Workspace {} is created. Next: connect its repository.",
                workspace.name
            ))),
        )),
        Err(error) if error.status == StatusCode::FORBIDDEN => Err(error.into()),
        Err(error) => {
            let status = error.status;
            let page = workspaces_page_for(&state, &visitor, form.name, Some(error.into())).await?;
            Ok(render(status, &page))
        }
    }
}

/// A run in a list.
pub struct RunRow {
    pub run_id: String,
    pub pipeline: String,
    pub status: Badge,
    pub trigger: &'static str,
    pub queued: Moment,
    /// The commit's first 10 characters, once known.
    pub commit: Option<String>,
}

impl RunRow {
    pub fn of(run: &StoredRun) -> Self {
        Self {
            run_id: run.run_id.as_str().to_string(),
            pipeline: RunKind::Pipeline.pipeline_name(&run.environment),
            status: Badge::of(run.status.as_str()),
            trigger: run.trigger.as_str(),
            queued: Moment::now_relative(run.queued_at),
            commit: run
                .commit
                .as_ref()
                .map(|commit| commit.chars().take(10).collect()),
        }
    }
}

struct EnvironmentCard {
    name: String,
    branch: Option<String>,
    approval: bool,
    last_run: Option<RunRow>,
}

struct UpgraderCard {
    next_run: Option<Moment>,
    last: Option<UpgradeRow>,
}

struct UpgradeRow {
    status: Badge,
    summary: String,
    pull_request: Option<String>,
    queued: Moment,
}

/// What the dashboard says about the environments.
enum Projects {
    NoRepository,
    Reading,
    Unreadable(String),
    Known(Vec<EnvironmentCard>),
}

#[derive(Template)]
#[template(path = "workspace/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    workspace: i64,
    name: String,
    is_super_user: bool,
    repository: Option<String>,
    projects: Projects,
    upgrader: UpgraderCard,
    waiting: Vec<RunRow>,
    recent: Vec<RunRow>,
}

pub async fn dashboard(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> UiResult<Response> {
    let workspace = WorkspaceId(id);
    let (role, name) = workspace_of(&state, &visitor, workspace, Role::RegularUser).await?;
    let store = &state.inner.store;
    let repository = store.repository(workspace).await.map_err(ApiError::from)?;
    let projects = match &repository {
        None => Projects::NoRepository,
        Some(repository) => match environments::of_repository(&state, repository).await {
            Environments::Reading => Projects::Reading,
            Environments::Unreadable(reason) => Projects::Unreadable(reason),
            Environments::Known(found) => {
                let mut cards = Vec::with_capacity(found.len());
                for environment in found {
                    let last_run = store
                        .runs_of_environment(workspace, &environment.name, PageRequest::first(1))
                        .await
                        .map_err(ApiError::from)?
                        .items
                        .first()
                        .map(RunRow::of);
                    cards.push(EnvironmentCard {
                        name: environment.name,
                        branch: environment.branch,
                        approval: environment.approval,
                        last_run,
                    });
                }
                Projects::Known(cards)
            }
        },
    };
    let recent_runs = store
        .runs_of_workspace(workspace, PageRequest::first(10))
        .await
        .map_err(ApiError::from)?
        .items;
    let busy = recent_runs
        .iter()
        .any(|run| matches!(run.status, RunStatus::Queued | RunStatus::Running))
        || matches!(projects, Projects::Reading);
    let waiting = recent_runs
        .iter()
        .filter(|run| run.status == RunStatus::WaitingForApproval)
        .map(RunRow::of)
        .collect();
    let schedule = store
        .upgrade_schedule(workspace)
        .await
        .map_err(ApiError::from)?;
    let last_upgrade = store
        .upgrade_runs(workspace, PageRequest::first(1))
        .await
        .map_err(ApiError::from)?
        .items
        .into_iter()
        .next();
    let upgrader = UpgraderCard {
        next_run: schedule
            .filter(|schedule| schedule.settings.enabled)
            .and_then(|schedule| crate::scheduler::next_run(&schedule).ok().flatten())
            .map(Moment::now_relative),
        last: last_upgrade.map(|run| UpgradeRow {
            status: Badge::of(run.status.as_str()),
            summary: run.summary,
            pull_request: run.pull_request_url,
            queued: Moment::now_relative(run.queued_at),
        }),
    };
    let page = DashboardPage {
        layout: Layout::of(&state, &visitor, &name, Some(workspace))
            .await?
            .refreshing(busy.then_some(REFRESH_SECONDS)),
        workspace: id,
        name,
        is_super_user: role == Role::SuperUser,
        repository: repository.map(|repository| repository.url),
        projects,
        upgrader,
        waiting,
        recent: recent_runs.iter().map(RunRow::of).collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// "Run pipeline": the environment's main pipeline, then its run page.
pub async fn run_pipeline(
    State(state): State<AppState>,
    Path((id, environment)): Path<(i64, String)>,
    Posted { visitor, .. }: Posted<NoFields>,
) -> UiResult<Response> {
    let workspace = WorkspaceId(id);
    let started = runs::start(
        &state,
        &visitor.caller,
        workspace,
        environment,
        runs::StartRun::default(),
    )
    .await;
    Ok(match started {
        Ok(run) => redirect(
            &format!("/workspaces/{id}/runs/{}", run.run_id),
            Some(Flash::notice(format!(
                "{} is queued.",
                RunKind::Pipeline.pipeline_name(&run.environment)
            ))),
        ),
        Err(error) if error.status == StatusCode::FORBIDDEN => return Err(error.into()),
        Err(error) => redirect(
            &format!("/workspaces/{id}"),
            Some(Flash::error(error.message)),
        ),
    })
}
