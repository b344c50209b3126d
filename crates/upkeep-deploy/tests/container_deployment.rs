//! Deployments with `executor: container` against real podman: pre-deploy runs in a container
//! of the **running** image, install of the **new** one, post-deploy of the **active** one. The
//! images are built by upkeep's own builder on a busybox base; each carries a marker file, and
//! the hooks print the marker of the image they run in, so the logs tell which image ran.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use upkeep_deploy::app_containers::{self, AppContainers};
use upkeep_deploy::containers::ContainerExecutor;
use upkeep_deploy::deployment::{DeploymentOutcome, DeploymentRequest, deploy};
use upkeep_deploy::image::{ImageInput, build_image};
use upkeep_deploy::layout::{ImageStore, ResolvedImage};
use upkeep_deploy::queue::DeploymentQueue;
use upkeep_deploy::stage::{StageObserver, StageRunner};
use upkeep_deploy::target::LocalTarget;
use upkeep_pipeline::executor::CancelToken;
use upkeep_pipeline::log_store::LogStore;
use upkeep_pipeline::mask::Masker;
use upkeep_pipeline::project_file::{AppContainerSettings, ContainerSettings, DeployType, Stage};
use upkeep_pipeline::record::RunStatus;
use upkeep_pipeline::testing::{TestPodman, write_busybox_tree};

struct Quiet;

impl StageObserver for Quiet {
    fn message(&self, _text: &str) {}
}

const HOOK: &str = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"$STAGE_NAME ran in image $(cat /marker) for $SPRYKER_PROJECT_NAME ($SPRYKER_PIPELINE_TYPE), secret=$DB_PASSWORD\"\n";

struct World {
    dir: tempfile::TempDir,
    podman: TestPodman,
    store: ImageStore,
    target: LocalTarget,
    queue: DeploymentQueue,
    base: ResolvedImage,
    secrets: BTreeMap<String, String>,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ImageStore::open_or_create(dir.path().join("images")).expect("store");
        let base_tree = dir.path().join("base");
        write_busybox_tree(&base_tree);
        let base = build_image(&store, &input(&base_tree, None)).expect("base image");
        let base = store
            .resolve(&base.manifest_digest.to_string())
            .expect("base");
        Self {
            podman: TestPodman::new(),
            target: LocalTarget::open(dir.path().join("target")).expect("target"),
            queue: DeploymentQueue::open(dir.path().join("queue")).expect("queue"),
            store,
            base,
            secrets: BTreeMap::from([("db".to_string(), "pw-in-container".to_string())]),
            dir,
        }
    }

    /// An application image on the busybox base whose `/marker` says `marker`, with a hook
    /// buildspec per deployment stage under `ci/`.
    fn app_image(&self, marker: &str) -> ResolvedImage {
        let tree = self.dir.path().join(format!("app-{marker}"));
        write_app_tree(&tree, marker);
        let built = build_image(&self.store, &input(&tree, Some(self.base.clone()))).expect("app");
        self.store
            .resolve(&built.manifest_digest.to_string())
            .expect("app image")
    }

    /// Deploys `image` with stages in containers; returns the outcome and each stage's output.
    fn deploy(&self, image: &ResolvedImage, run: &str) -> (DeploymentOutcome, Vec<String>) {
        self.deploy_to(image, run, None)
    }

    /// As [`World::deploy`], to a `container` target when `app` is given.
    fn deploy_to(
        &self,
        image: &ResolvedImage,
        run: &str,
        app: Option<&AppContainers>,
    ) -> (DeploymentOutcome, Vec<String>) {
        let run_dir = self.dir.path().join("runs").join(run);
        let logs = LogStore::new(&run_dir);
        let masker = Masker::new(["pw-in-container"]);
        let cancel = CancelToken::new();
        let runner = StageRunner {
            logs: &logs,
            masker: &masker,
            cancel: &cancel,
            timeout: std::time::Duration::from_mins(2),
            secrets: &self.secrets,
            provided: &BTreeMap::new(),
            observer: &Quiet,
        };
        let containers =
            ContainerExecutor::with_env(&ContainerSettings::default(), self.podman.env())
                .expect("podman");
        let buildspecs: BTreeMap<Stage, PathBuf> = [
            (Stage::PreDeploy, "ci/pre-deploy.yml"),
            (Stage::Install, "ci/install.yml"),
            (Stage::PostDeploy, "ci/post-deploy.yml"),
        ]
        .into_iter()
        .map(|(stage, path)| (stage, PathBuf::from(path)))
        .collect();
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
                target: &self.target,
                queue: &self.queue,
                buildspecs: &buildspecs,
                exported: BTreeMap::new(),
                keep_releases: 5,
                containers: Some(&containers),
                app,
                remote: None,
            },
        )
        .expect("deploy");
        let mut lines = Vec::new();
        let start_log = logs.step_log_path("install", "start");
        if start_log.exists() {
            let (read, _) = LogStore::read_from(&start_log, 0).expect("log");
            lines.extend(read.into_iter().map(|line| format!("start: {}", line.text)));
        }
        for stage in ["pre-deploy", "install", "post-deploy"] {
            let path = logs.step_log_path(stage, stage);
            if path.exists() {
                let (read, _) = LogStore::read_from(&path, 0).expect("log");
                lines.extend(read.into_iter().map(|line| line.text).filter(|text| {
                    text.contains(" ran in image ") && !text.starts_with("[upkeep]")
                }));
            }
        }
        (outcome, lines)
    }
}

/// An application tree whose `/marker` says `marker`, with a hook buildspec per deployment
/// stage under `ci/`.
fn write_app_tree(tree: &Path, marker: &str) {
    fs_err::create_dir_all(tree.join("ci")).expect("ci");
    fs_err::write(tree.join("marker"), marker).expect("marker");
    for stage in ["pre-deploy", "install", "post-deploy"] {
        fs_err::write(
            tree.join(format!("ci/{stage}.yml")),
            HOOK.replace("$STAGE_NAME", stage)
                .replace("phases:", "env:\n  secrets:\n    DB_PASSWORD: db\nphases:"),
        )
        .expect("hook");
    }
}

fn input(tree: &Path, base: Option<ResolvedImage>) -> ImageInput<'_> {
    ImageInput {
        root: tree,
        environment: indexmap::IndexMap::default(),
        labels: BTreeMap::default(),
        created: "2024-05-01T12:00:00Z".parse().expect("time"),
        base,
    }
}

#[test]
fn each_stage_runs_in_a_container_of_the_image_spryker_runs_it_in() {
    let world = World::new();
    let first = world.app_image("one");
    let (outcome, lines) = world.deploy(&first, "run-1");
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:#?}");
    assert_eq!(
        lines,
        [
            "install ran in image one for shop (normal), secret=***",
            "post-deploy ran in image one for shop (normal), secret=***",
        ],
        "the first deployment has no running image for pre-deploy"
    );

    let second = world.app_image("two");
    let (outcome, lines) = world.deploy(&second, "run-2");
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:#?}");
    assert_eq!(
        lines,
        [
            "pre-deploy ran in image one for shop (normal), secret=***",
            "install ran in image two for shop (normal), secret=***",
            "post-deploy ran in image two for shop (normal), secret=***",
        ]
    );
    let running = world.target.running().expect("target").expect("running");
    assert_eq!(running.image_digest, second.manifest_digest);
}

#[test]
fn a_failing_install_in_the_container_leaves_the_running_release_active() {
    let world = World::new();
    let first = world.app_image("one");
    let (outcome, lines) = world.deploy(&first, "run-1");
    assert_eq!(
        outcome.status,
        RunStatus::Succeeded,
        "{outcome:#?} {lines:#?}"
    );
    let active = world.target.running().expect("target").expect("running");

    let tree = world.dir.path().join("app-broken");
    fs_err::create_dir_all(tree.join("ci")).expect("ci");
    fs_err::write(tree.join("marker"), "broken").expect("marker");
    fs_err::write(
        tree.join("ci/install.yml"),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - echo installing; exit 3\n",
    )
    .expect("hook");
    let broken = build_image(&world.store, &input(&tree, Some(world.base.clone()))).expect("image");
    let broken = world
        .store
        .resolve(&broken.manifest_digest.to_string())
        .expect("image");
    let (outcome, _) = world.deploy(&broken, "run-2");
    assert_eq!(outcome.status, RunStatus::Failed);
    assert!(!outcome.activated);
    let still = world.target.running().expect("target").expect("running");
    assert_eq!(still.id, active.id);
}

#[test]
fn without_podman_the_executor_is_not_created_and_names_the_package() {
    let empty = tempfile::tempdir().expect("tempdir");
    let env = BTreeMap::from([("PATH".to_string(), empty.path().display().to_string())]);
    let error = ContainerExecutor::with_env(&ContainerSettings::default(), env)
        .expect_err("podman is not there");
    assert_eq!(
        error.to_string(),
        "podman is not installed: `podman` is not on PATH"
    );
    assert_eq!(
        upkeep_hint::Hint::hint(&error).as_deref(),
        Some(
            "install the Debian package `podman` (apt-get install podman), or use `executor: local` for this environment"
        )
    );
}

/// The application containers of a `container` target in a test, removed at the end.
struct App(AppContainers);

impl App {
    fn new(world: &World, test: &str) -> Self {
        let podman = ContainerExecutor::with_env(&ContainerSettings::default(), world.podman.env())
            .expect("podman");
        Self(AppContainers {
            settings: AppContainerSettings {
                name: format!("upkeep-test-{test}-{}", std::process::id()),
                // An image with /broken runs but never gets ready.
                command: Some(vec![
                    "sh".to_string(),
                    "-c".to_string(),
                    "test -f /broken || touch /tmp/ready; exec sleep 100000".to_string(),
                ]),
                health: Some("test -f /tmp/ready".to_string()),
                health_timeout: std::time::Duration::from_secs(3),
                network: None,
            },
            podman,
        })
    }

    /// The application's containers that run.
    fn running(&self, world: &World) -> Vec<String> {
        let listed = world.podman.run(
            &[
                "ps",
                "--filter",
                &format!("label=upkeep.app={}", self.0.settings.name),
                "--format",
                "{{.Names}}",
            ],
            None,
        );
        let mut names: Vec<String> = listed.lines().map(str::to_string).collect();
        names.sort();
        names
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let listed = std::process::Command::new(&self.0.podman.podman)
            .args(["ps", "--all", "--quiet", "--filter"])
            .arg(format!("label=upkeep.app={}", self.0.settings.name))
            .env_clear()
            .envs(&self.0.podman.podman_env)
            .output();
        if let Ok(listed) = listed {
            for id in String::from_utf8_lossy(&listed.stdout).lines() {
                let _ = std::process::Command::new(&self.0.podman.podman)
                    .args(["rm", "--force", "--time=0", id])
                    .env_clear()
                    .envs(&self.0.podman.podman_env)
                    .output();
            }
        }
    }
}

#[test]
fn the_container_target_switches_only_to_a_healthy_container_and_rolls_back_by_starting_the_old_image()
 {
    let world = World::new();
    let app = App::new(&world, "target");
    let one = world.app_image("one");
    let (outcome, lines) = world.deploy_to(&one, "run-1", Some(&app.0));
    assert_eq!(outcome.status, RunStatus::Succeeded, "{lines:#?}");
    let first = world.target.running().expect("target").expect("running");
    assert_eq!(app.running(&world), [app.0.container_of(&first)]);
    assert!(
        lines.contains(&format!(
            "start: container {} is healthy",
            app.0.container_of(&first)
        )),
        "{lines:#?}"
    );

    let two = world.app_image("two");
    let (outcome, lines) = world.deploy_to(&two, "run-2", Some(&app.0));
    assert_eq!(outcome.status, RunStatus::Succeeded, "{lines:#?}");
    let second = world.target.running().expect("target").expect("running");
    assert_eq!(app.running(&world), [app.0.container_of(&second)]);
    assert!(
        outcome
            .notes
            .contains(&format!("stopped container {}", app.0.container_of(&first))),
        "{:#?}",
        outcome.notes
    );

    // An image whose container never gets healthy: the serving container is not touched.
    let tree = world.dir.path().join("app-broken");
    write_app_tree(&tree, "broken");
    fs_err::write(tree.join("broken"), "").expect("broken");
    let broken = build_image(&world.store, &input(&tree, Some(world.base.clone()))).expect("image");
    let broken = world
        .store
        .resolve(&broken.manifest_digest.to_string())
        .expect("image");
    let (outcome, lines) = world.deploy_to(&broken, "run-3", Some(&app.0));
    assert_eq!(outcome.status, RunStatus::Failed, "{lines:#?}");
    assert!(!outcome.activated);
    assert!(
        lines
            .iter()
            .any(|line| line
                .contains("did not pass its health command `test -f /tmp/ready` within 3s")),
        "{lines:#?}"
    );
    assert_eq!(
        world.target.running().expect("target").expect("running").id,
        second.id
    );
    assert_eq!(app.running(&world), [app.0.container_of(&second)]);

    // Rollback starts the first release's image again before switching to it.
    let mut said = Vec::new();
    let (from, to) = app_containers::rollback(
        &world.target,
        &app.0,
        &world.store,
        &|_| BTreeMap::new(),
        &mut |text: &str| said.push(text.to_string()),
    )
    .expect("rollback");
    assert_eq!(
        (from.id.as_str(), to.id.as_str()),
        (second.id.as_str(), first.id.as_str())
    );
    assert_eq!(app.running(&world), [app.0.container_of(&first)]);
    assert!(
        said.contains(&format!(
            "container {} is healthy",
            app.0.container_of(&first)
        )),
        "{said:#?}"
    );
}
