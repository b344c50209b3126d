//! An environment's page: its main pipeline `*** <env> Pipeline ***` as `upkeep.yml` on the
//! default branch declares it (branch, deploy type, approval), its runs a page at a time
//! (status, trigger, who, the commit linked to the forge when the repository is on GitHub or
//! GitLab, duration, when), "Run pipeline" for every member, and for super users the
//! environment's own variables and secrets.

use std::path::PathBuf;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use upkeep_forge::{ForgeKind, RemoteRepository};
use upkeep_pipeline::record::{RunKind, RunStatus};
use upkeep_runner::index::load_current;
use upkeep_store::{Provider, Repository, RepositoryStore, Role, RunStore, WorkspaceId};

use super::dashboard::{REFRESH_SECONDS, RunRow};
use super::layout::{Layout, Pager, account_names, workspace_of};
use super::request::{Asked, Visitor};
use super::time::duration;
use super::variables::VariablesSection;
use super::{UiError, UiResult, render};
use crate::AppState;
use crate::api::error::ApiError;
use crate::api::page::PageQuery;
use crate::api::variables::environment_scope;
use crate::environments::{self, EnvironmentSummary, Environments};

/// What `upkeep.yml` on the default branch says of the environment.
enum Declared {
    NoRepository,
    Reading,
    Unreadable(String),
    /// Not (or no longer) in `upkeep.yml`; its earlier runs remain.
    Missing,
    Known(EnvironmentSummary),
}

struct HistoryRow {
    run: RunRow,
    /// Who started it by hand.
    who: Option<String>,
    /// The commit's page on the forge.
    commit_url: Option<String>,
    /// From start to end, once it ended.
    took: Option<String>,
}

#[derive(Template)]
#[template(path = "workspace/environment.html")]
pub struct EnvironmentPage {
    layout: Layout,
    workspace: i64,
    name: String,
    environment: String,
    pipeline: String,
    declared: Declared,
    runs: Vec<HistoryRow>,
    pager: Pager,
    /// The environment's own variables; for super users only.
    pub variables: Option<VariablesSection>,
}

/// The environment's page, its runs' page as `query` asks.
pub async fn environment_page_for(
    state: &AppState,
    visitor: &Visitor,
    workspace: WorkspaceId,
    environment: String,
    query: &PageQuery,
) -> UiResult<EnvironmentPage> {
    let (role, name) = workspace_of(state, visitor, workspace, Role::RegularUser).await?;
    let scope = environment_scope(environment.clone())?;
    let store = &state.inner.store;
    let repository = store.repository(workspace).await.map_err(ApiError::from)?;
    let declared = match &repository {
        None => Declared::NoRepository,
        Some(repository) => match environments::of_repository(state, repository).await {
            Environments::Reading => Declared::Reading,
            Environments::Unreadable(reason) => Declared::Unreadable(reason),
            Environments::Known(found) => found
                .into_iter()
                .find(|summary| summary.name == environment)
                .map_or(Declared::Missing, Declared::Known),
        },
    };
    let runs = store
        .runs_of_environment(workspace, &environment, query.request("runs")?)
        .await
        .map_err(ApiError::from)?;
    if matches!(declared, Declared::Missing | Declared::NoRepository)
        && runs.items.is_empty()
        && query.cursor().is_none()
    {
        return Err(UiError::not_found("environment"));
    }
    let path = format!("/workspaces/{}/environments/{environment}", workspace.0);
    let pager = Pager::of(&path, "#runs", "runs", query, &runs);
    let requesters = runs.items.iter().filter_map(|run| run.requested_by);
    let names = account_names(state, requesters.collect()).await?;
    let busy = matches!(declared, Declared::Reading)
        || runs
            .items
            .iter()
            .any(|run| matches!(run.status, RunStatus::Queued | RunStatus::Running));
    // A run started by hand learns its commit when it checks it out: its record knows it.
    let run_dirs: Vec<PathBuf> = runs.items.iter().map(|run| run.run_dir.clone()).collect();
    let recorded: Vec<Option<String>> = tokio::task::spawn_blocking(move || {
        run_dirs
            .iter()
            .map(|dir| load_current(dir).ok().and_then(|record| record.commit))
            .collect()
    })
    .await
    .map_err(|error| ApiError::internal(&error))?;
    let history = runs
        .items
        .iter()
        .zip(recorded)
        .map(|(run, recorded)| {
            let commit = recorded.or_else(|| run.commit.clone());
            let mut row = RunRow::of(run);
            row.commit = commit
                .as_deref()
                .map(|commit| commit.chars().take(10).collect());
            HistoryRow {
                run: row,
                who: run
                    .requested_by
                    .and_then(|account| names.get(&account).cloned()),
                commit_url: repository
                    .as_ref()
                    .zip(commit.as_deref())
                    .and_then(|(repository, commit)| commit_url(repository, commit)),
                took: run
                    .started_at
                    .zip(run.finished_at)
                    .map(|(started, finished)| duration(started, finished)),
            }
        })
        .collect();
    let variables = if role == Role::SuperUser {
        Some(VariablesSection::of(state, workspace, &scope).await?)
    } else {
        None
    };
    let pipeline = RunKind::Pipeline.pipeline_name(&environment);
    Ok(EnvironmentPage {
        layout: Layout::of(state, visitor, &pipeline, Some(workspace))
            .await?
            .refreshing(busy.then_some(REFRESH_SECONDS)),
        workspace: workspace.0,
        name,
        environment,
        pipeline,
        declared,
        runs: history,
        pager,
        variables,
    })
}

pub async fn environment_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, environment)): Path<(i64, String)>,
    Asked(query): Asked<PageQuery>,
) -> UiResult<Response> {
    let page = environment_page_for(&state, &visitor, WorkspaceId(id), environment, &query).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The page of `commit` on the forge the repository is on; none for a plain git repository,
/// or a URL that names no forge repository (a local path).
fn commit_url(repository: &Repository, commit: &str) -> Option<String> {
    forge_commit_url(
        repository.provider,
        &repository.url,
        repository.forge_path.as_deref(),
        commit,
    )
}

fn forge_commit_url(
    provider: Provider,
    url: &str,
    forge_path: Option<&str>,
    commit: &str,
) -> Option<String> {
    let kind = match provider {
        Provider::GitHub => ForgeKind::GitHub,
        Provider::GitLab => ForgeKind::GitLab,
        Provider::Git => return None,
    };
    // A commit id goes into the link as it is: only if it is one.
    if commit.is_empty() || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut remote = RemoteRepository::parse(url).ok()?.with_kind(kind);
    if let Some(path) = forge_path {
        remote.path = path.to_string();
    }
    let web = remote.web_url();
    Some(match kind {
        ForgeKind::GitLab => format!("{web}/-/commit/{commit}"),
        ForgeKind::GitHub | ForgeKind::Unknown => format!("{web}/commit/{commit}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_link_to_the_forge_the_repository_is_on() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            forge_commit_url(
                Provider::GitHub,
                "https://github.com/acme/shop.git",
                None,
                sha
            )
            .as_deref(),
            Some(format!("https://github.com/acme/shop/commit/{sha}").as_str())
        );
        assert_eq!(
            forge_commit_url(
                Provider::GitLab,
                "git@git.agency.test:shop/backend.git",
                None,
                sha
            )
            .as_deref(),
            Some(format!("https://git.agency.test/shop/backend/-/commit/{sha}").as_str())
        );
        assert_eq!(
            forge_commit_url(
                Provider::GitHub,
                "https://github.com/acme/shop.git",
                Some("acme/b2b"),
                sha
            )
            .as_deref(),
            Some(format!("https://github.com/acme/b2b/commit/{sha}").as_str()),
            "the repository the connection names wins over the URL's"
        );
        // Plain git, a local path, something that is not a commit id: no link.
        for (provider, url, commit) in [
            (Provider::Git, "https://github.com/acme/shop.git", sha),
            (Provider::GitHub, "file:///srv/shop.git", sha),
            (
                Provider::GitHub,
                "https://github.com/acme/shop.git",
                "main\"><script>",
            ),
        ] {
            assert_eq!(
                forge_commit_url(provider, url, None, commit),
                None,
                "{url} {commit}"
            );
        }
    }
}
