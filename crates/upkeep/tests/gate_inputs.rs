//! `upkeep gate` gathers what the gate is given before the run: deploy files read with their
//! imports (the pipeline's reader), the host PHP (`--php-version`, `PROJECT_PHP_VERSION`) and
//! the npm audit, which is opt-in (`--npm-audit`, `--npm-audit-report FILE`). No rule starts a
//! program: without these inputs neither `npm` nor `php` is run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn upkeep() -> Command {
    let mut command = Command::cargo_bin("upkeep").unwrap();
    command
        .env("NO_COLOR", "1")
        .env_remove("PROJECT_PHP_VERSION")
        .arg("gate")
        .arg("--no-cache");
    command
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A throwaway project with the given files.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    dir
}

/// The JSON report of `upkeep gate PATH --format json ARGS` and the exit code.
fn json_report(command: &mut Command, path: &Path, args: &[&str]) -> (serde_json::Value, i32) {
    let output = command
        .arg(path)
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not JSON ({error}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (report, output.status.code().unwrap_or(-1))
}

/// `file:line severity message` of every finding.
fn findings(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            format!(
                "{}:{} {} {}",
                finding["file"].as_str().unwrap(),
                finding["line"],
                finding["severity"].as_str().unwrap(),
                finding["message"].as_str().unwrap()
            )
        })
        .collect()
}

fn notices(report: &serde_json::Value, rule: &str) -> Vec<String> {
    report["notices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|notice| notice["rule"] == rule)
        .map(|notice| notice["message"].as_str().unwrap().to_string())
        .collect()
}

const PLATFORM_8_3: (&str, &str) = (
    "composer.json",
    "{\n  \"require\": {\"php\": \">=8.2\"},\n  \"config\": {\"platform\": {\"php\": \"8.3.13\"}}\n}\n",
);

#[test]
fn an_image_newer_than_the_platform_minor_passes() {
    let dir = project(&[
        PLATFORM_8_3,
        (
            "deploy.yml",
            "version: '0.1'\nnamespace: shop\nimage:\n    tag: spryker/php:8.4\n",
        ),
    ]);
    let (report, code) = json_report(&mut upkeep(), dir.path(), &["--rules", "php-version"]);
    assert_eq!(findings(&report), Vec::<String>::new());
    assert_eq!(notices(&report, "php-version"), Vec::<String>::new());
    assert_eq!(code, 0);
}

#[test]
fn an_image_set_in_an_imported_template_is_seen() {
    let dir = project(&[
        PLATFORM_8_3,
        (
            "config/deploy-templates/php.deploy.yml",
            "image:\n    tag: spryker/php:7.4\n",
        ),
        (
            "deploy.yml",
            "version: '0.1'\nnamespace: shop\nimports:\n    php.deploy.yml:\n",
        ),
    ]);
    let (report, code) = json_report(&mut upkeep(), dir.path(), &["--rules", "php-version"]);
    assert_eq!(
        findings(&report),
        [
            "config/deploy-templates/php.deploy.yml:2 error deploy.yml uses PHP 7.4, which is not allowed: Spryker supports PHP 8 only"
        ]
    );
    assert_eq!(report["findings"][0]["column"], 10);
    assert_eq!(code, 1);
}

#[test]
fn one_finding_per_distinct_version_not_per_deploy_file() {
    let deploy = |namespace: &str| {
        format!("version: '0.1'\nnamespace: {namespace}\nimports:\n    base.deploy.yml:\n")
    };
    let (prod, eu, us) = (deploy("prod"), deploy("eu"), deploy("us"));
    let dir = project(&[
        PLATFORM_8_3,
        (
            "config/deploy-templates/base.deploy.yml",
            "image:\n    tag: spryker/php:8.2-alpine3.20\n",
        ),
        ("deploy.prod.yml", &prod),
        ("deploy.eu.yml", &eu),
        ("deploy.us.yml", &us),
        (
            "deploy.ci.yml",
            "version: '0.1'\nnamespace: ci\nimage: spryker/php:8.2\n",
        ),
        (
            "deploy.dev.yml",
            "version: '0.1'\nnamespace: dev\nimage: spryker/php:8.4\n",
        ),
    ]);
    let (report, code) = json_report(&mut upkeep(), dir.path(), &["--rules", "php-version"]);
    assert_eq!(
        findings(&report),
        [
            "deploy.ci.yml:3 warning deploy.ci.yml, deploy.eu.yml, deploy.prod.yml and deploy.us.yml use PHP 8.2, older than PHP 8.3.13 of composer.json config.platform.php: packages resolved for PHP 8.3 may need what PHP 8.2 lacks; run PHP 8.3 or newer"
        ]
    );
    // A lower minor warns; it does not fail the gate.
    assert_eq!(code, 0);
}

#[test]
fn the_host_php_comes_from_the_flag_then_the_environment() {
    let dir = project(&[PLATFORM_8_3]);
    let older = "composer.json:3 warning the host PHP uses PHP 8.2.1, older than PHP 8.3.13 of composer.json config.platform.php: packages resolved for PHP 8.3 may need what PHP 8.2 lacks; run PHP 8.3 or newer";
    let (report, _) = json_report(
        &mut upkeep(),
        dir.path(),
        &["--rules", "php-version", "--php-version", "8.2.1"],
    );
    assert_eq!(findings(&report), [older]);
    let (report, _) = json_report(
        upkeep().env("PROJECT_PHP_VERSION", "8.2.1"),
        dir.path(),
        &["--rules", "php-version"],
    );
    assert_eq!(findings(&report), [older]);
    let (report, _) = json_report(
        upkeep().env("PROJECT_PHP_VERSION", "8.2.1"),
        dir.path(),
        &["--rules", "php-version", "--php-version", "8.4.0"],
    );
    assert_eq!(findings(&report), Vec::<String>::new());
}

/// A directory for `PATH` with fake `npm` and `php` programs that record each start in `log`
/// and print `npm_output`.
#[cfg(unix)]
fn fake_programs(log: &Path, npm_output: &Path) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    for (name, script) in [
        (
            "npm",
            format!(
                "#!/bin/sh\necho \"npm $*\" >> '{}'\n/bin/cat '{}'\nexit 1\n",
                log.display(),
                npm_output.display()
            ),
        ),
        (
            "php",
            format!(
                "#!/bin/sh\necho \"php $*\" >> '{}'\necho 7.4.0\n",
                log.display()
            ),
        ),
    ] {
        let path = bin.path().join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

const PACKAGE_LOCK: &str = "{\n  \"name\": \"shop\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\"name\": \"shop\"},\n    \"node_modules/left-pad\": {\"version\": \"1.3.0\"}\n  }\n}\n";

const AUDIT: &str = r#"{"auditReportVersion": 2, "vulnerabilities": {"left-pad": {"name": "left-pad", "severity": "high", "via": [{"source": 1, "title": "Padding overflow", "url": "https://example.com/1", "severity": "high", "range": "<2.0.0"}], "nodes": ["node_modules/left-pad"]}}}"#;

const LEFT_PAD: &str = "package-lock.json:6 error npm package `left-pad` 1.3.0: [high] Padding overflow (https://example.com/1); vulnerable versions <2.0.0; run `npm audit fix` or update `left-pad`";

#[cfg(unix)]
#[test]
fn without_npm_input_neither_npm_nor_php_is_started() {
    let dir = project(&[
        PLATFORM_8_3,
        ("package.json", "{\"name\": \"shop\"}"),
        ("package-lock.json", PACKAGE_LOCK),
        ("audit.json", AUDIT),
    ]);
    let log = dir.path().join("started.log");
    let bin = fake_programs(&log, &dir.path().join("audit.json"));
    let (report, code) = json_report(
        upkeep().env("PATH", bin.path()),
        dir.path(),
        &["--rules", "npm-advisory,php-version"],
    );
    assert!(
        !log.exists(),
        "started: {}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert_eq!(findings(&report), Vec::<String>::new());
    assert_eq!(code, 0);
    // The one word about npm is how to turn the audit on: nothing about npm's absence, its
    // failures or its log files.
    assert_eq!(
        notices(&report, "npm-advisory"),
        [
            "npm packages were not audited: the audit is opt-in, as it asks the npm registry (run `upkeep gate --npm-audit`, or give a saved `npm audit --json` with `--npm-audit-report FILE` or `npm-audit-report` in upkeep.toml)"
        ]
    );
    assert_eq!(notices(&report, "php-version"), Vec::<String>::new());

    // With PATH holding no npm at all, the same.
    let empty = tempfile::tempdir().unwrap();
    let (report, _) = json_report(
        upkeep().env("PATH", empty.path()),
        dir.path(),
        &["--rules", "npm-advisory"],
    );
    let said = notices(&report, "npm-advisory").join("\n");
    assert!(
        !said.contains("not on the PATH") && !said.contains("failed"),
        "{said}"
    );
}

#[cfg(unix)]
#[test]
fn npm_audit_runs_npm_once_when_asked() {
    let dir = project(&[("package-lock.json", PACKAGE_LOCK), ("audit.json", AUDIT)]);
    let log = dir.path().join("started.log");
    let bin = fake_programs(&log, &dir.path().join("audit.json"));
    let (report, code) = json_report(
        upkeep().env("PATH", bin.path()),
        dir.path(),
        &["--rules", "npm-advisory", "--npm-audit"],
    );
    assert_eq!(findings(&report), [LEFT_PAD]);
    assert_eq!(code, 1);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "npm audit --json --package-lock-only\n"
    );
}

#[test]
fn npm_audit_report_gives_findings_offline() {
    let dir = project(&[("package-lock.json", PACKAGE_LOCK), ("audit.json", AUDIT)]);
    let report_path = dir.path().join("audit.json");
    let (report, code) = json_report(
        upkeep().env("PATH", ""),
        dir.path(),
        &[
            "--rules",
            "npm-advisory",
            "--npm-audit-report",
            report_path.to_str().unwrap(),
        ],
    );
    assert_eq!(findings(&report), [LEFT_PAD]);
    assert_eq!(notices(&report, "npm-advisory"), Vec::<String>::new());
    assert_eq!(code, 1);
}

#[test]
fn an_unusable_npm_audit_report_is_exit_two() {
    let dir = project(&[
        ("package-lock.json", PACKAGE_LOCK),
        ("audit.json", "{\"advisories\": {}}"),
    ]);
    let output = upkeep()
        .arg(dir.path())
        .args(["--npm-audit-report"])
        .arg(dir.path().join("audit.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("npm 6 format"), "{stderr}");
    let missing = upkeep()
        .arg(dir.path())
        .args(["--npm-audit-report", "/nonexistent/audit.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/audit.json"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

#[test]
fn an_unreadable_deploy_file_is_a_parse_error_at_its_position() {
    let dir = project(&[
        PLATFORM_8_3,
        (
            "deploy.yml",
            "version: '0.1'\nimports:\n    missing.deploy.yml:\n",
        ),
    ]);
    let (report, code) = json_report(
        &mut upkeep(),
        dir.path(),
        &["--rules", "php-version,parse-error"],
    );
    let found = findings(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("deploy.yml:3 error imported file `missing.deploy.yml` not found; looked for missing.deploy.yml, config/deploy-templates/missing.deploy.yml"),
        "{found:?}"
    );
    assert_eq!(code, 1);
}

/// The fixtures whose expectations include deploy files, run as `upkeep gate` runs them: every
/// `expect: <rule>` marker (and `expected.txt` line) is reported, nothing else.
#[test]
fn deploy_file_fixtures_report_exactly_the_expected_lines() {
    for rule in ["php-version", "parse-error"] {
        let fixture = repository().join("tests/fixtures/rules").join(rule);
        let (report, _) = json_report(&mut upkeep(), &fixture, &["--rules", rule]);
        let reported: BTreeSet<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|finding| format!("{}:{}", finding["file"].as_str().unwrap(), finding["line"]))
            .collect();
        assert_eq!(
            reported,
            expected_lines(&fixture, rule),
            "{rule}: {report:#}"
        );
    }
}

fn expected_lines(fixture: &Path, rule: &str) -> BTreeSet<String> {
    let marker = format!("expect: {rule}");
    let mut expected = BTreeSet::new();
    let mut pending = vec![fixture.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(fixture)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if relative == "expected.txt" {
                expected.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|line| !line.is_empty() && !line.starts_with('#'))
                        .map(str::to_string),
                );
                continue;
            }
            for (number, line) in text.lines().enumerate() {
                if line.contains(&marker) {
                    expected.insert(format!("{relative}:{}", number + 1));
                }
            }
        }
    }
    expected
}
