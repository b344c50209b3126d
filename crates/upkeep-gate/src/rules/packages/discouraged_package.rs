//! `discouraged-package`: an installed package that Spryker projects should not use.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink};
use crate::rules::packages::{data_table, locked_packages};

pub struct DiscouragedPackage;

/// The list shipped with the tool; see the file for how to update it.
const BUILT_IN_LIST: &str = include_str!("../../../data/discouraged-packages.toml");

pub static META: RuleMeta = RuleMeta {
    name: "discouraged-package",
    spryker_ids: &["DISCOURAGED_PACKAGES_CHECKER"],
    category: Category::Packages,
    summary: "An installed (locked) package is on the discouraged list: abandoned, obsolete or replaced.",
    documentation: "\
## What it finds
Packages in `composer.lock` (`packages` and `packages-dev`) that are on the discouraged list: Composer
plugins made obsolete by Composer 2, abandoned libraries with a maintained successor (Zend
Framework, Swift Mailer, Faker, …) and Spryker modules that Spryker abandoned in favour of
another module. The finding names the reason and, when there is one, the replacement.

Only installed packages count: a package that is required but not locked (not installed) is not
reported, nor is its replacement.

## Why it matters
An abandoned package gets no security fixes and no support for new PHP versions; sooner or later
it blocks an upgrade. An abandoned Spryker module no longer receives the changes its replacement
gets, so the project drifts away from what the upgrader expects.

## Example
```json
{
    \"packages\": [
        {\"name\": \"sllh/composer-versions-check\", \"version\": \"v2.0.4\"}
    ]
}
```

## Instead
```json
{
    \"packages\": [
        {\"name\": \"symfony/mailer\", \"version\": \"v6.4.8\"}
    ]
}
```

## Fix
Remove the package (`composer remove <package>`), moving its uses to the replacement named in the
finding.

## Configuration
The list ships with the tool (`crates/upkeep-gate/data/discouraged-packages.toml`: one table per
package or `vendor/*`, with `reason` and an optional `replacement`). A project can use its own
list instead:
```toml
[gate]
discouraged-packages = \"upkeep/discouraged-packages.toml\"
```

## Spryker id
`DISCOURAGED_PACKAGES_CHECKER`
",
    bad_example: Example {
        files: &[(
            "composer.lock",
            "{\n    \"packages\": [\n        {\"name\": \"sllh/composer-versions-check\", \"version\": \"v2.0.4\"}\n    ]\n}\n",
        )],
    },
    good_example: Example {
        files: &[(
            "composer.lock",
            "{\n    \"packages\": [\n        {\"name\": \"symfony/mailer\", \"version\": \"v6.4.8\"}\n    ]\n}\n",
        )],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/discouraged-packages-checker.html",
    needs_core: false,
};

/// The discouraged-package list: package names (or `vendor/*`) to why and what instead.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscouragedList {
    #[serde(default)]
    packages: BTreeMap<String, Discouraged>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Discouraged {
    reason: String,
    replacement: Option<String>,
}

impl DiscouragedList {
    fn parse(text: &str) -> Result<Self, String> {
        let mut list: Self = toml::from_str(text).map_err(|error| error.to_string())?;
        list.packages = std::mem::take(&mut list.packages)
            .into_iter()
            .map(|(name, entry)| (name.to_ascii_lowercase(), entry))
            .collect();
        Ok(list)
    }

    fn built_in() -> &'static Self {
        static LIST: OnceLock<DiscouragedList> = OnceLock::new();
        LIST.get_or_init(|| {
            Self::parse(BUILT_IN_LIST)
                .unwrap_or_else(|error| panic!("data/discouraged-packages.toml: {error}"))
        })
    }

    fn read(path: &Path) -> Result<Self, String> {
        let text = fs_err::read_to_string(path).map_err(|error| error.to_string())?;
        Self::parse(&text).map_err(|error| format!("{}: {}", path.display(), error.trim_end()))
    }

    /// The entry for a package: its own, else its vendor's (`vendor/*`).
    fn get(&self, package: &str) -> Option<&Discouraged> {
        let package = package.to_ascii_lowercase();
        self.packages.get(&package).or_else(|| {
            let (vendor, _) = package.split_once('/')?;
            self.packages.get(&format!("{vendor}/*"))
        })
    }
}

impl Rule for DiscouragedPackage {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let Some(list) = data_table(
            project.settings.discouraged_packages.as_deref(),
            DiscouragedList::built_in,
            DiscouragedList::read,
            &META,
            "discouraged-package list",
            sink,
        ) else {
            return;
        };
        let Some((lock, locations)) = locked_packages(project, &META, sink) else {
            return;
        };
        for package in lock.packages.iter().chain(&lock.packages_dev) {
            let Some(entry) = list.get(&package.name) else {
                continue;
            };
            let instead = entry
                .replacement
                .as_ref()
                .map(|replacement| format!("; use {replacement} instead"))
                .unwrap_or_default();
            sink.push(locations.finding(
                &META,
                &package.name,
                format!(
                    "`{}` ({}) is discouraged: {}{instead}",
                    package.name, package.version, entry.reason
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::packages::test_support::{findings, notices, run_rules};

    #[test]
    fn the_shipped_list_reads_and_every_entry_has_a_reason() {
        let list = DiscouragedList::built_in();
        assert!(list.packages.len() >= 30, "{}", list.packages.len());
        for (name, entry) in &list.packages {
            assert!(name.contains('/'), "{name}");
            assert!(!entry.reason.is_empty(), "{name}");
        }
    }

    #[test]
    fn vendor_entries_cover_every_package_of_the_vendor() {
        let list = DiscouragedList::built_in();
        assert!(list.get("zendframework/zend-diactoros").is_some());
        assert!(list.get("Zendframework/Zend-Stdlib").is_some());
        assert!(list.get("laminas/laminas-diactoros").is_none());
    }

    #[test]
    fn reports_dev_packages_with_reason_and_replacement() {
        let report = run_rules(
            &["discouraged-package"],
            &[(
                "composer.lock",
                "{\n\"packages\": [],\n\"packages-dev\": [\n  {\"name\": \"fzaninotto/faker\", \"version\": \"v1.9.2\"}\n]}\n",
            )],
        );
        assert_eq!(
            findings(&report),
            [
                "discouraged-package composer.lock:4: `fzaninotto/faker` (v1.9.2) is discouraged: abandoned in 2020; use fakerphp/faker instead"
            ]
        );
    }

    #[test]
    fn a_custom_list_replaces_the_shipped_one() {
        let report = run_rules(
            &["discouraged-package"],
            &[
                (
                    "upkeep.toml",
                    "[gate]\ndiscouraged-packages = \"ours.toml\"\n",
                ),
                (
                    "ours.toml",
                    "[packages.\"acme/legacy\"]\nreason = \"we are moving off it\"\n",
                ),
                (
                    "composer.lock",
                    "{\"packages\": [{\"name\": \"acme/legacy\", \"version\": \"1.0.0\"}, {\"name\": \"fzaninotto/faker\", \"version\": \"v1.9.2\"}]}",
                ),
            ],
        );
        assert_eq!(
            findings(&report),
            [
                "discouraged-package composer.lock:1: `acme/legacy` (1.0.0) is discouraged: we are moving off it"
            ]
        );
    }

    #[test]
    fn a_broken_custom_list_is_a_notice() {
        let report = run_rules(
            &["discouraged-package"],
            &[
                (
                    "upkeep.toml",
                    "[gate]\ndiscouraged-packages = \"ours.toml\"\n",
                ),
                ("ours.toml", "[packages.\"acme/legacy\"]\nwhy = 1\n"),
                ("composer.lock", "{\"packages\": []}"),
            ],
        );
        assert!(report.findings.is_empty());
        let notices = notices(&report, "discouraged-package");
        assert_eq!(notices.len(), 1);
        assert!(notices[0].contains("ours.toml"), "{notices:?}");
    }
}
