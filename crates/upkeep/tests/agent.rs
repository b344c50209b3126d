//! Remote agents, as people run them: `upkeep serve --executor agents` and an `upkeep agent`
//! process beside it, talking over loopback HTTP. The agent takes production's run from the
//! queue, builds and checks it on its own machine (its work directory), the run waits for
//! approval on the server with its logs there, the approval goes back to the same agent, which
//! deploys the image it built into its own target — the server never clones or deploys.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use common::server::{Client, Serve, copy_tree, git};
use serde_json::{Value, json};

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A bare repository of the fixture shop: its `file://` URL. Staging's install takes long
/// (and says when it started, in `install-started` beside the repository); production needs
/// an agent labelled `linux`.
fn shop_remote(dir: &Path) -> String {
    let work = dir.join("work");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pipeline-shop"),
        &work,
    );
    let hook = work.join("bin/slow-install");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"install is running\"\ntouch {}\nsleep 60\n",
            dir.join("install-started").display()
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
        .replace("bin/record-hook install-destructive", "bin/slow-install");
    std::fs::write(&deploy_file, text).unwrap();
    // Production runs only on agents that carry `linux`.
    let project_file = work.join("upkeep.yml");
    let text = std::fs::read_to_string(&project_file).unwrap().replace(
        "    timeout: 10m\n",
        "    timeout: 10m\n    agent-labels: [linux]\n",
    );
    assert!(text.contains("agent-labels"), "{text}");
    std::fs::write(&project_file, text).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "shop"]);
    git(dir, &["clone", "-q", "--bare", "work", "shop.git"]);
    format!("file://{}", dir.join("shop.git").display())
}

#[test]
fn an_agent_runs_builds_and_deploys_what_the_server_queues() {
    let dir = tempfile::tempdir().unwrap();
    let remote = shop_remote(dir.path());
    let data_dir = dir.path().join("server");
    let server = Serve::start_with(&data_dir, &["--executor", "agents"]);
    let url = server.url.clone();
    let (mut admin, workspace) = server.set_up("shop");
    let agent_token = connect_and_register(&mut admin, workspace, &remote);
    a_wrong_token_stops_an_agent_at_once(&url, &dir.path().join("nobody"));

    let agent_dir = dir.path().join("agent");
    let _agent = Killed(
        Command::cargo_bin("upkeep")
            .unwrap()
            .args(["agent", "--server", &url, "--work-dir"])
            .arg(&agent_dir)
            .env("UPKEEP_AGENT_TOKEN", &agent_token)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // Production's run: the agent builds and checks it; it waits for approval on the server.
    let (status, started) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/production/runs"),
        Some(&json!({})),
    );
    assert_eq!(status, 202, "{started}");
    let run_path = format!(
        "/api/v1/workspaces/{workspace}/runs/{}",
        started["run_id"].as_str().unwrap()
    );
    let waiting = wait_for(&mut admin, &run_path, "waiting_for_approval");
    assert_eq!(waiting["record"]["gate"]["verdict"], "passed", "{waiting}");
    let (status, log) = admin.call("GET", &format!("{run_path}/logs/build"), None);
    assert_eq!(status, 200, "{log}");
    assert!(!log["lines"].as_array().unwrap().is_empty(), "{log}");

    // Approved, the same agent deploys the image it built, into its own target.
    let (status, body) = admin.call("POST", &format!("{run_path}/approve"), None);
    assert_eq!(status, 202, "{body}");
    let done = wait_for(&mut admin, &run_path, "succeeded");
    assert_eq!(done["record"]["approval"]["decision"], "approved", "{done}");
    let (status, log) = admin.call("GET", &format!("{run_path}/logs/install"), None);
    assert_eq!(status, 200, "{log}");
    let current = agent_dir.join(format!("workspaces/{workspace}/targets/production/current"));
    assert!(
        current.join("app/VERSION").is_file(),
        "nothing deployed at {}",
        current.display()
    );
    assert!(
        !data_dir
            .join(format!("workspaces/{workspace}/targets"))
            .exists(),
        "the server deployed"
    );
    let (_, agents) = admin.call("GET", "/api/v1/agents", None);
    assert!(agents["agents"][0]["last_seen_at"].is_string(), "{agents}");

    a_cancelled_run_stops_on_its_agent(server, &data_dir, &mut admin, workspace, dir.path());
}

/// Cancelled on the server, the agent stops the step it runs — even when the server is
/// killed right after the cancellation, before the agent heard it, and started again.
fn a_cancelled_run_stops_on_its_agent(
    mut server: Serve,
    data_dir: &Path,
    admin: &mut Client,
    workspace: i64,
    dir: &Path,
) {
    let (status, started) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/staging/runs"),
        Some(&json!({})),
    );
    assert_eq!(status, 202, "{started}");
    let run_path = format!(
        "/api/v1/workspaces/{workspace}/runs/{}",
        started["run_id"].as_str().unwrap()
    );
    let deadline = Instant::now() + Duration::from_mins(2);
    while !dir.join("install-started").exists() {
        assert!(Instant::now() < deadline, "the slow install never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, body) = admin.call("POST", &format!("{run_path}/cancel"), None);
    assert_eq!(status, 202, "{body}");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let listen = server.url.trim_start_matches("http://").to_string();
    let _restarted = Serve::start_on(&listen, data_dir, &["--executor", "agents"]);
    // Not cancelled, the install would end after a minute, and the run succeeded.
    let done = wait_for(admin, &run_path, "cancelled");
    assert_eq!(done["record"]["status"], "cancelled", "{done}");
}

/// The admin connects the shop and registers an agent; returns the agent's token.
fn connect_and_register(admin: &mut Client, workspace: i64, remote: &str) -> String {
    let (status, body) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&json!({ "url": remote })),
    );
    assert_eq!(status, 200, "{body}");
    let (status, registered) = admin.call(
        "POST",
        "/api/v1/agents",
        Some(&json!({ "name": "builder-1", "labels": ["linux"] })),
    );
    assert_eq!(status, 201, "{registered}");
    assert_eq!(registered["labels"], json!(["agent:builder-1", "linux"]));
    registered["token"].as_str().unwrap().to_string()
}

/// A wrong token stops an agent at once, saying why.
fn a_wrong_token_stops_an_agent_at_once(url: &str, work_dir: &Path) {
    let refused = Command::cargo_bin("upkeep")
        .unwrap()
        .args(["agent", "--server", url, "--work-dir"])
        .arg(work_dir)
        .env("UPKEEP_AGENT_TOKEN", "upa_not-a-token")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("refused the agent") && said.contains("hint:"),
        "{said}"
    );
}

fn wait_for(admin: &mut Client, path: &str, wanted: &str) -> Value {
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let (status, run) = admin.call("GET", path, None);
        assert_eq!(status, 200, "{run}");
        if run["status"] == wanted {
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

/// An environment's `agent-labels` keep its runs from agents without them: the job waits in
/// the queue until an agent that carries them asks.
#[test]
fn a_run_waits_for_an_agent_with_its_environments_labels() {
    let dir = tempfile::tempdir().unwrap();
    let remote = shop_remote(dir.path());
    let server = Serve::start_with(&dir.path().join("server"), &["--executor", "agents"]);
    let (mut admin, workspace) = server.set_up("shop");
    let (status, body) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&json!({ "url": remote })),
    );
    assert_eq!(status, 200, "{body}");
    let mut register = |name: &str, labels: &[&str]| {
        let (status, registered) = admin.call(
            "POST",
            "/api/v1/agents",
            Some(&json!({ "name": name, "labels": labels })),
        );
        assert_eq!(status, 201, "{registered}");
        registered["token"].as_str().unwrap().to_string()
    };
    let windows = register("windows-box", &["windows"]);
    let linux = register("linux-box", &["linux"]);

    let (status, started) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/production/runs"),
        Some(&json!({})),
    );
    assert_eq!(status, 202, "{started}");
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let (_, metrics) = admin.call("GET", "/metrics", None);
        if metrics
            .as_str()
            .unwrap()
            .contains("upkeep_agent_jobs_queued 1")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the job never got queued: {metrics}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let lease = |token: &str| -> Value {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent
            .post(format!("{}/api/v1/agent/jobs/lease", server.url))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .send(json!({ "wait_seconds": 0 }).to_string())
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
    };
    assert_eq!(lease(&windows), json!({ "job": null }));
    let offer = lease(&linux);
    assert_eq!(offer["run_id"], started["run_id"], "{offer}");
    assert_eq!(offer["environment"], "production");
}
