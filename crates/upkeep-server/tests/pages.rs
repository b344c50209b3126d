//! The web UI over plain HTTP, in a browser's place: the headers every page carries (the
//! Content-Security-Policy and its companions), the hashed assets cached for good, error pages,
//! forms that post, redirect and leave a flash message, the CSRF token every signed-in form
//! needs, posts from other sites refused, bad input answered with a 4xx that names the field,
//! a new API token shown once and never cached, and text from the address bar escaped; the
//! workspace's pages (upgrader, environment, people, settings): what a regular user sees and
//! the 403 every write of theirs gets, errors shown at the field they name, a secret's value
//! never shown back, role changes and revocations with the API's rules, and the lists' pages.
//! The journeys themselves run in Chromium (`tests/browser.rs`).

mod common;

use std::collections::BTreeMap;

use common::{Client, PASSWORD, Server, set_up, shop_remote};
use serde_json::json;

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

impl Visitor {
    /// A browser signed in as `email`.
    fn signed_in(server: &Server, email: &str) -> Self {
        let mut visitor = Self::new(server);
        let signed_in = visitor.post(
            "/sign-in",
            &[("email", email), ("password", PASSWORD), ("next", "/")],
        );
        assert_eq!(signed_in.status, 303, "{}", signed_in.body);
        visitor
    }

    /// The session's CSRF token, from a form of `page`.
    fn csrf(&mut self, page: &str) -> String {
        let answer = self.get(page);
        assert_eq!(answer.status, 200, "{page}: {}", answer.body);
        input_value(&answer.body, "csrf").to_string()
    }

    /// Follows a redirect and returns the page it leads to (with its flash message).
    fn follow(&mut self, answer: &Answer) -> Answer {
        assert_eq!(answer.status, 303, "{}", answer.body);
        let to = answer.location().to_string();
        self.get(to.split('#').next().unwrap())
    }
}

/// A server whose first workspace holds the fixture shop's repository (plain git) and, besides
/// its super user, the regular user `dev@agency.test`: the super user's API client, both
/// signed-in browsers, and the regular user's account id.
fn workspace_with_a_regular_user(dir: &std::path::Path) -> (Server, Client, Visitor, Visitor, i64) {
    let (url, _) = shop_remote(dir);
    let server = Server::start(&dir.join("data"));
    let (mut admin, workspace) = set_up(&server);
    assert_eq!(workspace, 1);
    let (status, body) = admin.call(
        "PUT",
        "/api/v1/workspaces/1/repository",
        Some(&json!({ "url": url })),
    );
    assert_eq!(status, 200, "{body}");
    let (status, invited) = admin.call(
        "POST",
        "/api/v1/workspaces/1/invitations",
        Some(&json!({ "email": "dev@agency.test", "role": "regular_user" })),
    );
    assert_eq!(status, 201, "{invited}");
    let (status, accepted) = server.client().call(
        "POST",
        "/api/v1/invitations/accept",
        Some(&json!({ "token": invited["token"], "display_name": "Dev", "password": PASSWORD })),
    );
    assert_eq!(status, 200, "{accepted}");
    let super_user = Visitor::signed_in(&server, "ops@agency.test");
    let regular = Visitor::signed_in(&server, "dev@agency.test");
    (
        server,
        admin,
        super_user,
        regular,
        accepted["account"].as_i64().unwrap(),
    )
}

/// What a regular user's browser gets from the workspace's pages: everything to read, no
/// control to write with.
fn pages_without_write_controls(regular: &mut Visitor) {
    let upgrader = regular.get("/workspaces/1/upgrader");
    assert_eq!(upgrader.status, 200, "{}", upgrader.body);
    assert!(
        upgrader.body.contains("<code>0 8 * * MON</code> in UTC"),
        "{}",
        upgrader.body
    );
    assert!(
        upgrader.body.contains("No upgrade yet"),
        "{}",
        upgrader.body
    );
    assert!(
        !upgrader.body.contains("Run now</button>"),
        "{}",
        upgrader.body
    );
    assert!(
        !upgrader.body.contains("name=\"cron\""),
        "{}",
        upgrader.body
    );
    let people = regular.get("/workspaces/1/people");
    assert_eq!(people.status, 200);
    assert!(people.body.contains("dev@agency.test"), "{}", people.body);
    for hidden in ["role-form", "Revoke", "Audit log", "later@agency.test"] {
        assert!(!people.body.contains(hidden), "{hidden}: {}", people.body);
    }
    let environment = regular.get("/workspaces/1/environments/staging");
    assert_eq!(environment.status, 200, "{}", environment.body);
    assert!(environment.body.contains("*** staging Pipeline ***"));
    assert!(
        environment.body.contains("Run pipeline</button>"),
        "members run pipelines"
    );
    assert!(
        !environment.body.contains("/variables\""),
        "{}",
        environment.body
    );
    assert_eq!(regular.get("/workspaces/1/settings").status, 403);
}

/// The writes a regular user tried left everything as it was.
fn nothing_changed(admin: &mut Client) {
    let (_, upgrader) = admin.call("GET", "/api/v1/workspaces/1/upgrader", None);
    assert_eq!(upgrader["cron"], "0 8 * * MON");
    let (_, runs) = admin.call("GET", "/api/v1/workspaces/1/upgrades", None);
    assert_eq!(runs["upgrades"], json!([]));
    let (_, members) = admin.call("GET", "/api/v1/workspaces/1/members", None);
    let roles: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["regular_user", "super_user"]);
    let (_, pending) = admin.call("GET", "/api/v1/workspaces/1/invitations", None);
    assert_eq!(pending["invitations"].as_array().unwrap().len(), 1);
    let (_, variables) = admin.call("GET", "/api/v1/workspaces/1/variables", None);
    assert_eq!(variables["variables"], json!([]));
}

#[test]
fn a_regular_user_sees_the_workspace_pages_without_write_controls_and_every_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, mut admin, _super_user, mut regular, dev) =
        workspace_with_a_regular_user(dir.path());
    let (_, invitation) = admin.call(
        "POST",
        "/api/v1/workspaces/1/invitations",
        Some(&json!({ "email": "later@agency.test", "role": "regular_user" })),
    );

    pages_without_write_controls(&mut regular);

    // Every write, posted with the session's own token, is refused by the server.
    let csrf = regular.csrf("/workspaces/1/upgrader");
    let revoke = format!(
        "/workspaces/1/invitations/{}/revoke",
        invitation["id"].as_i64().unwrap()
    );
    let own_role = format!("/workspaces/1/members/{dev}/role");
    let writes: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/workspaces/1/upgrades", vec![]),
        (
            "/workspaces/1/upgrader",
            vec![("cron", "* * * * *"), ("time_zone", "UTC")],
        ),
        (&own_role, vec![("role", "super_user")]),
        (
            "/workspaces/1/members/1/role",
            vec![("role", "regular_user")],
        ),
        (&revoke, vec![]),
        ("/workspaces/1/settings/reclone", vec![]),
        (
            "/workspaces/1/variables",
            vec![("name", "APP_NAME"), ("value", "x")],
        ),
        (
            "/workspaces/1/environments/staging/variables",
            vec![("name", "APP_NAME"), ("value", "x")],
        ),
        ("/workspaces/1/variables/APP_NAME/delete", vec![]),
        (
            "/workspaces/1/environments/staging/variables/APP_NAME/delete",
            vec![],
        ),
    ];
    for (path, mut fields) in writes {
        fields.push(("csrf", &csrf));
        let refused = regular.post(path, &fields);
        assert_eq!(refused.status, 403, "{path}: {}", refused.body);
        assert!(
            refused.body.contains("only a super user"),
            "{path}: {}",
            refused.body
        );
    }
    nothing_changed(&mut admin);
}

/// The settings form sent with `fields` is refused with 400, `message` beside the input
/// `field`, and the form keeps the `cron` typed.
fn refused_at_the_field(
    browser: &mut Visitor,
    fields: &[(&'static str, String)],
    field: &str,
    message: &str,
    cron: &str,
) {
    let refused = browser.post("/workspaces/1/upgrader", &pairs(fields));
    assert_eq!(refused.status, 400, "{}", refused.body);
    // Beside its field: the error comes right before the input it names.
    let at = refused
        .body
        .find(&format!("<input name=\"{field}\""))
        .unwrap_or_else(|| panic!("no input {field}"));
    let before = &refused.body[..at];
    let error = before
        .rfind("class=\"field-error\"")
        .expect("an error at the field");
    assert!(
        before[error..].contains(message) && !before[error..].contains("<label"),
        "{field}: {}",
        &before[error..]
    );
    assert!(
        refused.body.contains(&format!("value=\"{cron}\"")),
        "the form keeps what was typed"
    );
    assert!(
        refused.body.contains("<details class=\"change\" open>"),
        "the form is open"
    );
    assert!(
        refused
            .body
            .contains("<dd><code>0 8 * * MON</code> in UTC</dd>"),
        "the settings as they are stay shown: {}",
        refused.body
    );
}

#[test]
fn the_upgraders_settings_show_errors_at_their_field_and_save_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, mut admin, mut browser, _, _) = workspace_with_a_regular_user(dir.path());
    let page = browser.get("/workspaces/1/upgrader");
    assert!(page.body.contains("Run now</button>"), "{}", page.body);
    assert!(
        page.body
            .contains("needs the repository connected through GitHub or GitLab"),
        "a plain git repository cannot take a request: {}",
        page.body
    );
    let csrf = input_value(&page.body, "csrf").to_string();
    let form = |cron: &'static str, max_minor: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("csrf", csrf.clone()),
            ("enabled", "on".to_string()),
            ("cron", cron.to_string()),
            ("time_zone", "Europe/Berlin".to_string()),
            ("settings.max_minor", max_minor.to_string()),
            ("settings.max_patch", String::new()),
            ("settings.max_groups", String::new()),
            ("settings.reviewers", "-".to_string()),
            ("settings.base_branch", String::new()),
        ]
    };
    let refusals = [
        (
            "0 25 * * MON",
            "",
            "cron",
            "`cron`: hour: 25 is outside 0-23",
        ),
        (
            "0 8 * * MON",
            "ten",
            "settings.max_minor",
            "`settings.max_minor` must be a whole number",
        ),
        (
            "0 8 * * MON",
            "0",
            "settings.max_minor",
            "`settings.max_minor` must be between 1 and 1000",
        ),
    ];
    for (cron, max_minor, field, message) in refusals {
        refused_at_the_field(&mut browser, &form(cron, max_minor), field, message, cron);
    }
    let saved = browser.post("/workspaces/1/upgrader", &pairs(&form("30 6 * * TUE", "5")));
    let page = browser.follow(&saved);
    assert!(
        page.body
            .contains("The upgrader runs at `30 6 * * TUE` in Europe/Berlin from now on."),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Tuesday"),
        "the next run in its time zone: {}",
        page.body
    );
    let (_, upgrader) = admin.call("GET", "/api/v1/workspaces/1/upgrader", None);
    assert_eq!(
        (
            &upgrader["cron"],
            &upgrader["time_zone"],
            &upgrader["refresh"],
            &upgrader["settings"]["max_minor"],
            &upgrader["settings"]["max_patch"],
            &upgrader["settings"]["reviewers"],
        ),
        (
            &json!("30 6 * * TUE"),
            &json!("Europe/Berlin"),
            &json!(false),
            &json!(5),
            &json!(null),
            &json!([])
        ),
        "{upgrader}"
    );
    // Without a GitHub or GitLab token, "Run now" says why it cannot.
    let refused = browser.post("/workspaces/1/upgrades", &[("csrf", &csrf)]);
    assert_eq!(refused.location(), "/workspaces/1/upgrader");
    let page = browser.follow(&refused);
    assert!(
        page.body
            .contains("flash-error\" role=\"status\">the upgrader opens a pull or merge request"),
        "{}",
        page.body
    );
    // A run that is not there is a page that says so; a bad cursor names it.
    assert_eq!(browser.get("/workspaces/1/upgrades/99").status, 404);
    let bad = browser.get("/workspaces/1/upgrader?cursor=bm9wZQ");
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("invalid_cursor"), "{}", bad.body);
}

/// A plain variable shows its value; an environment's own is on its page.
fn plain_variables_of_the_workspace_and_an_environment(
    browser: &mut Visitor,
    admin: &mut Client,
    csrf: &str,
) {
    let set = browser.post(
        "/workspaces/1/variables",
        &[("csrf", csrf), ("name", "APP_NAME"), ("value", "shop-7")],
    );
    let page = browser.follow(&set);
    assert!(page.body.contains("<code>shop-7</code>"), "{}", page.body);
    let set = browser.post(
        "/workspaces/1/environments/staging/variables",
        &[
            ("csrf", csrf),
            ("name", "APP_NAME"),
            ("value", "staging-shop"),
        ],
    );
    assert_eq!(
        set.location(),
        "/workspaces/1/environments/staging#variables"
    );
    let page = browser.follow(&set);
    assert!(
        page.body.contains("<code>staging-shop</code>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("2 of the workspace's apply too"),
        "{}",
        page.body
    );
    let (_, variables) = admin.call("GET", "/api/v1/workspaces/1/variables", None);
    let listed: Vec<(Option<&str>, &str)> = variables["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variable| {
            (
                variable["environment"].as_str(),
                variable["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (None, "APP_NAME"),
            (None, "DB_PASSWORD"),
            (Some("staging"), "APP_NAME")
        ]
    );
}

#[test]
fn variables_and_secrets_are_set_and_deleted_and_a_secrets_value_is_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, mut admin, mut browser, _, _) = workspace_with_a_regular_user(dir.path());
    let csrf = browser.csrf("/workspaces/1/settings");
    let secret = "s3cret-value-never-shown";
    let set = browser.post(
        "/workspaces/1/variables",
        &[
            ("csrf", &csrf),
            ("name", "DB_PASSWORD"),
            ("value", secret),
            ("secret", "on"),
        ],
    );
    assert_eq!(set.location(), "/workspaces/1/settings#variables");
    let page = browser.follow(&set);
    assert!(
        page.body.contains("Secret DB_PASSWORD is set"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("id=\"variable-DB_PASSWORD\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains(secret), "{}", page.body);
    common::assert_sealed_at_rest(&dir.path().join("data"), secret);

    // A secret too short to be masked: the error is at the value, which is not shown back.
    let short = browser.post(
        "/workspaces/1/variables",
        &[
            ("csrf", &csrf),
            ("name", "API_KEY"),
            ("value", "q7"),
            ("secret", "on"),
        ],
    );
    assert_eq!(short.status, 400, "{}", short.body);
    assert!(
        short
            .body
            .contains("`value` of a secret must have at least 3 characters"),
        "{}",
        short.body
    );
    assert!(short.body.contains("<textarea name=\"value\" rows=\"2\" autocomplete=\"off\" spellcheck=\"false\"></textarea>"), "{}", short.body);
    assert!(short.body.contains("value=\"API_KEY\""), "the name stays");
    let bad_name = browser.post(
        "/workspaces/1/variables",
        &[("csrf", &csrf), ("name", "1BAD"), ("value", "x")],
    );
    assert_eq!(bad_name.status, 400, "{}", bad_name.body);
    assert!(bad_name.body.contains("`name`"), "{}", bad_name.body);
    assert!(
        bad_name.body.contains(">x</textarea>"),
        "a plain value is kept: {}",
        bad_name.body
    );

    plain_variables_of_the_workspace_and_an_environment(&mut browser, &mut admin, &csrf);
    // Deleting: the workspace's goes, the environment's stays; twice is an error, not a crash.
    let deleted = browser.post(
        "/workspaces/1/variables/APP_NAME/delete",
        &[("csrf", &csrf)],
    );
    let page = browser.follow(&deleted);
    assert!(page.body.contains("APP_NAME is deleted."), "{}", page.body);
    assert!(
        !page.body.contains("id=\"variable-APP_NAME\""),
        "{}",
        page.body
    );
    let again = browser.post(
        "/workspaces/1/variables/APP_NAME/delete",
        &[("csrf", &csrf)],
    );
    let page = browser.follow(&again);
    assert!(page.body.contains("no such variable"), "{}", page.body);
    let (_, variables) = admin.call("GET", "/api/v1/workspaces/1/variables", None);
    assert_eq!(
        variables["variables"].as_array().unwrap().len(),
        2,
        "{variables}"
    );
    let (_, audit) = admin.call("GET", "/api/v1/workspaces/1/audit", None);
    assert!(!audit.to_string().contains(secret));
}

/// Past a page of entries, the audit log links to older ones, and back to the newest.
fn audit_log_pages_back(browser: &mut Visitor, admin: &mut Client) {
    for index in 0..25 {
        admin.call(
            "PUT",
            &format!("/api/v1/workspaces/1/variables/V{index}"),
            Some(&json!({ "value": "x" })),
        );
    }
    let first = browser.get("/workspaces/1/people");
    let marker = "class=\"older\" href=\"";
    let link_at = first.body.find(marker).expect("a link to older entries");
    let rest = &first.body[link_at + marker.len()..];
    let link = rest[..rest.find('"').unwrap()]
        .replace("&#61;", "=")
        .replace("&amp;", "&");
    assert!(link.starts_with("/workspaces/1/people?cursor="), "{link}");
    let second = browser.get(link.split('#').next().unwrap());
    assert_eq!(second.status, 200, "{}", second.body);
    assert!(
        second.body.contains("invitation.accepted"),
        "the oldest entries: {}",
        second.body
    );
    assert!(second.body.contains("← Newest"), "{}", second.body);
}

#[test]
fn roles_change_invitations_are_revoked_and_the_audit_log_pages_back() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, mut admin, mut browser, _, dev) = workspace_with_a_regular_user(dir.path());
    let csrf = browser.csrf("/workspaces/1/people");
    let promoted = browser.post(
        &format!("/workspaces/1/members/{dev}/role"),
        &[("csrf", &csrf), ("role", "super_user")],
    );
    let page = browser.follow(&promoted);
    assert!(
        page.body.contains("dev@agency.test is now super user."),
        "{}",
        page.body
    );
    // Two super users: either may step down, but not the last one.
    let back = browser.post(
        &format!("/workspaces/1/members/{dev}/role"),
        &[("csrf", &csrf), ("role", "regular_user")],
    );
    browser.follow(&back);
    let last = browser.post(
        "/workspaces/1/members/1/role",
        &[("csrf", &csrf), ("role", "regular_user")],
    );
    let page = browser.follow(&last);
    assert!(page.body.contains("flash-error"), "{}", page.body);
    assert!(page.body.contains("no super user left"), "{}", page.body);
    assert!(page.body.contains("(the only one)"), "{}", page.body);
    let unknown = browser.post(
        "/workspaces/1/members/77/role",
        &[("csrf", &csrf), ("role", "super_user")],
    );
    assert!(browser.follow(&unknown).body.contains("no such member"));
    let bad_role = browser.post(
        &format!("/workspaces/1/members/{dev}/role"),
        &[("csrf", &csrf), ("role", "owner")],
    );
    assert!(browser.follow(&bad_role).body.contains("`role` must be"));

    // Revoking: the link stops working; a second revoke finds nothing pending.
    let (_, invitation) = admin.call(
        "POST",
        "/api/v1/workspaces/1/invitations",
        Some(&json!({ "email": "temp@agency.test", "role": "super_user" })),
    );
    let revoke = format!("/workspaces/1/invitations/{}/revoke", invitation["id"]);
    let revoked = browser.post(&revoke, &[("csrf", &csrf)]);
    let page = browser.follow(&revoked);
    assert!(
        page.body
            .contains("The invitation of temp@agency.test is revoked"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("id=\"invitation-"),
        "none pending: {}",
        page.body
    );
    let again = browser.post(&revoke, &[("csrf", &csrf)]);
    let page = browser.follow(&again);
    assert!(
        page.body.contains("no such pending invitation"),
        "{}",
        page.body
    );

    // The audit log, newest first, a page at a time.
    let people = browser.get("/workspaces/1/people");
    let audit = &people.body[people.body.find("id=\"audit\"").unwrap()..];
    let positions: Vec<usize> = [
        "invitation.revoked",
        "dev@agency.test is now regular user",
        "dev@agency.test is now super user",
        "invitation.accepted",
    ]
    .iter()
    .map(|text| {
        audit
            .find(text)
            .unwrap_or_else(|| panic!("{text}: {audit}"))
    })
    .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "{positions:?}"
    );
    assert!(audit.contains("<td>Ops</td>"), "who did it: {audit}");
    audit_log_pages_back(&mut browser, &mut admin);
}

#[test]
fn a_changed_password_signs_the_account_out_everywhere_else() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    set_up(&server);
    let mut laptop = Visitor::signed_in(&server, "ops@agency.test");
    let mut phone = Visitor::signed_in(&server, "ops@agency.test");
    assert_eq!(phone.get("/account").status, 200);

    let csrf = laptop.csrf("/account");
    let new_password = "a much longer new passphrase";
    let changed = laptop.post(
        "/account/password",
        &[
            ("csrf", &csrf),
            ("current_password", PASSWORD),
            ("new_password", new_password),
        ],
    );
    let page = laptop.follow(&changed);
    assert!(
        page.body.contains("your other sessions are signed out"),
        "{}",
        page.body
    );
    // The session that changed it goes on; the other one is sent to sign in.
    assert_eq!(laptop.get("/account").status, 200);
    let elsewhere = phone.get("/account");
    assert_eq!(elsewhere.status, 303, "{}", elsewhere.body);
    assert!(
        elsewhere.location().starts_with("/sign-in"),
        "{}",
        elsewhere.location()
    );
    let mut again = Visitor::new(&server);
    let signed_in = again.post(
        "/sign-in",
        &[
            ("email", "ops@agency.test"),
            ("password", new_password),
            ("next", "/"),
        ],
    );
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
}
