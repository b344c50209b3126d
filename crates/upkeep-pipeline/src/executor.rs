//! Runs one step as a local process: in its own process group, with exactly the environment the
//! caller gives, a time limit and cancellation that stop the whole group, and stdout and stderr
//! captured line by line, masked and timestamped, into a [`LineSink`].
//!
//! ```
//! use std::collections::BTreeMap;
//! use upkeep_pipeline::executor::{CancelToken, StepCommand, StepSpec, run_step};
//! use upkeep_pipeline::mask::Masker;
//! let spec = StepSpec {
//!     name: "hello".into(),
//!     command: StepCommand::Shell { shell: "sh".into(), script: "echo hello".into() },
//!     cwd: ".".into(),
//!     env: BTreeMap::from([("PATH".to_string(), "/usr/bin:/bin".to_string())]),
//!     timeout: None,
//!     stdin: None,
//!     stopper: None,
//! };
//! let mut lines = Vec::new();
//! let outcome = run_step(&spec, &Masker::default(), &mut lines, &CancelToken::new())?;
//! assert_eq!(outcome.exit_code, Some(0));
//! assert_eq!(lines[0].text, "hello");
//! # Ok::<(), upkeep_pipeline::executor::ExecError>(())
//! ```

use std::collections::BTreeMap;
use std::io::{self, BufRead as _, BufReader, Read, Write as _};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use rustix::process::{Pid, Signal, kill_process_group, test_kill_process_group};

use crate::log_store::{LineSink, LogLine, Stream};
use crate::mask::{Masker, StreamMasker};
use crate::project_file::format_duration;

/// How long the group gets between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(3);
/// After the direct child exited, its leftover group members get SIGTERM, then SIGKILL after this.
const LEFTOVER_GRACE: Duration = Duration::from_millis(500);
/// After the direct child exited, output is read for at most this long.
const STOP_READING_AFTER: Duration = Duration::from_secs(2);
/// How often the executor looks at the clock, the child and the cancel token.
const POLL: Duration = Duration::from_millis(50);
/// A line held back by the masker (it may continue on the next line) is written after this
/// much silence on its stream, so a live view does not lag behind a quiet process.
const HELD_LINE_DELAY: Duration = Duration::from_secs(1);
/// Longer lines are cut into pieces of this many bytes.
const MAX_LINE_BYTES: u64 = 64 * 1024;

/// What to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepCommand {
    /// A program (looked up in the step's `PATH` when it has no slash) with its arguments.
    Exec { program: String, args: Vec<String> },
    /// A script run as `<shell> -c <script>`.
    Shell { shell: String, script: String },
}

/// How lines of upkeep's own session driver start (`[upkeep] Phase complete: BUILD …`); they
/// keep their place after the lines of both streams printed before them.
pub const MARKER_PREFIX: &str = "[upkeep] ";

/// The values of `names` in upkeep's own environment, for the few variables a child process
/// must inherit (where its configuration and keys are); the ones not set are left out.
pub fn own_variables(names: &[&str]) -> BTreeMap<String, String> {
    names
        .iter()
        .filter_map(|name| {
            std::env::var(name)
                .ok()
                .map(|value| ((*name).to_string(), value))
        })
        .collect()
}

/// One step to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSpec {
    /// For messages only.
    pub name: String,
    pub command: StepCommand,
    pub cwd: PathBuf,
    /// The whole environment of the process: nothing of upkeep's own environment is added.
    pub env: BTreeMap<String, String>,
    /// The group is stopped when the step runs longer than this.
    pub timeout: Option<Duration>,
    /// Written to the process's stdin, which is then closed; without it stdin is `/dev/null`.
    pub stdin: Option<String>,
    /// How to stop the step on timeout or cancel when its real work is outside its process
    /// group (a container's processes belong to the container runtime); `None`: SIGTERM to the
    /// group, SIGKILL after a grace period.
    pub stopper: Option<Stopper>,
}

/// A command that stops a step from outside its process group, such as `podman stop --time 10
/// <name>`. It runs with the step's environment and working directory; the group itself is
/// killed once `grace` (plus a short margin) has passed without the step ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopper {
    pub program: String,
    pub args: Vec<String>,
    /// How long the stop command may take to end the step (its own SIGTERM-to-SIGKILL wait).
    pub grace: Duration,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    pub status: StepStatus,
    /// `None` when the process was ended by a signal.
    pub exit_code: Option<i32>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub duration: Duration,
}

/// Asks running steps to stop. Clones share the flag; the CLI sets it from its Ctrl-C handler.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("step `{step}`: cannot start `{program}` in {}: {source}", cwd.display())]
    Spawn {
        step: String,
        program: String,
        cwd: PathBuf,
        source: io::Error,
    },
    #[error("step `{step}`: cannot write its log: {source}")]
    Log { step: String, source: io::Error },
    #[error("step `{step}`: waiting for the process failed: {source}")]
    Wait { step: String, source: io::Error },
}

enum Event {
    Line {
        stream: Stream,
        text: String,
        at: Timestamp,
    },
    Closed,
}

/// Why upkeep stopped the process group, if it did.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    TimedOut,
    Cancelled,
}

/// Runs the step to its end and returns how it ended. Lines reach `sink` masked by `masker`, in
/// the order they arrived (stdout and stderr interleaved), stamped with the time they were read.
/// When the direct child exits, any process it left in its group is stopped too, so a stray
/// background process cannot keep the step open.
pub fn run_step(
    spec: &StepSpec,
    masker: &Masker,
    sink: &mut dyn LineSink,
    cancel: &CancelToken,
) -> Result<StepOutcome, ExecError> {
    let started_at = Timestamp::now();
    let start = Instant::now();
    let mut running = RunningGroup::new(spawn(spec)?);
    let child = &mut running.child;
    let group = running.group;
    let (sender, events) = mpsc::channel();
    let mut open_streams = 0;
    if let Some(stdout) = child.stdout.take() {
        spawn_reader(stdout, Stream::Stdout, sender.clone());
        open_streams += 1;
    }
    if let Some(stderr) = child.stderr.take() {
        spawn_reader(stderr, Stream::Stderr, sender.clone());
        open_streams += 1;
    }
    drop(sender);
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), spec.stdin.clone()) {
        // A separate thread: the child may not read its input before writing output.
        thread::spawn(move || {
            // The child may exit without reading it all; that is its business.
            let _ = stdin.write_all(input.as_bytes());
        });
    }

    let mut output = Output::new(masker, sink, &spec.name);
    let kill_after = spec
        .stopper
        .as_ref()
        .map_or(KILL_GRACE, |stopper| stopper.grace + KILL_GRACE);
    let mut stop: Option<Stop> = None;
    let mut term_sent_at: Option<Instant> = None;
    let mut exited_at: Option<(ExitStatus, Instant)> = None;
    let mut idle_wait = Duration::from_millis(1);
    let status = loop {
        receive(&events, &mut output, &mut open_streams, &mut idle_wait)?;
        if exited_at.is_none() {
            let status = child.try_wait().map_err(|source| ExecError::Wait {
                step: spec.name.clone(),
                source,
            })?;
            if let Some(status) = status {
                // Whatever the child left behind in its group goes now: a background process
                // holding stdout open must not keep the step running.
                signal_group(group, Signal::TERM);
                exited_at = Some((status, Instant::now()));
            }
        }
        if let Some((status, at)) = exited_at {
            if open_streams == 0 {
                break status;
            }
            if at.elapsed() >= LEFTOVER_GRACE {
                signal_group(group, Signal::KILL);
            }
            if at.elapsed() >= STOP_READING_AFTER {
                // Only a process outside the group (it called setsid) can still hold the pipe.
                output.system(
                    "upkeep: output still open after the step ended; no longer reading it",
                )?;
                break status;
            }
            continue;
        }
        if stop.is_none() {
            if cancel.is_cancelled() {
                stop = Some(Stop::Cancelled);
                output.system("upkeep: cancelled; stopping the step's processes")?;
            } else if let Some(limit) = spec.timeout.filter(|limit| start.elapsed() >= *limit) {
                stop = Some(Stop::TimedOut);
                output.system(&format!(
                    "upkeep: timed out after {}; stopping the step's processes",
                    humane(limit)
                ))?;
            }
            if stop.is_some() {
                match &spec.stopper {
                    Some(stopper) => start_stopper(spec, stopper),
                    None => signal_group(group, Signal::TERM),
                }
                term_sent_at = Some(Instant::now());
            }
        } else if term_sent_at.is_some_and(|sent| sent.elapsed() >= kill_after) {
            signal_group(group, Signal::KILL);
        }
        output.flush_held_lines(false)?;
    };
    output.flush_held_lines(true)?;
    output.flush()?;
    running.finish();

    let exit_code = status.code();
    let step_status = match stop {
        Some(Stop::TimedOut) => StepStatus::TimedOut,
        Some(Stop::Cancelled) => StepStatus::Cancelled,
        None if status.success() => StepStatus::Succeeded,
        None => StepStatus::Failed,
    };
    if let (StepStatus::Failed, Some(signal)) = (step_status, status.signal()) {
        output.system(&format!("upkeep: the process was ended by signal {signal}"))?;
    }
    Ok(StepOutcome {
        status: step_status,
        exit_code,
        started_at,
        finished_at: Timestamp::now(),
        duration: start.elapsed(),
    })
}

/// Starts the stop command in the background: the supervision loop goes on reading output while
/// it works. Its own output is not the step's; a failure shows as the group being killed later.
fn start_stopper(spec: &StepSpec, stopper: &Stopper) {
    let mut command = Command::new(&stopper.program);
    command
        .args(&stopper.args)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(&spec.env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Ok(mut child) = command.spawn() {
        thread::spawn(move || {
            let _ = child.wait();
        });
    }
}

fn spawn(spec: &StepSpec) -> Result<Child, ExecError> {
    let (program, args) = match &spec.command {
        StepCommand::Exec { program, args } => (program.clone(), args.clone()),
        StepCommand::Shell { shell, script } => {
            (shell.clone(), vec!["-c".to_string(), script.clone()])
        }
    };
    let mut command = Command::new(&program);
    command
        .args(&args)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(&spec.env)
        .stdin(if spec.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so the whole tree it starts can be signalled at once.
        .process_group(0);
    command.spawn().map_err(|source| ExecError::Spawn {
        step: spec.name.clone(),
        program,
        cwd: spec.cwd.clone(),
        source,
    })
}

/// The started process and its group. Dropping it before [`RunningGroup::finish`] (an error
/// while supervising) kills the whole group, so no step outlives upkeep's interest in it.
struct RunningGroup {
    child: Child,
    group: Pid,
    finished: bool,
}

impl RunningGroup {
    fn new(child: Child) -> Self {
        let group = Pid::from_child(&child);
        Self {
            child,
            group,
            finished: false,
        }
    }

    /// Called once the direct child has exited: makes sure no process of the group outlives the
    /// step; members still there after the grace period (they ignore SIGTERM) are killed.
    fn finish(mut self) {
        self.finished = true;
        let deadline = Instant::now() + LEFTOVER_GRACE;
        while test_kill_process_group(self.group).is_ok() {
            if Instant::now() >= deadline {
                signal_group(self.group, Signal::KILL);
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RunningGroup {
    fn drop(&mut self) {
        if !self.finished {
            signal_group(self.group, Signal::KILL);
            // Reap the direct child; it cannot take long after SIGKILL.
            let _ = self.child.wait();
        }
    }
}

fn signal_group(group: Pid, signal: Signal) {
    // ESRCH (the group is already gone) is the expected case once everything has exited.
    let _ = kill_process_group(group, signal);
}

/// Reads lines of one pipe and sends them on, until the pipe closes.
fn spawn_reader(pipe: impl Read + Send + 'static, stream: Stream, sender: mpsc::Sender<Event>) {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader
                .by_ref()
                .take(MAX_LINE_BYTES)
                .read_until(b'\n', &mut buffer)
            {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if buffer.last() == Some(&b'\n') {
                        buffer.pop();
                        if buffer.last() == Some(&b'\r') {
                            buffer.pop();
                        }
                    }
                    let text = String::from_utf8_lossy(&buffer).into_owned();
                    if sender
                        .send(Event::Line {
                            stream,
                            text,
                            at: Timestamp::now(),
                        })
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        let _ = sender.send(Event::Closed);
    });
}

/// Waits up to one poll interval for output, then takes everything already there.
fn receive(
    events: &Receiver<Event>,
    output: &mut Output<'_>,
    open_streams: &mut usize,
    idle_wait: &mut Duration,
) -> Result<(), ExecError> {
    let mut next = if *open_streams == 0 {
        // Both pipes closed: the process has usually just exited and is about to be reaped, so
        // look again soon, backing off to `POLL` for a process that closed its output but runs on.
        thread::sleep(*idle_wait);
        *idle_wait = (*idle_wait * 2).min(POLL);
        None
    } else {
        match events.recv_timeout(POLL) {
            Ok(event) => Some(event),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                *open_streams = 0;
                None
            }
        }
    };
    while let Some(event) = next {
        match event {
            Event::Line { stream, text, at } => output.line(stream, text, at)?,
            Event::Closed => *open_streams = open_streams.saturating_sub(1),
        }
        next = events.try_recv().ok();
    }
    output.flush()
}

/// Masks lines per stream and writes them to the sink.
struct Output<'a> {
    stdout: StreamMasker<'a, Timestamp>,
    stderr: StreamMasker<'a, Timestamp>,
    sink: &'a mut dyn LineSink,
    step: &'a str,
}

impl<'a> Output<'a> {
    fn new(masker: &'a Masker, sink: &'a mut dyn LineSink, step: &'a str) -> Self {
        Self {
            stdout: masker.stream(),
            stderr: masker.stream(),
            sink,
            step,
        }
    }

    fn line(&mut self, stream: Stream, text: String, at: Timestamp) -> Result<(), ExecError> {
        let (masker, other, other_stream) = if stream == Stream::Stderr {
            (&mut self.stderr, &mut self.stdout, Stream::Stdout)
        } else {
            (&mut self.stdout, &mut self.stderr, Stream::Stderr)
        };
        // A marker of upkeep's own session driver ("Phase complete") is printed after the
        // phase's commands ended, so a line the other stream still holds back (a secret may
        // go on in its next line) belongs before it. Other lines of two pipes have no order
        // worth unmasking a split secret for.
        if text.starts_with(MARKER_PREFIX)
            && let Some((held_at, held)) = other.flush()
        {
            write(
                self.sink,
                self.step,
                &LogLine {
                    timestamp: held_at,
                    stream: other_stream,
                    text: held,
                },
            )?;
        }
        for (timestamp, text) in masker.push(text, at) {
            write(
                self.sink,
                self.step,
                &LogLine {
                    timestamp,
                    stream,
                    text,
                },
            )?;
        }
        Ok(())
    }

    /// Hands the lines written so far to the sink's destination.
    fn flush(&mut self) -> Result<(), ExecError> {
        self.sink.flush().map_err(|source| ExecError::Log {
            step: self.step.to_string(),
            source,
        })
    }

    fn system(&mut self, text: &str) -> Result<(), ExecError> {
        self.flush_held_lines(true)?;
        write(self.sink, self.step, &LogLine::now(Stream::System, text))
    }

    /// Writes lines the maskers hold back: all of them, or those held for long enough.
    fn flush_held_lines(&mut self, all: bool) -> Result<(), ExecError> {
        let now = Timestamp::now();
        for (stream, masker) in [
            (Stream::Stdout, &mut self.stdout),
            (Stream::Stderr, &mut self.stderr),
        ] {
            let due = masker.pending_tag().is_some_and(|held_since| {
                all || now.duration_since(*held_since).unsigned_abs() >= HELD_LINE_DELAY
            });
            if due && let Some((timestamp, text)) = masker.flush() {
                write(
                    self.sink,
                    self.step,
                    &LogLine {
                        timestamp,
                        stream,
                        text,
                    },
                )?;
            }
        }
        Ok(())
    }
}

fn write(sink: &mut dyn LineSink, step: &str, line: &LogLine) -> Result<(), ExecError> {
    sink.write_line(line).map_err(|source| ExecError::Log {
        step: step.to_string(),
        source,
    })
}

/// `90s`, `30m`, `2h`, `1h30m`: how limits are written in `upkeep.yml`; a limit under a second
/// in milliseconds.
fn humane(duration: Duration) -> String {
    if duration.as_secs() == 0 {
        format!("{}ms", duration.as_millis())
    } else {
        format_duration(duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_path() -> String {
        "/usr/local/bin:/usr/bin:/bin".to_string()
    }

    fn shell_step(script: &str) -> StepSpec {
        StepSpec {
            name: "test".to_string(),
            command: StepCommand::Shell {
                shell: "sh".to_string(),
                script: script.to_string(),
            },
            cwd: std::env::temp_dir(),
            env: BTreeMap::from([("PATH".to_string(), host_path())]),
            timeout: None,
            stdin: None,
            stopper: None,
        }
    }

    fn run(spec: &StepSpec) -> (StepOutcome, Vec<LogLine>) {
        let mut lines = Vec::new();
        let outcome =
            run_step(spec, &Masker::default(), &mut lines, &CancelToken::new()).expect("run");
        (outcome, lines)
    }

    fn texts(lines: &[LogLine], stream: Stream) -> Vec<&str> {
        lines
            .iter()
            .filter(|line| line.stream == stream)
            .map(|line| line.text.as_str())
            .collect()
    }

    /// Whether `pid` still runs. A killed process that its new parent has not reaped yet (a
    /// zombie: in a container, PID 1 may reap slowly) does not run.
    fn is_alive(pid: i32) -> bool {
        let exists =
            Pid::from_raw(pid).is_some_and(|pid| rustix::process::test_kill_process(pid).is_ok());
        let zombie = fs_err::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                // The state follows the command name, which is in parentheses.
                stat.rsplit_once(") ")
                    .and_then(|(_, rest)| rest.chars().next())
            })
            == Some('Z');
        exists && !zombie
    }

    /// Asks `check` every 20 ms for up to two seconds until it has an answer.
    fn poll<T>(mut check: impl FnMut() -> Option<T>) -> Option<T> {
        for _ in 0..100 {
            if let Some(answer) = check() {
                return Some(answer);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn read_pid(path: &std::path::Path) -> i32 {
        // The grandchild may still be writing the file.
        poll(|| fs_err::read_to_string(path).ok()?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no pid in {}", path.display()))
    }

    fn wait_until_dead(pid: i32) -> bool {
        // A killed grandchild is reaped by init shortly after; give it a moment.
        poll(|| (!is_alive(pid)).then_some(())).is_some()
    }

    /// A step that starts `sleep 1000` in the background, writes its pid to the returned file,
    /// then runs `rest`. The directory holding the file must live as long as the test.
    fn background_sleep_step(rest: &str) -> (tempfile::TempDir, std::path::PathBuf, StepSpec) {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("pid");
        let spec = shell_step(&format!(
            "sleep 1000 & echo $! > '{}'; {rest}",
            pid_file.display()
        ));
        (dir, pid_file, spec)
    }

    #[test]
    fn reports_exit_codes() {
        let (outcome, _) = run(&shell_step("exit 0"));
        assert_eq!(
            (outcome.status, outcome.exit_code),
            (StepStatus::Succeeded, Some(0))
        );
        let (outcome, _) = run(&shell_step("exit 3"));
        assert_eq!(
            (outcome.status, outcome.exit_code),
            (StepStatus::Failed, Some(3))
        );
        let (outcome, lines) = run(&shell_step("kill -9 $$"));
        assert_eq!(
            (outcome.status, outcome.exit_code),
            (StepStatus::Failed, None)
        );
        assert_eq!(
            texts(&lines, Stream::System),
            ["upkeep: the process was ended by signal 9"]
        );
        assert!(outcome.finished_at >= outcome.started_at);
    }

    #[test]
    fn a_stopper_ends_a_timed_out_step_from_outside_its_group() {
        // The step ignores SIGTERM; the stopper (standing in for `podman stop`) kills it by the
        // pid it wrote, and leaves a mark that it ran.
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("pid");
        let mark = dir.path().join("stopped");
        let mut spec = shell_step(&format!(
            "trap '' TERM; echo $$ > '{}'; echo started; while :; do sleep 0.05; done",
            pid_file.display()
        ));
        spec.timeout = Some(Duration::from_millis(300));
        spec.stopper = Some(Stopper {
            program: "sh".to_string(),
            args: vec![
                "-c".to_string(),
                format!(
                    "touch '{}'; kill -KILL $(cat '{}')",
                    mark.display(),
                    pid_file.display()
                ),
            ],
            grace: Duration::from_secs(5),
        });
        let (outcome, lines) = run(&spec);
        assert_eq!(outcome.status, StepStatus::TimedOut);
        assert!(mark.exists(), "the stopper did not run");
        assert_eq!(texts(&lines, Stream::Stdout), ["started"]);
        assert_eq!(
            texts(&lines, Stream::System),
            ["upkeep: timed out after 300ms; stopping the step's processes"]
        );
    }

    #[test]
    fn runs_programs_with_arguments_in_the_working_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs_err::write(dir.path().join("marker.txt"), "").expect("write");
        let spec = StepSpec {
            command: StepCommand::Exec {
                program: "ls".to_string(),
                args: vec!["-1".to_string(), ".".to_string()],
            },
            cwd: dir.path().to_path_buf(),
            ..shell_step("")
        };
        let (outcome, lines) = run(&spec);
        assert_eq!(outcome.status, StepStatus::Succeeded);
        assert_eq!(texts(&lines, Stream::Stdout), ["marker.txt"]);
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let spec = StepSpec {
            command: StepCommand::Exec {
                program: "no-such-program-xyz".to_string(),
                args: Vec::new(),
            },
            ..shell_step("")
        };
        let error = run_step(
            &spec,
            &Masker::default(),
            &mut Vec::new(),
            &CancelToken::new(),
        )
        .expect_err("spawn");
        assert!(
            error
                .to_string()
                .starts_with("step `test`: cannot start `no-such-program-xyz`"),
            "{error}"
        );
    }

    #[test]
    fn the_environment_is_exactly_what_was_given() {
        let mut spec = shell_step("env | sort");
        spec.env.insert("ONLY_THIS".to_string(), "a b".to_string());
        let (_, lines) = run(&spec);
        let mut env = texts(&lines, Stream::Stdout);
        // The shell itself adds PWD (and, for some shells, SHLVL and `_`); nothing from upkeep's
        // environment may appear.
        env.retain(|line| {
            !line.starts_with("PWD=") && !line.starts_with("SHLVL=") && !line.starts_with("_=")
        });
        assert_eq!(
            env,
            ["ONLY_THIS=a b".to_string(), format!("PATH={}", host_path())]
        );
    }

    #[test]
    fn keeps_order_within_each_stream_and_tags_streams() {
        let (_, lines) = run(&shell_step(
            "i=0; while [ $i -lt 200 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done",
        ));
        let out: Vec<String> = (0..200).map(|i| format!("out{i}")).collect();
        let err: Vec<String> = (0..200).map(|i| format!("err{i}")).collect();
        assert_eq!(texts(&lines, Stream::Stdout), out);
        assert_eq!(texts(&lines, Stream::Stderr), err);
        // Each stream is stamped by its own reader, so timestamps rise within a stream; across
        // the two streams the write order may differ from the stamp order by a hair.
        for stream in [Stream::Stdout, Stream::Stderr] {
            let stamps: Vec<_> = lines
                .iter()
                .filter(|line| line.stream == stream)
                .map(|line| line.timestamp)
                .collect();
            assert!(stamps.windows(2).all(|pair| pair[0] <= pair[1]));
        }
    }

    #[test]
    fn keeps_a_last_line_without_line_break_and_crlf() {
        let (_, lines) = run(&shell_step("printf 'a\\r\\nb'"));
        assert_eq!(texts(&lines, Stream::Stdout), ["a", "b"]);
    }

    #[test]
    fn feeds_stdin() {
        let mut spec = shell_step("read first; echo got:$first; cat");
        spec.stdin = Some("one\ntwo\n".to_string());
        let (_, lines) = run(&spec);
        assert_eq!(texts(&lines, Stream::Stdout), ["got:one", "two"]);
    }

    #[test]
    fn a_driver_marker_comes_after_the_last_line_of_the_other_stream() {
        let mut lines = Vec::new();
        let masker = Masker::new(["sup3rsecret"]);
        run_step(
            &shell_step("echo sup3r >&2; sleep 0.2; echo '[upkeep] Phase complete: BUILD'"),
            &masker,
            &mut lines,
            &CancelToken::new(),
        )
        .expect("run");
        let texts: Vec<&str> = lines.iter().map(|line| line.text.as_str()).collect();
        assert_eq!(texts, ["sup3r", "[upkeep] Phase complete: BUILD"]);
    }

    #[test]
    fn masks_output() {
        let mut lines = Vec::new();
        let masker = Masker::new(["sup3rsecret"]);
        let outcome = run_step(
            &shell_step(
                "echo token=sup3rsecret; echo sup3r; echo secret >&2; echo sup3r; echo secret",
            ),
            &masker,
            &mut lines,
            &CancelToken::new(),
        )
        .expect("run");
        assert_eq!(outcome.status, StepStatus::Succeeded);
        // The first `sup3r` is followed on stdout by `sup3r`, not by `secret`: only the second
        // pair is the secret broken over two lines. A split across stdout and stderr is none.
        assert_eq!(
            texts(&lines, Stream::Stdout),
            ["token=***", "sup3r", "***", "***"]
        );
        assert_eq!(texts(&lines, Stream::Stderr), ["secret"]);
    }

    #[test]
    fn a_timeout_kills_the_whole_process_group() {
        let (_dir, pid_file, mut spec) = background_sleep_step("echo started; wait");
        spec.timeout = Some(Duration::from_millis(300));
        let begin = Instant::now();
        let (outcome, lines) = run(&spec);
        assert_eq!(outcome.status, StepStatus::TimedOut);
        assert!(begin.elapsed() < Duration::from_secs(10));
        assert_eq!(texts(&lines, Stream::Stdout), ["started"]);
        assert_eq!(
            texts(&lines, Stream::System),
            ["upkeep: timed out after 300ms; stopping the step's processes"]
        );
        let grandchild = read_pid(&pid_file);
        assert!(wait_until_dead(grandchild), "sleep {grandchild} survived");
    }

    #[test]
    fn a_process_ignoring_sigterm_is_killed_after_the_grace_period() {
        let mut spec = shell_step("trap '' TERM; echo ready; while :; do sleep 0.05; done");
        spec.timeout = Some(Duration::from_millis(200));
        let begin = Instant::now();
        let (outcome, _) = run(&spec);
        assert_eq!(
            (outcome.status, outcome.exit_code),
            (StepStatus::TimedOut, None)
        );
        assert!(begin.elapsed() >= KILL_GRACE);
        assert!(begin.elapsed() < KILL_GRACE + Duration::from_secs(5));
    }

    #[test]
    fn cancellation_stops_the_step() {
        let (_dir, pid_file, spec) = background_sleep_step("wait");
        let cancel = CancelToken::new();
        let canceller = cancel.clone();
        let waiter = thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            canceller.cancel();
        });
        let mut lines = Vec::new();
        let outcome = run_step(&spec, &Masker::default(), &mut lines, &cancel).expect("run");
        waiter.join().expect("canceller");
        assert_eq!(outcome.status, StepStatus::Cancelled);
        assert_eq!(
            texts(&lines, Stream::System),
            ["upkeep: cancelled; stopping the step's processes"]
        );
        assert!(wait_until_dead(read_pid(&pid_file)));
    }

    #[test]
    fn a_background_process_holding_stdout_does_not_keep_the_step_open() {
        let (_dir, pid_file, spec) = background_sleep_step("echo done");
        let begin = Instant::now();
        let (outcome, lines) = run(&spec);
        assert_eq!(outcome.status, StepStatus::Succeeded);
        assert!(
            begin.elapsed() < Duration::from_secs(5),
            "took {:?}",
            begin.elapsed()
        );
        assert_eq!(texts(&lines, Stream::Stdout), ["done"]);
        assert!(wait_until_dead(read_pid(&pid_file)));
    }

    struct BrokenSink;

    impl LineSink for BrokenSink {
        fn write_line(&mut self, _: &LogLine) -> io::Result<()> {
            Err(io::Error::other("disk full"))
        }
    }

    #[test]
    fn a_log_error_stops_the_step_and_its_group() {
        let (_dir, pid_file, spec) = background_sleep_step("echo hello; wait");
        let error = run_step(
            &spec,
            &Masker::default(),
            &mut BrokenSink,
            &CancelToken::new(),
        )
        .expect_err("the log cannot be written");
        assert_eq!(
            error.to_string(),
            "step `test`: cannot write its log: disk full"
        );
        assert!(wait_until_dead(read_pid(&pid_file)));
    }

    #[test]
    fn writes_humane_durations() {
        assert_eq!(humane(Duration::from_mins(90)), "1h30m");
        assert_eq!(humane(Duration::from_secs(90)), "1m30s");
        assert_eq!(humane(Duration::from_millis(250)), "250ms");
    }
}
