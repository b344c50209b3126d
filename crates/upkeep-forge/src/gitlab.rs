//! GitLab REST v4 client for merge requests: list open ones for a branch pair, create, update and
//! set reviewers (`/projects/:id/merge_requests...`, `/users?username=`). The project id is the
//! URL-encoded path (`group%2Fsub%2Fproject`), which saves a lookup of the numeric id.

use serde::Deserialize;
use serde_json::json;

use crate::forge::{
    Forge, ForgeError, Http, Method, NewPullRequest, PullRequest, Token, percent_encode, user_agent,
};
use crate::remote::ForgeKind;

/// GitLab marks a merge request as draft by this title prefix; the create endpoint has no
/// draft flag.
pub const DRAFT_PREFIX: &str = "Draft: ";

/// A project on a GitLab instance, through its REST API.
pub struct GitLab {
    http: Http,
    project: String,
    project_id: String,
}

impl std::fmt::Debug for GitLab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitLab")
            .field("api_base", &self.http.base())
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct MergeResponse {
    iid: u64,
    web_url: String,
    source_branch: String,
    target_branch: String,
    title: String,
}

impl From<MergeResponse> for PullRequest {
    fn from(merge: MergeResponse) -> Self {
        PullRequest {
            number: merge.iid,
            url: merge.web_url,
            head: merge.source_branch,
            base: merge.target_branch,
            title: merge.title,
        }
    }
}

#[derive(Deserialize)]
struct HookResponse {
    id: u64,
}

#[derive(Deserialize)]
struct UserResponse {
    id: u64,
    username: String,
}

impl GitLab {
    /// `project` is the project's full path (`group/sub/project`); `api_base` is
    /// `https://<host>/api/v4` or a test server's.
    pub fn new(api_base: &str, project: &str, token: Token) -> Result<Self, ForgeError> {
        let project = project.trim_matches('/');
        if !project.contains('/') || project.split('/').any(str::is_empty) {
            return Err(ForgeError::InvalidRepositoryPath(project.to_string()));
        }
        let secret = token.into_secret();
        // The OAuth header, which GitLab takes for every kind of token: personal, project and
        // group access tokens, and OAuth tokens (which `PRIVATE-TOKEN` refuses).
        let http = Http::new(
            api_base,
            vec![("User-Agent", user_agent())],
            "Authorization",
            Token::new(format!("Bearer {secret}")),
            &secret,
        )?;
        Ok(GitLab {
            http,
            project: project.to_string(),
            project_id: percent_encode(project),
        })
    }

    /// The project's full path.
    pub fn project(&self) -> &str {
        &self.project
    }

    fn merge_requests_path(&self) -> String {
        format!("/projects/{}/merge_requests", self.project_id)
    }

    fn user_id(&self, username: &str) -> Result<Option<u64>, ForgeError> {
        let users: Vec<UserResponse> =
            self.http
                .get_as("/users", &[("username", username)], "user list")?;
        // Usernames are case-insensitive on GitLab.
        Ok(users
            .into_iter()
            .find(|user| user.username.eq_ignore_ascii_case(username))
            .map(|user| user.id))
    }
}

fn draft_title(title: &str) -> String {
    let lower = title.to_ascii_lowercase();
    if lower.starts_with("draft:") || lower.starts_with("[draft]") || lower.starts_with("(draft)") {
        title.to_string()
    } else {
        format!("{DRAFT_PREFIX}{title}")
    }
}

impl Forge for GitLab {
    fn kind(&self) -> ForgeKind {
        ForgeKind::GitLab
    }

    fn find_open_request(&self, head: &str, base: &str) -> Result<Option<PullRequest>, ForgeError> {
        let path = self.merge_requests_path();
        let merges: Vec<MergeResponse> = self.http.get_as(
            &path,
            &[
                ("state", "opened"),
                ("source_branch", head),
                ("target_branch", base),
            ],
            "merge request list",
        )?;
        Ok(merges
            .into_iter()
            .map(PullRequest::from)
            .find(|merge| merge.head == head && merge.base == base))
    }

    fn create_request(&self, request: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        let path = self.merge_requests_path();
        let title = if request.draft {
            draft_title(&request.title)
        } else {
            request.title.clone()
        };
        let body = json!({
            "source_branch": request.head,
            "target_branch": request.base,
            "title": title,
            "description": request.body,
            // The upgrade branch is ours alone; nobody needs it after the merge.
            "remove_source_branch": true,
        });
        let merge: MergeResponse =
            self.http
                .send_as(&Method::Post, &path, &body, "merge request")?;
        Ok(merge.into())
    }

    fn update_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, ForgeError> {
        let path = format!("{}/{number}", self.merge_requests_path());
        let merge: MergeResponse = self.http.send_as(
            &Method::Put,
            &path,
            &json!({ "title": title, "description": body }),
            "merge request",
        )?;
        Ok(merge.into())
    }

    fn request_reviewers(&self, number: u64, reviewers: &[String]) -> Result<(), ForgeError> {
        if reviewers.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::new();
        let mut unknown = Vec::new();
        for name in reviewers {
            let name = name.trim_start_matches('@');
            match self.user_id(name)? {
                Some(id) if !ids.contains(&id) => ids.push(id),
                Some(_) => {}
                None => unknown.push(name.to_string()),
            }
        }
        if !unknown.is_empty() {
            return Err(ForgeError::UnknownUsers(unknown));
        }
        let path = format!("{}/{number}", self.merge_requests_path());
        self.http
            .send(&Method::Put, &path, &json!({ "reviewer_ids": ids }))?;
        Ok(())
    }

    fn create_push_webhook(&self, url: &str, secret: &str) -> Result<u64, ForgeError> {
        let path = format!("/projects/{}/hooks", self.project_id);
        let body = json!({
            "url": url,
            "push_events": true,
            "token": secret,
            "enable_ssl_verification": true,
        });
        let hook: HookResponse = self
            .http
            .send_as(&Method::Post, &path, &body, "project hook")
            .map_err(|error| error.masking(secret))?;
        Ok(hook.id)
    }

    fn delete_webhook(&self, id: u64) -> Result<(), ForgeError> {
        self.http
            .delete(&format!("/projects/{}/hooks/{id}", self.project_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeGitLab;

    fn client(fake: &FakeGitLab) -> GitLab {
        GitLab::new(
            &fake.base_url(),
            "shop/backend/api",
            Token::new(fake.token()),
        )
        .unwrap()
    }

    fn new_request(draft: bool) -> NewPullRequest {
        NewPullRequest {
            title: "Upgrade 2 packages".to_string(),
            body: "summary".to_string(),
            head: "upkeep/upgrade-for-main".to_string(),
            base: "main".to_string(),
            draft,
        }
    }

    #[test]
    fn creates_finds_updates_and_sets_reviewers() {
        let fake = FakeGitLab::start();
        fake.add_user("alice", 11);
        fake.add_user("Bob", 12);
        let gitlab = client(&fake);
        assert_eq!(
            gitlab
                .find_open_request("upkeep/upgrade-for-main", "main")
                .unwrap(),
            None
        );

        let created = gitlab.create_request(&new_request(true)).unwrap();
        assert_eq!(
            created,
            PullRequest {
                number: 1,
                url: format!("{}/shop/backend/api/-/merge_requests/1", fake.web_url()),
                head: "upkeep/upgrade-for-main".to_string(),
                base: "main".to_string(),
                title: "Draft: Upgrade 2 packages".to_string(),
            }
        );
        assert_eq!(
            gitlab
                .find_open_request("upkeep/upgrade-for-main", "main")
                .unwrap()
                .as_ref(),
            Some(&created)
        );
        assert_eq!(
            gitlab
                .find_open_request("upkeep/upgrade-for-main", "develop")
                .unwrap(),
            None
        );

        let updated = gitlab
            .update_request(1, "Upgrade 3 packages", "more")
            .unwrap();
        assert_eq!(updated.title, "Upgrade 3 packages");
        gitlab
            .request_reviewers(
                1,
                &["@alice".to_string(), "bob".to_string(), "alice".to_string()],
            )
            .unwrap();

        let merges = fake.merge_requests();
        assert_eq!(merges.len(), 1);
        assert_eq!(merges[0].description, "more");
        assert!(merges[0].remove_source_branch);
        assert_eq!(merges[0].reviewer_ids, [11, 12]);

        let requests = fake.requests();
        let summary: Vec<String> = requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(
            summary,
            [
                "GET /api/v4/projects/shop%2Fbackend%2Fapi/merge_requests",
                "POST /api/v4/projects/shop%2Fbackend%2Fapi/merge_requests",
                "GET /api/v4/projects/shop%2Fbackend%2Fapi/merge_requests",
                "GET /api/v4/projects/shop%2Fbackend%2Fapi/merge_requests",
                "PUT /api/v4/projects/shop%2Fbackend%2Fapi/merge_requests/1",
                "GET /api/v4/users",
                "GET /api/v4/users",
                "GET /api/v4/users",
                "PUT /api/v4/projects/shop%2Fbackend%2Fapi/merge_requests/1",
            ]
        );
        assert_eq!(requests[0].query_value("state"), Some("opened"));
        assert_eq!(
            requests[0].query_value("source_branch"),
            Some("upkeep/upgrade-for-main")
        );
        assert_eq!(requests[0].query_value("target_branch"), Some("main"));
        assert_eq!(
            requests[0].header("authorization"),
            Some(format!("Bearer {}", fake.token()).as_str())
        );
        assert_eq!(requests[0].header("private-token"), None);
        assert_eq!(
            requests[1].body,
            Some(json!({
                "source_branch": "upkeep/upgrade-for-main",
                "target_branch": "main",
                "title": "Draft: Upgrade 2 packages",
                "description": "summary",
                "remove_source_branch": true,
            }))
        );
        assert_eq!(
            requests[4].body,
            Some(json!({"title": "Upgrade 3 packages", "description": "more"}))
        );
        assert_eq!(requests[5].query_value("username"), Some("alice"));
        assert_eq!(requests[6].query_value("username"), Some("bob"));
        assert_eq!(requests[8].body, Some(json!({"reviewer_ids": [11, 12]})));
    }

    #[test]
    fn registers_and_deletes_a_push_hook() {
        let fake = FakeGitLab::start();
        let gitlab = client(&fake);
        let url = "https://upkeep.example.test/api/v1/hooks/gitlab/1";
        let id = gitlab.create_push_webhook(url, "hook-token-123").unwrap();
        let hooks = fake.hooks();
        assert_eq!(
            (hooks[0].id, hooks[0].url.as_str(), hooks[0].secret.as_str()),
            (id, url, "hook-token-123")
        );
        assert_eq!(hooks[0].repository, "shop/backend/api");
        let request = &fake.requests()[0];
        assert_eq!(request.path, "/api/v4/projects/shop%2Fbackend%2Fapi/hooks");
        assert_eq!(request.body.as_ref().unwrap()["push_events"], true);
        gitlab.delete_webhook(id).unwrap();
        assert!(fake.hooks().is_empty());
        assert_eq!(gitlab.delete_webhook(id).unwrap_err().status(), Some(404));
    }

    #[test]
    fn an_unknown_reviewer_stops_the_assignment() {
        let fake = FakeGitLab::start();
        fake.add_user("alice", 11);
        let gitlab = client(&fake);
        gitlab.create_request(&new_request(false)).unwrap();
        let error = gitlab
            .request_reviewers(1, &["alice".to_string(), "ghost".to_string()])
            .unwrap_err();
        assert!(
            matches!(&error, ForgeError::UnknownUsers(names) if names == &["ghost"]),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "no GitLab user named ghost; nobody was asked to review"
        );
        assert_eq!(
            upkeep_hint::Hint::hint(&error).as_deref(),
            Some("reviewers are GitLab usernames, without `@`")
        );
        assert!(fake.merge_requests()[0].reviewer_ids.is_empty());
        assert!(fake.requests().iter().all(|r| r.method != "PUT"));
    }

    #[test]
    fn a_second_open_merge_request_is_a_409_with_gitlabs_message() {
        let fake = FakeGitLab::start();
        let gitlab = client(&fake);
        gitlab.create_request(&new_request(false)).unwrap();
        let error = gitlab.create_request(&new_request(false)).unwrap_err();
        assert_eq!(error.status(), Some(409));
        assert!(
            error
                .to_string()
                .contains("Another open merge request already exists for this source branch: !1"),
            "{error}"
        );
    }

    #[test]
    fn an_error_body_echoing_the_token_is_masked() {
        let fake = FakeGitLab::start();
        let gitlab = client(&fake);
        let token = fake.token();
        fake.fail_next(
            "post",
            400,
            json!({"message": {"private_token": [format!("{token} is not allowed here")]},
                   "error": format!("PRIVATE-TOKEN: {token}")}),
        );
        let error = gitlab.create_request(&new_request(false)).unwrap_err();
        let text = format!("{error}");
        assert!(!text.contains(&token), "{text}");
        assert!(
            text.ends_with("HTTP 400: private_token *** is not allowed here; PRIVATE-TOKEN: ***"),
            "{text}"
        );
        fake.fail_next("put", 502, json!(format!("<html>{token}</html>")));
        let text = gitlab.update_request(1, "t", "d").unwrap_err().to_string();
        assert!(text.ends_with(r#"HTTP 502: "<html>***</html>""#), "{text}");
    }

    #[test]
    fn a_wrong_token_is_a_401_without_the_token() {
        let fake = FakeGitLab::start();
        let gitlab = GitLab::new(&fake.base_url(), "shop/api", Token::new("glpat-wrong")).unwrap();
        let error = gitlab.create_request(&new_request(false)).unwrap_err();
        assert_eq!(error.status(), Some(401));
        let text = format!("{error} {error:?} {gitlab:?}");
        assert!(text.contains("401 Unauthorized"), "{text}");
        assert!(!text.contains("glpat-wrong"), "{text}");
        assert!(fake.merge_requests().is_empty());
    }

    #[test]
    fn updating_a_missing_merge_request_is_a_404() {
        let fake = FakeGitLab::start();
        let error = client(&fake).update_request(5, "t", "d").unwrap_err();
        assert_eq!(error.status(), Some(404));
        assert!(error.to_string().contains("404 Not found"), "{error}");
    }

    #[test]
    fn draft_prefix_is_added_once() {
        assert_eq!(draft_title("Upgrade"), "Draft: Upgrade");
        assert_eq!(draft_title("Draft: Upgrade"), "Draft: Upgrade");
        assert_eq!(draft_title("[Draft] Upgrade"), "[Draft] Upgrade");
    }

    #[test]
    fn project_path_needs_a_namespace() {
        for path in ["api", "group//api", ""] {
            assert!(
                matches!(
                    GitLab::new("https://gitlab.com/api/v4", path, Token::new("t")),
                    Err(ForgeError::InvalidRepositoryPath(_))
                ),
                "{path}"
            );
        }
    }
}
