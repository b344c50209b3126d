//! A real OCI registry for tests: Debian's `docker-registry` on a loopback port with TLS from a
//! CA made with `openssl` and htpasswd basic auth (or any `auth:` section). Enabled by the
//! `testing` feature; the tools are installed by `scripts/test.sh`, and a missing one panics
//! with its name rather than letting a test skip.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::registry::{Credentials, ImageReference, RegistryOptions};

/// The user name the registry of [`TestRegistry::start`] accepts.
pub const USER: &str = "ci";
/// Its password.
pub const PASSWORD: &str = "correct-horse-battery";

/// Runs a tool in `dir` and returns its standard output; panics naming the tool when it is
/// missing or fails.
pub fn run(program: &str, args: &[&str], dir: &Path) -> Vec<u8> {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|error| {
            panic!("{program} is needed (scripts/test.sh installs it): {error}")
        });
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A tmpfs of a given size mounted for the life of the value, for full-disk tests (they run as
/// root, as CI does).
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (`mount -o size=…`, e.g. `1m`).
    pub fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().display().to_string();
        run(
            "mount",
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", &path],
            Path::new("."),
        );
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// A `docker-registry` on 127.0.0.1 with TLS, stopped when dropped.
pub struct TestRegistry {
    dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl TestRegistry {
    /// With htpasswd basic auth.
    pub fn start() -> Self {
        Self::start_with(|path| {
            let htpasswd = run("htpasswd", &["-Bbn", USER, PASSWORD], path);
            std::fs::write(path.join("htpasswd"), htpasswd).unwrap();
            format!(
                "auth:\n  htpasswd:\n    realm: upkeep-test\n    path: {}/htpasswd\n",
                path.display()
            )
        })
    }

    /// With the `auth:` section `auth` writes (given the registry's directory).
    pub fn start_with(auth: impl FnOnce(&Path) -> String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        // A CA and a server certificate for 127.0.0.1 signed by it.
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=upkeep test CA",
        ]);
        run("openssl", &ca, path);
        let mut request = vec!["req"];
        request.extend(ec);
        request.extend([
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        run("openssl", &request, path);
        std::fs::write(
            path.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        run(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.crt",
                "-days",
                "2",
                "-extfile",
                "server.ext",
            ],
            path,
        );
        let auth = auth(path);
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root}/data\nhttp:\n  addr: 127.0.0.1:{port}\n  tls:\n    certificate: {root}/server.crt\n    key: {root}/server.key\n{auth}",
            root = path.display()
        );
        std::fs::write(path.join("config.yml"), config).unwrap();
        let mut registry = Self {
            port,
            child: None,
            dir,
        };
        registry.spawn();
        registry
    }

    /// Starts the registry process (again, after [`TestRegistry::stop`]), and waits until it
    /// listens.
    pub fn spawn(&mut self) {
        let child = Command::new("docker-registry")
            .args(["serve", "config.yml"])
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("docker-registry is needed (scripts/test.sh installs it): {error}")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the registry process; its data stays for [`TestRegistry::spawn`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The CA certificate (PEM) the registry's certificate is signed by.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// `127.0.0.1:<port>/<repository>:<tag>`.
    pub fn reference(&self, repository: &str, tag: &str) -> ImageReference {
        format!("127.0.0.1:{}/{repository}:{tag}", self.port)
            .parse()
            .unwrap()
    }

    /// Options with [`USER`] and `password`, trusting the test CA.
    pub fn options(&self, password: &str) -> RegistryOptions {
        RegistryOptions {
            credentials: Some(Credentials {
                username: USER.to_string(),
                password: password.to_string(),
            }),
            ca_certificate: Some(self.ca()),
            ..RegistryOptions::default()
        }
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}
