//! The parts of `composer.lock` that Upkeep reads.

use std::path::Path;
use std::str::FromStr;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::document::{DocumentError, package_map, parse_json, read_file};
use crate::version::{Version, VersionError};

const DOCUMENT: &str = "composer.lock";

/// The installed packages of a project, as Composer locked them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposerLock {
    pub packages: Vec<LockedPackage>,
    pub packages_dev: Vec<LockedPackage>,
    /// Platform requirements (`php`, `ext-*`) of the root package: name to constraint string.
    pub platform: IndexMap<String, String>,
}

/// One entry of `packages` or `packages-dev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    pub name: String,
    /// The version as written, e.g. `v5.4.1` or `dev-master`.
    pub version: String,
    pub version_normalized: Option<String>,
    /// The `type` key, e.g. `library` or `composer-plugin`.
    pub package_type: Option<String>,
    /// The commit of the package's source, if Composer recorded one.
    pub source_reference: Option<String>,
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
}

#[derive(Deserialize)]
struct LockedPackageFields {
    name: String,
    version: String,
    version_normalized: Option<String>,
    #[serde(rename = "type")]
    package_type: Option<String>,
    source: Option<SourceFields>,
}

#[derive(Deserialize)]
struct SourceFields {
    reference: Option<String>,
}

impl From<LockedPackageFields> for LockedPackage {
    fn from(fields: LockedPackageFields) -> Self {
        Self {
            name: fields.name,
            version: fields.version,
            version_normalized: fields.version_normalized,
            package_type: fields.package_type,
            source_reference: fields.source.and_then(|source| source.reference),
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
            }
        );
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
