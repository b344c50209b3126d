//! Reading a run's step logs, in running order, from a byte offset, and following a running
//! step as its lines are written. A server streams the same events over SSE.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use upkeep_pipeline::log_store::{LogLine, LogStore};
use upkeep_pipeline::record::{RunRecord, RunStatus, StageKind, StepRecord};

use crate::error::RunError;

/// Which logs to read, and how.
#[derive(Debug, Clone)]
pub struct LogQuery {
    /// Only this stage's steps; `None`: every step of the run, in order.
    pub stage: Option<StageKind>,
    /// Where to start in each step's log; an offset inside a line goes on at the next line.
    pub offset: u64,
    /// Wait for running steps and for the run to end, instead of reading what is there.
    pub follow: bool,
    /// How often to look for new lines while following.
    pub poll: Duration,
}

/// What a reader of the logs is told, in order.
#[derive(Debug)]
pub enum LogEvent<'a> {
    /// The given offset was inside a line; reading starts at the next line instead.
    OffsetRounded {
        stage: StageKind,
        step: &'a str,
        from: u64,
        to: u64,
    },
    Line {
        stage: StageKind,
        step: &'a str,
        line: &'a LogLine,
    },
    /// Everything of the step has been read; `next_offset` resumes after its last line.
    StepRead {
        stage: StageKind,
        step: &'a StepRecord,
        next_offset: u64,
    },
}

/// Reads the logs of the run in `run_dir`, handing each event to `on_event`, and returns the
/// run's record as last read. Without `follow`, reads what is there and stops at a step that is
/// still running; with it, waits for that step's lines and the later steps until the run ends
/// or waits for approval.
pub fn read_logs(
    run_dir: &Path,
    query: &LogQuery,
    on_event: &mut dyn FnMut(LogEvent<'_>),
) -> Result<RunRecord, RunError> {
    let mut offsets: HashMap<(StageKind, String), u64> = HashMap::new();
    let mut finished: HashSet<(StageKind, String)> = HashSet::new();
    loop {
        let record = crate::index::load_current(run_dir)?;
        let mut found = false;
        let mut running_step = false;
        for (stage, step) in record.steps() {
            if query.stage.is_some_and(|wanted| wanted != stage) {
                continue;
            }
            let Some(log) = &step.log else { continue };
            found = true;
            let key = (stage, step.name.clone());
            if finished.contains(&key) {
                continue;
            }
            let path = confined(run_dir, log)?;
            let offset = if let Some(offset) = offsets.get(&key) {
                *offset
            } else {
                let start = LogStore::line_start_at_or_after(&path, query.offset)?;
                if start != query.offset {
                    on_event(LogEvent::OffsetRounded {
                        stage,
                        step: &step.name,
                        from: query.offset,
                        to: start,
                    });
                }
                start
            };
            let (lines, next) = LogStore::read_from(&path, offset)?;
            for line in &lines {
                on_event(LogEvent::Line {
                    stage,
                    step: &step.name,
                    line,
                });
            }
            offsets.insert(key.clone(), next);
            // The record says a step ended only after its log was complete on disk, so what
            // was read now is all of it.
            if step.status == RunStatus::Running {
                running_step = true;
                break;
            }
            on_event(LogEvent::StepRead {
                stage,
                step,
                next_offset: next,
            });
            finished.insert(key);
        }
        let run_goes_on = matches!(record.status, RunStatus::Running | RunStatus::Queued);
        if !query.follow || !(running_step || run_goes_on) {
            if !found && !query.follow {
                return Err(RunError::NoLog {
                    id: record.run_id,
                    stage: query.stage.map(|stage| stage.to_string()),
                });
            }
            return Ok(record);
        }
        std::thread::sleep(query.poll);
    }
}

/// A log path of a record, inside the run directory: a record names logs relative to its run,
/// and one that names another place (edited, or written by something else) is refused.
pub fn confined(run_dir: &Path, log: &Path) -> Result<PathBuf, RunError> {
    let inside = log
        .components()
        .all(|component| matches!(component, Component::Normal(_)));
    if inside && !log.as_os_str().is_empty() {
        Ok(run_dir.join(log))
    } else {
        Err(RunError::LogOutsideRun {
            run_dir: run_dir.to_path_buf(),
            log: log.to_path_buf(),
        })
    }
}
