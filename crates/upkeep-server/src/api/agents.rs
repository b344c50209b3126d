//! Remote agents: the server's admin registers them (a token shown once, labels), and agents
//! take jobs from the queue over the agent protocol (`upkeep_runner::protocol`): a long-polled
//! lease, extensions that also carry cancellation, the run's record and step logs at byte
//! offsets, and the end of the job. What an agent sends lands in the same run directory and
//! store rows as the embedded executor's runs, so the API, the logs and their live events are
//! the same whoever ran the job.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use upkeep_forge::git_auth::GitCredentials;
use upkeep_pipeline::record::{RunRecord, RunStatus};
use upkeep_runner::protocol::{
    AGENT_TOKEN_PREFIX, JobFinished, JobOffer, LeaseAnswer, LeaseRequest, MAX_WAIT_SECONDS,
    OfferedRepository, OfferedVariable, OfferedWork,
};
use upkeep_store::{
    Agent, AgentId, AgentStore, AuditStore, Job, JobId, JobKind, JobStore, RepositoryStore,
    RunStore,
};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult, ErrorBody};
use super::page::{PageQuery, next_cursor};
use super::{Body, PathParams, QueryParams, check_field};
use crate::AppState;
use crate::auth::Caller;
use crate::connection::RepositoryAccess;
use crate::secrets::{new_token, token_hash};

/// How long a lease lasts without an extension.
pub const LEASE: Duration = Duration::from_mins(1);

fn require_admin(caller: &Caller) -> ApiResult<()> {
    if caller.account.is_admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the server's admin may manage agents",
        ))
    }
}

fn check_label(label: &str) -> ApiResult<()> {
    check_field(
        "labels",
        label,
        64,
        upkeep_pipeline::project_file::is_agent_label(label),
    )
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "builder-1", "labels": ["linux"] }))]
pub struct NewAgent {
    /// Letters, digits, `-`, `_` and `.`; unique.
    name: String,
    /// What the agent offers (`linux`, `php8.3`); it also carries `agent:<name>`.
    #[serde(default)]
    labels: Vec<String>,
}

/// An agent as the API shows it: never its token.
#[derive(Serialize, ToSchema)]
pub struct AgentView {
    pub id: i64,
    pub name: String,
    /// Sorted, `agent:<name>` among them.
    pub labels: Vec<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When the agent last called with its token.
    #[schema(format = DateTime)]
    pub last_seen_at: Option<String>,
    pub revoked: bool,
}

impl AgentView {
    fn of(agent: &Agent) -> Self {
        Self {
            id: agent.id.0,
            name: agent.name.clone(),
            labels: agent.labels.clone(),
            created_at: agent.created_at.to_string(),
            last_seen_at: agent.last_seen_at.map(|at| at.to_string()),
            revoked: agent.revoked_at.is_some(),
        }
    }
}

/// A registered agent and its token, shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedAgent {
    #[serde(flatten)]
    pub agent: AgentView,
    /// `upa_…`: the agent sends it as `Authorization: Bearer upa_…`.
    pub token: String,
}

#[derive(Serialize, ToSchema)]
pub struct AgentList {
    pub agents: Vec<AgentView>,
    /// The cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AgentPath {
    /// The agent's id.
    id: i64,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct JobPath {
    /// The job's id, from the lease's answer.
    job: i64,
}

/// Register a remote agent.
///
/// Its token is in this answer only.
#[utoipa::path(
    post,
    path = "/agents",
    tag = "agents",
    request_body = NewAgent,
    responses(
        (status = 201, description = "Registered, with its token", body = CreatedAgent),
        (status = 409, description = "`conflict`: an agent has this name", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("admin"))),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<NewAgent>,
) -> ApiResult<(StatusCode, Json<CreatedAgent>)> {
    require_admin(&caller)?;
    let valid = request
        .name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    check_field("name", &request.name, 64, valid)?;
    for label in &request.labels {
        check_label(label)?;
    }
    // Every agent carries its own name as a label, so a job can ask for that agent.
    let mut labels = request.labels.clone();
    labels.push(format!("agent:{}", request.name));
    let token = new_token(AGENT_TOKEN_PREFIX).map_err(|error| ApiError::internal(&error))?;
    let store = &state.inner.store;
    let agent = store
        .create_agent(
            &request.name,
            &token_hash(&token),
            &labels,
            caller.account.id,
        )
        .await?;
    store
        .record_audit(
            None,
            Some(caller.account.id),
            "agent.created",
            &format!("registered agent {}", agent.name),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedAgent {
            agent: AgentView::of(&agent),
            token,
        }),
    ))
}

/// The remote agents, revoked ones included, newest first, with when each was last seen.
#[utoipa::path(
    get,
    path = "/agents",
    tag = "agents",
    params(PageQuery),
    responses((status = 200, description = "A page of the agents", body = AgentList)),
    extensions(("x-upkeep-role" = json!("admin"))),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(page): QueryParams<PageQuery>,
) -> ApiResult<Json<AgentList>> {
    require_admin(&caller)?;
    let agents = state.inner.store.agents(page.request("agents")?).await?;
    Ok(Json(AgentList {
        agents: agents.items.iter().map(AgentView::of).collect(),
        next_cursor: next_cursor("agents", &agents),
    }))
}

/// Revoke an agent's token: the agent is refused from then on.
#[utoipa::path(
    delete,
    path = "/agents/{id}",
    tag = "agents",
    params(AgentPath),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "`not_found`: no such agent, or revoked already", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("admin"))),
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(AgentPath { id }): PathParams<AgentPath>,
) -> ApiResult<StatusCode> {
    require_admin(&caller)?;
    let store = &state.inner.store;
    if !store.revoke_agent(AgentId(id), Timestamp::now()).await? {
        return Err(ApiError::not_found("agent"));
    }
    store
        .record_audit(
            None,
            Some(caller.account.id),
            "agent.revoked",
            &format!("revoked agent #{id}"),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The agent calling, by its token (`Authorization: Bearer upa_…`).
pub struct AgentCaller(pub Agent);

impl FromRequestParts<AppState> for AgentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| token.starts_with(AGENT_TOKEN_PREFIX))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "an agent sends its token as `Authorization: Bearer upa_…`",
                )
            })?;
        state
            .inner
            .store
            .agent_by_token(&token_hash(token), Timestamp::now())
            .await?
            .map(Self)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "this agent token is unknown or revoked",
                )
            })
    }
}

fn lease_end(now: Timestamp) -> ApiResult<Timestamp> {
    now.checked_add(SignedDuration::try_from(LEASE).map_err(|error| ApiError::internal(&error))?)
        .map_err(|error| ApiError::internal(&error))
}

/// What a lease request gets: a job, or none after the wait.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LeaseOutcome {
    Offer(Box<JobOffer>),
    /// `{"job": null}`: no job the agent may take came within the wait.
    Nothing {
        job: Option<i64>,
    },
}

/// Lease the oldest job this agent may take (by its labels), waiting up to `wait_seconds`
/// (at most 30) for one.
///
/// The offer holds everything the job needs: the run, the repository with its credentials,
/// the variables and secrets.
#[utoipa::path(
    post,
    path = "/agent/jobs/lease",
    tag = "agent protocol",
    request_body = LeaseRequest,
    responses((status = 200, description = "A job with its lease, or `{\"job\": null}`", body = LeaseOutcome)),
    extensions(("x-upkeep-role" = json!("agent"))),
)]
pub async fn lease(
    State(state): State<AppState>,
    AgentCaller(agent): AgentCaller,
    Body(request): Body<LeaseRequest>,
) -> ApiResult<Json<LeaseOutcome>> {
    let wait = Duration::from_secs(request.wait_seconds.min(MAX_WAIT_SECONDS));
    let deadline = tokio::time::Instant::now() + wait;
    let store = &state.inner.store;
    loop {
        // Registered before looking, so that a job queued in between wakes this request.
        let queued = state.inner.executor.jobs_queued().notified();
        let now = Timestamp::now();
        if let Some(job) = store.lease_next_job(agent.id, now, lease_end(now)?).await? {
            let run_is_over = store
                .run(&job.run_id)
                .await?
                .is_none_or(|run| run.status.is_final());
            if job.cancel_requested_at.is_some() || run_is_over {
                // Cancelled while it waited: it ends here, no agent starts it.
                store.finish_job(job.id, agent.id, now).await?;
                if !run_is_over {
                    store
                        .set_run_status(&job.run_id, RunStatus::Cancelled, now)
                        .await?;
                }
                continue;
            }
            if job.attempts > 1 && job.kind == JobKind::Pipeline {
                start_again(&state, &job).await?;
            }
            match offer(&state, &job).await {
                Ok(offer) => return Ok(Json(LeaseOutcome::Offer(Box::new(offer)))),
                Err(error) => {
                    // A job that cannot be offered (its repository gone, a secret that does not
                    // open) is ended, its run failed with the reason, and the next one tried.
                    fail_unofferable(&state, &agent, &job, &error).await?;
                    continue;
                }
            }
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Ok(Json(LeaseOutcome::Nothing { job: None }));
        }
        // Woken by a queued job, or at least once a second (another server replica may have
        // queued it, or a lease expired).
        let _ = tokio::time::timeout(left.min(Duration::from_secs(1)), queued).await;
    }
}

/// A run whose agent went away starts again on the next agent: what the first one sent of its
/// logs and record is dropped, so that the new attempt's offsets start at zero.
async fn start_again(state: &AppState, job: &Job) -> ApiResult<()> {
    if let Some(run) = state.inner.store.run(&job.run_id).await? {
        let logs = run.run_dir.join("logs");
        if logs.exists() {
            fs_err::remove_dir_all(&logs).map_err(|error| ApiError::internal(&error))?;
        }
        tracing::warn!(
            target: "upkeep::runs",
            run = %run.run_id,
            attempt = job.attempts,
            "the run's agent lost its lease; the run starts again on another agent"
        );
    }
    Ok(())
}

async fn fail_unofferable(
    state: &AppState,
    agent: &Agent,
    job: &Job,
    error: &ApiError,
) -> ApiResult<()> {
    let store = &state.inner.store;
    store.finish_job(job.id, agent.id, Timestamp::now()).await?;
    if let Some(run) = store.run(&job.run_id).await? {
        let mut record = RunRecord::load(&run.run_dir)
            .unwrap_or_else(|_| RunRecord::new(run.run_id.clone(), run.kind, &run.environment));
        record.status = RunStatus::Failed;
        record.finished_at = Some(Timestamp::now());
        record.notes.push(format!(
            "the run could not be given to an agent: {}",
            error.message
        ));
        let _ = record.save(&run.run_dir);
        store
            .set_run_status(&run.run_id, RunStatus::Failed, Timestamp::now())
            .await?;
    }
    Ok(())
}

/// Everything the agent needs for a job: the run, the repository with its credentials, the
/// variables and secrets.
async fn offer(state: &AppState, job: &Job) -> ApiResult<JobOffer> {
    let store = &state.inner.store;
    let run = store
        .run(&job.run_id)
        .await?
        .ok_or_else(|| ApiError::not_found("run of the job"))?;
    let repository = store
        .repository(run.workspace)
        .await?
        .ok_or_else(|| ApiError::not_found("repository of the workspace"))?;
    let access = RepositoryAccess::open(&repository, &state.inner.sealer)
        .map_err(|error| ApiError::internal(&error))?;
    let (username, password, ssh_key) = match access.credentials {
        GitCredentials::None => (None, None, None),
        GitCredentials::Basic { username, password } => (Some(username), Some(password), None),
        GitCredentials::SshKey { private_key } => (None, None, Some(private_key)),
    };
    let provided = state
        .inner
        .executor
        .provided_variables(run.workspace, &run.environment)
        .await
        .map_err(|error| ApiError::internal(&error))?;
    let variables = provided
        .environment()
        .into_iter()
        .map(|(name, value)| OfferedVariable {
            secret: provided.secrets().contains_key(&name),
            name,
            value,
        })
        .collect();
    Ok(JobOffer {
        job: job.id.0,
        work: match job.kind {
            JobKind::Pipeline => OfferedWork::Pipeline,
            JobKind::Approve => OfferedWork::Approve,
            JobKind::Reject => OfferedWork::Reject,
        },
        run_id: run.run_id.clone(),
        workspace: run.workspace.0,
        environment: run.environment.clone(),
        revision: run.commit.clone(),
        requested_by: job.requested_by.clone(),
        repository: OfferedRepository {
            url: access.url,
            username,
            password,
            ssh_key,
        },
        variables,
        lease_seconds: LEASE.as_secs(),
    })
}

/// The job, if this agent holds it.
async fn held_job(state: &AppState, agent: &Agent, job: i64) -> ApiResult<Job> {
    state
        .inner
        .store
        .job(JobId(job))
        .await?
        .filter(|job| job.agent == Some(agent.id) && job.state == upkeep_store::JobState::Leased)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "lease_lost",
                "this agent does not hold the job (its lease expired, or it ended)",
            )
        })
}

/// Extend the lease of a job this agent holds; the answer also says whether the run was
/// cancelled.
#[utoipa::path(
    post,
    path = "/agent/jobs/{job}/lease",
    tag = "agent protocol",
    params(JobPath),
    responses((status = 200, description = "Whether the lease is still held, and whether to cancel", body = LeaseAnswer)),
    extensions(("x-upkeep-role" = json!("agent"))),
)]
pub async fn extend(
    State(state): State<AppState>,
    AgentCaller(agent): AgentCaller,
    PathParams(JobPath { job }): PathParams<JobPath>,
) -> ApiResult<Json<LeaseAnswer>> {
    let now = Timestamp::now();
    let store = &state.inner.store;
    let held = store
        .extend_lease(JobId(job), agent.id, lease_end(now)?)
        .await?;
    let cancel = store
        .job(JobId(job))
        .await?
        .is_some_and(|job| job.cancel_requested_at.is_some());
    Ok(Json(LeaseAnswer { held, cancel }))
}

/// Send the run's record as the agent's runner saved it (masked there).
///
/// It is kept in the run's directory, its status in the store.
#[utoipa::path(
    put,
    path = "/agent/jobs/{job}/record",
    tag = "agent protocol",
    params(JobPath),
    request_body(content = Object, description = "The run's record (`run.json`: stages, steps, gate summary, approval)", content_type = "application/json"),
    responses(
        (status = 204, description = "Kept"),
        (status = 409, description = "`lease_lost`: this agent does not hold the job", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("agent"))),
)]
pub async fn record(
    State(state): State<AppState>,
    AgentCaller(agent): AgentCaller,
    PathParams(JobPath { job }): PathParams<JobPath>,
    Body(record): Body<RunRecord>,
) -> ApiResult<StatusCode> {
    let job = held_job(&state, &agent, job).await?;
    if record.run_id != job.run_id {
        return Err(ApiError::bad_request(
            "invalid_body",
            "the record is of another run than the job's",
        ));
    }
    let store = &state.inner.store;
    let run = store
        .run(&job.run_id)
        .await?
        .ok_or_else(|| ApiError::not_found("run of the job"))?;
    record
        .save(&run.run_dir)
        .map_err(|error| ApiError::internal(&error))?;
    store
        .set_run_status(&run.run_id, record.status, Timestamp::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogChunk {
    /// The log's path inside the run directory (`logs/<stage>/<step>.log`).
    #[param(value_type = String)]
    path: PathBuf,
    /// Where the bytes of this request start in the log.
    offset: u64,
}

#[derive(Serialize, ToSchema)]
pub struct LogAppended {
    /// The log's size now: where the next batch starts.
    pub size: u64,
}

/// Append bytes of a step's log at their offset.
///
/// A batch sent again (the answer got lost) is taken once: bytes the log has already are
/// skipped; a gap is refused with the offset the server has, for the agent to send from there.
#[utoipa::path(
    post,
    path = "/agent/jobs/{job}/logs",
    tag = "agent protocol",
    params(JobPath, LogChunk),
    request_body(content = Vec<u8>, description = "The log's bytes from `offset` on", content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "Appended", body = LogAppended),
        (status = 409, description = "`log_gap`: `offset` is past the log's end (the message says its size); `lease_lost`", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("agent"))),
)]
pub async fn log(
    State(state): State<AppState>,
    AgentCaller(agent): AgentCaller,
    PathParams(JobPath { job }): PathParams<JobPath>,
    QueryParams(chunk): QueryParams<LogChunk>,
    bytes: Bytes,
) -> ApiResult<Json<LogAppended>> {
    let job = held_job(&state, &agent, job).await?;
    let run = state
        .inner
        .store
        .run(&job.run_id)
        .await?
        .ok_or_else(|| ApiError::not_found("run of the job"))?;
    if !chunk.path.starts_with("logs") {
        return Err(ApiError::invalid_field(
            "path",
            "`path` must be a log of the run (logs/…)",
        ));
    }
    let path = upkeep_runner::logs::confined(&run.run_dir, &chunk.path)
        .map_err(|error| ApiError::invalid_field("path", format!("`path`: {error}")))?;
    let written = tokio::task::spawn_blocking(move || append_at(&path, chunk.offset, &bytes))
        .await
        .map_err(|error| ApiError::internal(&error))?
        .map_err(|error| ApiError::internal(&error))?;
    match written {
        Ok(size) => Ok(Json(LogAppended { size })),
        Err(size) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "log_gap",
            format!("the log has {size} bytes; send from there"),
        )),
    }
}

/// `Ok(Ok(size))` after appending; `Ok(Err(size))` when `offset` is past the end.
fn append_at(
    path: &std::path::Path,
    offset: u64,
    bytes: &[u8],
) -> std::io::Result<Result<u64, u64>> {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    let size = std::fs::metadata(path).map_or(0, |metadata| metadata.len());
    if offset > size {
        return Ok(Err(size));
    }
    let skip = usize::try_from(size - offset).unwrap_or(usize::MAX);
    if skip < bytes.len() {
        let mut file = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        file.write_all(&bytes[skip..])?;
    }
    Ok(Ok(size.max(offset + bytes.len() as u64)))
}

/// End a job this agent holds, with the run's status.
#[utoipa::path(
    post,
    path = "/agent/jobs/{job}/finish",
    tag = "agent protocol",
    params(JobPath),
    request_body = JobFinished,
    responses(
        (status = 204, description = "Ended"),
        (status = 409, description = "`lease_lost`: this agent does not hold the job", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("agent"))),
)]
pub async fn finish(
    State(state): State<AppState>,
    AgentCaller(agent): AgentCaller,
    PathParams(JobPath { job }): PathParams<JobPath>,
    Body(finished): Body<JobFinished>,
) -> ApiResult<StatusCode> {
    let job = held_job(&state, &agent, job).await?;
    let store = &state.inner.store;
    store
        .set_run_status(&job.run_id, finished.status, Timestamp::now())
        .await?;
    store.finish_job(job.id, agent.id, Timestamp::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
