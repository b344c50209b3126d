//! `upkeep serve`: the platform's server on this machine. Prints the one-time setup link of a
//! server without accounts, serves until Ctrl-C or SIGTERM, then finishes the requests in
//! flight.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use upkeep_hint::Hint;
use upkeep_server::{App, ServerError, Settings};

use crate::{Outcome, print_error};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Where the embedded database, runs and logs are kept.
    #[arg(long, value_name = "DIR", default_value = ".upkeep-server")]
    pub data_dir: PathBuf,

    /// Use PostgreSQL (`postgres://user@host/db`) instead of the embedded SQLite database.
    #[arg(
        long,
        value_name = "URL",
        env = "UPKEEP_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// The address people reach the server at, for links (default: http://<listen address>).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,

    /// Also make a demo repository from the example shop (`examples/spryker-shop`, run from the
    /// repository root): the first workspace is connected to it at setup and its staging and
    /// production pipelines start at once.
    #[arg(long)]
    pub demo: bool,
}

pub fn run(args: &ServeArgs) -> Outcome {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            print_error(&format!("cannot start the server's runtime: {error}"), None);
            return Outcome::Failed;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => Outcome::Success,
        Err(error) => {
            print_error(&error.to_string(), error.hint().as_deref());
            Outcome::Failed
        }
    }
}

async fn serve(args: &ServeArgs) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(ServerError::Bind)?;
    let settings = Settings {
        database_url: args.database_url.clone(),
        public_url: args.public_url.clone(),
        demo_example: args
            .demo
            .then(|| PathBuf::from("examples").join("spryker-shop")),
        ..Settings::new(args.data_dir.clone())
    };
    let app = App::new(settings, listener).await?;
    let address = app.local_addr()?;
    anstream::eprintln!(
        "upkeep: serving on http://{address} (data in {})",
        args.data_dir.display()
    );
    if app.interrupted_runs() > 0 {
        anstream::eprintln!(
            "upkeep: {} run(s) cut off by the last stop are marked interrupted",
            app.interrupted_runs()
        );
    }
    if let Some(link) = app.setup_link() {
        anstream::eprintln!(
            "upkeep: no accounts yet; create the first one (the server's admin) with this one-time link:\n\n    {link}\n"
        );
    }
    app.serve(shutdown_signal()).await?;
    anstream::eprintln!("upkeep: stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM (what service managers and container runtimes send).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = interrupt => {},
        () = terminate => {},
    }
}
