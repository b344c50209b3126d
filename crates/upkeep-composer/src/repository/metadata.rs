//! Package metadata as Composer repositories publish it: one JSON object per version, turned into
//! [`PackageVersion`]; package name patterns. Protocol 2 files, with their minified lists, are read
//! by [`metadata_file`](super::metadata_file); the expansion on `Value` here is the plain reading
//! its tests compare with.

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::Version;
use crate::version::{MAX_VERSION_BYTES, TOO_LONG, shown};

/// The value Composer 2's minifier writes for a key that the previous version had and this one
/// does not.
pub(crate) const UNSET: &str = "__unset";

/// The `minified` marker of Composer 2 metadata that must be expanded.
pub(crate) const MINIFIED_COMPOSER_2: &str = "composer/2.0";

/// Composer 1 repositories wrote this as `version_normalized` of default branches; Composer
/// normalises the pretty version again instead of trusting it.
pub(crate) const LEGACY_DEFAULT_BRANCH_ALIAS: &str = "9999999-dev";

/// Links of a version (`require`, `conflict`, ...): package names and the constraints on them
/// as written, in the order written.
///
/// Shared and small, because a shop's metadata holds tens of thousands of versions: consecutive
/// releases mostly have the same links (Composer's minified metadata writes them once for a run
/// of versions), and the names and constraints repeat across a package's versions, so readers
/// share the strings too. A few links each, looked up by scanning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Links(Arc<[(Arc<str>, Arc<str>)]>);

impl Links {
    /// The constraint on `name` (as spelled in the metadata).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(linked, _)| *linked == name)
            .map(|(_, constraint)| constraint)
    }

    /// `(name, constraint)` in the order written.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(name, constraint)| (&**name, &**constraint))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Links whose names are distinct already (read back from a parsed copy of such links).
    pub(crate) fn from_distinct(links: Vec<(Arc<str>, Arc<str>)>) -> Self {
        Self(links.into())
    }
}

/// As a JSON object is read: a name given twice keeps its first place and takes the last value.
impl FromIterator<(String, String)> for Links {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(links: I) -> Self {
        Self::from(links.into_iter().collect::<IndexMap<String, String>>())
    }
}

impl From<IndexMap<String, String>> for Links {
    fn from(links: IndexMap<String, String>) -> Self {
        Self(
            links
                .into_iter()
                .map(|(name, constraint)| (name.into(), constraint.into()))
                .collect(),
        )
    }
}

/// One version of a package as a repository describes it.
///
/// What most versions of a package have in common (the name, links, where the code lives, the
/// descriptive values) is held behind `Arc`s and shared between versions read from one file, so
/// that tens of thousands of versions cost little more than what differs between them.
///
/// `dist` (the archive to download) is not kept: upkeep never installs a package itself, Composer
/// does, and the archive URL and reference of every version would be most of the memory.
///
/// Build one in tests with [`PackageVersion::new`] and set what the test needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageVersion {
    /// The name as the metadata spells it.
    pub name: Arc<str>,
    /// The version: as written (`v1.2.0`, `dev-main`, `2.x-dev`: [`Version::pretty`]) and in the
    /// normalised form the repository gives (`version_normalized`), which Composer's loader
    /// takes as it is and by which versions are compared.
    pub version: Version,
    pub require: Links,
    pub require_dev: Links,
    pub conflict: Links,
    pub replace: Links,
    pub provide: Links,
    pub source: Option<Arc<Source>>,
    /// Release date as written, e.g. `2024-03-01T10:00:00+00:00`.
    pub time: Option<String>,
    /// The `type` key (`library`, `composer-plugin`, ...).
    pub kind: Option<Arc<str>>,
    /// `true`, or the name of the replacement package.
    pub abandoned: Option<Arc<Value>>,
    pub homepage: Option<Arc<Value>>,
    pub support: Option<Arc<Value>>,
    /// `extra`, which holds `branch-alias`.
    pub extra: Option<Arc<Value>>,
}

/// Where a version's source code lives (`git`, `hg`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    pub kind: String,
    pub url: String,
    pub reference: Option<String>,
}

/// Why one version entry could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidVersionEntry {
    pub(crate) version: Option<String>,
    pub(crate) reason: String,
}

impl PackageVersion {
    /// A version with nothing but its name and version, e.g. for tests.
    pub fn new(name: &str, version: Version) -> Self {
        Self {
            name: name.into(),
            version,
            require: Links::default(),
            require_dev: Links::default(),
            conflict: Links::default(),
            replace: Links::default(),
            provide: Links::default(),
            source: None,
            time: None,
            kind: None,
            abandoned: None,
            homepage: None,
            support: None,
            extra: None,
        }
    }

    /// Reads one version entry. `fallback_name` names the package when the entry does not.
    pub(crate) fn from_metadata(
        entry: &Value,
        fallback_name: &str,
    ) -> Result<Self, InvalidVersionEntry> {
        let Some(fields) = entry.as_object() else {
            return Err(InvalidVersionEntry {
                version: None,
                reason: "a version entry must be an object".to_owned(),
            });
        };
        Self::from_fields(fields, fallback_name)
    }

    /// Reads one version entry given as its object's fields.
    pub(crate) fn from_fields(
        fields: &Map<String, Value>,
        fallback_name: &str,
    ) -> Result<Self, InvalidVersionEntry> {
        let text = |key: &str| fields.get(key).and_then(Value::as_str);
        let version = entry_version(text("version"), text("version_normalized"))?;
        let present = |key: &str| {
            fields
                .get(key)
                .filter(|value| !value.is_null())
                .map(|value| Arc::new(value.clone()))
        };
        Ok(Self {
            name: text("name").unwrap_or(fallback_name).into(),
            version,
            require: links(fields.get("require")),
            require_dev: links(fields.get("require-dev")),
            conflict: links(fields.get("conflict")),
            replace: links(fields.get("replace")),
            provide: links(fields.get("provide")),
            source: fields.get("source").and_then(source).map(Arc::new),
            time: text("time").map(str::to_owned),
            kind: text("type").map(Arc::from),
            abandoned: present("abandoned").filter(|value| **value != Value::Bool(false)),
            homepage: present("homepage"),
            support: present("support"),
            extra: present("extra"),
        })
    }
}

/// The version of an entry from its `version` and `version_normalized` strings: the normalised
/// form as the repository gives it, which Composer's loader takes as it is, else the version
/// normalised here.
pub(crate) fn entry_version(
    version: Option<&str>,
    normalized: Option<&str>,
) -> Result<Version, InvalidVersionEntry> {
    let Some(version) = version else {
        return Err(InvalidVersionEntry {
            version: None,
            reason: "the entry has no `version` string".to_owned(),
        });
    };
    // Checked here because the repository's own normalised form is taken without parsing.
    if version.len() > MAX_VERSION_BYTES
        || normalized.is_some_and(|normalized| normalized.len() > MAX_VERSION_BYTES)
    {
        return Err(InvalidVersionEntry {
            version: Some(shown(version).into_owned()),
            reason: format!("the version is {TOO_LONG}"),
        });
    }
    match normalized.filter(|normalized| *normalized != LEGACY_DEFAULT_BRANCH_ALIAS) {
        Some(normalized) => Ok(Version::from_normalized(version, normalized)),
        None => Version::parse(version).map_err(|error| InvalidVersionEntry {
            version: Some(version.to_owned()),
            reason: error.reason().to_owned(),
        }),
    }
}

/// A map of package names to constraints. PHP writes an empty map as `[]`; values that are not
/// strings are not constraints and are left out.
fn links(value: Option<&Value>) -> Links {
    let Some(map) = value.and_then(Value::as_object) else {
        return Links::default();
    };
    map.iter()
        .filter_map(|(name, constraint)| Some((name.clone(), constraint.as_str()?.to_owned())))
        .collect()
}

fn source(value: &Value) -> Option<Source> {
    let fields = value.as_object()?;
    Some(Source {
        kind: fields.get("type")?.as_str()?.to_owned(),
        url: fields.get("url")?.as_str()?.to_owned(),
        reference: fields
            .get("reference")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// The running entry of a list minified by Composer 2: every entry holds only the keys that
/// changed since the entry before it, and `"__unset"` removes a key.
///
/// Each entry is applied to the one before in place and read from there, so that no entry is ever
/// copied as a whole (a package can have thousands of versions).
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct MinifiedList {
    current: Map<String, Value>,
}

#[cfg(test)]
impl MinifiedList {
    /// Applies the changes of the next entry and returns the whole entry.
    pub(crate) fn apply(&mut self, changes: Map<String, Value>) -> &Map<String, Value> {
        // Composer starts over when the running entry is empty (PHP's `!$array`).
        if self.current.is_empty() {
            self.current = changes;
        } else {
            for (key, value) in changes {
                if value.as_str() == Some(UNSET) {
                    self.current.shift_remove(&key);
                } else {
                    self.current.insert(key, value);
                }
            }
        }
        &self.current
    }
}

/// A package name or a pattern with `*` wildcards (`vendor/*`), compared without regard to case as
/// Composer does for `only`, `exclude` and `available-package-patterns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamePattern {
    lowercase: String,
}

impl NamePattern {
    pub(crate) fn new(pattern: &str) -> Self {
        Self {
            lowercase: pattern.to_lowercase(),
        }
    }

    /// `name` must already be lowercase.
    pub(crate) fn matches(&self, name: &str) -> bool {
        wildcard_match(&self.lowercase, name)
    }
}

fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('*');
    let Some(first) = pieces.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        // No `*` at all: the whole text must be the literal.
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(position) => rest = &rest[position + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn expand(entries: Vec<Value>) -> Vec<Value> {
        let mut list = MinifiedList::default();
        entries
            .into_iter()
            .map(|entry| match entry {
                Value::Object(changes) => Value::Object(list.apply(changes).clone()),
                other => panic!("not an object: {other}"),
            })
            .collect()
    }

    #[test]
    fn minified_entries_inherit_and_unset_keys() {
        let expanded = expand(vec![
            json!({"name": "a/b", "version": "2.0.0", "require": {"php": ">=8.1"}, "time": "t2"}),
            json!({"version": "1.1.0", "time": "t1"}),
            json!({"version": "1.0.0", "require": "__unset", "license": ["MIT"]}),
        ]);
        assert_eq!(
            expanded,
            vec![
                json!({"name": "a/b", "version": "2.0.0", "require": {"php": ">=8.1"}, "time": "t2"}),
                json!({"name": "a/b", "version": "1.1.0", "require": {"php": ">=8.1"}, "time": "t1"}),
                json!({"name": "a/b", "version": "1.0.0", "time": "t1", "license": ["MIT"]}),
            ]
        );
    }

    #[test]
    fn an_empty_first_entry_lets_the_next_one_start_over() {
        let expanded = expand(vec![
            json!({}),
            json!({"name": "a/b", "version": "1.0.0"}),
            json!({"version": "0.9.0"}),
        ]);
        assert_eq!(expanded[1], json!({"name": "a/b", "version": "1.0.0"}));
        assert_eq!(expanded[2], json!({"name": "a/b", "version": "0.9.0"}));
    }

    #[test]
    fn reads_a_full_entry() {
        let entry = json!({
            "name": "Acme/Widget",
            "version": "v1.2.0",
            "version_normalized": "1.2.0.0",
            "require": {"php": "^8.1", "acme/core": "self.version", "bad": 3},
            "require-dev": [],
            "conflict": {"acme/old": "<1.0"},
            "replace": {"acme/widget-legacy": "self.version"},
            "provide": {"psr/log-implementation": "1.0"},
            "source": {"type": "git", "url": "https://github.com/acme/widget.git", "reference": "abc"},
            "dist": {"type": "zip", "url": "https://api.github.com/zip/abc", "reference": "abc", "shasum": ""},
            "time": "2024-03-01T10:00:00+00:00",
            "type": "library",
            "abandoned": "acme/gadget",
            "homepage": "https://acme.test",
            "support": {"issues": "https://acme.test/issues"},
            "extra": {"branch-alias": {"dev-main": "1.3.x-dev"}}
        });
        let version = PackageVersion::from_metadata(&entry, "acme/widget")
            .unwrap_or_else(|error| panic!("{error:?}"));
        assert_eq!(&*version.name, "Acme/Widget");
        assert_eq!(
            (version.version.pretty(), version.version.normalized()),
            ("v1.2.0", "1.2.0.0")
        );
        assert_eq!(
            version.require.iter().collect::<Vec<_>>(),
            [("php", "^8.1"), ("acme/core", "self.version")]
        );
        assert!(version.require_dev.is_empty());
        assert_eq!(version.conflict.get("acme/old"), Some("<1.0"));
        assert_eq!(
            version.replace.get("acme/widget-legacy"),
            Some("self.version")
        );
        assert_eq!(version.provide.get("psr/log-implementation"), Some("1.0"));
        assert_eq!(
            version.source.as_deref(),
            Some(&Source {
                kind: "git".to_owned(),
                url: "https://github.com/acme/widget.git".to_owned(),
                reference: Some("abc".to_owned()),
            })
        );
        assert_eq!(version.time.as_deref(), Some("2024-03-01T10:00:00+00:00"));
        assert_eq!(version.kind.as_deref(), Some("library"));
        assert_eq!(version.abandoned.as_deref(), Some(&json!("acme/gadget")));
        assert_eq!(
            version.extra.as_deref(),
            Some(&json!({"branch-alias": {"dev-main": "1.3.x-dev"}}))
        );
    }

    #[test]
    fn normalises_when_the_entry_does_not() {
        let version = PackageVersion::from_metadata(&json!({"version": "v2.1"}), "a/b")
            .unwrap_or_else(|error| panic!("{error:?}"));
        assert_eq!(&*version.name, "a/b");
        assert_eq!(version.version.normalized(), "2.1.0.0");
        assert_eq!(version.abandoned, None);
        // Composer 1 repositories wrote this placeholder for default branches.
        let branch = PackageVersion::from_metadata(
            &json!({"version": "dev-master", "version_normalized": "9999999-dev"}),
            "a/b",
        )
        .unwrap_or_else(|error| panic!("{error:?}"));
        assert_eq!(branch.version.normalized(), "dev-master");
    }

    #[test]
    fn versions_compare_by_the_normalised_form_the_repository_gives() {
        let tagged = PackageVersion::from_metadata(
            &json!({"version": " v2.1 ", "version_normalized": "2.1.0.0"}),
            "a/b",
        )
        .unwrap_or_else(|error| panic!("{error:?}"));
        let parsed = &tagged.version;
        assert_eq!((parsed.pretty(), parsed.normalized()), ("v2.1", "2.1.0.0"));
        assert_eq!(*parsed, Version::parse("2.1").expect("a version"));
        // As Composer's loader does, a repository's own normalised form is what counts, even
        // where normalising the pretty version would give something else.
        let renamed = PackageVersion::from_metadata(
            &json!({"version": "2.1", "version_normalized": "2.1.0.0-beta1"}),
            "a/b",
        )
        .unwrap_or_else(|error| panic!("{error:?}"));
        let parsed = &renamed.version;
        assert_eq!(parsed.normalized(), "2.1.0.0-beta1");
        assert_eq!(parsed.stability(), crate::Stability::Beta);
        assert!(*parsed < Version::parse("2.1.0").expect("a version"));
    }

    #[test]
    fn rejects_entries_without_a_readable_version() {
        let missing =
            PackageVersion::from_metadata(&json!({"name": "a/b"}), "a/b").expect_err("no version");
        assert_eq!(missing.version, None);
        let invalid = PackageVersion::from_metadata(&json!({"version": "not a version"}), "a/b")
            .expect_err("invalid version");
        assert_eq!(invalid.version.as_deref(), Some("not a version"));
        assert!(PackageVersion::from_metadata(&json!("1.0.0"), "a/b").is_err());
    }

    #[test]
    fn name_patterns_use_stars_and_ignore_case() {
        let vendor = NamePattern::new("Acme/*");
        assert!(vendor.matches("acme/widget"));
        assert!(!vendor.matches("acmex/widget"));
        assert!(!vendor.matches("other/acme"));
        let exact = NamePattern::new("acme/widget");
        assert!(exact.matches("acme/widget"));
        assert!(!exact.matches("acme/widgets"));
        let middle = NamePattern::new("*/widget-*-bundle");
        assert!(middle.matches("acme/widget-x-bundle"));
        assert!(!middle.matches("acme/widget-bundle"));
        assert!(NamePattern::new("*").matches("anything/at-all"));
    }
}
