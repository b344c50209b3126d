//! The parts of `composer.json` that Upkeep reads.

use std::path::Path;
use std::str::FromStr;

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer};

use crate::constraint::{piece_flag, pieces};
use crate::document::{DocumentError, package_map, parse_json, read_file};
use crate::version::{MAX_VERSION_BYTES, Stability, is_end, is_pcre_space};

const DOCUMENT: &str = "composer.json";

/// A project's `composer.json`: the package links in the order they are written, the settings
/// that decide which versions Composer may pick, and the whole document for everything else.
#[derive(Debug, Clone, PartialEq)]
pub struct ComposerJson {
    pub name: Option<String>,
    /// Package name to constraint string, as written.
    pub require: IndexMap<String, String>,
    pub require_dev: IndexMap<String, String>,
    /// Versions this project cannot be installed with.
    pub conflict: IndexMap<String, String>,
    /// Packages this project replaces or provides (for the solver, they are installed with it).
    pub replace: IndexMap<String, String>,
    pub provide: IndexMap<String, String>,
    /// `minimum-stability`; `stable` when absent.
    pub minimum_stability: Stability,
    /// `prefer-stable`, read with PHP's truthiness as Composer does.
    pub prefer_stable: bool,
    /// `repositories` in the order written, from the array or the object form.
    pub repositories: Vec<RepositoryEntry>,
    /// `config.platform`: a version Composer pretends is installed, or `None` for `false`, which
    /// hides the platform package.
    pub platform: IndexMap<String, Option<String>>,
    /// `config.platform.php`: the PHP version Composer resolves for instead of the running one.
    pub platform_php: Option<String>,
    /// `config.sort-packages`: `composer require` keeps the links sorted.
    pub sort_packages: bool,
    /// The document as read.
    pub raw: serde_json::Value,
}

/// One entry of `repositories`.
#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryEntry {
    /// The key in the object form (`{"private": {...}}`); `None` in the array form.
    pub key: Option<String>,
    /// The entry as written: a repository object, or `false` to disable the repository named by
    /// the key.
    pub value: serde_json::Value,
}

impl RepositoryEntry {
    /// `type`, e.g. `composer`, `path` or `vcs`.
    pub fn kind(&self) -> Option<&str> {
        self.value.get("type").and_then(serde_json::Value::as_str)
    }

    pub fn url(&self) -> Option<&str> {
        self.value.get("url").and_then(serde_json::Value::as_str)
    }

    /// The name of the repository this entry switches off: `"packagist.org": false` in the object
    /// form, or `{"packagist.org": false}` in either form.
    pub fn disables(&self) -> Option<&str> {
        if self.value == serde_json::Value::Bool(false) {
            return self.key.as_deref();
        }
        let object = self.value.as_object()?;
        match object.iter().next() {
            Some((name, serde_json::Value::Bool(false))) if object.len() == 1 => Some(name),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(expecting = "a composer.json object")]
struct ManifestFields {
    name: Option<String>,
    #[serde(default, deserialize_with = "package_map")]
    require: IndexMap<String, String>,
    #[serde(default, rename = "require-dev", deserialize_with = "package_map")]
    require_dev: IndexMap<String, String>,
    #[serde(default, deserialize_with = "package_map")]
    conflict: IndexMap<String, String>,
    #[serde(default, deserialize_with = "package_map")]
    replace: IndexMap<String, String>,
    #[serde(default, deserialize_with = "package_map")]
    provide: IndexMap<String, String>,
    #[serde(
        default = "stable",
        rename = "minimum-stability",
        deserialize_with = "stability_name"
    )]
    minimum_stability: Stability,
    #[serde(default, rename = "prefer-stable")]
    prefer_stable: Option<serde_json::Value>,
    #[serde(default)]
    repositories: Option<serde_json::Value>,
    #[serde(default)]
    config: ConfigFields,
}

pub(crate) fn stable() -> Stability {
    Stability::Stable
}

/// Reads `dev`, `alpha`, `beta`, `RC` or `stable` in any case, as Composer does.
pub(crate) fn stability_name<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Stability, D::Error> {
    deserializer.deserialize_str(StabilityVisitor)
}

/// A visitor rather than `String::deserialize` so that `serde_json` reports an unknown name at
/// the name's own position.
struct StabilityVisitor;

impl serde::de::Visitor<'_> for StabilityVisitor {
    type Value = Stability;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a stability: dev, alpha, beta, RC or stable")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Stability, E> {
        name.parse().map_err(E::custom)
    }
}

#[derive(Deserialize, Default)]
struct ConfigFields {
    /// Values are versions, or `false` to hide a package from the platform.
    #[serde(default)]
    platform: IndexMap<String, serde_json::Value>,
    #[serde(default, rename = "sort-packages")]
    sort_packages: Option<serde_json::Value>,
}

impl ComposerJson {
    pub fn from_path(path: &Path) -> Result<Self, DocumentError> {
        Self::parse(&read_file(path)?, Some(path))
    }

    fn parse(text: &str, path: Option<&Path>) -> Result<Self, DocumentError> {
        // The typed pass comes first so that a wrong type is reported with its line and column.
        let fields: ManifestFields = parse_json(text, DOCUMENT, path)?;
        let raw = parse_json(text, DOCUMENT, path)?;
        let platform = platform_versions(fields.config.platform);
        let platform_php = platform.get("php").cloned().flatten();
        Ok(Self {
            name: fields.name,
            require: fields.require,
            require_dev: fields.require_dev,
            conflict: fields.conflict,
            replace: fields.replace,
            provide: fields.provide,
            minimum_stability: fields.minimum_stability,
            prefer_stable: fields.prefer_stable.as_ref().is_some_and(php_truthy),
            repositories: repository_entries(fields.repositories),
            platform,
            platform_php,
            sort_packages: fields.config.sort_packages.as_ref().is_some_and(php_truthy),
            raw,
        })
    }

    /// Whether Packagist is switched off (`"packagist.org": false` in either form, or the old
    /// name `packagist`), so that only the listed repositories count.
    pub fn packagist_disabled(&self) -> bool {
        self.repositories
            .iter()
            .filter_map(RepositoryEntry::disables)
            .any(|name| matches!(name, "packagist.org" | "packagist"))
    }

    /// The stability flags of the root package, as Composer's root package loader derives them
    /// from `require` and then `require-dev`: package name (lower case) to flag.
    pub fn stability_flags(&self) -> IndexMap<String, Stability> {
        let mut flags = IndexMap::new();
        Self::extract_stability_flags(&self.require, self.minimum_stability, &mut flags);
        Self::extract_stability_flags(&self.require_dev, self.minimum_stability, &mut flags);
        flags
    }

    /// Composer's `RootPackageLoader::extractStabilityFlags`: an explicit flag (`^1.0@beta`, the
    /// least stable if several) wins; otherwise a version that names a stability below
    /// `minimum` (`1.0.0-beta2`, `dev-main`) sets one. A flag already in `flags` that is less
    /// stable is kept.
    pub fn extract_stability_flags(
        requires: &IndexMap<String, String>,
        minimum: Stability,
        flags: &mut IndexMap<String, Stability>,
    ) {
        for (package, constraint) in requires {
            let name = package.to_ascii_lowercase();
            let pieces = pieces(constraint);
            let mut matched = false;
            for flag in pieces.iter().filter_map(|piece| piece_flag(piece)) {
                if flags.get(&name).is_some_and(|&existing| existing < flag) {
                    continue;
                }
                flags.insert(name.clone(), flag);
                matched = true;
            }
            if matched {
                continue;
            }
            for piece in pieces {
                let version = alias_source_for_flags(piece);
                let plain = version
                    .bytes()
                    .position(|byte| byte == b',' || byte == b'@' || is_pcre_space(byte));
                let plain = match plain {
                    None => !version.is_empty(),
                    Some(position) => position > 0 && is_end(&version[position..]),
                };
                if !plain {
                    continue;
                }
                if version.len() > MAX_VERSION_BYTES {
                    // Not a version; parsing the constraint says so.
                    continue;
                }
                let stability = Stability::of_version(version);
                if stability == Stability::Stable
                    || flags
                        .get(&name)
                        .is_some_and(|&existing| existing < stability)
                    || minimum < stability
                {
                    continue;
                }
                flags.insert(name.clone(), stability);
            }
        }
    }
}

/// `preg_replace('{^([^,\s@]+) as .+$}', '$1', $piece)`.
fn alias_source_for_flags(piece: &str) -> &str {
    let end = piece
        .bytes()
        .position(|byte| byte == b',' || byte == b'@' || is_pcre_space(byte))
        .unwrap_or(piece.len());
    let Some(alias) = piece[end..].strip_prefix(" as ") else {
        return piece;
    };
    let run = alias.find('\n').unwrap_or(alias.len());
    if end > 0 && run > 0 && is_end(&alias[run..]) {
        &piece[..end]
    } else {
        piece
    }
}

/// The entries of `repositories`; anything but an array or an object counts as none (the
/// repository reader reports it).
fn repository_entries(value: Option<serde_json::Value>) -> Vec<RepositoryEntry> {
    match value {
        Some(serde_json::Value::Array(items)) => items
            .into_iter()
            .map(|value| RepositoryEntry { key: None, value })
            .collect(),
        Some(serde_json::Value::Object(entries)) => entries
            .into_iter()
            .map(|(key, value)| RepositoryEntry {
                key: Some(key),
                value,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `config.platform` (or a lock's `platform-overrides`): name to version, `None` where the value
/// is `false` (the package is hidden) or anything else that is not a string.
pub(crate) fn platform_versions(
    entries: impl IntoIterator<Item = (String, serde_json::Value)>,
) -> IndexMap<String, Option<String>> {
    entries
        .into_iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(version) => (name, Some(version)),
            _ => (name, None),
        })
        .collect()
}

/// PHP's `(bool)` of a JSON value.
pub(crate) fn php_truthy(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => false,
        serde_json::Value::Bool(value) => *value,
        serde_json::Value::Number(number) => number.as_f64().is_some_and(|number| number != 0.0),
        serde_json::Value::String(text) => !text.is_empty() && text != "0",
        serde_json::Value::Array(items) => !items.is_empty(),
        serde_json::Value::Object(entries) => !entries.is_empty(),
    }
}

impl FromStr for ComposerJson {
    type Err = DocumentError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text, None)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn fixture(relative: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(relative)
    }

    fn parse(text: &str) -> ComposerJson {
        text.parse().unwrap_or_else(|error| panic!("{error}"))
    }

    fn parse_error(text: &str) -> DocumentError {
        text.parse::<ComposerJson>()
            .expect_err("the document is invalid")
    }

    #[test]
    fn reads_requirements_in_written_order() {
        let manifest = ComposerJson::from_path(&fixture("spryker-shop/composer.json"))
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(manifest.name.as_deref(), Some("spryker/b2b-demo-shop"));
        assert_eq!(
            manifest.require.keys().collect::<Vec<_>>(),
            [
                "php",
                "spryker-feature/cart",
                "spryker/kernel",
                "spryker/zed-ui",
                "ext-json"
            ]
        );
        assert_eq!(
            manifest.require.get("spryker/zed-ui").map(String::as_str),
            Some("~2.5.0 || ^3.0.0@beta")
        );
        assert_eq!(
            manifest
                .require_dev
                .get("spryker/code-sniffer")
                .map(String::as_str),
            Some("dev-master as 0.17.x-dev")
        );
        assert_eq!(manifest.platform_php.as_deref(), Some("8.2.12"));
        assert_eq!(
            manifest.platform.iter().collect::<Vec<_>>(),
            [
                (&"php".to_owned(), &Some("8.2.12".to_owned())),
                (&"ext-grpc".to_owned(), &None)
            ]
        );
        assert!(manifest.sort_packages);
        assert_eq!(
            manifest.raw["extra"]["spryker"]["core-namespaces"][1],
            "SprykerShop"
        );
    }

    #[test]
    fn missing_sections_are_empty() {
        let manifest = parse("{}");
        assert_eq!(manifest.name, None);
        assert!(manifest.require.is_empty());
        assert!(manifest.require_dev.is_empty());
        assert!(manifest.conflict.is_empty());
        assert_eq!(manifest.minimum_stability, Stability::Stable);
        assert!(!manifest.prefer_stable);
        assert!(manifest.repositories.is_empty());
        assert!(!manifest.packagist_disabled());
        assert_eq!(manifest.platform_php, None);
        assert!(!manifest.sort_packages);
        assert_eq!(manifest.raw, serde_json::json!({}));
    }

    #[test]
    fn reads_what_decides_the_versions() {
        let manifest = parse(
            r#"{
                "require": {"a/a": "^1.0"},
                "conflict": {"b/b": "<1.2"},
                "replace": {"c/c": "self.version"},
                "provide": {"psr/log-implementation": "1.0"},
                "minimum-stability": "Beta",
                "prefer-stable": 1
            }"#,
        );
        assert_eq!(manifest.conflict["b/b"], "<1.2");
        assert_eq!(manifest.replace["c/c"], "self.version");
        assert_eq!(manifest.provide["psr/log-implementation"], "1.0");
        assert_eq!(manifest.minimum_stability, Stability::Beta);
        assert!(manifest.prefer_stable);
    }

    #[test]
    fn an_unknown_minimum_stability_is_an_error_with_its_position() {
        let error = parse_error("{\n  \"minimum-stability\": \"gamma\"\n}");
        assert_eq!(
            error.to_string(),
            "composer.json:2:30: unknown stability \"gamma\": expected dev, alpha, beta, RC or stable"
        );
    }

    #[test]
    fn reads_repositories_in_both_forms() {
        let listed = parse(
            r#"{"repositories": [
                {"type": "composer", "url": "http://127.0.0.1:8080"},
                {"packagist.org": false}
            ]}"#,
        );
        assert_eq!(listed.repositories.len(), 2);
        assert_eq!(listed.repositories[0].kind(), Some("composer"));
        assert_eq!(listed.repositories[0].url(), Some("http://127.0.0.1:8080"));
        assert_eq!(listed.repositories[1].disables(), Some("packagist.org"));
        assert!(listed.packagist_disabled());

        let named = parse(
            r#"{"repositories": {
                "local": {"type": "path", "url": "../packages/*"},
                "packagist.org": false
            }}"#,
        );
        assert_eq!(named.repositories[0].key.as_deref(), Some("local"));
        assert_eq!(named.repositories[0].kind(), Some("path"));
        assert_eq!(named.repositories[0].disables(), None);
        assert!(named.packagist_disabled());

        let old_name = parse(r#"{"repositories": {"packagist": false}}"#);
        assert!(old_name.packagist_disabled());
        let kept = parse(r#"{"repositories": [{"type": "vcs", "url": "git@x:y.git"}]}"#);
        assert!(!kept.packagist_disabled());
    }

    #[test]
    fn derives_stability_flags_like_composer() {
        let manifest = parse(
            r#"{
                "require": {
                    "A/Explicit": "^1.0@beta || ^2.0@alpha",
                    "b/inferred": "1.2.0-RC1",
                    "c/branch": "dev-main as 1.0.x-dev",
                    "d/stable": "^1.0",
                    "e/range": ">=1.0-beta <2.0"
                },
                "require-dev": {
                    "b/inferred": "1.2.0-beta1",
                    "a/explicit": "^1.0@RC"
                }
            }"#,
        );
        let flags = manifest.stability_flags();
        assert_eq!(
            flags.into_iter().collect::<Vec<_>>(),
            [
                ("a/explicit".to_owned(), Stability::Alpha),
                ("b/inferred".to_owned(), Stability::Beta),
                ("c/branch".to_owned(), Stability::Dev),
                // Composer reads the stability of `>=1.0-beta` as beta and infers a flag.
                ("e/range".to_owned(), Stability::Beta),
            ]
        );
    }

    #[test]
    fn an_inferred_flag_needs_a_stability_below_the_minimum() {
        let requires = IndexMap::from([("a/a".to_owned(), "1.0.0-beta1".to_owned())]);
        let mut flags = IndexMap::new();
        ComposerJson::extract_stability_flags(&requires, Stability::Dev, &mut flags);
        assert!(flags.is_empty());
        ComposerJson::extract_stability_flags(&requires, Stability::Stable, &mut flags);
        assert_eq!(flags.get("a/a"), Some(&Stability::Beta));
    }

    #[test]
    fn platform_php_is_read_only_when_it_is_a_version() {
        let disabled = parse(r#"{"config": {"platform": {"php": false}}}"#);
        assert_eq!(disabled.platform_php, None);
        assert_eq!(disabled.platform.get("php"), Some(&None));
        let other_package_only = parse(r#"{"config": {"platform": {"ext-intl": "1.0"}}}"#);
        assert_eq!(other_package_only.platform_php, None);
        let set = parse(r#"{"config": {"platform": {"php": "8.3"}}}"#);
        assert_eq!(set.platform_php.as_deref(), Some("8.3"));
    }

    #[test]
    fn an_empty_list_counts_as_no_requirements() {
        let manifest = parse(r#"{"require": [], "require-dev": null, "conflict": []}"#);
        assert!(manifest.require.is_empty());
        assert!(manifest.require_dev.is_empty());
        assert!(manifest.conflict.is_empty());
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        let error = parse_error("{\n  \"name\": \"a/b\"\n  \"require\": {}\n}");
        assert_eq!(error.to_string(), "composer.json:3:3: expected `,` or `}`");
    }

    #[test]
    fn wrong_types_report_line_and_column() {
        let error = parse_error("{\n  \"require\": {\"a/b\": 1}\n}");
        assert_eq!(
            error.to_string(),
            "composer.json:2:22: invalid type: integer `1`, expected a string"
        );
        // serde reads a struct from a list too, hence "length" rather than "type".
        let error = parse_error("[]");
        assert_eq!(
            error.to_string(),
            "composer.json:1:2: invalid length 0, expected a composer.json object"
        );
    }

    #[test]
    fn malformed_file_reports_its_path() {
        let path = fixture("broken-json/composer.json");
        let error = ComposerJson::from_path(&path).expect_err("the fixture is broken");
        let DocumentError::InvalidJson {
            path: Some(reported_path),
            line,
            column,
            ..
        } = &error
        else {
            panic!("expected a JSON error with a path, got {error:?}");
        };
        assert_eq!((reported_path, *line, *column), (&path, 5, 9));
        assert!(
            error
                .to_string()
                .starts_with(&format!("{}:5:9: ", path.display())),
            "{error}"
        );
    }

    #[test]
    fn missing_file_reports_its_path() {
        let path = fixture("no-such-project/composer.json");
        let error = ComposerJson::from_path(&path).expect_err("the file does not exist");
        assert_eq!(error.to_string(), format!("cannot read {}", path.display()));
        assert!(matches!(
            &error,
            DocumentError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound
        ));
    }
}
