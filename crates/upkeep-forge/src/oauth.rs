//! OAuth 2.0 apps on GitHub (an "OAuth App") and GitLab (an "Application"), the authorization
//! code flow a server uses to be given a repository token by a person instead of a pasted one:
//! the page the person is sent to ([`OAuthApp::authorize_url`]), the exchange of the code the
//! provider sends back for a token ([`OAuthApp::exchange_code`]) and, for tokens that expire
//! (GitLab's last two hours), getting a new pair with the refresh token
//! ([`OAuthApp::refresh`]). The client secret, codes and tokens never appear in an error.
//!
//! ```no_run
//! use upkeep_forge::forge::Token;
//! use upkeep_forge::oauth::OAuthApp;
//! use upkeep_forge::remote::ForgeKind;
//!
//! # fn main() -> Result<(), upkeep_forge::oauth::OAuthError> {
//! let app = OAuthApp::new(ForgeKind::GitLab, "https://gitlab.com", "client-id", Token::new("secret"))?;
//! let callback = "https://upkeep.example.com/oauth/gitlab/callback";
//! let page = app.authorize_url(callback, "random-state");
//! // … the provider sends the browser to `callback?code=…&state=random-state` …
//! let tokens = app.exchange_code("the-code", callback)?;
//! assert_eq!(app.api_base(), "https://gitlab.com/api/v4");
//! # let _ = (page, tokens);
//! # Ok(()) }
//! ```

use std::time::Duration;

use serde::Deserialize;

use crate::forge::{MASK, Token, percent_encode, user_agent};
use crate::remote::ForgeKind;

/// Where the public GitHub's people sign in; its API is elsewhere (`api.github.com`).
pub const GITHUB_WEB: &str = "https://github.com";
/// The public GitLab.
pub const GITLAB_WEB: &str = "https://gitlab.com";

/// What a GitHub token needs: to read and push the repository (and open pull requests), and to
/// register its push webhook.
pub const GITHUB_SCOPES: &str = "repo admin:repo_hook";
/// GitLab has no narrower scope that can register a project hook.
pub const GITLAB_SCOPES: &str = "api";

/// An OAuth app registered on a GitHub or GitLab instance, with its client secret.
pub struct OAuthApp {
    kind: ForgeKind,
    web_base: String,
    client_id: String,
    client_secret: Token,
    agent: ureq::Agent,
}

impl std::fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthApp")
            .field("kind", &self.kind)
            .field("web_base", &self.web_base)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// What the provider's token endpoint gives.
#[derive(Debug, Clone)]
pub struct OAuthTokens {
    pub access_token: Token,
    /// GitLab's, rotated at each refresh; GitHub OAuth apps give none.
    pub refresh_token: Option<Token>,
    /// Seconds until the access token expires; `None`: it does not.
    pub expires_in: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("`{0}` is not an http(s) URL of a GitHub or GitLab instance")]
    InvalidBase(String),
    #[error("an OAuth app is on GitHub or GitLab, not on an unknown forge")]
    UnknownForge,
    #[error("POST {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    /// The provider refused: its OAuth error code (`invalid_grant`, `bad_verification_code`,
    /// `incorrect_client_credentials`, …) and description.
    #[error("POST {url} refused (HTTP {status}): {error}{}", description_suffix(.description))]
    Refused {
        url: String,
        status: u16,
        error: String,
        description: String,
    },
    #[error("POST {url}: unexpected response: {detail}")]
    InvalidResponse { url: String, detail: String },
}

fn description_suffix(description: &str) -> String {
    if description.is_empty() {
        String::new()
    } else {
        format!(": {description}")
    }
}

impl upkeep_hint::Hint for OAuthError {
    fn hint(&self) -> Option<String> {
        let hint = match self {
            Self::Refused { error, .. }
                if error == "incorrect_client_credentials" || error == "invalid_client" =>
            {
                "check the OAuth app's client id and secret the server was started with"
            }
            Self::Refused { error, .. } if error == "redirect_uri_mismatch" => {
                "the OAuth app's callback URL must be <public-url>/oauth/<provider>/callback"
            }
            Self::Refused { .. } => "start the authorisation again; a code is good for one use",
            Self::Transport { .. } => "check that the server can reach the provider",
            _ => return None,
        };
        Some(hint.to_string())
    }
}

/// The token endpoint's answer: tokens, or GitHub's errors (which come with status 200).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
    error: Option<String>,
    error_description: Option<String>,
}

impl OAuthApp {
    /// The app `client_id` of the instance at `web_base` (where people sign in:
    /// [`GITHUB_WEB`], a GitHub Enterprise host, [`GITLAB_WEB`] or a self-hosted GitLab).
    pub fn new(
        kind: ForgeKind,
        web_base: &str,
        client_id: &str,
        client_secret: Token,
    ) -> Result<Self, OAuthError> {
        if kind == ForgeKind::Unknown {
            return Err(OAuthError::UnknownForge);
        }
        let web_base = web_base.trim().trim_end_matches('/');
        let host = web_base
            .strip_prefix("https://")
            .or_else(|| web_base.strip_prefix("http://"));
        if host.is_none_or(|host| host.is_empty() || host.contains(char::is_whitespace)) {
            return Err(OAuthError::InvalidBase(web_base.to_string()));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(user_agent())
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_global(Some(Duration::from_mins(1)))
            // A token endpoint answers; a redirect would carry the secrets elsewhere.
            .max_redirects(0)
            .build()
            .new_agent();
        Ok(Self {
            kind,
            web_base: web_base.to_string(),
            client_id: client_id.to_string(),
            client_secret,
            agent,
        })
    }

    pub fn kind(&self) -> ForgeKind {
        self.kind
    }

    /// Where people sign in: `https://github.com`, `https://gitlab.example.com`.
    pub fn web_base(&self) -> &str {
        &self.web_base
    }

    /// The REST API of the instance: `https://api.github.com` for the public GitHub,
    /// `<web>/api/v3` for GitHub Enterprise, `<web>/api/v4` for GitLab.
    pub fn api_base(&self) -> String {
        match self.kind {
            ForgeKind::GitHub if self.web_base == GITHUB_WEB => {
                crate::github::DEFAULT_API_BASE.to_string()
            }
            ForgeKind::GitHub => format!("{}/api/v3", self.web_base),
            _ => format!("{}/api/v4", self.web_base),
        }
    }

    /// The page that asks the person to let the app act for them, and then sends the
    /// browser to `redirect_uri` with a code and `state`.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str) -> String {
        let (path, scopes, extra) = match self.kind {
            ForgeKind::GitHub => ("/login/oauth/authorize", GITHUB_SCOPES, ""),
            _ => ("/oauth/authorize", GITLAB_SCOPES, "&response_type=code"),
        };
        format!(
            "{}{path}?client_id={}&redirect_uri={}&scope={}&state={}{extra}",
            self.web_base,
            percent_encode(&self.client_id),
            percent_encode(redirect_uri),
            percent_encode(scopes),
            percent_encode(state),
        )
    }

    fn token_url(&self) -> String {
        match self.kind {
            ForgeKind::GitHub => format!("{}/login/oauth/access_token", self.web_base),
            _ => format!("{}/oauth/token", self.web_base),
        }
    }

    /// Exchanges the code the provider sent back to `redirect_uri` (the same as in the
    /// authorize URL) for a token.
    pub fn exchange_code(&self, code: &str, redirect_uri: &str) -> Result<OAuthTokens, OAuthError> {
        self.token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
            ],
            &[code],
        )
    }

    /// A new pair for an expiring token; GitLab takes the refresh token once.
    pub fn refresh(
        &self,
        refresh_token: &Token,
        redirect_uri: &str,
    ) -> Result<OAuthTokens, OAuthError> {
        self.token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
                ("redirect_uri", redirect_uri),
            ],
            &[refresh_token.expose()],
        )
    }

    /// POSTs the form with the client's credentials to the token endpoint; `secrets` (and the
    /// client secret) are masked in every error.
    fn token_request(
        &self,
        fields: &[(&str, &str)],
        secrets: &[&str],
    ) -> Result<OAuthTokens, OAuthError> {
        let url = self.token_url();
        let mut masked: Vec<&str> = secrets.to_vec();
        masked.push(self.client_secret.expose());
        let mask = |text: &str| {
            masked
                .iter()
                .filter(|secret| secret.len() >= 4)
                .fold(text.to_string(), |text, secret| text.replace(secret, MASK))
        };
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
        ]
        .iter()
        .chain(fields)
        .map(|(key, value)| format!("{}={}", percent_encode(key), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&");
        let transport = |source| OAuthError::Transport {
            url: url.clone(),
            source: Box::new(source),
        };
        let mut response = self
            .agent
            .post(&url)
            // GitHub answers form-encoded unless asked for JSON.
            .header("Accept", "application/json")
            .content_type("application/x-www-form-urlencoded")
            .send(form.as_bytes())
            .map_err(transport)?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(transport)?;
        let invalid = |detail: String| OAuthError::InvalidResponse {
            url: url.clone(),
            detail: mask(&detail),
        };
        let answer: TokenResponse = serde_json::from_str(&text).map_err(|error| {
            invalid(format!(
                "HTTP {status}, not the JSON of a token ({error}): {}",
                text.chars().take(200).collect::<String>()
            ))
        })?;
        if let Some(error) = answer.error {
            return Err(OAuthError::Refused {
                url: url.clone(),
                status,
                error: mask(&error),
                description: mask(&answer.error_description.unwrap_or_default()),
            });
        }
        match (status, answer.access_token) {
            (200..=299, Some(access_token)) if !access_token.trim().is_empty() => Ok(OAuthTokens {
                access_token: Token::new(access_token),
                refresh_token: answer
                    .refresh_token
                    .filter(|token| !token.is_empty())
                    .map(Token::new),
                expires_in: answer.expires_in,
            }),
            _ => Err(invalid(format!("HTTP {status} without an access token"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeGitHub, FakeGitLab};

    const CALLBACK: &str = "https://upkeep.example.test/oauth/github/callback";

    #[test]
    fn api_bases_follow_the_instance() {
        let app = |kind, base| OAuthApp::new(kind, base, "id", Token::new("secret")).unwrap();
        assert_eq!(
            app(ForgeKind::GitHub, "https://github.com/").api_base(),
            "https://api.github.com"
        );
        assert_eq!(
            app(ForgeKind::GitHub, "https://ghe.example.test").api_base(),
            "https://ghe.example.test/api/v3"
        );
        assert_eq!(
            app(ForgeKind::GitLab, "https://git.example.test/").api_base(),
            "https://git.example.test/api/v4"
        );
        for bad in ["git.example.test", "ftp://x", "https://", "https://a b"] {
            assert!(
                matches!(
                    OAuthApp::new(ForgeKind::GitLab, bad, "id", Token::new("s")),
                    Err(OAuthError::InvalidBase(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            OAuthApp::new(ForgeKind::Unknown, GITHUB_WEB, "id", Token::new("s")),
            Err(OAuthError::UnknownForge)
        ));
    }

    #[test]
    fn authorize_urls_carry_the_client_callback_scopes_and_state() {
        let github =
            OAuthApp::new(ForgeKind::GitHub, GITHUB_WEB, "Iv1.abc", Token::new("s")).unwrap();
        assert_eq!(
            github.authorize_url(CALLBACK, "st/ate"),
            "https://github.com/login/oauth/authorize?client_id=Iv1.abc&redirect_uri=https%3A%2F%2Fupkeep.example.test%2Foauth%2Fgithub%2Fcallback&scope=repo%20admin%3Arepo_hook&state=st%2Fate"
        );
        let gitlab = OAuthApp::new(ForgeKind::GitLab, GITLAB_WEB, "app", Token::new("s")).unwrap();
        assert_eq!(
            gitlab.authorize_url("http://127.0.0.1:1/cb", "s"),
            "https://gitlab.com/oauth/authorize?client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcb&scope=api&state=s&response_type=code"
        );
    }

    /// The query of the provider's redirect back, once the person approved.
    fn approve(url: &str) -> Vec<(String, String)> {
        let location = crate::testing::follow_authorize(url);
        let query = location.split_once('?').unwrap().1;
        query
            .split('&')
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap();
                (key.to_string(), value.to_string())
            })
            .collect()
    }

    fn value<'a>(query: &'a [(String, String)], key: &str) -> &'a str {
        &query.iter().find(|(name, _)| name == key).unwrap().1
    }

    #[test]
    fn a_github_code_is_exchanged_once_for_a_token_the_api_accepts() {
        let fake = FakeGitHub::start();
        fake.oauth()
            .enable("Iv1.test", "github-client-secret", CALLBACK);
        let app = OAuthApp::new(
            ForgeKind::GitHub,
            &fake.base_url(),
            "Iv1.test",
            Token::new("github-client-secret"),
        )
        .unwrap();
        let query = approve(&app.authorize_url(CALLBACK, "xyz"));
        assert_eq!(value(&query, "state"), "xyz");
        let code = value(&query, "code").to_string();
        let tokens = app.exchange_code(&code, CALLBACK).unwrap();
        assert!(tokens.refresh_token.is_none() && tokens.expires_in.is_none());
        let accepts = fake.token_check();
        assert!(accepts(tokens.access_token.expose()));
        assert!(!accepts("gho_made_up"));
        // The code is used up; the error names neither it nor the client secret.
        let error = app.exchange_code(&code, CALLBACK).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("bad_verification_code"), "{text}");
        assert!(
            !text.contains(&code) && !text.contains("github-client-secret"),
            "{text}"
        );
        // A wrong secret is refused too.
        let query = approve(&app.authorize_url(CALLBACK, "again"));
        let wrong = OAuthApp::new(
            ForgeKind::GitHub,
            &fake.base_url(),
            "Iv1.test",
            Token::new("not-the-secret"),
        )
        .unwrap();
        let error = wrong
            .exchange_code(value(&query, "code"), CALLBACK)
            .unwrap_err();
        assert!(
            matches!(&error, OAuthError::Refused { error, .. } if error == "incorrect_client_credentials"),
            "{error}"
        );
        assert_eq!(
            upkeep_hint::Hint::hint(&error).as_deref(),
            Some("check the OAuth app's client id and secret the server was started with")
        );
    }

    #[test]
    fn gitlab_tokens_expire_and_refresh_tokens_rotate() {
        let fake = FakeGitLab::start();
        fake.oauth()
            .enable("gitlab-app", "gitlab-client-secret", CALLBACK);
        fake.oauth().set_expires_in(60);
        let app = OAuthApp::new(
            ForgeKind::GitLab,
            &fake.web_url(),
            "gitlab-app",
            Token::new("gitlab-client-secret"),
        )
        .unwrap();
        assert_eq!(app.api_base(), fake.base_url());
        let query = approve(&app.authorize_url(CALLBACK, "s1"));
        // Another callback than the app's is refused.
        let error = app
            .exchange_code(value(&query, "code"), "https://elsewhere.test/cb")
            .unwrap_err();
        assert!(
            matches!(&error, OAuthError::Refused { status: 400, error, .. } if error == "invalid_grant"),
            "{error}"
        );
        let query = approve(&app.authorize_url(CALLBACK, "s2"));
        let first = app.exchange_code(value(&query, "code"), CALLBACK).unwrap();
        assert_eq!(first.expires_in, Some(60));
        let refresh = first.refresh_token.clone().unwrap();
        let accepts = fake.token_check();
        assert!(accepts(first.access_token.expose()));
        let second = app.refresh(&refresh, CALLBACK).unwrap();
        assert!(accepts(second.access_token.expose()));
        assert!(!accepts(first.access_token.expose()));
        // The refresh token was good for one refresh.
        let error = app.refresh(&refresh, CALLBACK).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("invalid_grant"), "{text}");
        assert!(!text.contains(refresh.expose()), "{text}");
        assert!(
            app.refresh(&second.refresh_token.unwrap(), CALLBACK)
                .is_ok()
        );
    }
}
