//! Dockerfile builds end to end: the fixture shop with a Dockerfile whose base image is made
//! here (busybox in an image from scratch) and pushed to a real registry on loopback (Debian's
//! `docker-registry`, TLS from a test CA, htpasswd); `upkeep build` runs buildah on the commit's
//! checkout, the image lands in upkeep's store and in the registry. buildah, skopeo and the
//! registry are installed by `scripts/test.sh`; a missing one fails these tests, never skips
//! them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use upkeep_deploy::image::unpack;
use upkeep_deploy::layout::{Digest, ImageStore};
use upkeep_deploy::registry::Registry;
use upkeep_deploy::testing::{PASSWORD, TestRegistry, USER, run};

mod common;
use common::server::copy_tree;
use common::{assert_contains, assert_exit, stderr, stdout};

/// The fixture's secret, a value of its staging deploy file's `image.environment`.
const DB_PASSWORD: &str = "s3cr3t-staging-pw";

/// A containers.conf for this machine: a container of the test's sandbox has no systemd (so
/// cgroupfs and a file for events) and lower open-file and process limits than the defaults.
const CONTAINERS_CONF: &str = "\
[containers]
default_ulimits = [\"nofile=4096:4096\", \"nproc=4096:4096\"]

[engine]
cgroup_manager = \"cgroupfs\"
events_logger = \"file\"
runtime = \"runc\"
";

/// The test's directory: the containers.conf, the registry's CA as a cert dir, the shop.
struct Setup {
    dir: tempfile::TempDir,
    registry: TestRegistry,
}

impl Setup {
    /// A registry; with `base`, holding `base:1`: busybox and a few of its applets, made from
    /// scratch.
    fn new(base: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("containers.conf"), CONTAINERS_CONF).unwrap();
        std::fs::create_dir(dir.path().join("certs")).unwrap();
        let registry = TestRegistry::start();
        std::fs::copy(registry.ca(), dir.path().join("certs/ca.crt")).unwrap();
        let setup = Self { dir, registry };
        if base {
            setup.push_base_image();
        }
        setup
    }

    fn containers_conf(&self) -> PathBuf {
        self.dir.path().join("containers.conf")
    }

    fn buildah(&self, args: &[&str]) -> String {
        let output = Command::new("buildah")
            .args(args)
            .env("CONTAINERS_CONF", self.containers_conf())
            .output()
            .unwrap_or_else(|error| {
                panic!("buildah is needed (scripts/test.sh installs it): {error}")
            });
        assert!(
            output.status.success(),
            "buildah {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn base(&self) -> String {
        format!("127.0.0.1:{}/base:1", self.registry.port)
    }

    fn push_base_image(&self) {
        let container = self.buildah(&["from", "scratch"]);
        let root = PathBuf::from(self.buildah(&["mount", &container]));
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::copy("/bin/busybox", root.join("bin/busybox"))
            .expect("busybox is needed (scripts/test.sh installs it)");
        for applet in [
            "sh", "cat", "echo", "false", "true", "ls", "mkdir", "sleep", "test", "touch",
        ] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
        self.buildah(&["umount", &container]);
        self.buildah(&["config", "--env", "PATH=/bin", &container]);
        // Straight to the registry: nothing of the base stays in this machine's storage, so
        // the build must pull it from the registry.
        let creds = format!("{USER}:{PASSWORD}");
        let cert_dir = self.dir.path().join("certs");
        self.buildah(&[
            "commit",
            "--cert-dir",
            cert_dir.to_str().unwrap(),
            "--creds",
            &creds,
            &container,
            &format!("docker://{}", self.base()),
        ]);
        self.buildah(&["rm", &container]);
    }

    /// The uncompressed layers of `base:1`, as the registry serves it.
    fn base_diff_ids(&self) -> Vec<Digest> {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open_or_create(dir.path()).unwrap();
        let reference = self.base().parse().unwrap();
        let base = Registry::connect(&reference, &self.registry.options(PASSWORD))
            .unwrap()
            .pull(&store, &reference)
            .unwrap();
        base.config.rootfs.diff_ids
    }

    /// `skopeo inspect` of an image of the registry.
    fn inspect(&self, reference: &str) -> serde_json::Value {
        let cert_dir = self.dir.path().join("certs");
        let output = run(
            "skopeo",
            &[
                "inspect",
                "--cert-dir",
                cert_dir.to_str().unwrap(),
                "--creds",
                &format!("{USER}:{PASSWORD}"),
                &format!("docker://{reference}"),
            ],
            Path::new("."),
        );
        serde_json::from_slice(&output).unwrap()
    }
}

impl Drop for Setup {
    /// The base image the build pulled stays in this machine's container storage otherwise.
    fn drop(&mut self) {
        let _ = Command::new("buildah")
            .args(["rmi", &self.base()])
            .env("CONTAINERS_CONF", self.containers_conf())
            .output();
    }
}

/// The fixture shop as a git repository whose staging environment pushes to `registry`, with
/// `dockerfile` as its Dockerfile.
struct Shop {
    _dir: tempfile::TempDir,
    repo: PathBuf,
}

impl Shop {
    fn new(setup: &Setup, dockerfile: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pipeline-shop"),
            &repo,
        );
        let shop = Self { _dir: dir, repo };
        let upkeep_yml = std::fs::read_to_string(shop.repo.join("upkeep.yml")).unwrap();
        let registry = format!(
            "    secrets: [FIXTURE_DB_PASSWORD, REGISTRY_USER, REGISTRY_PASSWORD]\n    registry:\n      image: 127.0.0.1:{}/fixture-shop/app\n      username-secret: REGISTRY_USER\n      password-secret: REGISTRY_PASSWORD\n      ca-certificate: {}\n",
            setup.registry.port,
            setup.registry.ca().display()
        );
        let edited = upkeep_yml.replace("    secrets: [FIXTURE_DB_PASSWORD]\n", &registry);
        assert_ne!(edited, upkeep_yml);
        std::fs::write(shop.repo.join("upkeep.yml"), edited).unwrap();
        shop.write_dockerfile(dockerfile);
        shop.git(&["init", "-q", "-b", "main"]);
        shop.commit("first");
        shop
    }

    fn write_dockerfile(&self, dockerfile: &str) {
        std::fs::write(self.repo.join("Dockerfile"), dockerfile).unwrap();
    }

    fn git(&self, arguments: &[&str]) -> String {
        let output = Command::new("git")
            .current_dir(&self.repo)
            .args(["-c", "user.email=test@example.test", "-c", "user.name=Test"])
            .args(arguments)
            .output()
            .unwrap();
        assert!(output.status.success(), "git {arguments:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    /// `upkeep build --env staging` with the registry's credentials and the test's
    /// containers.conf.
    fn build(&self, setup: &Setup) -> Output {
        self.upkeep(setup, &["build", "--env", "staging"])
            .env("REGISTRY_USER", USER)
            .env("REGISTRY_PASSWORD", PASSWORD)
            .output()
            .unwrap()
    }

    fn upkeep(&self, setup: &Setup, arguments: &[&str]) -> Command {
        let mut command = Command::cargo_bin("upkeep").unwrap();
        command
            .current_dir(&self.repo)
            .args(arguments)
            .env("CONTAINERS_CONF", setup.containers_conf())
            .env("NO_COLOR", "1");
        command
    }

    fn build_log(&self, setup: &Setup) -> String {
        stdout(
            &self
                .upkeep(
                    setup,
                    &["pipeline", "logs", "--env", "staging", "--stage", "build"],
                )
                .output()
                .unwrap(),
        )
    }

    /// The newest run's directory: run ids sort by start time.
    fn newest_run(&self) -> PathBuf {
        let mut runs: Vec<PathBuf> = std::fs::read_dir(self.repo.join(".upkeep/runs"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        runs.sort();
        runs.pop().unwrap()
    }

    /// Neither the registry's password nor the deploy file's secret reach the newest run's
    /// record or build logs.
    fn assert_no_secret_in_the_newest_run(&self) {
        let run = self.newest_run();
        let logs = std::fs::read_dir(run.join("logs/build")).unwrap();
        for file in logs
            .map(|entry| entry.unwrap().path())
            .chain([run.join("record.json")])
        {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                !text.contains(PASSWORD) && !text.contains(DB_PASSWORD),
                "{}",
                file.display()
            );
        }
    }

    fn record(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.newest_run().join("record.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn store(&self) -> ImageStore {
        ImageStore::open_or_create(self.repo.join(".upkeep/images")).unwrap()
    }
}

const DOCKERFILE: &str = "\
FROM {base}
ARG APPLICATION_ENV
ARG FIXTURE_DB_PASSWORD
ENV APPLICATION_ENV=$APPLICATION_ENV
COPY . /app
WORKDIR /app
RUN echo \"built for $APPLICATION_ENV\" > built.txt && echo \"db ${FIXTURE_DB_PASSWORD:-not given}\" > db.txt
";

#[test]
fn a_dockerfile_builds_on_the_registry_base_image_and_the_pushed_digest_is_recorded() {
    let setup = Setup::new(true);
    let shop = Shop::new(&setup, &DOCKERFILE.replace("{base}", &setup.base()));
    let output = shop.build(&setup);
    assert_exit(&output, 0);
    let shown = format!("{}{}", stdout(&output), stderr(&output));
    assert_contains(&shown, "build phase done");

    let record = shop.record();
    assert_eq!(record["status"], "succeeded", "{record:#}");
    let digest = record["image"]["digest"].as_str().unwrap();
    let tag = record["image"]["reference"].as_str().unwrap();
    let commit = shop.git(&["rev-parse", "HEAD"]);
    assert_eq!(tag, format!("staging-{}", &commit[..12]));

    // The registry serves what was recorded, as a peer client sees it.
    let pushed = format!("127.0.0.1:{}/fixture-shop/app:{tag}", setup.registry.port);
    assert_eq!(setup.inspect(&pushed)["Digest"], digest);
    assert_eq!(
        record["image"]["pushed"].as_str().unwrap(),
        format!("{pushed}@{digest}")
    );

    // The store's image: the base's layers, then the Dockerfile's.
    let store = shop.store();
    let image = store.resolve(tag).unwrap();
    assert_eq!(image.manifest_digest.to_string(), digest);
    // The store stays a layout that the containers tools read.
    let layout = format!("oci:{}:{tag}", store.root().display());
    let inspected: serde_json::Value =
        serde_json::from_slice(&run("skopeo", &["inspect", &layout], Path::new("."))).unwrap();
    assert_eq!(inspected["Digest"], digest);
    let base_diff_ids = setup.base_diff_ids();
    let diff_ids = &image.config.rootfs.diff_ids;
    assert_eq!(diff_ids.len(), base_diff_ids.len() + 1);
    assert_eq!(diff_ids[..diff_ids.len() - 1], base_diff_ids[..]);
    assert_eq!(image.manifest.layers.len(), diff_ids.len());

    // Environment, working directory and upkeep's labels.
    let config = &image.config.config;
    assert!(
        config.env.contains(&"APPLICATION_ENV=staging".to_string()),
        "{:?}",
        config.env
    );
    assert!(config.env.contains(&"PATH=/bin".to_string()));
    assert_eq!(config.working_dir.as_deref(), Some("/app"));
    assert_eq!(
        config.labels["org.opencontainers.image.revision"],
        commit.as_str()
    );
    assert_eq!(
        config.labels["org.opencontainers.image.title"],
        "fixture-shop"
    );
    assert_eq!(config.labels["dev.upkeep.environment"], "staging");
    // The commit time, not the time of the build.
    let commit_time = shop.git(&["log", "-1", "--format=%ct"]);
    let created: jiff::Timestamp = image.config.created.as_deref().unwrap().parse().unwrap();
    assert_eq!(created.as_second().to_string(), commit_time);

    // The files: busybox from the base, the checkout after the build buildspec under /app,
    // and what the Dockerfile's RUN wrote with the build argument.
    let unpacked_dir = tempfile::tempdir().unwrap();
    let unpacked = unpacked_dir.path().join("image");
    unpack(&store, &image, &unpacked).unwrap();
    assert!(unpacked.join("bin/busybox").is_file());
    assert_eq!(
        std::fs::read_to_string(unpacked.join("app/built.txt")).unwrap(),
        "built for staging\n"
    );
    assert_eq!(
        std::fs::read_to_string(unpacked.join("app/public/version.txt")).unwrap(),
        std::fs::read_to_string(shop.repo.join("VERSION")).unwrap()
    );
    assert!(unpacked.join("app/Dockerfile").is_file());

    // A secret of the image environment is no build argument: neither the image's files nor
    // its config (whose history lists the arguments a RUN saw) nor the run's files have it.
    assert_eq!(
        std::fs::read_to_string(unpacked.join("app/db.txt")).unwrap(),
        "db not given\n"
    );
    let config_blob = store.read_blob(&image.manifest.config.digest).unwrap();
    assert!(!String::from_utf8_lossy(&config_blob).contains(DB_PASSWORD));
    assert_contains(
        &stderr(&output),
        "FIXTURE_DB_PASSWORD holds a secret; it is not passed to the Dockerfile as a build argument",
    );
    // buildah's own output is in the build's log, as its own step; upkeep's labels are the
    // last three of its steps.
    let log = shop.build_log(&setup);
    assert_contains(&log, "STEP 1/10: FROM 127.0.0.1:");
    assert_contains(&log, "STEP 7/10: RUN echo");
    assert_contains(&log, &format!("pushed {pushed}@{digest}"));
    shop.assert_no_secret_in_the_newest_run();
    let steps: Vec<&str> = record["sub_pipelines"][0]["stages"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["name"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["build", "dockerfile", "push"]);
    // A second build of the commit gives the same image: nothing new for the registry.
    let again = shop.build(&setup);
    assert_exit(&again, 0);
    assert_eq!(shop.record()["image"]["digest"], digest);
    assert_contains(&shop.build_log(&setup), "(0 of 3 blobs sent");

    // buildah's output layout is gone from the store.
    let leftovers: Vec<_> = std::fs::read_dir(store.root())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".buildah"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_failing_run_fails_the_build_with_its_output_in_the_log() {
    let setup = Setup::new(true);
    let shop = Shop::new(
        &setup,
        &format!(
            "FROM {}\nCOPY . /app\nRUN echo about to fail && false\n",
            setup.base()
        ),
    );
    let failed = shop.build(&setup);
    assert_exit(&failed, 1);
    let record = shop.record();
    assert_eq!(record["status"], "failed", "{record:#}");
    assert!(record["image"].is_null(), "{record:#}");
    let steps = &record["sub_pipelines"][0]["stages"][0]["steps"];
    assert_eq!(steps[1]["name"], "dockerfile");
    assert_eq!(steps[1]["status"], "failed");
    assert_eq!(steps.as_array().unwrap().len(), 2, "nothing was pushed");
    let log = shop.build_log(&setup);
    assert_contains(&log, "about to fail");
    assert_contains(&log, "STEP 3/6: RUN echo about to fail && false");
    assert_contains(&stderr(&failed), "see the build's dockerfile log");
    assert!(shop.store().list().unwrap().is_empty());
}

/// Processes of this machine whose command line has `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let cmdline = std::fs::read(entry.ok()?.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.contains(marker).then_some(cmdline)
        })
        .collect()
}

/// A shop whose Dockerfile's `RUN` sleeps for a number of seconds no other process of the
/// machine (nor another test of this one, given its own `test`) has on its command line; the
/// shop and that number.
fn sleeping_shop(setup: &Setup, test: u32) -> (Shop, String) {
    let marker = format!("{}", 86_400 + test * 4_194_304 + std::process::id());
    let shop = Shop::new(
        setup,
        &format!(
            "FROM {}\nRUN echo sleeping && sleep {marker}\n",
            setup.base()
        ),
    );
    (shop, marker)
}

#[test]
fn a_dockerfile_build_over_the_time_limit_is_stopped_with_its_container() {
    let setup = Setup::new(true);
    let (shop, marker) = sleeping_shop(&setup, 1);
    let upkeep_yml = std::fs::read_to_string(shop.repo.join("upkeep.yml")).unwrap();
    std::fs::write(
        shop.repo.join("upkeep.yml"),
        upkeep_yml.replace(
            "    keep-releases: 3\n",
            "    keep-releases: 3\n    timeout: 5s\n",
        ),
    )
    .unwrap();
    shop.commit("a build that takes too long");
    let output = shop.build(&setup);
    assert_exit(&output, 1);
    let record = shop.record();
    let steps = &record["sub_pipelines"][0]["stages"][0]["steps"];
    assert_eq!(steps[1]["name"], "dockerfile", "{record:#}");
    assert_eq!(steps[1]["status"], "timed_out", "{record:#}");
    assert_contains(&stderr(&output), "the Dockerfile build timed out");
    assert_contains(&shop.build_log(&setup), "upkeep: timed out after 5s");
    // Neither buildah nor the RUN's process outlives the step.
    assert_eq!(processes_with(&marker), Vec::<String>::new());
    assert!(shop.store().list().unwrap().is_empty());
}

#[test]
fn ctrl_c_cancels_a_dockerfile_build_and_stops_its_processes() {
    let setup = Setup::new(true);
    let (shop, marker) = sleeping_shop(&setup, 2);
    let child = shop
        .upkeep(&setup, &["build", "--env", "staging", "--quiet"])
        .env("REGISTRY_USER", USER)
        .env("REGISTRY_PASSWORD", PASSWORD)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_mins(2);
    while processes_with(&marker).is_empty() {
        assert!(Instant::now() < deadline, "the RUN never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_exit(&output, 1);
    let record = shop.record();
    assert_eq!(record["status"], "cancelled", "{record:#}");
    let steps = &record["sub_pipelines"][0]["stages"][0]["steps"];
    assert_eq!(steps[1]["status"], "cancelled", "{record:#}");
    assert_eq!(processes_with(&marker), Vec::<String>::new());
    assert!(shop.store().list().unwrap().is_empty());
}

#[test]
fn without_buildah_a_dockerfile_build_stops_naming_the_package() {
    let setup = Setup::new(false);
    let shop = Shop::new(&setup, &DOCKERFILE.replace("{base}", &setup.base()));
    // Every program of this machine but buildah.
    let bin = tempfile::tempdir().unwrap();
    for dir in ["/usr/local/bin", "/usr/bin", "/usr/sbin"] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let link = bin.path().join(entry.file_name());
            if entry.file_name() != "buildah" && !link.exists() {
                std::os::unix::fs::symlink(entry.path(), link).unwrap();
            }
        }
    }
    let output = shop
        .upkeep(&setup, &["build", "--env", "staging"])
        .env("PATH", bin.path())
        .env("REGISTRY_USER", USER)
        .env("REGISTRY_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_exit(&output, 2);
    let stderr = stderr(&output);
    assert_contains(
        &stderr,
        "`buildah` is not installed (it is not in PATH), and the build of the Dockerfile `Dockerfile` needs it",
    );
    assert_contains(
        &stderr,
        "hint: install the Debian package `buildah` (`apt-get install buildah`)",
    );
    // Found before the build buildspec ran (whose output a build shows).
    assert!(
        !stdout(&output).contains("build phase done") && !stderr.contains("build phase done"),
        "the buildspec ran"
    );
    assert!(shop.store().list().unwrap().is_empty());
}

/// The whole path: the fixture shop is built from its Dockerfile on the registry's base
/// image, pushed, gated, deployed into containers (hooks in containers of the running, new and
/// active images; the application as a container that must be healthy before the switch), and
/// rolled back, which starts the previous image's container again.
#[test]
fn the_shop_goes_build_push_gate_deploy_into_containers_and_rollback() {
    let setup = Setup::new(true);
    let (shop, app) = container_shop(&setup);
    let _cleanup = AppCleanup {
        app: app.clone(),
        conf: setup.containers_conf(),
    };
    let pipeline = || {
        shop.upkeep(&setup, &["pipeline", "run", "--env", "staging"])
            .env("REGISTRY_USER", USER)
            .env("REGISTRY_PASSWORD", PASSWORD)
            .output()
            .unwrap()
    };
    let output = pipeline();
    assert_exit(&output, 0);
    let first = shop.record();
    assert_eq!(first["status"], "succeeded", "{first:#}");
    assert!(first["image"]["pushed"].as_str().is_some());
    assert!(first["gate"]["verdict"].is_string(), "{first:#}");
    let first_name = serving_container(&setup, &app);
    assert_eq!(served_version(&setup, &first_name), "1");

    // Version 2: pre-deploy runs in the running image (version 1), install in the new one.
    std::fs::write(shop.repo.join("VERSION"), "2\n").unwrap();
    shop.commit("version 2");
    let output = pipeline();
    assert_exit(&output, 0);
    let logs = |stage: &str| {
        let arguments = ["pipeline", "logs", "--env", "staging", "--stage", stage];
        stdout(&shop.upkeep(&setup, &arguments).output().unwrap())
    };
    assert_contains(
        &logs("pre-deploy"),
        "hook pre-deploy ran in version 1 for fixture-shop in /app",
    );
    assert_contains(
        &logs("install"),
        "hook install-destructive ran in version 2 for fixture-shop in /app",
    );
    assert_contains(&logs("post-deploy"), "hook post-deploy ran in version 2");
    let second_name = serving_container(&setup, &app);
    assert_ne!(second_name, first_name);
    assert_eq!(served_version(&setup, &second_name), "2");

    // Rollback: version 1's container serves again, version 2's is gone.
    let output = shop
        .upkeep(&setup, &["deploy", "rollback", "--env", "staging"])
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert_eq!(serving_container(&setup, &app), first_name);
    assert_eq!(served_version(&setup, &first_name), "1");
}

/// Lines of a Dockerfile that put the deploy file's hooks into the image's environment.
const HOOKS_IN_THE_IMAGE: &str = "\
ARG SPRYKER_HOOK_BEFORE_DEPLOY
ENV SPRYKER_HOOK_BEFORE_DEPLOY=$SPRYKER_HOOK_BEFORE_DEPLOY
ARG SPRYKER_HOOK_INSTALL
ENV SPRYKER_HOOK_INSTALL=$SPRYKER_HOOK_INSTALL
ARG SPRYKER_HOOK_DESTRUCTIVE_INSTALL
ENV SPRYKER_HOOK_DESTRUCTIVE_INSTALL=$SPRYKER_HOOK_DESTRUCTIVE_INSTALL
ARG SPRYKER_HOOK_AFTER_DEPLOY
ENV SPRYKER_HOOK_AFTER_DEPLOY=$SPRYKER_HOOK_AFTER_DEPLOY
";

/// The fixture shop with staging deployed into containers: hooks in containers, the
/// application as a container `<app>-<release>` that is healthy once it wrote the version it
/// serves. Returns the shop and the application's name.
fn container_shop(setup: &Setup) -> (Shop, String) {
    // The hooks reach the image's environment as the Dockerfile declares them, from the deploy
    // file's image environment given as build arguments.
    let dockerfile = DOCKERFILE.replace("{base}", &setup.base()) + HOOKS_IN_THE_IMAGE;
    let shop = Shop::new(setup, &dockerfile);
    let app = format!("fixture-shop-e2e-{}", std::process::id());
    let upkeep_yml = std::fs::read_to_string(shop.repo.join("upkeep.yml")).unwrap();
    let containers = format!(
        "    executor: container\n    target:\n      container:\n        path: ../targets/staging\n        name: {app}\n        command: [sh, -c, 'cat /app/public/version.txt > /app/serving; exec sleep 100000']\n        health: test -f /app/serving\n        health-timeout: 20s\n"
    );
    let edited = upkeep_yml.replace(
        "    target:\n      local:\n        path: ../targets/staging\n",
        &containers,
    );
    assert_ne!(edited, upkeep_yml);
    std::fs::write(shop.repo.join("upkeep.yml"), edited).unwrap();
    // The hooks say which version of the code they ran in.
    std::fs::write(
        shop.repo.join("bin/record-hook"),
        "#!/bin/sh\necho \"hook $1 ran in version $(cat VERSION) for $SPRYKER_PROJECT_NAME in $(pwd)\"\n",
    )
    .unwrap();
    shop.commit("deploy staging into containers");
    (shop, app)
}

/// The one running container of the application `app`.
fn serving_container(setup: &Setup, app: &str) -> String {
    let filter = format!("label=upkeep.app={app}");
    let serving = podman(
        setup,
        &["ps", "--filter", &filter, "--format", "{{.Names}}"],
    );
    assert_eq!(serving.lines().count(), 1, "{serving}");
    serving.trim().to_string()
}

fn served_version(setup: &Setup, container: &str) -> String {
    podman(setup, &["exec", container, "cat", "/app/serving"])
        .trim()
        .to_string()
}

fn podman(setup: &Setup, args: &[&str]) -> String {
    let output = Command::new("podman")
        .args(args)
        .env("CONTAINERS_CONF", setup.containers_conf())
        .output()
        .unwrap_or_else(|error| panic!("podman is needed (scripts/test.sh installs it): {error}"));
    assert!(
        output.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Removes the application's containers when the test ends, however it ends.
struct AppCleanup {
    app: String,
    conf: PathBuf,
}

impl Drop for AppCleanup {
    fn drop(&mut self) {
        let listed = Command::new("podman")
            .args(["ps", "--all", "--quiet", "--filter"])
            .arg(format!("label=upkeep.app={}", self.app))
            .env("CONTAINERS_CONF", &self.conf)
            .output();
        if let Ok(listed) = listed {
            for id in String::from_utf8_lossy(&listed.stdout).lines() {
                let _ = Command::new("podman")
                    .args(["rm", "--force", "--time=0", id])
                    .env("CONTAINERS_CONF", &self.conf)
                    .output();
            }
        }
    }
}
