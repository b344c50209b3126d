//! Credentials for git that are never written where they could stay: not in a process argument
//! list, not in a remote URL in `.git/config`, not in a credential store, not in a log.
//!
//! For https, git asks a credential helper for the user name and password; ours is a shell
//! function in git's configuration (given through the environment, `GIT_CONFIG_*`) that prints
//! two environment variables, so the secret travels only in the environment of the git process.
//! No program file is written for it: a script written and then run at once can fail with "text
//! file busy" when another thread forks in between. For ssh, the private key is written with mode 0600 into a
//! private directory (0700) that is removed when the [`GitAuth`] is dropped, and git gets it
//! through `GIT_SSH_COMMAND`. Every credential helper of the user's or system's configuration
//! is switched off, so none can store what git was given.
//!
//! ```no_run
//! use std::path::Path;
//! use upkeep_forge::git::Git;
//! use upkeep_forge::git_auth::{GitAuth, GitCredentials};
//!
//! let credentials = GitCredentials::Basic {
//!     username: "x-access-token".into(),
//!     password: "ghp_…".into(),
//! };
//! let auth = GitAuth::prepare(&credentials, Path::new("/var/lib/upkeep/tmp"), Path::new("/var/lib/upkeep/known_hosts"))?;
//! let git = Git::clone_from_with("https://github.com/acme/shop.git", Path::new("/srv/shop"), auth.env())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ffi::OsString;
use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What git authenticates with.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum GitCredentials {
    /// Public repositories, `file://`, or ssh with the machine's own keys.
    #[default]
    None,
    /// https: a user name and a password or token (GitHub takes `x-access-token` and the token,
    /// GitLab `oauth2` and the token).
    Basic { username: String, password: String },
    /// ssh: a private key (OpenSSH or PEM text) without a passphrase.
    SshKey { private_key: String },
}

impl fmt::Debug for GitCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "GitCredentials::None",
            Self::Basic { .. } => "GitCredentials::Basic(<redacted>)",
            Self::SshKey { .. } => "GitCredentials::SshKey(<redacted>)",
        })
    }
}

/// Environment variables for every git command of an operation. `Debug` shows their names
/// only: some values are secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct GitEnv(Vec<(OsString, OsString)>);

impl GitEnv {
    pub fn iter(&self) -> impl Iterator<Item = &(OsString, OsString)> {
        self.0.iter()
    }

    fn set(&mut self, key: &str, value: impl Into<OsString>) {
        self.0.push((OsString::from(key), value.into()));
    }
}

impl fmt::Debug for GitEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(key, _)| key))
            .finish()
    }
}

/// The variables the credential helper reads.
const USERNAME_VARIABLE: &str = "UPKEEP_GIT_USERNAME";
const PASSWORD_VARIABLE: &str = "UPKEEP_GIT_PASSWORD";

/// The credential helper: git runs it through the shell with the action (`get`, `store`,
/// `erase`) as argument, and only `get` answers.
const CREDENTIAL_HELPER: &str = "!f() { test \"$1\" = get || exit 0; \
printf 'username=%s\\n' \"$UPKEEP_GIT_USERNAME\"; \
printf 'password=%s\\n' \"$UPKEEP_GIT_PASSWORD\"; }; f";

/// What the names of private directories start with, so that leftovers of a killed process
/// can be found ([`GitAuth::remove_leftovers`]).
const PRIVATE_DIR_PREFIX: &str = "git-auth-";

/// The credentials of one git operation, ready to use: the environment, and the private
/// directory (an ssh key) that is removed on drop.
pub struct GitAuth {
    env: GitEnv,
    private_dir: Option<PathBuf>,
}

impl fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitAuth")
            .field("env", &self.env)
            .field("private_dir", &self.private_dir)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot prepare the git credentials in {}: {source}", dir.display())]
pub struct GitAuthError {
    pub dir: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl upkeep_hint::Hint for GitAuthError {
    fn hint(&self) -> Option<String> {
        Some("check that the data directory is writable by the server".to_string())
    }
}

impl GitAuth {
    /// Prepares `credentials` for git. `scratch` is a directory only this process's user can
    /// read, where the private directory goes; `known_hosts` keeps the ssh host keys seen (the
    /// first connection to a host trusts its key, later ones check it).
    pub fn prepare(
        credentials: &GitCredentials,
        scratch: &Path,
        known_hosts: &Path,
    ) -> Result<Self, GitAuthError> {
        let mut env = GitEnv::default();
        // An empty `credential.helper` resets the list: no helper of the user's or system's
        // configuration supplies or stores anything.
        env.set("GIT_CONFIG_COUNT", "1");
        env.set("GIT_CONFIG_KEY_0", "credential.helper");
        env.set("GIT_CONFIG_VALUE_0", "");
        let mut auth = Self {
            env,
            private_dir: None,
        };
        match credentials {
            GitCredentials::None => {}
            GitCredentials::Basic { username, password } => {
                // After the reset above, ours is the only helper.
                auth.env.set("GIT_CONFIG_COUNT", "2");
                auth.env.set("GIT_CONFIG_KEY_1", "credential.helper");
                auth.env.set("GIT_CONFIG_VALUE_1", CREDENTIAL_HELPER);
                // Wrong credentials are an error, never a prompt on a terminal.
                auth.env.set("GIT_TERMINAL_PROMPT", "0");
                auth.env.set(USERNAME_VARIABLE, username);
                auth.env.set(PASSWORD_VARIABLE, password);
            }
            GitCredentials::SshKey { private_key } => {
                let dir = auth.private_dir(scratch)?;
                let key = dir.join("key");
                let mut text = private_key.trim().to_string();
                // ssh refuses a key whose last line has no newline.
                text.push('\n');
                write_private(&key, &text, 0o600)?;
                let command = format!(
                    "ssh -i {} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={}",
                    shell_quote(&key),
                    shell_quote(known_hosts)
                );
                auth.env.set("GIT_SSH_COMMAND", command);
                auth.env.set("GIT_SSH_VARIANT", "ssh");
            }
        }
        Ok(auth)
    }

    /// The environment for the git commands of the operation.
    pub fn env(&self) -> &GitEnv {
        &self.env
    }

    /// Removes private directories a killed process left in `scratch`.
    pub fn remove_leftovers(scratch: &Path) {
        let Ok(entries) = fs_err::read_dir(scratch) else {
            return;
        };
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(PRIVATE_DIR_PREFIX)
            {
                let _ = fs_err::remove_dir_all(entry.path());
            }
        }
    }

    fn private_dir(&mut self, scratch: &Path) -> Result<PathBuf, GitAuthError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let failed = |source| GitAuthError {
            dir: scratch.to_path_buf(),
            source,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(scratch)
            .map_err(failed)?;
        loop {
            let name = format!(
                "{PRIVATE_DIR_PREFIX}{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            let dir = scratch.join(name);
            // Not recursive: an existing directory (someone else's) is an error, never reused.
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    self.private_dir = Some(dir.clone());
                    return Ok(dir);
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(failed(error)),
            }
        }
    }
}

impl Drop for GitAuth {
    fn drop(&mut self) {
        if let Some(dir) = self.private_dir.take() {
            let _ = fs_err::remove_dir_all(dir);
        }
    }
}

/// Creates `path` (it must not exist) with `mode` from the start, so that it is never readable
/// by others, even for a moment.
fn write_private(path: &Path, text: &str, mode: u32) -> Result<(), GitAuthError> {
    let failed = |source| GitAuthError {
        dir: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)
}

/// `path` as one word of a POSIX shell command (`GIT_SSH_COMMAND` is run by the shell).
fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn value<'a>(auth: &'a GitAuth, key: &str) -> Option<&'a OsString> {
        auth.env()
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    #[test]
    fn basic_credentials_go_through_the_environment_and_a_helper_without_them() {
        let scratch = tempfile::tempdir().unwrap();
        let credentials = GitCredentials::Basic {
            username: "x-access-token".into(),
            password: "s3cr3t-token".into(),
        };
        let auth = GitAuth::prepare(
            &credentials,
            scratch.path(),
            &scratch.path().join("known_hosts"),
        )
        .unwrap();
        let helper = value(&auth, "GIT_CONFIG_VALUE_1")
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(!helper.contains("s3cr3t"), "{helper}");
        // Nothing is written for https credentials.
        assert_eq!(fs_err::read_dir(scratch.path()).unwrap().count(), 0);
        // Git itself gets them from the helper, and from nothing else.
        let mut fill = std::process::Command::new("git")
            .args(["credential", "fill"])
            .env_remove("GIT_ASKPASS")
            .envs(auth.env().iter().map(|(key, value)| (key, value)))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write as _;
            let mut stdin = fill.stdin.take().unwrap();
            stdin
                .write_all(b"protocol=https\nhost=example.test\n\n")
                .unwrap();
        }
        let output = fill.wait_with_output().unwrap();
        let answer = String::from_utf8_lossy(&output.stdout);
        assert!(
            answer.contains("username=x-access-token\n")
                && answer.contains("password=s3cr3t-token\n"),
            "{answer}"
        );
        assert_eq!(
            value(&auth, "GIT_CONFIG_KEY_0").unwrap(),
            "credential.helper"
        );
        let debug = format!("{auth:?} {credentials:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }

    #[test]
    fn an_ssh_key_is_private_while_in_use_and_gone_afterwards() {
        let scratch = tempfile::tempdir().unwrap();
        let credentials = GitCredentials::SshKey {
            private_key:
                "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----"
                    .into(),
        };
        let known_hosts = scratch.path().join("it's known_hosts");
        let auth =
            GitAuth::prepare(&credentials, &scratch.path().join("tmp"), &known_hosts).unwrap();
        let command = value(&auth, "GIT_SSH_COMMAND")
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(!command.contains("AAAA"), "{command}");
        assert!(command.contains("'\\''s known_hosts'"), "{command}");
        let key = auth.private_dir.clone().unwrap().join("key");
        assert_eq!(
            fs_err::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(fs_err::read_to_string(&key).unwrap().ends_with("-----\n"));
        // A second operation at the same time gets a directory of its own.
        let other =
            GitAuth::prepare(&credentials, &scratch.path().join("tmp"), &known_hosts).unwrap();
        assert_ne!(other.private_dir, auth.private_dir);
        drop(auth);
        assert!(!key.exists());
        // What a killed process left is removed at the next start.
        std::mem::forget(other);
        GitAuth::remove_leftovers(&scratch.path().join("tmp"));
        assert_eq!(
            fs_err::read_dir(scratch.path().join("tmp"))
                .unwrap()
                .count(),
            0
        );
    }

    /// A bare repository with one commit on `main`, under `root`.
    fn bare_repository(root: &Path) -> String {
        let git = |dir: &Path, args: &[&str]| {
            let output = std::process::Command::new("git")
                .current_dir(dir)
                .args(["-c", "user.email=t@example.test", "-c", "user.name=T"])
                .args(args)
                .output()
                .unwrap();
            assert!(output.status.success(), "git {args:?}");
            String::from_utf8_lossy(&output.stdout).trim().to_string()
        };
        let work = root.join("work");
        fs_err::create_dir_all(&work).unwrap();
        git(&work, &["init", "-q", "-b", "main"]);
        fs_err::write(work.join("README"), "shop\n").unwrap();
        git(&work, &["add", "README"]);
        git(&work, &["commit", "-q", "-m", "first"]);
        git(root, &["clone", "-q", "--bare", "work", "repos/shop.git"]);
        git(&work, &["rev-parse", "HEAD"])
    }

    #[test]
    fn https_with_basic_auth_clones_and_lists_heads_and_a_wrong_password_is_a_clear_error() {
        use crate::git::{Git, GitError};
        use crate::testing::GitHttpServer;

        let root = tempfile::tempdir().unwrap();
        let commit = bare_repository(root.path());
        let server = GitHttpServer::start(&root.path().join("repos"), "deploy", "pa55-word");
        let url = server.url("shop.git");
        let scratch = root.path().join("scratch");
        let known_hosts = root.path().join("known_hosts");
        let right = GitCredentials::Basic {
            username: "deploy".into(),
            password: "pa55-word".into(),
        };
        let auth = GitAuth::prepare(&right, &scratch, &known_hosts).unwrap();
        assert_eq!(
            Git::remote_heads(&url, root.path(), auth.env()).unwrap(),
            [("main".to_string(), commit.clone())]
        );
        let clone = root.path().join("clone");
        let git = Git::clone_from_with(&url, &clone, auth.env()).unwrap();
        git.mirror_branches("origin").unwrap();
        assert_eq!(git.rev_parse("main").unwrap(), commit);
        drop(auth);
        let config = fs_err::read_to_string(clone.join(".git/config")).unwrap();
        assert!(
            config.contains(&url) && !config.contains("pa55"),
            "{config}"
        );

        let wrong = GitCredentials::Basic {
            username: "deploy".into(),
            password: "wrong-word".into(),
        };
        let auth = GitAuth::prepare(&wrong, &scratch, &known_hosts).unwrap();
        let error = Git::remote_heads(&url, root.path(), auth.env()).unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, GitError::Failed { .. }), "{error:?}");
        assert!(text.contains("Authentication failed"), "{text}");
        assert!(!text.contains("wrong-word"), "{text}");
        // Without credentials git does not prompt: it fails at once.
        let none = GitAuth::prepare(&GitCredentials::None, &scratch, &known_hosts).unwrap();
        assert!(Git::remote_heads(&url, root.path(), none.env()).is_err());
        assert!(server.refused().len() >= 2, "{:?}", server.refused());
    }
}
