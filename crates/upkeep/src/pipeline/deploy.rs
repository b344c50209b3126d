//! `upkeep deploy --env NAME`: the Deployment sub-pipeline alone, of an image promoted for the
//! environment; and `upkeep deploy rollback --env NAME`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use upkeep_pipeline::project_file::DeployType;
use upkeep_runner::{
    DeployRequest, EnvironmentContext, Overrides, new_run_id, run_deployment, run_rollback,
};

use super::terminal::TerminalObserver;
use super::{
    CommandError, EnvironmentArgs, cancel_on_signals, current_user, outcome_of, parse_deploy_type,
};
use crate::{Outcome, output};

#[derive(Debug, Args)]
#[command(subcommand_negates_reqs = true, args_conflicts_with_subcommands = true)]
pub struct DeployArgs {
    #[command(subcommand)]
    pub action: Option<DeployAction>,

    /// The environment, as named under `environments:` in upkeep.yml.
    #[arg(long = "env", value_name = "NAME", required = true)]
    pub environment: Option<String>,

    /// The repository root, which holds upkeep.yml.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Keep runs, logs and images here instead of `<PATH>/.upkeep`.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// `normal` keeps data, `destructive` resets it (default: the environment's `deploy-type`).
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_deploy_type)]
    pub deploy_type: Option<DeployType>,

    /// The image to deploy: a tag or digest in the local image store (default:
    /// `<env>-latest`, the newest image promoted for the environment).
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,

    /// Deploy an image built for this other environment (its deploy file is in the image).
    #[arg(long, value_name = "ENV")]
    pub from_env: Option<String>,

    /// Confirm a destructive deployment of an environment that does not set
    /// `destructive-allowed: true`, by naming it.
    #[arg(long, value_name = "ENV")]
    pub confirm_destructive: Option<String>,

    /// Deploy an image that was never promoted for the environment (recorded in the run).
    #[arg(long)]
    pub force: bool,

    /// Do not echo step output to standard error (it is still in the run's logs).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum DeployAction {
    /// Make the release that was active before the current one active again (a recorded run).
    Rollback(EnvironmentArgs),
}

pub fn run(args: &DeployArgs) -> Result<Outcome, CommandError> {
    match (&args.action, &args.environment) {
        (Some(DeployAction::Rollback(environment)), _) => rollback(environment),
        (None, Some(environment)) => deploy(args, environment),
        // clap requires --env without a subcommand.
        (None, None) => Err(CommandError::input(
            "missing --env NAME",
            "`upkeep deploy --env staging` deploys the newest image promoted for staging",
        )),
    }
}

fn deploy(args: &DeployArgs, environment: &str) -> Result<Outcome, CommandError> {
    let context = EnvironmentContext::load(&args.path, environment, args.state_dir.as_deref())?;
    let observer = TerminalObserver {
        echo: !args.quiet,
        runs_dir: context.runs_dir(),
    };
    let request = DeployRequest {
        image: args.image.clone(),
        deploy_type: args.deploy_type,
        overrides: Overrides {
            force: args.force,
            from_env: args.from_env.clone(),
            confirm_destructive: args.confirm_destructive.clone(),
        },
        requested_by: current_user(),
    };
    let record = run_deployment(
        &context,
        &request,
        new_run_id(),
        cancel_on_signals(),
        &observer,
    )?;
    Ok(outcome_of(record.status))
}

fn rollback(args: &EnvironmentArgs) -> Result<Outcome, CommandError> {
    let context = args.context()?;
    let observer = TerminalObserver {
        echo: false,
        runs_dir: context.runs_dir(),
    };
    let record = run_rollback(
        &context,
        current_user(),
        new_run_id(),
        cancel_on_signals(),
        &observer,
    )?;
    if let Some(rollback) = &record.rollback {
        writeln!(
            output::stdout(),
            "rolled back {}: {} -> {}",
            context.name(),
            rollback.from,
            rollback.to
        );
    }
    Ok(outcome_of(record.status))
}
