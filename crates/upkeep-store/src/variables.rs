//! Variables and secrets of a workspace and of its environments, which every step of a run
//! receives. A secret's value arrives sealed by the server (its key is never in the database)
//! and is never read back in clear by anyone but the executor.

use std::future::Future;

use jiff::Timestamp;
use sqlx::Row;

use crate::accounts::AccountId;
use crate::time::{from_millis, to_millis};
use crate::workspaces::WorkspaceId;
use crate::{Store, StoreError};

/// Where a variable applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Every environment of the workspace.
    Workspace,
    /// One environment, over the workspace's variable of the same name.
    Environment(String),
}

impl Scope {
    /// The database's spelling: `''` for the workspace.
    fn column(&self) -> &str {
        match self {
            Self::Workspace => "",
            Self::Environment(name) => name,
        }
    }

    fn from_column(column: String) -> Self {
        if column.is_empty() {
            Self::Workspace
        } else {
            Self::Environment(column)
        }
    }
}

/// A variable's value as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredValue {
    Plain(String),
    /// Sealed with the server's key.
    Sealed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub workspace: WorkspaceId,
    pub scope: Scope,
    pub name: String,
    pub value: StoredValue,
    pub updated_by: Option<AccountId>,
    pub updated_at: Timestamp,
}

impl Variable {
    pub fn is_secret(&self) -> bool {
        matches!(self.value, StoredValue::Sealed(_))
    }
}

pub trait VariableStore {
    /// Sets a variable, replacing its value (and whether it is secret) when it exists.
    fn set_variable(
        &self,
        workspace: WorkspaceId,
        scope: &Scope,
        name: &str,
        value: &StoredValue,
        by: AccountId,
    ) -> impl Future<Output = Result<Variable, StoreError>> + Send;
    /// Removes a variable; `false` when there was none.
    fn delete_variable(
        &self,
        workspace: WorkspaceId,
        scope: &Scope,
        name: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The workspace's variables and those of every environment, by scope then name.
    fn variables(
        &self,
        workspace: WorkspaceId,
    ) -> impl Future<Output = Result<Vec<Variable>, StoreError>> + Send;
}

impl VariableStore for Store {
    async fn set_variable(
        &self,
        workspace: WorkspaceId,
        scope: &Scope,
        name: &str,
        value: &StoredValue,
        by: AccountId,
    ) -> Result<Variable, StoreError> {
        let now = Timestamp::now();
        let (plain, sealed) = match value {
            StoredValue::Plain(value) => (Some(value.as_str()), None),
            StoredValue::Sealed(value) => (None, Some(value.as_str())),
        };
        sqlx::query(
            "INSERT INTO variables (workspace_id, environment, name, value, sealed_value, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (workspace_id, environment, name) DO UPDATE SET \
             value = excluded.value, sealed_value = excluded.sealed_value, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(workspace.0)
        .bind(scope.column())
        .bind(name)
        .bind(plain)
        .bind(sealed)
        .bind(by.0)
        .bind(to_millis(now))
        .execute(self.pool())
        .await?;
        Ok(Variable {
            workspace,
            scope: scope.clone(),
            name: name.to_string(),
            value: value.clone(),
            updated_by: Some(by),
            updated_at: from_millis(to_millis(now))?,
        })
    }

    async fn delete_variable(
        &self,
        workspace: WorkspaceId,
        scope: &Scope,
        name: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM variables WHERE workspace_id = $1 AND environment = $2 AND name = $3",
        )
        .bind(workspace.0)
        .bind(scope.column())
        .bind(name)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn variables(&self, workspace: WorkspaceId) -> Result<Vec<Variable>, StoreError> {
        let rows = sqlx::query(
            "SELECT environment, name, value, sealed_value, updated_by, updated_at FROM variables \
             WHERE workspace_id = $1 ORDER BY environment, name",
        )
        .bind(workspace.0)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|row| {
                let plain: Option<String> = row.try_get("value")?;
                let sealed: Option<String> = row.try_get("sealed_value")?;
                let value = match (plain, sealed) {
                    (Some(plain), None) => StoredValue::Plain(plain),
                    (None, Some(sealed)) => StoredValue::Sealed(sealed),
                    _ => {
                        return Err(StoreError::Corrupt {
                            what: "variable value",
                            value: row.try_get("name")?,
                        });
                    }
                };
                Ok(Variable {
                    workspace,
                    scope: Scope::from_column(row.try_get("environment")?),
                    name: row.try_get("name")?,
                    value,
                    updated_by: row.try_get::<Option<i64>, _>("updated_by")?.map(AccountId),
                    updated_at: from_millis(row.try_get("updated_at")?)?,
                })
            })
            .collect()
    }
}
