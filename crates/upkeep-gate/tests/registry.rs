//! Self-test of the rule registry: every rule is well named, documented with the fixed
//! headings, and its bad example fires while its good example does not.

use std::collections::HashSet;

use upkeep_gate::{GateOptions, registry, run};

const HEADINGS: &[&str] = &[
    "## What it finds",
    "## Why it matters",
    "## Example",
    "## Instead",
    "## Fix",
    "## Configuration",
    "## Spryker id",
];

#[test]
fn names_are_unique_and_kebab_case() {
    let mut seen = HashSet::new();
    for rule in registry::all() {
        let meta = rule.meta();
        assert!(seen.insert(meta.name), "duplicate rule name {}", meta.name);
        assert!(
            meta.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !meta.name.starts_with('-')
                && !meta.name.ends_with('-'),
            "rule name `{}` is not kebab-case",
            meta.name
        );
        for alias in meta.spryker_ids {
            assert!(seen.insert(alias), "alias {alias} used twice");
            assert_eq!(
                registry::meta(alias).map(|found| found.name),
                Some(meta.name)
            );
        }
    }
}

#[test]
fn every_rule_is_documented_with_the_fixed_headings() {
    for rule in registry::all() {
        let meta = rule.meta();
        assert!(!meta.summary.is_empty(), "{} has no summary", meta.name);
        assert!(
            meta.guideline.starts_with("https://"),
            "{} has no guideline link",
            meta.name
        );
        let mut last = 0;
        for heading in HEADINGS {
            let position = meta
                .documentation
                .find(heading)
                .unwrap_or_else(|| panic!("{} lacks `{heading}`", meta.name));
            assert!(position >= last, "{}: `{heading}` out of order", meta.name);
            last = position;
        }
    }
}

fn report_of_example(rule: &str, files: &[(&str, &str)]) -> upkeep_gate::GateReport {
    let project = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let full = project.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    let options = GateOptions {
        root: project.path().to_path_buf(),
        rules: vec![rule.to_string()],
        jobs: 1,
        ..GateOptions::default()
    };
    run(&options).unwrap_or_else(|error| panic!("{rule}: {error}"))
}

fn findings_of_example(rule: &str, files: &[(&str, &str)]) -> Vec<String> {
    report_of_example(rule, files)
        .findings
        .iter()
        .map(|finding| format!("{}: {}", finding.rule.name, finding.message))
        .collect()
}

#[test]
fn bad_examples_fire_and_good_examples_do_not() {
    for rule in registry::all() {
        let meta = rule.meta();
        let bad = findings_of_example(meta.name, meta.bad_example.files);
        assert!(
            bad.iter().any(|finding| finding.starts_with(meta.name)),
            "{}: bad example produced {bad:?}",
            meta.name
        );
        let good = findings_of_example(meta.name, meta.good_example.files);
        assert!(
            good.is_empty(),
            "{}: good example produced {good:?}",
            meta.name
        );
    }
}

/// `upkeep rules --format json` says which rules are fixable from the registry's list: a rule
/// whose bad example gets a fix must be on it, and one on it must fix its bad example.
#[test]
fn the_fixable_rules_are_those_whose_bad_example_gets_a_fix() {
    let mut fixed = Vec::new();
    for rule in registry::all() {
        let meta = rule.meta();
        let report = report_of_example(meta.name, meta.bad_example.files);
        let has_fix = report.findings.iter().any(|finding| finding.fix.is_some());
        assert_eq!(
            has_fix,
            registry::is_fixable(meta),
            "{}: its bad example {} a fix, but the registry says {}",
            meta.name,
            if has_fix { "gets" } else { "gets no" },
            registry::is_fixable(meta)
        );
        if has_fix {
            fixed.push(meta.name);
        }
    }
    assert!(fixed.contains(&"not-unique-constant"), "{fixed:?}");
}
