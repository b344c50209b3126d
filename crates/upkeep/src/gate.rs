//! `upkeep gate [PATH]`: runs the quality gate and writes its report.

use std::path::PathBuf;

use clap::Args;
use upkeep_gate::baseline::Baseline;
use upkeep_gate::fix::FixPlan;
use upkeep_gate::inputs::{GateInputs, NpmAudit};
use upkeep_gate::report::{Format, RenderOptions, render};

use upkeep_gate::{GateOptions, GateReport};
use upkeep_hint::Hint as _;

use crate::{Outcome, output, print_error};

// Command-line switches are booleans by nature.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct GateArgs {
    /// The project root (the directory with `composer.json` and `src/`).
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Report format, and the file it goes to: `FORMAT` writes to standard output (or
    /// `--output`), `FORMAT=PATH` to PATH. Repeat it for several reports from one run, e.g.
    /// `--format github --format sarif=upkeep.sarif`; at most one goes to standard output.
    /// Default: `text`.
    #[arg(long = "format", value_name = "FORMAT[=PATH]", value_parser = ReportTargetParser)]
    pub formats: Vec<ReportTarget>,

    /// Write the report of the `--format` without a path to this file instead of standard
    /// output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Colour the text report on standard output: `auto` when it is a terminal, or when
    /// `FORCE_COLOR` is set (as in CI logs that show colours); `NO_COLOR` turns it off.
    #[arg(long, value_name = "WHEN", default_value_t = ColorWhen::Auto, value_enum)]
    pub color: ColorWhen,

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

    /// Keep the cache of parsed files here instead of `<PATH>/.upkeep/cache` (also
    /// `UPKEEP_CACHE_DIR`). Files whose content did not change are not parsed again.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Parse every file, and neither read nor write the cache.
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,

    /// Report only findings this baseline file does not list (see `--generate-baseline`).
    /// Baseline entries that no longer occur are listed as fixed; they do not fail the gate.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Apply no baseline, not even the `baseline` of `upkeep.toml`: report every finding.
    #[arg(long, conflicts_with = "baseline")]
    pub no_baseline: bool,

    /// Write today's findings to FILE as a baseline (JSON: file, rule, message and count, no
    /// line numbers) instead of a report. Always exits with 0 once the file is written.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["baseline", "changed_since", "fix", "diff"])]
    pub generate_baseline: Option<PathBuf>,

    /// Report only findings in files changed since this git revision (committed, staged,
    /// unstaged or untracked). The whole project is still read and checked.
    #[arg(long, value_name = "REV")]
    pub changed_since: Option<String>,

    /// Apply the automatic fixes of the reported findings, list them on standard error, then
    /// check again and report what remains.
    #[arg(long, conflicts_with = "diff")]
    pub fix: bool,

    /// Print the automatic fixes of the reported findings as a unified diff on standard output
    /// (the report goes only to `--output`, if given) and change nothing. The exit status is
    /// that of a normal run.
    #[arg(long)]
    pub diff: bool,

    /// Upgrade preview: compare the core classes the project extends, implements or uses
    /// with those in `OLD_VENDOR_DIR` (an older `vendor/`, laid out as `spryker*/<package>/src`),
    /// and list what changed (classes and methods removed, added, deprecated, new signatures,
    /// changed bodies of overridden methods) with the project code each change affects. The
    /// current core is the project's own `vendor/`.
    #[arg(long, value_name = "OLD_VENDOR_DIR")]
    pub compare_core: Option<PathBuf>,

    /// The PHP version the project runs on (e.g. `8.3.13`), compared by `php-version` with
    /// `composer.json` (also `PROJECT_PHP_VERSION`, or `php-version` in `upkeep.toml`). The
    /// gate never runs `php` itself.
    #[arg(long, value_name = "VERSION")]
    pub php_version: Option<String>,

    /// Audit npm packages: run `npm audit` once before the rules (it asks the npm registry),
    /// for the `npm-advisory` rule. Without this or `--npm-audit-report` that rule is off.
    #[arg(long, conflicts_with = "npm_audit_report")]
    pub npm_audit: bool,

    /// Audit npm packages with a saved `npm audit --json` report (no network), for the
    /// `npm-advisory` rule.
    #[arg(long, value_name = "FILE")]
    pub npm_audit_report: Option<PathBuf>,
}

/// A report to write: its format, and its file (`None`: standard output, or `--output`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTarget {
    pub format: Format,
    pub path: Option<PathBuf>,
}

/// Parses `FORMAT[=PATH]`, and lists the formats (with what each is for) in `--help`.
#[derive(Debug, Clone, Copy)]
struct ReportTargetParser;

impl clap::builder::TypedValueParser for ReportTargetParser {
    type Value = ReportTarget;

    fn parse_ref(
        &self,
        command: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<ReportTarget, clap::Error> {
        let invalid = |message: String| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("invalid value for '--format <FORMAT[=PATH]>': {message}\n"),
            )
            .with_cmd(command)
        };
        let text = value
            .to_str()
            .ok_or_else(|| invalid(format!("{} is not UTF-8", value.to_string_lossy())))?;
        let (name, path) = match text.split_once('=') {
            Some((name, path)) => (name, Some(path)),
            None => (text, None),
        };
        let format = name.parse::<Format>().map_err(invalid)?;
        if path == Some("") {
            return Err(invalid(format!(
                "`{text}` names no file: write `{name}` for standard output or `{name}=PATH`"
            )));
        }
        Ok(ReportTarget {
            format,
            path: path.map(PathBuf::from),
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(Format::ALL.iter().map(|format| {
            clap::builder::PossibleValue::new(format.name()).help(format.description())
        })))
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl std::fmt::Display for ColorWhen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Always => "always",
            Self::Never => "never",
        })
    }
}

/// Whether the text report on standard output is coloured: `--color always|never`; else
/// `NO_COLOR` (any non-empty value) turns it off, `FORCE_COLOR` (non-empty, not `0`) on —
/// CI runners such as GitHub Actions show colours but give no terminal — and otherwise
/// colours go to a terminal only (anstream's rules, which also honour `CLICOLOR_FORCE`).
fn colored_stdout(when: ColorWhen) -> bool {
    let set = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto if set("NO_COLOR").is_some() => false,
        ColorWhen::Auto
            if set("FORCE_COLOR").is_some_and(|value| value != "0" && value != "false") =>
        {
            true
        }
        ColorWhen::Auto => {
            anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
        }
    }
}

/// The reports of a run with where each goes: `--format` as given (text when none), the one
/// without a path going to `--output` if given. `Err` says why the combination is unusable.
fn report_targets(args: &GateArgs) -> Result<Vec<ReportTarget>, (String, &'static str)> {
    let mut targets = args.formats.clone();
    if targets.is_empty() {
        targets.push(ReportTarget {
            format: Format::Text,
            path: None,
        });
    }
    let to_stdout: Vec<&str> = targets
        .iter()
        .filter(|target| target.path.is_none())
        .map(|target| target.format.name())
        .collect();
    if to_stdout.len() > 1 {
        return Err((
            format!(
                "{} formats would go to standard output ({}); at most one can",
                to_stdout.len(),
                to_stdout.join(", ")
            ),
            "give the others a file: `--format github --format sarif=upkeep.sarif`",
        ));
    }
    if let Some(output) = &args.output {
        let Some(target) = targets.iter_mut().find(|target| target.path.is_none()) else {
            return Err((
                format!(
                    "`--output {}` has no report to take: every `--format` names its file",
                    output.display()
                ),
                "drop `--output`, or give one `--format` without `=PATH`",
            ));
        };
        target.path = Some(output.clone());
    }
    Ok(targets)
}

/// `--no-cache`, else `--cache-dir`, else `UPKEEP_CACHE_DIR`, else `<PATH>/.upkeep/cache`.
fn cache_dir(args: &GateArgs) -> Option<PathBuf> {
    if args.no_cache {
        return None;
    }
    let from_env = || {
        std::env::var_os("UPKEEP_CACHE_DIR")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
    };
    Some(
        args.cache_dir
            .clone()
            .or_else(from_env)
            .unwrap_or_else(|| args.path.join(".upkeep/cache")),
    )
}

/// What the gate is given rather than finds out: the host PHP, the npm audit (only when asked
/// for) and the deploy files read with their imports by the pipeline's reader. Gathered once,
/// before the run, so that `--fix`'s second run sees the same inputs.
fn gate_inputs(args: &GateArgs) -> Result<GateInputs, String> {
    let php_version = args.php_version.clone().or_else(|| {
        std::env::var("PROJECT_PHP_VERSION")
            .ok()
            .filter(|version| !version.is_empty())
    });
    let npm_audit = if let Some(path) = &args.npm_audit_report {
        Some(Ok(NpmAudit::read(path).map_err(|error| error.to_string())?))
    } else if args.npm_audit {
        // A project without npm files has nothing to audit; the rule says so.
        Some(upkeep_gate::inputs::npm_audit(&args.path))
    } else {
        None
    };
    // A root that cannot be listed is the gate's to report (with its own message).
    let deploy_files = upkeep_runner::gate_inputs::deploy_files(&args.path);
    Ok(GateInputs {
        php_version,
        npm_audit,
        deploy_files,
    })
}

/// The options of the run, or `None` after saying why there are none.
fn gate_options(args: &GateArgs) -> Option<GateOptions> {
    let inputs = gate_inputs(args)
        .map_err(|message| {
            print_error(
                &message,
                Some("give the file `npm audit --json` wrote (npm 7 or later), or use `--npm-audit` to run npm"),
            );
        })
        .ok()?;
    Some(GateOptions {
        root: args.path.clone(),
        rules: args.rules.clone(),
        exclude_rules: args.exclude_rules.clone(),
        jobs: args.jobs,
        advisories: args.advisories.clone(),
        config_file: args.config.clone(),
        cache_dir: cache_dir(args),
        baseline: args.baseline.clone(),
        // A new baseline holds every finding, whatever the old one accepted.
        skip_config_baseline: args.no_baseline || args.generate_baseline.is_some(),
        changed_since: args.changed_since.clone(),
        compare_core: args.compare_core.clone(),
        inputs,
    })
}

pub fn run(args: &GateArgs) -> Outcome {
    let targets = match report_targets(args) {
        Ok(targets) => targets,
        Err((message, hint)) => {
            print_error(&message, Some(hint));
            return Outcome::Failed;
        }
    };
    let Some(options) = gate_options(args) else {
        return Outcome::Failed;
    };
    let Some(mut report) = checked(&options) else {
        return Outcome::Failed;
    };
    if let Some(path) = &args.generate_baseline {
        return generate_baseline(&report, path);
    }
    if args.diff {
        let plan = FixPlan::new(&report.root, &report.findings);
        print_skipped_fixes(&plan);
        output::stdout().write_bytes(&plan.diff());
        let reported = counted(report.findings.len(), "reported finding");
        if plan.is_empty() {
            anstream::eprintln!("note: 0 of {reported} can be fixed automatically");
        } else {
            anstream::eprintln!(
                "note: {} of {reported} can be fixed automatically, in {}; `--fix` applies this diff",
                plan.applied.len(),
                counted(plan.files.len(), "file")
            );
        }
        if targets.iter().all(|target| target.path.is_none()) {
            return exit_status(&report, args);
        }
    }
    if args.fix {
        let plan = FixPlan::new(&report.root, &report.findings);
        print_skipped_fixes(&plan);
        if let Err(error) = plan.write(&report.root) {
            print_error(
                &format!("cannot apply the fixes: {error}"),
                Some("run `upkeep gate --diff` to see the changes and apply them by hand"),
            );
            return Outcome::Failed;
        }
        for fix in &plan.applied {
            anstream::eprintln!("fixed: {fix}");
        }
        if plan.applied.is_empty() && plan.skipped.is_empty() {
            anstream::eprintln!(
                "note: none of the {} has an automatic fix",
                counted(report.findings.len(), "reported finding")
            );
        }
        if !plan.is_empty() {
            anstream::eprintln!(
                "note: applied {} to {}; checking again",
                counted(plan.applied.len(), "fix"),
                counted(plan.files.len(), "file")
            );
            let Some(again) = checked(&options) else {
                return Outcome::Failed;
            };
            report = again;
        }
    }
    let color = colored_stdout(args.color);
    let mut text_on_stdout = false;
    for target in &targets {
        match &target.path {
            Some(path) => {
                let rendered = render(&report, target.format, &RenderOptions { color: false });
                if let Err(error) = fs_err::write(path, rendered.as_bytes()) {
                    print_error(&format!("cannot write the report: {error}"), None);
                    return Outcome::Failed;
                }
            }
            // `--diff` has standard output for itself.
            None if args.diff => {}
            None => {
                text_on_stdout = target.format == Format::Text;
                let rendered = render(&report, target.format, &RenderOptions { color });
                output::stdout().write_bytes(rendered.as_bytes());
            }
        }
    }
    // The text report shows notices itself; machine formats keep them out of their data.
    if !text_on_stdout {
        for notice in &report.notices {
            anstream::eprintln!("note: {}", notice.message);
        }
        for line in report
            .baseline
            .iter()
            .flat_map(upkeep_gate::baseline::BaselineSummary::lines)
        {
            anstream::eprintln!("{line}");
        }
    }
    exit_status(&report, args)
}

fn exit_status(report: &GateReport, args: &GateArgs) -> Outcome {
    if report.has_errors() && !args.exit_zero {
        Outcome::ProblemsFound
    } else {
        Outcome::Success
    }
}

/// Runs the gate, printing why when it cannot.
fn checked(options: &GateOptions) -> Option<GateReport> {
    upkeep_gate::run(options)
        .map_err(|error| print_error(&error.to_string(), error.hint().as_deref()))
        .ok()
}

/// `--generate-baseline FILE`: writes every finding of the run, whatever its severity.
fn generate_baseline(report: &GateReport, path: &std::path::Path) -> Outcome {
    let baseline = Baseline::of_findings(&report.findings);
    if let Err(error) = std::fs::write(path, baseline.to_json()) {
        print_error(
            &format!("cannot write the baseline {}: {error}", path.display()),
            None,
        );
        return Outcome::Failed;
    }
    for notice in &report.notices {
        anstream::eprintln!("note: {}", notice.message);
    }
    anstream::eprintln!(
        "wrote {}: {} for {}",
        path.display(),
        counted(baseline.entries().len(), "entry"),
        counted(baseline.findings(), "finding")
    );
    Outcome::Success
}

/// `1 file`, `2 files`, `0 fixes`, `3 entries`.
fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("{count} {noun}")
    } else if let Some(stem) = noun.strip_suffix('y') {
        format!("{count} {stem}ies")
    } else if noun.ends_with('x') {
        format!("{count} {noun}es")
    } else {
        format!("{count} {noun}s")
    }
}

fn print_skipped_fixes(plan: &FixPlan) {
    for skipped in &plan.skipped {
        anstream::eprintln!("note: not fixed: {}: {}", skipped.fix, skipped.reason);
    }
}
