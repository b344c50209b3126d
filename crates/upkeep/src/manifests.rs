//! `upkeep upgrade manifests plan|apply`: the code changes Spryker's integration manifests ask
//! for, on their own (the upgrade applies them after each Composer group).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use upkeep_composer::repository::RepositoryOptions;
use upkeep_hint::Hint as _;
use upkeep_integrator::apply::StepStatus;
use upkeep_integrator::integrate::{Integration, integrate};
use upkeep_integrator::manifest::ModuleId;
use upkeep_integrator::source::ManifestSource;
use upkeep_upgrade::manifests::load_manifests;

use crate::{Outcome, output, print_error};

#[derive(Debug, Args)]
pub struct ManifestsArgs {
    #[command(subcommand)]
    pub command: ManifestsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ManifestsCommand {
    /// Show what the manifests between the integrated and the installed versions would change
    /// (with --diff: the unified diff, for `git apply`). Writes nothing.
    ///
    /// Exit status: 0 every step applies, 1 some step could not be applied, 2 error.
    Plan(ManifestsRunArgs),
    /// Apply them, and record the installed versions in `integrator.lock`.
    ///
    /// Exit status: 0 every step applied, 1 some step could not be applied (the others are
    /// written), 2 error.
    Apply(ManifestsRunArgs),
}

#[derive(Debug, Args)]
pub struct ManifestsRunArgs {
    /// The project root (with composer.lock).
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Spryker's integrator-manifests (`<Org>/<Module>/<version>/installer-manifest.json`): a
    /// directory, or an archive's path or URL (`.tar.gz`, `.zip`), which is cached with the
    /// Composer metadata (~/.cache/upkeep/composer) and revalidated on every run.
    #[arg(long, value_name = "DIR|URL", env = "UPKEEP_MANIFESTS")]
    pub manifests: ManifestSource,

    /// The version a module was integrated at, where integrator.lock does not say:
    /// `Org.Module=x.y.z` or `vendor/package=x.y.z`; repeat for more.
    #[arg(long, value_name = "MODULE=VERSION")]
    pub from: Vec<String>,

    /// Print the changes as a unified diff (stdout) and the report on stderr.
    #[arg(long)]
    pub diff: bool,
}

pub fn run(args: &ManifestsArgs) -> Outcome {
    match &args.command {
        ManifestsCommand::Plan(args) => run_manifests(args, false),
        ManifestsCommand::Apply(args) => run_manifests(args, true),
    }
}

/// `--from` values as `package -> version`.
fn previous_versions(from: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut previous = BTreeMap::new();
    for entry in from {
        let Some((module, version)) = entry.split_once('=') else {
            return Err(format!("--from `{entry}`: expected MODULE=VERSION"));
        };
        let package = if module.contains('/') {
            module.to_string()
        } else {
            let id = ModuleId::parse(module).ok_or_else(|| {
                format!("--from `{entry}`: `{module}` is neither Org.Module nor vendor/package")
            })?;
            format!(
                "{}/{}",
                upkeep_integrator::project::kebab_case(&id.organisation),
                upkeep_integrator::project::kebab_case(&id.module)
            )
        };
        if upkeep_composer::Version::parse(version).is_err() {
            return Err(format!("--from `{entry}`: `{version}` is not a version"));
        }
        previous.insert(package, version.to_string());
    }
    Ok(previous)
}

fn run_manifests(args: &ManifestsRunArgs, write: bool) -> Outcome {
    let previous = match previous_versions(&args.from) {
        Ok(previous) => previous,
        Err(message) => {
            print_error(&message, Some("e.g. --from Spryker.Acl=3.9.0"));
            return Outcome::Failed;
        }
    };
    let mut log = |line: &str| anstream::eprintln!("{line}");
    let set = match load_manifests(
        &args.manifests,
        &args.path,
        &RepositoryOptions::default(),
        &mut log,
    ) {
        Ok(set) => set,
        Err(error) => {
            print_error(&error.to_string(), error.hint().as_deref());
            return Outcome::Failed;
        }
    };
    let integration = match integrate(&args.path, &set, &previous) {
        Ok(integration) => integration,
        Err(error) => {
            print_error(&error.to_string(), error.hint().as_deref());
            return Outcome::Failed;
        }
    };
    let report = render_report(&integration, write);
    if args.diff {
        output::stdout().write_bytes(&upkeep_integrator::diff(&integration.changes));
        anstream::eprint!("{report}");
    } else {
        output::stdout().write_bytes(report.as_bytes());
    }
    if write && let Err(error) = integration.write(&args.path) {
        print_error(&error.to_string(), error.hint().as_deref());
        return Outcome::Failed;
    }
    if integration.has_failures() {
        Outcome::ProblemsFound
    } else {
        Outcome::Success
    }
}

fn render_report(integration: &Integration, written: bool) -> String {
    let mut text = String::new();
    if integration.reports.is_empty() {
        text.push_str(
            "No manifests to apply: every module is integrated at its installed version.\n",
        );
        return text;
    }
    for report in &integration.reports {
        let _ = writeln!(text, "{} {}", report.module, report.version);
        for step in &report.steps {
            let _ = writeln!(text, "  {step}");
        }
        if let Some(why) = &report.rolled_back {
            let _ = writeln!(text, "  rolled back: {why}");
        }
    }
    let steps = integration.reports.iter().flat_map(|report| &report.steps);
    let (mut applied, mut failed) = (0, 0);
    for step in steps {
        match step.status {
            StepStatus::Applied => applied += 1,
            StepStatus::Failed(_) => failed += 1,
            _ => {}
        }
    }
    let _ = writeln!(
        text,
        "\n{} manifests, {applied} steps {}, {failed} not applied; {} files {}.",
        integration.reports.len(),
        if written { "applied" } else { "to apply" },
        integration.changes.len(),
        if written {
            "written, integrator.lock updated"
        } else {
            "would change"
        }
    );
    text
}
