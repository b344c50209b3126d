//! One recorded run: its id, its directory (`<state>/runs/<id>/` with `record.json` and
//! `logs/`), its log store, and the cancel token that Ctrl-C sets.

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::Timestamp;
use upkeep_deploy::stage::StageRunner;
use upkeep_pipeline::executor::CancelToken;
use upkeep_pipeline::log_store::LogStore;
use upkeep_pipeline::mask::Masker;
use upkeep_pipeline::record::{RunRecord, RunStatus};

use super::CommandError;
use super::context::ProjectContext;

pub struct RunSession {
    pub dir: PathBuf,
    pub logs: LogStore,
    pub record: RunRecord,
    pub cancel: CancelToken,
    /// Masks secrets in the record before it is written.
    pub masker: Masker,
}

impl RunSession {
    /// Creates the run directory and the record of a new run of `context`'s environment. The
    /// record names the main pipeline; `pipeline` overrides it for a sub-pipeline run alone.
    pub fn start(context: &ProjectContext, pipeline: Option<String>) -> Result<Self, CommandError> {
        let started = Timestamp::now();
        let id = format!(
            "{}-{}-{}",
            started.strftime("%Y%m%dT%H%M%S%.3fZ"),
            context.environment.name,
            std::process::id()
        );
        let dir = context.runs_dir().join(&id);
        fs_err::create_dir_all(&dir)
            .map_err(|error| CommandError::environment(error.to_string()))?;
        let mut record = RunRecord::new(id, context.environment.name.clone());
        if let Some(pipeline) = pipeline {
            record.pipeline = pipeline;
        }
        record.status = RunStatus::Running;
        record.started_at = Some(started);
        let cancel = CancelToken::new();
        let handler_token = cancel.clone();
        // Ctrl-C reaches upkeep only: steps run in process groups of their own, which the
        // executor stops when the token is set; the run is then recorded as cancelled.
        let _ = ctrlc::set_handler(move || handler_token.cancel());
        let session = Self {
            logs: LogStore::new(dir.clone()),
            dir,
            record,
            cancel,
            masker: Masker::new(Vec::<String>::new()),
        };
        session.save()?;
        Ok(session)
    }

    /// What the run's stages share: its log store, masker and cancel token.
    pub fn stage_runner<'s>(
        &'s self,
        context: &ProjectContext,
        secrets: &'s BTreeMap<String, String>,
        echo: bool,
    ) -> StageRunner<'s> {
        StageRunner {
            logs: &self.logs,
            masker: &self.masker,
            cancel: &self.cancel,
            timeout: context.environment.timeout,
            secrets,
            echo,
        }
    }

    pub fn id(&self) -> &str {
        &self.record.run_id
    }

    /// Writes the record (secrets masked) atomically.
    pub fn save(&self) -> Result<(), CommandError> {
        self.record
            .masked(&self.masker)
            .save(&self.dir)
            .map_err(|error| CommandError::environment(error.to_string()))
    }

    /// Sets the final status, saves, and says where the record is.
    pub fn finish(&mut self, status: RunStatus) -> Result<(), CommandError> {
        self.record.status = status;
        self.record.finished_at = Some(Timestamp::now());
        self.save()?;
        eprintln!(
            "upkeep: run {} {}; record: {}",
            self.record.run_id,
            status_word(status),
            RunRecord::path(&self.dir).display()
        );
        Ok(())
    }
}

pub fn status_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Queued => "queued",
        RunStatus::Running => "running",
        RunStatus::WaitingForApproval => "waits for approval",
        RunStatus::Succeeded => "succeeded",
        RunStatus::Failed => "failed",
        RunStatus::TimedOut => "timed out",
        RunStatus::Cancelled => "was cancelled",
        RunStatus::Skipped => "skipped",
    }
}
