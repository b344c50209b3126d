//! Runs the real `composer` program for one group of updates, streaming its output, and reads
//! its problem text when it fails.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// How often a running Composer looks at the cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(50);
/// How long Composer has to end after SIGTERM before it is killed.
const TERMINATE_GRACE: Duration = Duration::from_secs(3);

/// Flags every Composer run of the upgrader uses: no project scripts or plugins run (they are
/// the project's deployment tooling, not part of resolving versions), and nothing asks.
const COMMON_FLAGS: [&str; 3] = ["--no-scripts", "--no-plugins", "--no-interaction"];

#[derive(Debug, thiserror::Error)]
pub enum ComposerError {
    #[error("cannot run `{program}`: {source}")]
    Missing {
        program: String,
        source: std::io::Error,
    },
    #[error("`{program} --version` does not answer as Composer does: {detail}")]
    NotWorking { program: String, detail: String },
}

impl upkeep_hint::Hint for ComposerError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Missing { .. } => Some(
                "install Composer (Debian: `apt-get install composer`) or pass --composer PATH"
                    .to_string(),
            ),
            Self::NotWorking { program, .. } => Some(format!(
                "run `{program} --version` to see what is wrong, or pass --composer with a working one"
            )),
        }
    }
}

/// How a Composer run ended.
#[derive(Debug, Clone)]
pub struct ComposerRun {
    pub command: String,
    pub succeeded: bool,
    /// The run was stopped because the cancel flag was set.
    pub cancelled: bool,
    /// Everything Composer printed, in order.
    pub output: Vec<String>,
}

impl ComposerRun {
    /// Composer's explanation of a failure: from its `Problem` lines (or the last lines of
    /// output when there are none).
    pub fn problem(&self) -> String {
        let start = self
            .output
            .iter()
            .position(|line| line.trim_start().starts_with("Problem 1"))
            .or_else(|| {
                self.output
                    .iter()
                    .position(|line| line.contains("Your requirements could not be resolved"))
            });
        let lines: Vec<&str> = match start {
            Some(start) => self.output[start..]
                .iter()
                .map(String::as_str)
                .take_while(|line| {
                    !line
                        .trim_start()
                        .starts_with("Use the option --with-all-dependencies")
                })
                .collect(),
            None => self
                .output
                .iter()
                .rev()
                .take(12)
                .rev()
                .map(String::as_str)
                .collect(),
        };
        lines.join("\n").trim_end().to_string()
    }
}

/// The Composer program and where it runs.
pub struct Composer<'a> {
    pub program: &'a str,
    pub project: &'a Path,
    /// When set while Composer runs, Composer and what it started are stopped.
    pub cancel: Option<&'a AtomicBool>,
    /// `update` writes `composer.lock` only, installs nothing (`--no-install`): the dry run's
    /// scratch copy has no `vendor/` to keep in step, and filling one would download every
    /// package.
    pub lock_only: bool,
}

impl Composer<'_> {
    /// `composer --version`: that the program is there and is Composer, before anything is
    /// changed (a missing or broken one would otherwise first show after the branch was made).
    /// Returns the version line.
    pub fn check(&self) -> Result<String, ComposerError> {
        let output = Command::new(self.program)
            .arg("--version")
            .arg("--no-interaction")
            // Not in the project: a path that does not exist would read as a missing program.
            .env("COMPOSER_NO_INTERACTION", "1")
            .stdin(Stdio::null())
            .output()
            .map_err(|source| ComposerError::Missing {
                program: self.program.to_string(),
                source,
            })?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let version = text
            .lines()
            .find(|line| line.trim_start().starts_with("Composer version"))
            .map(|line| line.trim().to_string());
        match version {
            Some(version) if output.status.success() => Ok(version),
            _ => {
                let said: Vec<&str> = text
                    .lines()
                    .filter(|line| !line.trim().is_empty())
                    .collect();
                let tail = said[said.len().saturating_sub(3)..].join(" / ");
                Err(ComposerError::NotWorking {
                    program: self.program.to_string(),
                    detail: match (output.status.code(), tail.is_empty()) {
                        (Some(code), true) => {
                            format!("it exited with status {code} and said nothing")
                        }
                        (Some(code), false) => format!("it exited with status {code}: {tail}"),
                        (None, _) => "it was killed by a signal".to_string(),
                    },
                })
            }
        }
    }

    /// `composer require --no-update <package:constraint>...`: moves root requirements (only
    /// `composer.json` changes).
    pub fn require(
        &self,
        requirements: &[(String, String)],
        dev: bool,
        log: &mut dyn FnMut(&str),
    ) -> Result<ComposerRun, ComposerError> {
        let mut arguments = vec!["require".to_string(), "--no-update".to_string()];
        if dev {
            arguments.push("--dev".to_string());
        }
        arguments.extend(COMMON_FLAGS.map(str::to_string));
        arguments.extend(
            requirements
                .iter()
                .map(|(package, constraint)| format!("{package}:{constraint}")),
        );
        self.run(&arguments, log)
    }

    /// `composer update <packages> --with <package:version>...`: installs exactly the planned
    /// versions and moves no other locked package (no `--with-dependencies`, which would move
    /// the dependencies of `packages` to their newest releases, past what the plan shows and
    /// counts; the plan lists the dependencies that must move among `targets`). Packages the
    /// update adds or no longer needs are added or removed, as always.
    pub fn update(
        &self,
        targets: &[(String, String)],
        log: &mut dyn FnMut(&str),
    ) -> Result<ComposerRun, ComposerError> {
        let mut arguments = vec!["update".to_string()];
        arguments.extend(targets.iter().map(|(package, _)| package.clone()));
        for (package, version) in targets {
            arguments.push("--with".to_string());
            arguments.push(format!("{package}:{version}"));
        }
        if self.lock_only {
            arguments.push("--no-install".to_string());
        }
        arguments.extend(COMMON_FLAGS.map(str::to_string));
        self.run(&arguments, log)
    }

    /// `composer install`: brings `vendor/` back to the lock file of the checked-out branch.
    pub fn install(&self, log: &mut dyn FnMut(&str)) -> Result<ComposerRun, ComposerError> {
        let mut arguments = vec!["install".to_string()];
        arguments.extend(COMMON_FLAGS.map(str::to_string));
        self.run(&arguments, log)
    }

    fn run(
        &self,
        arguments: &[String],
        log: &mut dyn FnMut(&str),
    ) -> Result<ComposerRun, ComposerError> {
        let command = format!("composer {}", arguments.join(" "));
        log(&format!("$ {command}"));
        let mut child = Command::new(self.program)
            .args(arguments)
            .current_dir(self.project)
            .env("COMPOSER_NO_INTERACTION", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A group of its own, so that a cancel stops Composer's children too; a terminal's
            // Ctrl-C reaches upkeep alone, which then stops the group.
            .process_group(0)
            .spawn()
            .map_err(|source| ComposerError::Missing {
                program: self.program.to_string(),
                source,
            })?;
        let (sender, lines) = mpsc::channel();
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let sender = sender.clone();
            readers.push(thread::spawn(move || forward(stdout, &sender)));
        }
        if let Some(stderr) = child.stderr.take() {
            let sender = sender.clone();
            readers.push(thread::spawn(move || forward(stderr, &sender)));
        }
        drop(sender);
        let mut output = Vec::new();
        let mut cancelled = false;
        loop {
            match lines.recv_timeout(CANCEL_POLL) {
                Ok(line) => {
                    log(&line);
                    output.push(line);
                }
                Err(RecvTimeoutError::Timeout) => {
                    if !cancelled && self.cancel.is_some_and(|flag| flag.load(Ordering::SeqCst)) {
                        cancelled = true;
                        log("cancelled: stopping Composer");
                        stop_group(&mut child);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        for reader in readers {
            let _ = reader.join();
        }
        let succeeded = child.wait().is_ok_and(|status| status.success()) && !cancelled;
        Ok(ComposerRun {
            command,
            succeeded,
            cancelled,
            output,
        })
    }
}

/// SIGTERM to the child's process group, SIGKILL after a grace period if it is still there.
fn stop_group(child: &mut Child) {
    let Some(group) = rustix::process::Pid::from_raw(child.id().cast_signed()) else {
        return;
    };
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::TERM);
    let deadline = Instant::now() + TERMINATE_GRACE;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            // The group may outlive its leader; what is left gets no more grace.
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            return;
        }
        thread::sleep(CANCEL_POLL);
    }
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
}

fn forward(stream: impl std::io::Read, sender: &mpsc::Sender<String>) {
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        if sender.send(line).is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_problem_text_is_composers_explanation() {
        let run = ComposerRun {
            command: "composer update".into(),
            succeeded: false,
            cancelled: false,
            output: vec![
                "Loading composer repositories with package information".into(),
                "Your requirements could not be resolved to an installable set of packages.".into(),
                String::new(),
                "  Problem 1".into(),
                "    - acme/app 1.0.0 requires acme/lib ^1.0 -> found acme/lib[1.0.0].".into(),
                String::new(),
                "Use the option --with-all-dependencies (-W) to allow upgrades, downgrades and removals for packages currently locked to specific versions.".into(),
            ],
        };
        assert_eq!(
            run.problem(),
            "  Problem 1\n    - acme/app 1.0.0 requires acme/lib ^1.0 -> found acme/lib[1.0.0]."
        );
    }
}
