//! Which forge hosts a git remote: a remote URL (`https://`, scp-like `git@host:owner/repo.git`,
//! `ssh://`, `git://`) becomes a [`RemoteRepository`] with its host, its repository path and the
//! kind of forge, from which the REST API base URL follows.
//!
//! ```
//! use upkeep_forge::remote::{ForgeKind, RemoteRepository};
//!
//! let remote = RemoteRepository::parse("git@gitlab.example.com:shop/backend/api.git").unwrap();
//! assert_eq!(remote.kind, ForgeKind::GitLab);
//! assert_eq!(remote.path, "shop/backend/api");
//! assert_eq!(remote.api_base().as_deref(), Some("https://gitlab.example.com/api/v4"));
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// The forge software behind a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    GitHub,
    GitLab,
    /// A host we cannot recognise by name (a self-hosted GitHub Enterprise, a GitLab on a host
    /// without "gitlab" in its name, Gitea, ...): the configuration must say which it is.
    Unknown,
}

impl ForgeKind {
    /// Recognises the public and the conventionally named hosts.
    pub fn detect(host: &str) -> Self {
        let host = host.to_ascii_lowercase();
        if host == "github.com" || host.ends_with(".github.com") {
            ForgeKind::GitHub
        } else if host.contains("gitlab") {
            ForgeKind::GitLab
        } else {
            ForgeKind::Unknown
        }
    }

    /// What the forge calls the request this crate opens.
    pub fn request_noun(self) -> &'static str {
        match self {
            ForgeKind::GitLab => "merge request",
            ForgeKind::GitHub | ForgeKind::Unknown => "pull request",
        }
    }

    /// How people name request `number` there: `pull request #7`, `merge request !7`.
    pub fn request_reference(self, number: u64) -> String {
        match self {
            ForgeKind::GitLab => format!("merge request !{number}"),
            ForgeKind::GitHub | ForgeKind::Unknown => format!("pull request #{number}"),
        }
    }
}

impl fmt::Display for ForgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ForgeKind::GitHub => "GitHub",
            ForgeKind::GitLab => "GitLab",
            ForgeKind::Unknown => "unknown forge",
        })
    }
}

/// A repository on a forge, as named by a git remote URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteRepository {
    /// Lower-case host name without user, password or port.
    pub host: String,
    /// The port of an `http(s)://` remote, which the web interface and API share; `None` for
    /// ssh remotes (their port is the ssh daemon's, not the API's).
    pub web_port: Option<u16>,
    /// `owner/repo` on GitHub, `group/subgroup/project` on GitLab; without `.git`.
    pub path: String,
    pub kind: ForgeKind,
}

/// Why a remote URL names no forge repository.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteUrlError {
    #[error("the remote `{0}` is a local path, not a forge repository")]
    LocalPath(String),
    #[error("the remote URL `{url}` is not understood: {reason}")]
    Malformed { url: String, reason: &'static str },
}

impl upkeep_hint::Hint for RemoteUrlError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::LocalPath(_) => {
                Some("configure the forge kind and repository explicitly".to_string())
            }
            Self::Malformed { .. } => None,
        }
    }
}

impl RemoteRepository {
    /// Parses a remote URL and recognises the forge from the host name ([`ForgeKind::detect`]).
    pub fn parse(url: &str) -> Result<Self, RemoteUrlError> {
        let url = url.trim();
        let malformed = |reason| RemoteUrlError::Malformed {
            url: redact_userinfo(url),
            reason,
        };
        let (authority, path, is_web) = if let Some((scheme, rest)) = url.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            let is_web = match scheme.as_str() {
                "http" | "https" => true,
                "ssh" | "git" | "git+ssh" | "ssh+git" => false,
                "file" => return Err(RemoteUrlError::LocalPath(url.to_string())),
                _ => return Err(malformed("unsupported URL scheme")),
            };
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            (authority, path, is_web)
        } else if let Some((authority, path)) = scp_like(url) {
            (authority, path, false)
        } else {
            return Err(RemoteUrlError::LocalPath(url.to_string()));
        };

        // Credentials in a remote URL (`https://user:token@host/...`) must never travel further.
        let host_port = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let (host, port) = split_port(host_port).ok_or_else(|| malformed("invalid port"))?;
        if host.is_empty() {
            return Err(malformed("no host"));
        }
        let path = path
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .trim_matches('/');
        let path = path
            .strip_suffix(".git")
            .unwrap_or(path)
            .trim_end_matches('/');
        let segments: Vec<&str> = path.split('/').collect();
        if segments.len() < 2
            || segments
                .iter()
                .any(|s| s.is_empty() || *s == "." || *s == "..")
        {
            return Err(malformed("the path is not `owner/repository`"));
        }
        let host = host.to_ascii_lowercase();
        let kind = ForgeKind::detect(&host);
        // ssh.github.com is GitHub's ssh-over-443 endpoint; the API lives at api.github.com.
        let host = if kind == ForgeKind::GitHub {
            "github.com".to_string()
        } else {
            host
        };
        Ok(RemoteRepository {
            host,
            web_port: if is_web { port } else { None },
            path: path.to_string(),
            kind,
        })
    }

    /// The same repository with the kind the configuration says (a GitHub Enterprise or a
    /// self-hosted GitLab under another name).
    #[must_use]
    pub fn with_kind(mut self, kind: ForgeKind) -> Self {
        self.kind = kind;
        self
    }

    /// The default REST API base: `https://api.github.com` for github.com,
    /// `https://<host>/api/v3` for GitHub Enterprise, `https://<host>/api/v4` for GitLab;
    /// `None` for an unknown forge.
    pub fn api_base(&self) -> Option<String> {
        let authority = match self.web_port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        };
        match self.kind {
            ForgeKind::GitHub if self.host == "github.com" => {
                Some("https://api.github.com".to_string())
            }
            ForgeKind::GitHub => Some(format!("https://{authority}/api/v3")),
            ForgeKind::GitLab => Some(format!("https://{authority}/api/v4")),
            ForgeKind::Unknown => None,
        }
    }

    /// The repository's page, for links in messages.
    pub fn web_url(&self) -> String {
        match self.web_port {
            Some(port) => format!("https://{}:{port}/{}", self.host, self.path),
            None => format!("https://{}/{}", self.host, self.path),
        }
    }
}

/// git's scp-like syntax `[user@]host:path`: a colon before any slash, and not a Windows drive
/// letter (`C:\repo`), which git treats as a local path.
fn scp_like(url: &str) -> Option<(&str, &str)> {
    let colon = url.find(':')?;
    if url[..colon].contains('/') || colon <= 1 {
        return None;
    }
    let authority = &url[..colon];
    // An IPv6 host is written in brackets: `git@[::1]:owner/repo`.
    if authority.contains('[') {
        let close = url.find("]:")?;
        return Some((&url[..=close], &url[close + 2..]));
    }
    Some((authority, &url[colon + 1..]))
}

fn split_port(host_port: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = host_port.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) if !port.is_empty() => Some((host, Some(port.parse().ok()?))),
            _ => Some((host, None)),
        };
    }
    match host_port.rsplit_once(':') {
        Some((host, "")) => Some((host, None)),
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((host_port, None)),
    }
}

/// Replaces `user:password@` in every URL of `text` by `***@`, so that a credential that was
/// part of a remote URL never reaches an error message or a log.
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (before, after) = rest.split_at(pos + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(after.len());
        match after[..authority_end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&after[at..authority_end]);
            }
            None => out.push_str(&after[..authority_end]),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(
        clippy::too_many_lines,
        reason = "a table of cases, one per remote form"
    )]
    fn parses_the_common_remote_forms() {
        let table: &[(&str, &str, Option<u16>, &str, ForgeKind)] = &[
            (
                "https://github.com/acme/shop.git",
                "github.com",
                None,
                "acme/shop",
                ForgeKind::GitHub,
            ),
            (
                "https://github.com/acme/shop",
                "github.com",
                None,
                "acme/shop",
                ForgeKind::GitHub,
            ),
            (
                "https://github.com/acme/shop/",
                "github.com",
                None,
                "acme/shop",
                ForgeKind::GitHub,
            ),
            (
                "https://x-access-token:ghp_secret@github.com/acme/shop.git",
                "github.com",
                None,
                "acme/shop",
                ForgeKind::GitHub,
            ),
            (
                "git@github.com:acme/shop.git",
                "github.com",
                None,
                "acme/shop",
                ForgeKind::GitHub,
            ),
            (
                "git@github.com:acme/shop",
                "github.com",
                None,
                "acme/shop",
                ForgeKind::GitHub,
            ),
            (
                "github.com:acme/shop.git",
                "github.com",
                None,
                "acme/shop",
                ForgeKind::GitHub,
            ),
            (
                "ssh://git@github.com/acme/shop.git",
                "github.com",
                None,
                "acme/shop",
                ForgeKind::GitHub,
            ),
            (
                "ssh://git@ssh.github.com:443/acme/shop.git",
                "github.com",
                None,
                "acme/shop",
                ForgeKind::GitHub,
            ),
            (
                "git://github.com/acme/shop.git",
                "github.com",
                None,
                "acme/shop",
                ForgeKind::GitHub,
            ),
            (
                "HTTPS://GitHub.com/Acme/Shop.git",
                "github.com",
                None,
                "Acme/Shop",
                ForgeKind::GitHub,
            ),
            (
                "https://gitlab.com/group/sub/project.git",
                "gitlab.com",
                None,
                "group/sub/project",
                ForgeKind::GitLab,
            ),
            (
                "git@gitlab.com:group/sub/deeper/project.git",
                "gitlab.com",
                None,
                "group/sub/deeper/project",
                ForgeKind::GitLab,
            ),
            (
                "ssh://git@gitlab.example.com:2222/group/project.git",
                "gitlab.example.com",
                None,
                "group/project",
                ForgeKind::GitLab,
            ),
            (
                "https://gitlab.example.com:8443/group/project",
                "gitlab.example.com",
                Some(8443),
                "group/project",
                ForgeKind::GitLab,
            ),
            (
                "https://oauth2:glpat-secret@gitlab.example.com/group/project.git",
                "gitlab.example.com",
                None,
                "group/project",
                ForgeKind::GitLab,
            ),
            (
                "git@code.example.com:team/app.git",
                "code.example.com",
                None,
                "team/app",
                ForgeKind::Unknown,
            ),
            (
                "ssh://git@[::1]:22/team/app.git",
                "::1",
                None,
                "team/app",
                ForgeKind::Unknown,
            ),
            (
                "git@[::1]:team/app.git",
                "::1",
                None,
                "team/app",
                ForgeKind::Unknown,
            ),
        ];
        for (url, host, port, path, kind) in table {
            let remote = RemoteRepository::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(
                (
                    remote.host.as_str(),
                    remote.web_port,
                    remote.path.as_str(),
                    remote.kind
                ),
                (*host, *port, *path, *kind),
                "{url}"
            );
        }
    }

    #[test]
    fn refuses_local_paths_and_malformed_urls() {
        for local in [
            "/srv/git/shop.git",
            "../origin.git",
            "file:///srv/git/shop.git",
            "C:\\repos\\shop",
            "origin.git",
        ] {
            let error = RemoteRepository::parse(local).unwrap_err();
            assert!(matches!(error, RemoteUrlError::LocalPath(_)), "{local}");
            assert_eq!(
                error.to_string(),
                format!("the remote `{local}` is a local path, not a forge repository")
            );
            assert_eq!(
                upkeep_hint::Hint::hint(&error).as_deref(),
                Some("configure the forge kind and repository explicitly")
            );
        }
        for (url, reason) in [
            (
                "https://github.com/acme",
                "the path is not `owner/repository`",
            ),
            ("https://github.com/", "the path is not `owner/repository`"),
            (
                "git@github.com:acme//shop.git",
                "the path is not `owner/repository`",
            ),
            ("https://github.com:http/acme/shop", "invalid port"),
            ("ftp://github.com/acme/shop", "unsupported URL scheme"),
            ("https:///acme/shop", "no host"),
        ] {
            match RemoteRepository::parse(url) {
                Err(RemoteUrlError::Malformed { reason: got, .. }) => {
                    assert_eq!(got, reason, "{url}");
                }
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_url_errors_do_not_repeat_credentials() {
        let err = RemoteRepository::parse("https://user:s3cret@github.com/acme").unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("https://***@github.com/acme"), "{text}");
    }

    #[test]
    fn api_bases_follow_the_kind_and_host() {
        let api = |url: &str| RemoteRepository::parse(url).unwrap().api_base();
        assert_eq!(
            api("git@github.com:acme/shop.git").as_deref(),
            Some("https://api.github.com")
        );
        assert_eq!(
            api("https://gitlab.com/group/sub/project").as_deref(),
            Some("https://gitlab.com/api/v4")
        );
        assert_eq!(
            api("https://gitlab.example.com:8443/g/p").as_deref(),
            Some("https://gitlab.example.com:8443/api/v4")
        );
        assert_eq!(api("git@code.example.com:team/app.git"), None);
        let enterprise = RemoteRepository::parse("git@code.example.com:team/app.git")
            .unwrap()
            .with_kind(ForgeKind::GitHub);
        assert_eq!(
            enterprise.api_base().as_deref(),
            Some("https://code.example.com/api/v3")
        );
        let gitlab = RemoteRepository::parse("git@code.example.com:team/app.git")
            .unwrap()
            .with_kind(ForgeKind::GitLab);
        assert_eq!(
            gitlab.api_base().as_deref(),
            Some("https://code.example.com/api/v4")
        );
        assert_eq!(gitlab.web_url(), "https://code.example.com/team/app");
    }

    #[test]
    fn redacts_userinfo_in_free_text() {
        assert_eq!(
            redact_userinfo("fatal: unable to access 'https://bot:tok@github.com/a/b.git/': 403"),
            "fatal: unable to access 'https://***@github.com/a/b.git/': 403"
        );
        assert_eq!(
            redact_userinfo("ssh://git@host/a/b and more"),
            "ssh://***@host/a/b and more"
        );
        assert_eq!(redact_userinfo("no url here"), "no url here");
    }
}
