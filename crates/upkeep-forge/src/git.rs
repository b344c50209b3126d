//! The git operations of the upgrader, through the real `git` program: the same commands a
//! person would type, so hooks aside the repository ends up exactly as after a manual upgrade,
//! and credentials, ssh keys and configuration work as they do for that person.
//!
//! Every command runs without a terminal prompt (a missing credential fails instead of hanging
//! a scheduled job) and in the C locale; a failure carries the command line and git's own
//! message, with any `user:password@` of a URL blanked out.
//!
//! ```no_run
//! use upkeep_forge::git::Git;
//!
//! let git = Git::open("/srv/shop").unwrap();
//! assert!(git.is_clean().unwrap());
//! git.create_branch("upkeep/upgrade-for-main", "main").unwrap();
//! git.checkout("upkeep/upgrade-for-main").unwrap();
//! let sha = git.commit_paths(&["composer.json", "composer.lock"], "Upgrade acme/*").unwrap();
//! git.push("origin", "upkeep/upgrade-for-main", false).unwrap();
//! # let _ = sha;
//! ```

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::git_auth::GitEnv;
use crate::remote::redact_userinfo;

/// The author and committer of commits made in a repository that has no identity configured
/// (a fresh CI checkout, a server's working copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            name: "Upkeep".to_string(),
            email: "upkeep@localhost".to_string(),
        }
    }
}

/// A working tree, operated on with the `git` program.
#[derive(Debug, Clone)]
pub struct Git {
    dir: PathBuf,
    toplevel: PathBuf,
    fallback_identity: Identity,
    env: Vec<(OsString, OsString)>,
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("could not run `git`: {source}")]
    Spawn {
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not inside a git working tree: {stderr}", dir.display())]
    NotARepository { dir: PathBuf, stderr: String },
    #[error("`{command}` failed ({status}) in {}: {stderr}", dir.display())]
    Failed {
        command: String,
        dir: PathBuf,
        /// `exit status: 128`, or how the process ended.
        status: String,
        stderr: String,
    },
    #[error("HEAD is detached in {}", dir.display())]
    DetachedHead { dir: PathBuf },
    #[error("nothing to commit: {} unchanged", paths.join(", "))]
    NothingToCommit { paths: Vec<String> },
    #[error(
        "rebasing onto `{onto}` stopped on conflicts in {}; the rebase was aborted and the branch is as before",
        conflicts.join(", ")
    )]
    RebaseConflict {
        onto: String,
        conflicts: Vec<String>,
        stderr: String,
    },
    #[error("unknown revision `{rev}`")]
    UnknownRevision { rev: String },
    #[error("`{0}` is not a usable branch, remote or revision name")]
    InvalidName(String),
}

impl upkeep_hint::Hint for GitError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Spawn { .. } => Some("install git and make sure it is on PATH".to_string()),
            Self::DetachedHead { .. } => Some("check out the base branch first".to_string()),
            _ => None,
        }
    }
}

impl Git {
    /// The working tree containing `dir`. Commands run in `dir`, so relative paths given to
    /// [`Git::commit_paths`] are relative to it, as on a command line there.
    pub fn open(dir: impl AsRef<Path>) -> Result<Git, GitError> {
        let mut git = Git {
            dir: dir.as_ref().to_path_buf(),
            toplevel: PathBuf::new(),
            fallback_identity: Identity::default(),
            env: Vec::new(),
        };
        let output = git.output(&["rev-parse", "--show-toplevel"])?;
        if !output.status.success() {
            return Err(GitError::NotARepository {
                dir: git.dir,
                stderr: stderr_of(&output),
            });
        }
        git.toplevel = PathBuf::from(stdout_of(&output).trim_end_matches('\n'));
        Ok(git)
    }

    /// The identity for commits when the repository (and the user) has none configured;
    /// default `Upkeep <upkeep@localhost>`.
    #[must_use]
    pub fn with_fallback_identity(mut self, identity: Identity) -> Self {
        self.fallback_identity = identity;
        self
    }

    /// An environment variable for every git command, e.g. `GIT_SSH_COMMAND` for a deploy key,
    /// or `GIT_CONFIG_GLOBAL` to keep a user's configuration out of a test.
    #[must_use]
    pub fn with_env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Every variable of `env` (credentials prepared by [`crate::git_auth::GitAuth`]) for
    /// every git command.
    #[must_use]
    pub fn with_git_env(mut self, env: &GitEnv) -> Self {
        self.env.extend(env.iter().cloned());
        self
    }

    /// The directory commands run in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The root of the working tree.
    pub fn toplevel(&self) -> &Path {
        &self.toplevel
    }

    /// No staged, unstaged or untracked changes (ignored files do not count).
    pub fn is_clean(&self) -> Result<bool, GitError> {
        Ok(self.dirty_paths()?.is_empty())
    }

    /// The paths that make the tree dirty, relative to the root of the working tree, for a
    /// message that says what to commit or stash.
    pub fn dirty_paths(&self) -> Result<Vec<String>, GitError> {
        let out = self.run(&["status", "--porcelain=v1", "-z", "--untracked-files=all"])?;
        let mut paths = Vec::new();
        let mut entries = out.split('\0').filter(|entry| !entry.is_empty());
        while let Some(entry) = entries.next() {
            let (code, path) = (entry.get(..2).unwrap_or(""), entry.get(3..).unwrap_or(""));
            paths.push(path.to_string());
            // A rename or copy is followed by its source path as a separate entry.
            if code.starts_with('R') || code.starts_with('C') {
                entries.next();
            }
        }
        Ok(paths)
    }

    /// The checked-out branch (also when it has no commit yet).
    pub fn current_branch(&self) -> Result<String, GitError> {
        let output = self.output(&["symbolic-ref", "--quiet", "--short", "HEAD"])?;
        match output.status.code() {
            Some(0) => Ok(stdout_of(&output).trim().to_string()),
            Some(1) => Err(GitError::DetachedHead {
                dir: self.dir.clone(),
            }),
            _ => Err(self.failure(&["symbolic-ref", "--quiet", "--short", "HEAD"], &output)),
        }
    }

    /// Whether the local branch `name` exists.
    pub fn branch_exists(&self, name: &str) -> Result<bool, GitError> {
        check_name(name)?;
        let reference = format!("refs/heads/{name}");
        let args = ["show-ref", "--verify", "--quiet", reference.as_str()];
        let output = self.output(&args)?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(self.failure(&args, &output)),
        }
    }

    /// Whether branch `name` exists on `remote` right now (asks the remote, `git ls-remote`).
    pub fn remote_branch_exists(&self, remote: &str, name: &str) -> Result<bool, GitError> {
        check_name(remote)?;
        check_name(name)?;
        let reference = format!("refs/heads/{name}");
        let out = self.run(&["ls-remote", "--heads", remote, reference.as_str()])?;
        // ls-remote matches patterns by their tail; only the exact ref counts.
        Ok(out
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .any(|(_, found)| found == reference))
    }

    /// Switches to branch `name`.
    pub fn checkout(&self, name: &str) -> Result<(), GitError> {
        check_name(name)?;
        self.run(&["checkout", "--quiet", name, "--"]).map(drop)
    }

    /// Creates branch `name` at `from` without switching to it (see [`Git::checkout`]).
    pub fn create_branch(&self, name: &str, from: &str) -> Result<(), GitError> {
        check_name(name)?;
        check_name(from)?;
        self.run(&["branch", "--no-track", name, from]).map(drop)
    }

    /// Commits exactly `paths` (added, changed or deleted; other staged changes stay out of the
    /// commit) and returns the new commit's id. Hooks do not run: they are the project's
    /// tooling for people, and the quality gate checks the result separately.
    pub fn commit_paths<P: AsRef<OsStr>>(
        &self,
        paths: &[P],
        message: &str,
    ) -> Result<String, GitError> {
        let paths: Vec<&OsStr> = paths.iter().map(AsRef::as_ref).collect();
        let described = || {
            paths
                .iter()
                .map(|path| path.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        if paths.is_empty() {
            return Err(GitError::NothingToCommit { paths: Vec::new() });
        }
        let mut add: Vec<&OsStr> = vec![OsStr::new("add"), OsStr::new("--")];
        add.extend(&paths);
        self.run(&add)?;

        let mut diff: Vec<&OsStr> = ["diff", "--cached", "--quiet", "--"]
            .map(OsStr::new)
            .to_vec();
        diff.extend(&paths);
        let output = self.output(&diff)?;
        match output.status.code() {
            Some(0) => return Err(GitError::NothingToCommit { paths: described() }),
            Some(1) => {}
            _ => return Err(self.failure(&diff, &output)),
        }

        let mut commit: Vec<OsString> = self.identity_config()?;
        commit
            .extend(["commit", "--quiet", "--no-verify", "-m", message, "--"].map(OsString::from));
        commit.extend(paths.iter().map(OsString::from));
        self.run(&commit)?;
        self.rev_parse("HEAD")
    }

    /// Pushes local branch `branch` to the same name on `remote`. With `force_with_lease`, it
    /// replaces the remote branch only if that is still where our remote-tracking branch says
    /// (fetch first); nobody else's commits are lost. Hooks do not run.
    pub fn push(&self, remote: &str, branch: &str, force_with_lease: bool) -> Result<(), GitError> {
        check_name(remote)?;
        check_name(branch)?;
        let refspec = format!("refs/heads/{branch}:refs/heads/{branch}");
        let lease = format!("--force-with-lease=refs/heads/{branch}");
        let mut args = vec!["push", "--quiet", "--no-verify"];
        if force_with_lease {
            args.push(&lease);
        }
        args.extend([remote, refspec.as_str()]);
        self.run(&args).map(drop)
    }

    /// Updates the remote-tracking branches of `remote`, dropping those deleted there.
    pub fn fetch(&self, remote: &str) -> Result<(), GitError> {
        check_name(remote)?;
        self.run(&["fetch", "--quiet", "--prune", remote]).map(drop)
    }

    /// Rebases the current branch onto `onto`. On a conflict the rebase is aborted, so the branch
    /// and the working tree are as before, and the error lists the conflicting paths.
    pub fn rebase(&self, onto: &str) -> Result<(), GitError> {
        check_name(onto)?;
        let mut args = self.identity_config()?;
        args.extend(["rebase", "--quiet", onto].map(OsString::from));
        let output = self.output(&args)?;
        if output.status.success() {
            return Ok(());
        }
        if !self.rebase_in_progress()? {
            return Err(self.failure(&args, &output));
        }
        let conflicts = self
            .run(&["diff", "--name-only", "--diff-filter=U", "-z"])?
            .split('\0')
            .filter(|path| !path.is_empty())
            .map(str::to_string)
            .collect();
        self.run(&["rebase", "--abort"])?;
        Err(GitError::RebaseConflict {
            onto: onto.to_string(),
            conflicts,
            stderr: stderr_of(&output),
        })
    }

    /// Moves the current branch to `rev` and makes index and working tree match it (untracked
    /// files stay).
    pub fn reset_hard(&self, rev: &str) -> Result<(), GitError> {
        check_name(rev)?;
        self.run(&["reset", "--quiet", "--hard", rev, "--"])
            .map(drop)
    }

    /// Deletes local branch `name`, merged or not.
    pub fn delete_branch(&self, name: &str) -> Result<(), GitError> {
        check_name(name)?;
        self.run(&["branch", "--quiet", "-D", name]).map(drop)
    }

    /// The full commit id `rev` names.
    pub fn rev_parse(&self, rev: &str) -> Result<String, GitError> {
        check_name(rev)?;
        let spec = format!("{rev}^{{commit}}");
        let args = ["rev-parse", "--verify", "--quiet", spec.as_str()];
        let output = self.output(&args)?;
        match output.status.code() {
            Some(0) => Ok(stdout_of(&output).trim().to_string()),
            Some(1) => Err(GitError::UnknownRevision {
                rev: rev.to_string(),
            }),
            _ => Err(self.failure(&args, &output)),
        }
    }

    /// The fetch URL of `remote`, as configured (it may hold credentials: do not print it;
    /// [`crate::remote::RemoteRepository::parse`] drops them).
    pub fn remote_url(&self, remote: &str) -> Result<String, GitError> {
        check_name(remote)?;
        Ok(self.run(&["remote", "get-url", remote])?.trim().to_string())
    }

    /// The subjects of the commits in `range` (`main..topic`), newest first.
    pub fn log_subjects(&self, range: &str) -> Result<Vec<String>, GitError> {
        check_name(range)?;
        let out = self.run(&["log", "--format=%s", range, "--"])?;
        Ok(out.lines().map(str::to_string).collect())
    }

    /// `-c user.name=… -c user.email=…` for whichever of the two the repository lacks.
    fn identity_config(&self) -> Result<Vec<OsString>, GitError> {
        let mut args = Vec::new();
        for (key, value) in [
            ("user.name", &self.fallback_identity.name),
            ("user.email", &self.fallback_identity.email),
        ] {
            let output = self.output(&["config", "--get", key])?;
            if !output.status.success() || stdout_of(&output).trim().is_empty() {
                args.push(OsString::from("-c"));
                args.push(OsString::from(format!("{key}={value}")));
            }
        }
        Ok(args)
    }

    fn rebase_in_progress(&self) -> Result<bool, GitError> {
        for state in ["rebase-merge", "rebase-apply"] {
            let path = self.run(&["rev-parse", "--git-path", state])?;
            if self.dir.join(path.trim_end_matches('\n')).exists() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Clones `url` into `dir` (which must not exist) and opens it. The URL is not
    /// interpreted: `https://`, `ssh://`, `git@host:path` and `file://` all work as git knows.
    pub fn clone_from(url: &str, dir: &Path) -> Result<Git, GitError> {
        Self::clone_from_with(url, dir, &GitEnv::default())
    }

    /// [`Git::clone_from`] with `env` (credentials) for the clone and every later command of
    /// the returned `Git`. The remote URL written to `.git/config` is `url` as given.
    pub fn clone_from_with(url: &str, dir: &Path, env: &GitEnv) -> Result<Git, GitError> {
        let parent = dir.parent().unwrap_or(Path::new("."));
        let cloner = Git::outside_repository(parent).with_git_env(env);
        let mut args: Vec<OsString> = ["clone", "--quiet", "--no-checkout", "--", url]
            .into_iter()
            .map(OsString::from)
            .collect();
        args.push(dir.as_os_str().to_os_string());
        cloner.run(&args)?;
        Ok(Git::open(dir)?.with_git_env(env))
    }

    /// The branches of the repository at `url` and their commits, as the remote has them now
    /// (`git ls-remote --heads`), sorted by branch. Runs in `dir`, which need not be a
    /// repository.
    pub fn remote_heads(
        url: &str,
        dir: &Path,
        env: &GitEnv,
    ) -> Result<Vec<(String, String)>, GitError> {
        check_name(url)?;
        let git = Git::outside_repository(dir).with_git_env(env);
        let out = git.run(&["ls-remote", "--heads", url])?;
        let mut heads: Vec<(String, String)> = out
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .filter_map(|(commit, reference)| {
                reference
                    .strip_prefix("refs/heads/")
                    .map(|branch| (branch.to_string(), commit.to_string()))
            })
            .collect();
        heads.sort();
        Ok(heads)
    }

    /// A `Git` for commands that need no repository (clone, ls-remote) run in `dir`.
    fn outside_repository(dir: &Path) -> Git {
        Git {
            dir: dir.to_path_buf(),
            toplevel: dir.to_path_buf(),
            fallback_identity: Identity::default(),
            env: Vec::new(),
        }
    }

    /// Creates a repository in `dir` (created when missing) on branch `main`, and opens it.
    pub fn init(dir: &Path) -> Result<Git, GitError> {
        std::fs::create_dir_all(dir).map_err(|source| GitError::Spawn { source })?;
        let creator = Git::outside_repository(dir);
        creator.run(&["init", "--quiet", "--initial-branch=main"])?;
        Git::open(dir)
    }

    /// Makes every branch of `remote` a local branch of the same name, as the remote has it,
    /// and its default branch's tip [`Git::REMOTE_HEAD`] (a clone that only builds, whose HEAD
    /// stays detached).
    pub fn mirror_branches(&self, remote: &str) -> Result<(), GitError> {
        self.run(&[
            "fetch",
            "--quiet",
            "--prune",
            "--update-head-ok",
            remote,
            "+refs/heads/*:refs/heads/*",
            &format!("+HEAD:{}", Self::REMOTE_HEAD),
        ])
        .map(drop)
    }

    /// The text of the file at `path` (from the repository's root) in revision `rev`, without
    /// checking it out; `None` when that revision has no such file.
    pub fn file_at(&self, rev: &str, path: &str) -> Result<Option<String>, GitError> {
        check_name(rev)?;
        let spec = format!("{rev}:{path}");
        // `cat-file -e` tells a missing file apart from a failure without parsing git's words.
        if !self.output(&["cat-file", "-e", &spec])?.status.success() {
            return Ok(None);
        }
        self.run(&["cat-file", "blob", &spec]).map(Some)
    }

    /// Where [`Git::mirror_branches`] keeps the tip of the remote's default branch.
    pub const REMOTE_HEAD: &str = "refs/upkeep/remote-head";

    /// Checks `rev` out with a detached HEAD, discarding local changes.
    pub fn checkout_detached(&self, rev: &str) -> Result<(), GitError> {
        self.run(&["checkout", "--quiet", "--force", "--detach", rev, "--"])
            .map(drop)
    }

    /// Runs git and returns its output whatever the exit status.
    fn output<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Output, GitError> {
        let mut command = Command::new("git");
        command
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_EDITOR", ":")
            .env("LC_ALL", "C");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
            .output()
            .map_err(|source| GitError::Spawn { source })
    }

    /// Runs git and returns its stdout, or the failure.
    fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<String, GitError> {
        let output = self.output(args)?;
        if output.status.success() {
            Ok(stdout_of(&output))
        } else {
            Err(self.failure(args, &output))
        }
    }

    fn failure<S: AsRef<OsStr>>(&self, args: &[S], output: &Output) -> GitError {
        let mut command = String::from("git");
        for arg in args {
            command.push(' ');
            command.push_str(&arg.as_ref().to_string_lossy());
        }
        GitError::Failed {
            command: redact_userinfo(&command),
            dir: self.dir.clone(),
            status: output.status.to_string(),
            stderr: stderr_of(output),
        }
    }
}

/// Names reach git as arguments; one starting with `-` would be read as an option.
fn check_name(name: &str) -> Result<(), GitError> {
    if name.is_empty() || name.starts_with('-') || name.contains('\0') {
        Err(GitError::InvalidName(name.to_string()))
    } else {
        Ok(())
    }
}

fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr_of(output: &Output) -> String {
    redact_userinfo(String::from_utf8_lossy(&output.stderr).trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A user's global and system git configuration stay out of the tests.
    fn isolated(git: Git) -> Git {
        git.with_env("GIT_CONFIG_GLOBAL", "/dev/null")
            .with_env("GIT_CONFIG_NOSYSTEM", "1")
    }

    fn sh(dir: &Path, args: &[&str]) -> String {
        let output = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Tester")
            .env("GIT_AUTHOR_EMAIL", "tester@example.com")
            .env("GIT_COMMITTER_NAME", "Tester")
            .env("GIT_COMMITTER_EMAIL", "tester@example.com")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    struct Fixture {
        _root: tempfile::TempDir,
        work: PathBuf,
        origin: PathBuf,
        git: Git,
    }

    fn write(dir: &Path, name: &str, text: &str) {
        fs_err::write(dir.join(name), text).unwrap();
    }

    /// A working copy with one commit on `main`, pushed to a bare `origin`.
    fn fixture() -> Fixture {
        let root = tempfile::tempdir().unwrap();
        let origin = root.path().join("origin.git");
        let work = root.path().join("work");
        sh(
            root.path(),
            &["init", "--quiet", "--bare", "-b", "main", "origin.git"],
        );
        sh(root.path(), &["init", "--quiet", "-b", "main", "work"]);
        sh(&work, &["remote", "add", "origin", "../origin.git"]);
        write(&work, "composer.json", "{}\n");
        write(&work, "composer.lock", "{}\n");
        let git = isolated(Git::open(&work).unwrap());
        git.commit_paths(&["composer.json", "composer.lock"], "Initial")
            .unwrap();
        git.push("origin", "main", false).unwrap();
        Fixture {
            _root: root,
            work,
            origin,
            git,
        }
    }

    #[test]
    fn file_at_reads_a_committed_file_and_tells_a_missing_one() {
        let f = fixture();
        write(&f.work, "composer.json", "{\"changed\": true}\n");
        assert_eq!(
            f.git.file_at("HEAD", "composer.json").unwrap().as_deref(),
            Some("{}\n"),
            "the committed text, not the working tree's"
        );
        assert_eq!(f.git.file_at("HEAD", "upkeep.yml").unwrap(), None);
        assert_eq!(
            f.git.file_at("no-such-branch", "composer.json").unwrap(),
            None
        );
        assert!(matches!(
            f.git.file_at("--help", "composer.json"),
            Err(GitError::InvalidName(_))
        ));
    }

    #[test]
    fn open_finds_the_working_tree_and_refuses_other_directories() {
        let f = fixture();
        fs_err::create_dir(f.work.join("sub")).unwrap();
        let sub = isolated(Git::open(f.work.join("sub")).unwrap());
        assert_eq!(sub.toplevel(), f.git.toplevel());
        assert_eq!(sub.toplevel().file_name(), Some(OsStr::new("work")));
        let plain = tempfile::tempdir().unwrap();
        let error = Git::open(plain.path()).unwrap_err();
        assert!(
            matches!(&error, GitError::NotARepository { .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("not a git repository"),
            "{error}"
        );
        assert!(matches!(
            Git::open(&f.origin),
            Err(GitError::NotARepository { .. })
        ));
    }

    #[test]
    fn commits_use_the_fallback_identity_only_when_none_is_configured() {
        let f = fixture();
        assert_eq!(
            sh(&f.work, &["log", "-1", "--format=%an <%ae>|%cn <%ce>"]).trim(),
            "Upkeep <upkeep@localhost>|Upkeep <upkeep@localhost>"
        );

        let custom = f.git.clone().with_fallback_identity(Identity {
            name: "Shop Bot".to_string(),
            email: "bot@shop.test".to_string(),
        });
        write(&f.work, "composer.lock", "{\"a\":1}\n");
        custom.commit_paths(&["composer.lock"], "Second").unwrap();
        assert_eq!(
            sh(&f.work, &["log", "-1", "--format=%an <%ae>"]).trim(),
            "Shop Bot <bot@shop.test>"
        );

        sh(&f.work, &["config", "user.name", "Alice"]);
        write(&f.work, "composer.lock", "{\"a\":2}\n");
        let sha = f
            .git
            .commit_paths(&["composer.lock"], "Third\n\nbody #1")
            .unwrap();
        assert_eq!(
            sh(&f.work, &["log", "-1", "--format=%an <%ae>"]).trim(),
            "Alice <upkeep@localhost>"
        );
        assert_eq!(sha, sh(&f.work, &["rev-parse", "HEAD"]).trim());
        assert_eq!(sha.len(), 40);
        assert_eq!(
            sh(&f.work, &["log", "-1", "--format=%B"]).trim(),
            "Third\n\nbody #1"
        );
    }

    #[test]
    fn commit_paths_commits_only_the_given_paths() {
        let f = fixture();
        write(&f.work, "composer.json", "{\"require\":{}}\n");
        write(&f.work, "notes.txt", "staged elsewhere\n");
        sh(&f.work, &["add", "notes.txt"]);
        write(&f.work, "new.lock", "x\n");
        f.git
            .commit_paths(&["composer.json", "new.lock"], "Upgrade acme")
            .unwrap();
        let files = sh(&f.work, &["show", "--name-only", "--format=", "HEAD"]);
        assert_eq!(
            files.lines().collect::<Vec<_>>(),
            ["composer.json", "new.lock"]
        );
        assert_eq!(f.git.dirty_paths().unwrap(), ["notes.txt"]);

        fs_err::remove_file(f.work.join("new.lock")).unwrap();
        f.git.commit_paths(&["new.lock"], "Remove").unwrap();
        assert_eq!(
            sh(&f.work, &["show", "--name-status", "--format=", "HEAD"]).trim(),
            "D\tnew.lock"
        );

        let error = f
            .git
            .commit_paths(&["composer.json"], "Nothing")
            .unwrap_err();
        assert!(
            matches!(&error, GitError::NothingToCommit { paths } if paths == &["composer.json"]),
            "{error:?}"
        );
        assert_eq!(
            f.git.log_subjects("HEAD").unwrap(),
            ["Remove", "Upgrade acme", "Initial"]
        );
    }

    #[test]
    fn dirty_paths_lists_modified_staged_untracked_and_renamed() {
        let f = fixture();
        assert!(f.git.is_clean().unwrap());
        assert_eq!(f.git.dirty_paths().unwrap(), Vec::<String>::new());
        write(&f.work, "composer.json", "changed\n");
        fs_err::create_dir(f.work.join("dir")).unwrap();
        write(&f.work, "dir/new file.txt", "x\n");
        sh(&f.work, &["mv", "composer.lock", "renamed.lock"]);
        write(&f.work, ".gitignore", "vendor/\n");
        fs_err::create_dir(f.work.join("vendor")).unwrap();
        write(&f.work, "vendor/autoload.php", "<?php\n");
        let mut dirty = f.git.dirty_paths().unwrap();
        dirty.sort();
        assert_eq!(
            dirty,
            [
                ".gitignore",
                "composer.json",
                "dir/new file.txt",
                "renamed.lock"
            ]
        );
        assert!(!f.git.is_clean().unwrap());
    }

    #[test]
    fn branches_checkout_rev_parse_and_reset() {
        let f = fixture();
        let git = &f.git;
        assert_eq!(git.current_branch().unwrap(), "main");
        assert!(git.branch_exists("main").unwrap());
        assert!(!git.branch_exists("upkeep/upgrade-for-main").unwrap());
        git.create_branch("upkeep/upgrade-for-main", "main")
            .unwrap();
        assert!(git.branch_exists("upkeep/upgrade-for-main").unwrap());
        assert_eq!(
            git.current_branch().unwrap(),
            "main",
            "create_branch does not switch"
        );
        git.checkout("upkeep/upgrade-for-main").unwrap();
        assert_eq!(git.current_branch().unwrap(), "upkeep/upgrade-for-main");

        let base = git.rev_parse("main").unwrap();
        write(&f.work, "composer.lock", "{\"v\":2}\n");
        let head = git.commit_paths(&["composer.lock"], "Upgrade").unwrap();
        assert_ne!(head, base);
        assert_eq!(git.log_subjects("main..HEAD").unwrap(), ["Upgrade"]);
        write(&f.work, "composer.json", "half-done\n");
        git.reset_hard("main").unwrap();
        assert_eq!(git.rev_parse("HEAD").unwrap(), base);
        assert!(git.is_clean().unwrap());

        git.checkout("main").unwrap();
        git.delete_branch("upkeep/upgrade-for-main").unwrap();
        assert!(!git.branch_exists("upkeep/upgrade-for-main").unwrap());

        assert!(
            matches!(git.rev_parse("nope"), Err(GitError::UnknownRevision { rev }) if rev == "nope")
        );
        let error = git.checkout("nope").unwrap_err();
        match &error {
            GitError::Failed {
                command,
                stderr,
                status,
                ..
            } => {
                assert_eq!(command, "git checkout --quiet nope --");
                assert!(stderr.contains("nope"), "{stderr}");
                assert!(status.contains("exit status"), "{status}");
            }
            other => panic!("{other:?}"),
        }
        for name in ["--orphan=x", "-b", ""] {
            assert!(matches!(git.checkout(name), Err(GitError::InvalidName(n)) if n == name));
        }

        sh(&f.work, &["checkout", "--quiet", "--detach", "HEAD"]);
        let error = git.current_branch().unwrap_err();
        assert!(matches!(error, GitError::DetachedHead { .. }), "{error:?}");
        assert!(!error.to_string().contains("hint"), "{error}");
        assert_eq!(
            upkeep_hint::Hint::hint(&error).as_deref(),
            Some("check out the base branch first")
        );
    }

    #[test]
    fn a_missing_git_program_says_what_to_install_in_the_hint() {
        let error = GitError::Spawn {
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert!(
            error.to_string().starts_with("could not run `git`: "),
            "{error}"
        );
        assert!(!error.to_string().contains("hint"), "{error}");
        assert_eq!(
            upkeep_hint::Hint::hint(&error).as_deref(),
            Some("install git and make sure it is on PATH")
        );
    }

    #[test]
    fn push_fetch_and_remote_branches() {
        let f = fixture();
        let git = &f.git;
        assert!(git.remote_url("origin").unwrap().ends_with("origin.git"));
        assert!(matches!(
            git.remote_url("upstream"),
            Err(GitError::Failed { .. })
        ));
        assert!(git.remote_branch_exists("origin", "main").unwrap());
        assert!(!git.remote_branch_exists("origin", "topic").unwrap());

        git.create_branch("topic", "main").unwrap();
        git.checkout("topic").unwrap();
        write(&f.work, "composer.lock", "{\"v\":1}\n");
        git.commit_paths(&["composer.lock"], "Topic 1").unwrap();
        git.push("origin", "topic", false).unwrap();
        assert!(git.remote_branch_exists("origin", "topic").unwrap());
        // ls-remote matches by tail: `pic` must not count as `topic`.
        assert!(!git.remote_branch_exists("origin", "pic").unwrap());

        // Someone else adds a commit to the remote branch.
        let other = f.work.parent().unwrap().join("other");
        sh(
            f.work.parent().unwrap(),
            &["clone", "--quiet", "-b", "topic", "origin.git", "other"],
        );
        write(&other, "README", "theirs\n");
        sh(&other, &["add", "README"]);
        sh(&other, &["commit", "--quiet", "-m", "Theirs"]);
        sh(&other, &["push", "--quiet", "origin", "topic"]);

        // Our rewritten branch must not silently replace theirs.
        git.reset_hard("main").unwrap();
        write(&f.work, "composer.lock", "{\"v\":2}\n");
        git.commit_paths(&["composer.lock"], "Topic 2").unwrap();
        assert!(matches!(
            git.push("origin", "topic", false),
            Err(GitError::Failed { .. })
        ));
        let stale = git.push("origin", "topic", true).unwrap_err();
        assert!(stale.to_string().contains("stale info"), "{stale}");
        let theirs = sh(&f.origin, &["rev-parse", "refs/heads/topic"]);

        git.fetch("origin").unwrap();
        assert_eq!(git.rev_parse("origin/topic").unwrap(), theirs.trim());
        git.push("origin", "topic", true).unwrap();
        assert_eq!(
            sh(&f.origin, &["log", "-1", "--format=%s", "topic"]).trim(),
            "Topic 2"
        );

        sh(&f.origin, &["branch", "-D", "topic"]);
        git.fetch("origin").unwrap();
        assert!(matches!(
            git.rev_parse("origin/topic"),
            Err(GitError::UnknownRevision { .. })
        ));
    }

    #[test]
    fn rebase_moves_the_branch_or_aborts_on_conflict() {
        let f = fixture();
        let git = &f.git;
        git.create_branch("topic", "main").unwrap();
        git.checkout("topic").unwrap();
        write(&f.work, "composer.lock", "{\"topic\":1}\n");
        git.commit_paths(&["composer.lock"], "Topic").unwrap();

        git.checkout("main").unwrap();
        write(&f.work, "README", "base moved\n");
        git.commit_paths(&["README"], "Base").unwrap();
        git.checkout("topic").unwrap();
        git.rebase("main").unwrap();
        assert_eq!(
            git.log_subjects("HEAD").unwrap(),
            ["Topic", "Base", "Initial"]
        );

        git.checkout("main").unwrap();
        write(&f.work, "composer.lock", "{\"main\":2}\n");
        git.commit_paths(&["composer.lock"], "Base lock").unwrap();
        git.checkout("topic").unwrap();
        let before = git.rev_parse("HEAD").unwrap();
        let error = git.rebase("main").unwrap_err();
        match &error {
            GitError::RebaseConflict {
                onto, conflicts, ..
            } => {
                assert_eq!(onto, "main");
                assert_eq!(conflicts, &["composer.lock"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(git.current_branch().unwrap(), "topic");
        assert_eq!(git.rev_parse("HEAD").unwrap(), before);
        assert!(git.is_clean().unwrap());
    }

    #[test]
    fn credentials_in_remote_urls_stay_out_of_errors() {
        let f = fixture();
        sh(
            &f.work,
            &[
                "remote",
                "add",
                "secret",
                "http://bot:hunter2@127.0.0.1:9/shop.git",
            ],
        );
        let error = f.git.remote_branch_exists("secret", "main").unwrap_err();
        let text = format!("{error} {error:?}");
        assert!(matches!(error, GitError::Failed { .. }));
        assert!(!text.contains("hunter2"), "{text}");
    }
}
