//! Who did what: invitations, role changes, repository switches, approvals, secret changes.
//! Written by the server, read by super users.

use std::future::Future;

use jiff::Timestamp;
use sqlx::Row;

use crate::accounts::AccountId;
use crate::page::{Page, PageRequest};
use crate::time::{from_millis, to_millis};
use crate::workspaces::WorkspaceId;
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub workspace: Option<WorkspaceId>,
    pub actor: Option<AccountId>,
    /// A stable name such as `invitation.created`, `role.changed`, `run.approved`.
    pub action: String,
    /// In words, without secrets.
    pub detail: String,
    pub at: Timestamp,
}

pub trait AuditStore {
    fn record_audit(
        &self,
        workspace: Option<WorkspaceId>,
        actor: Option<AccountId>,
        action: &str,
        detail: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A page of the entries of a workspace, newest first.
    fn audit_entries(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<AuditEntry>, StoreError>> + Send;
}

impl AuditStore for Store {
    async fn record_audit(
        &self,
        workspace: Option<WorkspaceId>,
        actor: Option<AccountId>,
        action: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (workspace_id, actor, action, detail, at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(workspace.map(|id| id.0))
        .bind(actor.map(|id| id.0))
        .bind(action)
        .bind(detail)
        .bind(to_millis(Timestamp::now()))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn audit_entries(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, workspace_id, actor, action, detail, at FROM audit_log \
             WHERE workspace_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(workspace.0)
        .bind(page.before_bound())
        .bind(page.fetch())
        .fetch_all(self.pool())
        .await?;
        let entries = rows
            .iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    workspace: row
                        .try_get::<Option<i64>, _>("workspace_id")?
                        .map(WorkspaceId),
                    actor: row.try_get::<Option<i64>, _>("actor")?.map(AccountId),
                    action: row.try_get("action")?,
                    detail: row.try_get("detail")?,
                    at: from_millis(row.try_get("at")?)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page::of(entries, page, |entry: &AuditEntry| entry.id))
    }
}
