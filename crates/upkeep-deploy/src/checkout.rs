//! A clean checkout of one commit: the tree exactly as committed, with no untracked or ignored
//! files of the working copy, written by `git archive` into a fresh directory. Builds start from
//! it so that what is deployed is what was pushed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A commit resolved in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The full object id.
    pub id: String,
    /// The committer time, in seconds since the Unix epoch; images built from the commit carry
    /// it as their creation time so that rebuilding gives the same digest.
    pub time: i64,
}

impl Commit {
    /// The first 12 characters of the id, as used in image tags and release names.
    pub fn short(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("`{repository}` is not a git repository")]
    NotARepository { repository: PathBuf },
    #[error("the revision `{revision}` does not exist in `{repository}`")]
    UnknownRevision {
        repository: PathBuf,
        revision: String,
    },
    #[error("could not run `git`: {0}")]
    GitMissing(std::io::Error),
    #[error("`git {command}` failed: {stderr}")]
    Git { command: String, stderr: String },
    #[error("could not write the checkout to `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Resolves `revision` (a branch, tag or commit id) to a commit of the repository at `repository`.
pub fn resolve_commit(repository: &Path, revision: &str) -> Result<Commit, CheckoutError> {
    let inside = git(repository, &["rev-parse", "--is-inside-work-tree"]);
    if !matches!(inside, Ok(ref answer) if answer.trim() == "true") {
        return Err(CheckoutError::NotARepository {
            repository: repository.to_path_buf(),
        });
    }
    let spec = format!("{revision}^{{commit}}");
    let output =
        git(repository, &["show", "-s", "--format=%H %ct", &spec, "--"]).map_err(|error| {
            match error {
                CheckoutError::Git { .. } => CheckoutError::UnknownRevision {
                    repository: repository.to_path_buf(),
                    revision: revision.to_string(),
                },
                other => other,
            }
        })?;
    let mut fields = output.split_whitespace();
    let id = fields.next().unwrap_or_default().to_string();
    let time = fields
        .next()
        .and_then(|time| time.parse().ok())
        .unwrap_or_default();
    Ok(Commit { id, time })
}

/// Where a commit stands with respect to an environment's branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchCheck {
    /// The commit is the branch's tip or one of its ancestors.
    OnBranch,
    /// The branch exists and does not contain the commit.
    NotOnBranch,
    /// The repository has no such local branch.
    NoSuchBranch,
}

/// Whether `commit` is on the local branch `branch` of `repository`.
pub fn check_branch(
    repository: &Path,
    commit: &Commit,
    branch: &str,
) -> Result<BranchCheck, CheckoutError> {
    let reference = format!("refs/heads/{branch}");
    if git(
        repository,
        &["rev-parse", "--verify", "--quiet", &reference],
    )
    .is_err()
    {
        return Ok(BranchCheck::NoSuchBranch);
    }
    let output = Command::new("git")
        .arg("-C")
        .arg(repository)
        .args(["merge-base", "--is-ancestor", &commit.id, &reference])
        .output()
        .map_err(CheckoutError::GitMissing)?;
    // 0: an ancestor; 1: not one; anything else: git could not tell.
    match output.status.code() {
        Some(0) => Ok(BranchCheck::OnBranch),
        Some(1) => Ok(BranchCheck::NotOnBranch),
        _ => Err(CheckoutError::Git {
            command: format!("merge-base --is-ancestor {} {reference}", commit.id),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        }),
    }
}

/// Writes the tree of `commit` into `destination`, which must not exist yet.
pub fn export_tree(
    repository: &Path,
    commit: &Commit,
    destination: &Path,
) -> Result<(), CheckoutError> {
    let write_error = |source| CheckoutError::Write {
        path: destination.to_path_buf(),
        source,
    };
    let output = Command::new("git")
        .arg("-C")
        .arg(repository)
        .args(["archive", "--format=tar", &commit.id])
        .output()
        .map_err(CheckoutError::GitMissing)?;
    if !output.status.success() {
        return Err(CheckoutError::Git {
            command: format!("archive {}", commit.id),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    fs_err::create_dir_all(destination).map_err(write_error)?;
    let mut archive = tar::Archive::new(output.stdout.as_slice());
    archive.set_preserve_permissions(true);
    archive.unpack(destination).map_err(write_error)
}

/// Runs git in `repository` and returns its standard output.
fn git(repository: &Path, arguments: &[&str]) -> Result<String, CheckoutError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(repository)
        .args(arguments)
        .output()
        .map_err(CheckoutError::GitMissing)?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(CheckoutError::Git {
            command: arguments.join(" "),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(directory: &Path, arguments: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(directory)
            .args(arguments)
            .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
            .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z")
            .status()
            .unwrap();
        assert!(status.success(), "git {arguments:?}");
    }

    fn repository() -> tempfile::TempDir {
        let directory = tempfile::tempdir().unwrap();
        let root = directory.path();
        run(root, &["init", "-q", "-b", "main"]);
        run(root, &["config", "user.email", "t@example.test"]);
        run(root, &["config", "user.name", "Test"]);
        fs_err::write(root.join("committed.txt"), "committed\n").unwrap();
        fs_err::create_dir_all(root.join("bin")).unwrap();
        fs_err::write(root.join("bin/run"), "#!/bin/sh\n").unwrap();
        let mut permissions = fs_err::metadata(root.join("bin/run"))
            .unwrap()
            .permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        fs_err::set_permissions(root.join("bin/run"), permissions).unwrap();
        run(root, &["add", "."]);
        run(root, &["commit", "-q", "-m", "first"]);
        directory
    }

    #[test]
    fn exports_only_the_committed_tree() {
        let repository = repository();
        fs_err::write(repository.path().join("untracked.txt"), "local\n").unwrap();
        fs_err::write(repository.path().join("committed.txt"), "changed\n").unwrap();
        let commit = resolve_commit(repository.path(), "HEAD").unwrap();
        assert_eq!(commit.id.len(), 40);
        assert_eq!(commit.time, 1_767_323_045);
        let output = tempfile::tempdir().unwrap();
        let destination = output.path().join("tree");
        export_tree(repository.path(), &commit, &destination).unwrap();
        assert_eq!(
            fs_err::read_to_string(destination.join("committed.txt")).unwrap(),
            "committed\n"
        );
        assert!(!destination.join("untracked.txt").exists());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &fs_err::metadata(destination.join("bin/run"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o111, 0o111);
    }

    #[test]
    fn names_unknown_revisions_and_non_repositories() {
        let repository = repository();
        let error = resolve_commit(repository.path(), "no-such-branch").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "the revision `no-such-branch` does not exist in `{}`",
                repository.path().display()
            )
        );
        let plain = tempfile::tempdir().unwrap();
        let error = resolve_commit(plain.path(), "HEAD").unwrap_err();
        assert!(matches!(error, CheckoutError::NotARepository { .. }));
    }
}
