//! Real podman for tests: a `containers.conf` of the test's own (the `runc` runtime, `cgroupfs`,
//! and lower `nofile`/`nproc` limits than a sandboxed machine lets a container raise) and small
//! images made from the host's static busybox with `podman import`. Enabled by the `testing`
//! feature; podman and busybox-static are installed by `scripts/test.sh`, and a missing one
//! panics with its name rather than letting a test skip.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::container::{ContainerLimits, ContainerRun, find_podman, podman_host_environment};

/// The static busybox the test images are made of (Debian's `busybox-static`).
pub const BUSYBOX: &str = "/bin/busybox";

/// Applets linked in every test image.
const APPLETS: [&str; 14] = [
    "sh", "echo", "cat", "sleep", "env", "ls", "mkdir", "touch", "rm", "printf", "test", "true",
    "false", "kill",
];

/// Writes a minimal root file system into `root`: busybox with a few applets as `bin/*`, and
/// empty `tmp`, `app` and `etc`.
pub fn write_busybox_tree(root: &Path) {
    fs_err::create_dir_all(root.join("bin")).expect("bin");
    fs_err::copy(BUSYBOX, root.join("bin/busybox")).expect("copy busybox");
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).expect("link");
    }
    for dir in ["tmp", "app", "etc"] {
        fs_err::create_dir_all(root.join(dir)).expect("dir");
    }
}

/// podman with a configuration of the test's own.
pub struct TestPodman {
    dir: tempfile::TempDir,
    pub podman: PathBuf,
}

impl Default for TestPodman {
    fn default() -> Self {
        Self::new()
    }
}

impl TestPodman {
    pub fn new() -> Self {
        let podman = find_podman(std::env::var("PATH").ok().as_deref())
            .expect("podman is needed (scripts/test.sh installs it)");
        assert!(
            Path::new(BUSYBOX).is_file(),
            "{BUSYBOX} is needed (scripts/test.sh installs busybox-static)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        fs_err::write(
            dir.path().join("containers.conf"),
            "[containers]\n\
             default_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\
             [engine]\n\
             runtime = \"runc\"\n\
             cgroup_manager = \"cgroupfs\"\n\
             events_logger = \"file\"\n",
        )
        .expect("write containers.conf");
        Self { dir, podman }
    }

    /// The `containers.conf` to point `CONTAINERS_CONF` at.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("containers.conf")
    }

    /// The environment podman runs with in tests.
    pub fn env(&self) -> BTreeMap<String, String> {
        let mut env = podman_host_environment();
        env.insert(
            "CONTAINERS_CONF".to_string(),
            self.config().display().to_string(),
        );
        env
    }

    /// A [`ContainerRun`] of `image` named `name` (made unique by the caller).
    pub fn container(&self, image: &str, name: &str) -> ContainerRun {
        ContainerRun {
            podman: self.podman.clone(),
            image: image.to_string(),
            name: name.to_string(),
            work_dir: None,
            network: None,
            limits: ContainerLimits::default(),
            stop_grace: Duration::from_secs(2),
            podman_env: self.env(),
        }
    }

    /// Runs podman with `args` and returns its stdout; panics with its stderr when it fails.
    pub fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> String {
        let mut child = Command::new(&self.podman)
            .args(args)
            .env_clear()
            .envs(self.env())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start podman");
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input).expect("write to podman");
        }
        let output = child.wait_with_output().expect("podman");
        assert!(
            output.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Imports an image of busybox plus `files` (path in the image -> content) with `changes`
    /// (`podman import --change`, e.g. `ENV A=b`, `WORKDIR /app`) and returns its image ID.
    pub fn import_busybox(&self, files: &[(&str, &str)], changes: &[&str]) -> String {
        let tree = tempfile::tempdir().expect("tempdir");
        let root = tree.path();
        write_busybox_tree(root);
        for (path, content) in files {
            let path = root.join(path.trim_start_matches('/'));
            fs_err::create_dir_all(path.parent().expect("parent")).expect("dir");
            fs_err::write(path, content).expect("write");
        }
        let tar = Command::new("tar")
            .args(["-C", &root.display().to_string(), "-c", "."])
            .output()
            .expect("tar is needed");
        assert!(tar.status.success(), "tar failed");
        let mut args = vec!["import", "--quiet"];
        for change in changes {
            args.extend(["--change", change]);
        }
        args.push("-");
        let id = self.run(&args, Some(&tar.stdout));
        id.trim().trim_start_matches("sha256:").to_string()
    }
}
