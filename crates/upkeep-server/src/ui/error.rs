//! Errors as pages: what went wrong, in the layout, with the status and the API's stable code.
//! A visitor who is not signed in is sent to the sign-in page instead, and comes back after.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::layout::Layout;
use crate::api::error::ApiError;

#[derive(Debug)]
pub struct UiError {
    pub status: StatusCode,
    /// The API's stable code (`forbidden`, `csrf`, `not_found`, …).
    pub code: &'static str,
    pub message: String,
    /// For `401`: the page to come back to after signing in.
    pub back_to: Option<String>,
}

pub type UiResult<T> = Result<T, UiError>;

impl UiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            back_to: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::not_found(what).into()
    }

    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "the form did not carry this session's security token: reload the page and send it again",
        )
    }

    pub fn sign_in(back_to: String) -> Self {
        Self {
            back_to: Some(back_to),
            ..ApiError::unauthenticated().into()
        }
    }

    pub fn internal(error: &impl std::fmt::Display) -> Self {
        ApiError::internal(error).into()
    }

    fn title(&self) -> &'static str {
        match self.status {
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::GONE => "No longer valid",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            status if status.is_server_error() => "Something went wrong on the server",
            _ => "That did not work",
        }
    }
}

impl From<ApiError> for UiError {
    fn from(error: ApiError) -> Self {
        Self::new(error.status, error.code, error.message)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    error: &'a UiError,
    title: &'static str,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        if self.status == StatusCode::UNAUTHORIZED {
            let next = self.back_to.as_deref().unwrap_or("/");
            return super::request::redirect(&super::request::sign_in_path(next), None);
        }
        if self.status.is_server_error() {
            tracing::warn!(target: "upkeep::ui", code = self.code, message = %self.message, "a page failed");
        }
        let title = self.title();
        let page = ErrorPage {
            layout: Layout::anonymous(title, None),
            error: &self,
            title,
        };
        match page.render() {
            Ok(html) => (self.status, axum::response::Html(html)).into_response(),
            // The error page itself is static text: this cannot happen, but must not loop.
            Err(_) => (self.status, self.message).into_response(),
        }
    }
}
