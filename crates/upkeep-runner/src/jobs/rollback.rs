//! A rollback as a recorded run: who rolled back, from which release to which, in the run's
//! record and in its `switch` log, so that `upkeep pipeline logs` shows it like any run.

use std::collections::BTreeMap;

use jiff::Timestamp;
use upkeep_deploy::app_containers;
use upkeep_deploy::remote_hosts;
use upkeep_deploy::target::{LocalTarget, Release};
use upkeep_pipeline::log_store::{LineSink, LogLine, LogStore, Stream};
use upkeep_pipeline::record::{
    RollbackRecord, RunStatus, StageKind, StageRecord, StepRecord, SubPipelineKind,
    SubPipelineRecord,
};

use crate::context::EnvironmentContext;
use crate::error::RunError;
use crate::observer::RunObserver;
use crate::session::RunSession;

/// Switches the target back: a `container` target starts the release it returns to, and sees
/// it healthy, first; an `ssh` target switches its hosts first.
fn switch_back(
    context: &EnvironmentContext,
    target: &LocalTarget,
    say: &mut dyn FnMut(&str),
) -> Result<(Release, Release), RunError> {
    if let Some(remote) = context.remote_hosts()? {
        say(&format!("switching {} back", remote.names()));
        return Ok(remote_hosts::rollback(target, &remote)?);
    }
    let Some(app) = context.app_containers()? else {
        return Ok(target.rollback()?);
    };
    let store = context.open_store()?;
    let variables = |release: &Release| {
        let mut variables: BTreeMap<String, String> = release
            .environment
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        variables.insert(
            "SPRYKER_PROJECT_NAME".to_string(),
            context.project.project.clone(),
        );
        variables
    };
    Ok(app_containers::rollback(
        target, &app, &store, &variables, say,
    )?)
}

/// Switches `current` back to the release active before it, waiting for a running deployment
/// first (a rollback switches `current` too). Records the switch in the session's run.
pub fn run(
    context: &EnvironmentContext,
    session: &RunSession,
    observer: &dyn RunObserver,
) -> Result<RollbackRecord, RunError> {
    let target = context.open_target()?;
    let queue = context.open_queue()?;
    session.update(|record| {
        record.sub_pipelines.push(SubPipelineRecord::new(
            SubPipelineKind::Rollback,
            RunStatus::Running,
        ));
    })?;
    let label = session.id().to_string();
    let ticket = queue.enter_with(&label, |event| observer.message(&event.to_string()))?;
    let started = Timestamp::now();
    let mut progress = Vec::new();
    let switched = switch_back(context, &target, &mut |text: &str| {
        observer.message(text);
        progress.push(text.to_string());
    });
    drop(ticket);
    let (from, to) = switched?;
    let who = session
        .record()
        .requested_by
        .unwrap_or_else(|| "someone".to_string());
    let text = format!(
        "{who} rolled back `{}` from release {} to release {}",
        context.name(),
        from.id,
        to.id
    );
    let step = StageKind::Switch.as_str();
    let relative_log = LogStore::relative_step_log_path(step, step);
    let mut log = session.logs.create_step_log(step, step)?;
    for line in &progress {
        log.write_line(&LogLine::now(Stream::System, line))
            .map_err(|error| RunError::io("write", session.dir().join(&relative_log), error))?;
    }
    log.write_line(&LogLine::now(Stream::System, &text))
        .map_err(|error| RunError::io("write", session.dir().join(&relative_log), error))?;
    let log_bytes = log.finish()?;
    let finished = Timestamp::now();
    let stage = StageRecord {
        name: StageKind::Switch,
        status: RunStatus::Succeeded,
        steps: vec![StepRecord {
            status: RunStatus::Succeeded,
            exit_code: Some(0),
            finished_at: Some(finished),
            duration_ms: u64::try_from(started.duration_until(finished).as_millis()).ok(),
            log_bytes,
            ..StepRecord::running(step, started, relative_log)
        }],
    };
    let rollback = RollbackRecord {
        from: from.id,
        to: to.id,
    };
    session.update(|record| {
        if let Some(sub) = record.sub_pipeline_mut(SubPipelineKind::Rollback) {
            sub.status = RunStatus::Succeeded;
            sub.stages = vec![stage.clone()];
        }
        record.rollback = Some(rollback.clone());
        record.notes.push(text.clone());
    })?;
    observer.message(&text);
    Ok(rollback)
}
