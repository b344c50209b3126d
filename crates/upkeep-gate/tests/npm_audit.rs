//! Runs the `npm-advisory` rule with the real `npm` against a registry that this test serves on
//! a loopback port: npm posts the locked packages to the bulk advisory endpoint (gzip'd, as npm
//! 11 does) and gets one high and one low advisory back; only the high one may be reported.
//! The audit is opt-in: the child asks for it with `inputs::npm_audit` before the gate runs,
//! as `upkeep gate --npm-audit` does, and without it npm is never started.
//!
//! npm is pointed at the registry with the `npm_config_registry` environment variable. The
//! variable must be set for the gate's process (npm inherits it), and setting the environment
//! of the running test process is not allowed here, so the test runs the gate in a child
//! process: this test binary again, running only `audit_in_child`. The test is skipped (with a
//! message) only when npm is not installed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use upkeep_gate::{GateInputs, GateOptions, run};

/// Set for the child process: the project to audit.
const CHILD_PROJECT: &str = "UPKEEP_TEST_NPM_AUDIT_PROJECT";
/// Set for the child process: the findings and notices it must see, as JSON.
const CHILD_EXPECTED: &str = "UPKEEP_TEST_NPM_AUDIT_EXPECTED";
/// Set for the child process to `1` when it must ask for the audit (the opt-in).
const CHILD_AUDITS: &str = "UPKEEP_TEST_NPM_AUDIT_ASKED";

const BULK_ENDPOINT: &str = "/-/npm/v1/security/advisories/bulk";
const QUICK_ENDPOINT: &str = "/-/npm/v1/security/audits/quick";

const PACKAGE_JSON: &str = r#"{
  "name": "shop-frontend",
  "version": "1.0.0",
  "private": true,
  "dependencies": {
    "is-number": "^7.0.0",
    "left-pad": "^1.3.0"
  }
}
"#;

/// Line 12 holds `node_modules/left-pad`, the package with the high advisory.
const PACKAGE_LOCK: &str = r#"{
  "name": "shop-frontend",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "shop-frontend", "version": "1.0.0", "dependencies": {"is-number": "^7.0.0", "left-pad": "^1.3.0"}},
    "node_modules/is-number": {
      "version": "7.0.0",
      "resolved": "https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz"
    },
    "node_modules/left-pad": {
      "version": "1.3.0",
      "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz"
    }
  }
}
"#;

fn advisory(id: u64, title: &str, severity: &str, range: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "url": format!("https://github.com/advisories/GHSA-test-{id}"),
        "title": title,
        "severity": severity,
        "vulnerable_versions": range,
        "cwe": ["CWE-400"],
        "cvss": {"score": 5.0, "vectorString": null}
    })
}

/// The advisories the registry knows, by package.
fn known_advisories() -> BTreeMap<&'static str, serde_json::Value> {
    BTreeMap::from([
        (
            "left-pad",
            advisory(1001, "Padding overflow in left-pad", "high", "<2.0.0"),
        ),
        (
            "is-number",
            advisory(1002, "Slow number check in is-number", "low", "<8.0.0"),
        ),
    ])
}

/// One request the registry received, its body decompressed.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

/// A registry answering npm's audit endpoints on a free loopback port; stopped on drop.
struct Registry {
    address: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Registry {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let address = listener.local_addr().expect("local address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let requests = Arc::clone(&requests);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let requests = Arc::clone(&requests);
                    std::thread::spawn(move || serve(stream, &requests));
                }
            })
        };
        Self {
            address,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers one request and closes the connection (npm opens a new one for the next).
fn serve(stream: TcpStream, requests: &Mutex<Vec<Request>>) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let (status, body) = answer(&request);
    requests.lock().unwrap().push(request);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let mut body = Vec::new();
    if let Some(length) = headers.get("content-length") {
        body.resize(length.parse().ok()?, 0);
        reader.read_exact(&mut body).ok()?;
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|encoding| encoding.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    if headers
        .get("content-encoding")
        .is_some_and(|encoding| encoding.eq_ignore_ascii_case("gzip"))
    {
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(body.as_slice())
            .read_to_end(&mut decoded)
            .ok()?;
        body = decoded;
    }
    Some(Request { method, path, body })
}

/// The bulk endpoint answers `{package: [advisory]}` for the packages asked about; the quick
/// endpoint (npm's fallback) answers in the older report format; everything else is 404
/// (npm asks for packuments to compute fixes and copes without them).
fn answer(request: &Request) -> (&'static str, String) {
    let not_found = ("404 Not Found", r#"{"error":"Not found"}"#.to_string());
    if request.method != "POST" {
        return not_found;
    }
    let Ok(asked) = serde_json::from_slice::<serde_json::Value>(&request.body) else {
        return ("400 Bad Request", r#"{"error":"bad json"}"#.to_string());
    };
    let known = known_advisories();
    match request.path.as_str() {
        BULK_ENDPOINT => {
            let mut found = serde_json::Map::new();
            for (name, advisory) in &known {
                if asked.get(*name).is_some() {
                    found.insert((*name).to_string(), serde_json::json!([advisory]));
                }
            }
            ("200 OK", serde_json::Value::Object(found).to_string())
        }
        QUICK_ENDPOINT => {
            let mut advisories = serde_json::Map::new();
            for (name, advisory) in &known {
                if let Some(version) = asked
                    .pointer(&format!("/dependencies/{name}/version"))
                    .and_then(serde_json::Value::as_str)
                {
                    let mut entry = advisory.clone();
                    entry["module_name"] = (*name).into();
                    entry["findings"] = serde_json::json!([{"version": version, "paths": [name]}]);
                    advisories.insert(entry["id"].to_string(), entry);
                }
            }
            let body = serde_json::json!({"actions": [], "advisories": advisories, "muted": [], "metadata": {}});
            ("200 OK", body.to_string())
        }
        _ => not_found,
    }
}

/// These tests run the real npm: a missing one fails them, it never skips them.
fn require_npm() {
    assert!(
        npm_installed(),
        "these tests run the real `npm`; install it (Debian: apt-get install npm; scripts/test.sh does)"
    );
}

fn npm_installed() -> bool {
    let program = if cfg!(windows) { "npm.cmd" } else { "npm" };
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

fn write_project(root: &Path) {
    std::fs::write(root.join("package.json"), PACKAGE_JSON).unwrap();
    std::fs::write(root.join("package-lock.json"), PACKAGE_LOCK).unwrap();
}

/// Runs `audit_in_child` in a child process with npm pointed at `registry`.
fn run_child(
    project: &Path,
    registry: &str,
    expected: &serde_json::Value,
    audit: bool,
) -> std::process::Output {
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "audit_in_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_PROJECT, project)
        .env(CHILD_EXPECTED, expected.to_string())
        .env(CHILD_AUDITS, if audit { "1" } else { "0" })
        .env("npm_config_registry", registry)
        .env("npm_config_cache", cache.path())
        .env("npm_config_fetch_retries", "0")
        .env("npm_config_update_notifier", "false")
        .env("npm_config_noproxy", "127.0.0.1,localhost");
    for proxy in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
        child.env_remove(proxy);
    }
    child.output().unwrap()
}

fn assert_child_passed(output: &std::process::Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn npm_audit_reports_the_high_advisory_and_not_the_low_one() {
    require_npm();
    let registry = Registry::start();
    let project = tempfile::tempdir().unwrap();
    write_project(project.path());
    let expected = serde_json::json!({
        "findings": [
            "package-lock.json:12: npm package `left-pad` 1.3.0: [high] Padding overflow in left-pad (https://github.com/advisories/GHSA-test-1001); vulnerable versions <2.0.0; run `npm audit fix` or update `left-pad`"
        ],
        "notice": null
    });
    let output = run_child(project.path(), &registry.url(), &expected, true);
    assert_child_passed(&output);

    let requests = registry.requests();
    let bulk = requests
        .iter()
        .find(|request| request.path == BULK_ENDPOINT)
        .unwrap_or_else(|| panic!("npm never asked the bulk endpoint: {requests:?}"));
    let asked: serde_json::Value = serde_json::from_slice(&bulk.body).unwrap();
    assert_eq!(
        asked,
        serde_json::json!({"is-number": ["7.0.0"], "left-pad": ["1.3.0"]})
    );
}

#[test]
fn an_unreachable_registry_is_a_notice_with_what_npm_said() {
    require_npm();
    // A port that was free a moment ago: nothing answers there.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let project = tempfile::tempdir().unwrap();
    write_project(project.path());
    let expected = serde_json::json!({
        "findings": [],
        "notice": "`npm audit` failed: request to "
    });
    let output = run_child(
        project.path(),
        &format!("http://{closed}/"),
        &expected,
        true,
    );
    assert_child_passed(&output);
}

/// Without the opt-in the registry hears nothing, and the only word about npm is how to turn
/// the audit on (before, every run called npm and so the registry).
#[test]
fn without_the_opt_in_npm_is_not_started() {
    let registry = Registry::start();
    let project = tempfile::tempdir().unwrap();
    write_project(project.path());
    let expected = serde_json::json!({
        "findings": [],
        "notice": "npm packages were not audited: the audit is opt-in"
    });
    let output = run_child(project.path(), &registry.url(), &expected, false);
    assert_child_passed(&output);
    assert_eq!(registry.requests().len(), 0, "{:?}", registry.requests());
}

/// The gate run itself; does nothing unless started by one of the tests above.
#[test]
fn audit_in_child() {
    let Ok(project) = std::env::var(CHILD_PROJECT) else {
        return;
    };
    let expected: serde_json::Value =
        serde_json::from_str(&std::env::var(CHILD_EXPECTED).unwrap()).unwrap();
    let project = std::path::PathBuf::from(project);
    let npm_audit = (std::env::var(CHILD_AUDITS).as_deref() == Ok("1"))
        .then(|| upkeep_gate::inputs::npm_audit(&project));
    let report = run(&GateOptions {
        root: project,
        rules: vec!["npm-advisory".to_string()],
        jobs: 1,
        inputs: GateInputs {
            npm_audit,
            ..GateInputs::default()
        },
        ..GateOptions::default()
    })
    .unwrap();
    let findings: Vec<String> = report
        .findings
        .iter()
        .map(|finding| {
            format!(
                "{}:{}: {}",
                finding.location.file, finding.location.start.line, finding.message
            )
        })
        .collect();
    let notices: Vec<&str> = report
        .notices
        .iter()
        .filter(|notice| notice.rule == "npm-advisory")
        .map(|notice| notice.message.as_str())
        .collect();
    assert_eq!(
        serde_json::json!(findings),
        expected["findings"],
        "notices: {notices:?}"
    );
    match expected["notice"].as_str() {
        None => assert!(notices.is_empty(), "{notices:?}"),
        Some(start) => assert!(
            notices.len() == 1 && notices[0].starts_with(start),
            "{notices:?}"
        ),
    }
}
