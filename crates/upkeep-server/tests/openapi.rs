//! The OpenAPI document the server serves: valid OpenAPI 3.1 (checked against the published
//! schema, kept in `tests/data`, so nothing is downloaded), every operation with its role, and
//! exactly the routes the router serves — a route added without documentation fails here.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::Server;
use serde_json::Value;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

fn document(server: &Server) -> Value {
    let (status, document) = server.client().call("GET", "/api/v1/openapi.json", None);
    assert_eq!(status, 200, "{document}");
    document
}

/// The operations of the document: path → methods (upper case).
fn operations(document: &Value) -> BTreeMap<String, BTreeSet<String>> {
    document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|key| METHODS.contains(&key.to_uppercase().as_str()))
                .map(|key| key.to_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// The paths the API's axum router serves. axum cannot list its routes, but its `Debug`
/// output names each route's path (`RouteId(3): "/api/v1/me"`) before its fallback router's;
/// reading it keeps this list independent of the documentation.
fn router_paths() -> BTreeSet<String> {
    let (router, _) = upkeep_server::api::router().split_for_parts();
    let debug = format!("{router:?}");
    let (served, _fallback) = debug
        .split_once("fallback_router")
        .unwrap_or_else(|| panic!("axum's Debug output changed: {debug}"));
    let paths: BTreeSet<String> = served
        .split("RouteId(")
        .skip(1)
        .filter_map(|piece| piece.split_once("): \"").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once('"').map(|(path, _)| path.to_string()))
        .collect();
    assert!(
        paths.len() > 10,
        "axum's Debug output changed; no routes found in: {debug}"
    );
    paths
}

/// A concrete path for a templated one.
fn concrete(path: &str) -> String {
    path.replace("{workspace}", "1")
        .replace("{account}", "1")
        .replace("{invitation}", "1")
        .replace("{id}", "1")
        .replace("{environment}", "staging")
        .replace("{run}", "20261201T080000.000Z-00000001")
        .replace("{stage}", "install")
        .replace("{job}", "1")
        .replace("{name}", "APP_NAME")
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let document = document(&server);
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        document["openapi"]
    );
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/openapi-3.1-schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The validator does look: a document without `info` is refused.
    let mut broken = document.clone();
    broken.as_object_mut().unwrap().remove("info");
    assert!(!validator.is_valid(&broken));

    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "upkeep_session");
    assert_eq!(schemes["csrf"]["in"], "header");
    assert_eq!(schemes["csrf"]["name"], "x-csrf-token");
    assert_eq!(schemes["api_token"]["scheme"], "bearer");
    assert_eq!(schemes["agent_token"]["scheme"], "bearer");
    let error = &document["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], serde_json::json!(["error"]), "{error}");
}

#[test]
fn every_operation_names_its_role_parameters_answers_and_security() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let document = document(&server);
    let roles = upkeep_server::api::doc::ROLES;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let label = format!("{method} {path}");
            let role = operation[upkeep_server::api::doc::ROLE_EXTENSION]
                .as_str()
                .unwrap_or_else(|| panic!("{label} names no role"));
            assert!(roles.contains(&role), "{label}: role {role}");
            assert!(operation["tags"].as_array().is_some(), "{label}: no tag");
            assert!(
                operation["summary"].as_str().is_some(),
                "{label}: no summary"
            );
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|status| status.starts_with('2')),
                "{label}: no success answer"
            );
            assert!(responses.contains_key("500"), "{label}");
            // Every path parameter is declared, as a required one.
            let declared: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .map(|parameters| {
                    parameters
                        .iter()
                        .filter(|parameter| parameter["in"] == "path")
                        .inspect(|parameter| assert_eq!(parameter["required"], true, "{label}"))
                        .filter_map(|parameter| parameter["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            let in_path: BTreeSet<&str> = path
                .split('/')
                .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(declared, in_path, "{label}");
            if operation.get("requestBody").is_some() {
                for status in ["400", "415", "422"] {
                    assert!(responses.contains_key(status), "{label}: no {status}");
                }
            }
            if role == "public" {
                continue;
            }
            assert_eq!(
                responses["401"]["$ref"], "#/components/responses/Unauthenticated",
                "{label}"
            );
            let security = operation["security"].as_array().unwrap();
            if role == "agent" {
                // The agent protocol takes an agent's token, never an account's.
                assert_eq!(
                    security,
                    &vec![serde_json::json!({ "agent_token": [] })],
                    "{label}"
                );
                continue;
            }
            assert!(
                security
                    .iter()
                    .any(|requirement| requirement.get("api_token").is_some()),
                "{label}"
            );
            let session = security
                .iter()
                .find(|requirement| requirement.get("session").is_some())
                .unwrap_or_else(|| panic!("{label}: no session"));
            // Changes made with the cookie need the CSRF header; reads do not.
            assert_eq!(session.get("csrf").is_some(), method != "get", "{label}");
        }
    }
}

#[test]
fn the_document_lists_exactly_the_routes_the_router_serves() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let operations = operations(&document(&server));
    let documented: BTreeSet<String> = operations.keys().cloned().collect();
    assert_eq!(router_paths(), documented);
    assert!(documented.contains("/api/v1/openapi.json"));

    // Per path, the methods the server answers are the documented ones: others get 405 and
    // the `Allow` header the router derives from its own routes.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections(0)
        .build()
        .into();
    for (path, methods) in &operations {
        let url = format!("{}{}", server.url, concrete(path));
        for method in METHODS {
            let request = ureq::http::Request::builder()
                .method(method)
                .uri(&url)
                .body(())
                .unwrap();
            let mut response = agent.run(request).unwrap();
            let status = response.status().as_u16();
            let body = response.body_mut().read_to_string().unwrap_or_default();
            let label = format!("{method} {path}");
            if methods.contains(method) {
                assert_ne!(status, 405, "{label}");
                assert!(!body.contains("no such route"), "{label}: {body}");
            } else {
                assert_eq!(status, 405, "{label} is served but not documented");
                let allow: BTreeSet<String> = response
                    .headers()
                    .get("allow")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default()
                    .split(',')
                    .map(|method| method.trim().to_string())
                    .filter(|method| method != "HEAD")
                    .collect();
                assert_eq!(&allow, methods, "{label}");
            }
        }
    }
}
