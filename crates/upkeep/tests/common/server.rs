//! `upkeep serve` as a child process on a free loopback port, and a caller of its API, for
//! the end-to-end tests of the binary.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

/// `upkeep serve` on a free port; its address and setup link as it printed them.
pub struct Serve {
    pub child: Child,
    pub url: String,
    pub setup_link: Option<String>,
    pub interrupted: Option<String>,
}

impl Serve {
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[])
    }

    /// `upkeep serve` with more options, e.g. `["--executor", "agents"]`.
    pub fn start_with(data_dir: &Path, options: &[&str]) -> Self {
        Self::start_on("127.0.0.1:0", data_dir, options)
    }

    /// `upkeep serve` on a given address: a server started again where its clients are.
    pub fn start_on(listen: &str, data_dir: &Path, options: &[&str]) -> Self {
        let mut child = Command::cargo_bin("upkeep")
            .unwrap()
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(data_dir)
            .args(options)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        // Lines arrive through a channel, so that waiting for them can time out.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut url, mut setup_link, mut interrupted) = (None, None, None);
        let deadline = Instant::now() + Duration::from_mins(1);
        loop {
            // After the address, what follows comes at once: a quiet second ends the wait.
            let wait = if url.is_some() {
                Duration::from_secs(1)
            } else {
                deadline.saturating_duration_since(Instant::now())
            };
            let Ok(line) = receiver.recv_timeout(wait) else {
                break;
            };
            if let Some(rest) = line.strip_prefix("upkeep: serving on ") {
                url = rest.split(' ').next().map(str::to_string);
            } else if line.contains("cut off by the last stop") {
                interrupted = Some(line.clone());
            } else if line.trim_start().starts_with("http://") {
                setup_link = Some(line.trim().to_string());
                break;
            }
        }
        Self {
            child,
            url: url.expect("the address"),
            setup_link,
            interrupted,
        }
    }
}

/// The password of the accounts the tests create.
pub const PASSWORD: &str = "correct horse battery";

impl Serve {
    /// Sets the server up through its setup link: the admin (`ops@agency.test`, signed in) and
    /// the id of the first workspace, named `workspace`.
    pub fn set_up(&self, workspace: &str) -> (Client, i64) {
        let token = self
            .setup_link
            .as_deref()
            .expect("a setup link")
            .rsplit_once("token=")
            .unwrap()
            .1
            .to_string();
        let mut admin = Client::new(&self.url);
        let (status, body) = admin.call(
            "POST",
            "/api/v1/setup",
            Some(&serde_json::json!({
                "token": token, "email": "ops@agency.test", "display_name": "Ops",
                "password": PASSWORD, "workspace": workspace,
            })),
        );
        assert_eq!(status, 201, "{body}");
        (admin, body["workspace"]["id"].as_i64().unwrap())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Client {
    agent: ureq::Agent,
    base: String,
    cookie: Option<String>,
    csrf: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Self {
        Self {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_idle_connections(0)
                .build()
                .into(),
            base: base.to_string(),
            cookie: None,
            csrf: None,
        }
    }

    pub fn call(&mut self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
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
        if let Some(cookie) = response.headers().get("set-cookie") {
            self.cookie = Some(
                cookie
                    .to_str()
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap()
                    .to_string(),
            );
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

pub fn git(dir: &Path, arguments: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.email=test@example.test", "-c", "user.name=Test"])
        .args(arguments)
        .status()
        .unwrap();
    assert!(status.success(), "git {arguments:?}");
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
