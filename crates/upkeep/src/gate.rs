//! `upkeep gate [PATH]`: runs the quality gate and writes its report.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use upkeep_gate::report::{Format, RenderOptions, render};
use upkeep_gate::{GateError, GateOptions};

use crate::{Outcome, print_error};

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The project root (the directory with `composer.json` and `src/`).
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Report format.
    #[arg(long, default_value_t = Format::Text, value_parser = clap::builder::ValueParser::new(|value: &str| value.parse::<Format>()))]
    pub format: Format,

    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Run only these rules (names, Spryker ids or categories; comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub rules: Vec<String>,

    /// Do not run these rules (names, Spryker ids or categories).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub exclude_rules: Vec<String>,

    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    pub jobs: usize,

    /// Local security-advisory database: a checkout of the `security-advisories` YAML
    /// layout (`<vendor>/<package>/<id>.yaml`) or an OSV JSON dump.
    #[arg(long, value_name = "PATH")]
    pub advisories: Option<PathBuf>,

    /// Configuration file to use instead of `<PATH>/upkeep.toml`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Exit with 0 even when findings fail the gate (the report is unchanged).
    #[arg(long)]
    pub exit_zero: bool,
}

fn hint_for(error: &GateError) -> &'static str {
    match error {
        GateError::Config(_) => {
            "fix the configuration file; the README lists the keys `tooling.yml` and `upkeep.toml` accept"
        }
        GateError::UnknownRule(_) => "`upkeep rules` lists every rule name and Spryker id",
        GateError::Load { .. } => {
            "pass the project root, the directory that holds `composer.json` and `src/`"
        }
        GateError::Threads { .. } => "try a smaller `--jobs`",
    }
}

pub fn run(args: &GateArgs) -> Outcome {
    let options = GateOptions {
        root: args.path.clone(),
        rules: args.rules.clone(),
        exclude_rules: args.exclude_rules.clone(),
        jobs: args.jobs,
        advisories: args.advisories.clone(),
        config_file: args.config.clone(),
    };
    let report = match upkeep_gate::run(&options) {
        Ok(report) => report,
        Err(error) => {
            print_error(&error.to_string(), Some(hint_for(&error)));
            return Outcome::Failed;
        }
    };
    let color = args.output.is_none()
        && anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
    let rendered = render(&report, args.format, &RenderOptions { color });
    let written = match &args.output {
        Some(path) => std::fs::write(path, rendered.as_bytes())
            .map_err(|error| format!("cannot write {}: {error}", path.display())),
        None => std::io::stdout()
            .lock()
            .write_all(rendered.as_bytes())
            .map_err(|error| format!("cannot write the report: {error}")),
    };
    if let Err(message) = written {
        print_error(&message, None);
        return Outcome::Failed;
    }
    // The text report shows notices itself; machine formats keep them out of their data.
    if args.format != Format::Text || args.output.is_some() {
        for notice in &report.notices {
            anstream::eprintln!("note: {}", notice.message);
        }
    }
    if report.has_errors() && !args.exit_zero {
        Outcome::ProblemsFound
    } else {
        Outcome::Success
    }
}
