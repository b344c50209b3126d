//! Runs one stage (a buildspec in one shell session) of a run: its output goes to the run's log
//! store, masked, and optionally to the terminal; the result becomes a [`StageRecord`].

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use upkeep_pipeline::buildspec::{Buildspec, BuildspecError};
use upkeep_pipeline::buildspec_run::{
    BuildspecRun, BuildspecRunError, CommandStatus, run_buildspec,
};
use upkeep_pipeline::executor::CancelToken;
use upkeep_pipeline::log_store::{LineSink, LogError, LogLine, LogStore};
use upkeep_pipeline::mask::Masker;
use upkeep_pipeline::record::{RunStatus, StageRecord, StepRecord};

/// Host variables a stage keeps; nothing else of upkeep's own environment reaches a step, so a
/// hook sees the same variables here as in a container of its image.
const HOST_VARIABLES: [&str; 5] = ["PATH", "HOME", "LANG", "TMPDIR", "USER"];

/// What every stage of a run shares: where logs go, what to mask, how to cancel.
pub struct StageRunner<'a> {
    pub logs: &'a LogStore,
    pub masker: &'a Masker,
    pub cancel: &'a CancelToken,
    /// Time limit of each step.
    pub timeout: Duration,
    /// upkeep's secret store for `env.secrets`: secret name -> value.
    pub secrets: &'a BTreeMap<String, String>,
    /// Echo step output to standard error as it arrives.
    pub echo: bool,
}

/// How a stage ended.
#[derive(Debug)]
pub struct StageResult {
    pub record: StageRecord,
    /// `env.exported-variables` of the buildspec, for later stages.
    pub exported: BTreeMap<String, String>,
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

impl StageRunner<'_> {
    /// Prints a progress line of the run on standard error (data goes to standard output).
    pub fn say(&self, text: &str) {
        let masked = self.masker.mask_line(text);
        let _ = writeln!(io::stderr(), "upkeep: {masked}");
    }

    /// Runs `buildspec` as the single step of `stage`, in `workspace`, with exactly `variables`
    /// plus a few host basics ([`HOST_VARIABLES`]) as its environment.
    pub fn run(
        &self,
        stage: &str,
        buildspec: &Buildspec,
        workspace: &Path,
        variables: &BTreeMap<String, String>,
    ) -> Result<StageResult, StageError> {
        let step = stage;
        let mut env: BTreeMap<String, String> = HOST_VARIABLES
            .iter()
            .filter_map(|name| {
                std::env::var(name)
                    .ok()
                    .map(|value| ((*name).to_string(), value))
            })
            .collect();
        env.extend(variables.clone());
        let masker = self.masker.extended(
            buildspec
                .env
                .secrets
                .values()
                .filter_map(|secret| self.secrets.get(secret)),
        );
        let log_path = self.logs.step_log_path(stage, step);
        let relative_log = LogStore::relative_step_log_path(stage, step);
        let writer = self.logs.create_step_log(stage, step)?;
        let mut sink = EchoSink {
            writer,
            echo: self.echo,
        };
        let state_dir = log_path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            .join(format!(".{step}-session"));
        let run = BuildspecRun {
            name: format!("{stage} ({})", buildspec.source.display()),
            buildspec,
            workspace: workspace.to_path_buf(),
            state_dir: state_dir.clone(),
            env,
            secrets: self.secrets,
            timeout: Some(self.timeout),
            artifacts_dir: None,
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
        Ok(StageResult {
            record: StageRecord {
                name: stage.to_string(),
                status,
                steps: vec![step_record],
            },
            exported: outcome.exported,
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

/// Writes each line to the step's log and, when asked, to standard error.
struct EchoSink {
    writer: upkeep_pipeline::log_store::LogWriter,
    echo: bool,
}

impl LineSink for EchoSink {
    fn write_line(&mut self, line: &LogLine) -> io::Result<()> {
        self.writer.write_line(line)?;
        if self.echo {
            let _ = writeln!(io::stderr().lock(), "  | {}", line.text);
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}
