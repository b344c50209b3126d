//! The web UI: server-rendered pages from askama templates (`templates/`, compiled into the
//! binary, HTML escaping on by default), one stylesheet and one small dependency-free script
//! (`assets/`, embedded and served under their content hash), and no inline script or style, so
//! that the Content-Security-Policy allows nothing else.
//!
//! Pages read; writes are real forms that post to the routes here. Each form carries the
//! session's CSRF token in a hidden `csrf` field ([`request::Posted`] checks it), the handler
//! calls the same function the JSON API calls — the server decides, never the page — and
//! redirects with a flash message (post, redirect, get). What must be shown once (a new API
//! token, an invitation link, a webhook secret) is rendered in the answer to the post instead,
//! never kept for a later page.
//!
//! Adding a page: a template that extends `base.html`, a struct deriving `Template` with a
//! `layout: Layout` field, a handler that takes a [`request::Visitor`], builds
//! [`layout::Layout::of`] and returns [`render`], and its route in [`router`]. One module per
//! page group.

mod ansi;
mod assets;
mod dashboard;
mod environment;
mod error;
mod layout;
mod people;
mod request;
mod runs;
mod session;
mod settings;
mod time;
mod upgrader;
mod variables;

use askama::Template;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

pub use error::{UiError, UiResult};

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage<'a> {
    layout: layout::Layout,
    title: &'a str,
    message: &'a str,
    ok: bool,
}

/// A page that says what happened, for answers outside the pages' own flow (a provider's
/// OAuth callback).
pub fn notice_page(status: StatusCode, title: &str, message: &str) -> Response {
    let page = NoticePage {
        layout: layout::Layout::anonymous(title, None),
        title,
        message,
        ok: status.is_success(),
    };
    render(status, &page)
}

use crate::AppState;

/// The web UI's routes (none under `/api`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/{file}", get(assets::serve))
        .route("/", get(session::home))
        .route(
            "/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/sign-out", post(session::sign_out))
        .route("/setup", get(session::setup_page).post(session::set_up))
        .route(
            "/invitations/accept",
            get(session::invitation_page).post(session::accept_invitation),
        )
        .route("/account", get(session::account_page))
        .route("/account/password", post(session::change_password))
        .route("/account/tokens", post(session::create_token))
        .route("/account/tokens/{id}/revoke", post(session::revoke_token))
        .route(
            "/workspaces",
            get(dashboard::workspaces_page).post(dashboard::create_workspace),
        )
        .route("/workspaces/{workspace}", get(dashboard::dashboard))
        .route(
            "/workspaces/{workspace}/environments/{environment}",
            get(environment::environment_page),
        )
        .route(
            "/workspaces/{workspace}/environments/{environment}/runs",
            post(dashboard::run_pipeline),
        )
        .route(
            "/workspaces/{workspace}/environments/{environment}/variables",
            post(variables::set_for_environment),
        )
        .route(
            "/workspaces/{workspace}/environments/{environment}/variables/{name}/delete",
            post(variables::delete_for_environment),
        )
        .route(
            "/workspaces/{workspace}/upgrader",
            get(upgrader::upgrader_page).post(upgrader::save_settings),
        )
        .route("/workspaces/{workspace}/upgrades", post(upgrader::run_now))
        .route(
            "/workspaces/{workspace}/upgrades/{upgrade}",
            get(upgrader::upgrade_page),
        )
        .route("/workspaces/{workspace}/runs/{run}", get(runs::run_page))
        .route(
            "/workspaces/{workspace}/runs/{run}/approve",
            post(runs::approve),
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
            "/workspaces/{workspace}/runs/{run}/logs/{stage}/raw",
            get(runs::raw_log),
        )
        .route(
            "/workspaces/{workspace}/runs/{run}/reject",
            post(runs::reject),
        )
        .route("/workspaces/{workspace}/people", get(people::people_page))
        .route("/workspaces/{workspace}/invitations", post(people::invite))
        .route(
            "/workspaces/{workspace}/invitations/{invitation}/revoke",
            post(people::revoke),
        )
        .route(
            "/workspaces/{workspace}/members/{account}/role",
            post(people::change_role),
        )
        .route(
            "/workspaces/{workspace}/settings",
            get(settings::settings_page),
        )
        .route(
            "/workspaces/{workspace}/settings/repository",
            post(settings::connect_repository),
        )
        .route(
            "/workspaces/{workspace}/settings/reclone",
            post(settings::reclone),
        )
        .route(
            "/workspaces/{workspace}/variables",
            post(variables::set_for_workspace),
        )
        .route(
            "/workspaces/{workspace}/variables/{name}/delete",
            post(variables::delete_for_workspace),
        )
}

/// A page: the rendered template with `status`; a template that cannot render is a 500 page.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => UiError::internal(&error).into_response(),
    }
}

/// A page that shows a secret once (a new token, an invitation link): never cached.
pub fn render_once(page: &impl Template) -> Response {
    let mut response = render(StatusCode::OK, page);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The answer to an address that is no page: the API's JSON error under `/api`, else a page.
pub async fn fallback(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with(crate::api::PREFIX) || uri.path() == "/api" {
        crate::api::error::ApiError::not_found("route").into_response()
    } else {
        UiError::not_found("page").into_response()
    }
}

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; \
     base-uri 'none'";

/// Security headers on every HTML answer, whichever route made it; and a flash message, once
/// a page has shown it, is cleared (not by a redirect, which carries it to the next page).
pub async fn html_headers(request: Request, next: Next) -> Response {
    let had_flash = request::has_flash(request.headers());
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_html {
        let headers = response.headers_mut();
        for (name, value) in [
            ("content-security-policy", CONTENT_SECURITY_POLICY),
            ("x-frame-options", "DENY"),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "same-origin"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        if had_flash && !response.status().is_redirection() {
            response
                .headers_mut()
                .append(header::SET_COOKIE, request::clear_flash_cookie());
        }
    }
    response
}
