//! Deployments with `executor: container` against real podman: pre-deploy runs in a container
//! of the **running** image, install of the **new** one, post-deploy of the **active** one. The
//! images are built by upkeep's own builder on a busybox base; each carries a marker file, and
//! the hooks print the marker of the image they run in, so the logs tell which image ran.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
use upkeep_pipeline::project_file::{ContainerSettings, DeployType, Stage};
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
        let built = build_image(&self.store, &input(&tree, Some(self.base.clone()))).expect("app");
        self.store
            .resolve(&built.manifest_digest.to_string())
            .expect("app image")
    }

    /// Deploys `image` with stages in containers; returns the outcome and each stage's output.
    fn deploy(&self, image: &ResolvedImage, run: &str) -> (DeploymentOutcome, Vec<String>) {
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
            },
        )
        .expect("deploy");
        let mut lines = Vec::new();
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
