//! `upkeep agent`: a remote agent of an `upkeep serve` whose executor is `agents`. It asks the
//! server for jobs, runs them here with the same runner as `upkeep pipeline run`, and sends
//! their records and logs back. Ctrl-C or SIGTERM stops it after the job it is doing.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use upkeep_hint::Hint as _;
use upkeep_runner::agent::{AgentEvents, AgentSettings, run_agent};

use crate::{Outcome, print_error};

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The server's URL, e.g. `https://upkeep.agency.test`.
    #[arg(long, value_name = "URL", env = "UPKEEP_SERVER")]
    pub server: String,

    /// Where the agent keeps its clones, runs, images and deployment targets.
    #[arg(long, value_name = "DIR", default_value = ".upkeep-agent")]
    pub work_dir: PathBuf,
}

struct Terminal;

impl AgentEvents for Terminal {
    fn say(&self, text: &str) {
        anstream::eprintln!("upkeep agent: {text}");
    }
}

pub fn run(args: &AgentArgs) -> Outcome {
    // The token comes from the environment only: a process list shows arguments to anyone.
    let Ok(token) = std::env::var("UPKEEP_AGENT_TOKEN") else {
        print_error(
            "the agent's token is missing",
            Some(
                "give it in UPKEEP_AGENT_TOKEN (the server's admin registers the agent with `POST /api/v1/agents` and is shown the token once)",
            ),
        );
        return Outcome::Failed;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let handler = Arc::clone(&stop);
    let _ = ctrlc::set_handler(move || handler.store(true, Ordering::SeqCst));
    let settings = AgentSettings {
        server: args.server.clone(),
        token,
        work_dir: args.work_dir.clone(),
    };
    Terminal.say(&format!(
        "serving {} (work in {})",
        settings.server,
        settings.work_dir.display()
    ));
    match run_agent(&settings, &stop, &Terminal) {
        Ok(()) => {
            Terminal.say("stopped");
            Outcome::Success
        }
        Err(error) => {
            print_error(&error.to_string(), error.hint().as_deref());
            Outcome::Failed
        }
    }
}
