//! The people of a workspace: members and their roles, invitations (one-time links that
//! expire, used once, revocable), and the audit log. Super users change; members read.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use upkeep_store::{
    AccountId, AccountStore, AuditStore, InvitationId, InvitationState, InvitationStore,
    NewAccount, NewInvitation, Role, WorkspaceId, WorkspaceStore,
};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult, ErrorBody};
use super::page::{PageQuery, next_cursor};
use super::session::start_session;
use super::{
    Body, PathParams, QueryParams, WorkspacePath, check_email, check_field, check_password,
};
use crate::AppState;
use crate::auth::{Caller, require_role};
use crate::secrets::{hash_password, new_token, token_hash};

/// How long an invitation is valid when the inviter does not say.
const DEFAULT_INVITATION_DAYS: i64 = 7;

fn parse_role(text: &str) -> ApiResult<Role> {
    match text {
        "super_user" => Ok(Role::SuperUser),
        "regular_user" => Ok(Role::RegularUser),
        _ => Err(ApiError::invalid_field(
            "role",
            "`role` must be `super_user` or `regular_user`",
        )),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "b2b-shop" }))]
pub struct NewWorkspace {
    /// Letters, digits, `-`, `_`, `.` and spaces, up to 64 characters.
    name: String,
}

#[derive(Serialize, ToSchema)]
pub struct WorkspaceView {
    pub id: i64,
    pub name: String,
}

/// Create a workspace (the server's admin), who becomes its first super user.
#[utoipa::path(
    post,
    path = "/workspaces",
    tag = "people",
    request_body = NewWorkspace,
    responses(
        (status = 201, description = "The new workspace", body = WorkspaceView),
        (status = 409, description = "`conflict`: a workspace of that name exists", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("admin"))),
)]
pub async fn create_workspace(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<NewWorkspace>,
) -> ApiResult<(StatusCode, Json<WorkspaceView>)> {
    let workspace = create_workspace_as(&state, &caller, &request.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(WorkspaceView {
            id: workspace.id.0,
            name: workspace.name,
        }),
    ))
}

/// Creates a workspace whose first super user is the caller, who must be the server's admin.
/// Shared by the API and the web UI.
pub async fn create_workspace_as(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> ApiResult<upkeep_store::Workspace> {
    if !caller.account.is_admin {
        return Err(ApiError::forbidden(
            "only the server's admin may create workspaces",
        ));
    }
    check_workspace_name(name)?;
    let store = &state.inner.store;
    let workspace = store
        .create_workspace(name.trim(), caller.account.id)
        .await?;
    store
        .record_audit(
            Some(workspace.id),
            Some(caller.account.id),
            "workspace.created",
            &format!("created workspace `{}`", workspace.name),
        )
        .await?;
    Ok(workspace)
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

#[derive(Serialize, ToSchema)]
pub struct MemberView {
    pub account: i64,
    pub email: String,
    pub display_name: String,
    /// `super_user` or `regular_user`.
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<MemberView>,
    /// The cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The members of a workspace and their roles, newest account first.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/members",
    tag = "people",
    params(WorkspacePath, PageQuery),
    responses((status = 200, description = "A page of the members", body = MemberList)),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn members(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
    QueryParams(page): QueryParams<PageQuery>,
) -> ApiResult<Json<MemberList>> {
    let workspace = WorkspaceId(path.workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let members = state
        .inner
        .store
        .members(workspace, page.request("members")?)
        .await?;
    Ok(Json(MemberList {
        next_cursor: next_cursor("members", &members),
        members: members
            .items
            .into_iter()
            .map(|member| MemberView {
                account: member.account.0,
                email: member.email,
                display_name: member.display_name,
                role: member.role.as_str().to_string(),
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "role": "regular_user" }))]
pub struct RoleChange {
    /// `super_user` or `regular_user`.
    role: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// The workspace's id.
    workspace: i64,
    /// The member's account id.
    account: i64,
}

/// Change a member's role.
#[utoipa::path(
    put,
    path = "/workspaces/{workspace}/members/{account}/role",
    tag = "people",
    params(MemberPath),
    request_body = RoleChange,
    responses(
        (status = 204, description = "The role is changed"),
        (status = 404, description = "`not_found`: no such member", body = ErrorBody),
        (status = 409, description = "`last_super_user`: the workspace would have no super user left", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn set_role(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<MemberPath>,
    Body(request): Body<RoleChange>,
) -> ApiResult<StatusCode> {
    change_role(
        &state,
        &caller,
        WorkspaceId(path.workspace),
        AccountId(path.account),
        &request.role,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives a member another role (super users), keeping at least one super user in the
/// workspace, and records it in the audit log; what was done, in words. Shared by the API and
/// the web UI.
pub async fn change_role(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
    account: AccountId,
    role: &str,
) -> ApiResult<String> {
    require_role(state, caller, workspace, Role::SuperUser).await?;
    let role = parse_role(role)?;
    let store = &state.inner.store;
    if store.role_of(workspace, account).await?.is_none() {
        return Err(ApiError::not_found("member"));
    }
    // A workspace keeps at least one super user.
    if role == Role::RegularUser {
        let others = store
            .super_users(workspace)
            .await?
            .into_iter()
            .filter(|id| *id != account)
            .count();
        if others == 0 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "last_super_user",
                "the workspace would have no super user left; make someone else a super user first",
            ));
        }
    }
    store.set_role(workspace, account, role).await?;
    let member = store
        .account(account)
        .await?
        .map_or_else(|| format!("account {}", account.0), |found| found.email);
    let done = format!("{member} is now {}", role.as_str().replace('_', " "));
    store
        .record_audit(
            Some(workspace),
            Some(caller.account.id),
            "role.changed",
            &done,
        )
        .await?;
    Ok(done)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "email": "dev@agency.test", "role": "regular_user", "expires_in_days": 7 }))]
pub struct NewInvitationRequest {
    pub email: String,
    /// `super_user` or `regular_user`.
    pub role: String,
    /// 1 to 90 (default 7).
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

/// A new invitation: its one-time link, to pass on (mail is not sent yet).
#[derive(Serialize, ToSchema)]
pub struct CreatedInvitation {
    pub id: i64,
    pub email: String,
    pub role: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// Whether the invitee was sent the link by mail (then only the invitee has it).
    pub mailed: bool,
    /// Why the mail server did not take the mail, when one is configured and it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_error: Option<String>,
    /// The one-time link, for the inviter to pass on; only when it was not mailed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The link's token; only when it was not mailed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Invite someone into the workspace by email, with a role.
#[utoipa::path(
    post,
    path = "/workspaces/{workspace}/invitations",
    tag = "people",
    params(WorkspacePath),
    request_body = NewInvitationRequest,
    responses((status = 201, description = "The invitation; its one-time link is mailed to the invitee, or answered here when no mail server took it", body = CreatedInvitation)),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
    Body(request): Body<NewInvitationRequest>,
) -> ApiResult<(StatusCode, Json<CreatedInvitation>)> {
    let workspace = WorkspaceId(path.workspace);
    let answer = invite_to(&state, &caller, workspace, &request).await?;
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Invites someone into the workspace (super users): the invitation, mailed when a mail server
/// takes it, else with its one-time link for the inviter. Shared by the API and the web UI.
pub async fn invite_to(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
    request: &NewInvitationRequest,
) -> ApiResult<CreatedInvitation> {
    require_role(state, caller, workspace, Role::SuperUser).await?;
    check_email(&request.email)?;
    let role = parse_role(&request.role)?;
    let days = request.expires_in_days.unwrap_or(DEFAULT_INVITATION_DAYS);
    if !(1..=90).contains(&days) {
        return Err(ApiError::invalid_field(
            "expires_in_days",
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
    let mut answer = CreatedInvitation {
        id: invitation.id.0,
        email: invitation.email.clone(),
        role: role.as_str().to_string(),
        expires_at: invitation.expires_at.to_string(),
        mailed: false,
        mail_error: None,
        link: None,
        token: None,
    };
    let mailed = match &state.inner.mailer {
        Some(mailer) => Some(
            mail_invitation(state, mailer, caller, workspace, &invitation, &link)
                .await
                .map_err(|error| error.to_string()),
        ),
        None => None,
    };
    match mailed {
        // Only the invitee has the link now.
        Some(Ok(())) => answer.mailed = true,
        // No mail server, or it did not take the mail: the link goes to the inviter to pass
        // on, and the invitation holds either way.
        Some(Err(error)) => {
            answer.mail_error = Some(error);
            answer.link = Some(link);
            answer.token = Some(token);
        }
        None => {
            answer.link = Some(link);
            answer.token = Some(token);
        }
    }
    Ok(answer)
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

#[derive(Serialize, ToSchema)]
pub struct InvitationView {
    pub id: i64,
    pub email: String,
    pub role: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct InvitationList {
    pub invitations: Vec<InvitationView>,
    /// The cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The invitations of the workspace that can still be used, newest first.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/invitations",
    tag = "people",
    params(WorkspacePath, PageQuery),
    responses((status = 200, description = "A page of the pending invitations", body = InvitationList)),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn pending_invitations(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
    QueryParams(page): QueryParams<PageQuery>,
) -> ApiResult<Json<InvitationList>> {
    let workspace = WorkspaceId(path.workspace);
    require_role(&state, &caller, workspace, Role::SuperUser).await?;
    let pending = state
        .inner
        .store
        .pending_invitations(workspace, Timestamp::now(), page.request("invitations")?)
        .await?;
    Ok(Json(InvitationList {
        next_cursor: next_cursor("invitations", &pending),
        invitations: pending
            .items
            .into_iter()
            .map(|invitation| InvitationView {
                id: invitation.id.0,
                email: invitation.email,
                role: invitation.role.as_str().to_string(),
                expires_at: invitation.expires_at.to_string(),
            })
            .collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct InvitationPath {
    /// The workspace's id.
    workspace: i64,
    /// The invitation's id.
    invitation: i64,
}

/// Revoke a pending invitation: its link no longer works.
#[utoipa::path(
    delete,
    path = "/workspaces/{workspace}/invitations/{invitation}",
    tag = "people",
    params(InvitationPath),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "`not_found`: no such pending invitation", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<InvitationPath>,
) -> ApiResult<StatusCode> {
    revoke(
        &state,
        &caller,
        WorkspaceId(path.workspace),
        InvitationId(path.invitation),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a pending invitation of the workspace (super users), so that its link no longer
/// works, and records it in the audit log; the invitation as it was. Shared by the API and the
/// web UI.
pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
    invitation: InvitationId,
) -> ApiResult<upkeep_store::Invitation> {
    require_role(state, caller, workspace, Role::SuperUser).await?;
    let store = &state.inner.store;
    let now = Timestamp::now();
    let Some(found) = store.invitation(invitation).await?.filter(|found| {
        found.workspace == workspace && found.state(now) == InvitationState::Pending
    }) else {
        return Err(ApiError::not_found("pending invitation"));
    };
    store.revoke_invitation(found.id, now).await?;
    store
        .record_audit(
            Some(workspace),
            Some(caller.account.id),
            "invitation.revoked",
            &format!("revoked the invitation of {}", found.email),
        )
        .await?;
    Ok(found)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "token": "the token of the invitation link",
    "display_name": "Dev",
    "password": "correct horse battery staple",
}))]
pub struct Acceptance {
    /// The token of the invitation's link.
    pub token: String,
    /// For a newcomer: the account to create with the invited email.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub workspace: i64,
    pub account: i64,
    pub role: String,
    /// For a newcomer, signed in by the acceptance: the new session's CSRF token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// Accept an invitation.
///
/// A newcomer's account is created with the invited email (and signed in); someone who has an
/// account signs in first. The invitation is used up in the same transaction.
#[utoipa::path(
    post,
    path = "/invitations/accept",
    tag = "people",
    request_body = Acceptance,
    security((), ("session" = [], "csrf" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The caller is a member now", body = Accepted),
        (status = 404, description = "`invitation_unknown`: the link is not valid", body = ErrorBody),
        (status = 409, description = "`sign_in_first`: the invited email has an account", body = ErrorBody),
        (status = 410, description = "`invitation_unusable`: used, expired or revoked", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("public"))),
)]
pub async fn accept_invitation(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Body(request): Body<Acceptance>,
) -> ApiResult<Response> {
    let (body, cookie) = accept(&state, caller, request).await?;
    Ok(match cookie {
        Some(cookie) => {
            (StatusCode::OK, [(header::SET_COOKIE, cookie)], Json(body)).into_response()
        }
        None => (StatusCode::OK, Json(body)).into_response(),
    })
}

/// The pending invitation of a link's token, or why it cannot be used.
pub async fn usable_invitation(
    state: &AppState,
    token: &str,
) -> ApiResult<upkeep_store::Invitation> {
    let invitation = state
        .inner
        .store
        .invitation_by_token_hash(&token_hash(token))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "invitation_unknown",
                "this invitation link is not valid",
            )
        })?;
    let state_now = invitation.state(Timestamp::now());
    if state_now != InvitationState::Pending {
        return Err(ApiError::new(
            StatusCode::GONE,
            "invitation_unusable",
            format!("the invitation cannot be used: it {state_now}"),
        ));
    }
    Ok(invitation)
}

/// Accepts an invitation: a newcomer's account is created (and signed in: the `Set-Cookie`
/// value comes back too); someone with an account must be signed in as it. Shared by the API
/// and the web UI.
pub async fn accept(
    state: &AppState,
    caller: Option<Caller>,
    request: Acceptance,
) -> ApiResult<(Accepted, Option<String>)> {
    let store = &state.inner.store;
    let now = Timestamp::now();
    let invitation = usable_invitation(state, &request.token).await?;
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
            let session = start_session(state, account).await?;
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
    let mut body = Accepted {
        workspace: invitation.workspace.0,
        account: account.0,
        role: invitation.role.as_str().to_string(),
        csrf_token: None,
    };
    Ok(match cookie {
        Some((cookie, csrf)) => {
            body.csrf_token = Some(csrf);
            (body, Some(cookie))
        }
        None => (body, None),
    })
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntryView {
    pub id: i64,
    pub actor: Option<i64>,
    /// A stable name such as `invitation.created`, `role.changed`, `run.approved`.
    pub action: String,
    pub detail: String,
    #[schema(format = DateTime)]
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub entries: Vec<AuditEntryView>,
    /// The cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The workspace's audit log, newest first.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/audit",
    tag = "people",
    params(WorkspacePath, PageQuery),
    responses((status = 200, description = "A page of who did what", body = AuditList)),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
    QueryParams(page): QueryParams<PageQuery>,
) -> ApiResult<Json<AuditList>> {
    let workspace = WorkspaceId(path.workspace);
    require_role(&state, &caller, workspace, Role::SuperUser).await?;
    let entries = state
        .inner
        .store
        .audit_entries(workspace, page.request("audit")?)
        .await?;
    Ok(Json(AuditList {
        next_cursor: next_cursor("audit", &entries),
        entries: entries
            .items
            .into_iter()
            .map(|entry| AuditEntryView {
                id: entry.id,
                actor: entry.actor.map(|actor| actor.0),
                action: entry.action,
                detail: entry.detail,
                at: entry.at.to_string(),
            })
            .collect(),
    }))
}
