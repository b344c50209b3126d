//! `upkeep pipeline plan --env NAME`: the resolved plan, without running anything.

use clap::{Args, ValueEnum};
use upkeep_pipeline::deploy_file::DeployFile;
use upkeep_pipeline::project_file::DeployType;

use super::{CommandError, EnvironmentArgs, parse_deploy_type};
use crate::{Outcome, output};

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// Plan a deployment of this type instead of the environment's `deploy-type`.
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_deploy_type)]
    pub deploy_type: Option<DeployType>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

pub fn run(args: &PlanArgs) -> Result<Outcome, CommandError> {
    let context = args.environment.context()?;
    let plan = context.plan(args.deploy_type)?;
    // Secret values in hook commands are masked as runs mask their logs: the values the
    // process was given and those the deploy file defines for a secret's name.
    let deploy_file =
        DeployFile::load(&context.environment.deploy_file, context.root()).map_err(|error| {
            CommandError {
                message: format!("deploy file of environment `{}`: {error}", context.name()),
                hint: None,
            }
        })?;
    let plan = plan.masked(&context.masker(&deploy_file.image_environment()));
    match args.format {
        PlanFormat::Text => output::stdout().write_bytes(plan.render_text().as_bytes()),
        PlanFormat::Json => {
            let json = serde_json::to_string_pretty(&plan).map_err(|error| CommandError {
                message: format!("cannot encode the plan: {error}"),
                hint: None,
            })?;
            writeln!(output::stdout(), "{json}");
        }
    }
    Ok(Outcome::Success)
}
