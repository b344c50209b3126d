//! End-to-end test of the upgrade preview, `upkeep gate --compare-core OLD_VENDOR_DIR`, on
//! `tests/fixtures/compare-core`: `project/` holds the project with the new core in its
//! `vendor/`, `old-vendor/` the same packages one release earlier.
//!
//! Between the two, core changed in ways the project feels (signatures, also of a method
//! inherited from a grandparent, a body the project overrides, a removed method, constant and
//! class, new deprecations, a method added where the project already has one, a method added to
//! an interface the project implements) and in ways it does not (a body change that only
//! re-wraps code, a body change of a method the project does not override, a removed method and
//! constant nobody uses, a method moved up to the parent class, a class the project does not
//! use, an unchanged parent).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/compare-core")
}

fn gate(extra: &[&str]) -> Command {
    let mut command = Command::cargo_bin("upkeep").unwrap();
    command
        .env("NO_COLOR", "1")
        .arg("gate")
        .arg(fixture().join("project"))
        .args(["--no-cache", "--rules", "deprecated-core-usage"])
        .args(extra);
    command
}

fn with_old_vendor(extra: &[&str]) -> Command {
    let old_vendor = fixture().join("old-vendor");
    let mut arguments = vec!["--compare-core", old_vendor.to_str().unwrap()];
    arguments.extend_from_slice(extra);
    gate(&arguments)
}

#[test]
fn json_lists_each_change_with_the_project_code_it_affects() {
    // The project extends a class core now deprecates: one finding, so exit 1.
    let output = with_old_vendor(&["--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&output).unwrap();
    for key in ["findings", "notices", "summary"] {
        assert!(report.get(key).is_some(), "the JSON report lost `{key}`");
    }
    let changes: Vec<String> = report["core_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| {
            let affected: Vec<String> = change["affected"]
                .as_array()
                .unwrap()
                .iter()
                .map(|affected| {
                    format!(
                        "{} {}:{}",
                        affected["relation"].as_str().unwrap(),
                        affected["file"]
                            .as_str()
                            .unwrap()
                            .rsplit('/')
                            .next()
                            .unwrap(),
                        affected["line"]
                    )
                })
                .collect();
            format!(
                "{} {} {} <- {}",
                change["class"]
                    .as_str()
                    .unwrap()
                    .rsplit('\\')
                    .next()
                    .unwrap(),
                change["change"].as_str().unwrap(),
                change["member"].as_str().unwrap_or("-"),
                affected.join(", ")
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            "AbstractFacade signature-changed getFactory() <- overrides ProductFacade.php:50",
            "ProductFacade signature-changed findProductAbstractById() <- overrides ProductFacade.php:11",
            "ProductFacade method-added getProductAbstractSku() <- overrides ProductFacade.php:30",
            "ProductFacade method-deprecated getProductConcrete() <- extends ProductFacade.php:9",
            "ProductFacade body-changed getProductUrl() <- overrides ProductFacade.php:16",
            "ProductFacade method-removed saveProduct() <- overrides ProductFacade.php:25",
            "ProductFacade constant-removed DEFAULT_LIMIT <- extends ProductFacade.php:9",
            "ProductUrlGenerator class-removed - <- extends ProductUrlGenerator.php:7",
            "ProductDependencyProvider class-deprecated - <- extends ProductDependencyProvider.php:7",
            "ProductAbstractPreCreatePluginInterface method-added preCreateBatch() <- implements SkuPreCreatePlugin.php:8",
        ]
    );
    let signature = &report["core_changes"][1];
    assert_eq!(
        signature["old"],
        "public function findProductAbstractById(int $idProductAbstract): ?Generated\\Shared\\Transfer\\ProductAbstractTransfer"
    );
    assert_eq!(
        signature["new"],
        "public function findProductAbstractById(int $idProductAbstract, bool $withDeleted = …): ?Generated\\Shared\\Transfer\\ProductAbstractTransfer"
    );
    assert_eq!(
        report["core_changes"][3]["new"],
        "Use findProductConcreteBySku() instead."
    );
}

#[test]
fn text_report_has_a_core_changes_section() {
    let assert = with_old_vendor(&[]).assert().code(1);
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let section = stdout
        .split_once("Core changes since ")
        .unwrap_or_else(|| panic!("no core changes section in:\n{stdout}"))
        .1;
    assert!(section.contains("(6 compared core classes):"), "{section}");
    for expected in [
        "  Spryker\\Zed\\Product\\Business\\ProductFacade\n    signature-changed findProductAbstractById(): overrides must match the new signature\n      old: public function findProductAbstractById(int $idProductAbstract): ?Generated\\Shared\\Transfer\\ProductAbstractTransfer\n",
        "    body-changed getProductUrl(): core changed the body of a method you override\n      overrides Pyz\\Zed\\Product\\Business\\ProductFacade::getProductUrl() at src/Pyz/Zed/Product/Business/ProductFacade.php:16\n",
        "    class-removed: code that extends, implements or uses it no longer loads\n",
        "    method-added preCreateBatch(): every implementation must declare it\n",
        "  10 changes affecting 9 project classes and methods\n",
    ] {
        assert!(
            section.contains(expected),
            "missing {expected:?} in:\n{section}"
        );
    }
    // Re-wrapped code, a body the project does not override, a removed method and constant the
    // project neither overrides nor uses, and classes the project does not build on (or that did
    // not change) are not listed.
    for absent in [
        "touchProductAbstract",
        "createProductAbstract",
        "deleteProduct",
        // Moved from `ProductFacade` up to `AbstractFacade`: still inherited, unchanged.
        "getModuleName",
        "DEFAULT_SORT",
        "ProductReader",
        "ProductConfig",
    ] {
        assert!(!section.contains(absent), "{absent} listed in:\n{section}");
    }
}

#[test]
fn without_the_flag_the_reports_have_no_core_changes() {
    let output = gate(&["--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let report: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert!(report.get("core_changes").is_none());
    gate(&[])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Core changes").not());
}

#[test]
fn a_bad_old_vendor_directory_fails_the_run_with_a_hint() {
    let missing = fixture().join("no-such-vendor");
    gate(&["--compare-core", missing.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("no-such-vendor")
                .and(predicate::str::contains("is not a directory"))
                .and(predicate::str::contains("hint:")),
        );
    // A directory without `spryker*/<package>/src`: the project's own source tree.
    let not_a_vendor = fixture().join("project/src");
    gate(&["--compare-core", not_a_vendor.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "holds no `spryker*/<package>/src` directories",
        ));
}

#[test]
fn the_directory_that_holds_vendor_is_accepted_too() {
    // `project/` holds `vendor/spryker/...`: comparing the project's core with itself finds
    // nothing.
    let project = fixture().join("project");
    gate(&["--compare-core", project.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "none of the core classes the project extends, implements or uses changed",
        ));
}
