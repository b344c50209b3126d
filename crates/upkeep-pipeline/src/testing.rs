//! Real podman and sshd for tests: a `containers.conf` of the test's own (the `runc` runtime,
//! `cgroupfs`, and lower `nofile`/`nproc` limits than a sandboxed machine lets a container
//! raise), small images made from the host's static busybox with `podman import`, and an
//! OpenSSH server on a loopback port with keys of the test's own ([`TestSshd`]). Enabled by the
//! `testing` feature; podman, busybox-static and openssh-server are installed by
//! `scripts/test.sh`, and a missing one panics with its name rather than letting a test skip.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::container::{ContainerLimits, ContainerRun, find_podman, podman_host_environment};
use crate::ssh::{SshClient, find_ssh, ssh_host_environment};

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

/// OpenSSH's `sshd` on a free loopback port, for the user running the test, key login only: a
/// host key and a client key of its own, and a known-hosts file that trusts exactly that host
/// key. Stopped when dropped.
pub struct TestSshd {
    dir: tempfile::TempDir,
    child: std::process::Child,
    /// The directory bind-mounted in the server's own mount namespace, and where.
    mount: Option<(PathBuf, PathBuf)>,
    pub port: u16,
    pub user: String,
}

impl Default for TestSshd {
    fn default() -> Self {
        Self::start()
    }
}

impl TestSshd {
    pub fn start() -> Self {
        Self::start_with_mount(None)
    }

    /// A server in a mount namespace of its own where `host_dir` is mounted at `at`: sessions
    /// see `host_dir` under the path `at`, as if they were on another host with its own disk.
    /// `at` must exist. Two such servers play two hosts with the same directory layout.
    pub fn start_as_host(host_dir: &Path, at: &Path) -> Self {
        Self::start_with_mount(Some((host_dir.to_path_buf(), at.to_path_buf())))
    }

    fn start_with_mount(mount: Option<(PathBuf, PathBuf)>) -> Self {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(
            sshd.is_file(),
            "the ssh tests run OpenSSH's sshd on loopback (Debian: apt-get install openssh-server; scripts/test.sh does)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let user = command_output("id", &["-un"]);
        if command_output("id", &["-u"]) == "0" {
            // sshd started as root wants its privilege separation directory, which the
            // package's service makes at boot.
            fs_err::create_dir_all("/run/sshd").expect("/run/sshd");
        }
        let host_key = dir.path().join("host_key");
        generate_key(&host_key);
        generate_key(&dir.path().join("client_key"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("address")
            .port();
        let host_public = fs_err::read_to_string(host_key.with_extension("pub")).expect("host key");
        let mut host_public = host_public.split_whitespace();
        let (kind, key) = (
            host_public.next().expect("type"),
            host_public.next().expect("key"),
        );
        fs_err::write(
            dir.path().join("known_hosts"),
            format!("[127.0.0.1]:{port} {kind} {key}\n"),
        )
        .expect("known_hosts");
        let config = dir.path().join("sshd_config");
        fs_err::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
                 PidFile {}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nUsePAM no\n\
                 StrictModes no\nMaxStartups 100\nMaxSessions 100\n",
                host_key.display(),
                dir.path().join("client_key.pub").display(),
                dir.path().join("sshd.pid").display(),
            ),
        )
        .expect("sshd_config");
        let child = spawn_sshd(&config, mount.as_ref());
        let server = Self {
            dir,
            child,
            mount,
            port,
            user,
        };
        server.wait_until_ready();
        server
    }

    /// The server's process id (to take it down from elsewhere, e.g. from a hook).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server, as a host that goes down; [`restart`](Self::restart) brings it back
    /// on the same port with the same keys.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn restart(&mut self) {
        self.stop();
        self.child = spawn_sshd(&self.dir.path().join("sshd_config"), self.mount.as_ref());
        self.wait_until_ready();
    }

    fn wait_until_ready(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "sshd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The client's private key, as the secret store would hold it.
    pub fn client_key(&self) -> String {
        fs_err::read_to_string(self.client_key_path()).expect("client key")
    }

    pub fn client_key_path(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    /// Lets `other`'s client key log in here too, so that one key reaches several servers.
    pub fn authorize(&self, other: &Self) {
        use std::io::Write as _;
        let key = fs_err::read_to_string(other.dir.path().join("client_key.pub")).expect("key");
        let mut authorized = fs_err::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("client_key.pub"))
            .expect("authorized keys");
        authorized.write_all(key.as_bytes()).expect("authorize");
    }

    /// A known-hosts file that trusts this server's host key.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// A client that logs in with the test's key and trusts only this server's host key.
    pub fn client(&self) -> SshClient {
        SshClient {
            program: find_ssh(std::env::var("PATH").ok().as_deref())
                .expect("ssh is needed (scripts/test.sh installs openssh-client)"),
            host: "127.0.0.1".to_string(),
            port: Some(self.port),
            user: Some(self.user.clone()),
            identity: Some(self.client_key_path()),
            known_hosts: Some(self.known_hosts()),
            connect_timeout: Duration::from_secs(10),
            env: ssh_host_environment(),
        }
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sshd -D -f config`, in a mount namespace of its own with `mount` bind-mounted when given
/// (`unshare` and `mount` from util-linux; the namespace lives as long as sshd).
fn spawn_sshd(config: &Path, mount: Option<&(PathBuf, PathBuf)>) -> std::process::Child {
    let sshd = "/usr/sbin/sshd";
    let mut command = match mount {
        None => Command::new(sshd),
        Some((source, target)) => {
            let mut command = Command::new("unshare");
            command
                .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
                .arg("mount --bind \"$1\" \"$2\" && exec \"$3\" \"$4\" \"$5\" \"$6\"")
                .arg("sh")
                .arg(source)
                .arg(target)
                .arg(sshd);
            command
        }
    };
    command
        .arg("-D")
        .arg("-f")
        .arg(config)
        .stderr(Stdio::null())
        .spawn()
        .expect("start sshd")
}

fn command_output(program: &str, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().expect(program);
    assert!(output.status.success(), "{program} {args:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A new ed25519 key pair without passphrase at `path` and `path.pub`.
fn generate_key(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "upkeep-test", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen is needed (scripts/test.sh installs openssh-client)");
    assert!(status.success(), "ssh-keygen failed");
}
