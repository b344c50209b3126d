//! The people of a workspace: members and their roles, invitations (one-time links that
//! expire, used once, revocable), and the audit log. Super users change; members read.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::json;
use upkeep_store::{
    AccountId, AccountStore, AuditStore, InvitationId, InvitationState, InvitationStore,
    NewAccount, NewInvitation, Role, WorkspaceId, WorkspaceStore,
};

use super::error::{ApiError, ApiResult};
use super::session::start_session;
use super::{Body, check_email, check_field, check_password};
use crate::AppState;
use crate::auth::{Caller, require_role};
use crate::secrets::{hash_password, new_token, token_hash};

/// How long an invitation is valid when the inviter does not say.
const DEFAULT_INVITATION_DAYS: i64 = 7;

fn parse_role(text: &str) -> ApiResult<Role> {
    match text {
        "super_user" => Ok(Role::SuperUser),
        "regular_user" => Ok(Role::RegularUser),
        _ => Err(ApiError::bad_request(
            "invalid_field",
            "`role` must be `super_user` or `regular_user`",
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWorkspace {
    name: String,
}

/// A new workspace, by the server's admin, who becomes its first super user.
pub async fn create_workspace(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<NewWorkspace>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    if !caller.account.is_admin {
        return Err(ApiError::forbidden(
            "only the server's admin may create workspaces",
        ));
    }
    check_workspace_name(&request.name)?;
    let store = &state.inner.store;
    let workspace = store
        .create_workspace(request.name.trim(), caller.account.id)
        .await?;
    store
        .record_audit(
            Some(workspace.id),
            Some(caller.account.id),
            "workspace.created",
            &format!("created workspace `{}`", workspace.name),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": workspace.id.0, "name": workspace.name })),
    ))
}

/// Workspace names: letters, digits, `-`, `_`, `.` and spaces, up to 64 characters.
pub fn check_workspace_name(name: &str) -> ApiResult<()> {
    check_field(
        "name",
        name,
        64,
        name.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '.')),
    )
}

pub async fn members(
    State(state): State<AppState>,
    caller: Caller,
    Path(workspace): Path<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let members = state.inner.store.members(workspace).await?;
    Ok(Json(json!({
        "members": members.iter().map(|member| json!({
            "account": member.account.0,
            "email": member.email,
            "display_name": member.display_name,
            "role": member.role.as_str(),
        })).collect::<Vec<_>>()
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    role: String,
}

pub async fn set_role(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, account)): Path<(i64, i64)>,
    Body(request): Body<RoleChange>,
) -> ApiResult<StatusCode> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::SuperUser).await?;
    let role = parse_role(&request.role)?;
    let store = &state.inner.store;
    let account = AccountId(account);
    if store.role_of(workspace, account).await?.is_none() {
        return Err(ApiError::not_found("member"));
    }
    // A workspace keeps at least one super user.
    if role == Role::RegularUser {
        let supers = store
            .members(workspace)
            .await?
            .iter()
            .filter(|member| member.role == Role::SuperUser && member.account != account)
            .count();
        if supers == 0 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "last_super_user",
                "the workspace would have no super user left; make someone else a super user first",
            ));
        }
    }
    store.set_role(workspace, account, role).await?;
    store
        .record_audit(
            Some(workspace),
            Some(caller.account.id),
            "role.changed",
            &format!("account {} is now {}", account.0, role.as_str()),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvitationRequest {
    email: String,
    role: String,
    #[serde(default)]
    expires_in_days: Option<i64>,
}

pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    Path(workspace): Path<i64>,
    Body(request): Body<NewInvitationRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::SuperUser).await?;
    check_email(&request.email)?;
    let role = parse_role(&request.role)?;
    let days = request.expires_in_days.unwrap_or(DEFAULT_INVITATION_DAYS);
    if !(1..=90).contains(&days) {
        return Err(ApiError::bad_request(
            "invalid_field",
            "`expires_in_days` must be between 1 and 90",
        ));
    }
    let token = new_token("").map_err(|error| ApiError::internal(&error))?;
    let expires_at = Timestamp::now()
        .checked_add(SignedDuration::from_hours(days * 24))
        .map_err(|error| ApiError::internal(&error))?;
    let store = &state.inner.store;
    let invitation = store
        .create_invitation(&NewInvitation {
            workspace,
            email: &request.email,
            role,
            token_hash: &token_hash(&token),
            invited_by: caller.account.id,
            expires_at,
        })
        .await?;
    store
        .record_audit(
            Some(workspace),
            Some(caller.account.id),
            "invitation.created",
            &format!("invited {} as {}", invitation.email, role.as_str()),
        )
        .await?;
    let link = format!("{}/invitations/accept?token={token}", state.public_url());
    let mut answer = json!({
        "id": invitation.id.0,
        "email": invitation.email,
        "role": role.as_str(),
        "expires_at": invitation.expires_at.to_string(),
        "mailed": false,
    });
    let mailed = match &state.inner.mailer {
        Some(mailer) => Some(
            mail_invitation(&state, mailer, &caller, workspace, &invitation, &link)
                .await
                .map_err(|error| error.to_string()),
        ),
        None => None,
    };
    match mailed {
        // Only the invitee has the link now.
        Some(Ok(())) => answer["mailed"] = json!(true),
        // No mail server, or it did not take the mail: the link goes to the inviter to pass
        // on, and the invitation holds either way.
        Some(Err(error)) => {
            answer["mail_error"] = json!(error);
            answer["link"] = json!(link);
            answer["token"] = json!(token);
        }
        None => {
            answer["link"] = json!(link);
            answer["token"] = json!(token);
        }
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

async fn mail_invitation(
    state: &AppState,
    mailer: &crate::mail::Mailer,
    caller: &Caller,
    workspace: WorkspaceId,
    invitation: &upkeep_store::Invitation,
    link: &str,
) -> Result<(), crate::mail::MailError> {
    let name = state
        .inner
        .store
        .workspace(workspace)
        .await
        .ok()
        .flatten()
        .map_or_else(|| format!("#{}", workspace.0), |workspace| workspace.name);
    mailer
        .send_invitation(&crate::mail::InvitationMail {
            to: &invitation.email,
            workspace: &name,
            inviter: &caller.account.display_name,
            role: invitation.role.as_str(),
            link,
            expires_at: &invitation
                .expires_at
                .strftime("%Y-%m-%d %H:%M UTC")
                .to_string(),
        })
        .await
}

pub async fn pending_invitations(
    State(state): State<AppState>,
    caller: Caller,
    Path(workspace): Path<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::SuperUser).await?;
    let pending = state
        .inner
        .store
        .pending_invitations(workspace, Timestamp::now())
        .await?;
    Ok(Json(json!({
        "invitations": pending.iter().map(|invitation| json!({
            "id": invitation.id.0,
            "email": invitation.email,
            "role": invitation.role.as_str(),
            "expires_at": invitation.expires_at.to_string(),
        })).collect::<Vec<_>>()
    })))
}

pub async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, invitation)): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::SuperUser).await?;
    let store = &state.inner.store;
    let pending = store
        .pending_invitations(workspace, Timestamp::now())
        .await?;
    let Some(found) = pending
        .iter()
        .find(|candidate| candidate.id == InvitationId(invitation))
    else {
        return Err(ApiError::not_found("pending invitation"));
    };
    store.revoke_invitation(found.id, Timestamp::now()).await?;
    store
        .record_audit(
            Some(workspace),
            Some(caller.account.id),
            "invitation.revoked",
            &format!("revoked the invitation of {}", found.email),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    token: String,
    /// For a newcomer: the account to create with the invited email.
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// Accepts an invitation: a newcomer's account is created with the invited email; someone
/// who has an account signs in first. The invitation is used up in the same transaction.
pub async fn accept_invitation(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Body(request): Body<Acceptance>,
) -> ApiResult<Response> {
    let store = &state.inner.store;
    let now = Timestamp::now();
    let invitation = store
        .invitation_by_token_hash(&token_hash(&request.token))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "invitation_unknown",
                "this invitation link is not valid",
            )
        })?;
    let state_now = invitation.state(now);
    if state_now != InvitationState::Pending {
        return Err(ApiError::new(
            StatusCode::GONE,
            "invitation_unusable",
            format!("the invitation cannot be used: it {state_now}"),
        ));
    }
    let existing = store.account_by_email(&invitation.email).await?;
    let (account, cookie) = match (existing, caller) {
        (Some(existing), Some(caller)) if caller.account.id == existing.id => {
            store
                .accept_invitation(invitation.id, existing.id, now)
                .await?;
            (existing.id, None)
        }
        (Some(_), _) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "sign_in_first",
                format!(
                    "{} has an account: sign in with it, then open the link again",
                    invitation.email
                ),
            ));
        }
        (None, _) => {
            let display_name = request.display_name.unwrap_or_default();
            let password = request.password.unwrap_or_default();
            check_field("display_name", &display_name, 100, true)?;
            check_password(&password)?;
            let password_hash =
                hash_password(&password).map_err(|error| ApiError::internal(&error))?;
            let account = store
                .accept_invitation_as_new_account(
                    invitation.id,
                    &NewAccount {
                        email: &invitation.email,
                        display_name: display_name.trim(),
                        password_hash: &password_hash,
                        is_admin: false,
                    },
                    now,
                )
                .await?;
            let session = start_session(&state, account).await?;
            (account, Some(session))
        }
    };
    store
        .record_audit(
            Some(invitation.workspace),
            Some(account),
            "invitation.accepted",
            &format!(
                "{} joined as {}",
                invitation.email,
                invitation.role.as_str()
            ),
        )
        .await?;
    let mut body = json!({
        "workspace": invitation.workspace.0,
        "account": account.0,
        "role": invitation.role.as_str(),
    });
    Ok(match cookie {
        Some((cookie, csrf)) => {
            body["csrf_token"] = json!(csrf);
            (StatusCode::OK, [(header::SET_COOKIE, cookie)], Json(body)).into_response()
        }
        None => (StatusCode::OK, Json(body)).into_response(),
    })
}

pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    Path(workspace): Path<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::SuperUser).await?;
    let entries = state
        .inner
        .store
        .audit_entries(workspace, None, 100)
        .await?;
    Ok(Json(json!({
        "entries": entries.iter().map(|entry| json!({
            "id": entry.id,
            "actor": entry.actor.map(|actor| actor.0),
            "action": entry.action,
            "detail": entry.detail,
            "at": entry.at.to_string(),
        })).collect::<Vec<_>>()
    })))
}
