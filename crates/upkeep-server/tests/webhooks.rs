//! Push webhooks through real HTTP: a signed GitHub push to `main` queues the main pipeline of
//! every environment on `main` (staging deploys, production waits for approval); unsigned,
//! forged, replayed and malformed deliveries are refused, recorded, and change nothing; GitLab's
//! token works the same way. The webhook secret is sealed at rest: the database file does not
//! hold it.

mod common;

use std::time::Duration;

use common::{
    Client, Server, assert_sealed_at_rest, code, runs, set_up, shop_remote, wait_for_status,
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use upkeep_forge::testing::{FakeGitHub, FakeGitLab, GitHttpServer};

fn sign(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let hex = bytes.iter().fold(String::new(), |mut hex, byte| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{byte:02x}");
        hex
    });
    format!("sha256={hex}")
}

/// Delivers a webhook: (status, body).
fn deliver(server: &Server, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections(0)
        .build()
        .into();
    let mut request = agent
        .post(format!("{}{path}", server.url))
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.send(body).unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Unsigned, forged and malformed deliveries are refused with their verdict.
fn refused_deliveries(server: &Server, github: &str, push: &str, secret: &str) {
    // Refused, recorded, and no run.
    let (status, body) = deliver(
        server,
        github,
        &[("x-github-event", "push"), ("x-github-delivery", "d-0")],
        push,
    );
    assert_eq!((status, code(&body)), (401, "unsigned"), "{body}");
    let forged = sign("not the secret", push);
    let (status, body) = deliver(
        server,
        github,
        &[
            ("x-github-event", "push"),
            ("x-github-delivery", "d-1"),
            ("x-hub-signature-256", &forged),
        ],
        push,
    );
    assert_eq!((status, code(&body)), (401, "forged"), "{body}");
    let broken = "{\"ref\": ";
    let (status, body) = deliver(
        server,
        github,
        &[
            ("x-github-event", "push"),
            ("x-github-delivery", "d-2"),
            ("x-hub-signature-256", &sign(secret, broken)),
        ],
        broken,
    );
    assert_eq!((status, code(&body)), (400, "malformed"), "{body}");
}

#[test]
fn signed_pushes_run_pipelines_and_anything_else_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (remote, commit) = shop_remote(dir.path());
    let data_dir = dir.path().join("data");
    let server = Server::start(&data_dir);
    let (mut admin, workspace) = set_up(&server);
    let (status, connected) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&json!({ "url": remote })),
    );
    assert_eq!(status, 200, "{connected}");
    let secret = connected["webhook"]["secret"].as_str().unwrap().to_string();
    let github = format!("/api/v1/hooks/github/{workspace}");
    assert_eq!(
        connected["webhook"]["github"],
        format!("{}{github}", server.url)
    );
    let push = json!({ "ref": "refs/heads/main", "after": commit }).to_string();

    refused_deliveries(&server, &github, &push, &secret);
    std::thread::sleep(Duration::from_millis(300));
    assert!(runs(&mut admin, workspace, "staging").is_empty());

    // A signed push to main: every environment on main runs.
    let signature = sign(&secret, &push);
    let headers = [
        ("x-github-event", "push"),
        ("x-github-delivery", "d-3"),
        ("x-hub-signature-256", signature.as_str()),
    ];
    let (status, body) = deliver(&server, &github, &headers, &push);
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["verdict"], "accepted");
    let staging = wait_for_status(&mut admin, workspace, "staging", "succeeded");
    assert_eq!(staging["trigger"], "push");
    let production = wait_for_status(&mut admin, workspace, "production", "waiting_for_approval");
    assert_eq!(production["trigger"], "push");

    // The same delivery again is a replay.
    let (status, body) = deliver(&server, &github, &headers, &push);
    assert_eq!((status, code(&body)), (409, "replayed"), "{body}");
    // A ping is recorded and ignored.
    let (status, body) = deliver(
        &server,
        &github,
        &[
            ("x-github-event", "ping"),
            ("x-github-delivery", "d-4"),
            ("x-hub-signature-256", &sign(&secret, "{}")),
        ],
        "{}",
    );
    assert_eq!((status, body["verdict"].clone()), (202, json!("ignored")));
    assert_eq!(runs(&mut admin, workspace, "staging").len(), 1);

    // GitLab: the token must match.
    let gitlab = format!("/api/v1/hooks/gitlab/{workspace}");
    let (status, body) = deliver(
        &server,
        &gitlab,
        &[
            ("x-gitlab-event", "Push Hook"),
            ("x-gitlab-event-uuid", "g-1"),
            ("x-gitlab-token", "guess"),
        ],
        &push,
    );
    assert_eq!((status, code(&body)), (401, "forged"), "{body}");

    let (status, deliveries) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/deliveries"),
        None,
    );
    assert_eq!(status, 200);
    let verdicts: Vec<&str> = deliveries["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|delivery| delivery["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        [
            "forged",
            "ignored",
            "replayed",
            "accepted",
            "malformed",
            "forged",
            "unsigned"
        ]
    );
    metrics_count_the_same(&mut admin, &secret);
    drop(server);

    assert_sealed_at_rest(&data_dir, &secret);
}

/// Metrics count the deliveries and runs the store has, and each request by its route pattern.
fn metrics_count_the_same(admin: &mut Client, secret: &str) {
    let (status, metrics) = admin.call("GET", "/metrics", None);
    assert_eq!(status, 200);
    let metrics = metrics.as_str().unwrap();
    for line in [
        "upkeep_webhook_deliveries_total{verdict=\"forged\"} 2",
        "upkeep_webhook_deliveries_total{verdict=\"accepted\"} 1",
        "upkeep_runs{status=\"succeeded\"} 1",
        "upkeep_runs{status=\"waiting_for_approval\"} 1",
    ] {
        assert!(
            metrics.lines().any(|found| found == line),
            "{line} missing in:\n{metrics}"
        );
    }
    // Request latencies by route pattern: the forged deliveries are two 4xx answers of the
    // GitHub route, and no workspace id or secret appears as a label.
    let forged_route = "upkeep_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/hooks/github/{workspace}\",status=\"4xx\"}";
    let count = metrics
        .lines()
        .find_map(|line| line.strip_prefix(forged_route))
        .unwrap_or_else(|| panic!("{forged_route} missing in:\n{metrics}"));
    assert!(count.trim().parse::<u64>().unwrap() >= 2, "{count}");
    assert!(!metrics.contains("/hooks/github/1\""), "{metrics}");
    assert!(!metrics.contains(secret));
}

fn connect(admin: &mut common::Client, workspace: i64, body: &Value) -> Value {
    let (status, connected) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(body),
    );
    assert_eq!(status, 200, "{connected}");
    connected
}

/// With a token the webhook is registered through the provider's API, and the double's signed
/// pushes run pipelines; a refusal (403) or no token falls back to the URL and secret to copy,
/// saying why, with polling on; switching removes the hook registered before.
#[test]
fn webhooks_are_registered_through_the_providers_api_or_shown_to_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (remote, commit) = shop_remote(dir.path());
    // The repository's path on the providers is `acme/shop`, as its URL says.
    std::fs::create_dir(dir.path().join("acme")).unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("shop.git"),
        dir.path().join("acme/shop.git"),
    )
    .unwrap();
    let github = FakeGitHub::start();
    let gitlab = FakeGitLab::start();
    let github_git = GitHttpServer::start(dir.path(), "x-access-token", &github.token());
    let gitlab_git = GitHttpServer::start(dir.path(), "oauth2", &gitlab.token());
    let server = Server::start(&dir.path().join("data"));
    let (mut admin, workspace) = set_up(&server);

    let connected = connect(
        &mut admin,
        workspace,
        &json!({
            "provider": "github", "url": github_git.url("acme/shop.git"),
            "token": github.token(), "api_base": github.base_url(),
        }),
    );
    assert_eq!(connected["webhook"]["status"], "registered", "{connected}");
    assert!(connected["webhook"].get("secret").is_none(), "{connected}");
    assert_eq!(connected["polling"]["active"], false);
    let hooks = github.hooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].repository, "acme/shop");
    assert_eq!(
        hooks[0].url,
        format!("{}/api/v1/hooks/github/{workspace}", server.url)
    );
    // The double signs a push with the secret it was given: it runs.
    assert_eq!(github.deliver_push("acme/shop", "main", &commit), [202]);
    let staging = wait_for_status(&mut admin, workspace, "staging", "succeeded");
    assert_eq!(staging["trigger"], "push");

    // GitLab refuses (the token may not manage hooks): the URL and secret are shown, and why.
    gitlab.fail_next("post", 403, json!({"message": "403 Forbidden"}));
    let gitlab_url = gitlab_git.url("acme/shop.git");
    let body = json!({
        "provider": "gitlab", "url": gitlab_url, "token": gitlab.token(),
        "api_base": gitlab.base_url(),
    });
    let refused = connect(&mut admin, workspace, &body);
    assert_eq!(refused["webhook"]["status"], "manual", "{refused}");
    let detail = refused["webhook"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("did not register the webhook") && detail.contains("403"),
        "{detail}"
    );
    assert!(refused["webhook"]["secret"].is_string());
    assert_eq!(refused["polling"]["active"], true);
    assert!(github.hooks().is_empty(), "the switch left the GitHub hook");

    // Allowed, the GitLab hook delivers with its token.
    let registered = connect(&mut admin, workspace, &body);
    assert_eq!(
        registered["webhook"]["status"], "registered",
        "{registered}"
    );
    assert_eq!(gitlab.hooks().len(), 1);
    assert_eq!(gitlab.deliver_push("acme/shop", "main", &commit), [202]);
    let deadline = std::time::Instant::now() + Duration::from_mins(2);
    while runs(&mut admin, workspace, "staging").len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the GitLab push did not run"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Without a token nothing can be registered.
    let tokenless = connect(
        &mut admin,
        workspace,
        &json!({
            "provider": "github", "url": remote, "repository": "acme/shop",
            "api_base": github.base_url(),
        }),
    );
    assert_eq!(tokenless["webhook"]["status"], "manual");
    assert!(
        tokenless["webhook"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("no token was given"),
        "{tokenless}"
    );
    // The GitLab hook went with the connection it belonged to, removed with its token.
    assert!(gitlab.hooks().is_empty());
}

/// Polling: with no webhook set up, a push to the bare remote is found by `git ls-remote` and
/// run; the heads of connection time are not news; the same push delivered late by a webhook
/// is accepted but not run twice, and from then on the webhook counts as working.
#[test]
fn a_push_without_any_webhook_is_found_by_polling_and_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let (remote, _) = shop_remote(dir.path());
    let server = Server::start(&dir.path().join("data"));
    let (mut admin, workspace) = set_up(&server);
    let connected = connect(
        &mut admin,
        workspace,
        &json!({ "url": remote, "poll_interval_seconds": 1 }),
    );
    assert_eq!(connected["polling"]["active"], true);
    let secret = connected["webhook"]["secret"].as_str().unwrap().to_string();
    let repository = format!("/api/v1/workspaces/{workspace}/repository");
    let deadline = std::time::Instant::now() + Duration::from_mins(1);
    loop {
        let (_, shown) = admin.call("GET", &repository, None);
        if shown["polling"]["last_polled_at"].is_string() {
            assert_eq!(shown["polling"]["last_error"], Value::Null, "{shown}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no poll: {shown}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(runs(&mut admin, workspace, "staging").is_empty());

    // Someone pushes to main.
    let work = dir.path().join("work");
    std::fs::write(work.join("CHANGELOG"), "a change\n").unwrap();
    common::git(&work, &["add", "CHANGELOG"]);
    common::git(&work, &["commit", "-q", "-m", "change"]);
    let pushed = common::git(&work, &["rev-parse", "HEAD"]);
    common::git(&work, &["push", "-q", "../shop.git", "main"]);
    let staging = wait_for_status(&mut admin, workspace, "staging", "succeeded");
    assert_eq!(
        (staging["commit"].as_str(), staging["trigger"].as_str()),
        (Some(pushed.as_str()), Some("push"))
    );

    // The webhook of the same push arrives after all.
    let push = json!({ "ref": "refs/heads/main", "after": pushed }).to_string();
    let signature = sign(&secret, &push);
    let (status, body) = deliver(
        &server,
        &format!("/api/v1/hooks/github/{workspace}"),
        &[
            ("x-github-event", "push"),
            ("x-github-delivery", "late-1"),
            ("x-hub-signature-256", signature.as_str()),
        ],
        &push,
    );
    assert_eq!((status, body["verdict"].as_str()), (202, Some("accepted")));
    assert_eq!(runs(&mut admin, workspace, "staging").len(), 1);
    let (_, deliveries) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/deliveries"),
        None,
    );
    assert!(
        deliveries["deliveries"][0]["detail"]
            .as_str()
            .unwrap()
            .ends_with("run already: polling saw it first"),
        "{deliveries}"
    );
    let (_, shown) = admin.call("GET", &repository, None);
    assert_eq!(shown["webhook"]["status"], "receiving", "{shown}");
    assert_eq!(shown["polling"]["active"], false);
}
