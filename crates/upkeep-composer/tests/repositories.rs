//! Repository clients against a Composer repository served on loopback (and from `file://` and
//! path directories): protocol 2 with minified metadata, inline `packages`, protocol 1 providers,
//! authentication, the HTTP cache with validators, and concurrent requests.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use upkeep_composer::repository::{
    AuthConfig, FetchError, FetchStats, PackageVersion, RepositoryError, RepositoryOptions,
    RepositorySet,
};

/// What the server requires of the `Authorization` header.
#[derive(Clone)]
enum RequiredAuth {
    None,
    Header(String),
}

#[derive(Debug, Clone)]
struct RecordedRequest {
    path: String,
    if_none_match: Option<String>,
    authorization: Option<String>,
}

struct ServerState {
    files: Mutex<HashMap<String, (u16, Vec<u8>)>>,
    /// Headers sent with a file besides `ETag` and `Content-Length`.
    headers: Mutex<HashMap<String, Vec<(String, String)>>>,
    requests: Mutex<Vec<RecordedRequest>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    delay: Duration,
    auth: RequiredAuth,
    stopping: AtomicBool,
}

/// A static file server for `GET` on 127.0.0.1: HTTP/1.1 with keep-alive, one thread per
/// connection, an `ETag` (the body's hash) on every file, `304` for a matching `If-None-Match`.
///
/// (`tiny_http` was tried first: its connection pool can queue a new connection behind idle
/// keep-alive connections, which stalls a client with a connection pool until it times out.)
struct RepositoryServer {
    url: String,
    state: Arc<ServerState>,
    address: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl RepositoryServer {
    fn start(delay: Duration, auth: RequiredAuth) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let address = listener.local_addr().expect("a local address");
        let state = Arc::new(ServerState {
            files: Mutex::new(HashMap::new()),
            headers: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            delay,
            auth,
            stopping: AtomicBool::new(false),
        });
        let thread = {
            let state = Arc::clone(&state);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if state.stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = Arc::clone(&state);
                    std::thread::spawn(move || serve_connection(&state, stream));
                }
            })
        };
        Self {
            url: format!("http://{address}"),
            state,
            address,
            thread: Some(thread),
        }
    }

    fn host(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    fn put(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.put_status(path, 200, body);
    }

    fn put_json(&self, path: &str, body: &Value) {
        self.put(path, serde_json::to_vec(body).expect("JSON"));
    }

    fn put_status(&self, path: &str, status: u16, body: impl Into<Vec<u8>>) {
        self.state
            .files
            .lock()
            .expect("lock")
            .insert(path.to_owned(), (status, body.into()));
    }

    /// Serves `body` at `path` with `status` and `headers` (`Content-Encoding`, `Location`).
    fn put_with_headers(
        &self,
        path: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) {
        self.put_status(path, status, body);
        self.state.headers.lock().expect("lock").insert(
            path.to_owned(),
            headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        );
    }

    fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().expect("lock").clone()
    }

    fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .requests()
            .into_iter()
            .map(|request| request.path)
            .collect();
        paths.sort();
        paths
    }

    fn clear_requests(&self) {
        self.state.requests.lock().expect("lock").clear();
    }
}

impl Drop for RepositoryServer {
    fn drop(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        // Wakes the accept loop; connection threads end when their clients hang up.
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve_connection(state: &ServerState, stream: TcpStream) {
    let Ok(reader_stream) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader_stream);
    let mut writer = stream;
    let _ = writer.set_nodelay(true);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_lowercase(), value.trim().to_owned());
            }
        }
        let request = RecordedRequest {
            path,
            if_none_match: headers.get("if-none-match").cloned(),
            authorization: headers.get("authorization").cloned(),
        };
        let (status, etag, body) = answer(state, &request);
        let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        let extra = state
            .headers
            .lock()
            .expect("lock")
            .get(&request.path)
            .cloned();
        for (name, value) in extra.unwrap_or_default() {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        if let Some(etag) = etag {
            let _ = write!(head, "ETag: {etag}\r\n");
        }
        let _ = write!(head, "Content-Length: {}\r\n\r\n", body.len());
        // One write: a separate body write would wait for the delayed ACK of the head (Nagle).
        let mut response = head.into_bytes();
        response.extend_from_slice(&body);
        if writer
            .write_all(&response)
            .and_then(|()| writer.flush())
            .is_err()
        {
            return;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Other",
    }
}

/// Status, `ETag` and body for one request.
fn answer(state: &ServerState, request: &RecordedRequest) -> (u16, Option<String>, Vec<u8>) {
    state.requests.lock().expect("lock").push(request.clone());
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    std::thread::sleep(state.delay);
    state.in_flight.fetch_sub(1, Ordering::SeqCst);

    if let RequiredAuth::Header(expected) = &state.auth
        && request.authorization.as_deref() != Some(expected.as_str())
    {
        return (401, None, b"no".to_vec());
    }
    let file = state
        .files
        .lock()
        .expect("lock")
        .get(&request.path)
        .cloned();
    let Some((status, body)) = file else {
        return (404, None, b"not found".to_vec());
    };
    let etag = format!("\"{}\"", &hex_sha256(&body)[..16]);
    if status == 200 && request.if_none_match.as_deref() == Some(etag.as_str()) {
        return (304, Some(etag), Vec::new());
    }
    (status, Some(etag), body)
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

fn options(cache_dir: Option<&Path>) -> RepositoryOptions {
    RepositoryOptions {
        cache_dir: cache_dir.map(Path::to_owned),
        auth: Some(AuthConfig::default()),
        timeout: Duration::from_secs(10),
        ..RepositoryOptions::default()
    }
}

fn repository_set(
    project: &Path,
    repositories: &Value,
    options: &RepositoryOptions,
) -> RepositorySet {
    let manifest = json!({"name": "acme/project", "repositories": repositories});
    RepositorySet::from_manifest_value(project, &manifest, options)
        .unwrap_or_else(|error| panic!("{error}"))
}

fn composer_repository(url: &str) -> Value {
    json!([{"type": "composer", "url": url}, {"packagist.org": false}])
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

fn version_strings(versions: &[PackageVersion]) -> Vec<&str> {
    versions
        .iter()
        .map(|version| version.version.pretty())
        .collect()
}

fn temporary_directory() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"))
}

/// A Packagist-like repository: `metadata-url`, minified files, a dev-branch file.
fn packagist_like(server: &RepositoryServer) {
    server.put_json(
        "/packages.json",
        &json!({"packages": [], "metadata-url": "/p2/%package%.json"}),
    );
    server.put_json(
        "/p2/acme/widget.json",
        &json!({
            "minified": "composer/2.0",
            "packages": {"acme/widget": [
                {
                    "name": "acme/widget",
                    "version": "2.1.0",
                    "version_normalized": "2.1.0.0",
                    "require": {"php": ">=8.1", "acme/core": "^2.0"},
                    "source": {"type": "git", "url": "https://github.com/acme/widget.git", "reference": "c210"},
                    "time": "2024-05-01T00:00:00+00:00",
                    "type": "library",
                    "extra": {"branch-alias": {"dev-main": "2.2.x-dev"}}
                },
                {
                    "version": "2.0.1",
                    "version_normalized": "2.0.1.0",
                    "source": {"type": "git", "url": "https://github.com/acme/widget.git", "reference": "c201"},
                    "time": "2024-03-01T00:00:00+00:00"
                },
                {
                    "version": "1.9.0",
                    "version_normalized": "1.9.0.0",
                    "require": "__unset",
                    "extra": "__unset",
                    "conflict": {"acme/legacy": "<1.0"}
                }
            ]}
        }),
    );
    server.put_json(
        "/p2/acme/widget~dev.json",
        &json!({
            "minified": "composer/2.0",
            "packages": {"acme/widget": [
                {"name": "acme/widget", "version": "dev-main", "version_normalized": "dev-main"}
            ]}
        }),
    );
    server.put_json(
        "/p2/acme/core.json",
        &json!({"packages": {"acme/core": [
            {"name": "acme/core", "version": "v2.0.0"},
            {"name": "acme/core", "version": "1.0.0"}
        ]}}),
    );
}

/// A Packagist-like server ([`packagist_like`]), a project and a cache directory, and the
/// versions of `acme/widget` and `acme/core` as a first run read them into the cache.
struct WarmCache {
    server: RepositoryServer,
    project: tempfile::TempDir,
    cache: tempfile::TempDir,
    repositories: Value,
    wanted: Vec<String>,
    expected: IndexMap<String, Vec<PackageVersion>>,
}

impl WarmCache {
    fn new() -> Self {
        let server = RepositoryServer::start(Duration::ZERO, RequiredAuth::None);
        packagist_like(&server);
        let repositories = composer_repository(&server.url);
        let mut warm = Self {
            server,
            project: temporary_directory(),
            cache: temporary_directory(),
            repositories,
            wanted: names(&["acme/widget", "acme/core"]),
            expected: IndexMap::new(),
        };
        warm.expected = warm.versions(&warm.set(&warm.options()));
        warm
    }

    /// [`options`] with this cache.
    fn options(&self) -> RepositoryOptions {
        options(Some(self.cache.path()))
    }

    /// [`options`] with this cache, offline.
    fn offline_options(&self) -> RepositoryOptions {
        RepositoryOptions {
            offline: true,
            ..self.options()
        }
    }

    /// A new set (a new run) on this cache.
    fn set(&self, options: &RepositoryOptions) -> RepositorySet {
        repository_set(self.project.path(), &self.repositories, options)
    }

    fn versions(&self, set: &RepositorySet) -> IndexMap<String, Vec<PackageVersion>> {
        set.versions_of(&self.wanted)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// The cache entry of the server's `path`.
    fn entry(&self, path: &str) -> PathBuf {
        self.cache
            .path()
            .join("http")
            .join(hex_sha256(format!("{}{path}", self.server.url).as_bytes()))
    }
}

#[test]
fn protocol_2_metadata_is_expanded() {
    let server = RepositoryServer::start(Duration::ZERO, RequiredAuth::None);
    packagist_like(&server);
    let project = temporary_directory();
    let mut options = options(None);
    options.include_dev_branches = true;
    let set = repository_set(project.path(), &composer_repository(&server.url), &options);

    let report = set
        .fetch(&names(&["acme/widget", "Acme/Core", "acme/unknown", "php"]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let widget = &report.versions["acme/widget"];
    assert_eq!(
        version_strings(widget),
        ["2.1.0", "2.0.1", "1.9.0", "dev-main"]
    );
    // 2.0.1 inherits `require`, `type` and `extra` and changes `source`, `time`.
    assert_eq!(widget[1].require.get("acme/core"), Some("^2.0"));
    assert_eq!(widget[1].kind.as_deref(), Some("library"));
    assert_eq!(
        widget[1]
            .source
            .as_ref()
            .and_then(|source| source.reference.as_deref()),
        Some("c201")
    );
    assert_eq!(widget[1].time.as_deref(), Some("2024-03-01T00:00:00+00:00"));
    assert!(widget[1].extra.is_some());
    // 1.9.0 drops `require` and `extra` (`__unset`) and adds a conflict.
    assert!(widget[2].require.is_empty());
    assert_eq!(widget[2].extra, None);
    assert_eq!(widget[2].conflict.get("acme/legacy"), Some("<1.0"));
    assert_eq!(&*widget[2].name, "acme/widget");
    // Unminified files need no expansion; missing `version_normalized` is computed.
    let core = &report.versions["Acme/Core"];
    assert_eq!(version_strings(core), ["v2.0.0", "1.0.0"]);
    assert_eq!(core[0].version.normalized(), "2.0.0.0");
    assert!(report.versions["acme/unknown"].is_empty());
    assert!(report.versions["php"].is_empty());

    assert_eq!(
        server.paths(),
        [
            "/p2/acme/core.json",
            "/p2/acme/core~dev.json",
            "/p2/acme/unknown.json",
            "/p2/acme/unknown~dev.json",
            "/p2/acme/widget.json",
            "/p2/acme/widget~dev.json",
            "/packages.json",
        ]
    );
}

#[test]
fn available_packages_spare_requests() {
    let server = RepositoryServer::start(Duration::ZERO, RequiredAuth::None);
    packagist_like(&server);
    server.put_json(
        "/packages.json",
        &json!({
            "metadata-url": "/p2/%package%.json",
            "available-packages": ["acme/widget"],
            "available-package-patterns": ["acme/co*"]
        }),
    );
    let project = temporary_directory();
    let set = repository_set(
        project.path(),
        &composer_repository(&server.url),
        &options(None),
    );
    let report = set
        .fetch(&names(&["acme/widget", "acme/core", "other/thing"]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        version_strings(&report.versions["acme/widget"]),
        ["2.1.0", "2.0.1", "1.9.0"]
    );
    assert_eq!(
        version_strings(&report.versions["acme/core"]),
        ["v2.0.0", "1.0.0"]
    );
    assert!(report.versions["other/thing"].is_empty());
    // No dev-branch files by default, and no request for a name the repository does not list.
    assert_eq!(
        server.paths(),
        [
            "/p2/acme/core.json",
            "/p2/acme/widget.json",
            "/packages.json"
        ]
    );
}

#[test]
fn inline_packages_and_includes() {
    let server = RepositoryServer::start(Duration::ZERO, RequiredAuth::None);
    server.put_json(
        "/satis/packages.json",
        &json!({
            "packages": {
                "acme/widget": {
                    "1.0.0": {"name": "acme/widget", "version": "1.0.0", "dist": {"type": "zip", "url": "https://dl.test/w-1.0.0.zip", "shasum": "abc"}},
                    "1.1.0": {"name": "acme/widget", "version": "1.1.0"}
                }
            },
            "includes": {"include/all$0123.json": {"sha1": "0123"}}
        }),
    );
    server.put_json(
        "/satis/include/all%240123.json",
        &json!({"packages": {"acme/extra": {"3.0.0": {"name": "acme/extra", "version": "3.0.0"}}}}),
    );
    let project = temporary_directory();
    let url = format!("{}/satis", server.url);
    let set = repository_set(project.path(), &composer_repository(&url), &options(None));
    let report = set
        .fetch(&names(&["acme/widget", "acme/extra", "acme/none"]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        version_strings(&report.versions["acme/widget"]),
        ["1.0.0", "1.1.0"]
    );
    assert_eq!(version_strings(&report.versions["acme/extra"]), ["3.0.0"]);
    assert!(report.versions["acme/none"].is_empty());
    // The root and its include only: inline repositories need no per-package requests.
    assert_eq!(
        server.paths(),
        ["/satis/include/all%240123.json", "/satis/packages.json"]
    );
}

#[test]
fn protocol_1_providers_are_checked_against_their_hashes() {
    let server = RepositoryServer::start(Duration::ZERO, RequiredAuth::None);
    let widget = serde_json::to_vec(&json!({"packages": {
        "acme/widget": {
            "1.0.0": {"name": "acme/widget", "version": "1.0.0", "uid": 1},
            "1.2.0": {"name": "acme/widget", "version": "1.2.0", "uid": 2}
        },
        "acme/bundled": {"0.1.0": {"name": "acme/bundled", "version": "0.1.0", "uid": 3}}
    }}))
    .expect("JSON");
    let widget_hash = hex_sha256(&widget);
    let tampered = br#"{"packages": {"acme/tampered": {"1.0.0": {"name": "acme/tampered", "version": "1.0.0"}}}}"#;
    let listing = serde_json::to_vec(&json!({"providers": {
        "acme/widget": {"sha256": widget_hash},
        "acme/tampered": {"sha256": "0".repeat(64)}
    }}))
    .expect("JSON");
    let listing_hash = hex_sha256(&listing);
    server.put_json(
        "/packages.json",
        &json!({
            "packages": [],
            "providers-url": "/p/%package%$%hash%.json",
            "provider-includes": {"p/provider-active$%hash%.json": {"sha256": listing_hash}}
        }),
    );
    server.put(
        &format!("/p/provider-active%24{listing_hash}.json"),
        listing,
    );
    server.put(&format!("/p/acme/widget%24{widget_hash}.json"), widget);
    server.put(
        &format!("/p/acme/tampered%24{}.json", "0".repeat(64)),
        &tampered[..],
    );

    let project = temporary_directory();
    let set = repository_set(
        project.path(),
        &composer_repository(&server.url),
        &options(None),
    );
    let report = set
        .fetch(&names(&["acme/widget", "acme/tampered", "acme/unlisted"]))
        .unwrap_or_else(|error| panic!("{error}"));
    // Only the requested package of a provider file counts.
    assert_eq!(
        version_strings(&report.versions["acme/widget"]),
        ["1.0.0", "1.2.0"]
    );
    assert!(report.versions["acme/unlisted"].is_empty());
    assert!(report.versions["acme/tampered"].is_empty());
    assert_eq!(report.problems.len(), 1);
    let problem = &report.problems[0];
    assert_eq!(problem.package, "acme/tampered");
    assert!(
        matches!(&problem.error, RepositoryError::ChecksumMismatch { expected, .. } if *expected == "0".repeat(64)),
        "{problem}"
    );
    // An unlisted package costs no request.
    assert!(!server.paths().iter().any(|path| path.contains("unlisted")));

    let error = set
        .versions_of(&names(&["acme/widget", "acme/tampered"]))
        .expect_err("the strict call fails on the tampered package");
    assert!(
        error
            .to_string()
            .starts_with("acme/tampered: repository http://127.0.0.1:"),
        "{error}"
    );
}

#[test]
fn basic_authentication_from_auth_json() {
    let server = RepositoryServer::start(
        Duration::ZERO,
        // "ann:s3cret"
        RequiredAuth::Header("Basic YW5uOnMzY3JldA==".to_owned()),
    );
    packagist_like(&server);
    let project = temporary_directory();
    let repositories = composer_repository(&server.url);

    let without = repository_set(project.path(), &repositories, &options(None));
    let error = without
        .fetch(&names(&["acme/widget"]))
        .expect_err("the server wants credentials");
    let message = error.to_string();
    assert!(
        matches!(
            &error,
            RepositoryError::Fetch {
                source: FetchError::Unauthorized {
                    status: 401,
                    credentials_sent: false,
                    ..
                },
                ..
            }
        ),
        "{message}"
    );
    assert!(
        message.contains(&format!("{}/packages.json", server.url)),
        "{message}"
    );
    assert!(
        message.ends_with(&format!("HTTP 401: no credentials for `{}`", server.host())),
        "{message}"
    );
    assert_eq!(
        upkeep_hint::Hint::hint(&error),
        Some(format!(
            "add `http-basic` or `bearer` for `{}` to auth.json, or set COMPOSER_AUTH",
            server.host()
        ))
    );

    fs_err::write(
        project.path().join("auth.json"),
        json!({"http-basic": {server.host(): {"username": "ann", "password": "s3cret"}}})
            .to_string(),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let manifest = json!({"repositories": repositories});
    let auth = AuthConfig::load(project.path(), &manifest, None, None)
        .unwrap_or_else(|error| panic!("{error}"));
    let with = repository_set(
        project.path(),
        &repositories,
        &RepositoryOptions {
            auth: Some(auth),
            ..options(None)
        },
    );
    let versions = with
        .versions_of(&names(&["acme/widget"]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        version_strings(&versions["acme/widget"]),
        ["2.1.0", "2.0.1", "1.9.0"]
    );
    assert!(format!("{with:?}").find("s3cret").is_none());
}

#[test]
fn bearer_authentication_from_composer_auth_and_refused_credentials() {
    let server = RepositoryServer::start(
        Duration::ZERO,
        RequiredAuth::Header("Bearer t0ken".to_owned()),
    );
    packagist_like(&server);
    let project = temporary_directory();
    let repositories = composer_repository(&server.url);
    let manifest = json!({"repositories": repositories});
    let load = |variable: &str| {
        AuthConfig::load(project.path(), &manifest, None, Some(variable))
            .unwrap_or_else(|error| panic!("{error}"))
    };
    let set = repository_set(
        project.path(),
        &repositories,
        &RepositoryOptions {
            auth: Some(load(
                &json!({"bearer": {server.host(): "t0ken"}}).to_string(),
            )),
            ..options(None)
        },
    );
    let versions = set
        .versions_of(&names(&["acme/core"]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(version_strings(&versions["acme/core"]), ["v2.0.0", "1.0.0"]);
    assert!(
        server
            .requests()
            .iter()
            .all(|request| request.authorization.as_deref() == Some("Bearer t0ken"))
    );

    let wrong = repository_set(
        project.path(),
        &repositories,
        &RepositoryOptions {
            auth: Some(load(
                &json!({"bearer": {server.host(): "wrong"}}).to_string(),
            )),
            ..options(None)
        },
    );
    let error = wrong.fetch(&names(&["acme/core"])).expect_err("refused");
    assert!(
        error.to_string().ends_with(&format!(
            "the credentials for `{}` were refused",
            server.host()
        )),
        "{error}"
    );
    assert_eq!(
        upkeep_hint::Hint::hint(&error).as_deref(),
        Some("check them in auth.json or COMPOSER_AUTH")
    );
}

#[test]
fn cached_documents_are_revalidated_with_etags() {
    let server = RepositoryServer::start(Duration::ZERO, RequiredAuth::None);
    packagist_like(&server);
    let project = temporary_directory();
    let cache = temporary_directory();
    let repositories = composer_repository(&server.url);
    let wanted = names(&["acme/widget", "acme/core"]);

    let cold = repository_set(project.path(), &repositories, &options(Some(cache.path())));
    let first = cold
        .versions_of(&wanted)
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        cold.stats(),
        FetchStats {
            requests: 3,
            bytes_downloaded: cold.stats().bytes_downloaded,
            ..FetchStats::default()
        }
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|request| request.if_none_match.is_none())
    );
    server.clear_requests();

    // A new set (a new run) revalidates: three conditional requests, three 304s.
    let warm = repository_set(project.path(), &repositories, &options(Some(cache.path())));
    let second = warm
        .versions_of(&wanted)
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(first, second);
    let stats = warm.stats();
    // The two package files come from their parsed copies; packages.json is parsed as JSON.
    assert_eq!(
        (
            stats.requests,
            stats.not_modified,
            stats.bytes_downloaded,
            stats.parsed_copies_used
        ),
        (3, 3, 0, 2)
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|request| request.if_none_match.is_some())
    );
    server.clear_requests();

    // Fresh enough: no request at all.
    let fresh_options = RepositoryOptions {
        max_age: Duration::from_hours(1),
        ..options(Some(cache.path()))
    };
    let fresh = repository_set(project.path(), &repositories, &fresh_options);
    assert_eq!(
        fresh
            .versions_of(&wanted)
            .unwrap_or_else(|error| panic!("{error}")),
        first
    );
    assert_eq!(
        (
            fresh.stats().requests,
            fresh.stats().cache_hits,
            fresh.stats().parsed_copies_used
        ),
        (0, 3, 2)
    );
    assert!(server.requests().is_empty());

    // A changed document is downloaded again.
    server.put_json(
        "/p2/acme/core.json",
        &json!({"packages": {"acme/core": [{"name": "acme/core", "version": "2.1.0"}]}}),
    );
    let changed = repository_set(project.path(), &repositories, &options(Some(cache.path())));
    let third = changed
        .versions_of(&wanted)
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(version_strings(&third["acme/core"]), ["2.1.0"]);
    // The copy of the old body is not used for the new one; the widget's still is.
    assert_eq!(
        (
            changed.stats().requests,
            changed.stats().not_modified,
            changed.stats().parsed_copies_used
        ),
        (3, 2, 1)
    );
    let again = repository_set(project.path(), &repositories, &options(Some(cache.path())));
    let fourth = again
        .versions_of(&wanted)
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(fourth, third);
    assert_eq!(again.stats().parsed_copies_used, 2);
}

#[test]
fn offline_mode_uses_the_cache_and_reports_what_is_missing() {
    let server = RepositoryServer::start(Duration::ZERO, RequiredAuth::None);
    packagist_like(&server);
    let project = temporary_directory();
    let cache = temporary_directory();
    let repositories = composer_repository(&server.url);
    repository_set(project.path(), &repositories, &options(Some(cache.path())))
        .versions_of(&names(&["acme/widget"]))
        .unwrap_or_else(|error| panic!("{error}"));
    server.clear_requests();

    let offline_options = RepositoryOptions {
        offline: true,
        ..options(Some(cache.path()))
    };
    let offline = repository_set(project.path(), &repositories, &offline_options);
    let report = offline
        .fetch(&names(&["acme/widget", "acme/core"]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        version_strings(&report.versions["acme/widget"]),
        ["2.1.0", "2.0.1", "1.9.0"]
    );
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].package, "acme/core");
    assert!(
        matches!(
            &report.problems[0].error,
            RepositoryError::Fetch {
                source: FetchError::NotCached,
                ..
            }
        ),
        "{}",
        report.problems[0]
    );
    assert!(server.requests().is_empty());

    // Without a cached packages.json the repository itself is unusable offline.
    let empty_cache = temporary_directory();
    let error = repository_set(
        project.path(),
        &repositories,
        &RepositoryOptions {
            offline: true,
            ..options(Some(empty_cache.path()))
        },
    )
    .fetch(&names(&["acme/widget"]))
    .expect_err("nothing cached");
    assert!(
        error
            .to_string()
            .ends_with("not in the metadata cache, and offline mode allows no requests"),
        "{error}"
    );
}

#[test]
fn corrupt_cache_entries_are_fetched_again() {
    let warm = WarmCache::new();
    // An entry whose header is garbage is not an entry: a plain request follows.
    fs_err::write(warm.entry("/p2/acme/widget.json"), b"garbage")
        .unwrap_or_else(|error| panic!("{error}"));
    // An entry whose body is not JSON any more (same length, so the header still fits), and
    // whose parsed copy is gone, so that the body is read.
    let core_entry = warm.entry("/p2/acme/core.json");
    let mut data = fs_err::read(&core_entry).unwrap_or_else(|error| panic!("{error}"));
    let last = data.len() - 1;
    data[last] = b'!';
    fs_err::write(&core_entry, data).unwrap_or_else(|error| panic!("{error}"));
    fs_err::remove_file(core_entry.with_extension("parsed"))
        .unwrap_or_else(|error| panic!("{error}"));
    warm.server.clear_requests();

    let set = warm.set(&warm.options());
    assert_eq!(warm.versions(&set), warm.expected);
    let conditional: Vec<(String, bool)> = {
        let mut requests: Vec<(String, bool)> = warm
            .server
            .requests()
            .into_iter()
            .map(|request| (request.path, request.if_none_match.is_some()))
            .collect();
        requests.sort();
        requests
    };
    assert_eq!(
        conditional,
        [
            // The corrupt body came with a 304, was found broken, dropped and fetched again.
            ("/p2/acme/core.json".to_owned(), false),
            ("/p2/acme/core.json".to_owned(), true),
            ("/p2/acme/widget.json".to_owned(), false),
            ("/packages.json".to_owned(), true),
        ]
    );
    // The widget's body came again unchanged (the same digest), so its parsed copy still served.
    assert_eq!(set.stats().parsed_copies_used, 1);
}

#[test]
fn damaged_parsed_copies_are_ignored_and_rewritten() {
    let warm = WarmCache::new();
    let copy = |path: &str| warm.entry(path).with_extension("parsed");
    let widget_copy = copy("/p2/acme/widget.json");
    let mut data = fs_err::read(&widget_copy).unwrap_or_else(|error| panic!("{error}"));
    data.truncate(data.len() / 2);
    fs_err::write(&widget_copy, &data).unwrap_or_else(|error| panic!("{error}"));
    fs_err::write(copy("/p2/acme/core.json"), b"garbage").unwrap_or_else(|error| panic!("{error}"));

    let damaged = warm.set(&warm.offline_options());
    assert_eq!(warm.versions(&damaged), warm.expected);
    assert_eq!(damaged.stats().parsed_copies_used, 0);
    // Parsing the bodies again wrote whole copies.
    let repaired = warm.set(&warm.offline_options());
    assert_eq!(warm.versions(&repaired), warm.expected);
    assert_eq!(repaired.stats().parsed_copies_used, 2);
}

#[test]
fn entries_without_a_digest_get_parsed_copies_too() {
    let warm = WarmCache::new();
    // Entries as older versions wrote them: no digest in the header, and no parsed copies.
    for entry in
        fs_err::read_dir(warm.cache.path().join("http")).unwrap_or_else(|error| panic!("{error}"))
    {
        let path = entry.unwrap_or_else(|error| panic!("{error}")).path();
        if path
            .extension()
            .is_some_and(|extension| extension == "parsed")
        {
            fs_err::remove_file(&path).unwrap_or_else(|error| panic!("{error}"));
            continue;
        }
        let data = fs_err::read(&path).unwrap_or_else(|error| panic!("{error}"));
        let newline = data
            .iter()
            .position(|byte| *byte == b'\n')
            .expect("a header line");
        let mut header: Value =
            serde_json::from_slice(&data[..newline]).unwrap_or_else(|error| panic!("{error}"));
        assert!(
            header
                .as_object_mut()
                .and_then(|header| header.remove("sha256"))
                .is_some()
        );
        let mut rewritten = header.to_string().into_bytes();
        rewritten.extend_from_slice(&data[newline..]);
        fs_err::write(&path, rewritten).unwrap_or_else(|error| panic!("{error}"));
    }
    for copies_used in [0, 2] {
        let set = warm.set(&warm.offline_options());
        assert_eq!(warm.versions(&set), warm.expected);
        assert_eq!(set.stats().parsed_copies_used, copies_used);
    }
}

#[test]
fn requests_run_concurrently_within_the_limit() {
    let server = RepositoryServer::start(Duration::from_millis(40), RequiredAuth::None);
    server.put_json(
        "/packages.json",
        &json!({"metadata-url": "/p2/%package%.json"}),
    );
    let wanted: Vec<String> = (0..32)
        .map(|index| format!("acme/package-{index}"))
        .collect();
    for name in &wanted {
        server.put_json(
            &format!("/p2/{name}.json"),
            &json!({"packages": {name.as_str(): [{"name": name, "version": "1.0.0"}]}}),
        );
    }
    let project = temporary_directory();
    let set = repository_set(
        project.path(),
        &composer_repository(&server.url),
        &RepositoryOptions {
            concurrency: 8,
            ..options(None)
        },
    );
    let started = Instant::now();
    let versions = set
        .versions_of(&wanted)
        .unwrap_or_else(|error| panic!("{error}"));
    let elapsed = started.elapsed();
    assert_eq!(versions.len(), 32);
    assert!(
        versions
            .values()
            .all(|versions| version_strings(versions) == ["1.0.0"])
    );
    let max_in_flight = server.state.max_in_flight.load(Ordering::SeqCst);
    assert!(
        (4..=8).contains(&max_in_flight),
        "max in flight {max_in_flight}"
    );
    // 33 requests of 40 ms one after the other would take 1.3 s.
    assert!(elapsed < Duration::from_millis(900), "took {elapsed:?}");
}

#[test]
fn one_failing_package_does_not_stop_the_others() {
    let server = RepositoryServer::start(Duration::ZERO, RequiredAuth::None);
    packagist_like(&server);
    server.put_status("/p2/acme/broken.json", 500, "oops");
    server.put("/p2/acme/garbled.json", "{not json");
    let project = temporary_directory();
    let set = repository_set(
        project.path(),
        &composer_repository(&server.url),
        &options(None),
    );
    let report = set
        .fetch(&names(&["acme/broken", "acme/widget", "acme/garbled"]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(report.versions["acme/widget"].len(), 3);
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            format!(
                "acme/broken: repository {0}: cannot fetch {0}/p2/acme/broken.json: HTTP 500",
                server.url
            ),
            format!(
                "acme/garbled: repository {0}: {0}/p2/acme/garbled.json is not valid JSON: key must be a string at line 1 column 2",
                server.url
            ),
        ]
    );
}

#[test]
fn an_unreachable_repository_is_an_error() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let project = temporary_directory();
    let set = repository_set(project.path(), &composer_repository(&url), &options(None));
    // Platform packages live in no repository: asking only for them needs no repository.
    let platform = set
        .fetch(&names(&["php", "ext-json"]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(platform.versions.values().all(Vec::is_empty));
    assert_eq!(set.stats().requests, 0);
    let error = set
        .fetch(&names(&["acme/widget"]))
        .expect_err("nothing listens");
    assert!(
        error.to_string().starts_with(&format!(
            "repository {url}: cannot fetch {url}/packages.json: "
        )),
        "{error}"
    );
}

#[test]
fn file_repositories_with_inline_packages_and_metadata_files() {
    let directory = temporary_directory();
    let root = directory.path();
    fs_err::create_dir_all(root.join("inline")).unwrap_or_else(|error| panic!("{error}"));
    fs_err::write(
        root.join("inline/packages.json"),
        json!({"packages": {"acme/local": {"1.0.0": {"name": "acme/local", "version": "1.0.0"}}}})
            .to_string(),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    fs_err::create_dir_all(root.join("v2/p2/acme")).unwrap_or_else(|error| panic!("{error}"));
    fs_err::write(
        root.join("v2/packages.json"),
        json!({"metadata-url": "p2/%package%.json"}).to_string(),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    fs_err::write(
        root.join("v2/p2/acme/remote.json"),
        json!({"minified": "composer/2.0", "packages": {"acme/remote": [
            {"name": "acme/remote", "version": "2.0.0", "require": {"php": ">=8.2"}},
            {"version": "1.0.0"}
        ]}})
        .to_string(),
    )
    .unwrap_or_else(|error| panic!("{error}"));

    let repositories = json!([
        {"type": "composer", "url": format!("file://{}/inline", root.display())},
        {"type": "composer", "url": format!("file://{}/v2/", root.display())},
        {"type": "vcs", "url": "https://github.com/acme/fork"},
        {"packagist.org": false}
    ]);
    let set = repository_set(root, &repositories, &options(Some(&root.join("cache"))));
    let report = set
        .fetch(&names(&["acme/local", "acme/remote", "acme/absent"]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(version_strings(&report.versions["acme/local"]), ["1.0.0"]);
    let remote = &report.versions["acme/remote"];
    assert_eq!(version_strings(remote), ["2.0.0", "1.0.0"]);
    assert_eq!(remote[1].require.get("php"), Some(">=8.2"));
    assert!(report.versions["acme/absent"].is_empty());
    assert_eq!(report.warnings.len(), 1);
    assert!(
        report.warnings[0].contains("`vcs` repositories"),
        "{}",
        report.warnings[0]
    );
    let stats = set.stats();
    assert_eq!((stats.requests, stats.file_reads), (0, 4));
    // Local files are not copied into the cache.
    assert!(!root.join("cache").exists());
}

#[test]
fn path_repositories_with_a_glob() {
    let project = temporary_directory();
    let root = project.path();
    for (directory, manifest) in [
        (
            "packages/cart",
            json!({"name": "acme/cart", "version": "1.4.2"}),
        ),
        ("packages/checkout", json!({"name": "acme/checkout"})),
        (
            "modules/legacy",
            json!({"name": "acme/legacy", "version": "0.1.0"}),
        ),
    ] {
        fs_err::create_dir_all(root.join(directory)).unwrap_or_else(|error| panic!("{error}"));
        fs_err::write(
            root.join(directory).join("composer.json"),
            manifest.to_string(),
        )
        .unwrap_or_else(|error| panic!("{error}"));
    }
    let repositories = json!([
        {"type": "path", "url": "packages/*", "options": {"versions": {"acme/checkout": "2.3.x-dev"}}},
        {"type": "path", "url": "modules/{legacy,other}"},
        {"packagist.org": false}
    ]);
    let set = repository_set(root, &repositories, &options(None));
    let versions = set
        .versions_of(&names(&["acme/cart", "acme/checkout", "acme/legacy"]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(version_strings(&versions["acme/cart"]), ["1.4.2"]);
    assert_eq!(versions["acme/checkout"][0].version.pretty(), "2.3.x-dev");
    assert_eq!(
        versions["acme/checkout"][0].version.normalized(),
        "2.3.9999999.9999999-dev"
    );
    assert_eq!(version_strings(&versions["acme/legacy"]), ["0.1.0"]);
    assert_eq!(
        set.descriptions(),
        [
            "path repository packages/*",
            "path repository modules/{legacy,other}"
        ]
    );
}

/// Prints cold and warm timings for 600 packages; run with `--ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn measure_600_packages_on_loopback() {
    let server = RepositoryServer::start(Duration::ZERO, RequiredAuth::None);
    server.put_json(
        "/packages.json",
        &json!({"metadata-url": "/p2/%package%.json"}),
    );
    let wanted: Vec<String> = (0..600)
        .map(|index| format!("vendor{}/package-{index}", index % 40))
        .collect();
    for name in &wanted {
        let versions: Vec<Value> = (0..30)
            .map(|index| {
                let mut entry = json!({"version": format!("1.{}.{}", index / 5, index % 5)});
                if index == 0 {
                    entry = json!({
                        "name": name, "version": "1.0.0", "type": "library",
                        "require": {"php": ">=8.1", "psr/log": "^3.0"},
                        "source": {"type": "git", "url": format!("https://github.com/{name}.git"), "reference": "0123456789abcdef0123456789abcdef01234567"},
                        "dist": {"type": "zip", "url": format!("https://api.github.com/repos/{name}/zipball/0123"), "reference": "0123", "shasum": ""},
                        "time": "2024-01-01T00:00:00+00:00"
                    });
                }
                entry
            })
            .collect();
        server.put_json(
            &format!("/p2/{name}.json"),
            &json!({"minified": "composer/2.0", "packages": {name.as_str(): versions}}),
        );
    }
    let project = temporary_directory();
    let cache = temporary_directory();
    let repositories = composer_repository(&server.url);
    let run = |label: &str, options: RepositoryOptions| {
        let started = Instant::now();
        let set = repository_set(project.path(), &repositories, &options);
        let versions = set
            .versions_of(&wanted)
            .unwrap_or_else(|error| panic!("{error}"));
        let elapsed = started.elapsed();
        assert_eq!(versions.len(), 600);
        println!("{label}: {elapsed:?} {:?}", set.stats());
    };
    run("cold", options(Some(cache.path())));
    run("warm, revalidated (304)", options(Some(cache.path())));
    run(
        "warm, max-age",
        RepositoryOptions {
            max_age: Duration::from_hours(1),
            ..options(Some(cache.path()))
        },
    );
    run(
        "warm, offline",
        RepositoryOptions {
            offline: true,
            ..options(Some(cache.path()))
        },
    );
}

/// `parts` as one gzip stream of concatenated members, each part compressed `times` times
/// over: a small body that decodes to `times` copies, as a gzip bomb is made.
fn gzip_members(parts: &[(&[u8], usize)]) -> Vec<u8> {
    use flate2::Compression;
    use flate2::write::GzEncoder;
    let mut body = Vec::new();
    for (part, times) in parts {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(part).expect("compress");
        let member = encoder.finish().expect("compress");
        for _ in 0..*times {
            body.extend_from_slice(&member);
        }
    }
    body
}

/// Sum of the sizes of the files under `dir`.
fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                bytes_under(&path)
            } else {
                entry.metadata().map_or(0, |metadata| metadata.len())
            }
        })
        .sum()
}

#[test]
fn a_gzip_bomb_is_refused_by_its_decoded_size_and_not_cached() {
    assert_eq!(
        RepositoryOptions::default().max_body_bytes,
        64 * 1024 * 1024
    );
    let server = RepositoryServer::start(Duration::ZERO, RequiredAuth::None);
    packagist_like(&server);
    // 1 MB on the wire, 1 GiB decoded: the reproducer's response.
    let mebibyte = vec![b'a'; 1024 * 1024];
    let bomb = gzip_members(&[
        (b"{\"packages\": {}, \"x\": \"", 1),
        (&mebibyte, 1024),
        (b"\"}", 1),
    ]);
    assert!(bomb.len() < 2 * 1024 * 1024, "{}", bomb.len());
    server.put_with_headers(
        "/p2/acme/bomb.json",
        200,
        &[("Content-Encoding", "gzip")],
        bomb,
    );
    let cache = temporary_directory();
    let set = repository_set(
        temporary_directory().path(),
        &composer_repository(&server.url),
        &options(Some(cache.path())),
    );
    let started = Instant::now();
    let report = set
        .fetch(&names(&["acme/bomb", "acme/widget"]))
        .unwrap_or_else(|error| panic!("{error}"));
    let elapsed = started.elapsed();
    assert_eq!(report.versions["acme/widget"].len(), 3);
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [format!(
            "acme/bomb: repository {0}: cannot fetch {0}/p2/acme/bomb.json: the response is larger than 64 MiB",
            server.url
        )]
    );
    let hint = upkeep_hint::Hint::hint(&report.problems[0]);
    assert!(
        hint.as_deref()
            .is_some_and(|hint| hint.starts_with("Composer metadata files are a few MB")),
        "{hint:?}"
    );
    // Reading stops at the limit: nothing near a gigabyte is decoded or written.
    let cached = bytes_under(cache.path());
    assert!(cached < 1024 * 1024, "{cached} bytes cached");
    eprintln!("gzip bomb refused after {elapsed:?}; {cached} bytes in the cache");
}

#[test]
fn a_plain_body_over_the_limit_is_refused_and_not_cached() {
    let server = RepositoryServer::start(Duration::ZERO, RequiredAuth::None);
    packagist_like(&server);
    let mut huge = b"{\"packages\": {}, \"x\": \"".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 2 * 1024 * 1024));
    huge.extend_from_slice(b"\"}");
    server.put("/p2/acme/huge.json", huge);
    let cache = temporary_directory();
    let limited = RepositoryOptions {
        max_body_bytes: 1024 * 1024,
        ..options(Some(cache.path()))
    };
    let project = temporary_directory();
    let set = repository_set(project.path(), &composer_repository(&server.url), &limited);
    let report = set
        .fetch(&names(&["acme/huge", "acme/widget"]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(report.versions["acme/widget"].len(), 3);
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [format!(
            "acme/huge: repository {0}: cannot fetch {0}/p2/acme/huge.json: the response is larger than 1 MiB",
            server.url
        )]
    );
    let cached = bytes_under(cache.path());
    assert!(cached < 1024 * 1024, "{cached} bytes cached");
    // Offline, the next run has nothing cached for it.
    let offline = repository_set(
        project.path(),
        &composer_repository(&server.url),
        &RepositoryOptions {
            offline: true,
            ..limited
        },
    );
    let report = offline
        .fetch(&names(&["acme/huge"]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(
        matches!(
            &report.problems[0].error,
            RepositoryError::Fetch {
                source: FetchError::NotCached,
                ..
            }
        ),
        "{:?}",
        report.problems
    );
}

#[test]
fn redirects_are_followed_only_to_http_urls() {
    let server = RepositoryServer::start(Duration::ZERO, RequiredAuth::None);
    packagist_like(&server);
    // A repository on disk that a `file://` redirect would reach.
    let local = temporary_directory();
    std::fs::write(
        local.path().join("packages.json"),
        json!({"packages": {"acme/local": {"1.0.0": {"name": "acme/local", "version": "1.0.0"}}}})
            .to_string(),
    )
    .expect("write");
    let to_file = format!("file://{}/packages.json", local.path().display());
    server.put_with_headers("/to-file/packages.json", 302, &[("Location", &to_file)], "");
    server.put_with_headers(
        "/relative/packages.json",
        301,
        &[("Location", "../packages.json")],
        "",
    );
    let project = temporary_directory();

    let set = repository_set(
        project.path(),
        &composer_repository(&format!("{}/to-file", server.url)),
        &options(None),
    );
    let error = set
        .fetch(&names(&["acme/local"]))
        .expect_err("a file:// redirect is refused");
    assert_eq!(
        error.to_string(),
        format!(
            "repository {0}/to-file: cannot fetch {0}/to-file/packages.json: redirected to `{to_file}`, which is not an http(s) URL",
            server.url
        )
    );
    assert!(
        upkeep_hint::Hint::hint(&error).is_some_and(|hint| hint.contains("only to http(s) URLs")),
        "{error:?}"
    );

    // A relative redirect on the same server is followed.
    let set = repository_set(
        project.path(),
        &composer_repository(&format!("{}/relative", server.url)),
        &options(None),
    );
    let report = set
        .fetch(&names(&["acme/widget"]))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(report.versions["acme/widget"].len(), 3);
    assert!(
        server
            .paths()
            .contains(&"/relative/packages.json".to_owned())
    );
}
