//! The upgrade plan: for every locked package, the newest patch, minor and major release, which
//! update to apply and why, its group, and whether it fixes a known vulnerability. Pure: it
//! works on the project's manifests and the repositories' metadata, fetched by the caller.
//!
//! Rules that decide a package's update, in order:
//! - `dev-*` branches and platform packages are left alone;
//! - candidates are newer releases whose stability the project accepts (`minimum-stability`,
//!   the requirement's `@flag`, or the locked version's own stability);
//! - the newest candidate within the locked major (for `0.x`: within the locked `0.minor`, as
//!   Composer's caret does) that every other locked package's requirement allows, that fits the
//!   platform PHP, that conflicts with nothing locked, and whose requirements can be met as
//!   Composer's solver would meet them (moving locked dependencies, adding new ones) is chosen;
//!   a root requirement that does not allow it is moved (`composer require`);
//! - what an update moves is listed with it and updated in its group;
//! - security updates go first, then groups in name order; at most `max-minor` minor and
//!   `max-patch` patch updates (each package an update moves counted) and `max-groups` groups
//!   per run, the rest waits for the next run.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use indexmap::IndexMap;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use upkeep_composer::repository::PackageVersion;
use upkeep_composer::{
    ComposerJson, ComposerLock, Constraint, LockedPackage, Stability, Version, is_platform_package,
};
use upkeep_gate::advisories::AdvisoryDatabase;

use crate::pull_request::HeldBack;
use crate::settings::UpgradeSettings;

/// What the planner reads.
pub struct PlanInput<'a> {
    pub manifest: &'a ComposerJson,
    pub lock: &'a ComposerLock,
    /// Every release of each locked package the repositories know, by lowercase name.
    pub available: &'a IndexMap<String, Vec<PackageVersion>>,
    pub advisories: Option<&'a AdvisoryDatabase>,
    pub settings: &'a UpgradeSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpgradePlan {
    pub packages: Vec<PackagePlan>,
    /// In the order they are applied.
    pub groups: Vec<GroupPlan>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateKind {
    Patch,
    Minor,
    None,
}

impl UpdateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patch => "patch",
            Self::Minor => "minor",
            Self::None => "none",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackagePlan {
    pub name: String,
    pub locked: String,
    /// The root requirement (`require` or `require-dev`), for direct dependencies.
    pub constraint: Option<String>,
    pub dev: bool,
    pub patch: Option<String>,
    pub minor: Option<String>,
    pub major: Option<String>,
    pub update: UpdateKind,
    /// The version the update installs.
    pub to: Option<String>,
    /// The root requirement after the update, when it must move to allow it.
    pub new_constraint: Option<String>,
    pub reason: String,
    pub group: Option<String>,
    pub security: bool,
    /// Advisories that affect the locked version (`CVE-… title`).
    pub advisories: Vec<String>,
    /// Where the package's source lives (for compare and release links).
    pub source_url: Option<String>,
    /// The update waits for the next run (per-run limits); `to` is what it would take.
    #[serde(default)]
    pub deferred: bool,
    /// The packages the update moves with it: dependencies whose locked version its
    /// requirements do not allow, and new ones. Each locked one is a row of the plan too,
    /// updated in the same group and counted against the limits.
    #[serde(default)]
    pub moves: Vec<PackageMove>,
    /// This package is updated because the update of the named one needs it.
    #[serde(default)]
    pub moved_with: Option<String>,
}

/// A package an update moves with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageMove {
    pub name: String,
    /// The locked version; `None` for a package the update adds.
    pub from: Option<String>,
    /// The release it moves to: the newest that the requirement and everything locked allow.
    pub to: String,
    /// The requirement it must meet (`^1.1`).
    pub constraint: String,
    /// Why it moves: `acme/a 1.0.1 requires acme/b ^1.1`.
    pub because: String,
}

impl PackagePlan {
    /// Whether someone has something to do or know about this package: an update (made or
    /// waiting), a newer release within the major that is held back, a known vulnerability, or
    /// a package the planner could not read. Up to date packages, also those with only a new
    /// major, need nothing.
    pub fn needs_action(&self) -> bool {
        self.to.is_some()
            || self.deferred
            || self.security
            || !self.advisories.is_empty()
            || self.minor.is_some()
            || self.patch.is_some()
            || self.problem()
    }

    /// The planner could not look at the package (an unreadable locked version, no repository
    /// has it).
    fn problem(&self) -> bool {
        self.update == UpdateKind::None
            && self.patch.is_none()
            && self.minor.is_none()
            && self.major.is_none()
            && !self.reason.starts_with("up to date")
            && !self.reason.starts_with("dev branch")
    }

    /// What the pull request says about an update this run does not make: deferred by the
    /// limits, or a newer release within the major that is held back.
    pub fn held_back(&self) -> Option<HeldBack> {
        let newest = self
            .minor
            .clone()
            .filter(|newest| self.to.as_ref() != Some(newest));
        if !self.deferred && (self.to.is_some() || newest.is_none()) {
            return None;
        }
        Some(HeldBack {
            name: self.name.clone(),
            locked: self.locked.clone(),
            to: self.to.clone().filter(|_| self.deferred),
            newest,
            deferred: self.deferred,
            reason: self.reason.clone(),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupPlan {
    pub name: String,
    pub packages: Vec<String>,
    pub security: bool,
}

pub fn plan(input: &PlanInput<'_>) -> UpgradePlan {
    let context = Context::new(input);
    let mut packages: Vec<PackagePlan> = input
        .lock
        .packages
        .iter()
        .map(|package| (package, false))
        .chain(
            input
                .lock
                .packages_dev
                .iter()
                .map(|package| (package, true)),
        )
        .filter(|(package, _)| !is_platform_package(&package.name))
        .map(|(package, dev)| context.package_plan(package, dev))
        .collect();
    let groups = apply_thresholds(&mut packages, input.settings);
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    UpgradePlan { packages, groups }
}

/// What every package's decision looks at, parsed once: a shop locks hundreds of packages with
/// tens of releases each, and every candidate is checked against every link to it.
struct Context<'a> {
    input: &'a PlanInput<'a>,
    /// Locked versions by lowercase name.
    locked: BTreeMap<String, Version>,
    /// Every release the repositories know, parsed, by lowercase name.
    releases: HashMap<String, Vec<Release<'a>>>,
    /// The requirements and conflicts of the locked versions, by the lowercase name they point at.
    links_to: HashMap<String, Vec<Link<'a>>>,
    /// Names the locked versions replace or provide (`psr/log-implementation`): a requirement
    /// on one is met without a package of that name.
    provided: HashSet<String>,
    minimum_stability: Stability,
    prefer_stable: bool,
    platform_php: Option<Version>,
    /// Constraint strings parsed so far (`None`: Composer would not accept it either).
    constraints: RefCell<HashMap<String, Option<Rc<Constraint>>>>,
}

/// A release with what the planner asks of it worked out once: every candidate is looked at
/// several times (patch, minor, major, the update), and a shop has tens of thousands of them.
struct Release<'a> {
    version: &'a Version,
    major: Option<u64>,
    minor: Option<u64>,
    /// [`release_line`].
    line: (u64, u64),
    stability: Stability,
    dev_branch: bool,
    metadata: &'a PackageVersion,
}

impl<'a> Release<'a> {
    fn new(metadata: &'a PackageVersion) -> Self {
        let version = &metadata.version;
        Self {
            major: version.major(),
            minor: version.minor(),
            line: release_line(version),
            stability: version.stability(),
            dev_branch: version.is_dev_branch(),
            version,
            metadata,
        }
    }
}

/// A requirement or conflict of a locked package on another package.
struct Link<'a> {
    from: &'a PackageVersion,
    written: &'a str,
    constraint: Rc<Constraint>,
    conflict: bool,
}

impl<'a> Context<'a> {
    fn new(input: &'a PlanInput<'a>) -> Self {
        // Tens of thousands of releases: worked out on every core.
        let packages: Vec<(&'a String, &'a Vec<PackageVersion>)> = input.available.iter().collect();
        let releases: HashMap<String, Vec<Release<'a>>> = packages
            .into_par_iter()
            .map(|(name, versions)| {
                let parsed = versions.iter().map(Release::new).collect();
                (name.to_ascii_lowercase(), parsed)
            })
            .collect();
        let mut locked = BTreeMap::new();
        let mut links_to: HashMap<String, Vec<Link<'a>>> = HashMap::new();
        let mut provided = HashSet::new();
        let mut constraints = HashMap::new();
        for package in input.lock.packages.iter().chain(&input.lock.packages_dev) {
            let name = package.name.to_ascii_lowercase();
            let Ok(version) = package.parse_version() else {
                continue;
            };
            let metadata = releases.get(&name).and_then(|parsed| {
                parsed
                    .iter()
                    .find(|release| *release.version == version)
                    .map(|release| release.metadata)
            });
            if let Some(metadata) = metadata {
                provided.extend(
                    metadata
                        .replace
                        .iter()
                        .chain(metadata.provide.iter())
                        .map(|(name, _)| name.to_ascii_lowercase()),
                );
                let links = metadata
                    .require
                    .iter()
                    .map(|link| (link, false))
                    .chain(metadata.conflict.iter().map(|link| (link, true)));
                for ((target, written), conflict) in links {
                    if let Some(constraint) = parse_once(&mut constraints, written) {
                        links_to
                            .entry(target.to_ascii_lowercase())
                            .or_default()
                            .push(Link {
                                from: metadata,
                                written,
                                constraint,
                                conflict,
                            });
                    }
                }
            }
            locked.insert(name, version);
        }
        let raw = &input.manifest.raw;
        let minimum_stability = raw
            .get("minimum-stability")
            .and_then(|value| value.as_str())
            .and_then(|value| value.parse().ok())
            .unwrap_or(Stability::Stable);
        let prefer_stable = raw
            .get("prefer-stable")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let platform_php = input
            .manifest
            .platform_php
            .as_deref()
            .and_then(|php| Version::parse(php).ok());
        Self {
            input,
            locked,
            releases,
            links_to,
            provided,
            minimum_stability,
            prefer_stable,
            platform_php,
            constraints: RefCell::new(constraints),
        }
    }

    /// `written` parsed, once per distinct string.
    fn constraint(&self, written: &str) -> Option<Rc<Constraint>> {
        parse_once(&mut self.constraints.borrow_mut(), written)
    }

    fn root_requirement(&self, name: &str) -> Option<&'a String> {
        let manifest = self.input.manifest;
        manifest
            .require
            .iter()
            .chain(&manifest.require_dev)
            .find(|(required, _)| required.eq_ignore_ascii_case(name))
            .map(|(_, constraint)| constraint)
    }

    fn package_plan(&self, package: &LockedPackage, dev: bool) -> PackagePlan {
        let name = package.name.to_ascii_lowercase();
        let constraint = self.root_requirement(&name).cloned();
        let mut plan = PackagePlan {
            name: package.name.clone(),
            locked: package.version.clone(),
            constraint: constraint.clone(),
            dev,
            patch: None,
            minor: None,
            major: None,
            update: UpdateKind::None,
            to: None,
            new_constraint: None,
            reason: String::new(),
            group: None,
            security: false,
            advisories: Vec::new(),
            source_url: None,
            deferred: false,
            moves: Vec::new(),
            moved_with: None,
        };
        let Some(locked) = self.locked.get(&name) else {
            plan.reason = format!(
                "the locked version `{}` is not a version Composer knows",
                package.version
            );
            return plan;
        };
        if locked.is_dev_branch() {
            plan.reason = format!("dev branch `{}` is left alone", package.version);
            return plan;
        }
        if let Some(advisories) = self.input.advisories {
            plan.advisories = advisories
                .affecting(&name, locked)
                .map(|(advisory, _)| {
                    let id = advisory.cve.as_deref().unwrap_or(&advisory.key);
                    // FriendsOfPHP titles often start with the CVE already.
                    if advisory.title.contains(id) {
                        advisory.title.clone()
                    } else {
                        format!("{id} {}", advisory.title)
                    }
                })
                .collect();
        }
        let Some(releases) = self.releases.get(&name) else {
            plan.reason = "no repository of the project has this package".to_string();
            return plan;
        };
        plan.source_url = releases
            .iter()
            .find(|release| release.version == locked)
            .and_then(|release| release.metadata.source.as_ref())
            .map(|source| source.url.clone());
        let candidates = self.candidates(releases, locked, constraint.as_deref());
        let newest = |keep: &dyn Fn(&Release<'_>) -> bool| {
            candidates
                .iter()
                .filter(|release| keep(release))
                .max_by(|a, b| a.version.cmp(b.version))
                .map(|release| release.version.pretty().to_string())
        };
        let line = release_line(locked);
        let (major, minor) = (locked.major(), locked.minor());
        plan.patch = newest(&|release| release.major == major && release.minor == minor);
        plan.minor = newest(&|release| release.line == line);
        plan.major = newest(&|release| release.line > line);

        self.choose_update(&mut plan, &name, locked, constraint.as_deref(), &candidates);
        plan.security = !plan.advisories.is_empty()
            && plan.to.as_deref().is_some_and(|to| {
                let fixed = Version::parse(to).ok();
                fixed.is_some_and(|fixed| {
                    self.input.advisories.is_some_and(|advisories| {
                        advisories.affecting(&name, &fixed).next().is_none()
                    })
                })
            });
        if plan.to.is_some() {
            plan.group = Some(self.input.settings.group_of(&plan.name));
        }
        plan
    }

    /// Picks the update among `candidates`: the newest within the locked release line that
    /// nothing blocks. Sets `to`, `update`, `new_constraint` and `reason`.
    fn choose_update(
        &self,
        plan: &mut PackagePlan,
        name: &str,
        locked: &Version,
        constraint: Option<&str>,
        candidates: &[&Release<'a>],
    ) {
        let line = release_line(locked);
        let mut within: Vec<&Release<'a>> = candidates
            .iter()
            .copied()
            .filter(|release| release.line == line)
            .collect();
        self.newest_first(&mut within);
        let mut first_blocker = None;
        let chosen = within.into_iter().find_map(|release| {
            // The candidate and what it moves with it, as `composer update <name>` would.
            let mut moving = vec![Moving {
                key: name.to_string(),
                metadata: release.metadata,
                from: Some(locked.pretty().to_string()),
                constraint: String::new(),
                because: String::new(),
            }];
            let problem = self
                .blocker(name, release.version, release.metadata, &moving)
                .or_else(|| {
                    self.requirements_met(release.metadata, &mut moving, 0)
                        .err()
                });
            match problem {
                Some(blocker) => {
                    first_blocker
                        .get_or_insert_with(|| format!("{} {blocker}", release.version.pretty()));
                    None
                }
                None => Some((release, moving)),
            }
        });
        let Some((Release { version, .. }, moving)) = chosen else {
            plan.reason = first_blocker.unwrap_or_else(|| match &plan.major {
                Some(major) => {
                    format!("up to date within its major; {major} is a new major (manual upgrade)")
                }
                None => "up to date".to_string(),
            });
            return;
        };
        plan.to = Some(version.pretty().to_string());
        plan.moves = moving
            .into_iter()
            .skip(1)
            .map(|moved| PackageMove {
                name: moved.metadata.name.to_string(),
                from: moved.from,
                to: moved.metadata.version.pretty().to_string(),
                constraint: moved.constraint,
                because: moved.because,
            })
            .collect();
        plan.update = if version.minor() == locked.minor() && version.major() == locked.major() {
            UpdateKind::Patch
        } else {
            UpdateKind::Minor
        };
        plan.new_constraint = constraint
            .filter(|written| {
                self.constraint(written)
                    .is_some_and(|parsed| !parsed.matches(version))
            })
            .map(|written| moved_constraint(written, version));
        plan.reason = match (&plan.new_constraint, &first_blocker) {
            (Some(moved), _) => format!(
                "the requirement {} does not allow {}; it moves to {moved}",
                constraint.unwrap_or_default(),
                version.pretty()
            ),
            (None, Some(blocker)) => format!("newest possible; {blocker}"),
            (None, None) if plan.major.is_some() => {
                "newest release of the locked major; the next major needs manual work".to_string()
            }
            (None, None) => "newest release".to_string(),
        };
    }

    /// Whether every requirement of `metadata` can be met next to the locked packages and those
    /// in `moving`, as Composer's solver would: by the locked version, by a package that
    /// replaces or provides the name, or by moving the package (a locked one within its root
    /// requirement; a new one) to a release that is installable itself. Pushes what must move
    /// onto `moving`; `Err` says why the requirements cannot be met.
    fn requirements_met(
        &self,
        metadata: &'a PackageVersion,
        moving: &mut Vec<Moving<'a>>,
        depth: usize,
    ) -> Result<(), String> {
        for (required, written) in metadata.require.iter() {
            let key = lowercase(required);
            if is_platform_package(&key) || key.eq_ignore_ascii_case(&metadata.name) {
                continue;
            }
            let Some(constraint) = self.constraint(written) else {
                continue;
            };
            if let Some(moved) = moving.iter().find(|moved| moved.key == key) {
                if constraint.matches(&moved.metadata.version) {
                    continue;
                }
                return Err(format!(
                    "requires {required} {written}; the update moves {required} to {}",
                    moved.metadata.version.pretty()
                ));
            }
            match self.locked.get(key.as_ref()) {
                Some(locked) if constraint.matches(locked) => continue,
                None if self.provided.contains(key.as_ref()) => continue,
                _ => {}
            }
            // Deeper than this, Composer decides.
            if depth >= MOVE_DEPTH {
                continue;
            }
            let because = format!(
                "{} {} requires {required} {written}",
                metadata.name,
                metadata.version.pretty()
            );
            let link = (required, written, constraint.as_ref());
            self.move_to_meet(&key, link, &because, moving, depth)?;
        }
        Ok(())
    }

    /// Finds the newest release of `key` that meets `link` (name, constraint as written,
    /// parsed), its root requirement and every other locked package, and whose own
    /// requirements can be met, and pushes it onto `moving`.
    fn move_to_meet(
        &self,
        key: &str,
        (required, written, constraint): (&str, &str, &Constraint),
        because: &str,
        moving: &mut Vec<Moving<'a>>,
        depth: usize,
    ) -> Result<(), String> {
        let locked = self.locked.get(key);
        // Not asked of the repositories (deeper than the planner looks): Composer decides.
        let Some(releases) = self.releases.get(key) else {
            return Ok(());
        };
        let next_to_locked = locked
            .map(|locked| format!(" next to the locked {}", locked.pretty()))
            .unwrap_or_default();
        if releases.is_empty() {
            return Err(match locked {
                Some(_) => format!(
                    "requires {required} {written}, which no known release of it meets{next_to_locked}"
                ),
                None => format!("requires {required} {written}, which no repository has"),
            });
        }
        let accepted = locked.map_or(self.minimum_stability, |locked| {
            self.minimum_stability.min(locked.stability())
        });
        let mut matching: Vec<&Release<'a>> = releases
            .iter()
            .filter(|release| {
                !release.dev_branch
                    && release.stability >= accepted
                    && constraint.matches(release.version)
                    && locked.is_none_or(|locked| release.version > locked)
            })
            .collect();
        if matching.is_empty() {
            return Err(format!(
                "requires {required} {written}, which no known release of it meets{next_to_locked}"
            ));
        }
        if let Some(root) = self.root_requirement(key)
            && let Some(parsed) = self.constraint(root)
        {
            matching.retain(|release| parsed.matches(release.version));
            if matching.is_empty() {
                return Err(format!(
                    "requires {required} {written}; the locked {} cannot move there within composer.json's {root}",
                    locked.map_or_else(String::new, |locked| locked.pretty().to_string())
                ));
            }
        }
        self.newest_first(&mut matching);
        let mut first_problem = None;
        let mut tries = 0;
        for release in matching {
            // What rules a release out by itself is cheap to see; only the walks into its own
            // requirements are counted.
            if let Some(problem) = self.blocker(key, release.version, release.metadata, moving) {
                first_problem
                    .get_or_insert_with(|| format!("{} {problem}", release.version.pretty()));
                continue;
            }
            if tries == MOVE_TRIES {
                break;
            }
            tries += 1;
            let mark = moving.len();
            moving.push(Moving {
                key: key.to_string(),
                metadata: release.metadata,
                from: locked.map(|locked| locked.pretty().to_string()),
                constraint: written.to_string(),
                because: because.to_string(),
            });
            let Err(problem) = self.requirements_met(release.metadata, moving, depth + 1) else {
                return Ok(());
            };
            moving.truncate(mark);
            first_problem.get_or_insert_with(|| format!("{} {problem}", release.version.pretty()));
        }
        let problem = first_problem.unwrap_or_default();
        Err(match locked {
            Some(locked) => format!(
                "requires {required} {written}; the locked {} cannot move there: {problem}",
                locked.pretty()
            ),
            None => format!("requires {required} {written}, which cannot be added: {problem}"),
        })
    }

    /// `releases` newest first, only the stable ones when the project prefers stable releases
    /// and there are any, as Composer orders what it tries.
    fn newest_first(&self, releases: &mut Vec<&Release<'a>>) {
        releases.sort_by(|a, b| b.version.cmp(a.version));
        if self.prefer_stable
            && releases
                .iter()
                .any(|release| release.stability == Stability::Stable)
        {
            releases.retain(|release| release.stability == Stability::Stable);
        }
    }

    /// Newer releases of the accepted stability.
    fn candidates<'r>(
        &self,
        releases: &'r [Release<'a>],
        locked: &Version,
        constraint: Option<&str>,
    ) -> Vec<&'r Release<'a>> {
        let flag = constraint
            .and_then(|written| self.constraint(written))
            .and_then(|parsed| parsed.stability_flag());
        let accepted = [Some(self.minimum_stability), flag, Some(locked.stability())]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(Stability::Stable);
        releases
            .iter()
            .filter(|release| {
                !release.dev_branch && release.stability >= accepted && release.version > locked
            })
            .collect()
    }

    /// Why `version` of `name` cannot be installed next to the other locked packages and the
    /// releases in `moving` (whose locked versions no longer count), if it cannot: a
    /// requirement on it or a conflict with it, a conflict of its own, or the platform PHP. Its
    /// own requirements are [`Context::requirements_met`]'s.
    fn blocker(
        &self,
        name: &str,
        version: &Version,
        metadata: &PackageVersion,
        moving: &[Moving<'a>],
    ) -> Option<String> {
        let is_moving = |other: &str| {
            moving
                .iter()
                .any(|moved| moved.key.eq_ignore_ascii_case(other))
        };
        for link in self.links_to.get(name).into_iter().flatten() {
            if link.from.name.eq_ignore_ascii_case(name) || is_moving(&link.from.name) {
                continue;
            }
            let written = link.written;
            if !link.conflict && !link.constraint.matches(version) {
                return Some(format!(
                    "is not allowed by {} {} (requires {written})",
                    link.from.name,
                    link.from.version.pretty()
                ));
            }
            if link.conflict && link.constraint.matches(version) {
                return Some(format!(
                    "conflicts with {} {} (conflict {written})",
                    link.from.name,
                    link.from.version.pretty()
                ));
            }
        }
        for moved in moving
            .iter()
            .filter(|moved| !moved.key.eq_ignore_ascii_case(name))
        {
            let links = moved
                .metadata
                .require
                .iter()
                .map(|link| (link, false))
                .chain(moved.metadata.conflict.iter().map(|link| (link, true)));
            for ((target, written), conflict) in links {
                if !target.eq_ignore_ascii_case(name) {
                    continue;
                }
                let Some(constraint) = self.constraint(written) else {
                    continue;
                };
                let (from, at) = (&moved.metadata.name, moved.metadata.version.pretty());
                if !conflict && !constraint.matches(version) {
                    return Some(format!(
                        "is not allowed by {from} {at}, which moves with it (requires {written})"
                    ));
                }
                if conflict && constraint.matches(version) {
                    return Some(format!(
                        "conflicts with {from} {at}, which moves with it (conflict {written})"
                    ));
                }
            }
        }
        for (other, conflict) in metadata.conflict.iter() {
            let key = lowercase(other);
            let Some(constraint) = self.constraint(conflict) else {
                continue;
            };
            let moved = moving.iter().find(|moved| moved.key == key);
            let target = match moved {
                Some(moved) => Some(&moved.metadata.version),
                None => self.locked.get(key.as_ref()),
            };
            if let Some(target) = target
                && constraint.matches(target)
            {
                return Some(format!(
                    "conflicts with the {} {other} {} (conflict {conflict})",
                    if moved.is_some() { "moving" } else { "locked" },
                    target.pretty()
                ));
            }
        }
        if let (Some(php), Some(required)) = (&self.platform_php, metadata.require.get("php"))
            && self
                .constraint(required)
                .is_some_and(|constraint| !constraint.matches(php))
        {
            return Some(format!(
                "needs PHP {required}; the platform is PHP {}",
                php.pretty()
            ));
        }
        None
    }
}

/// How many times the metadata of packages that are not locked, but required by releases the
/// planner may choose, is fetched (each round adds the requirements of what the last found).
pub const FETCH_ROUNDS: usize = 2;

/// The packages that releases newer than the locked ones (and the packages fetched for them)
/// require, that are not locked, not platform packages, not replaced or provided by a locked
/// package, and not yet in `available`: what [`plan`] needs to know to check an update's
/// requirements.
pub fn unknown_requirements(
    lock: &ComposerLock,
    available: &IndexMap<String, Vec<PackageVersion>>,
) -> Vec<String> {
    let locked: HashMap<String, Option<Version>> = lock
        .packages
        .iter()
        .chain(&lock.packages_dev)
        .map(|package| {
            (
                package.name.to_ascii_lowercase(),
                package.parse_version().ok(),
            )
        })
        .collect();
    let mut provided = HashSet::new();
    for (name, releases) in available {
        if let Some(Some(version)) = locked.get(name)
            && let Some(release) = releases.iter().find(|release| release.version == *version)
        {
            provided.extend(
                release
                    .replace
                    .iter()
                    .chain(release.provide.iter())
                    .map(|(name, _)| name.to_ascii_lowercase()),
            );
        }
    }
    let mut wanted: Vec<String> = available
        .iter()
        .flat_map(|(name, releases)| {
            let newer_than = locked.get(name).cloned().flatten();
            releases
                .iter()
                .filter(move |release| {
                    newer_than
                        .as_ref()
                        .is_none_or(|locked| release.version > *locked)
                })
                .flat_map(|release| {
                    release
                        .require
                        .iter()
                        .map(|(required, _)| required.to_ascii_lowercase())
                })
        })
        .filter(|required| {
            !is_platform_package(required)
                && !locked.contains_key(required)
                && !provided.contains(required)
                && !available.contains_key(required)
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    wanted
}

/// How deep the planner follows what an update moves (an update's dependency's dependency's
/// …); deeper, Composer decides.
const MOVE_DEPTH: usize = 3;
/// How many releases of a dependency the planner follows into their own requirements before it
/// says none fits.
const MOVE_TRIES: usize = 12;

/// A package that moves in the update being checked, at its new release.
struct Moving<'a> {
    /// The lowercase name.
    key: String,
    metadata: &'a PackageVersion,
    /// Its locked version; `None` for a package the update adds.
    from: Option<String>,
    /// The requirement it moves for, as written.
    constraint: String,
    because: String,
}

/// `written` parsed, or taken from `parsed` when it was parsed before: a shop's packages repeat
/// the same few hundred constraints thousands of times.
fn parse_once(
    parsed: &mut HashMap<String, Option<Rc<Constraint>>>,
    written: &str,
) -> Option<Rc<Constraint>> {
    if let Some(constraint) = parsed.get(written) {
        return constraint.clone();
    }
    let constraint = Constraint::parse(written).ok().map(Rc::new);
    parsed.insert(written.to_owned(), constraint.clone());
    constraint
}

/// `name` in lowercase, copied only when it is not already: package names almost always are.
fn lowercase(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|byte| byte.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

/// The part of a version a minor update stays within: the major, or for `0.x` the `0.minor`
/// (Composer's caret treats `0.3` → `0.4` as breaking).
fn release_line(version: &Version) -> (u64, u64) {
    match version.major() {
        Some(0) => (0, version.minor().unwrap_or(0)),
        Some(major) => (major, 0),
        None => (0, 0),
    }
}

/// The requirement moved to allow `version`, in the style it was written: `^1.2` → `^1.4`,
/// `~1.2.0` → `~1.4.0`, `1.2.*` → `1.4.*`, anything else → `^1.4`.
fn moved_constraint(written: &str, version: &Version) -> String {
    let major = version.major().unwrap_or(0);
    let minor = version.minor().unwrap_or(0);
    let patch = version.patch().unwrap_or(0);
    let trimmed = written.trim();
    if trimmed.starts_with('~') && trimmed.matches('.').count() >= 2 {
        format!("~{major}.{minor}.{patch}")
    } else if trimmed.starts_with('~') {
        format!("~{major}.{minor}")
    } else if trimmed.ends_with(".*") {
        format!("{major}.{minor}.*")
    } else if trimmed
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_digit())
        && !trimmed.contains([' ', ',', '|', '*'])
    {
        // An exact version stays exact.
        version.pretty().trim_start_matches('v').to_string()
    } else {
        format!("^{major}.{minor}")
    }
}

/// Orders the updates (security first, then groups by name), applies the per-run limits, and
/// returns the groups in the order they are applied. An update counts with every locked
/// package it moves ([`PackagePlan::moves`]): those join its group (at their own planned
/// version when that meets the requirement), their rows say so, and when the limits leave no
/// room for all of them the update waits for the next run.
fn apply_thresholds(packages: &mut [PackagePlan], settings: &UpgradeSettings) -> Vec<GroupPlan> {
    let ordered = ordered_groups(packages);
    let index: HashMap<String, usize> = packages
        .iter()
        .enumerate()
        .map(|(at, package)| (package.name.to_ascii_lowercase(), at))
        .collect();

    let mut counts = Counts::default();
    // What this run moves, by lowercase name: the version.
    let mut taken: HashMap<String, String> = HashMap::new();
    let mut kept = Vec::new();
    for mut group in ordered {
        if kept.len() == settings.max_groups {
            let waiting: Vec<String> = group
                .packages
                .iter()
                .filter(|name| !taken.contains_key(&name.to_ascii_lowercase()))
                .cloned()
                .collect();
            defer(
                packages,
                &waiting,
                &format!(
                    "waits for the next run: at most {} groups per run",
                    settings.max_groups
                ),
            );
            continue;
        }
        // Updates that move others first: a package they move at another version than its own
        // update is then taken at theirs (and its own row says so), not a clash.
        group.packages.sort_by_key(|name| {
            let moves_others = index
                .get(&name.to_ascii_lowercase())
                .is_some_and(|&at| !packages[at].moves.is_empty());
            (!moves_others, name.clone())
        });
        let mut members = Vec::new();
        for name in &group.packages {
            let Some(&at) = index.get(&name.to_ascii_lowercase()) else {
                continue;
            };
            // Already moved by an update before it: its row says so.
            if taken.contains_key(&name.to_ascii_lowercase()) || packages[at].to.is_none() {
                continue;
            }
            let bundle = match bundle(packages, &index, at, &taken) {
                Ok(bundle) => bundle,
                Err(clash) => {
                    postpone(
                        &mut packages[at],
                        &format!("waits for the next run: {clash}"),
                    );
                    continue;
                }
            };
            let head = &packages[at];
            let needed = bundle.iter().fold(Counts::of(head.update), |sum, moved| {
                sum + Counts::of(moved.2)
            });
            // Security updates are never deferred.
            if let Some((limit, kind)) = counts.exceeds(needed, settings)
                && !head.security
            {
                let moves: Vec<String> = bundle
                    .iter()
                    .map(|(moved, to, kind)| {
                        format!(
                            "{} {} → {to} ({})",
                            packages[*moved].name,
                            packages[*moved].locked,
                            kind.as_str()
                        )
                    })
                    .collect();
                let with = if moves.is_empty() {
                    String::new()
                } else {
                    format!("; it moves {}", moves.join(", "))
                };
                postpone(
                    &mut packages[at],
                    &format!(
                        "waits for the next run: at most {limit} {kind} updates per run{with}"
                    ),
                );
                continue;
            }
            counts = counts + needed;
            members.extend(take(packages, at, bundle, &group.name, &mut taken));
        }
        if !members.is_empty() {
            group.packages = members;
            kept.push(group);
        }
    }
    kept
}

/// The groups of the updates, security groups first, then by name.
fn ordered_groups(packages: &[PackagePlan]) -> Vec<GroupPlan> {
    let mut groups: BTreeMap<String, GroupPlan> = BTreeMap::new();
    for package in packages.iter().filter(|package| package.to.is_some()) {
        let name = package.group.clone().unwrap_or_default();
        let group = groups.entry(name.clone()).or_insert_with(|| GroupPlan {
            name,
            packages: Vec::new(),
            security: false,
        });
        group.packages.push(package.name.clone());
        group.security |= package.security;
    }
    let mut ordered: Vec<GroupPlan> = groups.into_values().collect();
    // Stable sort: security groups first, names in order within each part.
    ordered.sort_by_key(|group| !group.security);
    ordered
}

/// Takes the update at `head` and the `bundle` it moves into this run's `group`: the moved
/// packages' rows say what moves them. Returns the names of the group's new members.
fn take(
    packages: &mut [PackagePlan],
    head: usize,
    bundle: Vec<(usize, String, UpdateKind)>,
    group: &str,
    taken: &mut HashMap<String, String>,
) -> Vec<String> {
    let (head_name, head_to) = (
        packages[head].name.clone(),
        packages[head].to.clone().unwrap_or_default(),
    );
    taken.insert(head_name.to_ascii_lowercase(), head_to.clone());
    let because: HashMap<String, String> = packages[head]
        .moves
        .iter()
        .map(|moved| (moved.name.to_ascii_lowercase(), moved.because.clone()))
        .collect();
    let mut members = vec![head_name.clone()];
    for (moved, to, kind) in bundle {
        let row = &mut packages[moved];
        taken.insert(row.name.to_ascii_lowercase(), to.clone());
        let why = because
            .get(&row.name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default();
        row.reason = if row.to.as_deref() == Some(to.as_str()) && !row.deferred {
            format!("moves with {head_name} {head_to} ({why}); {}", row.reason)
        } else {
            // The release the requirement needs, which the root requirement allows.
            row.new_constraint = None;
            format!("moves with {head_name} {head_to}: {why}")
        };
        row.to = Some(to);
        row.update = kind;
        row.deferred = false;
        row.group = Some(group.to_string());
        row.moved_with = Some(head_name.clone());
        members.push(row.name.clone());
    }
    members
}

/// The locked packages the update at `head` moves that this run does not move yet: (row,
/// version, kind). A package's own planned update is taken when it meets the requirement.
/// `Err` when the update needs a package at a version this run already moves it away from.
fn bundle(
    packages: &[PackagePlan],
    index: &HashMap<String, usize>,
    head: usize,
    taken: &HashMap<String, String>,
) -> Result<Vec<(usize, String, UpdateKind)>, String> {
    let meets = |constraint: &str, version: &str| {
        Constraint::parse(constraint)
            .ok()
            .zip(Version::parse(version).ok())
            .is_some_and(|(constraint, version)| constraint.matches(&version))
    };
    let mut bundle = Vec::new();
    for moved in &packages[head].moves {
        let key = moved.name.to_ascii_lowercase();
        if let Some(version) = taken.get(&key) {
            if !meets(&moved.constraint, version) {
                return Err(format!(
                    "it needs {} {} and this run moves {} to {version}",
                    moved.name, moved.constraint, moved.name
                ));
            }
            continue;
        }
        // A package the update adds is not an update of a locked one.
        let (Some(from), Some(&row)) = (&moved.from, index.get(&key)) else {
            continue;
        };
        let own = packages[row]
            .to
            .clone()
            .filter(|own| meets(&moved.constraint, own));
        let to = own.unwrap_or_else(|| moved.to.clone());
        let kind = match (Version::parse(from), Version::parse(&to)) {
            (Ok(from), Ok(to)) if from.major() == to.major() && from.minor() == to.minor() => {
                UpdateKind::Patch
            }
            _ => UpdateKind::Minor,
        };
        bundle.push((row, to, kind));
    }
    Ok(bundle)
}

/// Minor and patch updates counted against the per-run limits.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    minor: usize,
    patch: usize,
}

impl Counts {
    fn of(kind: UpdateKind) -> Self {
        match kind {
            UpdateKind::Minor => Self { minor: 1, patch: 0 },
            UpdateKind::Patch => Self { minor: 0, patch: 1 },
            UpdateKind::None => Self::default(),
        }
    }

    /// The limit (and its kind) that `more` on top of these would pass, if one.
    fn exceeds(self, more: Self, settings: &UpgradeSettings) -> Option<(usize, &'static str)> {
        if more.minor > 0 && self.minor + more.minor > settings.max_minor {
            Some((settings.max_minor, "minor"))
        } else if more.patch > 0 && self.patch + more.patch > settings.max_patch {
            Some((settings.max_patch, "patch"))
        } else {
            None
        }
    }
}

impl std::ops::Add for Counts {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self {
            minor: self.minor + other.minor,
            patch: self.patch + other.patch,
        }
    }
}

fn defer(packages: &mut [PackagePlan], names: &[String], why: &str) {
    for package in packages
        .iter_mut()
        .filter(|package| names.contains(&package.name))
    {
        postpone(package, why);
    }
}

/// Leaves `package`'s update for the next run, saying why before the reason it had. `to` keeps
/// the version the update would take.
fn postpone(package: &mut PackagePlan, why: &str) {
    package.reason = format!("{why} (was: {})", package.reason);
    package.update = UpdateKind::None;
    package.deferred = true;
    package.group = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(name: &str, version: &str) -> PackageVersion {
        PackageVersion::new(name, Version::parse(version).unwrap())
    }

    fn with_require(mut release: PackageVersion, requires: &[(&str, &str)]) -> PackageVersion {
        release.require = release
            .require
            .iter()
            .chain(requires.iter().copied())
            .map(|(name, constraint)| (name.to_string(), constraint.to_string()))
            .collect();
        release
    }

    struct Project {
        manifest: ComposerJson,
        lock: ComposerLock,
        available: IndexMap<String, Vec<PackageVersion>>,
        settings: UpgradeSettings,
    }

    impl Project {
        fn new(require: &str, locked: &[(&str, &str)]) -> Self {
            let packages: Vec<String> = locked
                .iter()
                .map(|(name, version)| {
                    format!("{{\"name\": \"{name}\", \"version\": \"{version}\"}}")
                })
                .collect();
            Self {
                manifest: format!("{{\"require\": {{{require}}}, \"config\": {{\"platform\": {{\"php\": \"8.2.10\"}}}}}}")
                    .parse()
                    .unwrap(),
                lock: format!("{{\"packages\": [{}], \"packages-dev\": []}}", packages.join(","))
                    .parse()
                    .unwrap(),
                available: IndexMap::new(),
                settings: UpgradeSettings::default(),
            }
        }

        fn releases(&mut self, name: &str, versions: &[&str]) -> &mut Self {
            let entry = self.available.entry(name.to_string()).or_default();
            entry.extend(versions.iter().map(|version| release(name, version)));
            self
        }

        fn plan(&self) -> UpgradePlan {
            plan(&PlanInput {
                manifest: &self.manifest,
                lock: &self.lock,
                available: &self.available,
                advisories: None,
                settings: &self.settings,
            })
        }
    }

    fn summary(plan: &UpgradePlan, name: &str) -> String {
        let package = plan
            .packages
            .iter()
            .find(|package| package.name == name)
            .unwrap();
        format!(
            "{} patch={} minor={} major={} update={:?} to={} | {}",
            package.locked,
            package.patch.as_deref().unwrap_or("-"),
            package.minor.as_deref().unwrap_or("-"),
            package.major.as_deref().unwrap_or("-"),
            package.update,
            package.to.as_deref().unwrap_or("-"),
            package.reason
        )
    }

    #[test]
    fn newest_patch_minor_and_major_and_the_chosen_update() {
        let mut project = Project::new(
            "\"acme/lib\": \"^1.2\", \"acme/tight\": \"~1.2.0\", \"acme/zero\": \"^0.3\"",
            &[
                ("acme/lib", "1.2.3"),
                ("acme/tight", "1.2.0"),
                ("acme/zero", "0.3.1"),
                ("acme/branch", "dev-main"),
            ],
        );
        project
            .releases(
                "acme/lib",
                &["1.2.3", "1.2.4", "1.3.0", "1.4.0-beta1", "2.0.0"],
            )
            .releases("acme/tight", &["1.2.0", "1.2.5", "1.3.1"])
            .releases("acme/zero", &["0.3.1", "0.3.2", "0.4.0"])
            .releases("acme/branch", &["dev-main", "1.0.0"]);
        let plan = project.plan();
        assert_eq!(
            summary(&plan, "acme/lib"),
            "1.2.3 patch=1.2.4 minor=1.3.0 major=2.0.0 update=Minor to=1.3.0 | newest release of the locked major; the next major needs manual work"
        );
        assert_eq!(
            summary(&plan, "acme/tight"),
            "1.2.0 patch=1.2.5 minor=1.3.1 major=- update=Minor to=1.3.1 | the requirement ~1.2.0 does not allow 1.3.1; it moves to ~1.3.1"
        );
        assert_eq!(
            summary(&plan, "acme/zero"),
            "0.3.1 patch=0.3.2 minor=0.3.2 major=0.4.0 update=Patch to=0.3.2 | newest release of the locked major; the next major needs manual work"
        );
        assert_eq!(
            summary(&plan, "acme/branch"),
            "dev-main patch=- minor=- major=- update=None to=- | dev branch `dev-main` is left alone"
        );
        assert_eq!(plan.groups.len(), 1);
        assert_eq!(plan.groups[0].name, "acme");
        assert_eq!(
            plan.groups[0].packages,
            ["acme/lib", "acme/tight", "acme/zero"]
        );
    }

    #[test]
    fn requirements_of_other_packages_conflicts_and_php_block_a_candidate() {
        let mut project = Project::new(
            "\"acme/lib\": \"^1.0\", \"acme/app\": \"^1.0\"",
            &[
                ("acme/lib", "1.0.0"),
                ("acme/app", "1.0.0"),
                ("acme/php", "1.0.0"),
            ],
        );
        project.available.insert(
            "acme/app".into(),
            vec![with_require(
                release("acme/app", "1.0.0"),
                &[("acme/lib", ">=1.0 <1.2")],
            )],
        );
        project.available.insert(
            "acme/lib".into(),
            vec![
                release("acme/lib", "1.0.0"),
                release("acme/lib", "1.1.0"),
                release("acme/lib", "1.2.0"),
            ],
        );
        project.available.insert(
            "acme/php".into(),
            vec![
                release("acme/php", "1.0.0"),
                with_require(release("acme/php", "1.1.0"), &[("php", ">=8.3")]),
            ],
        );
        let plan = project.plan();
        assert_eq!(
            summary(&plan, "acme/lib"),
            "1.0.0 patch=- minor=1.2.0 major=- update=Minor to=1.1.0 | newest possible; 1.2.0 is not allowed by acme/app 1.0.0 (requires >=1.0 <1.2)"
        );
        assert_eq!(
            summary(&plan, "acme/php"),
            "1.0.0 patch=- minor=1.1.0 major=- update=None to=- | 1.1.0 needs PHP >=8.3; the platform is PHP 8.2.10"
        );
    }

    #[test]
    fn a_candidate_whose_requirements_cannot_be_met_is_not_chosen() {
        let mut project = Project::new(
            "\"acme/app\": \"^2.0\", \"acme/queue\": \"^9.0\", \"acme/free\": \"^1.0\"",
            &[
                ("acme/app", "2.6.1"),
                ("acme/queue", "9.2.0"),
                ("acme/free", "1.0.0"),
            ],
        );
        project.available.insert(
            "acme/app".into(),
            vec![
                release("acme/app", "2.6.1"),
                with_require(release("acme/app", "2.6.5"), &[("acme/free", "^1.1")]),
                with_require(release("acme/app", "2.7.1"), &[("acme/queue", "^10.0")]),
            ],
        );
        project.releases("acme/queue", &["9.2.0", "10.0.0"]);
        project.releases("acme/free", &["1.0.0", "1.1.0"]);
        let plan = project.plan();
        // 2.7.1 needs a new major of acme/queue, which composer.json does not allow; 2.6.5 needs
        // acme/free ^1.1, which Composer can update to alongside.
        assert_eq!(
            summary(&plan, "acme/app"),
            "2.6.1 patch=2.6.5 minor=2.7.1 major=- update=Patch to=2.6.5 | newest possible; 2.7.1 requires acme/queue ^10.0; the locked 9.2.0 cannot move there within composer.json's ^9.0"
        );
    }

    /// `a/a` (root `^1.0`) and `b/b` locked at 1.0.0; `a/a` 1.0.1 requires `b/b ^1.1`; `c/c`
    /// 1.0.0 requires `b/b` as `c_requires`.
    fn needs_a_newer_dependency(c_requires: &str) -> Project {
        let mut project = Project::new(
            "\"a/a\": \"^1.0\", \"c/c\": \"^1.0\"",
            &[("a/a", "1.0.0"), ("b/b", "1.0.0"), ("c/c", "1.0.0")],
        );
        project.available.insert(
            "a/a".into(),
            vec![
                with_require(release("a/a", "1.0.0"), &[("b/b", "^1.0")]),
                with_require(release("a/a", "1.0.1"), &[("b/b", "^1.1")]),
            ],
        );
        project.releases("b/b", &["1.0.0", "1.1.0"]);
        project.available.insert(
            "c/c".into(),
            vec![with_require(
                release("c/c", "1.0.0"),
                &[("b/b", c_requires)],
            )],
        );
        project
    }

    fn row<'p>(plan: &'p UpgradePlan, name: &str) -> &'p PackagePlan {
        plan.packages
            .iter()
            .find(|package| package.name == name)
            .unwrap()
    }

    #[test]
    fn an_update_whose_new_requirement_no_repository_has_is_not_offered() {
        let mut project = Project::new("\"a/a\": \"^1.0\"", &[("a/a", "1.0.0")]);
        project.available.insert(
            "a/a".into(),
            vec![
                release("a/a", "1.0.0"),
                release("a/a", "1.0.1"),
                with_require(release("a/a", "1.1.0"), &[("z/missing", "^1.0")]),
            ],
        );
        // Asked of the repositories, which have no such package.
        project.available.insert("z/missing".into(), Vec::new());
        let plan = project.plan();
        assert_eq!(
            summary(&plan, "a/a"),
            "1.0.0 patch=1.0.1 minor=1.1.0 major=- update=Patch to=1.0.1 | newest possible; 1.1.0 requires z/missing ^1.0, which no repository has"
        );
        assert!(row(&plan, "a/a").moves.is_empty());

        // The near miss: the repository has it, so 1.1.0 is offered and adds it.
        project.releases("z/missing", &["1.2.0"]);
        let plan = project.plan();
        assert_eq!(
            summary(&plan, "a/a"),
            "1.0.0 patch=1.0.1 minor=1.1.0 major=- update=Minor to=1.1.0 | newest release"
        );
        assert_eq!(
            row(&plan, "a/a").moves,
            [PackageMove {
                name: "z/missing".into(),
                from: None,
                to: "1.2.0".into(),
                constraint: "^1.0".into(),
                because: "a/a 1.1.0 requires z/missing ^1.0".into(),
            }]
        );
    }

    #[test]
    fn an_update_whose_new_requirement_another_locked_package_forbids_is_not_offered() {
        let plan = needs_a_newer_dependency("~1.0.0").plan();
        assert_eq!(
            summary(&plan, "a/a"),
            "1.0.0 patch=1.0.1 minor=1.0.1 major=- update=None to=- | 1.0.1 requires b/b ^1.1; the locked 1.0.0 cannot move there: 1.1.0 is not allowed by c/c 1.0.0 (requires ~1.0.0)"
        );
        assert_eq!(
            summary(&plan, "b/b"),
            "1.0.0 patch=- minor=1.1.0 major=- update=None to=- | 1.1.0 is not allowed by c/c 1.0.0 (requires ~1.0.0)"
        );
        assert!(plan.groups.is_empty(), "{:?}", plan.groups);

        // The near miss: c/c allows b/b 1.1, so a/a 1.0.1 is offered and b/b moves with it,
        // in a/a's group, at its own planned version.
        let plan = needs_a_newer_dependency("^1.0").plan();
        assert_eq!(
            summary(&plan, "a/a"),
            "1.0.0 patch=1.0.1 minor=1.0.1 major=- update=Patch to=1.0.1 | newest release"
        );
        assert_eq!(
            summary(&plan, "b/b"),
            "1.0.0 patch=- minor=1.1.0 major=- update=Minor to=1.1.0 | moves with a/a 1.0.1 (a/a 1.0.1 requires b/b ^1.1); newest release"
        );
        assert_eq!(row(&plan, "b/b").moved_with.as_deref(), Some("a/a"));
        assert_eq!(plan.groups.len(), 1);
        assert_eq!(plan.groups[0].name, "a");
        assert_eq!(plan.groups[0].packages, ["a/a", "b/b"]);
    }

    #[test]
    fn what_an_update_moves_counts_against_the_limits() {
        // No minor update allowed: a/a's patch would move b/b a minor, so it waits, and says
        // which version it would take and what it would move.
        let mut project = needs_a_newer_dependency("^1.0");
        project.settings.max_minor = 0;
        let plan = project.plan();
        assert!(plan.groups.is_empty(), "{:?}", plan.groups);
        let a = row(&plan, "a/a");
        assert_eq!(
            (a.update, a.to.as_deref(), a.deferred),
            (UpdateKind::None, Some("1.0.1"), true)
        );
        assert_eq!(
            a.reason,
            "waits for the next run: at most 0 minor updates per run; it moves b/b 1.0.0 → 1.1.0 (minor) (was: newest release)"
        );
        let b = row(&plan, "b/b");
        assert_eq!(
            (b.update, b.to.as_deref(), b.deferred),
            (UpdateKind::None, Some("1.1.0"), true)
        );
        assert!(a.needs_action() && b.needs_action());
        let held = a.held_back().unwrap();
        assert_eq!((held.to.as_deref(), held.deferred), (Some("1.0.1"), true));

        // One minor allowed: a/a and b/b go together, and b/b's own group has nothing left.
        project.settings.max_minor = 1;
        let plan = project.plan();
        assert_eq!(plan.groups.len(), 1, "{:?}", plan.groups);
        assert_eq!(plan.groups[0].packages, ["a/a", "b/b"]);
        assert_eq!(row(&plan, "b/b").update, UpdateKind::Minor);
    }

    #[test]
    fn an_update_takes_what_it_moves_past_that_package_s_own_update() {
        // p/bb's own update stays within ~8.0 (p/dc 1.8.0 requires that); p/dc 1.8.2 needs
        // p/bb ~8.2.0. Taken first, p/dc moves p/bb to 8.2.4 instead of waiting for a run in
        // which p/bb's own 8.0.2 would not be in its way.
        let mut project = Project::new(
            "\"p/dc\": \"^1.8\"",
            &[("p/dc", "1.8.0"), ("p/bb", "8.0.1")],
        );
        project.available.insert(
            "p/dc".into(),
            vec![
                with_require(release("p/dc", "1.8.0"), &[("p/bb", "~8.0.0")]),
                with_require(release("p/dc", "1.8.2"), &[("p/bb", "~8.2.0")]),
            ],
        );
        project.releases("p/bb", &["8.0.1", "8.0.2", "8.2.4"]);
        let plan = project.plan();
        assert_eq!(plan.groups.len(), 1);
        assert_eq!(plan.groups[0].packages, ["p/dc", "p/bb"]);
        assert_eq!(
            summary(&plan, "p/bb"),
            "8.0.1 patch=8.0.2 minor=8.2.4 major=- update=Minor to=8.2.4 | moves with p/dc 1.8.2: p/dc 1.8.2 requires p/bb ~8.2.0"
        );
        assert_eq!(
            summary(&plan, "p/dc"),
            "1.8.0 patch=1.8.2 minor=1.8.2 major=- update=Patch to=1.8.2 | newest release"
        );
    }

    #[test]
    fn only_packages_that_need_action_are_marked_so() {
        let mut project = Project::new(
            "",
            &[
                ("u/current", "1.0.0"),
                ("u/major", "1.0.0"),
                ("u/gone", "1.0.0"),
            ],
        );
        project
            .releases("u/current", &["1.0.0"])
            .releases("u/major", &["1.0.0", "2.0.0"]);
        let plan = project.plan();
        assert!(!row(&plan, "u/current").needs_action());
        assert!(!row(&plan, "u/major").needs_action());
        // No repository has it: someone should look.
        assert!(row(&plan, "u/gone").needs_action());
    }

    #[test]
    fn stability_follows_minimum_stability_and_flags() {
        let mut project = Project::new(
            "\"acme/lib\": \"^1.0@beta\"",
            &[("acme/lib", "1.0.0"), ("acme/other", "1.0.0")],
        );
        project
            .releases("acme/lib", &["1.0.0", "1.1.0-beta2", "1.1.0-alpha1"])
            .releases("acme/other", &["1.0.0", "1.1.0-RC1"]);
        let plan = project.plan();
        assert!(
            summary(&plan, "acme/lib").contains("update=Minor to=1.1.0-beta2"),
            "{}",
            summary(&plan, "acme/lib")
        );
        assert!(
            summary(&plan, "acme/other").contains("update=None"),
            "{}",
            summary(&plan, "acme/other")
        );
    }

    #[test]
    fn thresholds_defer_the_rest_and_groups_follow_settings() {
        let mut project = Project::new(
            "",
            &[
                ("a/one", "1.0.0"),
                ("a/two", "1.0.0"),
                ("b/three", "1.0.0"),
                ("c/four", "1.0.0"),
            ],
        );
        for name in ["a/one", "a/two", "b/three", "c/four"] {
            project.releases(name, &["1.0.0", "1.1.0"]);
        }
        project.settings.max_minor = 2;
        project.settings.groups = vec![crate::settings::GroupRule {
            name: "ab".into(),
            packages: vec!["a/*".into(), "b/*".into()],
        }];
        let plan = project.plan();
        assert_eq!(plan.groups.len(), 1);
        assert_eq!(plan.groups[0].packages, ["a/one", "a/two"]);
        assert!(
            summary(&plan, "b/three")
                .contains("waits for the next run: at most 2 minor updates per run"),
            "{}",
            summary(&plan, "b/three")
        );
        assert!(summary(&plan, "c/four").contains("update=None"));
    }
}
