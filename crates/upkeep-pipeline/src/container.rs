//! Runs a buildspec session inside a container of an image, with podman (`executor: container`).
//!
//! The session is the same driver script as on the host ([`crate::buildspec_run`]); only the
//! process differs: `podman run --rm --init --name <name> … <image> <shell> <script>`, with the
//! session's state directory bind-mounted at the same path so that the script, its status file
//! and the exported values are where the driver expects them.
//!
//! Variables reach the container as environment only, never on a command line: podman is
//! started with them in its own environment and told each name (`--env NAME`, which copies the
//! value from podman's environment). A few names podman itself needs from the host (`PATH`,
//! `HOME`, `CONTAINERS_CONF`, …) travel under another name and are set back by a one-line
//! prelude in the container, so the host's podman keeps working and the session still sees the
//! value the stage gave. `PATH` is the image's own unless the stage sets one.
//!
//! On timeout or cancel the container is stopped with `podman stop --time <grace>` (SIGTERM to
//! the session, SIGKILL after the grace period); afterwards it is removed whatever happened, so
//! no container outlives its step.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::executor::{StepCommand, Stopper, own_variables};

/// The Debian package that provides podman, for the error when it is missing.
pub const PODMAN_PACKAGE: &str = "podman";

/// Time a container gets between SIGTERM and SIGKILL when `stop-grace` is not given.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(10);

/// Variables podman reads from its own environment. The podman process gets the host's
/// values; a stage's value of the same name is handed over under [`RENAMED_PREFIX`].
const PODMAN_HOST_VARIABLES: [&str; 12] = [
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
    "USER",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "CONTAINERS_CONF",
    "CONTAINERS_STORAGE_CONF",
    "CONTAINERS_REGISTRIES_CONF",
    "REGISTRY_AUTH_FILE",
];

/// Prefix of the names under which a stage's values of [`PODMAN_HOST_VARIABLES`] cross into
/// the container.
const RENAMED_PREFIX: &str = "UPKEEP_CONTAINER_";

/// Limits of one container; `None` leaves podman's default (no limit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerLimits {
    /// `--memory`, e.g. `2g`.
    pub memory: Option<String>,
    /// `--cpus`, e.g. `1.5`.
    pub cpus: Option<String>,
    /// `--pids-limit`.
    pub pids: Option<u32>,
}

/// How to run one session in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRun {
    /// The podman program, as [`find_podman`] found it.
    pub podman: PathBuf,
    /// The image as podman names it: an image ID (the config digest's hex) or a reference. It
    /// must already be in podman's storage (`--pull=never`): what runs is exactly that image.
    pub image: String,
    /// The container's name, unique per session: how it is stopped and removed.
    pub name: String,
    /// The working directory inside the container; `None`: the image's `WorkingDir`.
    pub work_dir: Option<String>,
    /// `--network`; `None`: the host's network, as a session on the host has.
    pub network: Option<String>,
    pub limits: ContainerLimits,
    /// Between SIGTERM and SIGKILL when the session is stopped.
    pub stop_grace: Duration,
    /// What podman itself runs with: [`podman_host_environment`], plus e.g. a
    /// `CONTAINERS_CONF` of the caller's.
    pub podman_env: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("podman is not installed: `podman` is not on PATH")]
    PodmanMissing,
    #[error("podman {action} failed: {detail}")]
    Podman { action: String, detail: String },
}

impl upkeep_hint::Hint for ContainerError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::PodmanMissing => Some(format!(
                "install the Debian package `{PODMAN_PACKAGE}` (apt-get install {PODMAN_PACKAGE}), or use `executor: local` for this environment"
            )),
            Self::Podman { .. } => None,
        }
    }
}

/// The podman program on `path` (the host's `PATH`).
pub fn find_podman(path: Option<&str>) -> Result<PathBuf, ContainerError> {
    find_program("podman", path).ok_or(ContainerError::PodmanMissing)
}

/// `program` in the directories of `path` (a `PATH` value), when it is there and executable.
pub fn find_program(program: &str, path: Option<&str>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::split_paths(path?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// The host environment podman needs to find its configuration and storage.
pub fn podman_host_environment() -> BTreeMap<String, String> {
    own_variables(&PODMAN_HOST_VARIABLES)
}

/// What the executor starts for one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStep {
    pub command: StepCommand,
    /// podman's environment: the host's podman variables and every session variable.
    pub env: BTreeMap<String, String>,
    pub stopper: Stopper,
}

impl ContainerRun {
    /// The `podman run` of a session: `shell script` in the container, with `variables` as its
    /// environment and `state_dir` mounted at the same path.
    pub fn step(
        &self,
        shell: &str,
        script: &Path,
        state_dir: &Path,
        variables: &BTreeMap<String, String>,
    ) -> ContainerStep {
        let mut env = self.podman_env.clone();
        let mut args: Vec<String> = [
            "run",
            "--rm",
            "--init",
            "--pull=never",
            "--interactive=false",
        ]
        .map(str::to_string)
        .to_vec();
        args.extend(["--name".to_string(), self.name.clone()]);
        args.push(format!(
            "--network={}",
            self.network.as_deref().unwrap_or("host")
        ));
        args.push(format!(
            "--mount=type=bind,source={0},destination={0}",
            state_dir.display()
        ));
        if let Some(work_dir) = &self.work_dir {
            args.push(format!("--workdir={work_dir}"));
        }
        if let Some(memory) = &self.limits.memory {
            args.push(format!("--memory={memory}"));
        }
        if let Some(cpus) = &self.limits.cpus {
            args.push(format!("--cpus={cpus}"));
        }
        if let Some(pids) = self.limits.pids {
            args.push(format!("--pids-limit={pids}"));
        }
        let mut prelude = String::new();
        for (name, value) in variables {
            if PODMAN_HOST_VARIABLES.contains(&name.as_str()) {
                let carrier = format!("{RENAMED_PREFIX}{name}");
                let _ = write!(prelude, "export {name}=\"${carrier}\"; unset {carrier}; ");
                env.insert(carrier.clone(), value.clone());
                args.push(format!("--env={carrier}"));
            } else {
                env.insert(name.clone(), value.clone());
                args.push(format!("--env={name}"));
            }
        }
        args.push(self.image.clone());
        args.push(shell.to_string());
        if prelude.is_empty() {
            args.push(script.display().to_string());
        } else {
            // Names only: the values stay in the environment.
            args.push("-c".to_string());
            args.push(format!("{prelude}exec {shell} \"$0\""));
            args.push(script.display().to_string());
        }
        ContainerStep {
            command: StepCommand::Exec {
                program: self.podman.display().to_string(),
                args,
            },
            env,
            stopper: Stopper {
                program: self.podman.display().to_string(),
                args: vec![
                    "stop".to_string(),
                    format!("--time={}", self.stop_grace.as_secs().max(1)),
                    "--ignore".to_string(),
                    self.name.clone(),
                ],
                grace: self.stop_grace,
            },
        }
    }

    /// Removes the container if it is still there (a session podman did not end itself:
    /// stopped, or upkeep's podman client was killed). Nothing there is success.
    pub fn remove(&self) -> Result<(), ContainerError> {
        run_podman(
            &self.podman,
            &self.podman_env,
            &[
                "rm",
                "--force",
                "--ignore",
                &format!("--time={}", self.stop_grace.as_secs()),
                &self.name,
            ],
            "rm",
        )
        .map(|_| ())
    }
}

/// Runs a short podman command to its end and returns its stdout; a failure carries podman's
/// last line of stderr.
pub fn run_podman(
    podman: &Path,
    host: &BTreeMap<String, String>,
    args: &[&str],
    action: &str,
) -> Result<String, ContainerError> {
    let output = Command::new(podman)
        .args(args)
        .env_clear()
        .envs(host)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| ContainerError::Podman {
            action: action.to_string(),
            detail: error.to_string(),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let detail = stderr
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("no message")
            .trim()
            .to_string();
        return Err(ContainerError::Podman {
            action: action.to_string(),
            detail: format!("{detail} ({})", output.status),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> ContainerRun {
        ContainerRun {
            podman: PathBuf::from("/usr/bin/podman"),
            image: "0123abcd".to_string(),
            name: "upkeep-run-1-install".to_string(),
            work_dir: None,
            network: None,
            limits: ContainerLimits {
                memory: Some("1g".to_string()),
                cpus: None,
                pids: Some(256),
            },
            stop_grace: Duration::from_secs(7),
            podman_env: BTreeMap::from([("HOME".to_string(), "/root".to_string())]),
        }
    }

    #[test]
    fn values_travel_in_the_environment_and_never_on_the_command_line() {
        let variables = BTreeMap::from([
            ("DB_PASSWORD".to_string(), "hunter2".to_string()),
            ("HOME".to_string(), "/data".to_string()),
        ]);
        let step = run().step(
            "sh",
            Path::new("/state/s.sh"),
            Path::new("/state"),
            &variables,
        );
        let StepCommand::Exec { program, args } = &step.command else {
            panic!("exec expected");
        };
        assert_eq!(program, "/usr/bin/podman");
        assert!(
            args.iter()
                .all(|arg| !arg.contains("hunter2") && !arg.contains("/data")),
            "{args:?}"
        );
        assert!(args.contains(&"--env=DB_PASSWORD".to_string()));
        assert!(args.contains(&"--env=UPKEEP_CONTAINER_HOME".to_string()));
        assert!(args.contains(&"--memory=1g".to_string()));
        assert!(args.contains(&"--pids-limit=256".to_string()));
        assert_eq!(step.env["DB_PASSWORD"], "hunter2");
        assert_eq!(step.env["HOME"], "/root", "podman keeps the host's HOME");
        assert_eq!(step.env["UPKEEP_CONTAINER_HOME"], "/data");
        assert_eq!(
            args[args.len() - 4..],
            [
                "sh",
                "-c",
                "export HOME=\"$UPKEEP_CONTAINER_HOME\"; unset UPKEEP_CONTAINER_HOME; exec sh \"$0\"",
                "/state/s.sh"
            ]
        );
        assert_eq!(
            step.stopper.args,
            ["stop", "--time=7", "--ignore", "upkeep-run-1-install"]
        );
    }

    #[test]
    fn without_renamed_variables_the_script_is_run_directly() {
        let step = run().step(
            "bash",
            Path::new("/state/s.sh"),
            Path::new("/state"),
            &BTreeMap::from([("A".to_string(), "1".to_string())]),
        );
        let StepCommand::Exec { args, .. } = &step.command else {
            panic!("exec expected");
        };
        assert_eq!(args[args.len() - 3..], ["0123abcd", "bash", "/state/s.sh"]);
        assert!(args.contains(&"--network=host".to_string()));
    }

    #[test]
    fn a_missing_podman_names_the_package() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = find_podman(Some(&dir.path().display().to_string())).expect_err("missing");
        assert_eq!(
            error.to_string(),
            "podman is not installed: `podman` is not on PATH"
        );
        assert!(
            upkeep_hint::Hint::hint(&error)
                .expect("hint")
                .contains("apt-get install podman")
        );
    }
}
