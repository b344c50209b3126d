//! The REST API under `/api/v1`: JSON in and out, errors as `{"error": {"code", "message"}}`.

mod agents;
pub mod error;
mod hooks;
mod people;
mod repository;
mod runs;
mod session;
mod setup;
mod tokens;
mod upgrades;
mod variables;

use axum::Router;
use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::routing::{delete, get, post, put};
use serde::de::DeserializeOwned;

use crate::AppState;
use error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/setup", post(setup::create_first_account))
        .route("/session", post(session::sign_in).delete(session::sign_out))
        .route("/me", get(session::me))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", delete(tokens::revoke))
        .route("/workspaces", post(people::create_workspace))
        .route("/agents", get(agents::list).post(agents::create))
        .route("/agents/{id}", delete(agents::revoke))
        .route("/agent/jobs/lease", post(agents::lease))
        .route("/agent/jobs/{job}/lease", post(agents::extend))
        .route("/agent/jobs/{job}/record", put(agents::record))
        .route("/agent/jobs/{job}/logs", post(agents::log))
        .route("/agent/jobs/{job}/finish", post(agents::finish))
        .route("/workspaces/{workspace}/members", get(people::members))
        .route(
            "/workspaces/{workspace}/members/{account}/role",
            put(people::set_role),
        )
        .route(
            "/workspaces/{workspace}/invitations",
            get(people::pending_invitations).post(people::invite),
        )
        .route(
            "/workspaces/{workspace}/invitations/{invitation}",
            delete(people::revoke_invitation),
        )
        .route("/workspaces/{workspace}/audit", get(people::audit))
        .route("/invitations/accept", post(people::accept_invitation))
        .route("/hooks/github/{workspace}", post(hooks::github))
        .route("/hooks/gitlab/{workspace}", post(hooks::gitlab))
        .route("/workspaces/{workspace}/deliveries", get(runs::deliveries))
        .route(
            "/workspaces/{workspace}/repository",
            get(repository::show_repository).put(repository::connect_repository),
        )
        .route(
            "/workspaces/{workspace}/repository/reclone",
            post(repository::reclone),
        )
        .route("/workspaces/{workspace}/variables", get(variables::list))
        .route(
            "/workspaces/{workspace}/variables/{name}",
            put(variables::set_for_workspace).delete(variables::delete_for_workspace),
        )
        .route(
            "/workspaces/{workspace}/environments/{environment}/variables/{name}",
            put(variables::set_for_environment).delete(variables::delete_for_environment),
        )
        .route(
            "/workspaces/{workspace}/upgrader",
            get(upgrades::show_upgrader).put(upgrades::set_upgrader),
        )
        .route(
            "/workspaces/{workspace}/upgrades",
            get(upgrades::list_runs).post(upgrades::run_now),
        )
        .route(
            "/workspaces/{workspace}/upgrades/{id}",
            get(upgrades::get_run),
        )
        .route(
            "/workspaces/{workspace}/upgrades/{id}/log",
            get(upgrades::log_range),
        )
        .route(
            "/workspaces/{workspace}/environments/{environment}/runs",
            get(runs::list_runs).post(runs::start_run),
        )
        .route("/workspaces/{workspace}/runs/{run}", get(runs::get_run))
        .route(
            "/workspaces/{workspace}/runs/{run}/approve",
            post(runs::approve),
        )
        .route(
            "/workspaces/{workspace}/runs/{run}/reject",
            post(runs::reject),
        )
        .route(
            "/workspaces/{workspace}/runs/{run}/cancel",
            post(runs::cancel),
        )
        .route(
            "/workspaces/{workspace}/runs/{run}/rerun",
            post(runs::rerun),
        )
        .route(
            "/workspaces/{workspace}/runs/{run}/logs/{stage}",
            get(runs::log_range),
        )
        .route(
            "/workspaces/{workspace}/runs/{run}/logs/{stage}/events",
            get(runs::log_events),
        )
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

/// Checks a field of a request, naming it when it is wrong.
pub fn check_field(field: &str, value: &str, max: usize, valid: bool) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("`{field}` must not be empty"),
        ));
    }
    if value.chars().count() > max {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("`{field}` is longer than {max} characters"),
        ));
    }
    if !valid {
        return Err(ApiError::bad_request(
            "invalid_field",
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
        return Err(ApiError::bad_request(
            "invalid_field",
            "`password` must have at least 10 characters",
        ));
    }
    check_field("password", password, 1024, true)
}
