//! A workspace's people: its members and their roles, and for super users the pending
//! invitations and the invite form, whose one-time link is shown once when no mail server
//! took it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use serde::Deserialize;
use upkeep_store::{InvitationStore, PageRequest, Role, WorkspaceId, WorkspaceStore};

use super::layout::{Layout, workspace_of};
use super::request::{Flash, Posted, Visitor, redirect};
use super::session::FormError;
use super::time::Moment;
use super::{UiResult, render, render_once};
use crate::AppState;
use crate::api::error::ApiError;
use crate::api::people::{self, CreatedInvitation, NewInvitationRequest};

struct MemberRow {
    name: String,
    email: String,
    role: String,
}

struct InvitationRow {
    email: String,
    role: String,
    expires: Moment,
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
}

async fn people_page_for(
    state: &AppState,
    visitor: &Visitor,
    workspace: WorkspaceId,
    created: Option<CreatedInvitation>,
    email: String,
    error: Option<FormError>,
) -> UiResult<PeoplePage> {
    let (role, name) = workspace_of(state, visitor, workspace, Role::RegularUser).await?;
    let store = &state.inner.store;
    let members = store
        .members(workspace, PageRequest::first(100))
        .await
        .map_err(ApiError::from)?
        .items
        .into_iter()
        .map(|member| MemberRow {
            name: member.display_name,
            email: member.email,
            role: member.role.as_str().replace('_', " "),
        })
        .collect();
    let is_super_user = role == Role::SuperUser;
    let invitations = if is_super_user {
        store
            .pending_invitations(workspace, Timestamp::now(), PageRequest::first(100))
            .await
            .map_err(ApiError::from)?
            .items
            .into_iter()
            .map(|invitation| InvitationRow {
                email: invitation.email,
                role: invitation.role.as_str().replace('_', " "),
                expires: Moment::now_relative(invitation.expires_at),
            })
            .collect()
    } else {
        Vec::new()
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
        created,
        email,
        error,
    })
}

pub async fn people_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> UiResult<Response> {
    let page =
        people_page_for(&state, &visitor, WorkspaceId(id), None, String::new(), None).await?;
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
            let page = people_page_for(
                &state,
                &visitor,
                workspace,
                Some(created),
                String::new(),
                None,
            )
            .await?;
            Ok(render_once(&page))
        }
        // Not a super user: the page says so, whatever the form held.
        Err(error) if error.status == StatusCode::FORBIDDEN => Err(error.into()),
        Err(error) => {
            let status = error.status;
            let page = people_page_for(
                &state,
                &visitor,
                workspace,
                None,
                request.email,
                Some(error.into()),
            )
            .await?;
            Ok(render(status, &page))
        }
    }
}
