//! Push webhooks. GitHub signs the raw body with the repository's webhook secret
//! (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`, compared in constant time); GitLab sends
//! the secret itself (`X-Gitlab-Token`). Every delivery is recorded with its verdict; unsigned,
//! forged, replayed (an id accepted before) and malformed deliveries are refused and change
//! nothing. An accepted push to a branch queues the main pipeline of every environment whose
//! `branch:` it is.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use upkeep_store::{DeliveryStore, HeadSource, RepositoryStore, WebhookStatus, WorkspaceId};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::{PathParams, WorkspacePath};
use crate::AppState;
use crate::executor::PushJob;
use crate::secrets::{constant_time_eq, hex};

/// The part of a push event both providers send alike.
#[derive(Deserialize)]
struct Push {
    #[serde(rename = "ref")]
    reference: String,
    after: String,
}

/// What became of a delivery that was not refused.
#[derive(Serialize, ToSchema)]
pub struct DeliveryVerdict {
    /// `accepted` (a push to a branch: its environments' pipelines are queued, unless polling
    /// saw the push first and ran them) or `ignored`.
    pub verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl DeliveryVerdict {
    fn ignored() -> Self {
        Self {
            verdict: "ignored",
            branch: None,
            commit: None,
        }
    }
}

const ZERO_COMMIT: &str = "0000000000000000000000000000000000000000";

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// A refused delivery: recorded, then answered.
async fn refuse(
    state: &AppState,
    workspace: WorkspaceId,
    provider: &str,
    delivery: &str,
    event: &str,
    (status, verdict, message): (StatusCode, &'static str, &str),
) -> ApiError {
    let _ = state
        .inner
        .store
        .record_delivery(workspace, provider, delivery, event, verdict, message)
        .await;
    tracing::warn!(
        target: "upkeep::webhooks",
        workspace = workspace.0,
        provider,
        verdict,
        reason = message,
        "webhook delivery refused"
    );
    ApiError::new(status, verdict, message)
}

/// A GitHub webhook delivery (signed with the workspace's webhook secret).
#[utoipa::path(
    post,
    path = "/hooks/github/{workspace}",
    tag = "repositories",
    params(
        WorkspacePath,
        ("X-Hub-Signature-256" = String, Header, description = "`sha256=` and the hex HMAC-SHA256 of the raw body under the webhook secret"),
        ("X-GitHub-Delivery" = String, Header, description = "The delivery's id; one accepted before is a replay"),
        ("X-GitHub-Event" = String, Header, description = "`push` queues pipelines; other events are ignored"),
    ),
    request_body(content = Object, description = "GitHub's push event", content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted or ignored", body = DeliveryVerdict),
        (status = 400, description = "`malformed`: no delivery id, or a push payload that is not one", body = ErrorBody),
        (status = 401, description = "`unsigned` or `forged`", body = ErrorBody),
        (status = 404, description = "`not_found`: the workspace has no webhook", body = ErrorBody),
        (status = 409, description = "`replayed`: this delivery was accepted before", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("public"))),
)]
pub async fn github(
    State(state): State<AppState>,
    PathParams(path): PathParams<WorkspacePath>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<DeliveryVerdict>)> {
    let workspace = WorkspaceId(path.workspace);
    let delivery = header(&headers, "x-github-delivery")
        .unwrap_or("")
        .to_string();
    let event = header(&headers, "x-github-event").unwrap_or("").to_string();
    let secret = webhook_secret(&state, workspace).await?;
    let Some(signature) = header(&headers, "x-hub-signature-256") else {
        return Err(refuse(
            &state,
            workspace,
            "github",
            &delivery,
            &event,
            (
                StatusCode::UNAUTHORIZED,
                "unsigned",
                "the delivery has no X-Hub-Signature-256",
            ),
        )
        .await);
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|error| ApiError::internal(&error))?;
    mac.update(&body);
    let expected = format!("sha256={}", hex(&mac.finalize().into_bytes()));
    if !constant_time_eq(signature, &expected) {
        return Err(refuse(
            &state,
            workspace,
            "github",
            &delivery,
            &event,
            (
                StatusCode::UNAUTHORIZED,
                "forged",
                "the signature does not match the webhook secret",
            ),
        )
        .await);
    }
    accept(
        &state,
        workspace,
        "github",
        &delivery,
        &event,
        event == "push",
        &body,
    )
    .await
}

/// A GitLab webhook delivery (carrying the workspace's webhook secret).
#[utoipa::path(
    post,
    path = "/hooks/gitlab/{workspace}",
    tag = "repositories",
    params(
        WorkspacePath,
        ("X-Gitlab-Token" = String, Header, description = "The webhook secret"),
        ("X-Gitlab-Event-UUID" = String, Header, description = "The delivery's id; one accepted before is a replay"),
        ("X-Gitlab-Event" = String, Header, description = "`Push Hook` queues pipelines; other events are ignored"),
    ),
    request_body(content = Object, description = "GitLab's push event", content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted or ignored", body = DeliveryVerdict),
        (status = 400, description = "`malformed`: no delivery id, or a push payload that is not one", body = ErrorBody),
        (status = 401, description = "`unsigned` or `forged`", body = ErrorBody),
        (status = 404, description = "`not_found`: the workspace has no webhook", body = ErrorBody),
        (status = 409, description = "`replayed`: this delivery was accepted before", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("public"))),
)]
pub async fn gitlab(
    State(state): State<AppState>,
    PathParams(path): PathParams<WorkspacePath>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<DeliveryVerdict>)> {
    let workspace = WorkspaceId(path.workspace);
    let delivery = header(&headers, "x-gitlab-event-uuid")
        .unwrap_or("")
        .to_string();
    let event = header(&headers, "x-gitlab-event").unwrap_or("").to_string();
    let secret = webhook_secret(&state, workspace).await?;
    let Some(token) = header(&headers, "x-gitlab-token") else {
        return Err(refuse(
            &state,
            workspace,
            "gitlab",
            &delivery,
            &event,
            (
                StatusCode::UNAUTHORIZED,
                "unsigned",
                "the delivery has no X-Gitlab-Token",
            ),
        )
        .await);
    };
    if !constant_time_eq(token, &secret) {
        return Err(refuse(
            &state,
            workspace,
            "gitlab",
            &delivery,
            &event,
            (
                StatusCode::UNAUTHORIZED,
                "forged",
                "the token does not match the webhook secret",
            ),
        )
        .await);
    }
    accept(
        &state,
        workspace,
        "gitlab",
        &delivery,
        &event,
        event == "Push Hook",
        &body,
    )
    .await
}

/// The workspace's webhook secret; a workspace without one has no webhook to deliver to.
async fn webhook_secret(state: &AppState, workspace: WorkspaceId) -> ApiResult<String> {
    let sealed = state
        .inner
        .store
        .webhook_secret(workspace)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    state
        .inner
        .sealer
        .open(&sealed)
        .map_err(|error| ApiError::internal(&error))
}

/// A delivery whose origin is proven: refused as a replay, ignored when it is no push to a
/// branch, else recorded as accepted and handed to the executor.
async fn accept(
    state: &AppState,
    workspace: WorkspaceId,
    provider: &str,
    delivery: &str,
    event: &str,
    is_push: bool,
    body: &[u8],
) -> ApiResult<(StatusCode, Json<DeliveryVerdict>)> {
    let store = &state.inner.store;
    let refused = |status, verdict, message: String| async move {
        refuse(
            state,
            workspace,
            provider,
            delivery,
            event,
            (status, verdict, &message),
        )
        .await
    };
    if delivery.is_empty() || delivery.len() > 200 {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            "malformed",
            "the delivery has no id".to_string(),
        )
        .await);
    }
    if store.delivery_accepted(provider, delivery).await? {
        return Err(refused(
            StatusCode::CONFLICT,
            "replayed",
            "this delivery was accepted before".to_string(),
        )
        .await);
    }
    let ignored = |detail: String| async move {
        store
            .record_delivery(workspace, provider, delivery, event, "ignored", &detail)
            .await?;
        Ok::<_, ApiError>((StatusCode::ACCEPTED, Json(DeliveryVerdict::ignored())))
    };
    if !is_push {
        return ignored("not a push".to_string()).await;
    }
    let push: Push = match serde_json::from_slice(body) {
        Ok(push) => push,
        Err(error) => {
            let message = format!("the push payload is not valid: {error}");
            return Err(refused(StatusCode::BAD_REQUEST, "malformed", message).await);
        }
    };
    let commit_ok = push.after.len() == 40 && push.after.chars().all(|c| c.is_ascii_hexdigit());
    let Some(branch) = push
        .reference
        .strip_prefix("refs/heads/")
        .filter(|_| commit_ok)
    else {
        return ignored(format!(
            "`{}` at `{}` is not a push to a branch",
            push.reference, push.after
        ))
        .await;
    };
    if push.after == ZERO_COMMIT {
        return ignored("the branch was deleted".to_string()).await;
    }
    run_push(
        state,
        workspace,
        (provider, delivery, event),
        branch,
        &push.after,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(DeliveryVerdict {
            verdict: "accepted",
            branch: Some(branch.to_string()),
            commit: Some(push.after),
        }),
    ))
}

/// Records an accepted push and queues its runs, unless polling saw it first (then it has run
/// already). The first signed delivery also marks the webhook as working, which stops polling.
async fn run_push(
    state: &AppState,
    workspace: WorkspaceId,
    (provider, delivery, event): (&str, &str, &str),
    branch: &str,
    commit: &str,
) -> ApiResult<()> {
    let store = &state.inner.store;
    let (repository, access) = super::repository::connected(state, workspace).await?;
    // A push that polling saw first has run already; any other is run (also the commit the
    // branch was at when the repository was connected, which nothing ran).
    let news = store
        .advance_head(workspace, branch, commit, HeadSource::Webhook)
        .await?;
    let run = news
        || store
            .head(workspace, branch)
            .await?
            .is_none_or(|(_, source)| source != HeadSource::Poll);
    store
        .record_delivery(
            workspace,
            provider,
            delivery,
            event,
            "accepted",
            &if run {
                format!("push to {branch} at {commit}")
            } else {
                format!("push to {branch} at {commit}, run already: polling saw it first")
            },
        )
        .await?;
    tracing::info!(
        target: "upkeep::webhooks",
        workspace = workspace.0,
        provider,
        branch,
        commit,
        run,
        "push accepted"
    );
    // A signed delivery proves the webhook works: polling is no longer needed.
    if repository.webhook_status == WebhookStatus::Manual {
        store
            .set_webhook_status(
                workspace,
                WebhookStatus::Receiving,
                &format!("a signed {provider} delivery arrived; polling stopped"),
                None,
            )
            .await?;
    }
    if run {
        state.inner.executor.push(PushJob {
            workspace,
            branch: branch.to_string(),
            commit: commit.to_string(),
            access,
        });
    }
    Ok(())
}
