//! The browser tests' harness: Debian's `chromedriver` on a free loopback port, and headless
//! Chromium sessions driven through it (`WebDriver`, `fantoccini`), each with its own profile
//! directory — a browser context of its own, with its own cookies. The calls block, so that a
//! journey reads top to bottom, and every wait polls a condition until a deadline (generous:
//! CI has two cores) instead of sleeping.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long a page may take to show what a journey waits for.
const DEADLINE: Duration = Duration::from_secs(90);

/// Where a program is: on `PATH`, or Debian's place for it.
fn program(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let debian = Path::new("/usr/bin").join(name);
        debian.is_file().then_some(debian)
    })
}

/// `chromedriver`, stopped when dropped.
pub struct Driver {
    process: Child,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Driver {
    /// Starts `chromedriver`; fails the test, saying what to install, when it or Chromium is
    /// missing.
    pub fn start() -> Self {
        let missing = "install Debian's `chromium` and `chromium-driver` (scripts/test.sh does)";
        let driver = program("chromedriver")
            .unwrap_or_else(|| panic!("the browser tests need chromedriver: {missing}"));
        assert!(
            chromium().is_some(),
            "the browser tests need Chromium: {missing}"
        );
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("chromedriver.log");
        let process = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(dir.path().join("stderr")).unwrap())
            .spawn()
            .unwrap();
        let mut driver = Self {
            process,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        driver.wait_until_ready();
        driver
    }

    fn wait_until_ready(&mut self) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let deadline = Instant::now() + DEADLINE;
        loop {
            let ready = agent
                .get(format!("{}/status", self.url))
                .call()
                .ok()
                .and_then(|mut response| response.body_mut().read_to_string().ok())
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .is_some_and(|status| status["value"]["ready"] == true);
            if ready {
                return;
            }
            if let Ok(Some(exit)) = self.process.try_wait() {
                panic!("chromedriver stopped ({exit}): {}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not get ready: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn chromium() -> Option<PathBuf> {
    program("chromium").or_else(|| program("chromium-browser"))
}

/// A headless Chromium session on a server: a browser context of its own.
pub struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    base: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A new browser with its own profile (cookies), looking at the server at `base`.
    pub fn open(driver: &Driver, base: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium().unwrap(),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = runtime.block_on(async {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            ClientBuilder::new(connector)
                .capabilities(capabilities)
                .connect(&driver.url)
                .await
                .unwrap_or_else(|error| panic!("no Chromium session: {error}"))
        });
        let browser = Self {
            runtime,
            client: Some(client),
            base: base.to_string(),
            _profile: profile,
        };
        browser
            .runtime
            .block_on(browser.client().set_window_size(1280, 900))
            .unwrap();
        browser
    }

    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    /// Opens a path of the server (or a whole URL).
    pub fn goto(&self, path: &str) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        self.runtime.block_on(self.client().goto(&url)).unwrap();
    }

    /// The path and query of the page shown.
    pub fn path(&self) -> String {
        let url = self.runtime.block_on(self.client().current_url()).unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        }
    }

    fn find(&self, css: &str) -> fantoccini::elements::Element {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Ok(element) = self.runtime.block_on(self.client().find(Locator::Css(css))) {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "no `{css}` on {}: {}",
                self.path(),
                self.visible_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types `value` into the field `css` (emptied first).
    pub fn fill(&self, css: &str, value: &str) {
        let field = self.find(css);
        self.runtime.block_on(field.clear()).unwrap();
        self.runtime.block_on(field.send_keys(value)).unwrap();
    }

    pub fn select(&self, css: &str, value: &str) {
        let field = self.find(css);
        self.runtime.block_on(field.select_by_value(value)).unwrap();
    }

    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.runtime.block_on(element.click()).unwrap();
    }

    /// Whether the page shows an element `css` now.
    pub fn has(&self, css: &str) -> bool {
        self.runtime
            .block_on(self.client().find_all(Locator::Css(css)))
            .is_ok_and(|found| !found.is_empty())
    }

    /// The text of the page as a person reads it.
    pub fn visible_text(&self) -> String {
        self.script(
            "return document.body ? document.body.innerText : '';",
            vec![],
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// The text of the first `css`, once it holds `wanted` (the page may reload meanwhile).
    pub fn wait_for_text(&self, css: &str, wanted: &str) -> String {
        self.wait_for_text_within(css, wanted, DEADLINE)
    }

    /// As [`Self::wait_for_text`], for what takes longer than a page usually does (an
    /// upgrade runs Composer).
    pub fn wait_for_text_within(&self, css: &str, wanted: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self
                .runtime
                .block_on(async {
                    let element = self.client().find(Locator::Css(css)).await?;
                    element.text().await
                })
                .unwrap_or_default();
            if text.contains(wanted) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` never held {wanted:?} on {}; the page says: {}",
                self.path(),
                self.visible_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the page shown is at a path starting with `prefix`.
    pub fn wait_for_path(&self, prefix: &str) {
        let deadline = Instant::now() + DEADLINE;
        while !self.path().starts_with(prefix) {
            assert!(
                Instant::now() < deadline,
                "still on {}, not {prefix}: {}",
                self.path(),
                self.visible_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs a script in the page and returns what it returns.
    pub fn script(&self, script: &str, arguments: Vec<Value>) -> Value {
        self.runtime
            .block_on(self.client().execute(script, arguments))
            .unwrap()
    }

    /// Runs a script that answers by calling its last argument (e.g. after a `fetch`).
    pub fn async_script(&self, script: &str, arguments: Vec<Value>) -> Value {
        self.runtime
            .block_on(self.client().execute_async(script, arguments))
            .unwrap()
    }

    /// The page's HTML as the browser holds it now.
    pub fn source(&self) -> String {
        self.runtime.block_on(self.client().source()).unwrap()
    }

    /// Accepts the `confirm()` dialog the last click opened.
    pub fn accept_dialog(&self) {
        let deadline = Instant::now() + DEADLINE;
        while self.runtime.block_on(self.client().accept_alert()).is_err() {
            assert!(
                Instant::now() < deadline,
                "no dialog opened on {}",
                self.path()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether an `alert()` dialog is open.
    pub fn alert_is_open(&self) -> bool {
        self.runtime
            .block_on(self.client().get_alert_text())
            .is_ok()
    }

    /// Signs in through the sign-in page, then waits for the page it leads to.
    pub fn sign_in(&self, email: &str, password: &str, then: &str) {
        let next: String = url_encode(then);
        self.goto(&format!("/sign-in?next={next}"));
        self.fill("input[name=email]", email);
        self.fill("input[name=password]", password);
        self.click("form[action='/sign-in'] button");
        self.wait_for_path(then);
    }

    /// Saves what the window shows as `<name>.png` in `target/screenshots/`, and in
    /// `docs/screenshots/` (the README's) when `UPKEEP_UPDATE_SCREENSHOTS=1`: a test run does
    /// not leave the working tree changed (relative times alone change every picture).
    pub fn screenshot(&self, name: &str) {
        let png = self.runtime.block_on(self.client().screenshot()).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "the browser gave no PNG");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut dirs = vec![root.join("target/screenshots")];
        if std::env::var_os("UPKEEP_UPDATE_SCREENSHOTS").is_some_and(|value| value == "1") {
            dirs.push(root.join("docs/screenshots"));
        }
        for dir in dirs {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
    }
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
