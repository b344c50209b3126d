//! `upkeep pipeline logs`: prints the step logs of a recorded run, from a byte offset, so a
//! reader that lost its connection resumes without gaps or duplicates; `--follow` streams a
//! running run's steps as their lines are written and ends with each step's result.

use std::time::Duration;

use clap::Args;
use upkeep_pipeline::record::{RunId, StageKind};
use upkeep_runner::logs::{LogEvent, LogQuery, read_logs};

use super::{CommandError, EnvironmentArgs};
use crate::{Outcome, output};

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// The run id (default: the environment's newest run).
    #[arg(long, value_name = "ID")]
    pub run: Option<RunId>,

    /// The stage whose log to print: build, quality-gate, pre-deploy, install, post-deploy,
    /// switch (default: every stage of the run, in order).
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<StageKind>,

    /// Start at this byte offset of the step's log (as printed by `--offsets`); an offset inside
    /// a line starts at the next line.
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub offset: u64,

    /// Print the timestamp and stream of each line, and the offset to resume from at the end.
    #[arg(long)]
    pub offsets: bool,

    /// Keep reading while the run goes on: print a running step's lines as they are written,
    /// then the later steps, until the run ends or waits for approval.
    #[arg(long, short)]
    pub follow: bool,
}

pub fn run(args: &LogsArgs) -> Result<Outcome, CommandError> {
    let context = args.environment.context()?;
    let index = context.index();
    let record = index.pick(context.name(), args.run.as_ref())?;
    let query = LogQuery {
        stage: args.stage,
        offset: args.offset,
        follow: args.follow,
        poll: Duration::from_millis(100),
    };
    // Buffered: a log has many short lines, and a pipe reader wants them in large writes; a
    // follower is handed each batch at once.
    let mut stdout = output::stdout();
    read_logs(
        &index.run_dir(&record.run_id),
        &query,
        &mut |event| match event {
            LogEvent::OffsetRounded {
                stage, from, to, ..
            } => {
                stdout.flush();
                eprintln!(
                    "upkeep: offset {from} is inside a line of the {stage} log; starting at the next line, offset {to}"
                );
            }
            LogEvent::Line { line, .. } => {
                if args.offsets {
                    writeln!(stdout, "{line}");
                } else {
                    writeln!(stdout, "{}", line.text);
                }
                if args.follow {
                    stdout.flush();
                }
            }
            LogEvent::StepRead {
                stage,
                step,
                next_offset,
            } => {
                stdout.flush();
                if args.offsets {
                    eprintln!("upkeep: {stage} {}: next offset {next_offset}", step.name);
                }
                if args.follow {
                    eprintln!("upkeep: {stage}: {}", step.status.describe());
                }
            }
        },
    )?;
    Ok(Outcome::Success)
}
