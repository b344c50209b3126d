//! What every job starts from: the project's `upkeep.yml`, the chosen environment, the state
//! directory (runs, logs, images) and the secrets to mask.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use upkeep_deploy::app_containers::AppContainers;
use upkeep_deploy::containers::{ContainerExecutor, ContainerImageError};
use upkeep_deploy::deployment::DeploymentError;
use upkeep_deploy::layout::ImageStore;
use upkeep_deploy::queue::DeploymentQueue;
use upkeep_deploy::remote_hosts::{RemoteError, RemoteHosts};
use upkeep_deploy::target::LocalTarget;
use upkeep_pipeline::container::DEFAULT_STOP_GRACE;
use upkeep_pipeline::mask::Masker;
use upkeep_pipeline::plan::Plan;
use upkeep_pipeline::project_file::{
    ContainerSettings, DeployType, Environment, ProjectFile, Target,
};
use upkeep_pipeline::provided::ProvidedVariables;
use upkeep_pipeline::ssh::{SshClient, SshIdentity, find_ssh, ssh_host_environment};

use crate::error::RunError;
use crate::index::RunIndex;

/// The file every pipeline command reads, at the repository root.
pub const PROJECT_FILE_NAME: &str = "upkeep.yml";

/// A loaded project and one of its environments.
#[derive(Debug, Clone)]
pub struct EnvironmentContext {
    pub project: ProjectFile,
    pub environment: Environment,
    /// Runs, logs and the local image store live here (`<root>/.upkeep` unless given).
    pub state_dir: PathBuf,
    /// Variables and secrets from the server's settings, given to every step (none from the
    /// command line).
    pub provided: ProvidedVariables,
}

impl EnvironmentContext {
    /// Loads `<root>/upkeep.yml` and picks the environment `name`.
    pub fn load(root: &Path, name: &str, state_dir: Option<&Path>) -> Result<Self, RunError> {
        let project = load_project_file(root)?;
        let environment = project.environment(name)?.clone();
        let state_dir = state_dir.map_or_else(|| project.root().join(".upkeep"), Path::to_path_buf);
        Ok(Self {
            project,
            environment,
            state_dir,
            provided: ProvidedVariables::default(),
        })
    }

    pub fn root(&self) -> &Path {
        self.project.root()
    }

    pub fn name(&self) -> &str {
        &self.environment.name
    }

    /// The local OCI image layout store shared by all environments of the project.
    pub fn image_store_dir(&self) -> PathBuf {
        self.state_dir.join("images")
    }

    /// Where runs are recorded.
    pub fn runs_dir(&self) -> PathBuf {
        self.state_dir.join("runs")
    }

    pub fn index(&self) -> RunIndex {
        RunIndex::new(self.runs_dir())
    }

    /// The directory of the local target (holds `releases/` and `current`).
    pub fn target_dir(&self) -> &Path {
        self.environment.target.path()
    }

    /// The resolved plan of the environment, as `upkeep pipeline plan` prints it.
    pub fn plan(&self, deploy_type: Option<DeployType>) -> Result<Plan, RunError> {
        Ok(Plan::resolve(
            &self.project,
            &self.environment.name,
            deploy_type,
        )?)
    }

    pub fn open_store(&self) -> Result<ImageStore, RunError> {
        Ok(ImageStore::open_or_create(self.image_store_dir())?)
    }

    /// The environment's deployment queue, beside its releases.
    pub fn open_queue(&self) -> Result<DeploymentQueue, RunError> {
        Ok(DeploymentQueue::open(self.target_dir().join(".queue"))?)
    }

    pub fn open_target(&self) -> Result<LocalTarget, RunError> {
        Ok(LocalTarget::open(self.target_dir())?)
    }

    /// The application containers of a `container` target (podman found on `PATH`); `None`
    /// for a `local` target.
    pub fn app_containers(&self) -> Result<Option<AppContainers>, RunError> {
        let Target::Container { app, .. } = &self.environment.target else {
            return Ok(None);
        };
        let settings = ContainerSettings {
            network: app.network.clone(),
            ..ContainerSettings::default()
        };
        let podman = ContainerExecutor::new(&settings)
            .map_err(|error| DeploymentError::from(ContainerImageError::from(error)))?;
        Ok(Some(AppContainers {
            settings: app.clone(),
            podman,
        }))
    }

    /// The hosts of an `ssh` target (`ssh` found on `PATH`, the key of `identity-secret` in a
    /// private file); `None` for the other targets.
    pub fn remote_hosts(&self) -> Result<Option<RemoteHosts>, RunError> {
        let Target::Ssh {
            remote: settings, ..
        } = &self.environment.target
        else {
            return Ok(None);
        };
        let program = find_ssh(std::env::var("PATH").ok().as_deref()).map_err(RemoteError::from)?;
        let identity = match &settings.identity_secret {
            None => None,
            Some(name) => {
                let key = self.secret_store().get(name).cloned().ok_or_else(|| {
                    RunError::MissingSecret {
                        environment: self.name().to_string(),
                        key: "target.ssh.identity-secret",
                        name: name.clone(),
                    }
                })?;
                Some(SshIdentity::from_secret(&key).map_err(RemoteError::from)?)
            }
        };
        let identity_file = identity
            .as_ref()
            .map(SshIdentity::path)
            .or_else(|| settings.identity.clone());
        let hosts = settings
            .hosts
            .iter()
            .map(|host| SshClient {
                program: program.clone(),
                host: host.host.clone(),
                port: host.port,
                user: settings.user.clone(),
                identity: identity_file.clone(),
                known_hosts: settings.known_hosts.clone(),
                connect_timeout: settings.connect_timeout,
                env: ssh_host_environment(),
            })
            .collect();
        Ok(Some(RemoteHosts {
            hosts,
            root: settings.path.clone(),
            owner: format!("{}/{}", self.project.project, self.name()),
            stop_grace: DEFAULT_STOP_GRACE,
            identity,
        }))
    }

    /// The secret store that buildspecs' `env.secrets` name: the values of the environment's
    /// `secrets:` that the upkeep process was given, and the provided secrets (which win).
    /// Variables marked secret but defined elsewhere (the deploy file) are added by the caller
    /// once known.
    pub fn secret_store(&self) -> BTreeMap<String, String> {
        let mut store: BTreeMap<String, String> = self
            .environment
            .secrets
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|value| (name.clone(), value)))
            .collect();
        store.extend(
            self.provided
                .secrets()
                .iter()
                .map(|(name, value)| (name.clone(), value.clone())),
        );
        store
    }

    /// A masker for every value of a variable marked secret, wherever it is defined.
    pub fn masker<'v>(
        &self,
        variables: impl IntoIterator<Item = (&'v String, &'v String)>,
    ) -> Masker {
        let mut values: Vec<String> = self.secret_store().into_values().collect();
        values.extend(
            variables
                .into_iter()
                .filter(|(name, _)| self.environment.secrets.contains(name))
                .map(|(_, value)| value.clone()),
        );
        Masker::new(values)
    }

    /// A path of upkeep.yml (resolved against the repository root) as a path inside the
    /// repository, as it is found in a checkout or a release.
    pub fn relative_to_root(&self, path: &Path) -> PathBuf {
        path.strip_prefix(self.root())
            .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
    }
}

/// Loads `<root>/upkeep.yml`.
pub fn load_project_file(root: &Path) -> Result<ProjectFile, RunError> {
    let path = root.join(PROJECT_FILE_NAME);
    if !path.is_file() {
        return Err(RunError::NoProjectFile {
            root: root.to_path_buf(),
        });
    }
    Ok(ProjectFile::load(&path)?)
}
