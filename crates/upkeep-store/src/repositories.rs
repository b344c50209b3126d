//! The repository each workspace is connected to.

use std::future::Future;

use jiff::Timestamp;
use sqlx::Row;

use crate::accounts::AccountId;
use crate::time::{from_millis, to_millis};
use crate::workspaces::WorkspaceId;
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub workspace: WorkspaceId,
    /// A git URL: `https://…`, `ssh://…`, `git@host:path` or `file://…`.
    pub url: String,
    pub connected_by: Option<AccountId>,
    pub connected_at: Timestamp,
}

pub trait RepositoryStore {
    /// Connects the workspace to `url`, replacing an earlier connection.
    fn connect_repository(
        &self,
        workspace: WorkspaceId,
        url: &str,
        by: AccountId,
    ) -> impl Future<Output = Result<Repository, StoreError>> + Send;
    fn repository(
        &self,
        workspace: WorkspaceId,
    ) -> impl Future<Output = Result<Option<Repository>, StoreError>> + Send;
    /// Keeps the repository's webhook secret, sealed by the caller with the server's key.
    fn set_webhook_secret(
        &self,
        workspace: WorkspaceId,
        sealed: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The sealed webhook secret, when the repository has one.
    fn webhook_secret(
        &self,
        workspace: WorkspaceId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

impl RepositoryStore for Store {
    async fn connect_repository(
        &self,
        workspace: WorkspaceId,
        url: &str,
        by: AccountId,
    ) -> Result<Repository, StoreError> {
        let now = Timestamp::now();
        sqlx::query(
            "INSERT INTO repositories (workspace_id, url, connected_by, connected_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id) DO UPDATE SET \
             url = excluded.url, connected_by = excluded.connected_by, connected_at = excluded.connected_at",
        )
        .bind(workspace.0)
        .bind(url)
        .bind(by.0)
        .bind(to_millis(now))
        .execute(self.pool())
        .await?;
        Ok(Repository {
            workspace,
            url: url.to_string(),
            connected_by: Some(by),
            connected_at: Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now),
        })
    }

    async fn set_webhook_secret(
        &self,
        workspace: WorkspaceId,
        sealed: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE repositories SET webhook_secret_sealed = $1 WHERE workspace_id = $2",
        )
        .bind(sealed)
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

    async fn repository(&self, workspace: WorkspaceId) -> Result<Option<Repository>, StoreError> {
        let row = sqlx::query(
            "SELECT url, connected_by, connected_at FROM repositories WHERE workspace_id = $1",
        )
        .bind(workspace.0)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(Repository {
                workspace,
                url: row.try_get("url")?,
                connected_by: row
                    .try_get::<Option<i64>, _>("connected_by")?
                    .map(AccountId),
                connected_at: from_millis(row.try_get("connected_at")?)?,
            })
        })
        .transpose()
    }
}
