//! The embedded executor: runs queued pipeline runs on this machine through `upkeep-runner`,
//! the same runner the CLI uses (never a second encoding of the pipeline order). Each workspace
//! has a clone of its repository under the data directory; a run fetches the branches, checks
//! the commit out, and hands the environment to the runner. Runs of one workspace take turns
//! on its clone; deployments of one environment wait for each other in the runner's queue.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;
use tokio::runtime::Handle;
use tokio::sync::{Notify, Semaphore};
use upkeep_forge::git::Git;
use upkeep_pipeline::executor::CancelToken;
use upkeep_pipeline::provided::{ProvidedVariables, VariableNameError};
use upkeep_pipeline::record::{RunId, RunKind, RunRecord, RunStatus};
use upkeep_runner::{
    Decision, EnvironmentContext, Overrides, PipelineRequest, RunError, RunObserver,
};
use upkeep_store::{
    AgentStore, JobKind, JobStore, NewRun, RunStore, Scope, Store, StoreError, StoredValue,
    Trigger, VariableStore, WorkspaceId,
};

use crate::connection::RepositoryAccess;
use crate::sealing::{SealError, Sealer};

/// A run to start.
#[derive(Debug, Clone)]
pub struct Job {
    pub workspace: WorkspaceId,
    pub run_id: RunId,
    pub environment: String,
    /// A branch, tag or commit; `None`: the environment's branch.
    pub revision: Option<String>,
    pub requested_by: String,
    pub access: RepositoryAccess,
}

/// A push to a branch of a workspace's repository.
#[derive(Debug, Clone)]
pub struct PushJob {
    pub workspace: WorkspaceId,
    pub branch: String,
    pub commit: String,
    pub access: RepositoryAccess,
}

/// Where a workspace's things live under the data directory.
#[derive(Debug, Clone)]
pub struct WorkspaceDirs {
    pub clone: PathBuf,
    /// Runs, logs and images (the runner's state directory).
    pub state: PathBuf,
}

impl WorkspaceDirs {
    pub fn of(data_dir: &Path, workspace: WorkspaceId) -> Self {
        let root = data_dir.join("workspaces").join(workspace.0.to_string());
        Self {
            clone: root.join("repository"),
            state: root.join("state"),
        }
    }

    pub fn run_dir(&self, run: &RunId) -> PathBuf {
        self.state.join("runs").join(run.as_str())
    }
}

/// Where queued runs are driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutorMode {
    /// By this process, on this machine.
    #[default]
    Embedded,
    /// By remote agents (`upkeep agent`), which lease them from the job queue.
    Agents,
}

#[derive(Clone)]
pub struct Executor {
    mode: ExecutorMode,
    /// A turn per run this process may drive at once (`--max-runs`); a run waits for one,
    /// `queued`, before it takes its workspace's clone.
    turns: Arc<Semaphore>,
    store: Store,
    /// Opens the workspace's secrets for the runs that receive them.
    sealer: Sealer,
    data_dir: PathBuf,
    /// One lock per workspace clone: a checkout must not change under a starting run.
    clones: Arc<Mutex<HashMap<i64, Arc<Mutex<()>>>>>,
    /// The cancel token of every run this process drives now, by run id.
    running: Arc<Mutex<HashMap<RunId, CancelToken>>>,
    /// Wakes agents' lease requests when a job is queued.
    jobs_queued: Arc<Notify>,
}

impl Executor {
    pub fn new(
        mode: ExecutorMode,
        max_runs: usize,
        store: Store,
        sealer: Sealer,
        data_dir: PathBuf,
    ) -> Self {
        Self {
            mode,
            turns: Arc::new(Semaphore::new(max_runs.max(1))),
            store,
            sealer,
            data_dir,
            clones: Arc::default(),
            running: Arc::default(),
            jobs_queued: Arc::default(),
        }
    }

    /// Woken when a job is queued for agents.
    pub fn jobs_queued(&self) -> &Notify {
        &self.jobs_queued
    }

    /// Puts a job in the queue for agents and wakes those waiting.
    fn queue_for_agents(
        &self,
        run: RunId,
        kind: JobKind,
        revision: Option<String>,
        requested_by: String,
        labels: Vec<String>,
    ) {
        let executor = self.clone();
        Handle::current().spawn(async move {
            let queued = executor
                .store
                .queue_job(&run, kind, revision.as_deref(), &requested_by, &labels)
                .await;
            match queued {
                Ok(_) => executor.jobs_queued.notify_waiters(),
                Err(error) => {
                    tracing::warn!(target: "upkeep::runs", run = %run, %error, "cannot queue a job for agents");
                    let _ = executor
                        .store
                        .set_run_status(&run, RunStatus::Failed, Timestamp::now())
                        .await;
                }
            }
        });
    }

    /// A cancel token for a run this process is about to drive, registered so that
    /// [`Executor::cancel`] finds it; dropped with the returned guard.
    fn register(&self, run: &RunId) -> Registered {
        let token = CancelToken::new();
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(run.clone(), token.clone());
        Registered {
            running: Arc::clone(&self.running),
            run: run.clone(),
            token,
        }
    }

    /// How many runs this process drives now.
    pub fn running_count(&self) -> usize {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Asks a run to stop: its step's process group is stopped and the run ends `cancelled`.
    /// A run agents drive keeps the request in the database, where its agent hears it with
    /// its next lease extension and no agent starts it. `false` when neither this process nor
    /// an agent drives such a run.
    pub async fn cancel(&self, run: &RunId, status: RunStatus) -> Result<bool, StoreError> {
        let here = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(run)
            .map(CancelToken::cancel)
            .is_some();
        if here {
            return Ok(true);
        }
        if self.mode != ExecutorMode::Agents
            || !matches!(status, RunStatus::Queued | RunStatus::Running)
        {
            return Ok(false);
        }
        let now = Timestamp::now();
        if self.store.request_cancel(run, now).await? > 0 {
            return Ok(true);
        }
        if status == RunStatus::Queued {
            // Its job is not in the queue yet: the run ends here, and the agent that leases
            // the job finds the run over.
            self.store
                .set_run_status(run, RunStatus::Cancelled, now)
                .await?;
            return Ok(true);
        }
        Ok(false)
    }

    pub fn dirs(&self, workspace: WorkspaceId) -> WorkspaceDirs {
        WorkspaceDirs::of(&self.data_dir, workspace)
    }

    fn clone_lock(&self, workspace: WorkspaceId) -> Arc<Mutex<()>> {
        self.clones
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(workspace.0)
            .or_default()
            .clone()
    }

    /// Starts a queued run in the background (or queues it for agents); its status goes to the
    /// store as it changes.
    pub fn start(&self, job: Job) {
        if self.mode == ExecutorMode::Agents {
            let executor = self.clone();
            let handle = Handle::current();
            tokio::task::spawn_blocking(move || {
                let labels = executor.required_labels(&job);
                let _entered = handle.enter();
                executor.queue_for_agents(
                    job.run_id,
                    JobKind::Pipeline,
                    job.revision,
                    job.requested_by,
                    labels,
                );
            });
            return;
        }
        let executor = self.clone();
        let handle = Handle::current();
        tokio::task::spawn_blocking(move || {
            let Ok(_turn) = handle.block_on(Arc::clone(&executor.turns).acquire_owned()) else {
                return;
            };
            let observer = StoreObserver {
                store: executor.store.clone(),
                handle: handle.clone(),
            };
            if let Err(error) = executor.run(&job, &observer) {
                tracing::warn!(
                    target: "upkeep::runs",
                    run = %job.run_id,
                    environment = %job.environment,
                    %error,
                    "run could not start"
                );
                // The runner ends its record `failed` with the reason; a run that failed before
                // the runner began (no clone, no such environment) gets a record saying why.
                let run_dir = executor.dirs(job.workspace).run_dir(&job.run_id);
                if RunRecord::load(&run_dir).is_err() {
                    let mut record =
                        RunRecord::new(job.run_id.clone(), RunKind::Pipeline, &job.environment);
                    record.status = RunStatus::Failed;
                    record.finished_at = Some(Timestamp::now());
                    record.requested_by = Some(job.requested_by.clone());
                    record
                        .notes
                        .push(format!("the run could not start: {error}"));
                    let _ = record.save(&run_dir);
                }
                let _ = handle.block_on(executor.store.set_run_status(
                    &job.run_id,
                    RunStatus::Failed,
                    Timestamp::now(),
                ));
            }
        });
    }

    /// The labels an agent must carry to run the job: the environment's `agent-labels` in
    /// `upkeep.yml` at the revision the run builds, read from the server's clone. None when it
    /// cannot be read: the agent that takes the job then fails the run with the reason, as
    /// this process would.
    fn required_labels(&self, job: &Job) -> Vec<String> {
        let dirs = self.dirs(job.workspace);
        let lock = self.clone_lock(job.workspace);
        let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let context = prepare_clone(&job.access, &dirs.clone, &self.data_dir).and_then(|git| {
            upkeep_runner::checkout::check_out_for_run(
                &git,
                &dirs.clone,
                &job.environment,
                job.revision.as_deref(),
                &dirs.state,
            )
            .map_err(ExecutorError::from)
        });
        match context {
            Ok((context, _)) => context.environment.agent_labels.clone(),
            Err(error) => {
                tracing::warn!(
                    target: "upkeep::runs",
                    run = %job.run_id,
                    %error,
                    "cannot read the environment's agent labels; any agent may take the run"
                );
                Vec::new()
            }
        }
    }

    fn run(&self, job: &Job, observer: &StoreObserver) -> Result<RunRecord, ExecutorError> {
        let dirs = self.dirs(job.workspace);
        let lock = self.clone_lock(job.workspace);
        // Held for the whole run: the runner reads upkeep.yml and the deploy file of the
        // checkout, which another run must not change under it.
        let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let git = prepare_clone(&job.access, &dirs.clone, &self.data_dir)?;
        let (mut context, revision) = upkeep_runner::checkout::check_out_for_run(
            &git,
            &dirs.clone,
            &job.environment,
            job.revision.as_deref(),
            &dirs.state,
        )?;
        context.provided =
            Handle::current().block_on(self.provided_variables(job.workspace, &job.environment))?;
        let registered = self.register(&job.run_id);
        let request = PipelineRequest {
            kind: RunKind::Pipeline,
            revision,
            deploy_type: None,
            approve: false,
            overrides: Overrides::default(),
            requested_by: Some(job.requested_by.clone()),
        };
        Ok(upkeep_runner::run_pipeline(
            &context,
            &request,
            job.run_id.clone(),
            registered.token.clone(),
            observer,
        )?)
    }

    /// Queues the main pipeline of every environment whose `branch:` received the push (as
    /// `upkeep.yml` of the pushed commit says), and starts them.
    pub fn push(&self, push: PushJob) {
        let executor = self.clone();
        let handle = Handle::current();
        tokio::task::spawn_blocking(move || {
            let Ok(environments) = executor.environments_of_branch(&push) else {
                return;
            };
            for environment in environments {
                let run_id = upkeep_runner::new_run_id();
                let run_dir = executor.dirs(push.workspace).run_dir(&run_id);
                let queued = handle.block_on(executor.store.queue_run(&NewRun {
                    workspace: push.workspace,
                    run_id: &run_id,
                    environment: &environment,
                    kind: RunKind::Pipeline,
                    trigger: Trigger::Push,
                    requested_by: None,
                    commit: Some(&push.commit),
                    run_dir: &run_dir,
                }));
                if queued.is_ok() {
                    let _guard = handle.enter();
                    executor.start(Job {
                        workspace: push.workspace,
                        run_id,
                        environment,
                        revision: Some(push.commit.clone()),
                        requested_by: format!("push to {}", push.branch),
                        access: push.access.clone(),
                    });
                }
            }
        });
    }

    /// The environments whose `branch:` is the pushed branch, in `upkeep.yml` of the pushed
    /// commit.
    fn environments_of_branch(&self, push: &PushJob) -> Result<Vec<String>, ExecutorError> {
        let dirs = self.dirs(push.workspace);
        let lock = self.clone_lock(push.workspace);
        let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let git = prepare_clone(&push.access, &dirs.clone, &self.data_dir)?;
        git.checkout_detached(&push.commit)?;
        let project = upkeep_runner::context::load_project_file(&dirs.clone)?;
        Ok(project
            .environments
            .values()
            .filter(|environment| environment.branch.as_deref() == Some(push.branch.as_str()))
            .map(|environment| environment.name.clone())
            .collect())
    }

    /// Approves or rejects a waiting run in the background; the deployment of an approved run
    /// goes on with the image it built.
    pub fn decide(
        &self,
        workspace: WorkspaceId,
        environment: String,
        run_id: RunId,
        decision: Decision,
        by: String,
    ) {
        if self.mode == ExecutorMode::Agents {
            self.queue_decision_for_agents(run_id, decision, by);
            return;
        }
        let executor = self.clone();
        let handle = Handle::current();
        tokio::task::spawn_blocking(move || {
            // The deployment of an approved run takes a turn like any run.
            let Ok(_turn) = handle.block_on(Arc::clone(&executor.turns).acquire_owned()) else {
                return;
            };
            let observer = StoreObserver {
                store: executor.store.clone(),
                handle: handle.clone(),
            };
            let _ = handle.block_on(executor.store.set_run_status(
                &run_id,
                RunStatus::Running,
                Timestamp::now(),
            ));
            let decided =
                executor.decide_now(workspace, &environment, &run_id, decision, by, &observer);
            if !decided {
                let _ = handle.block_on(executor.store.set_run_status(
                    &run_id,
                    RunStatus::Failed,
                    Timestamp::now(),
                ));
            }
        });
    }
}

impl Executor {
    /// Queues the decision on a waiting run for the agent that ran it: the image the run built
    /// is in that agent's image store.
    fn queue_decision_for_agents(&self, run: RunId, decision: Decision, by: String) {
        let executor = self.clone();
        Handle::current().spawn(async move {
            let store = &executor.store;
            let ran_it = match store.jobs_of_run(&run).await {
                Ok(jobs) => jobs.iter().rev().find_map(|job| job.agent),
                Err(_) => None,
            };
            let name = match ran_it {
                Some(id) => store.agent(id).await.ok().flatten().map(|agent| agent.name),
                None => None,
            };
            let kind = match decision {
                Decision::Approve => JobKind::Approve,
                Decision::Reject => JobKind::Reject,
            };
            let labels: Vec<String> = name
                .map(|name| format!("agent:{name}"))
                .into_iter()
                .collect();
            let _ = store
                .set_run_status(&run, RunStatus::Running, Timestamp::now())
                .await;
            executor.queue_for_agents(run, kind, None, by, labels);
        });
    }

    /// Decides on a waiting run with the clone at the run's commit, so that the deployment
    /// goes on with that commit's `upkeep.yml`.
    fn decide_now(
        &self,
        workspace: WorkspaceId,
        environment: &str,
        run_id: &RunId,
        decision: Decision,
        by: String,
        observer: &StoreObserver,
    ) -> bool {
        let dirs = self.dirs(workspace);
        let lock = self.clone_lock(workspace);
        let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let registered = self.register(run_id);
        let commit = RunRecord::load(&dirs.run_dir(run_id))
            .ok()
            .and_then(|record| record.commit);
        let checked_out = match (Git::open(&dirs.clone), commit) {
            (Ok(git), Some(commit)) => git.checkout_detached(&commit).is_ok(),
            _ => false,
        };
        let Ok(mut context) = EnvironmentContext::load(&dirs.clone, environment, Some(&dirs.state))
        else {
            return false;
        };
        let Ok(provided) =
            Handle::current().block_on(self.provided_variables(workspace, environment))
        else {
            return false;
        };
        context.provided = provided;
        checked_out
            && upkeep_runner::decide(
                &context,
                Some(run_id),
                decision,
                Some(by),
                registered.token.clone(),
                observer,
            )
            .is_ok()
    }

    /// The variables and secrets of the workspace, with those of the environment over them.
    pub async fn provided_variables(
        &self,
        workspace: WorkspaceId,
        environment: &str,
    ) -> Result<ProvidedVariables, ExecutorError> {
        let variables = self.store.variables(workspace).await?;
        let environment_scope = Scope::Environment(environment.to_string());
        let layers = variables
            .iter()
            .filter(|variable| variable.scope == Scope::Workspace)
            .chain(
                variables
                    .iter()
                    .filter(|variable| variable.scope == environment_scope),
            );
        let mut provided = ProvidedVariables::default();
        for variable in layers {
            let (value, secret) = match &variable.value {
                StoredValue::Plain(value) => (value.clone(), false),
                StoredValue::Sealed(sealed) => (
                    self.sealer
                        .open(sealed)
                        .map_err(|source| ExecutorError::Secret {
                            name: variable.name.clone(),
                            source,
                        })?,
                    true,
                ),
            };
            provided.set(&variable.name, &value, secret)?;
        }
        Ok(provided)
    }
}

/// A run's place in [`Executor::running`], taken out when the run is over.
struct Registered {
    running: Arc<Mutex<HashMap<RunId, CancelToken>>>,
    run: RunId,
    token: CancelToken,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.run);
    }
}

/// Clones the repository on first use (again when the workspace was switched to another
/// URL), then brings every branch up to date, with the connection's credentials.
fn prepare_clone(
    access: &RepositoryAccess,
    dir: &Path,
    data_dir: &Path,
) -> Result<Git, ExecutorError> {
    Ok(upkeep_runner::checkout::prepare_clone(
        &access.url,
        &access.credentials,
        dir,
        &crate::connection::git_places(data_dir),
    )?)
}

impl Executor {
    /// Drops the workspace's clone, so that the next run clones from scratch; `Ok(false)` when
    /// there was none. A clone that a run uses now is kept ([`DropCloneError::InUse`]).
    pub fn drop_clone(&self, workspace: WorkspaceId) -> Result<bool, DropCloneError> {
        let lock = self.clone_lock(workspace);
        let _guard = match lock.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Err(DropCloneError::InUse),
        };
        let clone = self.dirs(workspace).clone;
        if !clone.exists() {
            return Ok(false);
        }
        fs_err::remove_dir_all(&clone).map_err(DropCloneError::Io)?;
        Ok(true)
    }
}

impl Executor {
    /// Clones the workspace's repository, or brings the clone up to date, unless a run holds
    /// the clone now (that run does it itself): `Ok(false)` then.
    pub fn refresh_clone(
        &self,
        workspace: WorkspaceId,
        access: &RepositoryAccess,
    ) -> Result<bool, ExecutorError> {
        let lock = self.clone_lock(workspace);
        let _guard = match lock.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Ok(false),
        };
        prepare_clone(access, &self.dirs(workspace).clone, &self.data_dir)?;
        Ok(true)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DropCloneError {
    #[error("a run uses the clone now; drop it once the run is over")]
    InUse,
    #[error("cannot remove the clone: {0}")]
    Io(std::io::Error),
}

impl From<RunError> for ExecutorError {
    fn from(error: RunError) -> Self {
        Self::Run(Box::new(error))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error(transparent)]
    Git(#[from] upkeep_forge::git::GitError),
    #[error(transparent)]
    Run(Box<RunError>),
    #[error("cannot read the workspace's variables: {0}")]
    Store(#[from] StoreError),
    #[error("the secret `{name}` cannot be given to the run: {source}")]
    Secret {
        name: String,
        #[source]
        source: SealError,
    },
    #[error(transparent)]
    Variable(#[from] VariableNameError),
    #[error(transparent)]
    Credentials(#[from] upkeep_forge::git_auth::GitAuthError),
    #[error(transparent)]
    Checkout(#[from] upkeep_runner::checkout::CheckoutError),
}

/// Keeps the store's view of a run in step with the runner.
struct StoreObserver {
    store: Store,
    handle: Handle,
}

impl StoreObserver {
    fn status(&self, record: &RunRecord) {
        tracing::info!(
            target: "upkeep::runs",
            run = %record.run_id,
            environment = %record.environment,
            status = record.status.as_str(),
            "run status"
        );
        let _ = self.handle.block_on(self.store.set_run_status(
            &record.run_id,
            record.status,
            Timestamp::now(),
        ));
    }
}

impl RunObserver for StoreObserver {
    fn message(&self, _text: &str) {}

    fn run_started(&self, record: &RunRecord) {
        self.status(record);
    }

    fn waiting_for_approval(&self, record: &RunRecord) {
        self.status(record);
    }

    fn run_finished(&self, record: &RunRecord) {
        self.status(record);
    }
}
