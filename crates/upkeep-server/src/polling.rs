//! Polling, for repositories whose webhook does not work (yet): every workspace's remote is
//! asked for its branch heads (`git ls-remote`, with the connection's credentials, as a clone
//! gets them) at the workspace's interval, and a branch whose head moved is run as a push
//! webhook would run it. Heads are advanced atomically in the store, where the webhook path
//! advances them too, so a push seen both ways runs once. A signed webhook delivery marks the
//! webhook as working, and polling of that workspace stops.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::task::JoinHandle;
use upkeep_forge::git::{Git, GitError};
use upkeep_store::{HeadSource, Repository, RepositoryStore, WorkspaceId};

use crate::AppState;
use crate::executor::PushJob;

/// The last poll of a workspace, as `GET …/repository` shows it.
#[derive(Debug, Clone)]
pub struct PollStatus {
    pub at: Timestamp,
    /// Why git could not read the remote, if it could not.
    pub error: Option<String>,
}

/// What the poller knows between ticks; shared with the API for the last poll's status.
#[derive(Default)]
pub struct Polls {
    last: Mutex<HashMap<WorkspaceId, (Instant, PollStatus)>>,
    in_flight: Mutex<HashSet<WorkspaceId>>,
}

impl Polls {
    pub fn status(&self, workspace: WorkspaceId) -> Option<PollStatus> {
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&workspace)
            .map(|(_, status)| status.clone())
    }

    /// Whether `repository` is due now, and if so marks it in flight.
    fn start_if_due(&self, repository: &Repository, now: Instant) -> bool {
        let interval =
            Duration::from_secs(u64::try_from(repository.poll_interval_seconds).unwrap_or(60));
        let due = self
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&repository.workspace)
            .is_none_or(|(at, _)| now.duration_since(*at) >= interval);
        due && self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(repository.workspace)
    }

    fn finish(&self, workspace: WorkspaceId, error: Option<String>) {
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                workspace,
                (
                    Instant::now(),
                    PollStatus {
                        at: Timestamp::now(),
                        error,
                    },
                ),
            );
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&workspace);
    }
}

/// Starts the poller; it runs until the returned task is aborted.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    crate::every_second(state, poll_due)
}

/// Starts a poll of every workspace that is due and not being polled.
async fn poll_due(state: AppState) {
    let Ok(repositories) = state.inner.store.repositories().await else {
        return;
    };
    let now = Instant::now();
    for repository in repositories {
        if repository.webhook_status.works() || !state.inner.polls.start_if_due(&repository, now) {
            continue;
        }
        let state = state.clone();
        tokio::spawn(async move {
            let workspace = repository.workspace;
            let error = poll(&state, repository).await.err();
            state.inner.polls.finish(workspace, error);
        });
    }
}

/// Asks the remote of `repository` for its heads and runs the branches that moved.
async fn poll(state: &AppState, repository: Repository) -> Result<(), String> {
    let workspace = repository.workspace;
    let access = state
        .inner
        .tokens
        .open(&repository)
        .await
        .map_err(|error| error.to_string())?;
    let data_dir = state.inner.data_dir.clone();
    let reading = access.clone();
    let heads = tokio::task::spawn_blocking(move || {
        let auth = reading
            .git_auth(&data_dir)
            .map_err(|error| error.to_string())?;
        Git::remote_heads(&reading.url, &data_dir, auth.env()).map_err(|error| match error {
            GitError::Failed { stderr, .. } => stderr,
            other => other.to_string(),
        })
    })
    .await
    .map_err(|error| error.to_string())??;
    let store = &state.inner.store;
    // The workspace may have been switched to another repository while git read this one.
    let current = store
        .repository(workspace)
        .await
        .map_err(|error| error.to_string())?;
    if current.is_none_or(|current| {
        current.url != repository.url || current.connected_at != repository.connected_at
    }) {
        return Ok(());
    }
    for (branch, commit) in &heads {
        let moved = store
            .advance_head(workspace, branch, commit, HeadSource::Poll)
            .await
            .map_err(|error| error.to_string())?;
        if moved {
            state.inner.executor.push(PushJob {
                workspace,
                branch: branch.clone(),
                commit: commit.clone(),
                access: access.clone(),
            });
        }
    }
    let branches: Vec<String> = heads.into_iter().map(|(branch, _)| branch).collect();
    store
        .keep_heads(workspace, &branches)
        .await
        .map_err(|error| error.to_string())
}
