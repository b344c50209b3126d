//! The first account, created through the one-time setup link the server prints when it has no
//! accounts: it becomes the server's admin and a super user of the first workspace. Never "the
//! first visitor wins": without the link's token nothing is created.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use upkeep_store::{AccountStore, AuditStore, NewAccount, WorkspaceStore};

use super::error::{ApiError, ApiResult};
use super::session::start_session;
use super::{Body, check_email, check_field, check_password};
use crate::AppState;
use crate::secrets::hash_password;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstAccount {
    token: String,
    email: String,
    display_name: String,
    password: String,
    workspace: String,
}

pub async fn create_first_account(
    State(state): State<AppState>,
    Body(request): Body<FirstAccount>,
) -> ApiResult<Response> {
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
            start_demo(&state, workspace.id, account.id, url, commit).await?;
        }
        let (cookie, csrf) = start_session(&state, account.id).await?;
        let body = json!({
            "account": { "id": account.id.0, "email": account.email, "is_admin": true },
            "workspace": { "id": workspace.id.0, "name": workspace.name },
            "csrf_token": csrf,
        });
        Ok::<_, ApiError>(
            (
                StatusCode::CREATED,
                [(axum::http::header::SET_COOKIE, cookie)],
                Json(body),
            )
                .into_response(),
        )
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
