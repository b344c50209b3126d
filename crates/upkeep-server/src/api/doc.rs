//! The API's OpenAPI 3.1 document, served at `GET /api/v1/openapi.json`. Each operation comes
//! from its handler's `#[utoipa::path]` attribute and names the role it needs in the
//! `x-upkeep-role` extension (`public`, `account`, `admin`, `member`, `super_user`, or `agent`
//! for the agent protocol); what follows from the role is added here once for all operations:
//! the security requirements (session cookie, with `X-CSRF-Token` on changes, or a bearer API
//! token; an agent's token for the agent protocol) and the refusals every such operation can
//! answer (401, 403), beside the answers to bad input and failures.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::error::{ErrorBody, ErrorDetail};

/// The extension of every operation that names the role it needs.
pub const ROLE_EXTENSION: &str = "x-upkeep-role";

/// The roles an operation can need, weakest first; `agent` is apart: a remote agent's token,
/// which no account holds.
pub const ROLES: [&str; 6] = [
    "public",
    "account",
    "member",
    "super_user",
    "admin",
    "agent",
];

/// The role of the agent protocol's operations.
const AGENT_ROLE: &str = "agent";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Upkeep",
        description = "The REST API of `upkeep serve`: people, workspaces, repositories, runs, \
                       approvals and logs, variables and secrets, remote agents. Errors are `{\"error\": {\"code\", \"message\"}}` with \
                       stable codes. Lists are paginated with `?limit=N&cursor=…`.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "meta", description = "This document"),
        (name = "session", description = "Setup, sign-in, the caller"),
        (name = "tokens", description = "Personal API tokens"),
        (name = "people", description = "Workspaces, members, roles, invitations, the audit log"),
        (name = "repositories", description = "The connected repository and its webhooks"),
        (name = "runs", description = "Pipeline runs, approvals and logs"),
        (name = "upgrades", description = "The Upgrader project: schedule, settings, run now, history, reports and logs"),
        (name = "variables", description = "Variables and secrets of a workspace and its environments"),
        (name = "agents", description = "Remote agents, registered by the server's admin"),
        (name = "agent protocol", description = "What a remote agent calls with its own token: lease a job, extend the lease, send the record, logs and the end"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "The browser session set by `POST /api/v1/session` (HttpOnly, SameSite=Lax)",
            ))),
        );
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                crate::auth::CSRF_HEADER,
                "The session's CSRF token, which every change made with the session cookie sends",
            ))),
        );
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("upk_…")
                    .description(Some(
                        "A personal API token (`POST /api/v1/tokens`), shown once when created",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "agent_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("upa_…")
                    .description(Some(
                        "A remote agent's token (`POST /api/v1/agents`), shown once when registered",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document's start: information, the error schema, security schemes and tags.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The whole document, as served: made once, from the router's routes.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = serde_json::to_value(super::router().into_openapi())
            .unwrap_or_else(|error| json!({ "error": error.to_string() }));
        complete(&mut document);
        document.to_string()
    })
}

/// The shared error answers, referenced by the operations.
fn error_responses() -> Map<String, Value> {
    let answer = |description: &str| {
        json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } },
        })
    };
    [
        (
            "Unauthenticated",
            "`unauthenticated`: no session or API token, or one that expired or was revoked \
             (on the agent protocol: no agent token, or one unknown or revoked)",
        ),
        (
            "Forbidden",
            "`forbidden`: the caller's role does not allow it; `csrf`: a change made with the \
             session cookie without its `X-CSRF-Token`",
        ),
        (
            "InvalidRequest",
            "`invalid_field` (naming the field), `invalid_cursor`, `invalid_json`",
        ),
        (
            "UnsupportedMediaType",
            "`unsupported_media_type`: the body is not `application/json`",
        ),
        (
            "InvalidBody",
            "`invalid_body`: a member is missing, unknown or of the wrong type",
        ),
        ("Internal", "`internal`: the server could not do it"),
    ]
    .into_iter()
    .map(|(name, description)| (name.to_string(), answer(description)))
    .collect()
}

/// Adds what follows from each operation's role and shape: its security requirements and the
/// error answers it shares with others.
fn complete(document: &mut Value) {
    if let Some(components) = document["components"].as_object_mut() {
        components.insert("responses".to_string(), Value::Object(error_responses()));
    }
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for (method, operation) in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.iter_mut())
    {
        let Some(operation) = operation.as_object_mut() else {
            continue;
        };
        let role = operation
            .get(ROLE_EXTENSION)
            .and_then(Value::as_str)
            .unwrap_or("public")
            .to_string();
        let changes = method != "get";
        if role == AGENT_ROLE && !operation.contains_key("security") {
            operation.insert("security".to_string(), json!([{ "agent_token": [] }]));
        }
        if role != "public" && !operation.contains_key("security") {
            let session = if changes {
                json!({ "session": [], "csrf": [] })
            } else {
                json!({ "session": [] })
            };
            operation.insert(
                "security".to_string(),
                json!([session, { "api_token": [] }]),
            );
        }
        let has_body = operation.contains_key("requestBody");
        let has_parameters = operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|parameters| !parameters.is_empty());
        let mut shared = Vec::new();
        if has_body || has_parameters {
            shared.push(("400", "InvalidRequest"));
        }
        if role != "public" {
            shared.push(("401", "Unauthenticated"));
            // An agent's token is the agent's own: nothing to forbid past it.
            if role != AGENT_ROLE && (role != "account" || changes) {
                shared.push(("403", "Forbidden"));
            }
        }
        if has_body {
            shared.push(("415", "UnsupportedMediaType"));
            shared.push(("422", "InvalidBody"));
        }
        shared.push(("500", "Internal"));
        let responses = operation
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut();
        if let Some(responses) = responses {
            for (status, name) in shared {
                responses
                    .entry(status)
                    .or_insert_with(|| json!({ "$ref": format!("#/components/responses/{name}") }));
            }
        }
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object)),
    extensions(("x-upkeep-role" = json!("public"))),
)]
pub async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}
