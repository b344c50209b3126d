//! `discouraged-package`: an installed package that Spryker projects should not use.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;

use upkeep_composer::LockedPackage;

use crate::finding::{Finding, Severity};
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

A package that `composer.json` requires (`require` or `require-dev`) is the project's choice
and an error. A package that only comes in as a dependency of others (a **transitive** one) is
a **warning**: the finding names the locked packages that require it and the packages of
`composer.json` they come from (\"`doctrine/cache` ... composer.json does not require it:
`spryker/cache` pulls it in, which `spryker-feature/spryker-core` requires\"), since it goes
when they drop it. Without a readable `composer.json`, every package counts as required.

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
        // Without a readable composer.json nothing tells direct from transitive: every
        // package is then treated as the project's own choice.
        let direct: Option<HashSet<String>> = match project.manifests.composer_json() {
            Some(Ok(manifest)) => Some(
                manifest
                    .require
                    .keys()
                    .chain(manifest.require_dev.keys())
                    .map(|name| name.to_ascii_lowercase())
                    .collect(),
            ),
            _ => None,
        };
        let graph = RequireGraph::of(lock.packages.iter().chain(&lock.packages_dev));
        for package in lock.packages.iter().chain(&lock.packages_dev) {
            let Some(entry) = list.get(&package.name) else {
                continue;
            };
            let instead = entry
                .replacement
                .as_ref()
                .map(|replacement| format!("; use {replacement} instead"))
                .unwrap_or_default();
            let message = format!(
                "`{}` ({}) is discouraged: {}{instead}",
                package.name, package.version, entry.reason
            );
            let name = package.name.to_ascii_lowercase();
            let requirers = graph.requirers(&name);
            let is_direct = direct
                .as_ref()
                .is_none_or(|direct| direct.contains(&name) || requirers.is_empty());
            let finding = locations.finding(&META, &package.name, message);
            if is_direct {
                sink.push(finding);
                continue;
            }
            let roots = direct
                .as_ref()
                .map(|direct| graph.direct_roots(&name, direct))
                .unwrap_or_default();
            let through = if roots.is_empty() || roots == requirers {
                String::new()
            } else {
                format!(", which {} requires", quoted_list(&roots))
            };
            let message = format!(
                "{}. composer.json does not require it: {} pulls it in{through}, so this is a warning; it goes when they drop it (update them), or replace the package that needs it",
                finding.message,
                quoted_list(&requirers)
            );
            sink.push(Finding {
                severity: Severity::Warning,
                message,
                ..finding
            });
        }
    }
}

/// `` `a` `` / `` `a` and `b` `` / `` `a`, `b` and `c` ``.
fn quoted_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// Who requires whom among the locked packages (names lower-cased).
struct RequireGraph {
    /// package -> the locked packages whose `require` names it, sorted.
    requirers: HashMap<String, BTreeSet<String>>,
}

impl RequireGraph {
    fn of<'a>(packages: impl Iterator<Item = &'a LockedPackage>) -> Self {
        let mut requirers: HashMap<String, BTreeSet<String>> = HashMap::new();
        for package in packages {
            for required in package.require.keys() {
                requirers
                    .entry(required.to_ascii_lowercase())
                    .or_default()
                    .insert(package.name.to_ascii_lowercase());
            }
        }
        Self { requirers }
    }

    fn requirers(&self, package: &str) -> Vec<String> {
        self.requirers
            .get(package)
            .map(|requirers| requirers.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The packages composer.json requires that pull `package` in, walking the requirers up
    /// (each package once, so cycles end).
    fn direct_roots(&self, package: &str, direct: &HashSet<String>) -> Vec<String> {
        let mut roots = BTreeSet::new();
        let mut seen = HashSet::from([package.to_string()]);
        let mut queue = vec![package.to_string()];
        while let Some(current) = queue.pop() {
            for requirer in self.requirers.get(&current).into_iter().flatten() {
                if !seen.insert(requirer.clone()) {
                    continue;
                }
                if direct.contains(requirer) {
                    roots.insert(requirer.clone());
                } else {
                    queue.push(requirer.clone());
                }
            }
        }
        roots.into_iter().collect()
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
    fn transitive_packages_are_warnings_naming_who_pulls_them_in() {
        let report = run_rules(
            &["discouraged-package"],
            &[
                (
                    "composer.json",
                    "{\"require\": {\"spryker-feature/spryker-core\": \"^202410.0\", \"swiftmailer/swiftmailer\": \"^6.3\"}}",
                ),
                (
                    "composer.lock",
                    "{\"packages\": [\n{\"name\": \"doctrine/cache\", \"version\": \"1.13.0\"},\n{\"name\": \"spryker-feature/spryker-core\", \"version\": \"202410.0\", \"require\": {\"spryker/cache\": \"^3.4\"}},\n{\"name\": \"spryker/cache\", \"version\": \"3.4.0\", \"require\": {\"doctrine/cache\": \"^1.10\", \"swiftmailer/swiftmailer\": \"^6.0\"}},\n{\"name\": \"swiftmailer/swiftmailer\", \"version\": \"v6.3.0\"}\n]}",
                ),
            ],
        );
        let seen: Vec<(u32, Severity)> = report
            .findings
            .iter()
            .map(|finding| (finding.location.start.line, finding.severity))
            .collect();
        assert_eq!(seen, [(2, Severity::Warning), (5, Severity::Error)]);
        assert_eq!(
            report.findings[0].message,
            "`doctrine/cache` (1.13.0) is discouraged: abandoned by Doctrine; use symfony/cache (PSR-6) instead. composer.json does not require it: `spryker/cache` pulls it in, which `spryker-feature/spryker-core` requires, so this is a warning; it goes when they drop it (update them), or replace the package that needs it"
        );
        // Required directly, though a core package requires it too: the project's own choice.
        assert!(
            report.findings[1]
                .message
                .starts_with("`swiftmailer/swiftmailer` (v6.3.0) is discouraged: "),
            "{}",
            report.findings[1].message
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
