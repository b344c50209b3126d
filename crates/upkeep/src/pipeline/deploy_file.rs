//! `upkeep deploy-file show FILE`: prints a Spryker deploy file with its imports merged.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use upkeep_pipeline::deploy_file::DeployFile;
use upkeep_pipeline::mask::Masker;
use upkeep_pipeline::project_file::ProjectFile;

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
            let masker = secrets_masker(&root, &deploy_file);
            output::stdout().write_bytes(
                deploy_file
                    .masked(&masker)
                    .to_yaml_string(*origins)
                    .as_bytes(),
            );
            Ok(Outcome::Success)
        }
    }
}

/// Masks the values of every variable that `<root>/upkeep.yml` marks secret in any
/// environment, as runs mask them: the value the upkeep process was given and the value the
/// deploy file's `image.environment` defines. Without an `upkeep.yml` nothing is secret; an
/// invalid one is a warning that nothing is masked.
fn secrets_masker(root: &Path, deploy_file: &DeployFile) -> Masker {
    let project_path = root.join(upkeep_runner::context::PROJECT_FILE_NAME);
    if !project_path.is_file() {
        return Masker::default();
    }
    let image_environment = deploy_file.image_environment();
    let project = match ProjectFile::load(&project_path) {
        Ok(project) => project,
        Err(error) => {
            // Which variables are secret is unknown; say so rather than fail: the deploy file
            // is shown to find what is wrong, often while upkeep.yml is being written too.
            eprintln!(
                "upkeep: warning: {error}\nupkeep: warning: no value is masked as secret until upkeep.yml is valid"
            );
            return Masker::default();
        }
    };
    let names: BTreeSet<&String> = project
        .environments
        .values()
        .flat_map(|environment| &environment.secrets)
        .collect();
    let values = names.into_iter().flat_map(|name| {
        let from_process = std::env::var(name).ok();
        let from_file = image_environment.get(name).cloned();
        from_process.into_iter().chain(from_file)
    });
    Masker::new(values)
}
