//! Buildspec sessions on a remote host over ssh, against OpenSSH's sshd on a loopback port
//! (`upkeep_pipeline::testing::TestSshd`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use upkeep_pipeline::buildspec::Buildspec;
use upkeep_pipeline::buildspec_run::{
    BuildspecOutcome, BuildspecRun, BuildspecRunError, SessionPlace, run_buildspec,
};
use upkeep_pipeline::executor::{CancelToken, StepStatus};
use upkeep_pipeline::log_store::{LogLine, Stream};
use upkeep_pipeline::mask::Masker;
use upkeep_pipeline::ssh::{RemoteSession, SshClient, SshError};
use upkeep_pipeline::testing::TestSshd;

struct Remote {
    sshd: TestSshd,
    /// Plays the remote host's directories (sshd runs on this machine).
    dir: tempfile::TempDir,
    secrets: BTreeMap<String, String>,
}

impl Remote {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        fs_err::create_dir_all(dir.path().join("host/release")).expect("release dir");
        Self {
            sshd: TestSshd::start(),
            dir,
            secrets: BTreeMap::from([("db-password".to_string(), "hunter2-secret".to_string())]),
        }
    }

    fn session(&self, ssh: SshClient) -> RemoteSession {
        RemoteSession {
            ssh,
            work_dir: self.dir.path().join("host/release").display().to_string(),
            session_dir: self
                .dir
                .path()
                .join("host/.sessions/one")
                .display()
                .to_string(),
            stop_grace: Duration::from_secs(2),
        }
    }

    fn run_with(
        &self,
        yaml: &str,
        session: &RemoteSession,
        env: &[(&str, &str)],
        timeout: Option<Duration>,
    ) -> (Result<BuildspecOutcome, BuildspecRunError>, Vec<LogLine>) {
        let buildspec = Buildspec::parse(yaml, Path::new("buildspec.yml")).expect("buildspec");
        let run = BuildspecRun {
            name: "install".to_string(),
            buildspec: &buildspec,
            work_dir: self.dir.path().join("local-release"),
            state_dir: self.dir.path().join("state"),
            env: env
                .iter()
                .map(|(name, value)| ((*name).to_string(), (*value).to_string()))
                .collect(),
            secrets: &self.secrets,
            timeout,
            artifacts_dir: None,
            place: SessionPlace::Remote(session),
        };
        let mut lines = Vec::new();
        let masker = Masker::new(["hunter2-secret"]);
        let outcome = run_buildspec(&run, &masker, &mut lines, &CancelToken::new());
        (outcome, lines)
    }

    fn run(&self, yaml: &str, env: &[(&str, &str)]) -> (BuildspecOutcome, Vec<LogLine>) {
        let session = self.session(self.sshd.client());
        let (outcome, lines) = self.run_with(yaml, &session, env, Some(Duration::from_mins(1)));
        (outcome.expect("session"), lines)
    }
}

fn stdout(lines: &[LogLine]) -> Vec<&str> {
    lines
        .iter()
        .filter(|line| line.stream == Stream::Stdout && !line.text.starts_with("[upkeep]"))
        .map(|line| line.text.as_str())
        .collect()
}

/// Whether a process whose command line is exactly `args` runs on this machine.
fn process_running(args: &[&str]) -> bool {
    let wanted = args.join("\0") + "\0";
    fs_err::read_dir("/proc").expect("/proc").any(|entry| {
        let path = entry.expect("entry").path().join("cmdline");
        std::fs::read(path).is_ok_and(|cmdline| cmdline == wanted.as_bytes())
    })
}

#[test]
fn a_remote_session_runs_in_the_release_with_the_variables_and_brings_back_exports() {
    let remote = Remote::new();
    fs_err::write(
        remote.dir.path().join("host/release/marker"),
        "on-the-host\n",
    )
    .expect("marker");
    let yaml = "version: 0.2\n\
env:\n  secrets:\n    DB_PASSWORD: db-password\n  exported-variables: [BUILT, QUOTED]\n\
phases:\n  install:\n    commands:\n      - cat marker\n      - echo \"project=$SPRYKER_PROJECT_NAME odd=$ODD\"\n      - cd /tmp && export BUILT=remote QUOTED=\"it's \\\"here\\\"\"\n      - read line || echo stdin-is-empty\n  build:\n    commands:\n      - echo \"dir=$(pwd) built=$BUILT password=$DB_PASSWORD\"\n      - for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done | grep -c 'hunter[2]-secret' || true\n";
    let (outcome, lines) = remote.run(
        yaml,
        &[("SPRYKER_PROJECT_NAME", "shop"), ("ODD", "a 'b' $c")],
    );
    assert_eq!(outcome.status, StepStatus::Succeeded, "{lines:#?}");
    assert_eq!(
        stdout(&lines),
        [
            "on-the-host",
            "project=shop odd=a 'b' $c",
            "stdin-is-empty",
            "dir=/tmp built=remote password=***",
            "0",
        ]
    );
    assert_eq!(outcome.exported["BUILT"], "remote");
    assert_eq!(outcome.exported["QUOTED"], "it's \"here\"");
    assert!(
        !remote.dir.path().join("host/.sessions/one").exists(),
        "the session's directory on the host was left behind"
    );
}

#[test]
fn a_failing_remote_command_fails_the_session_as_on_the_host() {
    let remote = Remote::new();
    let yaml = "version: 0.2\nphases:\n  install:\n    commands:\n      - echo one\n      - sh -c 'exit 3'\n      - echo never\n";
    let (outcome, lines) = remote.run(yaml, &[]);
    assert_eq!(outcome.status, StepStatus::Failed);
    assert_eq!(stdout(&lines), ["one"]);
    assert_eq!(outcome.phases[0].commands[1].exit_code, Some(3));
}

#[test]
fn a_timed_out_session_is_stopped_on_the_host_also_when_it_ignores_sigterm() {
    let remote = Remote::new();
    let yaml = "version: 0.2\nphases:\n  install:\n    commands:\n      - echo started\n      - trap '' TERM; sleep 987\n";
    let session = remote.session(remote.sshd.client());
    let (outcome, lines) = remote.run_with(yaml, &session, &[], Some(Duration::from_millis(1500)));
    let outcome = outcome.expect("session");
    assert_eq!(outcome.status, StepStatus::TimedOut, "{lines:#?}");
    assert_eq!(stdout(&lines), ["started"]);
    assert!(
        !process_running(&["sleep", "987"]),
        "the remote command outlived its session"
    );
}

#[test]
fn an_unknown_host_key_is_refused_with_a_hint() {
    let remote = Remote::new();
    let mut ssh = remote.sshd.client();
    let empty = remote.dir.path().join("empty_known_hosts");
    fs_err::write(&empty, "").expect("known_hosts");
    ssh.known_hosts = Some(empty);
    let session = remote.session(ssh);
    let yaml = "version: 0.2\nphases:\n  install:\n    commands:\n      - touch never-ran\n";
    let (outcome, _) = remote.run_with(yaml, &session, &[], None);
    let error = outcome.expect_err("an unknown host key must be refused");
    let BuildspecRunError::Ssh(ssh_error) = &error else {
        panic!("expected an ssh error, got {error}");
    };
    assert!(matches!(ssh_error, SshError::HostKey { .. }), "{ssh_error}");
    let hint = upkeep_hint::Hint::hint(&error).expect("hint");
    assert!(hint.contains("ssh-keyscan -p"), "{hint}");
    assert!(!remote.dir.path().join("host/release/never-ran").exists());
}

#[test]
fn a_key_the_host_does_not_know_is_a_refused_login() {
    let remote = Remote::new();
    let mut ssh = remote.sshd.client();
    let stranger = remote.dir.path().join("stranger");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    ssh.identity = Some(stranger);
    let error = ssh.run_simple("checking", "true").expect_err("refused");
    assert!(matches!(error, SshError::Login { .. }), "{error}");
    assert!(error.to_string().starts_with("127.0.0.1:"), "{error}");
}
