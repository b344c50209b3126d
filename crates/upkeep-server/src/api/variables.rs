//! Variables and secrets of a workspace and of its environments: every member reads their
//! names (and the values of plain ones); super users set and remove them. A secret's value is
//! write-only: sealed with the server's key before it reaches the store, never answered, and
//! masked in every log line and record of the runs that receive it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use upkeep_pipeline::mask::MIN_SECRET_CHARS;
use upkeep_pipeline::provided::check_variable_name;
use upkeep_store::{AuditStore, Role, Scope, StoredValue, Variable, VariableStore, WorkspaceId};

use super::error::{ApiError, ApiResult};
use super::{Body, check_field};
use crate::AppState;
use crate::auth::{Caller, require_role};

/// A value may be a small file (a key, a certificate), not a blob.
const MAX_VALUE_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewValue {
    value: String,
    #[serde(default)]
    secret: bool,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(workspace): Path<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let variables = state.inner.store.variables(workspace).await?;
    Ok(Json(json!({
        "variables": variables.iter().map(shown).collect::<Vec<_>>(),
    })))
}

pub async fn set_for_workspace(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, name)): Path<(i64, String)>,
    Body(request): Body<NewValue>,
) -> ApiResult<Json<serde_json::Value>> {
    set(&state, &caller, workspace, Scope::Workspace, &name, request).await
}

pub async fn set_for_environment(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, environment, name)): Path<(i64, String, String)>,
    Body(request): Body<NewValue>,
) -> ApiResult<Json<serde_json::Value>> {
    let scope = environment_scope(environment)?;
    set(&state, &caller, workspace, scope, &name, request).await
}

pub async fn delete_for_workspace(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, name)): Path<(i64, String)>,
) -> ApiResult<StatusCode> {
    delete(&state, &caller, workspace, Scope::Workspace, &name).await
}

pub async fn delete_for_environment(
    State(state): State<AppState>,
    caller: Caller,
    Path((workspace, environment, name)): Path<(i64, String, String)>,
) -> ApiResult<StatusCode> {
    let scope = environment_scope(environment)?;
    delete(&state, &caller, workspace, scope, &name).await
}

async fn set(
    state: &AppState,
    caller: &Caller,
    workspace: i64,
    scope: Scope,
    name: &str,
    request: NewValue,
) -> ApiResult<Json<serde_json::Value>> {
    let workspace = WorkspaceId(workspace);
    require_role(state, caller, workspace, Role::SuperUser).await?;
    check_name(name)?;
    if request.value.len() > MAX_VALUE_BYTES {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("`value` is longer than {MAX_VALUE_BYTES} bytes"),
        ));
    }
    if request.secret && request.value.chars().count() < MIN_SECRET_CHARS {
        // A value this short would not be masked in logs (it would hide ordinary text).
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("`value` of a secret must have at least {MIN_SECRET_CHARS} characters"),
        ));
    }
    let value = if request.secret {
        StoredValue::Sealed(
            state
                .inner
                .sealer
                .seal(&request.value)
                .map_err(|error| ApiError::internal(&error))?,
        )
    } else {
        StoredValue::Plain(request.value)
    };
    let store = &state.inner.store;
    let variable = store
        .set_variable(workspace, &scope, name, &value, caller.account.id)
        .await?;
    let (action, kind) = if variable.is_secret() {
        ("secret.set", "secret")
    } else {
        ("variable.set", "variable")
    };
    store
        .record_audit(
            Some(workspace),
            Some(caller.account.id),
            action,
            &format!("set {kind} {name} {}", scope_words(&scope)),
        )
        .await?;
    Ok(Json(shown(&variable)))
}

async fn delete(
    state: &AppState,
    caller: &Caller,
    workspace: i64,
    scope: Scope,
    name: &str,
) -> ApiResult<StatusCode> {
    let workspace = WorkspaceId(workspace);
    require_role(state, caller, workspace, Role::SuperUser).await?;
    let store = &state.inner.store;
    if !store.delete_variable(workspace, &scope, name).await? {
        return Err(ApiError::not_found("variable"));
    }
    store
        .record_audit(
            Some(workspace),
            Some(caller.account.id),
            "variable.deleted",
            &format!("removed {name} {}", scope_words(&scope)),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn check_name(name: &str) -> ApiResult<()> {
    check_field("name", name, 128, true)?;
    check_variable_name(name)
        .map_err(|error| ApiError::bad_request("invalid_field", format!("`name`: {error}")))
}

fn environment_scope(environment: String) -> ApiResult<Scope> {
    let valid = environment
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    check_field("environment", &environment, 64, valid)?;
    Ok(Scope::Environment(environment))
}

fn scope_words(scope: &Scope) -> String {
    match scope {
        Scope::Workspace => "for the workspace".to_string(),
        Scope::Environment(environment) => format!("for environment {environment}"),
    }
}

/// A variable as the API shows it: a secret's value never.
fn shown(variable: &Variable) -> serde_json::Value {
    let (environment, value) = (
        match &variable.scope {
            Scope::Workspace => None,
            Scope::Environment(name) => Some(name.as_str()),
        },
        match &variable.value {
            StoredValue::Plain(value) => Some(value.as_str()),
            StoredValue::Sealed(_) => None,
        },
    );
    json!({
        "name": variable.name,
        "environment": environment,
        "secret": variable.is_secret(),
        "value": value,
        "updated_by": variable.updated_by.map(|id| id.0),
        "updated_at": variable.updated_at.to_string(),
    })
}
