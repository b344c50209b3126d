//! Status badges of environments: an SVG in the manner of shields.io — `<environment> |
//! passing` — for members under the API, and a public variant for the READMEs of private
//! repositories at `/badges/{workspace}/{environment}.svg?key=…`. Its key is an HMAC-SHA256
//! of `workspace/environment` under a key derived from the server's sealing key: nothing is
//! stored, a key opens one badge only, and a wrong key gets the same 404 as a workspace that
//! does not exist.

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use upkeep_pipeline::record::RunStatus;
use upkeep_store::{PageRequest, RunStore, WorkspaceId};

use crate::AppState;
use crate::api::error::{ApiError, ApiResult};
use crate::sealing::Sealer;
use crate::secrets::constant_time_eq;

/// What a badge says about an environment's newest run, and in which colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadgeStatus {
    pub word: &'static str,
    pub colour: &'static str,
}

impl BadgeStatus {
    /// The badge of an environment whose newest run has `status` (`None`: no run yet).
    pub fn of(status: Option<RunStatus>) -> Self {
        let (word, colour) = match status {
            Some(RunStatus::Succeeded) => ("passing", "#2da44e"),
            Some(RunStatus::Failed | RunStatus::TimedOut | RunStatus::Interrupted) => {
                ("failed", "#cf222e")
            }
            Some(RunStatus::Queued | RunStatus::Running) => ("running", "#0969da"),
            Some(RunStatus::WaitingForApproval) => ("waiting", "#bf8700"),
            // Cancelled, rejected or skipped runs say nothing of the environment's health.
            Some(RunStatus::Cancelled | RunStatus::Rejected | RunStatus::Skipped) | None => {
                ("unknown", "#6e7781")
            }
        };
        Self { word, colour }
    }
}

/// The badge's SVG: the label on grey, the status on its colour. Widths come from an average
/// glyph width of the 11px sans-serif font, as no font metrics are at hand.
pub fn svg(label: &str, status: BadgeStatus) -> String {
    let width = |text: &str| 10 + 7 * text.chars().count();
    let (left, right) = (width(label), width(status.word));
    let total = left + right;
    let label_text = escape(label);
    let word = status.word;
    let colour = status.colour;
    let (label_x, word_x) = (left * 5, left * 10 + right * 5);
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{label_text}: {word}"><title>{label_text}: {word}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/><rect x="{left}" width="{right}" height="20" fill="{colour}"/><rect width="{total}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="110"><text x="{label_x}" y="140" transform="scale(.1)">{label_text}</text><text x="{word_x}" y="140" transform="scale(.1)">{word}</text></g></svg>"##
    )
}

/// Text as XML character data or attribute value.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            // Control characters are not allowed in XML at all.
            c if c.is_control() => escaped.push('\u{fffd}'),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The public badge's key: HMAC-SHA256 of `workspace/environment`, base64url.
pub fn public_key(sealer: &Sealer, workspace: WorkspaceId, environment: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&sealer.derive_key("upkeep badges"))
        .expect("HMAC takes a key of any length");
    mac.update(format!("{}/{environment}", workspace.0).as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The public badge's path (with its key), for a README.
pub fn public_path(sealer: &Sealer, workspace: WorkspaceId, environment: &str) -> String {
    format!(
        "/badges/{}/{}.svg?key={}",
        workspace.0,
        percent_encoded(environment),
        public_key(sealer, workspace, environment)
    )
}

/// A path segment: everything but unreserved characters percent-encoded.
pub fn percent_encoded(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// The badge of an environment as it stands now, as an SVG answer that is never cached (a
/// README's image proxy asks again each time).
pub async fn badge_response(
    state: &AppState,
    workspace: WorkspaceId,
    environment: &str,
) -> ApiResult<Response> {
    let newest = state
        .inner
        .store
        .runs_of_environment(workspace, environment, PageRequest::first(1))
        .await?;
    let status = BadgeStatus::of(newest.items.first().map(|run| run.status));
    let mut response = svg(environment, status).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

#[derive(Deserialize)]
pub struct BadgeKey {
    key: Option<String>,
}

/// `GET /badges/{workspace}/{environment}.svg?key=…`: the public badge. Anything but the
/// right key for that workspace and environment is a 404 that says no more, so the answer
/// does not tell whether the workspace exists.
pub async fn public(
    State(state): State<AppState>,
    Path((workspace, file)): Path<(String, String)>,
    Query(query): Query<BadgeKey>,
) -> Response {
    let not_found = || ApiError::not_found("badge").into_response();
    let (Ok(workspace), Some(environment)) = (workspace.parse::<i64>(), file.strip_suffix(".svg"))
    else {
        return not_found();
    };
    let workspace = WorkspaceId(workspace);
    let expected = public_key(&state.inner.sealer, workspace, environment);
    if !query
        .key
        .is_some_and(|key| constant_time_eq(&key, &expected))
    {
        return not_found();
    }
    badge_response(&state, workspace, environment)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_have_their_word_and_colour() {
        assert_eq!(BadgeStatus::of(Some(RunStatus::Succeeded)).word, "passing");
        assert_eq!(BadgeStatus::of(Some(RunStatus::TimedOut)).word, "failed");
        assert_eq!(BadgeStatus::of(Some(RunStatus::Queued)).word, "running");
        assert_eq!(
            BadgeStatus::of(Some(RunStatus::WaitingForApproval)).word,
            "waiting"
        );
        assert_eq!(BadgeStatus::of(Some(RunStatus::Rejected)).word, "unknown");
        assert_eq!(BadgeStatus::of(None).word, "unknown");
        let colours: std::collections::BTreeSet<_> = RunStatus::ALL
            .into_iter()
            .map(|status| BadgeStatus::of(Some(status)).colour)
            .collect();
        assert_eq!(colours.len(), 5, "{colours:?}");
    }

    #[test]
    fn the_label_is_escaped_and_the_width_fits_it() {
        let badge = svg("a<b>&\"c'", BadgeStatus::of(None));
        assert!(
            badge.contains(">a&lt;b&gt;&amp;&quot;c&apos;</text>"),
            "{badge}"
        );
        assert!(!badge.contains("a<b>"));
        assert!(badge.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" width="125""#));
        assert!(svg("staging", BadgeStatus::of(None)).contains(r#"width="118""#));
    }

    #[test]
    fn public_paths_encode_the_environment_and_carry_its_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sealer = Sealer::load_or_create(dir.path()).expect("key");
        let path = public_path(&sealer, WorkspaceId(3), "eu prod/1");
        let key = public_key(&sealer, WorkspaceId(3), "eu prod/1");
        assert_eq!(path, format!("/badges/3/eu%20prod%2F1.svg?key={key}"));
        assert_eq!(key.len(), 43);
        assert_ne!(key, public_key(&sealer, WorkspaceId(4), "eu prod/1"));
        assert_ne!(key, public_key(&sealer, WorkspaceId(3), "eu prod/2"));
    }
}
