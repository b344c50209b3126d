//! Runs commands and buildspec sessions on a remote host with OpenSSH's `ssh` client (the
//! `ssh` deploy target).
//!
//! Every connection is made with the same options: `BatchMode` (never a prompt),
//! `StrictHostKeyChecking=yes` against the configured known-hosts file (an unknown or changed
//! host key is an error, never accepted), no update of that file, a connect timeout, and the
//! configured identity only. The user's `~/.ssh/config` still applies to the rest (a jump host,
//! say); options on the command line win over it.
//!
//! Nothing secret is ever on a command line, here or on the host: the remote command is fixed
//! text, and a session's variables travel on ssh's standard input as `export` lines in front of
//! the driver script ([`crate::buildspec_run`]), which the remote shell reads with `sh -s`. The
//! whole script is one `{ … }` group, so the shell has read all of it before the first command
//! runs, and a command that reads its standard input finds it at its end.
//!
//! A remote session keeps its status file and exported values in a directory of its own on
//! the host; they are fetched back with one `tar` when the session ends, and the directory is
//! removed. On timeout or cancel the session's process group on the host is sent SIGTERM,
//! then SIGKILL after the grace period, over a second connection (sshd makes the session's
//! shell a process group leader, and the driver records its pid).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::container::find_program;
use crate::executor::{StepCommand, Stopper, own_variables};
use crate::project_file::SshHost;

/// The Debian package of the `ssh` client, for the error when it is missing.
pub const SSH_PACKAGE: &str = "openssh-client";

/// Variables of upkeep's own environment the `ssh` client needs: where the user's keys,
/// configuration and agent are.
const SSH_HOST_VARIABLES: [&str; 6] = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "SSH_AUTH_SOCK"];

/// The remote command of a session: the login shell hands the script on standard input to
/// bash, or `sh` where there is no bash. `exec` keeps the pid of the process group leader.
const SESSION_COMMAND: &str =
    "if command -v bash >/dev/null 2>&1; then exec bash -s; else exec sh -s; fi";

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("ssh is not installed: `ssh` is not on PATH")]
    Missing,
    #[error("{host}: the host key is not trusted: {detail}")]
    HostKey { host: String, detail: String },
    #[error("{host}: ssh login refused: {detail}")]
    Login { host: String, detail: String },
    #[error("{host}: cannot connect over ssh: {detail}")]
    Connect { host: String, detail: String },
    #[error("{host}: {action} failed: {detail}")]
    Remote {
        host: String,
        action: String,
        detail: String,
    },
    #[error("cannot write the ssh identity to a private file: {0}")]
    Identity(io::Error),
}

impl upkeep_hint::Hint for SshError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Missing => Some(format!(
                "install the Debian package `{SSH_PACKAGE}` (apt-get install {SSH_PACKAGE})"
            )),
            Self::HostKey { host, .. } => Some(format!(
                "add the host's key to the target's `known-hosts` file once you have checked its fingerprint, e.g. `ssh-keyscan {} >> known_hosts`; upkeep never accepts a host key by itself",
                host.rsplit_once(':')
                    .map_or_else(|| host.clone(), |(name, port)| format!("-p {port} {name}"))
            )),
            Self::Login { .. } => Some(
                "give the target an `identity` or `identity-secret` whose public key is in the host user's ~/.ssh/authorized_keys"
                    .to_string(),
            ),
            Self::Connect { .. } => {
                Some("check that the host is up and sshd listens on that port".to_string())
            }
            Self::Remote { .. } | Self::Identity(_) => None,
        }
    }
}

/// A private key written from the secret store to a file only its owner can read, for `ssh -i`;
/// removed when dropped.
#[derive(Debug)]
pub struct SshIdentity {
    dir: tempfile::TempDir,
}

impl SshIdentity {
    pub fn from_secret(key: &str) -> Result<Self, SshError> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let dir = tempfile::Builder::new()
            .prefix("upkeep-ssh-")
            .tempdir()
            .map_err(SshError::Identity)?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dir.path().join("identity"))
            .map_err(SshError::Identity)?;
        // ssh refuses a key whose last line has no newline.
        let mut text = key.trim_end().to_string();
        text.push('\n');
        file.write_all(text.as_bytes())
            .map_err(SshError::Identity)?;
        Ok(Self { dir })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("identity")
    }
}

/// How to reach one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshClient {
    /// The `ssh` program, as [`find_ssh`] found it.
    pub program: PathBuf,
    /// A host name or address (IPv6 without brackets).
    pub host: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    /// `-i`: the only key offered. `None`: ssh's own keys and agent.
    pub identity: Option<PathBuf>,
    /// The host keys to trust. `None`: ssh's `~/.ssh/known_hosts`.
    pub known_hosts: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// What `ssh` runs with: [`ssh_host_environment`].
    pub env: BTreeMap<String, String>,
}

/// The `ssh` program on `path` (the host's `PATH`).
pub fn find_ssh(path: Option<&str>) -> Result<PathBuf, SshError> {
    find_program("ssh", path).ok_or(SshError::Missing)
}

/// The environment the `ssh` client needs from upkeep's own.
pub fn ssh_host_environment() -> BTreeMap<String, String> {
    own_variables(&SSH_HOST_VARIABLES)
}

impl SshClient {
    /// `host` or `host:port`, for messages.
    pub fn name(&self) -> String {
        SshHost {
            host: self.host.clone(),
            port: self.port,
        }
        .to_string()
    }

    /// The arguments of `ssh` that run `remote_command` on the host.
    pub fn args(&self, remote_command: &str) -> Vec<String> {
        let mut args: Vec<String> = [
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "UpdateHostKeys=no",
            "-o",
            "LogLevel=ERROR",
            "-T",
        ]
        .map(str::to_string)
        .to_vec();
        args.push("-o".to_string());
        args.push(format!(
            "ConnectTimeout={}",
            self.connect_timeout.as_secs().max(1)
        ));
        if let Some(known_hosts) = &self.known_hosts {
            args.push("-o".to_string());
            args.push(format!("UserKnownHostsFile={}", known_hosts.display()));
        }
        if let Some(identity) = &self.identity {
            args.extend(["-o".to_string(), "IdentitiesOnly=yes".to_string()]);
            args.push("-i".to_string());
            args.push(identity.display().to_string());
        }
        if let Some(port) = self.port {
            args.push("-p".to_string());
            args.push(port.to_string());
        }
        if let Some(user) = &self.user {
            args.push("-l".to_string());
            args.push(user.clone());
        }
        // `--` ends ssh's options: a host is never read as one.
        args.push("--".to_string());
        args.push(self.host.clone());
        args.push(remote_command.to_string());
        args
    }

    /// Runs `remote_command` to its end with `input` written to its standard input, and
    /// returns its standard output. `action` names it in errors.
    pub fn run(
        &self,
        action: &str,
        remote_command: &str,
        input: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<Vec<u8>, SshError> {
        let remote = |detail: String| SshError::Remote {
            host: self.name(),
            action: action.to_string(),
            detail,
        };
        let mut child = Command::new(&self.program)
            .args(self.args(remote_command))
            .env_clear()
            .envs(&self.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| remote(format!("cannot start {}: {error}", self.program.display())))?;
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            stdout.read_to_end(&mut bytes).map(|_| bytes)
        });
        let error_reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stderr.read_to_end(&mut bytes);
            bytes
        });
        let written = {
            let mut stdin = child.stdin.take().expect("piped stdin");
            input(&mut stdin).and_then(|()| stdin.flush())
        };
        let status = child
            .wait()
            .map_err(|error| remote(format!("waiting for ssh: {error}")))?;
        let output = reader
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the reader thread panicked")));
        let stderr = String::from_utf8_lossy(&error_reader.join().unwrap_or_default()).into_owned();
        // What this side could not produce (a file it could not read) explains a remote failure
        // better than the remote's complaint about the cut-off input; a broken pipe is the
        // remote side going away, which its own exit status explains.
        match written {
            Err(error) if error.kind() != io::ErrorKind::BrokenPipe => {
                return Err(remote(format!("cannot send the data: {error}")));
            }
            _ if !status.success() => {
                return Err(self.classify(action, status.code(), &stderr));
            }
            Err(error) => return Err(remote(format!("cannot send the data: {error}"))),
            Ok(()) => {}
        }
        output.map_err(|error| remote(format!("reading the answer: {error}")))
    }

    /// Runs a command that needs no input.
    pub fn run_simple(&self, action: &str, remote_command: &str) -> Result<Vec<u8>, SshError> {
        self.run(action, remote_command, |_| Ok(()))
    }

    /// Tells a failed connection (ssh's own exit status 255) from a failed remote command.
    fn classify(&self, action: &str, code: Option<i32>, stderr: &str) -> SshError {
        let detail = summary(stderr);
        let host = self.name();
        if code != Some(255) {
            let status = code.map_or_else(
                || "killed by a signal".to_string(),
                |code| format!("exit status {code}"),
            );
            return SshError::Remote {
                host,
                action: action.to_string(),
                detail: format!("{detail} ({status})"),
            };
        }
        if stderr.contains("Host key verification failed")
            || stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            || stderr.contains("No ED25519 host key is known")
            || stderr.contains("host key is known for")
        {
            SshError::HostKey { host, detail }
        } else if stderr.contains("Permission denied") {
            SshError::Login { host, detail }
        } else {
            SshError::Connect { host, detail }
        }
    }
}

/// The first lines of an error output, which name the cause (`tar: …: Wrote only 1536 of 10240
/// bytes; tar: …: Cannot write: No space left on device`; the last tends to be "Exiting with
/// failure status"), and how many lines follow.
fn summary(stderr: &str) -> String {
    const SHOWN: usize = 3;
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    if lines.is_empty() {
        return "no message".to_string();
    }
    let shown = lines[..lines.len().min(SHOWN)].join("; ");
    match lines.len().saturating_sub(SHOWN) {
        0 => shown,
        1 => format!("{shown} (and 1 more line)"),
        more => format!("{shown} (and {more} more lines)"),
    }
}

/// Single-quotes a string for a POSIX shell.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Whether `name` can be a shell variable: only those reach a remote session.
fn is_shell_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// How to run one buildspec session on a remote host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSession {
    pub ssh: SshClient,
    /// Where the session starts on the host (the release's project directory).
    pub work_dir: String,
    /// A directory of upkeep's own on the host for the session's status and exported values;
    /// created by the session, removed by [`fetch`](Self::fetch).
    pub session_dir: String,
    /// Between SIGTERM and SIGKILL when the session is stopped.
    pub stop_grace: Duration,
}

/// What the executor starts for one remote session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteStep {
    pub command: StepCommand,
    /// The `ssh` client's environment; none of the session's variables.
    pub env: BTreeMap<String, String>,
    /// The session's variables and the driver script, for ssh's standard input.
    pub stdin: String,
    pub stopper: Stopper,
}

impl RemoteSession {
    /// The status file's and exported values' directory, as the driver script must name them.
    pub fn session_dir(&self) -> &str {
        &self.session_dir
    }

    /// The session as one `ssh` process: `driver` (a script naming files under
    /// [`session_dir`](Self::session_dir)) with `variables` set, sent on standard input.
    /// Variables whose names cannot be shell variables are left out, and named in the
    /// returned list.
    pub fn step(
        &self,
        driver: &str,
        variables: &BTreeMap<String, String>,
    ) -> (RemoteStep, Vec<String>) {
        let dir = shell_quote(&self.session_dir);
        let mut script = format!(
            "__upkeep_umask=$(umask)\n\
             umask 077\n\
             mkdir -p {dir}/exported || exit 125\n\
             : > {dir}/buildspec-status || exit 125\n\
             echo $$ > {dir}/pid\n\
             umask \"$__upkeep_umask\"\n\
             unset __upkeep_umask\n"
        );
        let mut left_out = Vec::new();
        for (name, value) in variables {
            if is_shell_name(name) {
                let _ = writeln!(script, "export {name}={}", shell_quote(value));
            } else {
                left_out.push(name.clone());
            }
        }
        let _ = write!(
            script,
            "cd {} || exit 125\n{{\n{driver}\n}}\n",
            shell_quote(&self.work_dir)
        );
        let grace = self.stop_grace.as_secs().max(1);
        let stop_command = format!(
            "p=$(cat {dir}/pid 2>/dev/null) || exit 0; \
             kill -TERM -- -\"$p\" 2>/dev/null || exit 0; i=0; \
             while [ \"$i\" -lt {grace} ] && kill -0 -- -\"$p\" 2>/dev/null; do sleep 1; i=$((i+1)); done; \
             kill -KILL -- -\"$p\" 2>/dev/null; exit 0"
        );
        let program = self.ssh.program.display().to_string();
        let step = RemoteStep {
            command: StepCommand::Exec {
                program: program.clone(),
                args: self.ssh.args(SESSION_COMMAND),
            },
            env: self.ssh.env.clone(),
            stdin: script,
            stopper: Stopper {
                program,
                args: self.ssh.args(&stop_command),
                grace: self.stop_grace + self.ssh.connect_timeout,
            },
        };
        (step, left_out)
    }

    /// Fetches the session's status file and exported values into `state_dir` (as
    /// `buildspec-status` and `exported/`), and removes the session's directory on the host.
    pub fn fetch(&self, state_dir: &Path) -> Result<(), SshError> {
        let dir = shell_quote(&self.session_dir);
        let command = format!(
            "cd {dir} 2>/dev/null || exit 0; tar -cf - buildspec-status exported; s=$?; cd / && rm -rf {dir}; exit $s"
        );
        let archive = self
            .ssh
            .run_simple("fetching the session's status", &command)?;
        let unpack = || -> io::Result<()> {
            if archive.is_empty() {
                return Ok(());
            }
            let mut archive = tar::Archive::new(archive.as_slice());
            for entry in archive.entries()? {
                let mut entry = entry?;
                let path = entry.path()?.into_owned();
                // Only the two names the command archived, nothing outside the state directory.
                let safe = path
                    .components()
                    .all(|part| matches!(part, std::path::Component::Normal(_)))
                    && (path.starts_with("exported") || path == Path::new("buildspec-status"));
                if safe && entry.header().entry_type().is_file() {
                    let target = state_dir.join(&path);
                    if let Some(parent) = target.parent() {
                        fs_err::create_dir_all(parent)?;
                    }
                    let mut bytes = Vec::new();
                    entry.read_to_end(&mut bytes)?;
                    fs_err::write(target, bytes)?;
                }
            }
            Ok(())
        };
        unpack().map_err(|error| SshError::Remote {
            host: self.ssh.name(),
            action: "fetching the session's status".to_string(),
            detail: error.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> SshClient {
        SshClient {
            program: PathBuf::from("/usr/bin/ssh"),
            host: "web1.example.com".to_string(),
            port: Some(2222),
            user: Some("deploy".to_string()),
            identity: Some(PathBuf::from("/tmp/key")),
            known_hosts: Some(PathBuf::from("/srv/known_hosts")),
            connect_timeout: Duration::from_secs(7),
            env: BTreeMap::from([("HOME".to_string(), "/root".to_string())]),
        }
    }

    #[test]
    fn host_keys_are_checked_strictly_and_the_host_is_never_an_option() {
        let args = client().args("true");
        let text = args.join(" ");
        for expected in [
            "-o BatchMode=yes",
            "-o StrictHostKeyChecking=yes",
            "-o UpdateHostKeys=no",
            "-o UserKnownHostsFile=/srv/known_hosts",
            "-o IdentitiesOnly=yes -i /tmp/key",
            "-p 2222",
            "-l deploy",
            "-o ConnectTimeout=7",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert_eq!(args[args.len() - 3..], ["--", "web1.example.com", "true"]);
    }

    #[test]
    fn session_values_travel_on_stdin_and_never_on_the_command_line() {
        let session = RemoteSession {
            ssh: client(),
            work_dir: "/srv/shop/releases/1/app".to_string(),
            session_dir: "/srv/shop/.sessions/x".to_string(),
            stop_grace: Duration::from_secs(3),
        };
        let variables = BTreeMap::from([
            ("DB_PASSWORD".to_string(), "it's hunter2".to_string()),
            ("not.a.name".to_string(), "x".to_string()),
        ]);
        let (step, left_out) = session.step("echo hi", &variables);
        let StepCommand::Exec { args, .. } = &step.command else {
            panic!("exec expected");
        };
        assert!(args.iter().all(|arg| !arg.contains("hunter2")), "{args:?}");
        assert!(step.stopper.args.iter().all(|arg| !arg.contains("hunter2")));
        assert!(!step.env.contains_key("DB_PASSWORD"));
        assert!(
            step.stdin
                .contains("export DB_PASSWORD='it'\\''s hunter2'\n"),
            "{}",
            step.stdin
        );
        assert!(
            step.stdin
                .ends_with("cd '/srv/shop/releases/1/app' || exit 125\n{\necho hi\n}\n")
        );
        assert_eq!(left_out, ["not.a.name"]);
        assert_eq!(step.stopper.grace, Duration::from_secs(10));
    }

    #[test]
    fn a_missing_ssh_names_the_package() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = find_ssh(Some(&dir.path().display().to_string())).expect_err("missing");
        assert!(
            upkeep_hint::Hint::hint(&error)
                .expect("hint")
                .contains("apt-get install openssh-client")
        );
    }

    #[test]
    fn the_identity_file_is_private_and_ends_with_a_newline() {
        use std::os::unix::fs::PermissionsExt as _;
        let identity = SshIdentity::from_secret("-----BEGIN KEY-----\nabc\n-----END KEY-----")
            .expect("identity");
        let path = identity.path();
        let mode = fs_err::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(
            fs_err::read_to_string(&path)
                .expect("read")
                .ends_with("-----\n")
        );
        drop(identity);
        assert!(!path.exists());
    }
}
