//! `upkeep upgrade plan|apply`: the upgrader from the command line.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use upkeep_composer::repository::{RepositoryOptions, default_cache_dir};
use upkeep_forge::git_auth::GitEnv;
use upkeep_forge::{ForgeKind, Token};
use upkeep_hint::Hint as _;
use upkeep_integrator::source::ManifestSource;
use upkeep_upgrade::apply::{ApplyOptions, apply};
use upkeep_upgrade::composer_cli::Composer;
use upkeep_upgrade::plan::{PackagePlan, UpdateKind, UpgradePlan};
use upkeep_upgrade::project::plan_project;
use upkeep_upgrade::scheduled::{ForgeTarget, ScheduledUpgrade, connect};
use upkeep_upgrade::settings::{SettingsOverrides, UpgradeSettings};

use crate::{Outcome, output, print_error};

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    #[command(subcommand)]
    pub command: UpgradeCommand,
}

#[derive(Debug, Subcommand)]
pub enum UpgradeCommand {
    /// Show, for every locked package, the newest patch, minor and major release, the update
    /// that would be applied and why. Writes nothing.
    Plan(PlanArgs),
    /// Apply the plan on branch `upkeep/upgrade-for-<base>`: one Composer run and one commit per
    /// group, the quality gate before and after; optionally push and open the pull request.
    ///
    /// Exit status: 0 done (also when there was nothing to update), 1 some groups could not be
    /// updated, 2 the run could not start or failed (dirty tree, open upgrade, Composer missing).
    Apply(ApplyArgs),
    /// The code changes of Spryker's integration manifests, on their own: `plan` shows them,
    /// `apply` writes them and `integrator.lock`.
    Manifests(crate::manifests::ManifestsArgs),
}

#[derive(Debug, Args)]
pub struct MetadataArgs {
    /// The project root (with composer.json and composer.lock).
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Local security-advisory database (as `upkeep gate --advisories`); marks security updates.
    #[arg(long, value_name = "PATH")]
    pub advisories: Option<PathBuf>,

    /// Cache repository metadata here (default: ~/.cache/upkeep/composer).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Send no requests: use cached metadata whatever its age.
    #[arg(long)]
    pub offline: bool,

    /// Use cached metadata younger than this many seconds without asking the server (default 0:
    /// always revalidate with `ETag` / `Last-Modified`).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub max_age: u64,

    /// Requests in flight at most.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub metadata: MetadataArgs,

    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,

    /// Show every locked package in the text output, also those that are up to date (by
    /// default only what needs action: updates, held-back ones, vulnerabilities, problems).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

// Command-line switches are booleans by nature.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub metadata: MetadataArgs,

    /// Push the upgrade branch to the remote.
    #[arg(long)]
    pub push: bool,

    /// Open the pull request (GitHub) or merge request (GitLab); implies --push. The token comes
    /// from `UPKEEP_FORGE_TOKEN`, else `GITHUB_TOKEN` / `GITLAB_TOKEN`.
    #[arg(long)]
    pub pr: bool,

    /// Rebuild an existing upgrade branch on the current base and update its pull request,
    /// instead of refusing.
    #[arg(long)]
    pub refresh: bool,

    /// The remote to push to.
    #[arg(long, default_value = "origin")]
    pub remote: String,

    /// The forge API base URL (default: from the remote's host; GitHub Enterprise and
    /// self-hosted GitLab may need it).
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,

    /// The forge, when the remote's host does not tell.
    #[arg(long, value_enum)]
    pub forge: Option<ForgeArg>,

    /// The repository on the forge (`owner/repo`, `group/sub/project`), when the remote URL does
    /// not name it.
    #[arg(long, value_name = "PATH")]
    pub repository: Option<String>,

    /// The Composer program.
    #[arg(long, value_name = "PROGRAM", default_value = "composer")]
    pub composer: String,

    /// Spryker's integration manifests, a directory or an archive's path or URL
    /// (`https://…/integrator-manifests-master.tar.gz`, cached with the metadata): after each
    /// group, the code changes its updates call for are applied and committed (default:
    /// `[upgrade] manifests` of upkeep.toml; without either, no code changes are made)
    #[arg(long, value_name = "DIR|URL", env = "UPKEEP_MANIFESTS")]
    pub manifests: Option<ManifestSource>,

    /// Do not run the quality gate before and after.
    #[arg(long)]
    pub no_gate: bool,

    /// Print the pull request's title and body and change nothing: Composer runs on a scratch
    /// clone of the base branch (lock file only), no branch or commit is made here, nothing is
    /// pushed or opened, and no forge or token is needed.
    #[arg(long, conflicts_with_all = ["push", "pr", "refresh"])]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ForgeArg {
    Github,
    Gitlab,
}

pub fn run(args: &UpgradeArgs) -> Outcome {
    match &args.command {
        UpgradeCommand::Plan(args) => run_plan(args),
        UpgradeCommand::Apply(args) => run_apply(args),
        UpgradeCommand::Manifests(args) => crate::manifests::run(args),
    }
}

fn settings_and_options(
    metadata: &MetadataArgs,
) -> Result<(UpgradeSettings, RepositoryOptions), Outcome> {
    let mut settings = UpgradeSettings::read(&metadata.path).map_err(|error| {
        print_error(&error.to_string(), error.hint().as_deref());
        Outcome::Failed
    })?;
    if metadata.advisories.is_some() {
        settings.advisories.clone_from(&metadata.advisories);
    }
    Ok((settings, repository_options(metadata)))
}

fn repository_options(metadata: &MetadataArgs) -> RepositoryOptions {
    RepositoryOptions {
        cache_dir: metadata.cache_dir.clone().or_else(default_cache_dir),
        offline: metadata.offline,
        max_age: Duration::from_secs(metadata.max_age),
        concurrency: metadata.concurrency.max(1),
        ..RepositoryOptions::default()
    }
}

fn planned(metadata: &MetadataArgs) -> Result<(UpgradeSettings, UpgradePlan), Outcome> {
    let (settings, options) = settings_and_options(metadata)?;
    let planned = plan_project(&metadata.path, &settings, &options).map_err(|error| {
        print_error(&error.to_string(), error.hint().as_deref());
        Outcome::Failed
    })?;
    for warning in &planned.warnings {
        anstream::eprintln!("warning: {warning}");
        if let Some(hint) = warning.hint() {
            anstream::eprintln!("hint: {hint}");
        }
    }
    // The command ends soon after: freeing every version of every package one by one (and the
    // allocator handing the pages back) costs more than the process exiting with them.
    std::mem::forget(planned.metadata);
    Ok((settings, planned.plan))
}

fn run_plan(args: &PlanArgs) -> Outcome {
    let (_, plan) = match planned(&args.metadata) {
        Ok(planned) => planned,
        Err(outcome) => return outcome,
    };
    match args.format {
        PlanFormat::Json => match serde_json::to_string_pretty(&plan) {
            Ok(json) => writeln!(output::stdout(), "{json}"),
            Err(error) => {
                print_error(&error.to_string(), None);
                return Outcome::Failed;
            }
        },
        PlanFormat::Text => output::stdout().write_bytes(render_plan(&plan, args.all).as_bytes()),
    }
    Outcome::Success
}

/// The plan as a table: the packages that need action (or, with `all`, every one), a count of
/// the rest, and the groups in the order they are applied.
fn render_plan(plan: &UpgradePlan, all: bool) -> String {
    let mut text = String::new();
    let shown: Vec<&PackagePlan> = plan
        .packages
        .iter()
        .filter(|package| all || package.needs_action())
        .collect();
    let width = shown
        .iter()
        .map(|package| package.name.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let _ = writeln!(
        text,
        "{:width$}  {:12} {:12} {:12} {:12} {:6} {:12} reason",
        "package", "locked", "patch", "minor", "major", "update", "to"
    );
    for package in &shown {
        let update = match package.update {
            UpdateKind::Patch => "patch",
            UpdateKind::Minor => "minor",
            UpdateKind::None if package.deferred => "later",
            UpdateKind::None => "-",
        };
        let dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
        let _ = writeln!(
            text,
            "{:width$}  {:12} {:12} {:12} {:12} {:6} {:12} {}{}",
            package.name,
            package.locked,
            dash(&package.patch),
            dash(&package.minor),
            dash(&package.major),
            update,
            dash(&package.to),
            if package.security { "[security] " } else { "" },
            package.reason
        );
    }
    let up_to_date: Vec<&PackagePlan> = plan
        .packages
        .iter()
        .filter(|package| !package.needs_action())
        .collect();
    let with_major = up_to_date
        .iter()
        .filter(|package| package.major.is_some())
        .count();
    let noun = |count: usize| if count == 1 { "package" } else { "packages" };
    let _ = write!(
        text,
        "\n{} {} up to date ({with_major} with a new major)",
        up_to_date.len(),
        noun(up_to_date.len())
    );
    if all || up_to_date.is_empty() {
        text.push_str(".\n");
    } else {
        text.push_str(": not shown; --all shows every package.\n");
    }
    text.push('\n');
    if plan.groups.is_empty() {
        text.push_str("Nothing to update.\n");
    } else {
        let _ = writeln!(text, "Groups, in the order they are applied:");
        for (index, group) in plan.groups.iter().enumerate() {
            let _ = writeln!(
                text,
                "  {}. {}{}: {}",
                index + 1,
                group.name,
                if group.security { " [security]" } else { "" },
                group.packages.join(", ")
            );
        }
    }
    text
}

/// A flag that Ctrl-C, SIGTERM and SIGHUP (what CI systems send to cancel a job) set; the
/// upgrade then stops Composer and returns to the base branch instead of dying on its branch.
fn cancel_on_signals() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler = Arc::clone(&flag);
    let _ = ctrlc::set_handler(move || handler.store(true, Ordering::SeqCst));
    flag
}

/// The integration manifests of `--manifests` or `[upgrade] manifests`, with their warnings
/// printed; `Ok(None)` when neither names any.
fn read_manifests(
    source: Option<&ManifestSource>,
    metadata: &MetadataArgs,
) -> Result<Option<upkeep_integrator::manifest::ManifestSet>, Outcome> {
    let Some(source) = source else {
        return Ok(None);
    };
    let repositories = repository_options(metadata);
    let mut log = |line: &str| anstream::eprintln!("{line}");
    upkeep_upgrade::manifests::load_manifests(source, &metadata.path, &repositories, &mut log)
        .map(Some)
        .map_err(|error| {
            print_error(&error.to_string(), error.hint().as_deref());
            Outcome::Failed
        })
}

fn run_apply(args: &ApplyArgs) -> Outcome {
    let cancel = cancel_on_signals();
    // The forge first: a missing token or an unknown forge should not wait for the metadata.
    let forge = if args.pr {
        match forge_client(args) {
            Ok(forge) => Some(forge),
            Err(outcome) => return outcome,
        }
    } else {
        None
    };
    // Composer next, before the metadata is fetched: a missing or broken one fails first.
    let composer = Composer {
        program: &args.composer,
        project: &args.metadata.path,
        cancel: None,
        lock_only: false,
    };
    if let Err(error) = composer.check() {
        print_error(&error.to_string(), error.hint().as_deref());
        return Outcome::Failed;
    }
    let (settings, plan) = match planned(&args.metadata) {
        Ok(planned) => planned,
        Err(outcome) => return outcome,
    };
    let source = args.manifests.as_ref().or(settings.manifests.as_ref());
    let manifests = match read_manifests(source, &args.metadata) {
        Ok(manifests) => manifests,
        Err(outcome) => return outcome,
    };
    let options = ApplyOptions {
        project: &args.metadata.path,
        plan: &plan,
        settings: &settings,
        composer: &args.composer,
        push: args.push || args.pr,
        forge: forge.as_deref(),
        refresh: args.refresh,
        remote: &args.remote,
        gate: !args.no_gate,
        date: jiff::Timestamp::now().strftime("%Y-%m-%d").to_string(),
        cancel: Some(&cancel),
        git_env: &GitEnv::default(),
        dry_run: args.dry_run,
        manifests: manifests.as_ref(),
    };
    let mut log = |line: &str| anstream::eprintln!("{line}");
    match apply(&options, &mut log) {
        Ok(outcome) => {
            let report = &outcome.report;
            let mut out = output::stdout();
            if args.dry_run {
                writeln!(out, "# {}\n\n{}", report.title(), report.body());
            } else {
                let request = outcome.pull_request.as_ref().map(|request| {
                    let kind = forge
                        .as_ref()
                        .map_or(ForgeKind::GitHub, |forge| forge.kind());
                    format!(
                        "; {} {}",
                        kind.request_reference(request.number),
                        request.url
                    )
                });
                writeln!(
                    out,
                    "{} packages updated in {} commits on {}{}",
                    report.applied.len(),
                    outcome.commits.len(),
                    outcome.branch,
                    request.unwrap_or_default()
                );
            }
            for group in &report.failed_groups {
                writeln!(
                    out,
                    "not updated: {} ({})",
                    group.name,
                    group.packages.join(", ")
                );
            }
            for dropped in &report.dropped {
                writeln!(
                    out,
                    "not updated: {} {} (left out of group {}; Composer named it)",
                    dropped.name, dropped.to, dropped.group
                );
            }
            if report.failed_groups.is_empty() && report.dropped.is_empty() {
                Outcome::Success
            } else {
                Outcome::ProblemsFound
            }
        }
        Err(error) => {
            print_error(&error.to_string(), error.hint().as_deref());
            Outcome::Failed
        }
    }
}

fn forge_client(args: &ApplyArgs) -> Result<Box<dyn upkeep_forge::Forge>, Outcome> {
    let kind_hint = args.forge.map(|forge| match forge {
        ForgeArg::Github => ForgeKind::GitHub,
        ForgeArg::Gitlab => ForgeKind::GitLab,
    });
    let token_kind = kind_hint.unwrap_or(ForgeKind::GitHub);
    let Some(token) = Token::from_env(token_kind).or_else(|| Token::from_env(ForgeKind::GitLab))
    else {
        print_error(
            "--pr needs an API token",
            Some(
                "set UPKEEP_FORGE_TOKEN (or GITHUB_TOKEN / GITLAB_TOKEN) to a token that may open pull requests",
            ),
        );
        return Err(Outcome::Failed);
    };
    let forge = ForgeTarget {
        kind: kind_hint,
        repository: args.repository.clone(),
        api_base: args.api_url.clone(),
    };
    let job = ScheduledUpgrade {
        project: args.metadata.path.clone(),
        remote: args.remote.clone(),
        forge,
        token,
        composer: args.composer.clone(),
        repositories: RepositoryOptions::default(),
        refresh: args.refresh,
        overrides: SettingsOverrides::default(),
        git_env: GitEnv::default(),
    };
    connect(&job).map_err(|error| {
        // The error's own hint (`configure the forge kind ...`), then how to do that here.
        print_error(&error.to_string(), error.hint().as_deref());
        anstream::eprintln!(
            "hint: pass --forge github|gitlab, --repository and --api-url when the remote does not name the forge"
        );
        Outcome::Failed
    })
}
