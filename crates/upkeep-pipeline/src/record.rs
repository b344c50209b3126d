//! The machine-readable record of one run, `<run dir>/record.json`: what ran, how it ended,
//! when, where each step's log is, the gate's verdict, the approval and the image. The runner
//! writes it as the run goes; the CLI, a server or a CI reads it. Its JSON is versioned
//! ([`RECORD_VERSION`]); a record of another version is refused with a message saying so.
//!
//! ```
//! use upkeep_pipeline::record::{RunId, RunKind, RunRecord, RunStatus};
//! let started: jiff::Timestamp = "2025-05-01T12:00:00Z".parse()?;
//! let mut record = RunRecord::new(RunId::new(started, 7), RunKind::Pipeline, "staging");
//! assert_eq!(record.pipeline, "*** staging Pipeline ***");
//! record.status = RunStatus::Running;
//! let dir = tempfile::tempdir()?;
//! record.save(dir.path())?;
//! assert_eq!(RunRecord::load(dir.path())?, record);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::executor::{StepOutcome, StepStatus};
use crate::mask::Masker;
use crate::project_file::{DeployType, GatePolicy, Stage};
use crate::runtime::Runtime;

/// The file name of the record inside the run directory.
pub const RECORD_FILE: &str = "record.json";

/// The version of the record's JSON this code writes and reads. Version 1 (no `version` field)
/// was written before run ids, kinds and the gate summary were typed.
pub const RECORD_VERSION: u32 = 2;

/// A run's id: `20250501T120000.123Z-00c0ffee`, the start time to the millisecond (so ids sort
/// by start) and a random tail (so two runs started in the same millisecond differ). Nothing is
/// parsed out of it: the environment and the kind of the run are fields of the record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

impl RunId {
    /// The id of a run started at `started`, with `tail` to tell apart runs of one millisecond.
    pub fn new(started: Timestamp, tail: u32) -> Self {
        Self(format!(
            "{}-{tail:08x}",
            started.strftime("%Y%m%dT%H%M%S%.3fZ")
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A run id given by a user or read from a file that is not one (it could name a path outside
/// the runs directory).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a run id (ids look like 20250501T120000.123Z-00c0ffee)")]
pub struct InvalidRunId(pub String);

impl FromStr for RunId {
    type Err = InvalidRunId;

    /// Accepts any id made of letters, digits, `.`, `-` and `_` (ids of version 1 records
    /// included), never a path.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid = !text.is_empty()
            && text.len() <= 128
            && !text.starts_with('.')
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if valid {
            Ok(Self(text.to_string()))
        } else {
            Err(InvalidRunId(text.to_string()))
        }
    }
}

impl TryFrom<String> for RunId {
    type Error = InvalidRunId;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> Self {
        id.0
    }
}

/// What was started: the main pipeline, or one of its parts on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// `*** <env> Pipeline ***`: Build → Quality gate → Approval → Deployment.
    Pipeline,
    /// `upkeep build`: Build → Quality gate → Approval, ending with the image promoted.
    Build,
    /// `upkeep deploy`: the Deployment sub-pipeline of a promoted image.
    Deployment,
    /// `upkeep deploy rollback`: the switch back to an earlier release.
    Rollback,
}

impl RunKind {
    pub const ALL: [RunKind; 4] = [
        Self::Pipeline,
        Self::Build,
        Self::Deployment,
        Self::Rollback,
    ];

    /// The name in the record's JSON (and in a database column).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pipeline => "pipeline",
            Self::Build => "build",
            Self::Deployment => "deployment",
            Self::Rollback => "rollback",
        }
    }

    /// The kind of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The pipeline name shown to people, e.g. `*** staging Pipeline ***`.
    pub fn pipeline_name(self, environment: &str) -> String {
        match self {
            Self::Pipeline => format!("*** {environment} Pipeline ***"),
            Self::Build => format!("Build of {environment}"),
            Self::Deployment => format!("Deployment of {environment}"),
            Self::Rollback => format!("Rollback of {environment}"),
        }
    }
}

/// The state of a run, a sub-pipeline, a stage or a step. Not every state fits everything:
/// `Queued`, `WaitingForApproval`, `Rejected` and `Interrupted` are for runs, `TimedOut` is for
/// steps, `Skipped` is for what did not run (a deployment after a failed gate, pre-deploy on a
/// first deployment).
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
    /// Approval was refused: nothing was deployed.
    Rejected,
    /// The process running it ended without finishing it (killed, machine stopped).
    Interrupted,
}

impl RunStatus {
    pub const ALL: [RunStatus; 10] = [
        Self::Queued,
        Self::Running,
        Self::WaitingForApproval,
        Self::Succeeded,
        Self::Failed,
        Self::TimedOut,
        Self::Cancelled,
        Self::Skipped,
        Self::Rejected,
        Self::Interrupted,
    ];

    /// The name in the record's JSON (and in a database column).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::WaitingForApproval => "waiting_for_approval",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::Cancelled => "cancelled",
            Self::Skipped => "skipped",
            Self::Rejected => "rejected",
            Self::Interrupted => "interrupted",
        }
    }

    /// The status of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }

    /// Whether nothing more happens to a run in this state (waiting runs can still go on).
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            Self::Queued | Self::Running | Self::WaitingForApproval
        )
    }

    /// How a sentence says it: "run X {word}".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Queued => "is queued",
            Self::Running => "is running",
            Self::WaitingForApproval => "waits for approval",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed out",
            Self::Cancelled => "was cancelled",
            Self::Skipped => "was skipped",
            Self::Rejected => "was rejected",
            Self::Interrupted => "was interrupted",
        }
    }
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

/// The sub-pipelines a run records, in running order. Approval is not one: it is state of the
/// run ([`ApprovalRecord`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubPipelineKind {
    Build,
    #[serde(rename = "Quality gate")]
    QualityGate,
    Deployment,
    Rollback,
}

impl SubPipelineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Build => "Build",
            Self::QualityGate => "Quality gate",
            Self::Deployment => "Deployment",
            Self::Rollback => "Rollback",
        }
    }
}

impl fmt::Display for SubPipelineKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The stages a run records; each has one log directory, `logs/<stage>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageKind {
    Build,
    QualityGate,
    PreDeploy,
    Install,
    PostDeploy,
    /// The switch of `current` by a rollback.
    Switch,
}

impl StageKind {
    /// Every stage, in the order a run goes through them.
    pub const ALL: [StageKind; 6] = [
        Self::Build,
        Self::QualityGate,
        Self::PreDeploy,
        Self::Install,
        Self::PostDeploy,
        Self::Switch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Build => "build",
            Self::QualityGate => "quality-gate",
            Self::PreDeploy => "pre-deploy",
            Self::Install => "install",
            Self::PostDeploy => "post-deploy",
            Self::Switch => "switch",
        }
    }
}

impl fmt::Display for StageKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl From<Stage> for StageKind {
    fn from(stage: Stage) -> Self {
        match stage {
            Stage::Build => Self::Build,
            Stage::PreDeploy => Self::PreDeploy,
            Stage::Install => Self::Install,
            Stage::PostDeploy => Self::PostDeploy,
        }
    }
}

impl FromStr for StageKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|stage| stage.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown stage `{text}`; the stages are {}",
                    Self::ALL.map(StageKind::as_str).join(", ")
                )
            })
    }
}

/// What the quality gate said about the built tree, and what that meant for the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateSummary {
    /// The environment's policy the verdict was reached under.
    pub policy: GatePolicy,
    /// Whether the gate ran and found no error.
    pub passed: bool,
    pub verdict: GateVerdict,
    pub findings: usize,
    pub errors: usize,
    pub warnings: usize,
    /// The JSON report, relative to the run directory.
    pub report: Option<PathBuf>,
    /// Why the gate could not run, when it could not.
    pub error: Option<String>,
}

/// The gate's result under the environment's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateVerdict {
    /// No error: the image may be promoted.
    Passed,
    /// Errors, but the policy is `warn`: the image may be promoted, with a note.
    Warned,
    /// Errors (or the gate could not run) and the policy is `block`: never promoted.
    Blocked,
    /// The policy is `off`: the gate did not run.
    Skipped,
}

impl GateVerdict {
    /// The name in the record's JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Warned => "warned",
            Self::Blocked => "blocked",
            Self::Skipped => "skipped",
        }
    }

    /// Whether the image of the run may go on towards deployment.
    pub fn allows_promotion(self) -> bool {
        !matches!(self, Self::Blocked)
    }
}

/// The approval of a run's deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub decision: ApprovalDecision,
    /// Who decided (the user name of the approving process, or a server account).
    pub by: Option<String>,
    #[serde(with = "optional_timestamp")]
    pub at: Option<Timestamp>,
    /// How: `--approve` on the command line, `upkeep pipeline approve`, the web UI.
    pub via: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    Pending,
    Approved,
    Rejected,
}

/// The image a run built or deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The tag it was built or asked for by, e.g. `staging-0123456789ab`.
    pub reference: String,
    /// `sha256:…` of its manifest.
    pub digest: String,
    /// The environment it was built for (its deploy file's environment went into it).
    pub environment: Option<String>,
    /// Whether this run promoted it (made it deployable for its environment).
    pub promoted: bool,
    /// Where Build pushed it, pinned by digest (`registry.example.com/shop/app:staging-…@sha256:…`),
    /// when the environment has a registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed: Option<String>,
}

/// Who drives a run: a process on a machine since a boot. Process ids are reused, so the
/// process's start time (in clock ticks since boot) tells it apart from a later one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    pub pid: u32,
    pub host: String,
    /// `/proc/sys/kernel/random/boot_id`.
    pub boot_id: String,
    /// Field 22 of `/proc/<pid>/stat`.
    pub start_ticks: u64,
}

/// A rollback's switch: the release that was active and the one active now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackRecord {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`RECORD_VERSION`].
    pub version: u32,
    pub run_id: RunId,
    pub kind: RunKind,
    /// `*** <environment> Pipeline ***`, or the part run alone (`Deployment of staging`).
    pub pipeline: String,
    pub environment: String,
    /// Who started the run (the user name of the process, or a server account).
    pub requested_by: Option<String>,
    pub commit: Option<String>,
    pub deploy_type: Option<DeployType>,
    pub status: RunStatus,
    #[serde(with = "optional_timestamp")]
    pub started_at: Option<Timestamp>,
    #[serde(with = "optional_timestamp")]
    pub finished_at: Option<Timestamp>,
    /// Build, Quality gate, Deployment (or Rollback), in running order.
    pub sub_pipelines: Vec<SubPipelineRecord>,
    /// The quality gate's verdict.
    pub gate: Option<GateSummary>,
    pub approval: Option<ApprovalRecord>,
    pub image: Option<ImageRecord>,
    /// Set when an image built for another environment was deployed (`--from-env`).
    pub from_environment: Option<String>,
    /// The guard rails a person overrode for this run (`--force`), each said in words.
    pub overrides: Vec<String>,
    pub rollback: Option<RollbackRecord>,
    /// Where the run stands in its plan; a waiting run goes on from here in a later process.
    pub runtime: Option<Runtime>,
    /// The process driving the run, so that a reader can tell a run whose process was killed
    /// (it stays `running` on disk) from one that goes on.
    #[serde(default)]
    pub process: Option<ProcessRecord>,
    /// Things a reader should know, such as "pre-deploy skipped: first deployment".
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubPipelineRecord {
    pub name: SubPipelineKind,
    pub status: RunStatus,
    pub stages: Vec<StageRecord>,
}

impl SubPipelineRecord {
    pub fn new(name: SubPipelineKind, status: RunStatus) -> Self {
        Self {
            name,
            status,
            stages: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    pub name: StageKind,
    pub status: RunStatus,
    pub steps: Vec<StepRecord>,
}

impl StageRecord {
    /// A stage that did not run.
    pub fn skipped(name: StageKind) -> Self {
        Self {
            name,
            status: RunStatus::Skipped,
            steps: Vec::new(),
        }
    }
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
    /// Relative to the run directory, e.g. `logs/install/install.log`.
    pub log: Option<PathBuf>,
    pub log_bytes: u64,
}

impl StepRecord {
    /// The record of a step that has started and not finished; its log is being written.
    pub fn running(name: impl Into<String>, started_at: Timestamp, log: PathBuf) -> Self {
        Self {
            name: name.into(),
            status: RunStatus::Running,
            exit_code: None,
            started_at: Some(started_at),
            finished_at: None,
            duration_ms: None,
            log: Some(log),
            log_bytes: 0,
        }
    }

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
    /// A queued run of `kind` in `environment`.
    pub fn new(run_id: RunId, kind: RunKind, environment: impl Into<String>) -> Self {
        let environment = environment.into();
        Self {
            version: RECORD_VERSION,
            run_id,
            kind,
            pipeline: kind.pipeline_name(&environment),
            environment,
            requested_by: None,
            commit: None,
            deploy_type: None,
            status: RunStatus::Queued,
            started_at: None,
            finished_at: None,
            sub_pipelines: Vec::new(),
            gate: None,
            approval: None,
            image: None,
            from_environment: None,
            overrides: Vec::new(),
            rollback: None,
            runtime: None,
            process: None,
            notes: Vec::new(),
        }
    }

    /// The record's path inside a run directory.
    pub fn path(run_dir: &Path) -> PathBuf {
        run_dir.join(RECORD_FILE)
    }

    /// The sub-pipeline of this kind, when the run has reached it.
    pub fn sub_pipeline_mut(&mut self, kind: SubPipelineKind) -> Option<&mut SubPipelineRecord> {
        self.sub_pipelines.iter_mut().find(|sub| sub.name == kind)
    }

    /// Gives every sub-pipeline, stage and step still `running` the status `ended` (the run
    /// ended without them finishing: an error, a process that is gone).
    pub fn end_unfinished(&mut self, ended: RunStatus) {
        for sub in &mut self.sub_pipelines {
            for stage in &mut sub.stages {
                for step in stage
                    .steps
                    .iter_mut()
                    .filter(|step| step.status == RunStatus::Running)
                {
                    step.status = ended;
                }
                if stage.status == RunStatus::Running {
                    stage.status = ended;
                }
            }
            if sub.status == RunStatus::Running {
                sub.status = ended;
            }
        }
    }

    /// Every step of the run, with its stage, in running order.
    pub fn steps(&self) -> impl Iterator<Item = (StageKind, &StepRecord)> {
        self.sub_pipelines
            .iter()
            .flat_map(|sub| &sub.stages)
            .flat_map(|stage| stage.steps.iter().map(move |step| (stage.name, step)))
    }

    /// Writes `record.json` atomically: a reader sees the old or the new record, never half.
    pub fn save(&self, run_dir: &Path) -> Result<(), RecordError> {
        let mut json = serde_json::to_vec_pretty(self).map_err(RecordError::Encode)?;
        json.push(b'\n');
        fs_err::create_dir_all(run_dir)?;
        let temporary = run_dir.join(format!("{RECORD_FILE}.tmp"));
        let write = || -> io::Result<()> {
            let mut file = fs_err::File::create(&temporary)?;
            file.write_all(&json)?;
            file.sync_all()?;
            drop(file);
            fs_err::rename(&temporary, Self::path(run_dir))
        };
        write().inspect_err(|_| {
            // A full disk must not leave a half-written temporary file behind.
            let _ = fs_err::remove_file(&temporary);
        })?;
        Ok(())
    }

    /// Reads a record; one of another version is refused with a message that says which.
    pub fn load(run_dir: &Path) -> Result<Self, RecordError> {
        #[derive(Deserialize)]
        struct Versioned {
            #[serde(default = "version_one")]
            version: u32,
        }
        fn version_one() -> u32 {
            1
        }
        let path = Self::path(run_dir);
        let text = fs_err::read_to_string(&path)?;
        let versioned: Versioned =
            serde_json::from_str(&text).map_err(|source| RecordError::Decode {
                path: path.clone(),
                source,
            })?;
        if versioned.version != RECORD_VERSION {
            return Err(RecordError::Version {
                path,
                found: versioned.version,
            });
        }
        serde_json::from_str(&text).map_err(|source| RecordError::Decode { path, source })
    }

    /// A copy with secret values masked in every free text: notes, names, the commit and the
    /// strings of the gate summary.
    #[must_use]
    pub fn masked(&self, masker: &Masker) -> Self {
        let mut record = self.clone();
        for note in record.notes.iter_mut().chain(&mut record.overrides) {
            *note = masker.mask_text(note);
        }
        if let Some(commit) = &mut record.commit {
            *commit = masker.mask_text(commit);
        }
        for sub_pipeline in &mut record.sub_pipelines {
            for stage in &mut sub_pipeline.stages {
                for step in &mut stage.steps {
                    step.name = masker.mask_text(&step.name);
                }
            }
        }
        if let Some(error) = record.gate.as_mut().and_then(|gate| gate.error.as_mut()) {
            *error = masker.mask_text(error);
        }
        record
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
    #[error(
        "{}: a run record of format version {found}, which this upkeep (format {RECORD_VERSION}) cannot read; its logs are beside it in logs/",
        path.display()
    )]
    Version { path: PathBuf, found: u32 },
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
        let mut record = RunRecord::new(RunId::new(started, 1), RunKind::Pipeline, "staging");
        record.commit = Some("0123abc".to_string());
        record.deploy_type = Some(DeployType::Destructive);
        record.status = RunStatus::Failed;
        record.started_at = Some(started);
        record.finished_at = Some(finished);
        record.sub_pipelines.push(SubPipelineRecord {
            name: SubPipelineKind::Deployment,
            status: RunStatus::Failed,
            stages: vec![
                StageRecord::skipped(StageKind::PreDeploy),
                StageRecord {
                    name: StageKind::Install,
                    status: RunStatus::Failed,
                    steps: vec![StepRecord::finished(
                        "install",
                        &outcome,
                        "logs/install/install.log".into(),
                        120,
                    )],
                },
            ],
        });
        record.gate = Some(GateSummary {
            policy: GatePolicy::Block,
            passed: true,
            verdict: GateVerdict::Passed,
            findings: 0,
            errors: 0,
            warnings: 0,
            report: Some("gate-report.json".into()),
            error: None,
        });
        record
            .notes
            .push("pre-deploy skipped: first deployment".to_string());
        record
    }

    #[test]
    fn serializes_to_the_documented_json() {
        let json = serde_json::to_value(sample()).expect("json");
        assert_eq!(json["version"], 2);
        assert_eq!(json["run_id"], "20250501T120000.500Z-00000001");
        assert_eq!(json["kind"], "pipeline");
        assert_eq!(json["pipeline"], "*** staging Pipeline ***");
        assert_eq!(json["status"], "failed");
        assert_eq!(json["deploy_type"], "destructive");
        assert_eq!(json["started_at"], "2025-05-01T12:00:00.5Z");
        assert_eq!(json["sub_pipelines"][0]["name"], "Deployment");
        let stages = &json["sub_pipelines"][0]["stages"];
        assert_eq!(stages[0]["name"], "pre-deploy");
        assert_eq!(stages[0]["status"], "skipped");
        let step = &stages[1]["steps"][0];
        assert_eq!(step["exit_code"], 2);
        assert_eq!(step["duration_ms"], 1500);
        assert_eq!(step["log"], "logs/install/install.log");
        assert_eq!(step["log_bytes"], 120);
        assert_eq!(json["gate"]["verdict"], "passed");
        assert_eq!(json["gate"]["passed"], true);
        assert_eq!(json["gate"]["policy"], "block");
        assert_eq!(
            serde_json::to_value(RunStatus::WaitingForApproval).expect("json"),
            "waiting_for_approval"
        );
        assert_eq!(
            serde_json::to_value(SubPipelineKind::QualityGate).expect("json"),
            "Quality gate"
        );
    }

    #[test]
    fn status_and_kind_names_are_their_json_names() {
        for status in RunStatus::ALL {
            assert_eq!(serde_json::to_value(status).expect("json"), status.as_str());
            assert_eq!(RunStatus::from_name(status.as_str()), Some(status));
        }
        for kind in RunKind::ALL {
            assert_eq!(serde_json::to_value(kind).expect("json"), kind.as_str());
            assert_eq!(RunKind::from_name(kind.as_str()), Some(kind));
        }
        for verdict in [
            GateVerdict::Passed,
            GateVerdict::Warned,
            GateVerdict::Blocked,
            GateVerdict::Skipped,
        ] {
            assert_eq!(
                serde_json::to_value(verdict).expect("json"),
                verdict.as_str()
            );
        }
    }

    #[test]
    fn run_ids_sort_by_start_and_are_never_paths() {
        let early: Timestamp = "2025-05-01T12:00:00Z".parse().expect("timestamp");
        let late: Timestamp = "2025-05-01T12:00:00.001Z".parse().expect("timestamp");
        assert!(RunId::new(early, u32::MAX) < RunId::new(late, 0));
        assert_ne!(RunId::new(early, 1), RunId::new(early, 2));
        for bad in ["", "../x", "a/b", ".hidden", "/etc", "a b"] {
            assert!(bad.parse::<RunId>().is_err(), "{bad:?}");
        }
        let id = RunId::new(early, 3);
        assert_eq!(id.as_str().parse::<RunId>().expect("parse"), id);
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
    fn a_record_of_the_first_format_is_refused_with_its_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs_err::write(
            dir.path().join("record.json"),
            r#"{"run_id":"20250501T120000.000Z-staging-42","pipeline":"*** staging Pipeline ***","environment":"staging","status":"succeeded","gate":{"passed":true}}"#,
        )
        .expect("write");
        let error = RunRecord::load(dir.path()).expect_err("old");
        assert!(
            error.to_string().contains(
                "a run record of format version 1, which this upkeep (format 2) cannot read"
            ),
            "{error}"
        );
    }

    #[test]
    fn masked_hides_secrets_in_free_text() {
        let mut record = sample();
        record.notes.push("hook printed pa55word".to_string());
        if let Some(gate) = &mut record.gate {
            gate.error = Some("cannot read pa55word".to_string());
        }
        let masked = record.masked(&Masker::new(["pa55word"]));
        assert_eq!(masked.notes[1], "hook printed ***");
        assert_eq!(
            masked.gate.and_then(|gate| gate.error).as_deref(),
            Some("cannot read ***")
        );
        assert_eq!(masked.notes[0], record.notes[0]);
    }
}
