//! `upkeep build --env NAME`: a build of a commit with its quality gate, without the
//! deployment. The image is promoted (deployable with `upkeep deploy`) when the gate allows it
//! and the environment needs no approval; otherwise the run waits for approval.

use clap::Args;
use upkeep_pipeline::record::{RunKind, RunStatus};
use upkeep_runner::{Overrides, PipelineRequest, new_run_id};

use super::terminal::TerminalObserver;
use super::{CommandError, EnvironmentArgs, cancel_on_signals, current_user, outcome_of};
use crate::{Outcome, output};

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// The commit to build (a branch, tag or commit id).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub commit: String,

    /// Build a commit that is not on the environment's `branch` (recorded in the run).
    #[arg(long)]
    pub force: bool,

    /// Do not echo step output to standard error (it is still in the run's logs).
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &BuildArgs) -> Result<Outcome, CommandError> {
    let context = args.environment.context()?;
    let observer = TerminalObserver {
        echo: !args.quiet,
        runs_dir: context.runs_dir(),
    };
    let request = PipelineRequest {
        kind: RunKind::Build,
        revision: args.commit.clone(),
        deploy_type: None,
        approve: false,
        overrides: Overrides {
            force: args.force,
            ..Overrides::default()
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
    if let (Some(image), RunStatus::Succeeded | RunStatus::WaitingForApproval) =
        (&record.image, record.status)
    {
        writeln!(output::stdout(), "{} {}", image.reference, image.digest);
    }
    Ok(outcome_of(record.status))
}
