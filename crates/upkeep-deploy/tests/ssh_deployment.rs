//! Deployments to the `ssh` target against two real OpenSSH servers on loopback, each in a
//! mount namespace of its own so that each has its own disk under the same path: releases land
//! on both hosts in the local target's layout, the stages run on the first host in the release
//! Spryker runs them in, `current` switches on both, and a host that was down is repaired by
//! the next deployment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use upkeep_deploy::deployment::{DeploymentError, DeploymentOutcome, DeploymentRequest, deploy};
use upkeep_deploy::image::{ImageInput, build_image};
use upkeep_deploy::layout::{ImageStore, ResolvedImage};
use upkeep_deploy::queue::DeploymentQueue;
use upkeep_deploy::remote_hosts::{self, RemoteHosts};
use upkeep_deploy::stage::{StageObserver, StageRunner};
use upkeep_deploy::target::LocalTarget;
use upkeep_deploy::testing::SmallDisk;
use upkeep_pipeline::executor::CancelToken;
use upkeep_pipeline::log_store::LogStore;
use upkeep_pipeline::mask::Masker;
use upkeep_pipeline::project_file::{DeployType, Stage};
use upkeep_pipeline::record::RunStatus;
use upkeep_pipeline::testing::TestSshd;

struct Quiet;

impl StageObserver for Quiet {
    fn message(&self, _text: &str) {}
}

/// Each stage prints the release's marker and where it runs, and leaves a file there.
const HOOK: &str = "version: 0.2\nenv:\n  secrets:\n    DB_PASSWORD: db\nphases:\n  build:\n    commands:\n      - echo \"STAGE ran in $(cat marker) at $(pwd) for $SPRYKER_PROJECT_NAME, secret=$DB_PASSWORD\"\n      - touch ran-STAGE\n";

struct World {
    dir: tempfile::TempDir,
    web1: TestSshd,
    web2: TestSshd,
    /// What the second host has at the target's parent directory.
    web2_dir: PathBuf,
    store: ImageStore,
    record: LocalTarget,
    queue: DeploymentQueue,
    secrets: BTreeMap<String, String>,
}

impl World {
    fn new() -> Self {
        Self::with_web2_disk(None)
    }

    /// Two hosts; the second one's disk is `web2_disk` when given.
    fn with_web2_disk(web2_disk: Option<&Path>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["web1", "web2", "remote"] {
            fs_err::create_dir_all(dir.path().join(name)).expect("dir");
        }
        let remote = dir.path().join("remote");
        let web2 = web2_disk.map_or_else(|| dir.path().join("web2"), Path::to_path_buf);
        Self {
            web1: TestSshd::start_as_host(&dir.path().join("web1"), &remote),
            web2: TestSshd::start_as_host(&web2, &remote),
            web2_dir: web2,
            store: ImageStore::open_or_create(dir.path().join("images")).expect("store"),
            record: LocalTarget::open(dir.path().join("record")).expect("record"),
            queue: DeploymentQueue::open(dir.path().join("queue")).expect("queue"),
            secrets: BTreeMap::from([("db".to_string(), "pw-over-ssh".to_string())]),
            dir,
        }
    }

    /// The directory the target has on every host.
    fn remote_root(&self) -> String {
        self.dir.path().join("remote/shop").display().to_string()
    }

    /// What host `name` has at the target's directory.
    fn on_host(&self, name: &str) -> PathBuf {
        match name {
            "web2" => self.web2_dir.join("shop"),
            _ => self.dir.path().join(name).join("shop"),
        }
    }

    fn hosts(&self) -> RemoteHosts {
        RemoteHosts {
            hosts: vec![self.web1.client(), self.web2.client()],
            root: self.remote_root(),
            owner: "shop/staging".to_string(),
            stop_grace: Duration::from_secs(2),
            identity: None,
        }
    }

    fn app_image(&self, marker: &str, install: &str) -> ResolvedImage {
        self.app_image_with(marker, install, 0)
    }

    /// An application image with a file of `padding` bytes besides.
    fn app_image_with(&self, marker: &str, install: &str, padding: usize) -> ResolvedImage {
        let tree = self.dir.path().join(format!("app-{marker}"));
        if padding > 0 {
            fs_err::create_dir_all(&tree).expect("tree");
            fs_err::write(tree.join("padding.bin"), vec![7u8; padding]).expect("padding");
        }
        fs_err::create_dir_all(tree.join("ci")).expect("ci");
        fs_err::create_dir_all(tree.join("public")).expect("public");
        fs_err::write(tree.join("marker"), marker).expect("marker");
        fs_err::write(
            tree.join("public/index.php"),
            format!("<?php echo '{marker}';"),
        )
        .expect("php");
        std::os::unix::fs::symlink("public/index.php", tree.join("index.php")).expect("link");
        for stage in ["pre-deploy", "post-deploy"] {
            fs_err::write(
                tree.join(format!("ci/{stage}.yml")),
                HOOK.replace("STAGE", stage),
            )
            .expect("hook");
        }
        fs_err::write(
            tree.join("ci/install.yml"),
            install.replace("STAGE", "install"),
        )
        .expect("hook");
        let built = build_image(
            &self.store,
            &ImageInput {
                root: &tree,
                environment: indexmap::IndexMap::default(),
                labels: BTreeMap::default(),
                created: "2024-05-01T12:00:00Z".parse().expect("time"),
                base: None,
            },
        )
        .expect("image");
        self.store
            .resolve(&built.manifest_digest.to_string())
            .expect("resolve")
    }

    fn deploy(
        &self,
        image: &ResolvedImage,
        run: &str,
        keep_releases: usize,
    ) -> (Result<DeploymentOutcome, DeploymentError>, Vec<String>) {
        let run_dir = self.dir.path().join("runs").join(run);
        let logs = LogStore::new(&run_dir);
        let masker = Masker::new(["pw-over-ssh"]);
        let cancel = CancelToken::new();
        let runner = StageRunner {
            logs: &logs,
            masker: &masker,
            cancel: &cancel,
            timeout: Duration::from_mins(2),
            secrets: &self.secrets,
            provided: &BTreeMap::new(),
            observer: &Quiet,
        };
        let buildspecs: BTreeMap<Stage, PathBuf> = [
            (Stage::PreDeploy, "ci/pre-deploy.yml"),
            (Stage::Install, "ci/install.yml"),
            (Stage::PostDeploy, "ci/post-deploy.yml"),
        ]
        .into_iter()
        .map(|(stage, path)| (stage, PathBuf::from(path)))
        .collect();
        let hosts = self.hosts();
        let reference = image.manifest_digest.to_string();
        let outcome = deploy(
            &runner,
            &DeploymentRequest {
                project_name: "shop",
                label: run,
                deploy_type: DeployType::Normal,
                image,
                image_reference: &reference,
                store: &self.store,
                target: &self.record,
                queue: &self.queue,
                buildspecs: &buildspecs,
                exported: BTreeMap::new(),
                keep_releases,
                containers: None,
                app: None,
                remote: Some(&hosts),
            },
        );
        let mut lines = Vec::new();
        for stage in ["pre-deploy", "install", "post-deploy"] {
            let path = logs.step_log_path(stage, stage);
            if path.exists() {
                let (read, _) = LogStore::read_from(&path, 0).expect("log");
                lines.extend(
                    read.into_iter()
                        .map(|line| line.text)
                        .filter(|text| text.contains(" ran in ") && !text.starts_with("[upkeep]")),
                );
            }
        }
        (outcome, lines)
    }

    /// The release `current` points at on a host.
    fn current_on(&self, host: &str) -> Option<String> {
        let link = fs_err::read_link(self.on_host(host).join("current")).ok()?;
        Some(
            link.display()
                .to_string()
                .trim_start_matches("releases/")
                .to_string(),
        )
    }

    /// Everything in `releases/` on a host, sorted (releases, and working names starting with `.`).
    fn entries_on(&self, host: &str) -> Vec<String> {
        let mut names: Vec<String> = fs_err::read_dir(self.on_host(host).join("releases"))
            .expect("releases")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    fn releases_on(&self, host: &str) -> Vec<String> {
        let mut ids = self.entries_on(host);
        ids.retain(|name| !name.starts_with('.'));
        ids
    }

    /// Both hosts have `release` and nothing else, and serve it.
    fn assert_every_host_serves_only(&self, release: &str) {
        for host in ["web1", "web2"] {
            assert_eq!(self.releases_on(host), [release], "{host}");
            assert_eq!(self.current_on(host).as_deref(), Some(release), "{host}");
        }
    }

    fn status_on(&self, host: &str, id: &str) -> String {
        let path = self
            .on_host(host)
            .join("releases")
            .join(id)
            .join("release.json");
        let json: serde_json::Value =
            serde_json::from_slice(&fs_err::read(path).expect("release.json")).expect("json");
        json["status"].as_str().expect("status").to_string()
    }

    fn record_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .record
            .releases()
            .expect("releases")
            .into_iter()
            .map(|release| release.id)
            .collect();
        ids.sort();
        ids
    }
}

#[test]
fn releases_land_on_every_host_stages_run_on_the_first_and_current_switches_on_all() {
    let world = World::new();
    let one = world.app_image("one", HOOK);
    let (outcome, lines) = world.deploy(&one, "run-1", 5);
    let outcome = outcome.expect("deploy");
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:#?}");
    let first = outcome.release.expect("release");
    let root = world.remote_root();
    assert_eq!(
        lines,
        [
            format!("install ran in one at {root}/releases/{first}/app for shop, secret=***"),
            format!("post-deploy ran in one at {root}/releases/{first}/app for shop, secret=***"),
        ]
    );

    let two = world.app_image("two", HOOK);
    let (outcome, lines) = world.deploy(&two, "run-2", 5);
    let outcome = outcome.expect("deploy");
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:#?}");
    let second = outcome.release.expect("release");
    assert_eq!(
        lines,
        [
            format!("pre-deploy ran in one at {root}/releases/{first}/app for shop, secret=***"),
            format!("install ran in two at {root}/releases/{second}/app for shop, secret=***"),
            format!("post-deploy ran in two at {root}/releases/{second}/app for shop, secret=***"),
        ],
        "pre-deploy runs in the running release, install and post-deploy in the new one"
    );

    for host in ["web1", "web2"] {
        assert_eq!(
            world.current_on(host).as_deref(),
            Some(second.as_str()),
            "{host}"
        );
        assert_eq!(world.releases_on(host), world.record_ids(), "{host}");
        let app = world
            .on_host(host)
            .join("releases")
            .join(&second)
            .join("app");
        assert_eq!(
            fs_err::read_to_string(app.join("marker")).expect("marker"),
            "two"
        );
        assert_eq!(
            fs_err::read_link(app.join("index.php")).expect("symlink"),
            Path::new("public/index.php"),
            "symlinks travel as symlinks"
        );
        assert_eq!(world.status_on(host, &first), "superseded");
        assert_eq!(world.status_on(host, &second), "active");
        assert_eq!(
            fs_err::read(world.on_host(host).join("history.json")).expect("history"),
            fs_err::read(world.dir.path().join("record/history.json")).expect("history"),
        );
    }
    let on_web1 = world
        .on_host("web1")
        .join("releases")
        .join(&second)
        .join("app");
    let on_web2 = world
        .on_host("web2")
        .join("releases")
        .join(&second)
        .join("app");
    assert!(
        on_web1.join("ran-install").exists(),
        "install ran on the first host"
    );
    assert!(
        !on_web2.join("ran-install").exists(),
        "stages run on the first host only"
    );
    assert_eq!(
        fs_err::read_dir(world.on_host("web1").join(".sessions"))
            .expect("sessions")
            .count(),
        0,
        "no session directory is left on the host"
    );

    // A rollback switches every host back, then the record.
    let hosts = world.hosts();
    let (from, to) = remote_hosts::rollback(&world.record, &hosts).expect("rollback");
    assert_eq!(
        (from.id.as_str(), to.id.as_str()),
        (second.as_str(), first.as_str())
    );
    for host in ["web1", "web2"] {
        assert_eq!(
            world.current_on(host).as_deref(),
            Some(first.as_str()),
            "{host}"
        );
        assert_eq!(world.status_on(host, &second), "rolled-back");
    }
}

#[test]
fn a_failed_install_leaves_every_host_on_the_running_release_and_pruning_reaches_the_hosts() {
    let world = World::new();
    let (outcome, _) = world.deploy(&world.app_image("one", HOOK), "run-1", 2);
    let first = outcome.expect("deploy").release.expect("release");

    let failing = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"STAGE ran in $(cat marker) and fails\"\n      - exit 4\n";
    let (outcome, lines) = world.deploy(&world.app_image("broken", failing), "run-2", 2);
    let outcome = outcome.expect("deploy");
    assert_eq!(outcome.status, RunStatus::Failed);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("install ran in broken and fails")
    );
    let broken = outcome.release.expect("release");
    for host in ["web1", "web2"] {
        assert_eq!(
            world.current_on(host).as_deref(),
            Some(first.as_str()),
            "{host}"
        );
        assert_eq!(world.status_on(host, &broken), "failed", "{host}");
    }

    let (outcome, _) = world.deploy(&world.app_image("three", HOOK), "run-3", 2);
    let third = outcome.expect("deploy").release.expect("release");
    // keep-releases 2: the failed release goes first, on the hosts as in the record.
    assert_eq!(world.record_ids(), [first.clone(), third.clone()]);
    for host in ["web1", "web2"] {
        assert_eq!(
            world.releases_on(host),
            [first.clone(), third.clone()],
            "{host}"
        );
        assert_eq!(
            world.current_on(host).as_deref(),
            Some(third.as_str()),
            "{host}"
        );
    }
}

#[test]
fn a_host_that_is_down_stops_the_deployment_before_any_stage_and_is_repaired_by_the_next() {
    let mut world = World::new();
    let (outcome, _) = world.deploy(&world.app_image("one", HOOK), "run-1", 5);
    let first = outcome.expect("deploy").release.expect("release");

    world.web2.stop();
    let (outcome, lines) = world.deploy(&world.app_image("two", HOOK), "run-2", 5);
    let error = outcome.expect_err("a host is down");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "127.0.0.1:{}: cannot connect over ssh",
            world.web2.port
        )),
        "{text}"
    );
    assert!(lines.is_empty(), "no stage ran: {lines:?}");
    assert_eq!(world.current_on("web1").as_deref(), Some(first.as_str()));

    // The host comes back with a release missing and its `current` pointing at the old one;
    // the next deployment brings it in line before anything runs.
    world.web2.restart();
    fs_err::remove_dir_all(world.on_host("web2").join("releases").join(&first)).expect("rm");
    let (outcome, _) = world.deploy(&world.app_image("three", HOOK), "run-3", 5);
    let outcome = outcome.expect("deploy");
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:#?}");
    let third = outcome.release.expect("release");
    for host in ["web1", "web2"] {
        assert_eq!(
            world.current_on(host).as_deref(),
            Some(third.as_str()),
            "{host}"
        );
        assert!(
            world.releases_on(host).contains(&first),
            "{host} has the release a rollback returns to"
        );
    }
}

#[test]
fn another_environment_pointed_at_the_same_directory_is_refused() {
    let world = World::new();
    let (outcome, _) = world.deploy(&world.app_image("one", HOOK), "run-1", 5);
    let first = outcome.expect("deploy").release.expect("release");
    let production = LocalTarget::open(world.dir.path().join("production")).expect("record");
    let mut hosts = world.hosts();
    hosts.owner = "shop/production".to_string();
    let error = hosts.check(&production).expect_err("not its directory");
    assert!(
        error.to_string().contains(&format!(
            "{} holds the releases of shop/staging, not of shop/production: refusing to touch them",
            world.remote_root()
        )),
        "{error}"
    );
    world.assert_every_host_serves_only(&first);
}

#[test]
fn a_host_whose_key_is_not_trusted_gets_nothing() {
    let world = World::new();
    let mut hosts = world.hosts();
    let empty = world.dir.path().join("known_hosts");
    fs_err::write(&empty, "").expect("known_hosts");
    hosts.hosts[1].known_hosts = Some(empty);
    let error = hosts.check(&world.record).expect_err("untrusted host key");
    assert!(
        error.to_string().contains("the host key is not trusted"),
        "{error}"
    );
    assert!(
        upkeep_hint::Hint::hint(&error)
            .expect("hint")
            .contains("ssh-keyscan"),
        "{error}"
    );
    assert!(!world.on_host("web2").join("releases").exists());
}

#[test]
fn a_full_disk_on_a_host_fails_the_deployment_before_any_stage_and_every_host_keeps_serving() {
    let disk = SmallDisk::mount("1m");
    let world = World::with_web2_disk(Some(disk.path()));
    let (outcome, _) = world.deploy(&world.app_image("one", HOOK), "run-1", 5);
    let first = outcome.expect("deploy").release.expect("release");

    let big = world.app_image_with("big", HOOK, 3_000_000);
    let (outcome, lines) = world.deploy(&big, "run-2", 5);
    let error = outcome
        .expect_err("the second host's disk is full")
        .to_string();
    assert!(
        error.starts_with(&format!("127.0.0.1:{}: sending release ", world.web2.port))
            && error.contains("No space left on device"),
        "{error}"
    );
    assert!(lines.is_empty(), "no stage ran: {lines:?}");
    for host in ["web1", "web2"] {
        assert_eq!(
            world.current_on(host).as_deref(),
            Some(first.as_str()),
            "{host}"
        );
    }
    let failed: Vec<String> = world
        .record
        .releases()
        .expect("releases")
        .into_iter()
        .filter(|release| release.id != first)
        .map(|release| format!("{:?}", release.status))
        .collect();
    assert_eq!(
        failed,
        ["Failed"],
        "the release that did not reach every host never runs"
    );

    // The next deployment clears what the interrupted send left and goes through.
    let (outcome, _) = world.deploy(&world.app_image("three", HOOK), "run-3", 5);
    let third = outcome.expect("deploy").release.expect("release");
    for host in ["web1", "web2"] {
        assert_eq!(
            world.current_on(host).as_deref(),
            Some(third.as_str()),
            "{host}"
        );
    }
    let mut leftovers = world.entries_on("web2");
    leftovers.retain(|name| name.starts_with('.'));
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_release_that_cannot_be_read_whole_is_never_renamed_into_place_on_a_host() {
    let world = World::new();
    let (outcome, _) = world.deploy(&world.app_image("one", HOOK), "run-1", 5);
    let first = outcome.expect("deploy").release.expect("release");
    let mut release = world
        .record
        .releases()
        .expect("releases")
        .into_iter()
        .find(|release| release.id == first)
        .expect("release");
    // A copy under another id with a socket in it, which cannot be archived: the stream to the
    // host stops there, after the files before it.
    let copy = world.dir.path().join("record/releases/copy");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&release.dir)
        .arg(&copy)
        .status()
        .expect("cp");
    assert!(status.success());
    let _socket = std::os::unix::net::UnixListener::bind(copy.join("app/zz.sock")).expect("socket");
    release.dir = copy;
    release.id = "copy".to_string();
    let error = world
        .hosts()
        .send(&release)
        .expect_err("the archive is cut short");
    assert!(
        error.to_string().contains("cannot send the data"),
        "{error}"
    );
    world.assert_every_host_serves_only(&first);
}

#[test]
fn a_host_lost_at_the_switch_sends_the_switched_hosts_back_and_the_running_release_keeps_serving() {
    let world = World::new();
    let (outcome, _) = world.deploy(&world.app_image("one", HOOK), "run-1", 5);
    let first = outcome.expect("deploy").release.expect("release");

    // The install hook (on the first host) takes the second host down, after the check and the
    // send and before the switch.
    let pid_file = world.dir.path().join("web2.pid");
    fs_err::write(&pid_file, world.web2.pid().to_string()).expect("pid");
    let install = format!(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"STAGE ran in $(cat marker)\"\n      - kill $(cat {})\n",
        pid_file.display()
    );
    let (outcome, lines) = world.deploy(&world.app_image("two", &install), "run-2", 5);
    let outcome = outcome.expect("the deployment ends with an outcome");
    assert_eq!(outcome.status, RunStatus::Failed, "{outcome:#?}");
    assert_eq!(lines.last().map(String::as_str), Some("install ran in two"));
    let second = outcome.release.expect("release");
    let notes = outcome.notes.join("\n");
    assert!(
        notes.contains(&format!(
            "could not switch 127.0.0.1:{} to release {second}",
            world.web2.port
        )) && notes.contains(&format!(
            "the hosts switched before it are back on release {first}"
        )),
        "{notes}"
    );
    assert_eq!(world.current_on("web1").as_deref(), Some(first.as_str()));
    assert_eq!(world.current_on("web2").as_deref(), Some(first.as_str()));
    let running = world.record.running().expect("record").expect("running");
    assert_eq!(
        running.id, first,
        "the record serves the running release too"
    );
    assert_eq!(world.status_on("web1", &second), "failed");
}
