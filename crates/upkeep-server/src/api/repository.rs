//! The workspace's repository: connect (or switch) by provider — GitHub, GitLab (also
//! self-hosted) or any git URL — with credentials that are sealed at rest, show the connection
//! without its secrets, and drop the cached clone. Connecting checks that git can read the
//! repository with the credentials given (a wrong password is refused, naming git's reason) and
//! records its branch heads, from which polling runs what moves.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use upkeep_forge::git::{Git, GitError};
use upkeep_store::{
    AccountId, AuditStore, Authorisation, NewRepository, Provider, Repository, RepositoryStore,
    Role, UpgradeStore, WebhookStatus, WorkspaceId,
};

use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::{Body, PathParams, WorkspacePath, check_field};
use crate::AppState;
use crate::auth::{Caller, require_role};
use crate::connection::{RepositoryAccess, Secrets, Transport, http_host, is_loopback};
use crate::executor::DropCloneError;
use crate::oauth::AccessError;
use crate::webhook_setup;

/// How often polling asks the remote by default, in seconds.
pub const DEFAULT_POLL_INTERVAL: i64 = 60;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "provider": "git", "url": "file:///srv/git/shop.git" }))]
pub struct ConnectionRequest {
    /// `github`, `gitlab` or `git` (the default).
    #[serde(default)]
    pub provider: Option<String>,
    /// `https://`, `ssh://`, `git@host:path` or `file://`; never with credentials in it.
    pub url: String,
    /// GitHub or GitLab: a personal (or project) access token.
    #[serde(default)]
    pub token: Option<String>,
    /// GitHub Enterprise or a self-hosted GitLab: the API's base URL.
    #[serde(default)]
    pub api_base: Option<String>,
    /// GitHub or GitLab: `owner/repo` or `group/sub/project` when the URL does not say.
    #[serde(default)]
    pub repository: Option<String>,
    /// A git URL over https: user name and password.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    #[schema(format = Password)]
    pub password: Option<String>,
    /// A git URL over ssh: a private key without passphrase.
    #[serde(default)]
    #[schema(format = Password)]
    pub ssh_key: Option<String>,
    /// How often to poll the remote while no webhook works, in seconds.
    #[serde(default)]
    pub poll_interval_seconds: Option<i64>,
    /// Set by the OAuth flow, never sent: the token will come from the provider.
    #[serde(skip)]
    pub oauth: bool,
}

/// A connection whose every field was checked.
pub struct Connection {
    pub url: String,
    pub provider: Provider,
    pub secrets: Secrets,
    pub forge_path: Option<String>,
    pub api_base: Option<String>,
    pub poll_interval_seconds: i64,
    pub authorisation: Authorisation,
    /// When an OAuth token expires.
    pub token_expires_at: Option<Timestamp>,
}

impl Connection {
    /// A git URL without credentials (the demo repository).
    pub fn plain(url: &str) -> Self {
        Self {
            url: url.to_string(),
            provider: Provider::Git,
            secrets: Secrets::default(),
            forge_path: None,
            api_base: None,
            poll_interval_seconds: DEFAULT_POLL_INTERVAL,
            authorisation: Authorisation::Credentials,
            token_expires_at: None,
        }
    }

    fn access(&self) -> RepositoryAccess {
        RepositoryAccess::new(
            &self.url,
            self.provider,
            &self.secrets,
            self.forge_path.clone(),
            self.api_base.clone(),
        )
    }
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid_field(field, message)
}

/// Git URLs the server clones: https, ssh (both forms) and local `file://` repositories; never
/// with a password in them.
fn check_git_url(url: &str) -> ApiResult<Transport> {
    let known = ["https://", "http://", "ssh://", "file://", "git@"]
        .iter()
        .any(|scheme| url.starts_with(scheme));
    let safe = !url.starts_with('-') && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    check_field("url", url, 2048, known && safe)?;
    let transport = Transport::of(url);
    let authority = url
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or_default());
    let credentials_in_url = match transport {
        Transport::Http => authority.is_some_and(|authority| authority.contains('@')),
        Transport::Ssh => authority.is_some_and(|authority| {
            authority
                .split_once('@')
                .is_some_and(|(user, _)| user.contains(':'))
        }),
        Transport::File => false,
    };
    if credentials_in_url {
        return Err(invalid(
            "url",
            "`url` must not hold credentials: send them as `token`, or `username` and `password`",
        ));
    }
    Ok(transport)
}

/// A secret field: present, not blank, of sane length, one line.
fn check_secret(field: &str, value: &str, max: usize) -> ApiResult<()> {
    let valid = !value.chars().any(char::is_control);
    check_field(field, value, max, valid)
}

fn check_ssh_key(key: &str) -> ApiResult<()> {
    let trimmed = key.trim();
    let pem = trimmed.starts_with("-----BEGIN ") && trimmed.contains(" PRIVATE KEY-----");
    if !pem || trimmed.len() > 16 * 1024 {
        return Err(invalid(
            "ssh_key",
            "`ssh_key` must be a private key in OpenSSH or PEM form (`-----BEGIN … PRIVATE KEY-----`)",
        ));
    }
    if trimmed.contains("ENCRYPTED") {
        return Err(invalid(
            "ssh_key",
            "`ssh_key` is protected by a passphrase, which the server cannot type; use a deploy key without one",
        ));
    }
    Ok(())
}

/// The fields of the GitHub and GitLab providers: `token`, `api_base`, `repository`.
fn check_forge_fields(request: &ConnectionRequest, provider: Provider) -> ApiResult<()> {
    let is_forge = provider != Provider::Git;
    let only_forge = |field: &str| {
        invalid(
            field,
            format!(
                "`{field}` is for the github and gitlab providers; a plain git URL takes `username` and `password` (https) or `ssh_key` (ssh)"
            ),
        )
    };
    if let Some(token) = &request.token {
        if !is_forge {
            return Err(only_forge("token"));
        }
        check_secret("token", token, 1024)?;
        if token.chars().any(char::is_whitespace) {
            return Err(invalid("token", "`token` must not contain spaces"));
        }
    }
    if let Some(api_base) = &request.api_base {
        if !is_forge {
            return Err(only_forge("api_base"));
        }
        let web = api_base.starts_with("https://") || api_base.starts_with("http://");
        check_field(
            "api_base",
            api_base,
            2048,
            web && !api_base.chars().any(char::is_whitespace),
        )?;
        if request.token.is_some()
            && api_base.starts_with("http://")
            && !is_loopback(http_host(api_base))
        {
            return Err(invalid(
                "api_base",
                "`api_base` must be https:// to send the token (plain http only on this machine)",
            ));
        }
    }
    if let Some(path) = &request.repository {
        if !is_forge {
            return Err(only_forge("repository"));
        }
        let segments: Vec<&str> = path.split('/').collect();
        let shape = match provider {
            Provider::GitHub => segments.len() == 2,
            _ => segments.len() >= 2,
        } && segments
            .iter()
            .all(|segment| !segment.is_empty() && *segment != "." && *segment != "..");
        check_field("repository", path, 255, shape)?;
    }
    Ok(())
}

/// The credentials git itself uses: `username` and `password` (https), `ssh_key` (ssh).
fn check_git_credentials(
    request: &ConnectionRequest,
    provider: Provider,
    transport: Transport,
) -> ApiResult<()> {
    match (&request.username, &request.password) {
        (None, None) => {}
        (Some(username), Some(password)) => {
            if provider != Provider::Git {
                return Err(invalid(
                    "username",
                    format!(
                        "`username` and `password` are for plain git URLs; {} takes a `token`",
                        provider.as_str()
                    ),
                ));
            }
            if transport != Transport::Http {
                return Err(invalid(
                    "username",
                    "`username` and `password` are for https URLs; an ssh URL takes `ssh_key`",
                ));
            }
            check_field(
                "username",
                username,
                255,
                !username.chars().any(|c| c.is_control() || c == ':'),
            )?;
            check_secret("password", password, 1024)?;
        }
        (Some(_), None) => {
            return Err(invalid(
                "password",
                "`password` is missing: `username` needs one",
            ));
        }
        (None, Some(_)) => {
            return Err(invalid(
                "username",
                "`username` is missing: `password` needs one",
            ));
        }
    }
    if let Some(key) = &request.ssh_key {
        if transport != Transport::Ssh {
            return Err(invalid(
                "ssh_key",
                "`ssh_key` is for ssh URLs (`ssh://…` or `git@host:path`)",
            ));
        }
        check_ssh_key(key)?;
    }
    Ok(())
}

/// Checks a connection request field by field; errors name the field and never hold a secret.
pub fn validate(request: ConnectionRequest) -> ApiResult<Connection> {
    let provider = match request.provider.as_deref() {
        None => Provider::Git,
        Some(name) => Provider::from_name(name).ok_or_else(|| {
            invalid(
                "provider",
                format!(
                    "`provider` must be one of github, gitlab, git (not `{}`)",
                    name.chars().take(40).collect::<String>()
                ),
            )
        })?,
    };
    let url = request.url.trim().to_string();
    let transport = check_git_url(&url)?;
    let is_forge = provider != Provider::Git;
    check_forge_fields(&request, provider)?;
    check_git_credentials(&request, provider, transport)?;
    if request.oauth && transport == Transport::Ssh {
        return Err(invalid(
            "url",
            "`url` must be https:// for a connection by OAuth: git uses the OAuth token over https",
        ));
    }
    let sends_secret = request.password.is_some() || request.token.is_some() || request.oauth;
    if transport == Transport::Http
        && sends_secret
        && url.starts_with("http://")
        && !is_loopback(http_host(&url))
    {
        return Err(invalid(
            "url",
            "`url` must be https:// to send credentials (plain http only on this machine)",
        ));
    }
    if is_forge && request.repository.is_none() && transport == Transport::File {
        return Err(invalid(
            "repository",
            format!(
                "`repository` is needed: a file:// URL does not say which {} repository it is",
                provider.as_str()
            ),
        ));
    }
    if is_forge
        && request.api_base.is_none()
        && upkeep_forge::RemoteRepository::parse(&url).is_err()
    {
        return Err(invalid(
            "api_base",
            format!(
                "`api_base` is needed: the URL does not say where the {} API is",
                provider.as_str()
            ),
        ));
    }
    let poll_interval_seconds = request
        .poll_interval_seconds
        .unwrap_or(DEFAULT_POLL_INTERVAL);
    if !(1..=86_400).contains(&poll_interval_seconds) {
        return Err(invalid(
            "poll_interval_seconds",
            "`poll_interval_seconds` must be between 1 and 86400",
        ));
    }
    Ok(Connection {
        url,
        provider,
        secrets: Secrets {
            username: request.username,
            token: request.token,
            password: request.password,
            ssh_key: request.ssh_key,
            refresh_token: None,
        },
        forge_path: request.repository,
        api_base: request
            .api_base
            .map(|base| base.trim_end_matches('/').to_string()),
        poll_interval_seconds,
        authorisation: if request.oauth {
            Authorisation::OAuth
        } else {
            Authorisation::Credentials
        },
        token_expires_at: None,
    })
}

/// The branches of the repository as git reads them with the connection's credentials, or why
/// it cannot (git's own words: `Authentication failed for …`, `repository … not found`).
pub async fn read_heads(
    state: &AppState,
    access: RepositoryAccess,
) -> ApiResult<Vec<(String, String)>> {
    let data_dir = state.inner.data_dir.clone();
    let url = access.url.clone();
    let read = tokio::task::spawn_blocking(move || {
        let auth = access.git_auth(&data_dir)?;
        Git::remote_heads(&access.url, &data_dir, auth.env()).map_err(ReadError::Git)
    })
    .await
    .map_err(|error| ApiError::internal(&error))?;
    read.map_err(|error| {
        let reason = match &error {
            ReadError::Git(GitError::Failed { stderr, .. }) => stderr.clone(),
            other => other.to_string(),
        };
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "repository_unreachable",
            format!("git cannot read `{url}` with the credentials given: {reason}"),
        )
    })
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Git(GitError),
    #[error(transparent)]
    Credentials(#[from] upkeep_forge::git_auth::GitAuthError),
}

/// Connects the workspace: checks that git can read the repository, seals the credentials and
/// a new webhook secret, and records the connection with the branch heads of now. Returns the
/// repository and the webhook secret in clear, to be shown once.
pub async fn connect(
    state: &AppState,
    workspace: WorkspaceId,
    connection: &Connection,
    by: AccountId,
) -> ApiResult<(Repository, String)> {
    let heads = read_heads(state, connection.access()).await?;
    let sealer = &state.inner.sealer;
    let seal = |secret: &Option<String>| {
        secret
            .as_deref()
            .map(|secret| sealer.seal(secret))
            .transpose()
            .map_err(|error| ApiError::internal(&error))
    };
    let secrets = &connection.secrets;
    let token_sealed = seal(&secrets.token)?;
    let password_sealed = seal(&secrets.password)?;
    let ssh_key_sealed = seal(&secrets.ssh_key)?;
    let refresh_token_sealed = seal(&secrets.refresh_token)?;
    let webhook_secret =
        crate::secrets::new_token("").map_err(|error| ApiError::internal(&error))?;
    let webhook_secret_sealed = seal(&Some(webhook_secret.clone()))?.unwrap_or_default();
    let repository = state
        .inner
        .store
        .connect_repository(
            workspace,
            &NewRepository {
                url: &connection.url,
                provider: connection.provider,
                api_base: connection.api_base.as_deref(),
                forge_path: connection.forge_path.as_deref(),
                username: secrets.username.as_deref(),
                token_sealed: token_sealed.as_deref(),
                password_sealed: password_sealed.as_deref(),
                ssh_key_sealed: ssh_key_sealed.as_deref(),
                authorisation: connection.authorisation,
                refresh_token_sealed: refresh_token_sealed.as_deref(),
                token_expires_at: connection.token_expires_at,
                webhook_secret_sealed: &webhook_secret_sealed,
                poll_interval_seconds: connection.poll_interval_seconds,
                heads: &heads,
            },
            by,
        )
        .await?;
    // The Upgrader project's schedule counts from the connection on.
    state
        .inner
        .store
        .ensure_upgrade_schedule(workspace, state.inner.clock.now())
        .await?;
    Ok((repository, webhook_secret))
}

/// The connected repository of a workspace with its credentials opened, or `409 no_repository`.
pub async fn connected(
    state: &AppState,
    workspace: WorkspaceId,
) -> ApiResult<(Repository, RepositoryAccess)> {
    let repository = state
        .inner
        .store
        .repository(workspace)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "no_repository",
                "the workspace has no repository yet; a super user connects one first",
            )
        })?;
    let access = state
        .inner
        .tokens
        .open(&repository)
        .await
        .map_err(access_error)?;
    Ok((repository, access))
}

/// The answer when the repository's credentials cannot be used: an OAuth token that could not
/// be refreshed is `409 oauth_refresh_failed`, saying to reconnect.
pub fn access_error(error: AccessError) -> ApiError {
    match error {
        AccessError::Refresh(message) => {
            ApiError::new(StatusCode::CONFLICT, "oauth_refresh_failed", message)
        }
        AccessError::Store(error) => error.into(),
        AccessError::Seal(error) => ApiError::internal(&error),
    }
}

/// The connection as anyone may see it: no secret, only whether there is one.
#[derive(Serialize, ToSchema)]
pub struct RepositoryView {
    /// `github`, `gitlab` or `git`.
    pub provider: String,
    pub url: String,
    /// GitHub's `owner/repo` or GitLab's `group/sub/project`, when given.
    pub repository: Option<String>,
    pub api_base: Option<String>,
    pub username: Option<String>,
    pub has_token: bool,
    pub has_password: bool,
    pub has_ssh_key: bool,
    /// How git and the API are given access: `oauth` (granted through the provider's OAuth
    /// app), `token`, `password`, `ssh_key` or `none`.
    pub authorised_by: String,
    /// When the OAuth token expires (it is refreshed before); `null`: it does not.
    #[schema(format = DateTime)]
    pub token_expires_at: Option<String>,
    /// Why the OAuth token could not be refreshed last: reconnect the repository.
    pub token_error: Option<String>,
    #[schema(format = DateTime)]
    pub connected_at: String,
    pub webhook: WebhookView,
    pub polling: PollingView,
}

/// The push webhook: registered through the provider's API, to set up by hand, or proven by a
/// signed delivery.
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    /// `manual`, `registered` or `receiving`.
    pub status: String,
    /// Why (the provider's refusal, or what to do by hand).
    pub detail: String,
    /// Where GitHub delivers pushes.
    pub github: String,
    /// Where GitLab delivers pushes.
    pub gitlab: String,
    /// The webhook secret, shown once: in the answer of a connection whose webhook is to be
    /// set up by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Polling, which runs moved branches while no webhook works.
#[derive(Serialize, ToSchema)]
pub struct PollingView {
    pub active: bool,
    pub interval_seconds: i64,
    #[schema(format = DateTime)]
    pub last_polled_at: Option<String>,
    pub last_error: Option<String>,
}

fn authorised_by(repository: &Repository) -> &'static str {
    if repository.authorisation == Authorisation::OAuth {
        "oauth"
    } else if repository.token_sealed.is_some() {
        "token"
    } else if repository.password_sealed.is_some() {
        "password"
    } else if repository.ssh_key_sealed.is_some() {
        "ssh_key"
    } else {
        "none"
    }
}

pub fn repository_view(state: &AppState, repository: &Repository) -> RepositoryView {
    let base = state.public_url();
    let last_poll = state.inner.polls.status(repository.workspace);
    RepositoryView {
        provider: repository.provider.as_str().to_string(),
        url: repository.url.clone(),
        repository: repository.forge_path.clone(),
        api_base: repository.api_base.clone(),
        username: repository.username.clone(),
        has_token: repository.token_sealed.is_some(),
        has_password: repository.password_sealed.is_some(),
        has_ssh_key: repository.ssh_key_sealed.is_some(),
        authorised_by: authorised_by(repository).to_string(),
        token_expires_at: repository.token_expires_at.map(|at| at.to_string()),
        token_error: repository.token_error.clone(),
        connected_at: repository.connected_at.to_string(),
        webhook: WebhookView {
            status: repository.webhook_status.as_str().to_string(),
            detail: repository.webhook_detail.clone(),
            github: webhook_setup::delivery_url(base, Provider::GitHub, repository.workspace),
            gitlab: webhook_setup::delivery_url(base, Provider::GitLab, repository.workspace),
            secret: None,
        },
        polling: PollingView {
            active: !repository.webhook_status.works(),
            interval_seconds: repository.poll_interval_seconds,
            last_polled_at: last_poll.as_ref().map(|poll| poll.at.to_string()),
            last_error: last_poll.and_then(|poll| poll.error),
        },
    }
}

#[derive(Serialize, ToSchema)]
pub struct Recloned {
    /// Whether there was a cached clone to drop.
    pub dropped: bool,
}

/// Connect (or switch) the workspace's repository by provider.
///
/// Git must read the repository with the credentials given; they are sealed at rest. The push
/// webhook is registered through the provider's API when it can be, else its secret is in this
/// answer, shown once, to set it up by hand.
#[utoipa::path(
    put,
    path = "/workspaces/{workspace}/repository",
    tag = "repositories",
    params(WorkspacePath),
    request_body = ConnectionRequest,
    responses(
        (status = 200, description = "Connected, without secrets but the manual webhook's", body = RepositoryView),
        (status = 422, description = "`repository_unreachable`: git cannot read the repository with the credentials given (git's reason); `invalid_body`: a member is missing, unknown or of the wrong type", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn connect_repository(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
    Body(request): Body<ConnectionRequest>,
) -> ApiResult<Json<RepositoryView>> {
    let workspace = WorkspaceId(path.workspace);
    let view = connect_and_register(&state, &caller, workspace, request).await?;
    Ok(Json(view))
}

/// Connects (or switches) the workspace's repository for a super user: checks the request and
/// that git reads the repository, replaces an earlier webhook, registers the new one where the
/// provider allows, and records it in the audit log. The view holds the webhook secret only
/// when the webhook is to be set up by hand. Shared by the API and the web UI.
pub async fn connect_and_register(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
    request: ConnectionRequest,
) -> ApiResult<RepositoryView> {
    require_role(state, caller, workspace, Role::SuperUser).await?;
    let connection = validate(request)?;
    switch(state, workspace, &connection, &caller.account).await
}

/// Connects (or switches) the workspace to `connection` for `by`, whether its token was
/// given or granted by OAuth: checks that git can read it, seals the credentials, replaces
/// the webhook, records the audit entry. The view shows the webhook's secret when it is to be
/// set up by hand.
pub async fn switch(
    state: &AppState,
    workspace: WorkspaceId,
    connection: &Connection,
    by: &upkeep_store::Account,
) -> ApiResult<RepositoryView> {
    let store = &state.inner.store;
    let previous = store.repository(workspace).await?;
    // Opened before the connection replaces them: removing an earlier webhook needs them. An
    // OAuth token that cannot be refreshed any more is tried as it is.
    let previous_access = match &previous {
        Some(previous) => Some(match state.inner.tokens.open(previous).await {
            Ok(access) => access,
            Err(_) => RepositoryAccess::open(previous, &state.inner.sealer)
                .map_err(|error| ApiError::internal(&error))?,
        }),
        None => None,
    };
    let (_, secret) = connect(state, workspace, connection, by.id).await?;
    let mut notes = Vec::new();
    // The earlier hook goes first: a provider refuses a second hook with the same URL.
    if let (Some(previous), Some(access)) = (&previous, &previous_access)
        && previous.webhook_status == WebhookStatus::Registered
        && let Some(hook_id) = previous.webhook_hook_id
    {
        notes.push(webhook_setup::unregister(access, hook_id).await);
    }
    let setup =
        webhook_setup::register(state.public_url(), workspace, &connection.access(), &secret).await;
    store
        .set_webhook_status(workspace, setup.status, &setup.detail, setup.hook_id)
        .await?;
    let repository = store
        .repository(workspace)
        .await?
        .ok_or_else(|| ApiError::not_found("repository"))?;
    let how = match connection.authorisation {
        Authorisation::OAuth => " by OAuth",
        Authorisation::Credentials => "",
    };
    let (action, detail) = match &previous {
        Some(previous) => (
            "repository.switched",
            format!(
                "switched from {} ({}) to {} ({}){how}",
                previous.url,
                previous.provider.as_str(),
                repository.url,
                repository.provider.as_str()
            ),
        ),
        None => (
            "repository.connected",
            format!(
                "connected {} ({}){how}",
                repository.url,
                repository.provider.as_str()
            ),
        ),
    };
    notes.insert(0, detail);
    notes.push(format!(
        "webhook {}: {}",
        setup.status.as_str(),
        setup.detail
    ));
    store
        .record_audit(Some(workspace), Some(by.id), action, &notes.join("; "))
        .await?;
    let mut view = repository_view(state, &repository);
    // The secret is shown once, and only to set the webhook up by hand.
    if setup.status == WebhookStatus::Manual {
        view.webhook.secret = Some(secret);
    }
    Ok(view)
}

/// The workspace's repository connection, without secrets.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/repository",
    tag = "repositories",
    params(WorkspacePath),
    responses(
        (status = 200, description = "The connection, its webhook and polling", body = RepositoryView),
        (status = 404, description = "`not_found`: no repository is connected", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn show_repository(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
) -> ApiResult<Json<RepositoryView>> {
    let workspace = WorkspaceId(path.workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let repository = state
        .inner
        .store
        .repository(workspace)
        .await?
        .ok_or_else(|| ApiError::not_found("repository"))?;
    Ok(Json(repository_view(&state, &repository)))
}

/// Drop the cached clone, so that the next run clones from scratch.
#[utoipa::path(
    post,
    path = "/workspaces/{workspace}/repository/reclone",
    tag = "repositories",
    params(WorkspacePath),
    responses(
        (status = 200, description = "Dropped (or there was none)", body = Recloned),
        (status = 409, description = "`no_repository`: none is connected; `clone_in_use`: a run uses the clone now", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("super_user"))),
)]
pub async fn reclone(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(path): PathParams<WorkspacePath>,
) -> ApiResult<Json<Recloned>> {
    let dropped = drop_clone(&state, &caller, WorkspaceId(path.workspace)).await?;
    Ok(Json(Recloned { dropped }))
}

/// Drops the workspace's cached clone (super users), so that the next run clones from
/// scratch, and records it in the audit log; whether there was one. Shared by the API and the
/// web UI.
pub async fn drop_clone(
    state: &AppState,
    caller: &Caller,
    workspace: WorkspaceId,
) -> ApiResult<bool> {
    require_role(state, caller, workspace, Role::SuperUser).await?;
    connected(state, workspace).await?;
    let executor = state.inner.executor.clone();
    let dropped = tokio::task::spawn_blocking(move || executor.drop_clone(workspace))
        .await
        .map_err(|error| ApiError::internal(&error))?
        .map_err(|error| match error {
            DropCloneError::InUse => {
                ApiError::new(StatusCode::CONFLICT, "clone_in_use", error.to_string())
            }
            DropCloneError::Io(_) => ApiError::internal(&error),
        })?;
    state
        .inner
        .store
        .record_audit(
            Some(workspace),
            Some(caller.account.id),
            "repository.recloned",
            &format!(
                "{} dropped the cached clone{}",
                caller.account.email,
                if dropped { "" } else { " (there was none)" }
            ),
        )
        .await?;
    Ok(dropped)
}
