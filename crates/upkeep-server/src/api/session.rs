//! Signing in and out of the browser session, and who the caller is.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use upkeep_store::{Account, AccountId, AccountStore, SessionStore, WorkspaceStore};
use utoipa::ToSchema;

use super::Body;
use super::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;
use crate::auth::{Caller, SESSION_COOKIE, SESSION_LIFETIME};
use crate::secrets::{new_token, token_hash, verify_password};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "email": "ops@agency.test", "password": "the account's password" }))]
pub struct SignIn {
    email: String,
    password: String,
}

/// An account as its owner and the people of its workspaces see it.
#[derive(Serialize, ToSchema)]
pub struct AccountView {
    pub id: i64,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub is_admin: bool,
}

/// A new session: the cookie comes in `Set-Cookie`, its CSRF token here.
#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    pub account: AccountView,
    /// Sent as `X-CSRF-Token` with every change made with the session cookie.
    pub csrf_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct WorkspaceRole {
    pub id: i64,
    pub name: String,
    /// `super_user` or `regular_user`.
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub account: AccountView,
    pub workspaces: Vec<WorkspaceRole>,
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

/// Sign in with an email and a password.
///
/// Sets the session cookie and returns its CSRF token. After five wrong passwords for one
/// account within a minute, sign-in waits.
#[utoipa::path(
    post,
    path = "/session",
    tag = "session",
    request_body = SignIn,
    responses(
        (status = 200, description = "Signed in; the cookie is in `Set-Cookie`", body = SignedIn),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many failed sign-ins", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("public"))),
)]
pub async fn sign_in(
    State(state): State<AppState>,
    Body(request): Body<SignIn>,
) -> ApiResult<Response> {
    let (account, cookie, csrf) =
        sign_in_with_password(&state, &request.email, &request.password).await?;
    let body = SignedIn {
        account: AccountView {
            id: account.id.0,
            email: account.email,
            display_name: None,
            is_admin: account.is_admin,
        },
        csrf_token: csrf,
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Checks an email and password (rate limited per account) and starts a session: the account,
/// the `Set-Cookie` value and the session's CSRF token. Shared by the API and the web UI.
pub async fn sign_in_with_password(
    state: &AppState,
    email: &str,
    password: &str,
) -> ApiResult<(Account, String, String)> {
    let email = email.trim().to_lowercase();
    state.inner.sign_in.check(&email)?;
    let account = state.inner.store.account_by_email(&email).await?;
    let verified = account.filter(|account| {
        account.disabled_at.is_none() && verify_password(password, &account.password_hash)
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
    let (cookie, csrf) = start_session(state, account.id).await?;
    Ok((account, cookie, csrf))
}

/// Ends the caller's browser session, if it came with one: the `Set-Cookie` value that clears
/// the cookie.
pub async fn end_session(state: &AppState, caller: &Caller) -> ApiResult<String> {
    if let Some(session) = &caller.session {
        state.inner.store.delete_session(session).await?;
    }
    Ok(format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    ))
}

/// Sign out: ends the session of the cookie.
#[utoipa::path(
    delete,
    path = "/session",
    tag = "session",
    responses((status = 204, description = "Signed out; the cookie is cleared")),
    extensions(("x-upkeep-role" = json!("account"))),
)]
pub async fn sign_out(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    let expired = end_session(&state, &caller).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, expired)]).into_response())
}

/// The caller's account and workspaces, with its role in each.
#[utoipa::path(
    get,
    path = "/me",
    tag = "session",
    responses((status = 200, description = "The caller", body = Me)),
    extensions(("x-upkeep-role" = json!("account"))),
)]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Me>> {
    let workspaces = state.inner.store.workspaces_of(caller.account.id).await?;
    Ok(Json(Me {
        account: AccountView {
            id: caller.account.id.0,
            email: caller.account.email,
            display_name: Some(caller.account.display_name),
            is_admin: caller.account.is_admin,
        },
        workspaces: workspaces
            .into_iter()
            .map(|(workspace, role)| WorkspaceRole {
                id: workspace.id.0,
                name: workspace.name,
                role: role.as_str().to_string(),
            })
            .collect(),
    }))
}
