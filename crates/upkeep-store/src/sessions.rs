//! Browser sessions: the cookie holds a random token, the store its hash, with the session's
//! CSRF token and its expiry.

use std::future::Future;

use jiff::Timestamp;
use sqlx::Row;

use crate::accounts::AccountId;
use crate::time::{from_millis, to_millis};
use crate::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub account: AccountId,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

pub trait SessionStore {
    fn create_session(
        &self,
        account: AccountId,
        token_hash: &str,
        csrf_token: &str,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The session of a token that has not expired at `now`.
    fn session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;
    fn delete_session(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Ends every session of the account but the one of `keep` (a changed password signs the
    /// account out everywhere else); how many ended.
    fn delete_other_sessions(
        &self,
        account: AccountId,
        keep: Option<&str>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

impl SessionStore for Store {
    async fn create_session(
        &self,
        account: AccountId,
        token_hash: &str,
        csrf_token: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (account_id, token_hash, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(account.0)
        .bind(token_hash)
        .bind(csrf_token)
        .bind(to_millis(Timestamp::now()))
        .bind(to_millis(expires_at))
        .execute(self.pool())
        .await
        .map_err(StoreError::duplicate("session", "(hidden)"))?;
        Ok(())
    }

    async fn session(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT account_id, csrf_token, expires_at FROM sessions \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(to_millis(now))
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(Session {
                account: AccountId(row.try_get("account_id")?),
                csrf_token: row.try_get("csrf_token")?,
                expires_at: from_millis(row.try_get("expires_at")?)?,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn delete_other_sessions(
        &self,
        account: AccountId,
        keep: Option<&str>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2")
            .bind(account.0)
            // No session hash is empty: without one to keep, every session ends.
            .bind(keep.unwrap_or_default())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
