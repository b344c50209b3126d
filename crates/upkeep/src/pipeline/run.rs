//! `upkeep pipeline run --env NAME`: an environment's main pipeline, `*** <env> Pipeline ***`,
//! and `upkeep pipeline approve|reject --env NAME`: the decision on a run that waits.

use clap::Args;
use upkeep_pipeline::project_file::DeployType;
use upkeep_pipeline::record::{RunId, RunKind, RunStatus, SubPipelineKind};
use upkeep_runner::{Decision, Overrides, PipelineRequest, decide as decide_run, new_run_id};

use super::terminal::TerminalObserver;
use super::{
    CommandError, EnvironmentArgs, cancel_on_signals, current_user, outcome_of, parse_deploy_type,
};
use crate::{Outcome, output};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// `normal` keeps data, `destructive` resets it (default: the environment's `deploy-type`).
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_deploy_type)]
    pub deploy_type: Option<DeployType>,

    /// The commit to build and deploy (a branch, tag or commit id).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub commit: String,

    /// Approve the deployment in advance, for environments with `approval: true`. Without it
    /// such a run stops before the deployment, waiting for `upkeep pipeline approve`.
    #[arg(long)]
    pub approve: bool,

    /// Confirm a destructive deployment of an environment that does not set
    /// `destructive-allowed: true`, by naming it.
    #[arg(long, value_name = "ENV")]
    pub confirm_destructive: Option<String>,

    /// Run a commit that is not on the environment's `branch` (recorded in the run).
    #[arg(long)]
    pub force: bool,

    /// The pipeline to run; only the main pipeline (`*** <env> Pipeline ***`, the default) can be
    /// started, its sub-pipelines run as part of it.
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,

    /// Do not echo step output to standard error (it is still in the run's logs).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct DecisionArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// The run to decide on (default: the environment's newest run that waits for approval).
    #[arg(long, value_name = "ID")]
    pub run: Option<RunId>,

    /// Do not echo step output to standard error (it is still in the run's logs).
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &RunArgs) -> Result<Outcome, CommandError> {
    let context = args.environment.context()?;
    let main_pipeline = RunKind::Pipeline.pipeline_name(context.name());
    if let Some(name) = &args.pipeline {
        refuse_sub_pipeline(name, &main_pipeline, context.name())?;
    }
    let observer = TerminalObserver {
        echo: !args.quiet,
        runs_dir: context.runs_dir(),
    };
    let request = PipelineRequest {
        kind: RunKind::Pipeline,
        revision: args.commit.clone(),
        deploy_type: args.deploy_type,
        approve: args.approve,
        overrides: Overrides {
            force: args.force,
            from_env: None,
            confirm_destructive: args.confirm_destructive.clone(),
        },
        requested_by: current_user(),
    };
    let record = upkeep_runner::run_pipeline(
        &context,
        &request,
        new_run_id(),
        cancel_on_signals(),
        &observer,
    )?;
    if record.status == RunStatus::WaitingForApproval {
        writeln!(output::stdout(), "waiting for approval: {}", record.run_id);
    }
    Ok(outcome_of(record.status))
}

pub fn decide(args: &DecisionArgs, decision: Decision) -> Result<Outcome, CommandError> {
    let context = args.environment.context()?;
    let observer = TerminalObserver {
        echo: !args.quiet,
        runs_dir: context.runs_dir(),
    };
    let record = decide_run(
        &context,
        args.run.as_ref(),
        decision,
        current_user(),
        cancel_on_signals(),
        &observer,
    )?;
    writeln!(
        output::stdout(),
        "{} {}",
        record.run_id,
        record.status.describe()
    );
    Ok(match (decision, record.status) {
        // Rejecting is what was asked: done.
        (Decision::Reject, RunStatus::Rejected) => Outcome::Success,
        (_, status) => outcome_of(status),
    })
}

/// Sub-pipelines are visible but cannot be started alone.
fn refuse_sub_pipeline(
    name: &str,
    main_pipeline: &str,
    environment: &str,
) -> Result<(), CommandError> {
    if name == main_pipeline || name == "main" {
        return Ok(());
    }
    let sub_pipelines = [
        SubPipelineKind::Build,
        SubPipelineKind::QualityGate,
        SubPipelineKind::Deployment,
    ];
    if sub_pipelines
        .iter()
        .any(|sub| sub.as_str().eq_ignore_ascii_case(name))
    {
        return Err(CommandError::input(
            format!(
                "`{name}` is a sub-pipeline of `{main_pipeline}` and cannot be started on its own"
            ),
            format!("start the main pipeline: `upkeep pipeline run --env {environment}`"),
        ));
    }
    Err(CommandError::input(
        format!("environment `{environment}` has no pipeline named `{name}`"),
        format!("its pipeline is `{main_pipeline}`"),
    ))
}
