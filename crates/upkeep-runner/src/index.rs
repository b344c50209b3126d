//! The recorded runs of a state directory, found by what their records say (environment,
//! status), never by parsing directory names: `staging` and `eu-staging` stay apart.

use std::path::PathBuf;

use upkeep_pipeline::record::{RecordError, RunId, RunRecord, RunStatus};

use crate::error::RunError;

pub struct RunIndex {
    runs_dir: PathBuf,
}

impl RunIndex {
    pub fn new(runs_dir: PathBuf) -> Self {
        Self { runs_dir }
    }

    pub fn runs_dir(&self) -> &PathBuf {
        &self.runs_dir
    }

    /// The directory of a run.
    pub fn run_dir(&self, id: &RunId) -> PathBuf {
        self.runs_dir.join(id.as_str())
    }

    /// The record of run `id`.
    pub fn get(&self, id: &RunId) -> Result<RunRecord, RunError> {
        let dir = self.run_dir(id);
        match load_current(&dir) {
            Err(RecordError::Io(error)) if error.kind() == std::io::ErrorKind::NotFound => {
                Err(RunError::UnknownRun {
                    id: id.clone(),
                    runs_dir: self.runs_dir.clone(),
                })
            }
            other => Ok(other?),
        }
    }

    /// The runs of `environment`, newest first. Records this upkeep cannot read (another
    /// format, damaged) are passed over: they belong to no environment it can tell.
    pub fn list(&self, environment: &str) -> Result<Vec<RunRecord>, RunError> {
        let entries = match fs_err::read_dir(&self.runs_dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(RunError::io("read", &self.runs_dir, error)),
        };
        let mut ids: Vec<RunId> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
            .collect();
        ids.sort_unstable_by(|left, right| right.cmp(left));
        Ok(ids
            .iter()
            .filter_map(|id| load_current(&self.run_dir(id)).ok())
            .filter(|record| record.environment == environment)
            .collect())
    }

    /// The newest run of `environment`.
    pub fn latest(&self, environment: &str) -> Result<RunRecord, RunError> {
        self.list(environment)?
            .into_iter()
            .next()
            .ok_or_else(|| RunError::NoRuns {
                environment: environment.to_string(),
            })
    }

    /// The newest run of `environment` that waits for approval.
    pub fn latest_waiting(&self, environment: &str) -> Result<RunRecord, RunError> {
        self.list(environment)?
            .into_iter()
            .find(|record| record.status == RunStatus::WaitingForApproval)
            .ok_or_else(|| RunError::NothingWaiting {
                environment: environment.to_string(),
            })
    }

    /// Run `id` when given (it must be a run of `environment`), else the newest run.
    pub fn pick(&self, environment: &str, id: Option<&RunId>) -> Result<RunRecord, RunError> {
        let Some(id) = id else {
            return self.latest(environment);
        };
        let record = self.get(id)?;
        if record.environment != environment {
            return Err(RunError::RunOfOtherEnvironment {
                id: id.clone(),
                environment: environment.to_string(),
                actual: record.environment,
            });
        }
        Ok(record)
    }
}

/// Reads a run's record as it stands: a run whose process has ended without finishing it reads
/// (and from now on is recorded) as `interrupted`.
pub fn load_current(run_dir: &std::path::Path) -> Result<RunRecord, RecordError> {
    let mut record = RunRecord::load(run_dir)?;
    if crate::process::mark_if_interrupted(&mut record) {
        // Readers agree even if this one cannot write: each of them reaches the same verdict.
        let _ = record.save(run_dir);
    }
    Ok(record)
}
