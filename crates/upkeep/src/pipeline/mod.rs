//! The pipeline commands: `upkeep pipeline plan|run|approve|reject|logs`, `upkeep build`,
//! `upkeep deploy` (and `deploy rollback`) and `upkeep deploy-file show`. They parse arguments,
//! hand the work to `upkeep_runner` (the same runner the server drives), show its progress
//! through the terminal observer, and turn the outcome into output and an exit code.

mod build;
mod deploy;
mod deploy_file;
mod logs;
mod plan;
mod run;
mod terminal;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use upkeep_pipeline::executor::CancelToken;
use upkeep_pipeline::project_file::DeployType;
use upkeep_pipeline::record::RunStatus;
use upkeep_runner::{EnvironmentContext, Hint, RunError};

use crate::{Outcome, print_error};

pub use build::BuildArgs;
pub use deploy::DeployArgs;
pub use deploy_file::DeployFileArgs;

#[derive(Debug, Args)]
pub struct PipelineArgs {
    #[command(subcommand)]
    pub command: PipelineCommand,
}

#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Print the resolved plan of an environment's main pipeline: sub-pipelines, stages, the
    /// command of each stage, where it runs, and where each value came from.
    Plan(plan::PlanArgs),
    /// Run an environment's main pipeline: Build → Quality gate → Approval → Deployment.
    ///
    /// Exit status: 0 when the run succeeded (or waits for approval), 1 when a stage failed,
    /// the gate blocked or the run was cancelled, 2 on bad input.
    Run(run::RunArgs),
    /// Approve a run that waits for approval (the environment's newest, or `--run ID`): its
    /// image is promoted and deployed.
    Approve(run::DecisionArgs),
    /// Reject a run that waits for approval: nothing is deployed.
    Reject(run::DecisionArgs),
    /// Print the logs of a recorded run (every step in order, or one stage), optionally from a
    /// byte offset, or follow a running one.
    Logs(logs::LogsArgs),
}

/// Arguments every pipeline command shares.
#[derive(Debug, Args)]
pub struct EnvironmentArgs {
    /// The environment, as named under `environments:` in upkeep.yml.
    #[arg(long = "env", value_name = "NAME")]
    pub environment: String,

    /// The repository root, which holds upkeep.yml.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Keep runs, logs and images here instead of `<PATH>/.upkeep`.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

impl EnvironmentArgs {
    fn context(&self) -> Result<EnvironmentContext, CommandError> {
        Ok(EnvironmentContext::load(
            &self.path,
            &self.environment,
            self.state_dir.as_deref(),
        )?)
    }
}

/// `--type normal|destructive`, overriding the environment's `deploy-type`.
pub fn parse_deploy_type(text: &str) -> Result<DeployType, String> {
    text.parse()
        .map_err(|error: upkeep_pipeline::project_file::UnknownName| error.to_string())
}

/// Why a command stopped: bad input or a run that could not go on, exit status 2 either way.
#[derive(Debug)]
pub struct CommandError {
    pub message: String,
    pub hint: Option<String>,
}

impl CommandError {
    /// Bad input: a file, a flag or a name the user gave (exit status 2).
    pub fn input(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// Prints the error and returns its exit status.
    pub fn report(&self) -> Outcome {
        print_error(&self.message, self.hint.as_deref());
        Outcome::Failed
    }
}

impl From<RunError> for CommandError {
    fn from(error: RunError) -> Self {
        Self {
            message: error.to_string(),
            hint: error.hint(),
        }
    }
}

/// A cancel token that Ctrl-C, SIGTERM and SIGHUP (what CI systems send to cancel a job) set.
/// Steps run in process groups of their own, which the executor stops when it is set; the run
/// is then recorded as cancelled.
fn cancel_on_signals() -> CancelToken {
    let token = CancelToken::new();
    let handler = token.clone();
    let _ = ctrlc::set_handler(move || handler.cancel());
    token
}

/// Who starts or decides a run, for its record.
fn current_user() -> Option<String> {
    std::env::var("USER").ok().filter(|user| !user.is_empty())
}

/// The exit status of a run as it stands.
fn outcome_of(status: RunStatus) -> Outcome {
    match status {
        RunStatus::Succeeded | RunStatus::WaitingForApproval => Outcome::Success,
        _ => Outcome::ProblemsFound,
    }
}

pub fn run(args: &PipelineArgs) -> Outcome {
    let result = match &args.command {
        PipelineCommand::Plan(args) => plan::run(args),
        PipelineCommand::Run(args) => run::run(args),
        PipelineCommand::Approve(args) => run::decide(args, upkeep_runner::Decision::Approve),
        PipelineCommand::Reject(args) => run::decide(args, upkeep_runner::Decision::Reject),
        PipelineCommand::Logs(args) => logs::run(args),
    };
    finish(result)
}

pub fn run_build(args: &BuildArgs) -> Outcome {
    finish(build::run(args))
}

pub fn run_deploy(args: &DeployArgs) -> Outcome {
    finish(deploy::run(args))
}

pub fn run_deploy_file(args: &DeployFileArgs) -> Outcome {
    finish(deploy_file::run(args))
}

fn finish(result: Result<Outcome, CommandError>) -> Outcome {
    result.unwrap_or_else(|error| error.report())
}
