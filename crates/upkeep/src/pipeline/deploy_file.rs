//! `upkeep deploy-file show FILE`: prints a Spryker deploy file with its imports merged.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use upkeep_pipeline::deploy_file::DeployFile;

use super::CommandError;
use crate::{Outcome, output};

#[derive(Debug, Args)]
pub struct DeployFileArgs {
    #[command(subcommand)]
    pub command: DeployFileCommand,
}

#[derive(Debug, Subcommand)]
pub enum DeployFileCommand {
    /// Validate a deploy file and print it with its imports merged (the first definition wins)
    /// and `%parameters%` substituted.
    Show {
        /// The deploy file, e.g. `deploy.my-shop-staging.yml`.
        file: PathBuf,
        /// The project root, where `config/deploy-templates/` is looked up (default: the file's
        /// directory).
        #[arg(long, value_name = "DIR")]
        project_root: Option<PathBuf>,
        /// Add a `# file:line` comment to each value saying where it was defined.
        #[arg(long)]
        origins: bool,
    },
}

pub fn run(args: &DeployFileArgs) -> Result<Outcome, CommandError> {
    match &args.command {
        DeployFileCommand::Show {
            file,
            project_root,
            origins,
        } => {
            let root = project_root.clone().unwrap_or_else(|| {
                file.parent()
                    .filter(|parent| !parent.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), PathBuf::from)
            });
            let deploy_file = DeployFile::load(file, &root).map_err(|error| {
                CommandError::input(
                    error.to_string(),
                    "fix the deploy file; `upkeep deploy-file show` prints it once it is valid",
                )
            })?;
            output::stdout().write_bytes(deploy_file.to_yaml_string(*origins).as_bytes());
            Ok(Outcome::Success)
        }
    }
}
