//! The first account, created through the one-time setup link the server prints when it has no
//! accounts: it becomes the server's admin and a super user of the first workspace. Never "the
//! first visitor wins": without the link's token nothing is created.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use upkeep_store::{AccountStore, AuditStore, NewAccount, WorkspaceStore};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::people::WorkspaceView;
use super::session::{AccountView, start_session};
use super::{Body, check_email, check_field, check_password};
use crate::AppState;
use crate::secrets::hash_password;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "token": "the token of the setup link",
    "email": "ops@agency.test",
    "display_name": "Ops",
    "password": "correct horse battery staple",
    "workspace": "b2c-shop",
}))]
pub struct FirstAccount {
    /// The token of the setup link.
    pub token: String,
    pub email: String,
    pub display_name: String,
    /// 10 characters or more.
    pub password: String,
    /// The first workspace's name.
    pub workspace: String,
}

#[derive(Serialize, ToSchema)]
pub struct SetUp {
    pub account: AccountView,
    pub workspace: WorkspaceView,
    pub csrf_token: String,
}

/// Set the server up through its one-time setup link.
///
/// Creates the server's admin, a super user of the first workspace, and signs it in.
#[utoipa::path(
    post,
    path = "/setup",
    tag = "session",
    request_body = FirstAccount,
    responses(
        (status = 201, description = "The admin and the first workspace; the session cookie is in `Set-Cookie`", body = SetUp),
        (status = 403, description = "`setup_token`: the link is not valid (used, or the server is set up)", body = ErrorBody),
        (status = 409, description = "`conflict`", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("public"))),
)]
pub async fn create_first_account(
    State(state): State<AppState>,
    Body(request): Body<FirstAccount>,
) -> ApiResult<Response> {
    let (body, cookie) = set_up(&state, &request).await?;
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::SET_COOKIE, cookie)],
        Json(body),
    )
        .into_response())
}

/// Creates the admin and the first workspace if `request.token` is the setup link's, and signs
/// the admin in: the answer and the session's `Set-Cookie` value. Shared by the API and the web
/// UI.
pub async fn set_up(state: &AppState, request: &FirstAccount) -> ApiResult<(SetUp, String)> {
    if !state.take_setup_token(&request.token) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "setup_token",
            "this setup link is not valid (it was used, or the server was set up already)",
        ));
    }
    let result = async {
        check_email(&request.email)?;
        check_field("display_name", &request.display_name, 100, true)?;
        check_password(&request.password)?;
        super::people::check_workspace_name(&request.workspace).map_err(|mut error| {
            error.message = error.message.replace("`name`", "`workspace`");
            error.field = Some("workspace".to_string());
            error
        })?;
        let store = &state.inner.store;
        let password_hash =
            hash_password(&request.password).map_err(|error| ApiError::internal(&error))?;
        let account = store
            .create_account(&NewAccount {
                email: &request.email,
                display_name: &request.display_name,
                password_hash: &password_hash,
                is_admin: true,
            })
            .await?;
        let workspace = store
            .create_workspace(request.workspace.trim(), account.id)
            .await?;
        store
            .record_audit(
                Some(workspace.id),
                Some(account.id),
                "server.setup",
                &format!("{} set the server up", account.email),
            )
            .await?;
        if let Some((url, commit)) = &state.inner.demo {
            start_demo(state, workspace.id, account.id, url, commit).await?;
        }
        let (cookie, csrf) = start_session(state, account.id).await?;
        let body = SetUp {
            account: AccountView {
                id: account.id.0,
                email: account.email,
                display_name: None,
                is_admin: true,
            },
            workspace: WorkspaceView {
                id: workspace.id.0,
                name: workspace.name,
            },
            csrf_token: csrf,
        };
        Ok::<_, ApiError>((body, cookie))
    }
    .await;
    if result.is_err() {
        // A request that failed its checks does not use the link up.
        state.restore_setup_token(&request.token);
    }
    result
}

/// `--demo`: connects the first workspace to the demo repository and starts its pipelines, as
/// a push to `main` would.
async fn start_demo(
    state: &AppState,
    workspace: upkeep_store::WorkspaceId,
    account: upkeep_store::AccountId,
    url: &str,
    commit: &str,
) -> ApiResult<()> {
    let connection = super::repository::Connection::plain(url);
    super::repository::connect(state, workspace, &connection, account).await?;
    state.inner.executor.push(crate::executor::PushJob {
        workspace,
        branch: "main".to_string(),
        commit: commit.to_string(),
        access: crate::connection::RepositoryAccess::anonymous(url),
    });
    Ok(())
}
