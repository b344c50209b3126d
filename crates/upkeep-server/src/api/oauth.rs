//! Connecting a repository by OAuth, as GitLab CI or Woodpecker do it: a super user starts it
//! through the API (`POST …/repository/oauth`, the connection request without a token, checked
//! as a token connection is) and is given the provider's authorize page; the provider sends the
//! browser back to `GET /oauth/{provider}/callback` with a code and the `state`. That callback
//! is not under `/api`: the state (random, stored hashed, bound to the workspace and the
//! account, good for ten minutes and one use) authenticates it, and the session cookie must be
//! the same account's. The code is exchanged for a token, and the connection completes through
//! the same path as a token connection (git check, branch heads, webhook, audit), the token
//! and its refresh token sealed. The callback answers with a small page saying what happened;
//! a refusal changes nothing.
//!
//! `GET /api/v1/server` says which providers have an OAuth app, for a client to offer.

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use upkeep_forge::oauth::OAuthError;
use upkeep_store::{
    Authorisation, NewOAuthAuthorisation, OAuthAuthorisation, OAuthAuthorisationState, OAuthStore,
    Provider, Role, WorkspaceId,
};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::repository::{ConnectionRequest, RepositoryView, switch, validate};
use super::{Body, PathParams, WorkspacePath};
use crate::AppState;
use crate::auth::{Caller, require_role};
use crate::connection::Secrets;
use crate::oauth::{callback_url, expiry};
use crate::secrets::{new_token, token_hash};
use crate::webhook_setup::provider_name;

/// How long the person has to decide on the provider's page.
const AUTHORISATION_LIFETIME: SignedDuration = SignedDuration::from_mins(10);

/// A connection by OAuth: the connection request, without credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "provider": "github", "url": "https://github.com/acme/shop.git" }))]
pub struct OAuthRequest {
    /// `github` or `gitlab`, whose OAuth app the server has.
    provider: String,
    /// The repository's https URL (or `file://` with `repository`), never with credentials.
    url: String,
    /// The API's base URL; it must be the OAuth app's instance's (the default).
    #[serde(default)]
    api_base: Option<String>,
    /// `owner/repo` or `group/sub/project` when the URL does not say.
    #[serde(default)]
    repository: Option<String>,
    /// How often to poll the remote while no webhook works, in seconds.
    #[serde(default)]
    poll_interval_seconds: Option<i64>,
}

/// Where to send the person next.
#[derive(Serialize, ToSchema)]
pub struct OAuthStarted {
    /// The provider's page that asks the person to let Upkeep act for them; it sends the
    /// browser back to `callback`.
    pub authorize_url: String,
    /// The callback URL, as the OAuth app must have it registered.
    pub callback: String,
    /// Until when the authorisation can be finished.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// Start connecting (or switching) the workspace's repository by OAuth.
///
/// The body is checked as a token connection's; the answer is the provider's authorize page,
/// where the person lets Upkeep act for them. The provider then sends the browser back to
/// `/oauth/{provider}/callback` (signed in as the same account), which connects the
/// repository. Scopes: GitHub `repo admin:repo_hook`, GitLab `api`.
#[utoipa::path(
    post,
    path = "/workspaces/{workspace}/repository/oauth",
    tag = "repositories",
    params(WorkspacePath),
    request_body = OAuthRequest,
    responses(
        (status = 200, description = "Started: send the browser to `authorize_url`", body = OAuthStarted),
        (status = 409, description = "`oauth_not_configured`: the server has no OAuth app for the provider", body = ErrorBody),
        (status = 422, description = "`invalid_body`: a member is missing, unknown or of the wrong type", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
    Body(request): Body<OAuthRequest>,
) -> ApiResult<Json<OAuthStarted>> {
    let workspace = WorkspaceId(path.workspace);
    require_role(&state, &caller, workspace, Role::SuperUser).await?;
    let Some(provider @ (Provider::GitHub | Provider::GitLab)) =
        Provider::from_name(&request.provider)
    else {
        return Err(ApiError::invalid_field(
            "provider",
            "`provider` must be github or gitlab for a connection by OAuth",
        ));
    };
    let app = state.inner.tokens.apps().get(provider).ok_or_else(|| {
        let name = provider.as_str();
        ApiError::new(
            StatusCode::CONFLICT,
            "oauth_not_configured",
            format!(
                "the server has no {} OAuth app: its admin starts it with --{name}-oauth-client-id and UPKEEP_{}_OAUTH_CLIENT_SECRET; meanwhile connect with a token (PUT /api/v1/workspaces/{}/repository)",
                provider_name(provider),
                name.to_uppercase(),
                workspace.0
            ),
        )
    })?;
    // The token will be the app's instance's: so must the API be.
    let api_base = app.api_base();
    if let Some(given) = &request.api_base
        && given.trim_end_matches('/') != api_base
    {
        return Err(ApiError::invalid_field(
            "api_base",
            format!(
                "`api_base` must be the API of the OAuth app's instance, {api_base} (or left out)"
            ),
        ));
    }
    let connection = validate(ConnectionRequest {
        provider: Some(request.provider),
        url: request.url,
        token: None,
        api_base: Some(api_base),
        repository: request.repository,
        username: None,
        password: None,
        ssh_key: None,
        poll_interval_seconds: request.poll_interval_seconds,
        oauth: true,
    })?;
    let oauth_state = new_token("").map_err(|error| ApiError::internal(&error))?;
    let now = state.inner.clock.now();
    let expires_at = now
        .checked_add(AUTHORISATION_LIFETIME)
        .map_err(|error| ApiError::internal(&error))?;
    state
        .inner
        .store
        .create_oauth_authorisation(&NewOAuthAuthorisation {
            state_hash: &token_hash(&oauth_state),
            workspace,
            account: caller.account.id,
            provider,
            url: &connection.url,
            api_base: connection.api_base.as_deref(),
            forge_path: connection.forge_path.as_deref(),
            poll_interval_seconds: connection.poll_interval_seconds,
            created_at: now,
            expires_at,
        })
        .await?;
    let callback = callback_url(state.public_url(), provider);
    Ok(Json(OAuthStarted {
        authorize_url: app.authorize_url(&callback, &oauth_state),
        callback,
        expires_at: expires_at.to_string(),
    }))
}

/// What the provider sends back: a code and the state, or an error.
#[derive(Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// The answer of the callback: a page saying what happened.
type CallbackPage = axum::response::Response;

fn outcome(status: StatusCode, title: &str, message: &str) -> CallbackPage {
    crate::ui::notice_page(status, title, message)
}

fn refused(status: StatusCode, message: &str) -> CallbackPage {
    outcome(status, "The repository was not connected", message)
}

/// The provider sends the browser here once the person decided.
pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    request: axum::extract::Request,
) -> CallbackPage {
    let (mut parts, _) = request.into_parts();
    let Some(provider) = Provider::from_name(&provider).filter(|p| *p != Provider::Git) else {
        return refused(StatusCode::NOT_FOUND, "There is no such OAuth provider.");
    };
    let query = match Query::<CallbackQuery>::from_request_parts(&mut parts, &state).await {
        Ok(Query(query)) => query,
        Err(rejection) => return refused(StatusCode::BAD_REQUEST, &rejection.body_text()),
    };
    let caller = <Caller as FromRequestParts<AppState>>::from_request_parts(&mut parts, &state)
        .await
        .ok();
    match finish(&state, provider, query, caller).await {
        Ok(view) => {
            let message = format!(
                "{} is connected to this workspace by {} OAuth; its webhook is {} ({}).",
                view.url,
                provider_name(provider),
                view.webhook.status,
                view.webhook.detail
            );
            outcome(StatusCode::OK, "Repository connected", &message)
        }
        Err(page) => page,
    }
}

fn internal(error: &dyn std::fmt::Display) -> CallbackPage {
    refused(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!("The server could not do it: {error}."),
    )
}

/// Uses the authorisation up, once its state and the caller are checked; exchanges the code
/// and connects.
async fn finish(
    state: &AppState,
    provider: Provider,
    query: CallbackQuery,
    caller: Option<Caller>,
) -> Result<RepositoryView, CallbackPage> {
    let name = provider_name(provider);
    let (authorisation, caller) = take_authorisation(state, provider, &query, caller).await?;
    if let Some(error) = &query.error {
        let description = query.error_description.as_deref().unwrap_or_default();
        return Err(refused(
            StatusCode::BAD_REQUEST,
            &format!(
                "{name} did not authorise Upkeep ({error}{}{description}). Nothing changed.",
                if description.is_empty() { "" } else { ": " }
            ),
        ));
    }
    let Some(code) = query.code.filter(|code| !code.is_empty()) else {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            &format!("{name} sent no code; start connecting again."),
        ));
    };
    // The role may have changed in the ten minutes.
    require_role(state, &caller, authorisation.workspace, Role::SuperUser)
        .await
        .map_err(|error| refused(error.status, &error.message))?;
    let app = state.inner.tokens.apps().get(provider).ok_or_else(|| {
        refused(
            StatusCode::CONFLICT,
            &format!("The server has no {name} OAuth app any more."),
        )
    })?;
    let now = state.inner.clock.now();
    let redirect_uri = callback_url(state.public_url(), provider);
    let tokens = tokio::task::spawn_blocking(move || app.exchange_code(&code, &redirect_uri))
        .await
        .map_err(|error| internal(&error))?
        .map_err(|error| {
            let status = match error {
                OAuthError::Refused { .. } => StatusCode::BAD_REQUEST,
                _ => StatusCode::BAD_GATEWAY,
            };
            let hint = upkeep_hint::Hint::hint(&error)
                .map(|hint| format!(" ({hint})"))
                .unwrap_or_default();
            refused(
                status,
                &format!(
                    "{name} did not give a token for the code: {error}{hint}. Nothing changed."
                ),
            )
        })?;
    let connection = super::repository::Connection {
        url: authorisation.url,
        provider,
        secrets: Secrets {
            token: Some(tokens.access_token.expose().to_string()),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|token| token.expose().to_string()),
            ..Secrets::default()
        },
        forge_path: authorisation.forge_path,
        api_base: authorisation.api_base,
        poll_interval_seconds: authorisation.poll_interval_seconds,
        authorisation: Authorisation::OAuth,
        token_expires_at: expiry(now, &tokens),
    };
    switch(state, authorisation.workspace, &connection, &caller.account)
        .await
        .map_err(|error| refused(error.status, &error.message))
}

/// The pending authorisation of the callback's state, used up — if it is the caller's and
/// still pending; otherwise the page saying why not, and nothing is used.
async fn take_authorisation(
    state: &AppState,
    provider: Provider,
    query: &CallbackQuery,
    caller: Option<Caller>,
) -> Result<(OAuthAuthorisation, Caller), CallbackPage> {
    let name = provider_name(provider);
    let unknown = || {
        refused(
            StatusCode::BAD_REQUEST,
            &format!("This {name} authorisation is unknown to the server; start connecting again."),
        )
    };
    let Some(oauth_state) = query.state.as_deref().filter(|state| !state.is_empty()) else {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            &format!("{name} sent no `state`; start connecting again."),
        ));
    };
    let store = &state.inner.store;
    let authorisation = store
        .oauth_authorisation_by_state(&token_hash(oauth_state))
        .await
        .map_err(|error| internal(&error))?
        .filter(|authorisation| authorisation.provider == provider)
        .ok_or_else(unknown)?;
    let Some(caller) = caller else {
        return Err(refused(
            StatusCode::UNAUTHORIZED,
            "Sign in to Upkeep as the person who started connecting, then start again.",
        ));
    };
    if caller.account.id != authorisation.account {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "Another account started this authorisation; only its browser session can finish it. Nothing changed.",
        ));
    }
    let now = state.inner.clock.now();
    let unusable = |authorisation_state: OAuthAuthorisationState| {
        refused(
            StatusCode::GONE,
            &format!(
                "This authorisation {authorisation_state}: start connecting again (it is good for ten minutes, once)."
            ),
        )
    };
    let authorisation_state = authorisation.state(now);
    if authorisation_state != OAuthAuthorisationState::Pending {
        return Err(unusable(authorisation_state));
    }
    if !store
        .use_oauth_authorisation(authorisation.id, now)
        .await
        .map_err(|error| internal(&error))?
    {
        return Err(unusable(OAuthAuthorisationState::Used));
    }
    Ok((authorisation, caller))
}

/// What the server offers its clients.
#[derive(Serialize, ToSchema)]
pub struct ServerView {
    /// The version of Upkeep the server runs.
    pub version: String,
    /// The providers a repository can be connected to by OAuth (`github`, `gitlab`); the
    /// others take a token.
    pub oauth: Vec<String>,
}

/// What the server offers: its version and its OAuth providers.
#[utoipa::path(
    get,
    path = "/server",
    tag = "session",
    responses((status = 200, description = "The server", body = ServerView)),
    extensions(("x-upkeep-role" = json!("account"))),
)]
pub async fn server(State(state): State<AppState>, _caller: Caller) -> Json<ServerView> {
    Json(ServerView {
        version: env!("CARGO_PKG_VERSION").to_string(),
        oauth: state.inner.tokens.apps().providers(),
    })
}
