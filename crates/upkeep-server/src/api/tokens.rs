//! Personal API tokens: the token is shown once, when created; the store keeps its hash.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;
use upkeep_store::{ApiTokenId, ApiTokenStore, AuditStore};

use super::error::{ApiError, ApiResult};
use super::{Body, check_field};
use crate::AppState;
use crate::auth::Caller;
use crate::secrets::{new_token, token_hash};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<NewToken>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    check_field("name", &request.name, 100, true)?;
    let token = new_token("upk_").map_err(|error| ApiError::internal(&error))?;
    let stored = state
        .inner
        .store
        .create_api_token(caller.account.id, request.name.trim(), &token_hash(&token))
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
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": stored.id.0, "name": stored.name, "token": token })),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    let tokens = state.inner.store.api_tokens(caller.account.id).await?;
    Ok(Json(json!({
        "tokens": tokens.iter().map(|token| json!({
            "id": token.id.0,
            "name": token.name,
            "created_at": token.created_at.to_string(),
            "last_used_at": token.last_used_at.map(|at| at.to_string()),
            "revoked": token.revoked_at.is_some(),
        })).collect::<Vec<_>>()
    })))
}

pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state
        .inner
        .store
        .revoke_api_token(caller.account.id, ApiTokenId(id), Timestamp::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
