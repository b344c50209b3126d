//! The Quality gate sub-pipeline: the gate on the built tree. Its result becomes state of the
//! run (the runtime applies the environment's policy to it); the JSON report is kept in the run
//! directory, each finding with a source excerpt, and the text report is the step's log.

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

/// Lines kept before and after a finding's line in its excerpt.
const EXCERPT_CONTEXT: usize = 2;
/// Characters kept of each excerpt line: one line of a minified file must not fill the report.
const EXCERPT_LINE_CHARS: usize = 400;

/// The JSON report with an `excerpt` for each finding — `{"first_line", "lines"}`, its line
/// with up to [`EXCERPT_CONTEXT`] lines around it — read from the tree while it is there: the
/// checkout goes once the image is built and checked, and a reader of the report later (the
/// web UI) has no other source. A file that cannot be read gets no excerpt.
fn with_excerpts(json: &str, tree: &Path) -> String {
    let Ok(mut document) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_string();
    };
    let mut files: std::collections::HashMap<String, Option<Vec<String>>> =
        std::collections::HashMap::new();
    let findings = document["findings"].as_array_mut().into_iter().flatten();
    for finding in findings {
        let (Some(file), Some(line)) = (finding["file"].as_str(), finding["line"].as_u64()) else {
            continue;
        };
        let lines = files
            .entry(file.to_string())
            .or_insert_with(|| source_lines(tree, file));
        if let Some((first_line, lines)) = lines.as_deref().and_then(|lines| excerpt(lines, line)) {
            finding["excerpt"] = serde_json::json!({ "first_line": first_line, "lines": lines });
        }
    }
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_else(|_| json.to_string());
    text.push('\n');
    text
}

/// The excerpt of 1-based `line` among a file's `lines`: the number of its first line, and the
/// line with up to [`EXCERPT_CONTEXT`] lines around it; `None` past the end.
pub fn excerpt(lines: &[String], line: u64) -> Option<(u64, &[String])> {
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    if index >= lines.len() {
        return None;
    }
    let first = index.saturating_sub(EXCERPT_CONTEXT);
    let last = (index + EXCERPT_CONTEXT).min(lines.len() - 1);
    Some((first as u64 + 1, &lines[first..=last]))
}

/// The lines of a file of the tree (each cut to [`EXCERPT_LINE_CHARS`]); `None` for a path
/// that leaves the tree or a file that cannot be read.
pub fn source_lines(tree: &Path, file: &str) -> Option<Vec<String>> {
    let relative = Path::new(file);
    let inside = relative
        .components()
        .all(|component| matches!(component, std::path::Component::Normal(_)));
    if !inside {
        return None;
    }
    let bytes = fs_err::read(tree.join(relative)).ok()?;
    Some(
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|line| line.chars().take(EXCERPT_LINE_CHARS).collect())
            .collect(),
    )
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
    let json = with_excerpts(&render(&report, Format::Json, &plain), tree);
    fs_err::write(&report_path, json)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_get_their_line_with_two_around_it_from_the_tree() {
        let root = tempfile::tempdir().expect("tempdir");
        let tree = root.path().join("tree");
        let source: Vec<String> = (1..=10).map(|n| format!("line {n}")).collect();
        fs_err::create_dir_all(tree.join("src")).expect("mkdir");
        fs_err::write(tree.join("src/A.php"), source.join("\n")).expect("write");
        fs_err::write(tree.join("long.php"), "x".repeat(1000)).expect("write");
        fs_err::write(root.path().join("outside.php"), "secret").expect("write");
        let report = serde_json::json!({
            "findings": [
                { "file": "src/A.php", "line": 1 },
                { "file": "src/A.php", "line": 5 },
                { "file": "src/A.php", "line": 10 },
                { "file": "src/A.php", "line": 11 },
                { "file": "missing.php", "line": 1 },
                { "file": "../outside.php", "line": 1 },
                { "file": "long.php", "line": 1 },
            ],
            "summary": { "findings": 7 },
        });
        let written = with_excerpts(&report.to_string(), &tree);
        let document: serde_json::Value = serde_json::from_str(&written).expect("json");
        let excerpt = |index: usize| document["findings"][index]["excerpt"].clone();
        assert_eq!(
            excerpt(0),
            serde_json::json!({ "first_line": 1, "lines": ["line 1", "line 2", "line 3"] })
        );
        assert_eq!(
            excerpt(1),
            serde_json::json!({
                "first_line": 3,
                "lines": ["line 3", "line 4", "line 5", "line 6", "line 7"],
            })
        );
        assert_eq!(
            excerpt(2),
            serde_json::json!({ "first_line": 8, "lines": ["line 8", "line 9", "line 10"] })
        );
        for index in 3..=5 {
            assert!(excerpt(index).is_null(), "{index}: {}", excerpt(index));
        }
        assert_eq!(
            excerpt(6)["lines"][0].as_str().map(str::len),
            Some(EXCERPT_LINE_CHARS)
        );
        assert_eq!(document["summary"], report["summary"]);
        assert!(written.ends_with("}\n"));
        // Not JSON: kept as it is.
        assert_eq!(with_excerpts("oops", &tree), "oops");
    }
}
