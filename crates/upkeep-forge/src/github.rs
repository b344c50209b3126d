//! GitHub REST v3 client for pull requests: list open ones for a branch pair, create, update and
//! request reviewers (`/repos/{owner}/{repo}/pulls...`, API version `2022-11-28`).

use serde::Deserialize;
use serde_json::json;

use crate::forge::{
    Forge, ForgeError, Http, Method, NewPullRequest, PullRequest, Token, user_agent,
};
use crate::remote::ForgeKind;

/// The public GitHub's API; GitHub Enterprise Server answers at `https://<host>/api/v3`.
pub const DEFAULT_API_BASE: &str = "https://api.github.com";
/// The REST API version this client is written against.
pub const API_VERSION: &str = "2022-11-28";

/// A repository on GitHub, through its REST API.
pub struct GitHub {
    http: Http,
    owner: String,
    repo: String,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("api_base", &self.http.base())
            .field("owner", &self.owner)
            .field("repo", &self.repo)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct PullResponse {
    number: u64,
    html_url: String,
    head: BranchRef,
    base: BranchRef,
    title: String,
}

#[derive(Deserialize)]
struct HookResponse {
    id: u64,
}

#[derive(Deserialize)]
struct BranchRef {
    #[serde(rename = "ref")]
    name: String,
}

impl From<PullResponse> for PullRequest {
    fn from(pull: PullResponse) -> Self {
        PullRequest {
            number: pull.number,
            url: pull.html_url,
            head: pull.head.name,
            base: pull.base.name,
            title: pull.title,
        }
    }
}

impl GitHub {
    /// `repository` is `owner/repo`; `api_base` is [`DEFAULT_API_BASE`], an Enterprise
    /// `https://<host>/api/v3` or a test server's `http://127.0.0.1:<port>`.
    pub fn new(api_base: &str, repository: &str, token: Token) -> Result<Self, ForgeError> {
        let (owner, repo) = repository
            .split_once('/')
            .filter(|(owner, repo)| !owner.is_empty() && !repo.is_empty() && !repo.contains('/'))
            .ok_or_else(|| ForgeError::InvalidRepositoryPath(repository.to_string()))?;
        let secret = token.into_secret();
        let authorization = Token::new(format!("Bearer {secret}"));
        let http = Http::new(
            api_base,
            vec![
                ("Accept", "application/vnd.github+json".to_string()),
                ("X-GitHub-Api-Version", API_VERSION.to_string()),
                ("User-Agent", user_agent()),
            ],
            "Authorization",
            authorization,
            &secret,
        )?;
        Ok(GitHub {
            http,
            owner: owner.to_string(),
            repo: repo.to_string(),
        })
    }

    /// `owner/repo`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    fn pulls_path(&self) -> String {
        format!("/repos/{}/{}/pulls", self.owner, self.repo)
    }
}

impl Forge for GitHub {
    fn kind(&self) -> ForgeKind {
        ForgeKind::GitHub
    }

    fn find_open_request(&self, head: &str, base: &str) -> Result<Option<PullRequest>, ForgeError> {
        let path = self.pulls_path();
        // `head` filters by `owner:branch`; a bare branch name would be ignored by the API.
        let head_filter = format!("{}:{head}", self.owner);
        let pulls: Vec<PullResponse> = self.http.get_as(
            &path,
            &[("state", "open"), ("head", &head_filter), ("base", base)],
            "pull request list",
        )?;
        // Filter again: the API drops a filter it cannot parse instead of refusing it.
        Ok(pulls
            .into_iter()
            .map(PullRequest::from)
            .find(|pull| pull.head == head && pull.base == base))
    }

    fn create_request(&self, request: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        let path = self.pulls_path();
        let body = json!({
            "title": request.title,
            "head": request.head,
            "base": request.base,
            "body": request.body,
            "draft": request.draft,
        });
        let pull: PullResponse = self
            .http
            .send_as(&Method::Post, &path, &body, "pull request")?;
        Ok(pull.into())
    }

    fn update_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, ForgeError> {
        let path = format!("{}/{number}", self.pulls_path());
        let pull: PullResponse = self.http.send_as(
            &Method::Patch,
            &path,
            &json!({ "title": title, "body": body }),
            "pull request",
        )?;
        Ok(pull.into())
    }

    fn request_reviewers(&self, number: u64, reviewers: &[String]) -> Result<(), ForgeError> {
        if reviewers.is_empty() {
            return Ok(());
        }
        let path = format!("{}/{number}/requested_reviewers", self.pulls_path());
        let reviewers: Vec<&str> = reviewers
            .iter()
            .map(|login| login.trim_start_matches('@'))
            .collect();
        self.http
            .send(&Method::Post, &path, &json!({ "reviewers": reviewers }))?;
        Ok(())
    }

    fn create_push_webhook(&self, url: &str, secret: &str) -> Result<u64, ForgeError> {
        let path = format!("/repos/{}/{}/hooks", self.owner, self.repo);
        let body = json!({
            "name": "web",
            "active": true,
            "events": ["push"],
            "config": {
                "url": url,
                "content_type": "json",
                "secret": secret,
                "insecure_ssl": "0",
            },
        });
        let hook: HookResponse = self
            .http
            .send_as(&Method::Post, &path, &body, "webhook")
            .map_err(|error| error.masking(secret))?;
        Ok(hook.id)
    }

    fn delete_webhook(&self, id: u64) -> Result<(), ForgeError> {
        self.http
            .delete(&format!("/repos/{}/{}/hooks/{id}", self.owner, self.repo))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeGitHub;

    fn client(fake: &FakeGitHub) -> GitHub {
        GitHub::new(&fake.base_url(), "acme/shop", Token::new(fake.token())).unwrap()
    }

    fn new_request(head: &str, draft: bool) -> NewPullRequest {
        NewPullRequest {
            title: "Upgrade 3 packages (2026-05-04)".to_string(),
            body: "| Package | From | To |".to_string(),
            head: head.to_string(),
            base: "main".to_string(),
            draft,
        }
    }

    #[test]
    fn creates_finds_updates_and_requests_reviewers() {
        let fake = FakeGitHub::start();
        let github = client(&fake);
        assert_eq!(
            github
                .find_open_request("upkeep/upgrade-for-main", "main")
                .unwrap(),
            None
        );

        let created = github
            .create_request(&new_request("upkeep/upgrade-for-main", true))
            .unwrap();
        assert_eq!(
            created,
            PullRequest {
                number: 1,
                url: format!("{}/acme/shop/pull/1", fake.base_url()),
                head: "upkeep/upgrade-for-main".to_string(),
                base: "main".to_string(),
                title: "Upgrade 3 packages (2026-05-04)".to_string(),
            }
        );
        let found = github
            .find_open_request("upkeep/upgrade-for-main", "main")
            .unwrap();
        assert_eq!(found.as_ref(), Some(&created));
        assert_eq!(
            github
                .find_open_request("upkeep/upgrade-for-main", "develop")
                .unwrap(),
            None
        );
        assert_eq!(github.find_open_request("other", "main").unwrap(), None);

        let updated = github
            .update_request(1, "Upgrade 4 packages", "new body")
            .unwrap();
        assert_eq!(updated.title, "Upgrade 4 packages");
        github
            .request_reviewers(1, &["alice".to_string(), "@bob".to_string()])
            .unwrap();

        let pulls = fake.pull_requests();
        assert_eq!(pulls.len(), 1);
        assert_eq!(pulls[0].body, "new body");
        assert!(pulls[0].draft);
        assert_eq!(pulls[0].requested_reviewers, ["alice", "bob"]);

        let requests = fake.requests();
        let summary: Vec<(String, String)> = requests
            .iter()
            .map(|r| (r.method.clone(), r.path.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                ("GET", "/repos/acme/shop/pulls"),
                ("POST", "/repos/acme/shop/pulls"),
                ("GET", "/repos/acme/shop/pulls"),
                ("GET", "/repos/acme/shop/pulls"),
                ("GET", "/repos/acme/shop/pulls"),
                ("PATCH", "/repos/acme/shop/pulls/1"),
                ("POST", "/repos/acme/shop/pulls/1/requested_reviewers"),
            ]
            .map(|(m, p)| (m.to_string(), p.to_string()))
        );
        let list = &requests[0];
        assert_eq!(list.query_value("state"), Some("open"));
        assert_eq!(
            list.query_value("head"),
            Some("acme:upkeep/upgrade-for-main")
        );
        assert_eq!(list.query_value("base"), Some("main"));
        assert_eq!(
            list.header("authorization"),
            Some(format!("Bearer {}", fake.token()).as_str())
        );
        assert_eq!(list.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(list.header("x-github-api-version"), Some("2022-11-28"));
        assert!(
            list.header("user-agent")
                .is_some_and(|ua| ua.starts_with("upkeep/"))
        );
        assert_eq!(
            requests[1].body,
            Some(json!({
                "title": "Upgrade 3 packages (2026-05-04)",
                "head": "upkeep/upgrade-for-main",
                "base": "main",
                "body": "| Package | From | To |",
                "draft": true,
            }))
        );
        assert_eq!(
            requests[5].body,
            Some(json!({"title": "Upgrade 4 packages", "body": "new body"}))
        );
        assert_eq!(
            requests[6].body,
            Some(json!({"reviewers": ["alice", "bob"]}))
        );
    }

    #[test]
    fn registers_and_deletes_a_push_webhook_and_a_refusal_masks_the_secret() {
        let fake = FakeGitHub::start();
        let github = client(&fake);
        let url = "https://upkeep.example.test/api/v1/hooks/github/1";
        let id = github.create_push_webhook(url, "hook-secret-123").unwrap();
        let hooks = fake.hooks();
        assert_eq!(hooks.len(), 1);
        assert_eq!(
            (hooks[0].id, hooks[0].url.as_str(), hooks[0].secret.as_str()),
            (id, url, "hook-secret-123")
        );
        assert_eq!(hooks[0].events, ["push"]);
        let sent = fake.requests()[0].body.clone().unwrap();
        assert_eq!(sent["name"], "web");
        assert_eq!(sent["config"]["content_type"], "json");

        fake.fail_next(
            "post",
            403,
            json!({"message": "Resource not accessible by personal access token (hook-secret-123)"}),
        );
        let error = github
            .create_push_webhook("https://other.example.test/hook", "hook-secret-123")
            .unwrap_err();
        assert_eq!(error.status(), Some(403));
        assert!(!error.to_string().contains("hook-secret-123"), "{error}");
        assert!(
            upkeep_hint::Hint::hint(&error).is_some_and(|hint| hint.contains("webhooks")),
            "{error:?}"
        );
        github.delete_webhook(id).unwrap();
        assert!(fake.hooks().is_empty());
        assert_eq!(github.delete_webhook(id).unwrap_err().status(), Some(404));
    }

    #[test]
    fn empty_reviewer_list_makes_no_request() {
        let fake = FakeGitHub::start();
        client(&fake).request_reviewers(1, &[]).unwrap();
        assert!(fake.requests().is_empty());
    }

    #[test]
    fn a_second_open_pull_request_for_the_branch_is_refused_with_the_api_message() {
        let fake = FakeGitHub::start();
        let github = client(&fake);
        github.create_request(&new_request("topic", false)).unwrap();
        let error = github
            .create_request(&new_request("topic", false))
            .unwrap_err();
        assert_eq!(error.status(), Some(422));
        let text = error.to_string();
        assert!(
            text.contains("Validation Failed; A pull request already exists for acme:topic."),
            "{text}"
        );
        assert!(
            text.starts_with(&format!(
                "POST {}/repos/acme/shop/pulls answered HTTP 422",
                fake.base_url()
            )),
            "{text}"
        );
    }

    #[test]
    fn an_error_body_echoing_the_token_is_masked() {
        let fake = FakeGitHub::start();
        let github = client(&fake);
        let token = fake.token();
        // The token in the message and in the list of errors; in a field no message is taken
        // from (the body is shown whole); and where the 300-character cut of such a body
        // falls inside it.
        fake.fail_next(
            "post",
            422,
            json!({"message": format!("bad header: Bearer {token}"),
                   "errors": [{"message": format!("token {token} lacks scope")}]}),
        );
        let error = github
            .create_request(&new_request("topic", false))
            .unwrap_err();
        let text = format!("{error}");
        assert!(!text.contains(&token), "{text}");
        assert_eq!(
            text,
            format!(
                "POST {}/repos/acme/shop/pulls answered HTTP 422: bad header: ***; token *** lacks scope",
                fake.base_url()
            )
        );
        fake.fail_next("get", 500, json!({"detail": token}));
        let text = github
            .find_open_request("topic", "main")
            .unwrap_err()
            .to_string();
        assert!(text.ends_with(r#"HTTP 500: {"detail":"***"}"#), "{text}");
        let padding = "x".repeat(300 - 10);
        fake.fail_next("get", 502, json!(format!("{padding}{token}")));
        let text = github
            .find_open_request("topic", "main")
            .unwrap_err()
            .to_string();
        assert!(!text.contains(&token[..8]), "{text}");
    }

    #[test]
    fn a_wrong_token_is_a_401_with_a_hint_and_without_the_token() {
        let fake = FakeGitHub::start();
        let github =
            GitHub::new(&fake.base_url(), "acme/shop", Token::new("wrong-secret")).unwrap();
        let error = github.find_open_request("topic", "main").unwrap_err();
        assert_eq!(error.status(), Some(401));
        let text = error.to_string();
        assert!(text.contains("Bad credentials"), "{text}");
        assert!(!text.contains("hint"), "{text}");
        assert!(
            upkeep_hint::Hint::hint(&error)
                .is_some_and(|hint| hint.starts_with("the token was refused (wrong or expired)")),
            "{error:?}"
        );
        assert!(!text.contains("wrong-secret"), "{text}");
        assert!(!format!("{error:?}{github:?}").contains("wrong-secret"));
    }

    #[test]
    fn unknown_pull_request_and_refused_reviewer_are_errors() {
        let fake = FakeGitHub::start();
        fake.add_collaborator("alice");
        let github = client(&fake);
        let error = github.update_request(7, "t", "b").unwrap_err();
        assert_eq!(error.status(), Some(404));
        assert!(error.to_string().contains("Not Found"), "{error}");
        assert!(
            upkeep_hint::Hint::hint(&error)
                .is_some_and(|hint| hint.starts_with("check the repository path and API base URL")),
            "{error:?}"
        );

        github.create_request(&new_request("topic", false)).unwrap();
        let error = github
            .request_reviewers(1, &["alice".to_string(), "mallory".to_string()])
            .unwrap_err();
        assert_eq!(error.status(), Some(422));
        assert!(
            error
                .to_string()
                .contains("Reviews may only be requested from collaborators"),
            "{error}"
        );
        assert!(fake.pull_requests()[0].requested_reviewers.is_empty());
    }

    #[test]
    fn repository_path_must_be_owner_and_repo() {
        for path in ["acme", "acme/", "/shop", "group/sub/project"] {
            assert!(
                matches!(
                    GitHub::new(DEFAULT_API_BASE, path, Token::new("t")),
                    Err(ForgeError::InvalidRepositoryPath(p)) if p == path
                ),
                "{path}"
            );
        }
        assert!(matches!(
            GitHub::new("api.github.com", "acme/shop", Token::new("t")),
            Err(ForgeError::InvalidApiBase(_))
        ));
    }

    #[test]
    fn an_unreachable_server_is_a_transport_error() {
        let base = {
            let fake = FakeGitHub::start();
            fake.base_url()
        };
        let github = GitHub::new(&base, "acme/shop", Token::new("t")).unwrap();
        let error = github.find_open_request("topic", "main").unwrap_err();
        assert!(
            matches!(error, ForgeError::Transport { method: "GET", .. }),
            "{error:?}"
        );
    }
}
