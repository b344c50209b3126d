//! A local security-advisory database: the `FriendsOfPHP` `security-advisories` YAML tree
//! (`<vendor>/<package>/<id>.yaml`) or OSV JSON records. The `security-advisory` rule and the
//! upgrader (which marks security updates) read it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use upkeep_composer::{Constraint, Version};

/// One advisory about one package.
#[derive(Debug)]
pub struct Advisory {
    /// Lowercase `vendor/package`.
    pub package: String,
    pub title: String,
    pub cve: Option<String>,
    pub link: Option<String>,
    /// Identifies the advisory among those of the package (CVE, OSV id or file name).
    pub key: String,
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
    pub fn affects(&self, version: &Version) -> Option<String> {
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
pub struct AdvisoryDatabase {
    pub by_package: HashMap<String, Vec<Advisory>>,
    /// Files that could not be used, with why.
    pub problems: Vec<String>,
    /// Advisory files found (read or not).
    pub files: usize,
}

impl AdvisoryDatabase {
    /// The advisories of one package (any case).
    pub fn for_package(&self, package: &str) -> &[Advisory] {
        self.by_package
            .get(&package.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    /// The advisories of `package` that affect `version`, with the affected range of each.
    pub fn affecting<'a>(
        &'a self,
        package: &str,
        version: &Version,
    ) -> impl Iterator<Item = (&'a Advisory, String)> + 'a {
        let version = version.clone();
        self.for_package(package)
            .iter()
            .filter_map(move |advisory| advisory.affects(&version).map(|range| (advisory, range)))
    }

    /// Reads the advisories of `wanted` packages (lowercase names) below `path`.
    pub fn load(path: &Path, wanted: &HashSet<String>) -> Result<Self, String> {
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
    let advisory: YamlAdvisory = crate::yaml::parse(&text).map_err(|error| {
        format!(
            "invalid advisory: {}{}",
            error.position_prefix(),
            error.message()
        )
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
