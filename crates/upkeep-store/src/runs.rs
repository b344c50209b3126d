//! The runs of a workspace's environments as the server schedules them: queued, running,
//! waiting for approval, finished. The run's own record and logs stay in its run directory (the
//! runner writes them); the database holds where it is and how it stands, for lists and queues.

use std::future::Future;
use std::path::PathBuf;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;
use upkeep_pipeline::record::{RunId, RunKind, RunStatus};

use crate::accounts::AccountId;
use crate::page::{Page, PageRequest};
use crate::time::{from_millis, from_optional_millis, to_millis};
use crate::workspaces::WorkspaceId;
use crate::{Store, StoreError};

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Push,
    Manual,
    Schedule,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Manual => "manual",
            Self::Schedule => "schedule",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Push, Self::Manual, Self::Schedule]
            .into_iter()
            .find(|trigger| trigger.as_str() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRun {
    pub row_id: i64,
    pub workspace: WorkspaceId,
    pub run_id: RunId,
    pub environment: String,
    pub kind: RunKind,
    pub status: RunStatus,
    pub trigger: Trigger,
    pub requested_by: Option<AccountId>,
    pub commit: Option<String>,
    /// The run's directory (record and logs).
    pub run_dir: PathBuf,
    pub queued_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub workspace: WorkspaceId,
    pub run_id: &'a RunId,
    pub environment: &'a str,
    pub kind: RunKind,
    pub trigger: Trigger,
    pub requested_by: Option<AccountId>,
    pub commit: Option<&'a str>,
    pub run_dir: &'a std::path::Path,
}

pub trait RunStore {
    /// Records a queued run.
    fn queue_run(
        &self,
        run: &NewRun<'_>,
    ) -> impl Future<Output = Result<StoredRun, StoreError>> + Send;
    fn run(&self, id: &RunId)
    -> impl Future<Output = Result<Option<StoredRun>, StoreError>> + Send;
    /// Sets a run's status; the start time when it starts running, the end time when it ends.
    fn set_run_status(
        &self,
        id: &RunId,
        status: RunStatus,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A page of the runs of one environment, newest first (by row id).
    fn runs_of_environment(
        &self,
        workspace: WorkspaceId,
        environment: &str,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<StoredRun>, StoreError>> + Send;
    /// A page of the runs of a workspace, all environments, newest first (by row id).
    fn runs_of_workspace(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<StoredRun>, StoreError>> + Send;
    /// The newest run of each environment of a workspace that has runs, by environment name
    /// (for the dashboard: one index range per workspace, however many runs it has).
    fn newest_run_of_each_environment(
        &self,
        workspace: WorkspaceId,
    ) -> impl Future<Output = Result<Vec<StoredRun>, StoreError>> + Send;
    /// The runs of a workspace in one status, newest first (e.g. those waiting for approval).
    fn runs_in_status(
        &self,
        workspace: WorkspaceId,
        status: RunStatus,
    ) -> impl Future<Output = Result<Vec<StoredRun>, StoreError>> + Send;
    /// How many runs are in each status, all workspaces (for metrics).
    fn count_runs_by_status(
        &self,
    ) -> impl Future<Output = Result<Vec<(RunStatus, i64)>, StoreError>> + Send;
    /// At start: runs a stopped server left `running` or `queued` become `interrupted`, never
    /// `running` forever. Returns how many.
    fn interrupt_unfinished(
        &self,
        now: Timestamp,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

const COLUMNS: &str = "id, workspace_id, run_key, environment, kind, status, trigger, requested_by, \
                       commit_id, run_dir, queued_at, started_at, finished_at";

fn corrupt(what: &'static str, value: &str) -> StoreError {
    StoreError::Corrupt {
        what,
        value: value.to_string(),
    }
}

fn run_from(row: &AnyRow) -> Result<StoredRun, StoreError> {
    let run_key: String = row.try_get("run_key")?;
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    let trigger: String = row.try_get("trigger")?;
    Ok(StoredRun {
        row_id: row.try_get("id")?,
        workspace: WorkspaceId(row.try_get("workspace_id")?),
        run_id: run_key.parse().map_err(|_| corrupt("run id", &run_key))?,
        environment: row.try_get("environment")?,
        kind: RunKind::from_name(&kind).ok_or_else(|| corrupt("run kind", &kind))?,
        status: RunStatus::from_name(&status).ok_or_else(|| corrupt("run status", &status))?,
        trigger: Trigger::from_name(&trigger).ok_or_else(|| corrupt("trigger", &trigger))?,
        requested_by: row
            .try_get::<Option<i64>, _>("requested_by")?
            .map(AccountId),
        commit: row.try_get("commit_id")?,
        run_dir: PathBuf::from(row.try_get::<String, _>("run_dir")?),
        queued_at: from_millis(row.try_get("queued_at")?)?,
        started_at: from_optional_millis(row.try_get("started_at")?)?,
        finished_at: from_optional_millis(row.try_get("finished_at")?)?,
    })
}

impl RunStore for Store {
    async fn queue_run(&self, run: &NewRun<'_>) -> Result<StoredRun, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO runs (workspace_id, run_key, environment, kind, status, trigger, requested_by, \
             commit_id, run_dir, queued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING {COLUMNS}"
        ))
        .bind(run.workspace.0)
        .bind(run.run_id.as_str())
        .bind(run.environment)
        .bind(run.kind.as_str())
        .bind(RunStatus::Queued.as_str())
        .bind(run.trigger.as_str())
        .bind(run.requested_by.map(|id| id.0))
        .bind(run.commit)
        .bind(run.run_dir.display().to_string())
        .bind(to_millis(Timestamp::now()))
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::duplicate("run", run.run_id.as_str()))?;
        run_from(&row)
    }

    async fn run(&self, id: &RunId) -> Result<Option<StoredRun>, StoreError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM runs WHERE run_key = $1"))
            .bind(id.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(run_from)
            .transpose()
    }

    async fn set_run_status(
        &self,
        id: &RunId,
        status: RunStatus,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let at = to_millis(at);
        let started = (status == RunStatus::Running).then_some(at);
        let finished = status.is_final().then_some(at);
        let done = sqlx::query(
            "UPDATE runs SET status = $1, started_at = COALESCE(started_at, $2), \
             finished_at = COALESCE($3, finished_at) WHERE run_key = $4",
        )
        .bind(status.as_str())
        .bind(started)
        .bind(finished)
        .bind(id.as_str())
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "run",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    async fn runs_of_environment(
        &self,
        workspace: WorkspaceId,
        environment: &str,
        page: PageRequest,
    ) -> Result<Page<StoredRun>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM runs WHERE workspace_id = $1 AND environment = $2 AND id < $3 \
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(workspace.0)
        .bind(environment)
        .bind(page.before_bound())
        .bind(page.fetch())
        .fetch_all(self.pool())
        .await?;
        let runs = rows.iter().map(run_from).collect::<Result<_, _>>()?;
        Ok(Page::of(runs, page, |run: &StoredRun| run.row_id))
    }

    async fn runs_of_workspace(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> Result<Page<StoredRun>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM runs WHERE workspace_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(workspace.0)
        .bind(page.before_bound())
        .bind(page.fetch())
        .fetch_all(self.pool())
        .await?;
        let runs = rows.iter().map(run_from).collect::<Result<_, _>>()?;
        Ok(Page::of(runs, page, |run: &StoredRun| run.row_id))
    }

    async fn newest_run_of_each_environment(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<StoredRun>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM runs WHERE id IN \
             (SELECT MAX(id) FROM runs WHERE workspace_id = $1 GROUP BY environment) \
             ORDER BY environment"
        ))
        .bind(workspace.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(run_from).collect()
    }

    async fn runs_in_status(
        &self,
        workspace: WorkspaceId,
        status: RunStatus,
    ) -> Result<Vec<StoredRun>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM runs WHERE workspace_id = $1 AND status = $2 ORDER BY id DESC"
        ))
        .bind(workspace.0)
        .bind(status.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(run_from).collect()
    }

    async fn count_runs_by_status(&self) -> Result<Vec<(RunStatus, i64)>, StoreError> {
        let rows =
            sqlx::query("SELECT status, COUNT(*) AS n FROM runs GROUP BY status ORDER BY status")
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok((
                    RunStatus::from_name(&status).ok_or_else(|| corrupt("run status", &status))?,
                    row.try_get("n")?,
                ))
            })
            .collect()
    }

    async fn interrupt_unfinished(&self, now: Timestamp) -> Result<u64, StoreError> {
        let done =
            sqlx::query("UPDATE runs SET status = $1, finished_at = $2 WHERE status IN ($3, $4)")
                .bind(RunStatus::Interrupted.as_str())
                .bind(to_millis(now))
                .bind(RunStatus::Running.as_str())
                .bind(RunStatus::Queued.as_str())
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected())
    }
}
