//! The upgrader as a service: each workspace's schedule (a cron expression in a time zone) and
//! the settings that override the `[upgrade]` table of `upkeep.toml`, and the history of upgrade
//! runs. A run's plan, report and log are files in its run directory; the store holds where it
//! is, how the run stands and its pull request.

use std::future::Future;
use std::path::PathBuf;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::accounts::AccountId;
use crate::page::{Page, PageRequest};
use crate::time::{from_millis, from_optional_millis, to_millis};
use crate::workspaces::WorkspaceId;
use crate::{Store, StoreError};

/// The default schedule: Monday 08:00.
pub const DEFAULT_CRON: &str = "0 8 * * MON";
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// A workspace's schedule and settings, and when it last fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeSchedule {
    pub workspace: WorkspaceId,
    pub settings: UpgraderSettings,
    /// The schedule fires at its first time after this one.
    pub last_fired_at: Timestamp,
    pub updated_by: Option<AccountId>,
    pub updated_at: Timestamp,
}

/// What a super user sets: the schedule, and settings that, where not `None`, win over the
/// `[upgrade]` table of `upkeep.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgraderSettings {
    pub enabled: bool,
    pub cron: String,
    /// A tz database name (`Europe/Berlin`) or `UTC`.
    pub time_zone: String,
    /// Rebuild an upgrade whose pull request is still open, instead of refusing to start.
    pub refresh: bool,
    pub max_minor: Option<u32>,
    pub max_patch: Option<u32>,
    pub max_groups: Option<u32>,
    /// `Some` (maybe empty) when the workspace sets its own reviewers.
    pub reviewers: Option<Vec<String>>,
    pub base_branch: Option<String>,
}

/// What started an upgrade run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeTrigger {
    Schedule,
    Manual,
}

impl UpgradeTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Manual => "manual",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Schedule, Self::Manual]
            .into_iter()
            .find(|trigger| trigger.as_str() == name)
    }
}

/// How an upgrade run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeRunStatus {
    Queued,
    Running,
    /// Every planned group was applied (or there was nothing to update).
    Succeeded,
    /// Some groups were applied, others could not be resolved.
    Partial,
    /// It did not start: the previous upgrade's pull request is still open.
    Refused,
    Failed,
    /// A stop of the server cut it off.
    Interrupted,
}

impl UpgradeRunStatus {
    const ALL: [Self; 7] = [
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Partial,
        Self::Refused,
        Self::Failed,
        Self::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Partial => "partial",
            Self::Refused => "refused",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }

    pub fn is_final(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRun {
    pub id: i64,
    pub workspace: WorkspaceId,
    pub trigger: UpgradeTrigger,
    pub requested_by: Option<AccountId>,
    pub status: UpgradeRunStatus,
    /// Plan, report and log.
    pub run_dir: PathBuf,
    pub queued_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// How it ended, in a sentence (why it was refused or failed).
    pub summary: String,
    pub pull_request_url: Option<String>,
    pub pull_request_number: Option<i64>,
    /// Packages updated.
    pub applied_count: i64,
    /// Groups Composer could not update.
    pub failed_groups: i64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRunEnd<'a> {
    pub status: UpgradeRunStatus,
    pub summary: &'a str,
    pub pull_request_url: Option<&'a str>,
    pub pull_request_number: Option<i64>,
    pub applied_count: i64,
    pub failed_groups: i64,
}

pub trait UpgradeStore {
    /// The workspace's schedule, made with the defaults (last fired `now`) when it has none.
    fn ensure_upgrade_schedule(
        &self,
        workspace: WorkspaceId,
        now: Timestamp,
    ) -> impl Future<Output = Result<UpgradeSchedule, StoreError>> + Send;
    fn upgrade_schedule(
        &self,
        workspace: WorkspaceId,
    ) -> impl Future<Output = Result<Option<UpgradeSchedule>, StoreError>> + Send;
    /// Every schedule (for the scheduler).
    fn upgrade_schedules(
        &self,
    ) -> impl Future<Output = Result<Vec<UpgradeSchedule>, StoreError>> + Send;
    /// Replaces the schedule and settings, in one transaction; the schedule counts from `now`.
    fn set_upgrade_schedule(
        &self,
        workspace: WorkspaceId,
        update: &UpgraderSettings,
        by: AccountId,
        now: Timestamp,
    ) -> impl Future<Output = Result<UpgradeSchedule, StoreError>> + Send;
    /// Moves the schedule's mark from `seen` to `fired`: `true` for the one caller that did
    /// (two schedulers at once start one run).
    fn mark_upgrade_fired(
        &self,
        workspace: WorkspaceId,
        seen: Timestamp,
        fired: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn queue_upgrade_run(
        &self,
        workspace: WorkspaceId,
        trigger: UpgradeTrigger,
        requested_by: Option<AccountId>,
        run_dir: &std::path::Path,
    ) -> impl Future<Output = Result<UpgradeRun, StoreError>> + Send;
    /// A queued run starts running.
    fn start_upgrade_run(
        &self,
        id: i64,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn finish_upgrade_run(
        &self,
        id: i64,
        end: &UpgradeRunEnd<'_>,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn upgrade_run(
        &self,
        workspace: WorkspaceId,
        id: i64,
    ) -> impl Future<Output = Result<Option<UpgradeRun>, StoreError>> + Send;
    /// A page of the workspace's runs, newest first.
    fn upgrade_runs(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<UpgradeRun>, StoreError>> + Send;
    /// The newest run of the workspace that opened or refreshed a pull or merge request (for
    /// the dashboard; whether the request is still open is the provider's to say).
    fn latest_upgrade_request(
        &self,
        workspace: WorkspaceId,
    ) -> impl Future<Output = Result<Option<UpgradeRun>, StoreError>> + Send;
    /// At start: runs a stopped server left queued or running become interrupted.
    fn interrupt_unfinished_upgrades(
        &self,
        now: Timestamp,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

const SCHEDULE_COLUMNS: &str = "workspace_id, enabled, cron, time_zone, refresh, max_minor, \
                                max_patch, max_groups, reviewers_set, base_branch, last_fired_at, \
                                updated_by, updated_at";

const RUN_COLUMNS: &str = "id, workspace_id, trigger, requested_by, status, run_dir, queued_at, \
                           started_at, finished_at, summary, pull_request_url, \
                           pull_request_number, applied_count, failed_groups";

fn corrupt(what: &'static str, value: &str) -> StoreError {
    StoreError::Corrupt {
        what,
        value: value.to_string(),
    }
}

fn limit_from(row: &AnyRow, column: &str) -> Result<Option<u32>, StoreError> {
    row.try_get::<Option<i64>, _>(column)?
        .map(|value| u32::try_from(value).map_err(|_| corrupt("limit", &value.to_string())))
        .transpose()
}

impl Store {
    async fn schedule_from(&self, row: &AnyRow) -> Result<UpgradeSchedule, StoreError> {
        let workspace = WorkspaceId(row.try_get("workspace_id")?);
        let reviewers = if row.try_get::<i64, _>("reviewers_set")? == 0 {
            None
        } else {
            let rows = sqlx::query(
                "SELECT login FROM upgrade_reviewers WHERE workspace_id = $1 ORDER BY ordinal",
            )
            .bind(workspace.0)
            .fetch_all(self.pool())
            .await?;
            Some(
                rows.iter()
                    .map(|row| row.try_get("login"))
                    .collect::<Result<_, _>>()?,
            )
        };
        Ok(UpgradeSchedule {
            workspace,
            settings: UpgraderSettings {
                enabled: row.try_get::<i64, _>("enabled")? != 0,
                cron: row.try_get("cron")?,
                time_zone: row.try_get("time_zone")?,
                refresh: row.try_get::<i64, _>("refresh")? != 0,
                max_minor: limit_from(row, "max_minor")?,
                max_patch: limit_from(row, "max_patch")?,
                max_groups: limit_from(row, "max_groups")?,
                reviewers,
                base_branch: row.try_get("base_branch")?,
            },
            last_fired_at: from_millis(row.try_get("last_fired_at")?)?,
            updated_by: row.try_get::<Option<i64>, _>("updated_by")?.map(AccountId),
            updated_at: from_millis(row.try_get("updated_at")?)?,
        })
    }
}

/// `NotFound` when an update of run `id` changed no row.
fn found_run(rows: u64, id: i64) -> Result<(), StoreError> {
    if rows == 0 {
        return Err(StoreError::NotFound {
            what: "upgrade run",
            id: id.to_string(),
        });
    }
    Ok(())
}

fn run_from(row: &AnyRow) -> Result<UpgradeRun, StoreError> {
    let trigger: String = row.try_get("trigger")?;
    let status: String = row.try_get("status")?;
    Ok(UpgradeRun {
        id: row.try_get("id")?,
        workspace: WorkspaceId(row.try_get("workspace_id")?),
        trigger: UpgradeTrigger::from_name(&trigger)
            .ok_or_else(|| corrupt("upgrade trigger", &trigger))?,
        requested_by: row
            .try_get::<Option<i64>, _>("requested_by")?
            .map(AccountId),
        status: UpgradeRunStatus::from_name(&status)
            .ok_or_else(|| corrupt("upgrade status", &status))?,
        run_dir: PathBuf::from(row.try_get::<String, _>("run_dir")?),
        queued_at: from_millis(row.try_get("queued_at")?)?,
        started_at: from_optional_millis(row.try_get("started_at")?)?,
        finished_at: from_optional_millis(row.try_get("finished_at")?)?,
        summary: row.try_get("summary")?,
        pull_request_url: row.try_get("pull_request_url")?,
        pull_request_number: row.try_get("pull_request_number")?,
        applied_count: row.try_get("applied_count")?,
        failed_groups: row.try_get("failed_groups")?,
    })
}

impl UpgradeStore for Store {
    async fn ensure_upgrade_schedule(
        &self,
        workspace: WorkspaceId,
        now: Timestamp,
    ) -> Result<UpgradeSchedule, StoreError> {
        sqlx::query(
            "INSERT INTO upgrade_schedules (workspace_id, cron, time_zone, last_fired_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace_id) DO NOTHING",
        )
        .bind(workspace.0)
        .bind(DEFAULT_CRON)
        .bind(DEFAULT_TIME_ZONE)
        .bind(to_millis(now))
        .bind(to_millis(now))
        .execute(self.pool())
        .await?;
        self.upgrade_schedule(workspace)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "upgrade schedule of workspace",
                id: workspace.0.to_string(),
            })
    }

    async fn upgrade_schedule(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Option<UpgradeSchedule>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SCHEDULE_COLUMNS} FROM upgrade_schedules WHERE workspace_id = $1"
        ))
        .bind(workspace.0)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => Ok(Some(self.schedule_from(&row).await?)),
            None => Ok(None),
        }
    }

    async fn upgrade_schedules(&self) -> Result<Vec<UpgradeSchedule>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SCHEDULE_COLUMNS} FROM upgrade_schedules ORDER BY workspace_id"
        ))
        .fetch_all(self.pool())
        .await?;
        let mut schedules = Vec::with_capacity(rows.len());
        for row in &rows {
            schedules.push(self.schedule_from(row).await?);
        }
        Ok(schedules)
    }

    async fn set_upgrade_schedule(
        &self,
        workspace: WorkspaceId,
        update: &UpgraderSettings,
        by: AccountId,
        now: Timestamp,
    ) -> Result<UpgradeSchedule, StoreError> {
        let mut transaction = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO upgrade_schedules (workspace_id, enabled, cron, time_zone, refresh, \
             max_minor, max_patch, max_groups, reviewers_set, base_branch, last_fired_at, \
             updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (workspace_id) DO UPDATE SET enabled = excluded.enabled, \
             cron = excluded.cron, time_zone = excluded.time_zone, refresh = excluded.refresh, \
             max_minor = excluded.max_minor, max_patch = excluded.max_patch, \
             max_groups = excluded.max_groups, reviewers_set = excluded.reviewers_set, \
             base_branch = excluded.base_branch, last_fired_at = excluded.last_fired_at, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(workspace.0)
        .bind(i64::from(update.enabled))
        .bind(update.cron.as_str())
        .bind(update.time_zone.as_str())
        .bind(i64::from(update.refresh))
        .bind(update.max_minor.map(i64::from))
        .bind(update.max_patch.map(i64::from))
        .bind(update.max_groups.map(i64::from))
        .bind(i64::from(update.reviewers.is_some()))
        .bind(update.base_branch.as_deref())
        .bind(to_millis(now))
        .bind(by.0)
        .bind(to_millis(now))
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM upgrade_reviewers WHERE workspace_id = $1")
            .bind(workspace.0)
            .execute(&mut *transaction)
            .await?;
        for (ordinal, login) in update.reviewers.iter().flatten().enumerate() {
            sqlx::query(
                "INSERT INTO upgrade_reviewers (workspace_id, ordinal, login) VALUES ($1, $2, $3)",
            )
            .bind(workspace.0)
            .bind(i64::try_from(ordinal).unwrap_or(i64::MAX))
            .bind(login.as_str())
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        self.upgrade_schedule(workspace)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "upgrade schedule of workspace",
                id: workspace.0.to_string(),
            })
    }

    async fn mark_upgrade_fired(
        &self,
        workspace: WorkspaceId,
        seen: Timestamp,
        fired: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE upgrade_schedules SET last_fired_at = $1 \
             WHERE workspace_id = $2 AND last_fired_at = $3",
        )
        .bind(to_millis(fired))
        .bind(workspace.0)
        .bind(to_millis(seen))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn queue_upgrade_run(
        &self,
        workspace: WorkspaceId,
        trigger: UpgradeTrigger,
        requested_by: Option<AccountId>,
        run_dir: &std::path::Path,
    ) -> Result<UpgradeRun, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO upgrade_runs (workspace_id, trigger, requested_by, status, run_dir, queued_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {RUN_COLUMNS}"
        ))
        .bind(workspace.0)
        .bind(trigger.as_str())
        .bind(requested_by.map(|id| id.0))
        .bind(UpgradeRunStatus::Queued.as_str())
        .bind(run_dir.display().to_string())
        .bind(to_millis(Timestamp::now()))
        .fetch_one(self.pool())
        .await?;
        run_from(&row)
    }

    async fn start_upgrade_run(&self, id: i64, at: Timestamp) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE upgrade_runs SET status = $1, started_at = $2 WHERE id = $3")
                .bind(UpgradeRunStatus::Running.as_str())
                .bind(to_millis(at))
                .bind(id)
                .execute(self.pool())
                .await?;
        found_run(done.rows_affected(), id)
    }

    async fn finish_upgrade_run(
        &self,
        id: i64,
        end: &UpgradeRunEnd<'_>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE upgrade_runs SET status = $1, summary = $2, pull_request_url = $3, \
             pull_request_number = $4, applied_count = $5, failed_groups = $6, finished_at = $7 \
             WHERE id = $8",
        )
        .bind(end.status.as_str())
        .bind(end.summary)
        .bind(end.pull_request_url)
        .bind(end.pull_request_number)
        .bind(end.applied_count)
        .bind(end.failed_groups)
        .bind(to_millis(at))
        .bind(id)
        .execute(self.pool())
        .await?;
        found_run(done.rows_affected(), id)
    }

    async fn upgrade_run(
        &self,
        workspace: WorkspaceId,
        id: i64,
    ) -> Result<Option<UpgradeRun>, StoreError> {
        sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM upgrade_runs WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace.0)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(run_from)
        .transpose()
    }

    async fn upgrade_runs(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> Result<Page<UpgradeRun>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM upgrade_runs WHERE workspace_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(workspace.0)
        .bind(page.before_bound())
        .bind(page.fetch())
        .fetch_all(self.pool())
        .await?;
        let runs = rows.iter().map(run_from).collect::<Result<_, _>>()?;
        Ok(Page::of(runs, page, |run: &UpgradeRun| run.id))
    }

    async fn latest_upgrade_request(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Option<UpgradeRun>, StoreError> {
        sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM upgrade_runs WHERE workspace_id = $1 \
             AND pull_request_url IS NOT NULL ORDER BY id DESC LIMIT 1"
        ))
        .bind(workspace.0)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(run_from)
        .transpose()
    }

    async fn interrupt_unfinished_upgrades(&self, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE upgrade_runs SET status = $1, finished_at = $2, \
             summary = 'the server stopped while the run was not over' WHERE status IN ($3, $4)",
        )
        .bind(UpgradeRunStatus::Interrupted.as_str())
        .bind(to_millis(now))
        .bind(UpgradeRunStatus::Queued.as_str())
        .bind(UpgradeRunStatus::Running.as_str())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}
