//! What every pipeline command starts from: the project's `upkeep.yml`, the chosen environment,
//! the state directory (runs, logs, images) and the secrets to mask.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use upkeep_pipeline::mask::Masker;
use upkeep_pipeline::project_file::{Environment, ProjectFile, Target};

use super::CommandError;

/// The file every pipeline command reads, at the repository root.
pub const PROJECT_FILE_NAME: &str = "upkeep.yml";

/// A loaded project and one of its environments.
pub struct ProjectContext {
    pub project: ProjectFile,
    pub environment: Environment,
    /// Runs, logs and the local image store live here (`<root>/.upkeep` unless `--state-dir`).
    pub state_dir: PathBuf,
}

impl ProjectContext {
    /// Loads `<root>/upkeep.yml` and picks the environment `name`.
    pub fn load(root: &Path, name: &str, state_dir: Option<&Path>) -> Result<Self, CommandError> {
        let project = load_project_file(root)?;
        let environment = project
            .environment(name)
            .map_err(|error| {
                let hint = error.suggestion().map_or_else(
                    || {
                        format!(
                            "the environments are declared under `environments:` in {}",
                            project.path.display()
                        )
                    },
                    |suggestion| format!("did you mean `--env {suggestion}`?"),
                );
                CommandError::input(error.to_string(), hint)
            })?
            .clone();
        let state_dir = state_dir.map_or_else(|| project.root().join(".upkeep"), Path::to_path_buf);
        Ok(Self {
            project,
            environment,
            state_dir,
        })
    }

    pub fn root(&self) -> &Path {
        self.project.root()
    }

    /// The local OCI image layout store shared by all environments of the project.
    pub fn image_store_dir(&self) -> PathBuf {
        self.state_dir.join("images")
    }

    /// Where the runs of this environment are recorded.
    pub fn runs_dir(&self) -> PathBuf {
        self.state_dir.join("runs")
    }

    /// The directory of the local target (holds `releases/` and `current`).
    pub fn target_dir(&self) -> &Path {
        match &self.environment.target {
            Target::Local { path } => path,
        }
    }

    /// The values of the environment's secrets that the upkeep process was given. Variables
    /// marked secret but defined elsewhere (the deploy file) are added by the caller once known.
    pub fn secrets_from_process(&self) -> BTreeMap<String, String> {
        self.environment
            .secrets
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|value| (name.clone(), value)))
            .collect()
    }

    /// A masker for every value of a variable marked secret, wherever it is defined.
    pub fn masker<'v>(
        &self,
        variables: impl IntoIterator<Item = (&'v String, &'v String)>,
    ) -> Masker {
        let mut values: Vec<String> = self.secrets_from_process().into_values().collect();
        values.extend(
            variables
                .into_iter()
                .filter(|(name, _)| self.environment.secrets.contains(name))
                .map(|(_, value)| value.clone()),
        );
        Masker::new(values)
    }
}

/// Loads `<root>/upkeep.yml`, with a hint when it is missing.
pub fn load_project_file(root: &Path) -> Result<ProjectFile, CommandError> {
    let path = root.join(PROJECT_FILE_NAME);
    if !path.is_file() {
        return Err(CommandError::input(
            format!("no {PROJECT_FILE_NAME} in {}", root.display()),
            format!(
                "pipelines are declared in {PROJECT_FILE_NAME} at the repository root; see `upkeep pipeline --help`"
            ),
        ));
    }
    ProjectFile::load(&path).map_err(|error| {
        CommandError::input(
            error.to_string(),
            format!("fix {} and run the command again", path.display()),
        )
    })
}
