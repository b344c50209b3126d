//! `security-advisory`: a locked package version with a known vulnerability, from a local
//! advisory database (the `FriendsOfPHP` `security-advisories` YAML tree or OSV JSON).

use std::collections::HashSet;

use crate::advisories::AdvisoryDatabase;
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
    use crate::rules::packages::test_support::{findings, notices, run_rules};

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
