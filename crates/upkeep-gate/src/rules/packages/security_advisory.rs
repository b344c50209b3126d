//! `security-advisory`: a locked package version with a known vulnerability, from a local
//! advisory database (the `FriendsOfPHP` `security-advisories` YAML tree or OSV JSON).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use upkeep_composer::{Constraint, Version};

use crate::manifests::yaml_message;
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink};
use crate::rules::packages::{LockedPackageLocations, composer_lock};

pub struct SecurityAdvisory;

pub static META: RuleMeta = RuleMeta {
    name: "security-advisory",
    spryker_ids: &[
        "OPEN_SOURCE_VULNERABILITIES_CHECKER",
        "SPRYKER_SECURITY_CHECKER",
    ],
    category: Category::Packages,
    summary: "A locked package version is affected by a known security advisory (local advisory database).",
    documentation: "\
## What it finds
Packages in `composer.lock` (`packages` and `packages-dev`) whose locked version is affected by an
advisory of the local advisory database. The finding names the package, the locked version, the
advisory's title, its CVE and link, and the affected versions.

Two database formats are read, from a directory or a file given by path:
- the FriendsOfPHP `security-advisories` layout: `<vendor>/<package>/<id>.yaml` with `title`,
  `link`, `cve`, `reference: composer://vendor/package` and `branches`, each branch with a
  `versions` list of constraints that must all hold (`['>=5.4.0', '<5.4.20']`); a version is
  affected when any branch holds. Only the directories of locked packages are read.
- OSV JSON: one record, a list of records, or `{\"vulns\": [...]}` per `.json` file, with
  `affected[].package` (`ecosystem: Packagist`) and `ranges[].events` (`introduced`, `fixed`,
  `last_affected`) or explicit `versions`. Withdrawn records are skipped.

The database is read from disk only, in parallel; a file that cannot be read is a notice naming
it, and the other files are still used. Without a database the rule leaves a notice: it never
asks the network.

## Why it matters
A known vulnerability in an installed package is an open door, and the longer a project waits,
the larger the update that closes it. Spryker's own modules publish advisories the same way.

## Example
```json
{
    \"packages\": [
        {\"name\": \"symfony/http-kernel\", \"version\": \"v5.4.1\"}
    ]
}
```
with the advisory `symfony/http-kernel/CVE-2022-24894.yaml` affecting `>=5.4.0,<5.4.20`.

## Instead
```json
{
    \"packages\": [
        {\"name\": \"symfony/http-kernel\", \"version\": \"v5.4.20\"}
    ]
}
```

## Fix
Update the package to a version outside every affected range (`composer update <package>`,
widening its constraint in `composer.json` if needed).

## Configuration
Point the gate at a local copy of the database, e.g. a clone of
`https://github.com/FriendsOfPHP/security-advisories` or an extracted OSV Packagist export:
```toml
[gate]
advisories = \"../security-advisories\"   # or `upkeep gate --advisories PATH`
```

## Spryker id
`OPEN_SOURCE_VULNERABILITIES_CHECKER`, `SPRYKER_SECURITY_CHECKER`
",
    bad_example: Example {
        files: &[
            (
                "composer.lock",
                "{\n    \"packages\": [\n        {\"name\": \"symfony/http-kernel\", \"version\": \"v5.4.1\"}\n    ]\n}\n",
            ),
            ("upkeep.toml", "[gate]\nadvisories = \"advisories\"\n"),
            (
                "advisories/symfony/http-kernel/CVE-2022-24894.yaml",
                "title: 'CVE-2022-24894: Prevent storing cookie headers in HttpCache'\nlink: https://symfony.com/cve-2022-24894\ncve: CVE-2022-24894\nbranches:\n    5.4.x:\n        time: 2023-02-01 08:00:00\n        versions: ['>=5.4.0', '<5.4.20']\nreference: composer://symfony/http-kernel\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "composer.lock",
                "{\n    \"packages\": [\n        {\"name\": \"symfony/http-kernel\", \"version\": \"v5.4.20\"}\n    ]\n}\n",
            ),
            ("upkeep.toml", "[gate]\nadvisories = \"advisories\"\n"),
            (
                "advisories/symfony/http-kernel/CVE-2022-24894.yaml",
                "title: 'CVE-2022-24894: Prevent storing cookie headers in HttpCache'\nlink: https://symfony.com/cve-2022-24894\ncve: CVE-2022-24894\nbranches:\n    5.4.x:\n        time: 2023-02-01 08:00:00\n        versions: ['>=5.4.0', '<5.4.20']\nreference: composer://symfony/http-kernel\n",
            ),
        ],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/open-source-vulnerabilities.html",
    needs_core: false,
};

/// One advisory about one package.
#[derive(Debug)]
struct Advisory {
    /// Lowercase `vendor/package`.
    package: String,
    title: String,
    cve: Option<String>,
    link: Option<String>,
    /// Identifies the advisory among those of the package (CVE, OSV id or file name).
    key: String,
    affected: Affected,
}

#[derive(Debug)]
enum Affected {
    /// security-advisories branches: each a list of constraints that must all hold.
    Branches(Vec<(String, Vec<Constraint>)>),
    /// OSV: ranges of events, and versions listed one by one.
    Osv {
        ranges: Vec<Vec<Event>>,
        versions: Vec<Version>,
    },
}

#[derive(Debug)]
enum Event {
    Introduced(Version),
    Fixed(Version),
    LastAffected(Version),
}

impl Event {
    fn version(&self) -> &Version {
        match self {
            Self::Introduced(version) | Self::Fixed(version) | Self::LastAffected(version) => {
                version
            }
        }
    }
}

impl Advisory {
    /// The affected versions that contain `version`, described for a message; `None` when the
    /// version is not affected.
    fn affects(&self, version: &Version) -> Option<String> {
        match &self.affected {
            Affected::Branches(branches) => branches
                .iter()
                .find(|(_, constraints)| {
                    constraints
                        .iter()
                        .all(|constraint| constraint.matches(version))
                })
                .map(|(_, constraints)| {
                    constraints
                        .iter()
                        .map(Constraint::pretty)
                        .collect::<Vec<_>>()
                        .join(",")
                }),
            Affected::Osv { ranges, versions } => {
                if versions.iter().any(|listed| listed == version) {
                    return Some(format!("{} (listed)", version.pretty()));
                }
                ranges
                    .iter()
                    .find(|events| range_affects(events, version))
                    .map(|events| describe_range(events))
            }
        }
    }
}

/// OSV's rule: walking the events in version order, `introduced` opens the range, `fixed`
/// closes it at that version, `last_affected` closes it after that version.
fn range_affects(events: &[Event], version: &Version) -> bool {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by(|a, b| a.version().cmp(b.version()));
    let mut affected = false;
    for event in sorted {
        match event {
            Event::Introduced(introduced) if version >= introduced => affected = true,
            Event::Fixed(fixed) if version >= fixed => affected = false,
            Event::LastAffected(last) if version > last => affected = false,
            _ => {}
        }
    }
    affected
}

fn describe_range(events: &[Event]) -> String {
    events
        .iter()
        .map(|event| match event {
            Event::Introduced(version) if version.pretty() == "0" => "all versions".to_string(),
            Event::Introduced(version) => format!(">={}", version.pretty()),
            Event::Fixed(version) => format!("<{}", version.pretty()),
            Event::LastAffected(version) => format!("<={}", version.pretty()),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The advisories of the locked packages, and what could not be read.
#[derive(Debug, Default)]
struct AdvisoryDatabase {
    by_package: HashMap<String, Vec<Advisory>>,
    /// Files that could not be used, with why.
    problems: Vec<String>,
    /// Advisory files found (read or not).
    files: usize,
}

impl AdvisoryDatabase {
    /// Reads the advisories of `wanted` packages (lowercase names) below `path`.
    fn load(path: &Path, wanted: &HashSet<String>) -> Result<Self, String> {
        let metadata = fs_err::metadata(path).map_err(|error| error.to_string())?;
        let mut files = Vec::new();
        if metadata.is_dir() {
            collect_files(path, &mut files).map_err(|error| error.to_string())?;
        } else {
            files.push(path.to_path_buf());
        }
        let candidates: Vec<(PathBuf, Format)> = files
            .into_iter()
            .filter_map(|file| {
                let format = Format::of(&file)?;
                if format == Format::Yaml && !yaml_is_wanted(&file, wanted) {
                    return None;
                }
                Some((file, format))
            })
            .collect();
        let read: Vec<(PathBuf, Result<Vec<Advisory>, String>)> = candidates
            .par_iter()
            .map(|(file, format)| {
                let advisories = match format {
                    Format::Yaml => read_yaml(file).map(|advisory| vec![advisory]),
                    Format::Json => read_osv(file),
                };
                (file.clone(), advisories)
            })
            .collect();
        let mut database = Self {
            files: read.len(),
            ..Self::default()
        };
        for (file, advisories) in read {
            match advisories {
                Ok(advisories) => {
                    for advisory in advisories {
                        if wanted.contains(&advisory.package) {
                            database
                                .by_package
                                .entry(advisory.package.clone())
                                .or_default()
                                .push(advisory);
                        }
                    }
                }
                Err(error) => database
                    .problems
                    .push(format!("{}: {error}", file.display())),
            }
        }
        database.problems.sort();
        Ok(database)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Yaml,
    Json,
}

impl Format {
    fn of(file: &Path) -> Option<Self> {
        match file.extension()?.to_str()? {
            "yaml" | "yml" => Some(Self::Yaml),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// Every file below `dir`, hidden files and directories (`.git`, `.github`) left out; symbolic
/// links to directories are not followed.
fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            collect_files(&entry.path(), files)?;
        } else if file_type.is_file() || file_type.is_symlink() {
            files.push(entry.path());
        }
    }
    Ok(())
}

/// In the security-advisories layout the two directories above a file name its package: only
/// those of locked packages are read.
fn yaml_is_wanted(file: &Path, wanted: &HashSet<String>) -> bool {
    package_of_directories(file).is_some_and(|package| wanted.contains(&package))
}

/// `vendor/package` (lowercase) from `.../vendor/package/<file>`.
fn package_of_directories(file: &Path) -> Option<String> {
    let package_dir = file.parent()?;
    let vendor = package_dir.parent()?.file_name()?.to_string_lossy();
    let package = package_dir.file_name()?.to_string_lossy();
    Some(format!("{vendor}/{package}").to_ascii_lowercase())
}

/// A security-advisories YAML file as written.
#[derive(serde::Deserialize)]
struct YamlAdvisory {
    title: String,
    link: Option<String>,
    cve: Option<String>,
    reference: Option<String>,
    branches: BTreeMap<String, YamlBranch>,
}

#[derive(serde::Deserialize)]
struct YamlBranch {
    versions: Vec<String>,
}

fn read_yaml(file: &Path) -> Result<Advisory, String> {
    let text = fs_err::read_to_string(file).map_err(|error| error.to_string())?;
    let advisory: YamlAdvisory = serde_saphyr::from_str(&text).map_err(|error| {
        let position = error
            .location()
            .map(|at| format!("line {}, column {}: ", at.line(), at.column()))
            .unwrap_or_default();
        format!("invalid advisory: {position}{}", yaml_message(&error))
    })?;
    let package = if let Some(reference) = &advisory.reference {
        reference
            .strip_prefix("composer://")
            .ok_or_else(|| format!("`reference` \"{reference}\" is not composer://vendor/package"))?
            .to_ascii_lowercase()
    } else {
        package_of_directories(file)
            .ok_or_else(|| "no `reference` and no vendor/package directory".to_string())?
    };
    let mut branches = Vec::new();
    for (name, branch) in advisory.branches {
        if branch.versions.is_empty() {
            return Err(format!("branch `{name}` lists no versions"));
        }
        let constraints = branch
            .versions
            .iter()
            .map(|written| Constraint::parse(written))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| format!("branch `{name}`: {error}"))?;
        branches.push((name, constraints));
    }
    let cve = advisory
        .cve
        .filter(|cve| !cve.trim().is_empty() && cve != "~");
    let key = cve.clone().unwrap_or_else(|| {
        file.file_stem().map_or_else(
            || advisory.title.clone(),
            |stem| stem.to_string_lossy().into_owned(),
        )
    });
    Ok(Advisory {
        package,
        title: advisory.title,
        cve,
        link: advisory.link,
        key,
        affected: Affected::Branches(branches),
    })
}

/// An OSV record, the parts we read.
#[derive(serde::Deserialize)]
struct OsvRecord {
    id: String,
    summary: Option<String>,
    details: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    affected: Vec<OsvAffected>,
    #[serde(default)]
    references: Vec<OsvReference>,
    withdrawn: Option<String>,
}

#[derive(serde::Deserialize)]
struct OsvAffected {
    package: Option<OsvPackage>,
    #[serde(default)]
    ranges: Vec<OsvRange>,
    #[serde(default)]
    versions: Vec<String>,
}

#[derive(serde::Deserialize)]
struct OsvPackage {
    ecosystem: String,
    name: String,
}

#[derive(serde::Deserialize)]
struct OsvRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<OsvEvent>,
}

#[derive(serde::Deserialize)]
struct OsvEvent {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
}

#[derive(serde::Deserialize)]
struct OsvReference {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: String,
}

/// Reads an OSV file: a record, a list of records, or `{"vulns": [...]}` (the query API's
/// answer). JSON of another shape (a `composer.json` lying in the tree) holds no advisory.
fn read_osv(file: &Path) -> Result<Vec<Advisory>, String> {
    let text = fs_err::read(file).map_err(|error| error.to_string())?;
    let value: serde_json::Value =
        serde_json::from_slice(&text).map_err(|error| format!("invalid JSON: {error}"))?;
    let records = match value {
        serde_json::Value::Array(records) => records,
        serde_json::Value::Object(mut object) => {
            if let Some(serde_json::Value::Array(records)) = object.remove("vulns") {
                records
            } else if object.contains_key("id") && object.contains_key("affected") {
                vec![serde_json::Value::Object(object)]
            } else {
                return Ok(Vec::new());
            }
        }
        _ => return Ok(Vec::new()),
    };
    let mut advisories = Vec::new();
    for record in records {
        let record: OsvRecord = serde_json::from_value(record)
            .map_err(|error| format!("invalid OSV record: {error}"))?;
        advisories.extend(osv_advisories(record)?);
    }
    Ok(advisories)
}

fn osv_advisories(record: OsvRecord) -> Result<Vec<Advisory>, String> {
    if record.withdrawn.is_some() {
        return Ok(Vec::new());
    }
    let title = record
        .summary
        .filter(|summary| !summary.trim().is_empty())
        .or_else(|| {
            record
                .details
                .as_deref()
                .and_then(|details| details.lines().next())
                .map(str::to_string)
        })
        .unwrap_or_else(|| record.id.clone());
    let cve = std::iter::once(&record.id)
        .chain(&record.aliases)
        .find(|id| id.starts_with("CVE-"))
        .cloned();
    let link = record
        .references
        .iter()
        .find(|reference| reference.kind.as_deref() == Some("ADVISORY"))
        .or_else(|| record.references.first())
        .map_or_else(
            || format!("https://osv.dev/vulnerability/{}", record.id),
            |reference| reference.url.clone(),
        );
    let version = |written: &str| {
        // OSV writes "0" for "since the first version".
        Version::parse(written).map_err(|error| format!("{}: {error}", record.id))
    };
    // One package may have several `affected` entries (one per range); they make one advisory.
    let mut by_package: BTreeMap<String, (Vec<Vec<Event>>, Vec<Version>)> = BTreeMap::new();
    for affected in record.affected {
        let Some(package) = affected.package else {
            continue;
        };
        if !package.ecosystem.eq_ignore_ascii_case("Packagist") {
            continue;
        }
        let (ranges, versions) = by_package
            .entry(package.name.to_ascii_lowercase())
            .or_default();
        for range in affected.ranges {
            if !matches!(range.kind.as_str(), "ECOSYSTEM" | "SEMVER") {
                continue;
            }
            let mut events = Vec::new();
            for event in range.events {
                if let Some(written) = &event.introduced {
                    events.push(Event::Introduced(version(written)?));
                }
                if let Some(written) = &event.fixed {
                    events.push(Event::Fixed(version(written)?));
                }
                if let Some(written) = &event.last_affected {
                    events.push(Event::LastAffected(version(written)?));
                }
            }
            ranges.push(events);
        }
        for written in &affected.versions {
            versions.push(version(written)?);
        }
    }
    Ok(by_package
        .into_iter()
        .map(|(package, (ranges, versions))| Advisory {
            package,
            title: title.clone(),
            cve: cve.clone(),
            link: Some(link.clone()),
            key: cve.clone().unwrap_or_else(|| record.id.clone()),
            affected: Affected::Osv { ranges, versions },
        })
        .collect())
}

impl Rule for SecurityAdvisory {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let Some(path) = &project.settings.advisories else {
            sink.notice(
                &META,
                "no advisory database given (`--advisories PATH` or `advisories` in upkeep.toml): locked packages were not checked for known vulnerabilities",
            );
            return;
        };
        let Some(lock) = composer_lock(project, &META, sink) else {
            return;
        };
        let Some(file) = project.manifests.composer_lock.as_ref() else {
            return;
        };
        let packages: Vec<_> = lock.packages.iter().chain(&lock.packages_dev).collect();
        let wanted: HashSet<String> = packages
            .iter()
            .map(|package| package.name.to_ascii_lowercase())
            .collect();
        let database = match AdvisoryDatabase::load(path, &wanted) {
            Ok(database) => database,
            Err(error) => {
                sink.notice(
                    &META,
                    format!(
                        "cannot read the advisory database {}: {error}; locked packages were not checked",
                        path.display()
                    ),
                );
                return;
            }
        };
        for problem in &database.problems {
            sink.notice(&META, format!("advisory skipped: {problem}"));
        }
        if database.files == 0 && !path.is_file() {
            sink.notice(
                &META,
                format!(
                    "the advisory database {} holds no advisory for a locked package",
                    path.display()
                ),
            );
        }
        let locations = LockedPackageLocations::new(file);
        for package in packages {
            let Some(advisories) = database.by_package.get(&package.name.to_ascii_lowercase())
            else {
                continue;
            };
            let Ok(version) = package.parse_version() else {
                sink.notice(
                    &META,
                    format!(
                        "composer.lock: the version \"{}\" of `{}` cannot be compared with advisories; it was not checked",
                        package.version, package.name
                    ),
                );
                continue;
            };
            // The same advisory may come twice (from both formats, or as several OSV
            // entries for one package): it is reported once.
            let mut reported = HashSet::new();
            for advisory in advisories {
                let Some(affected) = advisory.affects(&version) else {
                    continue;
                };
                if !reported.insert(&advisory.key) {
                    continue;
                }
                sink.push(locations.finding(
                    &META,
                    &package.name,
                    format!(
                        "`{}` {} is affected by \"{}\" ({}, {}); affected versions: {affected}; update to a fixed version",
                        package.name,
                        package.version,
                        advisory.title,
                        advisory.cve.as_deref().unwrap_or("no CVE"),
                        advisory.link.as_deref().unwrap_or("no link"),
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::packages::test_support::{findings, notices, run_rules};

    fn version(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn osv_ranges_follow_the_events_in_order() {
        let events = vec![
            Event::Introduced(version("0")),
            Event::Fixed(version("1.2.3")),
            Event::Introduced(version("2.0.0")),
            Event::LastAffected(version("2.1.0")),
        ];
        for (written, affected) in [
            ("0.1.0", true),
            ("1.2.2", true),
            ("1.2.3", false),
            ("1.9.0", false),
            ("2.0.0", true),
            ("2.1.0", true),
            ("2.1.1", false),
        ] {
            assert_eq!(
                range_affects(&events, &version(written)),
                affected,
                "{written}"
            );
        }
        assert_eq!(
            describe_range(&events),
            "all versions,<1.2.3,>=2.0.0,<=2.1.0"
        );
    }

    const LOCK: &str = "{\n  \"packages\": [\n    {\"name\": \"acme/lib\", \"version\": \"v1.5.0\"},\n    {\"name\": \"acme/other\", \"version\": \"2.0.0\"}\n  ]\n}\n";

    #[test]
    fn reads_osv_files_and_reports_affected_versions() {
        let osv = r#"{"id": "GHSA-1234", "summary": "Remote code execution", "aliases": ["CVE-2024-0001"],
            "affected": [{"package": {"ecosystem": "Packagist", "name": "acme/lib"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0.0"}, {"fixed": "1.6.0"}]}]},
                         {"package": {"ecosystem": "npm", "name": "acme/other"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}],
            "references": [{"type": "WEB", "url": "https://example.com/web"}, {"type": "ADVISORY", "url": "https://example.com/advisory"}]}"#;
        let report = run_rules(
            &["security-advisory"],
            &[
                ("composer.lock", LOCK),
                ("upkeep.toml", "[gate]\nadvisories = \"osv\"\n"),
                ("osv/GHSA-1234.json", osv),
                ("osv/composer.json", "{\"name\": \"not/advisory\"}"),
            ],
        );
        assert_eq!(
            findings(&report),
            [
                "security-advisory composer.lock:3: `acme/lib` v1.5.0 is affected by \"Remote code execution\" (CVE-2024-0001, https://example.com/advisory); affected versions: >=1.0.0,<1.6.0; update to a fixed version"
            ]
        );
        assert_eq!(notices(&report, "security-advisory"), Vec::<String>::new());
    }

    #[test]
    fn malformed_advisories_are_notices_and_the_others_still_count() {
        let report = run_rules(
            &["security-advisory"],
            &[
                ("composer.lock", LOCK),
                ("upkeep.toml", "[gate]\nadvisories = \"db\"\n"),
                ("db/acme/lib/broken.yaml", "title: [unclosed\n"),
                (
                    "db/acme/lib/bad-range.yaml",
                    "title: t\nbranches:\n  1.x:\n    versions: ['>=1.0', '<nonsense']\nreference: composer://acme/lib\n",
                ),
                (
                    "db/acme/lib/good.yaml",
                    "title: Good one\nlink: https://example.com/good\ncve: ~\nbranches:\n  1.x:\n    time: 2020-01-01 00:00:00\n    versions: ['>=1.0.0', '<1.5.1']\nreference: composer://acme/lib\n",
                ),
                ("db/acme/unlocked/ignored.yaml", "not: [even, read\n"),
                ("db/broken.json", "{"),
            ],
        );
        assert_eq!(
            findings(&report),
            [
                "security-advisory composer.lock:3: `acme/lib` v1.5.0 is affected by \"Good one\" (no CVE, https://example.com/good); affected versions: >=1.0.0,<1.5.1; update to a fixed version"
            ]
        );
        let notices = notices(&report, "security-advisory");
        assert_eq!(notices.len(), 3, "{notices:?}");
        assert!(
            notices.iter().any(|n| n.contains("bad-range.yaml")),
            "{notices:?}"
        );
        assert!(
            notices.iter().any(|n| n.contains("broken.yaml")),
            "{notices:?}"
        );
        assert!(
            notices.iter().any(|n| n.contains("broken.json")),
            "{notices:?}"
        );
    }

    #[test]
    fn without_a_database_there_is_a_notice_and_no_network() {
        let report = run_rules(&["security-advisory"], &[("composer.lock", LOCK)]);
        assert!(report.findings.is_empty());
        assert_eq!(notices(&report, "security-advisory").len(), 1);
        let missing = run_rules(
            &["security-advisory"],
            &[
                ("composer.lock", LOCK),
                ("upkeep.toml", "[gate]\nadvisories = \"nowhere\"\n"),
            ],
        );
        assert!(
            notices(&missing, "security-advisory")[0]
                .starts_with("cannot read the advisory database")
        );
    }
}
