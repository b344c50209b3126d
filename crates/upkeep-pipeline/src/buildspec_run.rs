//! Runs a [`Buildspec`] the way `CodeBuild` does: all phases and commands in **one** shell
//! session (so `cd` and `export` carry over), as one step on the [executor](crate::executor).
//!
//! upkeep writes a driver script that runs each command with `command eval` and records its exit
//! status in a status file next to the script, then reads that file back to tell how every
//! command and phase ended. The rules:
//! - phases run in the order `install`, `pre_build`, `build`, `post_build`; a phase the buildspec does
//!   not define is left out of the outcome;
//! - within `commands` (and within `finally`), a failed command skips the rest of its list and
//!   fails the phase; `finally` runs whenever the phase ran, also after a failed command;
//! - a failed `install` or `pre_build` phase stops the build, whatever its `on-failure` says
//!   (the log says so); a failed `build` phase stops the build with `on-failure: ABORT` (the
//!   default) and goes on to `post_build` with `CONTINUE`; any failed phase fails the build;
//! - a command that ends the shell (`exit`, or a failure after `set -e`) ends the session: that
//!   command fails with the shell's exit code and the build fails;
//! - `env.exported-variables` are read when the session reaches its end and returned for later
//!   stages (a variable that is unset then is left out);
//! - `artifacts.files` are copied from the workspace when the build succeeded and the caller
//!   asked for artifacts.
//!
//! Environment precedence, lowest first: the buildspec's `env.variables` (defaults), then the
//! stage environment the caller gives (image environment, `SPRYKER_*`, exported variables of
//! earlier stages, host basics), then the buildspec's `env.secrets` (explicitly requested from
//! upkeep's secret store, so they win). Nothing else of upkeep's own environment gets in.
//!
//! With [`BuildspecRun::place`] the session runs inside a container of an image
//! ([`crate::container`]) or on a remote host over ssh ([`crate::ssh`]) instead of on this
//! machine; the rules above are the same.
//!
//! The log shows `[upkeep] Running command: <command>` before each command's output and
//! `[upkeep] Command did not exit successfully (exit status N)` after a failed one, plus a line
//! when a phase starts, ends or is skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::buildspec::{Artifacts, Buildspec, OnFailure, Phase, PhaseName};
use crate::container::{ContainerError, ContainerRun, find_program};
use crate::executor::{
    CancelToken, ExecError, StepCommand, StepOutcome, StepSpec, StepStatus, run_step,
};
use crate::log_store::{LineSink, LogLine, Stream};
use crate::mask::Masker;
use crate::ssh::{RemoteSession, SshError};

/// Everything needed to run one buildspec.
#[derive(Debug, Clone)]
pub struct BuildspecRun<'a> {
    /// The step's name, for messages.
    pub name: String,
    pub buildspec: &'a Buildspec,
    /// The session's working directory (a checkout or a release), where artifacts are collected
    /// from. Not a workspace: that word names the tenants of the server.
    pub work_dir: PathBuf,
    /// A directory of upkeep's own for the driver script, the status file and exported values.
    pub state_dir: PathBuf,
    /// The stage environment; see the module docs for precedence.
    pub env: BTreeMap<String, String>,
    /// upkeep's secret store: secret name -> value. Values used by the buildspec are masked.
    pub secrets: &'a BTreeMap<String, String>,
    pub timeout: Option<Duration>,
    /// Where to copy `artifacts.files` after a successful build; `None` collects nothing.
    pub artifacts_dir: Option<PathBuf>,
    /// Where the session's shell runs. Outside this machine, `work_dir` is only where artifacts
    /// are collected from.
    pub place: SessionPlace<'a>,
}

/// Where a buildspec session runs.
#[derive(Debug, Clone, Copy, Default)]
pub enum SessionPlace<'a> {
    /// A process on this machine, in `work_dir`.
    #[default]
    Here,
    /// A container of an image, with podman on this machine.
    Container(&'a ContainerRun),
    /// A shell on a remote host, over ssh.
    Remote(&'a RemoteSession),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildspecOutcome {
    /// The build's status: `Failed` when any phase failed.
    pub status: StepStatus,
    /// The shell session as a process.
    pub step: StepOutcome,
    /// The phases the buildspec defines, in running order.
    pub phases: Vec<PhaseOutcome>,
    /// `env.exported-variables` as set at the end of the session.
    pub exported: BTreeMap<String, String>,
    /// Copied artifact files, relative to the artifacts directory, sorted.
    pub artifacts: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseOutcome {
    pub name: PhaseName,
    pub status: PhaseStatus,
    /// `commands`, then `finally`.
    pub commands: Vec<CommandOutcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseStatus {
    Succeeded,
    Failed,
    /// An earlier phase stopped the build (or the session ended before it).
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    pub command: String,
    /// From the phase's `finally` list.
    pub finally: bool,
    /// `None` when it did not run, or the session was ended by a signal while it ran.
    pub exit_code: Option<i32>,
    pub status: CommandStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandStatus {
    Succeeded,
    Failed,
    /// An earlier command of its list failed, or its phase did not run.
    Skipped,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildspecRunError {
    #[error(
        "{}: env.secrets.{variable} names the secret `{secret}`, which upkeep's secret store does not have",
        buildspec.display()
    )]
    MissingSecret {
        buildspec: PathBuf,
        variable: String,
        secret: String,
    },
    #[error("cannot use the state directory of the buildspec session: {0}")]
    State(#[from] io::Error),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error(transparent)]
    Ssh(#[from] SshError),
}

impl upkeep_hint::Hint for BuildspecRunError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::MissingSecret { .. } => Some(
                "provide it in the environment of upkeep and list it under the environment's `secrets` in upkeep.yml"
                    .to_string(),
            ),
            Self::Container(error) => error.hint(),
            Self::Ssh(error) => error.hint(),
            Self::State(_) | Self::Exec(_) => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("artifacts: `{pattern}` must be relative to the workspace and stay inside it")]
    OutsideWorkspace { pattern: String },
    #[error("artifacts: no file matches `{pattern}` in {}", base.display())]
    NoMatch { pattern: String, base: PathBuf },
    #[error("artifacts: `{first}` and `{second}` would both be copied to `{}` (discard-paths)", target.display())]
    Collision {
        first: String,
        second: String,
        target: PathBuf,
    },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Runs the buildspec in one shell session and tells how every phase and command ended.
pub fn run_buildspec(
    run: &BuildspecRun<'_>,
    masker: &Masker,
    sink: &mut dyn LineSink,
    cancel: &CancelToken,
) -> Result<BuildspecOutcome, BuildspecRunError> {
    let spec = run.buildspec;
    let mut env: BTreeMap<String, String> = spec
        .env
        .variables
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    env.extend(
        run.env
            .iter()
            .map(|(name, value)| (name.clone(), value.clone())),
    );
    let mut secret_values = Vec::new();
    for (variable, secret) in &spec.env.secrets {
        let value = run
            .secrets
            .get(secret)
            .ok_or_else(|| BuildspecRunError::MissingSecret {
                buildspec: spec.source.clone(),
                variable: variable.clone(),
                secret: secret.clone(),
            })?;
        secret_values.push(value.as_str());
        env.insert(variable.clone(), value.clone());
    }
    let masker = masker.extended(secret_values);

    let state_dir = std::path::absolute(&run.state_dir)?;
    let files = SessionFiles::prepare(&state_dir)?;
    // A remote driver names the files where they are on the host.
    let driver = match run.place {
        SessionPlace::Remote(remote) => {
            driver_script(spec, &SessionFiles::at(Path::new(remote.session_dir())))
        }
        SessionPlace::Here | SessionPlace::Container(_) => driver_script(spec, &files),
    };
    let step = run_session(run, &files, &state_dir, &driver, env, &masker, sink, cancel)?;

    let report = StatusReport::read(&files.status)?;
    let phases = phase_outcomes(spec, &report, step.exit_code);
    let mut status = match step.status {
        StepStatus::TimedOut | StepStatus::Cancelled => step.status,
        _ if !report.done => {
            write_system(
                sink,
                &run.name,
                "upkeep: the shell session ended inside a command (exit, or set -e); the commands after it did not run",
            )?;
            StepStatus::Failed
        }
        _ if step.status == StepStatus::Failed
            || phases
                .iter()
                .any(|phase| phase.status == PhaseStatus::Failed) =>
        {
            StepStatus::Failed
        }
        _ => StepStatus::Succeeded,
    };
    let exported = if report.done {
        read_exported(spec, &files)?
    } else {
        BTreeMap::new()
    };

    let mut artifacts = Vec::new();
    if let (StepStatus::Succeeded, Some(spec_artifacts), Some(destination)) =
        (status, &spec.artifacts, &run.artifacts_dir)
    {
        match collect_artifacts(spec_artifacts, &run.work_dir, destination) {
            Ok(copied) => artifacts = copied,
            Err(error) => {
                write_system(sink, &run.name, &format!("upkeep: {error}"))?;
                status = StepStatus::Failed;
            }
        }
    }
    Ok(BuildspecOutcome {
        status,
        step,
        phases,
        exported,
        artifacts,
    })
}

/// Runs the driver script as one process: on this machine, in a container of the image, or on
/// a remote host (whose status and exported values are then fetched into `files`).
#[expect(
    clippy::too_many_arguments,
    reason = "one session's parts, passed once"
)]
fn run_session(
    run: &BuildspecRun<'_>,
    files: &SessionFiles,
    state_dir: &Path,
    driver: &str,
    env: BTreeMap<String, String>,
    masker: &Masker,
    sink: &mut dyn LineSink,
    cancel: &CancelToken,
) -> Result<StepOutcome, BuildspecRunError> {
    match run.place {
        SessionPlace::Remote(remote) => {
            let step = run_remote(run, remote, driver, &env, masker, sink, cancel)?;
            remote.fetch(state_dir)?;
            Ok(step)
        }
        SessionPlace::Here => {
            fs_err::write(&files.script, driver)?;
            let shell = match &run.buildspec.env.shell {
                Some(shell) => shell.program().to_string(),
                None if has_bash(env.get("PATH")) => "bash".to_string(),
                None => "sh".to_string(),
            };
            let step_spec = StepSpec {
                name: run.name.clone(),
                command: StepCommand::Exec {
                    program: shell,
                    args: vec![files.script.display().to_string()],
                },
                cwd: run.work_dir.clone(),
                env,
                timeout: run.timeout,
                stdin: None,
                stopper: None,
            };
            Ok(run_step(&step_spec, masker, sink, cancel)?)
        }
        SessionPlace::Container(container) => {
            fs_err::write(&files.script, driver)?;
            // The image's shell is unknown from here: `sh` is in every image that can run one.
            let shell = run
                .buildspec
                .env
                .shell
                .as_ref()
                .map_or("sh", |shell| shell.program());
            let podman = container.step(shell, &files.script, state_dir, &env);
            let step_spec = StepSpec {
                name: run.name.clone(),
                command: podman.command,
                cwd: state_dir.to_path_buf(),
                env: podman.env,
                timeout: run.timeout,
                stdin: None,
                stopper: Some(podman.stopper),
            };
            let step = run_step(&step_spec, masker, sink, cancel);
            // No container outlives its session. `--rm` removed it when the session ended by
            // itself; otherwise (stopped, or podman's own failure: 125 to 127) it may be there.
            let ended_by_itself = step.as_ref().is_ok_and(|outcome| {
                matches!(outcome.status, StepStatus::Succeeded | StepStatus::Failed)
                    && outcome
                        .exit_code
                        .is_some_and(|code| !(125..=127).contains(&code))
            });
            if !ended_by_itself && let Err(error) = container.remove() {
                write_system(sink, &run.name, &format!("upkeep: {error}"))?;
            }
            Ok(step?)
        }
    }
}

/// Runs the driver script on a remote host: one `ssh` process, the variables and the script on
/// its standard input.
fn run_remote(
    run: &BuildspecRun<'_>,
    remote: &RemoteSession,
    driver: &str,
    env: &BTreeMap<String, String>,
    masker: &Masker,
    sink: &mut dyn LineSink,
    cancel: &CancelToken,
) -> Result<StepOutcome, BuildspecRunError> {
    let (ssh, left_out) = remote.step(driver, env);
    if !left_out.is_empty() {
        write_system(
            sink,
            &run.name,
            &format!(
                "upkeep: left out of the remote session, as they cannot be shell variables: {}",
                left_out.join(", ")
            ),
        )?;
    }
    let step_spec = StepSpec {
        name: run.name.clone(),
        command: ssh.command,
        cwd: std::env::temp_dir(),
        env: ssh.env,
        timeout: run.timeout,
        stdin: Some(ssh.stdin),
        stopper: Some(ssh.stopper),
    };
    Ok(run_step(&step_spec, masker, sink, cancel)?)
}

/// Whether `bash` is on the session's `PATH` (upkeep's own when the session has none).
fn has_bash(path: Option<&String>) -> bool {
    let fallback = std::env::var("PATH").unwrap_or_default();
    find_program("bash", Some(path.unwrap_or(&fallback))).is_some()
}

fn write_system(sink: &mut dyn LineSink, step: &str, text: &str) -> Result<(), BuildspecRunError> {
    sink.write_line(&LogLine::now(Stream::System, text))
        .map_err(|source| {
            ExecError::Log {
                step: step.to_string(),
                source,
            }
            .into()
        })
}

/// The files of one session inside the state directory.
struct SessionFiles {
    script: PathBuf,
    status: PathBuf,
    exported: PathBuf,
}

impl SessionFiles {
    /// The files' names in `state_dir`, which may be on another host.
    fn at(state_dir: &Path) -> Self {
        Self {
            script: state_dir.join("buildspec-session.sh"),
            status: state_dir.join("buildspec-status"),
            exported: state_dir.join("exported"),
        }
    }

    /// Starts from a clean slate, so a re-run never reads an earlier session's status.
    fn prepare(state_dir: &Path) -> io::Result<Self> {
        let files = Self::at(state_dir);
        if files.exported.exists() {
            fs_err::remove_dir_all(&files.exported)?;
        }
        fs_err::create_dir_all(&files.exported)?;
        fs_err::write(&files.status, "")?;
        Ok(files)
    }
}

/// The driver script: see the module docs for what it does.
fn driver_script(spec: &Buildspec, files: &SessionFiles) -> String {
    let header = format!(
        "# Generated by upkeep from {}: every phase in one shell session.\n\
         __upkeep_stop=0\n\
         __upkeep_failed=0\n\
         __upkeep_status() {{ printf '%s\\n' \"$*\" >> {}; }}\n",
        spec.source.display().to_string().replace('\n', " "),
        quote(&files.status.display().to_string()),
    );
    let phases: String = spec
        .phases
        .defined()
        .map(|(name, phase)| phase_script(name, phase))
        .collect();
    // The names were validated as identifiers, so they can stand unquoted.
    let exports = spec
        .env
        .exported_variables
        .iter()
        .map(|variable| {
            let file = quote(&files.exported.join(variable).display().to_string());
            format!(
                "if [ \"${{{variable}+set}}\" = set ]; then printf '%s' \"${variable}\" > {file}; fi\n"
            )
        })
        .collect::<Vec<_>>()
        .concat();
    format!("{header}{phases}__upkeep_status done\n{exports}exit \"$__upkeep_failed\"\n")
}

fn phase_script(name: PhaseName, phase: &Phase) -> String {
    let upper = name.as_str().to_uppercase();
    let commands = command_list(name, "commands", &phase.commands, "__upkeep_phase_failed");
    let finally = command_list(name, "finally", &phase.finally, "__upkeep_finally_failed");
    // Whether a failure stops the build: install and pre_build always (the phase transitions of
    // `CodeBuild`), build unless `on-failure: CONTINUE`, post_build has nothing after it.
    let stop = match (name, phase.on_failure) {
        (PhaseName::Install | PhaseName::PreBuild, OnFailure::Continue) => format!(
            "__upkeep_stop=1\necho '[upkeep] on-failure: CONTINUE does not apply to {upper}: a failed {upper} phase stops the build'\n"
        ),
        (PhaseName::Build, OnFailure::Continue) | (PhaseName::PostBuild, _) => String::new(),
        _ => "__upkeep_stop=1\n".to_string(),
    };
    format!(
        "if [ \"$__upkeep_stop\" = 0 ]; then\n\
         __upkeep_status phase {name}\n\
         echo '[upkeep] Entering phase {upper}'\n\
         {commands}\
         {finally}\
         if [ \"$__upkeep_phase_failed\" = 0 ] && [ \"$__upkeep_finally_failed\" = 0 ]; then\n\
         echo '[upkeep] Phase complete: {upper} State: SUCCEEDED'\n\
         else\n\
         __upkeep_failed=1\n\
         echo '[upkeep] Phase complete: {upper} State: FAILED'\n\
         {stop}\
         fi\n\
         else\n\
         echo '[upkeep] Skipping phase {upper}: an earlier phase failed'\n\
         fi\n"
    )
}

/// One list of a phase (`commands` or `finally`): each command runs while `flag` is 0, and a
/// failed one sets it.
fn command_list(name: PhaseName, block: &str, commands: &[String], flag: &str) -> String {
    let runs = commands
        .iter()
        .enumerate()
        .map(|(index, command)| {
            format!(
                "if [ \"${flag}\" = 0 ]; then\n\
                 printf '%s\\n' {shown}\n\
                 __upkeep_status start {name} {block} {index}\n\
                 command eval {command}\n\
                 __upkeep_rc=$?\n\
                 __upkeep_status end {name} {block} {index} \"$__upkeep_rc\"\n\
                 if [ \"$__upkeep_rc\" != 0 ]; then\n\
                 {flag}=1\n\
                 echo \"[upkeep] Command did not exit successfully (exit status $__upkeep_rc)\"\n\
                 fi\n\
                 fi\n",
                shown = shown_command(command),
                command = quote(command),
            )
        })
        .collect::<Vec<_>>()
        .concat();
    format!("{flag}=0\n{runs}")
}

/// The `printf` arguments that announce a command: its first line after `Running command:`, and
/// every further line of a multi-line command prefixed too, so each log line says it is upkeep's.
fn shown_command(command: &str) -> String {
    if command.trim().is_empty() {
        return quote("[upkeep] Running command:");
    }
    command
        .trim_end()
        .lines()
        .enumerate()
        .map(|(index, line)| {
            let prefix = if index == 0 {
                "[upkeep] Running command: "
            } else {
                "[upkeep]   "
            };
            quote(&format!("{prefix}{line}"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Single-quotes a string for a POSIX shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// What the status file says.
#[derive(Default)]
struct StatusReport {
    phases: BTreeSet<String>,
    started: BTreeSet<(String, String, usize)>,
    ended: BTreeMap<(String, String, usize), i32>,
    /// The session reached its end.
    done: bool,
}

impl StatusReport {
    fn read(path: &Path) -> io::Result<Self> {
        let mut report = Self::default();
        for line in fs_err::read_to_string(path)?.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            match words.as_slice() {
                ["phase", phase] => {
                    report.phases.insert((*phase).to_string());
                }
                ["start", phase, block, index] => {
                    if let Ok(index) = index.parse() {
                        report
                            .started
                            .insert(((*phase).to_string(), (*block).to_string(), index));
                    }
                }
                ["end", phase, block, index, code] => {
                    if let (Ok(index), Ok(code)) = (index.parse(), code.parse()) {
                        report
                            .ended
                            .insert(((*phase).to_string(), (*block).to_string(), index), code);
                    }
                }
                ["done"] => report.done = true,
                // A command may have written here itself; it is not ours to judge.
                _ => {}
            }
        }
        Ok(report)
    }
}

fn phase_outcomes(
    spec: &Buildspec,
    report: &StatusReport,
    session_exit_code: Option<i32>,
) -> Vec<PhaseOutcome> {
    spec.phases
        .defined()
        .map(|(name, phase)| {
            let ran = report.phases.contains(name.as_str());
            let blocks = [("commands", &phase.commands), ("finally", &phase.finally)];
            let commands: Vec<CommandOutcome> = blocks
                .into_iter()
                .flat_map(|(block, commands)| {
                    commands.iter().enumerate().map(move |(index, command)| {
                        let key = (name.as_str().to_string(), block.to_string(), index);
                        let (exit_code, status) = match report.ended.get(&key) {
                            Some(0) => (Some(0), CommandStatus::Succeeded),
                            Some(code) => (Some(*code), CommandStatus::Failed),
                            // Started but never ended: the session ended inside it.
                            None if report.started.contains(&key) => {
                                (session_exit_code, CommandStatus::Failed)
                            }
                            None => (None, CommandStatus::Skipped),
                        };
                        CommandOutcome {
                            command: command.clone(),
                            finally: block == "finally",
                            exit_code,
                            status,
                        }
                    })
                })
                .collect();
            let status = if !ran {
                PhaseStatus::Skipped
            } else if commands
                .iter()
                .any(|command| command.status == CommandStatus::Failed)
            {
                PhaseStatus::Failed
            } else {
                PhaseStatus::Succeeded
            };
            PhaseOutcome {
                name,
                status,
                commands,
            }
        })
        .collect()
}

fn read_exported(spec: &Buildspec, files: &SessionFiles) -> io::Result<BTreeMap<String, String>> {
    let mut exported = BTreeMap::new();
    for variable in &spec.env.exported_variables {
        let path = files.exported.join(variable);
        if path.exists() {
            let value = fs_err::read(&path)?;
            exported.insert(
                variable.clone(),
                String::from_utf8_lossy(&value).into_owned(),
            );
        }
    }
    Ok(exported)
}

/// True when `program` is a file in one of the directories of `path` (`PATH` syntax).
/// Copies the files matching `artifacts.files` from the workspace (or its `base-directory`) to
/// `destination`, keeping their paths relative to the base unless `discard-paths` is set.
/// Globs: `**` is any number of directories, `*` any characters but `/` (dot files included),
/// `?` one such character. Only regular files are copied; symbolic links are not followed.
/// A glob that matches nothing is an error, as in `CodeBuild`.
pub fn collect_artifacts(
    artifacts: &Artifacts,
    workspace: &Path,
    destination: &Path,
) -> Result<Vec<PathBuf>, ArtifactError> {
    let base = match &artifacts.base_directory {
        Some(base) => {
            check_relative(base)?;
            workspace.join(base)
        }
        None => workspace.to_path_buf(),
    };
    let mut files = Vec::new();
    list_files(&base, "", &mut files)?;
    let mut chosen: BTreeMap<PathBuf, String> = BTreeMap::new();
    for pattern in &artifacts.files {
        check_relative(pattern)?;
        let pattern = pattern.trim_start_matches("./");
        let mut matched = false;
        for file in files.iter().filter(|file| glob_matches(pattern, file)) {
            matched = true;
            let target = if artifacts.discard_paths == Some(true) {
                PathBuf::from(file.rsplit('/').next().unwrap_or(file))
            } else {
                PathBuf::from(file)
            };
            match chosen.get(&target) {
                Some(first) if first != file => {
                    return Err(ArtifactError::Collision {
                        first: first.clone(),
                        second: file.clone(),
                        target,
                    });
                }
                _ => {
                    chosen.insert(target, file.clone());
                }
            }
        }
        if !matched {
            return Err(ArtifactError::NoMatch {
                pattern: pattern.to_string(),
                base,
            });
        }
    }
    for (target, file) in &chosen {
        let target = destination.join(target);
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::copy(base.join(file), &target)?;
    }
    Ok(chosen.into_keys().collect())
}

fn check_relative(pattern: &str) -> Result<(), ArtifactError> {
    if pattern.starts_with('/') || pattern.split('/').any(|segment| segment == "..") {
        return Err(ArtifactError::OutsideWorkspace {
            pattern: pattern.to_string(),
        });
    }
    Ok(())
}

/// Regular files below `dir`, as `/`-separated paths relative to the starting directory.
fn list_files(dir: &Path, prefix: &str, files: &mut Vec<String>) -> io::Result<()> {
    let mut entries: Vec<_> = fs_err::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(fs_err::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_dir() {
            list_files(&entry.path(), &relative, files)?;
        } else if kind.is_file() {
            files.push(relative);
        }
    }
    Ok(())
}

fn glob_matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    let path: Vec<&str> = path.split('/').collect();
    segments_match(&pattern, &path)
}

fn segments_match(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| segments_match(rest, &path[skip..])),
        Some((first, rest)) => path.split_first().is_some_and(|(name, path_rest)| {
            name_matches(first, name) && segments_match(rest, path_rest)
        }),
    }
}

/// `*` and `?` within one path segment.
fn name_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    // Where the last `*` was, and how much of the name it has taken so far.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some('?') => {
                p += 1;
                n += 1;
            }
            Some(c) if *c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project_file::Stage;

    struct Fixture {
        dir: tempfile::TempDir,
        secrets: BTreeMap<String, String>,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            fs_err::create_dir_all(dir.path().join("workspace")).expect("workspace");
            Self {
                dir,
                secrets: BTreeMap::new(),
            }
        }

        fn workspace(&self) -> PathBuf {
            self.dir.path().join("workspace")
        }

        /// A run of `spec` in the fixture's workspace with an empty environment, no time limit
        /// and no artifacts.
        fn bare_run<'a>(&'a self, spec: &'a Buildspec) -> BuildspecRun<'a> {
            BuildspecRun {
                name: "test".to_string(),
                buildspec: spec,
                work_dir: self.workspace(),
                state_dir: self.dir.path().join("state"),
                env: BTreeMap::new(),
                secrets: &self.secrets,
                timeout: None,
                artifacts_dir: None,
                place: SessionPlace::Here,
            }
        }

        fn run_with(
            &self,
            spec: &Buildspec,
            env: &[(&str, &str)],
        ) -> (BuildspecOutcome, Vec<LogLine>) {
            let mut environment = BTreeMap::from([(
                "PATH".to_string(),
                "/usr/local/bin:/usr/bin:/bin".to_string(),
            )]);
            environment.extend(
                env.iter()
                    .map(|(name, value)| ((*name).to_string(), (*value).to_string())),
            );
            let run = BuildspecRun {
                env: environment,
                timeout: Some(Duration::from_mins(1)),
                artifacts_dir: Some(self.dir.path().join("artifacts")),
                ..self.bare_run(spec)
            };
            let mut lines = Vec::new();
            let outcome = run_buildspec(&run, &Masker::default(), &mut lines, &CancelToken::new())
                .expect("run");
            (outcome, lines)
        }

        fn run(&self, yaml: &str) -> (BuildspecOutcome, Vec<LogLine>) {
            self.run_with(&parse(yaml), &[])
        }
    }

    fn parse(yaml: &str) -> Buildspec {
        Buildspec::parse(yaml, Path::new("buildspec.yml")).expect("valid buildspec")
    }

    fn stdout(lines: &[LogLine]) -> Vec<&str> {
        lines
            .iter()
            .filter(|line| line.stream == Stream::Stdout)
            .map(|line| line.text.as_str())
            .collect()
    }

    /// Output lines that are not upkeep's own markers.
    fn output(lines: &[LogLine]) -> Vec<&str> {
        stdout(lines)
            .into_iter()
            .filter(|line| !line.starts_with("[upkeep]"))
            .collect()
    }

    /// Phase name, phase status, and (status, exit code) of each command.
    type Statuses = Vec<(&'static str, PhaseStatus, Vec<(CommandStatus, Option<i32>)>)>;

    fn statuses(outcome: &BuildspecOutcome) -> Statuses {
        outcome
            .phases
            .iter()
            .map(|phase| {
                let commands = phase
                    .commands
                    .iter()
                    .map(|command| (command.status, command.exit_code))
                    .collect();
                (phase.name.as_str(), phase.status, commands)
            })
            .collect()
    }

    fn phase_statuses(outcome: &BuildspecOutcome) -> Vec<PhaseStatus> {
        outcome.phases.iter().map(|phase| phase.status).collect()
    }

    /// Writes an executable shell script standing in for a program.
    fn write_script(path: &Path, script: &str) {
        use std::os::unix::fs::PermissionsExt as _;
        fs_err::write(path, script).expect("script");
        fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    use CommandStatus::{Failed as CmdFailed, Skipped as CmdSkipped, Succeeded as CmdOk};

    #[test]
    fn one_session_carries_cd_and_export_across_phases() {
        let fixture = Fixture::new();
        fs_err::create_dir_all(fixture.workspace().join("sub")).expect("sub");
        let (outcome, lines) = fixture.run(
            "version: 0.2
phases:
  install:
    commands:
      - cd sub
      - export GREETING=hello
      - LOCAL=plain
  build:
    commands:
      - echo \"$(basename \"$PWD\") $GREETING $LOCAL\"
",
        );
        assert_eq!(outcome.status, StepStatus::Succeeded);
        assert_eq!(output(&lines), ["sub hello plain"]);
        assert_eq!(
            statuses(&outcome),
            [
                ("install", PhaseStatus::Succeeded, vec![(CmdOk, Some(0)); 3]),
                ("build", PhaseStatus::Succeeded, vec![(CmdOk, Some(0))]),
            ]
        );
    }

    #[test]
    fn phases_run_in_order_whatever_the_file_order() {
        let fixture = Fixture::new();
        let (outcome, lines) = fixture.run(
            "version: 0.2
phases:
  post_build: {commands: [echo 4]}
  build: {commands: [echo 3]}
  pre_build: {commands: [echo 2]}
  install: {commands: [echo 1]}
",
        );
        assert_eq!(outcome.status, StepStatus::Succeeded);
        assert_eq!(output(&lines), ["1", "2", "3", "4"]);
    }

    #[test]
    fn logs_each_command_and_failures() {
        let fixture = Fixture::new();
        let (outcome, lines) = fixture.run("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n      - sh -c 'exit 3'\n");
        assert_eq!(outcome.status, StepStatus::Failed);
        assert_eq!(
            stdout(&lines),
            [
                "[upkeep] Entering phase BUILD",
                "[upkeep] Running command: echo hi",
                "hi",
                "[upkeep] Running command: sh -c 'exit 3'",
                "[upkeep] Command did not exit successfully (exit status 3)",
                "[upkeep] Phase complete: BUILD State: FAILED",
            ]
        );
    }

    #[test]
    fn a_failed_command_skips_the_rest_of_its_phase_but_finally_runs() {
        let fixture = Fixture::new();
        let (outcome, lines) = fixture.run(
            "version: 0.2
phases:
  build:
    commands:
      - echo one
      - exit_code_5() { return 5; }; exit_code_5
      - echo never
    finally:
      - echo cleanup
      - echo more cleanup
  post_build:
    commands: [echo post]
",
        );
        assert_eq!(outcome.status, StepStatus::Failed);
        assert_eq!(output(&lines), ["one", "cleanup", "more cleanup"]);
        assert_eq!(
            statuses(&outcome),
            [
                (
                    "build",
                    PhaseStatus::Failed,
                    vec![
                        (CmdOk, Some(0)),
                        (CmdFailed, Some(5)),
                        (CmdSkipped, None),
                        (CmdOk, Some(0)),
                        (CmdOk, Some(0))
                    ]
                ),
                ("post_build", PhaseStatus::Skipped, vec![(CmdSkipped, None)]),
            ]
        );
        assert!(outcome.phases[0].commands[3].finally);
        assert!(!outcome.phases[0].commands[2].finally);
    }

    #[test]
    fn a_failed_finally_command_fails_the_phase() {
        let fixture = Fixture::new();
        let (outcome, lines) = fixture.run("version: 0.2\nphases:\n  build:\n    commands: [echo ok]\n    finally: [false, echo skipped]\n");
        assert_eq!(outcome.status, StepStatus::Failed);
        assert_eq!(output(&lines), ["ok"]);
        assert_eq!(
            statuses(&outcome),
            [(
                "build",
                PhaseStatus::Failed,
                vec![(CmdOk, Some(0)), (CmdFailed, Some(1)), (CmdSkipped, None)]
            )]
        );
    }

    #[test]
    fn a_failed_install_phase_stops_the_build_even_with_continue() {
        let fixture = Fixture::new();
        let (outcome, lines) = fixture.run(
            "version: 0.2
phases:
  install:
    commands: [false]
    on-failure: CONTINUE
  pre_build: {commands: [echo pre]}
  build: {commands: [echo build]}
",
        );
        assert_eq!(outcome.status, StepStatus::Failed);
        assert_eq!(output(&lines), Vec::<&str>::new());
        assert!(stdout(&lines).contains(&"[upkeep] on-failure: CONTINUE does not apply to INSTALL: a failed INSTALL phase stops the build"));
        assert!(stdout(&lines).contains(&"[upkeep] Skipping phase BUILD: an earlier phase failed"));
        assert_eq!(
            phase_statuses(&outcome),
            [
                PhaseStatus::Failed,
                PhaseStatus::Skipped,
                PhaseStatus::Skipped
            ]
        );
    }

    #[test]
    fn a_failed_pre_build_phase_stops_the_build() {
        let fixture = Fixture::new();
        let (outcome, lines) = fixture.run("version: 0.2\nphases:\n  pre_build: {commands: [false]}\n  build: {commands: [echo build]}\n  post_build: {commands: [echo post]}\n");
        assert_eq!(outcome.status, StepStatus::Failed);
        assert_eq!(output(&lines), Vec::<&str>::new());
        assert_eq!(
            phase_statuses(&outcome),
            [
                PhaseStatus::Failed,
                PhaseStatus::Skipped,
                PhaseStatus::Skipped
            ]
        );
    }

    #[test]
    fn a_failed_build_phase_goes_on_to_post_build_only_with_continue() {
        let fixture = Fixture::new();
        let continuing = "version: 0.2\nphases:\n  build:\n    commands: [false]\n    on-failure: CONTINUE\n  post_build: {commands: [echo post]}\n";
        let (outcome, lines) = fixture.run(continuing);
        assert_eq!(outcome.status, StepStatus::Failed);
        assert_eq!(output(&lines), ["post"]);
        assert_eq!(
            phase_statuses(&outcome),
            [PhaseStatus::Failed, PhaseStatus::Succeeded]
        );

        let (outcome, lines) = fixture.run(&continuing.replace("CONTINUE", "ABORT"));
        assert_eq!(outcome.status, StepStatus::Failed);
        assert_eq!(output(&lines), Vec::<&str>::new());
        assert_eq!(
            phase_statuses(&outcome),
            [PhaseStatus::Failed, PhaseStatus::Skipped]
        );
    }

    #[test]
    fn exit_inside_a_command_ends_the_session_and_fails_the_build() {
        let fixture = Fixture::new();
        let (outcome, lines) = fixture.run(
            "version: 0.2
env:
  exported-variables: [X]
phases:
  build:
    commands: [export X=1, exit 7, echo never]
  post_build:
    commands: [echo never]
",
        );
        assert_eq!(outcome.status, StepStatus::Failed);
        assert_eq!(outcome.step.exit_code, Some(7));
        assert_eq!(output(&lines), Vec::<&str>::new());
        assert_eq!(
            statuses(&outcome),
            [
                (
                    "build",
                    PhaseStatus::Failed,
                    vec![(CmdOk, Some(0)), (CmdFailed, Some(7)), (CmdSkipped, None)]
                ),
                ("post_build", PhaseStatus::Skipped, vec![(CmdSkipped, None)]),
            ]
        );
        let system: Vec<_> = lines
            .iter()
            .filter(|line| line.stream == Stream::System)
            .map(|line| line.text.as_str())
            .collect();
        assert_eq!(
            system,
            [
                "upkeep: the shell session ended inside a command (exit, or set -e); the commands after it did not run"
            ]
        );
        assert!(outcome.exported.is_empty());
    }

    #[test]
    fn a_syntax_error_in_a_command_is_a_failed_command_not_a_dead_session() {
        let fixture = Fixture::new();
        let spec = parse(
            "version: 0.2\nenv:\n  shell: sh\nphases:\n  build:\n    commands: ['if then']\n    finally: [echo still here]\n",
        );
        let (outcome, lines) = fixture.run_with(&spec, &[]);
        assert_eq!(outcome.status, StepStatus::Failed);
        assert_eq!(output(&lines), ["still here"]);
        assert_eq!(
            statuses(&outcome),
            [(
                "build",
                PhaseStatus::Failed,
                vec![(CmdFailed, Some(2)), (CmdOk, Some(0))]
            )]
        );
    }

    #[test]
    fn exported_variables_are_read_at_the_end() {
        let fixture = Fixture::new();
        let (outcome, _) = fixture.run(
            "version: 0.2
env:
  exported-variables: [IMAGE_TAG, MULTI, EMPTY, NEVER_SET]
phases:
  build:
    commands:
      - export IMAGE_TAG=v1
      - |
        MULTI='a b
        c'
      - EMPTY=
  post_build:
    commands: [IMAGE_TAG=v2]
",
        );
        assert_eq!(outcome.status, StepStatus::Succeeded);
        let exported: Vec<_> = outcome
            .exported
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            exported,
            [("EMPTY", ""), ("IMAGE_TAG", "v2"), ("MULTI", "a b\nc")]
        );
    }

    #[test]
    fn the_stage_environment_wins_over_buildspec_variables_and_secrets_win_over_both() {
        let mut fixture = Fixture::new();
        fixture
            .secrets
            .insert("db-password".to_string(), "s3cr3t-value".to_string());
        let spec = parse(
            "version: 0.2
env:
  variables:
    FROM_SPEC: spec
    OVERRIDDEN: spec
    DB_PASSWORD: spec
  secrets:
    DB_PASSWORD: db-password
phases:
  build:
    commands:
      - echo \"$FROM_SPEC $OVERRIDDEN $FROM_STAGE\"
      - echo \"password=$DB_PASSWORD\"
      - echo \"${HOME-no HOME from the host}\"
",
        );
        let (outcome, lines) = fixture.run_with(
            &spec,
            &[
                ("OVERRIDDEN", "stage"),
                ("FROM_STAGE", "stage2"),
                ("DB_PASSWORD", "stage"),
            ],
        );
        assert_eq!(outcome.status, StepStatus::Succeeded);
        // The secret is masked even though the caller's masker did not know it.
        assert_eq!(
            output(&lines),
            ["spec stage stage2", "password=***", "no HOME from the host"]
        );
    }

    #[test]
    fn a_missing_secret_is_an_error_before_anything_runs() {
        let fixture = Fixture::new();
        let spec = parse(
            "version: 0.2\nenv:\n  secrets:\n    TOKEN: api-token\nphases:\n  build: {commands: [touch ran]}\n",
        );
        let error = run_buildspec(
            &fixture.bare_run(&spec),
            &Masker::default(),
            &mut Vec::new(),
            &CancelToken::new(),
        )
        .expect_err("missing");
        assert_eq!(
            error.to_string(),
            "buildspec.yml: env.secrets.TOKEN names the secret `api-token`, which upkeep's secret store does not have"
        );
        assert_eq!(
            upkeep_hint::Hint::hint(&error).as_deref(),
            Some(
                "provide it in the environment of upkeep and list it under the environment's `secrets` in upkeep.yml"
            )
        );
        assert!(!fixture.workspace().join("ran").exists());
    }

    #[test]
    fn honours_env_shell() {
        let fixture = Fixture::new();
        let (outcome, lines) = fixture.run("version: 0.2\nenv:\n  shell: bash\nphases:\n  build:\n    commands: ['echo \"${BASH_VERSION:+bash}\"']\n");
        assert_eq!(outcome.status, StepStatus::Succeeded);
        assert_eq!(output(&lines), ["bash"]);
        let (_, lines) = fixture.run("version: 0.2\nenv:\n  shell: /bin/sh\nphases:\n  build:\n    commands: ['echo \"${BASH_VERSION:-not bash}\"']\n");
        assert_eq!(output(&lines), ["not bash"]);
        // Without `env.shell`, bash is used when the session's PATH has it.
        let (_, lines) = fixture.run(
            "version: 0.2\nphases:\n  build:\n    commands: ['echo \"${BASH_VERSION:+bash}\"']\n",
        );
        assert_eq!(output(&lines), ["bash"]);
    }

    #[test]
    fn commands_with_quotes_and_several_lines_run_as_written() {
        let fixture = Fixture::new();
        let (outcome, lines) = fixture.run(
            "version: 0.2
phases:
  build:
    commands:
      - echo 'single '\"'\"'quoted'\"'\"''
      - |
        for word in a b; do
          echo \"$word\"
        done
",
        );
        assert_eq!(outcome.status, StepStatus::Succeeded);
        assert_eq!(output(&lines), ["single 'quoted'", "a", "b"]);
        let announced: Vec<_> = stdout(&lines)
            .into_iter()
            .filter(|line| line.starts_with("[upkeep] "))
            .collect();
        assert_eq!(
            announced[2..5],
            [
                "[upkeep] Running command: for word in a b; do",
                "[upkeep]     echo \"$word\"",
                "[upkeep]   done"
            ]
        );
    }

    #[test]
    fn a_timeout_stops_the_session() {
        let fixture = Fixture::new();
        let spec = parse(
            "version: 0.2\nphases:\n  build:\n    commands: [sleep 30]\n  post_build:\n    commands: [echo never]\n",
        );
        let run = BuildspecRun {
            env: BTreeMap::from([("PATH".to_string(), "/usr/bin:/bin".to_string())]),
            timeout: Some(Duration::from_millis(300)),
            ..fixture.bare_run(&spec)
        };
        let outcome = run_buildspec(
            &run,
            &Masker::default(),
            &mut Vec::new(),
            &CancelToken::new(),
        )
        .expect("run");
        assert_eq!(outcome.status, StepStatus::TimedOut);
        assert_eq!(
            statuses(&outcome),
            [
                ("build", PhaseStatus::Failed, vec![(CmdFailed, None)]),
                ("post_build", PhaseStatus::Skipped, vec![(CmdSkipped, None)]),
            ]
        );
    }

    #[test]
    fn the_default_deploy_buildspecs_run_the_hook_or_its_default() {
        let fixture = Fixture::new();
        // A stand-in for `vendor/bin/install` that shows its arguments.
        let bin = fixture.workspace().join("vendor/bin");
        fs_err::create_dir_all(&bin).expect("bin");
        write_script(&bin.join("install"), "#!/bin/sh\necho \"install $*\"\n");

        let run = |stage, env: &[(&str, &str)]| {
            let (outcome, lines) = fixture.run_with(&Buildspec::default_for(stage), env);
            assert_eq!(outcome.status, StepStatus::Succeeded);
            output(&lines).join("|")
        };
        assert_eq!(run(Stage::PreDeploy, &[]), "install -r pre-deploy -vvv");
        assert_eq!(
            run(
                Stage::PreDeploy,
                &[("SPRYKER_HOOK_BEFORE_DEPLOY", "echo custom && echo hook")]
            ),
            "custom|hook"
        );
        assert_eq!(
            run(Stage::Install, &[("SPRYKER_PIPELINE_TYPE", "normal")]),
            "install -r production --no-ansi -vvv"
        );
        assert_eq!(
            run(Stage::Install, &[("SPRYKER_PIPELINE_TYPE", "destructive")]),
            "install -r destructive --no-ansi -vvv"
        );
        assert_eq!(
            run(
                Stage::Install,
                &[
                    ("SPRYKER_PIPELINE_TYPE", "destructive"),
                    ("SPRYKER_HOOK_DESTRUCTIVE_INSTALL", "echo reset"),
                    ("SPRYKER_HOOK_INSTALL", "echo keep")
                ]
            ),
            "reset"
        );
        assert_eq!(
            run(
                Stage::Install,
                &[
                    ("SPRYKER_PIPELINE_TYPE", "normal"),
                    ("SPRYKER_HOOK_INSTALL", "echo keep")
                ]
            ),
            "keep"
        );
        assert_eq!(run(Stage::PostDeploy, &[]), "");
        assert_eq!(
            run(
                Stage::PostDeploy,
                &[("SPRYKER_HOOK_AFTER_DEPLOY", "echo after")]
            ),
            "after"
        );
        assert_eq!(
            run(Stage::Build, &[]),
            "No composer.json: nothing to install."
        );

        // A failing hook fails the stage with the hook's exit code.
        let (outcome, _) = fixture.run_with(
            &Buildspec::default_for(Stage::Install),
            &[(
                "SPRYKER_HOOK_INSTALL",
                "exit_with() { return $1; }; exit_with 4",
            )],
        );
        assert_eq!(outcome.status, StepStatus::Failed);
        assert_eq!(outcome.phases[0].commands[0].exit_code, Some(4));
    }

    #[test]
    fn the_default_build_buildspec_runs_composer_with_the_deploy_file_flags() {
        let fixture = Fixture::new();
        let composer_json = fixture.workspace().join("composer.json");
        fs_err::write(&composer_json, "{}").expect("composer.json");
        let bin = fixture.dir.path().join("bin");
        fs_err::create_dir_all(&bin).expect("bin");
        // A stand-in composer that says how it was called and, like `composer config`, edits
        // composer.json.
        write_script(
            &bin.join("composer"),
            "#!/bin/sh\necho \"composer $*\"\n[ \"$1\" = config ] && echo edited > composer.json\nexit 0\n",
        );
        let path = format!("{}:/usr/bin:/bin", bin.display());
        let (outcome, lines) = fixture.run_with(
            &Buildspec::default_for(Stage::Build),
            &[
                ("PATH", &path),
                ("UPKEEP_COMPOSER_MODE", "--no-dev"),
                ("UPKEEP_COMPOSER_AUTOLOAD", "--classmap-authoritative"),
                ("UPKEEP_COMMIT", "0123abcd"),
            ],
        );
        assert_eq!(outcome.status, StepStatus::Succeeded);
        assert_eq!(
            output(&lines),
            [
                "composer config autoloader-suffix 0123abcd --no-interaction",
                "composer install --no-dev --classmap-authoritative --no-interaction"
            ]
        );
        // The committed composer.json is what the image gets, byte for byte.
        assert_eq!(fs_err::read_to_string(&composer_json).expect("read"), "{}");
        let (_, lines) =
            fixture.run_with(&Buildspec::default_for(Stage::Build), &[("PATH", &path)]);
        assert_eq!(
            output(&lines),
            [
                "composer config autoloader-suffix upkeep --no-interaction",
                "composer install --no-interaction"
            ]
        );
        // A suffix the project chose is left alone.
        fs_err::write(
            &composer_json,
            r#"{"config": {"autoloader-suffix": "shop"}}"#,
        )
        .expect("composer.json");
        let (_, lines) =
            fixture.run_with(&Buildspec::default_for(Stage::Build), &[("PATH", &path)]);
        assert_eq!(output(&lines), ["composer install --no-interaction"]);
    }

    #[test]
    fn collects_artifacts_after_a_successful_build() {
        let fixture = Fixture::new();
        let (outcome, _) = fixture.run(
            "version: 0.2
phases:
  build:
    commands:
      - mkdir -p out/lib out/doc && echo a > out/app.tar && echo b > out/lib/x.so && echo c > out/doc/readme.md
artifacts:
  files: ['**/*.tar', 'lib/*']
  base-directory: out
",
        );
        assert_eq!(outcome.status, StepStatus::Succeeded);
        assert_eq!(
            outcome.artifacts,
            [PathBuf::from("app.tar"), PathBuf::from("lib/x.so")]
        );
        let artifacts = fixture.dir.path().join("artifacts");
        assert_eq!(
            fs_err::read_to_string(artifacts.join("lib/x.so")).expect("copied"),
            "b\n"
        );
        assert!(!artifacts.join("doc").exists());
    }

    #[test]
    fn an_artifact_glob_without_matches_fails_the_build() {
        let fixture = Fixture::new();
        let (outcome, lines) = fixture.run(
            "version: 0.2\nphases:\n  build: {commands: [true]}\nartifacts:\n  files: ['*.zip']\n",
        );
        assert_eq!(outcome.status, StepStatus::Failed);
        let last = lines.last().expect("a line");
        assert_eq!(last.stream, Stream::System);
        assert!(
            last.text
                .starts_with("upkeep: artifacts: no file matches `*.zip` in "),
            "{}",
            last.text
        );
    }

    #[test]
    fn artifact_options() {
        let dir = tempfile::tempdir().expect("tempdir");
        let workspace = dir.path().join("ws");
        for file in ["a/one.txt", "b/two.txt", "b/c/one.txt", ".hidden"] {
            let path = workspace.join(file);
            fs_err::create_dir_all(path.parent().expect("parent")).expect("dirs");
            fs_err::write(&path, file).expect("write");
        }
        let artifacts = |files: &[&str], discard: bool| Artifacts {
            files: files.iter().map(|file| (*file).to_string()).collect(),
            base_directory: None,
            discard_paths: Some(discard),
        };
        let copied = collect_artifacts(
            &artifacts(&["b/**/*"], true),
            &workspace,
            &dir.path().join("flat"),
        )
        .expect("flat");
        assert_eq!(copied, [PathBuf::from("one.txt"), PathBuf::from("two.txt")]);
        assert_eq!(
            fs_err::read_to_string(dir.path().join("flat/one.txt")).expect("read"),
            "b/c/one.txt"
        );
        let error = collect_artifacts(
            &artifacts(&["**/one.txt"], true),
            &workspace,
            &dir.path().join("x"),
        )
        .expect_err("collision");
        assert!(matches!(error, ArtifactError::Collision { .. }), "{error}");
        let error = collect_artifacts(
            &artifacts(&["../secret"], false),
            &workspace,
            &dir.path().join("x"),
        )
        .expect_err("outside");
        assert!(
            matches!(error, ArtifactError::OutsideWorkspace { .. }),
            "{error}"
        );
        let copied = collect_artifacts(
            &artifacts(&["./**/*"], false),
            &workspace,
            &dir.path().join("all"),
        )
        .expect("all");
        assert_eq!(copied.len(), 4);
    }

    #[test]
    fn glob_matching() {
        let cases = [
            ("*.tar", "app.tar", true),
            ("*.tar", "dir/app.tar", false),
            ("**/*.tar", "app.tar", true),
            ("**/*.tar", "a/b/app.tar", true),
            ("a/**", "a/b/c", true),
            ("a/**", "b/c", false),
            ("a/**/c", "a/c", true),
            ("a/**/c", "a/x/y/c", true),
            ("a/**/c", "a/x/y/d", false),
            ("?.txt", "a.txt", true),
            ("?.txt", "ab.txt", false),
            ("*a*b*", "xaybz", true),
            ("*a*b*", "xbya", false),
            ("**", "anything/at/all", true),
            ("lib/*", "lib/x/y", false),
        ];
        for (pattern, path, expected) in cases {
            assert_eq!(glob_matches(pattern, path), expected, "{pattern} vs {path}");
        }
    }
}
