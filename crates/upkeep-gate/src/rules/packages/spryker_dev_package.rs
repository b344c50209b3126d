//! `spryker-dev-package`: a Spryker package required at a development branch.

use std::cell::OnceCell;

use upkeep_composer::Version;

use crate::finding::{Finding, Location};
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink};
use crate::rules::packages::{composer_json, is_spryker_package, json_position};

pub struct SprykerDevPackage;

pub static META: RuleMeta = RuleMeta {
    name: "spryker-dev-package",
    spryker_ids: &["SPRYKER_DEV_PACKAGES_CHECKER"],
    category: Category::Packages,
    summary: "A Spryker package in composer.json `require` constrained to a development branch (`dev-*`).",
    documentation: "\
## What it finds
Packages of the Spryker vendors (`spryker/*`, `spryker-shop/*`, `spryker-feature/*`,
`spryker-eco/*`, any vendor starting with `spryker`) in the `require` section of `composer.json`
whose constraint pins a branch:
- `dev-<branch>`, also with a commit (`dev-master#a1b2c3`) or an alias (`dev-master as 3.4.0`);
- a numbered branch such as `3.4.x-dev` or `3.x-dev`, which Spryker's checker misses;
- an alternative of the above (`^3.4.0 || dev-master`): Composer prefers the branch.

`require-dev` is not checked (development tools may follow branches), nor are stability flags
such as `^3.4.0@dev`, which still resolve to releases.

## Why it matters
A branch moves. Spryker's upgrader and `composer update` resolve releases; a branch pin keeps the
module wherever the branch happens to be, blocks updates of everything that depends on it, and
can change code under the project without a version change.

## Example
```json
{
    \"require\": {
        \"spryker/asset\": \"dev-master\",
        \"spryker/asset-storage\": \"dev-feature/fix as 1.2.0\"
    }
}
```

## Instead
```json
{
    \"require\": {
        \"spryker/asset\": \"^1.4.0\",
        \"spryker/asset-storage\": \"^1.2.0\"
    }
}
```

## Fix
Require a released version (the alias, when there is one, names the release the branch stood in
for), then run `composer update <package>`.

## Configuration
None.

## Spryker id
`SPRYKER_DEV_PACKAGES_CHECKER`
",
    bad_example: Example {
        files: &[(
            "composer.json",
            "{\n    \"require\": {\n        \"spryker/asset\": \"dev-master\"\n    }\n}\n",
        )],
    },
    good_example: Example {
        files: &[(
            "composer.json",
            "{\n    \"require\": {\n        \"spryker/asset\": \"^1.4.0\"\n    },\n    \"require-dev\": {\n        \"spryker/code-sniffer\": \"dev-master\"\n    }\n}\n",
        )],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/spryker-dev-packages-checker.html",
    needs_core: false,
};

impl Rule for SprykerDevPackage {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let Some(manifest) = composer_json(project, &META, sink) else {
            return;
        };
        let Some(file) = project.manifests.composer_json.as_ref() else {
            return;
        };
        let positions = OnceCell::new();
        for (package, constraint) in &manifest.require {
            if !is_spryker_package(package) {
                continue;
            }
            let Some(branch) = branch_pins(constraint).into_iter().next() else {
                continue;
            };
            let location = positions
                .get_or_init(|| json_position::JsonPositions::of(&file.text))
                .member(&["require", package])
                .map_or_else(
                    || Location::whole_file(&file.path),
                    |member| file.location(member.whole()),
                );
            let suggestion = alias_of(constraint).map_or_else(
                || "a released version (e.g. `^1.2.0`)".to_string(),
                |alias| format!("the released version the alias names (`^{alias}`)"),
            );
            sink.push(Finding::new(
                &META,
                location,
                format!(
                    "Spryker package `{package}` is required as \"{constraint}\", the development branch `{branch}`; require {suggestion} instead"
                ),
            ));
        }
    }
}

/// The branches a constraint pins, one per alternative that names a branch.
fn branch_pins(constraint: &str) -> Vec<&str> {
    constraint
        .split("||")
        .flat_map(|alternative| alternative.split('|'))
        .filter_map(|alternative| {
            // `dev-master as 1.0.0`: the branch is what gets installed, the alias what it claims.
            let branch = alternative.split(" as ").next().unwrap_or_default().trim();
            let branch = branch.trim_start_matches(['=', ' ']);
            let branch = branch.split(['#', '@']).next().unwrap_or_default();
            Version::parse(branch)
                .is_ok_and(|version| version.is_dev_branch())
                .then_some(branch)
        })
        .collect()
}

/// The alias of `<branch> as <alias>`, if it is a released version.
fn alias_of(constraint: &str) -> Option<&str> {
    let (_, alias) = constraint.split_once(" as ")?;
    let alias = alias.split("||").next().unwrap_or_default().trim();
    Version::parse(alias)
        .is_ok_and(|version| !version.is_dev_branch())
        .then_some(alias)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::packages::test_support::{findings, notices, run_rules};

    #[test]
    fn branch_pins_per_alternative() {
        assert_eq!(branch_pins("dev-master"), ["dev-master"]);
        assert_eq!(branch_pins("dev-feature/x as 1.2.0"), ["dev-feature/x"]);
        assert_eq!(branch_pins("dev-master#a1b2c3"), ["dev-master"]);
        assert_eq!(branch_pins("3.4.x-dev"), ["3.4.x-dev"]);
        assert_eq!(branch_pins("^3.4.0 || dev-master"), ["dev-master"]);
        assert_eq!(branch_pins("==dev-main"), ["dev-main"]);
        for released in [
            "^3.4.0",
            "^3.4.0@dev",
            "3.4.0-dev",
            ">=3.0 <4.0",
            "*",
            "dev",
        ] {
            assert!(branch_pins(released).is_empty(), "{released}");
        }
    }

    #[test]
    fn aliases_suggest_their_release() {
        assert_eq!(alias_of("dev-master as 3.4.0"), Some("3.4.0"));
        assert_eq!(alias_of("dev-master as 3.4.x-dev"), None);
        assert_eq!(alias_of("dev-master"), None);
    }

    #[test]
    fn reports_require_not_require_dev_with_the_same_key() {
        let report = run_rules(
            &["spryker-dev-package"],
            &[(
                "composer.json",
                "{\n  \"require-dev\": {\"spryker/kernel\": \"dev-master\"},\n  \"require\": {\n    \"spryker/kernel\": \"dev-master as 3.80.0\"\n  }\n}\n",
            )],
        );
        assert_eq!(
            findings(&report),
            [
                "spryker-dev-package composer.json:4: Spryker package `spryker/kernel` is required as \"dev-master as 3.80.0\", the development branch `dev-master`; require the released version the alias names (`^3.80.0`) instead"
            ]
        );
        let finding = &report.findings[0];
        assert_eq!(finding.location.start.column, 5);
    }

    #[test]
    fn a_missing_composer_json_is_a_notice() {
        let report = run_rules(&["spryker-dev-package"], &[("README.md", "shop")]);
        assert!(report.findings.is_empty());
        assert_eq!(
            notices(&report, "spryker-dev-package"),
            ["no composer.json at the project root: nothing to check"]
        );
    }

    #[test]
    fn a_malformed_composer_json_is_a_parse_error_when_that_rule_runs() {
        let files = [(
            "composer.json",
            "{\n  \"require\": {\n    \"spryker/kernel\": \"dev-master\"\n  \n",
        )];
        let report = run_rules(&["spryker-dev-package", "parse-error"], &files);
        assert_eq!(
            findings(&report),
            ["parse-error composer.json:5: invalid JSON: EOF while parsing an object"]
        );
        assert_eq!(notices(&report, "spryker-dev-package").len(), 1);
        let alone = run_rules(&["spryker-dev-package"], &files);
        assert!(alone.findings.is_empty());
        assert!(
            notices(&alone, "spryker-dev-package")[0].starts_with(
                "composer.json:5:1 cannot be read (invalid JSON: EOF while parsing an object)"
            ),
            "{:?}",
            alone.notices
        );
    }
}
