//! The environments a workspace's repository declares, as the dashboard lists them: read from
//! `upkeep.yml` at the tip of the default branch in the workspace's clone, without checking it
//! out (a run may be using the checkout). Before the clone exists — right after a repository is
//! connected — it is made in the background, as the first run would make it, and the page asks
//! again.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use upkeep_forge::git::Git;
use upkeep_pipeline::project_file::ProjectFile;
use upkeep_store::{Repository, WorkspaceId};

use crate::AppState;
use crate::connection::RepositoryAccess;

/// An environment of `upkeep.yml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentSummary {
    pub name: String,
    /// The branch whose pushes run its pipeline.
    pub branch: Option<String>,
    /// Whether its deployments wait for a super user's approval.
    pub approval: bool,
    /// `normal` or `destructive`.
    pub deploy_type: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environments {
    /// In the order of `upkeep.yml`.
    Known(Vec<EnvironmentSummary>),
    /// The clone is being made.
    Reading,
    /// Why they cannot be read: git's reason, or what is wrong with `upkeep.yml`.
    Unreadable(String),
}

/// Why the last clone made for reading failed, per workspace (shown until one succeeds).
#[derive(Debug, Default)]
pub struct CloneFailures(Mutex<HashMap<WorkspaceId, String>>);

impl CloneFailures {
    fn set(&self, workspace: WorkspaceId, reason: Option<String>) {
        let mut failures = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match reason {
            Some(reason) => failures.insert(workspace, reason),
            None => failures.remove(&workspace),
        };
    }

    fn get(&self, workspace: WorkspaceId) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&workspace)
            .cloned()
    }
}

/// The environments of the connected repository; starts making the clone when there is none
/// of this repository yet.
pub async fn of_repository(state: &AppState, repository: &Repository) -> Environments {
    let workspace = repository.workspace;
    let clone = state.inner.executor.dirs(workspace).clone;
    let url = repository.url.clone();
    let read = tokio::task::spawn_blocking(move || read_from_clone(&clone, &url)).await;
    match read {
        Ok(Some(Ok(environments))) => return Environments::Known(environments),
        Ok(Some(Err(reason))) => return Environments::Unreadable(reason),
        Ok(None) => {}
        Err(error) => return Environments::Unreadable(error.to_string()),
    }
    let failure = state.inner.clone_failures.get(workspace);
    // Tried again at every look, so that a fixed credential or a remote back up shows at once.
    match RepositoryAccess::open(repository, &state.inner.sealer) {
        Ok(access) => make_clone(state, workspace, access),
        Err(error) => return Environments::Unreadable(error.to_string()),
    }
    failure.map_or(Environments::Reading, Environments::Unreadable)
}

fn make_clone(state: &AppState, workspace: WorkspaceId, access: RepositoryAccess) {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let made = state.inner.executor.refresh_clone(workspace, &access);
        match made {
            Ok(true) => state.inner.clone_failures.set(workspace, None),
            // A run holds the clone and makes it itself.
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(target: "upkeep::repositories", workspace = workspace.0, %error, "cannot clone the repository to read its environments");
                state
                    .inner
                    .clone_failures
                    .set(workspace, Some(error.to_string()));
            }
        }
    });
}

/// `None` while there is no clone of `url` with its default branch fetched yet.
fn read_from_clone(clone: &Path, url: &str) -> Option<Result<Vec<EnvironmentSummary>, String>> {
    if !clone.join(".git").is_dir() {
        return None;
    }
    let git = Git::open(clone).ok()?;
    if git.remote_url("origin").ok()? != url || git.rev_parse(Git::REMOTE_HEAD).is_err() {
        return None;
    }
    let text = match git.file_at(Git::REMOTE_HEAD, "upkeep.yml") {
        Ok(Some(text)) => text,
        Ok(None) => {
            return Some(Err(
                "the default branch has no upkeep.yml declaring environments".to_string(),
            ));
        }
        Err(error) => return Some(Err(error.to_string())),
    };
    Some(
        ProjectFile::parse(&text, &clone.join("upkeep.yml"))
            .map(|project| {
                project
                    .environments
                    .values()
                    .map(|environment| EnvironmentSummary {
                        name: environment.name.clone(),
                        branch: environment.branch.clone(),
                        approval: environment.approval,
                        deploy_type: environment.deploy_type.as_str(),
                    })
                    .collect()
            })
            .map_err(|error| error.to_string()),
    )
}
