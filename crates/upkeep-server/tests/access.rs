//! Every API route × every kind of caller — anonymous, a revoked API token, a member of another
//! workspace, a regular user, a super user — and the status each must get. Roles are enforced
//! on the server for every route, whatever a page shows.

mod common;

use common::{Client, PASSWORD, Server, set_up};
use serde_json::{Value, json};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone (its own checks follow: a token, a signature).
    Public,
    /// Any signed-in account.
    Account,
    /// The server's admin.
    Admin,
    /// A member of the workspace, regular or super.
    Member,
    /// A super user of the workspace.
    Super,
    /// A remote agent, by its own token: every account is refused.
    Agent,
}

struct Route {
    method: &'static str,
    path: String,
    body: Option<Value>,
    access: Access,
}

fn route(method: &'static str, path: String, body: Option<Value>, access: Access) -> Route {
    Route {
        method,
        path,
        body,
        access,
    }
}

/// Every route of the API, with a body that passes validation, for workspace `a`.
fn routes(a: i64, member: i64, run: &str) -> Vec<Route> {
    use Access::{Account, Admin, Member, Public, Super};
    let w = format!("/api/v1/workspaces/{a}");
    vec![
        route("POST", "/api/v1/setup".into(), Some(json!({})), Public),
        route("POST", "/api/v1/session".into(), Some(json!({})), Public),
        route(
            "POST",
            "/api/v1/invitations/accept".into(),
            Some(json!({})),
            Public,
        ),
        route(
            "POST",
            format!("/api/v1/hooks/github/{a}"),
            Some(json!({})),
            Public,
        ),
        route(
            "POST",
            format!("/api/v1/hooks/gitlab/{a}"),
            Some(json!({})),
            Public,
        ),
        route("GET", "/api/v1/me".into(), None, Account),
        route("GET", "/api/v1/tokens".into(), None, Account),
        route(
            "POST",
            "/api/v1/tokens".into(),
            Some(json!({ "name": "x" })),
            Account,
        ),
        route("DELETE", "/api/v1/tokens/999999".into(), None, Account),
        route("DELETE", "/api/v1/session".into(), None, Account),
        route(
            "POST",
            "/api/v1/workspaces".into(),
            Some(json!({ "name": "new-one" })),
            Admin,
        ),
        route("GET", format!("{w}/members"), None, Member),
        route(
            "GET",
            format!("{w}/environments/staging/runs"),
            None,
            Member,
        ),
        route(
            "POST",
            format!("{w}/environments/staging/runs"),
            Some(json!({})),
            Member,
        ),
        route("GET", format!("{w}/runs/{run}"), None, Member),
        route("GET", format!("{w}/repository"), None, Member),
        route("GET", format!("{w}/upgrader"), None, Member),
        route("GET", format!("{w}/upgrades"), None, Member),
        route("GET", format!("{w}/upgrades/999999"), None, Member),
        route("GET", format!("{w}/upgrades/999999/log"), None, Member),
        route("GET", format!("{w}/runs/{run}/logs/install"), None, Member),
        route(
            "GET",
            format!("{w}/runs/{run}/logs/install/events"),
            None,
            Member,
        ),
        route(
            "PUT",
            format!("{w}/members/{member}/role"),
            Some(json!({ "role": "regular_user" })),
            Super,
        ),
        route("GET", format!("{w}/invitations"), None, Super),
        route(
            "POST",
            format!("{w}/invitations"),
            Some(json!({ "email": "x@agency.test", "role": "regular_user" })),
            Super,
        ),
        route("DELETE", format!("{w}/invitations/999999"), None, Super),
        route("GET", format!("{w}/audit"), None, Super),
        route("GET", format!("{w}/deliveries"), None, Super),
        route("POST", format!("{w}/runs/{run}/approve"), None, Super),
        route("POST", format!("{w}/runs/{run}/reject"), None, Super),
    ]
    .into_iter()
    .chain(settings_routes(&w))
    .chain(agent_routes())
    .collect()
}

fn agent_routes() -> Vec<Route> {
    use Access::{Admin, Agent};
    vec![
        route("GET", "/api/v1/agents".into(), None, Admin),
        route(
            "POST",
            "/api/v1/agents".into(),
            Some(json!({ "name": "builder-9" })),
            Admin,
        ),
        route("DELETE", "/api/v1/agents/999999".into(), None, Admin),
        route(
            "POST",
            "/api/v1/agent/jobs/lease".into(),
            Some(json!({ "wait_seconds": 0 })),
            Agent,
        ),
        route("POST", "/api/v1/agent/jobs/1/lease".into(), None, Agent),
        route(
            "PUT",
            "/api/v1/agent/jobs/1/record".into(),
            Some(json!({})),
            Agent,
        ),
        route(
            "POST",
            "/api/v1/agent/jobs/1/logs?path=logs/build/build.log&offset=0".into(),
            None,
            Agent,
        ),
        route(
            "POST",
            "/api/v1/agent/jobs/1/finish".into(),
            Some(json!({ "status": "succeeded" })),
            Agent,
        ),
    ]
}

fn settings_routes(w: &str) -> Vec<Route> {
    use Access::{Member, Super};
    vec![
        route("GET", format!("{w}/variables"), None, Member),
        route(
            "PUT",
            format!("{w}/variables/APP_NAME"),
            Some(json!({ "value": "shop" })),
            Super,
        ),
        route("DELETE", format!("{w}/variables/APP_NAME"), None, Super),
        route(
            "PUT",
            format!("{w}/environments/staging/variables/DB_PASSWORD"),
            Some(json!({ "value": "long enough", "secret": true })),
            Super,
        ),
        route(
            "DELETE",
            format!("{w}/environments/staging/variables/DB_PASSWORD"),
            None,
            Super,
        ),
        route(
            "PUT",
            format!("{w}/repository"),
            Some(json!({ "url": "file:///nonexistent/shop.git" })),
            Super,
        ),
        route("POST", format!("{w}/repository/reclone"), None, Super),
        route("PUT", format!("{w}/upgrader"), Some(json!({})), Super),
        route("POST", format!("{w}/upgrades"), None, Super),
    ]
}

/// Accepts an invitation into `workspace` for a new account and returns its signed-in client.
fn join(server: &Server, admin: &mut Client, workspace: i64, email: &str, role: &str) -> Client {
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

#[test]
fn every_route_answers_every_caller_as_its_access_says() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let (mut admin, a) = set_up(&server);
    let mut regular = join(&server, &mut admin, a, "dev@agency.test", "regular_user");
    let (_, other) = admin.call(
        "POST",
        "/api/v1/workspaces",
        Some(&json!({ "name": "b2b-shop" })),
    );
    let b = other["id"].as_i64().unwrap();
    let mut outsider = join(&server, &mut admin, b, "other@agency.test", "super_user");
    let member = regular.call("GET", "/api/v1/me", None).1["account"]["id"]
        .as_i64()
        .unwrap();
    // A token that was revoked.
    let (_, token) = admin.call("POST", "/api/v1/tokens", Some(&json!({ "name": "old" })));
    admin.call("DELETE", &format!("/api/v1/tokens/{}", token["id"]), None);
    let mut revoked = server.client();
    revoked.bearer = Some(token["token"].as_str().unwrap().to_string());
    let mut anonymous = server.client();
    let run = "20261201T080000.000Z-00000001";

    let mut checked = 0;
    for route in routes(a, member, run) {
        let body = route.body.as_ref();
        let (method, path) = (route.method, route.path.as_str());
        let label = format!("{method} {path}");
        if route.access == Access::Public {
            // Public routes answer without credentials (with their own refusals).
            let (status, _) = anonymous.call(method, path, body);
            assert!(
                status != 401 || path.contains("/hooks/"),
                "{label}: {status}"
            );
            checked += 1;
            continue;
        }
        for (who, client) in [
            ("anonymous", &mut anonymous),
            ("a revoked token", &mut revoked),
        ] {
            let (status, answer) = client.call(method, path, body);
            assert_eq!(status, 401, "{label} as {who}: {answer}");
            checked += 1;
        }
        match route.access {
            Access::Member | Access::Super => {
                let (status, answer) = outsider.call(method, path, body);
                assert_eq!(
                    status, 403,
                    "{label} as a member of another workspace: {answer}"
                );
                checked += 1;
            }
            Access::Admin => {
                let (status, answer) = regular.call(method, path, body);
                assert_eq!(status, 403, "{label} as a regular user: {answer}");
                checked += 1;
            }
            Access::Agent => {
                for (who, client) in [("a regular user", &mut regular), ("the admin", &mut admin)] {
                    let (status, answer) = client.call(method, path, body);
                    assert_eq!(status, 401, "{label} as {who}: {answer}");
                    checked += 1;
                }
            }
            _ => {}
        }
        match route.access {
            Access::Super => {
                let (status, answer) = regular.call(method, path, body);
                assert_eq!(status, 403, "{label} as a regular user: {answer}");
                checked += 1;
            }
            Access::Member | Access::Account => {
                if path.ends_with("/session") {
                    continue;
                }
                let (status, answer) = regular.call(method, path, body);
                assert!(
                    status != 401 && status != 403,
                    "{label} as a regular user: {status} {answer}"
                );
                checked += 1;
            }
            _ => {}
        }
    }
    // The super user passes every check that the others fail.
    for route in routes(a, member, run) {
        if route.access != Access::Super || route.path.ends_with("/role") {
            continue;
        }
        let (status, answer) = admin.call(route.method, &route.path, route.body.as_ref());
        assert!(
            status != 401 && status != 403,
            "{} {} as a super user: {status} {answer}",
            route.method,
            route.path
        );
        checked += 1;
    }
    assert!(checked > 60, "only {checked} checks");
}
