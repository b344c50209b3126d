//! `upkeep serve`: the platform's server on this machine. Prints the one-time setup link of a
//! server without accounts, serves until Ctrl-C or SIGTERM, then finishes the requests in
//! flight.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::io::{IsTerminal as _, Write as _};

use clap::{Args, ValueEnum};
use upkeep_hint::Hint;
use upkeep_server::{
    App, ExecutorMode, MailSettings, OAuthClientSettings, OAuthSettings, ServerError, Settings,
};

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

    /// Send invitations by mail through this SMTP server: `smtp://[user@]host[:port]` (add
    /// `?tls=required` for STARTTLS) or `smtps://[user@]host[:port]`. The password comes from
    /// `UPKEEP_SMTP_PASSWORD`, never from the URL. Without it, an invitation's link is shown to
    /// the inviter to pass on.
    #[arg(
        long,
        value_name = "URL",
        env = "UPKEEP_SMTP_URL",
        requires = "mail_from"
    )]
    pub smtp_url: Option<String>,

    /// Who drives queued runs: this process (`embedded`), or remote agents (`agents`), which
    /// the server's admin registers and starts with `upkeep agent`.
    #[arg(long, value_enum, default_value_t = Executor::Embedded)]
    pub executor: Executor,

    /// How many runs the server drives at once (with the embedded executor); more wait, queued,
    /// for a turn.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_runs: u16,

    /// How the server logs (requests, runs, webhooks, start and stop): text for a terminal, or
    /// one JSON object per line for a log collector.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// The sender of the server's mail, e.g. `Upkeep <upkeep@agency.test>`.
    #[arg(long, value_name = "ADDRESS", env = "UPKEEP_MAIL_FROM")]
    pub mail_from: Option<String>,

    /// Let super users connect GitHub repositories by OAuth: the client id of a GitHub OAuth
    /// app whose callback URL is `<public-url>/oauth/github/callback` (needs `--public-url`).
    /// Its client secret comes from `UPKEEP_GITHUB_OAUTH_CLIENT_SECRET`, never from the command
    /// line.
    #[arg(long, value_name = "ID")]
    pub github_oauth_client_id: Option<String>,

    /// The GitHub Enterprise the OAuth app is on (default: `https://github.com`; its API is
    /// `<url>/api/v3`, or `https://api.github.com` for github.com).
    #[arg(long, value_name = "URL", requires = "github_oauth_client_id")]
    pub github_url: Option<String>,

    /// Let super users connect GitLab repositories by OAuth: the application id of a GitLab
    /// application with the `api` scope whose callback URL is
    /// `<public-url>/oauth/gitlab/callback` (needs `--public-url`). Its secret comes from
    /// `UPKEEP_GITLAB_OAUTH_CLIENT_SECRET`.
    #[arg(long, value_name = "ID")]
    pub gitlab_oauth_client_id: Option<String>,

    /// The self-hosted GitLab the application is on (default: `https://gitlab.com`; its API
    /// is `<url>/api/v4`).
    #[arg(long, value_name = "URL", requires = "gitlab_oauth_client_id")]
    pub gitlab_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Executor {
    Embedded,
    Agents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Stderr that never fails: a server whose log reader went away (a closed pipe) goes on
/// serving rather than failing the request it was logging.
struct LossyStderr;

impl std::io::Write for LossyStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// Sends the server's `tracing` events to stderr, as text or JSON lines.
fn init_logs(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(|| LossyStderr)
        .with_max_level(tracing::Level::INFO);
    // Set once per process; a second call (tests that serve twice) keeps the first.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// A line for the operator: as text, as it always was, or as a JSON event among the others.
fn say(format: LogFormat, text: &str) {
    match format {
        LogFormat::Text => {
            let _ = writeln!(LossyStderr, "upkeep: {text}");
        }
        LogFormat::Json => tracing::info!(target: "upkeep", "{text}"),
    }
}

/// One OAuth app from its client id option and its secret's environment variable; both or
/// neither, and only with a public URL the provider can send the browser back to.
fn oauth_client(
    provider: &str,
    client_id: Option<&str>,
    url: Option<&str>,
    public_url: Option<&str>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<OAuthClientSettings>, (String, String)> {
    let flag = format!("--{provider}-oauth-client-id");
    let variable = format!("UPKEEP_{}_OAUTH_CLIENT_SECRET", provider.to_uppercase());
    let secret = env(&variable).filter(|secret| !secret.trim().is_empty());
    match (client_id, secret) {
        (None, None) => Ok(None),
        (Some(_), None) => Err((
            format!("{flag} is given, but {variable} is not set"),
            format!(
                "put the OAuth app's client secret in {variable}; it is never an argument, since anyone on the machine can read a process's arguments"
            ),
        )),
        (None, Some(_)) => Err((
            format!("{variable} is set, but {flag} is not given"),
            format!("give the OAuth app's client id with {flag}, or unset {variable}"),
        )),
        (Some(_), Some(_)) if public_url.is_none() => Err((
            format!("{flag} needs --public-url"),
            format!(
                "the provider sends the browser back to <public-url>/oauth/{provider}/callback, the callback URL registered with the OAuth app: start with --public-url https://upkeep.example.com"
            ),
        )),
        (Some(client_id), Some(client_secret)) => Ok(Some(OAuthClientSettings {
            client_id: client_id.to_string(),
            client_secret,
            url: url.map(str::to_string),
        })),
    }
}

/// The OAuth apps of `args` and the environment.
fn oauth_settings(
    args: &ServeArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<OAuthSettings, (String, String)> {
    let public_url = args.public_url.as_deref();
    let app = |provider, client_id: &Option<String>, url: &Option<String>| {
        oauth_client(
            provider,
            client_id.as_deref(),
            url.as_deref(),
            public_url,
            &env,
        )
    };
    Ok(OAuthSettings {
        github: app("github", &args.github_oauth_client_id, &args.github_url)?,
        gitlab: app("gitlab", &args.gitlab_oauth_client_id, &args.gitlab_url)?,
    })
}

pub fn run(args: &ServeArgs) -> Outcome {
    let oauth = match oauth_settings(args, |name| std::env::var(name).ok()) {
        Ok(oauth) => oauth,
        Err((message, hint)) => {
            print_error(&message, Some(&hint));
            return Outcome::Failed;
        }
    };
    init_logs(args.log_format);
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
    match runtime.block_on(serve(args, oauth)) {
        Ok(()) => Outcome::Success,
        Err(error) => {
            print_error(&error.to_string(), error.hint().as_deref());
            Outcome::Failed
        }
    }
}

async fn serve(args: &ServeArgs, oauth: OAuthSettings) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(ServerError::Bind)?;
    let callbacks: Vec<String> = [("GitHub", &oauth.github), ("GitLab", &oauth.gitlab)]
        .into_iter()
        .filter(|(_, app)| app.is_some())
        .map(|(name, _)| {
            let public_url = args.public_url.as_deref().unwrap_or_default();
            format!(
                "{name} (callback URL {}/oauth/{}/callback)",
                public_url.trim_end_matches('/'),
                name.to_lowercase()
            )
        })
        .collect();
    let settings = Settings {
        database_url: args.database_url.clone(),
        public_url: args.public_url.clone(),
        demo_example: args
            .demo
            .then(|| PathBuf::from("examples").join("spryker-shop")),
        mail: args.smtp_url.as_ref().map(|url| MailSettings {
            url: url.clone(),
            from: args.mail_from.clone().unwrap_or_default(),
            password: std::env::var("UPKEEP_SMTP_PASSWORD").ok(),
        }),
        max_runs: usize::from(args.max_runs),
        executor: match args.executor {
            Executor::Embedded => ExecutorMode::Embedded,
            Executor::Agents => ExecutorMode::Agents,
        },
        oauth,
        ..Settings::new(args.data_dir.clone())
    };
    let app = App::new(settings, listener).await?;
    let address = app.local_addr()?;
    let format = args.log_format;
    say(
        format,
        &format!(
            "serving on http://{address} (data in {})",
            args.data_dir.display()
        ),
    );
    if !callbacks.is_empty() {
        say(
            format,
            &format!(
                "repositories connect by OAuth through {}",
                callbacks.join(" and ")
            ),
        );
    }
    if app.interrupted_runs() > 0 {
        say(
            format,
            &format!(
                "{} run(s) cut off by the last stop are marked interrupted",
                app.interrupted_runs()
            ),
        );
    }
    if let Some(link) = app.setup_link() {
        let spacing = if format == LogFormat::Text {
            "\n\n    "
        } else {
            " "
        };
        let end = if format == LogFormat::Text { "\n" } else { "" };
        say(
            format,
            &format!(
                "no accounts yet; create the first one (the server's admin) with this one-time link:{spacing}{link}{end}"
            ),
        );
    }
    app.serve(shutdown_signal()).await?;
    say(format, "stopped");
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
