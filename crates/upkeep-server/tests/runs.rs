//! Runs through the server, end to end over loopback HTTP: a workspace connected to a real git
//! repository (a bare repository made from the fixture shop), a regular user starts production's
//! main pipeline, it builds and checks the commit and waits for approval in the store, the
//! regular user's approval is refused, a super user's goes through, the deployment runs with
//! the image the run built, and the step logs are read by offset and followed as server-sent
//! events that resume from `Last-Event-ID`.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Client, PASSWORD, Server, code, follow, set_up, shop_remote};
use serde_json::{Value, json};
use upkeep_server::Settings;
use upkeep_store::testing::Postgres;

/// Polls the run until `done` says so.
fn wait_for(client: &mut Client, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let (status, run) = client.call("GET", path, None);
        assert_eq!(status, 200, "{run}");
        if done(&run) {
            return run;
        }
        let over = !matches!(
            run["status"].as_str(),
            Some("queued" | "running" | "waiting_for_approval")
        );
        assert!(!over, "the run ended elsewhere: {run}");
        assert!(Instant::now() < deadline, "the run never got there: {run}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Logs: by offset, and as events that resume where a client left off.
fn logs_by_offset_and_as_events(server: &Server, developer: &mut Client, run_path: &str) {
    let (status, log) = developer.call("GET", &format!("{run_path}/logs/install"), None);
    assert_eq!(status, 200, "{log}");
    let texts: Vec<&str> = log["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["text"].as_str().unwrap())
        .collect();
    assert!(
        texts.iter().any(|text| text.contains("-r production")),
        "{texts:?}"
    );
    let events_path = format!("{run_path}/logs/install/events");
    let (events, end) = follow(server, developer, &events_path, None);
    assert_eq!(end, "succeeded");
    assert_eq!(
        events
            .iter()
            .map(|(_, text)| text.as_str())
            .collect::<Vec<_>>(),
        texts
    );
    let (resumed, _) = follow(server, developer, &events_path, Some(&events[1].0));
    assert_eq!(resumed, events[2..].to_vec());
    let (status, page) = developer.call(
        "GET",
        &format!("{run_path}/logs/install?offset={}", events[1].0),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(page["lines"].as_array().unwrap().len(), events.len() - 2);
}

#[test]
fn a_run_waits_for_a_super_users_approval_and_deploys_its_own_image() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir: PathBuf = dir.path().join("data");
    approval_journey(dir.path(), Settings::new(&data_dir));
}

/// The same journey with the store on PostgreSQL: runs, approvals and logs do not depend on
/// the embedded database.
#[test]
fn the_approval_journey_holds_on_postgresql() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let data_dir: PathBuf = dir.path().join("data");
    approval_journey(
        dir.path(),
        Settings {
            database_url: Some(postgres.database("journey")),
            ..Settings::new(&data_dir)
        },
    );
    assert!(
        !data_dir.join("upkeep.db").exists(),
        "the embedded database was used"
    );
}

fn approval_journey(dir: &std::path::Path, settings: Settings) {
    let (remote, _) = shop_remote(dir);
    let data_dir = settings.data_dir.clone();
    let server = Server::start_with(settings);
    let (mut admin, workspace) = set_up(&server);

    // Without a repository there is nothing to run.
    let runs = format!("/api/v1/workspaces/{workspace}/environments/production/runs");
    let (status, body) = admin.call("POST", &runs, Some(&json!({})));
    assert_eq!((status, code(&body)), (409, "no_repository"), "{body}");
    let (status, body) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&json!({ "url": "--upload-pack=evil" })),
    );
    assert_eq!((status, code(&body)), (400, "invalid_field"), "{body}");
    let (status, body) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&json!({ "url": remote })),
    );
    assert_eq!(status, 200, "{body}");

    // A regular user may run pipelines, but only the main one.
    let (_, invitation) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/invitations"),
        Some(&json!({ "email": "dev@agency.test", "role": "regular_user" })),
    );
    let mut developer = server.client();
    let (status, _) = developer.call(
        "POST",
        "/api/v1/invitations/accept",
        Some(&json!({ "token": invitation["token"], "display_name": "Dev", "password": PASSWORD })),
    );
    assert_eq!(status, 200);
    let (status, body) = developer.call("POST", &runs, Some(&json!({ "pipeline": "Build" })));
    assert_eq!((status, code(&body)), (400, "sub_pipeline"), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("start `*** production Pipeline ***`"),
        "{body}"
    );
    let (status, started) = developer.call("POST", &runs, Some(&json!({})));
    assert_eq!(status, 202, "{started}");
    let run_id = started["run_id"].as_str().unwrap().to_string();
    assert_eq!(started["pipeline"], "*** production Pipeline ***");
    let run_path = format!("/api/v1/workspaces/{workspace}/runs/{run_id}");

    // Built and checked, the run waits for approval in the store.
    let waiting = wait_for(&mut developer, &run_path, |run| {
        run["status"] == "waiting_for_approval"
    });
    assert_eq!(waiting["record"]["gate"]["verdict"], "passed", "{waiting}");
    assert_eq!(waiting["record"]["image"]["promoted"], false);
    let (status, body) = developer.call("POST", &format!("{run_path}/approve"), None);
    assert_eq!((status, code(&body)), (403, "forbidden"), "{body}");
    let (status, body) = admin.call("POST", &format!("{run_path}/approve"), None);
    assert_eq!(status, 202, "{body}");
    let done = wait_for(&mut admin, &run_path, |run| {
        !matches!(
            run["status"].as_str(),
            Some("waiting_for_approval" | "running" | "queued")
        )
    });
    assert_eq!(done["status"], "succeeded", "{done}");
    let record = &done["record"];
    assert_eq!(record["approval"]["decision"], "approved");
    assert_eq!(record["approval"]["by"], "ops@agency.test");
    assert_eq!(record["image"]["promoted"], true);
    assert_eq!(
        record["image"]["digest"],
        waiting["record"]["image"]["digest"]
    );
    let current = data_dir.join("workspaces/1/targets/production/current");
    assert!(
        current.join("app/VERSION").is_file(),
        "nothing deployed at {}",
        current.display()
    );
    let (status, body) = admin.call("POST", &format!("{run_path}/approve"), None);
    assert_eq!((status, code(&body)), (409, "not_waiting"), "{body}");

    logs_by_offset_and_as_events(&server, &mut developer, &run_path);

    // The run is listed; other workspaces' members see nothing of it.
    let (_, listed) = developer.call("GET", &runs, None);
    assert_eq!(listed["runs"][0]["run_id"], run_id.as_str());
    let (status, body) = developer.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/runs/nope"),
        None,
    );
    assert_eq!((status, code(&body)), (404, "not_found"), "{body}");
}
