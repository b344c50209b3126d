//! Applies an upgrade plan to the user's repository: on branch `upkeep/upgrade-for-<base>`, one
//! Composer run and one commit per group, the quality gate before and after, then push and the
//! pull or merge request. Whatever happens, the checkout ends on the base branch, clean.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use upkeep_composer::ComposerLock;
use upkeep_forge::git_auth::GitEnv;
use upkeep_forge::{Forge, ForgeError, ForgeKind, Git, GitError, NewPullRequest, PullRequest};
use upkeep_gate::GateOptions;
use upkeep_integrator::manifest::ManifestSet;

use crate::composer_cli::{Composer, ComposerError};
use crate::plan::{PackagePlan, UpgradePlan};
use crate::pull_request::{
    AppliedUpdate, DroppedPackage, FailedGroup, GroupCodeChanges, MajorUpgrade, UpgradeReport,
};
use crate::settings::UpgradeSettings;

/// What every upgrade branch's name starts with.
const UPGRADE_BRANCH_PREFIX: &str = "upkeep/upgrade-for-";

/// The branch an upgrade of `base` lives on.
pub fn upgrade_branch(base: &str) -> String {
    format!("{UPGRADE_BRANCH_PREFIX}{base}")
}

/// The base branch of an upgrade branch (`main` for `upkeep/upgrade-for-main`, also when runs
/// on a leftover branch nested the prefix), or `None` for a branch that is not one.
pub fn base_of_upgrade_branch(branch: &str) -> Option<&str> {
    let mut base = branch.strip_prefix(UPGRADE_BRANCH_PREFIX)?;
    while let Some(inner) = base.strip_prefix(UPGRADE_BRANCH_PREFIX) {
        base = inner;
    }
    Some(base)
}

// Switches of a run, each on its own.
#[allow(clippy::struct_excessive_bools)]
pub struct ApplyOptions<'a> {
    /// The directory with `composer.json` (inside a git repository).
    pub project: &'a Path,
    pub plan: &'a UpgradePlan,
    pub settings: &'a UpgradeSettings,
    /// The Composer program (`composer` on the `PATH` by default).
    pub composer: &'a str,
    /// Push the branch to `remote`.
    pub push: bool,
    /// Open (or, with `refresh`, update) the pull request here; implies `push`.
    pub forge: Option<&'a dyn Forge>,
    /// Replace an existing upgrade branch (and update its pull request) instead of refusing.
    pub refresh: bool,
    pub remote: &'a str,
    /// Run the quality gate before and after.
    pub gate: bool,
    /// `YYYY-MM-DD`, for the title.
    pub date: String,
    /// Set (by the caller's signal handler, say) to stop the run: Composer is stopped, nothing
    /// more is committed, pushed or opened, and the checkout returns to the base branch.
    pub cancel: Option<&'a AtomicBool>,
    /// The environment of every git command (credentials for the push, from
    /// [`upkeep_forge::git_auth::GitAuth`]); empty: git's own configuration.
    pub git_env: &'a GitEnv,
    /// Work on a scratch clone of the base branch and report what the pull request would say:
    /// no branch, commit, push or request in the project's repository, and no gate (the clone
    /// has no `vendor/`). `push`, `forge` and `refresh` are ignored.
    pub dry_run: bool,
    /// Spryker's integration manifests: after each group, the code changes its updates call
    /// for are applied and committed on their own (`Apply code changes for <group>`).
    pub manifests: Option<&'a ManifestSet>,
}

impl ApplyOptions<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|flag| flag.load(Ordering::SeqCst))
    }

    fn check_cancelled(&self) -> Result<(), ApplyError> {
        if self.cancelled() {
            Err(ApplyError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// What an apply did.
#[derive(Debug)]
pub struct ApplyOutcome {
    pub base: String,
    pub branch: String,
    /// Commits on the upgrade branch, one per updated group.
    pub commits: Vec<String>,
    pub report: UpgradeReport,
    pub pull_request: Option<PullRequest>,
    /// Whether the branch was pushed.
    pub pushed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the working tree has uncommitted changes: {}", paths.join(", "))]
    DirtyTree { paths: Vec<String> },
    #[error("an earlier upgrade is still open: {what}")]
    AlreadyOpen { what: String },
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    Composer(#[from] ComposerError),
    #[error("the quality gate could not run: {0}")]
    Gate(String),
    #[error("{}: {message}", path.display())]
    Lock { path: PathBuf, message: String },
    #[error(
        "`{branch}` is checked out: an earlier `upkeep upgrade apply` ended before it could \
         return to `{base}` (killed?); an upgrade does not start from an upgrade branch"
    )]
    OnUpgradeBranch { branch: String, base: String },
    #[error("the upgrade was cancelled (interrupted or terminated); nothing more was applied")]
    Cancelled,
    #[error("cannot make the dry run's scratch copy: {0}")]
    Scratch(String),
}

impl upkeep_hint::Hint for ApplyError {
    /// What to do about it; the errors of git, the forge and Composer pass on their own.
    fn hint(&self) -> Option<String> {
        match self {
            Self::DirtyTree { .. } => {
                Some("commit or stash your changes, then run the upgrade again".into())
            }
            Self::AlreadyOpen { .. } => Some(
                "merge or close it first, or run with --refresh to rebuild it on the current base"
                    .into(),
            ),
            Self::Git(error) => error.hint(),
            Self::Forge(error) => error.hint(),
            Self::Composer(error) => error.hint(),
            Self::OnUpgradeBranch { branch, base } => Some(format!(
                "drop what it left with `git checkout --force {base} && git branch -D {branch}`, \
                 then run the upgrade again (with --refresh if its branch was pushed)"
            )),
            Self::Cancelled => Some(
                "the checkout is back on the base branch; run the upgrade again to start over"
                    .into(),
            ),
            Self::Gate(_) | Self::Lock { .. } | Self::Scratch(_) => None,
        }
    }
}

/// Runs the upgrade. `log` receives progress and Composer's output, line by line.
pub fn apply(
    options: &ApplyOptions<'_>,
    log: &mut dyn FnMut(&str),
) -> Result<ApplyOutcome, ApplyError> {
    if options.dry_run {
        let version = composer(options).check()?;
        log(&format!("using {version}"));
        return dry_run(options, log);
    }
    let git = Git::open(options.project)?.with_git_env(options.git_env);
    // Before the tree is looked at: what a killed run left is uncommitted on its branch, and
    // "commit your changes" would be the wrong advice.
    if let Ok(current) = git.current_branch()
        && let Some(base) = base_of_upgrade_branch(&current)
    {
        return Err(ApplyError::OnUpgradeBranch {
            base: base.to_string(),
            branch: current,
        });
    }
    options.check_cancelled()?;
    let dirty = git.dirty_paths()?;
    if !dirty.is_empty() {
        return Err(ApplyError::DirtyTree { paths: dirty });
    }
    let (base, on_base) = match &options.settings.base_branch {
        Some(base) => (
            base.clone(),
            git.current_branch().ok().as_deref() == Some(base.as_str()),
        ),
        None => (git.current_branch()?, true),
    };
    // Before anything changes: a missing or broken Composer would otherwise first show
    // on the upgrade branch.
    let version = composer(options).check()?;
    log(&format!("using {version}"));
    if !on_base {
        git.checkout(&base)?;
    }
    let branch = upgrade_branch(&base);
    let existing_request = match options.forge {
        Some(forge) => forge.find_open_request(&branch, &base)?,
        None => None,
    };
    if !options.refresh {
        refuse_open_upgrade(&git, options, &branch, existing_request.as_ref())?;
    }

    let before = if options.gate {
        Some(gate_findings(options.project)?)
    } else {
        None
    };
    options.check_cancelled()?;
    // Without `refresh`, `refuse_open_upgrade` has made sure the branch does not exist.
    if options.refresh && git.branch_exists(&branch)? {
        git.delete_branch(&branch)?;
    }
    git.create_branch(&branch, &base)?;
    git.checkout(&branch)?;
    log(&format!("on branch {branch} (from {base})"));

    // From here on, the checkout returns to the base branch whatever happens.
    let result = apply_on_branch(options, &git, &base, &branch, before, existing_request, log);
    // A branch without commits, or of a run that failed, would only block the next run.
    let delete_branch = result
        .as_ref()
        .map_or(true, |outcome| outcome.commits.is_empty());
    let restored = return_to_base(options, &git, &base, &branch, delete_branch, log);
    let outcome = result?;
    restored?;
    Ok(outcome)
}

/// The run on a scratch clone of the base branch: the same Composer runs and commits as
/// [`apply`], in the clone, which is removed afterwards.
fn dry_run(
    options: &ApplyOptions<'_>,
    log: &mut dyn FnMut(&str),
) -> Result<ApplyOutcome, ApplyError> {
    let git = Git::open(options.project)?.with_git_env(options.git_env);
    let base = if let Some(base) = &options.settings.base_branch {
        base.clone()
    } else {
        let current = git.current_branch()?;
        base_of_upgrade_branch(&current).map_or(current.clone(), str::to_string)
    };
    if !git.dirty_paths()?.is_empty() {
        log(&format!(
            "the dry run starts from the last commit of {base}: uncommitted changes are not in it"
        ));
    }
    let scratch_error = |error: std::io::Error| ApplyError::Scratch(error.to_string());
    let scratch = tempfile::Builder::new()
        .prefix("upkeep-dry-run-")
        .tempdir()
        .map_err(scratch_error)?;
    let toplevel = fs_err::canonicalize(git.toplevel()).map_err(scratch_error)?;
    let project = fs_err::canonicalize(options.project).map_err(scratch_error)?;
    let inside = project.strip_prefix(&toplevel).unwrap_or(Path::new(""));
    let clone_dir = scratch.path().join("repository");
    let clone = Git::clone_from(&toplevel.to_string_lossy(), &clone_dir)?;
    let commit = git.rev_parse(&base)?;
    let branch = upgrade_branch(&base);
    clone.create_branch(&branch, &commit)?;
    clone.checkout(&branch)?;
    let scratch_project = clone_dir.join(inside);
    log(&format!(
        "dry run: on a scratch clone of {base} ({}); nothing is changed here",
        &commit[..commit.len().min(12)]
    ));
    let scratch_options = ApplyOptions {
        project: &scratch_project,
        plan: options.plan,
        settings: options.settings,
        composer: options.composer,
        push: false,
        forge: None,
        refresh: false,
        remote: options.remote,
        gate: false,
        date: options.date.clone(),
        cancel: options.cancel,
        git_env: options.git_env,
        dry_run: true,
        manifests: options.manifests,
    };
    let mut outcome = apply_on_branch(&scratch_options, &clone, &base, &branch, None, None, log)?;
    if options.gate {
        outcome.report.gate_problem =
            Some("the dry run does not run the gate (its scratch copy has no vendor/)".to_string());
    }
    Ok(outcome)
}

fn refuse_open_upgrade(
    git: &Git,
    options: &ApplyOptions<'_>,
    branch: &str,
    request: Option<&PullRequest>,
) -> Result<(), ApplyError> {
    if let Some(request) = request {
        let kind = options.forge.map_or(ForgeKind::GitHub, Forge::kind);
        return Err(ApplyError::AlreadyOpen {
            what: format!(
                "{} ({}) from `{branch}`",
                request.url,
                kind.request_reference(request.number)
            ),
        });
    }
    if git.branch_exists(branch)? {
        return Err(ApplyError::AlreadyOpen {
            what: format!("the branch `{branch}` exists in this repository"),
        });
    }
    if (options.push || options.forge.is_some())
        && git.remote_branch_exists(options.remote, branch)?
    {
        return Err(ApplyError::AlreadyOpen {
            what: format!("the branch `{branch}` exists on `{}`", options.remote),
        });
    }
    Ok(())
}

fn apply_on_branch(
    options: &ApplyOptions<'_>,
    git: &Git,
    base: &str,
    branch: &str,
    before: Option<Vec<String>>,
    existing_request: Option<PullRequest>,
    log: &mut dyn FnMut(&str),
) -> Result<ApplyOutcome, ApplyError> {
    let composer = composer(options);
    let mut report = UpgradeReport {
        date: options.date.clone(),
        base_branch: base.to_string(),
        ..UpgradeReport::default()
    };
    let commits = update_groups(options, git, &composer, &mut report, log)?;
    options.check_cancelled()?;
    report.majors = options
        .plan
        .packages
        .iter()
        .filter_map(|package| {
            package.major.as_ref().map(|major| MajorUpgrade {
                name: package.name.clone(),
                locked: package.locked.clone(),
                major: major.clone(),
                source_url: package.source_url.clone(),
            })
        })
        .collect();
    report.held_back = options
        .plan
        .packages
        .iter()
        .filter_map(PackagePlan::held_back)
        .collect();
    if let Some(before) = before {
        match gate_findings(options.project) {
            Ok(after) => report.new_findings = new_findings(&before, &after),
            Err(error) => report.gate_problem = Some(error.to_string()),
        }
    }

    let mut outcome = ApplyOutcome {
        base: base.to_string(),
        branch: branch.to_string(),
        commits,
        report,
        pull_request: None,
        pushed: false,
    };
    if outcome.commits.is_empty() {
        log("nothing was updated; no branch is pushed");
        return Ok(outcome);
    }
    options.check_cancelled()?;
    publish(options, git, existing_request, &mut outcome, log)?;
    Ok(outcome)
}

/// Updates the plan's groups in order, one commit per group that changed; groups Composer
/// cannot resolve go into the report. Returns the commits.
fn update_groups(
    options: &ApplyOptions<'_>,
    git: &Git,
    composer: &Composer<'_>,
    report: &mut UpgradeReport,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<String>, ApplyError> {
    let mut commits = Vec::new();
    for group in &options.plan.groups {
        options.check_cancelled()?;
        let members: Vec<&PackagePlan> = group
            .packages
            .iter()
            .filter_map(|name| {
                options
                    .plan
                    .packages
                    .iter()
                    .find(|package| &package.name == name)
            })
            .filter(|package| package.to.is_some())
            .collect();
        log(&format!(
            "group {}: {}",
            group.name,
            members
                .iter()
                .map(|package| package.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let result = update_group(composer, git, options.project, &members, log)?;
        for (package, problem) in result.dropped {
            report.dropped.push(DroppedPackage {
                name: package.name.clone(),
                group: group.name.clone(),
                to: package.to.clone().unwrap_or_default(),
                problem,
            });
        }
        if let Some(problem) = result.failed {
            log(&format!(
                "group {} skipped: Composer could not resolve it",
                group.name
            ));
            report.failed_groups.push(FailedGroup {
                name: group.name.clone(),
                packages: result
                    .remaining
                    .iter()
                    .map(|package| package.name.clone())
                    .collect(),
                problem,
            });
            continue;
        }
        let updates = result.updated;
        if updates.is_empty() {
            log(&format!("group {}: nothing changed", group.name));
            continue;
        }
        let message = commit_message(&group.name, &updates);
        let paths = ["composer.json", "composer.lock"];
        let sha = git.commit_paths(&paths.map(|path| options.project.join(path)), &message)?;
        log(&format!(
            "committed {}: {}",
            &sha[..sha.len().min(12)],
            message.lines().next().unwrap_or_default()
        ));
        commits.push(sha);
        if let Some(set) = options.manifests {
            let changes =
                apply_code_changes(options.project, git, set, &group.name, &updates, log)?;
            if let Some(commit) = &changes.commit {
                commits.push(commit.clone());
            }
            report.code_changes.push(changes);
        }
        report.applied.extend(
            updates
                .into_iter()
                .map(|(package, from, to)| AppliedUpdate {
                    kind: package.update.as_str().to_string(),
                    group: group.name.clone(),
                    fixes: if package.security {
                        package.advisories.clone()
                    } else {
                        Vec::new()
                    },
                    source_url: package.source_url.clone(),
                    name: package.name.clone(),
                    from,
                    to,
                }),
        );
    }
    Ok(commits)
}

/// Applies the manifests the group's updates call for (from the version each package had
/// before) and commits what they changed with `integrator.lock`. A manifest that cannot be
/// applied is reported in the pull request; a lock or file that cannot be read is too, and the
/// run goes on without the group's code changes.
fn apply_code_changes(
    project: &Path,
    git: &Git,
    set: &ManifestSet,
    group: &str,
    updates: &[(&PackagePlan, String, String)],
    log: &mut dyn FnMut(&str),
) -> Result<GroupCodeChanges, ApplyError> {
    let previous: BTreeMap<String, String> = updates
        .iter()
        .map(|(package, from, _)| (package.name.clone(), from.clone()))
        .collect();
    let integration = match upkeep_integrator::integrate::integrate(project, set, &previous) {
        Ok(integration) => integration,
        Err(error) => {
            log(&format!("group {group}: code changes not applied: {error}"));
            return Ok(GroupCodeChanges {
                group: group.to_string(),
                commit: None,
                section: format!("The code changes could not be applied: {error}\n"),
            });
        }
    };
    let section = integration.pull_request_section();
    if integration.updates.is_empty() {
        return Ok(GroupCodeChanges {
            group: group.to_string(),
            commit: None,
            section,
        });
    }
    if let Err(error) = integration.write(project) {
        log(&format!("group {group}: code changes not written: {error}"));
        return Ok(GroupCodeChanges {
            group: group.to_string(),
            commit: None,
            section: format!("The code changes could not be written: {error}\n"),
        });
    }
    let mut paths: Vec<PathBuf> = integration
        .changes
        .iter()
        .map(|change| project.join(&change.path))
        .collect();
    paths.push(project.join(upkeep_integrator::lock::LOCK_FILE));
    let message = format!("Apply code changes for {group}");
    let sha = git.commit_paths(&paths, &message)?;
    log(&format!(
        "committed {}: {message} ({} files)",
        &sha[..sha.len().min(12)],
        integration.changes.len()
    ));
    Ok(GroupCodeChanges {
        group: group.to_string(),
        commit: Some(sha),
        section,
    })
}

/// Pushes the branch and opens (or, for an existing one, updates) the pull request.
fn publish(
    options: &ApplyOptions<'_>,
    git: &Git,
    existing_request: Option<PullRequest>,
    outcome: &mut ApplyOutcome,
    log: &mut dyn FnMut(&str),
) -> Result<(), ApplyError> {
    let branch = outcome.branch.clone();
    let base = outcome.base.clone();
    if options.push || options.forge.is_some() {
        git.push(options.remote, &branch, options.refresh)?;
        outcome.pushed = true;
        log(&format!("pushed {branch} to {}", options.remote));
    }
    if let Some(forge) = options.forge {
        let title = outcome.report.title();
        let body = outcome.report.body();
        let request = match existing_request {
            Some(existing) => forge.update_request(existing.number, &title, &body)?,
            None => forge.create_request(&NewPullRequest {
                title,
                body,
                head: branch.clone(),
                base: base.clone(),
                draft: false,
            })?,
        };
        if !options.settings.reviewers.is_empty() {
            forge.request_reviewers(request.number, &options.settings.reviewers)?;
        }
        log(&format!(
            "{}: {}",
            forge.kind().request_reference(request.number),
            request.url
        ));
        outcome.pull_request = Some(request);
    }
    Ok(())
}

fn composer<'a>(options: &ApplyOptions<'a>) -> Composer<'a> {
    Composer {
        program: options.composer,
        project: options.project,
        cancel: options.cancel,
        lock_only: options.dry_run,
    }
}

/// How one group went.
struct GroupResult<'p> {
    updated: Updates<'p>,
    /// Packages left out because Composer named them when it refused the group, with its
    /// explanation.
    dropped: Vec<(&'p PackagePlan, String)>,
    /// Composer's problem text when the group could not be updated at all.
    failed: Option<String>,
    /// The members still in the group when it ended.
    remaining: Vec<&'p PackagePlan>,
}

/// One group: [`update_packages`]; when Composer refuses and names one of the group's
/// packages in its problem, the group is tried again without that package, so that one bad
/// package does not hold back the others. When it names none (or only one is left), the
/// group's changes are undone and it fails.
fn update_group<'p>(
    composer: &Composer<'_>,
    git: &Git,
    project: &Path,
    members: &[&'p PackagePlan],
    log: &mut dyn FnMut(&str),
) -> Result<GroupResult<'p>, ApplyError> {
    let mut result = GroupResult {
        updated: Vec::new(),
        dropped: Vec::new(),
        failed: None,
        remaining: members.to_vec(),
    };
    loop {
        let problem = match update_packages(composer, project, &result.remaining, log)? {
            Ok(updated) => {
                result.updated = updated;
                return Ok(result);
            }
            Err(problem) => problem,
        };
        git.reset_hard("HEAD")?;
        let named = (result.remaining.len() > 1)
            .then(|| named_package(&problem, &result.remaining))
            .flatten();
        let Some(named) = named else {
            result.failed = Some(problem);
            return Ok(result);
        };
        log(&format!(
            "Composer names {} {}: trying the rest of the group without it",
            named.name,
            named.to.as_deref().unwrap_or_default()
        ));
        // What moves only for the package left out goes with it.
        let (out, kept): (Vec<&PackagePlan>, Vec<&PackagePlan>) =
            result.remaining.iter().partition(|package| {
                std::ptr::eq(**package, named)
                    || package
                        .moved_with
                        .as_ref()
                        .is_some_and(|with| with.eq_ignore_ascii_case(&named.name))
            });
        result.remaining = kept;
        for package in out {
            let why = if std::ptr::eq(package, named) {
                problem.clone()
            } else {
                format!("moves only with {}, which was left out", named.name)
            };
            result.dropped.push((package, why));
        }
    }
}

/// The package of `members` that Composer's problem text blames: the first that is the subject
/// of a rule (`- acme/b 1.1.0 conflicts with …`, `- acme/b 1.1.0 requires …`), else the first
/// the text mentions at all.
fn named_package<'p>(problem: &str, members: &[&'p PackagePlan]) -> Option<&'p PackagePlan> {
    let member = |name: &str| {
        members
            .iter()
            .copied()
            .find(|package| package.name.eq_ignore_ascii_case(name))
    };
    let subjects = problem.lines().filter_map(|line| {
        let rule = line.trim_start().strip_prefix("- ")?;
        let subject = rule.split_whitespace().next()?;
        // `Root composer.json requires …` is the request, not the culprit.
        member(subject)
    });
    let mentioned = || {
        let words: Vec<&str> = problem
            .split(|character: char| {
                !(character.is_ascii_alphanumeric() || "/-_.".contains(character))
            })
            .collect();
        words
            .iter()
            .find_map(|word| member(word.trim_end_matches('.')))
    };
    subjects.into_iter().next().or_else(mentioned)
}

/// (package, from, to) of every planned package whose locked version changed.
type Updates<'p> = Vec<(&'p PackagePlan, String, String)>;

/// Moves root requirements that must move, then `composer update` with the planned versions
/// (the group's updates and what they move). `Err(problem)` when Composer refused.
fn update_packages<'p>(
    composer: &Composer<'_>,
    project: &Path,
    members: &[&'p PackagePlan],
    log: &mut dyn FnMut(&str),
) -> Result<Result<Updates<'p>, String>, ApplyError> {
    let before = locked_versions(project)?;
    for dev in [false, true] {
        let moves: Vec<(String, String)> = members
            .iter()
            .filter(|package| package.dev == dev)
            .filter_map(|package| {
                package
                    .new_constraint
                    .clone()
                    .map(|constraint| (package.name.clone(), constraint))
            })
            .collect();
        if !moves.is_empty() {
            let run = composer.require(&moves, dev, log)?;
            if run.cancelled {
                return Err(ApplyError::Cancelled);
            }
            if !run.succeeded {
                return Ok(Err(run.problem()));
            }
        }
    }
    let targets: Vec<(String, String)> = members
        .iter()
        .filter_map(|package| package.to.clone().map(|to| (package.name.clone(), to)))
        .collect();
    let run = composer.update(&targets, log)?;
    if run.cancelled {
        return Err(ApplyError::Cancelled);
    }
    if !run.succeeded {
        return Ok(Err(run.problem()));
    }
    let after = locked_versions(project)?;
    let updates = members
        .iter()
        .filter_map(|package| {
            let key = package.name.to_ascii_lowercase();
            let from = before.get(&key)?;
            let to = after.get(&key)?;
            (from != to).then(|| (*package, from.clone(), to.clone()))
        })
        .collect();
    Ok(Ok(updates))
}

fn locked_versions(project: &Path) -> Result<BTreeMap<String, String>, ApplyError> {
    let path = project.join("composer.lock");
    let lock = ComposerLock::from_path(&path).map_err(|error| ApplyError::Lock {
        path: path.clone(),
        message: error.to_string(),
    })?;
    Ok(lock
        .packages
        .iter()
        .chain(&lock.packages_dev)
        .map(|package| (package.name.to_ascii_lowercase(), package.version.clone()))
        .collect())
}

fn commit_message(group: &str, updates: &[(&PackagePlan, String, String)]) -> String {
    let mut message = format!(
        "Update {group}: {}",
        updates
            .iter()
            .map(|(package, _, to)| format!("{} {to}", package.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if message.len() > 72 {
        message = format!("Update {group} ({} packages)", updates.len());
    }
    message.push_str("\n\n");
    for (package, from, to) in updates {
        let _ = writeln!(message, "- {}: {from} -> {to}", package.name);
    }
    message.push_str("\nBy upkeep upgrade apply.\n");
    message
}

/// The gate's findings as comparable lines (rule, file, message; no line numbers, so moved code
/// does not count as new).
fn gate_findings(project: &Path) -> Result<Vec<String>, ApplyError> {
    let report = upkeep_gate::run(&GateOptions {
        root: project.to_path_buf(),
        ..GateOptions::default()
    })
    .map_err(|error| ApplyError::Gate(error.to_string()))?;
    Ok(report
        .findings
        .iter()
        .map(|finding| {
            format!(
                "{} {}: {}",
                finding.rule.name, finding.location.file, finding.message
            )
        })
        .collect())
}

/// The findings of `after` that `before` does not have (as a multiset).
fn new_findings(before: &[String], after: &[String]) -> Vec<String> {
    let mut remaining: BTreeMap<&str, usize> = BTreeMap::new();
    for finding in before {
        *remaining.entry(finding.as_str()).or_default() += 1;
    }
    after
        .iter()
        .filter(|finding| match remaining.get_mut(finding.as_str()) {
            Some(count) if *count > 0 => {
                *count -= 1;
                false
            }
            _ => true,
        })
        .cloned()
        .collect()
}

/// Back to the base branch with a clean tree; `vendor/` back to the base's lock when Composer
/// changed it. An upgrade branch without commits is deleted.
fn return_to_base(
    options: &ApplyOptions<'_>,
    git: &Git,
    base: &str,
    branch: &str,
    delete_branch: bool,
    log: &mut dyn FnMut(&str),
) -> Result<(), ApplyError> {
    git.reset_hard("HEAD")?;
    git.checkout(base)?;
    if delete_branch {
        git.delete_branch(branch)?;
    }
    if options.cancelled() {
        // A cancelled run has seconds before the next signal; `composer install` takes longer.
        if options.project.join("vendor").is_dir() {
            log("warning: cancelled, so vendor/ was not restored; run `composer install`");
        }
    } else if options.project.join("vendor").is_dir() {
        let run = composer(options).install(log)?;
        if !run.succeeded {
            log("warning: `composer install` could not restore vendor/ to the base branch's lock");
        }
    }
    log(&format!("back on {base}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrade_branches_name_their_base() {
        assert_eq!(
            base_of_upgrade_branch("upkeep/upgrade-for-main"),
            Some("main")
        );
        assert_eq!(
            base_of_upgrade_branch("upkeep/upgrade-for-upkeep/upgrade-for-release/1.x"),
            Some("release/1.x")
        );
        assert_eq!(base_of_upgrade_branch("main"), None);
        assert_eq!(
            base_of_upgrade_branch("feature/upkeep/upgrade-for-main"),
            None
        );
    }

    #[test]
    fn new_findings_are_counted_as_a_multiset() {
        let before = vec![
            "a f: m".to_string(),
            "a f: m".to_string(),
            "b g: n".to_string(),
        ];
        let after = vec![
            "a f: m".to_string(),
            "a f: m".to_string(),
            "a f: m".to_string(),
            "c h: o".to_string(),
        ];
        assert_eq!(new_findings(&before, &after), ["a f: m", "c h: o"]);
    }

    #[test]
    fn hints_are_apart_from_the_message_and_passed_on_from_git_the_forge_and_composer() {
        use upkeep_hint::Hint;

        let dirty = ApplyError::DirtyTree {
            paths: vec!["notes.txt".to_string()],
        };
        assert_eq!(
            dirty.to_string(),
            "the working tree has uncommitted changes: notes.txt"
        );
        assert_eq!(
            dirty.hint().as_deref(),
            Some("commit or stash your changes, then run the upgrade again")
        );
        let detached = ApplyError::Git(GitError::DetachedHead {
            dir: PathBuf::from("/srv/shop"),
        });
        assert_eq!(detached.to_string(), "HEAD is detached in /srv/shop");
        assert_eq!(
            detached.hint().as_deref(),
            Some("check out the base branch first")
        );
        let refused = ApplyError::Forge(ForgeError::Api {
            method: "POST",
            url: "https://api.github.com/repos/acme/shop/pulls".to_string(),
            status: 403,
            message: "Resource not accessible by integration".to_string(),
        });
        assert!(
            refused
                .hint()
                .is_some_and(|hint| hint.starts_with("the token lacks a permission")),
            "{refused:?}"
        );
        let composer = ApplyError::Composer(ComposerError::Missing {
            program: "composer".to_string(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
        assert!(
            composer
                .hint()
                .is_some_and(|hint| hint.starts_with("install Composer")),
            "{composer:?}"
        );
        assert_eq!(ApplyError::Gate("no php".to_string()).hint(), None);
    }

    fn planned(name: &str) -> PackagePlan {
        serde_json::from_value(serde_json::json!({
            "name": name, "locked": "1.0.0", "constraint": null, "dev": false,
            "patch": null, "minor": "1.1.0", "major": null, "update": "minor", "to": "1.1.0",
            "new_constraint": null, "reason": "newest release", "group": "v", "security": false,
            "advisories": [], "source_url": null
        }))
        .unwrap()
    }

    #[test]
    fn the_package_composer_blames_is_the_subject_of_a_rule_not_the_root_request() {
        let (one, two, three) = (planned("v/one"), planned("v/two"), planned("v/three"));
        let members = [&one, &three, &two];
        // Composer 2.5's words for two updates of one group that conflict.
        let problem = "  Problem 1\n    - Root composer.json requires v/one ^1.0 -> satisfiable by v/one[1.1.0].\n    - v/two 1.1.0 conflicts with v/one >=1.1.\n    - Root composer.json requires v/two ^1.0 -> satisfiable by v/two[1.1.0].";
        assert_eq!(named_package(problem, &members).unwrap().name, "v/two");
        let missing = "  Problem 1\n    - Root composer.json requires v/three 1.1.0 -> satisfiable by v/three[1.1.0].\n    - v/three 1.1.0 requires z/missing ^1.0 -> could not be found in any version.";
        assert_eq!(named_package(missing, &members).unwrap().name, "v/three");
        // Only a mention: the first one.
        let mention = "Root composer.json requires v/three 1.1.0, found v/three[1.1.0] but it conflicts with another require.";
        assert_eq!(named_package(mention, &members).unwrap().name, "v/three");
        assert!(
            named_package("  Problem 1\n    - other/x 1.0 requires php >=9", &members).is_none()
        );
    }

    #[test]
    fn update_kinds() {
        use crate::plan::UpdateKind;

        assert_eq!(UpdateKind::Patch.as_str(), "patch");
        assert_eq!(UpdateKind::Minor.as_str(), "minor");
    }
}
