//! Getting repository documents: `file://` URLs from disk, `http(s)://` URLs through one ureq agent
//! (keep-alive, shared by all worker threads) and a disk cache with HTTP validators.
//!
//! A cache entry is one file named by the SHA-256 of its URL: a JSON header line (URL, status,
//! `ETag`, `Last-Modified`, body length) followed by the body. Its modification time is the time it
//! was last fetched or confirmed by a `304 Not Modified`. Entries are written to a temporary file
//! and renamed, so readers never see half an entry; an entry that does not parse, names another
//! URL or has the wrong length is ignored and fetched again.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::auth::AuthConfig;

/// Bodies larger than this are refused; Packagist's largest metadata files are a few MB.
const MAX_BODY_BYTES: u64 = 512 * 1024 * 1024;

/// Transport failures (refused connection, reset, timeout) are tried this many times in all.
const ATTEMPTS: u32 = 3;

/// Why a document could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{message}")]
    Transport { message: String },
    #[error("HTTP {status}")]
    Status { status: u16 },
    #[error(
        "HTTP {status}: {}",
        if *credentials_sent {
            format!("the credentials for `{host}` were refused (hint: check them in auth.json or COMPOSER_AUTH)")
        } else {
            format!("no credentials for `{host}` (hint: add `http-basic` or `bearer` for `{host}` to auth.json, or set COMPOSER_AUTH)")
        }
    )]
    Unauthorized {
        status: u16,
        host: String,
        credentials_sent: bool,
    },
    #[error("not in the metadata cache, and offline mode allows no requests")]
    NotCached,
    #[error("cannot read {}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Whether a cached document must be confirmed with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// Confirm unless the entry is younger than the configured maximum age.
    Revalidate,
    /// The URL names its content (a hash in the file name): a cached copy is always right.
    Immutable,
}

/// A document, or `None` when the server (or the directory) does not have it.
pub(crate) struct Fetched {
    pub(crate) body: Option<Vec<u8>>,
    /// The body came from the disk cache (with or without a `304`), so it may be corrupt.
    pub(crate) from_cache: bool,
}

/// Counts of what fetching did, for progress output and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// HTTP requests sent (including conditional ones and retries).
    pub requests: u64,
    /// Requests answered `304 Not Modified`, served from the cache.
    pub not_modified: u64,
    /// Documents served from the cache without any request.
    pub cache_hits: u64,
    /// Documents read from `file://` repositories.
    pub file_reads: u64,
    /// Body bytes received over HTTP.
    pub bytes_downloaded: u64,
    /// Cache entries that could not be written (the fetch itself still succeeded).
    pub cache_write_failures: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    not_modified: AtomicU64,
    cache_hits: AtomicU64,
    file_reads: AtomicU64,
    bytes_downloaded: AtomicU64,
    cache_write_failures: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// How documents are fetched and cached.
pub(crate) struct FetchPolicy {
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) offline: bool,
    pub(crate) max_age: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_connections: usize,
}

/// Fetches documents for all repositories of a project; shared by the worker threads.
pub(crate) struct Fetcher {
    agent: ureq::Agent,
    cache: Option<DiskCache>,
    auth: AuthConfig,
    offline: bool,
    max_age: Duration,
    counters: Counters,
}

impl Fetcher {
    pub(crate) fn new(policy: &FetchPolicy, auth: AuthConfig) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(policy.timeout))
            .max_idle_connections(policy.max_connections.max(1) * 4)
            .max_idle_connections_per_host(policy.max_connections.max(1))
            .user_agent(concat!(
                "upkeep/",
                env!("CARGO_PKG_VERSION"),
                " (Composer metadata)"
            ))
            .build()
            .into();
        Self {
            agent,
            cache: policy.cache_dir.as_deref().map(DiskCache::new),
            auth,
            offline: policy.offline,
            max_age: policy.max_age,
            counters: Counters::default(),
        }
    }

    pub(crate) fn stats(&self) -> FetchStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        FetchStats {
            requests: load(&self.counters.requests),
            not_modified: load(&self.counters.not_modified),
            cache_hits: load(&self.counters.cache_hits),
            file_reads: load(&self.counters.file_reads),
            bytes_downloaded: load(&self.counters.bytes_downloaded),
            cache_write_failures: load(&self.counters.cache_write_failures),
        }
    }

    /// Gets `url`: `file://` from disk, anything else over HTTP through the cache.
    pub(crate) fn get(&self, url: &str, freshness: Freshness) -> Result<Fetched, FetchError> {
        if let Some(path) = url.strip_prefix("file://") {
            return self.read_file(Path::new(path));
        }
        let cached = self.cache.as_ref().and_then(|cache| cache.read(url));
        if let Some(entry) = &cached {
            let fresh = entry.age().is_some_and(|age| age < self.max_age);
            if self.offline || freshness == Freshness::Immutable || fresh {
                bump(&self.counters.cache_hits, 1);
                return Ok(entry.to_fetched());
            }
        }
        if self.offline {
            return Err(FetchError::NotCached);
        }
        self.request(url, cached)
    }

    /// Drops the cache entry of `url`, e.g. because its body turned out to be corrupt.
    pub(crate) fn forget(&self, url: &str) {
        if let Some(cache) = &self.cache {
            cache.remove(url);
        }
    }

    fn read_file(&self, path: &Path) -> Result<Fetched, FetchError> {
        bump(&self.counters.file_reads, 1);
        match fs_err::read(path) {
            Ok(body) => Ok(Fetched {
                body: Some(body),
                from_cache: false,
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Fetched {
                body: None,
                from_cache: false,
            }),
            Err(source) => Err(FetchError::File {
                path: path.to_owned(),
                source,
            }),
        }
    }

    fn request(&self, url: &str, cached: Option<CacheEntry>) -> Result<Fetched, FetchError> {
        let auth = self.auth.header_for(url);
        let mut attempt = 1;
        let mut response = loop {
            let mut request = self.agent.get(url);
            if let Some(header) = &auth {
                request = request.header(header.name, header.value.as_str());
            }
            if let Some(entry) = &cached {
                if let Some(etag) = &entry.header.etag {
                    request = request.header("If-None-Match", etag.as_str());
                }
                if let Some(last_modified) = &entry.header.last_modified {
                    request = request.header("If-Modified-Since", last_modified.as_str());
                }
            }
            bump(&self.counters.requests, 1);
            match request.call() {
                Ok(response) => break response,
                Err(error) if attempt < ATTEMPTS && is_transient(&error) => {
                    std::thread::sleep(Duration::from_millis(50 * u64::from(attempt)));
                    attempt += 1;
                }
                Err(error) => {
                    return Err(FetchError::Transport {
                        message: error.to_string(),
                    });
                }
            }
        };
        let status = response.status().as_u16();
        match status {
            304 => {
                let Some(entry) = cached else {
                    return Err(FetchError::Status { status });
                };
                bump(&self.counters.not_modified, 1);
                if let Some(cache) = &self.cache {
                    cache.touch(url);
                }
                Ok(entry.to_fetched())
            }
            200..=299 | 404 | 410 => {
                let found = (200..=299).contains(&status);
                let body = if found {
                    response
                        .body_mut()
                        .with_config()
                        .limit(MAX_BODY_BYTES)
                        .read_to_vec()
                        .map_err(|error| FetchError::Transport {
                            message: error.to_string(),
                        })?
                } else {
                    Vec::new()
                };
                bump(&self.counters.bytes_downloaded, body.len() as u64);
                let header_text = |name: &str| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|value| value.to_str().ok())
                        .map(str::to_owned)
                };
                let header = EntryHeader {
                    url: url.to_owned(),
                    status,
                    etag: header_text("etag"),
                    last_modified: header_text("last-modified"),
                    length: body.len(),
                };
                if let Some(cache) = &self.cache
                    && cache.write(&header, &body).is_err()
                {
                    bump(&self.counters.cache_write_failures, 1);
                }
                Ok(Fetched {
                    body: found.then_some(body),
                    from_cache: false,
                })
            }
            401 | 403 => Err(FetchError::Unauthorized {
                status,
                host: super::auth::url_host(url)
                    .map(|(_, host_and_port)| host_and_port)
                    .unwrap_or_default(),
                credentials_sent: auth.is_some(),
            }),
            _ => Err(FetchError::Status { status }),
        }
    }
}

fn is_transient(error: &ureq::Error) -> bool {
    matches!(
        error,
        ureq::Error::Io(_) | ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed
    )
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EntryHeader {
    url: String,
    status: u16,
    etag: Option<String>,
    last_modified: Option<String>,
    length: usize,
}

struct CacheEntry {
    header: EntryHeader,
    body: Vec<u8>,
    modified: Option<SystemTime>,
}

impl CacheEntry {
    fn age(&self) -> Option<Duration> {
        let modified = self.modified?;
        // A modification time in the future counts as fresh.
        Some(
            SystemTime::now()
                .duration_since(modified)
                .unwrap_or(Duration::ZERO),
        )
    }

    fn to_fetched(&self) -> Fetched {
        let found = (200..=299).contains(&self.header.status);
        Fetched {
            body: found.then(|| self.body.clone()),
            from_cache: true,
        }
    }
}

/// The directory of cache entries.
struct DiskCache {
    dir: PathBuf,
}

/// Makes temporary file names unique within the process.
static TEMPORARY_FILES: AtomicU64 = AtomicU64::new(0);

impl DiskCache {
    fn new(root: &Path) -> Self {
        Self {
            dir: root.join("http"),
        }
    }

    fn path(&self, url: &str) -> PathBuf {
        self.dir.join(hex_sha256(url.as_bytes()))
    }

    fn read(&self, url: &str) -> Option<CacheEntry> {
        let path = self.path(url);
        let file = fs_err::File::open(&path).ok()?;
        let modified = file.metadata().ok().and_then(|meta| meta.modified().ok());
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut file.into_file(), &mut data).ok()?;
        let newline = data.iter().position(|byte| *byte == b'\n')?;
        let header: EntryHeader = serde_json::from_slice(&data[..newline]).ok()?;
        let body = data.split_off(newline + 1);
        if header.url != url || header.length != body.len() {
            return None;
        }
        Some(CacheEntry {
            header,
            body,
            modified,
        })
    }

    fn write(&self, header: &EntryHeader, body: &[u8]) -> std::io::Result<()> {
        fs_err::create_dir_all(&self.dir)?;
        let target = self.path(&header.url);
        let temporary = self.dir.join(format!(
            ".{}.{}.{}.tmp",
            hex_sha256(header.url.as_bytes()),
            std::process::id(),
            TEMPORARY_FILES.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut file = fs_err::File::create(&temporary)?;
            let mut line = serde_json::to_vec(header).map_err(std::io::Error::other)?;
            line.push(b'\n');
            file.write_all(&line)?;
            file.write_all(body)?;
            file.flush()?;
            drop(file);
            fs_err::rename(&temporary, &target)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        result
    }

    /// Records that the entry was confirmed now.
    fn touch(&self, url: &str) {
        if let Ok(file) = fs_err::OpenOptions::new().append(true).open(self.path(url)) {
            // Failing only makes the entry look older, which costs a request later.
            let _ = file.set_modified(SystemTime::now());
        }
    }

    fn remove(&self, url: &str) {
        let _ = std::fs::remove_file(self.path(url));
    }
}

pub(crate) fn hex_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut text = String::with_capacity(digest.len() * 2);
    for byte in digest {
        use std::fmt::Write as _;
        let _ = write!(text, "{byte:02x}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> (tempfile::TempDir, DiskCache) {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let cache = DiskCache::new(dir.path());
        (dir, cache)
    }

    fn header(url: &str, length: usize) -> EntryHeader {
        EntryHeader {
            url: url.to_owned(),
            status: 200,
            etag: Some("\"v1\"".to_owned()),
            last_modified: None,
            length,
        }
    }

    #[test]
    fn entries_round_trip() {
        let (_dir, cache) = cache();
        let url = "https://repo.test/p2/a/b.json";
        cache
            .write(&header(url, 7), b"{\"x\":1}")
            .unwrap_or_else(|error| panic!("{error}"));
        let entry = cache.read(url).expect("the entry was written");
        assert_eq!(entry.body, b"{\"x\":1}");
        assert_eq!(entry.header.etag.as_deref(), Some("\"v1\""));
        assert!(entry.age().is_some_and(|age| age < Duration::from_mins(1)));
        assert!(cache.read("https://repo.test/other.json").is_none());
    }

    #[test]
    fn corrupt_entries_are_ignored() {
        let (_dir, cache) = cache();
        let url = "https://repo.test/p2/a/b.json";
        cache
            .write(&header(url, 7), b"{\"x\":1}")
            .unwrap_or_else(|error| panic!("{error}"));
        let path = cache.path(url);
        // Truncated body.
        let mut data = fs_err::read(&path).unwrap_or_else(|error| panic!("{error}"));
        data.pop();
        fs_err::write(&path, &data).unwrap_or_else(|error| panic!("{error}"));
        assert!(cache.read(url).is_none());
        // Garbage header.
        fs_err::write(&path, b"not json\n{}").unwrap_or_else(|error| panic!("{error}"));
        assert!(cache.read(url).is_none());
        // No header line at all.
        fs_err::write(&path, b"").unwrap_or_else(|error| panic!("{error}"));
        assert!(cache.read(url).is_none());
    }

    #[test]
    fn writes_leave_no_temporary_files() {
        let (_dir, cache) = cache();
        for index in 0..3 {
            let url = format!("https://repo.test/{index}");
            cache
                .write(&header(&url, 2), b"{}")
                .unwrap_or_else(|error| panic!("{error}"));
        }
        let names: Vec<String> = fs_err::read_dir(&cache.dir)
            .unwrap_or_else(|error| panic!("{error}"))
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect();
        assert_eq!(names.len(), 3);
        assert!(
            names
                .iter()
                .all(|name| name.len() == 64 && !name.starts_with('.'))
        );
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            hex_sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
