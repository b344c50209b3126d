//! End-to-end tests of `upkeep upgrade`: a Composer repository served from a directory
//! (`file://`, `tests/fixtures/upgrade/packages.json`) with several vendors, minors, patches, a
//! major, an update that cannot resolve and one that needs a newer PHP; an advisory; the real
//! `composer` program; real git with a bare `origin`; the GitHub and GitLab APIs on loopback.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;
use upkeep_forge::testing::{FakeGitHub, FakeGitLab};

mod common;
use common::{assert_exit, stderr, stdout};

#[path = "../../../tests/support/composer_shop.rs"]
mod composer_shop;
use composer_shop::{ComposerShop, fixture, require_composer};

/// The shared test project, run through the `upkeep` binary.
struct Shop(ComposerShop);

impl std::ops::Deref for Shop {
    type Target = ComposerShop;
    fn deref(&self) -> &ComposerShop {
        &self.0
    }
}

impl Shop {
    fn new() -> Self {
        Self(ComposerShop::new())
    }

    fn upkeep(&self, arguments: &[&str]) -> Command {
        let mut command = Command::cargo_bin("upkeep").unwrap();
        command
            .current_dir(&self.project)
            .args(arguments)
            .env("COMPOSER_HOME", self.home().join("composer"))
            .env("COMPOSER_CACHE_DIR", self.home().join("composer-cache"))
            .env("XDG_CACHE_HOME", self.home().join("cache"))
            .env("GIT_AUTHOR_NAME", "Upkeep Test")
            .env("GIT_AUTHOR_EMAIL", "upkeep@example.test")
            .env("GIT_COMMITTER_NAME", "Upkeep Test")
            .env("GIT_COMMITTER_EMAIL", "upkeep@example.test")
            .env_remove("GITHUB_TOKEN")
            .env_remove("GITLAB_TOKEN")
            .env("NO_COLOR", "1");
        command
    }

    fn run(&self, arguments: &[&str]) -> Output {
        self.upkeep(arguments).output().unwrap()
    }
}

#[test]
fn plan_lists_patch_minor_major_update_reason_group_and_security() {
    require_composer();
    let shop = Shop::new();
    let output = shop.run(&["upgrade", "plan", "--format", "json"]);
    assert_exit(&output, 0);
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let row = |name: &str| {
        let package = plan["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|package| package["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .clone();
        format!(
            "{} {} patch={} minor={} major={} update={} to={} group={} security={}",
            package["name"].as_str().unwrap(),
            package["locked"].as_str().unwrap(),
            package["patch"].as_str().unwrap_or("-"),
            package["minor"].as_str().unwrap_or("-"),
            package["major"].as_str().unwrap_or("-"),
            package["update"].as_str().unwrap(),
            package["to"].as_str().unwrap_or("-"),
            package["group"].as_str().unwrap_or("-"),
            package["security"],
        )
    };
    assert_eq!(
        row("acme/lib"),
        "acme/lib 1.0.0 patch=1.0.1 minor=1.1.0 major=2.0.0 update=minor to=1.1.0 group=acme security=true"
    );
    assert_eq!(
        row("acme/tight"),
        "acme/tight 1.2.0 patch=1.2.3 minor=1.3.0 major=- update=minor to=1.3.0 group=acme security=false"
    );
    assert_eq!(
        row("spryker/kernel"),
        "spryker/kernel 3.70.0 patch=3.70.2 minor=3.72.0 major=4.0.0 update=minor to=3.72.0 group=spryker security=false"
    );
    assert_eq!(
        row("other/pinned"),
        "other/pinned 1.0.0 patch=- minor=- major=2.0.0 update=none to=- group=- security=false"
    );
    assert_eq!(
        row("tools/php84"),
        "tools/php84 1.0.0 patch=- minor=1.1.0 major=- update=none to=- group=- security=false"
    );
    let php84 = plan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|package| package["name"] == "tools/php84")
        .unwrap();
    assert_eq!(
        php84["reason"],
        "1.1.0 needs PHP >=8.4; the platform is PHP 8.2.10"
    );
    let groups: Vec<String> = plan["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| {
            format!(
                "{}:{}",
                group["name"].as_str().unwrap(),
                group["packages"].as_array().unwrap().len()
            )
        })
        .collect();
    // Security first, then by name.
    assert_eq!(groups, ["acme:2", "conflicting:1", "spryker:1"]);
}

#[test]
fn apply_commits_per_group_pushes_and_opens_a_github_pull_request() {
    require_composer();
    let shop = Shop::new();
    let github = FakeGitHub::start();
    let api = github.base_url();
    let arguments = [
        "upgrade",
        "apply",
        "--pr",
        "--forge",
        "github",
        "--repository",
        "acme/shop",
        "--api-url",
        &api,
    ];
    let output = shop
        .upkeep(&arguments)
        .env("UPKEEP_FORGE_TOKEN", github.token())
        .output()
        .unwrap();
    // One group could not be resolved: exit 1, the others are applied.
    assert_exit(&output, 1);
    assert!(
        stdout(&output).contains("not updated: conflicting (conflicting/pkg)"),
        "{}",
        stdout(&output)
    );

    // Back on a clean main.
    assert_eq!(
        shop.git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "main"
    );
    assert_eq!(shop.git(&["status", "--porcelain"]), "");
    // One commit per updated group on the pushed branch.
    let subjects = shop.git(&["log", "--format=%s", "main..origin/upkeep/upgrade-for-main"]);
    assert_eq!(
        subjects.lines().collect::<Vec<_>>(),
        [
            "Update spryker: spryker/kernel 3.72.0",
            "Update acme: acme/lib 1.1.0, acme/tight 1.3.0"
        ]
    );
    let lock = shop.git(&["show", "origin/upkeep/upgrade-for-main:composer.lock"]);
    assert!(lock.contains("\"version\": \"1.3.0\""));
    let manifest = shop.git(&["show", "origin/upkeep/upgrade-for-main:composer.json"]);
    assert!(
        manifest.contains("\"acme/tight\": \"~1.3.0\""),
        "{manifest}"
    );

    let pulls = github.pull_requests();
    assert_eq!(pulls.len(), 1);
    let pull = &pulls[0];
    assert_eq!(pull.head, "upkeep/upgrade-for-main");
    assert_eq!(pull.base, "main");
    assert!(
        pull.title.starts_with("Upkeep: update 3 packages ("),
        "{}",
        pull.title
    );
    assert_eq!(pull.requested_reviewers, ["reviewer"]);
    insta::assert_snapshot!("github_pull_request_body", pull.body);

    // A second run refuses while the pull request is open …
    let output = shop
        .upkeep(&arguments)
        .env("UPKEEP_FORGE_TOKEN", github.token())
        .output()
        .unwrap();
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("an earlier upgrade is still open"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("--refresh"));
    // … and with --refresh rebuilds the branch and updates the same pull request.
    let mut refresh = arguments.to_vec();
    refresh.push("--refresh");
    let output = shop
        .upkeep(&refresh)
        .env("UPKEEP_FORGE_TOKEN", github.token())
        .output()
        .unwrap();
    assert_exit(&output, 1);
    assert_eq!(github.pull_requests().len(), 1);
    assert!(
        github
            .requests()
            .iter()
            .any(|request| request.method == "PATCH")
    );
    assert_eq!(shop.git(&["status", "--porcelain"]), "");
}

#[test]
fn apply_opens_a_gitlab_merge_request() {
    require_composer();
    let shop = Shop::new();
    let gitlab = FakeGitLab::start();
    gitlab.add_user("reviewer", 42);
    let api = gitlab.base_url();
    let arguments = [
        "upgrade",
        "apply",
        "--pr",
        "--forge",
        "gitlab",
        "--repository",
        "acme/shops/b2c",
        "--api-url",
        &api,
    ];
    let output = shop
        .upkeep(&arguments)
        .env("UPKEEP_FORGE_TOKEN", gitlab.token())
        .output()
        .unwrap();
    assert_exit(&output, 1);
    let requests = gitlab.merge_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].source_branch, "upkeep/upgrade-for-main");
    assert_eq!(requests[0].target_branch, "main");
    assert!(
        requests[0]
            .description
            .contains("| `acme/lib` | 1.0.0 | 1.1.0 | minor · security |")
    );
    // GitLab's words: a merge request, `!` and its iid.
    let out = stdout(&output);
    assert!(
        out.contains(&format!(
            "; merge request !{} {}/acme/shops/b2c/-/merge_requests/{}",
            requests[0].iid,
            gitlab.web_url(),
            requests[0].iid
        )),
        "{out}"
    );
    assert!(
        stderr(&output).contains("merge request !"),
        "{}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains("pull request #"),
        "{}",
        stderr(&output)
    );
    // Refused while it is open, in the same words.
    let again = shop
        .upkeep(&arguments)
        .env("UPKEEP_FORGE_TOKEN", gitlab.token())
        .output()
        .unwrap();
    assert_exit(&again, 2);
    assert!(
        stderr(&again).contains(&format!(
            "(merge request !{}) from `upkeep/upgrade-for-main`",
            requests[0].iid
        )),
        "{}",
        stderr(&again)
    );
    assert!(
        gitlab
            .requests()
            .iter()
            .any(|request| request.path.contains("acme%2Fshops%2Fb2c"))
    );
}

#[test]
fn apply_refuses_a_dirty_tree_and_changes_nothing() {
    require_composer();
    let shop = Shop::new();
    std::fs::write(shop.project.join("notes.txt"), "work in progress\n").unwrap();
    let output = shop.run(&["upgrade", "apply"]);
    assert_exit(&output, 2);
    assert_eq!(
        stderr(&output),
        "error: the working tree has uncommitted changes: notes.txt\nhint: commit or stash your changes, then run the upgrade again\n"
    );
    assert_eq!(shop.git(&["branch", "--list", "upkeep/*"]), "");
}

#[test]
fn a_failed_run_ends_on_a_clean_base_branch() {
    require_composer();
    let shop = Shop::new();
    let output = shop.run(&["upgrade", "apply", "--composer", "/nonexistent/composer"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("cannot run `/nonexistent/composer`"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("hint: install Composer"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        shop.git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "main"
    );
    assert_eq!(shop.git(&["status", "--porcelain"]), "");
    assert_eq!(shop.git(&["branch", "--list", "upkeep/*"]), "");
    // And the next run is not blocked by a leftover branch.
    let output = shop.run(&["upgrade", "apply", "--no-gate"]);
    assert_exit(&output, 1);
    assert!(
        stdout(&output).starts_with("3 packages updated in 2 commits on upkeep/upgrade-for-main"),
        "{}",
        stdout(&output)
    );
}

/// A composer that is there but does not work.
fn broken_composer(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let script = dir.join("broken-composer");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'PHP Fatal error: Uncaught Error: Class \"Composer\\Console\\Application\" not found' >&2\nexit 255\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn a_missing_or_broken_composer_fails_before_any_branch_is_made() {
    require_composer();
    let shop = Shop::new();
    let tools = tempfile::tempdir().unwrap();
    let broken = broken_composer(tools.path());
    let head = shop.git(&["rev-parse", "HEAD"]);
    let reflog = shop.git(&["reflog"]);
    for (composer, error) in [
        (
            "/nonexistent/composer".to_string(),
            "error: cannot run `/nonexistent/composer`: No such file or directory (os error 2)\nhint: install Composer".to_string(),
        ),
        (
            broken.display().to_string(),
            format!(
                "error: `{0} --version` does not answer as Composer does: it exited with status 255: PHP Fatal error: Uncaught Error: Class \"Composer\\Console\\Application\" not found\nhint: run `{0} --version` to see what is wrong, or pass --composer with a working one\n",
                broken.display()
            ),
        ),
    ] {
        let output = shop.run(&["upgrade", "apply", "--composer", &composer]);
        assert_exit(&output, 2);
        let stderr = stderr(&output);
        assert!(stderr.contains(&error), "{stderr}");
        // Nothing was made or checked out: no branch, no commit, not even a checkout.
        assert!(!stderr.contains("on branch"), "{stderr}");
        assert_eq!(shop.git(&["branch", "--list", "upkeep/*"]), "");
        assert_eq!(shop.git(&["rev-parse", "HEAD"]), head);
        assert_eq!(shop.git(&["reflog"]), reflog);
        assert_eq!(shop.git(&["status", "--porcelain"]), "");
    }
}

#[test]
fn a_missing_composer_is_found_before_the_project_is_read() {
    // An empty directory: planning would fail on the missing composer.json, but the missing
    // Composer is found first, before any metadata is fetched.
    let dir = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("upkeep")
        .unwrap()
        .args(["upgrade", "apply", "--composer", "/nonexistent/composer"])
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    refused_before_the_project_is_read(&output, "error: cannot run `/nonexistent/composer`");
}

#[test]
fn a_dry_run_prints_the_pull_request_and_changes_nothing() {
    require_composer();
    let shop = Shop::new();
    let head = shop.git(&["rev-parse", "HEAD"]);
    let reflog = shop.git(&["reflog"]);
    let refs = shop.git(&["for-each-ref"]);
    let lock = std::fs::read(shop.project.join("composer.lock")).unwrap();
    let status = shop.git(&["status", "--porcelain", "--ignored"]);
    // No forge and no token: none is needed.
    let output = shop.run(&["upgrade", "apply", "--dry-run"]);
    // The group Composer cannot resolve makes it 1, as the real run would.
    assert_exit(&output, 1);
    let out = stdout(&output);
    assert!(out.starts_with("# Upkeep: update 3 packages ("), "{out}");
    for expected in [
        "Updates 3 packages of `main`: 3 minor, 0 patch, **1 with security fixes**.",
        "| `acme/lib` | 1.0.0 | 1.1.0 | minor · security |",
        "| `acme/tight` | 1.2.0 | 1.3.0 | minor | — |",
        "| `spryker/kernel` | 3.70.0 | 3.72.0 | minor |",
        "### Not updated: Composer could not resolve\n\n- **conflicting** (`conflicting/pkg`)",
        "- conflicting/pkg 1.1.0 conflicts with acme/tight >=1.3.",
        "### Held back\n",
        "| `tools/php84` | 1.0.0 | — | 1.1.0 | 1.1.0 needs PHP >=8.4; the platform is PHP 8.2.10 |",
        "### New majors (manual upgrade)",
        "The gate could not compare before and after: the dry run does not run the gate",
        "not updated: conflicting (conflicting/pkg)",
    ] {
        assert!(out.contains(expected), "{expected}\n---\n{out}");
    }
    // Nothing changed: no branch, no commit, no checkout, the same lock file, nothing pushed.
    assert_eq!(shop.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(shop.git(&["reflog"]), reflog);
    assert_eq!(shop.git(&["for-each-ref"]), refs);
    assert_eq!(shop.git(&["status", "--porcelain", "--ignored"]), status);
    assert_eq!(
        std::fs::read(shop.project.join("composer.lock")).unwrap(),
        lock
    );
    let remote = Command::new("git")
        .args([
            "--git-dir",
            shop.origin.to_str().unwrap(),
            "branch",
            "--list",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&remote.stdout), "* main\n");
    // The real run then makes what the dry run said.
    let output = shop.run(&["upgrade", "apply", "--no-gate"]);
    assert_exit(&output, 1);
    assert!(
        stdout(&output).starts_with("3 packages updated in 2 commits on upkeep/upgrade-for-main"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_dry_run_takes_no_push_pr_or_refresh() {
    let output = Command::cargo_bin("upkeep")
        .unwrap()
        .args(["upgrade", "apply", "--dry-run", "--pr"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("'--dry-run' cannot be used with '--pr'"),
        "{}",
        stderr(&output)
    );
}

/// One group of three (vendor `v`): `v/two` 1.1.0 conflicts with `v/one` 1.1.0, so Composer
/// refuses the group as planned.
fn one_bad_package() -> serde_json::Value {
    let release = |name: &str, version: &str| serde_json::json!({"name": name, "version": version, "type": "metapackage"});
    let mut two = release("v/two", "1.1.0");
    two["conflict"] = serde_json::json!({"v/one": ">=1.1"});
    serde_json::json!({
        "v/one": {"1.0.0": release("v/one", "1.0.0"), "1.1.0": release("v/one", "1.1.0")},
        "v/two": {"1.0.0": release("v/two", "1.0.0"), "1.1.0": two},
        "v/three": {"1.0.0": release("v/three", "1.0.0"), "1.1.0": release("v/three", "1.1.0")},
    })
}

#[test]
fn one_bad_package_is_left_out_and_the_rest_of_its_group_is_updated() {
    require_composer();
    let shop = Shop(ComposerShop::with_repository(
        &one_bad_package(),
        &[
            ("v/one", "^1.0", "1.0.0"),
            ("v/two", "^1.0", "1.0.0"),
            ("v/three", "^1.0", "1.0.0"),
        ],
        &[],
        "",
    ));
    let github = FakeGitHub::start();
    let api = github.base_url();
    let output = shop
        .upkeep(&[
            "upgrade",
            "apply",
            "--pr",
            "--no-gate",
            "--forge",
            "github",
            "--repository",
            "acme/shop",
            "--api-url",
            &api,
        ])
        .env("UPKEEP_FORGE_TOKEN", github.token())
        .output()
        .unwrap();
    // Something was left out: 1, as for a failed group.
    assert_exit(&output, 1);
    let out = stdout(&output);
    assert!(
        out.starts_with(
            "2 packages updated in 1 commits on upkeep/upgrade-for-main; pull request #1 "
        ),
        "{out}"
    );
    assert!(
        out.contains("not updated: v/two 1.1.0 (left out of group v; Composer named it)"),
        "{out}"
    );
    assert!(
        stderr(&output)
            .contains("Composer names v/two 1.1.0: trying the rest of the group without it"),
        "{}",
        stderr(&output)
    );
    let subjects = shop.git(&["log", "--format=%s", "main..origin/upkeep/upgrade-for-main"]);
    assert_eq!(subjects.trim(), "Update v: v/one 1.1.0, v/three 1.1.0");
    let pull = &github.pull_requests()[0];
    assert!(
        pull.body.contains(
            "| `v/one` | 1.0.0 | 1.1.0 | minor | — |\n| `v/three` | 1.0.0 | 1.1.0 | minor | — |\n"
        ),
        "{}",
        pull.body
    );
    assert!(
        pull.body.contains("### Left out of their group: Composer named them\n\n- `v/two` 1.1.0 (group **v**; the rest of the group was updated without it)"),
        "{}",
        pull.body
    );
    assert!(
        pull.body
            .contains("- v/two 1.1.0 conflicts with v/one >=1.1."),
        "{}",
        pull.body
    );
    assert!(!pull.body.contains("### Not updated"), "{}", pull.body);
}

#[test]
fn a_bad_schedule_in_upkeep_toml_is_an_error_naming_the_line_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("composer.json"), "{}\n").unwrap();
    std::fs::write(
        dir.path().join("upkeep.toml"),
        "[upgrade]\nmax-minor = 5\nschedule = \"0 8 * * MONDAY\"\n",
    )
    .unwrap();
    let output = plan_outside_a_shop(dir.path());
    assert_exit(&output, 2);
    assert_eq!(
        stderr(&output),
        format!(
            "error: {}:3: [upgrade] schedule `0 8 * * MONDAY` is not a cron expression: day of week: `MONDAY` is not a number\nhint: fix the [upgrade] table of upkeep.toml\n",
            dir.path().join("upkeep.toml").display()
        )
    );
}

#[test]
fn the_scheduled_job_opens_then_refreshes_one_pull_request() {
    use upkeep_upgrade::schedule::Schedule;
    use upkeep_upgrade::scheduled::{ForgeTarget, ScheduledUpgrade, is_due, run_scheduled_upgrade};

    require_composer();
    let shop = Shop::new();
    let github = FakeGitHub::start();
    let schedule =
        Schedule::parse(&upkeep_upgrade::settings::UpgradeSettings::default().schedule).unwrap();
    // Last run on Monday 2026-11-16 08:00: due again from Monday 2026-11-23 08:00.
    let last = "2026-11-16T08:00:00Z".parse().unwrap();
    assert!(!is_due(
        &schedule,
        last,
        "2026-11-23T07:59:00Z".parse().unwrap()
    ));
    let now = "2026-11-23T08:00:00Z".parse().unwrap();
    assert!(is_due(&schedule, last, now));

    let job = ScheduledUpgrade {
        project: shop.project.clone(),
        remote: "origin".into(),
        forge: ForgeTarget {
            kind: Some(upkeep_forge::ForgeKind::GitHub),
            repository: Some("acme/shop".into()),
            api_base: Some(github.base_url()),
        },
        token: upkeep_forge::Token::new(github.token()),
        composer: "composer".into(),
        repositories: upkeep_composer::repository::RepositoryOptions {
            cache_dir: Some(shop.home().join("cache")),
            ..Default::default()
        },
        refresh: true,
        overrides: upkeep_upgrade::settings::SettingsOverrides::default(),
        git_env: upkeep_forge::git_auth::GitEnv::default(),
    };
    let mut lines = Vec::new();
    let run = run_scheduled_upgrade(&job, now, &mut |line| lines.push(line.to_string())).unwrap();
    assert!(run.plan.groups.len() >= 2, "{:?}", run.plan.groups);
    let outcome = run.applied.unwrap();
    assert_eq!(outcome.commits.len(), 2);
    let first = outcome.pull_request.unwrap();
    assert_eq!(
        github.pull_requests()[0].title,
        "Upkeep: update 3 packages (2026-11-23)"
    );
    // Next week the same pull request is rebuilt and updated, not duplicated.
    let outcome = run_scheduled_upgrade(&job, "2026-11-30T08:00:00Z".parse().unwrap(), &mut |_| {})
        .unwrap()
        .applied
        .unwrap();
    assert_eq!(outcome.pull_request.unwrap().number, first.number);
    let pulls = github.pull_requests();
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].title, "Upkeep: update 3 packages (2026-11-30)");
    assert_eq!(
        shop.git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "main"
    );
}

#[test]
fn plan_text_shows_a_row_per_package_and_the_groups_in_order() {
    require_composer();
    let shop = Shop::new();
    let output = shop.run(&["upgrade", "plan"]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(text.starts_with("package "), "{text}");
    assert!(
        text.lines().any(|line| line.starts_with("acme/lib ")
            && line.contains(" minor  1.1.0        [security] ")),
        "{text}"
    );
    assert!(
        text.contains("Groups, in the order they are applied:\n  1. acme [security]: acme/lib, acme/tight\n  2. conflicting: conflicting/pkg\n  3. spryker: spryker/kernel\n"),
        "{text}"
    );
}

#[test]
fn apply_with_pr_asks_for_the_token_before_reading_the_project() {
    // An empty directory: planning would fail on the missing composer.json, but the missing
    // token is found first, before any metadata is fetched.
    let dir = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("upkeep")
        .unwrap()
        .args(["upgrade", "apply", "--pr"])
        .arg(dir.path())
        .env_remove("UPKEEP_FORGE_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITLAB_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    refused_before_the_project_is_read(&output, "error: --pr needs an API token\n");
}

/// `output` is a refusal that starts with `error`, said before the project (an empty
/// directory, where planning would fail on the missing composer.json) was read.
#[track_caller]
fn refused_before_the_project_is_read(output: &Output, error: &str) {
    assert_exit(output, 2);
    let stderr = stderr(output);
    assert!(stderr.starts_with(error), "{stderr}");
    assert!(!stderr.contains("composer.json"), "{stderr}");
}

/// `upkeep upgrade plan DIR` for a directory that is no test shop.
fn plan_outside_a_shop(dir: &Path) -> Output {
    Command::cargo_bin("upkeep")
        .unwrap()
        .args(["upgrade", "plan"])
        .arg(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn a_project_without_a_lock_file_is_an_error_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("composer.json"), "{}\n").unwrap();
    let output = plan_outside_a_shop(dir.path());
    assert_exit(&output, 2);
    assert_eq!(
        stderr(&output),
        format!(
            "error: no composer.lock in {}\nhint: the upgrader updates locked versions: run `composer update` once and commit composer.lock\n",
            dir.path().display()
        )
    );
}

#[test]
fn a_remote_that_names_no_forge_is_an_error_with_the_hints_of_the_library_and_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let origin = dir.path().join("origin.git");
    for arguments in [
        vec!["init", "-q", "-b", "main"],
        vec!["remote", "add", "origin", origin.to_str().unwrap()],
    ] {
        let status = Command::new("git")
            .current_dir(dir.path())
            .args(&arguments)
            .status()
            .unwrap();
        assert!(status.success(), "git {arguments:?}");
    }
    let output = Command::cargo_bin("upkeep")
        .unwrap()
        .args(["upgrade", "apply", "--pr"])
        .arg(dir.path())
        .env("UPKEEP_FORGE_TOKEN", "t0ken")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITLAB_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_exit(&output, 2);
    assert_eq!(
        stderr(&output),
        format!(
            "error: the remote `{}` is a local path, not a forge repository\n\
             hint: configure the forge kind and repository explicitly\n\
             hint: pass --forge github|gitlab, --repository and --api-url when the remote does not name the forge\n",
            origin.display()
        )
    );
}

/// A `composer` that changes the lock file as an update would, says it started (its pid in
/// `<dir>/started`), and then holds the run.
fn slow_composer(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let script = dir.join("slow-composer");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'Composer version 2.5.5 2023-03-21 11:50:05'; exit 0; fi\nprintf '\\n' >> composer.lock\necho $$ > '{0}/started.tmp'\nmv '{0}/started.tmp' '{0}/started'\nexec sleep 60\n",
            dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// Waits up to `limit` for `until` to give a value.
fn wait_for<T>(limit: std::time::Duration, mut until: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(value) = until() {
            return Some(value);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Starts `upkeep upgrade apply` with the slow composer, waits until Composer runs, sends
/// `signal` to upkeep (not to Composer) and returns how upkeep ended, its stderr and the pid
/// of the Composer it started.
fn apply_and_signal(
    shop: &Shop,
    composer: &Path,
    signal: &str,
) -> (std::process::ExitStatus, String, u32) {
    let started = composer.parent().unwrap().join("started");
    let _ = std::fs::remove_file(&started);
    let log = shop.dir.path().join(format!("stderr-{signal}"));
    let mut child = shop
        .upkeep(&[
            "upgrade",
            "apply",
            "--no-gate",
            "--composer",
            composer.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let composer_pid = wait_for(std::time::Duration::from_mins(1), || {
        std::fs::read_to_string(&started)
            .ok()?
            .trim()
            .parse::<u32>()
            .ok()
    });
    let Some(composer_pid) = composer_pid else {
        let _ = child.kill();
        panic!(
            "Composer never started: {}",
            std::fs::read_to_string(&log).unwrap()
        );
    };
    let sent = Command::new("kill")
        .args(["-s", signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -s {signal}");
    let status = wait_for(std::time::Duration::from_secs(20), || {
        child.try_wait().unwrap()
    });
    let Some(status) = status else {
        let _ = child.kill();
        panic!("upkeep did not end within 20 s of SIG{signal}");
    };
    (status, std::fs::read_to_string(&log).unwrap(), composer_pid)
}

fn process_exists(pid: u32) -> bool {
    // A zombie has been stopped; only its parent's wait is missing.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or_default()
            .trim_start()
            .starts_with('Z')
    })
}

#[test]
fn a_terminated_or_hung_up_apply_stops_composer_and_returns_to_the_base_branch() {
    require_composer();
    let shop = Shop::new();
    let tools = tempfile::tempdir().unwrap();
    let composer = slow_composer(tools.path());
    let head = shop.git(&["rev-parse", "HEAD"]);
    // One shop for all three: each run must leave nothing that blocks the next.
    for signal in ["TERM", "HUP", "INT"] {
        let started = std::time::Instant::now();
        let (status, stderr, composer_pid) = apply_and_signal(&shop, &composer, signal);
        assert_eq!(status.code(), Some(2), "SIG{signal}: {stderr}");
        assert!(
            stderr.contains(
                "error: the upgrade was cancelled (interrupted or terminated); nothing more was applied\nhint: the checkout is back on the base branch"
            ),
            "SIG{signal}: {stderr}"
        );
        assert!(stderr.contains("back on main"), "SIG{signal}: {stderr}");
        assert!(
            !process_exists(composer_pid),
            "SIG{signal}: Composer {composer_pid} still runs"
        );
        assert_eq!(
            shop.git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
            "main"
        );
        assert_eq!(shop.git(&["rev-parse", "HEAD"]), head);
        assert_eq!(shop.git(&["status", "--porcelain"]), "", "SIG{signal}");
        assert_eq!(
            shop.git(&["branch", "--list", "upkeep/*"]),
            "",
            "SIG{signal}"
        );
        eprintln!(
            "SIG{signal}: back on main {:?} after the start",
            started.elapsed()
        );
    }
}

#[test]
fn after_a_killed_apply_the_next_run_refuses_the_leftover_branch_with_a_hint() {
    require_composer();
    let shop = Shop::new();
    let tools = tempfile::tempdir().unwrap();
    let composer = slow_composer(tools.path());
    let (status, _, composer_pid) = apply_and_signal(&shop, &composer, "KILL");
    assert_eq!(status.code(), None, "SIGKILL ends upkeep at once");
    // Composer runs in a group of its own, which SIGKILL leaves behind.
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{composer_pid}")])
        .status();
    assert_eq!(
        shop.git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "upkeep/upgrade-for-main"
    );
    assert_eq!(shop.git(&["status", "--porcelain"]), " M composer.lock\n");

    let started = tools.path().join("started");
    let _ = std::fs::remove_file(&started);
    let arguments = [
        "upgrade",
        "apply",
        "--no-gate",
        "--composer",
        composer.to_str().unwrap(),
    ];
    let output = shop.run(&arguments);
    assert_exit(&output, 2);
    assert_eq!(
        stderr(&output),
        "error: `upkeep/upgrade-for-main` is checked out: an earlier `upkeep upgrade apply` ended before it could return to `main` (killed?); an upgrade does not start from an upgrade branch\n\
         hint: drop what it left with `git checkout --force main && git branch -D upkeep/upgrade-for-main`, then run the upgrade again (with --refresh if its branch was pushed)\n"
    );
    assert!(!started.exists(), "Composer ran on the leftover branch");
    assert_eq!(
        shop.git(&["branch", "--list", "upkeep/*"]),
        "* upkeep/upgrade-for-main\n"
    );

    // Following the hint gives a run that starts from main again.
    shop.git(&["checkout", "--force", "main"]);
    shop.git(&["branch", "-D", "upkeep/upgrade-for-main"]);
    let (status, stderr, _) = apply_and_signal(&shop, &composer, "TERM");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("on branch upkeep/upgrade-for-main (from main)"),
        "{stderr}"
    );
    assert_eq!(
        shop.git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "main"
    );
    assert_eq!(shop.git(&["branch", "--list", "upkeep/*"]), "");
}

#[test]
fn plan_refuses_over_long_versions_in_the_lock_and_the_repository_at_once() {
    require_composer();
    let shop = Shop::new();
    // The reproducers: one 64 KB version in the repository's metadata, one in the lock (each
    // took 14 s in a release build, quadratic in the length).
    let repository_dir = shop.dir.path().join("repo");
    std::fs::create_dir_all(&repository_dir).unwrap();
    let mut repository: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture().join("packages.json")).unwrap()).unwrap();
    let long_release = format!("1.0.{}", "x".repeat(64_000));
    repository["packages"]["acme/lib"][&long_release] =
        serde_json::json!({"name": "acme/lib", "version": long_release, "type": "metapackage"});
    std::fs::write(
        repository_dir.join("packages.json"),
        serde_json::to_vec(&repository).unwrap(),
    )
    .unwrap();
    let manifest_path = shop.project.join("composer.json");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap().replace(
        &format!("file://{}", fixture().display()),
        &format!("file://{}", repository_dir.display()),
    );
    std::fs::write(&manifest_path, manifest).unwrap();
    let lock_path = shop.project.join("composer.lock");
    let mut lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&lock_path).unwrap()).unwrap();
    let long_locked = format!("3.70.0{}", "x".repeat(64_000));
    for package in lock["packages"].as_array_mut().unwrap() {
        if package["name"] == "spryker/kernel" {
            package["version"] = serde_json::Value::from(long_locked.clone());
        }
    }
    std::fs::write(&lock_path, serde_json::to_vec_pretty(&lock).unwrap()).unwrap();

    let started = std::time::Instant::now();
    let output = shop.run(&["upgrade", "plan", "--format", "json"]);
    let elapsed = started.elapsed();
    assert_exit(&output, 0);
    let stderr = stderr(&output);
    assert!(
        stderr.contains(&format!(
            "warning: ./composer.lock: `spryker/kernel` is left alone: invalid version \"{}… (64006 bytes)\": longer than 256 bytes; Composer's versions are far shorter\n",
            &long_locked[..40]
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "version `{}… (64004 bytes)`: the version is longer than 256 bytes",
            &long_release[..40]
        )),
        "{stderr}"
    );
    assert!(stderr.len() < 4096, "{} bytes of warnings", stderr.len());
    // The rest of the plan is as usual.
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let acme_lib = plan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|package| package["name"] == "acme/lib")
        .unwrap();
    assert_eq!(acme_lib["to"], "1.1.0");
    // Refused at once, not scanned: far below the 14 s the two inputs took before.
    assert!(
        elapsed < std::time::Duration::from_secs(10),
        "took {elapsed:?}"
    );
    eprintln!("plan with two 64 KB versions: {elapsed:?}");
}

/// A metapackage release of the scenario repositories, requiring `require`.
fn meta(name: &str, version: &str, require: &[(&str, &str)]) -> serde_json::Value {
    let require: serde_json::Map<String, serde_json::Value> = require
        .iter()
        .map(|(name, constraint)| ((*name).to_string(), serde_json::Value::from(*constraint)))
        .collect();
    serde_json::json!({"name": name, "version": version, "type": "metapackage", "require": require})
}

/// The packages of the issue's cases: `a/a` 1.0.1 needs `b/b ^1.1` (`c/c` requires `b/b` as
/// `c_requires`), `a/a` 1.1.0 needs `z/missing ^1.0` (which only `with_missing` adds), and
/// `a/a` needs `d/d`, which has a patch of its own.
fn solver_cases(c_requires: &str, with_missing: bool) -> serde_json::Value {
    let mut packages = serde_json::json!({
        "a/a": {
            "1.0.0": meta("a/a", "1.0.0", &[("b/b", "^1.0"), ("d/d", "^1.0")]),
            "1.0.1": meta("a/a", "1.0.1", &[("b/b", "^1.1"), ("d/d", "^1.0")]),
            "1.1.0": meta("a/a", "1.1.0", &[("b/b", "^1.1"), ("d/d", "^1.0"), ("z/missing", "^1.0")]),
        },
        "b/b": {"1.0.0": meta("b/b", "1.0.0", &[]), "1.1.0": meta("b/b", "1.1.0", &[])},
        "c/c": {"1.0.0": meta("c/c", "1.0.0", &[("b/b", c_requires)])},
        "d/d": {"1.0.0": meta("d/d", "1.0.0", &[]), "1.0.5": meta("d/d", "1.0.5", &[])},
    });
    if with_missing {
        packages["z/missing"] = serde_json::json!({"1.0.0": meta("z/missing", "1.0.0", &[])});
    }
    packages
}

fn solver_shop(c_requires: &str, with_missing: bool, upkeep_toml: &str) -> Shop {
    Shop(ComposerShop::with_repository(
        &solver_cases(c_requires, with_missing),
        &[("a/a", "^1.0", "1.0.0"), ("c/c", "^1.0", "1.0.0")],
        &[("b/b", "1.0.0"), ("d/d", "1.0.0")],
        upkeep_toml,
    ))
}

/// What `composer update <package> -w --dry-run` would do: (name, new version), sorted.
fn composer_would(shop: &Shop, package: &str) -> Vec<(String, String)> {
    let output = Command::new("composer")
        .args(["update", package, "--with-dependencies", "--dry-run"])
        .args(["--no-interaction", "--no-scripts", "--no-plugins"])
        .current_dir(&shop.project)
        .env("COMPOSER_HOME", shop.home().join("composer"))
        .env("COMPOSER_CACHE_DIR", shop.home().join("composer-cache"))
        .output()
        .unwrap();
    let text = format!("{}{}", stdout(&output), stderr(&output));
    assert!(output.status.success(), "{text}");
    let mut moves: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| {
            let line = line.trim_start().strip_prefix("- ")?;
            let (name, rest) = if let Some(rest) = line.strip_prefix("Upgrading ") {
                let (name, versions) = rest.split_once(' ')?;
                (name, versions.split("=> ").nth(1)?)
            } else {
                let rest = line.strip_prefix("Installing ")?;
                rest.split_once(' ')?
            };
            Some((name.to_string(), rest.trim_matches(['(', ')']).to_string()))
        })
        .collect();
    // The dry run lists the lock file's operations, then the installs.
    moves.sort();
    moves.dedup();
    moves
}

/// That Composer's update of `package` agrees with the plan's: the same version of the
/// package, and every package the plan moves with it at the same version. Composer may move
/// more: `-w` also takes the package's other dependencies to their newest releases, which the
/// plan leaves to their own rows (`d/d` here).
fn assert_agrees(plan: &serde_json::Value, composer: &[(String, String)], package: &str) {
    let planned = planned_moves(plan, package);
    let version = |moves: &[(String, String)]| {
        moves
            .iter()
            .find(|(name, _)| name == package)
            .map(|(_, version)| version.clone())
    };
    assert_eq!(
        version(&planned),
        version(composer),
        "{planned:?} vs {composer:?}"
    );
    for moved in &planned {
        assert!(composer.contains(moved), "{moved:?} not in {composer:?}");
    }
    for (name, version) in composer {
        if planned.iter().any(|(planned, _)| planned == name) {
            continue;
        }
        assert_eq!(
            (name.as_str(), version.as_str()),
            ("d/d", "1.0.5"),
            "Composer moves more than the plan and d/d: {composer:?}"
        );
    }
}

/// The plan's update of `package` and what it moves: (name, new version), sorted.
fn planned_moves(plan: &serde_json::Value, package: &str) -> Vec<(String, String)> {
    let row = plan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == package)
        .unwrap();
    let Some(to) = row["to"].as_str().filter(|_| row["update"] != "none") else {
        return Vec::new();
    };
    let mut moves = vec![(package.to_string(), to.to_string())];
    for moved in row["moves"].as_array().unwrap() {
        moves.push((
            moved["name"].as_str().unwrap().to_string(),
            moved["to"].as_str().unwrap().to_string(),
        ));
    }
    moves.sort();
    moves
}

fn plan_json(shop: &Shop) -> serde_json::Value {
    let output = shop.run(&["upgrade", "plan", "--format", "json"]);
    assert_exit(&output, 0);
    serde_json::from_slice(&output.stdout).unwrap()
}

fn reason_of(plan: &serde_json::Value, package: &str) -> String {
    plan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == package)
        .unwrap()["reason"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn the_plan_checks_new_requirements_as_composer_does() {
    require_composer();
    // z/missing is in no repository: 1.1.0 is not offered; c/c forbids b/b 1.1.0, which
    // 1.0.1 needs: nothing is offered, and Composer agrees (nothing to modify).
    let shop = solver_shop("~1.0.0", false, "");
    let plan = plan_json(&shop);
    assert_eq!(
        reason_of(&plan, "a/a"),
        "1.1.0 requires b/b ^1.1; the locked 1.0.0 cannot move there: 1.1.0 is not allowed by c/c 1.0.0 (requires ~1.0.0)"
    );
    assert_agrees(&plan, &composer_would(&shop, "a/a"), "a/a");
    assert_eq!(planned_moves(&plan, "a/a"), []);

    // c/c allows b/b 1.1: 1.1.0 still needs z/missing, so 1.0.1, with b/b 1.1.0 and d/d as
    // locked (it needs no newer d/d) — Composer's choice for a/a and b/b too.
    let shop = solver_shop("^1.0", false, "");
    let plan = plan_json(&shop);
    assert_eq!(
        reason_of(&plan, "a/a"),
        "newest possible; 1.1.0 requires z/missing ^1.0, which no repository has"
    );
    assert_eq!(
        planned_moves(&plan, "a/a"),
        [
            ("a/a".to_string(), "1.0.1".to_string()),
            ("b/b".to_string(), "1.1.0".to_string())
        ]
    );
    assert_agrees(&plan, &composer_would(&shop, "a/a"), "a/a");

    // With z/missing in the repository, 1.1.0 and z/missing as Composer has them.
    let shop = solver_shop("^1.0", true, "");
    let plan = plan_json(&shop);
    assert_eq!(
        planned_moves(&plan, "a/a"),
        [
            ("a/a".to_string(), "1.1.0".to_string()),
            ("b/b".to_string(), "1.1.0".to_string()),
            ("z/missing".to_string(), "1.0.0".to_string())
        ]
    );
    assert_agrees(&plan, &composer_would(&shop, "a/a"), "a/a");
}

#[test]
fn apply_moves_exactly_what_the_plan_shows_and_the_limits_hold() {
    require_composer();
    // No minor allowed: a/a's patch would move b/b a minor, so nothing of a/a moves, and b/b
    // does not move on its own either; d/d's patch (which `-w` would have pulled along) is
    // its own update.
    let shop = solver_shop("^1.0", false, "[upgrade]\nmax-minor = 0\n");
    let plan = plan_json(&shop);
    let row = |name: &str| {
        plan["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(row("a/a")["update"], "none");
    assert_eq!(row("a/a")["to"], "1.0.1");
    assert_eq!(row("a/a")["deferred"], true);
    assert_eq!(row("b/b")["update"], "none");
    assert_eq!(row("d/d")["update"], "patch");
    let output = shop.run(&["upgrade", "plan"]);
    let text = stdout(&output);
    assert!(
        text.lines().any(|line| line.starts_with("a/a ")
            && line.contains(" later  1.0.1        waits for the next run: at most 0 minor updates per run; it moves b/b 1.0.0 → 1.1.0 (minor)")),
        "{text}"
    );
    let output = shop.run(&["upgrade", "apply", "--no-gate"]);
    assert_exit(&output, 0);
    shop.git(&["checkout", "-q", "upkeep/upgrade-for-main"]);
    assert_eq!(shop.locked("a/a").as_deref(), Some("1.0.0"));
    assert_eq!(shop.locked("b/b").as_deref(), Some("1.0.0"));
    assert_eq!(shop.locked("d/d").as_deref(), Some("1.0.5"));
    shop.git(&["checkout", "-q", "main"]);

    // One of each: a/a and b/b go together in a/a's group, d/d waits (a/a's patch took
    // the one patch), and the lock moves exactly those two.
    let shop = solver_shop("^1.0", false, "[upgrade]\nmax-minor = 1\nmax-patch = 1\n");
    let plan = plan_json(&shop);
    let groups: Vec<String> = plan["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| format!("{}: {}", group["name"].as_str().unwrap(), group["packages"]))
        .collect();
    assert_eq!(groups, [r#"a: ["a/a","b/b"]"#]);
    let output = shop.run(&["upgrade", "apply", "--no-gate"]);
    assert_exit(&output, 0);
    let subjects = shop.git(&["log", "--format=%s", "main..upkeep/upgrade-for-main"]);
    assert_eq!(subjects.trim(), "Update a: a/a 1.0.1, b/b 1.1.0");
    shop.git(&["checkout", "-q", "upkeep/upgrade-for-main"]);
    assert_eq!(shop.locked("a/a").as_deref(), Some("1.0.1"));
    assert_eq!(shop.locked("b/b").as_deref(), Some("1.1.0"));
    assert_eq!(shop.locked("c/c").as_deref(), Some("1.0.0"));
    assert_eq!(shop.locked("d/d").as_deref(), Some("1.0.0"));
}

#[test]
fn plan_text_shows_what_needs_action_and_all_shows_every_row() {
    require_composer();
    let shop = Shop::new();
    let output = shop.run(&["upgrade", "plan"]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    // other/pinned has only a new major: up to date, counted, not shown.
    assert!(!text.contains("other/pinned"), "{text}");
    assert!(
        text.contains(
            "\n1 package up to date (1 with a new major): not shown; --all shows every package.\n"
        ),
        "{text}"
    );
    assert!(
        text.lines().any(|line| line.starts_with("tools/php84 ")),
        "{text}"
    );
    let output = shop.run(&["upgrade", "plan", "--all"]);
    let text = stdout(&output);
    assert!(
        text.lines().any(|line| line.starts_with("other/pinned ")),
        "{text}"
    );
    assert!(
        text.contains("\n1 package up to date (1 with a new major).\n"),
        "{text}"
    );
}

/// Issue 15, item 5: after a group's Composer update, the code changes its manifests call for
/// are applied and committed on their own, and the pull request lists them.
#[test]
fn apply_commits_the_code_changes_of_a_groups_manifests() {
    require_composer();
    let shop = Shop::new();
    let config = shop.project.join("config/Shared/config_default.php");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        "<?php\n\nuse Spryker\\Shared\\Kernel\\KernelConstants;\n\n$config[KernelConstants::PROJECT_NAMESPACES] = ['Pyz'];\n",
    )
    .unwrap();
    shop.git(&["add", "-A"]);
    shop.git(&["commit", "-q", "-m", "config"]);
    // spryker/kernel moves from 3.70.0 to 3.72.0: the 3.71.0 manifest applies, 3.73.0's not.
    let manifests = tempfile::tempdir().unwrap();
    for (version, key) in [("3.71.0", "UPKEEP_FLAG"), ("3.73.0", "LATER_FLAG")] {
        let dir = manifests.path().join(format!("Spryker/Kernel/{version}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("installer-manifest.json"),
            format!(
                "{{\"configure-env\": [{{\"target\": \"\\\\Spryker\\\\Shared\\\\Kernel\\\\KernelConstants::{key}\", \"value\": true}}]}}"
            ),
        )
        .unwrap();
    }
    let output = shop
        .upkeep(&["upgrade", "apply", "--dry-run"])
        .arg("--manifests")
        .arg(manifests.path())
        .output()
        .unwrap();
    let body = stdout(&output);
    assert!(
        body.contains("### Code changes (Spryker's integration manifests)")
            && body.contains("#### Code changes for spryker")
            && body.contains("| Spryker.Kernel | 3.71.0 | 1 applied |"),
        "{body}{}",
        stderr(&output)
    );

    // Without manifests, no code changes.
    let output = shop.run(&["upgrade", "apply"]);
    assert!(output.status.code().is_some(), "{}", stderr(&output));
    let subjects = shop.git(&["log", "--format=%s", "main..upkeep/upgrade-for-main"]);
    assert!(!subjects.contains("Apply code changes"), "{subjects}");
    // `[upgrade] manifests` in upkeep.toml turns them on, as --manifests does.
    std::fs::write(
        shop.project.join("upkeep.toml"),
        format!(
            "[upgrade]\nmanifests = \"{}\"\n",
            manifests.path().display()
        ),
    )
    .unwrap();
    shop.git(&["add", "-A"]);
    shop.git(&["commit", "-q", "-m", "manifests"]);
    let output = shop.run(&["upgrade", "apply", "--refresh"]);
    assert!(output.status.code().is_some(), "{}", stderr(&output));
    let branch = "upkeep/upgrade-for-main";
    let subjects = shop.git(&["log", "--format=%s", &format!("main..{branch}")]);
    assert!(
        subjects
            .lines()
            .any(|subject| subject == "Apply code changes for spryker"),
        "{subjects}{}",
        stderr(&output)
    );
    let config_after = shop.git(&[
        "show",
        &format!("{branch}:config/Shared/config_default.php"),
    ]);
    assert!(
        config_after.contains("$config[KernelConstants::UPKEEP_FLAG] = true;")
            && !config_after.contains("LATER_FLAG"),
        "{config_after}"
    );
    let lock = shop.git(&["show", &format!("{branch}:integrator.lock")]);
    assert!(lock.contains("\"Spryker.Kernel\": \"3.72.0\""), "{lock}");
}
