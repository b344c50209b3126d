//! Variables and secrets through the server, end to end: super users set them per workspace and
//! per environment (regular users only read), secrets are write-only and sealed at rest, and a
//! real run's hooks receive them — the environment's over the workspace's and over the deploy
//! file's — with every secret value masked in the logs and absent from every file the server
//! wrote.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Client, Server, code, git, invite_regular_user, set_up, shop_remote};
use serde_json::{Value, json};

const SECRET: &str = "server-side-pw-4711";

fn wait_until_over(client: &mut Client, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let (status, run) = client.call("GET", path, None);
        assert_eq!(status, 200, "{run}");
        if !matches!(
            run["status"].as_str(),
            Some("queued" | "running" | "waiting_for_approval")
        ) {
            return run;
        }
        assert!(Instant::now() < deadline, "the run never ended: {run}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if kind.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            if bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// Makes the shop's hooks also print a digest of the database password they received, which
/// tells which value they got without printing it.
fn reveal_the_password_digest(dir: &Path) {
    let work = dir.join("work");
    let hook = work.join("bin/record-hook");
    let mut text = std::fs::read_to_string(&hook).unwrap();
    text.push_str(
        "echo \"password digest $(printf %s \"$FIXTURE_DB_PASSWORD\" | sha256sum | cut -c1-16)\"\n",
    );
    std::fs::write(&hook, text).unwrap();
    git(
        &work,
        &[
            "commit",
            "-q",
            "-am",
            "hooks print a digest of the password",
        ],
    );
    git(&work, &["push", "-q", "../shop.git", "main"]);
}

fn digest(text: &str) -> String {
    let output = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8(output.stdout).unwrap()[..16].to_string()
}

/// Wrong names and values are refused, naming what is wrong.
fn refuses_wrong_names_and_values(admin: &mut Client, workspace: i64) {
    let variables = format!("/api/v1/workspaces/{workspace}/variables");
    let staging = format!("/api/v1/workspaces/{workspace}/environments/staging/variables");
    for (path, body, wanted) in [
        (
            format!("{variables}/SPRYKER_PIPELINE_TYPE"),
            json!({ "value": "normal" }),
            "set by upkeep itself",
        ),
        (
            format!("{variables}/2FA"),
            json!({ "value": "x" }),
            "invalid variable name",
        ),
        (
            format!("{staging}/SHORT"),
            json!({ "value": "ab", "secret": true }),
            "at least 3 characters",
        ),
        (
            format!("{variables}/FINE"),
            json!({ "value": "x", "colour": "red" }),
            "colour",
        ),
        (
            format!("/api/v1/workspaces/{workspace}/environments/st%20aging/variables/FINE"),
            json!({ "value": "x" }),
            "`environment` is not valid",
        ),
    ] {
        let (status, answer) = admin.call("PUT", &path, Some(&body));
        assert!(
            (400..500).contains(&status)
                && answer["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains(wanted),
            "{path}: {status} {answer}"
        );
    }
}

fn listed_without_secret_values(developer: &mut Client, variables: &str) {
    let (status, listed) = developer.call("GET", variables, None);
    assert_eq!(status, 200, "{listed}");
    let shown: Vec<(Value, Value, Value, Value)> = listed["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variable| {
            (
                variable["environment"].clone(),
                variable["name"].clone(),
                variable["secret"].clone(),
                variable["value"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (
                Value::Null,
                json!("APPLICATION_ENV"),
                json!(false),
                json!("from-the-workspace")
            ),
            (
                Value::Null,
                json!("FIXTURE_BUILD_ID"),
                json!(false),
                json!("from-the-workspace")
            ),
            (
                json!("staging"),
                json!("APPLICATION_ENV"),
                json!(false),
                json!("from-staging")
            ),
            (
                json!("staging"),
                json!("FIXTURE_DB_PASSWORD"),
                json!(true),
                Value::Null
            ),
        ]
    );
}

#[test]
fn steps_receive_the_workspaces_variables_and_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let (remote, _) = shop_remote(dir.path());
    reveal_the_password_digest(dir.path());
    let data_dir = dir.path().join("data");
    let server = Server::start(&data_dir);
    let (mut admin, workspace) = set_up(&server);
    let (status, body) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&json!({ "url": remote })),
    );
    assert_eq!(status, 200, "{body}");
    let mut developer = invite_regular_user(&server, &mut admin, workspace);
    let variables = format!("/api/v1/workspaces/{workspace}/variables");
    let staging = format!("/api/v1/workspaces/{workspace}/environments/staging/variables");

    // Only super users change them.
    let (status, body) = developer.call(
        "PUT",
        &format!("{variables}/APPLICATION_ENV"),
        Some(&json!({ "value": "x" })),
    );
    assert_eq!((status, code(&body)), (403, "forbidden"), "{body}");

    refuses_wrong_names_and_values(&mut admin, workspace);

    // The workspace's value, the environment's over it, and a secret of the environment.
    for (path, body) in [
        (
            format!("{variables}/APPLICATION_ENV"),
            json!({ "value": "from-the-workspace" }),
        ),
        (
            format!("{variables}/FIXTURE_BUILD_ID"),
            json!({ "value": "from-the-workspace" }),
        ),
        (
            format!("{staging}/APPLICATION_ENV"),
            json!({ "value": "from-staging" }),
        ),
        (
            format!("{staging}/FIXTURE_DB_PASSWORD"),
            json!({ "value": SECRET, "secret": true }),
        ),
    ] {
        let (status, answer) = admin.call("PUT", &path, Some(&body));
        assert_eq!(status, 200, "{path}: {answer}");
        assert!(!answer.to_string().contains(SECRET), "{answer}");
    }

    // Members read names and plain values; a secret's value never comes back.
    listed_without_secret_values(&mut developer, &variables);

    // A real run: the hooks see the provided values; the secret is masked in the step's log.
    let (status, started) = developer.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/staging/runs"),
        Some(&json!({})),
    );
    assert_eq!(status, 202, "{started}");
    let run_path = format!(
        "/api/v1/workspaces/{workspace}/runs/{}",
        started["run_id"].as_str().unwrap()
    );
    let done = wait_until_over(&mut developer, &run_path);
    assert_eq!(done["status"], "succeeded", "{done}");
    let journal = std::fs::read_to_string(data_dir.join(format!(
        "workspaces/{workspace}/targets/staging/journal.log"
    )))
    .unwrap();
    assert!(
        journal.contains("env=from-staging") && journal.contains("build=from-the-workspace"),
        "{journal}"
    );
    let (status, log) = developer.call("GET", &format!("{run_path}/logs/install"), None);
    assert_eq!(status, 200, "{log}");
    let texts: Vec<&str> = log["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["text"].as_str().unwrap())
        .collect();
    assert!(
        texts
            .iter()
            .any(|text| text.contains("(database password is ***)")),
        "{texts:?}"
    );
    let received = format!("password digest {}", digest(SECRET));
    assert!(texts.contains(&received.as_str()), "{texts:?}");
    assert_eq!(files_containing(&data_dir, SECRET), Vec::<String>::new());

    // Who changed a secret is in the audit log, its value is not.
    let (_, audit) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/audit"),
        None,
    );
    let text = audit.to_string();
    assert!(
        text.contains("secret.set") && text.contains("FIXTURE_DB_PASSWORD"),
        "{audit}"
    );
    assert!(!text.contains(SECRET));

    let secret = format!("{staging}/FIXTURE_DB_PASSWORD");
    let (status, _) = admin.call("DELETE", &secret, None);
    assert_eq!(status, 204);
    let (status, body) = admin.call("DELETE", &secret, None);
    assert_eq!((status, code(&body)), (404, "not_found"), "{body}");
}
