//! A workspace's people: its members and their roles, and for super users the role changes,
//! the pending invitations (revocable; the one-time link of one just made, shown once when no
//! mail server took it, can be copied), the invite form and the audit log, a page at a time.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use serde::Deserialize;
use upkeep_store::{
    AccountId, AuditStore, InvitationId, InvitationStore, PageRequest, Role, WorkspaceId,
    WorkspaceStore,
};

use super::layout::{Layout, Pager, account_names, workspace_of};
use super::request::{Asked, Flash, NoFields, Posted, Visitor, redirect};
use super::session::FormError;
use super::time::Moment;
use super::{UiResult, render, render_once};
use crate::AppState;
use crate::api::error::ApiError;
use crate::api::page::PageQuery;
use crate::api::people::{self, CreatedInvitation, NewInvitationRequest};

/// The most members the page lists (a workspace is a team, not a directory).
const MEMBERS_SHOWN: u32 = 100;

struct MemberRow {
    account: i64,
    name: String,
    email: String,
    /// `super_user` or `regular_user`, as the role form sends it.
    role: &'static str,
    /// The workspace's only super user: the API refuses to make them a regular user.
    is_last_super_user: bool,
    is_you: bool,
}

struct InvitationRow {
    id: i64,
    email: String,
    role: String,
    expires: Moment,
}

struct AuditRow {
    at: Moment,
    who: String,
    action: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "workspace/people.html")]
struct PeoplePage {
    layout: Layout,
    workspace: i64,
    name: String,
    is_super_user: bool,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    /// An invitation just made whose link the inviter passes on, shown this once.
    created: Option<CreatedInvitation>,
    email: String,
    error: Option<FormError>,
    audit: Vec<AuditRow>,
    audit_pager: Pager,
}

/// The people page with an empty invite form, its audit log's page as `query` asks.
async fn people_page_for(
    state: &AppState,
    visitor: &Visitor,
    workspace: WorkspaceId,
    query: &PageQuery,
) -> UiResult<PeoplePage> {
    let (role, name) = workspace_of(state, visitor, workspace, Role::RegularUser).await?;
    let store = &state.inner.store;
    let members = store
        .members(workspace, PageRequest::first(MEMBERS_SHOWN))
        .await
        .map_err(ApiError::from)?
        .items;
    let super_users = members
        .iter()
        .filter(|member| member.role == Role::SuperUser)
        .count();
    let members = members
        .into_iter()
        .map(|member| MemberRow {
            account: member.account.0,
            is_last_super_user: member.role == Role::SuperUser && super_users == 1,
            is_you: member.account == visitor.caller.account.id,
            name: member.display_name,
            email: member.email,
            role: member.role.as_str(),
        })
        .collect();
    let is_super_user = role == Role::SuperUser;
    let (invitations, audit, audit_pager) = if is_super_user {
        let invitations = store
            .pending_invitations(workspace, Timestamp::now(), PageRequest::first(100))
            .await
            .map_err(ApiError::from)?
            .items
            .into_iter()
            .map(|invitation| InvitationRow {
                id: invitation.id.0,
                email: invitation.email,
                role: invitation.role.as_str().replace('_', " "),
                expires: Moment::now_relative(invitation.expires_at),
            })
            .collect();
        let entries = store
            .audit_entries(workspace, query.request("audit")?)
            .await
            .map_err(ApiError::from)?;
        let path = format!("/workspaces/{}/people", workspace.0);
        let pager = Pager::of(&path, "#audit", "audit", query, &entries);
        let names = account_names(
            state,
            entries
                .items
                .iter()
                .filter_map(|entry| entry.actor)
                .collect(),
        )
        .await?;
        let audit = entries
            .items
            .into_iter()
            .map(|entry| AuditRow {
                at: Moment::now_relative(entry.at),
                who: entry
                    .actor
                    .and_then(|actor| names.get(&actor).cloned())
                    .unwrap_or_else(|| "Upkeep".to_string()),
                action: entry.action,
                detail: entry.detail,
            })
            .collect();
        (invitations, audit, pager)
    } else {
        (Vec::new(), Vec::new(), Pager::default())
    };
    Ok(PeoplePage {
        layout: Layout::of(
            state,
            visitor,
            &format!("People of {name}"),
            Some(workspace),
        )
        .await?,
        workspace: workspace.0,
        name,
        is_super_user,
        members,
        invitations,
        created: None,
        email: String::new(),
        error: None,
        audit,
        audit_pager,
    })
}

pub async fn people_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Asked(query): Asked<PageQuery>,
) -> UiResult<Response> {
    let page = people_page_for(&state, &visitor, WorkspaceId(id), &query).await?;
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted { visitor, form }: Posted<InviteForm>,
) -> UiResult<Response> {
    let workspace = WorkspaceId(id);
    let request = NewInvitationRequest {
        email: form.email,
        role: form.role,
        expires_in_days: None,
    };
    match people::invite_to(&state, &visitor.caller, workspace, &request).await {
        Ok(created) if created.mailed => Ok(redirect(
            &format!("/workspaces/{id}/people"),
            Some(Flash::notice(format!(
                "The invitation is mailed to {}.",
                created.email
            ))),
        )),
        Ok(created) => {
            let mut page =
                people_page_for(&state, &visitor, workspace, &PageQuery::default()).await?;
            page.created = Some(created);
            Ok(render_once(&page))
        }
        // Not a super user: the page says so, whatever the form held.
        Err(error) if error.status == StatusCode::FORBIDDEN => Err(error.into()),
        Err(error) => {
            let status = error.status;
            let mut page =
                people_page_for(&state, &visitor, workspace, &PageQuery::default()).await?;
            page.email = request.email;
            page.error = Some(error.into());
            Ok(render(status, &page))
        }
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// A super user gives a member another role; the API's rules hold (a workspace keeps a super
/// user), and what they refuse comes back as the page's message.
pub async fn change_role(
    State(state): State<AppState>,
    Path((id, account)): Path<(i64, i64)>,
    Posted { visitor, form }: Posted<RoleForm>,
) -> UiResult<Response> {
    let back = format!("/workspaces/{id}/people");
    let changed = people::change_role(
        &state,
        &visitor.caller,
        WorkspaceId(id),
        AccountId(account),
        &form.role,
    )
    .await;
    Ok(match changed {
        Ok(done) => redirect(&back, Some(Flash::notice(format!("{done}.")))),
        Err(error) if error.status == StatusCode::FORBIDDEN => return Err(error.into()),
        Err(error) => redirect(&back, Some(Flash::error(error.message))),
    })
}

/// A super user revokes a pending invitation: its link no longer works.
pub async fn revoke(
    State(state): State<AppState>,
    Path((id, invitation)): Path<(i64, i64)>,
    Posted { visitor, .. }: Posted<NoFields>,
) -> UiResult<Response> {
    let back = format!("/workspaces/{id}/people");
    let revoked = people::revoke(
        &state,
        &visitor.caller,
        WorkspaceId(id),
        InvitationId(invitation),
    )
    .await;
    Ok(match revoked {
        Ok(invitation) => redirect(
            &back,
            Some(Flash::notice(format!(
                "The invitation of {} is revoked: its link no longer works.",
                invitation.email
            ))),
        ),
        Err(error) if error.status == StatusCode::FORBIDDEN => return Err(error.into()),
        Err(error) => redirect(&back, Some(Flash::error(error.message))),
    })
}
