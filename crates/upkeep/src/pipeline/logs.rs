//! `upkeep pipeline logs`: prints a step's log of a recorded run, from a byte offset, so a
//! reader that lost its connection resumes without gaps or duplicates.

use std::path::PathBuf;

use clap::Args;
use upkeep_pipeline::log_store::LogStore;
use upkeep_pipeline::record::RunRecord;

use super::CommandError;
use super::EnvironmentArgs;
use super::context::ProjectContext;
use crate::{Outcome, output};

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// The run id (default: the environment's newest run).
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,

    /// The stage whose log to print: build, quality-gate, pre-deploy, install, post-deploy
    /// (default: every stage of the run, in order).
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,

    /// Start at this byte offset of the step's log (as printed by `--offsets`).
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub offset: u64,

    /// Print the timestamp and stream of each line, and the offset to resume from at the end.
    #[arg(long)]
    pub offsets: bool,
}

pub fn run(args: &LogsArgs) -> Result<Outcome, CommandError> {
    let context = ProjectContext::load(
        &args.environment.path,
        &args.environment.environment,
        args.environment.state_dir.as_deref(),
    )?;
    let run_dir = match &args.run {
        Some(id) => context.runs_dir().join(id),
        None => newest_run(&context)?,
    };
    let record = RunRecord::load(&run_dir).map_err(|error| {
        CommandError::input(error.to_string(), "list the runs in <state dir>/runs/")
    })?;
    // Buffered: a log has many short lines, and a pipe reader wants them in large writes.
    let mut stdout = output::stdout();
    let mut found = false;
    for stage in record
        .sub_pipelines
        .iter()
        .flat_map(|sub_pipeline| &sub_pipeline.stages)
        .filter(|stage| {
            args.stage
                .as_deref()
                .is_none_or(|wanted| wanted == stage.name)
        })
    {
        for step in &stage.steps {
            let Some(log) = &step.log else { continue };
            found = true;
            let path = run_dir.join(log);
            let (lines, next) = LogStore::read_from(&path, args.offset)
                .map_err(|error| CommandError::environment(error.to_string()))?;
            for line in lines {
                if args.offsets {
                    writeln!(stdout, "{line}");
                } else {
                    writeln!(stdout, "{}", line.text);
                }
            }
            if args.offsets {
                stdout.flush();
                eprintln!("upkeep: {} {}: next offset {next}", stage.name, step.name);
            }
        }
    }
    stdout.flush();
    if !found {
        return Err(CommandError::input(
            format!(
                "run {} has no log{}",
                record.run_id,
                args.stage
                    .as_ref()
                    .map_or(String::new(), |stage| format!(" for stage `{stage}`"))
            ),
            "the stages of a run are listed in its record.json",
        ));
    }
    Ok(Outcome::Success)
}

fn newest_run(context: &ProjectContext) -> Result<PathBuf, CommandError> {
    // Run ids are `<time>-<environment>-<pid>`.
    let suffix = format!("-{}", context.environment.name);
    let mut runs: Vec<PathBuf> = fs_err::read_dir(context.runs_dir())
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| {
                    path.file_name()
                        .and_then(|name| name.to_str())
                        .and_then(|name| name.rsplit_once('-'))
                        .is_some_and(|(rest, _pid)| rest.ends_with(&suffix))
                })
                .collect()
        })
        .unwrap_or_default();
    runs.sort();
    runs.pop().ok_or_else(|| {
        CommandError::input(
            format!(
                "environment `{}` has no recorded runs",
                context.environment.name
            ),
            format!(
                "start one with `upkeep pipeline run --env {}`",
                context.environment.name
            ),
        )
    })
}
