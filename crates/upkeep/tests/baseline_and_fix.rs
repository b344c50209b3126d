//! End-to-end tests of `upkeep gate --baseline`, `--generate-baseline`, `--changed-since`,
//! `--fix` and `--diff`: the built binary on throwaway projects (and real git repositories).

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn upkeep() -> Command {
    let mut command = Command::cargo_bin("upkeep").unwrap();
    command
        .env("NO_COLOR", "1")
        .env_remove("PROJECT_PHP_VERSION");
    command
}

fn write(root: &Path, path: &str, content: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, content).unwrap();
}

/// A throwaway project with the given files.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        write(dir.path(), path, content);
    }
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", text(&output.stdout)))
}

/// `rule file:line` of every finding of a JSON report.
fn findings(report: &Value) -> Vec<String> {
    report["findings"]
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
        .collect()
}

const PROVIDER_PATH: &str = "src/Pyz/Zed/Product/ProductDependencyProvider.php";

/// A dependency provider with `arrays` closures that return an array literal (each a
/// `container-set-returns-array` finding with the same message), after `padding` blank lines.
fn provider(arrays: usize, padding: usize) -> String {
    let mut text = String::from(
        "<?php\n\nnamespace Pyz\\Zed\\Product;\n\nuse Spryker\\Zed\\Kernel\\Container;\nuse Spryker\\Zed\\Product\\ProductDependencyProvider as SprykerProductDependencyProvider;\n\nclass ProductDependencyProvider extends SprykerProductDependencyProvider\n{\n",
    );
    text.push_str(&"\n".repeat(padding));
    text.push_str("    public function provideBusinessLayerDependencies(Container $container): Container\n    {\n");
    for index in 0..arrays {
        let _ = write!(
            text,
            "        $container->set(static::PLUGINS_{index}, function (Container $container) {{\n            return [new FooPlugin()];\n        }});\n"
        );
    }
    // Near-miss: a method call, not an array literal.
    text.push_str("        $container->set(static::OTHER, function (Container $container) {\n            return $this->getOtherPlugins();\n        });\n\n        return $container;\n    }\n}\n");
    text
}

/// The message of the project's first `container-set-returns-array` finding (the rule owns
/// its wording; these tests only need it to be the same each time).
fn array_message(root: &Path) -> String {
    let output = upkeep()
        .arg("gate")
        .arg(root)
        .args(["--rules", "container-set-returns-array", "--format", "json"])
        .output()
        .unwrap();
    json(&output)["findings"][0]["message"]
        .as_str()
        .expect("a container-set-returns-array finding")
        .to_string()
}

const COMPOSER: (&str, &str) = (
    "composer.json",
    "{\n    \"name\": \"pyz/shop\",\n    \"require\": {\n        \"php\": \">=8.2\",\n        \"spryker/cart\": \"dev-master\"\n    }\n}\n",
);
const CLEAN_PATH: &str = "src/Pyz/Zed/Product/Business/ProductReader.php";
const CLEAN_CLASS: &str =
    "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nclass ProductReader\n{\n}\n";
const BROKEN_CLASS: &str = "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nclass ProductReader\n{\n\tpublic function get() { return [1, 2; }\n}\n";

const RULES: &str = "container-set-returns-array,spryker-dev-package,parse-error";

#[test]
fn help_documents_the_flags() {
    upkeep().args(["gate", "--help"]).assert().success().stdout(
        predicate::str::contains("--baseline <FILE>")
            .and(predicate::str::contains("--generate-baseline <FILE>"))
            .and(predicate::str::contains("Always exits with 0"))
            .and(predicate::str::contains("--changed-since <REV>"))
            .and(predicate::str::contains("--fix"))
            .and(predicate::str::contains("--diff")),
    );
}

#[test]
fn generated_baseline_is_sorted_counted_without_lines_and_stable() {
    let dir = project(&[
        COMPOSER,
        (PROVIDER_PATH, &provider(2, 0)),
        (CLEAN_PATH, BROKEN_CLASS),
    ]);
    let baseline = dir.path().join("baseline.json");
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--rules", RULES, "--generate-baseline"])
        .arg(&baseline)
        .assert()
        .code(0)
        .stdout("")
        .stderr(predicate::str::contains(format!(
            "wrote {}: 3 entries for 4 findings",
            baseline.display()
        )));
    let written = std::fs::read_to_string(&baseline).unwrap();
    let document: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(document["version"], 1);
    let entries: Vec<(String, String, u64)> = document["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            assert!(entry.get("line").is_none(), "{entry}");
            (
                entry["file"].as_str().unwrap().to_string(),
                entry["rule"].as_str().unwrap().to_string(),
                entry["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("composer.json".into(), "spryker-dev-package".into(), 1),
            (CLEAN_PATH.into(), "parse-error".into(), 1),
            (
                PROVIDER_PATH.into(),
                "container-set-returns-array".into(),
                2
            ),
        ]
    );
    assert_eq!(document["entries"][2]["message"], array_message(dir.path()));
    assert!(
        written.starts_with("{\n  \"version\": 1,\n  \"entries\": [\n"),
        "{written}"
    );
    assert!(written.ends_with("}\n"));

    // The same findings on other lines give the same bytes.
    write(dir.path(), PROVIDER_PATH, &provider(2, 5));
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--rules", RULES, "--generate-baseline"])
        .arg(&baseline)
        .assert()
        .code(0);
    assert_eq!(std::fs::read_to_string(&baseline).unwrap(), written);
}

#[test]
fn baseline_reports_only_new_findings_and_what_was_fixed() {
    let dir = project(&[
        COMPOSER,
        (PROVIDER_PATH, &provider(2, 0)),
        (CLEAN_PATH, BROKEN_CLASS),
    ]);
    let baseline = dir.path().join("baseline.json");
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--rules", RULES, "--generate-baseline"])
        .arg(&baseline)
        .assert()
        .code(0);

    // Unchanged: nothing new, exit 0.
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--rules", RULES, "--baseline"])
        .arg(&baseline)
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("baseline: 4 known findings not shown\n")
                .and(predicate::str::contains("no findings")),
        );

    // Moved down, one more array, the parse error fixed.
    write(dir.path(), PROVIDER_PATH, &provider(3, 4));
    write(dir.path(), CLEAN_PATH, CLEAN_CLASS);
    let output = upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--rules", RULES, "--baseline"])
        .arg(&baseline)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report = text(&output.stdout);
    let message = array_message(dir.path());
    assert!(
        report.contains(&format!(
            "error[container-set-returns-array]: {message}\n  --> {PROVIDER_PATH}:23:20\n"
        )),
        "{report}"
    );
    assert_eq!(report.matches("error[").count(), 1, "{report}");
    assert!(
        report.contains(&format!(
            "baseline: 3 known findings not shown; 1 entry no longer occurs (fixed)\nfixed: {CLEAN_PATH} [parse-error] PHP syntax error: "
        )),
        "{report}"
    );
    assert!(
        report.contains(
            "hint: `upkeep gate --generate-baseline FILE` rewrites the baseline without them\n"
        ),
        "{report}"
    );

    // The same in JSON: existing keys unchanged, `fixed` and `summary.baselined` added.
    let output = upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--rules", RULES, "--format", "json", "--baseline"])
        .arg(&baseline)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report = json(&output);
    assert_eq!(
        findings(&report),
        [format!("container-set-returns-array {PROVIDER_PATH}:23")]
    );
    assert_eq!(report["summary"]["findings"], 1);
    assert_eq!(report["summary"]["baselined"], 3);
    let fixed = report["fixed"].as_array().unwrap();
    assert_eq!(fixed.len(), 1);
    assert_eq!(fixed[0]["file"], CLEAN_PATH);
    assert_eq!(fixed[0]["rule"], "parse-error");
    assert_eq!(fixed[0]["count"], 1);
    assert_eq!(fixed[0]["baseline_count"], 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("fixed: {CLEAN_PATH} [parse-error] ")),
        "{stderr}"
    );

    // Fewer than baselined: partly fixed, and a clean exit.
    write(dir.path(), PROVIDER_PATH, &provider(1, 0));
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--rules", RULES, "--baseline"])
        .arg(&baseline)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "fixed: {PROVIDER_PATH} [container-set-returns-array] {message} (1 of 2)\n"
        )));

    // Without the baseline every finding is back.
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--rules", RULES])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("2 findings"));
}

#[test]
fn baseline_accepts_spryker_ids() {
    let dir = project(&[COMPOSER, (PROVIDER_PATH, &provider(2, 0))]);
    let message = serde_json::to_string(&array_message(dir.path())).unwrap();
    let entries = format!(
        "{{\"version\": 1, \"entries\": [\
         {{\"file\": \"{PROVIDER_PATH}\", \"rule\": \"CONTAINER_SET_FUNCTION_CHECKER\", \"message\": {message}, \"count\": 2}},\
         {{\"file\": \"composer.json\", \"rule\": \"SPRYKER_DEV_PACKAGES_CHECKER\", \"message\": \"x\", \"count\": 1}}]}}"
    );
    let baseline = dir.path().join("spryker.json");
    std::fs::write(&baseline, entries).unwrap();
    let output = upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--rules", RULES, "--format", "json", "--baseline"])
        .arg(&baseline)
        .output()
        .unwrap();
    let report = json(&output);
    // The provider's two are baselined by the Spryker id; composer.json's message differs.
    assert_eq!(findings(&report), ["spryker-dev-package composer.json:5"]);
    assert_eq!(report["fixed"][0]["rule"], "spryker-dev-package");
    assert_eq!(report["fixed"][0]["message"], "x");
}

#[test]
fn missing_or_malformed_baseline_exits_two_naming_file_and_position() {
    let dir = project(&[(CLEAN_PATH, CLEAN_CLASS)]);
    let missing = dir.path().join("nope.json");
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .arg("--baseline")
        .arg(&missing)
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains(format!(
                "error: {}: cannot read the baseline: ",
                missing.display()
            ))
            .and(predicate::str::contains("hint: write a baseline with")),
        );
    let malformed = dir.path().join("bad.json");
    std::fs::write(
        &malformed,
        "{\n  \"version\": 1,\n  \"entries\": [\n    {\"file\": \"a.php\", \"rule\": \"parse-error\", \"message\": \"m\", \"count\": \"two\"}\n  ]\n}\n",
    )
    .unwrap();
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .arg("--baseline")
        .arg(&malformed)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains(format!("error: {}:4:", malformed.display()))
                .and(predicate::str::contains("entries[0].count")),
        );
    std::fs::write(&malformed, "[]").unwrap();
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .arg("--baseline")
        .arg(&malformed)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "error: {}:1:",
            malformed.display()
        )));
}

#[test]
fn generate_baseline_conflicts_with_baseline_and_fix() {
    let dir = project(&[(CLEAN_PATH, CLEAN_CLASS)]);
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--generate-baseline", "a.json", "--baseline", "b.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--fix", "--diff"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

/// Runs git in `dir` with a fixed identity, failing the test if git fails.
fn git(dir: &Path, args: &[&str]) {
    let output = std::process::Command::new("git")
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Upkeep Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Upkeep Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        text(&output.stderr)
    );
}

/// A git repository whose subdirectory `shop/` is a project with findings in the provider and
/// in `composer.json`, committed; returns the repository and the project root.
fn repository_with_project() -> (tempfile::TempDir, PathBuf) {
    let repository = tempfile::tempdir().unwrap();
    let root = repository.path().join("shop");
    write(&root, COMPOSER.0, COMPOSER.1);
    write(&root, PROVIDER_PATH, &provider(1, 0));
    write(&root, CLEAN_PATH, CLEAN_CLASS);
    write(repository.path(), "README.md", "outside the project\n");
    git(repository.path(), &["init", "-q"]);
    git(repository.path(), &["add", "."]);
    git(repository.path(), &["commit", "-q", "-m", "shop"]);
    (repository, root)
}

fn changed_since(root: &Path, revision: &str) -> Output {
    upkeep()
        .arg("gate")
        .arg(root)
        .args([
            "--rules",
            RULES,
            "--format",
            "json",
            "--changed-since",
            revision,
        ])
        .output()
        .unwrap()
}

#[test]
fn changed_since_reports_only_changed_and_untracked_files() {
    let (repository, root) = repository_with_project();

    let output = changed_since(&root, "HEAD");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(findings(&json(&output)), Vec::<String>::new());

    // A tracked file changed, an untracked one added, a file outside the project changed.
    write(&root, CLEAN_PATH, BROKEN_CLASS);
    let new_path = "src/Pyz/Zed/Product/Business/ProductWriter.php";
    write(
        &root,
        new_path,
        &BROKEN_CLASS.replace("ProductReader", "ProductWriter"),
    );
    write(repository.path(), "README.md", "changed\n");
    let output = changed_since(&root, "HEAD");
    assert_eq!(output.status.code(), Some(1));
    let report = json(&output);
    assert_eq!(
        findings(&report),
        [
            format!("parse-error {CLEAN_PATH}:6"),
            format!("parse-error {new_path}:6"),
        ]
    );
    // Everything was read; only the report is narrowed.
    assert_eq!(report["summary"]["files"], 3);
    let notice = report["notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|notice| notice["rule"] == "changed-since")
        .expect("a changed-since notice");
    assert_eq!(
        notice["message"],
        "reporting only on the 2 files changed since `HEAD`; 2 findings in other files not shown"
    );

    // A committed change to composer.json counts against the older revision only.
    write(
        &root,
        "composer.json",
        &COMPOSER.1.replace("pyz/shop", "pyz/store"),
    );
    git(repository.path(), &["add", "."]);
    git(repository.path(), &["commit", "-q", "-m", "change"]);
    assert_eq!(
        findings(&json(&changed_since(&root, "HEAD"))),
        Vec::<String>::new()
    );
    assert_eq!(
        findings(&json(&changed_since(&root, "HEAD~1"))),
        [
            "spryker-dev-package composer.json:5".to_string(),
            format!("parse-error {CLEAN_PATH}:6"),
            format!("parse-error {new_path}:6"),
        ]
    );
}

#[test]
fn changed_since_with_baseline_keeps_baselined_findings_of_unchanged_files_matched() {
    let (repository, root) = repository_with_project();
    let baseline = repository.path().join("baseline.json");
    upkeep()
        .arg("gate")
        .arg(&root)
        .args(["--rules", RULES, "--generate-baseline"])
        .arg(&baseline)
        .assert()
        .code(0);
    write(&root, CLEAN_PATH, BROKEN_CLASS);
    let output = upkeep()
        .arg("gate")
        .arg(&root)
        .args([
            "--rules",
            RULES,
            "--format",
            "json",
            "--changed-since",
            "HEAD",
            "--baseline",
        ])
        .arg(&baseline)
        .output()
        .unwrap();
    let report = json(&output);
    assert_eq!(findings(&report), [format!("parse-error {CLEAN_PATH}:6")]);
    assert_eq!(report["fixed"], Value::Array(Vec::new()));
    assert_eq!(report["summary"]["baselined"], 2);
}

#[test]
fn changed_since_outside_git_or_with_an_unknown_revision_exits_two() {
    let dir = project(&[(CLEAN_PATH, CLEAN_CLASS)]);
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--changed-since", "HEAD"])
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains("not a git repository")
                .and(predicate::str::contains("hint: `--changed-since` needs")),
        );
    let (_repository, root) = repository_with_project();
    upkeep()
        .arg("gate")
        .arg(&root)
        .args(["--changed-since", "no-such-branch"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-branch"));
}

#[test]
fn diff_without_fixes_prints_nothing_and_exits_like_a_normal_run() {
    let dir = project(&[(CLEAN_PATH, BROKEN_CLASS)]);
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .arg("--diff")
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "note: 0 of 1 reported finding can be fixed automatically",
        ));
    let before = std::fs::read(dir.path().join(CLEAN_PATH)).unwrap();
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .arg("--fix")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("error[parse-error]"))
        .stderr(predicate::str::contains(
            "note: none of the 1 reported finding has an automatic fix",
        ));
    assert_eq!(std::fs::read(dir.path().join(CLEAN_PATH)).unwrap(), before);
}

/// A copy of `tests/fixtures/fix` (fixes write into it).
fn fix_fixture() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/fix"),
        dir.path(),
    );
    dir
}

const FIX_CONFIG: &str = "src/Pyz/Zed/Product/ProductConfig.php";
const FIX_READER: &str = "src/Pyz/Zed/Product/Business/ProductReader.php";

/// `ProductConfig.php` after `--fix`: `COLOR_ATTRIBUTE` renamed at its declaration and its
/// use; `SHAPE_ATTRIBUTE` (read through an object) and the near-misses untouched.
const FIXED_CONFIG: &str = r"<?php

namespace Pyz\Zed\Product;

use Spryker\Zed\Product\ProductConfig as SprykerProductConfig;

class ProductConfig extends SprykerProductConfig
{
    // Redeclares a core constant: not reported, not renamed.
    protected const DEFAULT_LIMIT = 50;

    // Prefixed already: not reported.
    public const PYZ_SIZE_ATTRIBUTE = 'size';

    public const PYZ_COLOR_ATTRIBUTE = 'color';

    // Read through an object elsewhere, so it cannot be renamed safely: reported, not fixed.
    public const SHAPE_ATTRIBUTE = 'shape';

    /**
     * @return array<string>
     */
    public function getAttributes(): array
    {
        return [static::PYZ_COLOR_ATTRIBUTE, self::PYZ_SIZE_ATTRIBUTE];
    }
}
";

/// `ProductReader.php` after `--fix`: tabs, the trailing spaces of the comment line, the
/// comment's mention of the name and the missing final newline are kept.
const FIXED_READER: &str = "<?php\n\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Pyz\\Zed\\Product\\ProductConfig;\n\nclass ProductReader\n{\n\t// COLOR_ATTRIBUTE in a comment stays as it is.  \n\tpublic function getColor(array $attributes): ?string\n\t{\n\t\treturn $attributes[ProductConfig::PYZ_COLOR_ATTRIBUTE] ?? null;\n\t}\n\n\tpublic function getShape(ProductConfig $config): string\n\t{\n\t\treturn $config::SHAPE_ATTRIBUTE;\n\t}\n}";

const FIX_DIFF: &str = "\
--- a/src/Pyz/Zed/Product/Business/ProductReader.php
+++ b/src/Pyz/Zed/Product/Business/ProductReader.php
@@ -9,7 +9,7 @@
 \t// COLOR_ATTRIBUTE in a comment stays as it is.\x20\x20
 \tpublic function getColor(array $attributes): ?string
 \t{
-\t\treturn $attributes[ProductConfig::COLOR_ATTRIBUTE] ?? null;
+\t\treturn $attributes[ProductConfig::PYZ_COLOR_ATTRIBUTE] ?? null;
 \t}
\x20
 \tpublic function getShape(ProductConfig $config): string
--- a/src/Pyz/Zed/Product/ProductConfig.php
+++ b/src/Pyz/Zed/Product/ProductConfig.php
@@ -12,7 +12,7 @@
     // Prefixed already: not reported.
     public const PYZ_SIZE_ATTRIBUTE = 'size';
\x20
-    public const COLOR_ATTRIBUTE = 'color';
+    public const PYZ_COLOR_ATTRIBUTE = 'color';
\x20
     // Read through an object elsewhere, so it cannot be renamed safely: reported, not fixed.
     public const SHAPE_ATTRIBUTE = 'shape';
@@ -22,6 +22,6 @@
      */
     public function getAttributes(): array
     {
-        return [static::COLOR_ATTRIBUTE, self::PYZ_SIZE_ATTRIBUTE];
+        return [static::PYZ_COLOR_ATTRIBUTE, self::PYZ_SIZE_ATTRIBUTE];
     }
 }
";

fn read(root: &Path, path: &str) -> Vec<u8> {
    std::fs::read(root.join(path)).unwrap()
}

#[test]
fn diff_shows_the_rename_and_changes_nothing() {
    let dir = fix_fixture();
    let before = [read(dir.path(), FIX_CONFIG), read(dir.path(), FIX_READER)];
    let output = upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--rules", "not-unique-constant", "--diff"])
        .output()
        .unwrap();
    // Two findings, one of them without a fix: exit as a normal run would.
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), FIX_DIFF);
    assert!(
        text(&output.stderr).contains(
            "note: 1 of 2 reported findings can be fixed automatically, in 2 files; `--fix` applies this diff"
        ),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(
        [read(dir.path(), FIX_CONFIG), read(dir.path(), FIX_READER)],
        before
    );

    // The diff applies (git apply works outside a repository) and gives what `--fix` writes.
    let patch = dir.path().join("fix.patch");
    std::fs::write(&patch, &output.stdout).unwrap();
    let applied = std::process::Command::new("git")
        .args(["apply", "fix.patch"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    assert_eq!(text(&read(dir.path(), FIX_CONFIG)), FIXED_CONFIG);
    assert_eq!(text(&read(dir.path(), FIX_READER)), FIXED_READER);
}

#[test]
fn fix_renames_the_constant_and_its_uses_and_reports_what_remains() {
    let dir = fix_fixture();
    let core = "vendor/spryker/product/src/Spryker/Zed/Product/ProductConfig.php";
    let core_before = read(dir.path(), core);
    let output = upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--rules", "not-unique-constant", "--fix"])
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(read(dir.path(), FIX_CONFIG), FIXED_CONFIG.as_bytes());
    assert_eq!(read(dir.path(), FIX_READER), FIXED_READER.as_bytes());
    assert_eq!(read(dir.path(), core), core_before);
    assert!(
        stderr.contains(&format!(
            "fixed: {FIX_CONFIG}:15:18 [not-unique-constant] rename `ProductConfig::COLOR_ATTRIBUTE` to `PYZ_COLOR_ATTRIBUTE`"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("note: applied 1 fix to 2 files; checking again"),
        "{stderr}"
    );
    // The report is of the second run: only the finding without a fix is left.
    assert!(
        stdout.contains("`ProductConfig::SHAPE_ATTRIBUTE`") && !stdout.contains("COLOR_ATTRIBUTE`"),
        "{stdout}"
    );
    assert!(stdout.contains("1 finding (1 error"), "{stdout}");
    // No temporary files are left behind.
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("src/Pyz/Zed/Product"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Business", "ProductConfig.php"]);

    // A second `--fix` has nothing left to do and changes nothing.
    upkeep()
        .arg("gate")
        .arg(dir.path())
        .args(["--rules", "not-unique-constant", "--fix"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("fixed:").not());
    assert_eq!(read(dir.path(), FIX_CONFIG), FIXED_CONFIG.as_bytes());
}
