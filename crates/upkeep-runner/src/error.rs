//! Why a job could not start or go on. Each error keeps its source and knows its [`Hint`]; the
//! binary and the server turn them into messages, statuses and exit codes.

use std::path::PathBuf;

use upkeep_deploy::app_containers::AppError;
use upkeep_deploy::build::BuildError;
use upkeep_deploy::checkout::CheckoutError;
use upkeep_deploy::deployment::DeploymentError;
use upkeep_deploy::layout::LayoutError;
use upkeep_deploy::promotion::PromotionError;
use upkeep_deploy::queue::QueueError;
use upkeep_deploy::registry::{ReferenceError, RegistryError};
use upkeep_deploy::remote_hosts::RemoteError;
use upkeep_deploy::target::TargetError;
use upkeep_pipeline::deploy_file::DeployFileError;
use upkeep_pipeline::log_store::LogError;
use upkeep_pipeline::plan::PlanError;
use upkeep_pipeline::project_file::{ProjectFileError, UnknownEnvironment};
use upkeep_pipeline::record::{InvalidRunId, RecordError, RunId, RunStatus};
use upkeep_pipeline::runtime::UnexpectedEvent;

pub use upkeep_hint::Hint;

/// Whether an error is the user's to fix (bad input) or the machine's (a file that cannot be
/// written): both end a command with status 2, but a server answers them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Input,
    Environment,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("no upkeep.yml in {}", root.display())]
    NoProjectFile { root: PathBuf },
    #[error(transparent)]
    ProjectFile(#[from] ProjectFileError),
    #[error("{0}")]
    UnknownEnvironment(#[source] UnknownEnvironment),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{source}")]
    Commit {
        #[source]
        source: CheckoutError,
    },
    #[error(
        "commit {commit} is not on branch `{branch}`, the branch of environment `{environment}`"
    )]
    NotOnBranch {
        environment: String,
        branch: String,
        commit: String,
    },
    #[error(
        "environment `{environment}` deploys branch `{branch}`, which this repository does not have"
    )]
    NoSuchBranch { environment: String, branch: String },
    #[error(
        "a destructive deployment resets the data of `{environment}`, and upkeep.yml does not allow it there"
    )]
    DestructiveNotConfirmed { environment: String },
    #[error(
        "environment `{environment}` has no promoted image: no build of it has passed its quality gate{approval}"
    )]
    NothingPromoted {
        environment: String,
        approval: &'static str,
    },
    #[error(
        "image {reference} ({digest}) was never promoted for `{environment}`: its quality gate did not pass{approval}, or it was built but never checked"
    )]
    NotPromoted {
        environment: String,
        reference: String,
        digest: String,
        approval: &'static str,
    },
    #[error("image {reference} was built for environment `{built_for}`, not `{environment}`")]
    OtherEnvironment {
        environment: String,
        built_for: String,
        reference: String,
    },
    #[error(
        "`--from-env {given}` does not match image {reference}, which was built for `{built_for}`"
    )]
    WrongSourceEnvironment {
        given: String,
        built_for: String,
        reference: String,
    },
    #[error("deploy file of the commit: {source}")]
    DeployFile {
        commit: String,
        #[source]
        source: DeployFileError,
    },
    #[error(transparent)]
    Image(#[from] LayoutError),
    #[error(transparent)]
    Promotion(#[from] PromotionError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("upkeep.yml's registry image: {0}")]
    RegistryImage(#[source] ReferenceError),
    #[error(
        "environment `{environment}`: `{key}` names the secret {name}, which this run was not given"
    )]
    MissingSecret {
        environment: String,
        key: &'static str,
        name: String,
    },
    #[error("nothing was deployed: cannot pull {image} from the environment's registry: {source}")]
    RegistryPull {
        image: String,
        #[source]
        source: RegistryError,
    },
    #[error(transparent)]
    Deployment(#[from] DeploymentError),
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    RunId(#[from] InvalidRunId),
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("environment `{environment}` has no recorded runs")]
    NoRuns { environment: String },
    #[error("environment `{environment}` has no run waiting for approval")]
    NothingWaiting { environment: String },
    #[error("there is no run {id} in {}", runs_dir.display())]
    UnknownRun { id: RunId, runs_dir: PathBuf },
    #[error("run {id} is a run of `{actual}`, not of `{environment}`")]
    RunOfOtherEnvironment {
        id: RunId,
        environment: String,
        actual: String,
    },
    #[error("run {id} does not wait for approval: it {}", status.describe())]
    NotWaiting { id: RunId, status: RunStatus },
    #[error("run {id} is being approved or rejected by another process")]
    DecisionInProgress { id: RunId },
    #[error("run {id} cannot go on: {source}")]
    Runtime {
        id: RunId,
        #[source]
        source: UnexpectedEvent,
    },
    #[error("run {id} has no image to {action}")]
    NoImage { id: RunId, action: &'static str },
    #[error("{}: the run record names the log `{}`, which is outside the run directory", run_dir.display(), log.display())]
    LogOutsideRun { run_dir: PathBuf, log: PathBuf },
    #[error("run {id} has no log{}", stage.as_ref().map_or(String::new(), |stage| format!(" for stage `{stage}`")))]
    NoLog { id: RunId, stage: Option<String> },
}

impl RunError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Io { .. }
            | Self::Log(_)
            | Self::Record(RecordError::Io(_) | RecordError::Encode(_))
            | Self::Queue(_)
            | Self::Promotion(PromotionError::Write { .. })
            | Self::DecisionInProgress { .. }
            | Self::RegistryPull { .. }
            | Self::Runtime { .. } => ErrorKind::Environment,
            _ => ErrorKind::Input,
        }
    }
}

impl Hint for RunError {
    fn hint(&self) -> Option<String> {
        let hint = match self {
            Self::NoProjectFile { .. } => "pipelines are declared in upkeep.yml at the repository root; see `upkeep pipeline --help`".to_string(),
            Self::ProjectFile(_) => "fix upkeep.yml and run the command again".to_string(),
            Self::UnknownEnvironment(error) => return error.hint(),
            Self::Commit { .. } => "upkeep builds committed code: commit your changes, or pass --commit with a branch, tag or commit id".to_string(),
            Self::NotOnBranch { branch, .. } => format!("merge it into `{branch}` first, or pass --force to run it anyway (recorded in the run)"),
            Self::NoSuchBranch { branch, .. } => format!("create or fetch the branch `{branch}`, fix `branch:` in upkeep.yml, or pass --force"),
            Self::DestructiveNotConfirmed { environment } => format!(
                "confirm with `--confirm-destructive {environment}`, or set `destructive-allowed: true` for `{environment}` in upkeep.yml"
            ),
            Self::NothingPromoted { environment, .. } => format!("build an image first: `upkeep build --env {environment}` (or `upkeep pipeline run --env {environment}`)"),
            Self::NotPromoted { environment, .. } => format!(
                "run it through the pipeline (`upkeep pipeline run --env {environment}`), or pass --force to deploy it anyway (recorded in the run)"
            ),
            Self::OtherEnvironment { built_for, .. } => format!(
                "its image holds the deploy file of `{built_for}`; to deploy it anyway pass `--from-env {built_for}` (recorded in the run)"
            ),
            Self::WrongSourceEnvironment { built_for, .. } => format!("pass `--from-env {built_for}`"),
            Self::DeployFile { commit, .. } => format!("the deploy file is read from commit {commit}; fix it there (`upkeep deploy-file show FILE` checks it)"),
            Self::Build(error) => return error.hint(),
            Self::RegistryImage(error) => return error.hint(),
            Self::RegistryPull { source, .. } => return source.hint(),
            Self::App(error) => return error.hint(),
            Self::Remote(error) => return error.hint(),
            Self::MissingSecret { name, .. } => format!(
                "list {name} under the environment's `secrets:` and give it a value: an environment variable {name} for the command line, or a secret of that name in the server's settings"
            ),
            Self::Image(error) => return error.hint(),
            Self::Promotion(error) => return error.hint(),
            Self::Deployment(error) => return error.hint(),
            Self::Target(error) => return error.hint(),
            Self::Queue(error) => return error.hint(),
            Self::Plan(error) => return error.hint(),
            Self::NoRuns { environment } => format!("start one with `upkeep pipeline run --env {environment}`"),
            Self::NothingWaiting { environment } => format!("runs of `{environment}` wait for approval when upkeep.yml says `approval: true`; see `upkeep pipeline logs --env {environment}`"),
            Self::UnknownRun { .. } | Self::RunId(_) => "the runs are the directories of <state dir>/runs/".to_string(),
            Self::NotWaiting { .. } => "only a run that waits for approval can be approved or rejected".to_string(),
            Self::DecisionInProgress { .. } => "wait for the other decision to finish".to_string(),
            Self::NoLog { .. } => "the stages of a run are listed in its record.json".to_string(),
            _ => return None,
        };
        Some(hint)
    }
}

impl From<UnknownEnvironment> for RunError {
    fn from(error: UnknownEnvironment) -> Self {
        Self::UnknownEnvironment(error)
    }
}
