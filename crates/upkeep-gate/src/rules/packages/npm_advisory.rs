//! `npm-advisory`: npm packages with known vulnerabilities, as `npm audit` reports them.

use serde_json::Value;

use crate::finding::{Finding, Location};
use crate::manifests::ManifestFile;
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink};
use crate::rules::packages::json_position::JsonPositions;
use crate::settings::NpmAuditLevel;

pub struct NpmAdvisory;

/// The notice of a run without an audit: how to turn the rule on.
pub(crate) const OPT_IN_NOTICE: &str = "npm packages were not audited: the audit is opt-in, as it asks the npm registry (run `upkeep gate --npm-audit`, or give a saved `npm audit --json` with `--npm-audit-report FILE` or `npm-audit-report` in upkeep.toml)";

pub static META: RuleMeta = RuleMeta {
    name: "npm-advisory",
    spryker_ids: &["NPM_CHECKER"],
    category: Category::Packages,
    summary: "npm packages in package-lock.json with advisories of severity high or above (`npm audit`).",
    documentation: "\
## What it finds
Packages of `package-lock.json` that `npm audit` reports with an advisory of at least the
configured severity (default `high`, so `high` and `critical`). The finding points at the
package's entry in `package-lock.json` and names the version, the severity, the advisory title,
its link and the vulnerable range.

The audit is **opt-in**, because `npm audit` asks the npm registry over the network: by
default the rule checks nothing and leaves a note saying how to turn it on (when the project
has a `package.json` or `package-lock.json`). Turn it on with one of:
- `upkeep gate --npm-audit`: runs `npm audit --json --package-lock-only` in the project root
  once, before the rules (npm's own configuration applies: `.npmrc`, `npm_config_*` variables,
  the registry);
- `upkeep gate --npm-audit-report FILE`, or `npm-audit-report` in `upkeep.toml`: reads a saved
  `npm audit --json` report, e.g. from the CI's Node stage (offline runs).

A package is reported for the advisories against it; a package that is only affected through a
vulnerable dependency is not reported again (its dependency is). Without `package-lock.json` the
rule leaves a notice; when npm fails (no network, bad answer) the notice carries what npm said.

## Why it matters
The frontend of a shop ships these packages to every customer's browser or runs them in the
build; a known vulnerability there is as real as one in PHP code, and Spryker's upgrader refuses
to proceed while the audit fails.

## Example
```json
{
    \"packages\": {
        \"node_modules/loader-utils\": {\"version\": \"2.0.0\"}
    }
}
```
(`npm audit`: critical, Prototype pollution in webpack loader-utils, fixed in 2.0.3)

## Instead
```json
{
    \"packages\": {
        \"node_modules/loader-utils\": {\"version\": \"2.0.4\"}
    }
}
```

## Fix
Run `npm audit fix` (or update the named package, or the package that depends on it, with
`npm update <package>`), and commit the new `package-lock.json`.

## Configuration
```toml
[gate]
npm-audit-level = \"high\"             # low | moderate | high | critical
npm-audit-report = \"npm-audit.json\"  # a saved `npm audit --json`: turns the rule on
```
On the command line: `--npm-audit` (run npm) or `--npm-audit-report FILE`. Without either the
rule does not run npm and reports nothing.

## Spryker id
`NPM_CHECKER`
",
    bad_example: Example {
        files: &[
            (
                "package-lock.json",
                "{\n  \"name\": \"shop\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\"name\": \"shop\"},\n    \"node_modules/loader-utils\": {\"version\": \"2.0.0\"}\n  }\n}\n",
            ),
            (
                "upkeep.toml",
                "[gate]\nnpm-audit-report = \"npm-audit.json\"\n",
            ),
            (
                "npm-audit.json",
                "{\"auditReportVersion\": 2, \"vulnerabilities\": {\"loader-utils\": {\"name\": \"loader-utils\", \"severity\": \"critical\", \"via\": [{\"source\": 1094088, \"name\": \"loader-utils\", \"title\": \"Prototype pollution in webpack loader-utils\", \"url\": \"https://github.com/advisories/GHSA-76p3-8jx3-jpfq\", \"severity\": \"critical\", \"range\": \">=2.0.0 <2.0.3\"}], \"nodes\": [\"node_modules/loader-utils\"]}}}",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "package-lock.json",
                "{\n  \"name\": \"shop\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\"name\": \"shop\"},\n    \"node_modules/loader-utils\": {\"version\": \"2.0.4\"}\n  }\n}\n",
            ),
            (
                "upkeep.toml",
                "[gate]\nnpm-audit-report = \"npm-audit.json\"\n",
            ),
            (
                "npm-audit.json",
                "{\"auditReportVersion\": 2, \"vulnerabilities\": {}}",
            ),
        ],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/npm-checker.html",
    needs_core: false,
};

impl Rule for NpmAdvisory {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let Some(audit) = &project.inputs.npm_audit else {
            if project.manifests.package_lock.is_some() || project.manifests.package_json.is_some()
            {
                sink.notice(&META, OPT_IN_NOTICE);
            }
            return;
        };
        let Some(lock_file) = project.manifests.package_lock.as_ref() else {
            let hint = if project.manifests.package_json.is_some() {
                " (run `npm install` and commit package-lock.json)"
            } else {
                ""
            };
            sink.notice(
                &META,
                format!(
                    "no package-lock.json at the project root: npm packages were not audited{hint}"
                ),
            );
            return;
        };
        let lock = match project.manifests.package_lock() {
            Some(Ok(lock)) => Some(lock),
            Some(Err(error)) => {
                project.manifests.report_unreadable(&META, error, sink);
                return;
            }
            None => None,
        };
        let vulnerabilities = match audit {
            Ok(audit) => audit.vulnerabilities(),
            Err(error) => {
                sink.notice(&META, format!("{error}; npm packages were not audited"));
                return;
            }
        };
        let level = project.settings.npm_audit_level;
        let positions = std::cell::OnceCell::new();
        for (name, vulnerability) in vulnerabilities {
            let advisories = advisories_at_level(vulnerability, level);
            if advisories.is_empty() {
                continue;
            }
            let node = vulnerability
                .get("nodes")
                .and_then(Value::as_array)
                .and_then(|nodes| nodes.first())
                .and_then(Value::as_str)
                .map_or_else(|| format!("node_modules/{name}"), str::to_string);
            let positions = positions.get_or_init(|| JsonPositions::of(&lock_file.text));
            let (location, version) = locate(lock_file, positions, lock, &node);
            let version = version
                .map(|version| format!(" {version}"))
                .unwrap_or_default();
            for advisory in advisories {
                sink.push(Finding::new(
                    &META,
                    location.clone(),
                    format!(
                        "npm package `{name}`{version}: [{}] {} ({}); vulnerable versions {}; run `npm audit fix` or update `{name}`",
                        advisory.severity, advisory.title, advisory.url, advisory.range
                    ),
                ));
            }
        }
    }
}

/// An advisory against a package, from the `via` list of its vulnerability.
struct NpmAdvisoryEntry<'a> {
    severity: &'a str,
    title: &'a str,
    url: &'a str,
    range: &'a str,
}

/// The advisories of a vulnerability at or above `level`; `via` entries that are strings name
/// another vulnerable package, which is reported on its own.
fn advisories_at_level(vulnerability: &Value, level: NpmAuditLevel) -> Vec<NpmAdvisoryEntry<'_>> {
    let mut seen = std::collections::HashSet::new();
    vulnerability
        .get("via")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|via| {
            let severity = via.get("severity")?.as_str()?;
            let rank = severity_level(severity)?;
            if rank < level {
                return None;
            }
            let text = |key: &str| via.get(key).and_then(Value::as_str).unwrap_or("?");
            let entry = NpmAdvisoryEntry {
                severity,
                title: text("title"),
                url: text("url"),
                range: text("range"),
            };
            seen.insert((entry.url, entry.range)).then_some(entry)
        })
        .collect()
}

/// npm's severities as levels; `info` is below every level.
fn severity_level(severity: &str) -> Option<NpmAuditLevel> {
    match severity.to_ascii_lowercase().as_str() {
        "low" => Some(NpmAuditLevel::Low),
        "moderate" => Some(NpmAuditLevel::Moderate),
        "high" => Some(NpmAuditLevel::High),
        "critical" => Some(NpmAuditLevel::Critical),
        _ => None,
    }
}

/// Where a node (`node_modules/a/node_modules/b`) is in package-lock.json, and its version:
/// the `packages` entry of lockfile v2 and v3, or the nested `dependencies` of v1.
fn locate(
    file: &ManifestFile,
    positions: &JsonPositions<'_>,
    lock: Option<&Value>,
    node: &str,
) -> (Location, Option<String>) {
    let v1_path: Vec<&str> = node
        .split("node_modules/")
        .map(|part| part.trim_end_matches('/'))
        .filter(|part| !part.is_empty())
        .flat_map(|name| ["dependencies", name])
        .collect();
    let version_at = |path: &[&str]| {
        let mut value = lock?;
        for key in path {
            value = value.get(key)?;
        }
        value.get("version")?.as_str().map(str::to_string)
    };
    if let Some(member) = positions.member(&["packages", node]) {
        return (file.location(member.key), version_at(&["packages", node]));
    }
    if let Some(member) = positions.member(&v1_path) {
        return (file.location(member.key), version_at(&v1_path));
    }
    (Location::whole_file(&file.path), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::packages::test_support::{findings, notices, run_rules};

    const LOCK_V3: &str = "{\n  \"name\": \"shop\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\"name\": \"shop\"},\n    \"node_modules/a\": {\"version\": \"1.0.0\"},\n    \"node_modules/a/node_modules/b\": {\"version\": \"2.0.0\"},\n    \"node_modules/c\": {\"version\": \"3.0.0\"}\n  }\n}\n";

    fn report_with(vulnerabilities: &str) -> String {
        format!("{{\"auditReportVersion\": 2, \"vulnerabilities\": {vulnerabilities}}}")
    }

    const VULNERABILITIES: &str = r#"{
        "a": {"name": "a", "severity": "high", "via": ["b"], "nodes": ["node_modules/a"]},
        "b": {"name": "b", "severity": "high", "via": [
            {"source": 1, "title": "B is bad", "url": "https://example.com/1", "severity": "high", "range": "<2.1.0"},
            {"source": 2, "title": "B is a bit bad", "url": "https://example.com/2", "severity": "low", "range": "<3.0.0"}
        ], "nodes": ["node_modules/a/node_modules/b"]},
        "c": {"name": "c", "severity": "moderate", "via": [
            {"source": 3, "title": "C is meh", "url": "https://example.com/3", "severity": "moderate", "range": "<4.0.0"}
        ], "nodes": ["node_modules/c"]}
    }"#;

    #[test]
    fn reports_advisories_at_the_level_where_the_package_is_locked() {
        let audit = report_with(VULNERABILITIES);
        let report = run_rules(
            &["npm-advisory"],
            &[
                ("package-lock.json", LOCK_V3),
                ("upkeep.toml", "[gate]\nnpm-audit-report = \"audit.json\"\n"),
                ("audit.json", &audit),
            ],
        );
        assert_eq!(
            findings(&report),
            [
                "npm-advisory package-lock.json:7: npm package `b` 2.0.0: [high] B is bad (https://example.com/1); vulnerable versions <2.1.0; run `npm audit fix` or update `b`"
            ]
        );
        let moderate = run_rules(
            &["npm-advisory"],
            &[
                ("package-lock.json", LOCK_V3),
                (
                    "upkeep.toml",
                    "[gate]\nnpm-audit-report = \"audit.json\"\nnpm-audit-level = \"moderate\"\n",
                ),
                ("audit.json", &audit),
            ],
        );
        let lines: Vec<String> = findings(&moderate)
            .iter()
            .map(|finding| finding.split(": npm package").next().unwrap().to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "npm-advisory package-lock.json:7",
                "npm-advisory package-lock.json:8"
            ]
        );
    }

    #[test]
    fn finds_nodes_of_v1_lock_files() {
        let lock = "{\n  \"lockfileVersion\": 1,\n  \"dependencies\": {\n    \"a\": {\n      \"version\": \"1.0.0\",\n      \"dependencies\": {\n        \"b\": {\"version\": \"2.0.0\"}\n      }\n    }\n  }\n}\n";
        let audit = report_with(VULNERABILITIES);
        let report = run_rules(
            &["npm-advisory"],
            &[
                ("package-lock.json", lock),
                ("upkeep.toml", "[gate]\nnpm-audit-report = \"audit.json\"\n"),
                ("audit.json", &audit),
            ],
        );
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].location.start.line, 7);
        assert!(
            report.findings[0]
                .message
                .starts_with("npm package `b` 2.0.0:")
        );
    }

    #[test]
    fn without_an_audit_the_rule_only_says_how_to_turn_it_on() {
        let report = run_rules(
            &["npm-advisory"],
            &[("package.json", "{}"), ("package-lock.json", LOCK_V3)],
        );
        assert_eq!(report.findings, []);
        assert_eq!(notices(&report, "npm-advisory"), [OPT_IN_NOTICE]);
        // A project without npm files hears nothing about npm.
        let php_only = run_rules(&["npm-advisory"], &[("composer.json", "{}")]);
        assert_eq!(notices(&php_only, "npm-advisory"), Vec::<String>::new());
    }

    #[test]
    fn missing_lock_and_unreadable_reports_are_notices() {
        let report = run_rules(
            &["npm-advisory"],
            &[
                ("package.json", "{}"),
                ("upkeep.toml", "[gate]\nnpm-audit-report = \"audit.json\"\n"),
                ("audit.json", &report_with("{}")),
            ],
        );
        assert_eq!(
            notices(&report, "npm-advisory"),
            [
                "no package-lock.json at the project root: npm packages were not audited (run `npm install` and commit package-lock.json)"
            ]
        );
        let npm6 = run_rules(
            &["npm-advisory"],
            &[
                ("package-lock.json", LOCK_V3),
                ("upkeep.toml", "[gate]\nnpm-audit-report = \"audit.json\"\n"),
                ("audit.json", "{\"advisories\": {}}"),
            ],
        );
        assert!(npm6.findings.is_empty());
        assert!(notices(&npm6, "npm-advisory")[0].contains("npm 6 format"));
    }
}
