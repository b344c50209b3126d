//! `upkeep serve` as people run it: the binary on a loopback port, killed with SIGKILL in the
//! middle of a run and started again on the same data directory. The run cut off is marked
//! interrupted (never `running` forever) and its log is intact.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use common::server::{Client, PASSWORD, Serve, copy_tree, git};
use serde_json::{Value, json};

#[test]
fn a_server_killed_mid_run_marks_the_run_interrupted_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pipeline-shop"),
        &work,
    );
    // Staging's install says it started, then takes long.
    let marker = dir.path().join("install-started");
    let hook = work.join("bin/slow-install");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"install is running\"\ntouch {}\nsleep 20\n",
            marker.display()
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
    git(dir.path(), &["clone", "-q", "--bare", "work", "shop.git"]);
    let data_dir = dir.path().join("data");

    let mut server = Serve::start(&data_dir);
    let (mut admin, workspace) = server.set_up("shop");
    let (status, body) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&json!({ "url": format!("file://{}", dir.path().join("shop.git").display()) })),
    );
    assert_eq!(status, 200, "{body}");
    let (status, started) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/staging/runs"),
        Some(&json!({})),
    );
    assert_eq!(status, 202, "{started}");
    let run = started["run_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_mins(2);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the install never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SIGKILL: no shutdown, no chance to write anything.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);

    let again = Serve::start(&data_dir);
    assert!(
        again
            .interrupted
            .as_deref()
            .is_some_and(|line| line.contains("1 run(s) cut off")),
        "{:?}",
        again.interrupted
    );
    let mut admin = Client::new(&again.url);
    let (status, _) = admin.call(
        "POST",
        "/api/v1/session",
        Some(&json!({ "email": "ops@agency.test", "password": PASSWORD })),
    );
    assert_eq!(status, 200);
    let run_path = format!("/api/v1/workspaces/{workspace}/runs/{run}");
    let (status, body) = admin.call("GET", &run_path, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "interrupted", "{body}");
    assert_eq!(body["record"]["status"], "interrupted", "{body}");
    let (status, log) = admin.call("GET", &format!("{run_path}/logs/install"), None);
    assert_eq!(status, 200, "{log}");
    assert!(log.to_string().contains("install is running"), "{log}");
}

/// `--log-format json`: everything the server says on stderr is one JSON object per line —
/// where it serves, the setup link, each request with its route pattern (never the path sent)
/// and status, and the stop after SIGTERM.
#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::cargo_bin("upkeep")
        .unwrap()
        .args([
            "serve",
            "--log-format",
            "json",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut next_event = || -> Value {
        let line = lines.next().expect("the server ended its log").unwrap();
        serde_json::from_str(&line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
    };
    let serving = next_event();
    let message = serving["message"].as_str().unwrap();
    let url = message
        .strip_prefix("serving on ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{serving}"))
        .to_string();
    assert_eq!(serving["level"], "INFO");
    let setup = next_event();
    assert!(
        setup["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{url}/setup?token=")),
        "{setup}"
    );

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let status = agent
        .get(format!("{url}/api/v1/workspaces/42/runs/some-run"))
        .call()
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 401);
    let request = next_event();
    assert_eq!(request["target"], "upkeep::http", "{request}");
    assert_eq!(
        request["route"], "/api/v1/workspaces/{workspace}/runs/{run}",
        "{request}"
    );
    assert_eq!(request["status"], 401, "{request}");
    assert!(request["millis"].as_f64().is_some(), "{request}");

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stopped = next_event();
    assert_eq!(stopped["message"], "stopped", "{stopped}");
    assert!(child.wait().unwrap().success());
}

/// OAuth apps: a client id without its secret (or the reverse), or without a public URL the
/// provider can send the browser back to, refuses to start, saying what to do.
#[test]
fn an_oauth_app_needs_its_secret_from_the_environment_and_a_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let serve = |arguments: &[&str], secrets: &[(&str, &str)]| {
        let mut command = Command::cargo_bin("upkeep").unwrap();
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(arguments)
            .env_remove("UPKEEP_GITHUB_OAUTH_CLIENT_SECRET")
            .env_remove("UPKEEP_GITLAB_OAUTH_CLIENT_SECRET");
        for (name, value) in secrets {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let public = ["--public-url", "https://upkeep.example.test"];
    let (status, stderr) = serve(
        &["--github-oauth-client-id", "Iv1.app", public[0], public[1]],
        &[],
    );
    assert_eq!(status, Some(2), "{stderr}");
    assert!(
        stderr.starts_with(
            "error: --github-oauth-client-id is given, but UPKEEP_GITHUB_OAUTH_CLIENT_SECRET is not set\nhint: put the OAuth app's client secret in UPKEEP_GITHUB_OAUTH_CLIENT_SECRET"
        ),
        "{stderr}"
    );
    let (status, stderr) = serve(
        &public,
        &[("UPKEEP_GITLAB_OAUTH_CLIENT_SECRET", "s3cret-value")],
    );
    assert_eq!(status, Some(2), "{stderr}");
    assert!(
        stderr.starts_with(
            "error: UPKEEP_GITLAB_OAUTH_CLIENT_SECRET is set, but --gitlab-oauth-client-id is not given"
        ),
        "{stderr}"
    );
    let (status, stderr) = serve(
        &[
            "--gitlab-oauth-client-id",
            "app",
            "--gitlab-url",
            "https://git.agency.test",
        ],
        &[("UPKEEP_GITLAB_OAUTH_CLIENT_SECRET", "s3cret-value")],
    );
    assert_eq!(status, Some(2), "{stderr}");
    assert!(
        stderr.contains("error: --gitlab-oauth-client-id needs --public-url")
            && stderr.contains("<public-url>/oauth/gitlab/callback"),
        "{stderr}"
    );
    // A self-hosted instance over plain http elsewhere than this machine is refused too.
    let (status, stderr) = serve(
        &[
            "--gitlab-oauth-client-id",
            "app",
            "--gitlab-url",
            "http://git.agency.test",
            public[0],
            public[1],
        ],
        &[("UPKEEP_GITLAB_OAUTH_CLIENT_SECRET", "s3cret-value")],
    );
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("which is not https://"), "{stderr}");
    assert!(!stderr.contains("s3cret-value"), "{stderr}");
    // `--github-url` alone means nothing.
    let (status, stderr) = serve(&["--github-url", "https://ghe.agency.test"], &[]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("--github-oauth-client-id"), "{stderr}");
}
