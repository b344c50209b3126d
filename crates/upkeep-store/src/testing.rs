//! A PostgreSQL server of a test's own (feature `test-postgres`): `initdb` and `pg_ctl` from
//! Debian's package, on a free loopback port, in a temporary directory, stopped when dropped.
//! Tests that need PostgreSQL fail, never skip, when it is missing: `scripts/test.sh` installs
//! it.

use std::path::PathBuf;
use std::process::Command;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free loopback port")
        .local_addr()
        .expect("a bound address")
        .port()
}

/// A PostgreSQL server of the test's own, on a free loopback port, stopped when dropped.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_root: bool,
}

impl Postgres {
    /// Starts a new server.
    ///
    /// # Panics
    /// When PostgreSQL is not installed or does not start: the test must fail, not skip.
    pub fn start() -> Self {
        let bin = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"]
            .into_iter()
            .map(PathBuf::from)
            .find(|dir| dir.join("pg_ctl").is_file())
            .expect(
                "PostgreSQL is needed for the store's contract tests \
                 (Debian: apt-get install postgresql; scripts/test.sh installs it)",
            );
        let dir = tempfile::tempdir().expect("a PostgreSQL tool ran");
        // initdb refuses to run as root: as root, the server runs as the `postgres` user.
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .expect("a PostgreSQL tool ran")
            .stdout
            == b"0\n";
        if as_root {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("a PostgreSQL tool ran");
            assert!(status.success());
        }
        let server = Self {
            dir,
            bin,
            port: free_port(),
            as_root,
        };
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "upkeep",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ],
        );
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
            server.port,
            server.dir.path().display()
        );
        let log = server.dir.path().join("server.log").display().to_string();
        server.run(
            "pg_ctl",
            &["-D", &data, "-o", &options, "-l", &log, "-w", "start"],
        );
        server
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) {
        let mut command = if self.as_root {
            let mut command = Command::new("runuser");
            command
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join(program));
            command
        } else {
            Command::new(self.bin.join(program))
        };
        let output = command.args(args).output().expect("a PostgreSQL tool ran");
        assert!(
            output.status.success(),
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// A new empty database on the server, as a URL.
    pub fn database(&self, name: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "upkeep", "-d", "postgres", "-c"])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .expect("a PostgreSQL tool ran");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        format!("postgres://upkeep@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        let mut command = if self.as_root {
            let mut command = Command::new("runuser");
            command
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
            command
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}
