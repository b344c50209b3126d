//! The pipeline commands: `upkeep pipeline plan|run|logs`, `upkeep build`, `upkeep deploy`
//! (and `deploy rollback`) and `upkeep deploy-file show`. They run the same engine the server
//! will drive, locally, with the same logs, run records and exit codes.

mod build;
mod context;
mod deploy;
mod deploy_file;
mod logs;
mod main_run;
mod plan;
mod session;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use upkeep_pipeline::project_file::DeployType;

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
    Run(main_run::RunArgs),
    /// Print the log of a step of a recorded run, optionally from a byte offset.
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

    /// The machine could not do what was asked (a file could not be written, a program is
    /// missing): also exit status 2, the run itself failed.
    pub fn environment(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    /// Prints the error and returns its exit status.
    pub fn report(&self) -> Outcome {
        print_error(&self.message, self.hint.as_deref());
        Outcome::Failed
    }
}

pub fn run(args: &PipelineArgs) -> Outcome {
    let result = match &args.command {
        PipelineCommand::Plan(args) => plan::run(args),
        PipelineCommand::Run(args) => main_run::run(args),
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
