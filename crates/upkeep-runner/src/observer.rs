//! Where a run's progress goes: every message, step line, stage change, "waiting for approval"
//! and the end of a run pass through a [`RunObserver`]. The terminal is one observer (in the
//! binary); the server's live view will be another. Texts arrive masked.

use upkeep_pipeline::log_store::LogLine;
use upkeep_pipeline::record::{RunRecord, StageKind, StageRecord, StepRecord};

pub trait RunObserver {
    /// A line of upkeep's own about the run.
    fn message(&self, text: &str);

    /// A run was created (its record exists).
    fn run_started(&self, _record: &RunRecord) {}

    /// A stage's step started; its log is being written.
    fn stage_started(&self, _stage: StageKind, _step: &StepRecord) {}

    /// A line a step printed, as it was logged.
    fn step_line(&self, _stage: StageKind, _line: &LogLine) {}

    /// A stage ended or was skipped.
    fn stage_finished(&self, _record: &StageRecord) {}

    /// The text report of a quality gate that blocked the run.
    fn gate_blocked(&self, _report: &str) {}

    /// The run stopped to wait for approval; it goes on when someone decides.
    fn waiting_for_approval(&self, _record: &RunRecord) {}

    /// The run ended, or stopped waiting: its record as saved.
    fn run_finished(&self, _record: &RunRecord) {}
}

/// An observer that ignores everything (tests, and callers that only want the record).
pub struct Quiet;

impl RunObserver for Quiet {
    fn message(&self, _text: &str) {}
}
