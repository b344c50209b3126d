//! A buildspec session inside a real podman container (`executor: container`): the same
//! session rules as on the host, the image's files and environment, variables passed as
//! environment, and a container that is stopped on timeout or cancel and never left behind.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use upkeep_pipeline::buildspec::Buildspec;
use upkeep_pipeline::buildspec_run::{BuildspecOutcome, BuildspecRun, SessionPlace, run_buildspec};
use upkeep_pipeline::container::{ContainerLimits, ContainerRun};
use upkeep_pipeline::executor::{CancelToken, StepStatus};
use upkeep_pipeline::log_store::{LogLine, Stream};
use upkeep_pipeline::mask::Masker;
use upkeep_pipeline::testing::TestPodman;

/// A container name no other test (or earlier run) uses.
fn unique_name(test: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "upkeep-test-{test}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

struct Session {
    podman: TestPodman,
    dir: tempfile::TempDir,
    secrets: BTreeMap<String, String>,
}

impl Session {
    fn new() -> Self {
        Self {
            podman: TestPodman::new(),
            dir: tempfile::tempdir().expect("tempdir"),
            secrets: BTreeMap::from([("db-password".to_string(), "s3cr3t-pw".to_string())]),
        }
    }

    fn run(
        &self,
        yaml: &str,
        container: &ContainerRun,
        env: &[(&str, &str)],
        timeout: Option<Duration>,
        cancel: &CancelToken,
    ) -> (BuildspecOutcome, Vec<LogLine>) {
        let buildspec = Buildspec::parse(yaml, Path::new("buildspec.yml")).expect("buildspec");
        let work_dir = self.dir.path().join("work");
        fs_err::create_dir_all(&work_dir).expect("work dir");
        let run = BuildspecRun {
            name: "install".to_string(),
            buildspec: &buildspec,
            work_dir,
            state_dir: self.dir.path().join("state"),
            env: env
                .iter()
                .map(|(name, value)| ((*name).to_string(), (*value).to_string()))
                .collect(),
            secrets: &self.secrets,
            timeout,
            artifacts_dir: None,
            place: SessionPlace::Container(container),
        };
        let mut lines = Vec::new();
        let masker = Masker::new(["s3cr3t-pw"]);
        let outcome = run_buildspec(&run, &masker, &mut lines, cancel).expect("session");
        (outcome, lines)
    }

    fn exists(&self, name: &str) -> bool {
        let status = std::process::Command::new(&self.podman.podman)
            .args(["container", "exists", name])
            .env_clear()
            .envs(self.podman.env())
            .status()
            .expect("podman");
        status.success()
    }
}

fn stdout(lines: &[LogLine]) -> Vec<&str> {
    lines
        .iter()
        .filter(|line| line.stream == Stream::Stdout && !line.text.starts_with("[upkeep]"))
        .map(|line| line.text.as_str())
        .collect()
}

#[test]
fn a_session_runs_in_the_image_with_its_files_environment_and_the_stage_variables() {
    let session = Session::new();
    let image = session.podman.import_busybox(
        &[("/app/marker", "image-one\n")],
        &["WORKDIR /app", "ENV FROM_IMAGE=yes"],
    );
    let name = unique_name("session");
    let container = session.podman.container(&image, &name);
    let yaml = "version: 0.2\n\
env:\n  secrets:\n    DB_PASSWORD: db-password\n  exported-variables: [BUILT]\n\
phases:\n  install:\n    commands:\n      - cat marker\n      - echo \"pwd=$(pwd) image=$FROM_IMAGE project=$SPRYKER_PROJECT_NAME home=$HOME\"\n      - cd /tmp && export BUILT=from-container\n  build:\n    commands:\n      - echo \"dir=$(pwd) built=$BUILT password=$DB_PASSWORD\"\n";
    let (outcome, lines) = session.run(
        yaml,
        &container,
        &[("SPRYKER_PROJECT_NAME", "shop"), ("HOME", "/app")],
        Some(Duration::from_mins(1)),
        &CancelToken::new(),
    );
    assert_eq!(outcome.status, StepStatus::Succeeded, "{lines:#?}");
    assert_eq!(
        stdout(&lines),
        [
            "image-one",
            "pwd=/app image=yes project=shop home=/app",
            "dir=/tmp built=from-container password=***",
        ]
    );
    assert_eq!(outcome.exported["BUILT"], "from-container");
    assert!(!session.exists(&name), "the container was left behind");
}

#[test]
fn a_failing_command_fails_the_session_as_on_the_host() {
    let session = Session::new();
    let image = session.podman.import_busybox(&[], &[]);
    let container = session.podman.container(&image, &unique_name("fail"));
    let yaml = "version: 0.2\nphases:\n  install:\n    commands:\n      - echo one\n      - false\n      - echo never\n";
    let (outcome, lines) = session.run(yaml, &container, &[], None, &CancelToken::new());
    assert_eq!(outcome.status, StepStatus::Failed);
    assert_eq!(stdout(&lines), ["one"]);
}

#[test]
fn a_container_that_ignores_sigterm_is_killed_after_the_grace_period_and_removed() {
    let session = Session::new();
    let image = session.podman.import_busybox(&[], &[]);
    let name = unique_name("timeout");
    let container = ContainerRun {
        stop_grace: Duration::from_secs(1),
        ..session.podman.container(&image, &name)
    };
    let yaml = "version: 0.2\nphases:\n  install:\n    commands:\n      - trap '' TERM; echo started; while true; do sleep 1; done\n";
    let (outcome, lines) = session.run(
        yaml,
        &container,
        &[],
        Some(Duration::from_secs(2)),
        &CancelToken::new(),
    );
    assert_eq!(outcome.status, StepStatus::TimedOut, "{lines:#?}");
    assert_eq!(stdout(&lines), ["started"]);
    assert!(!session.exists(&name), "the container was left behind");
}

#[test]
fn a_cancelled_session_stops_its_container() {
    let session = Session::new();
    let image = session.podman.import_busybox(&[], &[]);
    let name = unique_name("cancel");
    let container = session.podman.container(&image, &name);
    let cancel = CancelToken::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(2));
            cancel.cancel();
        })
    };
    let yaml =
        "version: 0.2\nphases:\n  install:\n    commands:\n      - echo started; sleep 600\n";
    let (outcome, lines) = session.run(yaml, &container, &[], None, &cancel);
    canceller.join().expect("canceller");
    assert_eq!(outcome.status, StepStatus::Cancelled, "{lines:#?}");
    assert!(!session.exists(&name), "the container was left behind");
}

#[test]
fn resource_limits_reach_the_container() {
    let session = Session::new();
    let image = session.podman.import_busybox(&[], &[]);
    let container = ContainerRun {
        limits: ContainerLimits {
            memory: Some("64m".to_string()),
            cpus: None,
            pids: Some(100),
        },
        ..session.podman.container(&image, &unique_name("limits"))
    };
    // cgroup v1 or v2, whichever the host has.
    let yaml = "version: 0.2\nphases:\n  install:\n    commands:\n      - cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes\n";
    let (outcome, lines) = session.run(yaml, &container, &[], None, &CancelToken::new());
    assert_eq!(outcome.status, StepStatus::Succeeded, "{lines:#?}");
    assert_eq!(stdout(&lines), ["67108864"]);
}
