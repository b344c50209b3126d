//! The server's people journeys through real HTTP on loopback, on the embedded SQLite database:
//! the one-time setup link, sign-in with its rate limit, sessions with CSRF, API tokens,
//! workspaces, roles enforced on the server, invitations that are used once and can be
//! revoked, the audit log, and errors in the API's format.

mod common;

use common::{Client, PASSWORD, Server, code, set_up};
use serde_json::{Value, json};

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
