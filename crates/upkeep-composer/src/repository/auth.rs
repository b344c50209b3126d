//! Credentials for repository hosts, read the way Composer reads them: `auth.json` in
//! `COMPOSER_HOME`, the `COMPOSER_AUTH` variable, the `config` section of `composer.json`, and
//! `auth.json` beside `composer.json`, each overriding the one before it per host.
//!
//! Secrets never appear in `Debug` output or error messages.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use indexmap::IndexMap;
use serde_json::Value;

/// The credential kinds Composer knows, in the order Composer applies them: when one host has
/// several, the later kind wins (a `bearer` token beats `http-basic`).
const KINDS: [&str; 5] = [
    "github-oauth",
    "gitlab-oauth",
    "gitlab-token",
    "http-basic",
    "bearer",
];

/// Credentials per host (`example.org`, or `host:port` when the URL names a port).
#[derive(Clone, Default)]
pub struct AuthConfig {
    /// Host to credentials by kind; every kind is kept so that precedence can be applied.
    hosts: IndexMap<String, HostCredentials>,
}

#[derive(Clone, Default)]
struct HostCredentials {
    github_oauth: Option<String>,
    gitlab_oauth: Option<String>,
    gitlab_token: Option<GitlabToken>,
    http_basic: Option<(String, String)>,
    bearer: Option<String>,
}

#[derive(Clone)]
enum GitlabToken {
    Private(String),
    /// `{"username": ..., "token": ...}`: sent as basic authentication.
    Deploy {
        username: String,
        token: String,
    },
}

/// An `auth.json`, `COMPOSER_AUTH` or `config` section that is not what Composer accepts.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// The authentication header to send with a request.
pub(crate) struct AuthHeader {
    pub(crate) name: &'static str,
    pub(crate) value: String,
}

impl AuthConfig {
    /// Reads credentials from the places Composer reads them, the weakest first: `auth.json` in
    /// `composer_home`, `COMPOSER_AUTH` (the variable's value), the `config` of `composer.json`,
    /// and `auth.json` in the project directory.
    pub fn load(
        project_dir: &Path,
        composer_json: &Value,
        composer_home: Option<&Path>,
        composer_auth_variable: Option<&str>,
    ) -> Result<Self, AuthError> {
        let mut config = Self::default();
        if let Some(home) = composer_home {
            config.merge_file(&home.join("auth.json"))?;
        }
        if let Some(text) = composer_auth_variable.filter(|text| !text.trim().is_empty()) {
            let value: Value = serde_json::from_str(text).map_err(|error| AuthError::Invalid {
                origin: "COMPOSER_AUTH".to_owned(),
                message: format!("not valid JSON: {error}"),
            })?;
            config.merge(&value, "COMPOSER_AUTH")?;
        }
        if let Some(section) = composer_json.get("config") {
            config.merge(section, "composer.json config")?;
        }
        config.merge_file(&project_dir.join("auth.json"))?;
        Ok(config)
    }

    /// [`AuthConfig::load`] with `COMPOSER_HOME` and `COMPOSER_AUTH` from the environment.
    pub fn from_environment(project_dir: &Path, composer_json: &Value) -> Result<Self, AuthError> {
        let variable = std::env::var("COMPOSER_AUTH").ok();
        Self::load(
            project_dir,
            composer_json,
            composer_home().as_deref(),
            variable.as_deref(),
        )
    }

    fn merge_file(&mut self, path: &Path) -> Result<(), AuthError> {
        let text = match fs_err::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(AuthError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let origin = path.display().to_string();
        let value: Value = serde_json::from_str(&text).map_err(|error| AuthError::Invalid {
            origin: origin.clone(),
            message: format!("not valid JSON: {error}"),
        })?;
        self.merge(&value, &origin)
    }

    /// Merges an object with Composer's auth keys (`http-basic`, `bearer`, `github-oauth`,
    /// `gitlab-oauth`, `gitlab-token`) over the credentials already known; other keys are ignored.
    pub fn merge(&mut self, value: &Value, origin: &str) -> Result<(), AuthError> {
        let invalid = |message: String| AuthError::Invalid {
            origin: origin.to_owned(),
            message,
        };
        let Some(object) = value.as_object() else {
            return Err(invalid("expected a JSON object".to_owned()));
        };
        for kind in KINDS {
            let Some(section) = object.get(kind) else {
                continue;
            };
            // PHP writes an empty object as `[]`.
            if section.as_array().is_some_and(Vec::is_empty) {
                continue;
            }
            let Some(hosts) = section.as_object() else {
                return Err(invalid(format!("`{kind}` must be an object of hosts")));
            };
            for (host, credential) in hosts {
                let entry = self.hosts.entry(host.to_lowercase()).or_default();
                let text = || {
                    credential
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| invalid(format!("`{kind}.{host}` must be a string")))
                };
                let field = |name: &str| {
                    credential
                        .get(name)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| invalid(format!("`{kind}.{host}.{name}` must be a string")))
                };
                match kind {
                    "github-oauth" => entry.github_oauth = Some(text()?),
                    "gitlab-oauth" => {
                        let token = match credential.get("token").and_then(Value::as_str) {
                            Some(token) => token.to_owned(),
                            None => text()?,
                        };
                        entry.gitlab_oauth = Some(token);
                    }
                    "gitlab-token" => {
                        let token = if credential.is_object() {
                            GitlabToken::Deploy {
                                username: field("username")?,
                                token: field("token")?,
                            }
                        } else {
                            GitlabToken::Private(text()?)
                        };
                        entry.gitlab_token = Some(token);
                    }
                    "http-basic" => {
                        entry.http_basic = Some((field("username")?, field("password")?));
                    }
                    _ => entry.bearer = Some(text()?),
                }
            }
        }
        Ok(())
    }

    /// Adds `http-basic` credentials for `host` (e.g. from `user:password@` in a repository URL).
    pub fn insert_http_basic(&mut self, host: &str, username: &str, password: &str) {
        self.hosts
            .entry(host.to_lowercase())
            .or_default()
            .http_basic = Some((username.to_owned(), password.to_owned()));
    }

    pub fn insert_bearer(&mut self, host: &str, token: &str) {
        self.hosts.entry(host.to_lowercase()).or_default().bearer = Some(token.to_owned());
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// The header Composer would send with a request for `url`, if any credentials apply.
    pub(crate) fn header_for(&self, url: &str) -> Option<AuthHeader> {
        let (host, host_and_port) = url_host(url)?;
        let origin = composer_origin(&host_and_port);
        let credentials = self
            .hosts
            .get(&origin)
            .or_else(|| self.hosts.get(&composer_origin(&host)))?;
        if let Some(token) = &credentials.bearer {
            return Some(AuthHeader {
                name: "Authorization",
                value: format!("Bearer {token}"),
            });
        }
        if let Some((username, password)) = &credentials.http_basic {
            return Some(basic(username, password));
        }
        if let Some(token) = &credentials.gitlab_token {
            return Some(match token {
                GitlabToken::Private(token) => AuthHeader {
                    name: "PRIVATE-TOKEN",
                    value: token.clone(),
                },
                GitlabToken::Deploy { username, token } => basic(username, token),
            });
        }
        if let Some(token) = &credentials.gitlab_oauth {
            return Some(AuthHeader {
                name: "Authorization",
                value: format!("Bearer {token}"),
            });
        }
        // Composer sends a GitHub token only to the API, never to other github.com URLs.
        match &credentials.github_oauth {
            Some(token) if host == "api.github.com" => Some(AuthHeader {
                name: "Authorization",
                value: format!("token {token}"),
            }),
            _ => None,
        }
    }
}

fn basic(username: &str, password: &str) -> AuthHeader {
    AuthHeader {
        name: "Authorization",
        value: format!("Basic {}", BASE64.encode(format!("{username}:{password}"))),
    }
}

/// Composer's name for the credentials of a host: GitHub subdomains share `github.com`'s, and
/// `repo.packagist.org` uses `packagist.org`'s.
fn composer_origin(host: &str) -> String {
    let host = host.to_lowercase();
    if host.ends_with(".github.com") {
        return "github.com".to_owned();
    }
    if host == "repo.packagist.org" {
        return "packagist.org".to_owned();
    }
    host
}

/// The host and the `host:port` of an http(s) URL (both the same without an explicit port).
pub(crate) fn url_host(url: &str) -> Option<(String, String)> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if authority.is_empty() {
        return None;
    }
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        // An IPv6 literal: `[::1]:8080`.
        format!("[{}]", bracketed.split(']').next().unwrap_or_default())
    } else {
        authority.split(':').next().unwrap_or_default().to_owned()
    };
    Some((host.to_lowercase(), authority.to_lowercase()))
}

/// `COMPOSER_HOME`, or the directory Composer would pick: `$XDG_CONFIG_HOME/composer` (or
/// `~/.config/composer`) when it exists, else `~/.composer`.
pub fn composer_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("COMPOSER_HOME").filter(|home| !home.is_empty()) {
        return Some(PathBuf::from(home));
    }
    let user_home = PathBuf::from(std::env::var_os("HOME").filter(|home| !home.is_empty())?);
    let xdg_config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| user_home.join(".config"), PathBuf::from);
    let xdg_dir = xdg_config.join("composer");
    let legacy_dir = user_home.join(".composer");
    if xdg_dir.is_dir() || !legacy_dir.is_dir() {
        Some(xdg_dir)
    } else {
        Some(legacy_dir)
    }
}

impl fmt::Debug for AuthConfig {
    /// Names hosts and kinds of credentials, never their values.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = formatter.debug_map();
        for (host, credentials) in &self.hosts {
            let mut kinds = Vec::new();
            if credentials.github_oauth.is_some() {
                kinds.push("github-oauth: ***");
            }
            if credentials.gitlab_oauth.is_some() {
                kinds.push("gitlab-oauth: ***");
            }
            if credentials.gitlab_token.is_some() {
                kinds.push("gitlab-token: ***");
            }
            if credentials.http_basic.is_some() {
                kinds.push("http-basic: ***");
            }
            if credentials.bearer.is_some() {
                kinds.push("bearer: ***");
            }
            map.entry(host, &kinds.join(", "));
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn header(config: &AuthConfig, url: &str) -> Option<(&'static str, String)> {
        config
            .header_for(url)
            .map(|header| (header.name, header.value))
    }

    #[test]
    fn basic_and_bearer_per_host_and_port() {
        let mut config = AuthConfig::default();
        config
            .merge(
                &json!({
                    "http-basic": {"repo.acme.test": {"username": "ann", "password": "s3cret"}},
                    "bearer": {"127.0.0.1:8080": "tok"}
                }),
                "test",
            )
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            header(&config, "https://repo.acme.test/packages.json"),
            Some(("Authorization", "Basic YW5uOnMzY3JldA==".to_owned()))
        );
        // Without a port in the key, the credentials of the host still apply on any port.
        assert_eq!(
            header(&config, "https://repo.acme.test:8443/p2/a/b.json"),
            Some(("Authorization", "Basic YW5uOnMzY3JldA==".to_owned()))
        );
        assert_eq!(
            header(&config, "http://127.0.0.1:8080/p2/a/b.json"),
            Some(("Authorization", "Bearer tok".to_owned()))
        );
        assert_eq!(header(&config, "http://127.0.0.1:9090/p2/a/b.json"), None);
        assert_eq!(header(&config, "https://other.test/"), None);
    }

    #[test]
    fn later_sources_override_earlier_ones_and_bearer_beats_basic() {
        let project = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let home = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        fs_err::write(
            home.path().join("auth.json"),
            r#"{"http-basic": {"a.test": {"username": "global", "password": "g"},
                               "b.test": {"username": "global", "password": "g"},
                               "c.test": {"username": "global", "password": "g"}}}"#,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        fs_err::write(
            project.path().join("auth.json"),
            r#"{"http-basic": {"a.test": {"username": "local", "password": "l"}}}"#,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let composer_json = json!({"config": {"bearer": {"c.test": "from-config"}}});
        let config = AuthConfig::load(
            project.path(),
            &composer_json,
            Some(home.path()),
            Some(r#"{"http-basic": {"b.test": {"username": "env", "password": "e"}}}"#),
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let user = |url: &str| {
            let (_, value) = header(&config, url).expect("credentials apply");
            let encoded = value.strip_prefix("Basic ").expect("basic auth").to_owned();
            String::from_utf8(BASE64.decode(encoded).expect("base64")).expect("utf-8")
        };
        assert_eq!(user("https://a.test/"), "local:l");
        assert_eq!(user("https://b.test/"), "env:e");
        assert_eq!(
            header(&config, "https://c.test/"),
            Some(("Authorization", "Bearer from-config".to_owned()))
        );
    }

    #[test]
    fn gitlab_and_github_tokens() {
        let mut config = AuthConfig::default();
        config
            .merge(
                &json!({
                    "gitlab-token": {"gitlab.acme.test": "glpat", "gl2.test": {"username": "deploy", "token": "t"}},
                    "github-oauth": {"github.com": "ghp"}
                }),
                "test",
            )
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            header(
                &config,
                "https://gitlab.acme.test/api/v4/group/1/-/packages/composer/packages.json"
            ),
            Some(("PRIVATE-TOKEN", "glpat".to_owned()))
        );
        assert_eq!(
            header(&config, "https://gl2.test/"),
            Some(("Authorization", "Basic ZGVwbG95OnQ=".to_owned()))
        );
        assert_eq!(
            header(&config, "https://api.github.com/repos/a/b/zipball/x"),
            Some(("Authorization", "token ghp".to_owned()))
        );
        assert_eq!(header(&config, "https://github.com/a/b"), None);
    }

    #[test]
    fn debug_output_masks_secrets() {
        let mut config = AuthConfig::default();
        config.insert_http_basic("repo.test", "ann", "hunter2");
        config.insert_bearer("other.test", "tok-123");
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2") && !debug.contains("tok-123") && !debug.contains("ann"));
        assert_eq!(
            debug,
            r#"{"repo.test": "http-basic: ***", "other.test": "bearer: ***"}"#
        );
    }

    #[test]
    fn malformed_sources_are_reported_with_their_origin() {
        let project = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let error = AuthConfig::load(project.path(), &json!({}), None, Some("{nope"))
            .expect_err("COMPOSER_AUTH is not JSON");
        assert!(
            error
                .to_string()
                .starts_with("COMPOSER_AUTH: not valid JSON"),
            "{error}"
        );
        let error = AuthConfig::default()
            .merge(
                &json!({"http-basic": {"a.test": {"username": "x"}}}),
                "auth.json",
            )
            .expect_err("no password");
        assert_eq!(
            error.to_string(),
            "auth.json: `http-basic.a.test.password` must be a string"
        );
        // An empty list is PHP's empty object.
        let mut config = AuthConfig::default();
        config
            .merge(&json!({"bearer": [], "github-oauth": {}}), "auth.json")
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(config.is_empty());
    }

    #[test]
    fn url_hosts() {
        assert_eq!(
            url_host("https://user:pw@Repo.Test:8443/x"),
            Some(("repo.test".to_owned(), "repo.test:8443".to_owned()))
        );
        assert_eq!(
            url_host("http://[::1]:80/p"),
            Some(("[::1]".to_owned(), "[::1]:80".to_owned()))
        );
        assert_eq!(url_host("file:///tmp/repo"), None);
    }
}
