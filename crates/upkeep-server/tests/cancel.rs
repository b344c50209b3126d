//! Cancel and re-run through the server: a running deployment is cancelled (its hook's process
//! group is stopped, the run ends `cancelled`, nothing switches), and a finished run runs again
//! as a new run of the same commit.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Client, Server, code, copy_tree, git, set_up};
use serde_json::{Value, json};

/// A bare repository of the fixture shop whose staging install says it runs, notes its process
/// id, then takes long.
fn slow_shop(dir: &Path) -> String {
    let work = dir.join("work");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pipeline-shop"),
        &work,
    );
    let hook = work.join("bin/slow-install");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho \"install is running\"\necho $$ > \"$(pwd)/../../../install.pid\"\nsleep 30\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let deploy_file = work.join("deploy.fixture-shop-staging.yml");
    let text = std::fs::read_to_string(&deploy_file)
        .unwrap()
        .replace("bin/record-hook install-destructive", "bin/slow-install");
    std::fs::write(&deploy_file, text).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "shop"]);
    git(dir, &["clone", "-q", "--bare", "work", "shop.git"]);
    format!("file://{}", dir.join("shop.git").display())
}

fn wait_until(client: &mut Client, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        let (status, value) = client.call("GET", path, None);
        // A stage that has not started has no log yet.
        assert!(status == 200 || status == 404, "{status} {value}");
        if status == 200 && done(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "never got there: {value}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn is_running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

#[test]
fn a_running_deployment_is_cancelled_and_a_finished_run_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    let remote = slow_shop(dir.path());
    let data_dir = dir.path().join("data");
    let server = Server::start(&data_dir);
    let (mut admin, workspace) = set_up(&server);
    let (status, _) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&json!({ "url": remote })),
    );
    assert_eq!(status, 200);
    let (status, started) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/staging/runs"),
        Some(&json!({})),
    );
    assert_eq!(status, 202, "{started}");
    let run = started["run_id"].as_str().unwrap().to_string();
    let run_path = format!("/api/v1/workspaces/{workspace}/runs/{run}");
    // A run that is not over cannot run again.
    let (status, body) = admin.call("POST", &format!("{run_path}/rerun"), None);
    assert_eq!((status, code(&body)), (409, "not_finished"), "{body}");

    wait_until(&mut admin, &format!("{run_path}/logs/install"), |log| {
        log["lines"].to_string().contains("install is running")
    });
    let pid_file = data_dir.join("workspaces/1/targets/staging/install.pid");
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_string();
    let (status, body) = admin.call("POST", &format!("{run_path}/cancel"), None);
    assert_eq!(status, 202, "{body}");
    let cancelled = wait_until(&mut admin, &run_path, |run| run["status"] != "running");
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert!(!is_running(&pid), "the hook {pid} survived the cancel");
    assert!(
        !data_dir
            .join("workspaces/1/targets/staging/current")
            .exists(),
        "a cancelled first deployment switched nothing"
    );
    let (status, body) = admin.call("POST", &format!("{run_path}/cancel"), None);
    assert_eq!((status, code(&body)), (409, "not_running"), "{body}");

    // Run it again: a new run of the same commit.
    let (status, again) = admin.call("POST", &format!("{run_path}/rerun"), None);
    assert_eq!(status, 202, "{again}");
    let again_id = again["run_id"].as_str().unwrap().to_string();
    assert_ne!(again_id, run);
    let again_path = format!("/api/v1/workspaces/{workspace}/runs/{again_id}");
    let running = wait_until(&mut admin, &again_path, |run| {
        run["record"]["commit"].is_string()
    });
    assert_eq!(running["record"]["commit"], cancelled["record"]["commit"]);
    // Stop it too, so that the test does not wait for the slow hook.
    wait_until(&mut admin, &format!("{again_path}/logs/install"), |log| {
        log["lines"].to_string().contains("install is running")
    });
    let (status, _) = admin.call("POST", &format!("{again_path}/cancel"), None);
    assert_eq!(status, 202);
    let stopped = wait_until(&mut admin, &again_path, |run| run["status"] != "running");
    assert_eq!(stopped["status"], "cancelled");
}
