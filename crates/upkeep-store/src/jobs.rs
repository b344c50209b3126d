//! Remote agents and the job queue they take work from. A job is a run to drive or the decision
//! on a waiting run; an agent leases the oldest job whose required labels it carries, holds the
//! lease by extending it while it works, and finishes it. A lease that expires (the agent
//! crashed, the network went away) puts the job back in the queue, so that no work is lost.
//!
//! Two agents never hold one job: on PostgreSQL the candidate row is locked with
//! `FOR UPDATE SKIP LOCKED` (agents skip each other's candidates instead of waiting); on SQLite,
//! with its one writer, the lease is a conditional update that only one of two racers wins.

use std::future::Future;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;
use upkeep_pipeline::record::RunId;

use crate::accounts::AccountId;
use crate::page::{Page, PageRequest};
use crate::time::{from_millis, from_optional_millis, to_millis};
use crate::{Backend, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
    /// Sorted, without duplicates.
    pub labels: Vec<String>,
    pub created_at: Timestamp,
    pub last_seen_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub i64);

/// What a job asks of its agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Drive a queued run: build, gate, and on to approval or deployment.
    Pipeline,
    /// Go on with a waiting run: deploy the image it built.
    Approve,
    /// End a waiting run as rejected.
    Reject,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pipeline => "pipeline",
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Pipeline, Self::Approve, Self::Reject]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Leased,
    Done,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Leased => "leased",
            Self::Done => "done",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Queued, Self::Leased, Self::Done]
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub run_id: RunId,
    pub kind: JobKind,
    /// A branch, tag or commit to run; `None`: the environment's branch.
    pub revision: Option<String>,
    /// Who asked for it, in words ("push to main", an email).
    pub requested_by: String,
    pub state: JobState,
    /// The agent holding (or that last held) the lease.
    pub agent: Option<AgentId>,
    pub lease_expires_at: Option<Timestamp>,
    /// How many times it was leased: more than once means an agent lost it.
    pub attempts: u32,
    /// Labels an agent must carry to take it, sorted.
    pub labels: Vec<String>,
    pub queued_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// When someone cancelled the job's run: the agent that holds it must stop, and no agent
    /// may start it.
    pub cancel_requested_at: Option<Timestamp>,
}

pub trait AgentStore {
    /// Registers an agent known by the hash of its token.
    fn create_agent(
        &self,
        name: &str,
        token_hash: &str,
        labels: &[String],
        by: AccountId,
    ) -> impl Future<Output = Result<Agent, StoreError>> + Send;
    /// The agent of a token that is not revoked, recording that it was seen at `now`.
    fn agent_by_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<Agent>, StoreError>> + Send;
    fn agent(&self, id: AgentId) -> impl Future<Output = Result<Option<Agent>, StoreError>> + Send;
    /// A page of the agents, revoked ones included, newest first.
    fn agents(
        &self,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Agent>, StoreError>> + Send;
    /// Revokes an agent's token; `false` when there is no such agent or it was revoked.
    fn revoke_agent(
        &self,
        id: AgentId,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

pub trait JobStore {
    fn queue_job(
        &self,
        run: &RunId,
        kind: JobKind,
        revision: Option<&str>,
        requested_by: &str,
        labels: &[String],
    ) -> impl Future<Output = Result<Job, StoreError>> + Send;
    /// Leases the oldest job the agent may take — queued, or leased by someone whose lease
    /// expired before `now` — until `until`.
    fn lease_next_job(
        &self,
        agent: AgentId,
        now: Timestamp,
        until: Timestamp,
    ) -> impl Future<Output = Result<Option<Job>, StoreError>> + Send;
    /// Extends the agent's lease on a job; `false` when the agent no longer holds it (it
    /// expired and another agent took the job, or the job is done): the agent must stop.
    fn extend_lease(
        &self,
        job: JobId,
        agent: AgentId,
        until: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Ends a job the agent holds; `false` when it does not hold it.
    fn finish_job(
        &self,
        job: JobId,
        agent: AgentId,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Asks the run's jobs that are not done to stop (a second ask keeps the first time);
    /// how many there are.
    fn request_cancel(
        &self,
        run: &RunId,
        now: Timestamp,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    fn job(&self, id: JobId) -> impl Future<Output = Result<Option<Job>, StoreError>> + Send;
    /// The jobs of a run, oldest first.
    fn jobs_of_run(&self, run: &RunId)
    -> impl Future<Output = Result<Vec<Job>, StoreError>> + Send;
    /// How many jobs wait for an agent.
    fn count_queued_jobs(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
}

/// Labels as kept: trimmed, sorted, once each, none empty.
fn normalized(labels: &[String]) -> Vec<String> {
    let mut labels: Vec<String> = labels
        .iter()
        .map(|label| label.trim().to_string())
        .filter(|label| !label.is_empty())
        .collect();
    labels.sort();
    labels.dedup();
    labels
}

const AGENT_COLUMNS: &str = "id, name, created_at, last_seen_at, revoked_at";
const JOB_COLUMNS: &str = "id, run_key, kind, revision, requested_by, state, agent_id, lease_expires_at, \
                           attempts, queued_at, finished_at, cancel_requested_at";

impl Store {
    async fn labels_of(&self, query: &str, id: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(query).bind(id).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| row.try_get::<String, _>("label").map_err(StoreError::from))
            .collect()
    }

    async fn agent_from(&self, row: &AnyRow) -> Result<Agent, StoreError> {
        let id: i64 = row.try_get("id")?;
        Ok(Agent {
            id: AgentId(id),
            name: row.try_get("name")?,
            labels: self
                .labels_of(
                    "SELECT label FROM agent_labels WHERE agent_id = $1 ORDER BY label",
                    id,
                )
                .await?,
            created_at: from_millis(row.try_get("created_at")?)?,
            last_seen_at: from_optional_millis(row.try_get("last_seen_at")?)?,
            revoked_at: from_optional_millis(row.try_get("revoked_at")?)?,
        })
    }

    async fn job_from(&self, row: &AnyRow) -> Result<Job, StoreError> {
        let id: i64 = row.try_get("id")?;
        let corrupt = |what: &'static str, value: String| StoreError::Corrupt { what, value };
        let run_key: String = row.try_get("run_key")?;
        let kind: String = row.try_get("kind")?;
        let state: String = row.try_get("state")?;
        let attempts: i64 = row.try_get("attempts")?;
        Ok(Job {
            id: JobId(id),
            run_id: run_key
                .parse()
                .map_err(|_| corrupt("run id", run_key.clone()))?,
            kind: JobKind::from_name(&kind).ok_or_else(|| corrupt("job kind", kind.clone()))?,
            revision: row.try_get("revision")?,
            requested_by: row.try_get("requested_by")?,
            state: JobState::from_name(&state)
                .ok_or_else(|| corrupt("job state", state.clone()))?,
            agent: row.try_get::<Option<i64>, _>("agent_id")?.map(AgentId),
            lease_expires_at: from_optional_millis(row.try_get("lease_expires_at")?)?,
            attempts: u32::try_from(attempts)
                .map_err(|_| corrupt("job attempts", attempts.to_string()))?,
            labels: self
                .labels_of(
                    "SELECT label FROM job_labels WHERE job_id = $1 ORDER BY label",
                    id,
                )
                .await?,
            queued_at: from_millis(row.try_get("queued_at")?)?,
            finished_at: from_optional_millis(row.try_get("finished_at")?)?,
            cancel_requested_at: from_optional_millis(row.try_get("cancel_requested_at")?)?,
        })
    }
}

impl AgentStore for Store {
    async fn create_agent(
        &self,
        name: &str,
        token_hash: &str,
        labels: &[String],
        by: AccountId,
    ) -> Result<Agent, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO agents (name, token_hash, created_by, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING {AGENT_COLUMNS}"
        ))
        .bind(name)
        .bind(token_hash)
        .bind(by.0)
        .bind(to_millis(Timestamp::now()))
        .fetch_one(&mut *transaction)
        .await
        .map_err(StoreError::duplicate("agent", name))?;
        let id: i64 = row.try_get("id")?;
        for label in normalized(labels) {
            sqlx::query("INSERT INTO agent_labels (agent_id, label) VALUES ($1, $2)")
                .bind(id)
                .bind(label)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        self.agent_from(&row).await
    }

    async fn agent_by_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Agent>, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE agents SET last_seen_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL \
             RETURNING {AGENT_COLUMNS}"
        ))
        .bind(to_millis(now))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => Ok(Some(self.agent_from(&row).await?)),
            None => Ok(None),
        }
    }

    async fn agent(&self, id: AgentId) -> Result<Option<Agent>, StoreError> {
        let row = sqlx::query(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(row) => Ok(Some(self.agent_from(&row).await?)),
            None => Ok(None),
        }
    }

    async fn agents(&self, page: PageRequest) -> Result<Page<Agent>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE id < $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(page.before_bound())
        .bind(page.fetch())
        .fetch_all(self.pool())
        .await?;
        let mut agents = Vec::with_capacity(rows.len());
        for row in &rows {
            agents.push(self.agent_from(row).await?);
        }
        Ok(Page::of(agents, page, |agent: &Agent| agent.id.0))
    }

    async fn revoke_agent(&self, id: AgentId, now: Timestamp) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE agents SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(to_millis(now))
                .bind(id.0)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// The oldest job an agent may take: queued or with an expired lease, and every label it
/// requires carried by the agent.
const CANDIDATE: &str = "SELECT j.id FROM jobs j \
     WHERE (j.state = 'queued' OR (j.state = 'leased' AND j.lease_expires_at < $1)) \
     AND NOT EXISTS (SELECT 1 FROM job_labels l WHERE l.job_id = j.id AND NOT EXISTS \
         (SELECT 1 FROM agent_labels a WHERE a.agent_id = $2 AND a.label = l.label)) \
     ORDER BY j.id LIMIT 1";

/// Takes the candidate only if it is still free: of two agents racing for it, one wins.
const TAKE: &str = "UPDATE jobs SET state = 'leased', agent_id = $1, lease_expires_at = $2, \
     attempts = attempts + 1 \
     WHERE id = $3 AND (state = 'queued' OR (state = 'leased' AND lease_expires_at < $4))";

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// [`CANDIDATE`] (locked or not) for `agent` at `now`.
fn candidate_query(sql: &str, agent: AgentId, now: Timestamp) -> AnyQuery<'_> {
    sqlx::query(sql).bind(to_millis(now)).bind(agent.0)
}

/// [`TAKE`] of job `id` for `agent`, leased until `until`.
fn take_query(agent: AgentId, id: i64, now: Timestamp, until: Timestamp) -> AnyQuery<'static> {
    sqlx::query(TAKE)
        .bind(agent.0)
        .bind(to_millis(until))
        .bind(id)
        .bind(to_millis(now))
}

impl JobStore for Store {
    async fn queue_job(
        &self,
        run: &RunId,
        kind: JobKind,
        revision: Option<&str>,
        requested_by: &str,
        labels: &[String],
    ) -> Result<Job, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO jobs (run_key, kind, revision, requested_by, state, queued_at) \
             VALUES ($1, $2, $3, $4, 'queued', $5) RETURNING {JOB_COLUMNS}"
        ))
        .bind(run.as_str())
        .bind(kind.as_str())
        .bind(revision)
        .bind(requested_by)
        .bind(to_millis(Timestamp::now()))
        .fetch_one(&mut *transaction)
        .await?;
        let id: i64 = row.try_get("id")?;
        for label in normalized(labels) {
            sqlx::query("INSERT INTO job_labels (job_id, label) VALUES ($1, $2)")
                .bind(id)
                .bind(label)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        self.job_from(&row).await
    }

    async fn lease_next_job(
        &self,
        agent: AgentId,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<Job>, StoreError> {
        let taken = match self.backend() {
            Backend::Postgres => {
                let mut transaction = self.pool().begin().await?;
                let candidate =
                    candidate_query(&format!("{CANDIDATE} FOR UPDATE SKIP LOCKED"), agent, now)
                        .fetch_optional(&mut *transaction)
                        .await?;
                let Some(candidate) = candidate else {
                    return Ok(None);
                };
                let id: i64 = candidate.try_get("id")?;
                take_query(agent, id, now, until)
                    .execute(&mut *transaction)
                    .await?;
                transaction.commit().await?;
                Some(id)
            }
            Backend::Sqlite => {
                let mut taken = None;
                // A racer that won the candidate makes this one look again.
                for _ in 0..8 {
                    let candidate = candidate_query(CANDIDATE, agent, now)
                        .fetch_optional(self.pool())
                        .await?;
                    let Some(candidate) = candidate else {
                        return Ok(None);
                    };
                    let id: i64 = candidate.try_get("id")?;
                    let done = take_query(agent, id, now, until)
                        .execute(self.pool())
                        .await?;
                    if done.rows_affected() == 1 {
                        taken = Some(id);
                        break;
                    }
                }
                taken
            }
        };
        match taken {
            Some(id) => self.job(JobId(id)).await,
            None => Ok(None),
        }
    }

    async fn extend_lease(
        &self,
        job: JobId,
        agent: AgentId,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1 WHERE id = $2 AND agent_id = $3 AND state = 'leased'",
        )
        .bind(to_millis(until))
        .bind(job.0)
        .bind(agent.0)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_job(
        &self,
        job: JobId,
        agent: AgentId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'done', finished_at = $1, lease_expires_at = NULL \
             WHERE id = $2 AND agent_id = $3 AND state = 'leased'",
        )
        .bind(to_millis(now))
        .bind(job.0)
        .bind(agent.0)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn request_cancel(&self, run: &RunId, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, $1) \
             WHERE run_key = $2 AND state <> 'done'",
        )
        .bind(to_millis(now))
        .bind(run.as_str())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    async fn job(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(row) => Ok(Some(self.job_from(&row).await?)),
            None => Ok(None),
        }
    }

    async fn jobs_of_run(&self, run: &RunId) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE run_key = $1 ORDER BY id"
        ))
        .bind(run.as_str())
        .fetch_all(self.pool())
        .await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for row in &rows {
            jobs.push(self.job_from(row).await?);
        }
        Ok(jobs)
    }

    async fn count_queued_jobs(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS queued FROM jobs WHERE state = 'queued'")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("queued")?)
    }
}
