//! Connecting a repository by provider, for real: a bare repository served over HTTP on
//! loopback by git's own `git http-backend`, behind basic auth. A wrong password is refused at
//! once with git's reason and nothing is stored; the right one connects, a run clones and
//! deploys through it, and neither the database, nor the clone's `.git/config`, nor any run
//! record or log holds the password; the connection is shown without secrets; switching to a
//! GitHub connection by token and cloning from scratch are audited. Bad bodies are refused
//! naming the field, without echoing a secret.

mod common;

use common::{Client, Server, assert_sealed_at_rest, code, set_up, shop_remote, wait_for_status};
use serde_json::{Value, json};
use upkeep_forge::testing::GitHttpServer;

const PASSWORD: &str = "deploy-pa55word";
const TOKEN: &str = "ghp_connection_test_token";

fn connect(admin: &mut Client, workspace: i64, body: &Value) -> (u16, Value) {
    admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(body),
    )
}

fn audit_actions(admin: &mut Client, workspace: i64) -> Vec<String> {
    let (status, audit) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/audit"),
        None,
    );
    assert_eq!(status, 200, "{audit}");
    audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn https_credentials_connect_run_and_stay_sealed() {
    let dir = tempfile::tempdir().unwrap();
    shop_remote(dir.path());
    let git_server = GitHttpServer::start(dir.path(), "deploy", PASSWORD);
    let url = git_server.url("shop.git");
    let data_dir = dir.path().join("data");
    let server = Server::start(&data_dir);
    let (mut admin, workspace) = set_up(&server);

    // A wrong password: refused with git's reason, and nothing is connected.
    let (status, body) = connect(
        &mut admin,
        workspace,
        &json!({ "provider": "git", "url": url, "username": "deploy", "password": "wrong-pa55word" }),
    );
    assert_eq!(
        (status, code(&body)),
        (422, "repository_unreachable"),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("Authentication failed"), "{message}");
    assert!(!message.contains("wrong-pa55word"), "{message}");
    let (status, _) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        None,
    );
    assert_eq!(status, 404);

    let (status, connected) = connect(
        &mut admin,
        workspace,
        &json!({ "provider": "git", "url": url, "username": "deploy", "password": PASSWORD }),
    );
    assert_eq!(status, 200, "{connected}");
    assert!(!connected.to_string().contains(PASSWORD), "{connected}");
    assert_eq!(connected["has_password"], true);
    assert_eq!(connected["authorised_by"], "password");
    assert_eq!(connected["webhook"]["status"], "manual");
    assert!(connected["webhook"]["secret"].is_string());
    let (status, shown) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        None,
    );
    assert_eq!(status, 200, "{shown}");
    assert_eq!(
        (
            shown["provider"].clone(),
            shown["url"].clone(),
            shown["username"].clone(),
            shown["has_password"].clone(),
            shown["has_token"].clone(),
            shown["polling"]["interval_seconds"].clone(),
        ),
        (
            json!("git"),
            json!(url),
            json!("deploy"),
            json!(true),
            json!(false),
            json!(60)
        )
    );
    assert!(shown["webhook"].get("secret").is_none(), "{shown}");

    // A run clones over https with the password, builds and deploys.
    let (status, run) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/staging/runs"),
        Some(&json!({})),
    );
    assert_eq!(status, 202, "{run}");
    wait_for_status(&mut admin, workspace, "staging", "succeeded");
    let clone = data_dir.join(format!("workspaces/{workspace}/repository"));
    let config = std::fs::read_to_string(clone.join(".git/config")).unwrap();
    assert!(config.contains(&url), "{config}");

    switch_to_github_and_reclone(&mut admin, workspace, dir.path(), &clone);
    drop(server);
    assert_sealed_at_rest(&data_dir, PASSWORD);
    assert_sealed_at_rest(&data_dir, TOKEN);
    assert!(
        std::fs::read_dir(data_dir.join("tmp")).map_or(0, Iterator::count) == 0,
        "credentials prepared for git were left behind"
    );
}

#[test]
fn bad_connections_are_refused_naming_the_field_without_echoing_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (remote, _) = shop_remote(dir.path());
    let server = Server::start(&dir.path().join("data"));
    let (mut admin, workspace) = set_up(&server);
    let key =
        "-----BEGIN OPENSSH PRIVATE KEY-----\nsecretkeymaterial\n-----END OPENSSH PRIVATE KEY-----";
    let cases = [
        (
            json!({ "provider": "bitbucket", "url": remote }),
            "`provider`",
        ),
        (json!({ "url": "ftp://example.test/shop.git" }), "`url`"),
        (
            json!({ "url": "https://bot:hunter22@example.test/shop.git" }),
            "`url` must not hold credentials",
        ),
        (
            json!({ "provider": "git", "url": "https://example.test/shop.git", "token": "hunter22" }),
            "`token` is for the github and gitlab providers",
        ),
        (
            json!({ "provider": "github", "url": "https://github.com/acme/shop.git", "username": "bot", "password": "hunter22" }),
            "`username` and `password` are for plain git URLs",
        ),
        (
            json!({ "url": "https://example.test/shop.git", "username": "bot" }),
            "`password` is missing",
        ),
        (
            json!({ "url": "http://example.test/shop.git", "username": "bot", "password": "hunter22" }),
            "`url` must be https://",
        ),
        (
            json!({ "url": "https://example.test/shop.git", "ssh_key": key }),
            "`ssh_key` is for ssh URLs",
        ),
        (
            json!({ "url": "git@example.test:acme/shop.git", "ssh_key": "hunter22" }),
            "`ssh_key` must be a private key",
        ),
        (
            json!({ "url": remote, "username": "bot", "password": "hunter22" }),
            "`username` and `password` are for https URLs",
        ),
        (
            json!({ "provider": "gitlab", "url": remote }),
            "`repository` is needed",
        ),
        (
            json!({ "provider": "github", "url": "https://github.com/acme/shop.git", "repository": "a/b/c" }),
            "`repository`",
        ),
        (
            json!({ "provider": "github", "url": "https://github.com/acme/shop.git", "token": "hunter22", "api_base": "http://api.example.test" }),
            "`api_base` must be https://",
        ),
        (
            json!({ "url": remote, "poll_interval_seconds": 0 }),
            "`poll_interval_seconds`",
        ),
        (
            json!({ "url": remote, "tokens": "hunter22" }),
            "unknown field `tokens`",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = connect(&mut admin, workspace, &body);
        assert!(status == 400 || status == 422, "{body}: {status} {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{body}: {message}");
        assert!(
            !message.contains("hunter22") && !message.contains("secretkeymaterial"),
            "{message}"
        );
    }
    // Nothing was connected.
    let (status, _) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        None,
    );
    assert_eq!(status, 404);
}

/// A new ed25519 private key without passphrase, as text.
fn private_key(dir: &std::path::Path, name: &str) -> String {
    let path = dir.join(name);
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn an_ssh_key_connects_runs_and_stays_sealed() {
    let dir = tempfile::tempdir().unwrap();
    shop_remote(dir.path());
    let ssh = upkeep_pipeline::testing::TestSshd::start();
    let key = ssh.client_key();
    let stranger = private_key(dir.path(), "other_key");
    let url = format!(
        "ssh://{}@127.0.0.1:{}{}",
        ssh.user,
        ssh.port,
        dir.path().join("shop.git").display()
    );
    let data_dir = dir.path().join("data");
    let server = Server::start(&data_dir);
    let (mut admin, workspace) = set_up(&server);

    let (status, body) = connect(
        &mut admin,
        workspace,
        &json!({ "url": url, "ssh_key": stranger }),
    );
    assert_eq!(
        (status, code(&body)),
        (422, "repository_unreachable"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Permission denied"),
        "{body}"
    );
    let (status, connected) = connect(
        &mut admin,
        workspace,
        &json!({ "url": url, "ssh_key": key }),
    );
    assert_eq!(status, 200, "{connected}");
    assert_eq!(connected["has_ssh_key"], true);
    assert_eq!(connected["authorised_by"], "ssh_key");
    let (status, run) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/staging/runs"),
        Some(&json!({})),
    );
    assert_eq!(status, 202, "{run}");
    wait_for_status(&mut admin, workspace, "staging", "succeeded");
    drop(server);
    // The key's secret part (its middle lines) is nowhere at rest.
    let secret_line = key.lines().nth(1).unwrap();
    assert_sealed_at_rest(&data_dir, secret_line);
    assert_sealed_at_rest(&data_dir, stranger.lines().nth(1).unwrap());
}

/// Switching to GitHub by token (git sends the token as GitHub expects it), a run through the
/// new URL, and the clone dropped; all in the audit log.
fn switch_to_github_and_reclone(
    admin: &mut Client,
    workspace: i64,
    root: &std::path::Path,
    clone: &std::path::Path,
) {
    let github = GitHttpServer::start(root, "x-access-token", TOKEN);
    let github_url = github.url("shop.git");
    let (status, switched) = connect(
        admin,
        workspace,
        &json!({
            "provider": "github", "url": github_url, "token": TOKEN,
            "repository": "acme/shop", "api_base": "http://127.0.0.1:9",
        }),
    );
    assert_eq!(status, 200, "{switched}");
    assert_eq!(
        (
            switched["provider"].clone(),
            switched["has_token"].clone(),
            switched["authorised_by"].clone()
        ),
        (json!("github"), json!(true), json!("token"))
    );
    let (status, run) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/staging/runs"),
        Some(&json!({})),
    );
    assert_eq!(status, 202, "{run}");
    let newest = wait_for_status(admin, workspace, "staging", "succeeded");
    assert_eq!(newest["run_id"], run["run_id"]);
    let config = std::fs::read_to_string(clone.join(".git/config")).unwrap();
    assert!(
        config.contains(&github_url),
        "a switch clones the new URL: {config}"
    );

    let (status, dropped) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/repository/reclone"),
        None,
    );
    assert_eq!((status, dropped["dropped"].clone()), (200, json!(true)));
    assert!(!clone.exists());
    let actions = audit_actions(admin, workspace);
    for action in [
        "repository.connected",
        "repository.switched",
        "repository.recloned",
    ] {
        assert!(actions.iter().any(|found| found == action), "{actions:?}");
    }
}
