//! The REST API under `/api/v1`: JSON in and out, errors as `{"error": {"code", "message"}}`,
//! described by an OpenAPI 3.1 document (`GET /api/v1/openapi.json`) generated from the
//! handlers' `#[utoipa::path]` attributes. Every route is registered through `routes!`, which
//! takes its method and path from that attribute: a handler cannot be served undocumented.

mod agents;
pub mod doc;
pub mod error;
pub(crate) mod findings;
mod hooks;
mod logs;
pub mod oauth;
mod overview;
pub(crate) mod page;
pub(crate) mod people;
pub(crate) mod repository;
pub(crate) mod runs;
pub(crate) mod session;
pub(crate) mod setup;
pub(crate) mod tokens;
pub(crate) mod upgrades;
pub(crate) mod variables;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use error::ApiError;

/// Where the API is served.
pub const PREFIX: &str = "/api/v1";

/// The API's routes under [`PREFIX`], each with its documentation.
pub fn router() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .routes(routes!(doc::openapi_json))
        .routes(routes!(setup::create_first_account))
        .routes(routes!(session::sign_in, session::sign_out))
        .routes(routes!(session::me))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(people::create_workspace))
        .routes(routes!(agents::list, agents::create))
        .routes(routes!(agents::revoke))
        .routes(routes!(agents::lease))
        .routes(routes!(agents::extend))
        .routes(routes!(agents::record))
        .routes(routes!(agents::log))
        .routes(routes!(agents::finish))
        .routes(routes!(people::members))
        .routes(routes!(people::set_role))
        .routes(routes!(people::pending_invitations, people::invite))
        .routes(routes!(people::revoke_invitation))
        .routes(routes!(people::audit))
        .routes(routes!(people::accept_invitation))
        .routes(routes!(hooks::github))
        .routes(routes!(hooks::gitlab))
        .routes(routes!(runs::deliveries))
        .routes(routes!(
            repository::show_repository,
            repository::connect_repository
        ))
        .routes(routes!(repository::reclone))
        .routes(routes!(oauth::start))
        .routes(routes!(oauth::server))
        .routes(routes!(variables::list))
        .routes(routes!(
            variables::set_for_workspace,
            variables::delete_for_workspace
        ))
        .routes(routes!(
            variables::set_for_environment,
            variables::delete_for_environment
        ))
        .routes(routes!(upgrades::show_upgrader, upgrades::set_upgrader))
        .routes(routes!(upgrades::list_runs, upgrades::run_now))
        .routes(routes!(upgrades::get_run))
        .routes(routes!(upgrades::log_range))
        .routes(routes!(upgrades::log_events))
        .routes(routes!(runs::list_runs, runs::start_run))
        .routes(routes!(runs::workspace_runs))
        .routes(routes!(runs::get_run))
        .routes(routes!(runs::approve))
        .routes(routes!(runs::reject))
        .routes(routes!(runs::cancel))
        .routes(routes!(runs::rerun))
        .routes(routes!(runs::log_range))
        .routes(routes!(runs::log_events))
        .routes(routes!(overview::overview))
        .routes(routes!(overview::badge))
        .routes(routes!(findings::findings));
    OpenApiRouter::with_openapi(doc::base()).nest(PREFIX, api)
}

/// A JSON body whose rejection (malformed JSON, a missing or mistyped field) is answered in
/// the API's error format, naming what was wrong.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_error(&rejection)),
        }
    }
}

fn json_error(rejection: &JsonRejection) -> ApiError {
    let code = match rejection {
        JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
        JsonRejection::JsonSyntaxError(_) => "invalid_json",
        _ => "invalid_body",
    };
    ApiError::new(rejection.status(), code, rejection.body_text())
}

/// Path parameters whose rejection (`/workspaces/abc`) is an `invalid_field` naming the
/// parameter, not axum's plain-text answer.
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                Err(match error.into_kind() {
                    ErrorKind::ParseErrorAtKey {
                        key,
                        value,
                        expected_type,
                    } => {
                        let message = format!("`{key}` must be {expected_type}, not `{value}`");
                        ApiError::invalid_field(&key, message)
                    }
                    ErrorKind::InvalidUtf8InPathParam { key } => {
                        ApiError::invalid_field(&key, format!("`{key}` is not valid UTF-8"))
                    }
                    other => ApiError::bad_request("invalid_field", other.to_string()),
                })
            }
            Err(rejection) => Err(ApiError::internal(&rejection.body_text())),
        }
    }
}

/// Query parameters whose rejection is answered in the API's error format.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection: QueryRejection| {
                ApiError::bad_request("invalid_field", rejection.body_text())
            })
    }
}

/// Checks a field of a request, naming it when it is wrong.
pub fn check_field(field: &str, value: &str, max: usize, valid: bool) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid_field(
            field,
            format!("`{field}` must not be empty"),
        ));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid_field(
            field,
            format!("`{field}` is longer than {max} characters"),
        ));
    }
    if !valid {
        return Err(ApiError::invalid_field(
            field,
            format!("`{field}` is not valid"),
        ));
    }
    Ok(())
}

pub fn check_email(email: &str) -> Result<(), ApiError> {
    let valid = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(char::is_whitespace);
    check_field("email", email, 254, valid)
}

pub fn check_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < 10 {
        return Err(ApiError::invalid_field(
            "password",
            "`password` must have at least 10 characters",
        ));
    }
    check_field("password", password, 1024, true)
}

/// The workspace a route is about.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WorkspacePath {
    /// The workspace's id.
    pub workspace: i64,
}
