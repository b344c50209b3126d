//! The OAuth apps the server was started with (GitHub's, GitLab's, each on the public instance
//! or a self-hosted one), and keeping the tokens they grant usable: an OAuth token that
//! expires (GitLab's last two hours) is refreshed before the server uses it — for git or the
//! provider's API — once it has less than [`REFRESH_MARGIN`] left, and the new pair is sealed
//! and stored (GitLab rotates the refresh token, so the old one works once). A refresh that
//! fails is recorded on the repository, for its status, and says to reconnect.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};
use upkeep_forge::forge::Token;
use upkeep_forge::oauth::{OAuthApp, OAuthError, OAuthTokens};
use upkeep_forge::remote::ForgeKind;
use upkeep_store::{
    Provider, RefreshedToken, Repository, RepositoryStore, Store, StoreError, WorkspaceId,
};

use crate::clock::Clock;
use crate::connection::{RepositoryAccess, http_host, is_loopback};
use crate::sealing::{SealError, Sealer};
use crate::webhook_setup::provider_name;

/// A token with less than this left is refreshed before it is used: enough for the git
/// command or API call at hand.
pub const REFRESH_MARGIN: SignedDuration = SignedDuration::from_mins(5);

/// One OAuth app: its client id and secret, and the instance it is registered on.
#[derive(Clone)]
pub struct OAuthClientSettings {
    pub client_id: String,
    /// From the environment only (`UPKEEP_GITHUB_OAUTH_CLIENT_SECRET`, …): a process list
    /// shows arguments.
    pub client_secret: String,
    /// Where people sign in (GitHub Enterprise, a self-hosted GitLab); `None`: the public
    /// instance.
    pub url: Option<String>,
}

impl fmt::Debug for OAuthClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClientSettings")
            .field("client_id", &self.client_id)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The OAuth apps of the server; without one, a provider is connected with a token only.
#[derive(Debug, Clone, Default)]
pub struct OAuthSettings {
    pub github: Option<OAuthClientSettings>,
    pub gitlab: Option<OAuthClientSettings>,
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthSettingsError {
    #[error("the {provider} OAuth app: {source}")]
    App {
        provider: &'static str,
        #[source]
        source: OAuthError,
    },
    #[error(
        "the {provider} OAuth app is at `{url}`, which is not https://: its client secret and the tokens would cross the network in clear (plain http only on this machine)"
    )]
    Insecure { provider: &'static str, url: String },
}

/// The server's OAuth apps, ready to use.
#[derive(Clone, Default)]
pub struct OAuthApps {
    github: Option<Arc<OAuthApp>>,
    gitlab: Option<Arc<OAuthApp>>,
}

impl OAuthApps {
    pub fn new(settings: &OAuthSettings) -> Result<Self, OAuthSettingsError> {
        let app = |provider: Provider, client: &Option<OAuthClientSettings>| {
            let (kind, name, default_url) = match provider {
                Provider::GitLab => (ForgeKind::GitLab, "GitLab", upkeep_forge::oauth::GITLAB_WEB),
                _ => (ForgeKind::GitHub, "GitHub", upkeep_forge::oauth::GITHUB_WEB),
            };
            client
                .as_ref()
                .map(|client| {
                    let url = client.url.as_deref().unwrap_or(default_url);
                    if url.starts_with("http://") && !is_loopback(http_host(url)) {
                        return Err(OAuthSettingsError::Insecure {
                            provider: name,
                            url: url.to_string(),
                        });
                    }
                    OAuthApp::new(
                        kind,
                        url,
                        &client.client_id,
                        Token::new(client.client_secret.clone()),
                    )
                    .map(Arc::new)
                    .map_err(|source| OAuthSettingsError::App {
                        provider: name,
                        source,
                    })
                })
                .transpose()
        };
        Ok(Self {
            github: app(Provider::GitHub, &settings.github)?,
            gitlab: app(Provider::GitLab, &settings.gitlab)?,
        })
    }

    /// The app of `provider`, when the server has one.
    pub fn get(&self, provider: Provider) -> Option<Arc<OAuthApp>> {
        match provider {
            Provider::GitHub => self.github.clone(),
            Provider::GitLab => self.gitlab.clone(),
            Provider::Git => None,
        }
    }

    /// The providers that have an app: `github`, `gitlab`.
    pub fn providers(&self) -> Vec<String> {
        [Provider::GitHub, Provider::GitLab]
            .into_iter()
            .filter(|provider| self.get(*provider).is_some())
            .map(|provider| provider.as_str().to_string())
            .collect()
    }
}

/// Where the provider sends the browser back: the callback URL to register with the app.
pub fn callback_url(public_url: &str, provider: Provider) -> String {
    format!("{public_url}/oauth/{}/callback", provider.as_str())
}

/// When a token that lasts `expires_in` seconds from `now` expires.
pub fn expiry(now: Timestamp, tokens: &OAuthTokens) -> Option<Timestamp> {
    let seconds = i64::try_from(tokens.expires_in?).ok()?;
    now.checked_add(SignedDuration::from_secs(seconds)).ok()
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The token expired, or is about to, and could not be refreshed.
    #[error("{0}")]
    Refresh(String),
}

/// Opens repositories' credentials, keeping OAuth tokens usable: a token that expires within
/// [`REFRESH_MARGIN`] is refreshed first, one refresh at a time per workspace. Cheap to clone.
#[derive(Clone)]
pub struct TokenKeeper {
    inner: Arc<Keeper>,
}

struct Keeper {
    store: Store,
    sealer: Sealer,
    apps: OAuthApps,
    public_url: String,
    clock: Arc<dyn Clock>,
    /// Held per workspace while its token is refreshed: GitLab takes a refresh token once.
    refreshing: Mutex<HashMap<WorkspaceId, Arc<tokio::sync::Mutex<()>>>>,
}

impl TokenKeeper {
    pub fn new(
        store: Store,
        sealer: Sealer,
        apps: OAuthApps,
        public_url: &str,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Keeper {
                store,
                sealer,
                apps,
                public_url: public_url.to_string(),
                clock,
                refreshing: Mutex::default(),
            }),
        }
    }

    /// The server's OAuth apps.
    pub fn apps(&self) -> &OAuthApps {
        &self.inner.apps
    }

    /// The access to `repository`, with its credentials opened — an OAuth token that expires
    /// within [`REFRESH_MARGIN`] refreshed first.
    pub async fn open(&self, repository: &Repository) -> Result<RepositoryAccess, AccessError> {
        let keeper = &self.inner;
        if !expiring(repository.token_expires_at, keeper.clock.now()) {
            return Ok(RepositoryAccess::open(repository, &keeper.sealer)?);
        }
        let lock = refresh_lock(&keeper.refreshing, repository.workspace);
        let _refreshing = lock.lock().await;
        let store = &keeper.store;
        // Another request may have refreshed it while this one waited.
        let Some(current) = store.repository(repository.workspace).await? else {
            return Ok(RepositoryAccess::open(repository, &keeper.sealer)?);
        };
        if !expiring(current.token_expires_at, keeper.clock.now()) {
            return Ok(RepositoryAccess::open(&current, &keeper.sealer)?);
        }
        if let Err(reason) = self.refresh(&current).await {
            // A replica of the server may have refreshed it meanwhile (its refresh token is
            // another now): its token is good.
            if let Some(latest) = store.repository(repository.workspace).await?
                && latest.refresh_token_sealed != current.refresh_token_sealed
            {
                return Ok(RepositoryAccess::open(&latest, &keeper.sealer)?);
            }
            let message = format!(
                "the {} OAuth token of the repository expired and could not be refreshed ({reason}); reconnect the repository by OAuth (POST /api/v1/workspaces/{}/repository/oauth)",
                provider_name(current.provider),
                current.workspace.0
            );
            store.set_token_error(current.workspace, &message).await?;
            return Err(AccessError::Refresh(message));
        }
        let refreshed = store
            .repository(repository.workspace)
            .await?
            .unwrap_or(current);
        Ok(RepositoryAccess::open(&refreshed, &keeper.sealer)?)
    }

    /// `access` to `workspace`'s repository as it is, unless its OAuth token expires within
    /// [`REFRESH_MARGIN`] (a run may wait for its turn): then the repository's credentials
    /// opened again, refreshed — while it is still the same repository.
    pub async fn renew(
        &self,
        workspace: WorkspaceId,
        access: &RepositoryAccess,
    ) -> Result<RepositoryAccess, AccessError> {
        if !expiring(access.token_expires_at, self.inner.clock.now()) {
            return Ok(access.clone());
        }
        match self.inner.store.repository(workspace).await? {
            Some(repository) if repository.url == access.url => self.open(&repository).await,
            _ => Ok(access.clone()),
        }
    }

    /// Gets a new pair with the stored refresh token and stores it (if no other refresh
    /// stored one first), or says why not.
    async fn refresh(&self, repository: &Repository) -> Result<(), String> {
        let keeper = &self.inner;
        let sealer = &keeper.sealer;
        let previous = repository
            .refresh_token_sealed
            .clone()
            .ok_or("the provider gave no refresh token")?;
        let refresh_token = sealer.open(&previous).map_err(|error| error.to_string())?;
        let app = keeper.apps.get(repository.provider).ok_or_else(|| {
            format!(
                "the server has no {} OAuth app any more",
                provider_name(repository.provider)
            )
        })?;
        let redirect_uri = callback_url(&keeper.public_url, repository.provider);
        let tokens = tokio::task::spawn_blocking(move || {
            app.refresh(&Token::new(refresh_token), &redirect_uri)
        })
        .await
        .map_err(|error| error.to_string())?
        .map_err(|error| error.to_string())?;
        let token_sealed = sealer
            .seal(tokens.access_token.expose())
            .map_err(|error| error.to_string())?;
        let refresh_token_sealed = tokens
            .refresh_token
            .as_ref()
            .map(|token| sealer.seal(token.expose()))
            .transpose()
            .map_err(|error| error.to_string())?;
        keeper
            .store
            .replace_token(
                repository.workspace,
                &previous,
                &RefreshedToken {
                    token_sealed: &token_sealed,
                    // A provider that does not rotate keeps the refresh token it gave.
                    refresh_token_sealed: Some(
                        refresh_token_sealed.as_deref().unwrap_or(&previous),
                    ),
                    expires_at: expiry(keeper.clock.now(), &tokens),
                },
            )
            .await
            .map_err(|error| error.to_string())?;
        Ok(())
    }
}

/// Whether a token that expires at `expires_at` must be refreshed before it is used at `now`.
fn expiring(expires_at: Option<Timestamp>, now: Timestamp) -> bool {
    expires_at.is_some_and(|expires| expires.duration_since(now) < REFRESH_MARGIN)
}

/// The lock of `workspace`'s refreshes.
fn refresh_lock(
    locks: &Mutex<HashMap<WorkspaceId, Arc<tokio::sync::Mutex<()>>>>,
    workspace: WorkspaceId,
) -> Arc<tokio::sync::Mutex<()>> {
    Arc::clone(
        locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(workspace)
            .or_default(),
    )
}
