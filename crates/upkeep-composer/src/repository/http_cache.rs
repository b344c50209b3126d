//! Getting repository documents: `file://` URLs from disk, `http(s)://` URLs through one ureq agent
//! (keep-alive, shared by all worker threads) and a disk cache with HTTP validators.
//!
//! A cache entry is one file named by the SHA-256 of its URL: a JSON header line (URL, status,
//! `ETag`, `Last-Modified`, body length, SHA-256 of the body) followed by the body. Its
//! modification time is the time it was last fetched or confirmed by a `304 Not Modified`.
//! Entries are written to a temporary file and renamed, so readers never see half an entry; an
//! entry that does not parse, names another URL or has the wrong length is ignored and fetched
//! again. Callers may keep a file of their own next to an entry (`<entry>.parsed`,
//! [`Fetcher::store`]), such as the parsed body; the body's SHA-256, which a `304` leaves as it
//! is, tells them whether it was made from the body the entry holds now.
//!
//! A cached body is read only when it is asked for ([`Body::read`]), so that a caller with a
//! stored copy for the entry's digest reads the short header line and nothing else.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::auth::AuthConfig;

/// Redirects followed for one request at most.
const MAX_REDIRECTS: u32 = 10;

/// Transport failures (refused connection, reset, timeout) are tried this many times in all.
const ATTEMPTS: u32 = 3;

/// Why a document could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{message}")]
    Transport { message: String },
    #[error("HTTP {status}")]
    Status { status: u16 },
    /// The body, decoded (a small gzip body can decode to gigabytes), is larger than allowed.
    #[error("the response is larger than {} MiB", limit / (1024 * 1024))]
    TooLarge { limit: u64 },
    #[error("redirected to `{location}`, which is not an http(s) URL")]
    NotHttpRedirect { location: String },
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error(
        "HTTP {status}: {}",
        if *credentials_sent {
            format!("the credentials for `{host}` were refused")
        } else {
            format!("no credentials for `{host}`")
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

impl upkeep_hint::Hint for FetchError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Unauthorized {
                credentials_sent: true,
                ..
            } => Some("check them in auth.json or COMPOSER_AUTH".to_string()),
            Self::Unauthorized { host, .. } => Some(format!(
                "add `http-basic` or `bearer` for `{host}` to auth.json, or set COMPOSER_AUTH"
            )),
            Self::TooLarge { .. } => Some(
                "Composer metadata files are a few MB; check the repository's URL, or raise \
                 the limit (`RepositoryOptions::max_body_bytes`) for a repository that really \
                 serves larger ones"
                    .to_string(),
            ),
            Self::NotHttpRedirect { .. } => Some(
                "a repository served over HTTP may redirect only to http(s) URLs; name a local \
                 repository as `file://` in composer.json instead"
                    .to_string(),
            ),
            _ => None,
        }
    }
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
    pub(crate) body: Option<Body>,
    /// The body came from the disk cache (with or without a `304`), so it may be corrupt.
    pub(crate) from_cache: bool,
    /// The SHA-256 (lowercase hex) of the body as the disk cache holds it, when it holds it and
    /// knows it: the key for copies stored next to the entry.
    pub(crate) digest: Option<String>,
}

/// The body of a document: received now, or still in its cache entry.
pub(crate) enum Body {
    Received(Vec<u8>),
    Cached(CachedBody),
}

/// The rest of an open cache entry, after its header line.
pub(crate) struct CachedBody {
    path: PathBuf,
    reader: BufReader<std::fs::File>,
    length: usize,
}

impl Body {
    /// The bytes of the body.
    pub(crate) fn read(self) -> Result<Vec<u8>, FetchError> {
        match self {
            Self::Received(bytes) => Ok(bytes),
            Self::Cached(mut cached) => {
                let mut bytes = Vec::with_capacity(cached.length);
                let result = cached.reader.read_to_end(&mut bytes).and_then(|_| {
                    if bytes.len() == cached.length {
                        Ok(())
                    } else {
                        Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "the cache entry is shorter or longer than its header says",
                        ))
                    }
                });
                match result {
                    Ok(()) => Ok(bytes),
                    Err(source) => Err(FetchError::File {
                        path: cached.path,
                        source,
                    }),
                }
            }
        }
    }
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
    /// Documents whose parsed copy, stored next to their cache entry, was used instead of
    /// parsing them again.
    pub parsed_copies_used: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    not_modified: AtomicU64,
    cache_hits: AtomicU64,
    file_reads: AtomicU64,
    bytes_downloaded: AtomicU64,
    cache_write_failures: AtomicU64,
    parsed_copies_used: AtomicU64,
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
    /// Largest body accepted, decoded.
    pub(crate) max_body_bytes: u64,
}

/// Fetches documents for all repositories of a project; shared by the worker threads.
pub(crate) struct Fetcher {
    agent: ureq::Agent,
    cache: Option<DiskCache>,
    auth: AuthConfig,
    offline: bool,
    max_age: Duration,
    max_body_bytes: u64,
    counters: Counters,
}

impl Fetcher {
    pub(crate) fn new(policy: &FetchPolicy, auth: AuthConfig) -> Self {
        // Each phase gets the limit, rather than the request as a whole (`timeout_global`):
        // with a limit that covers name resolution, ureq resolves every request's host on a
        // thread of its own (one thread per request, kept-alive connections or not). Name
        // resolution is left to the system resolver's own timeouts instead.
        let timeout = Some(policy.timeout);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(timeout)
            .timeout_send_request(timeout)
            .timeout_recv_response(timeout)
            .timeout_recv_body(timeout)
            // Redirects are followed here, not by ureq, which would hand on any `Location`
            // (`file:///etc/passwd` included) without asking which schemes are allowed.
            .max_redirects(0)
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
            max_body_bytes: policy.max_body_bytes,
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
            parsed_copies_used: load(&self.counters.parsed_copies_used),
        }
    }

    /// Gets `url`: `file://` from disk, anything else over HTTP through the cache.
    pub(crate) fn get(&self, url: &str, freshness: Freshness) -> Result<Fetched, FetchError> {
        if let Some(path) = url.strip_prefix("file://") {
            return self.read_file(Path::new(path));
        }
        match self.cache.as_ref().and_then(|cache| cache.read(url)) {
            Some(entry)
                if self.offline
                    || freshness == Freshness::Immutable
                    || entry.age().is_some_and(|age| age < self.max_age) =>
            {
                bump(&self.counters.cache_hits, 1);
                Ok(entry.into_fetched())
            }
            _ if self.offline => Err(FetchError::NotCached),
            cached => self.request(url, cached),
        }
    }

    /// The cached copy of `url` whatever its age, with the time since it was last fetched or
    /// confirmed: what a caller falls back on when the server cannot be reached.
    pub(crate) fn cached(&self, url: &str) -> Option<(Fetched, Option<Duration>)> {
        let entry = self.cache.as_ref()?.read(url)?;
        let age = entry.age();
        bump(&self.counters.cache_hits, 1);
        Some((entry.into_fetched(), age))
    }

    /// Drops the cache entry of `url` and what is stored next to it, e.g. because its body
    /// turned out to be corrupt.
    pub(crate) fn forget(&self, url: &str) {
        if let Some(cache) = &self.cache {
            cache.remove(url);
        }
    }

    /// What the caller stored next to the cache entry of `url` ([`Fetcher::store`]), if anything.
    /// The caller checks that it belongs to the body it has (its digest).
    /// It is handed to `read` rather than returned: see [`DiskCache::with_stored`].
    pub(crate) fn with_stored<T>(&self, url: &str, read: impl FnOnce(&[u8]) -> T) -> Option<T> {
        self.cache.as_ref()?.with_stored(url, read)
    }

    /// Keeps `bytes` next to the cache entry of `url`, e.g. the body parsed into a compact form.
    pub(crate) fn store(&self, url: &str, bytes: &[u8]) {
        if let Some(cache) = &self.cache
            && cache.write_stored(url, bytes).is_err()
        {
            bump(&self.counters.cache_write_failures, 1);
        }
    }

    /// Counts a document read from its stored parsed copy.
    pub(crate) fn count_parsed_copy(&self) {
        bump(&self.counters.parsed_copies_used, 1);
    }

    fn read_file(&self, path: &Path) -> Result<Fetched, FetchError> {
        bump(&self.counters.file_reads, 1);
        match fs_err::read(path) {
            Ok(body) => Ok(Fetched {
                body: Some(Body::Received(body)),
                from_cache: false,
                digest: None,
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Fetched {
                body: None,
                from_cache: false,
                digest: None,
            }),
            Err(source) => Err(FetchError::File {
                path: path.to_owned(),
                source,
            }),
        }
    }

    fn request(&self, url: &str, cached: Option<CacheEntry>) -> Result<Fetched, FetchError> {
        let mut target = url.to_owned();
        let mut redirects = 0;
        let (mut response, credentials_sent) = loop {
            let (response, credentials_sent) = self.send(&target, cached.as_ref())?;
            if !response.status().is_redirection() || response.status().as_u16() == 304 {
                break (response, credentials_sent);
            }
            let Some(location) = response
                .headers()
                .get("location")
                .and_then(|value| value.to_str().ok())
            else {
                break (response, credentials_sent);
            };
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(FetchError::TooManyRedirects);
            }
            target =
                resolve_location(&target, location).ok_or_else(|| FetchError::NotHttpRedirect {
                    location: location.to_owned(),
                })?;
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
                Ok(entry.into_fetched())
            }
            200..=299 | 404 | 410 => {
                let found = (200..=299).contains(&status);
                let body = if found {
                    self.read_body(&mut response)?
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
                let mut digest = None;
                if let Some(cache) = &self.cache {
                    let header = EntryHeader {
                        url: url.to_owned(),
                        status,
                        etag: header_text("etag"),
                        last_modified: header_text("last-modified"),
                        length: body.len(),
                        sha256: Some(hex_sha256(&body)),
                    };
                    if cache.write(&header, &body).is_ok() {
                        digest = header.sha256;
                    } else {
                        bump(&self.counters.cache_write_failures, 1);
                    }
                }
                Ok(Fetched {
                    body: found.then_some(Body::Received(body)),
                    from_cache: false,
                    digest,
                })
            }
            401 | 403 => Err(FetchError::Unauthorized {
                status,
                host: super::auth::url_host(&target)
                    .map(|(_, host_and_port)| host_and_port)
                    .unwrap_or_default(),
                credentials_sent,
            }),
            _ => Err(FetchError::Status { status }),
        }
    }
}

impl Fetcher {
    /// One GET of `url` with its credentials and the validators of `cached`, retried on
    /// transport failures; redirects come back as responses. Also returns whether credentials
    /// were sent.
    fn send(
        &self,
        url: &str,
        cached: Option<&CacheEntry>,
    ) -> Result<(ureq::http::Response<ureq::Body>, bool), FetchError> {
        // Credentials go by the host of each URL, so a redirect to another host gets its own
        // (or none).
        let auth = self.auth.header_for(url);
        let mut attempt = 1;
        loop {
            let mut request = self.agent.get(url);
            if let Some(header) = &auth {
                request = request.header(header.name, header.value.as_str());
            }
            if let Some(entry) = cached {
                if let Some(etag) = &entry.header.etag {
                    request = request.header("If-None-Match", etag.as_str());
                }
                if let Some(last_modified) = &entry.header.last_modified {
                    request = request.header("If-Modified-Since", last_modified.as_str());
                }
            }
            bump(&self.counters.requests, 1);
            match request.call() {
                Ok(response) => return Ok((response, auth.is_some())),
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
        }
    }

    /// The decoded body, refused as soon as it grows past the limit: ureq's own limit counts
    /// the bytes on the wire, before decompression.
    fn read_body(
        &self,
        response: &mut ureq::http::Response<ureq::Body>,
    ) -> Result<Vec<u8>, FetchError> {
        let limit = self.max_body_bytes;
        let too_large = || FetchError::TooLarge { limit };
        let declared = response
            .headers()
            .get("content-length")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok());
        let is_encoded = response.headers().contains_key("content-encoding");
        if !is_encoded && declared.is_some_and(|length| length > limit) {
            return Err(too_large());
        }
        let transport = |error: std::io::Error| FetchError::Transport {
            message: error.to_string(),
        };
        let reader = response.body_mut().with_config().reader();
        let mut body = Vec::with_capacity(
            usize::try_from(declared.unwrap_or(0).min(limit)).unwrap_or_default(),
        );
        reader
            .take(limit.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(transport)?;
        if body.len() as u64 > limit {
            return Err(too_large());
        }
        Ok(body)
    }
}

/// Where a redirect from `from` to `location` leads, if it is an http(s) URL.
fn resolve_location(from: &str, location: &str) -> Option<String> {
    let location = location.trim();
    let has_scheme = location.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|character: char| character.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || "+-.".contains(character))
    });
    if has_scheme {
        let lower = location.to_ascii_lowercase();
        return (lower.starts_with("http://") || lower.starts_with("https://"))
            .then(|| location.to_owned());
    }
    let (scheme, rest) = from.split_once("://")?;
    if let Some(network_path) = location.strip_prefix("//") {
        return Some(format!("{scheme}://{network_path}"));
    }
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..authority_end]);
    let joined = if location.starts_with('/') {
        location.to_owned()
    } else {
        // Relative to the directory of the current path (without its query).
        let path = &rest[authority_end..];
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let directory = &path[..path.rfind('/').map_or(0, |slash| slash + 1)];
        let directory = if directory.is_empty() { "/" } else { directory };
        format!("{directory}{location}")
    };
    Some(format!("{origin}{}", without_dot_segments(&joined)))
}

/// An absolute path with its `.` and `..` segments applied (RFC 3986, 5.2.4); the query stays.
fn without_dot_segments(path: &str) -> String {
    let (path, query) = match path.find(['?', '#']) {
        Some(index) => path.split_at(index),
        None => (path, ""),
    };
    let mut segments: Vec<&str> = Vec::new();
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    for (index, segment) in parts.iter().enumerate() {
        let last = index + 1 == parts.len();
        match *segment {
            "." | ".." => {
                if *segment == ".." {
                    segments.pop();
                }
                if last {
                    segments.push("");
                }
            }
            other => segments.push(other),
        }
    }
    format!("/{}{query}", segments.join("/"))
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
    /// SHA-256 of the body, lowercase hex; entries written by older versions have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
}

struct CacheEntry {
    header: EntryHeader,
    body: CachedBody,
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

    fn into_fetched(self) -> Fetched {
        let found = (200..=299).contains(&self.header.status);
        Fetched {
            body: found.then_some(Body::Cached(self.body)),
            from_cache: true,
            digest: self.header.sha256,
        }
    }
}

/// The directory of cache entries.
struct DiskCache {
    dir: PathBuf,
}

/// The header line is short (URL, validators, length, digest); reading this much at first
/// usually gets all of it and little of the body, which may not be needed.
const HEADER_READ_BYTES: usize = 1024;

/// What callers store next to an entry is in `<entry name><STORED_SUFFIX>`.
const STORED_SUFFIX: &str = ".parsed";

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

    /// Where callers keep what they derived from the entry of `url` ([`Fetcher::store`]).
    fn stored_path(&self, url: &str) -> PathBuf {
        let mut path = self.path(url).into_os_string();
        path.push(STORED_SUFFIX);
        path.into()
    }

    /// Opens the entry of `url` and reads its header line; the body stays unread.
    fn read(&self, url: &str) -> Option<CacheEntry> {
        let path = self.path(url);
        let file = fs_err::File::open(&path).ok()?;
        let metadata = file.metadata().ok()?;
        let modified = metadata.modified().ok();
        let mut reader = BufReader::with_capacity(HEADER_READ_BYTES, file.into_file());
        let mut line = Vec::new();
        reader.read_until(b'\n', &mut line).ok()?;
        if line.pop() != Some(b'\n') {
            return None;
        }
        let header: EntryHeader = serde_json::from_slice(&line).ok()?;
        // The file's size says whether the body is complete without reading it.
        let expected_size = u64::try_from(line.len() + 1 + header.length).ok()?;
        if header.url != url || metadata.len() != expected_size {
            return None;
        }
        let length = header.length;
        Some(CacheEntry {
            header,
            body: CachedBody {
                path,
                reader,
                length,
            },
            modified,
        })
    }

    fn write(&self, header: &EntryHeader, body: &[u8]) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(header).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.write_atomically(&header.url, &self.path(&header.url), &[&line, body])
    }

    /// Reads what is stored next to the entry of `url` into this thread's buffer and hands it
    /// to `read`. Planning from warm metadata reads hundreds of these files one after the other;
    /// a fresh allocation for each would have the kernel hand out (and zero) new pages for every
    /// one of them, which costs more than reading the files.
    fn with_stored<T>(&self, url: &str, read: impl FnOnce(&[u8]) -> T) -> Option<T> {
        /// A buffer grown past this is not kept for the next file.
        const KEPT_CAPACITY: usize = 4 * 1024 * 1024;
        thread_local! {
            static BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
        }
        let mut buffer = BUFFER.take();
        buffer.clear();
        let result = std::fs::File::open(self.stored_path(url))
            .and_then(|mut file| file.read_to_end(&mut buffer))
            .ok()
            .map(|_| read(&buffer));
        if buffer.capacity() <= KEPT_CAPACITY {
            BUFFER.set(buffer);
        }
        result
    }

    fn write_stored(&self, url: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.write_atomically(url, &self.stored_path(url), &[bytes])
    }

    /// Writes `parts` to a temporary file and renames it to `target`, so that readers see the
    /// old file or the whole new one.
    fn write_atomically(&self, url: &str, target: &Path, parts: &[&[u8]]) -> std::io::Result<()> {
        fs_err::create_dir_all(&self.dir)?;
        let temporary = self.dir.join(format!(
            ".{}.{}.{}.tmp",
            hex_sha256(url.as_bytes()),
            std::process::id(),
            TEMPORARY_FILES.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut file = fs_err::File::create(&temporary)?;
            for part in parts {
                file.write_all(part)?;
            }
            file.flush()?;
            drop(file);
            fs_err::rename(&temporary, target)
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
        let _ = std::fs::remove_file(self.stored_path(url));
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
            sha256: None,
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
        assert_eq!(entry.header.etag.as_deref(), Some("\"v1\""));
        assert!(entry.age().is_some_and(|age| age < Duration::from_mins(1)));
        let body = entry.into_fetched().body.expect("a body");
        assert_eq!(body.read().ok().as_deref(), Some(&b"{\"x\":1}"[..]));
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
    fn bodies_are_read_when_asked_for() {
        let (_dir, cache) = cache();
        let url = "https://repo.test/p2/a/b.json";
        let body = vec![b'x'; 3 * HEADER_READ_BYTES];
        cache
            .write(&header(url, body.len()), &body)
            .unwrap_or_else(|error| panic!("{error}"));
        let entry = cache.read(url).expect("the entry was written");
        // Replacing the entry now does not change the body of the entry already open.
        cache
            .write(&header(url, 2), b"{}")
            .unwrap_or_else(|error| panic!("{error}"));
        let read = entry.into_fetched().body.expect("a body").read();
        assert_eq!(read.ok(), Some(body));
    }

    #[test]
    fn stored_files_go_with_their_entry() {
        let (_dir, cache) = cache();
        let url = "https://repo.test/p2/a/b.json";
        cache
            .write(&header(url, 2), b"{}")
            .unwrap_or_else(|error| panic!("{error}"));
        cache
            .write_stored(url, b"parsed")
            .unwrap_or_else(|error| panic!("{error}"));
        let stored = |url: &str| cache.with_stored(url, <[u8]>::to_vec);
        assert_eq!(stored(url).as_deref(), Some(&b"parsed"[..]));
        assert_eq!(stored("https://repo.test/other.json"), None);
        // The buffer is reused: a shorter file after a longer one is read whole and alone.
        cache
            .write_stored("https://repo.test/short.json", b"p")
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            stored("https://repo.test/short.json").as_deref(),
            Some(&b"p"[..])
        );
        cache.remove(url);
        assert!(cache.read(url).is_none());
        assert_eq!(stored(url), None);
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
    fn redirects_resolve_against_the_request_and_only_to_http() {
        let from = "http://127.0.0.1:8080/repo/p2/acme/widget.json?x=1";
        let resolve = |location| resolve_location(from, location);
        assert_eq!(
            resolve("https://mirror.test/a.json").as_deref(),
            Some("https://mirror.test/a.json")
        );
        assert_eq!(
            resolve("//mirror.test/a.json").as_deref(),
            Some("http://mirror.test/a.json")
        );
        assert_eq!(
            resolve("/other/a.json?v=2").as_deref(),
            Some("http://127.0.0.1:8080/other/a.json?v=2")
        );
        assert_eq!(
            resolve("gadget.json").as_deref(),
            Some("http://127.0.0.1:8080/repo/p2/acme/gadget.json")
        );
        assert_eq!(
            resolve("../../../../packages.json").as_deref(),
            Some("http://127.0.0.1:8080/packages.json")
        );
        for refused in [
            "file:///etc/passwd",
            "FILE:/etc/passwd",
            "ftp://x/a.json",
            "data:,{}",
        ] {
            assert_eq!(resolve(refused), None, "{refused}");
        }
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            hex_sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
