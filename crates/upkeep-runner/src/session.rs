//! One recorded run: its directory (`<runs>/<id>/` with `record.json` and `logs/`), its log
//! store, its cancel token and its record, saved (secrets masked) after every change so that a
//! reader, another process or a server sees the run as it goes. A session installs no signal
//! handler: whoever starts it decides what cancels it (Ctrl-C in the CLI, a request in the
//! server) by setting the token.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use jiff::Timestamp;
use upkeep_deploy::stage::{StageObserver, StageRunner};
use upkeep_pipeline::executor::CancelToken;
use upkeep_pipeline::log_store::{LogLine, LogStore};
use upkeep_pipeline::mask::Masker;
use upkeep_pipeline::record::{
    RunId, RunRecord, RunStatus, StageKind, StageRecord, StepRecord, SubPipelineKind,
};

use crate::context::EnvironmentContext;
use crate::error::RunError;
use crate::observer::RunObserver;

/// A fresh run id: the time now and a tail from the process id and a counter, so that runs
/// started by two processes in one millisecond differ; the run directory is created
/// exclusively, so a clash is an error, never a shared directory.
pub fn new_run_id() -> RunId {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let now = Timestamp::now();
    let tail = std::process::id()
        .rotate_left(16)
        .wrapping_add(now.subsec_nanosecond().unsigned_abs())
        .wrapping_add(
            COUNTER
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x9e37_79b9),
        );
    RunId::new(now, tail)
}

pub struct RunSession {
    dir: PathBuf,
    pub logs: LogStore,
    record: Mutex<RunRecord>,
    pub cancel: CancelToken,
    /// Masks secrets in logs and in the record before it is written.
    masker: Masker,
}

impl RunSession {
    /// Creates the run directory and saves `record` (whose id names it) as the run's first
    /// state. Fails when a run of that id exists.
    pub fn create(
        runs_dir: &Path,
        mut record: RunRecord,
        cancel: CancelToken,
    ) -> Result<Self, RunError> {
        fs_err::create_dir_all(runs_dir)
            .map_err(|error| RunError::io("create", runs_dir, error))?;
        let dir = runs_dir.join(record.run_id.as_str());
        fs_err::create_dir(&dir).map_err(|error| RunError::io("create", &dir, error))?;
        record.status = RunStatus::Running;
        record.started_at = Some(Timestamp::now());
        record.process = Some(crate::process::current());
        let session = Self::open(dir, record, cancel);
        session.save()?;
        Ok(session)
    }

    /// A session over an existing run (one that waits for approval), to go on with it.
    pub fn resume(run_dir: PathBuf, mut record: RunRecord, cancel: CancelToken) -> Self {
        record.process = Some(crate::process::current());
        Self::open(run_dir, record, cancel)
    }

    fn open(dir: PathBuf, record: RunRecord, cancel: CancelToken) -> Self {
        Self {
            logs: LogStore::new(dir.clone()),
            dir,
            record: Mutex::new(record),
            cancel,
            masker: Masker::new(Vec::<String>::new()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn id(&self) -> RunId {
        self.lock().run_id.clone()
    }

    pub fn masker(&self) -> &Masker {
        &self.masker
    }

    /// Masks the values of `masker` too from now on (secrets become known as the run reads the
    /// deploy file and the images).
    pub fn set_masker(&mut self, masker: Masker) {
        self.masker = masker;
    }

    fn lock(&self) -> MutexGuard<'_, RunRecord> {
        // A panic while holding the lock leaves a record that is still whole: go on with it.
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the record as it stands.
    pub fn record(&self) -> RunRecord {
        self.lock().clone()
    }

    /// Changes the record and saves it.
    pub fn update<T>(&self, change: impl FnOnce(&mut RunRecord) -> T) -> Result<T, RunError> {
        let mut record = self.lock();
        let value = change(&mut record);
        record.masked(&self.masker).save(&self.dir)?;
        Ok(value)
    }

    /// Writes the record (secrets masked) atomically.
    pub fn save(&self) -> Result<(), RunError> {
        self.update(|_| ())
    }

    /// Sets the final (or waiting) status and the end time, and saves.
    pub fn finish(&self, status: RunStatus) -> Result<RunRecord, RunError> {
        self.update(|record| {
            record.status = status;
            if status.is_final() {
                record.finished_at = Some(Timestamp::now());
            }
            record.masked(&self.masker)
        })
    }

    /// What the run's stages share: its log store, masker, cancel token, and an observer that
    /// keeps the record of `sub_pipeline` up to date as stages start and end.
    pub fn stage_runner<'s>(
        &'s self,
        context: &EnvironmentContext,
        secrets: &'s std::collections::BTreeMap<String, String>,
        provided: &'s std::collections::BTreeMap<String, String>,
        observer: &'s RecordingObserver<'s>,
    ) -> StageRunner<'s> {
        StageRunner {
            logs: &self.logs,
            masker: &self.masker,
            cancel: &self.cancel,
            timeout: context.environment.timeout,
            secrets,
            provided,
            observer,
        }
    }

    /// The observer for the stages of `sub_pipeline`: records them in the run as they go and
    /// passes everything on to `observer`.
    pub fn recording<'s>(
        &'s self,
        sub_pipeline: SubPipelineKind,
        observer: &'s dyn RunObserver,
    ) -> RecordingObserver<'s> {
        RecordingObserver {
            session: self,
            sub_pipeline,
            observer,
        }
    }
}

/// Keeps the record of a sub-pipeline current while its stages run, so that
/// `upkeep pipeline logs --follow` (or a server) finds a running stage's log at once.
pub struct RecordingObserver<'s> {
    session: &'s RunSession,
    sub_pipeline: SubPipelineKind,
    observer: &'s dyn RunObserver,
}

impl RecordingObserver<'_> {
    fn record_stage(&self, stage: StageRecord) {
        let kind = self.sub_pipeline;
        // A record that cannot be saved now is saved with the next change; the run goes on.
        let _ = self.session.update(|record| {
            if let Some(sub) = record.sub_pipeline_mut(kind) {
                match sub.stages.iter_mut().find(|known| known.name == stage.name) {
                    Some(known) => *known = stage,
                    None => sub.stages.push(stage),
                }
            }
        });
    }
}

impl StageObserver for RecordingObserver<'_> {
    fn message(&self, text: &str) {
        self.observer.message(text);
    }

    fn stage_started(&self, stage: StageKind, step: &StepRecord) {
        // A stage may run more than one step (Build's buildspec, then its push): a step that
        // starts joins the steps the stage has recorded.
        let kind = self.sub_pipeline;
        let _ = self.session.update(|record| {
            if let Some(sub) = record.sub_pipeline_mut(kind) {
                match sub.stages.iter_mut().find(|known| known.name == stage) {
                    Some(known) => {
                        known.status = RunStatus::Running;
                        known
                            .steps
                            .retain(|known_step| known_step.name != step.name);
                        known.steps.push(step.clone());
                    }
                    None => sub.stages.push(StageRecord {
                        name: stage,
                        status: RunStatus::Running,
                        steps: vec![step.clone()],
                    }),
                }
            }
        });
        self.observer.stage_started(stage, step);
    }

    fn step_line(&self, stage: StageKind, line: &LogLine) {
        self.observer.step_line(stage, line);
    }

    fn stage_finished(&self, record: &StageRecord) {
        self.record_stage(record.clone());
        self.observer.stage_finished(record);
    }
}
