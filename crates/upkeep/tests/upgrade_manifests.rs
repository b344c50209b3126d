//! End-to-end tests of `upkeep upgrade manifests plan|apply`: a project whose composer.lock
//! installs spryker/console 1.2.0, manifests for 1.0.0 to 1.3.0, the versions integrated
//! before from `--from` and then from `integrator.lock`; the diff checked with real `git apply`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;

mod common;
use common::{assert_exit, stderr, stdout};

const PROVIDER: &str = "src/Pyz/Zed/Console/ConsoleDependencyProvider.php";

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, text).unwrap();
}

fn wire(plugin: &str) -> String {
    format!(
        r#"{{"wire-plugin": [{{"target": "\\Spryker\\Zed\\Console\\ConsoleDependencyProvider::getConsoleCommands", "source": "\\Spryker\\Zed\\{plugin}\\Communication\\Console\\{plugin}Console"}}]}}"#
    )
}

/// The project (a git repository) and the manifests directory beside it.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("shop");
    write(
        &project,
        "composer.lock",
        r#"{"packages": [{"name": "spryker/console", "version": "1.2.0"}], "packages-dev": []}"#,
    );
    write(
        &project,
        PROVIDER,
        "<?php\n\nnamespace Pyz\\Zed\\Console;\n\nuse Spryker\\Zed\\Console\\ConsoleDependencyProvider as SprykerConsoleDependencyProvider;\n\nclass ConsoleDependencyProvider extends SprykerConsoleDependencyProvider\n{\n    protected function getConsoleCommands(): array\n    {\n        return [];\n    }\n}\n",
    );
    for (version, plugin) in [
        ("1.0.0", "Alpha"),
        ("1.1.0", "Beta"),
        ("1.2.0", "Gamma"),
        ("1.3.0", "Delta"),
    ] {
        write(
            &dir.path().join("manifests"),
            &format!("Spryker/Console/{version}/installer-manifest.json"),
            &wire(plugin),
        );
    }
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .args(args)
            .current_dir(&project)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "shop",
    ]);
    dir
}

fn upkeep(dir: &Path, arguments: &[&str]) -> Output {
    Command::cargo_bin("upkeep")
        .unwrap()
        .current_dir(dir.join("shop"))
        .args(["upgrade", "manifests"])
        .args(arguments)
        .arg("--manifests")
        .arg(dir.join("manifests"))
        .env_remove("UPKEEP_MANIFESTS")
        .output()
        .unwrap()
}

#[test]
fn plan_shows_a_diff_git_applies_and_apply_writes_it_and_the_lock() {
    let dir = setup();
    let project = dir.path().join("shop");
    let before = fs_err::read_to_string(project.join(PROVIDER)).unwrap();

    // Integrated at 1.0.0: 1.1.0 and 1.2.0 apply; 1.0.0 (integrated) and 1.3.0 (not installed)
    // do not.
    let plan = upkeep(
        dir.path(),
        &["plan", "--from", "Spryker.Console=1.0.0", "--diff"],
    );
    assert_exit(&plan, 0);
    let diff = stdout(&plan);
    assert!(
        diff.contains("+            new BetaConsole(),\n+            new GammaConsole(),\n"),
        "{diff}"
    );
    assert!(!diff.contains("Alpha") && !diff.contains("Delta"), "{diff}");
    assert!(
        stderr(&plan).contains("Spryker.Console 1.1.0\n  applied: wire-plugin"),
        "{}",
        stderr(&plan)
    );
    assert_eq!(
        fs_err::read_to_string(project.join(PROVIDER)).unwrap(),
        before,
        "plan writes nothing"
    );
    assert!(!project.join("integrator.lock").exists());
    fs_err::write(dir.path().join("changes.patch"), &diff).unwrap();
    let check = Command::new("git")
        .args(["apply", "--check"])
        .arg(dir.path().join("changes.patch"))
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let apply = upkeep(dir.path(), &["apply", "--from", "spryker/console=1.0.0"]);
    assert_exit(&apply, 0);
    assert!(
        stdout(&apply).contains("2 manifests, 2 steps applied, 0 not applied; 1 files written"),
        "{}",
        stdout(&apply)
    );
    let after = fs_err::read_to_string(project.join(PROVIDER)).unwrap();
    assert!(
        after.contains("use Spryker\\Zed\\Beta\\Communication\\Console\\BetaConsole;\n"),
        "{after}"
    );
    assert_eq!(
        fs_err::read_to_string(project.join("integrator.lock")).unwrap(),
        "{\n  \"Spryker.Console\": \"1.2.0\"\n}\n"
    );

    // The lock now says 1.2.0: nothing more, whatever --from says.
    let again = upkeep(dir.path(), &["apply", "--from", "Spryker.Console=1.0.0"]);
    assert_exit(&again, 0);
    assert!(
        stdout(&again).starts_with("No manifests to apply"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        fs_err::read_to_string(project.join(PROVIDER)).unwrap(),
        after
    );
}

#[test]
fn a_step_that_cannot_apply_is_reported_with_status_1_and_bad_input_with_2() {
    let dir = setup();
    let project = dir.path().join("shop");
    write(
        &dir.path().join("manifests"),
        "Spryker/Console/1.2.0/installer-manifest.json",
        r#"{"wire-plugin": [{"target": "\\Spryker\\Zed\\Console\\ConsoleDependencyProvider::getMissingStack", "source": "\\Spryker\\Zed\\Gamma\\GammaConsole"}],
            "glossary-key": {"new": {"a.b": {"en_US": "A"}}}}"#,
    );
    // No integrator.lock and no --from: the installed version counts as integrated.
    let nothing = upkeep(dir.path(), &["plan"]);
    assert_exit(&nothing, 0);
    assert!(stdout(&nothing).starts_with("No manifests to apply"));

    let apply = upkeep(dir.path(), &["apply", "--from", "Spryker.Console=1.1.0"]);
    assert_exit(&apply, 1);
    let report = stdout(&apply);
    assert!(report.contains("not applied: wire-plugin Spryker\\Zed\\Gamma\\GammaConsole in Spryker\\Zed\\Console\\ConsoleDependencyProvider::getMissingStack: neither src/Pyz/Zed/Console/ConsoleDependencyProvider.php nor the installed"), "{report}");
    assert!(
        report.contains(
            "not applied: glossary-key a.b: data/import/common/common/glossary.csv does not exist"
        ),
        "{report}"
    );
    // The lock moves on: the failures are in the report, for a person to finish.
    assert!(project.join("integrator.lock").exists());

    let bad = upkeep(dir.path(), &["plan", "--from", "Console"]);
    assert_exit(&bad, 2);
    assert!(
        stderr(&bad).contains("error: --from `Console`: expected MODULE=VERSION"),
        "{}",
        stderr(&bad)
    );
    let missing = Command::cargo_bin("upkeep")
        .unwrap()
        .current_dir(&project)
        .args(["upgrade", "manifests", "plan", "--manifests"])
        .arg(dir.path().join("nowhere"))
        .output()
        .unwrap();
    assert_exit(&missing, 2);
    assert!(
        stderr(&missing).contains("error: cannot read the manifests directory"),
        "{}",
        stderr(&missing)
    );
    assert!(
        stderr(&missing).contains("hint: give the directory"),
        "{}",
        stderr(&missing)
    );
}

#[path = "../../../tests/support/archive_server.rs"]
mod archive_server;

/// `upkeep upgrade manifests plan` with `--manifests` naming an archive's URL (issue 15, item
/// 1): downloaded once into the cache under `XDG_CACHE_HOME`, revalidated (`304`) on the next
/// run, the cached copy used with a warning when the server is down, and an error naming the
/// URL when it is down and nothing is cached. The diff is the one the directory gives.
/// The test's manifests and a few real ones of Spryker's, in one top folder as GitHub's
/// archive has, served as a `.tar.gz` (its URL returned) and as `/archive.zip`.
fn serve_archives(manifests: &Path) -> (archive_server::ArchiveServer, String) {
    let real =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/integrator-manifests");
    let mut files = archive_server::files_under(manifests);
    for module in ["Spryker/Acl", "SprykerShop/CartPage"] {
        files.extend(
            archive_server::files_under(&real.join(module))
                .into_iter()
                .map(|(name, body)| (format!("{module}/{name}"), body)),
        );
    }
    let server = archive_server::ArchiveServer::start();
    let path = "/spryker/integrator-manifests/archive/integrator-manifests-master.tar.gz";
    server.put(
        path,
        200,
        archive_server::tar_gz("integrator-manifests-master", &files),
    );
    server.put(
        "/archive.zip",
        200,
        archive_server::zip("integrator-manifests-master", &files),
    );
    let url = server.url(path);
    (server, url)
}

#[test]
fn manifests_from_an_archive_url_are_downloaded_cached_and_revalidated() {
    let dir = setup();
    let manifests = dir.path().join("manifests");
    let (server, url) = serve_archives(&manifests);
    let plan = |source: &str, cache: &str| {
        Command::cargo_bin("upkeep")
            .unwrap()
            .current_dir(dir.path().join("shop"))
            .args(["upgrade", "manifests", "plan", "--diff"])
            .args(["--from", "Spryker.Console=1.0.0", "--manifests", source])
            .env("XDG_CACHE_HOME", dir.path().join(cache))
            .env_remove("UPKEEP_MANIFESTS")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let from_directory = plan(manifests.to_str().unwrap(), "cache");
    assert_exit(&from_directory, 0);
    assert!(stdout(&from_directory).contains("+            new BetaConsole(),\n"));

    let first = plan(&url, "cache");
    assert_exit(&first, 0);
    assert_eq!(stdout(&first), stdout(&from_directory));
    assert!(
        stderr(&first).starts_with(&format!("manifests: {url}: downloaded\n")),
        "{}",
        stderr(&first)
    );
    let cached: Vec<_> = fs_err::read_dir(
        dir.path()
            .join("cache/upkeep/composer/integrator-manifests"),
    )
    .unwrap()
    .map(|entry| entry.unwrap().file_name())
    .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");

    let second = plan(&url, "cache");
    assert_exit(&second, 0);
    assert_eq!(stdout(&second), stdout(&from_directory));
    assert!(
        stderr(&second).starts_with(&format!(
            "manifests: {url}: not modified, the cached copy is used\n"
        )),
        "{}",
        stderr(&second)
    );
    let statuses: Vec<(bool, u16)> = server
        .take_answered()
        .into_iter()
        .map(|answered| (answered.conditional, answered.status))
        .collect();
    assert_eq!(statuses, [(false, 200), (true, 304)]);

    let zip = plan(&server.url("/archive.zip"), "cache");
    assert_exit(&zip, 0);
    assert_eq!(stdout(&zip), stdout(&from_directory));

    drop(server);
    let down = plan(&url, "cache");
    assert_exit(&down, 0);
    assert_eq!(stdout(&down), stdout(&from_directory));
    assert!(
        stderr(&down).starts_with(&format!("warning: cannot reach {url} (")),
        "{}",
        stderr(&down)
    );
    assert!(
        stderr(&down).contains("); using the copy cached "),
        "{}",
        stderr(&down)
    );

    let nothing_cached = plan(&url, "empty-cache");
    assert_exit(&nothing_cached, 2);
    assert!(
        stderr(&nothing_cached).starts_with(&format!(
            "error: cannot download the manifests archive {url}: "
        )),
        "{}",
        stderr(&nothing_cached)
    );
    assert!(
        stderr(&nothing_cached).contains("\nhint: check the URL and the network"),
        "{}",
        stderr(&nothing_cached)
    );
    assert!(stdout(&nothing_cached).is_empty());
}
