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
//!   platform PHP and that conflicts with nothing locked is chosen; a root requirement that does
//!   not allow it is moved (`composer require`);
//! - security updates go first, then groups in name order; at most `max-minor` minor and
//!   `max-patch` patch updates and `max-groups` groups per run, the rest waits for the next run.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
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
        candidates: &[&Release<'_>],
    ) {
        let line = release_line(locked);
        let mut within: Vec<&Release<'_>> = candidates
            .iter()
            .copied()
            .filter(|release| release.line == line)
            .collect();
        within.sort_by(|a, b| b.version.cmp(a.version));
        if self.prefer_stable
            && within
                .iter()
                .any(|release| release.stability == Stability::Stable)
        {
            within.retain(|release| release.stability == Stability::Stable);
        }
        let mut first_blocker = None;
        let chosen = within.into_iter().find(|release| {
            if let Some(blocker) = self.blocker(name, release.version, release.metadata) {
                first_blocker
                    .get_or_insert_with(|| format!("{} {blocker}", release.version.pretty()));
                false
            } else {
                true
            }
        });
        let Some(Release { version, .. }) = chosen else {
            plan.reason = first_blocker.unwrap_or_else(|| match &plan.major {
                Some(major) => {
                    format!("up to date within its major; {major} is a new major (manual upgrade)")
                }
                None => "up to date".to_string(),
            });
            return;
        };
        plan.to = Some(version.pretty().to_string());
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

    /// A requirement of the candidate that no reachable version of a locked package meets:
    /// `composer update --with-dependencies` may move a locked dependency, but only to a release
    /// the root requirement allows. Packages that are not locked (new dependencies, virtual
    /// packages) are left to Composer.
    fn unmet_requirement(&self, metadata: &PackageVersion) -> Option<String> {
        for (required, written) in metadata.require.iter() {
            let key = lowercase(required);
            if is_platform_package(&key) {
                continue;
            }
            let (Some(locked), Some(constraint)) =
                (self.locked.get(key.as_ref()), self.constraint(written))
            else {
                continue;
            };
            if constraint.matches(locked) {
                continue;
            }
            let root = self
                .root_requirement(&key)
                .and_then(|root| self.constraint(root).map(|parsed| (root, parsed)));
            let reachable = self.releases.get(key.as_ref()).is_some_and(|releases| {
                releases.iter().any(|release| {
                    !release.dev_branch
                        && constraint.matches(release.version)
                        && root
                            .as_ref()
                            .is_none_or(|(_, root)| root.matches(release.version))
                })
            });
            if !reachable {
                return Some(match root {
                    Some((root, _)) => format!(
                        "requires {required} {written}; the locked {} cannot move there within composer.json's {root}",
                        locked.pretty()
                    ),
                    None => format!(
                        "requires {required} {written}, which no known release of it meets next to the locked {}",
                        locked.pretty()
                    ),
                });
            }
        }
        None
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

    /// Why `version` of `name` cannot be installed next to the other locked packages, if it
    /// cannot.
    fn blocker(&self, name: &str, version: &Version, metadata: &PackageVersion) -> Option<String> {
        for link in self.links_to.get(name).into_iter().flatten() {
            if link.from.name.eq_ignore_ascii_case(name) {
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
        for (other, conflict) in metadata.conflict.iter() {
            if let Some(locked) = self.locked.get(lowercase(other).as_ref())
                && self
                    .constraint(conflict)
                    .is_some_and(|constraint| constraint.matches(locked))
            {
                return Some(format!(
                    "conflicts with the locked {other} {} (conflict {conflict})",
                    locked.pretty()
                ));
            }
        }
        if let Some(blocker) = self.unmet_requirement(metadata) {
            return Some(blocker);
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
/// returns the groups in the order they are applied.
fn apply_thresholds(packages: &mut [PackagePlan], settings: &UpgradeSettings) -> Vec<GroupPlan> {
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

    let mut minors = 0;
    let mut patches = 0;
    let mut kept = Vec::new();
    for mut group in ordered {
        if kept.len() == settings.max_groups {
            defer(
                packages,
                &group.packages,
                &format!(
                    "waits for the next run: at most {} groups per run",
                    settings.max_groups
                ),
            );
            continue;
        }
        group.packages.sort();
        let mut members = Vec::new();
        for name in &group.packages {
            let Some(package) = packages.iter_mut().find(|package| &package.name == name) else {
                continue;
            };
            let (count, limit, kind) = match package.update {
                UpdateKind::Minor => (&mut minors, settings.max_minor, "minor"),
                UpdateKind::Patch => (&mut patches, settings.max_patch, "patch"),
                UpdateKind::None => continue,
            };
            // Security updates are never deferred.
            if *count >= limit && !package.security {
                postpone(
                    package,
                    &format!("waits for the next run: at most {limit} {kind} updates per run"),
                );
                continue;
            }
            *count += 1;
            members.push(name.clone());
        }
        if !members.is_empty() {
            group.packages = members;
            kept.push(group);
        }
    }
    kept
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
