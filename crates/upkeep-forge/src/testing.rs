//! Loopback test doubles of the GitHub and GitLab REST APIs (feature `test-servers`): each
//! serves exactly the endpoints the clients of this crate call, on `127.0.0.1:<free port>`, with
//! in-memory pull/merge requests, the real APIs' status codes and error shapes for the mistakes
//! a client can make (wrong token, missing or mistyped fields, a second open request for the
//! same branches), and a record of every request for assertions. The server stops on drop.
//!
//! ```
//! use upkeep_forge::forge::{Forge, NewPullRequest, Token};
//! use upkeep_forge::github::GitHub;
//! use upkeep_forge::testing::FakeGitHub;
//!
//! let fake = FakeGitHub::start();
//! let github = GitHub::new(&fake.base_url(), "acme/shop", Token::new(fake.token())).unwrap();
//! let pull = github
//!     .create_request(&NewPullRequest {
//!         title: "Upgrade".into(),
//!         body: "...".into(),
//!         head: "topic".into(),
//!         base: "main".into(),
//!         draft: false,
//!     })
//!     .unwrap();
//! assert_eq!(pull.number, 1);
//! assert_eq!(fake.requests()[0].path, "/repos/acme/shop/pulls");
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use serde_json::{Value, json};

use crate::forge::percent_encode;

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// The path as sent, still percent-encoded (`/api/v4/projects/group%2Fproject/...`).
    pub path: String,
    /// Decoded query parameters in order.
    pub query: Vec<(String, String)>,
    /// The headers tests care about, names in lower case: `authorization`, `private-token`,
    /// `accept`, `content-type`, `user-agent`, `x-github-api-version`.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON; `None` when empty or not JSON (see `raw_body`).
    pub body: Option<Value>,
    pub raw_body: String,
}

impl RecordedRequest {
    /// A recorded header by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The first value of query parameter `key`.
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

const RECORDED_HEADERS: [&str; 6] = [
    "authorization",
    "private-token",
    "accept",
    "content-type",
    "user-agent",
    "x-github-api-version",
];

/// A parsed incoming request.
struct Incoming {
    method: String,
    segments: Vec<String>,
    headers: Vec<(String, String)>,
    raw_body: String,
    recorded: RecordedRequest,
}

impl Incoming {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn query_value(&self, key: &str) -> Option<&str> {
        self.recorded.query_value(key)
    }

    /// The JSON object body, or the reply the API gives for a body it cannot read.
    fn json_object(
        &self,
        unreadable: impl Fn() -> Reply,
    ) -> Result<serde_json::Map<String, Value>, Reply> {
        if self.raw_body.trim().is_empty() {
            return Ok(serde_json::Map::new());
        }
        match serde_json::from_str(&self.raw_body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(unreadable()),
        }
    }
}

struct Reply {
    status: u16,
    body: Value,
    /// What few answers have besides (boxed: most replies go through `Result`s).
    extra: Option<Box<ReplyExtra>>,
}

struct ReplyExtra {
    /// Sent instead of `body` as JSON (GitHub's form-encoded token answer, with its
    /// `Content-Type` in `headers`).
    raw: Option<String>,
    /// Headers besides `Content-Type: application/json`, which one named here replaces.
    headers: Vec<(&'static str, String)>,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        body,
        extra: None,
    }
}

/// A `302 Found` to `location`, as an authorize page answers once the person decided.
fn redirect(location: String) -> Reply {
    Reply {
        extra: Some(Box::new(ReplyExtra {
            raw: None,
            headers: vec![("Location", location)],
        })),
        ..reply(302, Value::Null)
    }
}

/// A canned answer for the next request with a given method.
struct Failure {
    method: String,
    reply: Reply,
}

/// The `tiny_http` server and its thread; dropping it unblocks the thread and waits for it.
struct Loopback {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    port: u16,
}

impl Loopback {
    fn start(handler: impl Fn(Incoming) -> Reply + Send + 'static) -> Loopback {
        let server = Arc::new(
            tiny_http::Server::http("127.0.0.1:0")
                .expect("bind a loopback port for the fake forge"),
        );
        let port = server
            .server_addr()
            .to_ip()
            .map(|addr| addr.port())
            .expect("the fake forge listens on an IP address");
        let serving = Arc::clone(&server);
        let thread = std::thread::spawn(move || {
            for mut request in serving.incoming_requests() {
                let incoming = parse(&mut request);
                let Reply {
                    status,
                    body,
                    extra,
                } = handler(incoming);
                let (raw, mut headers) =
                    extra.map_or((None, Vec::new()), |extra| (extra.raw, extra.headers));
                let text = match raw {
                    Some(raw) => raw,
                    None if matches!(status, 204 | 302) => String::new(),
                    None => body.to_string(),
                };
                if !headers.iter().any(|(name, _)| *name == "Content-Type") {
                    headers.push(("Content-Type", "application/json".to_string()));
                }
                let mut response = tiny_http::Response::from_string(text).with_status_code(status);
                for (name, value) in headers {
                    if let Ok(header) = tiny_http::Header::from_bytes(name, value) {
                        response = response.with_header(header);
                    }
                }
                // A client that hung up is the test's business, not the server's.
                let _ = request.respond(response);
            }
        });
        Loopback {
            server,
            thread: Some(thread),
            port,
        }
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn parse(request: &mut tiny_http::Request) -> Incoming {
    let method = request.method().as_str().to_ascii_uppercase();
    let url = request.url().to_string();
    let (path, query_text) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let query: Vec<(String, String)> = query_text
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key, true), percent_decode(value, true))
        })
        .collect();
    let segments = path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| percent_decode(segment, false))
        .collect();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|header| {
            (
                header.field.as_str().as_str().to_ascii_lowercase(),
                header.value.as_str().to_string(),
            )
        })
        .collect();
    let mut bytes = Vec::new();
    let _ = request.as_reader().read_to_end(&mut bytes);
    let raw_body = String::from_utf8_lossy(&bytes).into_owned();
    let recorded = RecordedRequest {
        method: method.clone(),
        path: path.to_string(),
        query: query.clone(),
        headers: headers
            .iter()
            .filter(|(name, _)| RECORDED_HEADERS.contains(&name.as_str()))
            .cloned()
            .collect(),
        body: serde_json::from_str(&raw_body).ok(),
        raw_body: raw_body.clone(),
    };
    Incoming {
        method,
        segments,
        headers,
        raw_body,
        recorded,
    }
}

fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok();
                if let Some(byte) = hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    out.push(byte);
                    index += 3;
                } else {
                    out.push(b'%');
                    index += 1;
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A webhook registered with one of the fakes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeWebhook {
    /// `owner/repo` or the project's full path.
    pub repository: String,
    pub id: u64,
    pub url: String,
    /// GitHub's `config.secret`, GitLab's `token`.
    pub secret: String,
    /// GitHub's `events`; GitLab's `push_events` as `["push"]`.
    pub events: Vec<String>,
}

/// Posts a push event to every hook of `repository` that wants pushes, as the forge would;
/// returns each answer's status. `headers` makes the provider's headers for one hook.
fn deliver_to_hooks(
    hooks: &[FakeWebhook],
    repository: &str,
    body: &str,
    headers: impl Fn(&FakeWebhook) -> Vec<(&'static str, String)>,
) -> Vec<u16> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    hooks
        .iter()
        .filter(|hook| hook.repository == repository && hook.events.iter().any(|e| e == "push"))
        .map(|hook| {
            let mut request = agent
                .post(&hook.url)
                .header("Content-Type", "application/json");
            for (name, value) in headers(hook) {
                request = request.header(name, value);
            }
            request
                .send(body)
                .map_or(0, |response| response.status().as_u16())
        })
        .collect()
}

/// Delivery ids of the fakes: unique within a test process.
fn next_delivery_id(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether `branch` exists in the bare repository `git_dir` (the branch checks of the fakes).
fn branch_in(git_dir: &Path, branch: &str) -> bool {
    Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("refs/heads/{branch}^{{commit}}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

// ---------------------------------------------------------------------------------------------
// git over HTTP

/// A git server over HTTP on loopback for tests of credentials: `git http-backend` (git's own
/// smart-HTTP server, run as a CGI program) serves the bare repositories under a directory,
/// fetch and push, to requests with the right basic-auth user name and password only; any
/// other request gets `401` with a `WWW-Authenticate` challenge, as a real host answers. The
/// server stops on drop.
pub struct GitHttpServer {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    port: u16,
    refused: Arc<Mutex<Vec<String>>>,
}

impl GitHttpServer {
    /// Serves the bare repositories under `root` (`<root>/shop.git` at `/shop.git`) to
    /// `username`/`password`.
    pub fn start(root: &Path, username: &str, password: &str) -> GitHttpServer {
        let password = password.to_string();
        Self::start_accepting(root, username, move |given| given == password)
    }

    /// Serves to `username` with any password `accepts` takes now: the tokens a forge double
    /// issues over time (`FakeGitHub::token_check`), as git over https on a forge takes the
    /// tokens its API takes.
    pub fn start_accepting(
        root: &Path,
        username: &str,
        accepts: impl Fn(&str) -> bool + Send + 'static,
    ) -> GitHttpServer {
        let server =
            Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind a loopback port for git"));
        let port = server
            .server_addr()
            .to_ip()
            .map(|addr| addr.port())
            .expect("the git server listens on an IP address");
        let refused = Arc::new(Mutex::new(Vec::new()));
        let serving = Arc::clone(&server);
        let refusals = Arc::clone(&refused);
        let root = root.to_path_buf();
        let user = username.to_string();
        let thread = std::thread::spawn(move || {
            for mut request in serving.incoming_requests() {
                let authorized = request.headers().iter().any(|header| {
                    header.field.equiv("Authorization")
                        && basic_credentials(header.value.as_str())
                            .is_some_and(|(name, password)| name == user && accepts(&password))
                });
                if !authorized {
                    lock(&refusals).push(request.url().to_string());
                    let response = tiny_http::Response::from_string("authentication required")
                        .with_status_code(401)
                        .with_header(
                            tiny_http::Header::from_bytes(
                                "WWW-Authenticate",
                                "Basic realm=\"upkeep test git\"",
                            )
                            .expect("a valid static header"),
                        );
                    let _ = request.respond(response);
                    continue;
                }
                let response = http_backend(&root, &user, &mut request);
                let _ = request.respond(response);
            }
        });
        GitHttpServer {
            server,
            thread: Some(thread),
            port,
            refused,
        }
    }

    /// The URL of repository `name` (`shop.git`), without credentials.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    /// The paths of the requests refused for missing or wrong credentials, in order.
    pub fn refused(&self) -> Vec<String> {
        lock(&self.refused).clone()
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One request through `git http-backend`, as a CGI program: the request in environment
/// variables and on standard input, the answer's headers and body on standard output.
fn http_backend(
    root: &Path,
    user: &str,
    request: &mut tiny_http::Request,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let url = request.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let header = |name: &str| {
        request
            .headers()
            .iter()
            .find(|header| header.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|header| header.value.as_str().to_string())
    };
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", percent_decode(path, false))
        .env("QUERY_STRING", query)
        .env("REQUEST_METHOD", request.method().as_str())
        .env("REMOTE_USER", user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_TYPE", header("Content-Type").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (name, variable) in [
        ("Content-Encoding", "HTTP_CONTENT_ENCODING"),
        ("Git-Protocol", "GIT_PROTOCOL"),
    ] {
        if let Some(value) = header(name) {
            command.env(variable, value);
        }
    }
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    let failed = |message: &str| {
        tiny_http::Response::from_data(message.as_bytes().to_vec()).with_status_code(500)
    };
    let Ok(mut child) = command.spawn() else {
        return failed("cannot run git http-backend");
    };
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write as _;
        let _ = stdin.write_all(&body);
    }
    let Ok(output) = child.wait_with_output() else {
        return failed("git http-backend failed");
    };
    let out = output.stdout;
    let split = out
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| (at, 4))
        .or_else(|| {
            out.windows(2)
                .position(|window| window == b"\n\n")
                .map(|at| (at, 2))
        });
    let Some((end, separator)) = split else {
        return failed("git http-backend answered without headers");
    };
    let head = String::from_utf8_lossy(&out[..end]).into_owned();
    let mut response = tiny_http::Response::from_data(out[end + separator..].to_vec());
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("Status") {
            let code = value
                .split_whitespace()
                .next()
                .and_then(|code| code.parse().ok());
            response = response.with_status_code(code.unwrap_or(500));
        } else if let Ok(header) = tiny_http::Header::from_bytes(name.trim(), value) {
            response = response.with_header(header);
        }
    }
    response
}

/// The user name and password of a basic-auth header (`Basic base64(user:password)`).
fn basic_credentials(header: &str) -> Option<(String, String)> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let encoded = header.strip_prefix("Basic ")?.trim().trim_end_matches('=');
    let mut bytes = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for character in encoded.bytes() {
        let value = ALPHABET.iter().position(|known| *known == character)?;
        buffer = buffer << 6 | u32::try_from(value).ok()?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push(u8::try_from(buffer >> bits & 0xFF).ok()?);
        }
    }
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

// ---------------------------------------------------------------------------------------------
// OAuth

/// An access token the authorization server of a double issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeOAuthToken {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Whether the API takes it now: not expired, not replaced by a refresh, not revoked.
    pub live: bool,
}

struct OAuthClient {
    id: String,
    secret: String,
    redirect_uri: String,
}

struct IssuedCode {
    code: String,
    redirect_uri: String,
    used: bool,
}

struct IssuedToken {
    access_token: String,
    refresh_token: Option<String>,
    expires: Option<Instant>,
    revoked: bool,
}

impl IssuedToken {
    fn live(&self, now: Instant) -> bool {
        !self.revoked && self.expires.is_none_or(|expires| now < expires)
    }
}

#[derive(Default)]
struct OAuthServer {
    client: Option<OAuthClient>,
    deny_next: bool,
    expires_in: Option<u64>,
    codes: Vec<IssuedCode>,
    tokens: Vec<IssuedToken>,
}

impl OAuthServer {
    fn accepts(&self, token: &str) -> bool {
        let now = Instant::now();
        self.tokens
            .iter()
            .any(|issued| issued.access_token == token && issued.live(now))
    }
}

/// The authorization server of [`FakeGitHub`] or [`FakeGitLab`] (`fake.oauth()`): one OAuth
/// app, registered with [`FakeOAuth::enable`], whose authorize page approves at once (as a
/// person who clicks "Authorize" would) and redirects to the app's callback with a code; the
/// token endpoint checks the client id, secret, callback and code (each code works once) and
/// issues tokens the fake's API (and [`GitHttpServer::start_accepting`] with the fake's
/// `token_check`) then accepts.
#[derive(Clone, Default)]
pub struct FakeOAuth {
    server: Arc<Mutex<OAuthServer>>,
}

impl FakeOAuth {
    /// Registers the OAuth app: its client id and secret and its one callback URL.
    pub fn enable(&self, client_id: &str, client_secret: &str, redirect_uri: &str) {
        lock(&self.server).client = Some(OAuthClient {
            id: client_id.to_string(),
            secret: client_secret.to_string(),
            redirect_uri: redirect_uri.to_string(),
        });
    }

    /// The person at the next authorize page clicks "Cancel": the callback gets
    /// `error=access_denied`.
    pub fn deny_next(&self) {
        lock(&self.server).deny_next = true;
    }

    /// Tokens issued from now on expire after `seconds` and come with a refresh token
    /// (GitLab's way: two hours). Without it they never expire (GitHub OAuth apps).
    pub fn set_expires_in(&self, seconds: u64) {
        lock(&self.server).expires_in = Some(seconds);
    }

    /// Revokes every token issued so far, access and refresh (the person revoked the app).
    pub fn revoke_all(&self) {
        for token in &mut lock(&self.server).tokens {
            token.revoked = true;
        }
    }

    /// The tokens issued, in order.
    pub fn tokens(&self) -> Vec<FakeOAuthToken> {
        let now = Instant::now();
        lock(&self.server)
            .tokens
            .iter()
            .map(|issued| FakeOAuthToken {
                access_token: issued.access_token.clone(),
                refresh_token: issued.refresh_token.clone(),
                live: issued.live(now),
            })
            .collect()
    }
}

/// A check of the tokens a fake's API takes now: `token`, or a live one `oauth` issued.
fn token_check(token: &str, oauth: &FakeOAuth) -> impl Fn(&str) -> bool + Send + 'static {
    let token = token.to_string();
    let server = Arc::clone(&oauth.server);
    move |presented| presented == token || lock(&server).accepts(presented)
}

/// Follows an OAuth authorize URL as the person's browser would, up to the provider's
/// redirect back to the app: returns the `Location` of that redirect (the callback with its
/// `code` and `state`, or `error`).
pub fn follow_authorize(url: &str) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let response = agent.get(url).call().expect("the authorize page answers");
    assert_eq!(
        response.status().as_u16(),
        302,
        "the authorize page did not redirect"
    );
    response.headers()["location"]
        .to_str()
        .expect("a Location header of text")
        .to_string()
}

/// A refusal of the token endpoint, worded by each provider its own way.
#[derive(Clone, Copy)]
enum OAuthRefusal {
    Client,
    RedirectUri,
    Code,
    RefreshToken,
    GrantType,
}

/// How a provider's authorization server speaks.
struct OAuthDialect {
    /// The prefix of its access tokens.
    token_prefix: &'static str,
    /// GitHub's authorize page defaults to the registered callback; GitLab needs it.
    redirect_uri_required: bool,
    refusal: fn(OAuthRefusal) -> Reply,
}

const GITHUB_OAUTH: OAuthDialect = OAuthDialect {
    token_prefix: "gho_fake_oauth_",
    redirect_uri_required: false,
    refusal: github_oauth_refusal,
};

const GITLAB_OAUTH: OAuthDialect = OAuthDialect {
    token_prefix: "glo_fake_oauth_",
    redirect_uri_required: true,
    refusal: gitlab_oauth_refusal,
};

/// GitHub answers refusals of its token endpoint with status 200.
fn github_oauth_refusal(refusal: OAuthRefusal) -> Reply {
    let (error, description) = match refusal {
        OAuthRefusal::Client => (
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        ),
        OAuthRefusal::RedirectUri => (
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        ),
        OAuthRefusal::Code => (
            "bad_verification_code",
            "The code passed is incorrect or expired.",
        ),
        OAuthRefusal::RefreshToken => (
            "bad_refresh_token",
            "The refresh token passed is incorrect or expired.",
        ),
        OAuthRefusal::GrantType => ("unsupported_grant_type", "The grant type is not supported."),
    };
    reply(
        200,
        json!({"error": error, "error_description": description, "error_uri": GITHUB_DOCS}),
    )
}

/// GitLab (Doorkeeper) answers in RFC 6749's words and statuses.
fn gitlab_oauth_refusal(refusal: OAuthRefusal) -> Reply {
    match refusal {
        OAuthRefusal::Client => reply(
            401,
            json!({"error": "invalid_client", "error_description": "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."}),
        ),
        OAuthRefusal::GrantType => reply(
            400,
            json!({"error": "unsupported_grant_type", "error_description": "The authorization grant type is not supported by the authorization server."}),
        ),
        OAuthRefusal::RedirectUri | OAuthRefusal::Code | OAuthRefusal::RefreshToken => reply(
            400,
            json!({"error": "invalid_grant", "error_description": "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}),
        ),
    }
}

/// `GET …/authorize`: approves at once (or, once, denies) and redirects to the callback.
fn oauth_authorize(server: &mut OAuthServer, dialect: &OAuthDialect, incoming: &Incoming) -> Reply {
    let page = |status, message: &str| reply(status, json!({"error": message}));
    let Some(client) = &server.client else {
        return page(404, "no OAuth app is registered");
    };
    if incoming.query_value("client_id") != Some(client.id.as_str()) {
        return page(404, "unknown client_id");
    }
    let redirect_uri = match incoming.query_value("redirect_uri") {
        Some(uri) if uri == client.redirect_uri => uri.to_string(),
        None if !dialect.redirect_uri_required => client.redirect_uri.clone(),
        _ => {
            return page(
                400,
                "The redirect_uri is not associated with this application.",
            );
        }
    };
    if dialect.redirect_uri_required && incoming.query_value("response_type") != Some("code") {
        return page(400, "response_type must be code");
    }
    let state = percent_encode(incoming.query_value("state").unwrap_or_default());
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    if std::mem::take(&mut server.deny_next) {
        return redirect(format!(
            "{redirect_uri}{separator}error=access_denied&error_description={}&state={state}",
            percent_encode("The user has denied your application access.")
        ));
    }
    let code = format!("code{}", next_delivery_id("oauth"));
    server.codes.push(IssuedCode {
        code: code.clone(),
        redirect_uri: redirect_uri.clone(),
        used: false,
    });
    redirect(format!(
        "{redirect_uri}{separator}code={}&state={state}",
        percent_encode(&code)
    ))
}

/// The fields of a token request: a form (as OAuth says) or a JSON object (as both accept).
fn oauth_fields(incoming: &Incoming) -> HashMap<String, String> {
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&incoming.raw_body) {
        return map
            .into_iter()
            .filter_map(|(key, value)| value.as_str().map(|value| (key, value.to_string())))
            .collect();
    }
    incoming
        .raw_body
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (percent_decode(key, true), percent_decode(value, true)))
        .collect()
}

/// `POST …/token`: the authorization code grant, and the refresh token grant, which replaces
/// the pair (the old access and refresh tokens stop working).
fn oauth_token(server: &mut OAuthServer, dialect: &OAuthDialect, incoming: &Incoming) -> Reply {
    let refuse = dialect.refusal;
    let fields = oauth_fields(incoming);
    let field = |key: &str| fields.get(key).map(String::as_str);
    let Some(client) = &server.client else {
        return refuse(OAuthRefusal::Client);
    };
    if field("client_id") != Some(client.id.as_str())
        || field("client_secret") != Some(client.secret.as_str())
    {
        return refuse(OAuthRefusal::Client);
    }
    let registered = client.redirect_uri.clone();
    let now = Instant::now();
    match field("grant_type").unwrap_or("authorization_code") {
        "authorization_code" => {
            let Some(code) = server
                .codes
                .iter_mut()
                .find(|issued| Some(issued.code.as_str()) == field("code") && !issued.used)
            else {
                return refuse(OAuthRefusal::Code);
            };
            if field("redirect_uri").is_some_and(|uri| uri != code.redirect_uri)
                || (dialect.redirect_uri_required && field("redirect_uri").is_none())
            {
                return refuse(OAuthRefusal::RedirectUri);
            }
            code.used = true;
        }
        "refresh_token" => {
            let presented = field("refresh_token");
            let Some(old) = server.tokens.iter_mut().find(|issued| {
                issued.refresh_token.is_some() && issued.refresh_token.as_deref() == presented
            }) else {
                return refuse(OAuthRefusal::RefreshToken);
            };
            if old.revoked || field("redirect_uri").is_some_and(|uri| uri != registered) {
                return refuse(OAuthRefusal::RefreshToken);
            }
            old.revoked = true;
        }
        _ => return refuse(OAuthRefusal::GrantType),
    }
    let number = server.tokens.len() + 1;
    let issued = IssuedToken {
        access_token: format!("{}access_{number}", dialect.token_prefix),
        refresh_token: server
            .expires_in
            .map(|_| format!("{}refresh_{number}", dialect.token_prefix)),
        expires: server
            .expires_in
            .map(|seconds| now + std::time::Duration::from_secs(seconds)),
        revoked: false,
    };
    let mut answer = json!({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "scope": "repo,admin:repo_hook",
    });
    if let (Some(seconds), Some(refresh)) = (server.expires_in, &issued.refresh_token) {
        answer["expires_in"] = json!(seconds);
        answer["refresh_token"] = json!(refresh);
    }
    server.tokens.push(issued);
    let wants_json = incoming
        .header("accept")
        .is_some_and(|accept| accept.contains("application/json"));
    if wants_json || dialect.redirect_uri_required {
        return reply(200, answer);
    }
    // GitHub's default answer is form-encoded.
    let form = answer
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            format!("{key}={}", percent_encode(&value))
        })
        .collect::<Vec<_>>()
        .join("&");
    Reply {
        extra: Some(Box::new(ReplyExtra {
            raw: Some(form),
            headers: vec![(
                "Content-Type",
                "application/x-www-form-urlencoded".to_string(),
            )],
        })),
        ..reply(200, Value::Null)
    }
}

// ---------------------------------------------------------------------------------------------
// GitHub

/// A pull request held by [`FakeGitHub`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePullRequest {
    /// `owner/repo`.
    pub repository: String,
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub draft: bool,
    /// `open` or `closed`.
    pub state: String,
    pub requested_reviewers: Vec<String>,
}

#[derive(Default)]
struct GitHubState {
    requests: Vec<RecordedRequest>,
    pulls: Vec<FakePullRequest>,
    hooks: Vec<FakeWebhook>,
    next_hook: u64,
    next_number: HashMap<String, u64>,
    collaborators: Vec<String>,
    failures: Vec<Failure>,
    git_dir: Option<PathBuf>,
}

/// A GitHub REST v3 double: `GET`/`POST /repos/{owner}/{repo}/pulls`,
/// `GET`/`PATCH /repos/{owner}/{repo}/pulls/{number}`, `POST /repos/{owner}/{repo}/hooks`,
/// `DELETE /repos/{owner}/{repo}/hooks/{id}` (and [`FakeGitHub::deliver_push`] to them),
/// `POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers`, also under `/api/v3` as
/// GitHub Enterprise serves them, and an OAuth app ([`FakeGitHub::oauth`]) whose tokens the API
/// takes. Every repository exists.
pub struct FakeGitHub {
    state: Arc<Mutex<GitHubState>>,
    token: String,
    oauth: FakeOAuth,
    loopback: Loopback,
}

const GITHUB_DOCS: &str = "https://docs.github.com/rest";

impl FakeGitHub {
    /// Starts the server with a token of its own ([`FakeGitHub::token`]).
    pub fn start() -> FakeGitHub {
        Self::start_with_token("ghp_fake_github_token")
    }

    pub fn start_with_token(token: &str) -> FakeGitHub {
        let state = Arc::new(Mutex::new(GitHubState::default()));
        let oauth = FakeOAuth::default();
        let shared = Arc::clone(&state);
        let server = Arc::clone(&oauth.server);
        let expected = token.to_string();
        let loopback = Loopback::start(move |incoming| {
            let mut state = lock(&shared);
            state.requests.push(incoming.recorded.clone());
            github_reply(&mut state, &mut lock(&server), &expected, &incoming)
        });
        FakeGitHub {
            state,
            token: token.to_string(),
            oauth,
            loopback,
        }
    }

    /// The OAuth app side: `GET /login/oauth/authorize`, `POST /login/oauth/access_token`.
    pub fn oauth(&self) -> &FakeOAuth {
        &self.oauth
    }

    /// Whether the API takes a token now: its own, or a live OAuth token it issued; for
    /// [`GitHttpServer::start_accepting`] too, as git over https takes what the API takes.
    pub fn token_check(&self) -> impl Fn(&str) -> bool + Send + 'static {
        token_check(&self.token, &self.oauth)
    }

    /// The API base to give the client: `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.loopback.port)
    }

    /// The token the server accepts (`Authorization: Bearer <token>` or `token <token>`).
    pub fn token(&self) -> String {
        self.token.clone()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// All pull requests, open and closed, in creation order.
    pub fn pull_requests(&self) -> Vec<FakePullRequest> {
        lock(&self.state).pulls.clone()
    }

    /// Restricts reviewers to the collaborators added; with none added, anyone can review.
    pub fn add_collaborator(&self, login: &str) {
        lock(&self.state).collaborators.push(login.to_string());
    }

    /// Closes a pull request, as a person on the web page would.
    pub fn close_pull_request(&self, repository: &str, number: u64) {
        let mut state = lock(&self.state);
        if let Some(pull) = state
            .pulls
            .iter_mut()
            .find(|pull| pull.repository == repository && pull.number == number)
        {
            pull.state = "closed".to_string();
        }
    }

    /// The webhooks registered, in order (deleted ones are gone).
    pub fn hooks(&self) -> Vec<FakeWebhook> {
        lock(&self.state).hooks.clone()
    }

    /// Sends a push of `branch` at `after` to every push webhook of `repository`, signed with
    /// its secret (`X-Hub-Signature-256`), as GitHub does; returns each answer's status.
    pub fn deliver_push(&self, repository: &str, branch: &str, after: &str) -> Vec<u16> {
        let body = json!({
            "ref": format!("refs/heads/{branch}"),
            "before": "0".repeat(40),
            "after": after,
            "repository": {"full_name": repository},
        })
        .to_string();
        let hooks = lock(&self.state).hooks.clone();
        deliver_to_hooks(&hooks, repository, &body, |hook| {
            use hmac::Mac as _;
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(hook.secret.as_bytes())
                .expect("HMAC takes keys of any length");
            mac.update(body.as_bytes());
            let signature = mac.finalize().into_bytes().iter().fold(
                String::from("sha256="),
                |mut text, byte| {
                    use std::fmt::Write as _;
                    let _ = write!(text, "{byte:02x}");
                    text
                },
            );
            vec![
                ("X-GitHub-Event", "push".to_string()),
                ("X-GitHub-Delivery", next_delivery_id("github")),
                ("X-Hub-Signature-256", signature),
            ]
        })
    }

    /// Makes `POST .../pulls` refuse branches that are not in this bare repository (head:
    /// not pushed yet), as the real API does.
    pub fn require_branches_in(&self, git_dir: impl Into<PathBuf>) {
        lock(&self.state).git_dir = Some(git_dir.into());
    }

    /// The next request with `method` gets this answer instead of the normal one (a server
    /// error, rate limiting, ...); the request is still recorded.
    pub fn fail_next(&self, method: &str, status: u16, body: Value) {
        lock(&self.state).failures.push(Failure {
            method: method.to_ascii_uppercase(),
            reply: reply(status, body),
        });
    }
}

fn take_failure(failures: &mut Vec<Failure>, method: &str) -> Option<Reply> {
    let index = failures
        .iter()
        .position(|failure| failure.method == method)?;
    Some(failures.remove(index).reply)
}

fn github_error(status: u16, message: &str) -> Reply {
    reply(
        status,
        json!({"message": message, "documentation_url": GITHUB_DOCS, "status": status.to_string()}),
    )
}

fn github_invalid(detail: &str) -> Reply {
    github_error(422, &format!("Invalid request.\n\n{detail}"))
}

fn github_validation_failed(errors: &Value) -> Reply {
    reply(
        422,
        json!({
            "message": "Validation Failed",
            "errors": errors,
            "documentation_url": GITHUB_DOCS,
            "status": "422",
        }),
    )
}

/// A string field: `Ok(None)` when absent (or null where the API allows it), a 422 in GitHub's
/// schema-validation words otherwise.
fn github_string(
    body: &serde_json::Map<String, Value>,
    key: &str,
    required: bool,
) -> Result<Option<String>, Reply> {
    match body.get(key) {
        Some(Value::String(text)) => Ok(Some(text.clone())),
        None | Some(Value::Null) if !required => Ok(None),
        None => Err(github_invalid(&format!("\"{key}\" wasn't supplied."))),
        Some(other) => Err(github_invalid(&format!(
            "For 'properties/{key}', {other} is not a string."
        ))),
    }
}

fn github_bool(body: &serde_json::Map<String, Value>, key: &str) -> Result<Option<bool>, Reply> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(other) => Err(github_invalid(&format!(
            "For 'properties/{key}', {other} is not a boolean."
        ))),
    }
}

fn github_pull_json(base_url: &str, pull: &FakePullRequest) -> Value {
    let owner = pull.repository.split('/').next().unwrap_or_default();
    let branch = |name: &str| {
        json!({
            "ref": name,
            "label": format!("{owner}:{name}"),
            "repo": {"full_name": pull.repository},
        })
    };
    let reviewers: Vec<Value> = pull
        .requested_reviewers
        .iter()
        .map(|login| json!({"login": login}))
        .collect();
    json!({
        "url": format!("{base_url}/repos/{}/pulls/{}", pull.repository, pull.number),
        "id": 1000 + pull.number,
        "number": pull.number,
        "state": pull.state,
        "title": pull.title,
        "body": pull.body,
        "draft": pull.draft,
        "html_url": format!("{base_url}/{}/pull/{}", pull.repository, pull.number),
        "user": {"login": "upkeep-bot"},
        "head": branch(&pull.head),
        "base": branch(&pull.base),
        "requested_reviewers": reviewers,
    })
}

fn github_reply(
    state: &mut GitHubState,
    oauth: &mut OAuthServer,
    token: &str,
    incoming: &Incoming,
) -> Reply {
    if let Some(failure) = take_failure(&mut state.failures, &incoming.method) {
        return failure;
    }
    // The OAuth pages are on the web host, not the API: no token there.
    match (incoming.method.as_str(), incoming.recorded.path.as_str()) {
        ("GET", "/login/oauth/authorize") => {
            return oauth_authorize(oauth, &GITHUB_OAUTH, incoming);
        }
        ("POST", "/login/oauth/access_token") => {
            return oauth_token(oauth, &GITHUB_OAUTH, incoming);
        }
        _ => {}
    }
    if incoming.header("user-agent").is_none_or(str::is_empty) {
        return github_error(
            403,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header.",
        );
    }
    match incoming.header("authorization") {
        None => return github_error(401, "Requires authentication"),
        Some(value) => {
            let presented = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("token "));
            if presented.is_none_or(|presented| presented != token && !oauth.accepts(presented)) {
                return github_error(401, "Bad credentials");
            }
        }
    }
    if let Some(version) = incoming.header("x-github-api-version")
        && version != crate::github::API_VERSION
    {
        return github_error(400, &format!("API version '{version}' is not supported."));
    }
    let host = incoming.header("host").unwrap_or("127.0.0.1");
    let base_url = format!("http://{host}");
    let mut segments: Vec<&str> = incoming.segments.iter().map(String::as_str).collect();
    // GitHub Enterprise serves the same API under `/api/v3`.
    if segments.starts_with(&["api", "v3"]) {
        segments.drain(..2);
    }
    let method = incoming.method.as_str();
    let not_found = || github_error(404, "Not Found");
    let parse_json = || incoming.json_object(|| github_error(400, "Problems parsing JSON"));
    match segments.as_slice() {
        ["repos", owner, repo, "pulls"] => {
            let repository = format!("{owner}/{repo}");
            match method {
                "GET" => github_list(state, &base_url, owner, &repository, incoming),
                "POST" => match parse_json() {
                    Ok(body) => github_create(state, &base_url, owner, &repository, &body),
                    Err(reply) => reply,
                },
                _ => not_found(),
            }
        }
        ["repos", owner, repo, "hooks"] if method == "POST" => match parse_json() {
            Ok(body) => github_create_hook(state, &format!("{owner}/{repo}"), &body),
            Err(reply) => reply,
        },
        ["repos", owner, repo, "hooks", id] if method == "DELETE" => {
            let repository = format!("{owner}/{repo}");
            let before = state.hooks.len();
            state
                .hooks
                .retain(|hook| !(hook.repository == repository && hook.id.to_string() == *id));
            if state.hooks.len() == before {
                not_found()
            } else {
                reply(204, Value::Null)
            }
        }
        ["repos", owner, repo, "pulls", number, rest @ ..] => {
            let repository = format!("{owner}/{repo}");
            let Some(index) = number.parse::<u64>().ok().and_then(|number| {
                state
                    .pulls
                    .iter()
                    .position(|pull| pull.repository == repository && pull.number == number)
            }) else {
                return not_found();
            };
            match (method, rest) {
                ("GET", []) => reply(200, github_pull_json(&base_url, &state.pulls[index])),
                ("PATCH", []) => match parse_json() {
                    Ok(body) => github_update(state, &base_url, index, &body),
                    Err(reply) => reply,
                },
                ("POST", ["requested_reviewers"]) => match parse_json() {
                    Ok(body) => github_reviewers(state, &base_url, index, &body),
                    Err(reply) => reply,
                },
                _ => not_found(),
            }
        }
        _ => not_found(),
    }
}

fn github_create_hook(
    state: &mut GitHubState,
    repository: &str,
    body: &serde_json::Map<String, Value>,
) -> Reply {
    let fields = (|| {
        let name = github_string(body, "name", false)?.unwrap_or_else(|| "web".to_string());
        let config = match body.get("config") {
            Some(Value::Object(config)) => config.clone(),
            None => return Err(github_invalid("\"config\" wasn't supplied.")),
            Some(other) => {
                return Err(github_invalid(&format!(
                    "For 'properties/config', {other} is not an object."
                )));
            }
        };
        let url = github_string(&config, "url", true)?.unwrap_or_default();
        let secret = github_string(&config, "secret", false)?.unwrap_or_default();
        let content_type = github_string(&config, "content_type", false)?;
        let events = match body.get("events") {
            None => vec!["push".to_string()],
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(other) => {
                return Err(github_invalid(&format!(
                    "For 'properties/events', {other} is not an array of strings."
                )));
            }
        };
        Ok::<_, Reply>((name, url, secret, content_type, events))
    })();
    let (name, url, secret, content_type, events) = match fields {
        Ok(fields) => fields,
        Err(reply) => return reply,
    };
    if name != "web" {
        return github_validation_failed(
            &json!([{"resource": "Hook", "field": "name", "code": "invalid"}]),
        );
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return github_validation_failed(
            &json!([{"resource": "Hook", "code": "custom", "message": "Config url is not supported"}]),
        );
    }
    if content_type
        .as_deref()
        .is_some_and(|kind| !matches!(kind, "json" | "form"))
    {
        return github_validation_failed(
            &json!([{"resource": "Hook", "field": "content_type", "code": "invalid"}]),
        );
    }
    if state
        .hooks
        .iter()
        .any(|hook| hook.repository == repository && hook.url == url)
    {
        return github_validation_failed(
            &json!([{"resource": "Hook", "code": "custom", "message": "Hook already exists on this repository"}]),
        );
    }
    state.next_hook += 1;
    let hook = FakeWebhook {
        repository: repository.to_string(),
        id: state.next_hook,
        url: url.clone(),
        secret,
        events: events.clone(),
    };
    state.hooks.push(hook);
    reply(
        201,
        json!({
            "type": "Repository",
            "id": state.next_hook,
            "name": "web",
            "active": true,
            "events": events,
            // GitHub never shows a secret back.
            "config": {"url": url, "content_type": content_type.unwrap_or_else(|| "form".to_string()), "insecure_ssl": "0", "secret": "********"},
        }),
    )
}

fn github_list(
    state: &GitHubState,
    base_url: &str,
    owner: &str,
    repository: &str,
    incoming: &Incoming,
) -> Reply {
    let wanted_state = incoming.query_value("state").unwrap_or("open");
    if !matches!(wanted_state, "open" | "closed" | "all") {
        return github_validation_failed(
            &json!([{"resource": "PullRequest", "field": "state", "code": "invalid"}]),
        );
    }
    // Like the real API, a head filter not of the form `owner:branch` is ignored.
    let head = incoming
        .query_value("head")
        .and_then(|head| head.split_once(':'));
    let base = incoming.query_value("base");
    let mut pulls: Vec<Value> = state
        .pulls
        .iter()
        .filter(|pull| pull.repository == repository)
        .filter(|pull| wanted_state == "all" || pull.state == wanted_state)
        .filter(|pull| head.is_none_or(|(user, branch)| user == owner && pull.head == branch))
        .filter(|pull| base.is_none_or(|base| pull.base == base))
        .map(|pull| github_pull_json(base_url, pull))
        .collect();
    // Newest first, the API's default order.
    pulls.reverse();
    reply(200, Value::Array(pulls))
}

fn github_create(
    state: &mut GitHubState,
    base_url: &str,
    owner: &str,
    repository: &str,
    body: &serde_json::Map<String, Value>,
) -> Reply {
    let fields = (|| {
        let title = github_string(body, "title", true)?.unwrap_or_default();
        let head = github_string(body, "head", true)?.unwrap_or_default();
        let base = github_string(body, "base", true)?.unwrap_or_default();
        let text = github_string(body, "body", false)?.unwrap_or_default();
        let draft = github_bool(body, "draft")?.unwrap_or(false);
        Ok::<_, Reply>((title, head, base, text, draft))
    })();
    let (title, head, base, text, draft) = match fields {
        Ok(fields) => fields,
        Err(reply) => return reply,
    };
    // `head` may name the owner (`owner:branch`), as for pull requests from forks.
    let head = match head.split_once(':') {
        Some((user, branch)) if user == owner => branch.to_string(),
        _ => head,
    };
    if let Some(git_dir) = &state.git_dir {
        for (field, branch) in [("base", &base), ("head", &head)] {
            if !branch_in(git_dir, branch) {
                return github_validation_failed(
                    &json!([{"resource": "PullRequest", "field": field, "code": "invalid"}]),
                );
            }
        }
    }
    if head == base {
        return github_validation_failed(&json!([{
            "resource": "PullRequest", "code": "custom",
            "message": format!("No commits between {base} and {head}"),
        }]));
    }
    let duplicate = state.pulls.iter().any(|pull| {
        pull.repository == repository
            && pull.state == "open"
            && pull.head == head
            && pull.base == base
    });
    if duplicate {
        return github_validation_failed(&json!([{
            "resource": "PullRequest", "code": "custom",
            "message": format!("A pull request already exists for {owner}:{head}."),
        }]));
    }
    let number = state.next_number.entry(repository.to_string()).or_insert(0);
    *number += 1;
    let pull = FakePullRequest {
        repository: repository.to_string(),
        number: *number,
        title,
        body: text,
        head,
        base,
        draft,
        state: "open".to_string(),
        requested_reviewers: Vec::new(),
    };
    let json = github_pull_json(base_url, &pull);
    state.pulls.push(pull);
    reply(201, json)
}

fn github_update(
    state: &mut GitHubState,
    base_url: &str,
    index: usize,
    body: &serde_json::Map<String, Value>,
) -> Reply {
    let fields = (|| {
        let title = github_string(body, "title", false)?;
        let text = github_string(body, "body", false)?;
        let base = github_string(body, "base", false)?;
        let new_state = github_string(body, "state", false)?;
        Ok::<_, Reply>((title, text, base, new_state))
    })();
    let (title, text, base, new_state) = match fields {
        Ok(fields) => fields,
        Err(reply) => return reply,
    };
    if let Some(new_state) = &new_state
        && !matches!(new_state.as_str(), "open" | "closed")
    {
        return github_invalid(&format!(
            "For 'properties/state', \"{new_state}\" is not one of [\"open\", \"closed\"]."
        ));
    }
    let pull = &mut state.pulls[index];
    if let Some(title) = title {
        pull.title = title;
    }
    if let Some(text) = text {
        pull.body = text;
    }
    if let Some(base) = base {
        pull.base = base;
    }
    if let Some(new_state) = new_state {
        pull.state = new_state;
    }
    reply(200, github_pull_json(base_url, pull))
}

fn github_reviewers(
    state: &mut GitHubState,
    base_url: &str,
    index: usize,
    body: &serde_json::Map<String, Value>,
) -> Reply {
    let reviewers = match body.get("reviewers") {
        Some(Value::Array(items)) => {
            let mut logins = Vec::new();
            for (position, item) in items.iter().enumerate() {
                match item {
                    Value::String(login) => logins.push(login.clone()),
                    other => {
                        return github_invalid(&format!(
                            "For 'properties/reviewers/{position}', {other} is not a string."
                        ));
                    }
                }
            }
            logins
        }
        None if body.contains_key("team_reviewers") => Vec::new(),
        None => return github_invalid("\"reviewers\" wasn't supplied."),
        Some(other) => {
            return github_invalid(&format!(
                "For 'properties/reviewers', {other} is not an array."
            ));
        }
    };
    let repository = state.pulls[index].repository.clone();
    if !state.collaborators.is_empty()
        && reviewers.iter().any(|login| {
            !state
                .collaborators
                .iter()
                .any(|c| c.eq_ignore_ascii_case(login))
        })
    {
        return github_validation_failed(&json!([format!(
            "Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the {repository} repository."
        )]));
    }
    let pull = &mut state.pulls[index];
    for login in reviewers {
        if !pull.requested_reviewers.contains(&login) {
            pull.requested_reviewers.push(login);
        }
    }
    reply(201, github_pull_json(base_url, pull))
}

// ---------------------------------------------------------------------------------------------
// GitLab

/// A merge request held by [`FakeGitLab`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeMergeRequest {
    /// The project's full path.
    pub project: String,
    pub iid: u64,
    pub title: String,
    pub description: String,
    pub source_branch: String,
    pub target_branch: String,
    /// `opened`, `closed` or `merged`.
    pub state: String,
    /// From the title prefix (`Draft:`, `[Draft]`, `(Draft)`), as GitLab decides it.
    pub draft: bool,
    pub remove_source_branch: bool,
    pub reviewer_ids: Vec<u64>,
}

#[derive(Default)]
struct GitLabState {
    requests: Vec<RecordedRequest>,
    merges: Vec<FakeMergeRequest>,
    hooks: Vec<FakeWebhook>,
    next_hook: u64,
    next_iid: HashMap<String, u64>,
    users: Vec<(String, u64)>,
    failures: Vec<Failure>,
    git_dir: Option<PathBuf>,
}

/// A GitLab REST v4 double under `/api/v4`: `GET /users?username=`,
/// `GET`/`POST /projects/:id/merge_requests`, `GET`/`PUT /projects/:id/merge_requests/:iid`,
/// `POST /projects/:id/hooks`, `DELETE /projects/:id/hooks/:hook_id` (and
/// [`FakeGitLab::deliver_push`] to them),
/// where `:id` is the URL-encoded project path, and an OAuth application
/// ([`FakeGitLab::oauth`]) whose tokens the API takes until they expire. Every project exists.
pub struct FakeGitLab {
    state: Arc<Mutex<GitLabState>>,
    token: String,
    oauth: FakeOAuth,
    loopback: Loopback,
}

impl FakeGitLab {
    /// Starts the server with a token of its own ([`FakeGitLab::token`]).
    pub fn start() -> FakeGitLab {
        Self::start_with_token("glpat-fake-gitlab-token")
    }

    pub fn start_with_token(token: &str) -> FakeGitLab {
        let state = Arc::new(Mutex::new(GitLabState::default()));
        let oauth = FakeOAuth::default();
        let shared = Arc::clone(&state);
        let server = Arc::clone(&oauth.server);
        let expected = token.to_string();
        let loopback = Loopback::start(move |incoming| {
            let mut state = lock(&shared);
            state.requests.push(incoming.recorded.clone());
            gitlab_reply(&mut state, &mut lock(&server), &expected, &incoming)
        });
        FakeGitLab {
            state,
            token: token.to_string(),
            oauth,
            loopback,
        }
    }

    /// The OAuth application side: `GET /oauth/authorize`, `POST /oauth/token` (authorization
    /// code and refresh token grants).
    pub fn oauth(&self) -> &FakeOAuth {
        &self.oauth
    }

    /// Whether the API takes a token now (see [`FakeGitHub::token_check`]).
    pub fn token_check(&self) -> impl Fn(&str) -> bool + Send + 'static {
        token_check(&self.token, &self.oauth)
    }

    /// The API base to give the client: `http://127.0.0.1:<port>/api/v4`.
    pub fn base_url(&self) -> String {
        format!("{}/api/v4", self.web_url())
    }

    /// The instance's web root, where `web_url`s of merge requests point.
    pub fn web_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.loopback.port)
    }

    /// The token the server accepts (`PRIVATE-TOKEN: <token>` or `Authorization: Bearer <token>`),
    /// besides the OAuth tokens it issues.
    pub fn token(&self) -> String {
        self.token.clone()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// All merge requests in creation order.
    pub fn merge_requests(&self) -> Vec<FakeMergeRequest> {
        lock(&self.state).merges.clone()
    }

    /// A user `GET /users?username=` finds.
    pub fn add_user(&self, username: &str, id: u64) {
        lock(&self.state).users.push((username.to_string(), id));
    }

    /// Closes a merge request, as a person on the web page would.
    pub fn close_merge_request(&self, project: &str, iid: u64) {
        let mut state = lock(&self.state);
        if let Some(merge) = state
            .merges
            .iter_mut()
            .find(|merge| merge.project == project && merge.iid == iid)
        {
            merge.state = "closed".to_string();
        }
    }

    /// The project hooks registered, in order (deleted ones are gone).
    pub fn hooks(&self) -> Vec<FakeWebhook> {
        lock(&self.state).hooks.clone()
    }

    /// Sends a push of `branch` at `after` to every push hook of `project` with its token
    /// (`X-Gitlab-Token`), as GitLab does; returns each answer's status.
    pub fn deliver_push(&self, project: &str, branch: &str, after: &str) -> Vec<u16> {
        let body = json!({
            "object_kind": "push",
            "ref": format!("refs/heads/{branch}"),
            "before": "0".repeat(40),
            "after": after,
            "project": {"path_with_namespace": project},
        })
        .to_string();
        let hooks = lock(&self.state).hooks.clone();
        deliver_to_hooks(&hooks, project, &body, |hook| {
            vec![
                ("X-Gitlab-Event", "Push Hook".to_string()),
                ("X-Gitlab-Event-UUID", next_delivery_id("gitlab")),
                ("X-Gitlab-Token", hook.secret.clone()),
            ]
        })
    }

    /// Makes `POST .../merge_requests` refuse branches that are not in this bare repository.
    /// (GitLab refuses them too; the wording of this refusal is the fake's own.)
    pub fn require_branches_in(&self, git_dir: impl Into<PathBuf>) {
        lock(&self.state).git_dir = Some(git_dir.into());
    }

    /// The next request with `method` gets this answer instead of the normal one.
    pub fn fail_next(&self, method: &str, status: u16, body: Value) {
        lock(&self.state).failures.push(Failure {
            method: method.to_ascii_uppercase(),
            reply: reply(status, body),
        });
    }
}

fn gitlab_is_draft(title: &str) -> bool {
    let lower = title.to_ascii_lowercase();
    lower.starts_with("draft:") || lower.starts_with("[draft]") || lower.starts_with("(draft)")
}

fn gitlab_merge_json(web_url: &str, merge: &FakeMergeRequest, users: &[(String, u64)]) -> Value {
    let reviewers: Vec<Value> = merge
        .reviewer_ids
        .iter()
        .map(|id| {
            let username = users
                .iter()
                .find(|(_, user_id)| user_id == id)
                .map_or("", |(name, _)| name.as_str());
            json!({"id": id, "username": username})
        })
        .collect();
    json!({
        "id": 5000 + merge.iid,
        "iid": merge.iid,
        "project_id": 1,
        "title": merge.title,
        "description": merge.description,
        "state": merge.state,
        "draft": merge.draft,
        "work_in_progress": merge.draft,
        "source_branch": merge.source_branch,
        "target_branch": merge.target_branch,
        "force_remove_source_branch": merge.remove_source_branch,
        "web_url": format!("{web_url}/{}/-/merge_requests/{}", merge.project, merge.iid),
        "author": {"username": "upkeep-bot"},
        "reviewers": reviewers,
    })
}

/// Grape's parameter errors: `{"error": "title is missing, source_branch is invalid"}`.
fn gitlab_param_errors(problems: &[String]) -> Reply {
    reply(400, json!({"error": problems.join(", ")}))
}

enum Field<T> {
    Absent,
    Present(T),
    Invalid,
}

fn gitlab_field<T>(
    body: &serde_json::Map<String, Value>,
    key: &str,
    convert: impl Fn(&Value) -> Option<T>,
) -> Field<T> {
    match body.get(key) {
        None => Field::Absent,
        Some(value) => convert(value).map_or(Field::Invalid, Field::Present),
    }
}

fn as_string(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

fn as_ids(value: &Value) -> Option<Vec<u64>> {
    value.as_array()?.iter().map(Value::as_u64).collect()
}

fn gitlab_reply(
    state: &mut GitLabState,
    oauth: &mut OAuthServer,
    token: &str,
    incoming: &Incoming,
) -> Reply {
    if let Some(failure) = take_failure(&mut state.failures, &incoming.method) {
        return failure;
    }
    match (incoming.method.as_str(), incoming.recorded.path.as_str()) {
        ("GET", "/oauth/authorize") => return oauth_authorize(oauth, &GITLAB_OAUTH, incoming),
        ("POST", "/oauth/token") => return oauth_token(oauth, &GITLAB_OAUTH, incoming),
        _ => {}
    }
    let presented = incoming.header("private-token").or_else(|| {
        incoming
            .header("authorization")
            .and_then(|value| value.strip_prefix("Bearer "))
    });
    match presented {
        Some(presented) if presented == token || oauth.accepts(presented) => {}
        Some(presented) if oauth.tokens.iter().any(|t| t.access_token == presented) => {
            return reply(
                401,
                json!({"error": "invalid_token", "error_description": "Token is expired. You can either do re-authorization or token refresh."}),
            );
        }
        _ => return reply(401, json!({"message": "401 Unauthorized"})),
    }
    let host = incoming.header("host").unwrap_or("127.0.0.1");
    let web_url = format!("http://{host}");
    let segments: Vec<&str> = incoming.segments.iter().map(String::as_str).collect();
    let not_found = || reply(404, json!({"error": "404 Not Found"}));
    let parse_json = || {
        incoming.json_object(|| {
            reply(
                400,
                json!({"message": "400 Bad request - the body is not a JSON object"}),
            )
        })
    };
    let method = incoming.method.as_str();
    match segments.as_slice() {
        ["api", "v4", "users"] if method == "GET" => {
            let wanted = incoming.query_value("username");
            let users: Vec<Value> = state
                .users
                .iter()
                .filter(|(name, _)| wanted.is_none_or(|wanted| name.eq_ignore_ascii_case(wanted)))
                .map(|(name, id)| {
                    json!({"id": id, "username": name, "name": name, "state": "active",
                           "web_url": format!("{web_url}/{name}")})
                })
                .collect();
            reply(200, Value::Array(users))
        }
        ["api", "v4", "projects", project, "merge_requests"] => match method {
            "GET" => gitlab_list(state, &web_url, project, incoming),
            "POST" => match parse_json() {
                Ok(body) => gitlab_create(state, &web_url, project, &body),
                Err(reply) => reply,
            },
            _ => not_found(),
        },
        ["api", "v4", "projects", project, "hooks"] if method == "POST" => match parse_json() {
            Ok(body) => gitlab_create_hook(state, project, &body),
            Err(reply) => reply,
        },
        ["api", "v4", "projects", project, "hooks", id] if method == "DELETE" => {
            let before = state.hooks.len();
            state
                .hooks
                .retain(|hook| !(hook.repository == *project && hook.id.to_string() == *id));
            if state.hooks.len() == before {
                reply(404, json!({"message": "404 Not found"}))
            } else {
                reply(204, Value::Null)
            }
        }
        ["api", "v4", "projects", project, "merge_requests", iid] => {
            let Some(index) = iid.parse::<u64>().ok().and_then(|iid| {
                state
                    .merges
                    .iter()
                    .position(|merge| merge.project == *project && merge.iid == iid)
            }) else {
                return reply(404, json!({"message": "404 Not found"}));
            };
            match method {
                "GET" => reply(
                    200,
                    gitlab_merge_json(&web_url, &state.merges[index], &state.users),
                ),
                "PUT" => match parse_json() {
                    Ok(body) => gitlab_update(state, &web_url, index, &body),
                    Err(reply) => reply,
                },
                _ => not_found(),
            }
        }
        _ => not_found(),
    }
}

fn gitlab_create_hook(
    state: &mut GitLabState,
    project: &str,
    body: &serde_json::Map<String, Value>,
) -> Reply {
    let mut problems = Vec::new();
    let url = match gitlab_field(body, "url", as_string) {
        Field::Present(url) => url,
        Field::Absent => {
            problems.push("url is missing".to_string());
            String::new()
        }
        Field::Invalid => {
            problems.push("url is invalid".to_string());
            String::new()
        }
    };
    let token = match gitlab_field(body, "token", as_string) {
        Field::Present(token) => token,
        Field::Absent => String::new(),
        Field::Invalid => {
            problems.push("token is invalid".to_string());
            String::new()
        }
    };
    let push_events = match gitlab_field(body, "push_events", Value::as_bool) {
        Field::Present(flag) => flag,
        // GitLab's default.
        Field::Absent => true,
        Field::Invalid => {
            problems.push("push_events is invalid".to_string());
            false
        }
    };
    if !problems.is_empty() {
        return gitlab_param_errors(&problems);
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return reply(422, json!({"error": "Invalid url given"}));
    }
    state.next_hook += 1;
    state.hooks.push(FakeWebhook {
        repository: project.to_string(),
        id: state.next_hook,
        url: url.clone(),
        secret: token,
        events: if push_events {
            vec!["push".to_string()]
        } else {
            Vec::new()
        },
    });
    reply(
        201,
        json!({"id": state.next_hook, "url": url, "push_events": push_events, "project_id": 1}),
    )
}

fn gitlab_list(state: &GitLabState, web_url: &str, project: &str, incoming: &Incoming) -> Reply {
    let wanted_state = incoming.query_value("state").unwrap_or("all");
    if !matches!(
        wanted_state,
        "opened" | "closed" | "merged" | "locked" | "all"
    ) {
        return gitlab_param_errors(&["state does not have a valid value".to_string()]);
    }
    let source = incoming.query_value("source_branch");
    let target = incoming.query_value("target_branch");
    let mut merges: Vec<Value> = state
        .merges
        .iter()
        .filter(|merge| merge.project == project)
        .filter(|merge| wanted_state == "all" || merge.state == wanted_state)
        .filter(|merge| source.is_none_or(|source| merge.source_branch == source))
        .filter(|merge| target.is_none_or(|target| merge.target_branch == target))
        .map(|merge| gitlab_merge_json(web_url, merge, &state.users))
        .collect();
    merges.reverse();
    reply(200, Value::Array(merges))
}

fn gitlab_create(
    state: &mut GitLabState,
    web_url: &str,
    project: &str,
    body: &serde_json::Map<String, Value>,
) -> Reply {
    let mut problems = Vec::new();
    let mut required = |key: &str| match gitlab_field(body, key, as_string) {
        Field::Present(value) => value,
        Field::Absent => {
            problems.push(format!("{key} is missing"));
            String::new()
        }
        Field::Invalid => {
            problems.push(format!("{key} is invalid"));
            String::new()
        }
    };
    let source_branch = required("source_branch");
    let target_branch = required("target_branch");
    let title = required("title");
    let description = match gitlab_field(body, "description", as_string) {
        Field::Present(text) => text,
        Field::Absent => String::new(),
        Field::Invalid => {
            problems.push("description is invalid".to_string());
            String::new()
        }
    };
    let remove_source_branch = match gitlab_field(body, "remove_source_branch", Value::as_bool) {
        Field::Present(flag) => flag,
        Field::Absent => false,
        Field::Invalid => {
            problems.push("remove_source_branch is invalid".to_string());
            false
        }
    };
    let reviewer_ids = match gitlab_field(body, "reviewer_ids", as_ids) {
        Field::Present(ids) => ids,
        Field::Absent => Vec::new(),
        Field::Invalid => {
            problems.push("reviewer_ids is invalid".to_string());
            Vec::new()
        }
    };
    if !problems.is_empty() {
        return gitlab_param_errors(&problems);
    }
    if let Some(git_dir) = &state.git_dir {
        for (which, branch) in [("Target", &target_branch), ("Source", &source_branch)] {
            if !branch_in(git_dir, branch) {
                return reply(
                    422,
                    json!({"message": [format!("{which} branch \"{branch}\" does not exist")]}),
                );
            }
        }
    }
    let existing = state.merges.iter().find(|merge| {
        merge.project == project
            && merge.state == "opened"
            && merge.source_branch == source_branch
            && merge.target_branch == target_branch
    });
    if let Some(existing) = existing {
        return reply(
            409,
            json!({"message": [format!(
                "Another open merge request already exists for this source branch: !{}",
                existing.iid
            )]}),
        );
    }
    let iid = state.next_iid.entry(project.to_string()).or_insert(0);
    *iid += 1;
    let merge = FakeMergeRequest {
        project: project.to_string(),
        iid: *iid,
        draft: gitlab_is_draft(&title),
        title,
        description,
        source_branch,
        target_branch,
        state: "opened".to_string(),
        remove_source_branch,
        reviewer_ids,
    };
    let json = gitlab_merge_json(web_url, &merge, &state.users);
    state.merges.push(merge);
    reply(201, json)
}

fn gitlab_update(
    state: &mut GitLabState,
    web_url: &str,
    index: usize,
    body: &serde_json::Map<String, Value>,
) -> Reply {
    const UPDATABLE: [&str; 6] = [
        "title",
        "description",
        "reviewer_ids",
        "state_event",
        "target_branch",
        "remove_source_branch",
    ];
    if !UPDATABLE.iter().any(|key| body.contains_key(*key)) {
        return gitlab_param_errors(&[format!(
            "{} are missing, at least one parameter must be provided",
            UPDATABLE.join(", ")
        )]);
    }
    let mut problems = Vec::new();
    let mut string = |key: &str| match gitlab_field(body, key, as_string) {
        Field::Present(value) => Some(value),
        Field::Absent => None,
        Field::Invalid => {
            problems.push(format!("{key} is invalid"));
            None
        }
    };
    let title = string("title");
    let description = string("description");
    let target_branch = string("target_branch");
    let state_event = string("state_event");
    let reviewer_ids = match gitlab_field(body, "reviewer_ids", as_ids) {
        Field::Present(ids) => Some(ids),
        Field::Absent => None,
        Field::Invalid => {
            problems.push("reviewer_ids is invalid".to_string());
            None
        }
    };
    let remove_source_branch = match gitlab_field(body, "remove_source_branch", Value::as_bool) {
        Field::Present(flag) => Some(flag),
        Field::Absent => None,
        Field::Invalid => {
            problems.push("remove_source_branch is invalid".to_string());
            None
        }
    };
    if state_event
        .as_deref()
        .is_some_and(|event| !matches!(event, "close" | "reopen"))
    {
        problems.push("state_event does not have a valid value".to_string());
    }
    if !problems.is_empty() {
        return gitlab_param_errors(&problems);
    }
    let merge = &mut state.merges[index];
    if let Some(title) = title {
        merge.draft = gitlab_is_draft(&title);
        merge.title = title;
    }
    if let Some(description) = description {
        merge.description = description;
    }
    if let Some(target_branch) = target_branch {
        merge.target_branch = target_branch;
    }
    if let Some(ids) = reviewer_ids {
        merge.reviewer_ids = ids;
    }
    if let Some(flag) = remove_source_branch {
        merge.remove_source_branch = flag;
    }
    match state_event.as_deref() {
        Some("close") => merge.state = "closed".to_string(),
        Some("reopen") => merge.state = "opened".to_string(),
        _ => {}
    }
    let json = gitlab_merge_json(web_url, &state.merges[index], &state.users);
    reply(200, json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent()
    }

    fn call(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        let agent = agent();
        let mut response = if method == "GET" {
            let mut request = agent.get(url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.call()
        } else {
            let mut request = match method {
                "POST" => agent.post(url),
                "PUT" => agent.put(url),
                _ => agent.patch(url),
            };
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send(body)
        }
        .expect("the fake answers");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    #[test]
    fn percent_decoding_handles_plus_bad_escapes_and_utf8() {
        assert_eq!(
            percent_decode("group%2Fsub%2Fproject", false),
            "group/sub/project"
        );
        assert_eq!(percent_decode("a+b%20c", true), "a b c");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%zz%C3%BC", true), "%zz\u{fc}");
    }

    #[test]
    fn github_fake_checks_user_agent_token_and_fields() {
        let fake = FakeGitHub::start();
        let url = format!("{}/repos/acme/shop/pulls", fake.base_url());
        let auth = format!("Bearer {}", fake.token());
        let ua = ("User-Agent", "test");

        let (status, body) = call("GET", &url, &[("User-Agent", "")], "");
        assert_eq!(status, 403, "{body}");
        let (status, body) = call("GET", &url, &[ua], "");
        assert_eq!(
            (status, body["message"].as_str()),
            (401, Some("Requires authentication"))
        );
        let (status, _) = call(
            "GET",
            &url,
            &[ua, ("Authorization", &format!("token {}", fake.token()))],
            "",
        );
        assert_eq!(status, 200);

        let with_auth = [ua, ("Authorization", auth.as_str())];
        let (status, body) = call("POST", &url, &with_auth, "{not json");
        assert_eq!(
            (status, body["message"].as_str()),
            (400, Some("Problems parsing JSON"))
        );
        let (status, body) = call("POST", &url, &with_auth, r#"{"title":"t","base":"main"}"#);
        assert_eq!(
            (status, body["message"].as_str()),
            (422, Some("Invalid request.\n\n\"head\" wasn't supplied."))
        );
        let (status, body) = call(
            "POST",
            &url,
            &with_auth,
            r#"{"title":5,"head":"x","base":"main"}"#,
        );
        assert_eq!(
            (status, body["message"].as_str()),
            (
                422,
                Some("Invalid request.\n\nFor 'properties/title', 5 is not a string.")
            )
        );
        let (status, body) = call(
            "POST",
            &url,
            &with_auth,
            r#"{"title":"t","head":"x","base":"main","draft":"yes"}"#,
        );
        assert_eq!(
            (status, body["message"].as_str()),
            (
                422,
                Some("Invalid request.\n\nFor 'properties/draft', \"yes\" is not a boolean.")
            )
        );
        let (status, body) = call(
            "POST",
            &url,
            &with_auth,
            r#"{"title":"t","head":"main","base":"main"}"#,
        );
        assert_eq!(status, 422);
        assert_eq!(
            body["errors"][0]["message"],
            "No commits between main and main"
        );
        let (status, body) = call(
            "POST",
            &url,
            &with_auth,
            r#"{"title":"t","head":"acme:x","base":"main"}"#,
        );
        assert_eq!((status, body["head"]["ref"].as_str()), (201, Some("x")));

        let (status, _) = call(
            "GET",
            &format!("{}/repos/acme/shop/issues", fake.base_url()),
            &with_auth,
            "",
        );
        assert_eq!(status, 404);
        let (status, _) = call(
            "GET",
            &format!("{}/repos/acme/shop/pulls", fake.base_url()),
            &[
                ua,
                ("Authorization", auth.as_str()),
                ("X-GitHub-Api-Version", "1999-01-01"),
            ],
            "",
        );
        assert_eq!(status, 400);
        assert_eq!(fake.requests().len(), 11);
        assert_eq!(fake.pull_requests().len(), 1);
    }

    #[test]
    fn github_fake_lists_only_open_matching_pull_requests_newest_first() {
        let fake = FakeGitHub::start();
        let url = format!("{}/repos/acme/shop/pulls", fake.base_url());
        let auth = format!("Bearer {}", fake.token());
        let headers = [("User-Agent", "test"), ("Authorization", auth.as_str())];
        for head in ["a", "b", "c"] {
            let body = json!({"title": head, "head": head, "base": "main"}).to_string();
            assert_eq!(call("POST", &url, &headers, &body).0, 201);
        }
        fake.close_pull_request("acme/shop", 2);
        let (_, all) = call("GET", &format!("{url}?state=all"), &headers, "");
        let numbers: Vec<u64> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["number"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers, [3, 2, 1]);
        let (_, open) = call("GET", &url, &headers, "");
        assert_eq!(open.as_array().unwrap().len(), 2);
        let (_, by_head) = call("GET", &format!("{url}?head=acme%3Ac"), &headers, "");
        assert_eq!(by_head[0]["number"], 3);
        assert_eq!(by_head.as_array().unwrap().len(), 1);
        // A head filter without the owner is ignored, as the real API does.
        let (_, unfiltered) = call("GET", &format!("{url}?head=c"), &headers, "");
        assert_eq!(unfiltered.as_array().unwrap().len(), 2);
        let (_, other_owner) = call("GET", &format!("{url}?head=fork%3Ac"), &headers, "");
        assert_eq!(other_owner, json!([]));
        // Once closed, a new pull request for the same branches is fine.
        let body = json!({"title": "again", "head": "b", "base": "main"}).to_string();
        assert_eq!(call("POST", &url, &headers, &body).0, 201);
    }

    #[test]
    fn github_fake_can_fail_on_demand_and_check_pushed_branches() {
        let fake = FakeGitHub::start();
        let url = format!("{}/repos/acme/shop/pulls", fake.base_url());
        let auth = format!("Bearer {}", fake.token());
        let headers = [("User-Agent", "test"), ("Authorization", auth.as_str())];
        fake.fail_next("post", 502, json!({"message": "Server Error"}));
        let body = json!({"title": "t", "head": "topic", "base": "main"}).to_string();
        assert_eq!(call("POST", &url, &headers, &body).0, 502);

        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "{args:?}");
        };
        git(&["init", "--quiet", "--bare", "-b", "main", "origin.git"]);
        fake.require_branches_in(dir.path().join("origin.git"));
        let (status, refused) = call("POST", &url, &headers, &body);
        assert_eq!(status, 422);
        assert_eq!(refused["errors"][0]["field"], "base");
        assert!(fake.pull_requests().is_empty());
    }

    #[test]
    fn gitlab_fake_checks_token_fields_and_routes() {
        let fake = FakeGitLab::start();
        let url = format!("{}/projects/g%2Fp/merge_requests", fake.base_url());
        let token = fake.token();
        let (status, body) = call("GET", &url, &[], "");
        assert_eq!(
            (status, body),
            (401, json!({"message": "401 Unauthorized"}))
        );
        let (status, _) = call(
            "GET",
            &url,
            &[("Authorization", &format!("Bearer {token}"))],
            "",
        );
        assert_eq!(status, 200);

        let headers = [("PRIVATE-TOKEN", token.as_str())];
        let (status, body) = call("POST", &url, &headers, r#"{"title": 3}"#);
        assert_eq!(
            (status, body),
            (
                400,
                json!({"error": "source_branch is missing, target_branch is missing, title is invalid"})
            )
        );
        let (status, body) = call(
            "POST",
            &url,
            &headers,
            r#"{"source_branch":"x","target_branch":"main","title":"[Draft] t","reviewer_ids":[4]}"#,
        );
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            (body["draft"].as_bool(), body["iid"].as_u64()),
            (Some(true), Some(1))
        );
        let mr = format!("{url}/1");
        let (status, body) = call("PUT", &mr, &headers, "{}");
        assert_eq!(status, 400);
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .ends_with("at least one parameter must be provided")
        );
        let (status, body) = call(
            "PUT",
            &mr,
            &headers,
            r#"{"state_event":"close","title":"t"}"#,
        );
        assert_eq!(
            (status, body["state"].as_str(), body["draft"].as_bool()),
            (200, Some("closed"), Some(false))
        );
        let (status, body) = call("PUT", &mr, &headers, r#"{"reviewer_ids":["alice"]}"#);
        assert_eq!(
            (status, body),
            (400, json!({"error": "reviewer_ids is invalid"}))
        );
        let (_, opened) = call("GET", &format!("{url}?state=opened"), &headers, "");
        assert_eq!(opened, json!([]));
        let (status, _) = call(
            "GET",
            &format!("{}/projects/g%2Fp/issues", fake.base_url()),
            &headers,
            "",
        );
        assert_eq!(status, 404);
        let merges = fake.merge_requests();
        assert_eq!(merges[0].reviewer_ids, [4]);
        assert_eq!(merges[0].state, "closed");
        assert_eq!(merges[0].project, "g/p");
    }

    /// The raw text of an answer, for the form-encoded one.
    fn text(url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
        let mut request = agent().post(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.send(body).expect("the fake answers");
        let status = response.status().as_u16();
        (
            status,
            response.body_mut().read_to_string().expect("a body"),
        )
    }

    #[test]
    fn oauth_doubles_check_the_app_and_the_callback_and_issue_usable_tokens() {
        let github = FakeGitHub::start();
        let callback = "http://127.0.0.1:1/oauth/github/callback";
        let authorize = format!("{}/login/oauth/authorize", github.base_url());
        // No app yet, an unknown client, another callback: no redirect.
        let (status, _) = call("GET", &format!("{authorize}?client_id=app"), &[], "");
        assert_eq!(status, 404);
        github.oauth().enable("app", "app-secret", callback);
        let (status, _) = call("GET", &format!("{authorize}?client_id=other"), &[], "");
        assert_eq!(status, 404);
        let elsewhere = format!("{authorize}?client_id=app&redirect_uri=http%3A%2F%2Fevil.test%2F");
        assert_eq!(call("GET", &elsewhere, &[], "").0, 400);
        // The person cancels once.
        github.oauth().deny_next();
        let denied = follow_authorize(&format!("{authorize}?client_id=app&state=s%201"));
        assert!(
            denied.starts_with(&format!("{callback}?error=access_denied&")),
            "{denied}"
        );
        assert!(denied.ends_with("&state=s%201"), "{denied}");
        let approved = follow_authorize(&format!("{authorize}?client_id=app&state=s2"));
        let code = approved
            .strip_prefix(&format!("{callback}?code="))
            .and_then(|rest| rest.strip_suffix("&state=s2"))
            .expect("a code and the state")
            .to_string();
        // Without `Accept: application/json`, GitHub answers a form.
        let token_url = format!("{}/login/oauth/access_token", github.base_url());
        let form = format!("client_id=app&client_secret=app-secret&code={code}");
        let (status, answer) = text(&token_url, &[], &form);
        assert_eq!(status, 200);
        assert!(
            answer.starts_with("access_token=gho_fake_oauth_access_1&"),
            "{answer}"
        );
        let issued = github.oauth().tokens();
        assert_eq!(issued.len(), 1);
        assert!(issued[0].live && issued[0].refresh_token.is_none());
        // The API takes it, also under GitHub Enterprise's `/api/v3`.
        let bearer = format!("Bearer {}", issued[0].access_token);
        let headers = [("Authorization", bearer.as_str()), ("User-Agent", "test")];
        let pulls = format!("{}/api/v3/repos/acme/shop/pulls", github.base_url());
        assert_eq!(call("GET", &pulls, &headers, "").0, 200);
        // A code works once.
        let (status, refused) = call("POST", &token_url, &[], &form);
        assert_eq!(
            (status, refused["error"].as_str()),
            (200, Some("bad_verification_code"))
        );

        let gitlab = FakeGitLab::start();
        let callback = "http://127.0.0.1:1/oauth/gitlab/callback";
        gitlab.oauth().enable("app", "app-secret", callback);
        gitlab.oauth().set_expires_in(0);
        let approved = follow_authorize(&format!(
            "{}/oauth/authorize?client_id=app&redirect_uri={}&response_type=code&state=x",
            gitlab.web_url(),
            percent_encode(callback)
        ));
        let code = approved
            .strip_prefix(&format!("{callback}?code="))
            .and_then(|rest| rest.strip_suffix("&state=x"))
            .expect("a code and the state")
            .to_string();
        let token_url = format!("{}/oauth/token", gitlab.web_url());
        let grant = json!({"client_id": "app", "client_secret": "wrong", "code": code,
                           "grant_type": "authorization_code", "redirect_uri": callback});
        let (status, refused) = call("POST", &token_url, &[], &grant.to_string());
        assert_eq!(
            (status, refused["error"].as_str()),
            (401, Some("invalid_client"))
        );
        let mut grant = grant;
        grant["client_secret"] = json!("app-secret");
        let (status, tokens) = call("POST", &token_url, &[], &grant.to_string());
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(tokens["expires_in"], 0);
        // Expired at once: the API says so, as GitLab does.
        let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
        let users = format!("{}/users", gitlab.base_url());
        let (status, answer) = call("GET", &users, &[("Authorization", bearer.as_str())], "");
        assert_eq!(
            (status, answer["error"].as_str()),
            (401, Some("invalid_token"))
        );
        let accepts = gitlab.token_check();
        assert!(!accepts(tokens["access_token"].as_str().unwrap()));
        assert!(accepts(&gitlab.token()));
    }

    #[test]
    fn fakes_stop_when_dropped() {
        let base = FakeGitLab::start().base_url();
        let result = agent().get(format!("{base}/users")).call();
        assert!(result.is_err(), "{result:?}");
    }
}
