//! The machine-readable record of one pipeline run, `<run dir>/record.json`: what ran, how it
//! ended, when, and where each step's log is. The CLI writes it as the run goes; a server or a
//! CI reads it.
//!
//! ```
//! use upkeep_pipeline::record::{RunRecord, RunStatus};
//! let mut record = RunRecord::new("20250501-120000-1", "staging");
//! assert_eq!(record.pipeline, "*** staging Pipeline ***");
//! record.status = RunStatus::Running;
//! let dir = tempfile::tempdir()?;
//! record.save(dir.path())?;
//! assert_eq!(RunRecord::load(dir.path())?, record);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::executor::{StepOutcome, StepStatus};
use crate::mask::Masker;
use crate::project_file::DeployType;

/// The file name of the record inside the run directory.
pub const RECORD_FILE: &str = "record.json";

/// The state of a run, a sub-pipeline, a stage or a step. Not every state fits everything:
/// `Queued` and `WaitingForApproval` are for runs, `TimedOut` is for steps, `Skipped` is for what
/// did not run (a deployment after a failed gate, pre-deploy on a first deployment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    WaitingForApproval,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    Skipped,
}

impl From<StepStatus> for RunStatus {
    fn from(status: StepStatus) -> Self {
        match status {
            StepStatus::Succeeded => Self::Succeeded,
            StepStatus::Failed => Self::Failed,
            StepStatus::TimedOut => Self::TimedOut,
            StepStatus::Cancelled => Self::Cancelled,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    /// `*** <environment> Pipeline ***`.
    pub pipeline: String,
    pub environment: String,
    pub commit: Option<String>,
    pub deploy_type: Option<DeployType>,
    pub status: RunStatus,
    #[serde(with = "optional_timestamp")]
    pub started_at: Option<Timestamp>,
    #[serde(with = "optional_timestamp")]
    pub finished_at: Option<Timestamp>,
    /// Build, Quality gate, Deployment, in running order.
    pub sub_pipelines: Vec<SubPipelineRecord>,
    /// The quality gate's verdict summary, as the gate reports it.
    pub gate: Option<serde_json::Value>,
    /// Things a reader should know, such as "pre-deploy skipped: first deployment".
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubPipelineRecord {
    pub name: String,
    pub status: RunStatus,
    pub stages: Vec<StageRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    pub name: String,
    pub status: RunStatus,
    pub steps: Vec<StepRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub name: String,
    pub status: RunStatus,
    pub exit_code: Option<i32>,
    #[serde(with = "optional_timestamp")]
    pub started_at: Option<Timestamp>,
    #[serde(with = "optional_timestamp")]
    pub finished_at: Option<Timestamp>,
    pub duration_ms: Option<u64>,
    /// Relative to the run directory, e.g. `logs/install/hook.log`.
    pub log: Option<PathBuf>,
    pub log_bytes: u64,
}

impl StepRecord {
    /// The record of a finished step.
    pub fn finished(
        name: impl Into<String>,
        outcome: &StepOutcome,
        log: PathBuf,
        log_bytes: u64,
    ) -> Self {
        Self {
            name: name.into(),
            status: outcome.status.into(),
            exit_code: outcome.exit_code,
            started_at: Some(outcome.started_at),
            finished_at: Some(outcome.finished_at),
            duration_ms: Some(u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX)),
            log: Some(log),
            log_bytes,
        }
    }
}

impl RunRecord {
    /// A queued run of an environment's main pipeline.
    pub fn new(run_id: impl Into<String>, environment: impl Into<String>) -> Self {
        let environment = environment.into();
        Self {
            run_id: run_id.into(),
            pipeline: format!("*** {environment} Pipeline ***"),
            environment,
            commit: None,
            deploy_type: None,
            status: RunStatus::Queued,
            started_at: None,
            finished_at: None,
            sub_pipelines: Vec::new(),
            gate: None,
            notes: Vec::new(),
        }
    }

    /// The record's path inside a run directory.
    pub fn path(run_dir: &Path) -> PathBuf {
        run_dir.join(RECORD_FILE)
    }

    /// Writes `record.json` atomically: a reader sees the old or the new record, never half.
    pub fn save(&self, run_dir: &Path) -> Result<(), RecordError> {
        let mut json = serde_json::to_vec_pretty(self).map_err(RecordError::Encode)?;
        json.push(b'\n');
        fs_err::create_dir_all(run_dir)?;
        let temporary = run_dir.join(format!("{RECORD_FILE}.tmp"));
        let mut file = fs_err::File::create(&temporary)?;
        file.write_all(&json)?;
        file.sync_all()?;
        drop(file);
        fs_err::rename(&temporary, Self::path(run_dir))?;
        Ok(())
    }

    pub fn load(run_dir: &Path) -> Result<Self, RecordError> {
        let path = Self::path(run_dir);
        let text = fs_err::read_to_string(&path)?;
        serde_json::from_str(&text).map_err(|source| RecordError::Decode { path, source })
    }

    /// A copy with secret values masked in every free text: notes, names, the commit and the
    /// strings of the gate summary.
    #[must_use]
    pub fn masked(&self, masker: &Masker) -> Self {
        let mut record = self.clone();
        for note in &mut record.notes {
            *note = masker.mask_text(note);
        }
        if let Some(commit) = &mut record.commit {
            *commit = masker.mask_text(commit);
        }
        for sub_pipeline in &mut record.sub_pipelines {
            sub_pipeline.name = masker.mask_text(&sub_pipeline.name);
            for stage in &mut sub_pipeline.stages {
                stage.name = masker.mask_text(&stage.name);
                for step in &mut stage.steps {
                    step.name = masker.mask_text(&step.name);
                }
            }
        }
        if let Some(gate) = &mut record.gate {
            mask_json(gate, masker);
        }
        record
    }
}

fn mask_json(value: &mut serde_json::Value, masker: &Masker) {
    match value {
        serde_json::Value::String(text) => *text = masker.mask_text(text),
        serde_json::Value::Array(items) => {
            for item in items {
                mask_json(item, masker);
            }
        }
        serde_json::Value::Object(fields) => {
            for field in fields.values_mut() {
                mask_json(field, masker);
            }
        }
        _ => {}
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("cannot encode the run record: {0}")]
    Encode(serde_json::Error),
    #[error("{}: not a valid run record: {source}", path.display())]
    Decode {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Timestamps as RFC 3339 strings (`2025-05-01T12:00:03.125Z`), or `null`.
mod optional_timestamp {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    #[expect(clippy::ref_option, reason = "the signature serde's `with` expects")]
    pub fn serialize<S: Serializer>(
        value: &Option<Timestamp>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(timestamp) => serializer.collect_str(timestamp),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| text.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample() -> RunRecord {
        let started: Timestamp = "2025-05-01T12:00:00.5Z".parse().expect("timestamp");
        let finished: Timestamp = "2025-05-01T12:00:02Z".parse().expect("timestamp");
        let outcome = StepOutcome {
            status: StepStatus::Failed,
            exit_code: Some(2),
            started_at: started,
            finished_at: finished,
            duration: Duration::from_millis(1500),
        };
        let mut record = RunRecord::new("run-1", "staging");
        record.commit = Some("0123abc".to_string());
        record.deploy_type = Some(DeployType::Destructive);
        record.status = RunStatus::Failed;
        record.started_at = Some(started);
        record.finished_at = Some(finished);
        record.sub_pipelines.push(SubPipelineRecord {
            name: "Deployment".to_string(),
            status: RunStatus::Failed,
            stages: vec![
                StageRecord {
                    name: "pre-deploy".to_string(),
                    status: RunStatus::Skipped,
                    steps: Vec::new(),
                },
                StageRecord {
                    name: "install".to_string(),
                    status: RunStatus::Failed,
                    steps: vec![StepRecord::finished(
                        "hook",
                        &outcome,
                        "logs/install/hook.log".into(),
                        120,
                    )],
                },
            ],
        });
        record.gate = Some(serde_json::json!({"verdict": "passed", "findings": 0}));
        record
            .notes
            .push("pre-deploy skipped: first deployment".to_string());
        record
    }

    #[test]
    fn serializes_to_the_documented_json() {
        let json = serde_json::to_value(sample()).expect("json");
        assert_eq!(json["pipeline"], "*** staging Pipeline ***");
        assert_eq!(json["status"], "failed");
        assert_eq!(json["deploy_type"], "destructive");
        assert_eq!(json["started_at"], "2025-05-01T12:00:00.5Z");
        let stages = &json["sub_pipelines"][0]["stages"];
        assert_eq!(stages[0]["status"], "skipped");
        let step = &stages[1]["steps"][0];
        assert_eq!(step["exit_code"], 2);
        assert_eq!(step["duration_ms"], 1500);
        assert_eq!(step["log"], "logs/install/hook.log");
        assert_eq!(step["log_bytes"], 120);
        assert_eq!(json["gate"]["verdict"], "passed");
        assert_eq!(
            serde_json::to_value(RunStatus::WaitingForApproval).expect("json"),
            "waiting_for_approval"
        );
    }

    #[test]
    fn save_and_load_round_trip_atomically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let run_dir = dir.path().join("runs/run-1");
        let mut record = sample();
        record.save(&run_dir).expect("save");
        assert_eq!(RunRecord::load(&run_dir).expect("load"), record);
        record.status = RunStatus::Succeeded;
        record.save(&run_dir).expect("save again");
        assert_eq!(
            RunRecord::load(&run_dir).expect("load").status,
            RunStatus::Succeeded
        );
        assert!(!run_dir.join("record.json.tmp").exists());
        let names: Vec<_> = fs_err::read_dir(&run_dir)
            .expect("read dir")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["record.json"]);
    }

    #[test]
    fn a_broken_record_names_its_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs_err::write(dir.path().join("record.json"), "{").expect("write");
        let error = RunRecord::load(dir.path()).expect_err("broken");
        assert!(
            error
                .to_string()
                .contains("record.json: not a valid run record"),
            "{error}"
        );
    }

    #[test]
    fn masked_hides_secrets_in_free_text() {
        let mut record = sample();
        record.notes.push("hook printed pa55word".to_string());
        record.gate = Some(serde_json::json!({"message": ["uses pa55word"], "count": 1}));
        let masked = record.masked(&Masker::new(["pa55word"]));
        assert_eq!(masked.notes[1], "hook printed ***");
        assert_eq!(
            masked.gate,
            Some(serde_json::json!({"message": ["uses ***"], "count": 1}))
        );
        assert_eq!(masked.notes[0], record.notes[0]);
    }
}
