//! `minimum-shop-version`: the project is older than the oldest supported Spryker release.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::OnceLock;

use upkeep_composer::{LockedPackage, Version};

use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink};
use crate::rules::packages::{composer_json, data_table, locked_packages};

pub struct MinimumShopVersion;

/// The table shipped with the tool; see the file for how to update it.
const BUILT_IN_TABLE: &str = include_str!("../../../data/minimum-versions.toml");

const FEATURE_VENDOR: &str = "spryker-feature/";

pub static META: RuleMeta = RuleMeta {
    name: "minimum-shop-version",
    spryker_ids: &["MINIMUM_ALLOWED_SHOP_VERSION"],
    category: Category::Packages,
    summary: "Feature packages older than product release 202204.0, deprecated features, and modules below the minimum-version table.",
    documentation: "\
## What it finds
Among the packages that `composer.json` requires directly (`require` and `require-dev`), as locked in
`composer.lock`:
- feature packages (`spryker-feature/*`) locked at a product release older than the oldest
  supported one (202204.0). Only packages versioned by release (`YYYYMM.x`, the release
  trains) are compared: feature packages with semantic versions of their own
  (`spryker-feature/self-service-portal` 15.0.0) are not releases, and `spryker-feature/ssp-*`
  and `spryker-feature/feature-ui` are skipped by name, as Spryker's checker does;
- deprecated feature packages, whatever their version;
- modules (`spryker/*`, `spryker-shop/*`) locked below the version that the oldest supported
  release ships, for projects that require modules instead of features.

Packages installed only as dependencies of others are not checked: they follow the feature or
module that requires them, which is. Packages locked at a named branch (`dev-master`) cannot be
compared with a release and are left to `spryker-dev-package`.

## Why it matters
Spryker's upgrader and its minor and patch updates start from a supported release. A project
below it first needs a major catch-up that no automated update can do, and every update until
then fails or is skipped.

## Example
```json
{
    \"packages\": [
        {\"name\": \"spryker-feature/agent-assist\", \"version\": \"202108.0\"},
        {\"name\": \"spryker/kernel\", \"version\": \"3.50.0\"}
    ]
}
```

## Instead
```json
{
    \"packages\": [
        {\"name\": \"spryker-feature/agent-assist\", \"version\": \"202204.0\"},
        {\"name\": \"spryker/kernel\", \"version\": \"3.68.0\"}
    ]
}
```

## Fix
Update the reported packages (`composer require spryker-feature/agent-assist:^202204.0`, or the
module to at least the version named in the finding), replace deprecated features as their
finding says, and run the upgrade guides between the two releases.

## Configuration
The release and the module table ship with the tool (`crates/upkeep-gate/data/minimum-versions.toml`,
generated from Spryker's demo shops at that release; the file says how to update it). A project
can use its own table in the same format instead:
```toml
[gate]
minimum-versions = \"upkeep/minimum-versions.toml\"
```

## Spryker id
`MINIMUM_ALLOWED_SHOP_VERSION`
",
    bad_example: Example {
        files: &[
            (
                "composer.json",
                "{\n    \"require\": {\n        \"spryker-feature/agent-assist\": \"^202108.0\"\n    }\n}\n",
            ),
            (
                "composer.lock",
                "{\n    \"packages\": [\n        {\"name\": \"spryker-feature/agent-assist\", \"version\": \"202108.0\"}\n    ]\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "composer.json",
                "{\n    \"require\": {\n        \"spryker-feature/agent-assist\": \"^202204.0\"\n    }\n}\n",
            ),
            (
                "composer.lock",
                "{\n    \"packages\": [\n        {\"name\": \"spryker-feature/agent-assist\", \"version\": \"202204.0\"}\n    ]\n}\n",
            ),
        ],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/minimum-allowed-shop-version.html",
    needs_core: false,
};

/// The table as written.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct TableFields {
    minimum_feature_release: String,
    #[serde(default)]
    deprecated_features: BTreeMap<String, String>,
    #[serde(default)]
    modules: BTreeMap<String, String>,
}

/// The minimum release, the deprecated features and the minimum module versions.
#[derive(Debug)]
struct MinimumVersions {
    feature_release: Version,
    deprecated_features: HashMap<String, String>,
    modules: HashMap<String, Version>,
}

impl MinimumVersions {
    fn parse(text: &str) -> Result<Self, String> {
        let fields: TableFields = toml::from_str(text).map_err(|error| error.to_string())?;
        let version = |key: &str, text: &str| {
            Version::parse(text).map_err(|error| format!("`{key}`: {error}"))
        };
        let modules = fields
            .modules
            .iter()
            .map(|(name, minimum)| Ok((name.to_ascii_lowercase(), version(name, minimum)?)))
            .collect::<Result<_, String>>()?;
        Ok(Self {
            feature_release: version("minimum-feature-release", &fields.minimum_feature_release)?,
            deprecated_features: fields
                .deprecated_features
                .into_iter()
                .map(|(name, reason)| (name.to_ascii_lowercase(), reason))
                .collect(),
            modules,
        })
    }

    fn built_in() -> &'static Self {
        static TABLE: OnceLock<MinimumVersions> = OnceLock::new();
        TABLE.get_or_init(|| {
            Self::parse(BUILT_IN_TABLE)
                .unwrap_or_else(|error| panic!("data/minimum-versions.toml: {error}"))
        })
    }

    fn read(path: &Path) -> Result<Self, String> {
        let text = fs_err::read_to_string(path).map_err(|error| error.to_string())?;
        Self::parse(&text).map_err(|error| format!("{}: {}", path.display(), error.trim_end()))
    }

    /// What is wrong with a locked package, if anything.
    fn problem(&self, package: &LockedPackage) -> Result<Option<String>, String> {
        let name = package.name.to_ascii_lowercase();
        let is_feature = name.starts_with(FEATURE_VENDOR);
        if is_feature && let Some(reason) = self.deprecated_features.get(&name) {
            return Ok(Some(format!(
                "feature package `{}` is deprecated: {reason}",
                package.name
            )));
        }
        let minimum = if is_feature {
            if !is_release_train(&name, &locked_version(package)?) {
                return Ok(None);
            }
            &self.feature_release
        } else if let Some(minimum) = self.modules.get(&name) {
            minimum
        } else {
            return Ok(None);
        };
        let locked = locked_version(package)?;
        // A named branch (`dev-master`) has no place among releases.
        if locked.major().is_none() || locked >= *minimum {
            return Ok(None);
        }
        let release = self.feature_release.pretty();
        Ok(Some(if is_feature {
            format!(
                "feature package `{}` is locked at release {}, older than {release}, the oldest supported product release; update it to ^{release} or later",
                package.name, package.version
            )
        } else {
            format!(
                "`{}` is locked at {}, below {}, the version that product release {release} (the oldest supported) ships; update it to ^{} or later",
                package.name,
                package.version,
                minimum.pretty(),
                minimum.pretty()
            )
        }))
    }
}

fn locked_version(package: &LockedPackage) -> Result<Version, String> {
    package.parse_version().map_err(|error| error.to_string())
}

/// True for a feature package versioned by product release (`202204.0`: `YYYYMM.x`), the
/// only ones the minimum release applies to. Newer feature packages are libraries with
/// their own semantic versions (`spryker-feature/self-service-portal` 15.0.0), and Spryker's
/// checker skips the `ssp-*` and `feature-ui` packages by name too. A branch (`dev-master`)
/// counts as a train here and is then left alone by the comparison.
fn is_release_train(name: &str, locked: &Version) -> bool {
    let short = name.strip_prefix(FEATURE_VENDOR).unwrap_or(name);
    if short.starts_with("ssp-") || short == "feature-ui" {
        return false;
    }
    locked.major().is_none_or(|major| {
        (200_000..1_000_000).contains(&major) && (1..=12).contains(&(major % 100))
    })
}

impl Rule for MinimumShopVersion {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let Some(table) = data_table(
            project.settings.minimum_versions.as_deref(),
            MinimumVersions::built_in,
            MinimumVersions::read,
            &META,
            "minimum-version table",
            sink,
        ) else {
            return;
        };
        let Some(manifest) = composer_json(project, &META, sink) else {
            return;
        };
        let Some((lock, locations)) = locked_packages(project, &META, sink) else {
            return;
        };
        let direct: std::collections::HashSet<String> = manifest
            .require
            .keys()
            .chain(manifest.require_dev.keys())
            .map(|name| name.to_ascii_lowercase())
            .collect();
        for package in lock.packages.iter().chain(&lock.packages_dev) {
            if !direct.contains(&package.name.to_ascii_lowercase()) {
                continue;
            }
            match table.problem(package) {
                Ok(None) => {}
                Ok(Some(message)) => sink.push(locations.finding(&META, &package.name, message)),
                Err(error) => sink.notice(
                    &META,
                    format!(
                        "composer.lock: the version of `{}` cannot be compared ({error}); it was not checked",
                        package.name
                    ),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::packages::test_support::{findings, notices, run_rules};

    fn locked(name: &str, version: &str) -> LockedPackage {
        LockedPackage {
            name: name.to_string(),
            version: version.to_string(),
            ..LockedPackage::default()
        }
    }

    #[test]
    fn the_shipped_table_reads() {
        let table = MinimumVersions::built_in();
        assert_eq!(table.feature_release.pretty(), "202204.0");
        assert!(table.modules.len() > 500, "{}", table.modules.len());
        assert!(table.modules.contains_key("spryker/kernel"));
        assert!(
            table
                .deprecated_features
                .keys()
                .all(|name| name.starts_with(FEATURE_VENDOR))
        );
    }

    #[test]
    fn feature_releases_compare_as_releases() {
        let table = MinimumVersions::built_in();
        let problem = |version| {
            table
                .problem(&locked("spryker-feature/cart", version))
                .unwrap()
        };
        assert!(problem("202108.0").is_some());
        assert!(problem("202108.0-p2").is_some());
        assert!(problem("202204.0").is_none());
        assert!(problem("202204.0-p1").is_none());
        assert!(problem("202212.0").is_none());
        assert!(problem("dev-master").is_none());
    }

    #[test]
    fn only_release_trains_are_compared_with_the_release() {
        let table = MinimumVersions::built_in();
        let problem = |name, version| table.problem(&locked(name, version)).unwrap();
        assert!(problem("spryker-feature/self-service-portal", "15.0.0").is_none());
        assert!(problem("spryker-feature/self-service-portal", "1.2.0").is_none());
        assert!(problem("spryker-feature/ssp-asset-management", "202108.0").is_none());
        // Not compared with the release; the shipped table lists it as deprecated, though.
        let feature_ui = problem("spryker-feature/feature-ui", "202108.0").unwrap();
        assert!(feature_ui.contains("is deprecated"), "{feature_ui}");
        assert!(problem("spryker-feature/agent-assist", "202108.0").is_some());
        // Not a month: 2021.13 is no release either.
        assert!(problem("spryker-feature/agent-assist", "202113.0").is_none());
    }

    #[test]
    fn modules_compare_with_the_table_and_unknown_packages_pass() {
        let table = MinimumVersions::parse(
            "minimum-feature-release = \"202204.0\"\n[modules]\n\"spryker/kernel\" = \"3.68.0\"\n",
        )
        .unwrap();
        let problem = |name, version| table.problem(&locked(name, version)).unwrap();
        assert!(problem("spryker/kernel", "3.67.9").is_some());
        assert!(problem("spryker/kernel", "3.68.0").is_none());
        assert!(problem("spryker/kernel", "3.x-dev").is_none());
        assert!(problem("spryker/kernel", "2.99.0").is_some());
        assert!(problem("spryker/other", "0.1.0").is_none());
        assert!(table.problem(&locked("spryker/kernel", "garbage")).is_err());
    }

    #[test]
    fn bad_tables_name_the_key() {
        let error = MinimumVersions::parse(
            "minimum-feature-release = \"202204.0\"\n[modules]\n\"spryker/kernel\" = \"three\"\n",
        )
        .unwrap_err();
        assert!(error.starts_with("`spryker/kernel`: "), "{error}");
    }

    #[test]
    fn only_direct_requirements_are_checked() {
        let report = run_rules(
            &["minimum-shop-version"],
            &[
                (
                    "composer.json",
                    "{\"require\": {\"spryker/kernel\": \"^3.0\"}, \"require-dev\": {\"spryker-feature/feature-ui\": \"*\"}}",
                ),
                (
                    "composer.lock",
                    "{\"packages\": [\n{\"name\": \"spryker/kernel\", \"version\": \"3.50.0\"},\n{\"name\": \"spryker/product\", \"version\": \"1.0.0\"}\n],\n\"packages-dev\": [\n{\"name\": \"spryker-feature/feature-ui\", \"version\": \"0.1.3\"}\n]}",
                ),
            ],
        );
        assert_eq!(
            findings(&report),
            [
                "minimum-shop-version composer.lock:2: `spryker/kernel` is locked at 3.50.0, below 3.68.0, the version that product release 202204.0 (the oldest supported) ships; update it to ^3.68.0 or later",
                "minimum-shop-version composer.lock:6: feature package `spryker-feature/feature-ui` is deprecated: abandoned by Spryker; the module is not continued",
            ]
        );
    }

    #[test]
    fn a_missing_lock_is_a_notice() {
        let report = run_rules(
            &["minimum-shop-version"],
            &[("composer.json", "{\"require\": {}}")],
        );
        assert!(report.findings.is_empty());
        assert_eq!(notices(&report, "minimum-shop-version").len(), 1);
    }
}
