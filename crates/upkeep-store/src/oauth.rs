//! OAuth authorisations on their way: a super user asked to connect a workspace's repository
//! through the provider's OAuth app, and the provider has not sent the browser back yet. The
//! `state` that comes back is stored hashed, bound to the workspace and the account that
//! started it, expires, and is used once — the use and its check are one statement, so two
//! callbacks with the same state cannot both pass. What the authorisation will connect (the
//! repository's URL, path, API and polling) waits here; no secret does.

use std::fmt;
use std::future::Future;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::accounts::AccountId;
use crate::repositories::Provider;
use crate::time::{from_millis, from_optional_millis, to_millis};
use crate::workspaces::WorkspaceId;
use crate::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OAuthAuthorisationId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthAuthorisation {
    pub id: OAuthAuthorisationId,
    pub workspace: WorkspaceId,
    /// Who started it; only their browser session may finish it.
    pub account: AccountId,
    /// GitHub or GitLab.
    pub provider: Provider,
    pub url: String,
    pub api_base: Option<String>,
    pub forge_path: Option<String>,
    pub poll_interval_seconds: i64,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewOAuthAuthorisation<'a> {
    /// The hash of the `state` sent to the provider; the state itself is never stored.
    pub state_hash: &'a str,
    pub workspace: WorkspaceId,
    pub account: AccountId,
    pub provider: Provider,
    pub url: &'a str,
    pub api_base: Option<&'a str>,
    pub forge_path: Option<&'a str>,
    pub poll_interval_seconds: i64,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Where an authorisation stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthAuthorisationState {
    Pending,
    Used,
    Expired,
}

impl fmt::Display for OAuthAuthorisationState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Pending => "is pending",
            Self::Used => "was used already",
            Self::Expired => "has expired",
        })
    }
}

impl OAuthAuthorisation {
    pub fn state(&self, now: Timestamp) -> OAuthAuthorisationState {
        if self.used_at.is_some() {
            OAuthAuthorisationState::Used
        } else if self.expires_at <= now {
            OAuthAuthorisationState::Expired
        } else {
            OAuthAuthorisationState::Pending
        }
    }
}

/// How long a finished authorisation is kept after it expired, so that a late callback is
/// told "expired" or "used" rather than "unknown".
const KEPT_AFTER_EXPIRY: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

pub trait OAuthStore {
    /// Stores a new authorisation (and forgets those expired for a day).
    fn create_oauth_authorisation(
        &self,
        authorisation: &NewOAuthAuthorisation<'_>,
    ) -> impl Future<Output = Result<OAuthAuthorisation, StoreError>> + Send;
    fn oauth_authorisation_by_state(
        &self,
        state_hash: &str,
    ) -> impl Future<Output = Result<Option<OAuthAuthorisation>, StoreError>> + Send;
    /// Uses the authorisation up, atomically: `true` when it was pending at `now`; `false`
    /// (nothing changed) when it was used already or has expired.
    fn use_oauth_authorisation(
        &self,
        id: OAuthAuthorisationId,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

const COLUMNS: &str = "id, workspace_id, account_id, provider, url, api_base, forge_path, \
                       poll_interval_seconds, created_at, expires_at, used_at";

fn authorisation_from(row: &AnyRow) -> Result<OAuthAuthorisation, StoreError> {
    let provider: String = row.try_get("provider")?;
    Ok(OAuthAuthorisation {
        id: OAuthAuthorisationId(row.try_get("id")?),
        workspace: WorkspaceId(row.try_get("workspace_id")?),
        account: AccountId(row.try_get("account_id")?),
        provider: Provider::from_name(&provider).ok_or_else(|| StoreError::Corrupt {
            what: "provider",
            value: provider.clone(),
        })?,
        url: row.try_get("url")?,
        api_base: row.try_get("api_base")?,
        forge_path: row.try_get("forge_path")?,
        poll_interval_seconds: row.try_get("poll_interval_seconds")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        expires_at: from_millis(row.try_get("expires_at")?)?,
        used_at: from_optional_millis(row.try_get("used_at")?)?,
    })
}

impl OAuthStore for Store {
    async fn create_oauth_authorisation(
        &self,
        authorisation: &NewOAuthAuthorisation<'_>,
    ) -> Result<OAuthAuthorisation, StoreError> {
        let forgotten = authorisation
            .created_at
            .checked_sub(KEPT_AFTER_EXPIRY)
            .unwrap_or(authorisation.created_at);
        sqlx::query("DELETE FROM oauth_authorisations WHERE expires_at < $1")
            .bind(to_millis(forgotten))
            .execute(self.pool())
            .await?;
        let row = sqlx::query(&format!(
            "INSERT INTO oauth_authorisations (state_hash, workspace_id, account_id, provider, url, \
             api_base, forge_path, poll_interval_seconds, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
        ))
        .bind(authorisation.state_hash)
        .bind(authorisation.workspace.0)
        .bind(authorisation.account.0)
        .bind(authorisation.provider.as_str())
        .bind(authorisation.url)
        .bind(authorisation.api_base)
        .bind(authorisation.forge_path)
        .bind(authorisation.poll_interval_seconds)
        .bind(to_millis(authorisation.created_at))
        .bind(to_millis(authorisation.expires_at))
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::duplicate("OAuth state", "(hidden)"))?;
        authorisation_from(&row)
    }

    async fn oauth_authorisation_by_state(
        &self,
        state_hash: &str,
    ) -> Result<Option<OAuthAuthorisation>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM oauth_authorisations WHERE state_hash = $1"
        ))
        .bind(state_hash)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(authorisation_from)
        .transpose()
    }

    async fn use_oauth_authorisation(
        &self,
        id: OAuthAuthorisationId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let used = sqlx::query(
            "UPDATE oauth_authorisations SET used_at = $1 \
             WHERE id = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(to_millis(now))
        .bind(id.0)
        .bind(to_millis(now))
        .execute(self.pool())
        .await?;
        Ok(used.rows_affected() > 0)
    }
}
