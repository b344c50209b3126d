//! Errors as the API answers them: a status and `{"error": {"code", "message"}}`, with stable
//! codes, and the name of the wrong field when one is. Store errors never reach a client with
//! their SQL; secrets never appear.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use upkeep_store::StoreError;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The request field that is wrong (a body member, a path or query parameter).
    pub field: Option<String>,
}

/// What every refused request gets.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: `unauthenticated`, `forbidden`, `csrf`, `invalid_field`,
    /// `invalid_cursor`, `invalid_json`, `invalid_body`, `not_found`, `conflict`, ….
    #[schema(example = "invalid_field")]
    pub code: &'static str,
    /// For people; names the field when one is wrong.
    #[schema(example = "`email` is not valid")]
    pub message: String,
    /// The request field that is wrong, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "email")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// A field of the request that is wrong: `invalid_field`, naming it.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_string()),
            ..Self::bad_request("invalid_field", message)
        }
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in, or send an API token as `Authorization: Bearer …`",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    pub fn internal(error: &impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the server could not do it: {error}"),
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match &error {
            StoreError::Duplicate { what, .. } => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("that {what} exists already"),
            ),
            StoreError::NotFound { what, .. } => Self::not_found(what),
            StoreError::InvitationUnusable(state) => Self::new(
                StatusCode::GONE,
                "invitation_unusable",
                format!("the invitation cannot be used: it {state}"),
            ),
            _ => Self::internal(&"a database error; see the server's log"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
