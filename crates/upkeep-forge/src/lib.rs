//! Talking to where a project's code lives: git operations through the real `git` program
//! ([`git`]) with credentials that never reach an argument list or a file ([`git_auth`]),
//! which forge hosts a remote ([`remote`]), and the GitHub REST v3 and GitLab REST v4 clients
//! the upgrader opens pull and merge requests with and the server registers webhooks with
//! ([`forge`], [`github`], [`gitlab`]), and the OAuth apps through which a person gives a
//! server a token ([`oauth`]). With the feature `test-servers`, [`testing`] has
//! loopback doubles of both APIs and a git server over HTTP with basic auth for tests.
//!
//! ```no_run
//! use upkeep_forge::forge::{Forge, NewPullRequest, Token, connect};
//! use upkeep_forge::git::Git;
//! use upkeep_forge::remote::RemoteRepository;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let git = Git::open(".")?;
//! let remote = RemoteRepository::parse(&git.remote_url("origin")?)?;
//! let token = Token::from_env(remote.kind).ok_or("no token")?;
//! let forge = connect(&remote, None, token)?;
//! if forge.find_open_request("upkeep/upgrade-for-main", "main")?.is_none() {
//!     forge.create_request(&NewPullRequest {
//!         title: "Upgrade 12 packages".into(),
//!         body: "...".into(),
//!         head: "upkeep/upgrade-for-main".into(),
//!         base: "main".into(),
//!         draft: false,
//!     })?;
//! }
//! # Ok(())
//! # }
//! ```

pub mod forge;
pub mod git;
pub mod git_auth;
pub mod github;
pub mod gitlab;
pub mod oauth;
pub mod remote;
#[cfg(any(test, feature = "test-servers"))]
pub mod testing;

pub use forge::{Forge, ForgeError, NewPullRequest, PullRequest, Token};
pub use git::{Git, GitError, Identity};
pub use remote::{ForgeKind, RemoteRepository, RemoteUrlError};
