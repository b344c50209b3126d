//! People who sign in. The store keeps password hashes; hashing is the server's.

use std::future::Future;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::time::{from_millis, from_optional_millis, to_millis};
use crate::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    /// The server's admin (the account created through the setup link).
    pub is_admin: bool,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub is_admin: bool,
}

pub trait AccountStore {
    /// Creates an account; an email in use is [`StoreError::Duplicate`]. Emails compare
    /// without regard to case.
    fn create_account(
        &self,
        account: &NewAccount<'_>,
    ) -> impl Future<Output = Result<Account, StoreError>> + Send;
    fn account(
        &self,
        id: AccountId,
    ) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send;
    fn account_by_email(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send;
    /// How many accounts exist: none means the server still waits for its setup.
    fn count_accounts(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;
    fn set_password_hash(
        &self,
        id: AccountId,
        password_hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

const COLUMNS: &str = "id, email, display_name, password_hash, is_admin, created_at, disabled_at";

fn account_from(row: &AnyRow) -> Result<Account, StoreError> {
    Ok(Account {
        id: AccountId(row.try_get("id")?),
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        created_at: from_millis(row.try_get("created_at")?)?,
        disabled_at: from_optional_millis(row.try_get("disabled_at")?)?,
    })
}

impl AccountStore for Store {
    async fn create_account(&self, account: &NewAccount<'_>) -> Result<Account, StoreError> {
        let email = account.email.trim().to_lowercase();
        let row = sqlx::query(&format!(
            "INSERT INTO accounts (email, display_name, password_hash, is_admin, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
        ))
        .bind(&email)
        .bind(account.display_name)
        .bind(account.password_hash)
        .bind(i64::from(account.is_admin))
        .bind(to_millis(Timestamp::now()))
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::duplicate("account", &email))?;
        account_from(&row)
    }

    async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM accounts WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(account_from)
            .transpose()
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM accounts WHERE email = $1"))
            .bind(email.trim().to_lowercase())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(account_from)
            .transpose()
    }

    async fn count_accounts(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM accounts")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    async fn set_password_hash(
        &self,
        id: AccountId,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id.0)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "account",
                id: id.0.to_string(),
            });
        }
        Ok(())
    }
}
