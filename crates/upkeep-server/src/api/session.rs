//! Signing in and out of the browser session, and who the caller is.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;
use upkeep_store::{AccountId, AccountStore, SessionStore, WorkspaceStore};

use super::Body;
use super::error::{ApiError, ApiResult};
use crate::AppState;
use crate::auth::{Caller, SESSION_COOKIE, SESSION_LIFETIME};
use crate::secrets::{new_token, token_hash, verify_password};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    email: String,
    password: String,
}

/// Creates a session for `account`: the `Set-Cookie` value and the session's CSRF token.
pub async fn start_session(state: &AppState, account: AccountId) -> ApiResult<(String, String)> {
    let token = new_token("").map_err(|error| ApiError::internal(&error))?;
    let csrf = new_token("").map_err(|error| ApiError::internal(&error))?;
    let lifetime = i64::try_from(SESSION_LIFETIME.as_secs()).unwrap_or(i64::MAX);
    let expires_at = Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(lifetime))
        .map_err(|error| ApiError::internal(&error))?;
    state
        .inner
        .store
        .create_session(account, &token_hash(&token), &csrf, expires_at)
        .await?;
    let secure = if state.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={lifetime}{secure}"
    );
    Ok((cookie, csrf))
}

pub async fn sign_in(
    State(state): State<AppState>,
    Body(request): Body<SignIn>,
) -> ApiResult<Response> {
    let email = request.email.trim().to_lowercase();
    state.inner.sign_in.check(&email)?;
    let account = state.inner.store.account_by_email(&email).await?;
    let verified = account.filter(|account| {
        account.disabled_at.is_none() && verify_password(&request.password, &account.password_hash)
    });
    let Some(account) = verified else {
        state.inner.sign_in.failed(&email);
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "the email or the password is wrong",
        ));
    };
    state.inner.sign_in.succeeded(&email);
    let (cookie, csrf) = start_session(&state, account.id).await?;
    let body = json!({
        "account": { "id": account.id.0, "email": account.email, "is_admin": account.is_admin },
        "csrf_token": csrf,
    });
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

pub async fn sign_out(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    if let Some(session) = &caller.session {
        state.inner.store.delete_session(session).await?;
    }
    let expired = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, expired)]).into_response())
}

pub async fn me(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    let workspaces = state.inner.store.workspaces_of(caller.account.id).await?;
    Ok(Json(json!({
        "account": {
            "id": caller.account.id.0,
            "email": caller.account.email,
            "display_name": caller.account.display_name,
            "is_admin": caller.account.is_admin,
        },
        "workspaces": workspaces
            .iter()
            .map(|(workspace, role)| json!({ "id": workspace.id.0, "name": workspace.name, "role": role.as_str() }))
            .collect::<Vec<_>>(),
    })))
}
