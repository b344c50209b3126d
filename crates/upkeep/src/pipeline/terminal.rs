//! The terminal observer: progress and notes on standard error as `upkeep: …` lines, step
//! output as `  | …` lines unless `--quiet`. Data (ids, digests, logs) goes to standard output
//! through the commands, never through here.

use std::io::Write as _;
use std::path::PathBuf;

use upkeep_pipeline::log_store::LogLine;
use upkeep_pipeline::record::{RunRecord, StageKind};
use upkeep_runner::RunObserver;

pub struct TerminalObserver {
    /// Echo step output as it arrives.
    pub echo: bool,
    /// Where the runs are, to say where a record is.
    pub runs_dir: PathBuf,
}

impl TerminalObserver {
    fn say(text: &str) {
        let _ = writeln!(std::io::stderr().lock(), "upkeep: {text}");
    }
}

impl RunObserver for TerminalObserver {
    fn message(&self, text: &str) {
        Self::say(text);
    }

    fn run_started(&self, record: &RunRecord) {
        Self::say(&format!("{} run {}", record.pipeline, record.run_id));
    }

    fn step_line(&self, _stage: StageKind, line: &LogLine) {
        if self.echo {
            let _ = writeln!(std::io::stderr().lock(), "  | {}", line.text);
        }
    }

    fn gate_blocked(&self, report: &str) {
        let _ = write!(std::io::stderr().lock(), "{report}");
    }

    fn waiting_for_approval(&self, record: &RunRecord) {
        Self::say(&format!(
            "environment `{}` requires approval; to deploy this build: upkeep pipeline approve --env {} --run {} (or reject it)",
            record.environment, record.environment, record.run_id
        ));
    }

    fn run_finished(&self, record: &RunRecord) {
        Self::say(&format!(
            "run {} {}; record: {}",
            record.run_id,
            record.status.describe(),
            self.runs_dir
                .join(record.run_id.as_str())
                .join(upkeep_pipeline::record::RECORD_FILE)
                .display()
        ));
    }
}
