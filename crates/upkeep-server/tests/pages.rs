//! The web UI over plain HTTP, in a browser's place: the headers every page carries (the
//! Content-Security-Policy and its companions), the hashed assets cached for good, error pages,
//! forms that post, redirect and leave a flash message, the CSRF token every signed-in form
//! needs, posts from other sites refused, bad input answered with a 4xx that names the field,
//! a new API token shown once and never cached, and text from the address bar escaped. The
//! journeys themselves run in Chromium (`tests/browser.rs`).

mod common;

use std::collections::BTreeMap;

use common::{PASSWORD, Server, set_up};

/// A browser without a browser: follows no redirect by itself, keeps cookies.
struct Visitor {
    agent: ureq::Agent,
    base: String,
    cookies: BTreeMap<String, String>,
}

struct Answer {
    status: u16,
    headers: ureq::http::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    fn location(&self) -> &str {
        self.header("location")
    }
}

impl Visitor {
    fn new(server: &Server) -> Self {
        Self {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .max_idle_connections(0)
                .build()
                .into(),
            base: server.url.clone(),
            cookies: BTreeMap::new(),
        }
    }

    fn send(&mut self, request: ureq::http::request::Builder, body: Option<String>) -> Answer {
        let cookies: Vec<String> = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let request = if cookies.is_empty() {
            request
        } else {
            request.header("cookie", cookies.join("; "))
        };
        let mut response = match body {
            Some(body) => self.agent.run(
                request
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .unwrap(),
            ),
            None => self.agent.run(request.body(()).unwrap()),
        }
        .unwrap();
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    fn get(&mut self, path: &str) -> Answer {
        let request = ureq::http::Request::builder()
            .method("GET")
            .uri(format!("{}{path}", self.base));
        self.send(request, None)
    }

    fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        self.post_with(path, fields, &[])
    }

    fn post_with(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = fields
            .iter()
            .map(|(name, value)| format!("{name}={}", encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        self.send(request, Some(body))
    }
}

fn pairs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The value of the first `name="…" value="…"` input of a page.
fn input_value<'a>(page: &'a str, name: &str) -> &'a str {
    let at = page
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no input {name}: {page}"));
    let rest = &page[at + name.len() + 15..];
    &rest[..rest.find('"').unwrap()]
}

fn assert_security_headers(answer: &Answer) {
    assert_eq!(
        answer.header("content-security-policy"),
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    );
    assert_eq!(answer.header("x-frame-options"), "DENY");
    assert_eq!(answer.header("x-content-type-options"), "nosniff");
    assert_eq!(answer.header("referrer-policy"), "same-origin");
}

#[test]
fn pages_carry_security_headers_and_assets_are_cached_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let mut visitor = Visitor::new(&server);
    let home = visitor.get("/");
    assert_eq!((home.status, home.location()), (303, "/sign-in"));
    let sign_in = visitor.get("/sign-in");
    assert_eq!(sign_in.status, 200);
    assert!(sign_in.header("content-type").starts_with("text/html"));
    assert_security_headers(&sign_in);
    assert!(sign_in.body.contains("not set up yet"), "{}", sign_in.body);
    // No inline script or style for the policy to block.
    assert!(!sign_in.body.contains("<style"), "{}", sign_in.body);
    assert!(!sign_in.body.contains("style=\""), "{}", sign_in.body);
    assert!(!sign_in.body.contains("onclick"), "{}", sign_in.body);
    assert!(!sign_in.body.contains("<script>"), "{}", sign_in.body);

    for (attribute, kind) in [("href", "text/css"), ("src", "text/javascript")] {
        let marker = format!("{attribute}=\"/assets/app.");
        let at = sign_in.body.find(&marker).expect("a hashed asset");
        let rest = &sign_in.body[at + attribute.len() + 2..];
        let path = &rest[..rest.find('"').unwrap()];
        let asset = visitor.get(path);
        assert_eq!(asset.status, 200, "{path}");
        assert!(asset.header("content-type").starts_with(kind), "{path}");
        assert_eq!(
            asset.header("cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert!(!asset.body.is_empty());
    }
    let stale = visitor.get("/assets/app.0000000000000000.css");
    assert_eq!(stale.status, 404);

    // Unknown pages are pages; unknown API routes stay JSON.
    let missing = visitor.get("/no/such/page");
    assert_eq!(missing.status, 404);
    assert_security_headers(&missing);
    assert!(missing.body.contains("Not found"), "{}", missing.body);
    assert!(missing.body.contains("no such page"), "{}", missing.body);
    let api = visitor.get("/api/v1/no-such-route");
    assert_eq!(api.status, 404);
    assert!(api.header("content-type").starts_with("application/json"));
    assert!(api.header("content-security-policy").is_empty());

    // A page that needs a session sends the visitor to sign in, and back.
    let account = visitor.get("/account");
    assert_eq!(
        (account.status, account.location()),
        (303, "/sign-in?next=%2Faccount")
    );
}

#[test]
fn the_setup_form_posts_redirects_and_leaves_a_flash() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let token = server.setup_token();
    let mut browser = Visitor::new(&server);

    // What comes from the address bar is escaped.
    let form = browser.get("/setup?token=%22%3E%3Cscript%3Ealert(1)%3C/script%3E");
    assert_eq!(form.status, 200);
    assert!(!form.body.contains("<script>alert(1)"), "{}", form.body);
    assert!(
        form.body.contains("&#34;&#62;&#60;script&#62;")
            || form.body.contains("&quot;&gt;&lt;script&gt;"),
        "{}",
        form.body
    );

    // A wrong field: the form again, with a 400 naming it, and the link still works.
    let setup = |password: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("token", token.clone()),
            ("email", "ops@agency.test".to_string()),
            ("display_name", "Ops".to_string()),
            ("password", password.to_string()),
            ("workspace", "b2c-shop".to_string()),
        ]
    };
    let short = setup("short");
    let refused = browser.post("/setup", &pairs(&short));
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("`password` must have at least 10 characters"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("data-code=\"invalid_field\""));
    assert!(
        refused.body.contains("value=\"ops@agency.test\""),
        "the form keeps what was typed"
    );

    // A post from another site is refused before anything else.
    let good = setup(PASSWORD);
    let forged = browser.post_with("/setup", &pairs(&good), &[("sec-fetch-site", "cross-site")]);
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(forged.body.contains("csrf"), "{}", forged.body);

    let done = browser.post_with(
        "/setup",
        &pairs(&good),
        &[("sec-fetch-site", "same-origin")],
    );
    assert_eq!(
        (done.status, done.location()),
        (303, "/workspaces/1"),
        "{}",
        done.body
    );
    assert!(browser.cookies.contains_key("upkeep_session"));
    let dashboard = browser.get("/workspaces/1");
    assert_eq!(dashboard.status, 200);
    assert_security_headers(&dashboard);
    assert!(
        dashboard.body.contains("Welcome to Upkeep"),
        "the flash: {}",
        dashboard.body
    );
    assert!(
        dashboard.body.contains("No repository yet"),
        "{}",
        dashboard.body
    );
    assert!(
        dashboard.body.contains("Connect the repository"),
        "{}",
        dashboard.body
    );
    // Shown once: the next page has no flash.
    assert!(!browser.cookies.contains_key("upkeep_flash"));
    assert!(
        !browser
            .get("/workspaces/1")
            .body
            .contains("Welcome to Upkeep")
    );
}

#[test]
fn signed_in_forms_need_the_sessions_csrf_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    set_up(&server);
    let mut browser = Visitor::new(&server);
    let signed_in = browser.post(
        "/sign-in",
        &[
            ("email", "ops@agency.test"),
            ("password", PASSWORD),
            ("next", "/account"),
        ],
    );
    assert_eq!((signed_in.status, signed_in.location()), (303, "/account"));
    let account = browser.get("/account");
    let csrf = input_value(&account.body, "csrf").to_string();

    // Without the session's CSRF token, or with another, a signed-in post is refused.
    for sent in [None, Some("not-the-token")] {
        let mut fields = vec![("name", "laptop")];
        if let Some(sent) = sent {
            fields.push(("csrf", sent));
        }
        let refused = browser.post("/account/tokens", &fields);
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(
            refused.body.contains("<code>csrf</code>"),
            "{}",
            refused.body
        );
    }
    let account = browser.get("/account");
    assert!(
        account.body.contains("No tokens yet"),
        "nothing was created: {}",
        account.body
    );

    // Bad input names the field.
    let blank = browser.post("/account/tokens", &[("csrf", &csrf), ("name", " ")]);
    assert_eq!(blank.status, 400, "{}", blank.body);
    assert!(
        blank.body.contains("`name` must not be empty"),
        "{}",
        blank.body
    );

    // A new token is shown once, in an answer no cache keeps.
    let created = browser.post("/account/tokens", &[("csrf", &csrf), ("name", "laptop")]);
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.header("cache-control"), "no-store");
    let at = created.body.find("id=\"new-token\">").expect("the token") + 15;
    let secret: String = created.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    assert!(secret.starts_with("upk_") && secret.len() > 20, "{secret}");
    let account = browser.get("/account");
    assert!(account.body.contains("laptop"), "{}", account.body);
    assert!(!account.body.contains(&secret), "shown once only");

    // Signing out ends the session; its pages send to sign in again.
    let out = browser.post("/sign-out", &[("csrf", &csrf)]);
    assert_eq!((out.status, out.location()), (303, "/sign-in"));
    let sign_in = browser.get("/sign-in");
    assert!(
        sign_in.body.contains("You are signed out."),
        "{}",
        sign_in.body
    );
    assert_eq!(browser.get("/workspaces/1").status, 303);

    // Signing in with a wrong password says so, with 401; the right one goes where asked.
    let wrong = browser.post(
        "/sign-in",
        &[
            ("email", "ops@agency.test"),
            ("password", "wrong password"),
            ("next", "/account"),
        ],
    );
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(
        wrong.body.contains("the email or the password is wrong"),
        "{}",
        wrong.body
    );
    let right = browser.post(
        "/sign-in",
        &[
            ("email", "ops@agency.test"),
            ("password", PASSWORD),
            ("next", "//evil.test/"),
        ],
    );
    assert_eq!(
        (right.status, right.location()),
        (303, "/"),
        "no redirect elsewhere"
    );
    assert_eq!(browser.get("/").location(), "/workspaces/1");
}
