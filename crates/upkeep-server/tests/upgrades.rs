//! The weekly upgrader as a service, end to end: the upgrader's test project (real Composer,
//! real git, a bare remote) connected through GitHub with a token against the GitHub double.
//! The server's clock is set to Monday 08:00 and the default schedule fires: the upgrade runs
//! through `upkeep-upgrade`, pushes its branch and opens the pull request; the history shows
//! the plan, the groups applied and the one that failed, the majors with their instructions,
//! and the request; the log reads like a pipeline step's, without the token. Run by hand while
//! the request is open, it refuses and says so; with `refresh` on, it updates the same request.
//! Bad settings are refused naming the field.

mod common;
#[path = "../../../tests/support/composer_shop.rs"]
mod composer_shop;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Client, Server, code, follow, set_up};
use composer_shop::{ComposerShop, require_composer};
use serde_json::{Value, json};
use upkeep_forge::testing::FakeGitHub;
use upkeep_server::Settings;
use upkeep_server::clock::ManualClock;

/// Waits until the newest upgrade run is over (and is not `skip`), and returns it.
fn wait_for_upgrade(admin: &mut Client, workspace: i64, skip: Option<i64>) -> Value {
    let deadline = Instant::now() + Duration::from_mins(4);
    loop {
        let (status, list) = admin.call(
            "GET",
            &format!("/api/v1/workspaces/{workspace}/upgrades"),
            None,
        );
        assert_eq!(status, 200, "{list}");
        if let Some(run) = list["upgrades"].as_array().unwrap().first()
            && run["id"].as_i64() != skip
            && !matches!(run["status"].as_str(), Some("queued" | "running"))
        {
            return run.clone();
        }
        assert!(Instant::now() < deadline, "no upgrade run ended: {list}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn run_now(admin: &mut Client, workspace: i64, previous: i64) -> Value {
    let (status, started) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/upgrades"),
        None,
    );
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["trigger"], "manual");
    wait_for_upgrade(admin, workspace, Some(previous))
}

#[test]
fn the_schedule_fires_on_the_servers_clock_and_opens_then_refreshes_one_pull_request() {
    require_composer();
    let shop = ComposerShop::new();
    let github = FakeGitHub::start();
    github.require_branches_in(&shop.origin);
    // Sunday morning.
    let clock = ManualClock::new("2026-11-22T10:00:00Z".parse().unwrap());
    let data_dir = shop.dir.path().join("data");
    let server = Server::start_with(Settings {
        clock: Arc::new(clock.clone()),
        ..Settings::new(&data_dir)
    });
    let (mut admin, workspace) = set_up(&server);
    let (status, connected) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&shop.github_connection(&github.base_url(), &github.token())),
    );
    assert_eq!(status, 200, "{connected}");
    let upgrader = format!("/api/v1/workspaces/{workspace}/upgrader");
    let (status, shown) = admin.call("GET", &upgrader, None);
    assert_eq!(status, 200, "{shown}");
    assert_eq!(
        (
            shown["cron"].as_str(),
            shown["time_zone"].as_str(),
            shown["next_run_at"].as_str(),
            shown["opens_requests"].as_bool()
        ),
        (
            Some("0 8 * * MON"),
            Some("UTC"),
            Some("2026-11-23T08:00:00Z"),
            Some(true)
        )
    );

    // Monday, 08:00: the schedule fires.
    clock.set("2026-11-23T08:00:30Z".parse().unwrap());
    let run = wait_for_upgrade(&mut admin, workspace, None);
    assert_eq!(
        (run["trigger"].as_str(), run["status"].as_str()),
        (Some("schedule"), Some("partial")),
        "{run}"
    );
    assert_eq!(
        (run["applied"].as_i64(), run["failed_groups"].as_i64()),
        (Some(3), Some(1))
    );
    let pulls = github.pull_requests();
    assert_eq!(pulls.len(), 1);
    assert_eq!(
        (
            pulls[0].head.as_str(),
            pulls[0].base.as_str(),
            pulls[0].title.as_str()
        ),
        (
            "upkeep/upgrade-for-main",
            "main",
            "Upkeep: update 3 packages (2026-11-23)"
        )
    );
    assert_eq!(pulls[0].requested_reviewers, ["reviewer"]);
    assert_eq!(
        run["pull_request"]["url"].as_str(),
        Some(format!("{}/acme/shop/pull/1", github.base_url()).as_str())
    );
    history_and_log(
        &server,
        &mut admin,
        workspace,
        run["id"].as_i64().unwrap(),
        &github.token(),
    );

    // By hand, while the pull request is open: refused, and the run says why.
    let refused = run_now(&mut admin, workspace, run["id"].as_i64().unwrap());
    assert_eq!(refused["status"], "refused", "{refused}");
    let summary = refused["summary"].as_str().unwrap();
    assert!(
        summary.contains("still open") && summary.contains("refresh"),
        "{summary}"
    );
    upgrader_in_the_overview(&mut admin, workspace, &run, &refused);

    // With refresh on (and no reviewers of the workspace's own), the same request is updated.
    let (status, set) = admin.call(
        "PUT",
        &upgrader,
        Some(&json!({ "refresh": true, "time_zone": "Europe/Berlin", "settings": { "reviewers": [] } })),
    );
    assert_eq!(status, 200, "{set}");
    assert_eq!(
        set["next_run_at"], "2026-11-30T07:00:00Z",
        "08:00 in Berlin"
    );
    let refreshed = run_now(&mut admin, workspace, refused["id"].as_i64().unwrap());
    assert_eq!(refreshed["status"], "partial", "{refreshed}");
    assert_eq!(refreshed["pull_request"]["number"], 1);
    assert_eq!(github.pull_requests().len(), 1);

    bad_settings_are_refused(&mut admin, &upgrader);
}

/// The dashboard's Upgrader: the refused run last, the request of the run before it.
fn upgrader_in_the_overview(admin: &mut Client, workspace: i64, run: &Value, refused: &Value) {
    let (status, overview) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/overview"),
        None,
    );
    assert_eq!(status, 200, "{overview}");
    let upgrader_overview = &overview["upgrader"];
    assert_eq!(upgrader_overview["last_run"]["id"], refused["id"]);
    assert_eq!(upgrader_overview["last_run"]["summary"], refused["summary"]);
    assert_eq!(
        upgrader_overview["pull_request"]["url"],
        run["pull_request"]["url"]
    );
    assert_eq!(upgrader_overview["pull_request"]["number"], 1);
    assert_eq!(upgrader_overview["pull_request"]["upgrade_run"], run["id"]);
    assert!(upgrader_overview["next_run_at"].is_string(), "{overview}");
}

/// The run's report and log, as the history shows them.
fn history_and_log(server: &Server, admin: &mut Client, workspace: i64, id: i64, token: &str) {
    let (status, detail) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/upgrades/{id}"),
        None,
    );
    assert_eq!(status, 200, "{detail}");
    let report = &detail["report"];
    assert!(
        report["plan"]["groups"].as_array().unwrap().len() >= 3,
        "{report}"
    );
    let applied: Vec<&str> = report["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|update| update["name"].as_str().unwrap())
        .collect();
    assert_eq!(applied.len(), 3, "{applied:?}");
    assert_eq!(report["failed_groups"][0]["name"], "conflicting");
    let majors = report["majors"].as_array().unwrap();
    let kernel = majors
        .iter()
        .find(|major| major["name"] == "spryker/kernel")
        .expect("spryker/kernel 4 is listed");
    assert_eq!(kernel["major"], "4.0.0");
    let labels: Vec<&str> = kernel["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|link| link["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["upgrade guide", "release notes", "UPGRADE.md"]);
    assert_eq!(
        kernel["instructions"][1]["url"],
        "https://github.com/spryker/kernel/releases/tag/4.0.0"
    );

    let (status, log) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/upgrades/{id}/log?offset=0"),
        None,
    );
    assert_eq!(status, 200, "{log}");
    let text: Vec<&str> = log["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["text"].as_str().unwrap())
        .collect();
    for expected in [
        "pushed upkeep/upgrade-for-main to origin",
        "pull request #1",
    ] {
        assert!(
            text.iter().any(|line| line.contains(expected)),
            "{expected} missing: {text:?}"
        );
    }
    assert!(!log.to_string().contains(token));
    // Read on from where it was left: nothing new, the same end.
    let next = log["next_offset"].as_u64().unwrap();
    let (_, rest) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/upgrades/{id}/log?offset={next}"),
        None,
    );
    assert_eq!(rest["lines"], json!([]));
    assert_eq!(rest["next_offset"], next);
    // Its tail, and a page back from there, as a page loads a long log.
    let log_path = format!("/api/v1/workspaces/{workspace}/upgrades/{id}/log");
    let (status, tail) = admin.call("GET", &format!("{log_path}?tail=2"), None);
    assert_eq!(status, 200, "{tail}");
    assert_eq!(
        tail["lines"].as_array().unwrap()[..],
        log["lines"].as_array().unwrap()[text.len() - 2..]
    );
    assert_eq!(tail["next_offset"], next);
    let (_, back) = admin.call(
        "GET",
        &format!("{log_path}?before={}&limit=1", tail["previous_offset"]),
        None,
    );
    assert_eq!(back["lines"][0]["text"], text[text.len() - 3]);
    assert_eq!(back["next_offset"], tail["offset"]);

    // The same lines as live events, which end with the run's status; and resumed.
    let events_path = format!("/api/v1/workspaces/{workspace}/upgrades/{id}/log/events");
    let (events, end) = follow(server, admin, &events_path, None);
    assert_eq!(end, detail["status"].as_str().unwrap());
    let streamed: Vec<&str> = events.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(streamed, text);
    let (resumed, _) = follow(server, admin, &events_path, Some(&events[0].0));
    assert_eq!(resumed, events[1..].to_vec());
}

fn bad_settings_are_refused(admin: &mut Client, upgrader: &str) {
    for (body, expected) in [
        (
            json!({ "cron": "0 25 * * MON" }),
            "`cron`: hour: 25 is outside 0-23",
        ),
        (json!({ "time_zone": "Mars/Olympus" }), "`time_zone`"),
        (
            json!({ "settings": { "max_minor": 0 } }),
            "`settings.max_minor` must be between 1 and 1000",
        ),
        (
            json!({ "settings": { "base_branch": "-x" } }),
            "`settings.base_branch`",
        ),
        (
            json!({ "schedule": "0 8 * * MON" }),
            "unknown field `schedule`",
        ),
    ] {
        let (status, answer) = admin.call("PUT", upgrader, Some(&body));
        assert_eq!(
            status,
            if expected.starts_with("unknown") {
                422
            } else {
                400
            },
            "{body}: {answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{body}: {message}");
        if status == 400 {
            assert_eq!(code(&answer), "invalid_field");
        }
    }
}
