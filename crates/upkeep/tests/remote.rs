//! `upkeep remote` against a real `upkeep serve` child process on loopback: logging in with an
//! API token (kept 0600, never printed), listing and starting runs, approvals refused to a
//! regular user and given by a super user, and logs followed over server-sent events through a
//! proxy that drops the connection in the middle: every line comes once, in order; and the
//! weekly upgrader run from the command line, followed to the pull request it opens on the
//! GitHub double.

mod common;
#[path = "../../../tests/support/composer_shop.rs"]
mod composer_shop;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::server::{Client, PASSWORD, Serve, copy_tree, git};
use common::{assert_exit, stderr, stdout};
use composer_shop::{ComposerShop, require_composer};
use serde_json::{Value, json};
use upkeep_forge::testing::FakeGitHub;

const LINES: usize = 300;

/// A server with a workspace connected to the fixture shop, whose staging install prints
/// [`LINES`] numbered lines; API tokens of its super user and of a regular user.
struct Shop {
    dir: tempfile::TempDir,
    serve: Serve,
    admin: Client,
    workspace: i64,
    admin_token: String,
    regular_token: String,
}

fn shop() -> Shop {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pipeline-shop"),
        &work,
    );
    let hook = work.join("bin/many-lines");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\ni=1\nwhile [ $i -le {LINES} ]; do echo \"line $i\"; i=$((i+1)); done\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let deploy_file = work.join("deploy.fixture-shop-staging.yml");
    let text = std::fs::read_to_string(&deploy_file)
        .unwrap()
        .replace("bin/record-hook install-destructive", "bin/many-lines");
    std::fs::write(&deploy_file, text).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "shop"]);
    git(dir.path(), &["clone", "-q", "--bare", "work", "shop.git"]);

    let serve = Serve::start(&dir.path().join("data"));
    let (mut admin, workspace) = serve.set_up("b2c-shop");
    let w = format!("/api/v1/workspaces/{workspace}");
    let url = format!("file://{}", dir.path().join("shop.git").display());
    let (status, body) = admin.call(
        "PUT",
        &format!("{w}/repository"),
        Some(&json!({ "url": url })),
    );
    assert_eq!(status, 200, "{body}");
    let (status, token) = admin.call("POST", "/api/v1/tokens", Some(&json!({ "name": "cli" })));
    assert_eq!(status, 201, "{token}");
    let admin_token = token["token"].as_str().unwrap().to_string();

    let (status, invitation) = admin.call(
        "POST",
        &format!("{w}/invitations"),
        Some(&json!({ "email": "dev@agency.test", "role": "regular_user" })),
    );
    assert_eq!(status, 201, "{invitation}");
    let mut regular = Client::new(&serve.url);
    let (status, body) = regular.call(
        "POST",
        "/api/v1/invitations/accept",
        Some(&json!({ "token": invitation["token"], "display_name": "Dev", "password": PASSWORD })),
    );
    assert_eq!(status, 200, "{body}");
    let (status, token) = regular.call("POST", "/api/v1/tokens", Some(&json!({ "name": "cli" })));
    assert_eq!(status, 201, "{token}");
    Shop {
        dir,
        serve,
        admin,
        workspace,
        admin_token,
        regular_token: token["token"].as_str().unwrap().to_string(),
    }
}

/// `upkeep remote …` with its own configuration directory and no login in its environment.
fn remote(config: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut command = assert_cmd::Command::cargo_bin("upkeep").unwrap();
    command
        .arg("remote")
        .args(args)
        .env("XDG_CONFIG_HOME", config)
        .env_remove("UPKEEP_TOKEN")
        .env_remove("UPKEEP_SERVER")
        .env("NO_COLOR", "1")
        .write_stdin(stdin)
        .timeout(Duration::from_mins(3));
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

/// Waits until the run's status passes `done`.
fn wait_for(client: &mut Client, path: &str, done: impl Fn(&str) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_mins(3);
    loop {
        let (status, run) = client.call("GET", path, None);
        assert_eq!(status, 200, "{run}");
        if done(run["status"].as_str().unwrap_or_default()) {
            return run;
        }
        assert!(Instant::now() < deadline, "the run stays {}", run["status"]);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn login_checks_the_token_and_keeps_it_to_its_owner() {
    let shop = shop();
    let config = shop.dir.path().join("config");
    let file = config.join("upkeep/remote.toml");

    // Not logged in yet: said so, with what to do.
    let output = remote(&config, &["runs", "--workspace", "b2c-shop"], &[], "");
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("error: not logged in"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("hint: run `upkeep remote login --server URL`"));

    // The token on standard input, checked with the server.
    let stdin = format!("{}\n", shop.admin_token);
    let output = remote(
        &config,
        &["login", "--server", &shop.serve.url],
        &[],
        &stdin,
    );
    assert_exit(&output, 0);
    assert!(
        stderr(&output).contains(&format!(
            "logged in to {} as ops@agency.test",
            shop.serve.url
        )),
        "{}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains(&shop.admin_token)
            && !stdout(&output).contains(&shop.admin_token)
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(
        saved.contains(&shop.admin_token) && saved.contains(&shop.serve.url),
        "{saved}"
    );

    // A token the server does not know: its refusal, and the saved login stays.
    let output = remote(
        &config,
        &["login", "--server", &shop.serve.url],
        &[],
        "upk_not-a-token\n",
    );
    assert_exit(&output, 2);
    let error = stderr(&output);
    assert!(error.contains("(401 unauthenticated)"), "{error}");
    assert!(
        error.contains("hint: the API token is wrong or was revoked"),
        "{error}"
    );
    assert!(!error.contains("upk_not-a-token"), "{error}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), saved);

    // UPKEEP_TOKEN instead of standard input.
    let other = shop.dir.path().join("other-config");
    let output = remote(
        &other,
        &["login", "--server", &shop.serve.url],
        &[("UPKEEP_TOKEN", &shop.regular_token)],
        "",
    );
    assert_exit(&output, 0);
    assert!(
        stderr(&output).contains("as dev@agency.test"),
        "{}",
        stderr(&output)
    );

    // No token at all, and a server that is not there.
    let output = remote(&other, &["login", "--server", &shop.serve.url], &[], "");
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("error: no API token was given"));
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let output = remote(&other, &["login", "--server", &nobody], &[], &stdin);
    assert_exit(&output, 2);
    let error = stderr(&output);
    assert!(
        error.contains(&format!("error: cannot reach the server at {nobody}")),
        "{error}"
    );
    assert!(
        error.contains("hint: check that `upkeep serve` runs there"),
        "{error}"
    );
    let output = remote(
        &other,
        &["login", "--server", "upkeep.example.com"],
        &[],
        &stdin,
    );
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("is not an http:// or https:// address"));
}

#[test]
fn runs_approvals_and_logs_that_resume_after_a_dropped_connection() {
    let mut shop = shop();
    let config = shop.dir.path().join("config");
    let regular_config = shop.dir.path().join("regular-config");
    let stdin = format!("{}\n", shop.admin_token);
    assert_exit(
        &remote(
            &config,
            &["login", "--server", &shop.serve.url],
            &[],
            &stdin,
        ),
        0,
    );
    let stdin = format!("{}\n", shop.regular_token);
    assert_exit(
        &remote(
            &regular_config,
            &["login", "--server", &shop.serve.url],
            &[],
            &stdin,
        ),
        0,
    );

    // A regular user starts staging, by workspace name.
    let output = remote(
        &regular_config,
        &["run", "--workspace", "b2c-shop", "--env", "staging"],
        &[],
        "",
    );
    assert_exit(&output, 0);
    let run = stdout(&output).trim().to_string();
    assert!(
        stderr(&output).contains("queued *** staging Pipeline ***"),
        "{}",
        stderr(&output)
    );

    let printed = follow_through_a_dropping_proxy(&shop, &config, &run);
    // The same log read at once, and every stage's log in order.
    let output = remote(
        &config,
        &[
            "logs",
            "--workspace",
            "b2c-shop",
            &run,
            "--stage",
            "install",
        ],
        &[],
        "",
    );
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), printed);
    let run_path = format!("/api/v1/workspaces/{}/runs/{run}", shop.workspace);
    wait_for(&mut shop.admin, &run_path, |status| status == "succeeded");
    let output = remote(&config, &["logs", "--workspace", "b2c-shop", &run], &[], "");
    assert_exit(&output, 0);
    assert!(stdout(&output).contains(&format!("line {LINES}\n")));
    assert!(
        stderr(&output).contains("install log:"),
        "{}",
        stderr(&output)
    );

    let production = approvals(&mut shop, &config, &regular_config);
    listing(&config, &regular_config, &run, &production);
}

/// Follows the install log of `run` through a proxy that drops the stream after 1500 bytes;
/// returns what was printed.
fn follow_through_a_dropping_proxy(shop: &Shop, config: &Path, run: &str) -> String {
    // The install log, followed through a proxy that drops the stream after 1500 bytes.
    let proxy = CuttingProxy::start(
        shop.serve
            .url
            .trim_start_matches("http://")
            .parse()
            .unwrap(),
        1500,
    );
    let workspace = shop.workspace.to_string();
    let output = remote(
        config,
        &[
            "logs",
            "--workspace",
            &workspace,
            run,
            "--stage",
            "install",
            "--follow",
        ],
        &[
            ("UPKEEP_SERVER", &proxy.url),
            ("UPKEEP_TOKEN", &shop.admin_token),
        ],
        "",
    );
    assert_exit(&output, 0);
    assert!(
        proxy.cut.load(Ordering::SeqCst),
        "the proxy never cut a stream"
    );
    let printed = stdout(&output);
    let numbered: Vec<&str> = printed
        .lines()
        .filter(|line| line.starts_with("line "))
        .collect();
    let expected: Vec<String> = (1..=LINES).map(|n| format!("line {n}")).collect();
    assert_eq!(numbered, expected, "stderr: {}", stderr(&output));
    let notices = stderr(&output);
    assert!(
        notices.contains("dropped") && notices.contains("resuming the log after byte"),
        "{notices}"
    );
    assert!(notices.contains("install ended: succeeded"), "{notices}");

    printed
}

/// Production waits for approval: the regular user may not give it, the super user does.
/// Returns the production run.
fn approvals(shop: &mut Shop, config: &Path, regular_config: &Path) -> String {
    let output = remote(
        config,
        &["run", "--workspace", "b2c-shop", "--env", "production"],
        &[],
        "",
    );
    assert_exit(&output, 0);
    let production = stdout(&output).trim().to_string();
    let production_path = format!("/api/v1/workspaces/{}/runs/{production}", shop.workspace);
    wait_for(&mut shop.admin, &production_path, |status| {
        status != "queued" && status != "running"
    });
    let output = remote(
        regular_config,
        &["approve", "--workspace", "b2c-shop", &production],
        &[],
        "",
    );
    assert_exit(&output, 2);
    let error = stderr(&output);
    assert!(
        error.contains("only a super user of the workspace may do this (403 forbidden)"),
        "{error}"
    );
    assert!(
        error.contains("hint: ask a super user of the workspace"),
        "{error}"
    );
    let output = remote(
        config,
        &["approve", "--workspace", "b2c-shop", &production],
        &[],
        "",
    );
    assert_exit(&output, 0);
    assert!(stderr(&output).contains(&format!("run {production} approved")));
    wait_for(&mut shop.admin, &production_path, |status| {
        status == "succeeded"
    });
    // Approving again: the API's refusal, as it says it.
    let output = remote(
        config,
        &["reject", "--workspace", "b2c-shop", &production],
        &[],
        "",
    );
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("(409 not_waiting)"),
        "{}",
        stderr(&output)
    );

    production
}

/// The list: newest first, all environments or one.
fn listing(config: &Path, regular_config: &Path, run: &str, production: &str) {
    let output = remote(
        regular_config,
        &["runs", "--workspace", "b2c-shop"],
        &[],
        "",
    );
    assert_exit(&output, 0);
    let table = stdout(&output);
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert!(table.starts_with("RUN "), "{table}");
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows[0].starts_with(production) && rows[0].contains("succeeded"),
        "{table}"
    );
    assert!(
        rows[1].starts_with(run) && rows[1].contains("staging"),
        "{table}"
    );
    let output = remote(
        config,
        &[
            "runs",
            "--workspace",
            "b2c-shop",
            "--env",
            "staging",
            "--json",
        ],
        &[],
        "",
    );
    assert_exit(&output, 0);
    let page: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(page["runs"].as_array().unwrap().len(), 1);
    assert_eq!(page["runs"][0]["run_id"], run);
    assert!(page["next_cursor"].is_null());
    let output = remote(config, &["runs", "--workspace", "no-such-shop"], &[], "");
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("no workspace `no-such-shop` among yours (1 b2c-shop)"),
        "{}",
        stderr(&output)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback TCP proxy to the server that cuts the first event stream it carries after
/// `cut` bytes of the answer, as a dropped connection would; every other connection goes
/// through whole.
struct CuttingProxy {
    url: String,
    cut: Arc<AtomicBool>,
}

impl CuttingProxy {
    fn start(target: SocketAddr, cut_after: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let cut = Arc::new(AtomicBool::new(false));
        let done = Arc::clone(&cut);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let done = Arc::clone(&done);
                std::thread::spawn(move || carry(client, target, cut_after, &done));
            }
        });
        Self { url, cut }
    }
}

fn carry(mut client: TcpStream, target: SocketAddr, cut_after: usize, done: &AtomicBool) {
    let Ok(mut server) = TcpStream::connect(target) else {
        return;
    };
    let mut head = vec![0; 16 * 1024];
    let Ok(read) = client.read(&mut head) else {
        return;
    };
    head.truncate(read);
    let cutting =
        String::from_utf8_lossy(&head).contains("/events") && !done.swap(true, Ordering::SeqCst);
    if server.write_all(&head).is_err() {
        return;
    }
    let (mut from_client, mut to_server) =
        (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_client, &mut to_server);
    });
    if cutting {
        let mut sent = 0;
        let mut buffer = [0; 256];
        while sent < cut_after {
            match server.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let n = n.min(cut_after - sent);
                    if client.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                    sent += n;
                }
            }
        }
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
    } else {
        let _ = std::io::copy(&mut server, &mut client);
        let _ = client.shutdown(Shutdown::Write);
    }
}

#[test]
fn the_upgrader_runs_from_the_command_line_and_is_followed_to_its_pull_request() {
    require_composer();
    let shop = ComposerShop::new();
    let github = FakeGitHub::start();
    github.require_branches_in(&shop.origin);
    let serve = Serve::start(&shop.dir.path().join("data"));
    let (mut admin, workspace) = serve.set_up("shop");
    let (status, connected) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&shop.github_connection(&github.base_url(), &github.token())),
    );
    assert_eq!(status, 200, "{connected}");
    let (status, token) = admin.call("POST", "/api/v1/tokens", Some(&json!({ "name": "cli" })));
    assert_eq!(status, 201, "{token}");
    let config = shop.dir.path().join("config");
    let stdin = format!("{}\n", token["token"].as_str().unwrap());
    assert_exit(
        &remote(&config, &["login", "--server", &serve.url], &[], &stdin),
        0,
    );

    // Three groups apply, one conflicts: a partial run, exit 1, with its request and majors.
    let output = remote(
        &config,
        &["upgrade", "--workspace", "shop", "--follow"],
        &[],
        "",
    );
    let (out, err) = (stdout(&output), stderr(&output));
    assert_exit(&output, 1);
    let id = out.lines().next().unwrap().to_string();
    assert!(id.parse::<i64>().is_ok(), "{out}");
    assert!(
        out.contains("pushed upkeep/upgrade-for-main to origin"),
        "the log is printed: {out}"
    );
    let request = format!("{}/acme/shop/pull/1", github.base_url());
    assert!(err.contains(&format!("upgrade run {id} partial")), "{err}");
    assert!(err.contains(&format!("request: {request}")), "{err}");
    assert!(
        err.contains("major update left to do by hand: spryker/kernel 4.0.0"),
        "{err}"
    );
    assert!(!out.contains(&github.token()) && !err.contains(&github.token()));
    assert_eq!(github.pull_requests().len(), 1);

    // While that request is open, the next run is refused, and says so.
    let output = remote(
        &config,
        &["upgrade", "--workspace", "shop", "--follow"],
        &[],
        "",
    );
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains(" refused: "),
        "{}",
        stderr(&output)
    );

    let output = remote(&config, &["upgrades", "--workspace", "shop"], &[], "");
    assert_exit(&output, 0);
    let listed = stdout(&output);
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{listed}");
    assert!(
        rows[0].contains("refused") && rows[0].contains("manual"),
        "{listed}"
    );
    assert!(
        rows[1].starts_with(&id) && rows[1].contains(&request),
        "{listed}"
    );
}
