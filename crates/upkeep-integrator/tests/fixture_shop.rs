//! Every step type on a small Spryker shop (`tests/fixtures/shop/before`), with near-misses
//! beside each change: a plugin already wired (written another way), a position anchor that is
//! not there, a method of an unusual shape, a `previousValue` that does not match, a class that
//! is not installed, a manifest whose result would not parse. The result is compared byte for
//! byte with `tests/fixtures/shop/after` (`UPKEEP_UPDATE_FIXTURES=1` rewrites it), the diff is
//! checked with `git apply`, and a second application changes nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use upkeep_integrator::apply::{StepStatus, apply_manifests};
use upkeep_integrator::manifest;
use upkeep_integrator::project::Workspace;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shop")
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs_err::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs_err::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            fs_err::copy(entry.path(), target).unwrap();
        }
    }
}

fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs_err::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                if entry.file_name() != ".git" {
                    walk(root, &path, out);
                }
            } else {
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(relative, fs_err::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn summary(reports: &[upkeep_integrator::apply::ManifestReport]) -> Vec<String> {
    reports
        .iter()
        .flat_map(|report| {
            report
                .steps
                .iter()
                .map(move |step| format!("{} {}: {step}", report.module, report.version))
        })
        .collect()
}

#[test]
fn every_type_applies_byte_exactly_and_a_second_time_changes_nothing() {
    let shop = tempfile::tempdir().unwrap();
    copy_tree(&fixture().join("before"), shop.path());
    let set = manifest::read_dir(&fixture().join("manifests")).unwrap();
    assert!(set.warnings.is_empty(), "{:?}", set.warnings);
    let manifests: Vec<&manifest::Manifest> = set.manifests().collect();

    let mut workspace = Workspace::new(shop.path());
    let reports = apply_manifests(&mut workspace, &manifests);
    let changes = workspace.changes();
    let diff = upkeep_integrator::diff(&changes);

    // The diff is what `git apply` takes, and gives the same tree.
    let patched = tempfile::tempdir().unwrap();
    copy_tree(&fixture().join("before"), patched.path());
    let patch = patched.path().join("changes.patch");
    fs_err::write(&patch, &diff).unwrap();
    let git = Command::new("git")
        .args(["apply", "--whitespace=nowarn", "changes.patch"])
        .current_dir(patched.path())
        .output()
        .expect("git runs");
    assert!(
        git.status.success(),
        "{}",
        String::from_utf8_lossy(&git.stderr)
    );
    fs_err::remove_file(&patch).unwrap();

    upkeep_integrator::write(shop.path(), &changes).unwrap();
    let result = read_tree(shop.path());
    assert_eq!(
        read_tree(patched.path()),
        result,
        "git apply of the diff gives the written tree"
    );

    let expected_dir = fixture().join("after");
    if std::env::var_os("UPKEEP_UPDATE_FIXTURES").is_some() {
        let _ = fs_err::remove_dir_all(&expected_dir);
        fs_err::create_dir_all(&expected_dir).unwrap();
        copy_tree(shop.path(), &expected_dir);
        fs_err::write(
            fixture().join("report.txt"),
            summary(&reports).join("\n") + "\n",
        )
        .unwrap();
    }
    let expected = read_tree(&expected_dir);
    for (path, text) in &result {
        assert_eq!(
            Some(text),
            expected.get(path),
            "{path} differs from tests/fixtures/shop/after:\n{}",
            String::from_utf8_lossy(text)
        );
    }
    assert_eq!(
        result.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        summary(&reports).join("\n") + "\n",
        fs_err::read_to_string(fixture().join("report.txt")).unwrap()
    );

    // Every PHP file the manifests touched parses.
    support::assert_php_parses(&changes);

    // Again: nothing changes, and nothing that applied the first time fails now.
    let mut again = Workspace::new(shop.path());
    let second = apply_manifests(&mut again, &manifests);
    assert!(again.changes().is_empty(), "{:#?}", again.changes());
    for (first, second) in reports.iter().zip(&second) {
        for (first, second) in first.steps.iter().zip(&second.steps) {
            if first.status == StepStatus::Applied {
                assert_eq!(second.status, StepStatus::AlreadyApplied, "{second}");
            }
        }
    }
}
