//! What the upgrader needs from a forge, independent of which one: the [`Forge`] trait, the
//! pull/merge request types, the API [`Token`], the errors, and the blocking HTTP plumbing the
//! GitHub and GitLab clients share.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::github::GitHub;
use crate::gitlab::GitLab;
use crate::remote::{ForgeKind, RemoteRepository};

/// A pull request (GitHub) or merge request (GitLab), with the fields the upgrader uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    /// GitHub's `number`, GitLab's `iid` (the number people see, `!12`).
    pub number: u64,
    /// The page people open (`html_url` / `web_url`).
    pub url: String,
    /// Source branch.
    pub head: String,
    /// Target branch.
    pub base: String,
    pub title: String,
}

/// What to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPullRequest {
    pub title: String,
    pub body: String,
    /// Source branch, already pushed to the same repository.
    pub head: String,
    /// Target branch.
    pub base: String,
    /// Open as a draft (GitLab: the title gets the `Draft: ` prefix).
    pub draft: bool,
}

/// The calls the upgrader makes on a forge. Implemented by [`GitHub`] and [`GitLab`].
pub trait Forge {
    /// Which forge this is (for its words: pull request #7, merge request !7).
    fn kind(&self) -> ForgeKind;
    /// The open request from branch `head` into `base` in this repository, if there is one.
    fn find_open_request(&self, head: &str, base: &str) -> Result<Option<PullRequest>, ForgeError>;
    fn create_request(&self, request: &NewPullRequest) -> Result<PullRequest, ForgeError>;
    /// Replaces title and body (description) of request `number`.
    fn update_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, ForgeError>;
    /// Asks the users (logins / usernames) to review request `number`. All or nothing: when one
    /// of them is refused or unknown, nobody is requested and the error names the reason.
    fn request_reviewers(&self, number: u64, reviewers: &[String]) -> Result<(), ForgeError>;
    /// Registers a webhook that sends every push to the repository to `url`, signed with
    /// `secret` (GitHub) or carrying it (GitLab). Returns the forge's id of the hook. The
    /// secret is masked in errors, as the token is.
    fn create_push_webhook(&self, url: &str, secret: &str) -> Result<u64, ForgeError>;
    /// Removes webhook `id` (one that [`Forge::create_push_webhook`] made).
    fn delete_webhook(&self, id: u64) -> Result<(), ForgeError>;
}

impl<F: Forge + ?Sized> Forge for Box<F> {
    fn kind(&self) -> ForgeKind {
        (**self).kind()
    }
    fn find_open_request(&self, head: &str, base: &str) -> Result<Option<PullRequest>, ForgeError> {
        (**self).find_open_request(head, base)
    }
    fn create_request(&self, request: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        (**self).create_request(request)
    }
    fn update_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, ForgeError> {
        (**self).update_request(number, title, body)
    }
    fn request_reviewers(&self, number: u64, reviewers: &[String]) -> Result<(), ForgeError> {
        (**self).request_reviewers(number, reviewers)
    }
    fn create_push_webhook(&self, url: &str, secret: &str) -> Result<u64, ForgeError> {
        (**self).create_push_webhook(url, secret)
    }
    fn delete_webhook(&self, id: u64) -> Result<(), ForgeError> {
        (**self).delete_webhook(id)
    }
}

/// The client for `remote`'s forge, talking to `api_base` or, when `None`, to the default
/// API base of the remote ([`RemoteRepository::api_base`]).
pub fn connect(
    remote: &RemoteRepository,
    api_base: Option<&str>,
    token: Token,
) -> Result<Box<dyn Forge>, ForgeError> {
    let unknown = || ForgeError::UnknownForge {
        host: remote.host.clone(),
    };
    let default_base = remote.api_base();
    let base = api_base.or(default_base.as_deref()).ok_or_else(unknown)?;
    match remote.kind {
        ForgeKind::GitHub => Ok(Box::new(GitHub::new(base, &remote.path, token)?)),
        ForgeKind::GitLab => Ok(Box::new(GitLab::new(base, &remote.path, token)?)),
        ForgeKind::Unknown => Err(unknown()),
    }
}

/// An API token. It is sent in a header and nowhere else: `Debug` shows `Token(<redacted>)`,
/// and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

/// Read first, before the forge's own variable: an explicit choice for upkeep beats the
/// `GITHUB_TOKEN` a CI system may set on its own with fewer permissions.
pub const TOKEN_VARIABLE: &str = "UPKEEP_FORGE_TOKEN";

impl Token {
    pub fn new(secret: impl Into<String>) -> Self {
        Token(secret.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_secret(self) -> String {
        self.0
    }

    /// `UPKEEP_FORGE_TOKEN`, else `GITHUB_TOKEN` / `GITLAB_TOKEN` by kind; blank values count
    /// as unset.
    pub fn from_env(kind: ForgeKind) -> Option<Token> {
        Self::from_lookup(kind, |name| std::env::var(name).ok())
    }

    /// [`Token::from_env`] over any variable lookup (tests, a server's per-project settings).
    pub fn from_lookup(kind: ForgeKind, lookup: impl Fn(&str) -> Option<String>) -> Option<Token> {
        let mut names = vec![TOKEN_VARIABLE];
        match kind {
            ForgeKind::GitHub => names.push("GITHUB_TOKEN"),
            ForgeKind::GitLab => names.push("GITLAB_TOKEN"),
            ForgeKind::Unknown => {}
        }
        names
            .into_iter()
            .filter_map(&lookup)
            .map(|value| value.trim().to_string())
            .find(|value| !value.is_empty())
            .map(Token)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// A failed forge call. Messages name the method and URL (never the token) and, for the
/// statuses people run into, what to check.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("{method} {url}: {source}")]
    Transport {
        method: &'static str,
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("{method} {url} answered HTTP {status}: {message}")]
    Api {
        method: &'static str,
        url: String,
        status: u16,
        /// The API's own words (`message`, `errors`, `error`).
        message: String,
    },
    #[error("{method} {url}: unexpected response: {detail}")]
    InvalidResponse {
        method: &'static str,
        url: String,
        detail: String,
    },
    #[error("`{0}` is not a GitHub repository path of the form `owner/repo`")]
    InvalidRepositoryPath(String),
    #[error("the API base URL `{0}` is not an http(s) URL")]
    InvalidApiBase(String),
    #[error("no GitLab user named {}; nobody was asked to review", .0.join(", "))]
    UnknownUsers(Vec<String>),
    #[error("cannot tell whether {host} runs GitHub or GitLab")]
    UnknownForge { host: String },
}

impl ForgeError {
    /// The same error with `secret` (a webhook secret the API may have echoed) masked.
    #[must_use]
    pub fn masking(self, secret: &str) -> Self {
        let secrets = [secret.to_string()];
        match self {
            Self::Api {
                method,
                url,
                status,
                message,
            } => Self::Api {
                method,
                url,
                status,
                message: mask_all(&message, &secrets),
            },
            Self::InvalidResponse {
                method,
                url,
                detail,
            } => Self::InvalidResponse {
                method,
                url,
                detail: mask_all(&detail, &secrets),
            },
            other => other,
        }
    }

    /// The HTTP status of an API refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            ForgeError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl upkeep_hint::Hint for ForgeError {
    /// What to check, for the statuses people run into and the errors of configuration.
    fn hint(&self) -> Option<String> {
        let hint = match self {
            Self::Api { status: 401, .. } => {
                "the token was refused (wrong or expired); set UPKEEP_FORGE_TOKEN, GITHUB_TOKEN or GITLAB_TOKEN"
            }
            Self::Api {
                status: 403, url, ..
            } if url.ends_with("/hooks") => {
                "the token may not manage webhooks (GitHub: the repository's webhooks read and write, or admin; GitLab: the `api` scope and the Maintainer role)"
            }
            Self::Api { status: 403, .. } => {
                "the token lacks a permission (GitHub: pull requests read and write; GitLab: the `api` scope and at least the Developer role)"
            }
            Self::Api { status: 404, .. } => {
                "check the repository path and API base URL; a repository the token cannot see also answers 404"
            }
            Self::UnknownUsers(_) => "reviewers are GitLab usernames, without `@`",
            Self::UnknownForge { .. } => {
                "configure the forge kind (github or gitlab) for this repository"
            }
            _ => return None,
        };
        Some(hint.to_string())
    }
}

/// The HTTP side shared by both clients: one agent, JSON in and out, statuses as values so
/// that the API's error text can be read.
pub(crate) struct Http {
    agent: ureq::Agent,
    base: String,
    headers: Vec<(&'static str, String)>,
    auth_header: &'static str,
    auth_value: Token,
    /// What every message this client produces has masked: the token, and the header value
    /// built from it. An API may echo what it was sent in an error body.
    secrets: Vec<String>,
}

/// What a token is replaced with in messages.
pub const MASK: &str = "***";

/// Secrets shorter than this are not masked: masking a one-letter test token would mangle
/// every message, and no real token is that short.
const MIN_MASKED_CHARS: usize = 4;

pub(crate) enum Method {
    Post,
    Put,
    Patch,
}

impl Method {
    fn as_str(&self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
        }
    }
}

impl Http {
    pub(crate) fn new(
        base: &str,
        headers: Vec<(&'static str, String)>,
        auth_header: &'static str,
        auth_value: Token,
        token: &str,
    ) -> Result<Self, ForgeError> {
        let mut secrets: Vec<String> = [auth_value.expose(), token]
            .into_iter()
            .map(str::trim)
            .filter(|secret| secret.chars().count() >= MIN_MASKED_CHARS)
            .map(str::to_string)
            .collect();
        // The longer one first, so that `Bearer <token>` is masked whole.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        let base = base.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(ForgeError::InvalidApiBase(mask_all(base, &secrets)));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(user_agent())
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_global(Some(Duration::from_mins(1)))
            .build()
            .new_agent();
        Ok(Http {
            agent,
            base: base.to_string(),
            headers,
            auth_header,
            auth_value,
            secrets,
        })
    }

    /// `text` with every known secret replaced by [`MASK`].
    fn mask(&self, text: &str) -> String {
        mask_all(text, &self.secrets)
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    pub(crate) fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, ForgeError> {
        let mut url = format!("{}{path}", self.base);
        for (index, (key, value)) in query.iter().enumerate() {
            url.push(if index == 0 { '?' } else { '&' });
            url.push_str(&percent_encode(key));
            url.push('=');
            url.push_str(&percent_encode(value));
        }
        let mut request = self
            .agent
            .get(&url)
            .header(self.auth_header, self.auth_value.expose());
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let response = request.call();
        self.finish("GET", &url, response)
    }

    pub(crate) fn send(
        &self,
        method: &Method,
        path: &str,
        body: &Value,
    ) -> Result<Value, ForgeError> {
        let url = format!("{}{path}", self.base);
        let mut request = match method {
            Method::Post => self.agent.post(&url),
            Method::Put => self.agent.put(&url),
            Method::Patch => self.agent.patch(&url),
        }
        .header(self.auth_header, self.auth_value.expose())
        .content_type("application/json");
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let response = request.send(body.to_string().as_bytes());
        self.finish(method.as_str(), &url, response)
    }

    pub(crate) fn delete(&self, path: &str) -> Result<(), ForgeError> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .agent
            .delete(&url)
            .header(self.auth_header, self.auth_value.expose());
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let response = request.call();
        self.finish("DELETE", &url, response).map(drop)
    }

    /// [`Http::get`], read into `T` (`what` names it in the error).
    pub(crate) fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<T, ForgeError> {
        let value = self.get(path, query)?;
        self.decode(value, what, "GET", path)
    }

    /// [`Http::send`], its answer read into `T` (`what` names it in the error).
    pub(crate) fn send_as<T: serde::de::DeserializeOwned>(
        &self,
        method: &Method,
        path: &str,
        body: &Value,
        what: &str,
    ) -> Result<T, ForgeError> {
        let value = self.send(method, path, body)?;
        self.decode(value, what, method.as_str(), path)
    }

    /// Reads a response into `T`, or says which response (method and URL, without the query)
    /// was not what the API documents.
    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        value: Value,
        what: &str,
        method: &'static str,
        path: &str,
    ) -> Result<T, ForgeError> {
        serde_json::from_value(value).map_err(|error| ForgeError::InvalidResponse {
            method,
            url: self.mask(&format!("{}{path}", self.base)),
            detail: self.mask(&format!("{what}: {error}")),
        })
    }

    fn finish(
        &self,
        method: &'static str,
        url: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, ForgeError> {
        let url = self.mask(url);
        let mut response = match response {
            Ok(response) => response,
            Err(source) => {
                return Err(ForgeError::Transport {
                    method,
                    url,
                    source: Box::new(source),
                });
            }
        };
        let status = response.status().as_u16();
        let text = match response.body_mut().read_to_string() {
            Ok(text) => text,
            Err(source) => {
                return Err(ForgeError::Transport {
                    method,
                    url,
                    source: Box::new(source),
                });
            }
        };
        if !(200..300).contains(&status) {
            return Err(ForgeError::Api {
                method,
                url,
                status,
                message: api_message(&text, &self.secrets),
            });
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|error| ForgeError::InvalidResponse {
            method,
            url,
            detail: format!("not JSON ({error})"),
        })
    }
}

pub(crate) fn user_agent() -> String {
    format!("upkeep/{}", env!("CARGO_PKG_VERSION"))
}

/// Collects the human-readable parts of an API error body: GitHub's `message` and `errors`,
/// GitLab's `message` (a string, a list or a field map) and `error`, with `secrets` masked
/// (before anything is shortened, so that no part of one is left).
pub(crate) fn api_message(body: &str, secrets: &[String]) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        let text = mask_all(body.trim(), secrets);
        return if text.is_empty() {
            "(no response body)".to_string()
        } else {
            text.chars().take(300).collect()
        };
    };
    let mut parts = Vec::new();
    for key in ["message", "error", "error_description"] {
        if let Some(part) = value.get(key).map(flatten)
            && !part.is_empty()
        {
            parts.push(part);
        }
    }
    if let Some(Value::Array(errors)) = value.get("errors") {
        for error in errors {
            let part = match error {
                Value::Object(map) => {
                    let field = |key| map.get(key).and_then(Value::as_str);
                    if let Some(message) = field("message") {
                        message.to_string()
                    } else {
                        let field = |key| field(key).unwrap_or("?");
                        format!(
                            "{} {}: {}",
                            field("resource"),
                            field("field"),
                            field("code")
                        )
                    }
                }
                other => flatten(other),
            };
            parts.push(part);
        }
    }
    if parts.is_empty() {
        mask_all(&value.to_string(), secrets)
            .chars()
            .take(300)
            .collect()
    } else {
        mask_all(&parts.join("; "), secrets)
    }
}

/// `text` with every occurrence of each secret (longest first) replaced by [`MASK`].
fn mask_all(text: &str, secrets: &[String]) -> String {
    let mut masked = text.to_string();
    for secret in secrets {
        if masked.contains(secret.as_str()) {
            masked = masked.replace(secret.as_str(), MASK);
        }
    }
    masked
}

fn flatten(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(flatten).collect::<Vec<_>>().join("; "),
        Value::Object(map) => map
            .iter()
            .map(|(key, value)| format!("{key} {}", flatten(value)))
            .collect::<Vec<_>>()
            .join("; "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for path segments (GitLab's
/// `group%2Fproject` ids) and query values alike.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_hides_the_secret() {
        let token = Token::new("ghp_supersecret");
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        assert_eq!(token.expose(), "ghp_supersecret");
    }

    #[test]
    fn token_lookup_prefers_the_explicit_variable_and_skips_blanks() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_string())
            }
        };
        let both = env(&[("UPKEEP_FORGE_TOKEN", "explicit"), ("GITHUB_TOKEN", "ci")]);
        assert_eq!(
            Token::from_lookup(ForgeKind::GitHub, both),
            Some(Token::new("explicit"))
        );
        let blank = env(&[("UPKEEP_FORGE_TOKEN", "  "), ("GITLAB_TOKEN", "glpat\n")]);
        assert_eq!(
            Token::from_lookup(ForgeKind::GitLab, blank),
            Some(Token::new("glpat"))
        );
        let github_only = env(&[("GITHUB_TOKEN", "ci")]);
        assert_eq!(Token::from_lookup(ForgeKind::GitLab, github_only), None);
        assert_eq!(Token::from_lookup(ForgeKind::Unknown, github_only), None);
    }

    #[test]
    fn api_messages_read_both_apis_error_shapes() {
        assert_eq!(
            api_message(
                r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:topic."}],"documentation_url":"x"}"#,
                &[]
            ),
            "Validation Failed; A pull request already exists for acme:topic."
        );
        assert_eq!(
            api_message(
                r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","field":"head","code":"invalid"}]}"#,
                &[]
            ),
            "Validation Failed; PullRequest head: invalid"
        );
        assert_eq!(
            api_message(
                r#"{"message":["Another open merge request already exists for this source branch: !3"]}"#,
                &[]
            ),
            "Another open merge request already exists for this source branch: !3"
        );
        assert_eq!(
            api_message(r#"{"message":{"title":["is too long"]}}"#, &[]),
            "title is too long"
        );
        assert_eq!(
            api_message(r#"{"error":"title is missing"}"#, &[]),
            "title is missing"
        );
        assert_eq!(
            api_message("<html>Bad Gateway</html>", &[]),
            "<html>Bad Gateway</html>"
        );
        assert_eq!(api_message("", &[]), "(no response body)");
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("group/sub/project"), "group%2Fsub%2Fproject");
        assert_eq!(
            percent_encode("acme:upkeep/upgrade-for-main"),
            "acme%3Aupkeep%2Fupgrade-for-main"
        );
        assert_eq!(percent_encode("a b+ü"), "a%20b%2B%C3%BC");
    }

    #[test]
    fn connect_refuses_an_unknown_forge_without_configuration() {
        let remote = RemoteRepository::parse("git@code.example.com:team/app.git").unwrap();
        let error = connect(&remote, Some("http://127.0.0.1:1"), Token::new("t")).err();
        assert!(
            matches!(&error, Some(ForgeError::UnknownForge { host }) if host == "code.example.com"),
            "{error:?}"
        );
        let error = error.unwrap();
        assert_eq!(
            error.to_string(),
            "cannot tell whether code.example.com runs GitHub or GitLab"
        );
        assert_eq!(
            upkeep_hint::Hint::hint(&error).as_deref(),
            Some("configure the forge kind (github or gitlab) for this repository")
        );
    }

    #[test]
    fn refusals_say_what_to_check_in_the_hint_not_the_message() {
        let refused = |status| ForgeError::Api {
            method: "GET",
            url: "https://api.example.com/repos/acme/shop/pulls".to_string(),
            status,
            message: "Bad credentials".to_string(),
        };
        for (status, start) in [
            (401, "the token was refused"),
            (403, "the token lacks a permission"),
            (404, "check the repository path"),
        ] {
            let error = refused(status);
            assert_eq!(
                error.to_string(),
                format!(
                    "GET https://api.example.com/repos/acme/shop/pulls answered HTTP {status}: Bad credentials"
                )
            );
            let hint = upkeep_hint::Hint::hint(&error);
            assert!(
                hint.as_deref().is_some_and(|hint| hint.starts_with(start)),
                "{status}: {hint:?}"
            );
        }
        assert_eq!(upkeep_hint::Hint::hint(&refused(500)), None);
    }
}
