//! `upkeep gate` with its cache: a second run reports exactly what the first one did, and
//! what changed in between shows.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn example_shop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/spryker-shop")
}

/// A copy of the example shop, without any cache a run in the repository left there.
fn shop_copy() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name() == ".upkeep" {
                continue;
            }
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&example_shop(), dir.path());
    dir
}

fn gate(root: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::cargo_bin("upkeep")
        .unwrap()
        .env("NO_COLOR", "1")
        .env("PROJECT_PHP_VERSION", "8.2.12")
        .env_remove("UPKEEP_CACHE_DIR")
        .arg("gate")
        .arg(root)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn cache_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn second_run_gives_the_same_report_from_the_cache() {
    let shop = shop_copy();
    let root = shop.path();
    let (first_code, first, _) = gate(root, &[]);
    assert_eq!(first_code, Some(1));
    assert!(first.contains("\"deprecated-core-usage\""), "{first}");
    assert_eq!(
        cache_files(&root.join(".upkeep/cache")),
        ["CACHEDIR.TAG", "core.bin", "dirs.bin", "project.bin"]
    );
    assert_eq!(
        std::fs::read_to_string(root.join(".upkeep/.gitignore")).unwrap(),
        "# Written by upkeep: this directory holds its cache.\n*\n"
    );
    let (second_code, second, _) = gate(root, &[]);
    assert_eq!(second_code, Some(1));
    assert_eq!(second, first);
    let (_, uncached, _) = gate(root, &["--no-cache"]);
    assert_eq!(uncached, first);
}

#[test]
fn changed_project_file_shows_in_the_next_report() {
    let shop = shop_copy();
    let root = shop.path();
    let (_, before, _) = gate(root, &[]);
    let reader = root.join("src/Pyz/Zed/Product/Business/Reader/ProductReader.php");
    let text = std::fs::read_to_string(&reader).unwrap();
    // The deprecated core method is no longer called.
    let fixed = text.replace("findProductSkus", "findProductNames");
    assert_ne!(fixed, text);
    std::fs::write(&reader, fixed).unwrap();
    let (_, after, _) = gate(root, &[]);
    assert!(before.contains("\"deprecated-core-usage\""));
    assert!(!after.contains("\"deprecated-core-usage\""), "{after}");
    let (_, uncached, _) = gate(root, &["--no-cache"]);
    assert_eq!(after, uncached);
}

#[test]
fn cache_location_flags_and_environment() {
    let shop = shop_copy();
    let root = shop.path();
    let (_, uncached, _) = gate(root, &["--no-cache"]);
    assert!(!root.join(".upkeep").exists(), "--no-cache writes nothing");

    let elsewhere = tempfile::tempdir().unwrap();
    let flag_dir = elsewhere.path().join("by-flag");
    let (_, by_flag, _) = gate(root, &["--cache-dir", flag_dir.to_str().unwrap()]);
    assert_eq!(by_flag, uncached);
    assert!(flag_dir.join("core.bin").is_file());
    assert!(!root.join(".upkeep").exists());

    let env_dir = elsewhere.path().join("by-env");
    let output = Command::cargo_bin("upkeep")
        .unwrap()
        .env("NO_COLOR", "1")
        .env("PROJECT_PHP_VERSION", "8.2.12")
        .env("UPKEEP_CACHE_DIR", &env_dir)
        .arg("gate")
        .arg(root)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), uncached);
    assert!(env_dir.join("core.bin").is_file());
    assert!(!root.join(".upkeep").exists());

    Command::cargo_bin("upkeep")
        .unwrap()
        .args(["gate", "--no-cache", "--cache-dir", "x"])
        .arg(root)
        .assert()
        .code(2);
}

#[test]
fn damaged_cache_is_a_notice_not_a_failure() {
    let shop = shop_copy();
    let root = shop.path();
    let (_, first, _) = gate(root, &[]);
    std::fs::write(root.join(".upkeep/cache/core.bin"), b"not a cache").unwrap();
    let (code, damaged, stderr) = gate(root, &[]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("core.bin is damaged") && stderr.contains("--no-cache"),
        "{stderr}"
    );
    let findings = |report: &str| {
        let json: serde_json::Value = serde_json::from_str(report).unwrap();
        json["findings"].clone()
    };
    assert_eq!(findings(&damaged), findings(&first));
    // Rewritten: the run after that is as clean as the first.
    let (_, third, stderr) = gate(root, &[]);
    assert_eq!(third, first);
    assert!(!stderr.contains("cache"), "{stderr}");
}
