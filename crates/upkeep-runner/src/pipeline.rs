//! Runs: the main pipeline, a build alone, a deployment alone, a rollback, and the decision on
//! a run that waits for approval. Every run is driven by [`upkeep_pipeline::runtime`] over the
//! environment's plan: the order of the phases, what a gate verdict means, when the run waits
//! and when it ends are the runtime's, never re-derived here.
//!
//! The checks that need no run (the commit exists and is on the environment's branch, a
//! destructive deployment is allowed, the image is deployable) come before the run's record
//! is written; anything that fails after it ends the record `failed` with the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use upkeep_deploy::checkout::{BranchCheck, Commit, check_branch, resolve_commit};
use upkeep_deploy::promotion::{Promotion, Promotions};
use upkeep_pipeline::executor::CancelToken;
use upkeep_pipeline::project_file::DeployType;
use upkeep_pipeline::record::{
    ApprovalDecision, ApprovalRecord, GateVerdict, ImageRecord, RunId, RunKind, RunRecord,
    RunStatus, SubPipelineRecord,
};
use upkeep_pipeline::runtime::{Action, Event, Phase, Runtime};

use crate::context::EnvironmentContext;
use crate::error::RunError;
use crate::jobs;
use crate::jobs::deploy::{Overrides, authorize_image, check_destructive};
use crate::observer::RunObserver;
use crate::session::RunSession;

/// What to start: the main pipeline or a build alone, of a commit.
#[derive(Debug, Clone)]
pub struct PipelineRequest {
    /// [`RunKind::Pipeline`] or [`RunKind::Build`].
    pub kind: RunKind,
    /// The commit to build: a branch, tag or commit id.
    pub revision: String,
    /// Overrides the environment's `deploy-type`.
    pub deploy_type: Option<DeployType>,
    /// Approval given in advance (`--approve`), for environments that require it.
    pub approve: bool,
    pub overrides: Overrides,
    /// Who starts it, for the record.
    pub requested_by: Option<String>,
}

/// What to deploy alone: a promoted image of the environment (the newest by default).
#[derive(Debug, Clone, Default)]
pub struct DeployRequest {
    pub image: Option<String>,
    pub deploy_type: Option<DeployType>,
    pub overrides: Overrides,
    pub requested_by: Option<String>,
}

/// The decision on a run that waits for approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// Starts a run of the main pipeline (or a build alone) and drives it until it ends or waits
/// for approval. Returns its record as saved.
pub fn run_pipeline(
    context: &EnvironmentContext,
    request: &PipelineRequest,
    id: RunId,
    cancel: CancelToken,
    observer: &dyn RunObserver,
) -> Result<RunRecord, RunError> {
    let plan = context.plan(request.deploy_type)?;
    let deploy_type = request
        .deploy_type
        .unwrap_or(context.environment.deploy_type);
    let mut overrides = Vec::new();
    if request.kind == RunKind::Pipeline {
        overrides.extend(check_destructive(context, deploy_type, &request.overrides)?);
    }
    let commit = resolve_commit(context.root(), &request.revision)
        .map_err(|source| RunError::Commit { source })?;
    overrides.extend(check_commit_branch(
        context,
        &commit,
        request.overrides.force,
    )?);

    let mut record = RunRecord::new(id, request.kind, context.name());
    record.requested_by.clone_from(&request.requested_by);
    record.commit = Some(commit.id.clone());
    record.deploy_type = (request.kind == RunKind::Pipeline).then_some(deploy_type);
    record.overrides = overrides;
    let runtime = Runtime::for_plan(&plan, request.kind);
    record.runtime = Some(runtime.clone());
    let mut session = RunSession::create(&context.runs_dir(), record, cancel)?;
    observer.run_started(&session.record());
    let mut work = Work {
        commit: Some(commit),
        checkout: None,
        exported: None,
        approved_in_advance: request.approve,
    };
    let result = drive(context, &mut session, runtime, &mut work, observer);
    work.remove_checkout();
    end(&session, result, observer)
}

/// Deploys a promoted image of the environment as a run of its own.
pub fn run_deployment(
    context: &EnvironmentContext,
    request: &DeployRequest,
    id: RunId,
    cancel: CancelToken,
    observer: &dyn RunObserver,
) -> Result<RunRecord, RunError> {
    let deploy_type = request
        .deploy_type
        .unwrap_or(context.environment.deploy_type);
    let mut overrides: Vec<String> = check_destructive(context, deploy_type, &request.overrides)?
        .into_iter()
        .collect();
    let store = context.open_store()?;
    let authorized = authorize_image(
        context,
        &store,
        request.image.as_deref(),
        &request.overrides,
    )?;
    overrides.extend(authorized.overrides);
    let mut record = RunRecord::new(id, RunKind::Deployment, context.name());
    record.requested_by.clone_from(&request.requested_by);
    record.deploy_type = Some(deploy_type);
    record.overrides = overrides;
    record.from_environment = authorized.from_environment;
    record.image = Some(ImageRecord {
        reference: authorized.reference,
        digest: authorized.image.manifest_digest.to_string(),
        environment: upkeep_deploy::promotion::built_for(&authorized.image).map(str::to_string),
        promoted: false,
        pushed: None,
    });
    let runtime = Runtime::new(vec![Phase::Deployment { deploy_type }]);
    record.runtime = Some(runtime.clone());
    let mut session = RunSession::create(&context.runs_dir(), record, cancel)?;
    observer.run_started(&session.record());
    let mut work = Work::default();
    let result = drive(context, &mut session, runtime, &mut work, observer);
    end(&session, result, observer)
}

/// Rolls the environment back to the release active before the current one, as a run.
pub fn run_rollback(
    context: &EnvironmentContext,
    requested_by: Option<String>,
    id: RunId,
    cancel: CancelToken,
    observer: &dyn RunObserver,
) -> Result<RunRecord, RunError> {
    let mut record = RunRecord::new(id, RunKind::Rollback, context.name());
    record.requested_by = requested_by;
    let session = RunSession::create(&context.runs_dir(), record, cancel)?;
    observer.run_started(&session.record());
    let result = jobs::rollback::run(context, &session, observer).map(|_| RunStatus::Succeeded);
    end(&session, result, observer)
}

/// Approves or rejects a run that waits for approval (run `id`, or the environment's newest
/// waiting run) and, once approved, drives it on: the image it built is promoted and deployed.
/// Works across processes: the run's state is its record.
pub fn decide(
    context: &EnvironmentContext,
    id: Option<&RunId>,
    decision: Decision,
    by: Option<String>,
    cancel: CancelToken,
    observer: &dyn RunObserver,
) -> Result<RunRecord, RunError> {
    let index = context.index();
    let found = match id {
        Some(id) => index.pick(context.name(), Some(id))?,
        None => index.latest_waiting(context.name())?,
    };
    let dir = index.run_dir(&found.run_id);
    // Two people deciding at once: the second one is told, never runs the deployment twice.
    let _lock = lock_decision(&dir, &found.run_id)?;
    let record = crate::index::load_current(&dir)?;
    if record.status != RunStatus::WaitingForApproval {
        return Err(RunError::NotWaiting {
            id: record.run_id,
            status: record.status,
        });
    }
    let mut runtime = record.runtime.clone().ok_or_else(|| RunError::NotWaiting {
        id: record.run_id.clone(),
        status: record.status,
    })?;
    let (event, decided, word, via) = match decision {
        Decision::Approve => (
            Event::Approved,
            ApprovalDecision::Approved,
            "approved",
            "upkeep pipeline approve",
        ),
        Decision::Reject => (
            Event::Rejected,
            ApprovalDecision::Rejected,
            "rejected",
            "upkeep pipeline reject",
        ),
    };
    let run_id = record.run_id.clone();
    runtime.apply(event).map_err(|source| RunError::Runtime {
        id: run_id.clone(),
        source,
    })?;
    let mut session = RunSession::resume(dir, record, cancel);
    let who = by.clone().unwrap_or_else(|| "someone".to_string());
    session.update(|record| {
        record.status = RunStatus::Running;
        record.approval = Some(ApprovalRecord {
            decision: decided,
            by,
            at: Some(Timestamp::now()),
            via: Some(via.to_string()),
        });
        record.notes.push(format!("{word} by {who}"));
        record.runtime = Some(runtime.clone());
    })?;
    observer.message(&format!("run {run_id} {word} by {who}"));
    let mut carried = Work::default();
    let result = drive(context, &mut session, runtime, &mut carried, observer);
    end(&session, result, observer)
}

/// What a run carries between its phases in this process.
#[derive(Default)]
struct Work {
    commit: Option<Commit>,
    checkout: Option<PathBuf>,
    /// The variables the build exported, when the build ran in this process.
    exported: Option<BTreeMap<String, String>>,
    approved_in_advance: bool,
}

impl Work {
    fn remove_checkout(&mut self) {
        // The image holds the tree; the checkout is upkeep's scratch space.
        if let Some(checkout) = self.checkout.take() {
            let _ = fs_err::remove_dir_all(checkout);
        }
    }
}

/// Performs the runtime's actions until the run ends or waits.
fn drive(
    context: &EnvironmentContext,
    session: &mut RunSession,
    mut runtime: Runtime,
    work: &mut Work,
    observer: &dyn RunObserver,
) -> Result<RunStatus, RunError> {
    loop {
        let action = runtime.next_action();
        if session.cancel.is_cancelled() && !matches!(action, Action::Finish(_)) {
            apply(session, &mut runtime, Event::Cancelled)?;
            continue;
        }
        let event = match action {
            Action::Build => {
                let commit = work.commit.clone().ok_or_else(|| RunError::NoImage {
                    id: session.id(),
                    action: "build",
                })?;
                let built = jobs::build::run(context, session, &commit, observer)?;
                work.checkout = Some(built.checkout);
                work.exported = Some(built.exported);
                Event::Built {
                    status: built.status,
                }
            }
            Action::CheckGate { policy } => {
                let tree = work.checkout.clone().ok_or_else(|| RunError::NoImage {
                    id: session.id(),
                    action: "check",
                })?;
                let checked = jobs::gate::run(session, &tree, policy, observer)?;
                work.remove_checkout();
                apply(session, &mut runtime, Event::GateChecked(checked.result))?;
                let verdict = runtime.gate_verdict().unwrap_or(GateVerdict::Blocked);
                jobs::gate::record_verdict(session, verdict, &checked, observer)?;
                continue;
            }
            Action::AwaitApproval => await_approval(session, work.approved_in_advance)?,
            Action::Promote => {
                promote(context, session, &runtime, observer)?;
                Event::Promoted
            }
            Action::Deploy { deploy_type } => {
                let image = session.record().image.ok_or_else(|| RunError::NoImage {
                    id: session.id(),
                    action: "deploy",
                })?;
                let resolved = match &image.pushed {
                    Some(pushed) if context.environment.registry.is_some() => {
                        jobs::deploy::pull_pushed(context, pushed, observer)?
                    }
                    _ => context.open_store()?.resolve(&image.digest)?,
                };
                let status = jobs::deploy::run(
                    context,
                    session,
                    deploy_type,
                    &image.reference,
                    &resolved,
                    work.exported.take(),
                    observer,
                )?;
                Event::Deployed { status }
            }
            Action::Suspend => return Ok(RunStatus::WaitingForApproval),
            Action::Finish(status) => {
                let not_run = runtime.not_run();
                session.update(|record| {
                    for kind in not_run {
                        if record.sub_pipeline_mut(kind).is_none() {
                            record
                                .sub_pipelines
                                .push(SubPipelineRecord::new(kind, RunStatus::Skipped));
                        }
                    }
                })?;
                return Ok(status);
            }
        };
        apply(session, &mut runtime, event)?;
    }
}

/// Takes an approval given in advance (`--approve`), or leaves the run waiting for one.
fn await_approval(session: &RunSession, approved_in_advance: bool) -> Result<Event, RunError> {
    session.update(|record| {
        if approved_in_advance {
            record.approval = Some(ApprovalRecord {
                decision: ApprovalDecision::Approved,
                by: record.requested_by.clone(),
                at: Some(Timestamp::now()),
                via: Some("--approve".to_string()),
            });
            record
                .notes
                .push("approved on the command line (--approve)".to_string());
            Event::Approved
        } else {
            record.approval = Some(ApprovalRecord {
                decision: ApprovalDecision::Pending,
                by: None,
                at: None,
                via: None,
            });
            let image = record
                .image
                .as_ref()
                .map_or(String::new(), |image| format!(" image {}", image.reference));
            record
                .notes
                .push(format!("waiting for approval before deploying{image}"));
            Event::ApprovalPending
        }
    })
}

/// Moves the runtime on and keeps its state in the record.
fn apply(session: &RunSession, runtime: &mut Runtime, event: Event) -> Result<(), RunError> {
    runtime.apply(event).map_err(|source| RunError::Runtime {
        id: session.id(),
        source,
    })?;
    session.update(|record| record.runtime = Some(runtime.clone()))
}

/// Makes the run's image deployable for the environment, saying why in the promotion.
fn promote(
    context: &EnvironmentContext,
    session: &RunSession,
    runtime: &Runtime,
    observer: &dyn RunObserver,
) -> Result<(), RunError> {
    let record = session.record();
    let image = record.image.clone().ok_or_else(|| RunError::NoImage {
        id: record.run_id.clone(),
        action: "promote",
    })?;
    let store = context.open_store()?;
    let resolved = store.resolve(&image.digest)?;
    let gate = match runtime.gate_verdict() {
        Some(GateVerdict::Passed) => "its quality gate passed".to_string(),
        Some(GateVerdict::Warned) => "its quality gate failed under policy `warn`".to_string(),
        Some(GateVerdict::Skipped) => "the quality gate is off".to_string(),
        Some(GateVerdict::Blocked) | None => "no quality gate".to_string(),
    };
    let approval = match &record.approval {
        Some(ApprovalRecord {
            decision: ApprovalDecision::Approved,
            by,
            ..
        }) => format!("; approved by {}", by.as_deref().unwrap_or("someone")),
        _ => String::new(),
    };
    Promotions::of(&store, context.name()).promote(
        &resolved,
        Promotion {
            digest: image.digest.clone(),
            reference: image.reference.clone(),
            run_id: record.run_id.to_string(),
            at: Timestamp::now(),
            reason: format!("{gate}{approval}"),
        },
    )?;
    observer.message(&format!(
        "promoted image {} for `{}`: {gate}{approval}",
        image.reference,
        context.name()
    ));
    session.update(|record| {
        if let Some(image) = &mut record.image {
            image.promoted = true;
        }
    })
}

/// Saves how the run ended and tells the observer; an error ends the record `failed` with the
/// reason (never a record left `running`) and is handed back.
fn end(
    session: &RunSession,
    result: Result<RunStatus, RunError>,
    observer: &dyn RunObserver,
) -> Result<RunRecord, RunError> {
    match result {
        Ok(RunStatus::WaitingForApproval) => {
            let record = session.finish(RunStatus::WaitingForApproval)?;
            observer.waiting_for_approval(&record);
            Ok(record)
        }
        Ok(status) => {
            let record = session.finish(status)?;
            observer.run_finished(&record);
            Ok(record)
        }
        Err(error) => {
            let reason = format!("the run failed: {error}");
            let saved = session.update(|record| {
                record.end_unfinished(RunStatus::Failed);
                record.notes.push(reason);
            });
            if saved.is_ok()
                && let Ok(record) = session.finish(RunStatus::Failed)
            {
                observer.run_finished(&record);
            }
            Err(error)
        }
    }
}

/// Refuses a commit that is not on the environment's branch, unless forced.
fn check_commit_branch(
    context: &EnvironmentContext,
    commit: &Commit,
    force: bool,
) -> Result<Option<String>, RunError> {
    let Some(branch) = &context.environment.branch else {
        return Ok(None);
    };
    let check = check_branch(context.root(), commit, branch)
        .map_err(|source| RunError::Commit { source })?;
    let refusal = match check {
        BranchCheck::OnBranch => return Ok(None),
        BranchCheck::NotOnBranch => RunError::NotOnBranch {
            environment: context.name().to_string(),
            branch: branch.clone(),
            commit: commit.short().to_string(),
        },
        BranchCheck::NoSuchBranch => RunError::NoSuchBranch {
            environment: context.name().to_string(),
            branch: branch.clone(),
        },
    };
    if force {
        Ok(Some(format!("{refusal} (--force)")))
    } else {
        Err(refusal)
    }
}

/// Holds the lock of a run's decision while this process approves or rejects it.
fn lock_decision(dir: &Path, id: &RunId) -> Result<fs_err::File, RunError> {
    let path = dir.join(".decision.lock");
    let file = fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| RunError::io("open", &path, error))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(file),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(RunError::DecisionInProgress { id: id.clone() }),
        Err(error) => Err(RunError::io("lock", &path, error.into())),
    }
}
