//! What the gate is given instead of finding out for itself: facts about the machine that runs
//! the project (the host's PHP version), about the world outside the repository (`npm audit`'s
//! advisories) and facts that another crate reads (deploy files with their `imports`, which
//! `upkeep-pipeline` owns). Rules never start programs: the caller gathers these before the run,
//! so that a verdict depends on the project and these inputs only, not on the machine.
//!
//! ```no_run
//! use upkeep_gate::inputs::{GateInputs, NpmAudit};
//! use upkeep_gate::{GateOptions, run};
//!
//! let inputs = GateInputs {
//!     php_version: Some("8.3.13".to_string()),
//!     npm_audit: Some(NpmAudit::read("npm-audit.json".as_ref())),
//!     ..GateInputs::default()
//! };
//! let report = run(&GateOptions { root: "shop".into(), inputs, ..GateOptions::default() })?;
//! # Ok::<(), upkeep_gate::GateError>(())
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// Everything a gate run is given; by default nothing, and the parts of rules that need an
/// input do not run (the `npm-advisory` rule, the host PHP of `php-version`).
#[derive(Debug, Clone, Default)]
pub struct GateInputs {
    /// The PHP version the project runs on (`upkeep gate --php-version 8.3.13` or
    /// `PROJECT_PHP_VERSION`); wins over `php-version` in `upkeep.toml`.
    pub php_version: Option<String>,
    /// The result of `npm audit`, read from a saved report ([`NpmAudit::read`]) or produced
    /// by [`npm_audit`]. `None`: npm packages are not audited (unless `upkeep.toml` names a
    /// saved report).
    pub npm_audit: Option<Result<NpmAudit, NpmAuditError>>,
    /// The deploy files at the project root (`deploy*.yml`), read with their imports.
    /// `None`: the caller did not read them, and their images are not checked.
    pub deploy_files: Option<Vec<DeployFileFacts>>,
}

/// What one deploy file at the project root says about its PHP image, its imports merged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployFileFacts {
    /// The deploy file, relative to the project root with `/` separators (`deploy.dev.yml`).
    pub file: String,
    /// The image (`image.tag`, or `image` as a string); `Ok(None)` when it declares none.
    pub image: Result<Option<DeployImage>, DeployFileProblem>,
}

/// The image of a deploy file and where it is defined (the file itself or an imported one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployImage {
    /// The reference, parameters substituted: `spryker/php:8.3-alpine3.20`.
    pub reference: String,
    pub defined_at: SourcePosition,
}

/// A position in a project file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourcePosition {
    /// Relative to the project root, with `/` separators.
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
}

/// Why a deploy file could not be read (syntax, a missing import, an import cycle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployFileProblem {
    /// Where the reader gave up, when it knows.
    pub at: Option<SourcePosition>,
    /// What is wrong, without the position.
    pub message: String,
}

/// The `deploy*.yml` (and `deploy*.yaml`) files at the project root, sorted by name: the files
/// the caller reads into [`GateInputs::deploy_files`].
pub fn deploy_file_names(root: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(root)?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| !kind.is_dir()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            let extension = Path::new(name)
                .extension()
                .and_then(|extension| extension.to_str());
            name.starts_with("deploy")
                && extension.is_some_and(|extension| {
                    extension.eq_ignore_ascii_case("yml") || extension.eq_ignore_ascii_case("yaml")
                })
        })
        .collect();
    names.sort();
    Ok(names)
}

/// A report of `npm audit --json` (npm 7 or later).
#[derive(Debug, Clone, PartialEq)]
pub struct NpmAudit {
    vulnerabilities: Map<String, Value>,
}

/// Why there is no npm audit report to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NpmAuditError {
    #[error("cannot read the saved npm audit report {path}: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error("the npm audit report{} is not JSON ({message})", shown_path(path.as_deref()))]
    NotJson {
        path: Option<PathBuf>,
        message: String,
    },
    #[error("cannot read the npm audit report{}: it is in the npm 6 format; use npm 7 or later", shown_path(path.as_deref()))]
    Npm6Format { path: Option<PathBuf> },
    #[error("cannot read the npm audit report{}: it has no `vulnerabilities`", shown_path(path.as_deref()))]
    NoVulnerabilities { path: Option<PathBuf> },
    #[error("`npm` is not on the PATH (install Node.js and npm, or give a saved report)")]
    NpmNotInstalled,
    #[error("no package-lock.json at the project root for `npm audit` to read")]
    NoPackageLock,
    /// npm ran and failed: its own summary, and the end of what it wrote to stderr.
    #[error("`npm audit` failed: {0}")]
    NpmFailed(String),
}

fn shown_path(path: Option<&Path>) -> String {
    path.map(|path| format!(" {}", path.display()))
        .unwrap_or_default()
}

impl NpmAudit {
    /// Reads a saved `npm audit --json` report.
    pub fn read(path: &Path) -> Result<Self, NpmAuditError> {
        let text = fs_err::read(path).map_err(|error| NpmAuditError::Unreadable {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
        Self::from_json(&text, Some(path))
    }

    /// Reads the JSON `npm audit --json` prints; `path` names it in errors.
    pub fn from_json(json: &[u8], path: Option<&Path>) -> Result<Self, NpmAuditError> {
        let report: Value =
            serde_json::from_slice(json).map_err(|error| NpmAuditError::NotJson {
                path: path.map(Path::to_path_buf),
                message: error.to_string(),
            })?;
        Self::from_value(report, path)
    }

    fn from_value(mut report: Value, path: Option<&Path>) -> Result<Self, NpmAuditError> {
        let path = path.map(Path::to_path_buf);
        match report.get_mut("vulnerabilities").map(Value::take) {
            Some(Value::Object(vulnerabilities)) => Ok(Self { vulnerabilities }),
            _ if report.get("advisories").is_some() => Err(NpmAuditError::Npm6Format { path }),
            _ => Err(NpmAuditError::NoVulnerabilities { path }),
        }
    }

    /// The `vulnerabilities` of the report, by package name.
    pub fn vulnerabilities(&self) -> &Map<String, Value> {
        &self.vulnerabilities
    }
}

/// How long `npm audit` may take before it is given up on.
const NPM_TIMEOUT: Duration = Duration::from_mins(3);

/// Runs `npm audit --json --package-lock-only` in `root` (npm's own configuration applies:
/// `.npmrc`, `npm_config_*`, the registry). This asks the registry over the network; call it
/// only when the user asks for the audit, and before the gate runs.
pub fn npm_audit(root: &Path) -> Result<NpmAudit, NpmAuditError> {
    if !root.join("package-lock.json").is_file() {
        return Err(NpmAuditError::NoPackageLock);
    }
    let output = run_npm_audit(root)?;
    // npm exits with 1 when it finds vulnerabilities, so the exit code says little: the JSON
    // on stdout is the answer, and an `error` object in it is a failure.
    let report: Value = serde_json::from_slice(&output.stdout).map_err(|error| {
        NpmAuditError::NpmFailed(format!(
            "it did not print a JSON report ({error}, exit status {}){}",
            output.status,
            stderr_tail(&output.stderr)
        ))
    })?;
    if let Some(error) = report.get("error") {
        // npm fills different fields for different failures, some of them empty.
        let summary = [
            error.get("summary"),
            error.get("detail"),
            report.get("message"),
            error.get("code"),
        ]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::trim)
        .find(|text| !text.is_empty())
        .unwrap_or("unknown error");
        return Err(NpmAuditError::NpmFailed(format!(
            "{summary}{}",
            stderr_tail(&output.stderr)
        )));
    }
    NpmAudit::from_value(report, None)
}

/// Runs npm with a time limit, draining both pipes so that a large report cannot block it.
fn run_npm_audit(root: &Path) -> Result<std::process::Output, NpmAuditError> {
    let program = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let mut child = Command::new(program)
        .args(["audit", "--json", "--package-lock-only"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                NpmAuditError::NpmNotInstalled
            } else {
                NpmAuditError::NpmFailed(format!("it could not be started: {error}"))
            }
        })?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > NPM_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(NpmAuditError::NpmFailed(format!(
                    "it did not finish within {} seconds and was stopped",
                    NPM_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => {
                return Err(NpmAuditError::NpmFailed(format!(
                    "waiting for it failed: {error}"
                )));
            }
        }
    };
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// The end of npm's stderr for a message, without npm's config warnings.
fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("npm warn"))
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(5)..];
    format!(" (npm said: {})", tail.join(" / "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_tails_leave_out_config_warnings() {
        assert_eq!(
            stderr_tail(
                b"npm warn Unknown user config \"nodedir\".\nnpm error code ENOTFOUND\nnpm error network down\n"
            ),
            " (npm said: npm error code ENOTFOUND / npm error network down)"
        );
        assert_eq!(stderr_tail(b"npm warn x\n"), "");
    }

    #[test]
    fn reports_of_npm_6_and_other_json_are_refused_with_a_reason() {
        let npm6 = NpmAudit::from_json(b"{\"advisories\": {}}", None).unwrap_err();
        assert!(npm6.to_string().contains("npm 6 format"), "{npm6}");
        let other = NpmAudit::from_json(b"[]", Some(Path::new("a.json"))).unwrap_err();
        assert_eq!(
            other.to_string(),
            "cannot read the npm audit report a.json: it has no `vulnerabilities`"
        );
        let broken = NpmAudit::from_json(b"{", None).unwrap_err();
        assert!(
            broken
                .to_string()
                .starts_with("the npm audit report is not JSON"),
            "{broken}"
        );
        let fine = NpmAudit::from_json(b"{\"vulnerabilities\": {\"a\": {}}}", None).unwrap();
        assert_eq!(fine.vulnerabilities().len(), 1);
    }

    #[test]
    fn without_a_lock_file_npm_is_not_started() {
        let project = tempfile::tempdir().unwrap();
        assert_eq!(
            npm_audit(project.path()).unwrap_err(),
            NpmAuditError::NoPackageLock
        );
    }

    #[test]
    fn deploy_file_names_are_the_root_deploy_yaml_files_sorted() {
        let project = tempfile::tempdir().unwrap();
        for name in [
            "deploy.yml",
            "deploy.dev.yml",
            "deploy.ci.yaml",
            "deployer.php",
            "a.deploy.yml",
        ] {
            std::fs::write(project.path().join(name), "").unwrap();
        }
        std::fs::create_dir(project.path().join("deploy.d.yml")).unwrap();
        assert_eq!(
            deploy_file_names(project.path()).unwrap(),
            ["deploy.ci.yaml", "deploy.dev.yml", "deploy.yml"]
        );
    }
}
