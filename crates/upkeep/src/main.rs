//! The `upkeep` command line: parses arguments, runs the requested command, and turns its
//! outcome into output and a documented exit code (0 success, 1 problems found, 2 the run
//! itself failed).

mod agent;
mod gate;
mod init;
mod manifests;
mod output;
mod pipeline;
mod remote;
mod rules;
mod serve;
mod upgrade;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// The gate allocates many small strings from many threads while indexing tens of thousands of
// files; mimalloc handles that pattern much better than glibc's allocator (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keeps Spryker projects upgradable and deployable.
#[derive(Debug, Parser)]
#[command(name = "upkeep", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a Spryker project against the upgradability rules (the quality gate).
    ///
    /// Exit status: 0 when no finding fails the gate, 1 when one does, 2 when the run
    /// itself fails (bad path, invalid configuration, unreadable file).
    Gate(Box<gate::GateArgs>),
    /// List the gate's rules, or show one rule's documentation.
    Rules(rules::RulesArgs),
    /// Set up upkeep in a Spryker project: `upkeep.yml`, a deploy file skeleton if it has
    /// none, and the CI file of its forge (a GitHub Actions workflow or `.gitlab-ci.yml`).
    /// Existing files are kept unless `--force` is given.
    Init(init::InitArgs),
    /// Plan or run an environment's main pipeline (Build → Quality gate → Approval →
    /// Deployment), or read the logs of a run. Environments are declared in upkeep.yml.
    Pipeline(pipeline::PipelineArgs),
    /// Build the environment's image from a clean checkout of a commit and check it with the
    /// quality gate; the image is promoted (deployable with `upkeep deploy`) when the gate
    /// allows it and the environment needs no approval.
    Build(pipeline::BuildArgs),
    /// Deploy an image promoted for the environment to its target (pre-deploy, install, switch,
    /// post-deploy), or roll back to the previous release.
    ///
    /// Exit status: 0 deployed, 1 a stage failed or the run was cancelled, 2 bad input.
    Deploy(pipeline::DeployArgs),
    /// Check Spryker deploy files.
    DeployFile(pipeline::DeployFileArgs),
    /// Plan and apply minor and patch updates of Composer packages, and open the pull request.
    Upgrade(upgrade::UpgradeArgs),
    /// Run the platform's server: people and workspaces, a connected repository whose pushes
    /// run pipelines, approvals, live logs, over a REST API and first pages; on the embedded
    /// SQLite database (or PostgreSQL with --database-url).
    Serve(serve::ServeArgs),
    /// Talk to an Upkeep server with a personal API token: log in, list and start runs,
    /// approve or reject a waiting deployment, read or follow a run's logs.
    ///
    /// Exit status: 0 done, 2 the server could not be reached or refused (its message is
    /// shown).
    Remote(remote::RemoteArgs),
    /// Take jobs from an `upkeep serve` whose executor is `agents`, and run them on this
    /// machine: the server's queue, this machine's runner.
    Agent(agent::AgentArgs),
}

/// The exit codes every command uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success = 0,
    ProblemsFound = 1,
    Failed = 2,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(outcome as u8)
    }
}

/// Prints an error the way every command does: `error: ...` and an optional `hint: ...`.
pub fn print_error(message: &str, hint: Option<&str>) {
    anstream::eprintln!("error: {message}");
    if let Some(hint) = hint {
        anstream::eprintln!("hint: {hint}");
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Gate(args) => gate::run(&args),
        Command::Rules(args) => rules::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Pipeline(args) => pipeline::run(&args),
        Command::Build(args) => pipeline::run_build(&args),
        Command::Deploy(args) => pipeline::run_deploy(&args),
        Command::DeployFile(args) => pipeline::run_deploy_file(&args),
        Command::Upgrade(args) => upgrade::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Remote(args) => remote::run(&args),
        Command::Agent(args) => agent::run(&args),
    };
    outcome.into()
}
