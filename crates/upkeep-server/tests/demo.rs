//! `upkeep serve --demo`: after the setup, the first workspace is connected to a repository
//! made from the example shop and its pipelines run: staging deploys, production waits for
//! approval, with the gate's findings in the record.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Client, Server, set_up};
use serde_json::Value;
use upkeep_server::Settings;

fn newest(admin: &mut Client, workspace: i64, environment: &str) -> Option<Value> {
    let (status, body) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/environments/{environment}/runs"),
        None,
    );
    assert_eq!(status, 200, "{body}");
    body["runs"].as_array().unwrap().first().cloned()
}

fn wait_for(admin: &mut Client, workspace: i64, environment: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let run = newest(admin, workspace, environment);
        if let Some(run) = &run
            && run["status"] == status
        {
            return run.clone();
        }
        if let Some(run) = &run
            && run["status"] == "failed"
        {
            let (_, whole) = admin.call(
                "GET",
                &format!(
                    "/api/v1/workspaces/{workspace}/runs/{}",
                    run["run_id"].as_str().unwrap()
                ),
                None,
            );
            panic!("{environment} failed: {}", whole["record"]["notes"]);
        }
        assert!(Instant::now() < deadline, "{environment}: {run:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_demo_runs_a_whole_pipeline_right_after_the_setup() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::new(dir.path().join("data"));
    settings.demo_example =
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/spryker-shop"));
    let server = Server::start_with(settings);
    let (mut admin, workspace) = set_up(&server);
    let staging = wait_for(&mut admin, workspace, "staging", "succeeded");
    assert_eq!(staging["trigger"], "push");
    let production = wait_for(&mut admin, workspace, "production", "waiting_for_approval");
    let run_id = production["run_id"].as_str().unwrap();
    let (_, run) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/runs/{run_id}"),
        None,
    );
    let gate = &run["record"]["gate"];
    assert!(gate["findings"].as_u64().unwrap() > 0, "{gate}");
    assert_eq!(gate["verdict"], "warned");
    let (status, log) = admin.call(
        "GET",
        &format!(
            "/api/v1/workspaces/{workspace}/runs/{}/logs/install",
            staging["run_id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!(status, 200);
    assert!(
        log.to_string().contains("install of staging in release"),
        "{log}"
    );
}
