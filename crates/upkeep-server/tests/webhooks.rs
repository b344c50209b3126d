//! Push webhooks through real HTTP: a signed GitHub push to `main` queues the main pipeline of
//! every environment on `main` (staging deploys, production waits for approval); unsigned,
//! forged, replayed and malformed deliveries are refused, recorded, and change nothing; GitLab's
//! token works the same way. The webhook secret is sealed at rest: the database file does not
//! hold it.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Client, Server, code, set_up, shop_remote};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

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

fn runs(admin: &mut Client, workspace: i64, environment: &str) -> Vec<Value> {
    let (status, body) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/environments/{environment}/runs"),
        None,
    );
    assert_eq!(status, 200, "{body}");
    body["runs"].as_array().unwrap().clone()
}

fn wait_for_status(admin: &mut Client, workspace: i64, environment: &str, wanted: &str) -> Value {
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let found = runs(admin, workspace, environment);
        if let Some(run) = found.first()
            && run["status"] == wanted
        {
            return run.clone();
        }
        assert!(Instant::now() < deadline, "{environment}: {found:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
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

/// The secret is sealed at rest: the database does not hold it.
fn assert_sealed_at_rest(data_dir: &Path, secret: &str) {
    for name in ["upkeep.db", "upkeep.db-wal"] {
        if let Ok(bytes) = std::fs::read(data_dir.join(name)) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{name} holds the webhook secret in clear"
            );
        }
    }
}
