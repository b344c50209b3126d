//! Variables and secrets as pages show and change them, for super users: the workspace's on
//! its settings page, an environment's on the environment's page. A secret's value is
//! write-only: the page says "set" and never holds it, not even in a form shown again after an
//! error. Changes go through the API's own functions (checks, sealing, audit).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use upkeep_store::{Scope, StoredValue, VariableStore, WorkspaceId};

use super::request::{Flash, NoFields, Posted, Visitor, redirect};
use super::session::FormError;
use super::time::Moment;
use super::{UiResult, environment, render, settings};
use crate::AppState;
use crate::api::error::ApiError;
use crate::api::page::PageQuery;
use crate::api::variables::{self, NewValue, environment_scope};

pub struct VariableRow {
    pub name: String,
    /// A plain variable's value; never a secret's.
    pub value: Option<String>,
    pub updated: Moment,
    /// Where its "Delete" button posts.
    pub delete_action: String,
}

/// The variables of one scope, and the form that sets one.
pub struct VariablesSection {
    /// Where the form posts.
    pub action: String,
    pub rows: Vec<VariableRow>,
    /// An environment's (else the workspace's).
    pub for_environment: bool,
    /// How many of the workspace's variables apply besides these (on an environment's page).
    pub inherited: usize,
    /// The form as it was sent, after an error; a secret's value never.
    pub name: String,
    pub value: String,
    pub secret: bool,
    pub error: Option<FormError>,
}

/// The path of the page a scope's variables are on, and of their form.
fn scope_paths(workspace: WorkspaceId, scope: &Scope) -> (String, String) {
    match scope {
        Scope::Workspace => (
            format!("/workspaces/{}/settings", workspace.0),
            format!("/workspaces/{}/variables", workspace.0),
        ),
        Scope::Environment(name) => {
            let page = format!("/workspaces/{}/environments/{name}", workspace.0);
            let action = format!("{page}/variables");
            (page, action)
        }
    }
}

impl VariablesSection {
    /// The variables of `scope`, with an empty form.
    pub async fn of(state: &AppState, workspace: WorkspaceId, scope: &Scope) -> UiResult<Self> {
        let all = state
            .inner
            .store
            .variables(workspace)
            .await
            .map_err(ApiError::from)?;
        let (_, action) = scope_paths(workspace, scope);
        let inherited = match scope {
            Scope::Workspace => 0,
            Scope::Environment(_) => all
                .iter()
                .filter(|variable| variable.scope == Scope::Workspace)
                .count(),
        };
        let rows = all
            .into_iter()
            .filter(|variable| &variable.scope == scope)
            .map(|variable| VariableRow {
                delete_action: format!("{action}/{}/delete", variable.name),
                value: match variable.value {
                    StoredValue::Plain(value) => Some(value),
                    StoredValue::Sealed(_) => None,
                },
                updated: Moment::now_relative(variable.updated_at),
                name: variable.name,
            })
            .collect();
        Ok(Self {
            action,
            rows,
            for_environment: matches!(scope, Scope::Environment(_)),
            inherited,
            name: String::new(),
            value: String::new(),
            secret: false,
            error: None,
        })
    }
}

/// The form that sets a variable: a checked box makes it a secret.
#[derive(Deserialize)]
pub struct VariableForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
    secret: Option<String>,
}

pub async fn set_for_workspace(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted<VariableForm>,
) -> UiResult<Response> {
    set(&state, WorkspaceId(id), Scope::Workspace, posted).await
}

pub async fn set_for_environment(
    State(state): State<AppState>,
    Path((id, environment)): Path<(i64, String)>,
    posted: Posted<VariableForm>,
) -> UiResult<Response> {
    let scope = environment_scope(environment)?;
    set(&state, WorkspaceId(id), scope, posted).await
}

pub async fn delete_for_workspace(
    State(state): State<AppState>,
    Path((id, name)): Path<(i64, String)>,
    posted: Posted<NoFields>,
) -> UiResult<Response> {
    delete(
        &state,
        WorkspaceId(id),
        Scope::Workspace,
        &name,
        &posted.visitor,
    )
    .await
}

pub async fn delete_for_environment(
    State(state): State<AppState>,
    Path((id, environment, name)): Path<(i64, String, String)>,
    posted: Posted<NoFields>,
) -> UiResult<Response> {
    let scope = environment_scope(environment)?;
    delete(&state, WorkspaceId(id), scope, &name, &posted.visitor).await
}

async fn set(
    state: &AppState,
    workspace: WorkspaceId,
    scope: Scope,
    Posted { visitor, form }: Posted<VariableForm>,
) -> UiResult<Response> {
    let name = form.name.trim().to_string();
    let secret = form.secret.is_some();
    // A plain value may be shown again with the form; a secret's never is.
    let shown_again = if secret {
        String::new()
    } else {
        form.value.clone()
    };
    let request = NewValue {
        value: form.value,
        secret,
    };
    let (page, _) = scope_paths(workspace, &scope);
    match variables::set(
        state,
        &visitor.caller,
        workspace,
        scope.clone(),
        &name,
        request,
    )
    .await
    {
        Ok(variable) => {
            let text = if variable.is_secret() {
                format!("Secret {name} is set; its value is not shown again.")
            } else {
                format!("Variable {name} is set.")
            };
            Ok(redirect(
                &format!("{page}#variables"),
                Some(Flash::notice(text)),
            ))
        }
        Err(error) if error.status == StatusCode::FORBIDDEN => Err(error.into()),
        Err(error) => {
            let status = error.status;
            let mut section = VariablesSection::of(state, workspace, &scope).await?;
            section.name = name;
            section.value = shown_again;
            section.secret = secret;
            section.error = Some(error.into());
            Ok(render_with(state, &visitor, workspace, scope, section, status).await?)
        }
    }
}

async fn delete(
    state: &AppState,
    workspace: WorkspaceId,
    scope: Scope,
    name: &str,
    visitor: &Visitor,
) -> UiResult<Response> {
    let (page, _) = scope_paths(workspace, &scope);
    Ok(
        match variables::delete(state, &visitor.caller, workspace, scope, name).await {
            Ok(()) => redirect(
                &format!("{page}#variables"),
                Some(Flash::notice(format!("{name} is deleted."))),
            ),
            Err(error) if error.status == StatusCode::FORBIDDEN => return Err(error.into()),
            Err(error) => redirect(
                &format!("{page}#variables"),
                Some(Flash::error(error.message)),
            ),
        },
    )
}

/// The page of `scope` again, its variables' form holding what went wrong.
async fn render_with(
    state: &AppState,
    visitor: &Visitor,
    workspace: WorkspaceId,
    scope: Scope,
    section: VariablesSection,
    status: StatusCode,
) -> UiResult<Response> {
    Ok(match scope {
        Scope::Workspace => {
            let mut page =
                settings::settings_page_for(state, visitor, workspace, &PageQuery::default())
                    .await?;
            page.variables = section;
            render(status, &page)
        }
        Scope::Environment(name) => {
            let mut page = environment::environment_page_for(
                state,
                visitor,
                workspace,
                name,
                &PageQuery::default(),
            )
            .await?;
            page.variables = Some(section);
            render(status, &page)
        }
    })
}
