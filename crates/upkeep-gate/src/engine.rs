//! One gate run: read the project, run the selected rules, apply configuration and
//! suppressions, and return a sorted report.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use upkeep_php::cache::CacheConfig;
use upkeep_php::extract::extract_facts;
use upkeep_php::parse::parse_php;
use upkeep_php::project::{LoadError, LoadedProject, with_thread_arena};
use upkeep_php::{FileOrigin, LoadOptions, load_with};

use crate::baseline::{Baseline, BaselineError, BaselineSummary};
use crate::changed::{ChangedFiles, GitError};
use crate::compare_core::{self, CompareCoreError, CoreComparison};
use crate::config::{ConfigError, ProjectConfig};
use crate::finding::{Finding, Location, Severity};
use crate::inputs::{GateInputs, NpmAudit};
use crate::manifests::ProjectManifests;
use crate::registry::{self, UnknownRule};
use crate::repository::SourceRoot;
use crate::rule::{Notice, PhpFile, ProjectScope, Rule, RuleMeta, Sink};
use crate::rules::syntax::{parse_error, unmatched_suppression};
use crate::settings::GateSettings;
use crate::suppress::Suppressions;

/// What the caller chooses for a run (command-line flags; they win over config files).
#[derive(Debug, Clone, Default)]
pub struct GateOptions {
    pub root: PathBuf,
    /// Rule names, Spryker ids or categories to run; empty means the config's choice or all.
    pub rules: Vec<String>,
    pub exclude_rules: Vec<String>,
    /// Worker threads; 0 means one per core.
    pub jobs: usize,
    pub advisories: Option<PathBuf>,
    /// Replaces `<root>/upkeep.toml`.
    pub config_file: Option<PathBuf>,
    /// Directory of the incremental cache (`--cache-dir`, by default `<root>/.upkeep/cache`);
    /// `None` parses every file.
    pub cache_dir: Option<PathBuf>,
    /// Report only the findings this baseline file does not list (`--baseline`); without it,
    /// the `baseline` of `upkeep.toml`'s `[gate]`, if any.
    pub baseline: Option<PathBuf>,
    /// Apply no baseline, not even `upkeep.toml`'s (`--no-baseline`, `--generate-baseline`).
    pub skip_config_baseline: bool,
    /// Report only findings in files changed since this git revision (`--changed-since`).
    pub changed_since: Option<String>,
    /// An older vendor directory to compare the current core with (`--compare-core`): the
    /// report then lists what changed in the core classes the project builds on.
    pub compare_core: Option<PathBuf>,
    /// What the caller gathered before the run: the host's PHP version, the npm audit, the
    /// deploy files with their imports (see [`crate::inputs`]).
    pub inputs: GateInputs,
}

/// Why a run could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    UnknownRule(#[from] UnknownRule),
    #[error("cannot read the project at {root}: {source}")]
    Load { root: PathBuf, source: LoadError },
    #[error("cannot start {jobs} worker threads: {message}")]
    Threads { jobs: usize, message: String },
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    CompareCore(#[from] CompareCoreError),
}

impl upkeep_hint::Hint for GateError {
    fn hint(&self) -> Option<String> {
        let hint = match self {
            Self::Config(_) => {
                "fix the configuration file; the README lists the keys `tooling.yml` and `upkeep.toml` accept"
            }
            Self::UnknownRule(_) => "`upkeep rules` lists every rule name and Spryker id",
            Self::Load { .. } => {
                "pass the project root, the directory that holds `composer.json` and `src/`"
            }
            Self::Threads { .. } => "try a smaller `--jobs`",
            Self::Baseline(_) => {
                "write a baseline with `upkeep gate --generate-baseline FILE`, or fix the file at the position shown"
            }
            Self::Git(_) => {
                "`--changed-since` needs the project in a git repository and a revision git knows (in a shallow CI clone, fetch it first)"
            }
            Self::CompareCore(_) => {
                "pass the old `vendor/` directory (with `spryker*/<package>/src` inside) and run in a project whose `vendor/` holds the new core"
            }
        };
        Some(hint.to_string())
    }
}

/// How many files a run read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileCounts {
    pub project_php: usize,
    pub project_xml: usize,
    pub core_php: usize,
    pub core_xml: usize,
}

impl FileCounts {
    pub fn project(&self) -> usize {
        self.project_php + self.project_xml
    }

    pub fn total(&self) -> usize {
        self.project() + self.core_php + self.core_xml
    }
}

/// The result of a run.
#[derive(Debug)]
pub struct GateReport {
    pub root: PathBuf,
    /// Sorted by file, position and rule.
    pub findings: Vec<Finding>,
    pub notices: Vec<Notice>,
    pub files: FileCounts,
    pub rules: Vec<&'static RuleMeta>,
    pub duration: Duration,
    /// How the findings compare with `--baseline`, when one was given.
    pub baseline: Option<BaselineSummary>,
    /// What changed in the core classes the project builds on, with `--compare-core`.
    pub core_changes: Option<CoreComparison>,
    /// The repository the project is in, for the CI formats' paths; `None` for a report
    /// built by hand (paths then stay relative to the project).
    pub source_root: Option<SourceRoot>,
}

impl GateReport {
    /// Findings per rule name, for summaries.
    pub fn by_rule(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for finding in &self.findings {
            *counts.entry(finding.rule.name).or_insert(0) += 1;
        }
        counts
    }

    /// True when a finding fails the gate (warnings do not).
    pub fn has_errors(&self) -> bool {
        self.findings
            .iter()
            .any(|finding| finding.severity == Severity::Error)
    }
}

/// The rules to run and how to treat their findings, from options and configuration.
#[derive(Clone)]
struct Selection {
    rules: Vec<&'static dyn Rule>,
    severity: BTreeMap<&'static str, Severity>,
    /// Checker ids in `tooling.yml` that name no rule of ours (Spryker has checks we do not,
    /// and the reverse); they are ignored with a notice rather than failing the run.
    unknown_tooling_ids: Vec<String>,
}

fn select(options: &GateOptions, config: &ProjectConfig) -> Result<Selection, UnknownRule> {
    let chosen = if options.rules.is_empty() {
        config.upkeep.gate.rules.clone().unwrap_or_default()
    } else {
        options.rules.clone()
    };
    let included: Option<HashSet<&str>> = if chosen.is_empty() {
        None
    } else {
        Some(registry::expand(&chosen)?.into_iter().collect())
    };
    let mut excluded_ids = config.upkeep.gate.exclude_rules.clone();
    excluded_ids.extend(options.exclude_rules.iter().cloned());
    let excluded: HashSet<&str> = registry::expand(&excluded_ids)?.into_iter().collect();
    let rules = registry::all()
        .filter(|rule| {
            included
                .as_ref()
                .is_none_or(|included| included.contains(rule.meta().name))
        })
        .filter(|rule| !excluded.contains(rule.meta().name))
        .collect();

    let mut severity = BTreeMap::new();
    let mut unknown_tooling_ids = Vec::new();
    for id in &config.tooling.warn_only_rules {
        match registry::expand(std::slice::from_ref(id)) {
            Ok(names) => names.into_iter().for_each(|name| {
                severity.insert(name, Severity::Warning);
            }),
            Err(_) => unknown_tooling_ids.push(id.clone()),
        }
    }
    let checkers = config
        .tooling
        .ignore_errors
        .iter()
        .filter_map(|ignore| ignore.rule.as_ref());
    unknown_tooling_ids.extend(checkers.filter(|id| registry::meta(id).is_none()).cloned());
    for (id, level) in &config.upkeep.gate.severity {
        for name in registry::expand(std::slice::from_ref(id))? {
            severity.insert(name, *level);
        }
    }
    Ok(Selection {
        rules,
        severity,
        unknown_tooling_ids,
    })
}

fn settings(
    options: &GateOptions,
    config: &ProjectConfig,
    project: &LoadedProject,
) -> GateSettings {
    let defaults = GateSettings::default();
    let gate = &config.upkeep.gate;
    let prefixes = if config.tooling.prefixes.is_empty() {
        project.namespaces.0.clone()
    } else {
        config.tooling.prefixes.clone()
    };
    let relative_to_root = |path: &Path| {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            options.root.join(path)
        }
    };
    GateSettings {
        prefixes,
        advisories: options
            .advisories
            .clone()
            .or_else(|| gate.advisories.as_deref().map(relative_to_root)),
        // Ours wins; else the lowest of Spryker's reported levels; else the default.
        npm_audit_level: gate
            .npm_audit_level
            .or_else(|| {
                config
                    .tooling
                    .npm_severity_levels
                    .as_ref()?
                    .iter()
                    .min()
                    .copied()
            })
            .unwrap_or(defaults.npm_audit_level),
        minimum_versions: gate.minimum_versions.as_deref().map(relative_to_root),
        discouraged_packages: gate.discouraged_packages.as_deref().map(relative_to_root),
    }
}

/// The caller's inputs completed from `upkeep.toml`: its `php-version`, and the saved npm
/// audit report it names (read here, before any rule runs). The caller's win.
fn resolved_inputs(options: &GateOptions, config: &ProjectConfig) -> GateInputs {
    let gate = &config.upkeep.gate;
    let mut inputs = options.inputs.clone();
    if inputs.php_version.is_none() {
        inputs.php_version.clone_from(&gate.php_version);
    }
    if inputs.npm_audit.is_none()
        && let Some(report) = &gate.npm_audit_report
    {
        let path = if report.is_absolute() {
            report.clone()
        } else {
            options.root.join(report)
        };
        inputs.npm_audit = Some(NpmAudit::read(&path));
    }
    inputs
}

/// Runs the gate on the project at `options.root`.
pub fn run(options: &GateOptions) -> Result<GateReport, GateError> {
    let started = Instant::now();
    let config = ProjectConfig::read(&options.root, options.config_file.as_deref())?;
    let selection = select(options, &config)?;
    // Read before the long work, so a bad baseline fails at once.
    let configured = || {
        let path = config.upkeep.gate.baseline.as_ref()?;
        (!options.skip_config_baseline).then(|| options.root.join(path))
    };
    let baseline = match (&options.baseline, configured()) {
        (Some(path), _) => Some(Baseline::read(path)?),
        (None, Some(path)) => Some(Baseline::read(&path).map_err(|mut error| {
            error
                .message
                .push_str(" (the `baseline` of `[gate]` in upkeep.toml)");
            error
        })?),
        (None, None) => None,
    };
    let (jobs, jobs_notice) = worker_threads(options.jobs);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|error| GateError::Threads {
            jobs,
            message: error.to_string(),
        })?;
    let mut report = pool.install(|| run_in_pool(options, &config, &selection, started))?;
    report.notices.extend(jobs_notice);
    // The whole project was checked; only what is reported narrows. The baseline comes first,
    // so entries in unchanged files still match their findings.
    if let Some(baseline) = &baseline {
        baseline.apply_to_report(&mut report);
    }
    if let Some(revision) = &options.changed_since {
        ChangedFiles::since(&options.root, revision)?.narrow_report(&mut report);
    }
    Ok(report)
}

/// More worker threads than this are never started: past a few per core they only add memory
/// (one parsing arena each) and contention; `--jobs 10000` did not finish in two minutes.
pub const MAX_JOBS: usize = 256;

/// The threads to start for `--jobs` (0: one per core), capped at four per core and at
/// [`MAX_JOBS`], with a notice when the request was lowered.
fn worker_threads(requested: usize) -> (usize, Option<Notice>) {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let limit = cores.saturating_mul(4).clamp(1, MAX_JOBS);
    if requested <= limit {
        return (requested, None);
    }
    let notice = Notice {
        rule: "jobs",
        message: format!(
            "--jobs {requested} lowered to {limit} worker threads (four per core, at most {MAX_JOBS}); \
             more only add memory and contention"
        ),
    };
    (limit, Some(notice))
}

fn run_in_pool(
    options: &GateOptions,
    config: &ProjectConfig,
    selection: &Selection,
    started: Instant,
) -> Result<GateReport, GateError> {
    let load_error = |source| GateError::Load {
        root: options.root.clone(),
        source,
    };
    let project = load_with(&options.root, &load_options(options)).map_err(load_error)?;
    let manifests =
        ProjectManifests::read(&options.root).map_err(|error| load_error(LoadError::Io(error)))?;
    let settings = settings(options, config, &project);
    let inputs = resolved_inputs(options, config);
    let core_changes = compare_core::preview(&project, options.compare_core.as_deref())?;
    let mut sink = Sink::default();
    report_cache_problems(&project, &mut sink);
    let has_core = project.index.has_core();
    let skipped: Vec<&str> = selection
        .rules
        .iter()
        .map(|rule| rule.meta())
        .filter(|meta| meta.needs_core && !has_core)
        .map(|meta| meta.name)
        .collect();
    let active = Selection {
        rules: selection
            .rules
            .iter()
            .copied()
            .filter(|rule| has_core || !rule.meta().needs_core)
            .collect(),
        ..selection.clone()
    };
    let selection = &active;

    for id in &selection.unknown_tooling_ids {
        sink.notices.push(Notice {
            rule: "config",
            message: format!("tooling.yml names checker `{id}`, which upkeep does not have; that entry was ignored"),
        });
    }
    for key in &config.tooling.unknown_keys {
        sink.notices.push(Notice {
            rule: "config",
            message: format!("tooling.yml: `{key}` is not a setting upkeep knows; it was ignored"),
        });
    }
    report_parse_problems(&project, selection, &mut sink);
    check_php_files(&project, selection, &settings, &mut sink);
    let scope = ProjectScope {
        root: &options.root,
        manifests: &manifests,
        index: &project.index,
        project: &project,
        settings: &settings,
        inputs: &inputs,
    };
    check_project_rules(selection, &scope, &mut sink);
    if !has_core {
        let skipped = if skipped.is_empty() {
            String::new()
        } else {
            format!("; skipped the core-aware rules {}", skipped.join(", "))
        };
        sink.notices.push(Notice {
            rule: "core",
            message: format!("no `vendor/spryker*` directory: core code was not read (run `composer install` first){skipped}"),
        });
    }

    // Vendor code is read as the core model only; it is never ours to report on.
    let mut findings = sink.findings;
    findings.retain(|finding| !finding.location.file.starts_with("vendor/"));
    let findings = apply_suppressions(findings, &project, selection);
    let mut findings = apply_configuration(findings, config, selection);
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
    let mut notices = sink.notices;
    notices.sort();
    notices.dedup();

    let mut files = FileCounts::default();
    for file in &project.index.files {
        match (file.origin, file.is_php()) {
            (FileOrigin::Project, true) => files.project_php += 1,
            (FileOrigin::Project, false) => files.project_xml += 1,
            (FileOrigin::Core, true) => files.core_php += 1,
            (FileOrigin::Core, false) => files.core_xml += 1,
        }
    }
    // Freeing the index (millions of allocations) is a tenth of a cached run: not on the way.
    rayon::spawn(move || drop(project));
    Ok(GateReport {
        root: options.root.clone(),
        findings,
        notices,
        files,
        rules: selection.rules.iter().map(|rule| rule.meta()).collect(),
        duration: started.elapsed(),
        baseline: None,
        core_changes,
        source_root: SourceRoot::of_project(&options.root),
    })
}

/// Runs the project-wide rules side by side: they only read the project, and on a cached run
/// they are a third of the time. Their results are merged in rule order.
fn check_project_rules(selection: &Selection, scope: &ProjectScope<'_>, sink: &mut Sink) {
    let results: Vec<Sink> = selection
        .rules
        .par_iter()
        .map(|rule| {
            let mut rule_sink = Sink::default();
            rule.check_project(scope, &mut rule_sink);
            rule_sink
        })
        .collect();
    for result in results {
        sink.findings.extend(result.findings);
        sink.notices.extend(result.notices);
    }
}

fn load_options(options: &GateOptions) -> LoadOptions {
    LoadOptions {
        cache: options.cache_dir.clone().map(CacheConfig::new),
    }
}

/// The cache never changes the result; what went wrong with it is worth a notice.
fn report_cache_problems(project: &LoadedProject, sink: &mut Sink) {
    for problem in project.cache.iter().flat_map(|cache| &cache.problems) {
        sink.notices.push(Notice {
            rule: "cache",
            message: format!(
                "{problem} (`--cache-dir DIR` moves the cache, `--no-cache` turns it off)"
            ),
        });
    }
}

fn relative_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Parse problems of project files become `parse-error` findings (core's are not ours to report).
fn report_parse_problems(project: &LoadedProject, selection: &Selection, sink: &mut Sink) {
    if !selection
        .rules
        .iter()
        .any(|rule| rule.meta().name == parse_error::META.name)
    {
        return;
    }
    // Only the first error of a file is reported: later ones are usually its echoes.
    let mut seen = HashSet::new();
    for problem in &project.problems {
        if !seen.insert(problem.file) {
            continue;
        }
        let Some(source) = project.source(problem.file) else {
            continue;
        };
        let path = relative_path(&project.index.file(problem.file).path);
        let span =
            upkeep_php::source::TextSpan::new(problem.offset, problem.end.max(problem.offset));
        let location = Location::in_text(&path, &source.text, &source.lines, span);
        let kind = if project.index.file(problem.file).is_php() {
            "PHP syntax error"
        } else {
            "malformed XML"
        };
        sink.push(Finding::new(
            &parse_error::META,
            location,
            format!("{kind}: {}", problem.message),
        ));
    }
}

/// Runs the per-file rules on every project PHP file that parsed, in parallel.
fn check_php_files(
    project: &LoadedProject,
    selection: &Selection,
    settings: &GateSettings,
    sink: &mut Sink,
) {
    let file_rules: Vec<&dyn Rule> = selection
        .rules
        .iter()
        .copied()
        .filter(|rule| rule.meta().category != crate::rule::Category::Syntax)
        .collect();
    if file_rules.is_empty() {
        return;
    }
    let broken: HashSet<_> = project
        .problems
        .iter()
        .map(|problem| problem.file)
        .collect();
    let results: Vec<Sink> = project
        .sources
        .par_iter()
        .filter(|source| !broken.contains(&source.file))
        .filter(|source| project.index.file(source.file).is_php())
        .map(|source| {
            with_thread_arena(|arena| {
                arena.reset();
                let path = relative_path(&project.index.file(source.file).path);
                let program = parse_php(arena, &source.text);
                let facts = extract_facts(program, &source.text, source.file, &project.namespaces);
                let file = PhpFile {
                    root: &project.root,
                    path: &path,
                    text: &source.text,
                    lines: &source.lines,
                    program,
                    facts: &facts,
                    index: &project.index,
                    settings,
                };
                let mut file_sink = Sink::default();
                for rule in &file_rules {
                    rule.check_php_file(&file, &mut file_sink);
                }
                file_sink
            })
        })
        .collect();
    for result in results {
        sink.findings.extend(result.findings);
        sink.notices.extend(result.notices);
    }
}

/// Drops findings that an in-code annotation suppresses (see `suppress.rs`). Done once for all
/// findings, so project-wide rules (e.g. `dead-code`) honour the annotations too. When
/// `unmatched-suppression` runs, adds its findings: pragmas that name no rule, or that
/// suppressed nothing of a rule that ran.
fn apply_suppressions(
    findings: Vec<Finding>,
    project: &LoadedProject,
    selection: &Selection,
) -> Vec<Finding> {
    // Only files with a suppression matter: most have none.
    let mut classes_by_path: HashMap<String, Vec<&upkeep_php::ClassLike>> = HashMap::new();
    for class in project.index.project_classes() {
        if Suppressions::any_in(class) {
            let path = relative_path(&project.index.file(class.file).path);
            classes_by_path.entry(path).or_default().push(class);
        }
    }
    let mut suppressions_by_path: HashMap<&str, Suppressions> = HashMap::new();
    let mut kept: Vec<Finding> = findings
        .into_iter()
        .filter(|finding| {
            let Some((path, classes)) = classes_by_path.get_key_value(&finding.location.file)
            else {
                return true;
            };
            let suppressions = suppressions_by_path
                .entry(path.as_str())
                .or_insert_with(|| Suppressions::of_classes(classes.iter().copied()));
            !suppressions.is_suppressed(finding)
        })
        .collect();
    let ran: Vec<&str> = selection
        .rules
        .iter()
        .map(|rule| rule.meta().name)
        .collect();
    if !ran.contains(&unmatched_suppression::META.name) {
        return kept;
    }
    for (path, classes) in &classes_by_path {
        let suppressions = suppressions_by_path
            .entry(path.as_str())
            .or_insert_with(|| Suppressions::of_classes(classes.iter().copied()));
        let Some(source) = classes.first().and_then(|class| project.source(class.file)) else {
            continue;
        };
        for unmatched in suppressions.unmatched(&ran) {
            kept.push(unmatched_suppression::finding(
                path,
                &source.text,
                &source.lines,
                &unmatched,
            ));
        }
    }
    kept
}

/// Applies `tooling.yml` ignores and severity overrides.
fn apply_configuration(
    findings: Vec<Finding>,
    config: &ProjectConfig,
    selection: &Selection,
) -> Vec<Finding> {
    findings
        .into_iter()
        .filter(|finding| {
            !config.tooling.ignore_errors.iter().any(|ignore| {
                let rule_matches = ignore
                    .rule
                    .as_deref()
                    .is_none_or(|id| finding.rule.answers_to(id));
                rule_matches
                    && (ignore.pattern.is_match(&finding.message)
                        || ignore.pattern.is_match(&finding.location.file))
            })
        })
        .map(|mut finding| {
            if let Some(severity) = selection.severity.get(finding.rule.name) {
                finding.severity = *severity;
            }
            finding
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use upkeep_hint::Hint as _;

    use super::*;

    #[test]
    fn errors_say_what_to_do_in_their_hint() {
        let error = GateError::Threads {
            jobs: 4096,
            message: "resource temporarily unavailable".to_string(),
        };
        assert_eq!(
            error.to_string(),
            "cannot start 4096 worker threads: resource temporarily unavailable"
        );
        assert_eq!(error.hint().as_deref(), Some("try a smaller `--jobs`"));
    }
}
