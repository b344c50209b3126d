//! The parts of `composer.lock` that Upkeep reads.

use std::path::Path;
use std::str::FromStr;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::document::{DocumentError, package_map, parse_json, read_file};
use crate::manifest::{platform_versions, stability_name, stable};
use crate::version::{Stability, Version, VersionError};

const DOCUMENT: &str = "composer.lock";

/// The installed packages of a project, as Composer locked them, and the root package's settings
/// that Composer recorded with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposerLock {
    pub packages: Vec<LockedPackage>,
    pub packages_dev: Vec<LockedPackage>,
    /// Platform requirements (`php`, `ext-*`) of the root package: name to constraint string.
    pub platform: IndexMap<String, String>,
    /// `platform-dev`: the platform requirements of `require-dev`.
    pub platform_dev: IndexMap<String, String>,
    /// `aliases`: the root package's inline aliases (`dev-main as 1.0.x-dev`).
    pub aliases: Vec<LockedAlias>,
    /// `minimum-stability` when the lock was written; `stable` when absent.
    pub minimum_stability: Stability,
    /// `stability-flags`: package to flag (Composer writes them as the numbers 0 to 20).
    pub stability_flags: IndexMap<String, Stability>,
    pub prefer_stable: bool,
    pub prefer_lowest: bool,
    /// `platform-overrides`: `config.platform` when the lock was written; `None` for `false`.
    pub platform_overrides: IndexMap<String, Option<String>>,
    /// `content-hash`: Composer's hash of the relevant parts of `composer.json`.
    pub content_hash: Option<String>,
}

/// One entry of `packages` or `packages-dev`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockedPackage {
    pub name: String,
    /// The version as written, e.g. `v5.4.1` or `dev-master`.
    pub version: String,
    pub version_normalized: Option<String>,
    /// The `type` key, e.g. `library` or `composer-plugin`.
    pub package_type: Option<String>,
    /// The commit of the package's source, if Composer recorded one.
    pub source_reference: Option<String>,
    /// Where the package's sources come from (`git` and its URL).
    pub source: Option<LockedSource>,
    /// The archive Composer installs from (`zip`, `tar`, `path`).
    pub dist: Option<LockedDist>,
    pub require: IndexMap<String, String>,
    pub require_dev: IndexMap<String, String>,
    pub conflict: IndexMap<String, String>,
    pub replace: IndexMap<String, String>,
    pub provide: IndexMap<String, String>,
    /// The release time as Composer wrote it.
    pub time: Option<String>,
    /// `extra`, e.g. with `branch-alias`.
    pub extra: Option<serde_json::Value>,
}

/// `source` of a locked package.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct LockedSource {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub url: String,
    pub reference: Option<String>,
}

/// `dist` of a locked package.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct LockedDist {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub url: String,
    pub reference: Option<String>,
    pub shasum: Option<String>,
}

/// One entry of `aliases`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LockedAlias {
    pub package: String,
    /// The normalised version that is aliased, e.g. `dev-main`.
    pub version: String,
    /// The alias as written, e.g. `1.0.x-dev`.
    pub alias: String,
    pub alias_normalized: String,
}

impl LockedPackage {
    pub fn parse_version(&self) -> Result<Version, VersionError> {
        Version::parse(&self.version)
    }
}

#[derive(Deserialize)]
#[serde(expecting = "a composer.lock object")]
struct LockFields {
    #[serde(default)]
    packages: Vec<LockedPackageFields>,
    /// Composer 1 wrote `null` here after `install --no-dev`.
    #[serde(default, rename = "packages-dev")]
    packages_dev: Option<Vec<LockedPackageFields>>,
    #[serde(default, deserialize_with = "package_map")]
    platform: IndexMap<String, String>,
    #[serde(default, rename = "platform-dev", deserialize_with = "package_map")]
    platform_dev: IndexMap<String, String>,
    #[serde(default)]
    aliases: Vec<LockedAlias>,
    #[serde(
        default = "stable",
        rename = "minimum-stability",
        deserialize_with = "stability_name"
    )]
    minimum_stability: Stability,
    #[serde(
        default,
        rename = "stability-flags",
        deserialize_with = "stability_flags"
    )]
    stability_flags: IndexMap<String, Stability>,
    #[serde(default, rename = "prefer-stable")]
    prefer_stable: bool,
    #[serde(default, rename = "prefer-lowest")]
    prefer_lowest: bool,
    #[serde(default, rename = "platform-overrides")]
    platform_overrides: Option<serde_json::Value>,
    #[serde(default, rename = "content-hash")]
    content_hash: Option<String>,
}

/// `stability-flags`: Composer's numbers (`BasePackage::STABILITY_*`), `[]` when empty.
fn stability_flags<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<IndexMap<String, Stability>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flags {
        Map(IndexMap<String, u8>),
        Empty(Vec<serde::de::IgnoredAny>),
    }
    let numbers = match Option::<Flags>::deserialize(deserializer)? {
        Some(Flags::Map(numbers)) => numbers,
        Some(Flags::Empty(items)) if items.is_empty() => return Ok(IndexMap::new()),
        Some(Flags::Empty(_)) => {
            return Err(serde::de::Error::custom(
                "expected an object of package names to stability numbers",
            ));
        }
        None => return Ok(IndexMap::new()),
    };
    numbers
        .into_iter()
        .map(|(name, number)| {
            let stability = match number {
                0 => Stability::Stable,
                5 => Stability::ReleaseCandidate,
                10 => Stability::Beta,
                15 => Stability::Alpha,
                20 => Stability::Dev,
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "unknown stability number {other} for {name}: expected 0, 5, 10, 15 or 20"
                    )));
                }
            };
            Ok((name, stability))
        })
        .collect()
}

#[derive(Deserialize)]
struct LockedPackageFields {
    name: String,
    version: String,
    version_normalized: Option<String>,
    #[serde(rename = "type")]
    package_type: Option<String>,
    source: Option<LockedSource>,
    dist: Option<LockedDist>,
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
    time: Option<String>,
    extra: Option<serde_json::Value>,
}

impl From<LockedPackageFields> for LockedPackage {
    fn from(fields: LockedPackageFields) -> Self {
        Self {
            name: fields.name,
            version: fields.version,
            version_normalized: fields.version_normalized,
            package_type: fields.package_type,
            source_reference: fields
                .source
                .as_ref()
                .and_then(|source| source.reference.clone()),
            source: fields.source,
            dist: fields.dist,
            require: fields.require,
            require_dev: fields.require_dev,
            conflict: fields.conflict,
            replace: fields.replace,
            provide: fields.provide,
            time: fields.time,
            extra: fields.extra,
        }
    }
}

impl ComposerLock {
    pub fn from_path(path: &Path) -> Result<Self, DocumentError> {
        Self::parse(&read_file(path)?, Some(path))
    }

    fn parse(text: &str, path: Option<&Path>) -> Result<Self, DocumentError> {
        let fields: LockFields = parse_json(text, DOCUMENT, path)?;
        Ok(Self {
            packages: fields
                .packages
                .into_iter()
                .map(LockedPackage::from)
                .collect(),
            packages_dev: fields
                .packages_dev
                .unwrap_or_default()
                .into_iter()
                .map(LockedPackage::from)
                .collect(),
            platform: fields.platform,
            platform_dev: fields.platform_dev,
            aliases: fields.aliases,
            minimum_stability: fields.minimum_stability,
            stability_flags: fields.stability_flags,
            prefer_stable: fields.prefer_stable,
            prefer_lowest: fields.prefer_lowest,
            platform_overrides: match fields.platform_overrides {
                Some(serde_json::Value::Object(entries)) => platform_versions(entries),
                _ => IndexMap::new(),
            },
            content_hash: fields.content_hash,
        })
    }
}

impl FromStr for ComposerLock {
    type Err = DocumentError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_lock() -> ComposerLock {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spryker-shop/composer.lock");
        ComposerLock::from_path(&path).unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn reads_locked_packages() {
        let lock = fixture_lock();
        assert_eq!(
            lock.packages[0],
            LockedPackage {
                name: "spryker/kernel".to_owned(),
                version: "3.76.1".to_owned(),
                version_normalized: Some("3.76.1.0".to_owned()),
                package_type: Some("library".to_owned()),
                source_reference: Some("4f9c1f0a4e5b7d3c2a1b0e9d8c7b6a5f4e3d2c1b".to_owned()),
                source: Some(LockedSource {
                    kind: "git".to_owned(),
                    url: "https://github.com/spryker/kernel.git".to_owned(),
                    reference: Some("4f9c1f0a4e5b7d3c2a1b0e9d8c7b6a5f4e3d2c1b".to_owned()),
                }),
                ..LockedPackage::default()
            }
        );
        assert_eq!(
            lock.stability_flags.get("spryker/zed-ui"),
            Some(&Stability::Beta)
        );
        assert!(lock.prefer_stable);
        assert_eq!(lock.minimum_stability, Stability::Stable);
        let polyfill = &lock.packages[1];
        assert_eq!(polyfill.version, "v1.31.0");
        assert_eq!(polyfill.source_reference, None);
        let sniffer = &lock.packages_dev[0];
        assert_eq!(sniffer.name, "spryker/code-sniffer");
        assert_eq!(sniffer.source_reference, None);
        assert_eq!(
            sniffer.package_type.as_deref(),
            Some("phpcodesniffer-standard")
        );
        assert_eq!(
            lock.platform.iter().collect::<Vec<_>>(),
            [
                (&"php".to_owned(), &">=8.2".to_owned()),
                (&"ext-json".to_owned(), &"*".to_owned())
            ]
        );
    }

    #[test]
    fn reads_what_the_upgrader_needs() {
        let lock: ComposerLock = r#"{
            "content-hash": "abc",
            "packages": [{
                "name": "acme/lib",
                "version": "dev-main",
                "version_normalized": "dev-main",
                "source": {"type": "git", "url": "https://example.test/lib.git", "reference": "f00"},
                "dist": {"type": "zip", "url": "https://example.test/lib.zip", "reference": "f00", "shasum": ""},
                "require": {"php": ">=8.1", "psr/log": "^3.0"},
                "require-dev": {"phpunit/phpunit": "^10"},
                "conflict": {"acme/old": "*"},
                "replace": {"acme/lib-legacy": "self.version"},
                "provide": {"psr/log-implementation": "3.0"},
                "type": "library",
                "time": "2024-05-01T10:00:00+00:00",
                "extra": {"branch-alias": {"dev-main": "2.x-dev"}}
            }],
            "packages-dev": [],
            "aliases": [{"package": "acme/lib", "version": "dev-main", "alias": "2.1.x-dev", "alias_normalized": "2.1.9999999.9999999-dev"}],
            "minimum-stability": "dev",
            "stability-flags": {"acme/lib": 20, "acme/rc": 5},
            "prefer-stable": true,
            "prefer-lowest": false,
            "platform": {"php": "^8.2"},
            "platform-dev": [],
            "platform-overrides": {"php": "8.2.12", "ext-grpc": false}
        }"#
        .parse()
        .unwrap_or_else(|error| panic!("{error}"));
        let package = &lock.packages[0];
        assert_eq!(
            package.dist.as_ref().map(|dist| dist.kind.as_str()),
            Some("zip")
        );
        assert_eq!(
            package
                .dist
                .as_ref()
                .and_then(|dist| dist.shasum.as_deref()),
            Some("")
        );
        assert_eq!(package.source_reference.as_deref(), Some("f00"));
        assert_eq!(package.require["psr/log"], "^3.0");
        assert_eq!(package.require_dev["phpunit/phpunit"], "^10");
        assert_eq!(package.conflict["acme/old"], "*");
        assert_eq!(package.replace["acme/lib-legacy"], "self.version");
        assert_eq!(package.provide["psr/log-implementation"], "3.0");
        assert_eq!(package.time.as_deref(), Some("2024-05-01T10:00:00+00:00"));
        assert_eq!(
            package
                .extra
                .as_ref()
                .and_then(|extra| extra.pointer("/branch-alias/dev-main")),
            Some(&serde_json::json!("2.x-dev"))
        );
        assert_eq!(
            lock.aliases,
            [LockedAlias {
                package: "acme/lib".to_owned(),
                version: "dev-main".to_owned(),
                alias: "2.1.x-dev".to_owned(),
                alias_normalized: "2.1.9999999.9999999-dev".to_owned(),
            }]
        );
        assert_eq!(lock.minimum_stability, Stability::Dev);
        assert_eq!(
            lock.stability_flags.into_iter().collect::<Vec<_>>(),
            [
                ("acme/lib".to_owned(), Stability::Dev),
                ("acme/rc".to_owned(), Stability::ReleaseCandidate)
            ]
        );
        assert!(lock.prefer_stable && !lock.prefer_lowest);
        assert!(lock.platform_dev.is_empty());
        assert_eq!(
            lock.platform_overrides.into_iter().collect::<Vec<_>>(),
            [
                ("php".to_owned(), Some("8.2.12".to_owned())),
                ("ext-grpc".to_owned(), None)
            ]
        );
        assert_eq!(lock.content_hash.as_deref(), Some("abc"));
    }

    #[test]
    fn an_unknown_stability_number_is_an_error() {
        let error = r#"{"stability-flags": {"a/a": 7}}"#
            .parse::<ComposerLock>()
            .expect_err("7 is not a stability");
        assert_eq!(
            error.to_string(),
            "composer.lock:1:31: unknown stability number 7 for a/a: expected 0, 5, 10, 15 or 20"
        );
        let empty: ComposerLock = r#"{"stability-flags": []}"#
            .parse()
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(empty.stability_flags.is_empty());
    }

    #[test]
    fn parses_locked_versions() {
        let lock = fixture_lock();
        let polyfill = lock.packages[1]
            .parse_version()
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(polyfill.to_string(), "1.31.0.0");
        assert_eq!(
            Some(polyfill.normalized()),
            lock.packages[1].version_normalized.as_deref()
        );
        let sniffer = lock.packages_dev[0]
            .parse_version()
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(sniffer.is_dev_branch());
    }

    #[test]
    fn empty_platform_list_and_null_dev_packages_are_empty() {
        let lock: ComposerLock = r#"{"packages": [], "packages-dev": null, "platform": []}"#
            .parse()
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(lock.packages.is_empty());
        assert!(lock.packages_dev.is_empty());
        assert!(lock.platform.is_empty());
    }

    #[test]
    fn a_non_empty_platform_list_is_an_error() {
        let error = r#"{"platform": ["php"]}"#
            .parse::<ComposerLock>()
            .expect_err("platform must be a map");
        assert_eq!(
            error.to_string(),
            "composer.lock:1:20: invalid type: sequence, expected an object of package names to version constraints"
        );
    }

    #[test]
    fn missing_version_reports_line_and_column() {
        let text = "{\n  \"packages\": [\n    {\"name\": \"spryker/kernel\"}\n  ]\n}";
        let error = text
            .parse::<ComposerLock>()
            .expect_err("a locked package needs a version");
        assert_eq!(
            error.to_string(),
            "composer.lock:3:30: missing field `version`"
        );
    }
}
