//! Connecting a repository by OAuth through real HTTP, against the GitHub and GitLab doubles'
//! OAuth apps and a git server that takes the tokens the double's API takes: a super user
//! starts, the browser follows the authorize page back to the callback, the repository is
//! connected (git read with the granted token, webhook registered with it) and a push runs.
//! GitLab's tokens expire: the next use refreshes the pair, the old refresh token is refused
//! by the double, and a refresh that fails says to reconnect, also in the repository's
//! status. Refusals (another account, a reused or expired state, access denied, a code the
//! provider refuses, a regular user) change nothing; no token or client secret is in the
//! database, the log or an answer.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use common::{
    Client, Server, assert_sealed_at_rest, code, join, set_up, shop_remote, wait_for_status,
};
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};
use upkeep_forge::testing::{FakeGitHub, FakeGitLab, GitHttpServer, follow_authorize};
use upkeep_server::clock::{Clock as _, ManualClock};
use upkeep_server::{OAuthClientSettings, OAuthSettings, Settings};

const GITHUB_CLIENT_ID: &str = "Iv1.upkeep-test-app";
const GITHUB_CLIENT_SECRET: &str = "github-oauth-client-secret-5f1e9a";
const GITLAB_CLIENT_ID: &str = "upkeep-gitlab-application";
const GITLAB_CLIENT_SECRET: &str = "gitlab-oauth-client-secret-77c2d0";

/// What the server logs, shared by the tests of this file (one subscriber per process).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

fn logs() -> Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
            .with_ansi(false)
            .init();
        logs
    })
    .clone()
}

/// A bare repository of the fixture shop at `<dir>/acme/shop.git`, as the providers' path
/// says; its commit.
fn shop_on_forge(dir: &Path) -> String {
    let (_, commit) = shop_remote(dir);
    std::fs::create_dir(dir.join("acme")).unwrap();
    std::os::unix::fs::symlink(dir.join("shop.git"), dir.join("acme/shop.git")).unwrap();
    commit
}

fn settings(
    data_dir: &Path,
    github: Option<&FakeGitHub>,
    gitlab: Option<&FakeGitLab>,
    clock: &ManualClock,
) -> Settings {
    Settings {
        clock: Arc::new(clock.clone()),
        oauth: OAuthSettings {
            github: github.map(|github| OAuthClientSettings {
                client_id: GITHUB_CLIENT_ID.to_string(),
                client_secret: GITHUB_CLIENT_SECRET.to_string(),
                // A GitHub Enterprise: its API is `<url>/api/v3`, which the double serves too.
                url: Some(github.base_url()),
            }),
            gitlab: gitlab.map(|gitlab| OAuthClientSettings {
                client_id: GITLAB_CLIENT_ID.to_string(),
                client_secret: GITLAB_CLIENT_SECRET.to_string(),
                url: Some(gitlab.web_url()),
            }),
        },
        ..Settings::new(data_dir)
    }
}

fn start(client: &mut Client, workspace: i64, body: &Value) -> (u16, Value) {
    client.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/repository/oauth"),
        Some(body),
    )
}

/// Starts, then follows the authorize page as the browser would: the path of the callback
/// the provider sends the browser to.
fn authorise(server: &Server, client: &mut Client, workspace: i64, body: &Value) -> String {
    let (status, started) = start(client, workspace, body);
    assert_eq!(status, 200, "{started}");
    let location = follow_authorize(started["authorize_url"].as_str().unwrap());
    location
        .strip_prefix(&server.url)
        .unwrap_or_else(|| panic!("the provider sent the browser elsewhere: {location}"))
        .to_string()
}

/// The callback as the browser calls it: its status and page.
fn callback(client: &mut Client, path: &str) -> (u16, String) {
    let (status, page) = client.call("GET", path, None);
    (status, page.as_str().unwrap_or_default().to_string())
}

fn repository(client: &mut Client, workspace: i64) -> (u16, Value) {
    client.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        None,
    )
}

fn start_run(client: &mut Client, workspace: i64) -> (u16, Value) {
    client.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/staging/runs"),
        Some(&json!({})),
    )
}

/// No file under the data directory, log line or answer seen holds any of `secrets`.
fn assert_nowhere(data_dir: &Path, answers: &[String], secrets: &[String]) {
    let log = logs().text();
    for secret in secrets {
        assert_sealed_at_rest(data_dir, secret);
        assert!(!log.contains(secret.as_str()), "in the log: {secret}");
        for answer in answers {
            assert!(!answer.contains(secret.as_str()), "{secret} in {answer}");
        }
    }
}

/// A server with a GitHub OAuth app on the double, whose git server serves the shop.
struct GitHubSetUp {
    github: FakeGitHub,
    git: GitHttpServer,
    /// The shop's commit on `main`.
    commit: String,
    clock: ManualClock,
    now: Timestamp,
    server: Server,
}

/// The server keeps its data in `<dir>/data`.
fn github_set_up(dir: &Path) -> GitHubSetUp {
    let commit = shop_on_forge(dir);
    let github = FakeGitHub::start();
    let git = GitHttpServer::start_accepting(dir, "x-access-token", github.token_check());
    let now = Timestamp::now();
    let clock = ManualClock::new(now);
    let server = Server::start_with(settings(&dir.join("data"), Some(&github), None, &clock));
    github.oauth().enable(
        GITHUB_CLIENT_ID,
        GITHUB_CLIENT_SECRET,
        &format!("{}/oauth/github/callback", server.url),
    );
    GitHubSetUp {
        github,
        git,
        commit,
        clock,
        now,
        server,
    }
}

#[test]
fn github_oauth_connects_registers_the_webhook_and_a_push_runs() {
    let logs = logs();
    let dir = tempfile::tempdir().unwrap();
    let GitHubSetUp {
        github,
        git,
        commit,
        server,
        ..
    } = github_set_up(dir.path());
    let data_dir = dir.path().join("data");
    let (mut admin, workspace) = set_up(&server);
    let mut colleague = join(
        &server,
        &mut admin,
        workspace,
        "lead@agency.test",
        "super_user",
    );
    let mut answers = Vec::new();

    let (status, offered) = admin.call("GET", "/api/v1/server", None);
    assert_eq!((status, offered["oauth"].clone()), (200, json!(["github"])));
    let body = json!({ "provider": "github", "url": git.url("acme/shop.git") });
    let (status, started) = start(&mut admin, workspace, &body);
    assert_eq!(status, 200, "{started}");
    answers.push(started.to_string());
    let authorize_url = started["authorize_url"].as_str().unwrap();
    let callback_url = format!("{}/oauth/github/callback", server.url);
    let expected_start = format!(
        "{}/login/oauth/authorize?client_id=Iv1.upkeep-test-app&redirect_uri={}&scope=repo%20admin%3Arepo_hook&state=",
        github.base_url(),
        callback_url.replace(':', "%3A").replace('/', "%2F")
    );
    assert!(
        authorize_url.starts_with(&expected_start),
        "{authorize_url}"
    );
    assert_eq!(started["callback"], callback_url.as_str());
    let location = follow_authorize(authorize_url);
    let path = location.strip_prefix(&server.url).unwrap().to_string();
    assert!(path.starts_with("/oauth/github/callback?code="), "{path}");

    // Not signed in, or signed in as another account: refused, and the state still holds.
    let (status, page) = callback(&mut server.client(), &path);
    assert_eq!(status, 401, "{page}");
    let (status, page) = callback(&mut colleague, &path);
    assert_eq!(status, 403, "{page}");
    assert!(
        page.contains("Another account started this authorisation"),
        "{page}"
    );
    assert_eq!(repository(&mut admin, workspace).0, 404);

    let (status, page) = callback(&mut admin, &path);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Repository connected"), "{page}");
    assert!(
        page.contains("by GitHub OAuth; its webhook is registered"),
        "{page}"
    );
    answers.push(page);
    let shown = assert_connected_by_github_oauth(&github, &server, &mut admin, workspace);
    answers.push(shown.to_string());
    let token = github.oauth().tokens()[0].access_token.clone();

    // The state was good for one use.
    let (status, page) = callback(&mut admin, &path);
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("was used already"), "{page}");

    // A push through the registered hook runs, cloning with the OAuth token.
    assert_eq!(github.deliver_push("acme/shop", "main", &commit), [202]);
    let run = wait_for_status(&mut admin, workspace, "staging", "succeeded");
    assert_eq!(run["commit"], commit.as_str());
    let (_, audit) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/audit"),
        None,
    );
    let connected = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["action"] == "repository.connected")
        .unwrap_or_else(|| panic!("no connection in {audit}"));
    let detail = connected["detail"].as_str().unwrap();
    assert!(detail.contains("(github) by OAuth"), "{detail}");
    assert!(detail.contains("webhook registered"), "{detail}");
    answers.push(audit.to_string());

    assert!(logs.text().contains("/oauth/{provider}/callback"));
    assert_nowhere(
        &data_dir,
        &answers,
        &[token, GITHUB_CLIENT_SECRET.to_string()],
    );
}

/// The repository as a GitHub OAuth connection shows it, with the webhook registered by the
/// granted token.
fn assert_connected_by_github_oauth(
    github: &FakeGitHub,
    server: &Server,
    admin: &mut Client,
    workspace: i64,
) -> Value {
    let (status, shown) = repository(admin, workspace);
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["provider"], "github");
    assert_eq!(shown["authorised_by"], "oauth");
    assert_eq!(shown["has_token"], true);
    assert_eq!(shown["token_expires_at"], Value::Null);
    assert_eq!(shown["token_error"], Value::Null);
    assert_eq!(shown["api_base"], format!("{}/api/v3", github.base_url()));
    assert_eq!(shown["webhook"]["status"], "registered", "{shown}");
    let hooks = github.hooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        (hooks[0].repository.as_str(), hooks[0].url.clone()),
        (
            "acme/shop",
            format!("{}/api/v1/hooks/github/{workspace}", server.url)
        )
    );
    let granted = github.oauth().tokens();
    assert_eq!(granted.len(), 1);
    let bearer = format!("Bearer {}", granted[0].access_token);
    assert!(
        github
            .requests()
            .iter()
            .any(|request| request.path == "/api/v3/repos/acme/shop/hooks"
                && request.header("authorization") == Some(bearer.as_str())),
        "{:?}",
        github.requests()
    );
    shown
}

/// Asks GitLab's token endpoint for a new pair with `refresh_token`, as a client would.
fn refresh_directly(gitlab: &FakeGitLab, refresh_token: &str, callback: &str) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let body = json!({
        "client_id": GITLAB_CLIENT_ID, "client_secret": GITLAB_CLIENT_SECRET,
        "grant_type": "refresh_token", "refresh_token": refresh_token, "redirect_uri": callback,
    });
    let mut response = agent
        .post(format!("{}/oauth/token", gitlab.web_url()))
        .header("content-type", "application/json")
        .send(body.to_string())
        .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A server with a GitLab OAuth application on the double, whose tokens last an hour, and the
/// shop connected through it; the clock stands still until the test moves it.
struct GitLabSetUp {
    gitlab: FakeGitLab,
    git: GitHttpServer,
    clock: ManualClock,
    server: Server,
    admin: Client,
    workspace: i64,
    callback_url: String,
    /// The connection request.
    body: Value,
}

fn gitlab_set_up(dir: &Path, max_runs: usize) -> GitLabSetUp {
    shop_on_forge(dir);
    let gitlab = FakeGitLab::start();
    gitlab.oauth().set_expires_in(3600);
    let git = GitHttpServer::start_accepting(dir, "oauth2", gitlab.token_check());
    // Whole milliseconds, as the store keeps times.
    let now = Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap();
    let clock = ManualClock::new(now);
    let server = Server::start_with(Settings {
        max_runs,
        ..settings(&dir.join("data"), None, Some(&gitlab), &clock)
    });
    let callback_url = format!("{}/oauth/gitlab/callback", server.url);
    gitlab
        .oauth()
        .enable(GITLAB_CLIENT_ID, GITLAB_CLIENT_SECRET, &callback_url);
    let (mut admin, workspace) = set_up(&server);
    let body = json!({
        "provider": "gitlab", "url": git.url("acme/shop.git"), "poll_interval_seconds": 3600,
    });
    let (status, started) = start(&mut admin, workspace, &body);
    assert_eq!(status, 200, "{started}");
    let authorize_url = started["authorize_url"].as_str().unwrap();
    assert!(
        authorize_url.starts_with(&format!(
            "{}/oauth/authorize?client_id=upkeep-gitlab-application&",
            gitlab.web_url()
        )),
        "{authorize_url}"
    );
    assert!(
        authorize_url.contains("&scope=api&") && authorize_url.ends_with("&response_type=code"),
        "{authorize_url}"
    );
    let location = follow_authorize(authorize_url);
    let (status, page) = callback(&mut admin, location.strip_prefix(&server.url).unwrap());
    assert_eq!(status, 200, "{page}");
    GitLabSetUp {
        gitlab,
        git,
        clock,
        server,
        admin,
        workspace,
        callback_url,
        body,
    }
}

#[test]
fn gitlab_oauth_tokens_are_refreshed_before_use_and_a_failed_refresh_says_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let GitLabSetUp {
        gitlab,
        git: _git,
        clock,
        server,
        mut admin,
        workspace,
        callback_url,
        body,
    } = gitlab_set_up(dir.path(), 4);
    let connected_at = clock.now();
    let mut answers = Vec::new();
    let (_, shown) = repository(&mut admin, workspace);
    assert_eq!(shown["authorised_by"], "oauth", "{shown}");
    assert_eq!(shown["api_base"], gitlab.base_url());
    assert_eq!(shown["webhook"]["status"], "registered", "{shown}");
    let expires_at: Timestamp = shown["token_expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_at, connected_at + 1.hour());
    assert_eq!(gitlab.hooks().len(), 1);
    let first = gitlab.oauth().tokens();
    assert_eq!(first.len(), 1);
    answers.push(shown.to_string());

    // With more than five minutes left, a use keeps the token.
    clock.set(connected_at + 54.minutes());
    let (status, run) = start_run(&mut admin, workspace);
    assert_eq!(status, 202, "{run}");
    wait_for_status(&mut admin, workspace, "staging", "succeeded");
    assert_eq!(gitlab.oauth().tokens().len(), 1);
    // With less, the next use (a run by hand) gets a new pair first, and the run clones with
    // the new token: the first one no longer works.
    clock.set(connected_at + 56.minutes());
    let (status, run) = start_run(&mut admin, workspace);
    assert_eq!(status, 202, "{run}");
    let tokens = gitlab.oauth().tokens();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert!(!tokens[0].live && tokens[1].live, "{tokens:?}");
    assert_eq!(
        wait_for_status(&mut admin, workspace, "staging", "succeeded")["run_id"],
        run["run_id"]
    );
    let (_, shown) = repository(&mut admin, workspace);
    let expires_at: Timestamp = shown["token_expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_at, connected_at + 116.minutes());
    assert_eq!(shown["token_error"], Value::Null);
    answers.push(shown.to_string());
    // GitLab rotated the refresh token: the old one is refused.
    let old_refresh = first[0].refresh_token.clone().unwrap();
    let (status, refused) = refresh_directly(&gitlab, &old_refresh, &callback_url);
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // The person revokes the app: the next refresh fails, and the answer and the
    // repository's status say to reconnect.
    gitlab.oauth().revoke_all();
    clock.set(connected_at + 112.minutes());
    let (status, refused) = start_run(&mut admin, workspace);
    assert_eq!(
        (status, code(&refused)),
        (409, "oauth_refresh_failed"),
        "{refused}"
    );
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("could not be refreshed")
            && message.contains("reconnect the repository")
            && message.contains("invalid_grant"),
        "{message}"
    );
    answers.push(refused.to_string());
    let (_, shown) = repository(&mut admin, workspace);
    assert!(
        shown["token_error"]
            .as_str()
            .is_some_and(|error| error.contains("reconnect the repository")),
        "{shown}"
    );

    // Reconnecting by OAuth clears it.
    let path = authorise(&server, &mut admin, workspace, &body);
    let (status, page) = callback(&mut admin, &path);
    assert_eq!(status, 200, "{page}");
    let (_, shown) = repository(&mut admin, workspace);
    assert_eq!(shown["token_error"], Value::Null, "{shown}");
    answers.push(shown.to_string());

    let mut secrets = vec![GITLAB_CLIENT_SECRET.to_string()];
    for token in gitlab.oauth().tokens() {
        secrets.push(token.access_token);
        secrets.extend(token.refresh_token);
    }
    assert_eq!(secrets.len(), 1 + 2 * 3);
    assert_nowhere(&dir.path().join("data"), &answers, &secrets);
}

/// A run that waits for its turn while its token is replaced by a refresh gets the new one
/// when it starts: it would fail to fetch with the token it was queued with.
#[test]
fn a_run_that_waited_for_its_turn_fetches_with_the_renewed_token() {
    let dir = tempfile::tempdir().unwrap();
    let release = dir.path().join("release");
    let installing = dir.path().join("installing");
    let GitLabSetUp {
        gitlab,
        git: _git,
        clock,
        server: _server,
        mut admin,
        workspace,
        ..
    } = gitlab_set_up(dir.path(), 1);
    // Staging's install holds the one turn until the test lets it go.
    let work = dir.path().join("work");
    let hook = work.join("bin/wait-for-release");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\ntouch {}\nwhile [ ! -f {} ]; do sleep 0.1; done\n",
            installing.display(),
            release.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let deploy_file = work.join("deploy.fixture-shop-staging.yml");
    let text = std::fs::read_to_string(&deploy_file).unwrap().replace(
        "bin/record-hook install-destructive",
        "bin/wait-for-release",
    );
    std::fs::write(&deploy_file, text).unwrap();
    common::git(&work, &["add", "-A"]);
    common::git(&work, &["commit", "-q", "-m", "a slow install"]);
    common::git(&work, &["push", "-q", "../shop.git", "main"]);
    let connected_at = clock.now();

    let (status, first) = start_run(&mut admin, workspace);
    assert_eq!(status, 202, "{first}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(2);
    while !installing.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the install never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Queued behind it with the token of now (refreshed: less than five minutes were left).
    clock.set(connected_at + 56.minutes());
    let (status, waiting) = start_run(&mut admin, workspace);
    assert_eq!(status, 202, "{waiting}");
    assert_eq!(gitlab.oauth().tokens().len(), 2);
    // Another use refreshes again, which ends the waiting run's token.
    clock.set(connected_at + 112.minutes());
    let (status, third) = start_run(&mut admin, workspace);
    assert_eq!(status, 202, "{third}");
    let tokens = gitlab.oauth().tokens();
    assert_eq!(tokens.len(), 3);
    assert!(!tokens[1].live, "{tokens:?}");

    std::fs::write(&release, "").unwrap();
    for run in [&first, &waiting, &third] {
        let path = format!(
            "/api/v1/workspaces/{workspace}/runs/{}",
            run["run_id"].as_str().unwrap()
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_mins(2);
        loop {
            let (_, shown) = admin.call("GET", &path, None);
            if shown["status"] == "succeeded" {
                break;
            }
            assert!(
                !["failed", "interrupted"].contains(&shown["status"].as_str().unwrap_or_default())
                    && std::time::Instant::now() < deadline,
                "{shown}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    // The waiting run found the token still had time: no refresh of its own.
    assert_eq!(gitlab.oauth().tokens().len(), 3);
}

#[test]
fn only_super_users_start_and_the_request_is_checked_as_a_token_connection() {
    let dir = tempfile::tempdir().unwrap();
    let GitHubSetUp { git, server, .. } = github_set_up(dir.path());
    let (mut admin, workspace) = set_up(&server);
    let mut developer = join(
        &server,
        &mut admin,
        workspace,
        "dev@agency.test",
        "regular_user",
    );
    let body = json!({ "provider": "github", "url": git.url("acme/shop.git") });

    // Who may start, and what.
    let (status, refused) = start(&mut developer, workspace, &body);
    assert_eq!((status, code(&refused)), (403, "forbidden"), "{refused}");
    let (status, refused) = start(
        &mut admin,
        workspace,
        &json!({ "provider": "gitlab", "url": "https://gitlab.com/acme/shop.git" }),
    );
    assert_eq!(
        (status, code(&refused)),
        (409, "oauth_not_configured"),
        "{refused}"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--gitlab-oauth-client-id and UPKEEP_GITLAB_OAUTH_CLIENT_SECRET"),
        "{refused}"
    );
    for (wrong, field) in [
        (
            json!({ "provider": "git", "url": git.url("acme/shop.git") }),
            "provider",
        ),
        (
            json!({ "provider": "github", "url": "https://someone:pw@github.test/acme/shop.git" }),
            "url",
        ),
        (
            json!({ "provider": "github", "url": "git@github.test:acme/shop.git" }),
            "url",
        ),
        (
            json!({ "provider": "github", "url": "http://git.example.test/acme/shop.git" }),
            "url",
        ),
        (
            json!({ "provider": "github", "url": git.url("acme/shop.git"),
                    "api_base": "https://api.github.com" }),
            "api_base",
        ),
        (
            json!({ "provider": "github", "url": git.url("acme/shop.git"),
                    "poll_interval_seconds": 0 }),
            "poll_interval_seconds",
        ),
    ] {
        let (status, refused) = start(&mut admin, workspace, &wrong);
        assert_eq!(
            (status, code(&refused), refused["error"]["field"].as_str()),
            (400, "invalid_field", Some(field)),
            "{wrong}: {refused}"
        );
    }
    let with_token =
        json!({ "provider": "github", "url": git.url("acme/shop.git"), "token": "ghp_x" });
    let (status, refused) = start(&mut admin, workspace, &with_token);
    assert_eq!((status, code(&refused)), (422, "invalid_body"), "{refused}");
    assert_eq!(repository(&mut admin, workspace).0, 404);
}

#[test]
fn refused_callbacks_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let GitHubSetUp {
        github,
        git,
        clock,
        now,
        server,
        ..
    } = github_set_up(dir.path());
    let (mut admin, workspace) = set_up(&server);
    let body = json!({ "provider": "github", "url": git.url("acme/shop.git") });

    // The person denies access on GitHub's page.
    github.oauth().deny_next();
    let path = authorise(&server, &mut admin, workspace, &body);
    assert!(path.contains("error=access_denied"), "{path}");
    let (status, page) = callback(&mut admin, &path);
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("GitHub did not authorise Upkeep (access_denied: The user has denied your application access.). Nothing changed."),
        "{page}"
    );

    // Too late: the authorisation expired after ten minutes.
    let path = authorise(&server, &mut admin, workspace, &body);
    clock.set(now + 11.minutes());
    let (status, page) = callback(&mut admin, &path);
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("This authorisation has expired"), "{page}");
    clock.set(now);

    // A code GitHub refuses: the state is used up all the same.
    let path = authorise(&server, &mut admin, workspace, &body);
    let (_, rest) = path.split_once("code=").unwrap();
    let (_, state) = rest.split_once('&').unwrap();
    let forged = format!("/oauth/github/callback?code=not-a-code&{state}");
    let (status, page) = callback(&mut admin, &forged);
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("GitHub did not give a token for the code")
            && page.contains("bad_verification_code"),
        "{page}"
    );
    assert!(!page.contains(GITHUB_CLIENT_SECRET), "{page}");
    let (status, page) = callback(&mut admin, &path);
    assert_eq!(status, 410, "{page}");

    // Made-up or missing states, another provider's callback, an unknown provider.
    for (path, status) in [
        ("/oauth/github/callback?code=x&state=made-up", 400),
        ("/oauth/github/callback?code=x", 400),
        ("/oauth/bitbucket/callback?code=x&state=y", 404),
    ] {
        assert_eq!(callback(&mut admin, path).0, status, "{path}");
    }
    let path = authorise(&server, &mut admin, workspace, &body);
    let gitlab_path = path.replace("/oauth/github/", "/oauth/gitlab/");
    let (status, page) = callback(&mut admin, &gitlab_path);
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("unknown to the server"), "{page}");

    // Nothing was connected, no hook registered; the last state still works.
    assert_eq!(repository(&mut admin, workspace).0, 404);
    assert!(github.hooks().is_empty());
    let (status, page) = callback(&mut admin, &path);
    assert_eq!(status, 200, "{page}");
}
