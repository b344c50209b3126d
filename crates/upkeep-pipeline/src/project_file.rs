//! The project's `upkeep.yml`: its environments, and for each the branch, deploy file,
//! deployment type, gate policy, approval, target, per-stage buildspecs, Dockerfile, releases to keep,
//! secrets and step time limit. Also the names shared by every pipeline: [`Stage`],
//! [`DeployType`] and the docker-sdk hook variables of the deployment stages.
//!
//! ```yaml
//! project: my-shop
//! environments:
//!   staging:
//!     branch: develop
//!     deploy-file: deploy.my-shop-staging.yml
//!     deploy-type: destructive
//!     target:
//!       local:
//!         path: /srv/my-shop/staging
//! ```

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};

use crate::buildspec::is_variable_name;
use crate::yaml::{self, YamlError};

/// Releases kept for rollback when `keep-releases` is not given.
pub const DEFAULT_KEEP_RELEASES: usize = 5;
/// Time limit of one step when `timeout` is not given.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_hours(1);

/// A loaded `upkeep.yml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFile {
    /// Absolute path of the `upkeep.yml`; its directory is the project root.
    pub path: PathBuf,
    /// `SPRYKER_PROJECT_NAME`.
    pub project: String,
    /// In the order they are written.
    pub environments: IndexMap<String, Environment>,
}

/// One environment of the project (`staging`, `production`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    pub name: String,
    /// The branch whose pushes start the environment's pipeline; `None`: started by hand only.
    pub branch: Option<String>,
    /// Resolved against the project root. When not written: `deploy.<project>-<environment>.yml`
    /// if that file exists, else `deploy.yml`.
    pub deploy_file: PathBuf,
    pub deploy_type: DeployType,
    /// Whether destructive deployments (which reset data) may run without being confirmed on
    /// the command line (`--confirm-destructive <env>`). Default false.
    pub destructive_allowed: bool,
    pub gate: GatePolicy,
    /// Whether a run waits for an authorised person to approve the deployment.
    pub approval: bool,
    pub target: Target,
    pub buildspec: StageBuildspecs,
    /// The Dockerfile Build uses (`buildah bud`), relative to the repository root; `None`: the
    /// `Dockerfile` at the root when the commit has one, else upkeep's own image build.
    pub dockerfile: Option<PathBuf>,
    /// At least 1: the active release always stays.
    pub keep_releases: usize,
    /// Names of secrets; their values come from the environment of the upkeep process.
    pub secrets: Vec<String>,
    /// Time limit of each step.
    pub timeout: Duration,
    /// Labels an agent must carry to run the environment's pipeline, when a server hands runs
    /// to remote agents (`upkeep serve --executor agents`); sorted, once each.
    pub agent_labels: Vec<String>,
    /// Where Build pushes the image, when the environment has a registry.
    pub registry: Option<RegistrySettings>,
    /// Where the deployment stages run: on this machine, or in containers of the images.
    pub executor: Executor,
}

/// Where an environment's deployment stages run (`executor:`).
///
/// ```yaml
/// executor: container          # or `local`, the default
/// # or, with limits:
/// executor:
///   container:
///     memory: 2g               # podman --memory
///     cpus: 1.5                # podman --cpus
///     pids: 1024               # podman --pids-limit
///     stop-grace: 30s          # SIGTERM to SIGKILL when a step is stopped (default 10s)
///     network: host            # podman --network (default host)
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Executor {
    /// Hooks run on this machine in the unpacked release.
    #[default]
    Local,
    /// pre-deploy runs in a container of the running image, install of the new one,
    /// post-deploy of the active one (podman).
    Container(ContainerSettings),
}

/// The options of `executor: container`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ContainerSettings {
    pub memory: Option<String>,
    pub cpus: Option<String>,
    pub pids: Option<u32>,
    #[serde(serialize_with = "serialize_duration")]
    pub stop_grace: Duration,
    pub network: Option<String>,
}

impl Default for ContainerSettings {
    fn default() -> Self {
        Self {
            memory: None,
            cpus: None,
            pids: None,
            stop_grace: crate::container::DEFAULT_STOP_GRACE,
            network: None,
        }
    }
}

/// The environment's image registry (`registry:`): after Build, the image is pushed there as
/// `<image>:<environment>-<commit>` with the OCI distribution API.
///
/// ```yaml
/// registry:
///   image: registry.example.com:5000/my-shop/app
///   username-secret: REGISTRY_USER      # names of secrets, never the values
///   password-secret: REGISTRY_PASSWORD
///   ca-certificate: ci/registry-ca.pem  # a private CA, relative to the project root
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySettings {
    /// `host[:port]/repository`, without a tag.
    pub image: String,
    /// Names of the secrets with the user name and the password (or token).
    pub username_secret: Option<String>,
    pub password_secret: Option<String>,
    /// A PEM file with the registry's CA certificate, resolved against the project root.
    pub ca_certificate: Option<PathBuf>,
    /// Plain http instead of https (a registry on loopback or in a trusted network).
    pub plain_http: bool,
}

/// What a failing quality gate does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GatePolicy {
    /// A failing gate stops the run before deployment.
    #[default]
    Block,
    /// A failing gate is reported, the deployment goes on.
    Warn,
    /// The gate does not run.
    Off,
}

impl fmt::Display for GatePolicy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Block => "block",
            Self::Warn => "warn",
            Self::Off => "off",
        })
    }
}

/// Where an environment's releases live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// A directory on this machine holding `releases/<id>` and the `current` link.
    Local { path: PathBuf },
    /// Releases kept as by `local`, and the application running as a container of the active
    /// release's image on this machine (podman): a new release's container is started and
    /// must pass its health command before `current` switches and the old one is stopped.
    Container {
        path: PathBuf,
        #[serde(flatten)]
        app: AppContainerSettings,
    },
    /// Releases on remote hosts over ssh: on every host the layout of `local` under
    /// `remote.path`; upkeep's own record of the releases (the same layout) under `path` on
    /// this machine, written `record:` (`path:` is the remote directory, as the hosts see it).
    Ssh {
        #[serde(rename = "record")]
        path: PathBuf,
        #[serde(flatten)]
        remote: SshSettings,
    },
}

impl Target {
    /// The directory on this machine holding `releases/` and `current`: the releases
    /// themselves, or for `ssh` upkeep's record of the releases on the hosts.
    pub fn path(&self) -> &Path {
        match self {
            Self::Local { path } | Self::Container { path, .. } | Self::Ssh { path, .. } => path,
        }
    }

    /// `local`, `container` or `ssh`, as written.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Local { .. } => "local",
            Self::Container { .. } => "container",
            Self::Ssh { .. } => "ssh",
        }
    }
}

/// Where and how the `ssh` target reaches its hosts (`target: {ssh: …}`).
///
/// ```yaml
/// target:
///   ssh:
///     hosts: [web1.example.com, "web2.example.com:2222", "[2001:db8::1]:22"]
///     user: deploy                       # default: ssh's (its config, else the local user)
///     path: /srv/my-shop/production      # on every host: releases/ and current (absolute)
///     record: .upkeep/targets/production # on this machine; default .upkeep/targets/<environment>
///     identity-secret: DEPLOY_SSH_KEY    # a private key from the environment's `secrets:`
///     identity: deploy/id_ed25519        # or a key file on this machine; at most one of the two
///     known-hosts: deploy/known_hosts    # host keys to trust; default ssh's ~/.ssh/known_hosts
///     connect-timeout: 10s               # default 10s
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SshSettings {
    /// At least one, each once. The deployment stages run on the first.
    pub hosts: Vec<SshHost>,
    /// `None`: whatever ssh picks (its config, else the local user name).
    pub user: Option<String>,
    /// The directory on every host holding `releases/` and `current`: absolute, without a
    /// trailing `/`.
    pub path: String,
    /// The name of a secret (listed in the environment's `secrets:`) holding the private key.
    pub identity_secret: Option<String>,
    /// A private key file on this machine, resolved against the project root.
    pub identity: Option<PathBuf>,
    /// The host keys to trust, resolved against the project root; `None`: ssh's own
    /// `~/.ssh/known_hosts`. Host keys are always verified.
    pub known_hosts: Option<PathBuf>,
    #[serde(serialize_with = "serialize_duration")]
    pub connect_timeout: Duration,
}

/// Time ssh gets to connect to a host when `connect-timeout` is not given.
pub const DEFAULT_SSH_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One host of an `ssh` target: a host name, an IPv4 address or an IPv6 address (kept without
/// its brackets), with the port when one is written. Shown and serialized as written:
/// `web1.example.com`, `web2.example.com:2222`, `[2001:db8::1]:22`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshHost {
    pub host: String,
    pub port: Option<u16>,
}

impl SshHost {
    /// Reads `host`, `host:port`, `[ipv6]` or `[ipv6]:port`. A host never starts with `-`:
    /// ssh would read it as an option.
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = |problem: &str| {
            format!(
                "invalid ssh host `{text}`: {problem}, e.g. `web1.example.com`, \
                 `web2.example.com:2222` or `[2001:db8::1]:22`"
            )
        };
        if text.contains('@') {
            return Err(format!(
                "invalid ssh host `{text}`: the user goes in `user:`, not in the host"
            ));
        }
        if text.starts_with('-') {
            return Err(format!(
                "invalid ssh host `{text}`: a host must not start with `-` (ssh would read it as an option)"
            ));
        }
        let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
            let Some((address, after)) = bracketed.split_once(']') else {
                return Err(invalid("the `[` of an IPv6 address is not closed"));
            };
            if address.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(invalid("brackets hold an IPv6 address"));
            }
            let port = match after {
                "" => None,
                _ => match after.strip_prefix(':') {
                    Some(port) => Some(port),
                    None => return Err(invalid("only `:port` may follow the `]`")),
                },
            };
            (address, port)
        } else {
            let (host, port) = match text.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            };
            if port.is_some_and(|port| port.contains(':')) {
                return Err(invalid("an IPv6 address goes in brackets"));
            }
            let valid = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if !valid {
                return Err(invalid(
                    "a host name or IPv4 address has letters, digits, `.`, `-` and `_`",
                ));
            }
            (host, port)
        };
        let port = match port {
            None => None,
            // Digits only: `parse` would take a leading `+`.
            Some(port) => match port.parse::<u16>() {
                Ok(number) if number > 0 && port.bytes().all(|byte| byte.is_ascii_digit()) => {
                    Some(number)
                }
                _ => {
                    return Err(format!(
                        "invalid port in ssh host `{text}`: a port is a number from 1 to 65535"
                    ));
                }
            },
        };
        Ok(Self {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for SshHost {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(formatter, "[{}]", self.host)?;
        } else {
            formatter.write_str(&self.host)?;
        }
        if let Some(port) = self.port {
            write!(formatter, ":{port}")?;
        }
        Ok(())
    }
}

impl Serialize for SshHost {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SshHost {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, |text| Self::parse(&text))
    }
}

/// How the application runs as a container (`target: {container: …}`).
///
/// ```yaml
/// target:
///   container:
///     path: /srv/my-shop/production   # releases/ and current, as for `local`
///     name: my-shop-production        # containers are <name>-<release>; default <project>-<env>
///     command: [php-fpm, -F]          # default: the image's own entrypoint and command
///     health: "php -r 'exit(0);'"     # run in the new container until it succeeds (sh -c)
///     health-timeout: 60s             # default 60s
///     network: shop                   # podman --network; default podman's
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AppContainerSettings {
    pub name: String,
    pub command: Option<Vec<String>>,
    pub health: Option<String>,
    #[serde(serialize_with = "serialize_duration")]
    pub health_timeout: Duration,
    pub network: Option<String>,
}

/// Time a new application container gets to pass its health command when `health-timeout` is
/// not given.
pub const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_mins(1);

fn serialize_duration<S: serde::Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_duration(*duration))
}

/// The project's own buildspec per stage, resolved against the project root; `None` means the
/// built-in default of that stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StageBuildspecs {
    #[serde(default, deserialize_with = "repository_path")]
    pub build: Option<PathBuf>,
    #[serde(default, deserialize_with = "repository_path")]
    pub pre_deploy: Option<PathBuf>,
    #[serde(default, deserialize_with = "repository_path")]
    pub install: Option<PathBuf>,
    #[serde(default, deserialize_with = "repository_path")]
    pub post_deploy: Option<PathBuf>,
}

/// A buildspec is a file of the repository: the same path must name the same file in a
/// checkout and in a release, so an absolute path (a file of whichever host runs the stage)
/// or a `..` climbing out of the repository is refused at its line and key.
fn repository_path<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<PathBuf>, D::Error> {
    checked_string(deserializer, |text| {
        inside_repository(&text, "a buildspec", "ci/install.buildspec.yml").map(Some)
    })
}

/// The Dockerfile is read from the commit's checkout, never from the host running the build.
fn repository_dockerfile<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<PathBuf>, D::Error> {
    checked_string(deserializer, |text| {
        inside_repository(&text, "a Dockerfile", "docker/Dockerfile").map(Some)
    })
}

/// `text` as a path relative to the repository root that stays inside it; `what` and
/// `example` word the refusal.
fn inside_repository(text: &str, what: &str, example: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.has_root() || text.starts_with('/') || text.starts_with('\\') {
        return Err(format!(
            "`{text}` is an absolute path; {what} is named relative to the repository root, \
             for example {example}"
        ));
    }
    let mut depth = 0usize;
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                depth = depth.checked_sub(1).ok_or_else(|| {
                    format!(
                        "`{text}` leaves the repository with `..`; {what} must be a file of the \
                         repository, named relative to its root"
                    )
                })?;
            }
            std::path::Component::Normal(_) => depth += 1,
            std::path::Component::CurDir => {}
            std::path::Component::RootDir | std::path::Component::Prefix(_) => {
                return Err(format!(
                    "`{text}` is an absolute path; name {what} relative to the repository root"
                ));
            }
        }
    }
    if depth == 0 {
        return Err(format!(
            "`{text}` names no file; name {what} relative to the repository root, for example {example}"
        ));
    }
    Ok(path)
}

impl StageBuildspecs {
    pub fn get(&self, stage: Stage) -> Option<&Path> {
        match stage {
            Stage::Build => self.build.as_deref(),
            Stage::PreDeploy => self.pre_deploy.as_deref(),
            Stage::Install => self.install.as_deref(),
            Stage::PostDeploy => self.post_deploy.as_deref(),
        }
    }

    fn resolved_against(self, root: &Path) -> Self {
        let resolve = |path: Option<PathBuf>| path.map(|path| root.join(path));
        Self {
            build: resolve(self.build),
            pre_deploy: resolve(self.pre_deploy),
            install: resolve(self.install),
            post_deploy: resolve(self.post_deploy),
        }
    }
}

/// A stage of the main pipeline that runs a buildspec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Build,
    PreDeploy,
    Install,
    PostDeploy,
}

impl Stage {
    /// In the order they run.
    pub const ALL: [Stage; 4] = [
        Stage::Build,
        Stage::PreDeploy,
        Stage::Install,
        Stage::PostDeploy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Build => "build",
            Self::PreDeploy => "pre-deploy",
            Self::Install => "install",
            Self::PostDeploy => "post-deploy",
        }
    }

    /// Whether the stage belongs to the Deployment sub-pipeline.
    pub fn is_deployment(self) -> bool {
        !matches!(self, Self::Build)
    }

    /// The docker-sdk hook of a deployment stage; `None` for build.
    pub fn hook(self, deploy_type: DeployType) -> Option<Hook> {
        let (variable, default_command) = match (self, deploy_type) {
            (Self::Build, _) => return None,
            (Self::PreDeploy, _) => (
                "SPRYKER_HOOK_BEFORE_DEPLOY",
                "vendor/bin/install -r pre-deploy -vvv",
            ),
            (Self::Install, DeployType::Normal) => (
                "SPRYKER_HOOK_INSTALL",
                "vendor/bin/install -r production --no-ansi -vvv",
            ),
            (Self::Install, DeployType::Destructive) => (
                "SPRYKER_HOOK_DESTRUCTIVE_INSTALL",
                "vendor/bin/install -r destructive --no-ansi -vvv",
            ),
            (Self::PostDeploy, _) => ("SPRYKER_HOOK_AFTER_DEPLOY", "true"),
        };
        Some(Hook {
            variable,
            default_command,
        })
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.as_str() == text)
            .ok_or_else(|| UnknownName {
                what: "stage",
                name: text.to_string(),
                expected: "build, pre-deploy, install, post-deploy",
            })
    }
}

/// The shell command a deployment stage runs, named by a variable of the deploy file's
/// `image.environment`, with the docker-sdk default when the variable is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Hook {
    pub variable: &'static str,
    pub default_command: &'static str,
}

/// Whether the install stage keeps the data (normal, for production) or resets it all
/// (destructive, for initial and non-production deployments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployType {
    #[default]
    Normal,
    Destructive,
}

impl DeployType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Destructive => "destructive",
        }
    }
}

impl fmt::Display for DeployType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for DeployType {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "normal" => Ok(Self::Normal),
            "destructive" => Ok(Self::Destructive),
            _ => Err(UnknownName {
                what: "deployment type",
                name: text.to_string(),
                expected: "normal, destructive",
            }),
        }
    }
}

/// A stage or deployment type name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}`; expected one of: {expected}")]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
    pub expected: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectFileError {
    #[error(transparent)]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Invalid(#[from] YamlError),
}

/// An environment name that the project file does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct UnknownEnvironment {
    pub file: PathBuf,
    pub name: String,
    pub known: Vec<String>,
}

impl UnknownEnvironment {
    /// The known name the user most likely meant.
    pub fn suggestion(&self) -> Option<&str> {
        did_you_mean(&self.name, self.known.iter().map(String::as_str))
    }
}

impl fmt::Display for UnknownEnvironment {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        if self.known.is_empty() {
            return write!(
                formatter,
                "unknown environment `{}`: {file} defines no environments",
                self.name
            );
        }
        write!(
            formatter,
            "unknown environment `{}`; {file} defines: {}",
            self.name,
            self.known.join(", ")
        )
    }
}

impl upkeep_hint::Hint for UnknownEnvironment {
    fn hint(&self) -> Option<String> {
        Some(match self.suggestion() {
            Some(suggestion) => format!("did you mean `--env {suggestion}`?"),
            None if self.known.is_empty() => "add one under `environments:`".to_string(),
            None => format!(
                "the environments are declared under `environments:` in {}",
                self.file.display()
            ),
        })
    }
}

impl ProjectFile {
    /// Reads and validates an `upkeep.yml`. Errors name the file, line, column and key path.
    pub fn load(path: &Path) -> Result<ProjectFile, ProjectFileError> {
        let text = fs_err::read_to_string(path)?;
        Ok(Self::parse(&text, path)?)
    }

    /// Validates the text of an `upkeep.yml` found at `path` (relative paths in it are
    /// resolved against the directory of `path`).
    pub fn parse(text: &str, path: &Path) -> Result<ProjectFile, YamlError> {
        let raw: RawProjectFile = yaml::parse_typed(text, path)?;
        let written_path = path;
        // Absolute, so that resolved paths keep working when a step changes directory.
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let project = raw.project.0;
        let mut environments = IndexMap::new();
        for (name, environment) in raw.environments {
            let environment = environment
                .resolve(name.0.clone(), &project, &root)
                .map_err(|misplaced| misplaced.locate(&name.0, text, written_path))?;
            environments.insert(environment.name.clone(), environment);
        }
        Ok(ProjectFile {
            path,
            project,
            environments,
        })
    }

    /// The project root: the directory holding the `upkeep.yml`.
    pub fn root(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new(""))
    }

    pub fn environment(&self, name: &str) -> Result<&Environment, UnknownEnvironment> {
        self.environments
            .get(name)
            .ok_or_else(|| UnknownEnvironment {
                file: self.path.clone(),
                name: name.to_string(),
                known: self.environments.keys().cloned().collect(),
            })
    }
}

/// The closest candidate by edit distance (at most a third of the name, at least 1), or a
/// candidate that starts with the name (`prod` for `production`).
fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .filter_map(|candidate| {
            let distance = edit_distance(name, candidate);
            let is_prefix = !name.is_empty() && candidate.starts_with(name);
            (distance <= limit || is_prefix).then_some((distance, candidate))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (i, left_char) in left.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, right_char) in right.iter().enumerate() {
            let substitution = previous[j] + usize::from(left_char != *right_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[right.len()]
}

/// Parses a humane duration: one or more `<number><unit>` with units `h`, `m`, `s` in that
/// order (`90s`, `30m`, `2h`, `1h30m`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let expected = "expected a duration like 90s, 30m, 2h or 1h30m";
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(format!("empty duration; {expected}"));
    }
    let mut seconds: u64 = 0;
    let mut previous_unit_rank = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, after) = rest.split_at(digits);
        let Some(unit) = after.chars().next() else {
            return Err(format!(
                "`{text}` has no unit; add s, m or h (for example {text}s)"
            ));
        };
        if number.is_empty() {
            return Err(format!("`{text}` is not a duration; {expected}"));
        }
        let (rank, unit_seconds) = match unit {
            'h' => (1, 3600),
            'm' => (2, 60),
            's' => (3, 1),
            _ => return Err(format!("unknown unit `{unit}` in `{text}`; use s, m or h")),
        };
        if rank <= previous_unit_rank {
            return Err(format!(
                "units in `{text}` must come once each, in the order h, m, s"
            ));
        }
        previous_unit_rank = rank;
        let value: u64 = number
            .parse()
            .map_err(|_| format!("`{number}` is too large in `{text}`"))?;
        seconds = value
            .checked_mul(unit_seconds)
            .and_then(|part| seconds.checked_add(part))
            .ok_or_else(|| format!("`{text}` is too long"))?;
        rest = &after[unit.len_utf8()..];
    }
    if seconds == 0 {
        return Err(format!("`{text}` is zero; a step needs some time"));
    }
    Ok(Duration::from_secs(seconds))
}

/// Writes a duration the way [`parse_duration`] reads it (`1h30m`, `90s` becomes `1m30s`).
pub fn format_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, seconds) = (total / 3600, total % 3600 / 60, total % 60);
    let mut text = String::new();
    for (value, unit) in [(hours, 'h'), (minutes, 'm'), (seconds, 's')] {
        if value > 0 {
            let _ = write!(text, "{value}{unit}");
        }
    }
    if text.is_empty() {
        text.push_str("0s");
    }
    text
}

// The written form. Values that need checking are newtypes whose `Deserialize` checks them,
// so that a bad value is reported at its own line and column, with its key path.

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawProjectFile {
    project: ProjectName,
    #[serde(default)]
    environments: IndexMap<EnvironmentName, RawEnvironment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawEnvironment {
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    deploy_file: Option<PathBuf>,
    #[serde(default)]
    deploy_type: DeployType,
    #[serde(default)]
    destructive_allowed: bool,
    #[serde(default)]
    gate: GatePolicy,
    #[serde(default)]
    approval: bool,
    target: RawTarget,
    #[serde(default)]
    buildspec: StageBuildspecs,
    #[serde(default, deserialize_with = "repository_dockerfile")]
    dockerfile: Option<PathBuf>,
    #[serde(default)]
    keep_releases: KeepReleases,
    #[serde(default)]
    secrets: Vec<SecretName>,
    #[serde(default)]
    timeout: Option<StepTimeout>,
    #[serde(default)]
    agent_labels: Vec<AgentLabel>,
    #[serde(default)]
    registry: Option<RawRegistry>,
    #[serde(default)]
    executor: Option<RawExecutor>,
}

/// `executor:`: a name, or a map with the one key `container` and its options. Written by
/// hand rather than as an untagged enum so that a bad option is reported at its own position.
enum RawExecutor {
    Local,
    Container(Option<RawContainerOptions>),
}

impl<'de> Deserialize<'de> for RawExecutor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExecutorVisitor;

        impl<'de> serde::de::Visitor<'de> for ExecutorVisitor {
            type Value = RawExecutor;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(
                    "`local`, `container`, or `container:` with memory, cpus, pids, stop-grace, network",
                )
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<RawExecutor, E> {
                match name {
                    "local" => Ok(RawExecutor::Local),
                    "container" => Ok(RawExecutor::Container(None)),
                    other => Err(E::unknown_variant(other, &["local", "container"])),
                }
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawExecutor, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(serde::de::Error::invalid_length(0, &self));
                };
                let executor = match key.as_str() {
                    "container" => RawExecutor::Container(Some(map.next_value()?)),
                    "local" => {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        RawExecutor::Local
                    }
                    other => {
                        return Err(serde::de::Error::unknown_variant(
                            other,
                            &["local", "container"],
                        ));
                    }
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(serde::de::Error::custom(format!(
                        "`{extra}`: an environment has one executor"
                    )));
                }
                Ok(executor)
            }
        }

        deserializer.deserialize_any(ExecutorVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawContainerOptions {
    #[serde(default)]
    memory: Option<MemoryLimit>,
    #[serde(default)]
    cpus: Option<CpuLimit>,
    #[serde(default)]
    pids: Option<u32>,
    #[serde(default)]
    stop_grace: Option<StepTimeout>,
    #[serde(default)]
    network: Option<String>,
}

impl RawExecutor {
    fn resolve(self) -> Executor {
        match self {
            Self::Local => Executor::Local,
            Self::Container(None) => Executor::Container(ContainerSettings::default()),
            Self::Container(Some(container)) => Executor::Container(ContainerSettings {
                memory: container.memory.map(|limit| limit.0),
                cpus: container.cpus.map(|limit| limit.0),
                pids: container.pids,
                stop_grace: container
                    .stop_grace
                    .map_or(crate::container::DEFAULT_STOP_GRACE, |grace| grace.0),
                network: container.network,
            }),
        }
    }
}

/// podman's `--memory`: a number with an optional unit `b`, `k`, `m` or `g`.
struct MemoryLimit(String);

impl<'de> Deserialize<'de> for MemoryLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, |text| {
            let digits = text.trim_end_matches(['b', 'k', 'm', 'g', 'B', 'K', 'M', 'G']);
            let unit_len = text.len() - digits.len();
            if !digits.is_empty()
                && digits.bytes().all(|byte| byte.is_ascii_digit())
                && unit_len <= 1
            {
                Ok(Self(text))
            } else {
                Err(format!(
                    "invalid memory limit `{text}`: a number with an optional unit b, k, m or g, e.g. `2g`"
                ))
            }
        })
    }
}

/// podman's `--cpus`: a positive decimal number. Written as a number or a string.
struct CpuLimit(String);

impl<'de> Deserialize<'de> for CpuLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let text = match &value {
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        match text.parse::<f64>() {
            Ok(cpus) if cpus > 0.0 && cpus.is_finite() => Ok(Self(text)),
            _ => Err(serde::de::Error::custom(format!(
                "invalid cpu limit `{text}`: a positive number of CPUs, e.g. `1.5`"
            ))),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRegistry {
    image: RegistryImage,
    #[serde(default)]
    username_secret: Option<SecretName>,
    #[serde(default)]
    password_secret: Option<SecretName>,
    #[serde(default)]
    ca_certificate: Option<PathBuf>,
    #[serde(default)]
    plain_http: bool,
}

/// `host[:port]/repository` without tag or digest: the tag is the build's.
struct RegistryImage(String);

impl<'de> Deserialize<'de> for RegistryImage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, |image| {
            let problem = match image.split_once('/') {
                None => Some("it names no repository after the registry host"),
                Some((host, _)) if !(host.contains(['.', ':']) || host == "localhost") => Some(
                    "the part before the first `/` must be a registry host (with a dot or a port, or `localhost`)",
                ),
                Some((_, repository)) if repository.contains(['@', ':']) => Some(
                    "it must not carry a tag or digest: each build is tagged `<environment>-<commit>`",
                ),
                Some((_, repository))
                    if repository.is_empty() || image.contains(char::is_whitespace) =>
                {
                    Some("the repository is empty or has spaces")
                }
                Some(_) => None,
            };
            match problem {
                None => Ok(Self(image)),
                Some(problem) => Err(format!(
                    "invalid registry image `{image}`: {problem}, e.g. `registry.example.com:5000/my-shop/app`"
                )),
            }
        })
    }
}

impl RawEnvironment {
    fn resolve(self, name: String, project: &str, root: &Path) -> Result<Environment, Misplaced> {
        let deploy_file = if let Some(path) = self.deploy_file {
            root.join(path)
        } else {
            let per_environment = root.join(format!("deploy.{project}-{name}.yml"));
            if per_environment.is_file() {
                per_environment
            } else {
                root.join("deploy.yml")
            }
        };
        let target = match self.target {
            RawTarget::Local { path } => Target::Local {
                path: root.join(path),
            },
            RawTarget::Container {
                path,
                name: container_name,
                command,
                health,
                health_timeout,
                network,
            } => Target::Container {
                path: root.join(path),
                app: AppContainerSettings {
                    name: container_name.map_or_else(|| format!("{project}-{name}"), |name| name.0),
                    command,
                    health,
                    health_timeout: health_timeout
                        .map_or(DEFAULT_HEALTH_TIMEOUT, |timeout| timeout.0),
                    network,
                },
            },
            RawTarget::Ssh {
                hosts,
                user,
                path: remote_path,
                record,
                identity_secret,
                identity,
                known_hosts,
                connect_timeout,
            } => Target::Ssh {
                path: root.join(record.unwrap_or_else(|| Path::new(".upkeep/targets").join(&name))),
                remote: SshSettings {
                    hosts,
                    user: user.map(|user| user.0),
                    path: remote_path.0,
                    identity_secret: identity_secret.map(|name| name.0),
                    identity: identity.map(|path| root.join(path)),
                    known_hosts: known_hosts.map(|path| root.join(path)),
                    connect_timeout: connect_timeout
                        .map_or(DEFAULT_SSH_CONNECT_TIMEOUT, |timeout| timeout.0),
                },
            },
        };
        let secrets: Vec<String> = self.secrets.into_iter().map(|secret| secret.0).collect();
        let executor = self.executor.map(RawExecutor::resolve).unwrap_or_default();
        if let Target::Ssh { remote, .. } = &target {
            check_ssh_target(&name, remote, &secrets, &executor)?;
        }
        Ok(Environment {
            name,
            branch: self.branch,
            deploy_file,
            deploy_type: self.deploy_type,
            destructive_allowed: self.destructive_allowed,
            gate: self.gate,
            approval: self.approval,
            target,
            buildspec: self.buildspec.resolved_against(root),
            dockerfile: self.dockerfile,
            keep_releases: self.keep_releases.0,
            secrets,
            timeout: self
                .timeout
                .map_or(DEFAULT_STEP_TIMEOUT, |timeout| timeout.0),
            agent_labels: {
                let mut labels: Vec<String> =
                    self.agent_labels.into_iter().map(|label| label.0).collect();
                labels.sort();
                labels.dedup();
                labels
            },
            registry: self.registry.map(|registry| RegistrySettings {
                image: registry.image.0,
                username_secret: registry.username_secret.map(|name| name.0),
                password_secret: registry.password_secret.map(|name| name.0),
                ca_certificate: registry.ca_certificate.map(|path| root.join(path)),
                plain_http: registry.plain_http,
            }),
            executor,
        })
    }
}

/// What the `ssh` target needs beyond its own values: hosts once each, one source of the key,
/// a key secret the environment has, and stages that run on the host rather than here.
fn check_ssh_target(
    environment: &str,
    remote: &SshSettings,
    secrets: &[String],
    executor: &Executor,
) -> Result<(), Misplaced> {
    let hosts = "target.ssh.hosts";
    if remote.hosts.is_empty() {
        return Err(Misplaced::new(
            hosts,
            "an ssh target needs at least one host, e.g. `hosts: [web1.example.com]`",
        ));
    }
    for (index, host) in remote.hosts.iter().enumerate() {
        let same = |other: &SshHost| {
            other.host.eq_ignore_ascii_case(&host.host) && other.port == host.port
        };
        if let Some(first) = remote.hosts[..index].iter().position(same) {
            return Err(Misplaced::new(
                format!("{hosts}[{index}]"),
                format!(
                    "`{host}` is listed twice (also at `hosts[{first}]`); a release goes to each host once"
                ),
            ));
        }
    }
    if remote.identity.is_some() && remote.identity_secret.is_some() {
        return Err(Misplaced::new(
            "target.ssh.identity",
            "`identity` and `identity-secret` both name the key; give one of them",
        ));
    }
    if let Some(secret) = &remote.identity_secret
        && !secrets.contains(secret)
    {
        return Err(Misplaced::new(
            "target.ssh.identity-secret",
            format!(
                "`{secret}` is not a secret of environment `{environment}`; add it to \
                 `environments.{environment}.secrets` so that its value is masked and handed to the run"
            ),
        ));
    }
    if matches!(executor, Executor::Container(_)) {
        return Err(Misplaced::new(
            "executor",
            format!(
                "environment `{environment}` has an ssh target, whose deployment stages run over ssh \
                 on its first host, but `executor: container` runs them in containers on this \
                 machine; use `executor: local` (the default) with `target: ssh`"
            ),
        ));
    }
    Ok(())
}

/// A problem found after the file was read, across several values: the key path (below
/// the environment) of the value to point at, so that it is reported at its position.
struct Misplaced {
    key_path: String,
    message: String,
}

impl Misplaced {
    fn new(key_path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key_path: key_path.into(),
            message: message.into(),
        }
    }

    /// The error at the value's line and column in `text`, read again as a tree: only a file
    /// with such a problem pays for it.
    fn locate(self, environment: &str, text: &str, file: &Path) -> YamlError {
        let key_path = format!("environments.{environment}.{}", self.key_path);
        let origin = yaml::parse_tree(text, file)
            .ok()
            .and_then(|tree| value_at(&tree, &key_path).map(|node| node.origin.clone()));
        match origin {
            Some(origin) => YamlError::at(origin, &key_path, self.message),
            None => YamlError {
                file: file.to_path_buf(),
                line: 0,
                column: 0,
                key_path,
                message: self.message,
            },
        }
    }
}

/// The node at a key path as errors write it (`environments.staging.target.ssh.hosts[1]`).
/// Keys of `upkeep.yml` hold no `.` or `[`, so the path splits plainly.
fn value_at<'tree>(tree: &'tree yaml::Node, key_path: &str) -> Option<&'tree yaml::Node> {
    key_path.split('.').try_fold(tree, |node, segment| {
        let (key, indexes) = segment.split_once('[').unwrap_or((segment, ""));
        let mut node = node.get(key)?;
        for index in indexes.split('[') {
            let Some(index) = index.strip_suffix(']') else {
                continue;
            };
            let yaml::NodeValue::Seq(items) = &node.value else {
                return None;
            };
            node = items.get(index.parse::<usize>().ok()?)?;
        }
        Some(node)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
enum RawTarget {
    Local {
        path: PathBuf,
    },
    // Variant fields are not renamed by the enum's `rename_all`.
    #[serde(rename_all = "kebab-case")]
    Container {
        path: PathBuf,
        #[serde(default)]
        name: Option<ContainerName>,
        #[serde(default)]
        command: Option<Vec<String>>,
        #[serde(default)]
        health: Option<String>,
        #[serde(default)]
        health_timeout: Option<StepTimeout>,
        #[serde(default)]
        network: Option<String>,
    },
    #[serde(rename_all = "kebab-case")]
    Ssh {
        hosts: Vec<SshHost>,
        #[serde(default)]
        user: Option<SshUser>,
        path: RemotePath,
        #[serde(default)]
        record: Option<PathBuf>,
        #[serde(default)]
        identity_secret: Option<SecretName>,
        #[serde(default)]
        identity: Option<PathBuf>,
        #[serde(default)]
        known_hosts: Option<PathBuf>,
        #[serde(default)]
        connect_timeout: Option<StepTimeout>,
    },
}

/// A remote user name: `[a-zA-Z0-9_][a-zA-Z0-9_.-]*`. Never starting with `-`, which ssh
/// would read as an option.
struct SshUser(String);

impl<'de> Deserialize<'de> for SshUser {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, |user| {
            if is_plain_name(&user, |c| c.is_ascii_alphanumeric() || c == '_') {
                Ok(Self(user))
            } else {
                Err(format!(
                    "invalid ssh user `{user}`: letters, digits, `_`, `.` and `-`, starting with a letter, digit or `_`"
                ))
            }
        })
    }
}

/// The directory of the releases on the ssh hosts: absolute, not `/` itself, one line; kept
/// without a trailing `/` so that `<path>/releases` reads the same however it was written.
struct RemotePath(String);

impl<'de> Deserialize<'de> for RemotePath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, |path| {
            let invalid = |problem: &str| {
                Err(format!(
                    "invalid remote path `{}`: {problem}, e.g. `/srv/my-shop/production`",
                    path.escape_debug()
                ))
            };
            if !path.starts_with('/') {
                return invalid("the directory on the hosts is an absolute path");
            }
            if path.contains(['\0', '\n', '\r']) {
                return invalid("a path is one line without NUL");
            }
            let trimmed = path.trim_end_matches('/');
            if trimmed.is_empty() {
                return invalid("releases need a directory of their own, not `/`");
            }
            Ok(Self(trimmed.to_string()))
        })
    }
}

/// A podman container name prefix: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
struct ContainerName(String);

impl<'de> Deserialize<'de> for ContainerName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, |name| {
            if is_plain_name(&name, |c| c.is_ascii_alphanumeric()) {
                Ok(Self(name))
            } else {
                Err(format!(
                    "invalid container name `{name}`: letters, digits, `_`, `.` and `-`, starting with a letter or digit"
                ))
            }
        })
    }
}

/// Letters, digits, `_`, `.` and `-`, the first one allowed by `first` (never `-`, which the
/// command given the name would read as an option).
fn is_plain_name(name: &str, first: fn(char) -> bool) -> bool {
    name.starts_with(|c: char| c != '-' && first(c))
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// Deserializes a string and checks it; a failed check is reported at the value.
fn checked_string<'de, D, T>(
    deserializer: D,
    check: impl FnOnce(String) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let text = String::deserialize(deserializer)?;
    check(text).map_err(serde::de::Error::custom)
}

/// `SPRYKER_PROJECT_NAME`, also the docker compose project name of docker-sdk: lowercase
/// letters, digits, `-` and `_`, starting with a letter or digit.
struct ProjectName(String);

impl<'de> Deserialize<'de> for ProjectName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, |name| {
            let first_ok = name
                .chars()
                .next()
                .is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit());
            let rest_ok = name.chars().all(|character| {
                character.is_ascii_lowercase()
                    || character.is_ascii_digit()
                    || matches!(character, '-' | '_')
            });
            if first_ok && rest_ok {
                Ok(Self(name))
            } else {
                Err(format!(
                    "invalid project name `{name}`: use lowercase letters, digits, `-` and `_`, \
                     starting with a letter or digit (docker-sdk uses it as the compose project name)"
                ))
            }
        })
    }
}

/// Environment names appear in pipeline names, paths and URLs.
#[derive(PartialEq, Eq, Hash)]
struct EnvironmentName(String);

impl<'de> Deserialize<'de> for EnvironmentName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, |name| {
            let first_ok = name
                .chars()
                .next()
                .is_some_and(|first| first.is_ascii_alphanumeric());
            let rest_ok = name.chars().all(|character| {
                character.is_ascii_alphanumeric() || matches!(character, '-' | '_')
            });
            if first_ok && rest_ok {
                Ok(Self(name))
            } else {
                Err(format!(
                    "invalid environment name `{name}`: use letters, digits, `-` and `_`, \
                     starting with a letter or digit"
                ))
            }
        })
    }
}

struct KeepReleases(usize);

impl Default for KeepReleases {
    fn default() -> Self {
        Self(DEFAULT_KEEP_RELEASES)
    }
}

impl<'de> Deserialize<'de> for KeepReleases {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let count = usize::deserialize(deserializer)?;
        if count == 0 {
            return Err(serde::de::Error::custom(
                "keep-releases must be at least 1 (the active release is always kept)",
            ));
        }
        Ok(Self(count))
    }
}

/// A secret is handed to steps as an environment variable of that name.
struct SecretName(String);

impl<'de> Deserialize<'de> for SecretName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, |name| {
            if is_variable_name(&name) {
                Ok(Self(name))
            } else {
                Err(format!(
                    "invalid secret name `{name}`: a secret is passed as an environment variable, \
                     so use letters, digits and `_`, not starting with a digit"
                ))
            }
        })
    }
}

/// Whether `label` can be an agent's label: 1 to 64 ASCII letters, digits, `-`, `_`, `.` and
/// `:` (`agent:<name>` names one agent).
pub fn is_agent_label(label: &str) -> bool {
    (1..=64).contains(&label.len())
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

struct AgentLabel(String);

impl<'de> Deserialize<'de> for AgentLabel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, |label| {
            if is_agent_label(&label) {
                Ok(Self(label))
            } else {
                Err(format!(
                    "invalid agent label `{label}`: use 1 to 64 letters, digits, `-`, `_`, `.` and `:`"
                ))
            }
        })
    }
}

struct StepTimeout(Duration);

impl<'de> Deserialize<'de> for StepTimeout {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, |text| parse_duration(&text).map(Self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = "\
project: my-shop
environments:
  staging:
    branch: develop
    deploy-file: deploy.my-shop-staging.yml
    deploy-type: destructive
    gate: warn
    approval: true
    target:
      local:
        path: /srv/my-shop/staging
    buildspec:
      build: ci/build.yml
      install: ci/install.yml
    dockerfile: docker/app.Dockerfile
    keep-releases: 3
    secrets: [DB_PASSWORD, API_TOKEN]
    timeout: 1h30m
    agent-labels: [php8.3, linux, php8.3]
    registry:
      image: registry.example.com:5000/my-shop/app
      username-secret: REGISTRY_USER
      password-secret: REGISTRY_PASSWORD
      ca-certificate: ci/registry-ca.pem
    executor:
      container:
        memory: 2g
        cpus: 1.5
        pids: 512
        stop-grace: 30s
  production:
    branch: main
    target:
      local:
        path: releases/production
";

    fn parse(text: &str) -> Result<ProjectFile, YamlError> {
        ProjectFile::parse(text, Path::new("/repo/upkeep.yml"))
    }

    fn error(text: &str) -> String {
        parse(text)
            .expect_err("the project file is invalid")
            .to_string()
    }

    #[test]
    fn reads_every_key_and_resolves_paths_against_the_project_root() {
        let project = parse(FULL).expect("valid");
        assert_eq!(project.project, "my-shop");
        assert_eq!(project.root(), Path::new("/repo"));
        assert_eq!(
            project.environments.keys().collect::<Vec<_>>(),
            ["staging", "production"]
        );
        let staging = project.environment("staging").expect("defined");
        assert_eq!(
            staging,
            &Environment {
                name: "staging".to_string(),
                branch: Some("develop".to_string()),
                deploy_file: PathBuf::from("/repo/deploy.my-shop-staging.yml"),
                deploy_type: DeployType::Destructive,
                destructive_allowed: false,
                gate: GatePolicy::Warn,
                approval: true,
                target: Target::Local {
                    path: PathBuf::from("/srv/my-shop/staging")
                },
                buildspec: StageBuildspecs {
                    build: Some(PathBuf::from("/repo/ci/build.yml")),
                    pre_deploy: None,
                    install: Some(PathBuf::from("/repo/ci/install.yml")),
                    post_deploy: None,
                },
                dockerfile: Some(PathBuf::from("docker/app.Dockerfile")),
                keep_releases: 3,
                secrets: vec!["DB_PASSWORD".to_string(), "API_TOKEN".to_string()],
                timeout: Duration::from_mins(90),
                agent_labels: vec!["linux".to_string(), "php8.3".to_string()],
                registry: Some(RegistrySettings {
                    image: "registry.example.com:5000/my-shop/app".to_string(),
                    username_secret: Some("REGISTRY_USER".to_string()),
                    password_secret: Some("REGISTRY_PASSWORD".to_string()),
                    ca_certificate: Some(PathBuf::from("/repo/ci/registry-ca.pem")),
                    plain_http: false,
                }),
                executor: Executor::Container(ContainerSettings {
                    memory: Some("2g".to_string()),
                    cpus: Some("1.5".to_string()),
                    pids: Some(512),
                    stop_grace: Duration::from_secs(30),
                    network: None,
                }),
            }
        );
    }

    #[test]
    fn fills_in_the_defaults() {
        let project = parse(FULL).expect("valid");
        let production = project.environment("production").expect("defined");
        assert_eq!(production.deploy_type, DeployType::Normal);
        assert_eq!(production.gate, GatePolicy::Block);
        assert!(!production.approval);
        assert_eq!(production.keep_releases, 5);
        assert_eq!(production.timeout, Duration::from_hours(1));
        assert_eq!(production.secrets, Vec::<String>::new());
        assert_eq!(production.dockerfile, None);
        assert_eq!(production.agent_labels, Vec::<String>::new());
        assert_eq!(production.registry, None);
        assert_eq!(production.executor, Executor::Local);
        assert_eq!(production.buildspec, StageBuildspecs::default());
        assert_eq!(production.deploy_file, PathBuf::from("/repo/deploy.yml"));
        assert_eq!(
            production.target,
            Target::Local {
                path: PathBuf::from("/repo/releases/production")
            }
        );
    }

    #[test]
    fn the_default_deploy_file_is_the_per_environment_one_when_it_exists() {
        let directory = tempfile::tempdir().expect("temp dir");
        fs_err::write(
            directory.path().join("deploy.my-shop-staging.yml"),
            "version: '0.1'\n",
        )
        .expect("write");
        let upkeep = directory.path().join("upkeep.yml");
        fs_err::write(
            &upkeep,
            "project: my-shop\nenvironments:\n  staging:\n    target: {local: {path: t}}\n  \
             production:\n    target: {local: {path: p}}\n",
        )
        .expect("write");
        let project = ProjectFile::load(&upkeep).expect("valid");
        assert_eq!(
            project.environments["staging"].deploy_file,
            directory.path().join("deploy.my-shop-staging.yml")
        );
        assert_eq!(
            project.environments["production"].deploy_file,
            directory.path().join("deploy.yml")
        );
    }

    #[test]
    fn an_unknown_key_names_its_position_and_key_path() {
        let text = "project: my-shop\nenvironments:\n  staging:\n    target: {local: {path: t}}\n    deploy-typ: destructive\n";
        assert_eq!(
            error(text),
            "/repo/upkeep.yml:5:5: at `environments.staging.deploy-typ`: unknown field \
             `deploy-typ`, expected one of branch, deploy-file, deploy-type, destructive-allowed, gate, approval, \
             target, buildspec, dockerfile, keep-releases, secrets, timeout, agent-labels, registry, executor"
        );
    }

    #[test]
    fn the_executor_is_a_name_or_container_options_checked_at_their_position() {
        let text = |executor: &str| {
            format!(
                "project: my-shop\nenvironments:\n  staging:\n    target: {{local: {{path: t}}}}\n    executor: {executor}\n"
            )
        };
        let executor = |written: &str| {
            parse(&text(written)).expect("valid").environments["staging"]
                .executor
                .clone()
        };
        assert_eq!(executor("local"), Executor::Local);
        assert_eq!(
            executor("container"),
            Executor::Container(ContainerSettings::default())
        );
        assert_eq!(
            executor("{container: {network: none}}"),
            Executor::Container(ContainerSettings {
                network: Some("none".to_string()),
                ..ContainerSettings::default()
            })
        );
        assert_eq!(
            error(&text("{container: {memory: 2 gigs}}")),
            "/repo/upkeep.yml:5:36: at `environments.staging.executor.container.memory`: invalid memory limit `2 gigs`: a number with an optional unit b, k, m or g, e.g. `2g`"
        );
        assert_eq!(
            error(&text("docker")),
            "/repo/upkeep.yml:5:5: at `environments.staging.executor`: unknown variant `docker`, expected one of local, container"
        );
    }

    #[test]
    fn a_registry_image_with_a_tag_or_without_a_host_is_refused_at_its_position() {
        let text = |image: &str| {
            format!(
                "project: my-shop\nenvironments:\n  staging:\n    target: {{local: {{path: t}}}}\n    registry: {{image: '{image}'}}\n"
            )
        };
        let tagged = error(&text("registry.example.com/shop:1"));
        assert!(
            tagged.starts_with("/repo/upkeep.yml:5:")
                && tagged.contains("at `environments.staging.registry.image`")
                && tagged.contains("must not carry a tag"),
            "{tagged}"
        );
        assert!(error(&text("shop/app")).contains("must be a registry host"));
        assert!(error(&text("registry.example.com")).contains("names no repository"));
        assert!(parse(&text("localhost:5000/shop")).is_ok());
    }

    #[test]
    fn an_unknown_deploy_type_lists_the_known_ones() {
        let text = "project: my-shop\nenvironments:\n  staging:\n    deploy-type: reckless\n    target: {local: {path: t}}\n";
        assert_eq!(
            error(text),
            "/repo/upkeep.yml:4:18: at `environments.staging.deploy-type`: unknown variant \
             `reckless`, expected one of normal, destructive"
        );
    }

    #[test]
    fn a_wrong_type_names_the_key() {
        let text = "project: my-shop\nenvironments:\n  staging:\n    approval: [yes]\n    target: {local: {path: t}}\n";
        assert_eq!(
            error(text),
            "/repo/upkeep.yml:4:15: at `environments.staging.approval`: expected a single \
             value, found a sequence or mapping"
        );
    }

    #[test]
    fn keep_releases_must_be_at_least_one() {
        let text = "project: my-shop\nenvironments:\n  staging:\n    target: {local: {path: t}}\n    keep-releases: 0\n";
        assert_eq!(
            error(text),
            "/repo/upkeep.yml:5:20: at `environments.staging.keep-releases`: keep-releases \
             must be at least 1 (the active release is always kept)"
        );
    }

    #[test]
    fn an_invalid_agent_label_is_reported_at_the_value() {
        let text = "project: my-shop\nenvironments:\n  staging:\n    target: {local: {path: t}}\n    agent-labels: [linux, 'php 8']\n";
        assert_eq!(
            error(text),
            "/repo/upkeep.yml:5:27: at `environments.staging.agent-labels[1]`: invalid agent \
             label `php 8`: use 1 to 64 letters, digits, `-`, `_`, `.` and `:`"
        );
    }

    #[test]
    fn a_timeout_without_unit_is_reported_at_the_value() {
        let text = "project: my-shop\nenvironments:\n  staging:\n    target: {local: {path: t}}\n    timeout: 90\n";
        assert_eq!(
            error(text),
            "/repo/upkeep.yml:5:14: at `environments.staging.timeout`: `90` has no unit; add \
             s, m or h (for example 90s)"
        );
    }

    #[test]
    fn an_invalid_project_name_is_reported_at_the_value() {
        assert_eq!(
            error("project: My Shop\nenvironments: {}\n"),
            "/repo/upkeep.yml:1:10: at `project`: invalid project name `My Shop`: use \
             lowercase letters, digits, `-` and `_`, starting with a letter or digit \
             (docker-sdk uses it as the compose project name)"
        );
    }

    #[test]
    fn an_invalid_secret_name_is_reported_with_its_index() {
        let text = "project: my-shop\nenvironments:\n  staging:\n    target: {local: {path: t}}\n    secrets:\n      - DB_PASSWORD\n      - 2FA-KEY\n";
        assert_eq!(
            error(text),
            "/repo/upkeep.yml:7:9: at `environments.staging.secrets[1]`: invalid secret name \
             `2FA-KEY`: a secret is passed as an environment variable, so use letters, digits \
             and `_`, not starting with a digit"
        );
    }

    #[test]
    fn a_container_target_has_a_default_name_and_a_health_timeout() {
        let text = "project: my-shop\nenvironments:\n  production:\n    target:\n      container:\n        path: t\n        health: test -f /ready\n        health-timeout: 90s\n";
        let project = parse(text).expect("valid");
        assert_eq!(
            project.environments["production"].target,
            Target::Container {
                path: PathBuf::from("/repo/t"),
                app: AppContainerSettings {
                    name: "my-shop-production".to_string(),
                    command: None,
                    health: Some("test -f /ready".to_string()),
                    health_timeout: Duration::from_secs(90),
                    network: None,
                },
            }
        );
        let bad = "project: my-shop\nenvironments:\n  production:\n    target:\n      container: {path: t, name: 'my shop'}\n";
        assert_eq!(
            error(bad),
            "/repo/upkeep.yml:5:34: at `environments.production.target.container.name`: invalid container name `my shop`: letters, digits, `_`, `.` and `-`, starting with a letter or digit"
        );
    }

    #[test]
    fn an_unknown_target_kind_lists_the_known_ones() {
        let text = "project: my-shop\nenvironments:\n  staging:\n    target:\n      kubernetes: {namespace: shop}\n";
        assert_eq!(
            error(text),
            "/repo/upkeep.yml:5:7: at `environments.staging.target`: unknown variant `kubernetes`, \
             expected one of local, container, ssh"
        );
    }

    const SSH: &str = "\
project: my-shop
environments:
  production:
    secrets: [DB_PASSWORD, DEPLOY_SSH_KEY]
    target:
      ssh:
        hosts: [web1.example.com, 'WEB2.example.com:2222', '10.0.0.7', '[2001:db8::1]:22', '[::1]']
        user: deploy
        path: /srv/my-shop/production/
        record: state/production
        identity-secret: DEPLOY_SSH_KEY
        known-hosts: deploy/known_hosts
        connect-timeout: 30s
";

    /// `SSH` with the line starting with `key:` of the ssh target replaced (or, when no line
    /// has that key, added) as `line`; an empty `line` removes it.
    fn ssh_with(key: &str, line: &str) -> String {
        let prefix = format!("        {key}:");
        let mut lines: Vec<String> = SSH.lines().map(str::to_string).collect();
        match lines
            .iter()
            .position(|written| written.starts_with(&prefix))
        {
            Some(index) if line.is_empty() => {
                lines.remove(index);
            }
            Some(index) => lines[index] = format!("        {line}"),
            None => lines.push(format!("        {line}")),
        }
        lines.join("\n") + "\n"
    }

    #[test]
    fn an_ssh_target_reads_its_hosts_user_remote_path_record_and_key() {
        let project = parse(SSH).expect("valid");
        let host = |host: &str, port: Option<u16>| SshHost {
            host: host.to_string(),
            port,
        };
        let target = &project.environments["production"].target;
        assert_eq!(
            target,
            &Target::Ssh {
                path: PathBuf::from("/repo/state/production"),
                remote: SshSettings {
                    hosts: vec![
                        host("web1.example.com", None),
                        host("WEB2.example.com", Some(2222)),
                        host("10.0.0.7", None),
                        host("2001:db8::1", Some(22)),
                        host("::1", None),
                    ],
                    user: Some("deploy".to_string()),
                    path: "/srv/my-shop/production".to_string(),
                    identity_secret: Some("DEPLOY_SSH_KEY".to_string()),
                    identity: None,
                    known_hosts: Some(PathBuf::from("/repo/deploy/known_hosts")),
                    connect_timeout: Duration::from_secs(30),
                },
            }
        );
        assert_eq!(target.kind(), "ssh");
        assert_eq!(target.path(), Path::new("/repo/state/production"));
        let Target::Ssh { remote, .. } = target else {
            unreachable!("matched above");
        };
        assert_eq!(
            remote
                .hosts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "web1.example.com",
                "WEB2.example.com:2222",
                "10.0.0.7",
                "[2001:db8::1]:22",
                "[::1]"
            ]
        );
        assert_eq!(
            serde_json::to_value(target).expect("serializable"),
            serde_json::json!({"ssh": {
                "record": "/repo/state/production",
                "hosts": ["web1.example.com", "WEB2.example.com:2222", "10.0.0.7", "[2001:db8::1]:22", "[::1]"],
                "user": "deploy",
                "path": "/srv/my-shop/production",
                "identity-secret": "DEPLOY_SSH_KEY",
                "identity": null,
                "known-hosts": "/repo/deploy/known_hosts",
                "connect-timeout": "30s",
            }})
        );
    }

    #[test]
    fn an_ssh_target_has_a_record_under_upkeep_and_a_connect_timeout_by_default() {
        let text = "project: my-shop\nenvironments:\n  staging:\n    target:\n      ssh:\n        hosts: [web1]\n        path: /srv/shop\n        identity: deploy/id_ed25519\n";
        let project = parse(text).expect("valid");
        assert_eq!(
            project.environments["staging"].target,
            Target::Ssh {
                path: PathBuf::from("/repo/.upkeep/targets/staging"),
                remote: SshSettings {
                    hosts: vec![SshHost {
                        host: "web1".to_string(),
                        port: None
                    }],
                    user: None,
                    path: "/srv/shop".to_string(),
                    identity_secret: None,
                    identity: Some(PathBuf::from("/repo/deploy/id_ed25519")),
                    known_hosts: None,
                    connect_timeout: DEFAULT_SSH_CONNECT_TIMEOUT,
                },
            }
        );
        assert_eq!(DEFAULT_SSH_CONNECT_TIMEOUT, Duration::from_secs(10));
    }

    #[test]
    fn an_ssh_host_that_ssh_would_misread_is_refused_at_its_position() {
        let hosts = |hosts: &str| error(&ssh_with("hosts", &format!("hosts: {hosts}")));
        let example = ", e.g. `web1.example.com`, `web2.example.com:2222` or `[2001:db8::1]:22`";
        assert_eq!(
            hosts("[web1, '-oProxyCommand=sh']"),
            "/repo/upkeep.yml:7:23: at `environments.production.target.ssh.hosts[1]`: invalid ssh \
             host `-oProxyCommand=sh`: a host must not start with `-` (ssh would read it as an option)"
        );
        assert_eq!(
            hosts("[deploy@web1]"),
            "/repo/upkeep.yml:7:17: at `environments.production.target.ssh.hosts[0]`: invalid ssh \
             host `deploy@web1`: the user goes in `user:`, not in the host"
        );
        assert_eq!(
            hosts("['web 1']"),
            format!(
                "/repo/upkeep.yml:7:17: at `environments.production.target.ssh.hosts[0]`: invalid \
                 ssh host `web 1`: a host name or IPv4 address has letters, digits, `.`, `-` and `_`{example}"
            )
        );
        assert!(hosts("['']").contains("invalid ssh host ``: a host name"));
        assert!(hosts("[':22']").contains("invalid ssh host `:22`: a host name"));
        assert!(hosts("['2001:db8::1']").ends_with(&format!(
            "`2001:db8::1`: an IPv6 address goes in brackets{example}"
        )));
        assert!(hosts("['[web1]:22']").ends_with(&format!(
            "`[web1]:22`: brackets hold an IPv6 address{example}"
        )));
        assert!(hosts("['[::1']").contains("the `[` of an IPv6 address is not closed"));
        assert!(hosts("['[::1]22']").contains("only `:port` may follow the `]`"));
        for port in ["web1:0", "web1:65536", "web1:", "web1:+22", "[::1]:ssh"] {
            assert!(
                hosts(&format!("['{port}']")).ends_with(&format!(
                    "invalid port in ssh host `{port}`: a port is a number from 1 to 65535"
                )),
                "{port}"
            );
        }
        assert!(parse(&ssh_with("hosts", "hosts: ['web1:65535', 'a_b-c.d']")).is_ok());
    }

    #[test]
    fn ssh_hosts_are_at_least_one_and_each_once() {
        assert_eq!(
            error(&ssh_with("hosts", "hosts: []")),
            "/repo/upkeep.yml:7:16: at `environments.production.target.ssh.hosts`: an ssh target \
             needs at least one host, e.g. `hosts: [web1.example.com]`"
        );
        assert_eq!(
            error(&ssh_with("hosts", "hosts: [web1, 'web2:2222', Web1]")),
            "/repo/upkeep.yml:7:36: at `environments.production.target.ssh.hosts[2]`: `Web1` is \
             listed twice (also at `hosts[0]`); a release goes to each host once"
        );
        // Another port is another sshd.
        assert!(parse(&ssh_with("hosts", "hosts: [web1, 'web1:2222']")).is_ok());
        assert!(
            error(&ssh_with("hosts", ""))
                .ends_with(": at `environments.production.target.ssh`: missing field `hosts`")
        );
    }

    #[test]
    fn an_ssh_user_and_remote_path_are_checked_at_their_position() {
        assert_eq!(
            error(&ssh_with("user", "user: -oProxyCommand=sh")),
            "/repo/upkeep.yml:8:15: at `environments.production.target.ssh.user`: invalid ssh user \
             `-oProxyCommand=sh`: letters, digits, `_`, `.` and `-`, starting with a letter, digit or `_`"
        );
        assert!(error(&ssh_with("user", "user: 'de ploy'")).contains("invalid ssh user `de ploy`"));
        assert!(parse(&ssh_with("user", "user: _deploy.web-1")).is_ok());
        let path = |path: &str| error(&ssh_with("path", &format!("path: {path}")));
        let example = ", e.g. `/srv/my-shop/production`";
        assert_eq!(
            path("srv/shop"),
            format!(
                "/repo/upkeep.yml:9:15: at `environments.production.target.ssh.path`: invalid remote \
                 path `srv/shop`: the directory on the hosts is an absolute path{example}"
            )
        );
        assert!(path("/").ends_with(&format!(
            "invalid remote path `/`: releases need a directory of their own, not `/`{example}"
        )));
        assert!(path("//").contains("not `/`"));
        assert!(path("\"/srv/a\\nb\"").ends_with(&format!(
            "invalid remote path `/srv/a\\nb`: a path is one line without NUL{example}"
        )));
        assert!(path("\"/srv/a\\0b\"").contains("one line without NUL"));
    }

    #[test]
    fn an_ssh_key_comes_from_one_place_and_a_key_secret_must_be_listed() {
        assert_eq!(
            error(&ssh_with("identity", "identity: deploy/id_ed25519")),
            "/repo/upkeep.yml:14:19: at `environments.production.target.ssh.identity`: `identity` \
             and `identity-secret` both name the key; give one of them"
        );
        assert_eq!(
            error(&SSH.replace(
                "secrets: [DB_PASSWORD, DEPLOY_SSH_KEY]",
                "secrets: [DB_PASSWORD]"
            )),
            "/repo/upkeep.yml:11:26: at `environments.production.target.ssh.identity-secret`: \
             `DEPLOY_SSH_KEY` is not a secret of environment `production`; add it to \
             `environments.production.secrets` so that its value is masked and handed to the run"
        );
        assert!(
            error(&ssh_with("identity-secret", "identity-secret: 1KEY"))
                .contains("invalid secret name `1KEY`")
        );
    }

    #[test]
    fn an_ssh_target_with_the_container_executor_is_refused() {
        let text = SSH.replace("    secrets:", "    executor: container\n    secrets:");
        assert_eq!(
            error(&text),
            "/repo/upkeep.yml:4:15: at `environments.production.executor`: environment \
             `production` has an ssh target, whose deployment stages run over ssh on its first \
             host, but `executor: container` runs them in containers on this machine; use \
             `executor: local` (the default) with `target: ssh`"
        );
        let local = SSH.replace("    secrets:", "    executor: local\n    secrets:");
        assert!(parse(&local).is_ok());
    }

    #[test]
    fn an_unknown_ssh_key_lists_the_known_ones() {
        assert_eq!(
            error(&ssh_with("port", "port: 2222")),
            "/repo/upkeep.yml:14:9: at `environments.production.target.ssh.port`: unknown field \
             `port`, expected one of hosts, user, path, record, identity-secret, identity, \
             known-hosts, connect-timeout"
        );
        assert!(
            error(&ssh_with("connect-timeout", "connect-timeout: 10")).contains("`10` has no unit")
        );
    }

    /// Issue 11, item 9: an absolute buildspec ran a host file in post-deploy.
    #[test]
    fn buildspec_paths_must_stay_in_the_repository() {
        let with = |path: &str| {
            format!(
                "project: my-shop\nenvironments:\n  staging:\n    target: {{local: {{path: t}}}}\n    buildspec:\n      install: ci/ok.yml\n      post-deploy: {path}\n"
            )
        };
        assert_eq!(
            error(&with("/etc/evil.yml")),
            "/repo/upkeep.yml:7:20: at `environments.staging.buildspec.post-deploy`: `/etc/evil.yml` \
             is an absolute path; a buildspec is named relative to the repository root, for example \
             ci/install.buildspec.yml"
        );
        assert_eq!(
            error(&with("ci/../../outside.yml")),
            "/repo/upkeep.yml:7:20: at `environments.staging.buildspec.post-deploy`: \
             `ci/../../outside.yml` leaves the repository with `..`; a buildspec must be a file of \
             the repository, named relative to its root"
        );
        let project =
            parse(&with("ci/../deploy/post.yml")).expect("`..` inside the repository is fine");
        let staging = project.environment("staging").unwrap();
        assert_eq!(
            staging.buildspec.post_deploy.as_deref(),
            Some(Path::new("/repo/ci/../deploy/post.yml"))
        );
    }

    #[test]
    fn a_dockerfile_outside_the_repository_is_refused_at_its_position() {
        let with = |path: &str| {
            format!(
                "project: my-shop\nenvironments:\n  staging:\n    target: {{local: {{path: t}}}}\n    dockerfile: {path}\n"
            )
        };
        assert_eq!(
            error(&with("/srv/Dockerfile")),
            "/repo/upkeep.yml:5:17: at `environments.staging.dockerfile`: `/srv/Dockerfile` is an \
             absolute path; a Dockerfile is named relative to the repository root, for example \
             docker/Dockerfile"
        );
        assert!(
            error(&with("../other/Dockerfile"))
                .contains("`../other/Dockerfile` leaves the repository with `..`"),
        );
        assert!(error(&with(".")).contains("`.` names no file"));
        let project = parse(&with("docker/Dockerfile")).expect("a file of the repository");
        // Relative: it is read from the commit's checkout, not from the project root.
        assert_eq!(
            project
                .environment("staging")
                .unwrap()
                .dockerfile
                .as_deref(),
            Some(Path::new("docker/Dockerfile"))
        );
    }

    #[test]
    fn an_unknown_buildspec_stage_is_reported() {
        let text = "project: my-shop\nenvironments:\n  staging:\n    target: {local: {path: t}}\n    buildspec:\n      predeploy: ci/pre.yml\n";
        assert_eq!(
            error(text),
            "/repo/upkeep.yml:6:7: at `environments.staging.buildspec.predeploy`: unknown \
             field `predeploy`, expected one of build, pre-deploy, install, post-deploy"
        );
    }

    #[test]
    fn a_missing_target_is_reported() {
        let text = "project: my-shop\nenvironments:\n  staging:\n    branch: develop\n";
        assert_eq!(
            error(text),
            "/repo/upkeep.yml:4:5: at `environments.staging`: missing field `target`"
        );
    }

    #[test]
    fn a_syntax_error_has_a_position() {
        let text = "project: my-shop\nenvironments:\n  staging:\n\ttarget: {local: {path: t}}\n";
        assert_eq!(
            error(text),
            "/repo/upkeep.yml:4:2: at `environments`: tabs disallowed within this context \
             (block indentation)"
        );
    }

    #[test]
    fn an_unknown_environment_lists_the_known_ones_and_suggests_one() {
        let project = parse(FULL).expect("valid");
        let unknown = project.environment("stagin").expect_err("not defined");
        assert_eq!(
            unknown.to_string(),
            "unknown environment `stagin`; /repo/upkeep.yml defines: staging, production"
        );
        assert_eq!(
            upkeep_hint::Hint::hint(&unknown).as_deref(),
            Some("did you mean `--env staging`?")
        );
        let prefix = project.environment("prod").expect_err("not defined");
        assert_eq!(prefix.suggestion(), Some("production"));
        let unrelated = project.environment("qa").expect_err("not defined");
        assert_eq!(unrelated.suggestion(), None);
    }

    #[test]
    fn durations_read_and_write_the_same_way() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_mins(30)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_hours(2)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_mins(90)));
        assert_eq!(parse_duration("1h0m5s"), Ok(Duration::from_secs(3605)));
        assert_eq!(
            parse_duration("30m1h"),
            Err("units in `30m1h` must come once each, in the order h, m, s".to_string())
        );
        assert_eq!(
            parse_duration("5d"),
            Err("unknown unit `d` in `5d`; use s, m or h".to_string())
        );
        assert_eq!(
            parse_duration("0s"),
            Err("`0s` is zero; a step needs some time".to_string())
        );
        assert_eq!(
            parse_duration("m"),
            Err(
                "`m` is not a duration; expected a duration like 90s, 30m, 2h or 1h30m".to_string()
            )
        );
        assert_eq!(format_duration(Duration::from_mins(90)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_hours(1)), "1h");
    }

    #[test]
    fn stages_and_deploy_types_have_kebab_names() {
        assert_eq!(
            Stage::ALL.map(|stage| stage.to_string()),
            ["build", "pre-deploy", "install", "post-deploy"]
        );
        assert_eq!("post-deploy".parse::<Stage>(), Ok(Stage::PostDeploy));
        assert_eq!(
            "deploy".parse::<Stage>().expect_err("unknown").to_string(),
            "unknown stage `deploy`; expected one of: build, pre-deploy, install, post-deploy"
        );
        assert!(!Stage::Build.is_deployment());
        assert!(Stage::Install.is_deployment());
        assert_eq!(
            "destructive".parse::<DeployType>(),
            Ok(DeployType::Destructive)
        );
        assert_eq!(DeployType::Normal.to_string(), "normal");
    }

    #[test]
    fn install_runs_the_hook_of_the_deploy_type() {
        assert_eq!(Stage::Build.hook(DeployType::Normal), None);
        assert_eq!(
            Stage::Install
                .hook(DeployType::Normal)
                .map(|hook| hook.variable),
            Some("SPRYKER_HOOK_INSTALL")
        );
        assert_eq!(
            Stage::Install.hook(DeployType::Destructive),
            Some(Hook {
                variable: "SPRYKER_HOOK_DESTRUCTIVE_INSTALL",
                default_command: "vendor/bin/install -r destructive --no-ansi -vvv",
            })
        );
        assert_eq!(
            Stage::PostDeploy
                .hook(DeployType::Normal)
                .map(|hook| hook.default_command),
            Some("true")
        );
    }
}
