//! The web UI in a real browser (headless Chromium through chromedriver), against a real server
//! on a loopback port with SQLite and real git repositories: the journeys people take, each
//! saving a screenshot of its main page into `docs/screenshots/`.
//!
//! a. the setup link → the first account → a new workspace → its repository connected → the
//!    dashboard lists the environments of its `upkeep.yml`;
//! b. a super user invites a regular user, who accepts in a browser of their own, sees the
//!    dashboard without settings, and whose forged posts the server refuses with 403; they run
//!    production's pipeline, are offered no approval, and a forged approval is refused;
//! c. a push → the run appears on the dashboard without a reload → its page follows it to the
//!    approval → the super user approves → the install step's lines arrive in the page while
//!    the step runs → deployed, green on the dashboard;
//! e. "Run now" on the upgrader page (the upgrader's Composer shop, the GitHub double): the
//!    run's page follows the run until its pull request's link appears, with the plan, the
//!    group Composer could not update and the majors;
//! d. a run whose gate fails: its findings on the run's page with their source lines, and the
//!    run blocked before its deployment;
//! f. a run whose log holds `<script>alert(1)</script>` shows it as text on the run page;
//! - people: a super user changes a member's role and revokes an invitation, and the audit log
//!   shows both;
//! - settings: a secret is set (its value never in the page afterwards) and a variable
//!   deleted; an environment's page lists its runs and takes its own secret.

mod browser {
    pub mod harness;
}
mod common;
#[path = "../../../tests/support/composer_shop.rs"]
mod composer_shop;

use std::sync::Mutex;
use std::time::Duration;

use browser::harness::{Browser, Driver};
use common::{
    Client, PASSWORD, Server, connected_server, git, set_up, shop_remote, shop_remote_edited,
    wait_for_status,
};
use composer_shop::{ComposerShop, require_composer};
use serde_json::{Value, json};
use upkeep_forge::testing::FakeGitHub;

/// One journey at a time: each starts Chromium and a server, and CI has two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn a_from_the_setup_link_to_a_dashboard_with_the_repositorys_environments() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = shop_remote(dir.path());
    let server = Server::start(&dir.path().join("data"));
    let driver = Driver::start();
    let browser = Browser::open(&driver, &server.url);

    // The setup link opens the form of the first account.
    let link = server.setup_link.clone().unwrap();
    browser.goto(&link);
    browser.fill("input[name=email]", "ops@agency.test");
    browser.fill("input[name=display_name]", "Ops");
    browser.fill("input[name=password]", PASSWORD);
    browser.fill("input[name=workspace]", "b2c-shop");
    browser.click("form[action='/setup'] button");
    browser.wait_for_text(".flash", "Welcome to Upkeep");
    browser.wait_for_path("/workspaces/1");
    browser.wait_for_text("main", "No repository yet");
    browser.wait_for_text(".menu.account summary", "Ops");

    // The admin makes a second workspace.
    browser.goto("/workspaces");
    browser.fill("input[name=name]", "b2b-shop");
    browser.click("form[action='/workspaces'] button");
    browser.wait_for_text(".flash", "Workspace b2b-shop is created");
    browser.wait_for_path("/workspaces/2");
    assert!(
        browser.visible_text().contains("Connect the repository"),
        "the empty dashboard says what to do next: {}",
        browser.visible_text()
    );

    // Connecting its repository (a plain git URL: the webhook is set up by hand).
    browser.click("a.button[href='/workspaces/2/settings']");
    browser.wait_for_path("/workspaces/2/settings");
    browser.fill("input[name=url]", &url);
    browser.click("form[action='/workspaces/2/settings/repository'] button.primary");
    browser.wait_for_text("main", "set the push webhook up by hand");
    let secret = browser.wait_for_text("#webhook-secret", "");
    assert!(
        secret.len() >= 20,
        "the webhook secret, shown once: {secret}"
    );

    // The dashboard reads the environments of upkeep.yml (after cloning, refreshing itself).
    browser.click("a.button[href='/workspaces/2']");
    browser.wait_for_text("#environment-staging h3", "staging");
    let production = browser.wait_for_text("#environment-production", "production");
    assert!(
        production.contains("deployments need approval"),
        "{production}"
    );
    assert!(production.contains("No run yet"), "{production}");
    assert!(browser.has("#project-upgrader"));
    assert!(
        browser.visible_text().contains(&url),
        "the repository's URL"
    );
    // The switcher has both workspaces.
    assert!(browser.has(".switcher a[href='/workspaces/1']"));
    assert_eq!(
        browser.wait_for_text(".switcher summary", "b2b-shop"),
        "b2b-shop"
    );
    browser.screenshot("dashboard");
}

#[test]
fn b_an_invited_regular_user_sees_no_settings_and_forged_posts_are_refused() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = shop_remote(dir.path());
    let (server, mut admin, workspace) = connected_server(dir.path(), &url);
    let driver = Driver::start();

    // The super user invites a colleague from the People page.
    let super_user = Browser::open(&driver, &server.url);
    super_user.sign_in(
        "ops@agency.test",
        PASSWORD,
        &format!("/workspaces/{workspace}"),
    );
    super_user.click(&format!(
        "nav.tabs a[href='/workspaces/{workspace}/people']"
    ));
    super_user.fill("input[name=email]", "dev@agency.test");
    super_user.select("select[name=role]", "regular_user");
    super_user.click(&format!(
        "form[action='/workspaces/{workspace}/invitations'] button"
    ));
    let link = super_user.wait_for_text("#invitation-link", "/invitations/accept?token=");
    super_user.wait_for_text("main", "dev@agency.test is invited as regular user");
    super_user.screenshot("people");

    // The colleague opens the link in a browser of their own.
    let regular = Browser::open(&driver, &server.url);
    regular.goto(&link);
    regular.wait_for_text(
        "main",
        "Ops invited dev@agency.test to the workspace b2c-shop",
    );
    regular.fill("input[name=display_name]", "Dev");
    regular.fill("input[name=password]", PASSWORD);
    regular.click("form[action='/invitations/accept'] button");
    regular.wait_for_text(".flash", "You joined b2c-shop as regular user");
    regular.wait_for_path(&format!("/workspaces/{workspace}"));
    regular.wait_for_text("#environment-staging", "staging");
    assert!(
        !regular.has("nav.tabs a[href$='/settings']"),
        "a regular user sees no settings"
    );
    assert!(
        regular.has("#environment-staging form button"),
        "but may run pipelines"
    );
    regular.screenshot("dashboard-regular-user");

    // The settings page itself is refused.
    regular.goto(&format!("/workspaces/{workspace}/settings"));
    regular.wait_for_text("main h1", "Not allowed");
    assert!(
        regular
            .visible_text()
            .contains("only a super user of the workspace may do this"),
        "{}",
        regular.visible_text()
    );

    forged_posts_are_refused(&regular, workspace);
    a_regular_user_runs_a_pipeline_but_cannot_approve_it(&regular, &mut admin, workspace);

    // Nothing changed.
    let (_, repository) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        None,
    );
    assert_eq!(repository["url"], url);
    let (_, invitations) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/invitations"),
        None,
    );
    assert_eq!(invitations["invitations"], json!([]), "{invitations}");
}

/// Posts a regular user's browser forges with its session's own CSRF token (taken from a form
/// of the dashboard) are refused: the server decides, whatever the page shows.
/// The regular user starts production's pipeline from the dashboard; once it waits, their
/// run page offers no approval, and an approval posted anyway is refused: it still waits.
fn a_regular_user_runs_a_pipeline_but_cannot_approve_it(
    regular: &Browser,
    admin: &mut Client,
    workspace: i64,
) {
    regular.goto(&format!("/workspaces/{workspace}"));
    regular.click("#environment-production form button");
    regular.wait_for_text(".flash", "production");
    let waiting = wait_for_status(admin, workspace, "production", "waiting_for_approval");
    let run_id = waiting["run_id"].as_str().unwrap().to_string();
    let page = format!("/workspaces/{workspace}/runs/{run_id}");
    regular.goto(&page);
    regular.wait_for_text(".attention", "A super user of b2c-shop approves or rejects");
    assert!(
        !regular.has("form[action$='/approve']"),
        "a regular user is offered no approval"
    );
    let answer = regular.async_script(
        "const [path, done] = arguments;
         const csrf = document.querySelector('input[name=csrf]').value;
         fetch(path, {method: 'POST', body: new URLSearchParams({csrf})})
           .then(response => response.text().then(text => done([response.status, text])));",
        vec![json!(format!("{page}/approve"))],
    );
    assert_eq!(answer[0], 403, "{answer}");
    let (_, run) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/runs/{run_id}"),
        None,
    );
    assert_eq!(run["status"], "waiting_for_approval", "{run}");
}

fn forged_posts_are_refused(regular: &Browser, workspace: i64) {
    regular.goto(&format!("/workspaces/{workspace}"));
    regular.wait_for_text("#environment-staging", "staging");
    let forge = |path: &str, fields: Value| -> (i64, String) {
        let answer = regular.async_script(
            "const [path, fields, done] = arguments;
             const csrf = document.querySelector('input[name=csrf]').value;
             fetch(path, {method: 'POST', body: new URLSearchParams({csrf, ...fields})})
               .then(response => response.text().then(text => done([response.status, text])));",
            vec![json!(path), fields],
        );
        (
            answer[0].as_i64().unwrap(),
            answer[1].as_str().unwrap().to_string(),
        )
    };
    let (status, page) = forge(
        &format!("/workspaces/{workspace}/settings/repository"),
        json!({ "url": "file:///tmp/elsewhere.git" }),
    );
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("only a super user"), "{page}");
    let (status, page) = forge(
        &format!("/workspaces/{workspace}/invitations"),
        json!({ "email": "friend@agency.test", "role": "super_user" }),
    );
    assert_eq!(status, 403, "{page}");
    // Without the CSRF token, even an allowed post is refused.
    let answer = regular.async_script(
        "const [path, done] = arguments;
         fetch(path, {method: 'POST', body: new URLSearchParams({name: 'laptop'})})
           .then(response => response.text().then(text => done([response.status, text])));",
        vec![json!("/account/tokens")],
    );
    assert_eq!(answer[0], 403, "{answer}");
    assert!(answer[1].as_str().unwrap().contains("csrf"), "{answer}");
}

#[test]
fn f_a_log_line_with_a_script_tag_shows_as_text() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = shop_remote_edited(dir.path(), |work| {
        let build = work.join("ci/build.yml");
        let text = std::fs::read_to_string(&build).unwrap().replace(
            "      - cd public\n",
            "      - echo '<script>alert(1)</script>'\n      - cd public\n",
        );
        std::fs::write(build, text).unwrap();
    });
    let (server, mut admin, workspace) = connected_server(dir.path(), &url);
    let (status, run) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/staging/runs"),
        Some(&json!({})),
    );
    assert_eq!(status, 202, "{run}");
    let run_id = run["run_id"].as_str().unwrap().to_string();
    wait_for_status(&mut admin, workspace, "staging", "succeeded");

    let driver = Driver::start();
    let browser = Browser::open(&driver, &server.url);
    let page = format!("/workspaces/{workspace}/runs/{run_id}");
    browser.sign_in("ops@agency.test", PASSWORD, &page);
    let log = browser.wait_for_text(".log[data-stage='build']", "<script>alert(1)</script>");
    assert!(log.contains("build phase done"), "{log}");
    assert!(!browser.alert_is_open(), "the log's script ran");
    assert_eq!(
        browser.script(
            "return document.querySelectorAll('main script').length;",
            vec![]
        ),
        json!(0),
        "the log's tag is text, not an element"
    );
    assert!(browser.visible_text().contains("*** staging Pipeline ***"));
    browser.screenshot("run-log-escaped");
}

/// A staging whose deployment waits for approval and whose install prints a line, waits for
/// the file `more`, prints another, waits for `release`, and ends: the test decides when.
fn held_install_shop(dir: &std::path::Path) -> String {
    let more = dir.join("more");
    let release = dir.join("release");
    let (url, _) = shop_remote_edited(dir, |work| {
        let hook = work.join("bin/held-install");
        std::fs::write(
            &hook,
            format!(
                "#!/bin/sh\necho 'install line 1'\nwhile [ ! -f {more} ]; do sleep 0.05; done\n\
                 printf '\\033[32minstall line 2\\033[0m\\n'\nwhile [ ! -f {release} ]; do sleep 0.05; done\n\
                 echo 'install finished'\n",
                more = more.display(),
                release = release.display()
            ),
        )
        .unwrap();
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let deploy_file = work.join("deploy.fixture-shop-staging.yml");
        let text = std::fs::read_to_string(&deploy_file)
            .unwrap()
            .replace("bin/record-hook install-destructive", "bin/held-install");
        std::fs::write(&deploy_file, text).unwrap();
        // Staging waits for approval; production is not on `main`, so a push runs staging only.
        let project = work.join("upkeep.yml");
        let text = std::fs::read_to_string(&project)
            .unwrap()
            .replace(
                "    gate: warn\n    approval: false\n",
                "    gate: warn\n    approval: true\n",
            )
            .replace(
                "    branch: main\n    deploy-file: deploy.fixture-shop-production.yml",
                "    branch: release\n    deploy-file: deploy.fixture-shop-production.yml",
            );
        assert!(text.contains("approval: true") && text.contains("branch: release"));
        std::fs::write(&project, text).unwrap();
    });
    url
}

/// Lets a held install go when dropped, so that a failing test does not leave the server
/// waiting for it forever.
struct Release<'a>(&'a std::path::Path);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let _ = std::fs::write(self.0.join("more"), "");
        let _ = std::fs::write(self.0.join("release"), "");
    }
}

#[test]
fn c_a_push_runs_waits_for_approval_and_its_install_log_streams_into_the_page() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let url = held_install_shop(dir.path());
    let server = Server::start(&dir.path().join("data"));
    // Declared after the server: dropped, and the install let go, before the server stops.
    let _release = Release(dir.path());
    let (mut admin, workspace) = set_up(&server);
    let (status, body) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&json!({ "url": url, "poll_interval_seconds": 1 })),
    );
    assert_eq!(status, 200, "{body}");

    let driver = Driver::start();
    let browser = Browser::open(&driver, &server.url);
    let dashboard = format!("/workspaces/{workspace}");
    browser.sign_in("ops@agency.test", PASSWORD, &dashboard);
    browser.wait_for_text("main", "No runs yet");

    // A push: the dashboard shows the run by itself.
    let work = dir.path().join("work");
    git(&work, &["commit", "-q", "--allow-empty", "-m", "a change"]);
    git(&work, &["push", "-q", &url, "main"]);
    browser.wait_for_text("table.runs", "*** staging Pipeline ***");
    browser.click("table.runs a");
    browser.wait_for_path(&format!("/workspaces/{workspace}/runs/"));
    let run_page = browser.path();

    // The page follows the run to its approval; the super user approves there.
    browser.wait_for_text(".page-head h1", "waiting for approval");
    browser.wait_for_text(".graph", "Approval");
    browser.screenshot("run");
    browser.click("form[action$='/approve'] button");
    browser.wait_for_text(".flash", "Approved");

    // The install's lines arrive while it runs, in the page as it is (no reload).
    browser.wait_for_text(".log[data-stage='install']", "install line 1");
    browser.script("window.upkeepSamePage = true; return null;", vec![]);
    std::fs::write(dir.path().join("more"), "").unwrap();
    let log = browser.wait_for_text(".log[data-stage='install']", "install line 2");
    assert!(!log.contains("install finished"), "{log}");
    assert_eq!(
        browser.script("return window.upkeepSamePage === true;", vec![]),
        json!(true),
        "the line came by a reload, not live"
    );
    assert!(
        browser.has(".log[data-stage='install'] .ansi-fg-2"),
        "the green line is coloured"
    );
    let run_id = run_page.rsplit('/').next().unwrap().to_string();
    let (_, run) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/runs/{run_id}"),
        None,
    );
    assert_eq!(run["status"], "running", "the step had ended: {run}");

    // Released, the deployment ends; the page and the dashboard say so.
    std::fs::write(dir.path().join("release"), "").unwrap();
    browser.wait_for_text(".page-head h1", "succeeded");
    browser.wait_for_text(".log[data-stage='install']", "install finished");
    browser.goto(&dashboard);
    browser.wait_for_text(".projects", "succeeded");
    assert!(browser.has(".projects .badge-succeeded"));
}

#[test]
fn e_run_now_on_the_upgrader_page_shows_the_pull_request_it_opened() {
    require_composer();
    let _turn = one_at_a_time();
    let shop = ComposerShop::new();
    let github = FakeGitHub::start();
    github.require_branches_in(&shop.origin);
    let server = Server::start(&shop.dir.path().join("data"));
    let (mut admin, workspace) = set_up(&server);
    let (status, connected) = admin.call(
        "PUT",
        &format!("/api/v1/workspaces/{workspace}/repository"),
        Some(&shop.github_connection(&github.base_url(), &github.token())),
    );
    assert_eq!(status, 200, "{connected}");

    let driver = Driver::start();
    let browser = Browser::open(&driver, &server.url);
    browser.sign_in(
        "ops@agency.test",
        PASSWORD,
        &format!("/workspaces/{workspace}"),
    );
    browser.click("#project-upgrader h3 a");
    browser.wait_for_path(&format!("/workspaces/{workspace}/upgrader"));
    browser.wait_for_text("#history", "No upgrade yet");
    let next = browser.wait_for_text("#next-run .next-run", "Monday");
    assert!(next.contains("08:00 UTC"), "relative and absolute: {next}");

    browser.click("#next-run form button");
    browser.wait_for_path(&format!("/workspaces/{workspace}/upgrades/"));
    browser.wait_for_text(".flash", "is queued: this page follows it");
    // The page reloads itself while the upgrade runs Composer, until the request is there.
    let request =
        browser.wait_for_text_within("a.pull-request", "Request #1", Duration::from_mins(4));
    assert_eq!(request, "Request #1");
    let href = browser.script(
        "return document.querySelector('a.pull-request').getAttribute('href');",
        vec![],
    );
    assert_eq!(
        href,
        json!(format!("{}/acme/shop/pull/1", github.base_url()))
    );
    assert_eq!(browser.wait_for_text("h1 .badge", "partial"), "partial");
    assert!(browser.wait_for_text("#plan", "acme/lib").contains("→"));
    assert!(browser.wait_for_text("#applied", "acme/lib").contains("→"));
    browser.wait_for_text("#failed", "conflicting");
    let majors = browser.wait_for_text("#majors", "spryker/kernel");
    assert!(
        majors.contains("upgrade guide") && majors.contains("release notes"),
        "{majors}"
    );
    browser.wait_for_text("#log pre", "pushed upkeep/upgrade-for-main to origin");
    assert!(
        !browser.source().contains(&github.token()),
        "the token is nowhere in the page"
    );

    // The history has the run with its request.
    browser.click(".crumbs a[href$='/upgrader']");
    let row = browser.wait_for_text("#history tbody tr", "partial");
    assert!(row.contains("manual by Ops"), "{row}");
    assert_eq!(browser.wait_for_text("#history a.pull-request", "#1"), "#1");
    browser.screenshot("upgrader");
}

#[test]
fn people_a_super_user_changes_a_role_and_revokes_an_invitation_and_the_audit_log_shows_both() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let (mut admin, workspace) = set_up(&server);
    let (_, invited) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/invitations"),
        Some(&json!({ "email": "dev@agency.test", "role": "regular_user" })),
    );
    let (status, accepted) = server.client().call(
        "POST",
        "/api/v1/invitations/accept",
        Some(&json!({ "token": invited["token"], "display_name": "Dev", "password": PASSWORD })),
    );
    assert_eq!(status, 200, "{accepted}");
    let dev = accepted["account"].as_i64().unwrap();

    let driver = Driver::start();
    let browser = Browser::open(&driver, &server.url);
    let people = format!("/workspaces/{workspace}/people");
    browser.sign_in("ops@agency.test", PASSWORD, &people);
    // An invitation made here: its link can be copied while this page shows it.
    browser.fill("#invitations input[name=email]", "temp@agency.test");
    browser.click("#invitations form.stacked button");
    let link = browser.wait_for_text("#invitation-link", "/invitations/accept?token=");
    assert!(browser.has("ul.invitations button[data-copy=invitation-link]"));

    browser.select(&format!("#member-{dev} select[name=role]"), "super_user");
    browser.click(&format!("#member-{dev} form button"));
    browser.wait_for_text(".flash", "dev@agency.test is now super user.");
    assert!(
        !browser.has("ul.invitations button[data-copy]"),
        "the link is not known any more"
    );

    let (_, pending) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/invitations"),
        None,
    );
    let temp = pending["invitations"][0]["id"].as_i64().unwrap();
    browser.click(&format!("#invitation-{temp} form button"));
    browser.accept_dialog();
    browser.wait_for_text(".flash", "The invitation of temp@agency.test is revoked");
    browser.wait_for_text("#invitations", "None.");

    let audit = browser.wait_for_text("#audit", "invitation.revoked");
    assert!(
        audit.contains("revoked the invitation of temp@agency.test"),
        "{audit}"
    );
    assert!(audit.contains("role.changed"), "{audit}");
    assert!(
        audit.contains("dev@agency.test is now super user"),
        "{audit}"
    );
    let (_, members) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/members"),
        None,
    );
    assert_eq!(members["members"][0]["role"], "super_user", "{members}");

    // The revoked link leads nowhere.
    let stranger = Browser::open(&driver, &server.url);
    stranger.goto(&link);
    stranger.wait_for_text("main", "was revoked");
}

#[test]
fn settings_a_secret_is_never_shown_back_a_variable_is_deleted_and_an_environment_lists_its_runs() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let (url, commit) = shop_remote(dir.path());
    let (server, mut admin, workspace) = connected_server(dir.path(), &url);
    let (status, run) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/staging/runs"),
        Some(&json!({})),
    );
    assert_eq!(status, 202, "{run}");
    wait_for_status(&mut admin, workspace, "staging", "succeeded");

    let driver = Driver::start();
    let browser = Browser::open(&driver, &server.url);
    let settings = format!("/workspaces/{workspace}/settings");
    browser.sign_in("ops@agency.test", PASSWORD, &settings);
    let secret = "pa55word-of-the-shop-db";
    set_variable(&browser, "DB_PASSWORD", secret, true);
    browser.wait_for_text(".flash", "Secret DB_PASSWORD is set");
    let row = browser.wait_for_text("#variable-DB_PASSWORD", "secret");
    assert!(row.contains("set"), "{row}");
    assert!(
        !browser.source().contains(secret),
        "a secret's value is write-only"
    );

    set_variable(&browser, "APP_NAME", "shop-7", false);
    browser.wait_for_text("#variable-APP_NAME", "shop-7");
    browser.click("#variable-APP_NAME form button");
    browser.accept_dialog();
    browser.wait_for_text(".flash", "APP_NAME is deleted.");
    assert!(!browser.has("#variable-APP_NAME"));
    assert!(browser.has("#variable-DB_PASSWORD"));
    browser.wait_for_text("#deliveries", "None yet");
    browser.goto(&format!("{settings}#variables"));
    browser.wait_for_text("#variables", "DB_PASSWORD");
    assert!(!browser.source().contains(secret));
    browser.screenshot("settings");

    // The environment's page, from its dashboard card: its run, and a secret of its own.
    browser.goto(&format!("/workspaces/{workspace}"));
    browser.click("#environment-staging h3 a");
    browser.wait_for_path(&format!("/workspaces/{workspace}/environments/staging"));
    browser.wait_for_text("h1", "*** staging Pipeline ***");
    browser.wait_for_text("#environment", "Deploy type");
    let row = browser.wait_for_text("#runs tbody tr", "succeeded");
    assert!(row.contains(&run["run_id"].as_str().unwrap()[..8]), "{row}");
    assert!(row.contains("manual") && row.contains("Ops"), "{row}");
    assert!(row.contains(&commit[..10]), "the commit: {row}");
    set_variable(&browser, "DB_PASSWORD", "staging-only-pa55word", true);
    browser.wait_for_text(".flash", "Secret DB_PASSWORD is set");
    browser.wait_for_path(&format!("/workspaces/{workspace}/environments/staging"));
    browser.goto(&format!("/workspaces/{workspace}/environments/staging"));
    browser.wait_for_text("#variables", "DB_PASSWORD");
    assert!(!browser.source().contains("staging-only-pa55word"));
    let (_, variables) = admin.call(
        "GET",
        &format!("/api/v1/workspaces/{workspace}/variables"),
        None,
    );
    assert_eq!(
        variables["variables"][1]["environment"], "staging",
        "{variables}"
    );
    browser.screenshot("environment");
}

/// Sets a variable through the variables form of the page shown.
fn set_variable(browser: &Browser, name: &str, value: &str, secret: bool) {
    browser.fill("#variables input[name=name]", name);
    browser.fill("#variables textarea[name=value]", value);
    if secret {
        browser.click("#variables input[name=secret]");
    }
    browser.click("#variables form.variable-form button");
}

#[test]
fn d_a_failing_gate_shows_its_findings_with_their_source_and_blocks_the_run() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = shop_remote_edited(dir.path(), |work| {
        let module = work.join("src/Pyz/Zed/Broken");
        std::fs::create_dir_all(&module).unwrap();
        std::fs::write(
            module.join("BrokenFacade.php"),
            "<?php\n\nnamespace Pyz\\Zed\\Broken;\n\nclass BrokenFacade\n{\n    public function run(\n}\n",
        )
        .unwrap();
    });
    let (server, mut admin, workspace) = connected_server(dir.path(), &url);
    // Production's gate blocks: the run fails at the gate and deploys nothing.
    let (status, run) = admin.call(
        "POST",
        &format!("/api/v1/workspaces/{workspace}/environments/production/runs"),
        Some(&json!({})),
    );
    assert_eq!(status, 202, "{run}");
    let run_id = run["run_id"].as_str().unwrap().to_string();
    wait_for_status(&mut admin, workspace, "production", "failed");

    let driver = Driver::start();
    let browser = Browser::open(&driver, &server.url);
    let page = format!("/workspaces/{workspace}/runs/{run_id}");
    browser.sign_in("ops@agency.test", PASSWORD, &page);
    let findings = browser.wait_for_text(".findings", "Quality gate: blocked");
    assert!(findings.contains("parse-error"), "{findings}");
    assert!(
        findings.contains("src/Pyz/Zed/Broken/BrokenFacade.php"),
        "{findings}"
    );
    // The source around the finding (line 8, the `}`), its line marked.
    browser.wait_for_text(".findings .excerpt", "public function run(");
    let hit = browser.wait_for_text(".findings .excerpt .line.hit", "8");
    assert!(hit.contains('}'), "{hit}");
    // Blocked: no deployment stage ran.
    assert!(!browser.has(".log[data-stage='install']"), "it deployed");
    browser.wait_for_text(".page-head h1", "failed");
    browser.screenshot("run-gate-findings");
}
