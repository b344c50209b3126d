//! The clone a server or an agent keeps of a repository between runs, and the checkout a run
//! starts from: the same code for the embedded executor and remote agents, so that both pick
//! the commit and the environment alike.

use std::path::{Path, PathBuf};

use upkeep_forge::git::{Git, GitError};
use upkeep_forge::git_auth::{GitAuth, GitAuthError, GitCredentials};

use crate::context::EnvironmentContext;
use crate::error::RunError;

/// Where git's credentials are prepared for one operation (a directory only this process's
/// user reads), and the ssh host keys seen so far.
#[derive(Debug, Clone)]
pub struct GitPlaces {
    pub scratch: PathBuf,
    pub known_hosts: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Credentials(#[from] GitAuthError),
    #[error(transparent)]
    Run(Box<RunError>),
    #[error("cannot prepare the clone at {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<RunError> for CheckoutError {
    fn from(error: RunError) -> Self {
        Self::Run(Box::new(error))
    }
}

impl upkeep_hint::Hint for CheckoutError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Git(error) => error.hint(),
            Self::Run(error) => error.hint(),
            Self::Credentials(_) | Self::Io { .. } => None,
        }
    }
}

/// Clones `url` into `dir` on first use (again when `dir` holds a clone of another URL), then
/// brings every branch up to date. The credentials exist only while git talks to the remote.
pub fn prepare_clone(
    url: &str,
    credentials: &GitCredentials,
    dir: &Path,
    places: &GitPlaces,
) -> Result<Git, CheckoutError> {
    let auth = GitAuth::prepare(credentials, &places.scratch, &places.known_hosts)?;
    let io = |source| CheckoutError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let existing = Git::open(dir)
        .ok()
        .filter(|_| dir.join(".git").is_dir())
        .filter(|git| git.remote_url("origin").is_ok_and(|found| found == url));
    let git = if let Some(git) = existing {
        git.with_git_env(auth.env())
    } else {
        if dir.exists() {
            fs_err::remove_dir_all(dir).map_err(io)?;
        }
        if let Some(parent) = dir.parent() {
            fs_err::create_dir_all(parent).map_err(io)?;
        }
        Git::clone_from_with(url, dir, auth.env())?
    };
    git.mirror_branches("origin")?;
    // Later commands of the run work on the clone alone; the credentials go now.
    drop(auth);
    Ok(Git::open(dir)?)
}

/// Checks out what a run of `environment` runs — `revision`, or else the environment's branch
/// as `upkeep.yml` of the default branch names it — and loads that commit's `upkeep.yml`.
/// Returns the context and the revision checked out.
pub fn check_out_for_run(
    git: &Git,
    clone: &Path,
    environment: &str,
    revision: Option<&str>,
    state_dir: &Path,
) -> Result<(EnvironmentContext, String), CheckoutError> {
    let revision = if let Some(revision) = revision {
        revision.to_string()
    } else {
        // The environment's branch is in upkeep.yml of the default branch.
        git.checkout_detached(Git::REMOTE_HEAD)?;
        let context = EnvironmentContext::load(clone, environment, Some(state_dir))?;
        context
            .environment
            .branch
            .clone()
            .unwrap_or_else(|| Git::REMOTE_HEAD.to_string())
    };
    git.checkout_detached(&revision)?;
    let context = EnvironmentContext::load(clone, environment, Some(state_dir))?;
    Ok((context, revision))
}
