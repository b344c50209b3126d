//! Runs every rule fixture under `tests/fixtures/rules/<rule-name>/`: a small project in
//! which each line that must be reported carries the marker `expect: <rule-name>` (in any
//! comment syntax) and at least one line carries `near-miss: <rule-name>` (a case that looks
//! similar but must not be reported). Findings in files that cannot hold comments (JSON) are
//! listed in `expected.txt` as `path:line` lines. The gate runs with only that rule, and the
//! set of reported `file:line` must equal the set of expected ones.
//!
//! Deploy files are not the gate's to read: their facts (imports resolved) are an input the
//! caller gives. Their markers are checked end to end by the binary's test
//! `crates/upkeep/tests/gate_inputs.rs`, which reads them as `upkeep gate` does.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use upkeep_gate::{GateOptions, registry, run};

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/rules")
}

fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_below(&path));
        } else {
            files.push(path);
        }
    }
    files
}

struct Expectations {
    findings: BTreeSet<String>,
    near_misses: usize,
}

fn expectations(fixture: &Path, rule: &str) -> Expectations {
    let expect = format!("expect: {rule}");
    let near_miss = format!("near-miss: {rule}");
    let mut findings = BTreeSet::new();
    let mut near_misses = 0;
    for file in files_below(fixture) {
        let relative = file
            .strip_prefix(fixture)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if is_deploy_file(&relative) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if relative == "expected.txt" {
            findings.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty() && !line.starts_with('#'))
                    .map(str::to_string),
            );
            continue;
        }
        for (number, line) in text.lines().enumerate() {
            if line.contains(&expect) {
                findings.insert(format!("{relative}:{}", number + 1));
            }
            near_misses += line.matches(&near_miss).count();
        }
    }
    Expectations {
        findings,
        near_misses,
    }
}

/// `deploy*.yml` at a fixture's root and the templates they import.
fn is_deploy_file(relative: &str) -> bool {
    (relative.starts_with("deploy") && !relative.contains('/'))
        || relative.starts_with("config/deploy-templates/")
}

#[test]
fn every_rule_has_a_fixture() {
    for rule in registry::all() {
        let dir = fixtures_root().join(rule.meta().name);
        assert!(dir.is_dir(), "no fixture directory {}", dir.display());
    }
}

#[test]
fn fixtures_report_exactly_the_expected_lines() {
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(fixtures_root()).unwrap() {
        let fixture = entry.unwrap().path();
        let rule = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let meta = registry::meta(&rule).unwrap_or_else(|| panic!("fixture {rule} names no rule"));
        let expected = expectations(&fixture, &rule);
        assert!(
            !expected.findings.is_empty(),
            "{rule}: the fixture expects no finding"
        );
        assert!(
            expected.near_misses > 0,
            "{rule}: the fixture has no `near-miss: {rule}` marker"
        );
        let advisories = fixture.join("advisories");
        let options = GateOptions {
            root: fixture.clone(),
            rules: vec![rule.clone()],
            jobs: 2,
            advisories: advisories.is_dir().then_some(advisories),
            ..GateOptions::default()
        };
        let report = run(&options).unwrap_or_else(|error| panic!("{rule}: {error}"));
        let reported: BTreeSet<String> = report
            .findings
            .iter()
            .inspect(|finding| assert_eq!(finding.rule.name, meta.name))
            .map(|finding| format!("{}:{}", finding.location.file, finding.location.start.line))
            .collect();
        if reported != expected.findings {
            let messages: Vec<String> = report
                .findings
                .iter()
                .map(|f| {
                    format!(
                        "{}:{} {}",
                        f.location.file, f.location.start.line, f.message
                    )
                })
                .collect();
            failures.push(format!(
                "{rule}:\n  missing:    {:?}\n  unexpected: {:?}\n  all: {messages:#?}",
                expected.findings.difference(&reported).collect::<Vec<_>>(),
                reported.difference(&expected.findings).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
