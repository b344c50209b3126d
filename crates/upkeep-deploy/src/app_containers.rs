//! The `container` target's application: each release runs as one podman container of its
//! image, `<name>-<release id>`, labelled `upkeep.app=<name>` and `upkeep.release=<id>`.
//!
//! A new release's container is started beside the serving one and must pass the health
//! command (`podman exec … sh -c <health>`) within the health timeout; only then does
//! `current` switch and the other containers of the application stop. A container that fails
//! its health check is removed and the serving one is never touched. A rollback starts the
//! previous release's container the same way before it switches back.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use upkeep_pipeline::container::{ContainerError, run_podman};
use upkeep_pipeline::project_file::AppContainerSettings;

use crate::containers::{ContainerExecutor, ContainerImageError};
use crate::layout::ImageStore;
use crate::target::{LocalTarget, Release, TargetError};

/// How often the health command is tried.
const HEALTH_POLL: Duration = Duration::from_millis(500);
/// Lines of the container's own output shown when it fails.
const LOG_TAIL: &str = "20";

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Image(#[from] ContainerImageError),
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("container {container} of release {release} exited before it was healthy{output}")]
    Exited {
        container: String,
        release: String,
        output: String,
    },
    #[error(
        "container {container} of release {release} did not pass its health command `{health}` within {timeout}{output}"
    )]
    Unhealthy {
        container: String,
        release: String,
        health: String,
        timeout: String,
        output: String,
    },
}

impl upkeep_hint::Hint for AppError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Image(error) => error.hint(),
            Self::Container(error) => error.hint(),
            Self::Target(error) => error.hint(),
            Self::Exited { .. } | Self::Unhealthy { .. } => Some(
                "the release that served before keeps serving; see the container's output above, fix the image or `health` in upkeep.yml, and deploy again"
                    .to_string(),
            ),
        }
    }
}

/// The application of one `container` target.
#[derive(Debug, Clone)]
pub struct AppContainers {
    pub settings: AppContainerSettings,
    /// Loads images into podman; its podman and environment run every command here.
    pub podman: ContainerExecutor,
}

impl AppContainers {
    /// The container name of `release`.
    pub fn container_of(&self, release: &Release) -> String {
        format!("{}-{}", self.settings.name, release.id)
    }

    /// Starts `release`'s container (unless it runs already) with `variables` as its
    /// environment besides the image's, and waits until it is healthy. A container that fails
    /// is removed, with its last lines of output in the error. `say` hears progress.
    pub fn start(
        &self,
        store: &ImageStore,
        release: &Release,
        variables: &BTreeMap<String, String>,
        say: &mut dyn FnMut(&str),
    ) -> Result<String, AppError> {
        let container = self.container_of(release);
        if self.is_running(&container) {
            say(&format!("container {container} is running already"));
            return Ok(container);
        }
        // A stopped container of an earlier attempt would block the name.
        self.remove(&container)?;
        let image_id = self.podman.load(store, &release.image_digest)?;
        let mut env = self.podman.podman_env.clone();
        let mut args: Vec<String> = vec![
            "run".into(),
            "--detach".into(),
            "--init".into(),
            "--pull=never".into(),
            format!("--name={container}"),
            format!("--label=upkeep.app={}", self.settings.name),
            format!("--label=upkeep.release={}", release.id),
        ];
        if let Some(network) = &self.settings.network {
            args.push(format!("--network={network}"));
            args.push(format!("--network-alias={}", self.settings.name));
        }
        for (name, value) in variables {
            // podman reads the value from its own environment: never on the command line.
            if !env.contains_key(name) {
                env.insert(name.clone(), value.clone());
                args.push(format!("--env={name}"));
            }
        }
        args.push(image_id);
        args.extend(self.settings.command.iter().flatten().cloned());
        let arguments: Vec<&str> = args.iter().map(String::as_str).collect();
        run_podman(&self.podman.podman, &env, &arguments, "run")?;
        say(&format!(
            "started container {container} of release {}",
            release.id
        ));
        if let Err(error) = self.wait_until_healthy(&container, release, say) {
            let _ = self.remove(&container);
            return Err(error);
        }
        Ok(container)
    }

    fn wait_until_healthy(
        &self,
        container: &str,
        release: &Release,
        say: &mut dyn FnMut(&str),
    ) -> Result<(), AppError> {
        let deadline = Instant::now() + self.settings.health_timeout;
        loop {
            if !self.is_running(container) {
                return Err(AppError::Exited {
                    container: container.to_string(),
                    release: release.id.clone(),
                    output: self.output_of(container),
                });
            }
            let Some(health) = &self.settings.health else {
                say(&format!(
                    "container {container} runs (no health command in upkeep.yml)"
                ));
                return Ok(());
            };
            let passed = run_podman(
                &self.podman.podman,
                &self.podman.podman_env,
                &["exec", container, "sh", "-c", health],
                "exec",
            )
            .is_ok();
            if passed {
                say(&format!("container {container} is healthy"));
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(AppError::Unhealthy {
                    container: container.to_string(),
                    release: release.id.clone(),
                    health: health.clone(),
                    timeout: upkeep_pipeline::project_file::format_duration(
                        self.settings.health_timeout,
                    ),
                    output: self.output_of(container),
                });
            }
            std::thread::sleep(HEALTH_POLL);
        }
    }

    /// Stops and removes every container of the application but `keep`'s; returns their
    /// names.
    pub fn stop_others(&self, keep: &Release) -> Result<Vec<String>, AppError> {
        let keep = self.container_of(keep);
        let listed = run_podman(
            &self.podman.podman,
            &self.podman.podman_env,
            &[
                "ps",
                "--all",
                "--filter",
                &format!("label=upkeep.app={}", self.settings.name),
                "--format",
                "{{.Names}}",
            ],
            "ps",
        )?;
        let mut stopped = Vec::new();
        for name in listed
            .lines()
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            if name != keep {
                self.remove(name)?;
                stopped.push(name.to_string());
            }
        }
        Ok(stopped)
    }

    /// Whether `container` exists and runs.
    pub fn is_running(&self, container: &str) -> bool {
        run_podman(
            &self.podman.podman,
            &self.podman.podman_env,
            &[
                "container",
                "inspect",
                "--format",
                "{{.State.Running}}",
                container,
            ],
            "inspect",
        )
        .is_ok_and(|state| state.trim() == "true")
    }

    fn remove(&self, container: &str) -> Result<(), AppError> {
        run_podman(
            &self.podman.podman,
            &self.podman.podman_env,
            &[
                "rm",
                "--force",
                "--ignore",
                &format!("--time={}", self.podman.settings.stop_grace.as_secs()),
                container,
            ],
            "rm",
        )?;
        Ok(())
    }

    /// The container's last lines of output, for an error message ("" when there are none).
    fn output_of(&self, container: &str) -> String {
        let output = run_podman(
            &self.podman.podman,
            &self.podman.podman_env,
            &["logs", "--tail", LOG_TAIL, container],
            "logs",
        )
        .unwrap_or_default();
        let output = output.trim_end();
        if output.is_empty() {
            String::new()
        } else {
            format!("; its last output:\n{output}")
        }
    }
}

/// Rolls `target` back as [`LocalTarget::rollback`] does, after starting the release it goes
/// back to and seeing it healthy; then the other containers stop. A release whose container
/// does not come up is not switched to: the serving one stays.
pub fn rollback(
    target: &LocalTarget,
    app: &AppContainers,
    store: &ImageStore,
    variables: &dyn Fn(&Release) -> BTreeMap<String, String>,
    say: &mut dyn FnMut(&str),
) -> Result<(Release, Release), AppError> {
    let (_, to) = target.rollback_plan()?;
    app.start(store, &to, &variables(&to), &mut *say)?;
    let (from, to) = target.rollback()?;
    for stopped in app.stop_others(&to)? {
        say(&format!("stopped container {stopped}"));
    }
    Ok((from, to))
}
