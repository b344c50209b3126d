//! One file at a URL through the metadata's HTTP cache, for what is not Composer metadata but
//! should be fetched and kept the same way (the integrator's manifests archive): revalidated with
//! its validators on every request, and the cached copy used, with the reason, when the server
//! cannot be reached.
//!
//! ```no_run
//! use upkeep_composer::repository::{DownloadOptions, DownloadOrigin, download};
//!
//! let options = DownloadOptions::default();
//! let fetched = download("https://example.org/manifests.tar.gz", &options)?;
//! if let DownloadOrigin::Stale { error, .. } = &fetched.origin {
//!     eprintln!("warning: {error}; using the cached copy");
//! }
//! let bytes = fetched.bytes()?;
//! # Ok::<(), upkeep_composer::repository::FetchError>(())
//! ```

use std::path::PathBuf;
use std::time::Duration;

use super::http_cache::{Body, FetchError, FetchPolicy, Fetcher, Freshness};
use super::{AuthConfig, DEFAULT_MAX_BODY_BYTES, default_cache_dir, take_credentials};

/// How [`download`] fetches.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// The HTTP cache's root (the metadata's, by default); `None` keeps no copy.
    pub cache_dir: Option<PathBuf>,
    /// Credentials by host, as for repositories; user and password in the URL are added to them.
    pub auth: AuthConfig,
    /// Send no request: the cached copy whatever its age, or [`FetchError::NotCached`].
    pub offline: bool,
    /// Limit for each phase of the request (connecting, sending, waiting, reading the body).
    pub timeout: Duration,
    /// Largest body accepted, decoded.
    pub max_body_bytes: u64,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            cache_dir: default_cache_dir(),
            auth: AuthConfig::default(),
            offline: false,
            timeout: Duration::from_mins(1),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// Where the body of a [`Download`] came from.
#[derive(Debug)]
pub enum DownloadOrigin {
    /// Received now.
    Downloaded,
    /// The server answered `304 Not Modified`: the cached copy is current.
    NotModified,
    /// Offline: the cached copy, not confirmed.
    Cached,
    /// The server could not be reached or failed (`5xx`): the cached copy, last fetched or
    /// confirmed `age` ago.
    Stale {
        error: FetchError,
        age: Option<Duration>,
    },
}

/// A file got by [`download`].
pub struct Download {
    body: Body,
    /// The SHA-256 (lowercase hex) of the body, when the cache knows it without reading the
    /// body: callers that keep something made from the body can look it up by this first.
    pub digest: Option<String>,
    pub origin: DownloadOrigin,
}

impl Download {
    /// The bytes of the body (read from the cache entry when it came from there).
    pub fn bytes(self) -> Result<Vec<u8>, FetchError> {
        self.body.read()
    }
}

/// Gets `url` (`http(s)://`) through the HTTP cache: a conditional request when a copy is
/// cached, the copy on `304`, and the copy (as [`DownloadOrigin::Stale`]) when the request fails
/// in transport or with a server error. A `404` or any other status is an error, as is an
/// unreachable server without a cached copy.
pub fn download(url: &str, options: &DownloadOptions) -> Result<Download, FetchError> {
    let mut auth = options.auth.clone();
    // Credentials in the URL go into the request's header, never into the cache entry's URL.
    let url = take_credentials(url, &mut auth);
    let policy = FetchPolicy {
        cache_dir: options.cache_dir.clone(),
        offline: options.offline,
        max_age: Duration::ZERO,
        timeout: options.timeout,
        max_connections: 1,
        max_body_bytes: options.max_body_bytes,
    };
    let client = Fetcher::new(&policy, auth);
    let fetched = match client.get(&url, Freshness::Revalidate) {
        Ok(fetched) => fetched,
        Err(error) if is_unreachable(&error) => {
            return match client.cached(&url) {
                Some((copy, age)) => match copy.body {
                    Some(body) => Ok(Download {
                        body,
                        digest: copy.digest,
                        origin: DownloadOrigin::Stale { error, age },
                    }),
                    None => Err(error),
                },
                None => Err(error),
            };
        }
        Err(error) => return Err(error),
    };
    let stats = client.stats();
    let origin = if stats.requests == 0 {
        DownloadOrigin::Cached
    } else if stats.not_modified > 0 {
        DownloadOrigin::NotModified
    } else {
        DownloadOrigin::Downloaded
    };
    match fetched.body {
        Some(body) => Ok(Download {
            body,
            digest: fetched.digest,
            origin,
        }),
        // 404 and 410 come back as "no such document"; for one file asked for by name, that is
        // its status.
        None => Err(FetchError::Status { status: 404 }),
    }
}

/// Failures that say nothing about the file, only that the server could not answer now.
fn is_unreachable(error: &FetchError) -> bool {
    match error {
        FetchError::Transport { .. } => true,
        FetchError::Status { status } => *status >= 500,
        _ => false,
    }
}

/// `url` without the user and password it may carry, for messages and logs.
pub fn url_without_credentials(url: &str) -> String {
    take_credentials(url, &mut AuthConfig::default())
}
