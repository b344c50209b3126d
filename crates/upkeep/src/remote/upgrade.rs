//! `upkeep remote upgrade` and `upkeep remote upgrades`: run a workspace's weekly upgrader now
//! (and follow its log to the pull request it opens), and list the upgrade runs.

use std::io::Write as _;

use clap::Args;
use serde_json::{Value, json};

use super::client::Client;
use super::{RemoteError, WorkspaceArg, follow, workspace_id};
use crate::Outcome;

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    /// Print the upgrader's log while it runs, then its result; the exit code tells it: 0 all
    /// updates applied (or nothing to update), 1 some not (a partial run, or one refused while
    /// the previous upgrade's request is open), 2 the run failed.
    #[arg(long, short)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct UpgradesArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArg,
    /// How many runs (1 to 100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: u32,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Starts an upgrade run (super users) and, following, prints its log and result.
pub fn upgrade(client: &Client, args: &UpgradeArgs) -> Result<Outcome, RemoteError> {
    let workspace = workspace_id(client, &args.workspace)?;
    let upgrades = format!("/api/v1/workspaces/{workspace}/upgrades");
    let run = client.post(&upgrades, &json!({}))?;
    let id = run["id"]
        .as_i64()
        .ok_or_else(|| RemoteError::Unexpected(run.to_string()))?;
    println!("{id}");
    if !args.follow {
        eprintln!(
            "upkeep: started upgrade run {id}; follow it with `upkeep remote upgrade --workspace {} --follow` next time, or list the runs with `upkeep remote upgrades --workspace {}`",
            args.workspace.workspace, args.workspace.workspace
        );
        return Ok(Outcome::Success);
    }
    let run_path = format!("{upgrades}/{id}");
    let mut stdout = std::io::stdout().lock();
    let mut print = |line: &str| {
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    };
    let mut notice = |text: &str| eprintln!("upkeep: {text}");
    follow::follow(
        client,
        &format!("{run_path}/log/events"),
        &mut print,
        &mut notice,
    )?;
    let detail = client.get(&run_path)?;
    Ok(report(&detail))
}

/// Says how an upgrade run ended, with its request and the majors left to do by hand.
fn report(detail: &Value) -> Outcome {
    let status = detail["status"].as_str().unwrap_or("unknown");
    let summary = detail["summary"].as_str().unwrap_or_default();
    eprintln!("upkeep: upgrade run {} {status}: {summary}", detail["id"]);
    if let Some(url) = detail["pull_request"]["url"].as_str() {
        eprintln!("upkeep: request: {url}");
    }
    let majors = detail["report"]["majors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for major in &majors {
        let link = major["instructions"][0]["url"].as_str().unwrap_or_default();
        eprintln!(
            "upkeep: major update left to do by hand: {} {} {link}",
            major["name"].as_str().unwrap_or_default(),
            major["major"].as_str().unwrap_or_default()
        );
    }
    match status {
        "succeeded" => Outcome::Success,
        "partial" | "refused" => Outcome::ProblemsFound,
        _ => Outcome::Failed,
    }
}

/// Lists a workspace's upgrade runs, newest first.
pub fn upgrades(client: &Client, args: &UpgradesArgs) -> Result<Outcome, RemoteError> {
    let workspace = workspace_id(client, &args.workspace)?;
    let page = client.get(&format!(
        "/api/v1/workspaces/{workspace}/upgrades?limit={}",
        args.limit
    ))?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let _ = writeln!(stdout, "{page:#}");
        return Ok(Outcome::Success);
    }
    let runs = page["upgrades"].as_array().cloned().unwrap_or_default();
    if runs.is_empty() {
        eprintln!("upkeep: no upgrade runs yet");
        return Ok(Outcome::Success);
    }
    let _ = writeln!(
        stdout,
        "{:<6} {:<12} {:<9} {:<26} REQUEST",
        "RUN", "STATUS", "TRIGGER", "QUEUED"
    );
    for run in &runs {
        let text = |key: &str| run[key].as_str().unwrap_or("-").to_string();
        let _ = writeln!(
            stdout,
            "{:<6} {:<12} {:<9} {:<26} {}",
            run["id"],
            text("status"),
            text("trigger"),
            text("queued_at"),
            run["pull_request"]["url"].as_str().unwrap_or("-")
        );
    }
    Ok(Outcome::Success)
}
