//! End-to-end tests of the gate's reports as CIs read them (issue 14, item 8): paths from the
//! repository's root for a shop in a subdirectory of a real git repository, several formats
//! from one run, colours, `JUnit` per finding, the rule catalogue as JSON, unmatched
//! suppressions, a baseline named in `upkeep.toml`, and the text report grouped by rule.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::server::git;
use common::{assert_contains, assert_exit, stderr, stdout};

fn upkeep(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("upkeep").unwrap();
    command
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("FORCE_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("PROJECT_PHP_VERSION")
        .env("UPKEEP_CACHE_DIR", dir.join(".cache"));
    command
}

fn run(dir: &Path, arguments: &[&str]) -> Output {
    upkeep(dir).args(arguments).output().unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A dependency provider whose `$container->set()` closures return array literals: one
/// `container-set-returns-array` finding per method in `methods`.
fn provider(module: &str, methods: &[&str]) -> String {
    let mut bodies = String::new();
    for method in methods {
        let _ = write!(
            bodies,
            "    protected function {method}(Container $container): Container\n    {{\n        $container->set('{method}', function () {{\n            return [new FooPlugin()];\n        }});\n\n        return $container;\n    }}\n\n"
        );
    }
    format!(
        "<?php\nnamespace Pyz\\Zed\\{module};\n\nuse Spryker\\Zed\\Kernel\\Container;\n\nclass {module}DependencyProvider\n{{\n{bodies}}}\n"
    )
}

fn provider_path(module: &str) -> String {
    format!("src/Pyz/Zed/{module}/{module}DependencyProvider.php")
}

/// A git repository with the shop in `shop/` (two findings of one rule in `Product`, one in
/// `Sales`) beside other code, as many teams keep theirs.
struct Repository {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Repository {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        write(&root.join("infra/README.md"), "not the shop\n");
        let shop = root.join("shop");
        write(
            &shop.join(provider_path("Product")),
            &provider("Product", &["addPlugins", "addWidgets"]),
        );
        write(
            &shop.join(provider_path("Sales")),
            &provider("Sales", &["addPlugins"]),
        );
        write(&shop.join("composer.json"), "{\"name\": \"acme/shop\"}\n");
        git(&root, &["init", "-q", "-b", "main"]);
        git(&root, &["add", "-A"]);
        git(&root, &["commit", "-q", "-m", "shop"]);
        Self { _dir: dir, root }
    }

    fn shop(&self) -> PathBuf {
        self.root.join("shop")
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root.join(path)).unwrap()
    }
}

const RULES: &[&str] = &["--rules", "container-set-returns-array,spryker-dev-package"];

#[test]
fn ci_formats_point_from_the_repository_root_and_text_from_the_project() {
    let repository = Repository::new();
    let mut arguments = vec![
        "gate",
        "shop",
        "--format",
        "github",
        "--format",
        "sarif=out/upkeep.sarif",
        "--format",
        "gitlab=out/code-quality.json",
        "--format",
        "junit=out/junit.xml",
        "--format",
        "checkstyle=out/checkstyle.xml",
        "--format",
        "text=out/report.txt",
    ];
    arguments.extend_from_slice(RULES);
    std::fs::create_dir_all(repository.root.join("out")).unwrap();
    let output = run(&repository.root, &arguments);
    assert_exit(&output, 1);
    let product = "shop/src/Pyz/Zed/Product/ProductDependencyProvider.php";

    // GitHub annotations, on standard output.
    let github = stdout(&output);
    let annotations: Vec<&str> = github
        .lines()
        .filter(|line| line.starts_with("::error "))
        .collect();
    assert_eq!(annotations.len(), 3, "{github}");
    assert!(
        annotations[0].starts_with(&format!("::error file={product},line=11,col=20,")),
        "{github}"
    );

    // SARIF: repository-relative URIs against %SRCROOT%, which names the repository.
    let sarif: Value = serde_json::from_str(&repository.read("out/upkeep.sarif")).unwrap();
    let run = &sarif["runs"][0];
    let canonical = std::fs::canonicalize(&repository.root).unwrap();
    assert_eq!(
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"],
        format!("file://{}/", canonical.display())
    );
    let location = &run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(location["uri"], product);
    assert_eq!(location["uriBaseId"], "%SRCROOT%");

    // GitLab Code Quality.
    let gitlab: Value = serde_json::from_str(&repository.read("out/code-quality.json")).unwrap();
    let paths: Vec<&str> = gitlab
        .as_array()
        .unwrap()
        .iter()
        .map(|issue| issue["location"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            product,
            product,
            "shop/src/Pyz/Zed/Sales/SalesDependencyProvider.php"
        ]
    );

    // Checkstyle groups by the same paths.
    let checkstyle = repository.read("out/checkstyle.xml");
    let document = roxmltree::Document::parse(&checkstyle).unwrap();
    let files: Vec<&str> = document
        .descendants()
        .filter(|node| node.has_tag_name("file"))
        .map(|node| node.attribute("name").unwrap())
        .collect();
    assert_eq!(
        files,
        [
            product,
            "shop/src/Pyz/Zed/Sales/SalesDependencyProvider.php"
        ]
    );

    assert_junit_has_a_case_per_finding(&repository.read("out/junit.xml"), product);

    // The text report speaks of the project, as the gate's messages do.
    let text = repository.read("out/report.txt");
    assert!(
        text.contains("  --> src/Pyz/Zed/Product/ProductDependencyProvider.php:11:20\n"),
        "{text}"
    );
    assert!(
        !text.contains("\u{1b}["),
        "a file never gets colours: {text}"
    );
}

/// `JUnit`: one test case per finding with its file, plus one per rule that found nothing.
fn assert_junit_has_a_case_per_finding(junit: &str, product: &str) {
    let document = roxmltree::Document::parse(junit).unwrap();
    let suite = document
        .descendants()
        .find(|node| node.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("tests"), Some("4"));
    assert_eq!(suite.attribute("failures"), Some("3"));
    let cases: Vec<(Option<&str>, Option<&str>, usize)> = suite
        .children()
        .filter(|node| node.has_tag_name("testcase"))
        .map(|case| {
            let failures = case
                .children()
                .filter(|node| node.has_tag_name("failure"))
                .count();
            (case.attribute("file"), case.attribute("line"), failures)
        })
        .collect();
    assert_eq!(
        cases,
        [
            (Some(product), Some("11"), 1),
            (Some(product), Some("20"), 1),
            (
                Some("shop/src/Pyz/Zed/Sales/SalesDependencyProvider.php"),
                Some("11"),
                1
            ),
            // spryker-dev-package ran and found nothing.
            (None, None, 0),
        ]
    );
}

#[test]
fn a_project_at_the_repository_root_keeps_its_paths() {
    let repository = Repository::new();
    let shop = repository.shop();
    git(&shop, &["init", "-q", "-b", "main"]);
    let mut arguments = vec!["gate", ".", "--format", "gitlab"];
    arguments.extend_from_slice(RULES);
    let output = run(&shop, &arguments);
    assert_exit(&output, 1);
    let gitlab: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        gitlab[0]["location"]["path"],
        "src/Pyz/Zed/Product/ProductDependencyProvider.php"
    );
}

#[test]
fn at_most_one_format_goes_to_standard_output() {
    let repository = Repository::new();
    let output = run(
        &repository.root,
        &["gate", "shop", "--format", "github", "--format", "json"],
    );
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains(
            "error: 2 formats would go to standard output (github, json); at most one can"
        ),
        "{}",
        stderr(&output)
    );
    assert_contains(
        &stderr(&output),
        "hint: give the others a file: `--format github --format sarif=upkeep.sarif`",
    );

    let output = run(
        &repository.root,
        &[
            "gate",
            "shop",
            "--format",
            "sarif=a.sarif",
            "--output",
            "b.txt",
        ],
    );
    assert_exit(&output, 2);
    assert_contains(&stderr(&output), "`--output b.txt` has no report to take");
    assert_contains(
        &stderr(&output),
        "hint: drop `--output`, or give one `--format` without `=PATH`",
    );

    for bad in ["sarif=", "yaml=report.yml"] {
        let output = run(&repository.root, &["gate", "shop", "--format", bad]);
        assert_exit(&output, 2);
        assert!(
            stderr(&output).contains("invalid value for '--format <FORMAT[=PATH]>'"),
            "{bad}: {}",
            stderr(&output)
        );
    }
    let output = run(&repository.root, &["gate", "shop", "--format", "yaml"]);
    assert!(
        stderr(&output).contains(
            "unknown format `yaml` (expected one of: text, json, sarif, gitlab, junit, checkstyle, github)"
        ),
        "{}",
        stderr(&output)
    );

    // `--output` takes the one without a path; the others go to theirs.
    let mut arguments = vec![
        "gate",
        "shop",
        "--format",
        "json",
        "--output",
        "report.json",
        "--format",
        "junit=junit.xml",
        "--exit-zero",
    ];
    arguments.extend_from_slice(RULES);
    let output = run(&repository.root, &arguments);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "");
    let json: Value = serde_json::from_str(&repository.read("report.json")).unwrap();
    assert_eq!(json["summary"]["findings"], 3);
    assert!(repository.read("junit.xml").starts_with("<?xml"));
}

#[test]
fn help_lists_every_format_with_what_it_is_for() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["gate", "--help"]);
    assert_exit(&output, 0);
    let help = stdout(&output);
    for (name, words) in [
        ("text", "for people"),
        ("json", "upkeep's own JSON"),
        ("sarif", "GitHub code scanning"),
        ("gitlab", "GitLab Code Quality"),
        ("junit", "one test case per finding"),
        ("checkstyle", "Checkstyle XML"),
        ("github", "GitHub Actions annotations"),
    ] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(&format!("- {name}:"))
                    && line.contains(words)),
            "`{name}` is not listed with `{words}`:\n{help}"
        );
    }
    assert!(help.contains("--color <WHEN>"), "{help}");
}

#[test]
fn colours_follow_color_force_color_and_no_color() {
    let repository = Repository::new();
    let colored = |color: Option<&str>, env: &[(&str, &str)]| {
        let mut command = upkeep(&repository.root);
        command.env_remove("NO_COLOR");
        for (name, value) in env {
            command.env(name, value);
        }
        command.args(["gate", "shop"]).args(RULES);
        if let Some(color) = color {
            command.args(["--color", color]);
        }
        let output = command.output().unwrap();
        assert_exit(&output, 1);
        stdout(&output).contains("\u{1b}[")
    };
    // Standard output is a pipe here, as in CI.
    assert!(!colored(None, &[]));
    assert!(colored(None, &[("FORCE_COLOR", "1")]));
    assert!(!colored(None, &[("FORCE_COLOR", "0")]));
    assert!(!colored(None, &[("FORCE_COLOR", "1"), ("NO_COLOR", "1")]));
    assert!(colored(Some("always"), &[("NO_COLOR", "1")]));
    assert!(!colored(Some("never"), &[("FORCE_COLOR", "1")]));
}

#[test]
fn the_text_report_counts_per_rule_first_and_groups_findings_by_rule() {
    let repository = Repository::new();
    let shop = repository.shop();
    write(
        &shop.join("composer.json"),
        "{\"name\": \"acme/shop\", \"require\": {\"spryker/kernel\": \"dev-master\"}}\n",
    );
    let output = run(
        &shop,
        &[
            "gate",
            ".",
            "--rules",
            "container-set-returns-array,spryker-dev-package",
        ],
    );
    assert_exit(&output, 1);
    let text = stdout(&output);
    let counts = "4 findings by rule:\n  3  error    container-set-returns-array  3 errors\n  1  error    spryker-dev-package          1 error\n\n";
    assert!(text.starts_with(counts), "{text}");
    let rest = &text[counts.len()..];
    assert!(
        rest.starts_with("container-set-returns-array: 3 errors\n  = guideline: https://"),
        "{rest}"
    );
    // Each rule's guideline once, above its findings, in the order of the counts.
    assert_eq!(text.matches("= guideline:").count(), 2, "{text}");
    let first = text.find("error[container-set-returns-array]").unwrap();
    let group = text.find("spryker-dev-package: 1 error\n").unwrap();
    let last = text.rfind("error[container-set-returns-array]").unwrap();
    let dev = text.find("error[spryker-dev-package]").unwrap();
    assert!(first < last && last < group && group < dev, "{text}");
    // One rule: no table.
    let output = run(&shop, &["gate", ".", "--rules", "spryker-dev-package"]);
    assert!(
        stdout(&output).starts_with("spryker-dev-package: 1 error\n"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn rules_as_json_say_which_are_fixable() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(dir.path(), &["rules", "--format", "json"]);
    assert_exit(&output, 0);
    let catalogue: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let rules = catalogue["rules"].as_array().unwrap();
    let rule = |name: &str| {
        rules
            .iter()
            .find(|rule| rule["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .clone()
    };
    assert!(rules.len() > 25, "{}", rules.len());
    assert!(rules.iter().all(|rule| rule["fixable"].is_boolean()));
    assert_eq!(rule("not-unique-constant")["fixable"], true);
    assert_eq!(rule("parse-error")["fixable"], false);
    assert_eq!(rule("unmatched-suppression")["category"], "syntax");
    let extension = rule("private-api-extension");
    assert_eq!(extension["spryker_ids"][0], "PrivateApi:Extension");
    assert_eq!(extension["needs_core"], true);
    assert_eq!(extension["severity"], "error");
    assert!(extension.get("documentation").is_none());

    let output = run(
        dir.path(),
        &["rules", "PrivateApi:Extension", "--format", "json"],
    );
    assert_exit(&output, 0);
    let one: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(one["name"], "private-api-extension");
    assert!(
        one["documentation"]
            .as_str()
            .unwrap()
            .contains("## What it finds")
    );

    let text = stdout(&run(dir.path(), &["rules"]));
    let constant = text
        .lines()
        .find(|line| line.starts_with("not-unique-constant "))
        .unwrap();
    assert!(constant.contains(" yes "), "{constant}");
}

/// A dependency provider with pragmas: one suppresses its finding, one names a rule that
/// finds nothing there, one misspells a rule, one names a rule that did not run.
const PRAGMAS: &str = "<?php
namespace Pyz\\Zed\\Product;

use Spryker\\Zed\\Kernel\\Container;

class ProductDependencyProvider
{
    /**
     * @upkeep-ignore container-set-returns-array because the list is generated
     */
    protected function addPlugins(Container $container): Container
    {
        $container->set('a', function () {
            return [new FooPlugin()];
        });

        return $container;
    }

    /**
     * @upkeep-ignore container-set-returns-array
     */
    protected function addWidgets(Container $container): Container
    {
        return $container;
    }

    /**
     * @upkeep-ignore containr-set-returns-array
     * @upkeep-ignore dead-code
     */
    protected function addForms(Container $container): Container
    {
        return $container;
    }
}
";

#[test]
fn unknown_and_unused_suppressions_are_findings_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join(provider_path("Product")), PRAGMAS);
    let output = run(
        dir.path(),
        &[
            "gate",
            ".",
            "--format",
            "json",
            "--rules",
            "container-set-returns-array,unmatched-suppression",
        ],
    );
    assert_exit(&output, 1);
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let findings: Vec<(String, u64, u64, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["rule"].as_str().unwrap().to_string(),
                finding["line"].as_u64().unwrap(),
                finding["column"].as_u64().unwrap(),
                finding["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        [
            (
                "unmatched-suppression".to_string(),
                21,
                23,
                "`@upkeep-ignore container-set-returns-array` suppresses nothing: \
                 `container-set-returns-array` reports nothing here; remove it"
                    .to_string()
            ),
            (
                "unmatched-suppression".to_string(),
                29,
                23,
                "`@upkeep-ignore containr-set-returns-array` names no rule (did you mean \
                 `container-set-returns-array`?), so it suppresses nothing"
                    .to_string()
            ),
        ]
    );

    // Turned off like any rule.
    let output = run(
        dir.path(),
        &[
            "gate",
            ".",
            "--rules",
            "container-set-returns-array,unmatched-suppression",
            "--exclude-rules",
            "unmatched-suppression",
        ],
    );
    assert_exit(&output, 0);
    write(
        &dir.path().join("upkeep.toml"),
        "[gate.severity]\nunmatched-suppression = \"warning\"\n",
    );
    let output = run(
        dir.path(),
        &[
            "gate",
            ".",
            "--rules",
            "container-set-returns-array,unmatched-suppression",
        ],
    );
    assert_exit(&output, 0);
    assert_contains(&stdout(&output), "unmatched-suppression: 2 warnings");
}

#[test]
fn a_baseline_named_in_upkeep_toml_lets_only_new_findings_fail() {
    let repository = Repository::new();
    let shop = repository.shop();
    let gate = |extra: &[&str]| {
        let mut arguments = vec!["gate", "."];
        arguments.extend_from_slice(RULES);
        arguments.extend_from_slice(extra);
        run(&shop, &arguments)
    };
    // Named but not written yet: the run fails and says where the name comes from.
    write(
        &shop.join("upkeep.toml"),
        "[gate]\nbaseline = \"upkeep-baseline.json\"\n",
    );
    let output = gate(&[]);
    assert_exit(&output, 2);
    assert_contains(
        &stderr(&output),
        "(the `baseline` of `[gate]` in upkeep.toml)",
    );
    // `--generate-baseline` writes every finding, whatever the configured baseline says.
    let output = gate(&["--generate-baseline", "upkeep-baseline.json"]);
    assert_exit(&output, 0);
    assert_contains(&stderr(&output), "3 findings");
    let output = gate(&[]);
    assert_exit(&output, 0);
    assert_contains(&stdout(&output), "baseline: 3 known findings not shown");
    let output = gate(&["--generate-baseline", "upkeep-baseline.json"]);
    assert_contains(&stderr(&output), "3 findings");

    // A new finding fails the gate, alone.
    write(
        &shop.join(provider_path("Cart")),
        &provider("Cart", &["addPlugins"]),
    );
    let output = gate(&["--format", "json"]);
    assert_exit(&output, 1);
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["summary"]["findings"], 1);
    assert_eq!(
        report["findings"][0]["file"],
        "src/Pyz/Zed/Cart/CartDependencyProvider.php"
    );
    // `--no-baseline` reports everything.
    let output = gate(&["--no-baseline", "--format", "json"]);
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["summary"]["findings"], 4);
}
