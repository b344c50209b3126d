//! One-time invitations into a workspace: the token is stored hashed, expires, is used once
//! and can be revoked. Accepting one adds the account to the workspace in the same transaction
//! that uses the invitation up, so two acceptances of one token cannot both succeed.

use std::fmt;
use std::future::Future;

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::accounts::AccountId;
use crate::page::{Page, PageRequest};
use crate::time::{from_millis, from_optional_millis, to_millis};
use crate::workspaces::{Role, UPSERT_MEMBERSHIP, WorkspaceId};
use crate::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InvitationId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub workspace: WorkspaceId,
    pub email: String,
    pub role: Role,
    pub invited_by: AccountId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub accepted_by: Option<AccountId>,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewInvitation<'a> {
    pub workspace: WorkspaceId,
    pub email: &'a str,
    pub role: Role,
    /// The hash of the token in the link; the token itself is never stored.
    pub token_hash: &'a str,
    pub invited_by: AccountId,
    pub expires_at: Timestamp,
}

/// Where an invitation stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Pending,
    Accepted,
    Expired,
    Revoked,
}

impl fmt::Display for InvitationState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Pending => "is pending",
            Self::Accepted => "was used already",
            Self::Expired => "has expired",
            Self::Revoked => "was revoked",
        })
    }
}

impl Invitation {
    pub fn state(&self, now: Timestamp) -> InvitationState {
        if self.revoked_at.is_some() {
            InvitationState::Revoked
        } else if self.accepted_at.is_some() {
            InvitationState::Accepted
        } else if self.expires_at <= now {
            InvitationState::Expired
        } else {
            InvitationState::Pending
        }
    }
}

pub trait InvitationStore {
    fn create_invitation(
        &self,
        invitation: &NewInvitation<'_>,
    ) -> impl Future<Output = Result<Invitation, StoreError>> + Send;
    fn invitation(
        &self,
        id: InvitationId,
    ) -> impl Future<Output = Result<Option<Invitation>, StoreError>> + Send;
    fn invitation_by_token_hash(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<Invitation>, StoreError>> + Send;
    /// Uses the invitation up for `account` and gives it the invited role, atomically; an
    /// invitation that is not pending at `now` is [`StoreError::InvitationUnusable`].
    fn accept_invitation(
        &self,
        id: InvitationId,
        account: AccountId,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Creates the account of someone who accepts an invitation and uses the invitation up
    /// for it, in one transaction: if the invitation is not pending, no account is left.
    fn accept_invitation_as_new_account(
        &self,
        id: InvitationId,
        account: &crate::accounts::NewAccount<'_>,
        now: Timestamp,
    ) -> impl Future<Output = Result<AccountId, StoreError>> + Send;
    fn revoke_invitation(
        &self,
        id: InvitationId,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A page of the invitations of a workspace that can still be used at `now`, newest first.
    fn pending_invitations(
        &self,
        workspace: WorkspaceId,
        now: Timestamp,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Invitation>, StoreError>> + Send;
}

const COLUMNS: &str = "id, workspace_id, email, role, invited_by, created_at, expires_at, \
                       accepted_at, accepted_by, revoked_at";

fn invitation_from(row: &AnyRow) -> Result<Invitation, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(Invitation {
        id: InvitationId(row.try_get("id")?),
        workspace: WorkspaceId(row.try_get("workspace_id")?),
        email: row.try_get("email")?,
        role: role.parse()?,
        invited_by: AccountId(row.try_get("invited_by")?),
        created_at: from_millis(row.try_get("created_at")?)?,
        expires_at: from_millis(row.try_get("expires_at")?)?,
        accepted_at: from_optional_millis(row.try_get("accepted_at")?)?,
        accepted_by: row.try_get::<Option<i64>, _>("accepted_by")?.map(AccountId),
        revoked_at: from_optional_millis(row.try_get("revoked_at")?)?,
    })
}

impl Store {
    async fn existing_invitation(&self, id: InvitationId) -> Result<Invitation, StoreError> {
        self.invitation(id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "invitation",
                id: id.0.to_string(),
            })
    }
}

/// Uses the invitation up for `account` and gives it the invited role, inside `transaction`;
/// `false` when the invitation is not pending at `now` (nothing changed).
async fn use_up(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: InvitationId,
    account: AccountId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    // The condition and the change in one statement: of two acceptances, one wins.
    let used = sqlx::query(
        "UPDATE invitations SET accepted_at = $1, accepted_by = $2 \
         WHERE id = $3 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $4",
    )
    .bind(to_millis(now))
    .bind(account.0)
    .bind(id.0)
    .bind(to_millis(now))
    .execute(&mut **transaction)
    .await?;
    if used.rows_affected() == 0 {
        return Ok(false);
    }
    let row = sqlx::query("SELECT workspace_id, role FROM invitations WHERE id = $1")
        .bind(id.0)
        .fetch_one(&mut **transaction)
        .await?;
    let workspace: i64 = row.try_get("workspace_id")?;
    let role: String = row.try_get("role")?;
    sqlx::query(UPSERT_MEMBERSHIP)
        .bind(workspace)
        .bind(account.0)
        .bind(role)
        .execute(&mut **transaction)
        .await?;
    Ok(true)
}

impl InvitationStore for Store {
    async fn create_invitation(
        &self,
        invitation: &NewInvitation<'_>,
    ) -> Result<Invitation, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO invitations (workspace_id, email, role, token_hash, invited_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        ))
        .bind(invitation.workspace.0)
        .bind(invitation.email.trim().to_lowercase())
        .bind(invitation.role.as_str())
        .bind(invitation.token_hash)
        .bind(invitation.invited_by.0)
        .bind(to_millis(Timestamp::now()))
        .bind(to_millis(invitation.expires_at))
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::duplicate("invitation token", "(hidden)"))?;
        invitation_from(&row)
    }

    async fn invitation(&self, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM invitations WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(invitation_from)
            .transpose()
    }

    async fn invitation_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<Invitation>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM invitations WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(invitation_from)
        .transpose()
    }

    async fn accept_invitation(
        &self,
        id: InvitationId,
        account: AccountId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        if !use_up(&mut transaction, id, account, now).await? {
            transaction.rollback().await?;
            let invitation = self.existing_invitation(id).await?;
            return Err(StoreError::InvitationUnusable(invitation.state(now)));
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn accept_invitation_as_new_account(
        &self,
        id: InvitationId,
        account: &crate::accounts::NewAccount<'_>,
        now: Timestamp,
    ) -> Result<AccountId, StoreError> {
        let email = account.email.trim().to_lowercase();
        let mut transaction = self.pool().begin().await?;
        let row = sqlx::query(
            "INSERT INTO accounts (email, display_name, password_hash, is_admin, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&email)
        .bind(account.display_name)
        .bind(account.password_hash)
        .bind(i64::from(account.is_admin))
        .bind(to_millis(now))
        .fetch_one(&mut *transaction)
        .await
        .map_err(StoreError::duplicate("account", &email))?;
        let account_id = AccountId(row.try_get("id")?);
        if !use_up(&mut transaction, id, account_id, now).await? {
            // The account goes with the rollback: a refused acceptance leaves none behind.
            transaction.rollback().await?;
            let invitation = self.existing_invitation(id).await?;
            return Err(StoreError::InvitationUnusable(invitation.state(now)));
        }
        transaction.commit().await?;
        Ok(account_id)
    }

    async fn revoke_invitation(&self, id: InvitationId, now: Timestamp) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(to_millis(now))
        .bind(id.0)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            let invitation = self.existing_invitation(id).await?;
            return Err(StoreError::InvitationUnusable(invitation.state(now)));
        }
        Ok(())
    }

    async fn pending_invitations(
        &self,
        workspace: WorkspaceId,
        now: Timestamp,
        page: PageRequest,
    ) -> Result<Page<Invitation>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM invitations WHERE workspace_id = $1 AND accepted_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $2 AND id < $3 ORDER BY id DESC LIMIT $4"
        ))
        .bind(workspace.0)
        .bind(to_millis(now))
        .bind(page.before_bound())
        .bind(page.fetch())
        .fetch_all(self.pool())
        .await?;
        let invitations = rows.iter().map(invitation_from).collect::<Result<_, _>>()?;
        Ok(Page::of(invitations, page, |invitation: &Invitation| {
            invitation.id.0
        }))
    }
}
