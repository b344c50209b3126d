//! The first pages in a browser's place: a server that is not set up says so, the setup link
//! opens a form, a signed-in person sees their workspaces and runs, and nothing a user typed is
//! sent back unescaped.

mod common;

use common::{Server, set_up};
use serde_json::Value;

fn html(value: &Value) -> &str {
    value.as_str().expect("an HTML page")
}

#[test]
fn the_server_is_usable_in_a_browser_from_the_setup_link_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let mut visitor = server.client();
    let (status, home) = visitor.call("GET", "/", None);
    assert_eq!(status, 200);
    assert!(html(&home).contains("not set up yet"), "{home}");
    let link = server.setup_link.clone().unwrap();
    let path = link.strip_prefix(&server.url).unwrap();
    let (status, form) = visitor.call("GET", path, None);
    assert_eq!(status, 200);
    assert!(html(&form).contains("Create the admin account"));
    assert!(html(&form).contains(&server.setup_token()));
    // What comes from the address bar is escaped.
    let (_, form) = visitor.call(
        "GET",
        "/setup?token=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
        None,
    );
    assert!(!html(&form).contains("<script>alert(1)"), "{form}");

    let (mut admin, _) = set_up(&server);
    let (status, home) = admin.call("GET", "/", None);
    assert_eq!(status, 200);
    assert!(
        html(&home).contains("Signed in as ops@agency.test"),
        "{home}"
    );
    assert!(html(&home).contains("b2c-shop"), "{home}");
    assert!(html(&home).contains("No runs yet"), "{home}");
    let (status, signed_out) = visitor.call("GET", "/", None);
    assert_eq!(status, 200);
    assert!(html(&signed_out).contains("Sign in to see your workspaces"));
}
