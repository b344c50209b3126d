//! Where a project sits in its git repository. A shop is often a subdirectory of a larger
//! repository (`shop/` beside `infra/`), and the CI formats point at files relative to the
//! repository's root: GitHub annotations and code scanning, GitLab Code Quality, `JUnit` and
//! Checkstyle readers resolve `src/...` against the checkout, not the project.
//!
//! Found by looking for `.git` (a directory, or the file of a worktree or submodule) upwards
//! from the project root, without starting `git`: a gate run stays free of processes.

use std::path::{Path, PathBuf};

/// The directory paths in CI reports are relative to, and the project's place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRoot {
    /// Absolute: the repository's root, or the project root when it is in no repository.
    pub dir: PathBuf,
    /// The project root relative to `dir`, with `/` separators and a trailing `/`
    /// (`shop/`), or empty when the project is the repository.
    pub prefix: String,
}

impl SourceRoot {
    /// The source root of the project at `root`; `None` when `root` cannot be made absolute
    /// (it does not exist).
    pub fn of_project(root: &Path) -> Option<Self> {
        let project = std::fs::canonicalize(root).ok()?;
        let repository = project
            .ancestors()
            .find(|dir| dir.join(".git").exists())
            .unwrap_or(&project);
        let relative = project.strip_prefix(repository).ok()?;
        let mut prefix: String = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if !prefix.is_empty() {
            prefix.push('/');
        }
        Some(Self {
            dir: repository.to_path_buf(),
            prefix,
        })
    }

    /// `file` (relative to the project root) relative to [`Self::dir`].
    pub fn path_of(&self, file: &str) -> String {
        format!("{}{file}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_in_a_subdirectory_of_a_repository_gets_its_prefix() {
        let temp = tempfile::tempdir().unwrap();
        let repository = temp.path().join("repo");
        std::fs::create_dir_all(repository.join(".git")).unwrap();
        std::fs::create_dir_all(repository.join("apps/shop")).unwrap();
        let root = SourceRoot::of_project(&repository.join("apps/shop")).unwrap();
        assert_eq!(root.dir, std::fs::canonicalize(&repository).unwrap());
        assert_eq!(root.prefix, "apps/shop/");
        assert_eq!(root.path_of("src/A.php"), "apps/shop/src/A.php");

        let at_top = SourceRoot::of_project(&repository).unwrap();
        assert_eq!(at_top.prefix, "");
        // A worktree's or submodule's `.git` is a file.
        std::fs::write(
            repository.join("apps/shop/.git"),
            "gitdir: ../../.git/modules/shop\n",
        )
        .unwrap();
        assert_eq!(
            SourceRoot::of_project(&repository.join("apps/shop"))
                .unwrap()
                .prefix,
            ""
        );
        assert_eq!(SourceRoot::of_project(&temp.path().join("missing")), None);
    }
}
