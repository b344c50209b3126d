//! Remote agents, as people run them: `upkeep serve --executor agents` and an `upkeep agent`
//! process beside it, talking over loopback HTTP. The agent takes production's run from the
//! queue, builds and checks it on its own machine (its work directory), the run waits for
//! approval on the server with its logs there, the approval goes back to the same agent, which
//! deploys the image it built into its own target — the server never clones or deploys.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::{Value, json};

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `upkeep serve --executor agents` on a free port: the process, its URL and setup token.
fn serve(data_dir: &Path) -> (Killed, String, String) {
    let mut child = Command::cargo_bin("upkeep")
        .unwrap()
        .args(["serve", "--executor", "agents", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data_dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut url, mut token) = (None, None);
    while token.is_none() {
        let line = lines.next().expect("the server stopped").unwrap();
        if let Some(rest) = line.strip_prefix("upkeep: serving on ") {
            url = rest.split(' ').next().map(str::to_string);
        } else if let Some((_, rest)) = line.split_once("/setup?token=") {
            token = Some(rest.trim().to_string());
        }
    }
    // The rest of its log is read, so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (Killed(child), url.unwrap(), token.unwrap())
}

fn call(
    agent: &ureq::Agent,
    url: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{url}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    let mut response = agent
        .run(
            request
                .body(body.map(Value::to_string).unwrap_or_default())
                .unwrap(),
        )
        .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn git(dir: &Path, arguments: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.email=test@example.test", "-c", "user.name=Test"])
        .args(arguments)
        .status()
        .unwrap();
    assert!(status.success(), "git {arguments:?}");
}

/// A bare repository of the fixture shop: its `file://` URL. Staging's install takes long
/// (and says when it started, in `install-started` beside the repository).
fn shop_remote(dir: &Path) -> String {
    let work = dir.join("work");
    let copied = Command::new("cp")
        .arg("-r")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pipeline-shop"))
        .arg(&work)
        .status()
        .unwrap();
    assert!(copied.success());
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
    let (_server, url, setup_token) = serve(&data_dir);
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();

    let (workspace, api_token, agent_token) = set_up(&http, &url, &setup_token, &remote);
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
    let (status, started) = call(
        &http,
        &url,
        &api_token,
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/production/runs"),
        Some(&json!({})),
    );
    assert_eq!(status, 202, "{started}");
    let run_path = format!(
        "/api/v1/workspaces/{workspace}/runs/{}",
        started["run_id"].as_str().unwrap()
    );
    let waiting = wait_for(&http, &url, &api_token, &run_path, "waiting_for_approval");
    assert_eq!(waiting["record"]["gate"]["verdict"], "passed", "{waiting}");
    let (status, log) = call(
        &http,
        &url,
        &api_token,
        "GET",
        &format!("{run_path}/logs/build"),
        None,
    );
    assert_eq!(status, 200, "{log}");
    assert!(!log["lines"].as_array().unwrap().is_empty(), "{log}");

    // Approved, the same agent deploys the image it built, into its own target.
    let (status, body) = call(
        &http,
        &url,
        &api_token,
        "POST",
        &format!("{run_path}/approve"),
        None,
    );
    assert_eq!(status, 202, "{body}");
    let done = wait_for(&http, &url, &api_token, &run_path, "succeeded");
    assert_eq!(done["record"]["approval"]["decision"], "approved", "{done}");
    let (status, log) = call(
        &http,
        &url,
        &api_token,
        "GET",
        &format!("{run_path}/logs/install"),
        None,
    );
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
    let (_, agents) = call(&http, &url, &api_token, "GET", "/api/v1/agents", None);
    assert!(agents["agents"][0]["last_seen_at"].is_string(), "{agents}");

    a_cancelled_run_stops_on_its_agent(&http, &url, &api_token, workspace, dir.path());
}

/// Cancelled on the server, the agent stops the step it runs.
fn a_cancelled_run_stops_on_its_agent(
    http: &ureq::Agent,
    url: &str,
    api_token: &str,
    workspace: i64,
    dir: &Path,
) {
    let (status, started) = call(
        http,
        url,
        api_token,
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
    let (status, body) = call(
        http,
        url,
        api_token,
        "POST",
        &format!("{run_path}/cancel"),
        None,
    );
    assert_eq!(status, 202, "{body}");
    // Not cancelled, the install would end after a minute, and the run succeeded.
    let done = wait_for(http, url, api_token, &run_path, "cancelled");
    assert_eq!(done["record"]["status"], "cancelled", "{done}");
}

/// The admin sets up, connects the shop and registers an agent: (workspace, an API token for
/// the rest of the test, the agent's token).
fn set_up(http: &ureq::Agent, url: &str, setup_token: &str, remote: &str) -> (i64, String, String) {
    let (status, setup) = call(
        http,
        url,
        "",
        "POST",
        "/api/v1/setup",
        Some(&json!({
            "token": setup_token, "email": "ops@agency.test", "display_name": "Ops",
            "password": "correct horse battery", "workspace": "shop",
        })),
    );
    assert_eq!(status, 201, "{setup}");
    let workspace = setup["workspace"]["id"].as_i64().unwrap();
    let api_token = admin_token(http, url);
    let (status, body) = call(
        http,
        url,
        &api_token,
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&json!({ "url": remote })),
    );
    assert_eq!(status, 200, "{body}");
    let (status, registered) = call(
        http,
        url,
        &api_token,
        "POST",
        "/api/v1/agents",
        Some(&json!({ "name": "builder-1", "labels": ["linux"] })),
    );
    assert_eq!(status, 201, "{registered}");
    assert_eq!(registered["labels"], json!(["agent:builder-1", "linux"]));
    let agent_token = registered["token"].as_str().unwrap().to_string();

    (workspace, api_token, agent_token)
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

/// Signs the admin in and makes an API token for the rest of the test.
fn admin_token(http: &ureq::Agent, url: &str) -> String {
    let mut response = http
        .post(format!("{url}/api/v1/session"))
        .header("content-type", "application/json")
        .send(
            json!({ "email": "ops@agency.test", "password": "correct horse battery" }).to_string(),
        )
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let session: Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    let mut response = http
        .post(format!("{url}/api/v1/tokens"))
        .header("content-type", "application/json")
        .header("cookie", &cookie)
        .header("x-csrf-token", session["csrf_token"].as_str().unwrap())
        .send(json!({ "name": "test" }).to_string())
        .unwrap();
    let token: Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    token["token"].as_str().unwrap().to_string()
}

fn wait_for(http: &ureq::Agent, url: &str, token: &str, path: &str, wanted: &str) -> Value {
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let (status, run) = call(http, url, token, "GET", path, None);
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
