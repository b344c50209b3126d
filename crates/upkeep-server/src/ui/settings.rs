//! A workspace's settings, for its super users (a regular user gets a 403 page, and so does a
//! forged post): the repository — the connection without its secrets, the form that connects
//! or switches it, "clone from scratch" —, the webhook's recent deliveries with their verdicts,
//! and the workspace's variables and secrets (`variables`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use upkeep_store::{DeliveryStore, RepositoryStore, Role, Scope, WorkspaceId};

use super::layout::{Badge, Layout, Pager, workspace_of};
use super::request::{Asked, Flash, NoFields, Posted, Visitor, redirect};
use super::session::FormError;
use super::time::Moment;
use super::variables::VariablesSection;
use super::{UiResult, render, render_once};
use crate::AppState;
use crate::api::error::ApiError;
use crate::api::page::PageQuery;
use crate::api::repository::{
    ConnectionRequest, DEFAULT_POLL_INTERVAL, RepositoryView, connect_and_register, drop_clone,
    repository_view,
};
use crate::auth::require_role;

/// How many deliveries a page of the settings lists.
const DELIVERIES_PER_PAGE: u32 = 10;

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

struct DeliveryRow {
    received: Moment,
    provider: String,
    event: String,
    verdict: Badge,
    detail: String,
}

/// A verdict's badge: accepted is good news, ignored is neither, the rest were refused.
fn verdict_badge(verdict: &str) -> Badge {
    let class = match verdict {
        "accepted" => "succeeded",
        "ignored" => "ignored",
        _ => "failed",
    };
    Badge {
        class,
        label: verdict.to_string(),
    }
}

#[derive(Template)]
#[template(path = "workspace/settings.html")]
pub struct SettingsPage {
    layout: Layout,
    workspace: i64,
    name: String,
    is_super_user: bool,
    repository: Option<RepositoryView>,
    /// Just connected with a webhook to set up by hand: its secret, shown this once.
    webhook_secret: Option<String>,
    values: ConnectValues,
    error: Option<FormError>,
    deliveries: Vec<DeliveryRow>,
    deliveries_pager: Pager,
    pub variables: VariablesSection,
}

/// The settings page with empty forms, its deliveries' page as `query` asks.
pub async fn settings_page_for(
    state: &AppState,
    visitor: &Visitor,
    workspace: WorkspaceId,
    query: &PageQuery,
) -> UiResult<SettingsPage> {
    let (_, name) = workspace_of(state, visitor, workspace, Role::SuperUser).await?;
    let store = &state.inner.store;
    let repository = store
        .repository(workspace)
        .await
        .map_err(ApiError::from)?
        .map(|repository| repository_view(state, &repository));
    let mut request = query.request("deliveries")?;
    request.limit = request.limit.min(DELIVERIES_PER_PAGE);
    let deliveries = store
        .deliveries(workspace, request)
        .await
        .map_err(ApiError::from)?;
    let path = format!("/workspaces/{}/settings", workspace.0);
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
        values: ConnectValues {
            poll_interval_seconds: DEFAULT_POLL_INTERVAL.to_string(),
            ..ConnectValues::default()
        },
        error: None,
        deliveries_pager: Pager::of(&path, "#deliveries", "deliveries", query, &deliveries),
        deliveries: deliveries
            .items
            .into_iter()
            .map(|delivery| DeliveryRow {
                received: Moment::now_relative(delivery.received_at),
                verdict: verdict_badge(&delivery.verdict),
                provider: delivery.provider,
                event: delivery.event,
                detail: delivery.detail,
            })
            .collect(),
        variables: VariablesSection::of(state, workspace, &Scope::Workspace).await?,
    })
}

pub async fn settings_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    Asked(query): Asked<PageQuery>,
) -> UiResult<Response> {
    let page = settings_page_for(&state, &visitor, WorkspaceId(id), &query).await?;
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
            oauth: false,
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
                    settings_page_for(&state, &visitor, workspace, &PageQuery::default()).await?;
                page.values = form.values();
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
            let mut page =
                settings_page_for(&state, &visitor, workspace, &PageQuery::default()).await?;
            page.values = form.values();
            page.error = Some(error.into());
            Ok(render(status, &page))
        }
    }
}

/// "Clone from scratch": the next run clones the repository afresh.
pub async fn reclone(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted { visitor, .. }: Posted<NoFields>,
) -> UiResult<Response> {
    let back = format!("/workspaces/{id}/settings");
    Ok(
        match drop_clone(&state, &visitor.caller, WorkspaceId(id)).await {
            Ok(true) => redirect(
                &back,
                Some(Flash::notice(
                    "The cached clone is dropped: the next run clones the repository from scratch.",
                )),
            ),
            Ok(false) => redirect(
                &back,
                Some(Flash::notice(
                    "There was no cached clone: the next run clones the repository from scratch.",
                )),
            ),
            Err(error) if error.status == StatusCode::FORBIDDEN => return Err(error.into()),
            Err(error) => redirect(&back, Some(Flash::error(error.message))),
        },
    )
}
