//! The repository each workspace is connected to: where it is (a git URL), through which
//! provider (GitHub, GitLab or plain git), its credentials sealed by the caller with the server's
//! key (this store never sees them in clear) and how they were given (an OAuth token with its
//! expiry and refresh token), its webhook, how often it is polled, and the branch
//! heads last seen, so that a push is run once whether a webhook or polling saw it first.

use std::future::Future;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::accounts::AccountId;
use crate::time::{from_millis, from_optional_millis, to_millis};
use crate::workspaces::WorkspaceId;
use crate::{Store, StoreError};

/// Who hosts the repository, which decides how the token is used and whether the webhook can
/// be registered through an API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Any git URL; credentials are a user name and password (https) or a key (ssh).
    Git,
    GitHub,
    GitLab,
}

impl Provider {
    pub const ALL: [Self; 3] = [Self::Git, Self::GitHub, Self::GitLab];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Git => "git",
            Self::GitHub => "github",
            Self::GitLab => "gitlab",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|provider| provider.as_str() == name)
    }
}

/// How the credentials of a connection were given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorisation {
    /// In the connection request: a token, a password or an ssh key.
    Credentials,
    /// Granted by a person through the provider's OAuth app; the token may expire, and then
    /// comes with a refresh token.
    OAuth,
}

impl Authorisation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credentials => "credentials",
            Self::OAuth => "oauth",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Credentials, Self::OAuth]
            .into_iter()
            .find(|authorisation| authorisation.as_str() == name)
    }
}

/// How pushes reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookStatus {
    /// The URL and secret were shown to be set up by hand; until a signed delivery arrives, the
    /// remote is polled.
    Manual,
    /// Registered through the provider's API.
    Registered,
    /// A signed delivery arrived: the webhook works.
    Receiving,
}

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Registered => "registered",
            Self::Receiving => "receiving",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Manual, Self::Registered, Self::Receiving]
            .into_iter()
            .find(|status| status.as_str() == name)
    }

    /// Whether pushes arrive by webhook, so that polling is not needed.
    pub fn works(self) -> bool {
        self != Self::Manual
    }
}

/// Who saw a branch head first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadSource {
    /// The heads when the repository was connected (nothing ran for them).
    Connect,
    Webhook,
    Poll,
}

impl HeadSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Webhook => "webhook",
            Self::Poll => "poll",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Connect, Self::Webhook, Self::Poll]
            .into_iter()
            .find(|source| source.as_str() == name)
    }
}

/// A connected repository. The `*_sealed` fields are sealed by the server; this store never
/// holds a credential in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub workspace: WorkspaceId,
    /// A git URL without credentials: `https://…`, `ssh://…`, `git@host:path` or `file://…`.
    pub url: String,
    pub provider: Provider,
    /// The provider's API (a self-hosted GitLab, GitHub Enterprise); `None`: from the URL.
    pub api_base: Option<String>,
    /// `owner/repo` or `group/sub/project` on the provider; `None`: from the URL.
    pub forge_path: Option<String>,
    /// The https user name (plain git).
    pub username: Option<String>,
    pub token_sealed: Option<String>,
    pub password_sealed: Option<String>,
    pub ssh_key_sealed: Option<String>,
    pub authorisation: Authorisation,
    /// An OAuth token's refresh token (GitLab rotates it at each refresh).
    pub refresh_token_sealed: Option<String>,
    /// When the OAuth access token expires; `None`: it does not.
    pub token_expires_at: Option<Timestamp>,
    /// Why the last refresh of the OAuth token failed, until one succeeds or the repository
    /// is connected again.
    pub token_error: Option<String>,
    pub webhook_status: WebhookStatus,
    /// Why the webhook is as it is (registered as hook 12; no token; the API refused: …).
    pub webhook_detail: String,
    /// The provider's id of the registered webhook.
    pub webhook_hook_id: Option<i64>,
    pub poll_interval_seconds: i64,
    pub connected_by: Option<AccountId>,
    pub connected_at: Timestamp,
}

/// An OAuth token and its refresh token, both sealed, after a refresh.
#[derive(Debug, Clone)]
pub struct RefreshedToken<'a> {
    pub token_sealed: &'a str,
    pub refresh_token_sealed: Option<&'a str>,
    pub expires_at: Option<Timestamp>,
}

/// What connecting a repository records.
#[derive(Debug, Clone)]
pub struct NewRepository<'a> {
    pub url: &'a str,
    pub provider: Provider,
    pub api_base: Option<&'a str>,
    pub forge_path: Option<&'a str>,
    pub username: Option<&'a str>,
    pub token_sealed: Option<&'a str>,
    pub password_sealed: Option<&'a str>,
    pub ssh_key_sealed: Option<&'a str>,
    pub authorisation: Authorisation,
    pub refresh_token_sealed: Option<&'a str>,
    pub token_expires_at: Option<Timestamp>,
    pub webhook_secret_sealed: &'a str,
    pub poll_interval_seconds: i64,
    /// The branches and their commits at connection time: polling runs what moves after.
    pub heads: &'a [(String, String)],
}

pub trait RepositoryStore {
    /// Connects the workspace, replacing an earlier connection, its credentials, webhook and
    /// heads, in one transaction. The webhook starts [`WebhookStatus::Manual`].
    fn connect_repository(
        &self,
        workspace: WorkspaceId,
        repository: &NewRepository<'_>,
        by: AccountId,
    ) -> impl Future<Output = Result<Repository, StoreError>> + Send;
    fn repository(
        &self,
        workspace: WorkspaceId,
    ) -> impl Future<Output = Result<Option<Repository>, StoreError>> + Send;
    /// Every connected repository (for polling and the upgrade schedule).
    fn repositories(&self) -> impl Future<Output = Result<Vec<Repository>, StoreError>> + Send;
    /// The sealed webhook secret, when the repository has one.
    fn webhook_secret(
        &self,
        workspace: WorkspaceId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    fn set_webhook_status(
        &self,
        workspace: WorkspaceId,
        status: WebhookStatus,
        detail: &str,
        hook_id: Option<i64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces the OAuth token of the workspace's connection after a refresh, and clears the
    /// token error — only if the refresh token is still `previous_refresh_sealed` (`false`
    /// otherwise: another refresh, or a new connection, came first).
    fn replace_token(
        &self,
        workspace: WorkspaceId,
        previous_refresh_sealed: &str,
        token: &RefreshedToken<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records why the OAuth token could not be refreshed.
    fn set_token_error(
        &self,
        workspace: WorkspaceId,
        error: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records that `branch` is at `commit`, seen by `source`. `true` when that is news (the
    /// branch was unknown or elsewhere), atomically: of two callers with the same news, one
    /// gets `true`.
    fn advance_head(
        &self,
        workspace: WorkspaceId,
        branch: &str,
        commit: &str,
        source: HeadSource,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Where `branch` was last seen, and by whom.
    fn head(
        &self,
        workspace: WorkspaceId,
        branch: &str,
    ) -> impl Future<Output = Result<Option<(String, HeadSource)>, StoreError>> + Send;
    /// Forgets the heads of branches not in `branches` (deleted on the remote).
    fn keep_heads(
        &self,
        workspace: WorkspaceId,
        branches: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

const COLUMNS: &str = "workspace_id, url, provider, api_base, forge_path, username, token_sealed, \
                       password_sealed, ssh_key_sealed, authorised_by, refresh_token_sealed, \
                       token_expires_at, token_error, webhook_status, webhook_detail, \
                       webhook_hook_id, poll_interval_seconds, connected_by, connected_at";

fn corrupt(what: &'static str, value: &str) -> StoreError {
    StoreError::Corrupt {
        what,
        value: value.to_string(),
    }
}

fn repository_from(row: &AnyRow) -> Result<Repository, StoreError> {
    let provider: String = row.try_get("provider")?;
    let webhook_status: String = row.try_get("webhook_status")?;
    let authorisation: String = row.try_get("authorised_by")?;
    Ok(Repository {
        workspace: WorkspaceId(row.try_get("workspace_id")?),
        url: row.try_get("url")?,
        provider: Provider::from_name(&provider).ok_or_else(|| corrupt("provider", &provider))?,
        api_base: row.try_get("api_base")?,
        forge_path: row.try_get("forge_path")?,
        username: row.try_get("username")?,
        token_sealed: row.try_get("token_sealed")?,
        password_sealed: row.try_get("password_sealed")?,
        ssh_key_sealed: row.try_get("ssh_key_sealed")?,
        authorisation: Authorisation::from_name(&authorisation)
            .ok_or_else(|| corrupt("authorisation", &authorisation))?,
        refresh_token_sealed: row.try_get("refresh_token_sealed")?,
        token_expires_at: from_optional_millis(row.try_get("token_expires_at")?)?,
        token_error: row.try_get("token_error")?,
        webhook_status: WebhookStatus::from_name(&webhook_status)
            .ok_or_else(|| corrupt("webhook status", &webhook_status))?,
        webhook_detail: row.try_get("webhook_detail")?,
        webhook_hook_id: row.try_get("webhook_hook_id")?,
        poll_interval_seconds: row.try_get("poll_interval_seconds")?,
        connected_by: row
            .try_get::<Option<i64>, _>("connected_by")?
            .map(AccountId),
        connected_at: from_millis(row.try_get("connected_at")?)?,
    })
}

impl RepositoryStore for Store {
    async fn connect_repository(
        &self,
        workspace: WorkspaceId,
        repository: &NewRepository<'_>,
        by: AccountId,
    ) -> Result<Repository, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO repositories (workspace_id, url, provider, api_base, forge_path, username, \
             token_sealed, password_sealed, ssh_key_sealed, webhook_secret_sealed, webhook_status, \
             webhook_detail, webhook_hook_id, poll_interval_seconds, connected_by, connected_at, \
             authorised_by, refresh_token_sealed, token_expires_at, token_error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '', NULL, $12, $13, $14, \
             $15, $16, $17, NULL) \
             ON CONFLICT (workspace_id) DO UPDATE SET url = excluded.url, \
             provider = excluded.provider, api_base = excluded.api_base, \
             forge_path = excluded.forge_path, username = excluded.username, \
             token_sealed = excluded.token_sealed, password_sealed = excluded.password_sealed, \
             ssh_key_sealed = excluded.ssh_key_sealed, \
             authorised_by = excluded.authorised_by, \
             refresh_token_sealed = excluded.refresh_token_sealed, \
             token_expires_at = excluded.token_expires_at, token_error = excluded.token_error, \
             webhook_secret_sealed = excluded.webhook_secret_sealed, \
             webhook_status = excluded.webhook_status, webhook_detail = excluded.webhook_detail, \
             webhook_hook_id = excluded.webhook_hook_id, \
             poll_interval_seconds = excluded.poll_interval_seconds, \
             connected_by = excluded.connected_by, connected_at = excluded.connected_at \
             RETURNING {COLUMNS}"
        ))
        .bind(workspace.0)
        .bind(repository.url)
        .bind(repository.provider.as_str())
        .bind(repository.api_base)
        .bind(repository.forge_path)
        .bind(repository.username)
        .bind(repository.token_sealed)
        .bind(repository.password_sealed)
        .bind(repository.ssh_key_sealed)
        .bind(repository.webhook_secret_sealed)
        .bind(WebhookStatus::Manual.as_str())
        .bind(repository.poll_interval_seconds)
        .bind(by.0)
        .bind(to_millis(Timestamp::now()))
        .bind(repository.authorisation.as_str())
        .bind(repository.refresh_token_sealed)
        .bind(repository.token_expires_at.map(to_millis))
        .fetch_one(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM repository_heads WHERE workspace_id = $1")
            .bind(workspace.0)
            .execute(&mut *transaction)
            .await?;
        for (branch, commit) in repository.heads {
            sqlx::query(
                "INSERT INTO repository_heads (workspace_id, branch, commit_id, seen_by) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(workspace.0)
            .bind(branch.as_str())
            .bind(commit.as_str())
            .bind(HeadSource::Connect.as_str())
            .execute(&mut *transaction)
            .await?;
        }
        let connected = repository_from(&row)?;
        transaction.commit().await?;
        Ok(connected)
    }

    async fn repository(&self, workspace: WorkspaceId) -> Result<Option<Repository>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM repositories WHERE workspace_id = $1"
        ))
        .bind(workspace.0)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(repository_from)
        .transpose()
    }

    async fn repositories(&self) -> Result<Vec<Repository>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM repositories ORDER BY workspace_id"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(repository_from).collect()
    }

    async fn webhook_secret(&self, workspace: WorkspaceId) -> Result<Option<String>, StoreError> {
        let row =
            sqlx::query("SELECT webhook_secret_sealed FROM repositories WHERE workspace_id = $1")
                .bind(workspace.0)
                .fetch_optional(self.pool())
                .await?;
        Ok(row
            .map(|row| row.try_get::<Option<String>, _>("webhook_secret_sealed"))
            .transpose()?
            .flatten())
    }

    async fn set_webhook_status(
        &self,
        workspace: WorkspaceId,
        status: WebhookStatus,
        detail: &str,
        hook_id: Option<i64>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE repositories SET webhook_status = $1, webhook_detail = $2, \
             webhook_hook_id = $3 WHERE workspace_id = $4",
        )
        .bind(status.as_str())
        .bind(detail)
        .bind(hook_id)
        .bind(workspace.0)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "repository of workspace",
                id: workspace.0.to_string(),
            });
        }
        Ok(())
    }

    async fn replace_token(
        &self,
        workspace: WorkspaceId,
        previous_refresh_sealed: &str,
        token: &RefreshedToken<'_>,
    ) -> Result<bool, StoreError> {
        // The condition and the change in one statement: of two refreshes of one token, one
        // is stored.
        let done = sqlx::query(
            "UPDATE repositories SET token_sealed = $1, refresh_token_sealed = $2, \
             token_expires_at = $3, token_error = NULL \
             WHERE workspace_id = $4 AND refresh_token_sealed = $5",
        )
        .bind(token.token_sealed)
        .bind(token.refresh_token_sealed)
        .bind(token.expires_at.map(to_millis))
        .bind(workspace.0)
        .bind(previous_refresh_sealed)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_token_error(&self, workspace: WorkspaceId, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE repositories SET token_error = $1 WHERE workspace_id = $2")
            .bind(error)
            .bind(workspace.0)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn advance_head(
        &self,
        workspace: WorkspaceId,
        branch: &str,
        commit: &str,
        source: HeadSource,
    ) -> Result<bool, StoreError> {
        // One statement, so that two callers with the same news cannot both see it as news:
        // the update only happens when the stored commit differs.
        let done = sqlx::query(
            "INSERT INTO repository_heads (workspace_id, branch, commit_id, seen_by) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, branch) DO UPDATE SET \
             commit_id = excluded.commit_id, seen_by = excluded.seen_by \
             WHERE repository_heads.commit_id <> excluded.commit_id",
        )
        .bind(workspace.0)
        .bind(branch)
        .bind(commit)
        .bind(source.as_str())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn head(
        &self,
        workspace: WorkspaceId,
        branch: &str,
    ) -> Result<Option<(String, HeadSource)>, StoreError> {
        let row = sqlx::query(
            "SELECT commit_id, seen_by FROM repository_heads WHERE workspace_id = $1 AND branch = $2",
        )
        .bind(workspace.0)
        .bind(branch)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            let seen_by: String = row.try_get("seen_by")?;
            Ok((
                row.try_get("commit_id")?,
                HeadSource::from_name(&seen_by).ok_or_else(|| corrupt("head source", &seen_by))?,
            ))
        })
        .transpose()
    }

    async fn keep_heads(
        &self,
        workspace: WorkspaceId,
        branches: &[String],
    ) -> Result<(), StoreError> {
        let known = sqlx::query("SELECT branch FROM repository_heads WHERE workspace_id = $1")
            .bind(workspace.0)
            .fetch_all(self.pool())
            .await?;
        for row in known {
            let branch: String = row.try_get("branch")?;
            if !branches.contains(&branch) {
                sqlx::query("DELETE FROM repository_heads WHERE workspace_id = $1 AND branch = $2")
                    .bind(workspace.0)
                    .bind(&branch)
                    .execute(self.pool())
                    .await?;
            }
        }
        Ok(())
    }
}
