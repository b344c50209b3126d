//! Personal API tokens: the token is shown once, when created; the store keeps its hash.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use upkeep_store::{ApiToken, ApiTokenId, ApiTokenStore, AuditStore};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult, ErrorBody};
use super::page::{PageQuery, next_cursor};
use super::{Body, PathParams, QueryParams, check_field};
use crate::AppState;
use crate::auth::Caller;
use crate::secrets::{new_token, token_hash};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "laptop" }))]
pub struct NewToken {
    /// What the token is for, e.g. the machine it lives on.
    name: String,
}

/// A new token, shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    pub id: i64,
    pub name: String,
    /// `upk_…`, sent as `Authorization: Bearer upk_…`.
    pub token: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

impl From<ApiToken> for TokenView {
    fn from(token: ApiToken) -> Self {
        Self {
            id: token.id.0,
            name: token.name,
            created_at: token.created_at.to_string(),
            last_used_at: token.last_used_at.map(|at| at.to_string()),
            revoked: token.revoked_at.is_some(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
    /// The cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenPath {
    /// The token's id.
    id: i64,
}

/// Create a personal API token.
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "tokens",
    request_body = NewToken,
    responses((status = 201, description = "The token, shown this once", body = CreatedToken)),
    extensions(("x-upkeep-role" = json!("account"))),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let created = create_token(&state, &caller, &request.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Creates a personal API token of the caller, recorded in the audit log; the token is in the
/// answer, this once. Shared by the API and the web UI.
pub async fn create_token(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> ApiResult<CreatedToken> {
    check_field("name", name, 100, true)?;
    let token = new_token("upk_").map_err(|error| ApiError::internal(&error))?;
    let stored = state
        .inner
        .store
        .create_api_token(caller.account.id, name.trim(), &token_hash(&token))
        .await?;
    state
        .inner
        .store
        .record_audit(
            None,
            Some(caller.account.id),
            "token.created",
            &format!("API token `{}`", stored.name),
        )
        .await?;
    Ok(CreatedToken {
        id: stored.id.0,
        name: stored.name,
        token,
    })
}

/// The caller's API tokens, newest first (never the tokens themselves).
#[utoipa::path(
    get,
    path = "/tokens",
    tag = "tokens",
    params(PageQuery),
    responses((status = 200, description = "A page of the caller's tokens", body = TokenList)),
    extensions(("x-upkeep-role" = json!("account"))),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(page): QueryParams<PageQuery>,
) -> ApiResult<Json<TokenList>> {
    let tokens = state
        .inner
        .store
        .api_tokens(caller.account.id, page.request("tokens")?)
        .await?;
    Ok(Json(TokenList {
        next_cursor: next_cursor("tokens", &tokens),
        tokens: tokens.items.into_iter().map(TokenView::from).collect(),
    }))
}

/// Revoke one of the caller's API tokens.
#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    tag = "tokens",
    params(TokenPath),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "`not_found`: no such token of the caller's, or revoked already", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("account"))),
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<TokenPath>,
) -> ApiResult<StatusCode> {
    revoke_token(&state, &caller, ApiTokenId(path.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes one of the caller's tokens (`not_found` for another's, or one revoked already).
pub async fn revoke_token(state: &AppState, caller: &Caller, id: ApiTokenId) -> ApiResult<()> {
    state
        .inner
        .store
        .revoke_api_token(caller.account.id, id, Timestamp::now())
        .await?;
    Ok(())
}
