//! `npm-advisory`: npm packages with known vulnerabilities, as `npm audit` reports them.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::finding::{Finding, Location};
use crate::manifests::ManifestFile;
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink};
use crate::rules::packages::json_position;
use crate::settings::NpmAuditLevel;

pub struct NpmAdvisory;

/// How long `npm audit` may take before the gate gives up on it.
const NPM_TIMEOUT: Duration = Duration::from_mins(3);

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

The gate runs `npm audit --json --package-lock-only` in the project root, so npm's own
configuration (`.npmrc`, `npm_config_*` variables, the registry) applies. A package is reported
for the advisories against it; a package that is only affected through a vulnerable dependency is
not reported again (its dependency is). Without `package-lock.json`, or without `npm` on the
`PATH`, the rule leaves a notice; when npm fails (no network, bad answer) the notice carries
what npm said.

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
npm-audit-report = \"npm-audit.json\"  # read a saved `npm audit --json` instead of running npm
```

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
        let Some(report) = audit_report(project, sink) else {
            return;
        };
        let Some(vulnerabilities) = vulnerabilities(&report, sink) else {
            return;
        };
        let level = project.settings.npm_audit_level;
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
            let (location, version) = locate(lock_file, lock, &node);
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

/// The audit report: a saved one from the settings, or what `npm audit` prints.
fn audit_report(project: &ProjectScope<'_>, sink: &mut Sink) -> Option<Value> {
    if let Some(path) = &project.settings.npm_audit_report {
        let text = match fs_err::read(path) {
            Ok(text) => text,
            Err(error) => {
                sink.notice(
                    &META,
                    format!("cannot read the saved npm audit report: {error}; npm packages were not audited"),
                );
                return None;
            }
        };
        return match serde_json::from_slice(&text) {
            Ok(report) => Some(report),
            Err(error) => {
                sink.notice(
                    &META,
                    format!(
                        "the saved npm audit report {} is not JSON ({error}); npm packages were not audited",
                        path.display()
                    ),
                );
                None
            }
        };
    }
    let output = match run_npm_audit(project.root) {
        Ok(output) => output,
        Err(NpmFailure::NotInstalled) => {
            sink.notice(
                &META,
                "`npm` is not on the PATH: npm packages were not audited (install Node.js and npm, or set `npm-audit-report`)",
            );
            return None;
        }
        Err(NpmFailure::Other(message)) => {
            sink.notice(&META, format!("{message}; npm packages were not audited"));
            return None;
        }
    };
    // npm exits with 1 when it finds vulnerabilities, so the exit code says little: the JSON
    // on stdout is the answer, and an `error` object in it is a failure.
    match serde_json::from_slice::<Value>(&output.stdout) {
        Ok(report) => {
            if let Some(error) = report.get("error") {
                // npm fills different fields for different failures, some of them empty.
                let summary = [
                    error.get("summary"),
                    error.get("detail"),
                    report.get("message"),
                    error.get("code"),
                ]
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::trim)
                .find(|text| !text.is_empty())
                .unwrap_or("unknown error");
                sink.notice(
                    &META,
                    format!(
                        "`npm audit` failed: {summary}{}; npm packages were not audited",
                        stderr_tail(&output.stderr)
                    ),
                );
                return None;
            }
            Some(report)
        }
        Err(error) => {
            sink.notice(
                &META,
                format!(
                    "`npm audit` did not print a JSON report ({error}, exit status {}){}; npm packages were not audited",
                    output.status,
                    stderr_tail(&output.stderr)
                ),
            );
            None
        }
    }
}

/// The `vulnerabilities` map of an npm 7+ report.
fn vulnerabilities<'a>(
    report: &'a Value,
    sink: &mut Sink,
) -> Option<&'a serde_json::Map<String, Value>> {
    if let Some(vulnerabilities) = report.get("vulnerabilities").and_then(Value::as_object) {
        return Some(vulnerabilities);
    }
    let why = if report.get("advisories").is_some() {
        "it is in the npm 6 format; use npm 7 or later"
    } else {
        "it has no `vulnerabilities`"
    };
    sink.notice(
        &META,
        format!("cannot read the npm audit report: {why}; npm packages were not audited"),
    );
    None
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
fn locate(file: &ManifestFile, lock: Option<&Value>, node: &str) -> (Location, Option<String>) {
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
    if let Some(member) = json_position::find_member(&file.text, &["packages", node]) {
        return (file.location(member.key), version_at(&["packages", node]));
    }
    if let Some(member) = json_position::find_member(&file.text, &v1_path) {
        return (file.location(member.key), version_at(&v1_path));
    }
    (Location::whole_file(&file.path), None)
}

enum NpmFailure {
    NotInstalled,
    Other(String),
}

/// Runs `npm audit --json --package-lock-only` in `root`, with a time limit.
fn run_npm_audit(root: &std::path::Path) -> Result<std::process::Output, NpmFailure> {
    let program = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let mut child = Command::new(program)
        .args(["audit", "--json", "--package-lock-only"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                NpmFailure::NotInstalled
            } else {
                NpmFailure::Other(format!("cannot run `npm audit`: {error}"))
            }
        })?;
    // Both pipes are drained while npm runs, so that a large report cannot block it.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > NPM_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(NpmFailure::Other(format!(
                    "`npm audit` did not finish within {} seconds and was stopped",
                    NPM_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => {
                return Err(NpmFailure::Other(format!(
                    "waiting for `npm audit` failed: {error}"
                )));
            }
        }
    };
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// The end of npm's stderr for a notice, without npm's config warnings.
fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("npm warn"))
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(5)..];
    format!(" (npm said: {})", tail.join(" / "))
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
    fn missing_lock_and_unreadable_reports_are_notices() {
        let report = run_rules(&["npm-advisory"], &[("package.json", "{}")]);
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

    #[test]
    fn stderr_tails_leave_out_config_warnings() {
        assert_eq!(
            stderr_tail(b"npm warn Unknown user config \"nodedir\".\nnpm error code ENOTFOUND\nnpm error network down\n"),
            " (npm said: npm error code ENOTFOUND / npm error network down)"
        );
        assert_eq!(stderr_tail(b"npm warn x\n"), "");
    }
}
