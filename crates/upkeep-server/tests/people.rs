//! The server's people journeys through real HTTP on loopback, on the embedded SQLite database:
//! the one-time setup link, sign-in with its rate limit, sessions with CSRF, API tokens,
//! workspaces, roles enforced on the server, invitations that are used once and can be
//! revoked, the audit log, and errors in the API's format.

use std::path::Path;

use serde_json::{Value, json};
use upkeep_server::{App, Settings};

/// A server on a free loopback port, stopped (gracefully) when dropped.
struct Server {
    url: String,
    setup_link: Option<String>,
    runtime: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<Result<(), upkeep_server::ServerError>>>,
}

impl Server {
    fn start(data_dir: &Path) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let app = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            App::new(Settings::new(data_dir), listener).await.unwrap()
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

    fn client(&self) -> Client {
        Client {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
            base: self.url.clone(),
            cookie: None,
            csrf: None,
            bearer: None,
        }
    }

    /// The token of the setup link.
    fn setup_token(&self) -> String {
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
struct Client {
    agent: ureq::Agent,
    base: String,
    cookie: Option<String>,
    csrf: Option<String>,
    bearer: Option<String>,
}

impl Client {
    fn call(&mut self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.raw(method, path, body.map(Value::to_string).as_deref(), true)
    }

    fn raw(&mut self, method: &str, path: &str, body: Option<&str>, csrf: bool) -> (u16, Value) {
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

fn code(value: &Value) -> &str {
    value["error"]["code"].as_str().unwrap_or("(no error code)")
}

const PASSWORD: &str = "correct horse battery staple";

/// Sets a fresh server up: the admin's client (signed in) and the first workspace's id.
fn set_up(server: &Server) -> (Client, i64) {
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

#[test]
fn the_setup_link_creates_the_admin_once_and_only_with_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut visitor = server.client();
    let first_account = |token: &str, email: &str| {
        json!({
            "token": token, "email": email, "display_name": "Ops",
            "password": PASSWORD, "workspace": "b2c-shop",
        })
    };
    // The first visitor does not win: without the link's token nothing is created.
    let (status, body) = visitor.call(
        "POST",
        "/api/v1/setup",
        Some(&first_account("guess", "evil@example.test")),
    );
    assert_eq!((status, code(&body)), (403, "setup_token"), "{body}");
    // A request that fails its checks names the field and does not use the link up.
    let (status, body) = visitor.call(
        "POST",
        "/api/v1/setup",
        Some(&first_account(&server.setup_token(), "not-an-email")),
    );
    assert_eq!((status, code(&body)), (400, "invalid_field"), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`email`")
    );
    let (admin, workspace) = set_up(&server);
    let mut admin = admin;
    let (status, me) = admin.call("GET", "/api/v1/me", None);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["account"]["is_admin"], true);
    assert_eq!(me["workspaces"][0]["id"], workspace);
    assert_eq!(me["workspaces"][0]["role"], "super_user");
    // Used once.
    let (status, body) = visitor.call(
        "POST",
        "/api/v1/setup",
        Some(&first_account(&server.setup_token(), "second@example.test")),
    );
    assert_eq!((status, code(&body)), (403, "setup_token"), "{body}");
    drop(server);
    // A server with an account prints no setup link, and keeps its data.
    let again = Server::start(dir.path());
    assert_eq!(again.setup_link, None);
    let mut client = again.client();
    let (status, body) = client.call(
        "POST",
        "/api/v1/session",
        Some(&json!({ "email": "OPS@agency.test", "password": PASSWORD })),
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn invitations_roles_and_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (mut admin, workspace) = set_up(&server);
    let (status, invitation) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/invitations"),
        Some(&json!({ "email": "dev@agency.test", "role": "regular_user" })),
    );
    assert_eq!(status, 201, "{invitation}");
    let link = invitation["link"].as_str().unwrap();
    assert!(link.starts_with(&format!("{}/invitations/accept?token=", server.url)));
    let token = invitation["token"].as_str().unwrap().to_string();

    // The newcomer accepts: the account comes with the invitation, signed in.
    let mut developer = server.client();
    let accept =
        |token: &str| json!({ "token": token, "display_name": "Dev", "password": PASSWORD });
    let (status, body) =
        developer.call("POST", "/api/v1/invitations/accept", Some(&accept(&token)));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "regular_user");
    let (_, me) = developer.call("GET", "/api/v1/me", None);
    assert_eq!(me["workspaces"][0]["role"], "regular_user");
    // Used once.
    let mut stranger = server.client();
    let (status, body) = stranger.call("POST", "/api/v1/invitations/accept", Some(&accept(&token)));
    assert_eq!(
        (status, code(&body)),
        (410, "invitation_unusable"),
        "{body}"
    );

    // A regular user reads, but neither invites nor reads the audit log.
    let (status, members) = developer.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/members"),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(members["members"].as_array().unwrap().len(), 2);
    let (status, body) = developer.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/invitations"),
        Some(&json!({ "email": "x@agency.test", "role": "super_user" })),
    );
    assert_eq!((status, code(&body)), (403, "forbidden"), "{body}");
    let (status, _) = developer.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/audit"),
        None,
    );
    assert_eq!(status, 403);

    // A revoked invitation cannot be used.
    let (_, second) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/invitations"),
        Some(&json!({ "email": "late@agency.test", "role": "regular_user", "expires_in_days": 2 })),
    );
    let (_, pending) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/invitations"),
        None,
    );
    assert_eq!(pending["invitations"][0]["email"], "late@agency.test");
    let (status, _) = admin.call(
        "DELETE",
        &format!(
            "/api/v1/workspaces/{workspace}/invitations/{}",
            second["id"]
        ),
        None,
    );
    assert_eq!(status, 204);
    let (status, body) = stranger.call(
        "POST",
        "/api/v1/invitations/accept",
        Some(&accept(second["token"].as_str().unwrap())),
    );
    assert_eq!(
        (status, code(&body)),
        (410, "invitation_unusable"),
        "{body}"
    );

    roles_and_audit(&mut admin, &mut developer, workspace, &token);
}

/// Roles are enforced on the server, the last super user stays, other workspaces stay closed,
/// and the audit log tells who did what without showing tokens.
fn roles_and_audit(admin: &mut Client, developer: &mut Client, workspace: i64, token: &str) {
    // Roles: the last super user cannot step down; a promoted member may invite.
    let admin_id = me_id(admin);
    let developer_id = me_id(developer);
    let (status, body) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/members/{admin_id}/role"),
        Some(&json!({ "role": "regular_user" })),
    );
    assert_eq!((status, code(&body)), (409, "last_super_user"), "{body}");
    let (status, _) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/members/{developer_id}/role"),
        Some(&json!({ "role": "super_user" })),
    );
    assert_eq!(status, 204);
    let (status, _) = developer.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/invitations"),
        Some(&json!({ "email": "qa@agency.test", "role": "regular_user" })),
    );
    assert_eq!(status, 201);

    // A member of another workspace sees nothing of this one.
    let (status, other) = admin.call(
        "POST",
        "/api/v1/workspaces",
        Some(&json!({ "name": "b2b-shop" })),
    );
    assert_eq!(status, 201, "{other}");
    let (status, _) = developer.call(
        "GET",
        &format!("/api/v1/workspaces/{}/members", other["id"]),
        None,
    );
    assert_eq!(status, 403);
    let (status, body) = developer.call(
        "POST",
        "/api/v1/workspaces",
        Some(&json!({ "name": "mine" })),
    );
    assert_eq!((status, code(&body)), (403, "forbidden"), "{body}");

    let (status, audit) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/audit"),
        None,
    );
    assert_eq!(status, 200);
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    for expected in [
        "server.setup",
        "invitation.created",
        "invitation.accepted",
        "invitation.revoked",
        "role.changed",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let text = audit.to_string();
    assert!(
        !text.contains(token),
        "the audit log shows an invitation token"
    );
}

fn me_id(client: &mut Client) -> i64 {
    client.call("GET", "/api/v1/me", None).1["account"]["id"]
        .as_i64()
        .unwrap()
}

#[test]
fn sessions_tokens_csrf_rate_limits_and_error_format() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (mut admin, _) = set_up(&server);

    // A change made with the cookie but without the CSRF token is refused.
    let (status, body) = admin.raw("POST", "/api/v1/tokens", Some(r#"{"name":"ci"}"#), false);
    assert_eq!((status, code(&body)), (403, "csrf"), "{body}");
    let (status, created) = admin.call("POST", "/api/v1/tokens", Some(&json!({ "name": "ci" })));
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("upk_"));
    let (_, listed) = admin.call("GET", "/api/v1/tokens", None);
    assert!(
        !listed.to_string().contains(&token),
        "the token is shown once only"
    );

    // A script with the API token needs no cookie and no CSRF token.
    let mut script = server.client();
    script.bearer = Some(token.clone());
    let (status, me) = script.call("GET", "/api/v1/me", None);
    assert_eq!(status, 200, "{me}");
    let (_, listed) = script.call("GET", "/api/v1/tokens", None);
    assert!(listed["tokens"][0]["last_used_at"].is_string());
    let (status, _) = admin.call("DELETE", &format!("/api/v1/tokens/{}", created["id"]), None);
    assert_eq!(status, 204);
    let (status, body) = script.call("GET", "/api/v1/me", None);
    assert_eq!((status, code(&body)), (401, "unauthenticated"), "{body}");

    // Signing out ends the session.
    let (status, _) = admin.call("DELETE", "/api/v1/session", None);
    assert_eq!(status, 204);
    let (status, _) = admin.call("GET", "/api/v1/me", None);
    assert_eq!(status, 401);

    // Five wrong passwords, then even the right one waits.
    let mut guesser = server.client();
    for _ in 0..5 {
        let (status, body) = guesser.call(
            "POST",
            "/api/v1/session",
            Some(&json!({ "email": "ops@agency.test", "password": "wrong password" })),
        );
        assert_eq!(
            (status, code(&body)),
            (401, "invalid_credentials"),
            "{body}"
        );
    }
    let (status, body) = guesser.call(
        "POST",
        "/api/v1/session",
        Some(&json!({ "email": "ops@agency.test", "password": PASSWORD })),
    );
    assert_eq!((status, code(&body)), (429, "rate_limited"), "{body}");

    // Bad requests get the API's error format, naming what was wrong.
    let mut anyone = server.client();
    let (status, body) = anyone.raw("POST", "/api/v1/session", Some("{not json"), false);
    assert_eq!((status, code(&body)), (400, "invalid_json"), "{body}");
    let (status, body) = anyone.call(
        "POST",
        "/api/v1/session",
        Some(&json!({ "email": "a@b.test", "password": "x", "admin": true })),
    );
    assert_eq!((status, code(&body)), (422, "invalid_body"), "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("admin"),
        "{body}"
    );
    let (status, body) = anyone.call("GET", "/api/v1/nothing-here", None);
    assert_eq!((status, code(&body)), (404, "not_found"), "{body}");
    let (status, body) = anyone.call("GET", "/api/v1/me", None);
    assert_eq!((status, code(&body)), (401, "unauthenticated"), "{body}");
    let (status, body) = anyone.call("GET", "/healthz", None);
    assert_eq!((status, body), (200, Value::String("ok".to_string())));
    let (status, _) = anyone.call("GET", "/readyz", None);
    assert_eq!(status, 200);
}
