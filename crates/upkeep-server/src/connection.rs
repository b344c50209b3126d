//! A workspace's repository as the server uses it: its URL, the credentials git gets (opened
//! from their sealed form only in memory, for the operation at hand) and, for GitHub and GitLab,
//! the API client's target and token. Git never sees a credential in its arguments or in a
//! URL: they go through [`GitAuth`] (a credential helper reading the environment, or an ssh key
//! in a private directory removed afterwards).

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use upkeep_forge::forge::{self, Forge, ForgeError, Token};
use upkeep_forge::git_auth::{GitAuth, GitAuthError, GitCredentials};
use upkeep_forge::remote::{ForgeKind, RemoteRepository};
use upkeep_store::{Authorisation, Provider, Repository};

use crate::sealing::{SealError, Sealer};

/// The user name git sends with a provider's token over https.
pub fn token_username(provider: Provider) -> &'static str {
    match provider {
        // GitHub takes any user name with a token; this one is what GitHub Apps use.
        Provider::GitHub | Provider::Git => "x-access-token",
        Provider::GitLab => "oauth2",
    }
}

/// How git reaches a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Http,
    Ssh,
    File,
}

impl Transport {
    pub fn of(url: &str) -> Self {
        if url.starts_with("https://") || url.starts_with("http://") {
            Self::Http
        } else if url.starts_with("file://") {
            Self::File
        } else {
            Self::Ssh
        }
    }
}

/// Whether `host` is this machine, where plain http does not cross a network.
pub fn is_loopback(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1")
}

/// The host of an `http(s)://` URL, without port.
pub fn http_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.starts_with('[') {
        return authority
            .split_once(']')
            .map_or(authority, |(host, _)| &authority[..=host.len()]);
    }
    authority.split(':').next().unwrap_or_default()
}

/// The repository's API on GitHub or GitLab.
#[derive(Debug, Clone)]
pub struct ForgeAccess {
    pub kind: ForgeKind,
    /// `owner/repo` or `group/sub/project`.
    pub path: String,
    /// `None`: the default for the URL's host.
    pub api_base: Option<String>,
    pub token: Token,
    /// The host of the URL, for the default API base.
    pub remote: Option<RemoteRepository>,
}

impl ForgeAccess {
    /// The API's base URL: the one configured, else the default for the URL's host.
    pub fn api_base_url(&self) -> Option<String> {
        self.api_base.clone().or_else(|| {
            self.remote
                .clone()
                .and_then(|remote| remote.with_kind(self.kind).api_base())
        })
    }

    /// The API client.
    pub fn client(&self) -> Result<Box<dyn Forge>, ForgeError> {
        let remote = self.remote.clone().map_or_else(
            || RemoteRepository {
                host: "configured".to_string(),
                web_port: None,
                path: self.path.clone(),
                kind: self.kind,
            },
            |remote| RemoteRepository {
                path: self.path.clone(),
                ..remote.with_kind(self.kind)
            },
        );
        forge::connect(&remote, self.api_base.as_deref(), self.token.clone())
    }
}

/// A connected repository with its credentials opened. Its `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct RepositoryAccess {
    pub url: String,
    pub provider: Provider,
    pub credentials: GitCredentials,
    /// `None` for plain git, or a provider connected without a token.
    pub forge: Option<ForgeAccess>,
    /// When the OAuth token in the credentials expires; `None`: it does not.
    pub token_expires_at: Option<Timestamp>,
}

impl RepositoryAccess {
    /// A repository without credentials (a public or local one).
    pub fn anonymous(url: &str) -> Self {
        Self {
            url: url.to_string(),
            provider: Provider::Git,
            credentials: GitCredentials::None,
            forge: None,
            token_expires_at: None,
        }
    }

    /// Opens the sealed credentials of `repository`.
    pub fn open(repository: &Repository, sealer: &Sealer) -> Result<Self, SealError> {
        let open = |sealed: &Option<String>| sealed.as_deref().map(|s| sealer.open(s)).transpose();
        let token = open(&repository.token_sealed)?;
        let password = open(&repository.password_sealed)?;
        let ssh_key = open(&repository.ssh_key_sealed)?;
        let access = Self::new(
            &repository.url,
            repository.provider,
            &Secrets {
                username: repository.username.clone(),
                token,
                password,
                ssh_key,
                // Only a refresh uses it, which opens it itself.
                refresh_token: None,
            },
            repository.forge_path.clone(),
            repository.api_base.clone(),
        );
        Ok(Self {
            token_expires_at: match repository.authorisation {
                Authorisation::OAuth => repository.token_expires_at,
                Authorisation::Credentials => None,
            },
            ..access
        })
    }

    /// The access that `secrets` give to `url` through `provider`.
    pub fn new(
        url: &str,
        provider: Provider,
        secrets: &Secrets,
        forge_path: Option<String>,
        api_base: Option<String>,
    ) -> Self {
        let transport = Transport::of(url);
        let credentials = match (transport, secrets) {
            (
                Transport::Ssh,
                Secrets {
                    ssh_key: Some(key), ..
                },
            ) => GitCredentials::SshKey {
                private_key: key.clone(),
            },
            (
                Transport::Http,
                Secrets {
                    token: Some(token), ..
                },
            ) => GitCredentials::Basic {
                username: token_username(provider).to_string(),
                password: token.clone(),
            },
            (
                Transport::Http,
                Secrets {
                    username: Some(username),
                    password: Some(password),
                    ..
                },
            ) => GitCredentials::Basic {
                username: username.clone(),
                password: password.clone(),
            },
            _ => GitCredentials::None,
        };
        let kind = match provider {
            Provider::GitHub => Some(ForgeKind::GitHub),
            Provider::GitLab => Some(ForgeKind::GitLab),
            Provider::Git => None,
        };
        let remote = RemoteRepository::parse(url).ok();
        let forge = kind.zip(secrets.token.clone()).and_then(|(kind, token)| {
            let path = forge_path.or_else(|| remote.as_ref().map(|r| r.path.clone()))?;
            Some(ForgeAccess {
                kind,
                path,
                api_base,
                token: Token::new(token),
                remote,
            })
        });
        Self {
            url: url.to_string(),
            provider,
            credentials,
            forge,
            token_expires_at: None,
        }
    }

    /// The credentials ready for git, in a private directory under the data directory that is
    /// removed when the returned value is dropped.
    pub fn git_auth(&self, data_dir: &Path) -> Result<GitAuth, GitAuthError> {
        let places = git_places(data_dir);
        GitAuth::prepare(&self.credentials, &places.scratch, &places.known_hosts)
    }
}

/// Where the server prepares git's credentials, and the ssh host keys it has seen.
pub fn git_places(data_dir: &Path) -> upkeep_runner::checkout::GitPlaces {
    upkeep_runner::checkout::GitPlaces {
        scratch: scratch_dir(data_dir),
        known_hosts: data_dir.join("known_hosts"),
    }
}

/// Credentials in clear, between a request (or the store, opened) and their use.
#[derive(Default, Clone)]
pub struct Secrets {
    pub username: Option<String>,
    pub token: Option<String>,
    pub password: Option<String>,
    pub ssh_key: Option<String>,
    /// The refresh token of an OAuth token that expires.
    pub refresh_token: Option<String>,
}

/// Where git credentials are prepared: private to the server's user, emptied at start.
pub fn scratch_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("tmp")
}
