//! Every operation of the API's OpenAPI document × every kind of caller — anonymous, a revoked
//! API token, a member of another workspace, a regular user, a super user — and the status
//! each must get. Agent routes (`x-upkeep-role: agent`) take an agent's own token, so every
//! account is refused there as unauthenticated. The operations, their bodies (the documented examples) and the role each
//! needs come from the document the server serves, so a new route is checked as soon as it
//! is documented (and `openapi.rs` fails a route that is not). Roles are enforced on the
//! server, whatever a page shows.

mod common;

use common::{Client, Server, code, join, set_up};
use serde_json::{Value, json};

/// What a caller must get from an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 401 `unauthenticated`.
    Unauthenticated,
    /// 403 `forbidden`.
    Forbidden,
    /// Past the checks of who calls (the operation's own answer, e.g. 404 for a made-up run),
    /// and past the validation of the documented example body.
    Allowed,
    /// A public operation: never refused for who calls; a credential that does not hold may be
    /// refused as when required.
    Open,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    RevokedToken,
    OtherWorkspace,
    RegularUser,
    SuperUser,
}

const CALLERS: [Who; 5] = [
    Who::Anonymous,
    Who::RevokedToken,
    Who::OtherWorkspace,
    Who::RegularUser,
    Who::SuperUser,
];

/// The table: what each caller gets, by the role the operation needs (its `x-upkeep-role`).
/// The super user of the workspace is also the server's admin.
fn expect(role: &str, who: Who) -> Expect {
    use Expect::{Allowed, Forbidden, Open, Unauthenticated};
    match (role, who) {
        ("public", _) => Open,
        // An agent's token (`upa_…`) is no account's: sessions and API tokens do not count.
        ("agent", _) | (_, Who::Anonymous | Who::RevokedToken) => Unauthenticated,
        ("account", _) | (_, Who::SuperUser) | ("member", Who::RegularUser) => Allowed,
        ("member" | "super_user" | "admin", _) => Forbidden,
        (role, _) => panic!("the table has no row for role `{role}`"),
    }
}

struct Operation {
    method: String,
    /// With its parameters filled in.
    path: String,
    role: String,
    body: Option<Value>,
}

/// A value for a path parameter: the workspace under test, the regular user's account, and
/// ids that do not exist for the rest.
fn parameter(name: &str, workspace: i64, member: i64) -> String {
    match name {
        "workspace" => workspace.to_string(),
        "account" => member.to_string(),
        "id" | "invitation" | "job" => "999999".to_string(),
        "environment" => "staging".to_string(),
        "run" => "20261201T080000.000Z-00000001".to_string(),
        "stage" => "install".to_string(),
        "name" => "APP_NAME".to_string(),
        other => panic!("no value for the path parameter `{other}`; add one here"),
    }
}

/// The documented example of an operation's JSON body (`{}` for a free-form one).
fn example_body(document: &Value, operation: &Value) -> Option<Value> {
    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    if schema.is_null() {
        return None;
    }
    let Some(reference) = schema["$ref"].as_str() else {
        return Some(json!({}));
    };
    let name = reference.rsplit('/').next().unwrap();
    let example = document["components"]["schemas"][name]["example"].clone();
    assert!(!example.is_null(), "the schema {name} has no example");
    Some(example)
}

/// Every operation of the document; signing out comes last, as it ends the caller's session.
fn operations(document: &Value, workspace: i64, member: i64) -> Vec<Operation> {
    let mut operations = Vec::new();
    for (template, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let mut path = template.clone();
            for parameter_doc in operation["parameters"].as_array().into_iter().flatten() {
                if parameter_doc["in"] == "path" {
                    let name = parameter_doc["name"].as_str().unwrap();
                    path =
                        path.replace(&format!("{{{name}}}"), &parameter(name, workspace, member));
                }
            }
            assert!(!path.contains('{'), "{method} {template}: {path}");
            operations.push(Operation {
                method: method.to_uppercase(),
                path,
                role: operation["x-upkeep-role"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {template} names no role"))
                    .to_string(),
                body: example_body(document, operation),
            });
        }
    }
    operations.sort_by_key(|operation| {
        operation.method == "DELETE" && operation.path == "/api/v1/session"
    });
    operations
}

/// An API token of the client's account, as a client of its own.
fn token_client(server: &Server, owner: &mut Client, name: &str) -> (Client, Value) {
    let (status, token) = owner.call("POST", "/api/v1/tokens", Some(&json!({ "name": name })));
    assert_eq!(status, 201, "{token}");
    let mut client = server.client();
    client.bearer = Some(token["token"].as_str().unwrap().to_string());
    (client, token)
}

#[test]
fn every_operation_answers_every_caller_as_its_role_says() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let (mut admin, a) = set_up(&server);
    // The regular user calls with an API token, the others with session cookies: both ways
    // of signing in are walked.
    let mut regular_session = join(&server, &mut admin, a, "dev@agency.test", "regular_user");
    let (mut regular, _) = token_client(&server, &mut regular_session, "ci");
    let (_, other) = admin.call(
        "POST",
        "/api/v1/workspaces",
        Some(&json!({ "name": "other-shop" })),
    );
    let b = other["id"].as_i64().unwrap();
    let mut outsider = join(&server, &mut admin, b, "other@agency.test", "super_user");
    let member = regular.call("GET", "/api/v1/me", None).1["account"]["id"]
        .as_i64()
        .unwrap();
    let (mut revoked, token) = token_client(&server, &mut admin, "old");
    let (status, _) = admin.call("DELETE", &format!("/api/v1/tokens/{}", token["id"]), None);
    assert_eq!(status, 204);
    let mut anonymous = server.client();
    let (status, document) = anonymous.call("GET", "/api/v1/openapi.json", None);
    assert_eq!(status, 200);

    let operations = operations(&document, a, member);
    let mut checked = 0;
    for operation in &operations {
        for who in CALLERS {
            let client = match who {
                Who::Anonymous => &mut anonymous,
                Who::RevokedToken => &mut revoked,
                Who::OtherWorkspace => &mut outsider,
                Who::RegularUser => &mut regular,
                Who::SuperUser => &mut admin,
            };
            let (status, answer) =
                client.call(&operation.method, &operation.path, operation.body.as_ref());
            let label = format!(
                "{} {} (role {}) as {who:?}: {status} {answer}",
                operation.method, operation.path, operation.role
            );
            match expect(&operation.role, who) {
                Expect::Unauthenticated => {
                    assert_eq!((status, code(&answer)), (401, "unauthenticated"), "{label}");
                }
                Expect::Forbidden => {
                    assert_eq!((status, code(&answer)), (403, "forbidden"), "{label}");
                }
                Expect::Allowed => {
                    assert!(![401, 403].contains(&status), "{label}");
                    // The documented example passes validation (a 422 may be the operation's
                    // own answer, e.g. `repository_unreachable` for the example's URL).
                    assert!(![400, 415].contains(&status), "{label}");
                    assert_ne!(code(&answer), "invalid_body", "{label}");
                }
                Expect::Open => {
                    let refused = ["forbidden", "csrf"].contains(&code(&answer))
                        || (who == Who::Anonymous && code(&answer) == "unauthenticated");
                    assert!(!refused, "{label}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, operations.len() * CALLERS.len());
    assert!(
        operations.len() > 25,
        "only {} operations",
        operations.len()
    );
}

#[test]
fn the_table_covers_every_role_the_document_names() {
    for role in upkeep_server::api::doc::ROLES {
        for who in CALLERS {
            // Panics for a role without a row.
            let _ = expect(role, who);
        }
    }
    assert_eq!(expect("super_user", Who::RegularUser), Expect::Forbidden);
    assert_eq!(expect("member", Who::RegularUser), Expect::Allowed);
    assert_eq!(expect("admin", Who::OtherWorkspace), Expect::Forbidden);
    assert_eq!(expect("account", Who::OtherWorkspace), Expect::Allowed);
    assert_eq!(expect("agent", Who::SuperUser), Expect::Unauthenticated);
}
