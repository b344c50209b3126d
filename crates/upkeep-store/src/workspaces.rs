//! Workspaces (an agency runs one server for all its shops) and who belongs to them, in which
//! role.

use std::fmt;
use std::future::Future;
use std::str::FromStr;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::accounts::AccountId;
use crate::page::{Page, PageRequest};
use crate::time::{from_millis, to_millis};
use crate::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkspaceId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: Timestamp,
}

/// What a member may do in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Read-write: repository, people, roles, settings, variables and secrets, approvals.
    SuperUser,
    /// Read-only, plus running pipelines.
    RegularUser,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SuperUser => "super_user",
            Self::RegularUser => "regular_user",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = StoreError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "super_user" => Ok(Self::SuperUser),
            "regular_user" => Ok(Self::RegularUser),
            _ => Err(StoreError::Corrupt {
                what: "role",
                value: text.to_string(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub account: AccountId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

pub trait WorkspaceStore {
    /// Creates a workspace with `owner` as its first super user, in one transaction.
    fn create_workspace(
        &self,
        name: &str,
        owner: AccountId,
    ) -> impl Future<Output = Result<Workspace, StoreError>> + Send;
    fn workspace(
        &self,
        id: WorkspaceId,
    ) -> impl Future<Output = Result<Option<Workspace>, StoreError>> + Send;
    /// The workspaces `account` belongs to, with its role in each, oldest first.
    fn workspaces_of(
        &self,
        account: AccountId,
    ) -> impl Future<Output = Result<Vec<(Workspace, Role)>, StoreError>> + Send;
    fn role_of(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
    ) -> impl Future<Output = Result<Option<Role>, StoreError>> + Send;
    /// Adds `account` to the workspace, or changes its role.
    fn set_role(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        role: Role,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A page of the members of a workspace, newest account first.
    fn members(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Member>, StoreError>> + Send;
    /// The super users of a workspace (a workspace keeps at least one).
    fn super_users(
        &self,
        workspace: WorkspaceId,
    ) -> impl Future<Output = Result<Vec<AccountId>, StoreError>> + Send;
}

fn workspace_from(row: &AnyRow) -> Result<Workspace, StoreError> {
    Ok(Workspace {
        id: WorkspaceId(row.try_get("id")?),
        name: row.try_get("name")?,
        created_at: from_millis(row.try_get("created_at")?)?,
    })
}

pub(crate) const UPSERT_MEMBERSHIP: &str = "INSERT INTO memberships (workspace_id, account_id, role) \
     VALUES ($1, $2, $3) ON CONFLICT (workspace_id, account_id) DO UPDATE SET role = excluded.role";

impl WorkspaceStore for Store {
    async fn create_workspace(
        &self,
        name: &str,
        owner: AccountId,
    ) -> Result<Workspace, StoreError> {
        let mut transaction = self.pool().begin().await?;
        let row = sqlx::query(
            "INSERT INTO workspaces (name, created_at) VALUES ($1, $2) RETURNING id, name, created_at",
        )
        .bind(name)
        .bind(to_millis(Timestamp::now()))
        .fetch_one(&mut *transaction)
        .await
        .map_err(StoreError::duplicate("workspace", name))?;
        let workspace = workspace_from(&row)?;
        sqlx::query(UPSERT_MEMBERSHIP)
            .bind(workspace.id.0)
            .bind(owner.0)
            .bind(Role::SuperUser.as_str())
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(workspace)
    }

    async fn workspace(&self, id: WorkspaceId) -> Result<Option<Workspace>, StoreError> {
        sqlx::query("SELECT id, name, created_at FROM workspaces WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(workspace_from)
            .transpose()
    }

    async fn workspaces_of(
        &self,
        account: AccountId,
    ) -> Result<Vec<(Workspace, Role)>, StoreError> {
        let rows = sqlx::query(
            "SELECT w.id, w.name, w.created_at, m.role FROM workspaces w \
             JOIN memberships m ON m.workspace_id = w.id WHERE m.account_id = $1 ORDER BY w.id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get("role")?;
                Ok((workspace_from(row)?, role.parse()?))
            })
            .collect()
    }

    async fn role_of(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
    ) -> Result<Option<Role>, StoreError> {
        let row =
            sqlx::query("SELECT role FROM memberships WHERE workspace_id = $1 AND account_id = $2")
                .bind(workspace.0)
                .bind(account.0)
                .fetch_optional(self.pool())
                .await?;
        row.map(|row| row.try_get::<String, _>("role")?.parse())
            .transpose()
    }

    async fn set_role(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        role: Role,
    ) -> Result<(), StoreError> {
        sqlx::query(UPSERT_MEMBERSHIP)
            .bind(workspace.0)
            .bind(account.0)
            .bind(role.as_str())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn members(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> Result<Page<Member>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.email, a.display_name, m.role FROM memberships m \
             JOIN accounts a ON a.id = m.account_id WHERE m.workspace_id = $1 AND m.account_id < $2 \
             ORDER BY m.account_id DESC LIMIT $3",
        )
        .bind(workspace.0)
        .bind(page.before_bound())
        .bind(page.fetch())
        .fetch_all(self.pool())
        .await?;
        let members = rows
            .iter()
            .map(|row| {
                let role: String = row.try_get("role")?;
                Ok(Member {
                    account: AccountId(row.try_get("id")?),
                    email: row.try_get("email")?,
                    display_name: row.try_get("display_name")?,
                    role: role.parse()?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page::of(members, page, |member: &Member| member.account.0))
    }

    async fn super_users(&self, workspace: WorkspaceId) -> Result<Vec<AccountId>, StoreError> {
        let rows = sqlx::query(
            "SELECT account_id FROM memberships WHERE workspace_id = $1 AND role = $2 \
             ORDER BY account_id",
        )
        .bind(workspace.0)
        .bind(Role::SuperUser.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok(AccountId(row.try_get("account_id")?)))
            .collect()
    }
}
