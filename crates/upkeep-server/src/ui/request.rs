//! What a page takes from its request: who looks at it ([`Visitor`]), a flash message left by
//! the redirect before it, and posted forms, checked before a handler sees them: the session's
//! CSRF token in the form's `csrf` field ([`Posted`]), and for every post that the browser did
//! not send it from another site ([`Submitted`], which sign-in and setup use: they have no
//! session yet).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::UiError;
use crate::AppState;
use crate::auth::{Caller, browser_session, cookie};
use crate::secrets::constant_time_eq;

const FLASH_COOKIE: &str = "upkeep_flash";
/// More than any form of the UI needs; a larger body is refused before it is read whole.
const FORM_LIMIT: usize = 256 * 1024;

/// A signed-in browser: the account and its session's CSRF token, which the page's forms carry.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub caller: Caller,
    pub csrf: String,
    /// The message the redirect before this page left.
    pub flash: Option<Flash>,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = UiError;

    /// Without a session, the page sends the visitor to sign in and back here.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let back_to = parts
            .uri
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .to_string();
        <Self as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state)
            .await?
            .ok_or_else(|| UiError::sign_in(back_to))
    }
}

impl OptionalFromRequestParts<AppState> for Visitor {
    type Rejection = UiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, UiError> {
        let session = browser_session(state, &parts.headers).await?;
        Ok(session.map(|(caller, csrf)| Self {
            caller,
            csrf,
            flash: read_flash(&parts.headers),
        }))
    }
}

/// A form posted by a signed-in browser, with this session's CSRF token.
pub struct Posted<T> {
    pub visitor: Visitor,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = UiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, UiError> {
        let (mut parts, body) = request.into_parts();
        let visitor =
            <Visitor as OptionalFromRequestParts<AppState>>::from_request_parts(&mut parts, state)
                .await?
                // After a post the way back is the previous page, which the browser knows, not this
                // address (a post only).
                .ok_or_else(|| UiError::sign_in("/".to_string()))?;
        let (form, csrf) = read_form::<T>(&parts.headers, body).await?;
        if !constant_time_eq(&csrf, &visitor.csrf) {
            return Err(UiError::csrf());
        }
        Ok(Self { visitor, form })
    }
}

/// A form posted with or without a session (sign-in, setup, accepting an invitation). When
/// the browser has a session, the form must carry its CSRF token all the same.
pub struct Submitted<T> {
    pub visitor: Option<Visitor>,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Submitted<T> {
    type Rejection = UiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, UiError> {
        let (mut parts, body) = request.into_parts();
        let visitor =
            <Visitor as OptionalFromRequestParts<AppState>>::from_request_parts(&mut parts, state)
                .await?;
        let (form, csrf) = read_form::<T>(&parts.headers, body).await?;
        if let Some(visitor) = &visitor
            && !constant_time_eq(&csrf, &visitor.csrf)
        {
            return Err(UiError::csrf());
        }
        Ok(Self { visitor, form })
    }
}

/// A page's query (`?cursor=…`), whose rejection is an error page naming what was wrong.
pub struct Asked<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Asked<T> {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, UiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| {
                UiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_field",
                    format!(
                        "the address's query is not understood: {}",
                        rejection.body_text()
                    ),
                )
            })
    }
}

/// The form of a button that posts nothing but its CSRF token.
#[derive(Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// The form's fields and its `csrf` field, from a body the browser sent from this site.
async fn read_form<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<(T, String), UiError> {
    // A browser says where a post comes from; a form on another site (a sign-in CSRF, a
    // forged post riding on a cookie) is refused before anything else.
    let site = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return Err(UiError::csrf());
    }
    let bytes: Bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
        UiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the form is larger than the server takes",
        )
    })?;
    let csrf = serde_urlencoded::from_bytes::<CsrfField>(&bytes)
        .map(|field| field.csrf)
        .unwrap_or_default();
    let form = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|error| {
        UiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_form",
            format!("the form is not complete: {error}"),
        )
    })?;
    Ok((form, csrf))
}

/// A message for the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub is_error: bool,
    pub text: String,
}

impl Flash {
    pub fn notice(text: impl Into<String>) -> Self {
        Self {
            is_error: false,
            text: text.into(),
        }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self {
            is_error: true,
            text: text.into(),
        }
    }
}

pub fn has_flash(headers: &HeaderMap) -> bool {
    cookie(headers, FLASH_COOKIE).is_some()
}

/// The flash message of the request. It is the browser's own cookie, shown back to it escaped
/// like any text, so a forged one harms no one.
fn read_flash(headers: &HeaderMap) -> Option<Flash> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cookie(headers, FLASH_COOKIE)?)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (kind, text) = text.split_once('|')?;
    Some(Flash {
        is_error: kind == "e",
        text: text.to_string(),
    })
}

/// The flash message of a request without a session (the sign-in page after signing out).
pub fn anonymous_flash(headers: &HeaderMap) -> Option<Flash> {
    read_flash(headers)
}

pub fn clear_flash_cookie() -> HeaderValue {
    HeaderValue::from_static("upkeep_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// `303 See Other` to `to` (a path of this server), with a message for the page there.
pub fn redirect(to: &str, flash: Option<Flash>) -> Response {
    let mut response =
        (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response();
    if let Some(flash) = flash {
        let kind = if flash.is_error { "e" } else { "n" };
        let value = URL_SAFE_NO_PAD.encode(format!("{kind}|{}", flash.text));
        if let Ok(value) = HeaderValue::from_str(&format!(
            "{FLASH_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
        )) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A path of this server to go to after signing in; anything else (another site, `//host`)
/// is the home page, so that the sign-in page redirects nowhere else.
pub fn local_path(next: Option<&str>) -> &str {
    next.filter(|path| path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'))
        .unwrap_or("/")
}

/// The sign-in page, coming back to `next` after.
pub fn sign_in_path(next: &str) -> String {
    if next == "/" {
        return "/sign-in".to_string();
    }
    format!(
        "/sign-in?{}",
        serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_signing_in() {
        assert_eq!(local_path(Some("/workspaces/1")), "/workspaces/1");
        assert_eq!(local_path(Some("//evil.test/x")), "/");
        assert_eq!(local_path(Some("https://evil.test/")), "/");
        assert_eq!(local_path(Some("/\\evil.test")), "/");
        assert_eq!(local_path(None), "/");
        assert_eq!(
            sign_in_path("/invitations/accept?token=a&b"),
            "/sign-in?next=%2Finvitations%2Faccept%3Ftoken%3Da%26b"
        );
    }

    #[test]
    fn a_flash_message_survives_its_cookie() {
        let response = redirect("/account", Some(Flash::notice("Token `ci` revoked; ä")));
        let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
        let pair = set.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(pair).unwrap());
        assert_eq!(
            read_flash(&headers),
            Some(Flash::notice("Token `ci` revoked; ä"))
        );
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[header::LOCATION], "/account");
    }
}
