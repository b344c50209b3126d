//! End-to-end tests of pipelines and deployments on the fixture shop
//! (`tests/fixtures/pipeline-shop`): a real git repository, the built binary, real shells.
//! The fixture's hooks append a line per run to `<target>/journal.log` saying which stage ran,
//! in which release, with which version of the code and which environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use upkeep_deploy::layout::ImageStore;
use upkeep_deploy::registry::{ImageReference, Registry};
use upkeep_deploy::testing::TestRegistry;

mod common;
use common::server::copy_tree;
use common::{assert_exit, stderr, stdout};

const SECRET: &str = "s3cr3t-staging-pw";
const REGISTRY_USER: &str = upkeep_deploy::testing::USER;
const REGISTRY_PASSWORD: &str = upkeep_deploy::testing::PASSWORD;

struct Shop {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    targets: PathBuf,
}

impl Shop {
    /// The fixture shop as a git repository with one commit.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        copy_tree(&fixture(), &repo);
        let shop = Self {
            targets: dir.path().join("targets"),
            repo,
            _dir: dir,
        };
        shop.git(&["init", "-q", "-b", "main"]);
        shop.commit("first");
        shop
    }

    fn git(&self, arguments: &[&str]) {
        let status = Command::new("git")
            .current_dir(&self.repo)
            .args(["-c", "user.email=test@example.test", "-c", "user.name=Test"])
            .args(arguments)
            .status()
            .unwrap();
        assert!(status.success(), "git {arguments:?}");
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.repo.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Replaces text in a file of the repository, each pair in turn; every `from` must be there.
    fn edit(&self, path: &str, replacements: &[(&str, &str)]) {
        let mut text = std::fs::read_to_string(self.repo.join(path)).unwrap();
        for (from, to) in replacements {
            assert!(text.contains(from), "{path} has no {from:?}");
            text = text.replace(from, to);
        }
        self.write(path, &text);
    }

    /// Writes an executable script (a stand-in hook).
    fn write_script(&self, path: &str, text: &str) {
        use std::os::unix::fs::PermissionsExt as _;
        self.write(path, text);
        std::fs::set_permissions(self.repo.join(path), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    /// Changes the application version (the hooks print it) and commits.
    fn release_version(&self, version: u32) {
        self.write("VERSION", &format!("{version}\n"));
        self.commit(&format!("version {version}"));
    }

    fn upkeep(&self, arguments: &[&str]) -> Command {
        let mut command = Command::cargo_bin("upkeep").unwrap();
        command
            .current_dir(&self.repo)
            .args(arguments)
            // Must not reach any hook: hooks get the image environment only.
            .env("FIXTURE_HOST_ONLY", "leaked")
            .env("NO_COLOR", "1");
        command
    }

    fn run(&self, arguments: &[&str]) -> Output {
        self.upkeep(arguments).output().unwrap()
    }

    fn journal(&self, environment: &str) -> Vec<String> {
        std::fs::read_to_string(self.targets.join(environment).join("journal.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn current_release(&self, environment: &str) -> Option<String> {
        std::fs::read_link(self.targets.join(environment).join("current"))
            .ok()
            .map(|link| link.file_name().unwrap().to_string_lossy().into_owned())
    }

    fn releases(&self, environment: &str) -> Vec<String> {
        let mut releases: Vec<String> =
            std::fs::read_dir(self.targets.join(environment).join("releases"))
                .map(|entries| {
                    entries
                        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                        .filter(|name| !name.starts_with('.'))
                        .collect()
                })
                .unwrap_or_default();
        releases.sort();
        releases
    }

    /// The newest run directory of the environment: run ids sort by start time, and the
    /// environment is a field of the record (never parsed out of the id).
    fn newest_run(&self, environment: &str) -> PathBuf {
        let mut runs: Vec<PathBuf> = std::fs::read_dir(self.repo.join(".upkeep/runs"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                std::fs::read_to_string(path.join("record.json"))
                    .ok()
                    .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                    .is_some_and(|record| record["environment"] == environment)
            })
            .collect();
        runs.sort();
        runs.pop().unwrap()
    }

    fn record(&self, environment: &str) -> serde_json::Value {
        let text =
            std::fs::read_to_string(self.newest_run(environment).join("record.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pipeline-shop")
}

/// The `stage=... release=... version=...` fields of a journal line, in a compact form.
fn fields(line: &str, names: &[&str]) -> String {
    line.split(' ')
        .filter(|field| {
            names
                .iter()
                .any(|name| field.starts_with(&format!("{name}=")))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn plan_names_stages_commands_places_and_origins() {
    let shop = Shop::new();
    let output = shop.run(&["pipeline", "plan", "--env", "staging"]);
    assert_exit(&output, 0);
    let plan = stdout(&output);
    for expected in [
        "*** staging Pipeline ***",
        "buildspec: ci/build.yml (project)",
        "policy: warn",
        "4. Deployment: destructive (from upkeep.yml)",
        "command:   bin/record-hook pre-deploy",
        "from:      deploy.fixture-shop-staging.yml:11",
        "from:      config/deploy-templates/deploy.fixture-base.template.yml:12",
        "runs in:   the running release, ../targets/staging/current",
    ] {
        assert!(plan.contains(expected), "missing `{expected}` in:\n{plan}");
    }
    let output = shop.run(&[
        "pipeline",
        "plan",
        "--env",
        "production",
        "--type",
        "destructive",
    ]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("vendor/bin/install -r destructive --no-ansi -vvv"));
}

#[test]
fn plan_shows_the_container_executor_and_target() {
    let shop = Shop::new();
    shop.edit(
        "upkeep.yml",
        &[(
            "    target:\n      local:\n        path: ../targets/staging\n",
            "    executor: {container: {memory: 1g}}\n    target:\n      container: {path: ../targets/staging, health: 'true'}\n",
        )],
    );
    shop.commit("containers");
    let output = shop.run(&["pipeline", "plan", "--env", "staging"]);
    assert_exit(&output, 0);
    let plan = stdout(&output);
    for expected in [
        "target:       container ../targets/staging (keeps 3 releases)",
        "executor:     container: hooks run in containers of the images with podman (memory 1g, stop grace 10s)",
    ] {
        assert!(plan.contains(expected), "missing `{expected}` in:\n{plan}");
    }
    let output = shop.run(&["pipeline", "plan", "--env", "staging", "--format", "json"]);
    assert_exit(&output, 0);
    let plan: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(plan["executor"]["container"]["memory"], "1g");
    assert_eq!(plan["target"]["container"]["name"], "fixture-shop-staging");
    assert_eq!(plan["target"]["container"]["health-timeout"], "1m");
}

#[test]
fn first_and_second_deployment_run_hooks_in_the_right_releases() {
    let shop = Shop::new();
    let output = shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]);
    assert_exit(&output, 0);
    let first = shop.current_release("staging").unwrap();
    let journal = shop.journal("staging");
    // First deployment: no running release, so no pre-deploy.
    assert_eq!(
        journal
            .iter()
            .map(|line| fields(
                line,
                &[
                    "stage",
                    "version",
                    "type",
                    "project",
                    "env",
                    "build",
                    "home_leak"
                ]
            ))
            .collect::<Vec<_>>(),
        [
            "stage=install-destructive version=1 type=destructive project=fixture-shop env=staging build=build-1 home_leak=",
            "stage=post-deploy version=1 type=destructive project=fixture-shop env=staging build=build-1 home_leak=",
        ]
    );
    assert!(
        journal
            .iter()
            .all(|line| line.contains(&format!("release={first}")))
    );
    let record = shop.record("staging");
    assert_eq!(record["status"], "succeeded");
    assert_eq!(record["pipeline"], "*** staging Pipeline ***");
    let notes = record["notes"].to_string();
    assert!(
        notes.contains("pre-deploy skipped: this is the first deployment"),
        "{notes}"
    );

    // The second deployment changes the pre-deploy hook: this run still runs the running
    // release's hook (in the running release, with version 1), and says so.
    shop.edit(
        "deploy.fixture-shop-staging.yml",
        &[(
            "bin/record-hook pre-deploy",
            "bin/record-hook pre-deploy-v2",
        )],
    );
    shop.release_version(2);
    let output = shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]);
    assert_exit(&output, 0);
    assert!(
        stderr(&output).contains("SPRYKER_HOOK_BEFORE_DEPLOY changed from `bin/record-hook pre-deploy` to `bin/record-hook pre-deploy-v2`: pre-deploy runs in the running release, so the new hook applies from the next deployment on"),
        "{}",
        stderr(&output)
    );
    let second = shop.current_release("staging").unwrap();
    assert_ne!(first, second);
    let journal = shop.journal("staging");
    assert_eq!(
        journal[2..]
            .iter()
            .map(|line| fields(line, &["stage", "release", "version"]))
            .collect::<Vec<_>>(),
        [
            format!("stage=pre-deploy release={first} version=1"),
            format!("stage=install-destructive release={second} version=2"),
            format!("stage=post-deploy release={second} version=2"),
        ]
    );

    // From the third deployment on, the new hook runs.
    shop.release_version(3);
    let output = shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]);
    assert_exit(&output, 0);
    let journal = shop.journal("staging");
    assert_eq!(
        fields(&journal[5], &["stage", "release", "version"]),
        format!("stage=pre-deploy-v2 release={second} version=2")
    );
}

#[test]
fn normal_and_destructive_deployments_run_their_install_hook() {
    let shop = Shop::new();
    assert_exit(&shop.run(&["build", "--env", "staging", "--quiet"]), 0);
    assert_exit(&shop.run(&["deploy", "--env", "staging", "--quiet"]), 0);
    assert_exit(
        &shop.run(&["deploy", "--env", "staging", "--type", "normal", "--quiet"]),
        0,
    );
    let stages: Vec<String> = shop
        .journal("staging")
        .iter()
        .map(|line| fields(line, &["stage", "type"]))
        .collect();
    assert_eq!(
        stages,
        [
            "stage=install-destructive type=destructive",
            "stage=post-deploy type=destructive",
            "stage=pre-deploy type=normal",
            "stage=install-normal type=normal",
            "stage=post-deploy type=normal",
        ]
    );
    // Production sets no hooks: the defaults run Spryker's installer with the right recipe.
    assert_exit(
        &shop.run(&[
            "pipeline",
            "run",
            "--env",
            "production",
            "--approve",
            "--quiet",
        ]),
        0,
    );
    let journal = shop.journal("production");
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert!(
        journal[0].contains("stage=install-recipe:production")
            && journal[0].contains("args=-r production --no-ansi -vvv"),
        "{}",
        journal[0]
    );
}

#[test]
fn a_failed_install_switches_nothing_and_loses_nothing() {
    let shop = Shop::new();
    assert_exit(
        &shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]),
        0,
    );
    let running = shop.current_release("staging").unwrap();
    let running_files = shop
        .targets
        .join("staging/releases")
        .join(&running)
        .join("app");
    let index_before = std::fs::read(running_files.join("public/index.php")).unwrap();

    shop.write("fail-install-destructive", "");
    shop.write("public/index.php", "<?php echo 'broken';\n");
    shop.release_version(2);
    let output = shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("install: failed with exit status 3"),
        "{}",
        stderr(&output)
    );
    assert_eq!(shop.current_release("staging").unwrap(), running);
    assert_eq!(
        std::fs::read(running_files.join("public/index.php")).unwrap(),
        index_before
    );
    let record = shop.record("staging");
    assert_eq!(record["status"], "failed");
    let deployment = &record["sub_pipelines"][2];
    assert_eq!(deployment["name"], "Deployment");
    let statuses: Vec<String> = deployment["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|stage| {
            format!(
                "{}={}",
                stage["name"].as_str().unwrap(),
                stage["status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            "pre-deploy=succeeded",
            "install=failed",
            "post-deploy=skipped"
        ]
    );
    // The failed release is kept for inspection; post-deploy did not run.
    assert_eq!(shop.releases("staging").len(), 2);
    let last = shop.journal("staging").last().cloned().unwrap();
    assert!(
        last.starts_with("stage=install-destructive") && last.contains("version=2"),
        "{last}"
    );
    // The install log is kept and says why.
    let log = shop.run(&["pipeline", "logs", "--env", "staging", "--stage", "install"]);
    assert_exit(&log, 0);
    assert!(stdout(&log).contains("hook install-destructive fails on purpose"));
}

#[test]
fn rollback_returns_to_the_previous_release_and_old_releases_are_pruned() {
    let shop = Shop::new();
    let mut deployed = Vec::new();
    for version in 1..=4 {
        if version > 1 {
            shop.release_version(version);
        }
        assert_exit(
            &shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]),
            0,
        );
        deployed.push(shop.current_release("staging").unwrap());
    }
    // keep-releases: 3 in the fixture.
    assert_eq!(shop.releases("staging"), deployed[1..].to_vec());
    let output = shop.run(&["deploy", "rollback", "--env", "staging"]);
    assert_exit(&output, 0);
    assert_eq!(
        stdout(&output).trim(),
        format!("rolled back staging: {} -> {}", deployed[3], deployed[2])
    );
    assert_eq!(shop.current_release("staging").unwrap(), deployed[2]);
    let output = shop.run(&["deploy", "rollback", "--env", "staging"]);
    assert_exit(&output, 0);
    assert_eq!(shop.current_release("staging").unwrap(), deployed[1]);
    let output = shop.run(&["deploy", "rollback", "--env", "staging"]);
    assert_exit(&output, 2);
    assert_eq!(shop.current_release("staging").unwrap(), deployed[1]);
}

#[test]
fn secrets_are_masked_in_logs_and_records() {
    let shop = Shop::new();
    assert_exit(
        &shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]),
        0,
    );
    let run = shop.newest_run("staging");
    let log = std::fs::read_to_string(run.join("logs/install/install.log")).unwrap();
    assert!(log.contains("database password is ***"), "{log}");
    for entry in walk(&run) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(
            !text.contains(SECRET),
            "{} leaks the secret",
            entry.display()
        );
    }
    // The hook did get the real value.
    let output = shop.run(&[
        "pipeline",
        "logs",
        "--env",
        "staging",
        "--stage",
        "post-deploy",
    ]);
    assert!(stdout(&output).contains("database password is ***"));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn overlapping_deployments_wait_for_each_other_in_order() {
    let shop = Shop::new();
    shop.write_script(
        "bin/slow-hook",
        "#!/bin/sh\nj=\"$(pwd)/../../../journal.log\"\necho \"start $1\" >> \"$j\"\nsleep 1\necho \"end $1\" >> \"$j\"\n",
    );
    shop.edit(
        "deploy.fixture-shop-staging.yml",
        &[
            ("bin/record-hook install-destructive", "bin/slow-hook x"),
            (
                "SPRYKER_HOOK_BEFORE_DEPLOY: bin/record-hook pre-deploy",
                "SPRYKER_HOOK_BEFORE_DEPLOY: \"true\"",
            ),
        ],
    );
    shop.commit("slow install");
    assert_exit(&shop.run(&["build", "--env", "staging", "--quiet"]), 0);
    let first = shop
        .upkeep(&["deploy", "--env", "staging", "--quiet"])
        .spawn()
        .unwrap();
    // Wait until the first deployment is inside its install hook.
    let journal = shop.targets.join("staging/journal.log");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&journal)
        .unwrap_or_default()
        .contains("start")
    {
        assert!(
            Instant::now() < deadline,
            "the first deployment never started its install"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = shop
        .upkeep(&["deploy", "--env", "staging", "--quiet"])
        .output()
        .unwrap();
    let first = first.wait_with_output().unwrap();
    assert_exit(&first, 0);
    assert_exit(&second, 0);
    assert!(
        stderr(&second).contains("waiting for deployment"),
        "{}",
        stderr(&second)
    );
    let lines: Vec<String> = shop
        .journal("staging")
        .into_iter()
        .filter(|line| line.starts_with("start") || line.starts_with("end"))
        .collect();
    assert_eq!(lines, ["start x", "end x", "start x", "end x"]);
}

#[test]
fn a_blocking_gate_stops_the_run_before_deployment() {
    let shop = Shop::new();
    shop.write(
        "src/Pyz/Zed/Greeting/GreetingDependencyProvider.php",
        r"<?php

namespace Pyz\Zed\Greeting;

use Spryker\Zed\Kernel\AbstractBundleDependencyProvider;
use Spryker\Zed\Kernel\Container;

class GreetingDependencyProvider extends AbstractBundleDependencyProvider
{
    public function provideBusinessLayerDependencies(Container $container): Container
    {
        $container->set('GREETING_PLUGINS', function () {
            return [new \stdClass()];
        });

        return $container;
    }
}
",
    );
    shop.commit("inline plugin list");
    let output = shop.run(&[
        "pipeline",
        "run",
        "--env",
        "production",
        "--approve",
        "--quiet",
    ]);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("container-set-returns-array"),
        "{}",
        stderr(&output)
    );
    assert!(shop.current_release("production").is_none());
    let record = shop.record("production");
    assert_eq!(record["gate"]["passed"], false);
    assert_eq!(record["sub_pipelines"][2]["name"], "Deployment");
    assert_eq!(record["sub_pipelines"][2]["status"], "skipped");
    // Staging only warns: the same commit deploys there.
    let output = shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]);
    assert_exit(&output, 0);
    assert!(stderr(&output).contains("policy is `warn`"));
}

#[test]
fn approval_stops_the_run_in_a_waiting_state() {
    let shop = Shop::new();
    let output = shop.run(&["pipeline", "run", "--env", "production", "--quiet"]);
    assert_exit(&output, 0);
    assert!(stdout(&output).starts_with("waiting for approval: "));
    assert_eq!(shop.record("production")["status"], "waiting_for_approval");
    assert!(shop.current_release("production").is_none());
}

#[test]
fn sub_pipelines_cannot_be_started_alone() {
    let shop = Shop::new();
    let output = shop.run(&["pipeline", "run", "--env", "staging", "--pipeline", "Build"]);
    assert_exit(&output, 2);
    assert_eq!(
        stderr(&output),
        "error: `Build` is a sub-pipeline of `*** staging Pipeline ***` and cannot be started on its own\n\
         hint: start the main pipeline: `upkeep pipeline run --env staging`\n"
    );
}

#[test]
fn the_same_commit_builds_the_same_image() {
    let shop = Shop::new();
    let first = shop.run(&["build", "--env", "staging", "--quiet"]);
    assert_exit(&first, 0);
    let second = shop.run(&["build", "--env", "staging", "--quiet"]);
    assert_exit(&second, 0);
    let digest = stdout(&first);
    assert!(
        digest.starts_with("staging-") && digest.contains(" sha256:"),
        "{digest}"
    );
    assert_eq!(digest, stdout(&second));
    shop.release_version(2);
    let third = shop.run(&["build", "--env", "staging", "--quiet"]);
    assert_ne!(stdout(&third).split(' ').nth(1), digest.split(' ').nth(1));
}

#[test]
fn bad_yaml_is_reported_with_file_line_column_and_key() {
    let shop = Shop::new();
    shop.write(
        "upkeep.yml",
        "project: fixture-shop\nenvironments:\n  staging:\n    deploy-typ: normal\n    target:\n      local:\n        path: ../targets/staging\n",
    );
    let output = shop.run(&["pipeline", "plan", "--env", "staging"]);
    assert_exit(&output, 2);
    let message = stderr(&output);
    assert!(
        message.contains(
            "upkeep.yml:4:5: at `environments.staging.deploy-typ`: unknown field `deploy-typ`"
        ),
        "{message}"
    );
    // A deploy file error names the file of the import chain, the line and the key.
    let output = shop.run(&["deploy-file", "show", "deploy.fixture-shop-staging.yml"]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("namespace: fixture-staging"));
    shop.write(
        "config/deploy-templates/deploy.fixture-base.template.yml",
        "version: \"0.1\"\nimage:\n  tag: [not, a, tag]\n",
    );
    let output = shop.run(&["deploy-file", "show", "deploy.fixture-shop-staging.yml"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("deploy.fixture-base.template.yml:3:8: at `image.tag`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn logs_resume_from_a_byte_offset_without_gaps_or_duplicates() {
    let shop = Shop::new();
    assert_exit(
        &shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]),
        0,
    );
    let whole = shop.run(&["pipeline", "logs", "--env", "staging", "--stage", "build"]);
    assert_exit(&whole, 0);
    let whole = stdout(&whole);
    let log = shop.newest_run("staging").join("logs/build/build.log");
    let bytes = std::fs::read(&log).unwrap();
    // Resume right after the third record.
    let offset = bytes
        .iter()
        .enumerate()
        .filter(|(_, byte)| **byte == b'\n')
        .nth(2)
        .unwrap()
        .0
        + 1;
    let rest = shop.run(&[
        "pipeline",
        "logs",
        "--env",
        "staging",
        "--stage",
        "build",
        "--offset",
        &offset.to_string(),
    ]);
    assert_exit(&rest, 0);
    let head: Vec<&str> = whole.lines().take(3).collect();
    let tail: Vec<String> = stdout(&rest).lines().map(str::to_string).collect();
    let joined: Vec<String> = head
        .iter()
        .map(|line| (*line).to_string())
        .chain(tail)
        .collect();
    assert_eq!(
        joined,
        whole.lines().map(str::to_string).collect::<Vec<_>>()
    );
}

#[test]
fn ctrl_c_cancels_the_run_and_stops_the_hook_processes() {
    let shop = Shop::new();
    shop.write_script(
        "bin/hang",
        "#!/bin/sh\nsleep 300 &\necho $! > \"$(pwd)/../../../sleeper.pid\"\nwait\n",
    );
    shop.edit(
        "deploy.fixture-shop-staging.yml",
        &[("bin/record-hook install-destructive", "bin/hang")],
    );
    shop.commit("hanging install");
    let child = shop
        .upkeep(&["pipeline", "run", "--env", "staging", "--quiet"])
        .spawn()
        .unwrap();
    let pid_file = shop.targets.join("staging/sleeper.pid");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !pid_file.exists()
        || std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .is_empty()
    {
        assert!(Instant::now() < deadline, "the hook never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sleeper = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_string();
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_exit(&output, 1);
    assert_eq!(shop.record("staging")["status"], "cancelled");
    assert!(shop.current_release("staging").is_none());
    assert!(
        !is_running(&sleeper),
        "the hook's background process {sleeper} survived the cancellation"
    );
}

#[test]
fn a_step_over_its_time_limit_is_stopped() {
    let shop = Shop::new();
    shop.edit(
        "upkeep.yml",
        &[(
            "    keep-releases: 3\n",
            "    keep-releases: 3\n    timeout: 1s\n",
        )],
    );
    shop.edit(
        "deploy.fixture-shop-staging.yml",
        &[("bin/record-hook install-destructive", "sleep 30")],
    );
    shop.commit("slow install");
    let started = Instant::now();
    let output = shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]);
    assert_exit(&output, 1);
    assert!(started.elapsed() < Duration::from_secs(25));
    let record = shop.record("staging");
    assert_eq!(
        record["sub_pipelines"][2]["stages"][0]["name"],
        "pre-deploy"
    );
    assert_eq!(
        record["sub_pipelines"][2]["stages"][1]["status"],
        "timed_out"
    );
    assert!(shop.current_release("staging").is_none());
}

/// Whether the process exists and is not a zombie (a killed process whose parent is gone waits
/// for init to reap it, which a container's init may never do).
fn is_running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

#[test]
fn deploying_an_unknown_image_names_the_available_ones() {
    let shop = Shop::new();
    let output = shop.run(&["deploy", "--env", "staging", "--quiet"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("hint: build an image first: `upkeep build --env staging`"),
        "{}",
        stderr(&output)
    );
    assert_exit(&shop.run(&["build", "--env", "staging", "--quiet"]), 0);
    let output = shop.run(&[
        "deploy",
        "--env",
        "staging",
        "--image",
        "staging-nope",
        "--quiet",
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("staging-latest"),
        "{}",
        stderr(&output)
    );
    assert!(shop.current_release("staging").is_none());
}

#[test]
fn a_project_buildspec_per_stage_hands_exported_variables_on() {
    let shop = Shop::new();
    shop.edit(
        "upkeep.yml",
        &[(
            "      build: ci/build.yml\n",
            "      build: ci/build.yml\n      install: ci/install.yml\n      post-deploy: ci/post.yml\n",
        )],
    );
    shop.write(
        "ci/install.yml",
        "version: 0.2\nenv:\n  exported-variables: [MIGRATED]\nphases:\n  build:\n    commands:\n      - export MIGRATED=\"schema-$(cat VERSION)\"\n",
    );
    shop.write(
        "ci/post.yml",
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"post-deploy sees $MIGRATED and $FIXTURE_BUILD_ID\" >> ../../../journal.log\n",
    );
    shop.commit("stage buildspecs");
    let output = shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]);
    assert_exit(&output, 0);
    assert_eq!(
        shop.journal("staging"),
        ["post-deploy sees schema-1 and build-1"]
    );
}

// Guard rails, approvals across processes, run ids and following logs.

/// The blocking-gate commit of `a_blocking_gate_stops_the_run_before_deployment`.
fn commit_gate_error(shop: &Shop) {
    shop.write(
        "src/Pyz/Zed/Greeting/GreetingDependencyProvider.php",
        "<?php\n\nnamespace Pyz\\Zed\\Greeting;\n\nuse Spryker\\Zed\\Kernel\\AbstractBundleDependencyProvider;\nuse Spryker\\Zed\\Kernel\\Container;\n\nclass GreetingDependencyProvider extends AbstractBundleDependencyProvider\n{\n    public function provideBusinessLayerDependencies(Container $container): Container\n    {\n        $container->set('GREETING_PLUGINS', function () {\n            return [new \\stdClass()];\n        });\n\n        return $container;\n    }\n}\n",
    );
    shop.commit("inline plugin list");
}

fn runs(shop: &Shop) -> usize {
    std::fs::read_dir(shop.repo.join(".upkeep/runs")).map_or(0, Iterator::count)
}

#[test]
fn a_build_the_gate_blocked_is_never_deployed() {
    let shop = Shop::new();
    commit_gate_error(&shop);
    let output = shop.run(&[
        "pipeline",
        "run",
        "--env",
        "production",
        "--approve",
        "--quiet",
    ]);
    assert_exit(&output, 1);
    assert_eq!(shop.record("production")["gate"]["verdict"], "blocked");
    assert_eq!(shop.record("production")["image"]["promoted"], false);
    // Nothing was promoted, so a plain deploy has nothing to deploy...
    let output = shop.run(&["deploy", "--env", "production", "--quiet"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("environment `production` has no promoted image"),
        "{}",
        stderr(&output)
    );
    // ...and naming the blocked image is refused too, with the reason.
    let reference = shop.record("production")["image"]["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let output = shop.run(&[
        "deploy",
        "--env",
        "production",
        "--image",
        &reference,
        "--quiet",
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("was never promoted for `production`")
            && stderr(&output).contains("hint: run it through the pipeline"),
        "{}",
        stderr(&output)
    );
    assert!(shop.current_release("production").is_none());
    // Forcing it is possible, and recorded.
    let output = shop.run(&[
        "deploy",
        "--env",
        "production",
        "--image",
        &reference,
        "--force",
        "--quiet",
    ]);
    assert_exit(&output, 0);
    let overrides = shop.record("production")["overrides"].to_string();
    assert!(
        overrides.contains("never promoted for `production` (--force)"),
        "{overrides}"
    );
}

#[test]
fn an_image_of_another_environment_needs_from_env_and_is_recorded() {
    let shop = Shop::new();
    assert_exit(&shop.run(&["build", "--env", "staging", "--quiet"]), 0);
    let output = shop.run(&[
        "deploy",
        "--env",
        "production",
        "--image",
        "staging-latest",
        "--quiet",
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("was built for environment `staging`, not `production`")
            && stderr(&output).contains("--from-env staging"),
        "{}",
        stderr(&output)
    );
    assert!(shop.current_release("production").is_none());
    let output = shop.run(&[
        "deploy",
        "--env",
        "production",
        "--image",
        "staging-latest",
        "--from-env",
        "staging",
        "--quiet",
    ]);
    assert_exit(&output, 0);
    let record = shop.record("production");
    assert_eq!(record["from_environment"], "staging");
    assert_eq!(record["image"]["environment"], "staging");
    assert!(shop.current_release("production").is_some());
}

#[test]
fn a_destructive_deployment_needs_the_environment_or_a_confirmation() {
    let shop = Shop::new();
    assert_exit(
        &shop.run(&[
            "pipeline",
            "run",
            "--env",
            "production",
            "--approve",
            "--quiet",
        ]),
        0,
    );
    let before = runs(&shop);
    let output = shop.run(&[
        "deploy",
        "--env",
        "production",
        "--type",
        "destructive",
        "--quiet",
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("a destructive deployment resets the data of `production`")
            && stderr(&output).contains("hint: confirm with `--confirm-destructive production`"),
        "{}",
        stderr(&output)
    );
    // Refused before anything ran: no run, no hook.
    assert_eq!(runs(&shop), before);
    assert_eq!(shop.journal("production").len(), 1);
    let output = shop.run(&[
        "pipeline",
        "run",
        "--env",
        "production",
        "--type",
        "destructive",
        "--approve",
        "--quiet",
    ]);
    assert_exit(&output, 2);
    // Naming another environment does not confirm this one.
    let output = shop.run(&[
        "deploy",
        "--env",
        "production",
        "--type",
        "destructive",
        "--confirm-destructive",
        "staging",
        "--quiet",
    ]);
    assert_exit(&output, 2);
    let output = shop.run(&[
        "deploy",
        "--env",
        "production",
        "--type",
        "destructive",
        "--confirm-destructive",
        "production",
        "--quiet",
    ]);
    assert_exit(&output, 0);
    assert!(shop.journal("production")[2].contains("args=-r destructive"));
}

#[test]
fn runs_of_staging_and_eu_staging_stay_apart() {
    let shop = Shop::new();
    let project = std::fs::read_to_string(shop.repo.join("upkeep.yml")).unwrap();
    let staging =
        &project[project.find("  staging:").unwrap()..project.find("  production:").unwrap()];
    let eu = staging
        .replace("  staging:", "  eu-staging:")
        .replace("../targets/staging", "../targets/eu-staging");
    shop.write("upkeep.yml", &format!("{project}{eu}"));
    shop.commit("eu-staging");
    assert_exit(
        &shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]),
        0,
    );
    let staging_release = shop.current_release("staging").unwrap();
    assert_exit(
        &shop.run(&["pipeline", "run", "--env", "eu-staging", "--quiet"]),
        0,
    );
    let eu_release = shop.current_release("eu-staging").unwrap();
    let log = |environment: &str| {
        let output = shop.run(&[
            "pipeline",
            "logs",
            "--env",
            environment,
            "--stage",
            "install",
        ]);
        assert_exit(&output, 0);
        stdout(&output)
    };
    assert!(
        log("staging").contains(&staging_release),
        "{}",
        log("staging")
    );
    assert!(!log("staging").contains(&eu_release));
    assert!(log("eu-staging").contains(&eu_release));
    // Run ids name no environment: they are a time and a random tail.
    let id = shop.record("staging")["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!id.contains("staging"), "{id}");
}

#[test]
fn a_waiting_run_is_approved_by_a_second_process_and_deploys_its_own_image() {
    let shop = Shop::new();
    let output = shop.run(&["pipeline", "run", "--env", "production", "--quiet"]);
    assert_exit(&output, 0);
    let id = stdout(&output)
        .trim()
        .strip_prefix("waiting for approval: ")
        .unwrap()
        .to_string();
    let built = shop.record("production")["image"]["digest"].clone();
    assert_eq!(shop.record("production")["image"]["promoted"], false);
    // A newer commit in between does not change what the approval deploys.
    shop.release_version(2);
    let output = shop.run(&["pipeline", "approve", "--env", "production", "--quiet"]);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output).trim(), format!("{id} succeeded"));
    let record = shop.record("production");
    assert_eq!(record["run_id"], id.as_str());
    assert_eq!(record["status"], "succeeded");
    assert_eq!(record["approval"]["decision"], "approved");
    assert_eq!(record["approval"]["via"], "upkeep pipeline approve");
    assert_eq!(record["image"]["digest"], built);
    assert_eq!(record["image"]["promoted"], true);
    let journal = shop.journal("production");
    assert_eq!(journal.len(), 1);
    assert!(journal[0].contains("version=1"), "{}", journal[0]);
    // Deciding again is refused: the run does not wait any more.
    let output = shop.run(&["pipeline", "approve", "--env", "production", "--run", &id]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("does not wait for approval: it succeeded"));
    // A rejected run deploys nothing and is not promoted.
    let output = shop.run(&["pipeline", "run", "--env", "production", "--quiet"]);
    assert_exit(&output, 0);
    let output = shop.run(&["pipeline", "reject", "--env", "production"]);
    assert_exit(&output, 0);
    let record = shop.record("production");
    assert_eq!(record["status"], "rejected");
    assert_eq!(record["sub_pipelines"][2]["status"], "skipped");
    assert_eq!(shop.journal("production").len(), 1);
    let output = shop.run(&["pipeline", "approve", "--env", "production"]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("has no run waiting for approval"));
}

#[test]
fn an_unknown_commit_or_one_off_the_branch_writes_no_run() {
    let shop = Shop::new();
    let output = shop.run(&[
        "pipeline", "run", "--env", "staging", "--commit", "nope", "--quiet",
    ]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("the revision `nope` does not exist"));
    assert_eq!(runs(&shop), 0);
    shop.git(&["checkout", "-q", "-b", "feature"]);
    shop.release_version(2);
    let output = shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("is not on branch `main`, the branch of environment `staging`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(runs(&shop), 0);
    let output = shop.run(&["pipeline", "run", "--env", "staging", "--force", "--quiet"]);
    assert_exit(&output, 0);
    assert!(
        shop.record("staging")["overrides"]
            .to_string()
            .contains("(--force)")
    );
}

#[test]
fn a_rollback_is_a_recorded_run_with_its_log() {
    let shop = Shop::new();
    assert_exit(
        &shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]),
        0,
    );
    let first = shop.current_release("staging").unwrap();
    shop.release_version(2);
    assert_exit(
        &shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]),
        0,
    );
    let second = shop.current_release("staging").unwrap();
    assert_exit(&shop.run(&["deploy", "rollback", "--env", "staging"]), 0);
    let record = shop.record("staging");
    assert_eq!(record["kind"], "rollback");
    assert_eq!(record["status"], "succeeded");
    assert_eq!(record["rollback"]["from"], second.as_str());
    assert_eq!(record["rollback"]["to"], first.as_str());
    let output = shop.run(&["pipeline", "logs", "--env", "staging"]);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains(&format!(
            "rolled back `staging` from release {second} to release {first}"
        )),
        "{}",
        stdout(&output)
    );
}

#[test]
fn logs_follow_a_running_step_and_end_with_its_result() {
    let shop = Shop::new();
    shop.write_script(
        "bin/ticker",
        "#!/bin/sh\nfor i in 1 2 3 4 5 6; do echo \"tick $i\"; sleep 0.3; done\n",
    );
    shop.edit(
        "deploy.fixture-shop-staging.yml",
        &[("bin/record-hook install-destructive", "bin/ticker")],
    );
    shop.commit("slow install");
    let run = shop
        .upkeep(&["pipeline", "run", "--env", "staging", "--quiet"])
        .spawn()
        .unwrap();
    // Wait until the install step is recorded as running, then follow.
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        assert!(Instant::now() < deadline, "install never started");
        let started = std::fs::read_dir(shop.repo.join(".upkeep/runs"))
            .ok()
            .and_then(|mut entries| entries.next())
            .and_then(|entry| {
                std::fs::read_to_string(entry.ok()?.path().join("logs/install/install.log")).ok()
            })
            .is_some_and(|log| log.contains("tick 1"));
        if started {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let follow = shop.run(&[
        "pipeline", "logs", "--env", "staging", "--stage", "install", "--follow",
    ]);
    let run = run.wait_with_output().unwrap();
    assert_exit(&run, 0);
    assert_exit(&follow, 0);
    let ticks: Vec<String> = stdout(&follow)
        .lines()
        .filter(|line| line.starts_with("tick"))
        .map(str::to_string)
        .collect();
    assert_eq!(
        ticks,
        (1..=6).map(|i| format!("tick {i}")).collect::<Vec<_>>()
    );
    assert!(
        stderr(&follow)
            .trim_end()
            .ends_with("upkeep: install: succeeded"),
        "{}",
        stderr(&follow)
    );
    // An offset inside a line starts at the next line, with a note.
    let output = shop.run(&[
        "pipeline", "logs", "--env", "staging", "--stage", "install", "--offset", "3",
    ]);
    assert_exit(&output, 0);
    assert!(stderr(&output).contains("offset 3 is inside a line of the install log"));
}

/// Composer itself is part of this test: it must be installed (scripts/test.sh installs it);
/// a missing one fails the test rather than skipping it.
fn require_composer() {
    let found = Command::new("composer")
        .arg("--version")
        .env("COMPOSER_ALLOW_SUPERUSER", "1")
        .output()
        .is_ok_and(|output| output.status.success());
    assert!(
        found,
        "this test runs the real `composer`; install it (Debian: apt-get install composer)"
    );
}

#[test]
fn two_builds_of_a_commit_with_composer_give_one_digest() {
    require_composer();
    let shop = Shop::new();
    shop.write(
        "composer.json",
        r#"{
    "name": "fixture/shop",
    "require": {"fixture/greeting": "*"},
    "repositories": [
        {"packagist.org": false},
        {"type": "path", "url": "packages/greeting", "options": {"symlink": false}}
    ],
    "minimum-stability": "dev",
    "autoload": {"psr-4": {"Pyz\\": "src/Pyz/"}}
}
"#,
    );
    shop.write(
        "packages/greeting/composer.json",
        r#"{"name": "fixture/greeting", "version": "1.0.0", "autoload": {"psr-4": {"Fixture\\Greeting\\": "src/"}}}
"#,
    );
    shop.write(
        "packages/greeting/src/Hello.php",
        "<?php\n\nnamespace Fixture\\Greeting;\n\nclass Hello\n{\n}\n",
    );
    shop.commit("composer project");
    // Production builds with the built-in buildspec, which runs `composer install`.
    let first = shop.run(&["build", "--env", "production", "--quiet"]);
    assert_exit(&first, 0);
    let run = shop.newest_run("production");
    let build_log = std::fs::read_to_string(run.join("logs/build/build.log")).unwrap();
    assert!(
        build_log.contains("autoload files"),
        "composer did not run:\n{build_log}"
    );
    let second = shop.run(&["build", "--env", "production", "--quiet"]);
    assert_exit(&second, 0);
    let digest = stdout(&first);
    assert!(digest.contains(" sha256:"), "{digest}");
    assert_eq!(digest, stdout(&second));
    // The image holds the committed composer.json, not the one the build configured.
    let output = shop.run(&[
        "deploy",
        "--env",
        "production",
        "--image",
        digest.split(' ').next().unwrap(),
        "--force",
        "--quiet",
    ]);
    assert_exit(&output, 0);
    let release = shop.current_release("production").unwrap();
    let app = shop
        .targets
        .join("production/releases")
        .join(release)
        .join("app");
    assert_eq!(
        std::fs::read_to_string(app.join("composer.json")).unwrap(),
        std::fs::read_to_string(shop.repo.join("composer.json")).unwrap()
    );
    assert!(app.join("vendor/fixture/greeting/src/Hello.php").is_file());
}

/// Starts `pipeline run` of a commit whose install hook runs `hook`, and waits until the hook
/// wrote `marker` into the journal.
fn start_run_inside_install(shop: &Shop, hook: &str, marker: &str) -> std::process::Child {
    shop.write_script("bin/slow-install", hook);
    shop.edit(
        "deploy.fixture-shop-staging.yml",
        &[("bin/record-hook install-destructive", "bin/slow-install")],
    );
    shop.commit("slow install");
    let child = shop
        .upkeep(&["pipeline", "run", "--env", "staging", "--quiet"])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_mins(1);
    while !shop.journal("staging").iter().any(|line| line == marker) {
        assert!(Instant::now() < deadline, "the install hook never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn sigterm_and_sighup_cancel_a_run_like_ctrl_c() {
    for signal in ["TERM", "HUP"] {
        let shop = Shop::new();
        let child = start_run_inside_install(
            &shop,
            "#!/bin/sh\nsleep 300 &\necho $! > \"$(pwd)/../../../sleeper.pid\"\necho started >> \"$(pwd)/../../../journal.log\"\nwait\n",
            "started",
        );
        let sleeper = std::fs::read_to_string(shop.targets.join("staging/sleeper.pid"))
            .unwrap()
            .trim()
            .to_string();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        assert_exit(&output, 1);
        assert_eq!(shop.record("staging")["status"], "cancelled", "SIG{signal}");
        assert!(shop.current_release("staging").is_none());
        assert!(
            !is_running(&sleeper),
            "SIG{signal}: the hook's background process {sleeper} survived"
        );
    }
}

#[test]
fn a_hook_orphaned_by_sigkill_keeps_the_next_deployment_waiting() {
    let shop = Shop::new();
    let child = start_run_inside_install(
        &shop,
        "#!/bin/sh\nj=\"$(pwd)/../../../journal.log\"\necho 'install start' >> \"$j\"\nsleep 2\necho 'install end' >> \"$j\"\n",
        "install start",
    );
    let mut child = child;
    child.kill().unwrap();
    child.wait().unwrap();
    // The killed run does not stay `running` for its readers.
    assert_eq!(shop.record("staging")["status"], "running");
    let output = shop.run(&["pipeline", "logs", "--env", "staging"]);
    assert_exit(&output, 0);
    let record = shop.record("staging");
    assert_eq!(record["status"], "interrupted");
    assert!(record["finished_at"].is_string());
    assert!(
        record["notes"]
            .to_string()
            .contains("ended without finishing it"),
        "{}",
        record["notes"]
    );
    // The hook goes on without upkeep; the next deployment must not run beside it.
    let output = shop.run(&["deploy", "--env", "staging", "--quiet"]);
    assert_exit(&output, 0);
    assert!(
        stderr(&output).contains("waiting for deployment"),
        "{}",
        stderr(&output)
    );
    let journal = shop.journal("staging");
    let orphan_end = journal
        .iter()
        .position(|line| line == "install end")
        .unwrap();
    let next_start = journal
        .iter()
        .rposition(|line| line == "install start")
        .unwrap();
    assert!(orphan_end < next_start, "{journal:?}");
}

#[test]
fn a_damaged_history_stops_the_deployment_before_any_hook_and_rollback_still_works() {
    let shop = Shop::new();
    assert_exit(
        &shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]),
        0,
    );
    let first = shop.current_release("staging").unwrap();
    shop.release_version(2);
    assert_exit(
        &shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]),
        0,
    );
    let second = shop.current_release("staging").unwrap();
    std::fs::write(shop.targets.join("staging/history.json"), "{damaged").unwrap();
    let journal = shop.journal("staging").len();
    shop.release_version(3);
    let output = shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("history.json"),
        "{}",
        stderr(&output)
    );
    // Nothing ran, nothing switched, and the run says why it ended.
    assert_eq!(shop.journal("staging").len(), journal);
    assert_eq!(shop.current_release("staging").unwrap(), second);
    let record = shop.record("staging");
    assert_eq!(record["status"], "failed");
    assert!(record["finished_at"].is_string());
    assert_eq!(record["sub_pipelines"][2]["status"], "failed");
    assert!(record["notes"].to_string().contains("the run failed"));
    // The releases' statuses still say where to roll back to.
    let output = shop.run(&["deploy", "rollback", "--env", "staging"]);
    assert_exit(&output, 0);
    assert_eq!(shop.current_release("staging").unwrap(), first);
}

#[test]
fn an_exported_variable_holding_a_secret_is_never_written_beside_the_image() {
    let shop = Shop::new();
    shop.edit(
        "ci/build.yml",
        &[
            (
                "    - FIXTURE_BUILD_ID\n",
                "    - FIXTURE_BUILD_ID\n    - FIXTURE_DSN\n",
            ),
            (
                "      - export FIXTURE_BUILD_ID=\"build-$(cat VERSION)\"\n",
                "      - export FIXTURE_BUILD_ID=\"build-$(cat VERSION)\"\n      - export FIXTURE_DSN=\"mysql://shop:${FIXTURE_DB_PASSWORD}@db/shop\"\n",
            ),
        ],
    );
    shop.commit("export a dsn");
    let output = shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]);
    assert_exit(&output, 0);
    assert!(
        stderr(&output).contains("the exported variable FIXTURE_DSN holds a secret"),
        "{}",
        stderr(&output)
    );
    // The image config holds the deploy file's environment as committed; the exports and the
    // run are upkeep's own files.
    for dir in [".upkeep/images/upkeep-exports", ".upkeep/runs"] {
        for entry in walk(&shop.repo.join(dir)) {
            let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
            assert!(
                !text.contains(SECRET),
                "{} leaks the secret",
                entry.display()
            );
        }
    }
    let exports: Vec<PathBuf> = walk(&shop.repo.join(".upkeep/images/upkeep-exports"));
    assert_eq!(exports.len(), 1);
    let kept = std::fs::read_to_string(&exports[0]).unwrap();
    assert!(
        kept.contains("FIXTURE_BUILD_ID") && !kept.contains("FIXTURE_DSN"),
        "{kept}"
    );
}

/// What the target says about itself: `current`, the status of each release, the history.
/// Returns a description of the first disagreement.
fn target_disagreement(shop: &Shop, environment: &str) -> Option<String> {
    let root = shop.targets.join(environment);
    let current = shop.current_release(environment);
    let mut active = Vec::new();
    for id in shop.releases(environment) {
        let text = std::fs::read_to_string(root.join("releases").join(&id).join("release.json"))
            .unwrap_or_default();
        let release: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if release["status"] == "active" {
            active.push(id);
        }
    }
    if active != current.iter().cloned().collect::<Vec<_>>() {
        return Some(format!("current {current:?}, active releases {active:?}"));
    }
    if let Some(current) = &current {
        if !root.join("releases").join(current).join("app").is_dir() {
            return Some(format!("current {current} is not a whole release"));
        }
        let history: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root.join("history.json")).ok()?).ok()?;
        let last = history["activations"]
            .as_array()?
            .last()?
            .as_str()?
            .to_string();
        if &last != current {
            return Some(format!("history ends at {last}, current is {current}"));
        }
    }
    None
}

/// Hooks write `<stage> start <pid>` and `<stage> end <pid>`; a stopped hook never writes its
/// end, an orphaned one writes it late. None of the killed run's hooks (started after
/// `journal_before`) may end after the next deployment's first hook (after `journal_mark`)
/// started.
fn assert_no_late_hook(shop: &Shop, journal_before: usize, journal_mark: usize, context: &str) {
    let journal = shop.journal("staging");
    let next_start = journal_mark
        + journal[journal_mark..]
            .iter()
            .position(|line| line.contains(" start "))
            .unwrap();
    let killed_pids: Vec<&str> = journal[journal_before..next_start]
        .iter()
        .filter_map(|line| line.split_once(" start ").map(|(_, pid)| pid))
        .collect();
    let late = journal[next_start..].iter().find(|line| {
        line.split_once(" end ")
            .is_some_and(|(_, pid)| killed_pids.contains(&pid))
    });
    assert!(
        late.is_none(),
        "{context}: a hook of the killed run overlapped the next deployment: {:?}",
        &journal[journal_before..]
    );
}

/// 48 MiB that do not compress, so that unpacking a release takes long enough to be caught.
fn write_big_file(path: &Path) {
    let big: Vec<u8> = (0..48u32 << 20)
        .map(|n| (n.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
        .collect();
    std::fs::write(path, big).unwrap();
}

/// Waits for the point of a kill-matrix round: a delay, the unpack of the new release (its
/// `releases/.prepare-*` working directory exists), or a hook's marker in the journal. Returns
/// whether the point was the unpack.
fn wait_for_kill_point(shop: &Shop, signal: &str, point: &str, journal_before: usize) -> bool {
    if let Some(delay) = point.strip_prefix("after ") {
        let ms: u64 = delay.trim_end_matches("ms").parse().unwrap();
        std::thread::sleep(Duration::from_millis(ms));
    } else if point == "unpack" {
        // The working directory of a release being unpacked: `releases/.prepare-*`.
        let releases = shop.targets.join("staging/releases");
        let deadline = Instant::now() + Duration::from_mins(2);
        loop {
            let unpacking = std::fs::read_dir(&releases).is_ok_and(|entries| {
                entries
                    .filter_map(Result::ok)
                    .any(|entry| entry.file_name().to_string_lossy().starts_with(".prepare-"))
            });
            if unpacking {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "{signal} at unpack: never reached"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    } else {
        let deadline = Instant::now() + Duration::from_mins(1);
        while !shop.journal("staging")[journal_before..]
            .iter()
            .any(|line| line.starts_with(point))
        {
            assert!(
                Instant::now() < deadline,
                "{signal} at {point}: never reached"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    false
}

/// Kills `pipeline run` with SIGKILL, SIGTERM and SIGHUP inside install, right after the switch
/// (inside post-deploy), during the unpack of the new release, and (SIGKILL) at fixed delays
/// from its start, and checks each time that: the
/// killed run does not stay `running`, the served release is whole, `current`, the statuses
/// and the history agree (after the next deployment's repair), no hook of the killed run
/// overlaps the next deployment, the next deployment succeeds, and a rollback works.
#[test]
fn kill_matrix() {
    let shop = Shop::new();
    shop.write_script(
        "bin/marked-hook",
        "#!/bin/sh\nj=\"$(pwd)/../../../journal.log\"\necho \"$1 start $$\" >> \"$j\"\nsleep 0.4\necho \"$1 end $$\" >> \"$j\"\n",
    );
    shop.edit(
        "deploy.fixture-shop-staging.yml",
        &[(
            "bin/record-hook install-destructive",
            "bin/marked-hook install\n    SPRYKER_HOOK_AFTER_DEPLOY: bin/marked-hook post",
        )],
    );
    shop.commit("marked hooks");
    assert_exit(
        &shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]),
        0,
    );
    let mut kills = 0;
    let mut checks = 0;
    let mut points: Vec<(&str, String)> = Vec::new();
    for signal in ["KILL", "TERM", "HUP"] {
        for marker in ["install start", "post start"] {
            points.push((signal, marker.to_string()));
        }
    }
    for delay_ms in [0, 150, 300, 450, 600, 750, 900, 1100, 1300, 1600] {
        points.push(("KILL", format!("after {delay_ms}ms")));
    }
    // Last, while the image is unpacked into a new release: the releases get a big file, so
    // the unpack takes long enough to be caught.
    for signal in ["KILL", "TERM", "HUP"] {
        points.push((signal, "unpack".to_string()));
    }
    let mut unpack_hits = 0;
    for (round, (signal, point)) in points.iter().enumerate() {
        if point == "unpack" && !shop.repo.join("public/big.bin").exists() {
            write_big_file(&shop.repo.join("public/big.bin"));
        }
        shop.release_version(u32::try_from(round).unwrap() + 10);
        let journal_before = shop.journal("staging").len();
        let child = shop
            .upkeep(&["pipeline", "run", "--env", "staging", "--quiet"])
            .spawn()
            .unwrap();
        if wait_for_kill_point(&shop, signal, point, journal_before) {
            unpack_hits += 1;
        }
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        child.wait_with_output().unwrap();
        kills += 1;
        let context = format!("{signal} at {point}");
        // The served release is whole at once, whatever was killed.
        if let Some(current) = shop.current_release("staging") {
            let app = shop
                .targets
                .join("staging/releases")
                .join(&current)
                .join("app");
            assert!(
                app.join("VERSION").is_file(),
                "{context}: {current} not whole"
            );
        }
        // Readers never see the killed run as running (a run killed before its first step
        // has no log to show, and says so).
        let logs = shop.run(&["pipeline", "logs", "--env", "staging"]);
        assert!(
            logs.status.code() == Some(0) || stderr(&logs).contains("has no log"),
            "{context}: {}",
            stderr(&logs)
        );
        let status = shop.record("staging")["status"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            ["interrupted", "cancelled", "failed", "succeeded"].contains(&status.as_str()),
            "{context}: the killed run reads as {status}"
        );
        checks += 1;
        // The next deployment repairs, waits for any orphaned hook and succeeds.
        let journal_mark = shop.journal("staging").len();
        let output = shop.run(&["deploy", "--env", "staging", "--quiet"]);
        assert_exit(&output, 0);
        assert_no_late_hook(&shop, journal_before, journal_mark, &context);
        assert_eq!(target_disagreement(&shop, "staging"), None, "{context}");
        checks += 2;
    }
    // After all of it, rollback works and agrees.
    let output = shop.run(&["deploy", "rollback", "--env", "staging"]);
    assert_exit(&output, 0);
    assert_eq!(target_disagreement(&shop, "staging"), None);
    assert_eq!(unpack_hits, 3, "the unpack was not caught every time");
    eprintln!(
        "kill matrix: {kills} kills ({unpack_hits} during unpack), {checks} state checks, 0 failures"
    );
}

/// A small tmpfs mounted for a test, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` at `path`. A kernel that refuses fails the test: the disk-full
    /// case is never skipped.
    fn mount(path: &Path, size: &str) -> Self {
        std::fs::create_dir_all(path).unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "the disk-full test needs a tmpfs mount (run the suite as root), which was refused: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Self {
            path: path.to_path_buf(),
        }
    }

    fn available(&self) -> u64 {
        let output = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&self.path)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// Fills the disk until `free` bytes are left (to the page).
    fn leave_free(&self, free: u64) {
        let filler = self.path.join("filler");
        let _ = std::fs::remove_file(&filler);
        let fill = self.available().saturating_sub(free);
        std::fs::write(&filler, vec![0u8; usize::try_from(fill).unwrap()]).unwrap();
    }

    fn empty(&self) {
        let _ = std::fs::remove_file(self.path.join("filler"));
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Leftovers of interrupted writes in a target: working directories and temporary files.
fn target_leftovers(shop: &Shop, environment: &str) -> Vec<String> {
    let root = shop.targets.join(environment);
    let mut names = Vec::new();
    for dir in [root.clone(), root.join("releases")] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.contains(".tmp-")
                || name.starts_with(".prepare-")
                || name.starts_with(".removing-")
            {
                names.push(name);
            }
        }
    }
    names
}

#[test]
fn a_full_disk_at_any_point_loses_nothing_and_the_next_deployment_succeeds() {
    let shop = Shop::new();
    let disk = SmallDisk::mount(&shop.targets.join("staging"), "1m");
    assert_exit(
        &shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]),
        0,
    );
    let mut levels = 0;
    let mut refused = 0;
    for free_kib in (0..=136).step_by(8) {
        levels += 1;
        let context = format!("{free_kib} KiB free");
        let served = shop.current_release("staging").unwrap();
        shop.release_version(100 + free_kib);
        disk.leave_free(u64::from(free_kib) * 1024);
        let output = shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]);
        let code = output.status.code();
        assert!(
            matches!(code, Some(0..=2)),
            "{context}: exit {code:?}\n{}",
            stderr(&output)
        );
        if code != Some(0) {
            refused += 1;
            // The release that served goes on serving, whole.
            assert_eq!(
                shop.current_release("staging").unwrap(),
                served,
                "{context}"
            );
            assert!(
                !stderr(&output).contains("panicked"),
                "{context}: {}",
                stderr(&output)
            );
        }
        let current = shop.current_release("staging").unwrap();
        assert!(
            shop.targets
                .join("staging/releases")
                .join(&current)
                .join("app/VERSION")
                .is_file(),
            "{context}: {current} is not whole"
        );
        let status = shop.record("staging")["status"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(status, "running", "{context}");
        // With space again, the next deployment repairs, cleans up and succeeds.
        disk.empty();
        let output = shop.run(&["deploy", "--env", "staging", "--quiet"]);
        assert_exit(&output, 0);
        assert_eq!(target_disagreement(&shop, "staging"), None, "{context}");
        assert_eq!(
            target_leftovers(&shop, "staging"),
            Vec::<String>::new(),
            "{context}"
        );
    }
    // Most levels must really run out of space, or the test shows nothing.
    assert!(
        refused >= levels / 2,
        "only {refused} of {levels} levels ran out of space"
    );
    eprintln!(
        "disk full: {levels} fill levels, {refused} deployments stopped by the full disk, 0 failures"
    );
}

#[test]
fn plans_and_deploy_files_never_print_a_secret_value() {
    let shop = Shop::new();
    shop.edit(
        "deploy.fixture-shop-staging.yml",
        &[(
            "bin/record-hook install-destructive",
            "bin/record-hook install-destructive --password s3cr3t-staging-pw",
        )],
    );
    for format in ["text", "json"] {
        let output = shop.run(&["pipeline", "plan", "--env", "staging", "--format", format]);
        assert_exit(&output, 0);
        let plan = stdout(&output);
        assert!(
            !plan.contains(SECRET),
            "{format} plan shows the secret:\n{plan}"
        );
        assert!(plan.contains("--password ***"), "{plan}");
    }
    let output = shop.run(&[
        "deploy-file",
        "show",
        "deploy.fixture-shop-staging.yml",
        "--origins",
    ]);
    assert_exit(&output, 0);
    let shown = stdout(&output);
    assert!(
        !shown.contains(SECRET),
        "deploy-file show shows the secret:\n{shown}"
    );
    assert!(shown.contains("FIXTURE_DB_PASSWORD"), "{shown}");
}

/// Points staging at `registry` (credentials from two secrets) and commits it.
fn use_registry(shop: &Shop, registry: &TestRegistry) {
    shop.edit(
        "upkeep.yml",
        &[(
            "    secrets: [FIXTURE_DB_PASSWORD]\n",
            &format!(
                "    secrets: [FIXTURE_DB_PASSWORD, REGISTRY_USER, REGISTRY_PASSWORD]\n    registry:\n      image: 127.0.0.1:{}/fixture-shop/app\n      username-secret: REGISTRY_USER\n      password-secret: REGISTRY_PASSWORD\n      ca-certificate: {}\n",
                registry.port,
                registry.ca().display()
            ),
        )],
    );
    shop.commit("push staging's images");
}

#[test]
fn build_pushes_the_image_to_the_environment_registry() {
    let registry = TestRegistry::start();
    let shop = Shop::new();
    use_registry(&shop, &registry);
    let output = shop
        .upkeep(&["pipeline", "run", "--env", "staging"])
        .env("REGISTRY_USER", REGISTRY_USER)
        .env("REGISTRY_PASSWORD", REGISTRY_PASSWORD)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let record = shop.record("staging");
    let digest = record["image"]["digest"].as_str().unwrap().to_string();
    let tag = record["image"]["reference"].as_str().unwrap();
    let pushed = record["image"]["pushed"].as_str().unwrap();
    assert_eq!(
        pushed,
        format!(
            "127.0.0.1:{}/fixture-shop/app:{tag}@{digest}",
            registry.port
        )
    );
    let log = stdout(&shop.run(&["pipeline", "logs", "--env", "staging", "--stage", "build"]));
    assert!(
        log.contains(&format!("pushed {pushed} (3 of 3 blobs sent")),
        "{log}"
    );
    // The registry serves the same image: pulled back by digest into an empty store.
    let store_dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open_or_create(store_dir.path()).unwrap();
    let reference: ImageReference = pushed.parse().unwrap();
    let client = Registry::connect(&reference, &registry.options(REGISTRY_PASSWORD)).unwrap();
    assert_eq!(
        client
            .pull(&store, &reference)
            .unwrap()
            .manifest_digest
            .to_string(),
        digest
    );
    // The password never reaches the run's files.
    for entry in walk(&shop.newest_run("staging")) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(!text.contains(REGISTRY_PASSWORD), "{}", entry.display());
    }
}

#[test]
fn a_failed_push_fails_the_build_and_deploys_nothing() {
    let mut registry = TestRegistry::start();
    let shop = Shop::new();
    use_registry(&shop, &registry);
    let run = |password: &str| {
        shop.upkeep(&["pipeline", "run", "--env", "staging"])
            .env("REGISTRY_USER", REGISTRY_USER)
            .env("REGISTRY_PASSWORD", password)
            .output()
            .unwrap()
    };
    let wrong = run("not-the-password");
    assert_exit(&wrong, 1);
    let log = stdout(&shop.run(&["pipeline", "logs", "--env", "staging", "--stage", "build"]));
    assert!(
        log.contains("the push to 127.0.0.1:")
            && log.contains("refused the credentials' access to fixture-shop/app")
            && log.contains("hint: check the user name and password secrets"),
        "{log}"
    );
    assert!(!log.contains("not-the-password"), "{log}");
    assert_eq!(shop.record("staging")["status"], "failed");
    assert_eq!(shop.current_release("staging"), None);

    registry.stop();
    let down = run(REGISTRY_PASSWORD);
    assert_exit(&down, 1);
    let log = stdout(&shop.run(&["pipeline", "logs", "--env", "staging", "--stage", "build"]));
    assert!(
        log.contains("cannot reach the registry 127.0.0.1:"),
        "{log}"
    );
    assert_eq!(shop.current_release("staging"), None);

    // A secret the run was not given stops it before the build, naming the key.
    let missing = shop
        .upkeep(&["pipeline", "run", "--env", "staging"])
        .env_remove("REGISTRY_PASSWORD")
        .env("REGISTRY_USER", REGISTRY_USER)
        .output()
        .unwrap();
    assert_exit(&missing, 2);
    assert!(
        stderr(&missing).contains("`registry.password-secret` names the secret REGISTRY_PASSWORD, which this run was not given"),
        "{}",
        stderr(&missing)
    );
}

/// The deployment takes the image the build pushed from the registry, by digest: a blob the
/// local store lost comes back from the registry, and a registry that is down stops the run
/// before any stage of the deployment, with the running release untouched.
#[test]
fn the_deployment_pulls_the_pushed_image_by_digest_and_deploys_nothing_when_the_registry_is_down() {
    let mut registry = TestRegistry::start();
    let shop = Shop::new();
    shop.edit(
        "upkeep.yml",
        &[(
            "    keep-releases: 2\n",
            &format!(
                "    keep-releases: 2\n    secrets: [REGISTRY_USER, REGISTRY_PASSWORD]\n    registry:\n      image: 127.0.0.1:{}/fixture-shop/app\n      username-secret: REGISTRY_USER\n      password-secret: REGISTRY_PASSWORD\n      ca-certificate: {}\n",
                registry.port,
                registry.ca().display()
            ),
        )],
    );
    shop.commit("push production's images");
    let upkeep = |arguments: &[&str]| {
        shop.upkeep(arguments)
            .env("REGISTRY_USER", REGISTRY_USER)
            .env("REGISTRY_PASSWORD", REGISTRY_PASSWORD)
            .output()
            .unwrap()
    };
    let output = upkeep(&["pipeline", "run", "--env", "production", "--quiet"]);
    assert_exit(&output, 0);
    assert!(stdout(&output).starts_with("waiting for approval: "));
    // The local store loses the application layer; the registry still has it.
    let store = ImageStore::open_or_create(shop.repo.join(".upkeep/images")).unwrap();
    let digest = shop.record("production")["image"]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let image = store.resolve(&digest).unwrap();
    let layer = image.manifest.layers.last().unwrap().digest.clone();
    std::fs::remove_file(store.blob_path(&layer)).unwrap();
    let output = upkeep(&["pipeline", "approve", "--env", "production"]);
    assert_exit(&output, 0);
    assert!(
        stderr(&output).contains("deploy: pulled 127.0.0.1:")
            || stdout(&output).contains("deploy: pulled 127.0.0.1:"),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        store.has_blob(&layer),
        "the layer came back from the registry"
    );
    let first = shop.current_release("production").expect("deployed");

    shop.release_version(2);
    let output = upkeep(&["pipeline", "run", "--env", "production", "--quiet"]);
    assert_exit(&output, 0);
    registry.stop();
    let output = upkeep(&["pipeline", "approve", "--env", "production"]);
    assert_exit(&output, 2);
    assert_eq!(shop.record("production")["status"], "failed");
    assert!(
        stderr(&output).contains("nothing was deployed: cannot pull 127.0.0.1:")
            && stderr(&output).contains("cannot reach the registry 127.0.0.1:"),
        "{}",
        stderr(&output)
    );
    assert_eq!(shop.current_release("production"), Some(first));
    assert_eq!(shop.journal("production").len(), 1);
}

/// Issue 14, item 8: the Quality gate step reads `upkeep.toml` as `upkeep gate` does, so a
/// baseline named there makes a blocking gate block on new findings only.
#[test]
fn a_baseline_in_upkeep_toml_blocks_the_pipeline_on_new_findings_only() {
    let shop = Shop::new();
    commit_gate_error(&shop);
    let output = shop.run(&["gate", ".", "--generate-baseline", "upkeep-baseline.json"]);
    assert_exit(&output, 0);
    shop.edit(
        "upkeep.toml",
        &[("[gate]\n", "[gate]\nbaseline = \"upkeep-baseline.json\"\n")],
    );
    shop.commit("baseline the known findings");
    let deploy = || {
        shop.run(&[
            "pipeline",
            "run",
            "--env",
            "production",
            "--approve",
            "--quiet",
        ])
    };
    let output = deploy();
    assert_exit(&output, 0);
    let record = shop.record("production");
    assert_eq!(record["gate"]["passed"], true);
    assert_eq!(record["gate"]["findings"], 0);
    assert!(shop.current_release("production").is_some());

    // A new finding (the same mistake in another class) blocks, and is the only one reported.
    let provider = "src/Pyz/Zed/Greeting/GreetingDependencyProvider.php";
    let text = std::fs::read_to_string(shop.repo.join(provider)).unwrap();
    shop.write(
        "src/Pyz/Zed/Greeting/GreetingFormDependencyProvider.php",
        &text.replace(
            "class GreetingDependencyProvider",
            "class GreetingFormDependencyProvider",
        ),
    );
    shop.commit("another inline list");
    let output = deploy();
    assert_exit(&output, 1);
    let record = shop.record("production");
    assert_eq!(record["gate"]["verdict"], "blocked");
    assert_eq!(record["gate"]["findings"], 1);
    assert!(
        stderr(&output).contains("GreetingFormDependencyProvider.php"),
        "{}",
        stderr(&output)
    );
}

/// Two ssh hosts for the ssh target: sshd on loopback, each in a mount namespace of its own
/// where `<dir>/<host>` is seen at `<dir>/remote`, one client key for both, and a known-hosts
/// file that trusts both.
struct TwoHosts {
    dir: tempfile::TempDir,
    web1: upkeep_pipeline::testing::TestSshd,
    web2: upkeep_pipeline::testing::TestSshd,
}

impl TwoHosts {
    fn start() -> Self {
        use upkeep_pipeline::testing::TestSshd;
        let dir = tempfile::tempdir().unwrap();
        let remote = dir.path().join("remote");
        for name in ["web1", "web2", "remote"] {
            std::fs::create_dir_all(dir.path().join(name)).unwrap();
        }
        let web1 = TestSshd::start_as_host(&dir.path().join("web1"), &remote);
        let web2 = TestSshd::start_as_host(&dir.path().join("web2"), &remote);
        web2.authorize(&web1);
        let trusted = [&web1, &web2]
            .map(|sshd| std::fs::read_to_string(sshd.known_hosts()).unwrap())
            .concat();
        std::fs::write(dir.path().join("known_hosts"), trusted).unwrap();
        Self { dir, web1, web2 }
    }

    /// Points staging at the two hosts, the key in the secret `DEPLOY_SSH_KEY`, and commits.
    fn use_for_staging(&self, shop: &Shop) {
        shop.edit(
            "upkeep.yml",
            &[
                (
                    "    target:\n      local:\n        path: ../targets/staging\n",
                    &format!(
                        "    target:\n      ssh:\n        hosts: [\"127.0.0.1:{}\", \"127.0.0.1:{}\"]\n        user: {}\n        path: {}\n        record: ../targets/staging\n        identity-secret: DEPLOY_SSH_KEY\n        known-hosts: {}\n",
                        self.web1.port,
                        self.web2.port,
                        self.web1.user,
                        self.dir.path().join("remote/shop").display(),
                        self.dir.path().join("known_hosts").display()
                    ),
                ),
                (
                    "    secrets: [FIXTURE_DB_PASSWORD]\n",
                    "    secrets: [FIXTURE_DB_PASSWORD, DEPLOY_SSH_KEY]\n",
                ),
            ],
        );
        shop.commit("deploy staging over ssh");
    }
}

/// The `ssh` target end to end through the binary: two hosts (sshd on loopback, each in a
/// mount namespace of its own), the key from the secret store, host keys from a known-hosts
/// file. Releases land on both, hooks run on the first in the release Spryker runs them in,
/// `current` switches on both, and a rollback switches both back.
#[test]
fn the_shop_deploys_to_two_hosts_over_ssh_and_rolls_back() {
    let shop = Shop::new();
    let hosts = TwoHosts::start();
    hosts.use_for_staging(&shop);
    let (web1, web2) = (&hosts.web1, &hosts.web2);
    let on_host = |host: &str| hosts.dir.path().join(host).join("shop");
    let current_on = |host: &str| {
        std::fs::read_link(on_host(host).join("current"))
            .ok()
            .map(|link| link.file_name().unwrap().to_string_lossy().into_owned())
    };
    let key = web1.client_key();
    let temp = tempfile::tempdir().unwrap();
    let deploy = |arguments: &[&str]| {
        shop.upkeep(arguments)
            .env("DEPLOY_SSH_KEY", &key)
            .env("TMPDIR", temp.path())
            .output()
            .unwrap()
    };

    let missing = shop.run(&["pipeline", "run", "--env", "staging", "--quiet"]);
    assert_exit(&missing, 2);
    assert!(
        stderr(&missing).contains("`target.ssh.identity-secret` names the secret DEPLOY_SSH_KEY, which this run was not given"),
        "{}",
        stderr(&missing)
    );

    assert_exit(
        &deploy(&["pipeline", "run", "--env", "staging", "--quiet"]),
        0,
    );
    let first = shop.current_release("staging").unwrap();
    shop.release_version(2);
    assert_exit(
        &deploy(&["pipeline", "run", "--env", "staging", "--quiet"]),
        0,
    );
    let second = shop.current_release("staging").unwrap();
    for host in ["web1", "web2"] {
        assert_eq!(current_on(host).as_deref(), Some(second.as_str()), "{host}");
        let app = on_host(host).join("releases").join(&second).join("app");
        assert_eq!(std::fs::read_to_string(app.join("VERSION")).unwrap(), "2\n");
    }
    // The hooks ran on the first host only, each in its release.
    let journal = std::fs::read_to_string(on_host("web1").join("journal.log")).unwrap();
    assert_eq!(
        journal
            .lines()
            .map(|line| fields(line, &["stage", "release", "version", "home_leak"]))
            .collect::<Vec<_>>(),
        [
            format!("stage=install-destructive release={first} version=1 home_leak="),
            format!("stage=post-deploy release={first} version=1 home_leak="),
            format!("stage=pre-deploy release={first} version=1 home_leak="),
            format!("stage=install-destructive release={second} version=2 home_leak="),
            format!("stage=post-deploy release={second} version=2 home_leak="),
        ]
    );
    assert!(!on_host("web2").join("journal.log").exists());
    let run = shop.newest_run("staging");
    let log = std::fs::read_to_string(run.join("logs/install/install.log")).unwrap();
    assert!(log.contains("database password is ***"), "{log}");
    let key_line = key.lines().nth(1).unwrap();
    for entry in walk(&shop.repo.join(".upkeep")) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(
            !text.contains(key_line),
            "{} holds the ssh key",
            entry.display()
        );
    }
    assert_eq!(
        std::fs::read_dir(temp.path()).unwrap().count(),
        0,
        "the key's private file is removed after the run"
    );

    let output = deploy(&["deploy", "rollback", "--env", "staging"]);
    assert_exit(&output, 0);
    assert_eq!(
        shop.current_release("staging").as_deref(),
        Some(first.as_str())
    );
    for host in ["web1", "web2"] {
        assert_eq!(current_on(host).as_deref(), Some(first.as_str()), "{host}");
    }
    let output = shop.run(&["pipeline", "plan", "--env", "staging"]);
    assert!(
        stdout(&output).contains(&format!(
            "target:       ssh {0}@127.0.0.1:{1}, {0}@127.0.0.1:{2}",
            web1.user, web1.port, web2.port
        )),
        "{}",
        stdout(&output)
    );
}
