//! Personal API tokens for the API and `upkeep remote`: stored hashed, shown once by the
//! server, revocable, with the time of their last use.

use std::future::Future;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::accounts::AccountId;
use crate::page::{Page, PageRequest};
use crate::time::{from_millis, from_optional_millis, to_millis};
use crate::{Store, StoreError};

/// How exact a token's "last used" time is. Writing it on every request made every API call a
/// write, and writes are serialised (SQLite has one writer): that capped the API's throughput
/// under load. A minute is precise enough to tell a forgotten token from one in use.
pub const LAST_USE_PRECISION: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiTokenId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub account: AccountId,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

pub trait ApiTokenStore {
    fn create_api_token(
        &self,
        account: AccountId,
        name: &str,
        token_hash: &str,
    ) -> impl Future<Output = Result<ApiToken, StoreError>> + Send;
    /// The account of a token that is not revoked, recording its use at `now` when the last
    /// recorded use is older than [`LAST_USE_PRECISION`].
    fn use_api_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<AccountId>, StoreError>> + Send;
    fn revoke_api_token(
        &self,
        account: AccountId,
        id: ApiTokenId,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A page of the tokens of an account, revoked ones included, newest first.
    fn api_tokens(
        &self,
        account: AccountId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<ApiToken>, StoreError>> + Send;
}

const COLUMNS: &str = "id, account_id, name, created_at, last_used_at, revoked_at";

fn token_from(row: &AnyRow) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: ApiTokenId(row.try_get("id")?),
        account: AccountId(row.try_get("account_id")?),
        name: row.try_get("name")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        last_used_at: from_optional_millis(row.try_get("last_used_at")?)?,
        revoked_at: from_optional_millis(row.try_get("revoked_at")?)?,
    })
}

impl ApiTokenStore for Store {
    async fn create_api_token(
        &self,
        account: AccountId,
        name: &str,
        token_hash: &str,
    ) -> Result<ApiToken, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO api_tokens (account_id, name, token_hash, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
        ))
        .bind(account.0)
        .bind(name)
        .bind(token_hash)
        .bind(to_millis(Timestamp::now()))
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::duplicate("API token", "(hidden)"))?;
        token_from(&row)
    }

    async fn use_api_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<AccountId>, StoreError> {
        // A read first: most requests find a recent enough use and write nothing.
        let row = sqlx::query(
            "SELECT account_id, last_used_at FROM api_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let account = AccountId(row.try_get("account_id")?);
        let last_used = from_optional_millis(row.try_get("last_used_at")?)?;
        let stale_before = now
            .checked_sub(LAST_USE_PRECISION)
            .unwrap_or(Timestamp::MIN);
        if last_used.is_some_and(|at| at > stale_before) {
            return Ok(Some(account));
        }
        // The condition again in the write, so that concurrent requests write it once; and the
        // revocation again, so that a token revoked in between is refused.
        let row = sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 \
             WHERE token_hash = $2 AND revoked_at IS NULL \
             AND (last_used_at IS NULL OR last_used_at <= $3) \
             RETURNING account_id",
        )
        .bind(to_millis(now))
        .bind(token_hash)
        .bind(to_millis(stale_before))
        .fetch_optional(self.pool())
        .await?;
        if row.is_some() {
            return Ok(Some(account));
        }
        // Another request recorded the use first, or the token was revoked meanwhile.
        let still_valid = sqlx::query(
            "SELECT account_id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        Ok(still_valid.map(|_| account))
    }

    async fn revoke_api_token(
        &self,
        account: AccountId,
        id: ApiTokenId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL",
        )
        .bind(to_millis(now))
        .bind(id.0)
        .bind(account.0)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "API token",
                id: id.0.to_string(),
            });
        }
        Ok(())
    }

    async fn api_tokens(
        &self,
        account: AccountId,
        page: PageRequest,
    ) -> Result<Page<ApiToken>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE account_id = $1 AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(account.0)
        .bind(page.before_bound())
        .bind(page.fetch())
        .fetch_all(self.pool())
        .await?;
        let tokens = rows.iter().map(token_from).collect::<Result<_, _>>()?;
        Ok(Page::of(tokens, page, |token: &ApiToken| token.id.0))
    }
}
