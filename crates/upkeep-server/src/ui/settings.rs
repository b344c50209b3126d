//! A workspace's settings, for its super users (a regular user gets a 403 page, and so does a
//! forged post): for now the repository — the connection without its secrets, and the form
//! that connects or switches it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use upkeep_store::{RepositoryStore, Role, WorkspaceId};

use super::layout::{Layout, workspace_of};
use super::request::{Flash, Posted, Visitor, redirect};
use super::session::FormError;
use super::{UiResult, render, render_once};
use crate::AppState;
use crate::api::error::ApiError;
use crate::api::repository::{
    ConnectionRequest, DEFAULT_POLL_INTERVAL, RepositoryView, connect_and_register, repository_view,
};
use crate::auth::require_role;

/// The connect form as it was sent, but its secrets.
#[derive(Default)]
struct ConnectValues {
    provider: String,
    url: String,
    api_base: String,
    repository: String,
    username: String,
    poll_interval_seconds: String,
}

#[derive(Template)]
#[template(path = "workspace/settings.html")]
struct SettingsPage {
    layout: Layout,
    workspace: i64,
    name: String,
    is_super_user: bool,
    repository: Option<RepositoryView>,
    /// Just connected with a webhook to set up by hand: its secret, shown this once.
    webhook_secret: Option<String>,
    values: ConnectValues,
    error: Option<FormError>,
}

async fn settings_page_for(
    state: &AppState,
    visitor: &Visitor,
    workspace: WorkspaceId,
    values: ConnectValues,
    error: Option<FormError>,
) -> UiResult<SettingsPage> {
    let (_, name) = workspace_of(state, visitor, workspace, Role::SuperUser).await?;
    let repository = state
        .inner
        .store
        .repository(workspace)
        .await
        .map_err(ApiError::from)?
        .map(|repository| repository_view(state, &repository));
    Ok(SettingsPage {
        layout: Layout::of(
            state,
            visitor,
            &format!("Settings of {name}"),
            Some(workspace),
        )
        .await?,
        workspace: workspace.0,
        name,
        is_super_user: true,
        repository,
        webhook_secret: None,
        values,
        error,
    })
}

pub async fn settings_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> UiResult<Response> {
    let values = ConnectValues {
        poll_interval_seconds: DEFAULT_POLL_INTERVAL.to_string(),
        ..ConnectValues::default()
    };
    let page = settings_page_for(&state, &visitor, WorkspaceId(id), values, None).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The connect form: every field a text box, blank for "not given".
#[derive(Deserialize)]
pub struct ConnectForm {
    #[serde(default)]
    provider: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    api_base: String,
    #[serde(default)]
    repository: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    ssh_key: String,
    #[serde(default)]
    poll_interval_seconds: String,
}

fn given(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

impl ConnectForm {
    fn request(&self) -> Result<ConnectionRequest, ApiError> {
        let poll_interval_seconds = given(&self.poll_interval_seconds)
            .map(|text| {
                text.parse::<i64>().map_err(|_| {
                    ApiError::invalid_field(
                        "poll_interval_seconds",
                        "`poll_interval_seconds` must be a whole number of seconds",
                    )
                })
            })
            .transpose()?;
        Ok(ConnectionRequest {
            provider: given(&self.provider),
            url: self.url.trim().to_string(),
            token: given(&self.token),
            api_base: given(&self.api_base),
            repository: given(&self.repository),
            username: given(&self.username),
            // A password or key is taken as typed: blanks may be part of it.
            password: (!self.password.is_empty()).then(|| self.password.clone()),
            ssh_key: (!self.ssh_key.trim().is_empty()).then(|| self.ssh_key.clone()),
            poll_interval_seconds,
        })
    }

    fn values(&self) -> ConnectValues {
        ConnectValues {
            provider: self.provider.clone(),
            url: self.url.clone(),
            api_base: self.api_base.clone(),
            repository: self.repository.clone(),
            username: self.username.clone(),
            poll_interval_seconds: self.poll_interval_seconds.clone(),
        }
    }
}

pub async fn connect_repository(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted { visitor, form }: Posted<ConnectForm>,
) -> UiResult<Response> {
    let workspace = WorkspaceId(id);
    // The role first: a regular user's post is refused whatever it holds.
    require_role(&state, &visitor.caller, workspace, Role::SuperUser).await?;
    let connected = match form.request() {
        Ok(request) => connect_and_register(&state, &visitor.caller, workspace, request).await,
        Err(error) => Err(error),
    };
    match connected {
        Ok(view) => match view.webhook.secret.clone() {
            Some(secret) => {
                let mut page =
                    settings_page_for(&state, &visitor, workspace, form.values(), None).await?;
                page.webhook_secret = Some(secret);
                Ok(render_once(&page))
            }
            None => Ok(redirect(
                &format!("/workspaces/{id}"),
                Some(Flash::notice(format!(
                    "Connected {}; webhook {}.",
                    view.url, view.webhook.status
                ))),
            )),
        },
        Err(error) => {
            let status = error.status;
            let page = settings_page_for(
                &state,
                &visitor,
                workspace,
                form.values(),
                Some(error.into()),
            )
            .await?;
            Ok(render(status, &page))
        }
    }
}
