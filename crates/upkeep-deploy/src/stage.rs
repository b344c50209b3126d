//! Runs one stage (a buildspec in one shell session) of a run: its output goes to the run's log
//! store, masked, and to the [`StageObserver`]; the result becomes a [`StageRecord`]. Nothing
//! here writes to the terminal: the observer decides what people see.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use upkeep_pipeline::buildspec::{Buildspec, BuildspecError};
use upkeep_pipeline::buildspec_run::{
    BuildspecRun, BuildspecRunError, CommandStatus, SessionPlace, run_buildspec,
};
use upkeep_pipeline::executor::{
    CancelToken, StepOutcome, StepSpec, StepStatus, own_variables, run_step,
};
use upkeep_pipeline::log_store::{LineSink, LogError, LogLine, LogStore, LogWriter, Stream};
use upkeep_pipeline::mask::Masker;
use upkeep_pipeline::record::{RunStatus, StageKind, StageRecord, StepRecord};

/// Host variables a stage keeps; nothing else of upkeep's own environment reaches a step, so a
/// hook sees the same variables here as in a container of its image.
const HOST_VARIABLES: [&str; 5] = ["PATH", "HOME", "LANG", "TMPDIR", "USER"];

/// Where a stage's progress goes as it happens: the terminal, a server's live view, the run
/// record. Every text is masked before it is handed over.
pub trait StageObserver {
    /// A line of upkeep's own about the run ("prepared release …", "waiting for deployment …").
    fn message(&self, text: &str);

    /// A stage's step started; its log is being written at `log` (relative to the run).
    fn stage_started(&self, _stage: StageKind, _step: &StepRecord) {}

    /// A line a step printed, as it was logged.
    fn step_line(&self, _stage: StageKind, _line: &LogLine) {}

    /// A stage ended (or was skipped).
    fn stage_finished(&self, _record: &StageRecord) {}
}

/// What every stage of a run shares: where logs go, what to mask, how to cancel, who watches.
pub struct StageRunner<'a> {
    pub logs: &'a LogStore,
    pub masker: &'a Masker,
    pub cancel: &'a CancelToken,
    /// Time limit of each step.
    pub timeout: Duration,
    /// upkeep's secret store for `env.secrets`: secret name -> value.
    pub secrets: &'a BTreeMap<String, String>,
    /// Variables every step receives from outside the repository (the server's settings);
    /// they win over the deploy file's and the build's. Their names were checked against
    /// upkeep's own (`upkeep_pipeline::provided`), which they never replace.
    pub provided: &'a BTreeMap<String, String>,
    pub observer: &'a dyn StageObserver,
}

/// How a stage ended.
#[derive(Debug)]
pub struct StageResult {
    pub record: StageRecord,
    /// `env.exported-variables` of the buildspec, for later stages.
    pub exported: BTreeMap<String, String>,
    /// The exported variables whose value holds a secret: handed on in memory, never written
    /// to disk.
    pub secret_exports: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Buildspec(#[from] BuildspecError),
    #[error(transparent)]
    Run(#[from] BuildspecRunError),
    #[error(transparent)]
    Log(#[from] LogError),
}

impl upkeep_hint::Hint for StageError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Run(error) => error.hint(),
            Self::Buildspec(_) | Self::Log(_) => None,
        }
    }
}

impl StageRunner<'_> {
    /// Hands a progress line of the run to the observer, masked.
    pub fn say(&self, text: &str) {
        self.observer.message(&self.masker.mask_line(text));
    }

    /// Records a stage that did not run, and tells the observer.
    pub fn skipped(&self, stage: StageKind) -> StageRecord {
        let record = StageRecord::skipped(stage);
        self.observer.stage_finished(&record);
        record
    }

    /// Opens the log of `step` of `stage` and tells the observer the step started; returns the
    /// sink its lines go to and the log's path relative to the run.
    fn start_step(
        &self,
        stage: StageKind,
        step: &str,
        started_at: jiff::Timestamp,
    ) -> Result<(ObservedSink<'_>, PathBuf), StageError> {
        let relative_log = LogStore::relative_step_log_path(stage.as_str(), step);
        let writer = self.logs.create_step_log(stage.as_str(), step)?;
        self.observer.stage_started(
            stage,
            &StepRecord::running(step, started_at, relative_log.clone()),
        );
        let sink = ObservedSink {
            writer,
            stage,
            observer: self.observer,
        };
        Ok((sink, relative_log))
    }

    /// Runs a piece of upkeep's own work (the Build stage's `push`) as a step `step` of `stage`
    /// with a log of its own, so that it shows in the run like a buildspec's step. `work` says
    /// what it does through the given function (each text a masked line of the log) and returns
    /// whether it succeeded. The step's record is returned; the caller puts it in the stage's.
    pub fn run_own_step(
        &self,
        stage: StageKind,
        step: &str,
        work: impl FnOnce(&mut dyn FnMut(&str)) -> bool,
    ) -> Result<StepRecord, StageError> {
        let started_at = jiff::Timestamp::now();
        let started = std::time::Instant::now();
        let (mut sink, relative_log) = self.start_step(stage, step, started_at)?;
        let mut write_failure = None;
        let succeeded = work(&mut |text: &str| {
            let line = LogLine::now(Stream::System, self.masker.mask_line(text));
            if let Err(error) = sink.write_line(&line) {
                write_failure.get_or_insert(error);
            }
        });
        if let Some(error) = write_failure {
            return Err(StageError::Log(LogError::from(error)));
        }
        let log_bytes = sink.writer.finish()?;
        let outcome = StepOutcome {
            status: if succeeded {
                StepStatus::Succeeded
            } else {
                StepStatus::Failed
            },
            exit_code: None,
            started_at,
            finished_at: jiff::Timestamp::now(),
            duration: started.elapsed(),
        };
        Ok(StepRecord::finished(
            step,
            &outcome,
            relative_log,
            log_bytes,
        ))
    }

    /// Runs a program of upkeep's choosing (`buildah` for a Dockerfile) as the step
    /// `spec.name` of `stage`, as a buildspec's step runs: output masked into a log of its own
    /// and shown to the observer, the process group stopped on the stage's time limit or on
    /// cancel. `spec` carries its whole environment; its timeout is replaced by the stage's.
    /// The step's record is returned; the caller puts it in the stage's.
    pub fn run_process_step(
        &self,
        stage: StageKind,
        spec: &StepSpec,
    ) -> Result<StepRecord, StageError> {
        let step = spec.name.as_str();
        let (mut sink, relative_log) = self.start_step(stage, step, jiff::Timestamp::now())?;
        let spec = StepSpec {
            timeout: Some(self.timeout),
            ..spec.clone()
        };
        let outcome = run_step(&spec, self.masker, &mut sink, self.cancel)
            .map_err(|error| StageError::Run(BuildspecRunError::Exec(error)))?;
        let log_bytes = sink.writer.finish()?;
        Ok(StepRecord::finished(
            step,
            &outcome,
            relative_log,
            log_bytes,
        ))
    }

    /// Runs `buildspec` as the single step of `stage`, in `work_dir`, with exactly `variables`
    /// plus a few host basics ([`HOST_VARIABLES`]) as its environment.
    pub fn run(
        &self,
        stage: StageKind,
        buildspec: &Buildspec,
        work_dir: &Path,
        variables: &BTreeMap<String, String>,
    ) -> Result<StageResult, StageError> {
        let mut env = own_variables(&HOST_VARIABLES);
        env.extend(variables.clone());
        self.run_session(stage, buildspec, work_dir, env, SessionPlace::Here)
    }

    /// Runs `buildspec` as the single step of `stage` away from this machine's shell: inside a
    /// container of an image, or on a remote host. The session's environment is exactly
    /// `variables` besides the image's or the login shell's own (nothing of this machine's).
    /// `work_dir` is the release on this machine, where the session's files are kept.
    pub fn run_at(
        &self,
        place: SessionPlace<'_>,
        stage: StageKind,
        buildspec: &Buildspec,
        work_dir: &Path,
        variables: &BTreeMap<String, String>,
    ) -> Result<StageResult, StageError> {
        self.run_session(stage, buildspec, work_dir, variables.clone(), place)
    }

    fn run_session(
        &self,
        stage: StageKind,
        buildspec: &Buildspec,
        work_dir: &Path,
        mut env: BTreeMap<String, String>,
        place: SessionPlace<'_>,
    ) -> Result<StageResult, StageError> {
        let step = stage.as_str();
        env.extend(self.provided.clone());
        let masker = self.masker.extended(
            buildspec
                .env
                .secrets
                .values()
                .filter_map(|secret| self.secrets.get(secret)),
        );
        let log_path = self.logs.step_log_path(step, step);
        let (mut sink, relative_log) = self.start_step(stage, step, jiff::Timestamp::now())?;
        let state_dir = log_path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            .join(format!(".{step}-session"));
        let run = BuildspecRun {
            name: format!("{stage} ({})", buildspec.source.display()),
            buildspec,
            work_dir: work_dir.to_path_buf(),
            state_dir: state_dir.clone(),
            env,
            secrets: self.secrets,
            timeout: Some(self.timeout),
            artifacts_dir: None,
            place,
        };
        let outcome = run_buildspec(&run, &masker, &mut sink, self.cancel);
        // The session's driver files are upkeep's, not the user's; the log keeps what happened.
        let _ = fs_err::remove_dir_all(&state_dir);
        let outcome = outcome?;
        let log_bytes = sink.writer.finish()?;
        let status = RunStatus::from(outcome.status);
        let mut step_record = StepRecord::finished(step, &outcome.step, relative_log, log_bytes);
        step_record.status = status;
        // The failing command's exit status says more than the session's.
        let failed_command = outcome
            .phases
            .iter()
            .flat_map(|phase| &phase.commands)
            .find(|command| command.status == CommandStatus::Failed);
        if let Some(code) = failed_command.and_then(|command| command.exit_code) {
            step_record.exit_code = Some(code);
        }
        if status != RunStatus::Succeeded {
            self.say(&format!(
                "{stage}: {} (log: {})",
                describe(status, step_record.exit_code),
                log_path.display()
            ));
        }
        let record = StageRecord {
            name: stage,
            status,
            steps: vec![step_record],
        };
        self.observer.stage_finished(&record);
        let secret_exports = outcome
            .exported
            .iter()
            .filter(|(_, value)| masker.mask_text(value) != **value)
            .map(|(name, _)| name.clone())
            .collect();
        Ok(StageResult {
            record,
            exported: outcome.exported,
            secret_exports,
        })
    }
}

/// The project's buildspec at `relative` (to the repository root) in `root`, a checkout or a
/// release; `None` when that tree does not have it. It is named as in the repository, not by
/// its path under `root`.
pub(crate) fn project_buildspec(
    root: &Path,
    relative: &Path,
) -> Result<Option<Buildspec>, StageError> {
    let path = root.join(relative);
    if !path.is_file() {
        return Ok(None);
    }
    let mut buildspec = Buildspec::load(&path)?;
    buildspec.source = relative.to_path_buf();
    Ok(Some(buildspec))
}

fn describe(status: RunStatus, exit_code: Option<i32>) -> String {
    match (status, exit_code) {
        (RunStatus::TimedOut, _) => "timed out, the step's processes were stopped".to_string(),
        (RunStatus::Cancelled, _) => "cancelled, the step's processes were stopped".to_string(),
        (_, Some(code)) => format!("failed with exit status {code}"),
        _ => "failed".to_string(),
    }
}

/// Writes each line to the step's log, then hands it to the observer. The log is flushed
/// before the observer sees the line, so a reader that follows the log never lags behind what
/// was shown.
struct ObservedSink<'a> {
    writer: LogWriter,
    stage: StageKind,
    observer: &'a dyn StageObserver,
}

impl LineSink for ObservedSink<'_> {
    fn write_line(&mut self, line: &LogLine) -> io::Result<()> {
        self.writer.write_line(line)?;
        self.observer.step_line(self.stage, line);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests {
    use upkeep_hint::Hint;

    use super::*;
    use crate::build::BuildError;
    use crate::deployment::DeploymentError;

    const SECRET_HINT: &str = "provide it in the environment of upkeep and list it under the environment's `secrets` in upkeep.yml";

    fn missing_secret() -> StageError {
        StageError::Run(BuildspecRunError::MissingSecret {
            buildspec: PathBuf::from("buildspec.yml"),
            variable: "TOKEN".to_string(),
            secret: "api-token".to_string(),
        })
    }

    #[test]
    fn stage_build_and_deployment_errors_pass_on_the_hint_of_the_buildspec_run() {
        let stage = missing_secret();
        assert_eq!(
            stage.to_string(),
            "buildspec.yml: env.secrets.TOKEN names the secret `api-token`, which upkeep's secret store does not have"
        );
        assert_eq!(stage.hint().as_deref(), Some(SECRET_HINT));
        assert_eq!(
            DeploymentError::Stage(missing_secret()).hint().as_deref(),
            Some(SECRET_HINT)
        );
        assert_eq!(
            BuildError::Stage(missing_secret()).hint().as_deref(),
            Some(SECRET_HINT)
        );
    }

    #[test]
    fn a_stage_error_without_a_hint_of_its_own_keeps_the_builds_general_one() {
        let stage = StageError::Run(BuildspecRunError::State(io::Error::other("full")));
        assert_eq!(stage.hint(), None);
        assert_eq!(DeploymentError::Stage(stage).hint(), None);
        let stage = StageError::Run(BuildspecRunError::State(io::Error::other("full")));
        assert_eq!(
            BuildError::Stage(stage).hint().as_deref(),
            Some("fix the build configuration and commit it")
        );
    }
}
