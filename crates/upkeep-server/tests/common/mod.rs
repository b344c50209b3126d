//! What the server's end-to-end tests share: a server on a free loopback port and API callers.

#![allow(dead_code)]

pub mod smtp;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use upkeep_server::{App, Settings};

/// A server on a free loopback port, stopped (gracefully) when dropped.
pub struct Server {
    pub url: String,
    pub setup_link: Option<String>,
    runtime: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<Result<(), upkeep_server::ServerError>>>,
}

impl Server {
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with(Settings::new(data_dir))
    }

    pub fn start_with(settings: Settings) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let app = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            App::new(settings, listener).await.unwrap()
        });
        let url = format!("http://{}", app.local_addr().unwrap());
        let setup_link = app.setup_link().map(str::to_string);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = runtime.spawn(app.serve(async {
            let _ = stopped.await;
        }));
        Self {
            url,
            setup_link,
            runtime,
            stop: Some(stop),
            served: Some(served),
        }
    }

    pub fn client(&self) -> Client {
        Client {
            // A fresh connection per request: a server may close a connection after refusing a
            // request whose body it did not read, and a pooled one would then fail.
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_idle_connections(0)
                .build()
                .into(),
            base: self.url.clone(),
            cookie: None,
            csrf: None,
            bearer: None,
        }
    }

    /// The token of the setup link.
    pub fn setup_token(&self) -> String {
        let link = self.setup_link.as_deref().expect("a setup link");
        assert!(
            link.starts_with(&format!("{}/setup?token=", self.url)),
            "{link}"
        );
        link.rsplit_once("token=").unwrap().1.to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            let result = self.runtime.block_on(served).unwrap();
            assert!(result.is_ok(), "{result:?}");
        }
    }
}

/// A caller of the API: a browser (cookie and CSRF token) or a script (API token).
pub struct Client {
    agent: ureq::Agent,
    base: String,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Client {
    pub fn call(&mut self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.raw(method, path, body.map(Value::to_string).as_deref(), true)
    }

    pub fn raw(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
        csrf: bool,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        if let (Some(token), true) = (&self.csrf, csrf) {
            request = request.header("x-csrf-token", token);
        }
        if let Some(bearer) = &self.bearer {
            request = request.header("authorization", format!("Bearer {bearer}"));
        }
        let response = match body {
            Some(body) => self.agent.run(
                request
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .unwrap(),
            ),
            None => self.agent.run(request.body(()).unwrap()),
        };
        let mut response = response.unwrap();
        if let Some(set_cookie) = response.headers().get("set-cookie") {
            let pair = set_cookie
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_string();
            self.cookie = Some(pair);
        }
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if let Some(csrf) = value["csrf_token"].as_str() {
            self.csrf = Some(csrf.to_string());
        }
        (status, value)
    }
}

pub fn code(value: &Value) -> &str {
    value["error"]["code"].as_str().unwrap_or("(no error code)")
}

pub const PASSWORD: &str = "correct horse battery staple";

/// Sets a fresh server up: the admin's client (signed in) and the first workspace's id.
pub fn set_up(server: &Server) -> (Client, i64) {
    let mut admin = server.client();
    let (status, body) = admin.call(
        "POST",
        "/api/v1/setup",
        Some(&json!({
            "token": server.setup_token(),
            "email": "ops@agency.test",
            "display_name": "Ops",
            "password": PASSWORD,
            "workspace": "b2c-shop",
        })),
    );
    assert_eq!(status, 201, "{body}");
    (admin, body["workspace"]["id"].as_i64().unwrap())
}

/// Accepts an invitation into `workspace` for a new account and returns its signed-in client.
pub fn join(
    server: &Server,
    admin: &mut Client,
    workspace: i64,
    email: &str,
    role: &str,
) -> Client {
    let (status, invitation) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/invitations"),
        Some(&json!({ "email": email, "role": role })),
    );
    assert_eq!(status, 201, "{invitation}");
    let mut client = server.client();
    let (status, body) = client.call(
        "POST",
        "/api/v1/invitations/accept",
        Some(&json!({ "token": invitation["token"], "display_name": email, "password": PASSWORD })),
    );
    assert_eq!(status, 200, "{body}");
    client
}

/// A server set up through the API, its first workspace connected to the repository at `url`.
pub fn connected_server(dir: &Path, url: &str) -> (Server, Client, i64) {
    let server = Server::start(&dir.join("data"));
    let (mut admin, workspace) = set_up(&server);
    let (status, body) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&json!({ "url": url })),
    );
    assert_eq!(status, 200, "{body}");
    (server, admin, workspace)
}

/// Invites `dev@agency.test` as a regular user of the workspace and returns its signed-in
/// client.
pub fn invite_regular_user(server: &Server, admin: &mut Client, workspace: i64) -> Client {
    let (_, invitation) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/invitations"),
        Some(&json!({ "email": "dev@agency.test", "role": "regular_user" })),
    );
    let mut developer = server.client();
    let (status, body) = developer.call(
        "POST",
        "/api/v1/invitations/accept",
        Some(&json!({ "token": invitation["token"], "display_name": "Dev", "password": PASSWORD })),
    );
    assert_eq!(status, 200, "{body}");
    developer
}

/// Starts the environment's main pipeline by hand and returns the queued run's id.
pub fn start_run(client: &mut Client, workspace: i64, environment: &str) -> String {
    let (status, run) = client.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/{environment}/runs"),
        Some(&json!({})),
    );
    assert_eq!(status, 202, "{run}");
    run["run_id"].as_str().unwrap().to_string()
}

/// Runs git in `dir` and returns what it printed.
pub fn git(dir: &Path, arguments: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.email=test@example.test", "-c", "user.name=Test"])
        .args(arguments)
        .output()
        .unwrap();
    assert!(output.status.success(), "git {arguments:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A bare repository of the fixture shop (`tests/fixtures/pipeline-shop`) on `main`: its
/// `file://` URL and the commit.
pub fn shop_remote(dir: &Path) -> (String, String) {
    shop_remote_edited(dir, |_| {})
}

/// As [`shop_remote`], with the working copy changed by `edit` before the commit.
pub fn shop_remote_edited(dir: &Path, edit: impl FnOnce(&Path)) -> (String, String) {
    let work = dir.join("work");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pipeline-shop"),
        &work,
    );
    edit(&work);
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "shop"]);
    let commit = git(&work, &["rev-parse", "HEAD"]);
    git(dir, &["clone", "-q", "--bare", "work", "shop.git"]);
    (format!("file://{}", dir.join("shop.git").display()), commit)
}

/// The runs of an environment, newest first.
pub fn runs(client: &mut Client, workspace: i64, environment: &str) -> Vec<Value> {
    let (status, body) = client.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/environments/{environment}/runs"),
        None,
    );
    assert_eq!(status, 200, "{body}");
    body["runs"].as_array().unwrap().clone()
}

/// Waits until the newest run of the environment has status `wanted`, and returns it.
pub fn wait_for_status(
    client: &mut Client,
    workspace: i64,
    environment: &str,
    wanted: &str,
) -> Value {
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let found = runs(client, workspace, environment);
        if let Some(run) = found.first()
            && run["status"] == wanted
        {
            return run.clone();
        }
        assert!(Instant::now() < deadline, "{environment}: {found:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// No file under the data directory (the database, its WAL, clones, run records and logs)
/// holds `secret` in clear.
pub fn assert_sealed_at_rest(data_dir: &Path, secret: &str) {
    fn walk(dir: &Path, secret: &[u8], found: &mut Vec<String>) {
        // A directory or file removed meanwhile (git's private credentials directory, a
        // temporary file of a run still going) holds nothing any more.
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                walk(&path, secret, found);
            } else if kind.is_file() {
                let bytes = std::fs::read(&path).unwrap_or_default();
                if bytes.windows(secret.len()).any(|window| window == secret) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(data_dir, secret.as_bytes(), &mut found);
    assert!(found.is_empty(), "in clear at rest: {found:?}");
}

/// Reads the server-sent events of a log until the `end` event: (id, text) of each line, and
/// the end's data.
pub fn follow(
    server: &Server,
    client: &Client,
    path: &str,
    last_event_id: Option<&str>,
) -> (Vec<(String, String)>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(format!("{}{path}", server.url));
    if let Some(cookie) = &client.cookie {
        request = request.header("cookie", cookie);
    }
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let mut response = request.call().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let reader = BufReader::new(response.body_mut().as_reader());
    let mut lines = Vec::new();
    // `data` is `None` until the event has a data field (an empty line's is empty).
    let (mut id, mut event, mut data) = (String::new(), String::new(), None::<String>);
    for line in reader.lines() {
        let line = line.unwrap();
        if line.is_empty() {
            if event == "end" {
                return (lines, data.unwrap_or_default());
            }
            if let Some(data) = data.take() {
                let line: Value = serde_json::from_str(&data).unwrap();
                lines.push((id.clone(), line["text"].as_str().unwrap().to_string()));
            }
            event.clear();
            continue;
        }
        if let Some(value) = line
            .strip_prefix("id: ")
            .or_else(|| line.strip_prefix("id:"))
        {
            id = value.to_string();
        } else if let Some(value) = line
            .strip_prefix("event: ")
            .or_else(|| line.strip_prefix("event:"))
        {
            event = value.to_string();
        } else if let Some(value) = line
            .strip_prefix("data: ")
            .or_else(|| line.strip_prefix("data:"))
        {
            data = Some(value.to_string());
        }
    }
    panic!("the event stream ended without an end event");
}
