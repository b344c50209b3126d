//! `upkeep pipeline run --env NAME`: an environment's main pipeline, `*** <env> Pipeline ***`:
//! Build → Quality gate → Approval (when required) → Deployment.

use std::path::Path;

use clap::Args;
use upkeep_gate::GateOptions;
use upkeep_gate::report::{Format, RenderOptions, render};
use upkeep_pipeline::log_store::LogWriter;
use upkeep_pipeline::project_file::{DeployType, GatePolicy};
use upkeep_pipeline::record::{RunStatus, StageRecord, StepRecord, SubPipelineRecord};

use super::build::build_sub_pipeline;
use super::context::ProjectContext;
use super::deploy::{deployment_sub_pipeline, outcome_of};
use super::session::RunSession;
use super::{CommandError, EnvironmentArgs, parse_deploy_type};
use crate::{Outcome, output};

/// The sub-pipelines of a main pipeline, which cannot be started on their own.
const SUB_PIPELINES: [&str; 3] = ["Build", "Quality gate", "Deployment"];

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// `normal` keeps data, `destructive` resets it (default: the environment's `deploy-type`).
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_deploy_type)]
    pub deploy_type: Option<DeployType>,

    /// The commit to build and deploy (a branch, tag or commit id).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub commit: String,

    /// Approve the deployment in advance, for environments with `approval: true`. Without it
    /// such a run stops before the deployment, waiting for approval.
    #[arg(long)]
    pub approve: bool,

    /// The pipeline to run; only the main pipeline (`*** <env> Pipeline ***`, the default) can be
    /// started, its sub-pipelines run as part of it.
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,

    /// Do not echo step output to standard error (it is still in the run's logs).
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &RunArgs) -> Result<Outcome, CommandError> {
    let context = ProjectContext::load(
        &args.environment.path,
        &args.environment.environment,
        args.environment.state_dir.as_deref(),
    )?;
    let main_pipeline = format!("*** {} Pipeline ***", context.environment.name);
    if let Some(name) = &args.pipeline {
        refuse_sub_pipeline(name, &main_pipeline, &context.environment.name)?;
    }
    let deploy_type = args.deploy_type.unwrap_or(context.environment.deploy_type);
    let echo = !args.quiet;
    let mut session = RunSession::start(&context, None)?;
    session.record.deploy_type = Some(deploy_type);
    eprintln!("upkeep: {main_pipeline} run {}", session.id());

    let built = build_sub_pipeline(&context, &mut session, &args.commit, echo)?;
    let Some(image) = built.image.clone() else {
        let _ = fs_err::remove_dir_all(&built.checkout);
        let status = session
            .record
            .sub_pipelines
            .last()
            .map_or(RunStatus::Failed, |build| build.status);
        skip_rest(&mut session, &["Quality gate", "Deployment"]);
        session.finish(status)?;
        return Ok(outcome_of(status));
    };

    let gate = quality_gate(&context, &mut session, &built.checkout);
    let _ = fs_err::remove_dir_all(&built.checkout);
    if gate? == RunStatus::Failed {
        skip_rest(&mut session, &["Deployment"]);
        session.finish(RunStatus::Failed)?;
        return Ok(Outcome::ProblemsFound);
    }

    if context.environment.approval && !args.approve {
        session.record.notes.push(format!(
            "waiting for approval before deploying image {}",
            image.reference
        ));
        session.finish(RunStatus::WaitingForApproval)?;
        eprintln!(
            "upkeep: environment `{}` requires approval; to deploy this build run: upkeep deploy --env {} --image {}",
            context.environment.name, context.environment.name, image.reference
        );
        writeln!(output::stdout(), "waiting for approval: {}", session.id());
        return Ok(Outcome::Success);
    }
    if context.environment.approval {
        session
            .record
            .notes
            .push("approved on the command line (--approve)".to_string());
    }

    let status = deployment_sub_pipeline(
        &context,
        &mut session,
        deploy_type,
        &image.reference,
        Some(built.exported),
        echo,
    )?;
    session.finish(status)?;
    Ok(outcome_of(status))
}

/// Sub-pipelines are visible but cannot be started alone.
fn refuse_sub_pipeline(
    name: &str,
    main_pipeline: &str,
    environment: &str,
) -> Result<(), CommandError> {
    if name == main_pipeline || name == "main" {
        return Ok(());
    }
    if SUB_PIPELINES
        .iter()
        .any(|sub| sub.eq_ignore_ascii_case(name))
    {
        return Err(CommandError::input(
            format!(
                "`{name}` is a sub-pipeline of `{main_pipeline}` and cannot be started on its own"
            ),
            format!("start the main pipeline: `upkeep pipeline run --env {environment}`"),
        ));
    }
    Err(CommandError::input(
        format!("environment `{environment}` has no pipeline named `{name}`"),
        format!("its pipeline is `{main_pipeline}`"),
    ))
}

/// Runs the gate on the built tree and applies the environment's policy. Returns the status of
/// the Quality gate sub-pipeline as far as the run is concerned: `Failed` only when it blocks.
fn quality_gate(
    context: &ProjectContext,
    session: &mut RunSession,
    checkout: &Path,
) -> Result<RunStatus, CommandError> {
    let policy = context.environment.gate;
    let mut sub_pipeline = SubPipelineRecord {
        name: "Quality gate".to_string(),
        status: RunStatus::Running,
        stages: Vec::new(),
    };
    if policy == GatePolicy::Off {
        sub_pipeline.status = RunStatus::Skipped;
        session.record.sub_pipelines.push(sub_pipeline);
        session
            .record
            .notes
            .push("quality gate off for this environment".to_string());
        session.save()?;
        return Ok(RunStatus::Skipped);
    }
    eprintln!("upkeep: quality gate: checking the built tree (policy: {policy})");
    let started = jiff::Timestamp::now();
    // Created before the gate runs, so that `pipeline logs` finds the step while it does.
    let log = session
        .logs
        .create_step_log("quality-gate", "gate")
        .map_err(|error| CommandError::environment(error.to_string()))?;
    let log_path = session.logs.step_log_path("quality-gate", "gate");
    let (status, text, summary) = check_built_tree(checkout, policy, &session.dir)?;
    let log_bytes = write_text_log(log, &text)?;
    let finished = jiff::Timestamp::now();
    sub_pipeline.stages.push(StageRecord {
        name: "quality-gate".to_string(),
        status,
        steps: vec![StepRecord {
            name: "gate".to_string(),
            status,
            exit_code: Some(i32::from(status != RunStatus::Succeeded)),
            started_at: Some(started),
            finished_at: Some(finished),
            duration_ms: u64::try_from(started.duration_until(finished).as_millis()).ok(),
            log: Some(
                upkeep_pipeline::log_store::LogStore::relative_step_log_path(
                    "quality-gate",
                    "gate",
                ),
            ),
            log_bytes,
        }],
    });
    session.record.gate = Some(summary);
    let verdict = match (status, policy) {
        (RunStatus::Succeeded, _) => {
            eprintln!("upkeep: quality gate passed");
            RunStatus::Succeeded
        }
        (_, GatePolicy::Warn) => {
            let note = "quality gate failed; the environment's policy is `warn`, so the deployment goes on".to_string();
            eprintln!("upkeep: {note} (report: {})", log_path.display());
            session.record.notes.push(note);
            RunStatus::Succeeded
        }
        _ => {
            let note =
                "quality gate failed; the environment's policy is `block`, so nothing is deployed"
                    .to_string();
            eprintln!("upkeep: {note}");
            eprint!("{text}");
            session.record.notes.push(note);
            RunStatus::Failed
        }
    };
    sub_pipeline.status = status;
    session.record.sub_pipelines.push(sub_pipeline);
    session.save()?;
    Ok(verdict)
}

/// Runs the gate on the built tree: its status, its text report (for the step log) and the
/// summary kept in the run record. The JSON report is written into the run directory.
fn check_built_tree(
    checkout: &Path,
    policy: GatePolicy,
    run_dir: &Path,
) -> Result<(RunStatus, String, serde_json::Value), CommandError> {
    let options = GateOptions {
        root: checkout.to_path_buf(),
        ..GateOptions::default()
    };
    let report = match upkeep_gate::run(&options) {
        Ok(report) => report,
        Err(error) => {
            let text = format!("error: the gate could not run: {error}\n");
            let summary = serde_json::json!({ "policy": policy.to_string(), "passed": false, "error": error.to_string() });
            return Ok((RunStatus::Failed, text, summary));
        }
    };
    let plain = RenderOptions { color: false };
    let json = render(&report, Format::Json, &plain);
    fs_err::write(run_dir.join("gate-report.json"), json)
        .map_err(|error| CommandError::environment(error.to_string()))?;
    let errors = report
        .findings
        .iter()
        .filter(|finding| finding.severity == upkeep_gate::Severity::Error)
        .count();
    let passed = !report.has_errors();
    let summary = serde_json::json!({
        "policy": policy.to_string(),
        "passed": passed,
        "findings": report.findings.len(),
        "errors": errors,
        "report": "gate-report.json",
    });
    let status = if passed {
        RunStatus::Succeeded
    } else {
        RunStatus::Failed
    };
    Ok((status, render(&report, Format::Text, &plain), summary))
}

/// Writes the gate's text report into its step log, one timestamped line per report line, and
/// returns the log's size in bytes.
fn write_text_log(mut writer: LogWriter, text: &str) -> Result<u64, CommandError> {
    use upkeep_pipeline::log_store::{LineSink, LogLine, Stream};
    for line in text.lines() {
        writer
            .write_line(&LogLine::now(Stream::Stdout, line))
            .map_err(|error| CommandError::environment(error.to_string()))?;
    }
    writer
        .finish()
        .map_err(|error| CommandError::environment(error.to_string()))
}

fn skip_rest(session: &mut RunSession, names: &[&str]) {
    for name in names {
        session.record.sub_pipelines.push(SubPipelineRecord {
            name: (*name).to_string(),
            status: RunStatus::Skipped,
            stages: Vec::new(),
        });
    }
}
