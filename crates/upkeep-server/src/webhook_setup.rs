//! Setting up the push webhook of a newly connected repository: through the provider's API
//! when its token allows it (GitHub `POST /repos/{owner}/{repo}/hooks` with the secret that
//! signs deliveries, GitLab `POST /projects/:id/hooks` with the token it sends back); otherwise
//! the URL and secret are shown to be set up by hand, with the reason, and the remote is polled
//! until a signed delivery arrives.

use upkeep_forge::forge::ForgeError;
use upkeep_store::{Provider, WebhookStatus, WorkspaceId};

use crate::connection::{ForgeAccess, RepositoryAccess};

/// How the webhook of a connection stands after setting it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSetup {
    pub status: WebhookStatus,
    pub detail: String,
    pub hook_id: Option<i64>,
}

/// The URL the provider delivers pushes of `workspace` to.
pub fn delivery_url(public_url: &str, provider: Provider, workspace: WorkspaceId) -> String {
    let kind = match provider {
        Provider::GitLab => "gitlab",
        Provider::GitHub | Provider::Git => "github",
    };
    format!("{public_url}/api/v1/hooks/{kind}/{}", workspace.0)
}

/// What to do when the webhook is not registered.
const BY_HAND: &str = "add the webhook by hand with the URL and secret shown once; until a \
                       signed delivery arrives, the server polls the repository";

/// Registers the push webhook through the provider's API, or says why it was not.
pub async fn register(
    public_url: &str,
    workspace: WorkspaceId,
    access: &RepositoryAccess,
    secret: &str,
) -> WebhookSetup {
    let manual = |reason: String| WebhookSetup {
        status: WebhookStatus::Manual,
        detail: format!("{reason}; {BY_HAND}"),
        hook_id: None,
    };
    if access.provider == Provider::Git {
        return manual("a plain git URL has no API to register a webhook with".to_string());
    }
    let Some(forge) = access.forge.clone() else {
        return manual(format!(
            "no token was given, so the {} API cannot register the webhook",
            provider_name(access.provider)
        ));
    };
    let url = delivery_url(public_url, access.provider, workspace);
    let hook_url = url.clone();
    let hook_secret = secret.to_string();
    let created = tokio::task::spawn_blocking(move || {
        forge.client()?.create_push_webhook(&hook_url, &hook_secret)
    })
    .await;
    match created {
        Ok(Ok(id)) => WebhookSetup {
            status: WebhookStatus::Registered,
            detail: format!(
                "registered through the {} API as hook {id}, delivering to {url}{}",
                provider_name(access.provider),
                unreachable_note(public_url, access.forge.as_ref())
            ),
            hook_id: i64::try_from(id).ok(),
        },
        Ok(Err(error)) => manual(refusal(access.provider, &error, secret)),
        Err(error) => manual(format!("the registration did not finish: {error}")),
    }
}

/// Removes a webhook registered for an earlier connection (best effort: says what happened).
pub async fn unregister(access: &RepositoryAccess, hook_id: i64) -> String {
    let Some(forge) = access.forge.clone() else {
        return format!("the earlier webhook (hook {hook_id}) stays: no token to remove it with");
    };
    let Ok(id) = u64::try_from(hook_id) else {
        return format!("the earlier webhook id {hook_id} is not one the API knows");
    };
    let removed = tokio::task::spawn_blocking(move || forge.client()?.delete_webhook(id)).await;
    match removed {
        Ok(Ok(())) => format!("the earlier webhook (hook {hook_id}) was removed"),
        Ok(Err(error)) => {
            format!("the earlier webhook (hook {hook_id}) could not be removed: {error}")
        }
        Err(error) => format!("the earlier webhook (hook {hook_id}) could not be removed: {error}"),
    }
}

pub fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::GitHub => "GitHub",
        Provider::GitLab => "GitLab",
        Provider::Git => "git",
    }
}

/// Why the API did not register the hook, with what to check, never with the secret.
fn refusal(provider: Provider, error: &ForgeError, secret: &str) -> String {
    let text = error.to_string().replace(secret, "***");
    match upkeep_hint::Hint::hint(error) {
        Some(hint) => format!(
            "the {} API did not register the webhook: {text} ({hint})",
            provider_name(provider)
        ),
        None => format!(
            "the {} API did not register the webhook: {text}",
            provider_name(provider)
        ),
    }
}

/// A note when the server's public URL is this machine and the provider is not: the provider
/// cannot deliver there.
fn unreachable_note(public_url: &str, forge: Option<&ForgeAccess>) -> &'static str {
    let local = |url: &str| {
        ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|prefix| url.starts_with(prefix))
    };
    let provider_local = forge
        .and_then(|forge| forge.api_base.as_deref())
        .is_some_and(local);
    if local(public_url) && !provider_local {
        " (the server's address is this machine's own, which the provider cannot reach: start it with --public-url)"
    } else {
        ""
    }
}
