//! `--changed-since REV`: the project files that changed since a git revision, so a pull-request
//! pipeline reports only on what it touched.
//!
//! Only reporting is narrowed: the gate still reads the whole project, because rules need the
//! whole index (a changed class can break an unchanged one's override, and the reverse).
//!
//! ```no_run
//! use upkeep_gate::changed::ChangedFiles;
//! let changed = ChangedFiles::since(std::path::Path::new("shop"), "origin/main")?;
//! println!("{} files changed since {}", changed.len(), changed.revision);
//! # Ok::<(), upkeep_gate::changed::GitError>(())
//! ```

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::engine::GateReport;
use crate::rule::Notice;

/// Why the changed files could not be listed: git's own message, and what we asked it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`git {command}` failed in {root}: {message}")]
pub struct GitError {
    pub root: String,
    pub command: String,
    pub message: String,
}

/// Files changed since a revision (committed, staged, unstaged or untracked), relative to the
/// project root with `/` separators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedFiles {
    pub revision: String,
    files: BTreeSet<String>,
}

impl ChangedFiles {
    /// Asks `git` in `root`: `git diff --name-only REV` plus untracked files that are not
    /// ignored. The project may be a subdirectory of the repository; files outside it are left
    /// out.
    pub fn since(root: &Path, revision: &str) -> Result<Self, GitError> {
        // A revision that starts with `-` would be read by git as an option.
        if revision.starts_with('-') {
            return Err(GitError {
                root: root.display().to_string(),
                command: format!("diff {revision}"),
                message: format!("`{revision}` is not a revision (it starts with `-`)"),
            });
        }
        let prefix = git(root, &["rev-parse", "--show-prefix"])?;
        let prefix = prefix.trim_end_matches(['\n', '\r']);
        // `-z`: names are neither quoted nor escaped. `--no-relative` and `--full-name`: both
        // lists are relative to the repository root, whatever the user's configuration says.
        let tracked = git(
            root,
            &[
                "diff",
                "--name-only",
                "--no-renames",
                "--no-relative",
                "-z",
                revision,
                "--",
            ],
        )?;
        let untracked = git(
            root,
            &[
                "ls-files",
                "--others",
                "--exclude-standard",
                "--full-name",
                "-z",
            ],
        )?;
        let files = tracked
            .split('\0')
            .chain(untracked.split('\0'))
            .filter(|name| !name.is_empty())
            .filter_map(|name| name.strip_prefix(prefix))
            .map(str::to_string)
            .collect();
        Ok(Self {
            revision: revision.to_string(),
            files,
        })
    }

    /// A set of files, for tests and callers that know them already.
    pub fn of(revision: &str, files: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            revision: revision.to_string(),
            files: files.into_iter().map(Into::into).collect(),
        }
    }

    /// True when `file` (relative to the project root, `/` separators) changed. Project-level
    /// findings sit on `composer.json`, `composer.lock` or a deploy file, so they count exactly
    /// when that file changed.
    pub fn contains(&self, file: &str) -> bool {
        self.files.contains(file)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(String::as_str)
    }

    /// Keeps only the report's findings in changed files, and says so in a notice.
    pub fn narrow_report(&self, report: &mut GateReport) {
        let before = report.findings.len();
        report
            .findings
            .retain(|finding| self.contains(&finding.location.file));
        let hidden = before - report.findings.len();
        let files = if self.files.len() == 1 {
            "file"
        } else {
            "files"
        };
        let findings = if hidden == 1 { "finding" } else { "findings" };
        report.notices.push(Notice {
            rule: "changed-since",
            message: format!(
                "reporting only on the {} {files} changed since `{}`; {hidden} {findings} in other files not shown",
                self.files.len(),
                self.revision
            ),
        });
        report.notices.sort();
    }
}

/// Runs `git args` in `root` and returns its standard output.
fn git(root: &Path, args: &[&str]) -> Result<String, GitError> {
    let command = args.join(" ");
    let error = |message: String| GitError {
        root: root.display().to_string(),
        command: command.clone(),
        message,
    };
    let output = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .map_err(|problem| error(format!("cannot run `git`: {problem}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = stderr.trim();
        return Err(error(if message.is_empty() {
            format!("git exited with {}", output.status)
        } else {
            message.to_string()
        }));
    }
    String::from_utf8(output.stdout)
        .map_err(|_| error("git printed a file name that is not UTF-8".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    fn write(dir: &Path, path: &str, text: &str) {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }

    #[test]
    fn lists_changed_and_untracked_files_of_a_subdirectory_project() {
        let repo = tempfile::tempdir().unwrap();
        let dir = repo.path();
        run_git(dir, &["init", "-q"]);
        write(dir, "shop/src/A.php", "<?php\n");
        write(dir, "shop/src/B.php", "<?php\n");
        write(dir, "shop/composer.json", "{}\n");
        write(dir, "other/C.php", "<?php\n");
        write(dir, ".gitignore", "*.log\n");
        run_git(dir, &["add", "."]);
        run_git(dir, &["commit", "-q", "-m", "start"]);
        write(dir, "shop/src/A.php", "<?php\n// changed\n");
        write(dir, "shop/src/New file.php", "<?php\n");
        write(dir, "shop/debug.log", "ignored\n");
        write(dir, "other/C.php", "<?php\n// outside the project\n");
        std::fs::remove_file(dir.join("shop/composer.json")).unwrap();

        let changed = ChangedFiles::since(&dir.join("shop"), "HEAD").unwrap();
        let files: Vec<&str> = changed.iter().collect();
        assert_eq!(files, ["composer.json", "src/A.php", "src/New file.php"]);
        assert!(!changed.contains("src/B.php"));

        let unknown = ChangedFiles::since(&dir.join("shop"), "no-such-rev").unwrap_err();
        assert!(unknown.message.contains("no-such-rev"), "{unknown}");
        let option = ChangedFiles::since(dir, "--output=x").unwrap_err();
        assert!(option.message.contains("starts with `-`"), "{option}");
    }

    #[test]
    fn outside_a_repository_is_git_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = ChangedFiles::since(dir.path(), "HEAD").unwrap_err();
        assert!(
            error
                .message
                .to_lowercase()
                .contains("not a git repository"),
            "{error}"
        );
    }
}
