//! Who is calling: an API token (`Authorization: Bearer upk_…`) or a browser session (the
//! `upkeep_session` cookie, `HttpOnly`, `SameSite=Lax`, `Secure` behind https). A request
//! authenticated by cookie that changes something must carry the session's CSRF token in the
//! `X-CSRF-Token` header. Roles are checked here, on the server, for every workspace route.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use jiff::Timestamp;
use upkeep_store::{
    Account, AccountStore, ApiTokenStore, Role, SessionStore, WorkspaceId, WorkspaceStore,
};

use crate::AppState;
use crate::api::error::{ApiError, ApiResult};
use crate::secrets::{constant_time_eq, token_hash};

pub const SESSION_COOKIE: &str = "upkeep_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a browser session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_hours(12);

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: Account,
    /// The session's token hash, when the caller came with a cookie (to sign out).
    pub session: Option<String>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let now = Timestamp::now();
        let store = &state.inner.store;
        if let Some(token) = bearer_token(&parts.headers) {
            let account = store
                .use_api_token(&token_hash(token), now)
                .await?
                .ok_or_else(ApiError::unauthenticated)?;
            return active_account(state, account, None).await;
        }
        let (hash, session) = cookie_session(state, &parts.headers)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            if !constant_time_eq(sent, &session.csrf_token) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "a change made with a session cookie needs the session's X-CSRF-Token header",
                ));
            }
        }
        active_account(state, session.account, Some(hash)).await
    }
}

/// The session of the request's cookie that has not expired: its token hash and the session.
/// `None` without a session cookie or with one that does not hold.
async fn cookie_session(
    state: &AppState,
    headers: &HeaderMap,
) -> ApiResult<Option<(String, upkeep_store::Session)>> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = token_hash(token);
    let session = state.inner.store.session(&hash, Timestamp::now()).await?;
    Ok(session.map(|session| (hash, session)))
}

/// The signed-in browser of a request, for the web UI's pages and forms: the caller and its
/// session's CSRF token, which the UI's forms carry in a field (the JSON API wants the header).
/// `None` without a session that holds, or for a disabled account.
pub async fn browser_session(
    state: &AppState,
    headers: &HeaderMap,
) -> ApiResult<Option<(Caller, String)>> {
    let Some((hash, session)) = cookie_session(state, headers).await? else {
        return Ok(None);
    };
    match active_account(state, session.account, Some(hash)).await {
        Ok(caller) => Ok(Some((caller, session.csrf_token))),
        Err(error) if error.status == StatusCode::UNAUTHORIZED => Ok(None),
        Err(error) => Err(error),
    }
}

async fn active_account(
    state: &AppState,
    id: upkeep_store::AccountId,
    session: Option<String>,
) -> ApiResult<Caller> {
    let account = state
        .inner
        .store
        .account(id)
        .await?
        .filter(|account| account.disabled_at.is_none())
        .ok_or_else(ApiError::unauthenticated)?;
    Ok(Caller { account, session })
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The value of cookie `name` in the request.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The caller's role in `workspace`, if it is at least `needed` (a super user may do what a
/// regular user may).
pub async fn require_role(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
    needed: Role,
) -> ApiResult<Role> {
    let role = state
        .inner
        .store
        .role_of(workspace, caller.account.id)
        .await?
        .ok_or_else(|| ApiError::forbidden("you are not a member of this workspace"))?;
    if needed == Role::SuperUser && role != Role::SuperUser {
        return Err(ApiError::forbidden(
            "only a super user of the workspace may do this",
        ));
    }
    Ok(role)
}

/// Failed sign-ins per email: after [`SignInLimiter::MAX_FAILURES`] within
/// [`SignInLimiter::WINDOW`], further attempts are refused until the window has passed.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl SignInLimiter {
    pub const MAX_FAILURES: u32 = 5;
    pub const WINDOW: Duration = Duration::from_mins(1);

    /// Refuses when `email` failed too often lately; says how long to wait.
    pub fn check(&self, email: &str) -> ApiResult<()> {
        let failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((count, since)) = failures.get(email)
            && *count >= Self::MAX_FAILURES
            && since.elapsed() < Self::WINDOW
        {
            let wait = Self::WINDOW.saturating_sub(since.elapsed()).as_secs() + 1;
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many failed sign-ins for this account; try again in {wait} s"),
            ));
        }
        Ok(())
    }

    pub fn failed(&self, email: &str) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = failures
            .entry(email.to_string())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= Self::WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    pub fn succeeded(&self, email: &str) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(email);
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// No credentials: `None`; credentials that do not hold: the same error as when required.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Option<Self>> {
        if bearer_token(&parts.headers).is_none()
            && cookie(&parts.headers, SESSION_COOKIE).is_none()
        {
            return Ok(None);
        }
        <Self as FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}
