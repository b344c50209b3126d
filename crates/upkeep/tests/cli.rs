//! End-to-end tests of the built `upkeep` binary: arguments, output and exit codes.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use predicates::prelude::*;

fn upkeep() -> Command {
    let mut command = Command::cargo_bin("upkeep").unwrap();
    // Runs on the repository's example and fixtures must not leave a cache in the source tree.
    let cache = std::env::temp_dir().join("upkeep-cli-tests-cache");
    command
        .env("NO_COLOR", "1")
        .env_remove("PROJECT_PHP_VERSION")
        .env("UPKEEP_CACHE_DIR", cache);
    command
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    repository().join("tests/fixtures/rules").join(name)
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

const CLEAN_CLASS: (&str, &str) = (
    "src/Pyz/Zed/Product/Business/ProductReader.php",
    "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nclass ProductReader\n{\n}\n",
);
const BROKEN_CLASS: (&str, &str) = (
    "src/Pyz/Zed/Product/Business/ProductFacade.php",
    "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nclass ProductFacade\n{\n\tpublic function get() { return [1, 2; }\n}\n",
);

#[test]
fn help_and_version() {
    upkeep()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("gate").and(predicate::str::contains("rules")));
    upkeep()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("upkeep "));
    upkeep().args(["gate", "--help"]).assert().success().stdout(
        predicate::str::contains("--format")
            .and(predicate::str::contains("--exclude-rules"))
            .and(predicate::str::contains("--jobs")),
    );
    upkeep().args(["rules", "--help"]).assert().success();
}

#[test]
fn clean_project_exits_zero() {
    let dir = project(&[CLEAN_CLASS]);
    upkeep()
        .args(["gate", "--rules", "parse-error"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no findings"));
}

#[test]
fn findings_exit_one_and_show_the_source_line() {
    let dir = project(&[CLEAN_CLASS, BROKEN_CLASS]);
    let output = upkeep()
        .arg("gate")
        .arg(dir.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    assert!(
        text.contains("error[parse-error]: PHP syntax error"),
        "{text}"
    );
    assert!(
        text.contains("--> src/Pyz/Zed/Product/Business/ProductFacade.php:6:38"),
        "{text}"
    );
    // The tab is expanded and the marker sits under the `;`.
    assert!(text.contains("6 |     public function get() { return [1, 2; }\n  |                                         ^"), "{text}");
    assert!(
        text.contains("= guideline: https://docs.spryker.com/"),
        "{text}"
    );
    assert!(
        text.contains("1 finding (1 error, 0 warnings) in 2 project files"),
        "{text}"
    );
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .arg("--exit-zero")
        .assert()
        .code(0);
}

#[test]
fn json_report_goes_to_the_output_file() {
    let dir = project(&[BROKEN_CLASS]);
    let report = dir.path().join("report.json");
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--format", "json", "--output"])
        .arg(&report)
        .assert()
        .code(1)
        .stdout("");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let finding = &json["findings"][0];
    assert_eq!(finding["rule"], "parse-error");
    assert_eq!(
        finding["file"],
        "src/Pyz/Zed/Product/Business/ProductFacade.php"
    );
    assert_eq!(finding["line"], 6);
    assert_eq!(finding["column"], 38);
    assert_eq!(json["summary"]["findings"], 1);
    assert_eq!(json["summary"]["by_rule"]["parse-error"], 1);
}

#[test]
fn bad_path_and_bad_arguments_exit_two() {
    upkeep()
        .args(["gate", "/definitely/not/here"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("/definitely/not/here").and(predicate::str::contains("hint:")),
        );
    let dir = project(&[CLEAN_CLASS]);
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--rules", "parse-eror"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown rule `parse-eror` (did you mean `parse-error`?)",
        ));
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--format", "yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown format `yaml`"));
}

#[test]
fn invalid_configuration_names_file_and_key() {
    let dir = project(&[
        CLEAN_CLASS,
        ("tooling.yml", "evaluator:\n  rules:\n    ignore: 5\n"),
    ]);
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("tooling.yml")
                .and(predicate::str::contains("evaluator.rules.ignore")),
        );
    let dir = project(&[
        CLEAN_CLASS,
        ("upkeep.toml", "[gate]\nrules = [\"no-such-rule\"]\n"),
    ]);
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule `no-such-rule`"));
    let dir = project(&[CLEAN_CLASS, ("upkeep.toml", "[gate]\njobs = 3\n")]);
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("upkeep.toml").and(predicate::str::contains("jobs")));
}

#[test]
fn tooling_yml_ignores_and_warn_only_rules_apply() {
    let ignored = project(&[
        BROKEN_CLASS,
        (
            "tooling.yml",
            "evaluator:\n  ignoreErrors:\n    - '#PHP syntax error#'\n",
        ),
    ]);
    upkeep()
        .arg("gate")
        .arg(ignored.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no findings"));
    let warned = project(&[
        BROKEN_CLASS,
        (
            "upkeep.toml",
            "[gate.severity]\nparse-error = \"warning\"\n",
        ),
    ]);
    upkeep()
        .arg("gate")
        .arg(warned.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("warning[parse-error]"));
}

#[test]
fn rules_catalogue_and_documentation() {
    upkeep()
        .arg("rules")
        .assert()
        .success()
        .stdout(predicate::str::contains("parse-error"));
    upkeep()
        .args(["rules", "parse-error"])
        .assert()
        .success()
        .stdout(predicate::str::contains("## What it finds"));
    upkeep().args(["rules", "nope"]).assert().code(2);
}

#[test]
fn jobs_flag_gives_the_same_report() {
    let one = upkeep()
        .arg("gate")
        .arg(fixture("parse-error"))
        .args(["--format", "json", "--jobs", "1"])
        .output()
        .unwrap();
    let four = upkeep()
        .arg("gate")
        .arg(fixture("parse-error"))
        .args(["--format", "json", "--jobs", "4"])
        .output()
        .unwrap();
    assert_eq!(one.status.code(), Some(1));
    assert_eq!(one.stdout, four.stdout);
}

#[test]
fn example_shop_report_lists_its_deliberate_problems() {
    let output = upkeep()
        .arg("gate")
        .arg(repository().join("examples/spryker-shop"))
        .args(["--format", "json"])
        .env("PROJECT_PHP_VERSION", "8.2.12")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut found: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            format!(
                "{} {}:{}",
                finding["rule"].as_str().unwrap(),
                finding["file"].as_str().unwrap(),
                finding["line"]
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "container-set-returns-array src/Pyz/Zed/Product/ProductDependencyProvider.php:35",
            "dead-code src/Pyz/Zed/Product/Business/Reader/ProductReader.php:7",
            "dependency-provider-additional-logic src/Pyz/Zed/Product/ProductDependencyProvider.php:30",
            "deprecated-core-usage src/Pyz/Zed/Product/Business/Reader/ProductReader.php:9",
            "multidimensional-plugin-array src/Pyz/Yves/CartPage/CartPageDependencyProvider.php:17",
            "not-unique-method src/Pyz/Zed/Product/ProductConfig.php:12",
            "plugin-restriction-docblock src/Pyz/Zed/Product/ProductDependencyProvider.php:52",
            "private-api-extension src/Pyz/Zed/Product/Business/Reader/ProductReader.php:7",
            "single-plugin-argument src/Pyz/Zed/Product/ProductDependencyProvider.php:55",
            "spryker-dev-package composer.json:9",
        ]
    );
    assert_eq!(json["summary"]["files"], 8);
}

/// `upkeep gate . --format json | head -c 100`: the reader goes away before the report is
/// written. Rust ignores SIGPIPE, so the write fails with `BrokenPipe`; upkeep must then stop
/// quietly, as `cat` or `rg` do, instead of panicking.
#[test]
fn closed_stdout_pipe_ends_quietly() {
    // The report is larger than a pipe holds (64 KiB on Linux), so it cannot slip into the pipe
    // before the read end is closed, whatever the timing.
    let files: Vec<(String, &str)> = (0..500)
        .map(|index| {
            (
                format!("src/Pyz/Zed/Product/Business/ProductFacade{index}.php"),
                BROKEN_CLASS.1,
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(path, content)| (path.as_str(), *content))
        .collect();
    let dir = project(&files);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("gate")
        .arg(dir.path())
        .args(["--format", "json", "--exit-zero"])
        .env("NO_COLOR", "1")
        .env("UPKEEP_CACHE_DIR", dir.path().join(".cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Not 0: the report was not all written (a gate must not pass under `set -o pipefail`).
    assert_eq!(output.status.code(), Some(141), "stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "stderr:\n{stderr}");
    assert!(!stderr.contains("Broken pipe"), "stderr:\n{stderr}");
}
