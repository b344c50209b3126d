//! The parts of `composer.json` that Upkeep reads.

use std::path::Path;
use std::str::FromStr;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::document::{DocumentError, package_map, parse_json, read_file};

const DOCUMENT: &str = "composer.json";

/// A project's `composer.json`: the requirements in the order they are written, and the whole
/// document for everything else.
#[derive(Debug, Clone, PartialEq)]
pub struct ComposerJson {
    pub name: Option<String>,
    /// Package name to constraint string, as written.
    pub require: IndexMap<String, String>,
    pub require_dev: IndexMap<String, String>,
    /// `config.platform.php`: the PHP version Composer resolves for instead of the running one.
    pub platform_php: Option<String>,
    /// The document as read.
    pub raw: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(expecting = "a composer.json object")]
struct ManifestFields {
    name: Option<String>,
    #[serde(default, deserialize_with = "package_map")]
    require: IndexMap<String, String>,
    #[serde(default, rename = "require-dev", deserialize_with = "package_map")]
    require_dev: IndexMap<String, String>,
    #[serde(default)]
    config: ConfigFields,
}

#[derive(Deserialize, Default)]
struct ConfigFields {
    /// Values are versions, or `false` to hide a package from the platform.
    #[serde(default)]
    platform: IndexMap<String, serde_json::Value>,
}

impl ComposerJson {
    pub fn from_path(path: &Path) -> Result<Self, DocumentError> {
        Self::parse(&read_file(path)?, Some(path))
    }

    fn parse(text: &str, path: Option<&Path>) -> Result<Self, DocumentError> {
        // The typed pass comes first so that a wrong type is reported with its line and column.
        let fields: ManifestFields = parse_json(text, DOCUMENT, path)?;
        let raw = parse_json(text, DOCUMENT, path)?;
        let platform_php = fields
            .config
            .platform
            .get("php")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        Ok(Self {
            name: fields.name,
            require: fields.require,
            require_dev: fields.require_dev,
            platform_php,
            raw,
        })
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
        assert_eq!(manifest.platform_php, None);
        assert_eq!(manifest.raw, serde_json::json!({}));
    }

    #[test]
    fn platform_php_is_read_only_when_it_is_a_version() {
        let disabled = parse(r#"{"config": {"platform": {"php": false}}}"#);
        assert_eq!(disabled.platform_php, None);
        let other_package_only = parse(r#"{"config": {"platform": {"ext-intl": "1.0"}}}"#);
        assert_eq!(other_package_only.platform_php, None);
        let set = parse(r#"{"config": {"platform": {"php": "8.3"}}}"#);
        assert_eq!(set.platform_php.as_deref(), Some("8.3"));
    }

    #[test]
    fn an_empty_list_counts_as_no_requirements() {
        let manifest = parse(r#"{"require": [], "require-dev": null}"#);
        assert!(manifest.require.is_empty());
        assert!(manifest.require_dev.is_empty());
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
