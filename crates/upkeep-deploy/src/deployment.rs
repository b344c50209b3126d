//! One deployment of an image to a target, in Spryker's three stages:
//!
//! 1. **pre-deploy** in the release that is **running** (with the running image's environment),
//! 2. **install** in the **new** release (with the new image's environment),
//! 3. the atomic switch of `current`, then **post-deploy** in the release that is now **active**.
//!
//! A failed pre-deploy or install leaves the running release active and untouched; the new
//! release is kept, marked failed, for inspection. Deployments of one environment wait for each
//! other in order (the [`DeploymentQueue`]).
//!
//! With remote hosts (the `ssh` target) the local target is upkeep's record of the hosts: the
//! new release is sent to every host after it is prepared, the stages run on the first host,
//! and `current` is switched on every host before the record ([`crate::remote_hosts`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use upkeep_pipeline::buildspec::Buildspec;
use upkeep_pipeline::buildspec_run::SessionPlace;
use upkeep_pipeline::project_file::{DeployType, Stage};
use upkeep_pipeline::record::{RunStatus, StageKind, StageRecord, StepRecord};

use crate::app_containers::AppContainers;
use crate::containers::{ContainerExecutor, ContainerImageError, container_name};
use crate::layout::{ImageStore, LayoutError, ResolvedImage};
use crate::queue::{DeploymentQueue, QueueError};
use crate::remote_hosts::{RemoteError, RemoteHosts};
use crate::stage::{StageError, StageResult, StageRunner, project_buildspec};
use crate::target::{LocalTarget, Release, TargetError};

/// What to deploy, and where.
pub struct DeploymentRequest<'a> {
    /// `SPRYKER_PROJECT_NAME`.
    pub project_name: &'a str,
    /// Names the deployment in the queue (e.g. the run id).
    pub label: &'a str,
    pub deploy_type: DeployType,
    /// The image to deploy, as the caller resolved `image_reference` in `store`.
    pub image: &'a ResolvedImage,
    /// The tag or digest it was asked for by, as the release records it.
    pub image_reference: &'a str,
    pub store: &'a ImageStore,
    pub target: &'a LocalTarget,
    pub queue: &'a DeploymentQueue,
    /// The project's own buildspec per deployment stage, relative to the repository root; it is
    /// read from the release the stage runs in. `None` runs the built-in default.
    pub buildspecs: &'a BTreeMap<Stage, PathBuf>,
    /// Variables exported by earlier stages (the build).
    pub exported: BTreeMap<String, String>,
    /// Releases to keep after a successful deployment (at least 1).
    pub keep_releases: usize,
    /// `executor: container`: every stage runs in a container of its release's image;
    /// `None` runs them on this machine in the unpacked release.
    pub containers: Option<&'a ContainerExecutor>,
    /// `target: container`: the new release's container must be healthy before the switch,
    /// and the other containers stop after it.
    pub app: Option<&'a AppContainers>,
    /// `target: ssh`: the hosts that hold copies of `target`'s releases; the stages run on the
    /// first one.
    pub remote: Option<&'a RemoteHosts>,
}

/// How a deployment went.
#[derive(Debug)]
pub struct DeploymentOutcome {
    pub status: RunStatus,
    pub stages: Vec<StageRecord>,
    /// Facts a reader of the run should know (skipped stages, changed hooks, pruned releases).
    pub notes: Vec<String>,
    /// The id of the release this deployment prepared.
    pub release: Option<String>,
    /// Whether `current` now points at the new release.
    pub activated: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    #[error(transparent)]
    Image(#[from] LayoutError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Stage(#[from] StageError),
    #[error(transparent)]
    Container(#[from] ContainerImageError),
    #[error(transparent)]
    Remote(Box<RemoteError>),
    /// What failed after the switch: the new release serves, post-deploy did not run.
    #[error("release {release} is live, post-deploy did not run: {source}")]
    AfterSwitch {
        release: String,
        source: Box<DeploymentError>,
    },
}

impl From<RemoteError> for DeploymentError {
    fn from(error: RemoteError) -> Self {
        Self::Remote(Box::new(error))
    }
}

impl upkeep_hint::Hint for DeploymentError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Image(error) => error.hint(),
            Self::Target(error) => error.hint(),
            Self::Queue(error) => error.hint(),
            Self::Stage(error) => error.hint(),
            Self::Container(error) => error.hint(),
            Self::Remote(error) => error.hint(),
            Self::AfterSwitch { .. } => Some(
                "run post-deploy by hand in the release, or roll back with `upkeep deploy rollback`"
                    .to_string(),
            ),
        }
    }
}

/// Runs the deployment. Errors are for what keeps it from running at all (an unknown image, an
/// unwritable target); a failing stage is an outcome with status `Failed`.
pub fn deploy(
    runner: &StageRunner<'_>,
    request: &DeploymentRequest<'_>,
) -> Result<DeploymentOutcome, DeploymentError> {
    let image = request.image;
    let _ticket = request.queue.enter_with(request.label, |event| {
        runner.say(&event.to_string());
    })?;
    let mut outcome = DeploymentOutcome {
        status: RunStatus::Running,
        stages: Vec::new(),
        notes: Vec::new(),
        release: None,
        activated: false,
    };
    check_target(runner, request, &mut outcome.notes)?;
    let running = request.target.running()?;
    let new_release = request.target.prepare(
        request.store,
        image,
        request.image_reference,
        request.deploy_type.as_str(),
    )?;
    outcome.release = Some(new_release.id.clone());
    runner.say(&format!(
        "prepared release {} from {}",
        new_release.id, request.image_reference
    ));
    send_to_hosts(runner, request, &new_release)?;
    let mut exported = request.exported.clone();

    // Pre-deploy runs in the running image, so a changed hook applies from the next deployment.
    match &running {
        None => {
            outcome.notes.push(note(
                runner,
                "pre-deploy skipped: this is the first deployment, no release is running",
            ));
            outcome.stages.push(runner.skipped(StageKind::PreDeploy));
        }
        Some(running) => {
            note_changed_hook(runner, running, &new_release, &mut outcome.notes);
            let stage = run_in(runner, request, Stage::PreDeploy, running, &exported)?;
            exported.extend(stage.exported);
            let failed = stage.record.status != RunStatus::Succeeded;
            outcome.stages.push(stage.record);
            if failed {
                return abandon(runner, request, &new_release, outcome, "pre-deploy");
            }
        }
    }

    let stage = run_in(runner, request, Stage::Install, &new_release, &exported)?;
    exported.extend(stage.exported);
    let failed = stage.record.status != RunStatus::Succeeded;
    outcome.stages.push(stage.record);
    if failed {
        return abandon(runner, request, &new_release, outcome, "install");
    }

    if !new_container_is_healthy(runner, request, &new_release, &exported, &mut outcome)? {
        return abandon(runner, request, &new_release, outcome, "the new container");
    }
    let back_to = running.as_ref();
    if !switch_hosts(runner, request, back_to, &new_release, &mut outcome.notes) {
        let failed = "the switch on the hosts";
        return abandon(runner, request, &new_release, outcome, failed);
    }
    let active = request.target.activate(&new_release)?;
    outcome.activated = true;
    runner.say(&format!("release {} is now active", active.id));
    sync_hosts(runner, request, &mut outcome.notes);
    if let Some(app) = request.app {
        stop_previous_containers(runner, app, &active, &mut outcome.notes);
    }

    let stage =
        run_in(runner, request, Stage::PostDeploy, &active, &exported).map_err(|source| {
            DeploymentError::AfterSwitch {
                release: active.id.clone(),
                source: Box::new(source),
            }
        })?;
    let failed = stage.record.status != RunStatus::Succeeded;
    outcome.stages.push(stage.record);
    if failed {
        outcome.notes.push(note(
            runner,
            &format!(
                "post-deploy failed; release {} stays active (roll back with `upkeep deploy rollback`)",
                active.id
            ),
        ));
        outcome.status = RunStatus::Failed;
        return Ok(outcome);
    }

    prune(runner, request, &mut outcome.notes);
    outcome.status = RunStatus::Succeeded;
    Ok(outcome)
}

/// With a `container` target, starts the new release's container and waits for its health
/// command, as a `start` step of the install stage; whether it is healthy (always, without one).
fn new_container_is_healthy(
    runner: &StageRunner<'_>,
    request: &DeploymentRequest<'_>,
    release: &Release,
    exported: &BTreeMap<String, String>,
    outcome: &mut DeploymentOutcome,
) -> Result<bool, DeploymentError> {
    let Some(app) = request.app else {
        return Ok(true);
    };
    let started = start_container(runner, request, app, release, exported)?;
    let healthy = started.status == RunStatus::Succeeded;
    if let Some(install) = outcome.stages.last_mut() {
        install.steps.push(started);
        if !healthy {
            install.status = RunStatus::Failed;
        }
    }
    Ok(healthy)
}

/// Starts the new release's container and waits for its health command, as a `start` step of
/// the install stage with a log of its own.
fn start_container(
    runner: &StageRunner<'_>,
    request: &DeploymentRequest<'_>,
    app: &AppContainers,
    release: &Release,
    exported: &BTreeMap<String, String>,
) -> Result<StepRecord, DeploymentError> {
    let mut variables = hook_environment(&release.environment, request);
    variables.extend(exported.clone());
    Ok(runner.run_own_step(StageKind::Install, "start", |log| {
        match app.start(request.store, release, &variables, &mut *log) {
            Ok(_) => true,
            Err(error) => {
                log(&error.to_string());
                if let Some(hint) = upkeep_hint::Hint::hint(&error) {
                    log(&format!("hint: {hint}"));
                }
                false
            }
        }
    })?)
}

/// Stops the containers of the releases `active` replaced. The new one serves already, so a
/// container that would not stop is a note, not a failure.
fn stop_previous_containers(
    runner: &StageRunner<'_>,
    app: &AppContainers,
    active: &Release,
    notes: &mut Vec<String>,
) {
    match app.stop_others(active) {
        Ok(stopped) => {
            for name in stopped {
                notes.push(note(runner, &format!("stopped container {name}")));
            }
        }
        Err(error) => notes.push(note(
            runner,
            &format!("the previous containers were not all stopped: {error}"),
        )),
    }
}

/// Sends the prepared release to the hosts of an `ssh` target; when a host does not get it,
/// the release is marked failed and nothing else happens.
fn send_to_hosts(
    runner: &StageRunner<'_>,
    request: &DeploymentRequest<'_>,
    release: &Release,
) -> Result<(), DeploymentError> {
    let Some(remote) = request.remote else {
        return Ok(());
    };
    if let Err(error) = remote.send(release) {
        request.target.mark_failed(release)?;
        return Err(error.into());
    }
    runner.say(&format!(
        "sent release {} to {}",
        release.id,
        remote.names()
    ));
    Ok(())
}

/// Switches `current` to the new release on the hosts of an `ssh` target, before the record
/// switches. `false` (with a note) when a host could not be switched: the hosts then serve the
/// running release.
fn switch_hosts(
    runner: &StageRunner<'_>,
    request: &DeploymentRequest<'_>,
    running: Option<&Release>,
    new_release: &Release,
    notes: &mut Vec<String>,
) -> bool {
    let Some(remote) = request.remote else {
        return true;
    };
    let back_to = running.map(|release| release.id.as_str());
    match remote.switch(&new_release.id, back_to) {
        Ok(()) => true,
        Err(error) => {
            notes.push(note(runner, &error.to_string()));
            false
        }
    }
}

/// Brings the hosts' copies of the record up to date after a change whose real effect is
/// done; a failure is a note, and the next deployment or rollback repairs it.
fn sync_hosts(runner: &StageRunner<'_>, request: &DeploymentRequest<'_>, notes: &mut Vec<String>) {
    if let Some(remote) = request.remote
        && let Err(error) = remote.update_records(request.target)
    {
        notes.push(note(
            runner,
            &format!("the hosts' release records were not all updated: {error}"),
        ));
    }
}

/// Checks, before the first hook, everything that can fail without one (the running release,
/// the history, the hosts), and fails the releases a killed deployment left prepared.
fn check_target(
    runner: &StageRunner<'_>,
    request: &DeploymentRequest<'_>,
    notes: &mut Vec<String>,
) -> Result<(), DeploymentError> {
    let target = request.target;
    target.check()?;
    for abandoned in target.fail_abandoned()? {
        notes.push(note(
            runner,
            &format!(
                "release {} was left unfinished by a deployment that did not end; marked failed",
                abandoned.id
            ),
        ));
    }
    if let Some(remote) = request.remote {
        // A host that missed a release or a switch is repaired before anything runs there.
        remote.check(target)?;
    }
    Ok(())
}

/// Removes releases beyond `keep-releases`. Housekeeping: the deployment succeeded whether or
/// not it could clean up, so a failure is a note.
fn prune(runner: &StageRunner<'_>, request: &DeploymentRequest<'_>, notes: &mut Vec<String>) {
    match request.target.prune(request.keep_releases) {
        Ok(pruned) => {
            for pruned in pruned {
                notes.push(note(runner, &format!("removed old release {}", pruned.id)));
            }
        }
        Err(error) => notes.push(note(
            runner,
            &format!("old releases were not removed: {error}"),
        )),
    }
    sync_hosts(runner, request, notes);
}

/// Ends a deployment whose pre-deploy or install failed: the running release stays active and
/// the new one is marked failed, so it is never activated.
fn abandon(
    runner: &StageRunner<'_>,
    request: &DeploymentRequest<'_>,
    new_release: &Release,
    mut outcome: DeploymentOutcome,
    stage: &str,
) -> Result<DeploymentOutcome, DeploymentError> {
    request.target.mark_failed(new_release)?;
    sync_hosts(runner, request, &mut outcome.notes);
    let running = request.target.running()?.map_or_else(
        || "no release".to_string(),
        |release| format!("release {}", release.id),
    );
    outcome.notes.push(note(
        runner,
        &format!(
            "{stage} failed: {running} stays active; release {} is kept for inspection and never activated",
            new_release.id
        ),
    ));
    outcome.status = if outcome
        .stages
        .iter()
        .any(|stage| stage.status == RunStatus::Cancelled)
    {
        RunStatus::Cancelled
    } else {
        RunStatus::Failed
    };
    outcome.stages.push(runner.skipped(StageKind::PostDeploy));
    Ok(outcome)
}

/// Runs `stage` in `release`: its buildspec (the project's, read from that release, or the
/// built-in one) with the release's image environment, in the release's project directory on
/// this machine or in a container of the release's image.
fn run_in(
    runner: &StageRunner<'_>,
    request: &DeploymentRequest<'_>,
    stage: Stage,
    release: &Release,
    exported: &BTreeMap<String, String>,
) -> Result<StageResult, DeploymentError> {
    let project_dir = project_dir(request.store, release);
    let buildspec = stage_buildspec(runner, request, stage, &project_dir)?;
    let mut variables = hook_environment(&release.environment, request);
    variables.extend(exported.clone());
    if let Some(remote) = request.remote {
        let session = remote.session(release, &project_dir);
        runner.say(&format!(
            "{stage}: running {} in release {} on {} ({})",
            buildspec.source.display(),
            release.id,
            session.ssh.name(),
            session.work_dir
        ));
        let place = SessionPlace::Remote(&session);
        return Ok(runner.run_at(place, stage.into(), &buildspec, &project_dir, &variables)?);
    }
    let Some(containers) = request.containers else {
        runner.say(&format!(
            "{stage}: running {} in release {}",
            buildspec.source.display(),
            release.id
        ));
        return Ok(runner.run(stage.into(), &buildspec, &project_dir, &variables)?);
    };
    let image_id = containers.load(request.store, &release.image_digest)?;
    let container = containers.container(
        &image_id,
        &container_name(&[
            request.project_name,
            request.label,
            stage.as_str(),
            &crate::layout::unique_suffix(),
        ]),
        None,
    );
    runner.say(&format!(
        "{stage}: running {} in a container of release {} (image {}, podman image {})",
        buildspec.source.display(),
        release.id,
        release.image_digest,
        &image_id[..12.min(image_id.len())]
    ));
    let place = SessionPlace::Container(&container);
    Ok(runner.run_at(place, stage.into(), &buildspec, &project_dir, &variables)?)
}

/// Where the project is in a release: the image's working directory (a Dockerfile's
/// `WORKDIR`), or the image root when the image names none or the store no longer has it.
fn project_dir(store: &ImageStore, release: &Release) -> PathBuf {
    let app = release.app_dir();
    let working_dir = store
        .resolve(&release.image_digest.to_string())
        .ok()
        .and_then(|image| image.config.config.working_dir)
        .filter(|dir| !dir.trim_matches('/').is_empty());
    match working_dir {
        Some(dir) => app.join(dir.trim_start_matches('/')),
        None => app,
    }
}

/// The project's buildspec of `stage` when the release has it, else the built-in default. A
/// buildspec added in the new commit is missing from the running release, so for pre-deploy it
/// also applies from the next deployment on.
fn stage_buildspec(
    runner: &StageRunner<'_>,
    request: &DeploymentRequest<'_>,
    stage: Stage,
    app: &Path,
) -> Result<Buildspec, DeploymentError> {
    let Some(relative) = request.buildspecs.get(&stage) else {
        return Ok(Buildspec::default_for(stage));
    };
    if let Some(buildspec) = project_buildspec(app, relative)? {
        return Ok(buildspec);
    }
    runner.say(&format!(
        "{stage}: {} is not in this release; running the built-in buildspec",
        relative.display()
    ));
    Ok(Buildspec::default_for(stage))
}

/// Every hook sees the image environment plus `SPRYKER_PROJECT_NAME` and
/// `SPRYKER_PIPELINE_TYPE`.
fn hook_environment(
    image_environment: &IndexMap<String, String>,
    request: &DeploymentRequest<'_>,
) -> BTreeMap<String, String> {
    let mut variables: BTreeMap<String, String> = image_environment
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    variables.insert(
        "SPRYKER_PROJECT_NAME".to_string(),
        request.project_name.to_string(),
    );
    variables.insert(
        "SPRYKER_PIPELINE_TYPE".to_string(),
        request.deploy_type.as_str().to_string(),
    );
    variables
}

/// Says in the log when the new image changes the pre-deploy hook: this deployment still runs
/// the running image's hook.
fn note_changed_hook(
    runner: &StageRunner<'_>,
    running: &Release,
    new_release: &Release,
    notes: &mut Vec<String>,
) {
    const HOOK: &str = "SPRYKER_HOOK_BEFORE_DEPLOY";
    let before = running.environment.get(HOOK);
    let after = new_release.environment.get(HOOK);
    if before != after {
        let shown = |value: Option<&String>| {
            value.map_or_else(|| "(not set)".to_string(), |value| format!("`{value}`"))
        };
        notes.push(note(
            runner,
            &format!(
                "{HOOK} changed from {} to {}: pre-deploy runs in the running release, so the new hook applies from the next deployment on",
                shown(before),
                shown(after)
            ),
        ));
    }
}

fn note(runner: &StageRunner<'_>, text: &str) -> String {
    runner.say(text);
    text.to_string()
}
