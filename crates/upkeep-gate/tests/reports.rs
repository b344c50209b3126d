//! The report formats, on a small report built in memory: a snapshot of every format, the
//! SARIF report validated against the official SARIF 2.1.0 schema, the keys of our JSON,
//! stable GitLab fingerprints, well-formed and correctly counted XML, and GitHub's escaping.
//!
//! `parse-error` is the real rule from the registry; the other rules are stand-ins written
//! here, named after rules of the spec but never registered, so that the snapshots change
//! only when a format does, not when a rule's documentation is edited.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use upkeep_gate::report::{Format, RenderOptions, fingerprints, render};
use upkeep_gate::repository::SourceRoot;
use upkeep_gate::rule::{Example, Notice};
use upkeep_gate::{
    Category, FileCounts, Finding, GateOptions, GateReport, Location, Rule, RuleMeta, Severity,
    registry,
};
use upkeep_php::source::{LineIndex, TextSpan};

const NO_FILES: Example = Example { files: &[] };

static ADDITIONAL_LOGIC: RuleMeta = RuleMeta {
    name: "dependency-provider-additional-logic",
    spryker_ids: &["DEPENDENCY_PROVIDER_ADDITIONAL_LOGIC_CHECKER"],
    category: Category::DependencyProvider,
    summary: "An `if` in a dependency provider whose condition is not a development check.",
    documentation: "## What it finds\nAn `if` in a `*DependencyProvider` whose condition is not \
                    an `is...Development...` call.\n\n## Why it matters\nStand-in for the report tests.\n",
    bad_example: NO_FILES,
    good_example: NO_FILES,
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/additional-logic-in-dependency-provider.html",
    needs_core: false,
};

static CONTAINER_SET: RuleMeta = RuleMeta {
    name: "container-set-returns-array",
    spryker_ids: &["CONTAINER_SET_FUNCTION_CHECKER"],
    category: Category::DependencyProvider,
    summary: "A closure given to `$container->set()` returns an array literal.",
    documentation: "## What it finds\nA closure given to `$container->set(...)` that returns an \
                    array literal.\n\n## Fix\nReturn the result of a method.\n",
    bad_example: NO_FILES,
    good_example: NO_FILES,
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/container-set-function.html",
    needs_core: false,
};

static PHP_VERSION: RuleMeta = RuleMeta {
    name: "php-version",
    spryker_ids: &["PHP_VERSION_CHECKER"],
    category: Category::Packages,
    summary: "PHP versions disagree across the running PHP, composer.json and deploy files.",
    documentation: "## What it finds\nPHP versions that disagree.\n",
    bad_example: NO_FILES,
    good_example: NO_FILES,
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/php-version.html",
    needs_core: false,
};

/// Ran, found nothing: a passing `JUnit` test case.
static SPRYKER_DEV_PACKAGE: RuleMeta = RuleMeta {
    name: "spryker-dev-package",
    spryker_ids: &["SPRYKER_DEV_PACKAGES_CHECKER"],
    category: Category::Packages,
    summary: "A `spryker*` package required at a `dev-*` version.",
    documentation: "## What it finds\nA `spryker*` package in `require` pinned to `dev-*`.\n",
    bad_example: NO_FILES,
    good_example: NO_FILES,
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/spryker-dev-packages-checker.html",
    needs_core: false,
};

fn parse_error() -> &'static RuleMeta {
    registry::meta("parse-error").expect("parse-error is registered")
}

const PROVIDER_PATH: &str = "src/Pyz/Zed/Product/ProductDependencyProvider.php";

/// Indented with tabs, as some projects are.
const PROVIDER: &str = "<?php

namespace Pyz\\Zed\\Product;

class ProductDependencyProvider extends SprykerProductDependencyProvider
{
\tprotected function addProductPlugins(Container $container): Container
\t{
\t\tif ($this->isDev() && $limit < 3) {
\t\t\t$container->set(static::PLUGINS, function () {
\t\t\t\treturn [
\t\t\t\t\tnew FooPlugin(),
\t\t\t\t];
\t\t\t});
\t\t}

\t\treturn $container;
\t}
}
";

const FACADE_PATH: &str = "src/Pyz/Zed/Product/Business/ProductFacade.php";
const FACADE: &str = "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nclass ProductFacade\n{\n    public function get( {}\n}\n";

const TRANSFER_PATH: &str = "src/Pyz/Shared/Product/Transfer/product.transfer.xml";
const TRANSFER: &str = "<transfers>\n    <transfer name=\"Product\">\n        <property name=\"a&b\" type=\"string\"/>\n    </transfer>\n</transfers>\n";

const COMPOSER: &str = "{\n    \"require\": {\n        \"php\": \">=7.4 <9\"\n    }\n}\n";

/// The location of the `occurrence`-th (0-based) `needle` in `text`.
fn nth_location(file: &str, text: &str, needle: &str, occurrence: usize) -> Location {
    let start = text
        .match_indices(needle)
        .nth(occurrence)
        .unwrap_or_else(|| panic!("`{needle}` not in {file}"))
        .0;
    let span = TextSpan::new(
        u32::try_from(start).unwrap(),
        u32::try_from(start + needle.len()).unwrap(),
    );
    Location::in_text(
        file,
        text.as_bytes(),
        &LineIndex::new(text.as_bytes()),
        span,
    )
}

fn location(file: &str, text: &str, needle: &str) -> Location {
    nth_location(file, text, needle, 0)
}

fn finding(rule: &'static RuleMeta, location: Location, message: &str) -> Finding {
    Finding::new(rule, location, message)
}

fn warning(rule: &'static RuleMeta, location: Location, message: &str) -> Finding {
    Finding {
        severity: Severity::Warning,
        ..finding(rule, location, message)
    }
}

fn report_of(mut findings: Vec<Finding>, notices: Vec<Notice>) -> GateReport {
    // The engine's order, which fingerprints and grouping rely on.
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    GateReport {
        root: PathBuf::from("/srv/shop"),
        findings,
        notices,
        files: FileCounts {
            project_php: 12,
            project_xml: 3,
            core_php: 4_200,
            core_xml: 310,
        },
        rules: vec![
            parse_error(),
            &ADDITIONAL_LOGIC,
            &CONTAINER_SET,
            &SPRYKER_DEV_PACKAGE,
            &PHP_VERSION,
        ],
        duration: Duration::from_millis(1_234),
        baseline: None,
        core_changes: None,
        source_root: None,
    }
}

/// Every case a format must handle: a tab before the span, a span over several lines, a
/// warning, a whole-file location, XML and JSON special characters, and notices.
fn sample_report() -> GateReport {
    report_of(
        vec![
            finding(
                &ADDITIONAL_LOGIC,
                location(PROVIDER_PATH, PROVIDER, "$this->isDev() && $limit < 3"),
                "the condition of this `if` is `$this->isDev() && $limit < 3`, not an `is...Development...()` call: move the logic out of the dependency provider",
            ),
            finding(
                &CONTAINER_SET,
                location(
                    PROVIDER_PATH,
                    PROVIDER,
                    "[\n\t\t\t\t\tnew FooPlugin(),\n\t\t\t\t]",
                ),
                "the closure passed to `$container->set()` returns an array literal",
            ),
            finding(
                parse_error(),
                location(FACADE_PATH, FACADE, "{"),
                "PHP syntax error: unexpected token `{`, expected `)`",
            ),
            finding(
                parse_error(),
                location(TRANSFER_PATH, TRANSFER, "&"),
                "malformed XML: unescaped \"&\" in <property name=\"a&b\">; write \"&amp;\"",
            ),
            warning(
                &PHP_VERSION,
                location("composer.json", COMPOSER, "\">=7.4 <9\""),
                "`require.php` is \">=7.4 <9\": it allows PHP 7, which is 100% unsupported",
            ),
            warning(
                &PHP_VERSION,
                Location::whole_file("deploy.yml"),
                "the image `spryker/php:8.1` and `require.php` disagree,\nsee composer.json",
            ),
        ],
        vec![
            Notice {
                rule: "core",
                message: "no `vendor/spryker*` directory: core code was not read (run `composer install` first for core-aware checks)".to_string(),
            },
            Notice {
                rule: "php-version",
                message: "`php` is not on PATH: the running PHP version was not checked".to_string(),
            },
        ],
    )
}

fn clean_report() -> GateReport {
    report_of(Vec::new(), Vec::new())
}

fn rendered(report: &GateReport, format: Format) -> String {
    render(report, format, &RenderOptions { color: false })
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}):\n{text}"))
}

// ---------------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------------

#[test]
fn text_snapshot() {
    insta::assert_snapshot!(rendered(&sample_report(), Format::Text));
}

#[test]
fn text_snapshot_of_a_clean_run() {
    insta::assert_snapshot!(rendered(&clean_report(), Format::Text));
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!(rendered(&sample_report(), Format::Json));
}

/// Replaces what comes from outside the format (the crate version, the documentation of the
/// real `parse-error` rule) with placeholders, after checking it is what it should be, so the
/// snapshot changes only when the format does.
fn redact_sarif(mut sarif: Value) -> Value {
    let driver = &mut sarif["runs"][0]["tool"]["driver"];
    for key in ["version", "semanticVersion"] {
        assert_eq!(driver[key], env!("CARGO_PKG_VERSION"));
        driver[key] = "[version]".into();
    }
    for rule in driver["rules"].as_array_mut().unwrap() {
        let id = rule["id"].as_str().unwrap().to_string();
        // Only `parse-error` comes from the registry; the stand-ins are fixed here.
        if id != parse_error().name {
            continue;
        }
        let meta = parse_error();
        assert_eq!(rule["shortDescription"]["text"], meta.summary);
        assert!(
            rule["help"]["markdown"]
                .as_str()
                .unwrap()
                .starts_with(meta.documentation.trim_end())
        );
        for key in ["shortDescription", "fullDescription", "help"] {
            rule[key] = format!("[{key} of {id}]").into();
        }
    }
    sarif
}

#[test]
fn sarif_snapshot() {
    let sarif = redact_sarif(json_of(&rendered(&sample_report(), Format::Sarif)));
    insta::assert_snapshot!(serde_json::to_string_pretty(&sarif).unwrap());
}

#[test]
fn gitlab_snapshot() {
    insta::assert_snapshot!(rendered(&sample_report(), Format::Gitlab));
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!(rendered(&sample_report(), Format::Junit));
}

#[test]
fn checkstyle_snapshot() {
    insta::assert_snapshot!(rendered(&sample_report(), Format::Checkstyle));
}

#[test]
fn github_snapshot() {
    insta::assert_snapshot!(rendered(&sample_report(), Format::Github));
}

// ---------------------------------------------------------------------------------------------
// Format names
// ---------------------------------------------------------------------------------------------

#[test]
fn every_format_parses_from_its_name_and_unknown_ones_list_them_all() {
    let names: Vec<&str> = Format::ALL.iter().map(|format| format.name()).collect();
    assert_eq!(
        names,
        [
            "text",
            "json",
            "sarif",
            "gitlab",
            "junit",
            "checkstyle",
            "github"
        ]
    );
    for format in Format::ALL {
        assert_eq!(format.name().parse::<Format>(), Ok(*format));
        assert_eq!(format.name().to_uppercase().parse::<Format>(), Ok(*format));
    }
    assert_eq!(
        "xml".parse::<Format>(),
        Err(
            "unknown format `xml` (expected one of: text, json, sarif, gitlab, junit, checkstyle, github)"
                .to_string()
        )
    );
}

#[test]
fn rendering_is_a_pure_function_of_the_report() {
    for format in Format::ALL {
        assert_eq!(
            rendered(&sample_report(), *format),
            rendered(&sample_report(), *format),
            "{format}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

#[test]
fn json_has_the_documented_keys() {
    let report = sample_report();
    let json = json_of(&rendered(&report, Format::Json));
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), report.findings.len());
    for (value, finding) in findings.iter().zip(&report.findings) {
        let location = &finding.location;
        assert_eq!(value["rule"], finding.rule.name);
        assert_eq!(
            value["spryker_id"],
            finding.rule.spryker_id().map_or(Value::Null, Value::from)
        );
        assert_eq!(value["severity"], finding.severity.as_str());
        assert_eq!(value["message"], finding.message.as_str());
        assert_eq!(value["file"], location.file.as_str());
        assert_eq!(value["line"], location.start.line);
        assert_eq!(value["column"], location.start.column);
        assert_eq!(value["end_line"], location.end.line);
        assert_eq!(value["end_column"], location.end.column);
    }
    let summary = &json["summary"];
    assert_eq!(summary["files"], 15);
    assert_eq!(summary["findings"], 6);
    assert_eq!(
        summary["by_rule"],
        serde_json::json!({
            "container-set-returns-array": 1,
            "dependency-provider-additional-logic": 1,
            "parse-error": 2,
            "php-version": 2,
        })
    );
}

// ---------------------------------------------------------------------------------------------
// SARIF
// ---------------------------------------------------------------------------------------------

fn sarif_validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let mut schema = json_of(&std::fs::read_to_string(&path).unwrap());
    // The schema's pattern for `language` (of a run and of a tool component) has a stray
    // `]`: ECMAScript reads it as a literal `]` (outside Unicode mode), the validator's
    // stricter regex check rejects the schema. Escaping it keeps the language it matches and
    // leaves the file as published.
    let mut fixed = 0;
    for owner in ["run", "toolComponent"] {
        let language = &mut schema["definitions"][owner]["properties"]["language"]["pattern"];
        if *language == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" {
            *language = r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\]?$".into();
            fixed += 1;
        }
    }
    assert_eq!(fixed, 2, "the schema's `language` patterns changed");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn schema_errors(validator: &jsonschema::Validator, sarif: &Value) -> Vec<String> {
    validator
        .iter_errors(sarif)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let validator = sarif_validator();
    let every_rule = GateReport {
        rules: registry::all().map(Rule::meta).collect(),
        ..sample_report()
    };
    let relative_root = GateReport {
        root: PathBuf::from("."),
        ..sample_report()
    };
    for (name, report) in [
        ("sample", sample_report()),
        ("clean", clean_report()),
        ("every registered rule", every_rule),
        ("relative root", relative_root),
        ("in a repository", in_a_repository()),
    ] {
        let sarif = json_of(&rendered(&report, Format::Sarif));
        let errors = schema_errors(&validator, &sarif);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}

#[test]
fn the_sarif_schema_rejects_what_sarif_forbids() {
    // The validator must be able to fail, or the test above proves nothing.
    let validator = sarif_validator();
    let mut sarif = json_of(&rendered(&sample_report(), Format::Sarif));
    sarif["runs"][0]["results"][0]["level"] = "fatal".into();
    sarif["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    sarif["runs"][0]["tool"]["driver"]["informationUri"] = "not a uri".into();
    let errors = schema_errors(&validator, &sarif);
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn sarif_results_point_at_their_rules_and_regions() {
    let report = sample_report();
    let sarif = json_of(&rendered(&report, Format::Sarif));
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "upkeep");
    assert_eq!(
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"],
        "file:///srv/shop/"
    );
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules
        .iter()
        .map(|rule| rule["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        report
            .rules
            .iter()
            .map(|rule| rule.name)
            .collect::<Vec<_>>()
    );
    let logic = &rules[1];
    assert_eq!(logic["name"], "DependencyProviderAdditionalLogic");
    assert_eq!(logic["helpUri"], ADDITIONAL_LOGIC.guideline);
    assert_eq!(
        logic["properties"]["sprykerIds"],
        serde_json::json!(["DEPENDENCY_PROVIDER_ADDITIONAL_LOGIC_CHECKER"])
    );
    assert_eq!(logic["properties"]["category"], "dependency-provider");

    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len());
    for (result, finding) in results.iter().zip(&report.findings) {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert_eq!(result["ruleId"], finding.rule.name);
        assert_eq!(result["level"], finding.severity.as_str());
        assert_eq!(result["message"]["text"], finding.message.as_str());
        let physical = &result["locations"][0]["physicalLocation"];
        assert_eq!(
            physical["artifactLocation"]["uri"],
            finding.location.file.as_str()
        );
        assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    }
    // The span over three lines, after four tabs (columns count characters).
    let multi_line = results
        .iter()
        .find(|result| result["ruleId"] == "container-set-returns-array")
        .unwrap();
    assert_eq!(
        multi_line["locations"][0]["physicalLocation"]["region"],
        serde_json::json!({"startLine": 11, "startColumn": 12, "endLine": 13, "endColumn": 6})
    );
    // A whole-file location has no region.
    let whole_file = results
        .iter()
        .find(|result| {
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "deploy.yml"
        })
        .unwrap();
    assert!(
        whole_file["locations"][0]["physicalLocation"]
            .get("region")
            .is_none()
    );
    // Notices become notifications, tied to their rule when they have one.
    let notifications = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notifications.len(), 2);
    assert_eq!(
        notifications[0]["descriptor"],
        serde_json::json!({"id": "core", "index": 0})
    );
    assert_eq!(
        run["tool"]["driver"]["notifications"],
        serde_json::json!([{"id": "core"}])
    );
    assert_eq!(
        notifications[1]["associatedRule"],
        serde_json::json!({"id": "php-version", "index": 4})
    );
}

// ---------------------------------------------------------------------------------------------
// GitLab and fingerprints
// ---------------------------------------------------------------------------------------------

/// The provider with `lines` more lines above the class: its findings move down.
fn moved_provider(lines: usize) -> String {
    PROVIDER.replacen(
        "\nclass ",
        &format!(
            "\n{}class ",
            "use Spryker\\Zed\\Kernel\\Container;\n".repeat(lines)
        ),
        1,
    )
}

fn provider_report(text: &str) -> GateReport {
    report_of(
        vec![
            finding(
                &ADDITIONAL_LOGIC,
                location(PROVIDER_PATH, text, "$this->isDev()"),
                "additional logic",
            ),
            finding(
                &CONTAINER_SET,
                location(PROVIDER_PATH, text, "[\n"),
                "returns an array",
            ),
        ],
        Vec::new(),
    )
}

/// `(check_name, begin line) -> fingerprint` of a GitLab report.
fn gitlab_fingerprints(report: &GateReport) -> Vec<(String, u64, String)> {
    json_of(&rendered(report, Format::Gitlab))
        .as_array()
        .unwrap()
        .iter()
        .map(|issue| {
            (
                issue["check_name"].as_str().unwrap().to_string(),
                issue["location"]["lines"]["begin"].as_u64().unwrap(),
                issue["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn gitlab_fingerprints_survive_code_moving_down() {
    let before = gitlab_fingerprints(&provider_report(PROVIDER));
    let moved = moved_provider(3);
    let after = gitlab_fingerprints(&provider_report(&moved));
    assert_eq!(before.len(), 2);
    for ((rule_before, line_before, print_before), (rule_after, line_after, print_after)) in
        before.iter().zip(&after)
    {
        assert_eq!(rule_before, rule_after);
        assert_eq!(line_before + 3, *line_after, "{rule_before} did not move");
        assert_eq!(
            print_before, print_after,
            "{rule_before} changed fingerprint"
        );
    }
    // Distinct findings, distinct fingerprints; all of them 32 hex digits.
    assert_ne!(before[0].2, before[1].2);
    for (_, _, print) in &before {
        assert_eq!(print.len(), 32);
        assert!(
            print
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
}

#[test]
fn fingerprints_tell_identical_findings_apart_by_their_order() {
    let text = "<?php\n$a = [1];\n$b = 2;\n$a = [1];\n";
    let twice = |text: &str| {
        report_of(
            vec![
                finding(
                    &CONTAINER_SET,
                    nth_location("a.php", text, "[1]", 0),
                    "array",
                ),
                finding(
                    &CONTAINER_SET,
                    nth_location("a.php", text, "[1]", 1),
                    "array",
                ),
            ],
            Vec::new(),
        )
    };
    let first = fingerprints(&twice(text));
    assert_ne!(first[0], first[1]);
    // Removing the line between them moves the second one up: neither fingerprint changes.
    assert_eq!(fingerprints(&twice(&text.replace("$b = 2;\n", ""))), first);
    // Another message, rule or file is another finding.
    let other_message = report_of(
        vec![finding(
            &CONTAINER_SET,
            nth_location("a.php", text, "[1]", 0),
            "other",
        )],
        Vec::new(),
    );
    let other_file = report_of(
        vec![finding(
            &CONTAINER_SET,
            nth_location("b.php", text, "[1]", 0),
            "array",
        )],
        Vec::new(),
    );
    let other_rule = report_of(
        vec![finding(
            &ADDITIONAL_LOGIC,
            nth_location("a.php", text, "[1]", 0),
            "array",
        )],
        Vec::new(),
    );
    for other in [other_message, other_file, other_rule] {
        assert_ne!(fingerprints(&other)[0], first[0]);
    }
}

#[test]
fn gitlab_maps_severities_and_lines() {
    let report = sample_report();
    let issues = json_of(&rendered(&report, Format::Gitlab));
    let issues = issues.as_array().unwrap();
    assert_eq!(issues.len(), report.findings.len());
    for (issue, finding) in issues.iter().zip(&report.findings) {
        let expected = match finding.severity {
            Severity::Error => "major",
            Severity::Warning => "minor",
        };
        assert_eq!(issue["severity"], expected);
        assert_eq!(issue["description"], finding.message.as_str());
        assert_eq!(issue["location"]["path"], finding.location.file.as_str());
        assert_eq!(
            issue["location"]["lines"]["begin"],
            finding.location.start.line
        );
        assert_eq!(issue["location"]["lines"]["end"], finding.location.end.line);
    }
    assert_eq!(rendered(&clean_report(), Format::Gitlab), "[]\n");
}

// ---------------------------------------------------------------------------------------------
// XML formats
// ---------------------------------------------------------------------------------------------

fn attribute<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> &'a str {
    node.attribute(name)
        .unwrap_or_else(|| panic!("<{}> has no {name}", node.tag_name().name()))
}

#[test]
fn junit_has_a_test_case_per_finding_and_per_clean_rule() {
    let report = sample_report();
    let xml = rendered(&report, Format::Junit);
    let document = roxmltree::Document::parse(&xml).unwrap();
    let suite = document
        .descendants()
        .find(|node| node.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(attribute(suite, "name"), "upkeep gate");
    // Six findings (four errors) and one rule that found nothing (spryker-dev-package).
    assert_eq!(attribute(suite, "tests"), "7");
    assert_eq!(attribute(suite, "failures"), "4");
    assert_eq!(attribute(suite, "time"), "1.234");
    let cases: Vec<_> = suite
        .children()
        .filter(|node| node.has_tag_name("testcase"))
        .collect();
    let described: Vec<(&str, Option<&str>, Option<&str>)> = cases
        .iter()
        .map(|case| {
            (
                attribute(*case, "classname"),
                case.attribute("file"),
                case.attribute("line"),
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            ("upkeep.parse-error", Some(TRANSFER_PATH), Some("3")),
            ("upkeep.parse-error", Some(FACADE_PATH), Some("5")),
            (
                "upkeep.dependency-provider-additional-logic",
                Some(PROVIDER_PATH),
                Some("9")
            ),
            (
                "upkeep.container-set-returns-array",
                Some(PROVIDER_PATH),
                Some("11")
            ),
            ("upkeep.php-version", Some("composer.json"), Some("3")),
            ("upkeep.php-version", Some("deploy.yml"), Some("1")),
            ("upkeep.spryker-dev-package", None, None),
        ]
    );
    assert_eq!(
        attribute(cases[2], "name"),
        format!("dependency-provider-additional-logic at {PROVIDER_PATH}:9:7")
    );
    let failures = |case: roxmltree::Node| -> Vec<String> {
        case.children()
            .filter(|node| node.has_tag_name("failure"))
            .map(|failure| attribute(failure, "message").to_string())
            .collect()
    };
    assert_eq!(
        failures(cases[0]),
        ["malformed XML: unescaped \"&\" in <property name=\"a&b\">; write \"&amp;\""]
    );
    let logic_failure = cases[2]
        .children()
        .find(|node| node.has_tag_name("failure"))
        .unwrap();
    assert!(
        logic_failure.text().unwrap().starts_with(&format!(
            "{PROVIDER_PATH}:9:7: the condition of this `if` is `$this->isDev() && $limit < 3`"
        )),
        "{:?}",
        logic_failure.text()
    );
    // Warnings pass, with the warning in the case's output.
    for case in &cases[4..] {
        assert!(failures(*case).is_empty());
    }
    let warning = cases[5]
        .children()
        .find(|node| node.has_tag_name("system-out"))
        .unwrap()
        .text()
        .unwrap();
    assert!(warning.starts_with("warning: deploy.yml:1:1: the image `spryker/php:8.1` and `require.php` disagree,\nsee composer.json"), "{warning}");

    let clean = rendered(&clean_report(), Format::Junit);
    let clean = roxmltree::Document::parse(&clean).unwrap();
    let suite = clean
        .descendants()
        .find(|node| node.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(attribute(suite, "tests"), "5");
    assert_eq!(attribute(suite, "failures"), "0");
}

/// The sample report of a project in `shop/` of the repository at `/srv/repo`.
fn in_a_repository() -> GateReport {
    GateReport {
        root: PathBuf::from("/srv/repo/shop"),
        source_root: Some(SourceRoot {
            dir: PathBuf::from("/srv/repo"),
            prefix: "shop/".to_string(),
        }),
        ..sample_report()
    }
}

#[test]
fn ci_formats_name_files_from_the_repository_root_and_text_and_json_from_the_project() {
    let report = in_a_repository();
    let sarif = json_of(&rendered(&report, Format::Sarif));
    let run = &sarif["runs"][0];
    assert_eq!(
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"],
        "file:///srv/repo/"
    );
    let uris: Vec<&str> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(uris.iter().all(|uri| uri.starts_with("shop/")), "{uris:?}");
    assert!(uris.contains(&"shop/composer.json"), "{uris:?}");

    let gitlab = json_of(&rendered(&report, Format::Gitlab));
    assert_eq!(gitlab[0]["location"]["path"], "shop/composer.json");
    let github = rendered(&report, Format::Github);
    assert!(
        github.contains(&format!("::error file=shop/{PROVIDER_PATH},line=9,")),
        "{github}"
    );
    let checkstyle = rendered(&report, Format::Checkstyle);
    assert!(
        checkstyle.contains("<file name=\"shop/composer.json\">"),
        "{checkstyle}"
    );
    let junit = rendered(&report, Format::Junit);
    assert!(
        junit.contains(&format!("file=\"shop/{FACADE_PATH}\"")),
        "{junit}"
    );
    // The fingerprints do not move with the checkout.
    assert_eq!(fingerprints(&report), fingerprints(&sample_report()));

    let text = rendered(&report, Format::Text);
    assert!(
        text.contains(&format!("  --> {PROVIDER_PATH}:9:7\n")),
        "{text}"
    );
    let json = json_of(&rendered(&report, Format::Json));
    assert_eq!(json["findings"][0]["file"], "composer.json");
}

#[test]
fn checkstyle_groups_by_file_and_round_trips_messages() {
    let report = sample_report();
    let xml = rendered(&report, Format::Checkstyle);
    let document = roxmltree::Document::parse(&xml).unwrap();
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "checkstyle");
    assert_eq!(attribute(root, "version"), "4.3");
    let files: Vec<_> = root
        .children()
        .filter(roxmltree::Node::is_element)
        .collect();
    let names: Vec<&str> = files.iter().map(|file| attribute(*file, "name")).collect();
    assert_eq!(
        names,
        [
            "composer.json",
            "deploy.yml",
            TRANSFER_PATH,
            FACADE_PATH,
            PROVIDER_PATH
        ]
    );
    let errors: Vec<_> = files
        .iter()
        .flat_map(|file| file.children().filter(roxmltree::Node::is_element))
        .collect();
    assert_eq!(errors.len(), report.findings.len());
    for (error, finding) in errors.iter().zip(&report.findings) {
        assert_eq!(attribute(*error, "message"), finding.message);
        assert_eq!(attribute(*error, "severity"), finding.severity.as_str());
        assert_eq!(
            attribute(*error, "source"),
            format!("upkeep.{}", finding.rule.name)
        );
        assert_eq!(
            attribute(*error, "line"),
            finding.location.start.line.to_string()
        );
        assert_eq!(
            attribute(*error, "column"),
            finding.location.start.column.to_string()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// GitHub
// ---------------------------------------------------------------------------------------------

/// Undoes the runner's escaping.
fn unescape(text: &str) -> String {
    text.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

#[test]
fn github_commands_escape_data_and_properties() {
    let report = sample_report();
    let output = rendered(&report, Format::Github);
    let lines: Vec<&str> = output.lines().collect();
    // One command per finding, one per notice, then the summary.
    assert_eq!(
        lines.len(),
        report.findings.len() + report.notices.len() + 1
    );
    for (line, finding) in lines.iter().zip(&report.findings) {
        let (command, rest) = line[2..].split_once(' ').unwrap();
        assert_eq!(command, finding.severity.as_str());
        let (properties, message) = rest.split_once("::").unwrap();
        assert!(!message.contains(['\n', '\r']));
        assert_eq!(
            unescape(message),
            format!("{}\nguideline: {}", finding.message, finding.rule.guideline)
        );
        let properties: Vec<(&str, &str)> = properties
            .split(',')
            .map(|pair| pair.split_once('=').unwrap())
            .collect();
        assert_eq!(properties[0], ("file", finding.location.file.as_str()));
        assert_eq!(properties.last().unwrap(), &("title", finding.rule.name));
    }
    assert_eq!(
        lines[0],
        "::warning file=composer.json,line=3,col=16,endLine=3,endColumn=26,title=php-version::\
         `require.php` is \">=7.4 <9\": it allows PHP 7, which is 100%25 unsupported\
         %0Aguideline: https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/php-version.html"
    );
    // A whole-file location annotates the file; a span over several lines has lines only.
    assert!(
        lines[1].starts_with("::warning file=deploy.yml,title=php-version::"),
        "{}",
        lines[1]
    );
    let multi_line = lines
        .iter()
        .find(|line| line.contains("title=container-set-returns-array"))
        .unwrap();
    assert!(
        multi_line.starts_with(&format!(
            "::error file={PROVIDER_PATH},line=11,endLine=13,title="
        )),
        "{multi_line}"
    );
    assert_eq!(
        *lines.last().unwrap(),
        "::notice::upkeep gate: 6 findings (4 errors, 2 warnings) in 15 project files: container-set-returns-array: 1, dependency-provider-additional-logic: 1, parse-error: 2, php-version: 2."
    );
    assert_eq!(
        rendered(&clean_report(), Format::Github),
        "::notice::upkeep gate: no findings in 15 project files.\n"
    );
}

// ---------------------------------------------------------------------------------------------
// A real run
// ---------------------------------------------------------------------------------------------

#[test]
fn every_format_renders_a_real_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/rules/parse-error");
    let report = upkeep_gate::run(&GateOptions {
        root,
        rules: vec!["parse-error".to_string()],
        jobs: 1,
        ..GateOptions::default()
    })
    .unwrap();
    assert!(!report.findings.is_empty());
    let sarif = json_of(&rendered(&report, Format::Sarif));
    let errors = schema_errors(&sarif_validator(), &sarif);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        report.findings.len()
    );
    let gitlab = json_of(&rendered(&report, Format::Gitlab));
    assert_eq!(gitlab.as_array().unwrap().len(), report.findings.len());
    for format in [Format::Junit, Format::Checkstyle] {
        let xml = rendered(&report, format);
        roxmltree::Document::parse(&xml).unwrap_or_else(|error| panic!("{format}: {error}"));
    }
    let github = rendered(&report, Format::Github);
    assert_eq!(
        github
            .lines()
            .filter(|line| line.starts_with("::error "))
            .count(),
        report.findings.len()
    );
}
