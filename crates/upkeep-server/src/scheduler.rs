//! The upgrade schedule: every workspace with a repository has one (a cron expression in a time
//! zone, by default `0 8 * * MON` in UTC). A task looks every second whether a schedule's next
//! time after it last fired has come, on the server's [`Clock`](crate::clock::Clock) — tests
//! set that clock instead of waiting for Monday — and starts the workspace's upgrade run. The
//! mark moves in the store before the run starts, so two servers on one database start one.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use tokio::task::JoinHandle;
use upkeep_store::{
    RepositoryStore, UpgradeRunEnd, UpgradeRunStatus, UpgradeSchedule, UpgradeStore, UpgradeTrigger,
};
use upkeep_upgrade::schedule::Schedule;

use crate::AppState;
use crate::upgrader::{self, StartError};

/// When `schedule` fires next after it last did, or why it never does.
pub fn next_run(schedule: &UpgradeSchedule) -> Result<Option<Timestamp>, String> {
    let cron = Schedule::parse(&schedule.settings.cron).map_err(|error| error.to_string())?;
    let zone = TimeZone::get(&schedule.settings.time_zone)
        .map_err(|_| format!("unknown time zone `{}`", schedule.settings.time_zone))?;
    Ok(cron.next_after_in(schedule.last_fired_at, &zone))
}

/// Starts the scheduler; it runs until the returned task is aborted.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    crate::every_second(state, fire_due)
}

/// Starts the runs of the schedules whose time has come on the server's clock.
async fn fire_due(state: AppState) {
    let Ok(schedules) = state.inner.store.upgrade_schedules().await else {
        return;
    };
    let now = state.inner.clock.now();
    for schedule in schedules {
        let due = schedule.settings.enabled
            && next_run(&schedule).is_ok_and(|next| next.is_some_and(|next| next <= now));
        if due {
            fire(&state, &schedule, now).await;
        }
    }
}

/// Starts the run of a due schedule, once; a run that cannot start is recorded as failed, so
/// that the history says why Monday's upgrade did not come.
async fn fire(state: &AppState, schedule: &UpgradeSchedule, now: Timestamp) {
    let store = &state.inner.store;
    let workspace = schedule.workspace;
    if !store
        .mark_upgrade_fired(workspace, schedule.last_fired_at, now)
        .await
        .unwrap_or(false)
    {
        return;
    }
    if store.repository(workspace).await.ok().flatten().is_none() {
        return;
    }
    let reason = match upgrader::start(state, workspace, UpgradeTrigger::Schedule, None).await {
        Ok(_) => return,
        Err(StartError::Running(id)) => {
            format!("not started: upgrade run {id} was still running at the scheduled time")
        }
        Err(error) => format!("not started: {error}"),
    };
    let run_dir = upgrader::upgrades_dir(&state.inner.data_dir, workspace)
        .join(upkeep_runner::new_run_id().as_str());
    if let Ok(run) = store
        .queue_upgrade_run(workspace, UpgradeTrigger::Schedule, None, &run_dir)
        .await
    {
        let _ = store
            .finish_upgrade_run(
                run.id,
                &UpgradeRunEnd {
                    status: UpgradeRunStatus::Failed,
                    summary: &reason,
                    pull_request_url: None,
                    pull_request_number: None,
                    applied_count: 0,
                    failed_groups: 0,
                },
                jiff::Timestamp::now(),
            )
            .await;
    }
}
