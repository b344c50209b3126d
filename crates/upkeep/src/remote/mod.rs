//! `upkeep remote`: talks to an Upkeep server with a personal API token — log in once, then
//! list runs, start one, approve or reject a waiting deployment, read or follow a run's logs
//! (resuming after a dropped connection), and run the weekly upgrader now. Data goes to standard output, notices and
//! errors to standard error; the token is never printed.

mod client;
mod config;
mod follow;
mod upgrade;

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use upkeep_hint::Hint;
use upkeep_pipeline::record::{RunRecord, RunStatus, StageKind};

use crate::{Outcome, print_error};
use client::Client;
use config::RemoteConfig;

#[derive(Debug, Args)]
pub struct RemoteArgs {
    #[command(subcommand)]
    pub command: RemoteCommand,
}

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Log in to a server with a personal API token, read from standard input (or
    /// `UPKEEP_TOKEN`), checked with the server, and kept in
    /// `$XDG_CONFIG_HOME/upkeep/remote.toml` (mode 0600).
    Login(LoginArgs),
    /// List a workspace's runs, newest first.
    Runs(RunsArgs),
    /// Start an environment's main pipeline.
    Run(StartArgs),
    /// Approve the deployment a run waits for (super users).
    Approve(DecisionArgs),
    /// Reject the deployment a run waits for (super users).
    Reject(DecisionArgs),
    /// Print a run's logs, or follow them while the run goes on.
    Logs(LogsArgs),
    /// Run the workspace's upgrader now (super users): minor and patch updates on a branch
    /// and a pull or merge request, as its weekly schedule does.
    Upgrade(upgrade::UpgradeArgs),
    /// List the workspace's upgrade runs, newest first, with their requests.
    Upgrades(upgrade::UpgradesArgs),
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The server's address, e.g. `https://upkeep.example.com`.
    #[arg(long, value_name = "URL")]
    pub server: String,
}

#[derive(Debug, Args)]
pub struct WorkspaceArg {
    /// The workspace: its id or its name.
    #[arg(long, short, value_name = "WORKSPACE")]
    pub workspace: String,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    /// Only this environment's runs.
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
    /// How many runs (1 to 100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: u32,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    /// The environment whose main pipeline to run.
    #[arg(long = "env", value_name = "ENV")]
    pub environment: String,
    /// A branch, tag or commit (default: the environment's branch).
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
}

#[derive(Debug, Args)]
pub struct DecisionArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    /// The run that waits for approval.
    #[arg(value_name = "RUN")]
    pub run: String,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    /// The run.
    #[arg(value_name = "RUN")]
    pub run: String,
    /// Only this stage's log: build, quality-gate, pre-deploy, install, post-deploy, switch
    /// (default: every stage of the run, in order).
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<StageKind>,
    /// Keep reading while the run goes on, until it ends or waits for approval; a dropped
    /// connection is resumed where it stopped.
    #[arg(long, short)]
    pub follow: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("not logged in to an Upkeep server")]
    NotLoggedIn,
    #[error("cannot tell where to keep the login: neither XDG_CONFIG_HOME nor HOME is set")]
    NoConfigHome,
    #[error("the login file cannot be used: {0}")]
    Config(String),
    #[error("`{0}` is not an http:// or https:// address")]
    BadServer(String),
    #[error("no API token was given")]
    NoToken,
    #[error("cannot reach the server at {server}: {detail}")]
    Unreachable { server: String, detail: String },
    #[error("the server refused: {message} ({status} {code})")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("no workspace `{name}` among yours ({known})")]
    UnknownWorkspace { name: String, known: String },
    #[error("the server's answer is not what upkeep expected: {0}")]
    Unexpected(String),
}

impl Hint for RemoteError {
    fn hint(&self) -> Option<String> {
        let login = "upkeep remote login --server URL";
        match self {
            Self::NotLoggedIn => Some(format!(
                "run `{login}` with a personal API token on standard input (create one with `POST /api/v1/tokens`), or set UPKEEP_SERVER and UPKEEP_TOKEN"
            )),
            Self::NoToken => Some(format!(
                "pipe the token in (`printenv TOKEN | {login}`) or set UPKEEP_TOKEN"
            )),
            Self::Unreachable { .. } => Some(format!(
                "check that `upkeep serve` runs there and that the address is right; `{login}` changes it"
            )),
            Self::Api { status: 401, .. } => Some(format!(
                "the API token is wrong or was revoked: create a new one and run `{login}` again"
            )),
            Self::Api { status: 403, .. } => Some(
                "ask a super user of the workspace: approvals, people and settings are theirs"
                    .to_string(),
            ),
            Self::Api { status: 404, .. } => Some(
                "check the workspace and the run: `upkeep remote runs --workspace WORKSPACE` lists the runs"
                    .to_string(),
            ),
            Self::UnknownWorkspace { .. } => {
                Some("name a workspace by its id or its name, as `upkeep remote runs` shows".to_string())
            }
            _ => None,
        }
    }
}

pub fn run(args: &RemoteArgs) -> Outcome {
    let result = match &args.command {
        RemoteCommand::Login(login_args) => login(login_args),
        RemoteCommand::Runs(runs_args) => connect().and_then(|client| runs(&client, runs_args)),
        RemoteCommand::Run(start_args) => connect().and_then(|client| start(&client, start_args)),
        RemoteCommand::Approve(decision) => {
            connect().and_then(|client| decide(&client, decision, "approve"))
        }
        RemoteCommand::Reject(decision) => {
            connect().and_then(|client| decide(&client, decision, "reject"))
        }
        RemoteCommand::Logs(logs_args) => connect().and_then(|client| logs(&client, logs_args)),
        RemoteCommand::Upgrade(upgrade_args) => {
            connect().and_then(|client| upgrade::upgrade(&client, upgrade_args))
        }
        RemoteCommand::Upgrades(list_args) => {
            connect().and_then(|client| upgrade::upgrades(&client, list_args))
        }
    };
    match result {
        Ok(outcome) => outcome,
        Err(error) => {
            print_error(&error.to_string(), error.hint().as_deref());
            Outcome::Failed
        }
    }
}

fn connect() -> Result<Client, RemoteError> {
    let RemoteConfig { server, token } = config::load()?;
    Ok(Client::new(&server, &token))
}

fn login(args: &LoginArgs) -> Result<Outcome, RemoteError> {
    let server = args.server.trim().trim_end_matches('/').to_string();
    let valid = ["http://", "https://"]
        .iter()
        .any(|scheme| server.len() > scheme.len() && server.starts_with(scheme));
    if !valid {
        return Err(RemoteError::BadServer(server));
    }
    let token = match std::env::var("UPKEEP_TOKEN") {
        Ok(token) if !token.trim().is_empty() => token.trim().to_string(),
        _ => read_token()?,
    };
    let client = Client::new(&server, &token);
    let me = client.get("/api/v1/me")?;
    let email = me["account"]["email"]
        .as_str()
        .ok_or_else(|| RemoteError::Unexpected(format!("`/api/v1/me` answered {me}")))?;
    let path = config::save(&RemoteConfig {
        server: server.clone(),
        token,
    })?;
    let workspaces: Vec<&str> = me["workspaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|workspace| workspace["name"].as_str())
        .collect();
    eprintln!(
        "upkeep: logged in to {server} as {email} (workspaces: {}); the token is kept in {}",
        if workspaces.is_empty() {
            "none yet".to_string()
        } else {
            workspaces.join(", ")
        },
        path.display()
    );
    Ok(Outcome::Success)
}

/// The token from standard input: the first line of a pipe, or typed at a prompt without
/// echo on a terminal.
fn read_token() -> Result<String, RemoteError> {
    let stdin = std::io::stdin();
    let mut line = String::new();
    if stdin.is_terminal() {
        eprint!("API token: ");
        let _ = std::io::stderr().flush();
        let _echo_off = EchoOff::new(&stdin);
        let read = stdin.lock().read_line(&mut line);
        eprintln!();
        read.map_err(|error| RemoteError::Config(error.to_string()))?;
    } else {
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|error| RemoteError::Config(error.to_string()))?;
    }
    let token = line.trim().to_string();
    if token.is_empty() {
        return Err(RemoteError::NoToken);
    }
    Ok(token)
}

/// The terminal's echo turned off while it lives, so that a typed token is not shown.
struct EchoOff {
    saved: Option<rustix::termios::Termios>,
}

impl EchoOff {
    fn new(stdin: &std::io::Stdin) -> Self {
        use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
        let saved = tcgetattr(stdin).ok();
        if let Some(saved) = &saved {
            let mut quiet = saved.clone();
            quiet.local_modes.remove(LocalModes::ECHO);
            let _ = tcsetattr(stdin, OptionalActions::Now, &quiet);
        }
        Self { saved }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = rustix::termios::tcsetattr(
                std::io::stdin(),
                rustix::termios::OptionalActions::Now,
                saved,
            );
        }
    }
}

/// The workspace's id, from an id or a name.
fn workspace_id(client: &Client, workspace: &WorkspaceArg) -> Result<i64, RemoteError> {
    if let Ok(id) = workspace.workspace.parse::<i64>() {
        return Ok(id);
    }
    let me = client.get("/api/v1/me")?;
    let known = me["workspaces"].as_array().cloned().unwrap_or_default();
    known
        .iter()
        .find(|candidate| candidate["name"] == workspace.workspace.as_str())
        .and_then(|found| found["id"].as_i64())
        .ok_or_else(|| RemoteError::UnknownWorkspace {
            name: workspace.workspace.clone(),
            known: known
                .iter()
                .filter_map(|candidate| {
                    Some(format!(
                        "{} {}",
                        candidate["id"].as_i64()?,
                        candidate["name"].as_str()?
                    ))
                })
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Text for a path segment: what is not unreserved is percent-encoded.
fn segment(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

fn runs(client: &Client, args: &RunsArgs) -> Result<Outcome, RemoteError> {
    let workspace = workspace_id(client, &args.workspace)?;
    let path = match &args.environment {
        Some(environment) => format!(
            "/api/v1/workspaces/{workspace}/environments/{}/runs?limit={}",
            segment(environment),
            args.limit
        ),
        None => format!("/api/v1/workspaces/{workspace}/runs?limit={}", args.limit),
    };
    let page = client.get(&path)?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let _ = writeln!(stdout, "{page:#}");
        return Ok(Outcome::Success);
    }
    let runs = page["runs"].as_array().cloned().unwrap_or_default();
    if runs.is_empty() {
        eprintln!("upkeep: no runs yet");
        return Ok(Outcome::Success);
    }
    let _ = writeln!(
        stdout,
        "{:<32} {:<14} {:<22} {:<9} QUEUED",
        "RUN", "ENVIRONMENT", "STATUS", "TRIGGER"
    );
    for run in &runs {
        let text = |key: &str| run[key].as_str().unwrap_or("-").to_string();
        let _ = writeln!(
            stdout,
            "{:<32} {:<14} {:<22} {:<9} {}",
            text("run_id"),
            text("environment"),
            text("status"),
            text("trigger"),
            text("queued_at")
        );
    }
    Ok(Outcome::Success)
}

fn start(client: &Client, args: &StartArgs) -> Result<Outcome, RemoteError> {
    let workspace = workspace_id(client, &args.workspace)?;
    let body = match &args.revision {
        Some(revision) => json!({ "revision": revision }),
        None => json!({}),
    };
    let run = client.post(
        &format!(
            "/api/v1/workspaces/{workspace}/environments/{}/runs",
            segment(&args.environment)
        ),
        &body,
    )?;
    let id = run["run_id"]
        .as_str()
        .ok_or_else(|| RemoteError::Unexpected(run.to_string()))?;
    println!("{id}");
    eprintln!(
        "upkeep: queued {} as run {id}; follow it with `upkeep remote logs --workspace {} {id} --follow`",
        run["pipeline"].as_str().unwrap_or("the pipeline"),
        args.workspace.workspace
    );
    Ok(Outcome::Success)
}

fn decide(client: &Client, args: &DecisionArgs, decision: &str) -> Result<Outcome, RemoteError> {
    let workspace = workspace_id(client, &args.workspace)?;
    let answer = client.post(
        &format!(
            "/api/v1/workspaces/{workspace}/runs/{}/{decision}",
            segment(&args.run)
        ),
        &json!({}),
    )?;
    eprintln!(
        "upkeep: run {} {}",
        args.run,
        answer["decision"].as_str().unwrap_or(decision)
    );
    Ok(Outcome::Success)
}

fn logs(client: &Client, args: &LogsArgs) -> Result<Outcome, RemoteError> {
    let workspace = workspace_id(client, &args.workspace)?;
    let run_path = format!("/api/v1/workspaces/{workspace}/runs/{}", segment(&args.run));
    let mut stdout = std::io::stdout().lock();
    let mut print = |line: &str| {
        let _ = writeln!(stdout, "{line}");
        if args.follow {
            let _ = stdout.flush();
        }
    };
    let mut notice = |text: &str| eprintln!("upkeep: {text}");
    if let Some(stage) = args.stage {
        let stage_path = format!("{run_path}/logs/{}", stage.as_str());
        if args.follow {
            let status = follow::follow(
                client,
                &format!("{stage_path}/events"),
                &mut print,
                &mut notice,
            )?;
            notice(&format!("{} ended: {status}", stage.as_str()));
        } else {
            print_lines(&client.get(&stage_path)?, &mut print);
        }
        return Ok(Outcome::Success);
    }
    // Every stage of the run in order; following, the stages the run reaches meanwhile too.
    let mut done: Vec<StageKind> = Vec::new();
    loop {
        let run = client.get(&run_path)?;
        let status = run["status"]
            .as_str()
            .and_then(RunStatus::from_name)
            .ok_or_else(|| RemoteError::Unexpected(run.to_string()))?;
        let record: Option<RunRecord> = serde_json::from_value(run["record"].clone()).ok();
        let stages: Vec<StageKind> = record
            .iter()
            .flat_map(RunRecord::steps)
            .filter(|(_, step)| step.log.is_some())
            .map(|(stage, _)| stage)
            .collect();
        let over = status.is_final() || status == RunStatus::WaitingForApproval;
        let mut read_any = false;
        for stage in stages {
            if done.contains(&stage) {
                continue;
            }
            notice(&format!("{} log:", stage.as_str()));
            let stage_path = format!("{run_path}/logs/{}", stage.as_str());
            if args.follow {
                let ended = follow::follow(
                    client,
                    &format!("{stage_path}/events"),
                    &mut print,
                    &mut notice,
                )?;
                notice(&format!("{} ended: {ended}", stage.as_str()));
            } else {
                print_lines(&client.get(&stage_path)?, &mut print);
            }
            done.push(stage);
            read_any = true;
        }
        if !args.follow || (over && !read_any) {
            if args.follow {
                notice(&format!("the run {}", status.describe()));
            }
            return Ok(Outcome::Success);
        }
        if !read_any {
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    }
}

fn print_lines(chunk: &Value, print: &mut dyn FnMut(&str)) {
    for line in chunk["lines"].as_array().into_iter().flatten() {
        print(line["text"].as_str().unwrap_or_default());
    }
}
