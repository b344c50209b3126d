//! The server drives at most `max_runs` runs at once: with one turn, a run of another workspace
//! waits `queued` while the first one's install runs, and starts when it ends.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Server, git, runs, set_up, shop_remote, wait_for_status};
use serde_json::json;
use upkeep_server::Settings;

/// Staging's install of the shop in `dir` waits until the file `go` exists beside it (a
/// minute at most), and
/// says it started with the file `install-started`.
fn make_install_wait(dir: &Path) {
    let work = dir.join("work");
    let hook = work.join("bin/wait-for-go");
    std::fs::write(
        &hook,
        format!(
            // At most a minute, so that a failing test ends.
            "#!/bin/sh\ntouch {started}\ni=0\nwhile [ ! -f {go} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\necho go\n",
            started = dir.join("install-started").display(),
            go = dir.join("go").display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let deploy_file = work.join("deploy.fixture-shop-staging.yml");
    let text = std::fs::read_to_string(&deploy_file)
        .unwrap()
        .replace("bin/record-hook install-destructive", "bin/wait-for-go");
    std::fs::write(&deploy_file, text).unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "install waits"]);
    git(&work, &["push", "-q", "../shop.git", "main"]);
}

#[test]
fn with_one_turn_a_second_run_waits_queued_for_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let (first_dir, second_dir) = (dir.path().join("first"), dir.path().join("second"));
    std::fs::create_dir_all(&first_dir).unwrap();
    std::fs::create_dir_all(&second_dir).unwrap();
    let (first_remote, _) = shop_remote(&first_dir);
    make_install_wait(&first_dir);
    let (second_remote, _) = shop_remote(&second_dir);
    let server = Server::start_with(Settings {
        max_runs: 1,
        ..Settings::new(dir.path().join("data"))
    });
    let (mut admin, first) = set_up(&server);
    let (status, created) = admin.call(
        "POST",
        "/api/v1/workspaces",
        Some(&json!({ "name": "second-shop" })),
    );
    assert_eq!(status, 201, "{created}");
    let second = created["id"].as_i64().unwrap();
    for (workspace, remote) in [(first, &first_remote), (second, &second_remote)] {
        let (status, body) = admin.call(
            "PUT",
            &format!("/api/v1/workspaces/{workspace}/repository"),
            Some(&json!({ "url": remote })),
        );
        assert_eq!(status, 200, "{body}");
    }

    let start = |admin: &mut common::Client, workspace: i64| {
        let (status, body) = admin.call(
            "POST",
            &format!("/api/v1/workspaces/{workspace}/environments/staging/runs"),
            Some(&json!({})),
        );
        assert_eq!(status, 202, "{body}");
    };
    start(&mut admin, first);
    let deadline = Instant::now() + Duration::from_mins(2);
    while !first_dir.join("install-started").exists() {
        assert!(Instant::now() < deadline, "the first install never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    start(&mut admin, second);
    // Had it a turn, the second run would be building by now.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(runs(&mut admin, second, "staging")[0]["status"], "queued");

    std::fs::write(first_dir.join("go"), "").unwrap();
    wait_for_status(&mut admin, first, "staging", "succeeded");
    wait_for_status(&mut admin, second, "staging", "succeeded");
}
