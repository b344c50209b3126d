//! Variables and secrets of a workspace and of its environments: every member reads their
//! names (and the values of plain ones); super users set and remove them. A secret's value is
//! write-only: sealed with the server's key before it reaches the store, never answered, and
//! masked in every log line and record of the runs that receive it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use upkeep_pipeline::mask::MIN_SECRET_CHARS;
use upkeep_pipeline::provided::check_variable_name;
use upkeep_store::{AuditStore, Role, Scope, StoredValue, Variable, VariableStore, WorkspaceId};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult};
use super::{Body, PathParams, WorkspacePath, check_field};
use crate::AppState;
use crate::auth::{Caller, require_role};

/// A value may be a small file (a key, a certificate), not a blob.
const MAX_VALUE_BYTES: usize = 64 * 1024;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "value": "shop", "secret": false }))]
pub struct NewValue {
    /// The value; a secret's has at least 3 characters (shorter ones cannot be masked).
    pub value: String,
    /// A secret is sealed at rest, never answered, and masked in logs and records.
    #[serde(default)]
    pub secret: bool,
}

/// A variable as the API shows it: a secret's value never.
#[derive(Serialize, ToSchema)]
pub struct VariableView {
    pub name: String,
    /// The environment it is for; `null` for the whole workspace.
    pub environment: Option<String>,
    pub secret: bool,
    /// The value of a plain variable; `null` for a secret.
    pub value: Option<String>,
    /// The account that set it last.
    pub updated_by: Option<i64>,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// Every variable of the workspace, by environment then name; not paginated (the settings of
/// one workspace, which every run reads whole).
#[derive(Serialize, ToSchema)]
pub struct VariableList {
    pub variables: Vec<VariableView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct VariablePath {
    /// The workspace's id.
    workspace: i64,
    /// The variable's name (`APP_NAME`): letters, digits and `_`, not starting with a digit;
    /// names upkeep sets itself are refused.
    name: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EnvironmentVariablePath {
    /// The workspace's id.
    workspace: i64,
    /// An environment of the repository's `upkeep.yml`.
    environment: String,
    /// The variable's name (`DB_PASSWORD`).
    name: String,
}

/// The variables and secrets of the workspace and its environments (secrets without value).
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/variables",
    tag = "variables",
    params(WorkspacePath),
    responses((status = 200, description = "Every variable, by environment then name", body = VariableList)),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
) -> ApiResult<Json<VariableList>> {
    let workspace = WorkspaceId(path.workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let variables = state.inner.store.variables(workspace).await?;
    Ok(Json(VariableList {
        variables: variables.iter().map(shown).collect(),
    }))
}

/// Set a variable or secret for every environment of the workspace.
///
/// An environment's value of the same name wins over it.
#[utoipa::path(
    put,
    path = "/workspaces/{workspace}/variables/{name}",
    tag = "variables",
    params(VariablePath),
    request_body = NewValue,
    responses((status = 200, description = "The variable as set (a secret without value)", body = VariableView)),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn set_for_workspace(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(VariablePath { workspace, name }): PathParams<VariablePath>,
    Body(request): Body<NewValue>,
) -> ApiResult<Json<VariableView>> {
    let variable = set(
        &state,
        &caller,
        WorkspaceId(workspace),
        Scope::Workspace,
        &name,
        request,
    )
    .await?;
    Ok(Json(shown(&variable)))
}

/// Set a variable or secret for one environment, over the workspace's of the same name.
#[utoipa::path(
    put,
    path = "/workspaces/{workspace}/environments/{environment}/variables/{name}",
    tag = "variables",
    params(EnvironmentVariablePath),
    request_body = NewValue,
    responses((status = 200, description = "The variable as set (a secret without value)", body = VariableView)),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn set_for_environment(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(EnvironmentVariablePath {
        workspace,
        environment,
        name,
    }): PathParams<EnvironmentVariablePath>,
    Body(request): Body<NewValue>,
) -> ApiResult<Json<VariableView>> {
    let scope = environment_scope(environment)?;
    let variable = set(
        &state,
        &caller,
        WorkspaceId(workspace),
        scope,
        &name,
        request,
    )
    .await?;
    Ok(Json(shown(&variable)))
}

/// Remove a variable or secret of the workspace.
#[utoipa::path(
    delete,
    path = "/workspaces/{workspace}/variables/{name}",
    tag = "variables",
    params(VariablePath),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "`not_found`: the workspace has no such variable", body = super::error::ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn delete_for_workspace(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(VariablePath { workspace, name }): PathParams<VariablePath>,
) -> ApiResult<StatusCode> {
    delete(
        &state,
        &caller,
        WorkspaceId(workspace),
        Scope::Workspace,
        &name,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a variable or secret of one environment.
#[utoipa::path(
    delete,
    path = "/workspaces/{workspace}/environments/{environment}/variables/{name}",
    tag = "variables",
    params(EnvironmentVariablePath),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "`not_found`: the environment has no such variable", body = super::error::ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn delete_for_environment(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(EnvironmentVariablePath {
        workspace,
        environment,
        name,
    }): PathParams<EnvironmentVariablePath>,
) -> ApiResult<StatusCode> {
    let scope = environment_scope(environment)?;
    delete(&state, &caller, WorkspaceId(workspace), scope, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a variable or secret (super users): checks its name and value, seals a secret's value
/// before it reaches the store, and records it in the audit log without the value. Shared by
/// the API and the web UI.
pub async fn set(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
    scope: Scope,
    name: &str,
    request: NewValue,
) -> ApiResult<Variable> {
    require_role(state, caller, workspace, Role::SuperUser).await?;
    check_name(name)?;
    if request.value.len() > MAX_VALUE_BYTES {
        return Err(ApiError::invalid_field(
            "value",
            format!("`value` is longer than {MAX_VALUE_BYTES} bytes"),
        ));
    }
    if request.secret && request.value.chars().count() < MIN_SECRET_CHARS {
        // A value this short would not be masked in logs (it would hide ordinary text).
        return Err(ApiError::invalid_field(
            "value",
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
    Ok(variable)
}

/// Removes a variable or secret (super users) and records it in the audit log. Shared by the
/// API and the web UI.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
    scope: Scope,
    name: &str,
) -> ApiResult<()> {
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
    Ok(())
}

fn check_name(name: &str) -> ApiResult<()> {
    check_field("name", name, 128, true)?;
    check_variable_name(name)
        .map_err(|error| ApiError::invalid_field("name", format!("`name`: {error}")))
}

/// The scope of one environment, whose name is checked.
pub fn environment_scope(environment: String) -> ApiResult<Scope> {
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

fn shown(variable: &Variable) -> VariableView {
    VariableView {
        name: variable.name.clone(),
        environment: match &variable.scope {
            Scope::Workspace => None,
            Scope::Environment(name) => Some(name.clone()),
        },
        secret: variable.is_secret(),
        value: match &variable.value {
            StoredValue::Plain(value) => Some(value.clone()),
            StoredValue::Sealed(_) => None,
        },
        updated_by: variable.updated_by.map(|id| id.0),
        updated_at: variable.updated_at.to_string(),
    }
}
