//! The Quality gate sub-pipeline: the gate on the built tree. Its result becomes state of the
//! run (the runtime applies the environment's policy to it); the JSON report is kept in the run
//! directory and the text report is the step's log.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use upkeep_gate::inputs::GateInputs;
use upkeep_gate::report::{Format, RenderOptions, render};
use upkeep_gate::{GateOptions, Severity};
use upkeep_pipeline::log_store::{LineSink, LogLine, LogStore, Stream};
use upkeep_pipeline::project_file::GatePolicy;
use upkeep_pipeline::record::{
    GateSummary, GateVerdict, RunStatus, StageKind, StageRecord, StepRecord, SubPipelineKind,
    SubPipelineRecord,
};
use upkeep_pipeline::runtime::GateResult;

use crate::error::RunError;
use crate::observer::RunObserver;
use crate::session::RunSession;

/// The gate's JSON report, in the run directory.
pub const REPORT_FILE: &str = "gate-report.json";

/// What the gate said: its result, and its text report for a reader.
pub struct Checked {
    pub result: GateResult,
    pub text: String,
}

/// Runs the gate on `tree` and records it; with policy `off` records that it did not run.
pub fn run(
    session: &RunSession,
    tree: &Path,
    policy: GatePolicy,
    observer: &dyn RunObserver,
) -> Result<Checked, RunError> {
    if policy == GatePolicy::Off {
        session.update(|record| {
            record.sub_pipelines.push(SubPipelineRecord::new(
                SubPipelineKind::QualityGate,
                RunStatus::Skipped,
            ));
            record
                .notes
                .push("quality gate off for this environment".to_string());
            record.gate = Some(summary(policy, GateVerdict::Skipped));
        })?;
        return Ok(Checked {
            result: GateResult::Skipped,
            text: String::new(),
        });
    }
    observer.message(&format!(
        "quality gate: checking the built tree (policy: {policy})"
    ));
    let step = StageKind::QualityGate.as_str();
    let relative_log = LogStore::relative_step_log_path(step, "gate");
    let started = Timestamp::now();
    let running = StepRecord::running("gate", started, relative_log.clone());
    // Recorded before the gate runs, so that `pipeline logs` finds the step while it does.
    session.update(|record| {
        record.sub_pipelines.push(SubPipelineRecord {
            name: SubPipelineKind::QualityGate,
            status: RunStatus::Running,
            stages: vec![StageRecord {
                name: StageKind::QualityGate,
                status: RunStatus::Running,
                steps: vec![running.clone()],
            }],
        });
    })?;
    let mut log = session.logs.create_step_log(step, "gate")?;
    let (result, text, mut gate) = check(tree, policy, session.dir())?;
    for line in text.lines() {
        log.write_line(&LogLine::now(Stream::Stdout, line))
            .map_err(|error| RunError::io("write", session.dir().join(&relative_log), error))?;
    }
    let log_bytes = log.finish()?;
    let finished = Timestamp::now();
    let status = if result == GateResult::Passed {
        RunStatus::Succeeded
    } else {
        RunStatus::Failed
    };
    gate.passed = result == GateResult::Passed;
    let stage = StageRecord {
        name: StageKind::QualityGate,
        status,
        steps: vec![StepRecord {
            status,
            exit_code: Some(i32::from(status != RunStatus::Succeeded)),
            finished_at: Some(finished),
            duration_ms: u64::try_from(started.duration_until(finished).as_millis()).ok(),
            log_bytes,
            ..running
        }],
    };
    session.update(|record| {
        if let Some(sub) = record.sub_pipeline_mut(SubPipelineKind::QualityGate) {
            sub.status = status;
            sub.stages = vec![stage.clone()];
        }
        record.gate = Some(gate);
    })?;
    observer.stage_finished(&stage);
    Ok(Checked { result, text })
}

/// Records the verdict the runtime reached under the policy, with a note a reader understands.
pub fn record_verdict(
    session: &RunSession,
    verdict: GateVerdict,
    checked: &Checked,
    observer: &dyn RunObserver,
) -> Result<(), RunError> {
    let note = match verdict {
        GateVerdict::Passed => {
            observer.message("quality gate passed");
            None
        }
        GateVerdict::Skipped => None,
        GateVerdict::Warned => Some(
            "quality gate failed; the environment's policy is `warn`, so the deployment goes on",
        ),
        GateVerdict::Blocked => {
            Some("quality gate failed; the environment's policy is `block`, so nothing is deployed")
        }
    };
    if let Some(note) = note {
        observer.message(note);
    }
    if verdict == GateVerdict::Blocked {
        observer.gate_blocked(&checked.text);
    }
    session.update(|record| {
        if let Some(gate) = &mut record.gate {
            gate.verdict = verdict;
        }
        record.notes.extend(note.map(str::to_string));
    })
}

fn summary(policy: GatePolicy, verdict: GateVerdict) -> GateSummary {
    GateSummary {
        policy,
        passed: false,
        verdict,
        findings: 0,
        errors: 0,
        warnings: 0,
        report: None,
        error: None,
    }
}

/// Runs the gate: its result, its text report and the summary kept in the run record. The
/// verdict is filled in once the policy is applied.
fn check(
    tree: &Path,
    policy: GatePolicy,
    run_dir: &Path,
) -> Result<(GateResult, String, GateSummary), RunError> {
    // The gate's inputs come from the built tree alone (no host PHP, no npm audit over the
    // network), so that the verdict does not depend on the machine that ran it.
    let options = GateOptions {
        root: tree.to_path_buf(),
        inputs: GateInputs {
            deploy_files: crate::gate_inputs::deploy_files(tree),
            ..GateInputs::default()
        },
        ..GateOptions::default()
    };
    let mut summary = summary(policy, GateVerdict::Blocked);
    let report = match upkeep_gate::run(&options) {
        Ok(report) => report,
        Err(error) => {
            let text = format!("error: the gate could not run: {error}\n");
            summary.error = Some(error.to_string());
            return Ok((GateResult::Error, text, summary));
        }
    };
    let plain = RenderOptions { color: false };
    let report_path = run_dir.join(REPORT_FILE);
    fs_err::write(&report_path, render(&report, Format::Json, &plain))
        .map_err(|error| RunError::io("write", &report_path, error))?;
    let count = |severity| {
        report
            .findings
            .iter()
            .filter(|finding| finding.severity == severity)
            .count()
    };
    summary.findings = report.findings.len();
    summary.errors = count(Severity::Error);
    summary.warnings = count(Severity::Warning);
    summary.report = Some(PathBuf::from(REPORT_FILE));
    let result = if report.has_errors() {
        GateResult::Failed
    } else {
        GateResult::Passed
    };
    Ok((result, render(&report, Format::Text, &plain), summary))
}
