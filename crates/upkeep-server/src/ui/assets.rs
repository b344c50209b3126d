//! The UI's stylesheet and script, embedded in the binary and served under a name holding a
//! hash of their content (`/assets/app.3f2a…9c.css`): browsers keep them for good
//! (`immutable`), and a new build's files have new names.

use std::fmt::Write as _;
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::UiError;

pub struct Asset {
    /// `/assets/app.<hash>.css`.
    pub path: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

impl Asset {
    fn new(stem: &str, extension: &str, content_type: &'static str, bytes: &'static [u8]) -> Self {
        let digest = Sha256::digest(bytes);
        let hash = digest[..8]
            .iter()
            .fold(String::with_capacity(16), |mut hash, byte| {
                let _ = write!(hash, "{byte:02x}");
                hash
            });
        Self {
            path: format!("/assets/{stem}.{hash}.{extension}"),
            content_type,
            bytes,
        }
    }
}

pub static STYLESHEET: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    )
});

pub static SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "app",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/app.js"),
    )
});

/// `GET /assets/{file}`: an asset by its hashed name; an old or unknown name is not found.
pub async fn serve(Path(file): Path<String>) -> Response {
    let wanted = format!("/assets/{file}");
    let Some(asset) = [&*STYLESHEET, &*SCRIPT]
        .into_iter()
        .find(|asset| asset.path == wanted)
    else {
        return UiError::not_found("asset").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.bytes,
    )
        .into_response()
}
