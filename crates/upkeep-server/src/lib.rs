//! The platform's server: the REST API under `/api/v1` (sign-in, sessions and API tokens,
//! workspaces, members and roles, invitations, the audit log, repositories, runs through the
//! embedded executor with approvals and live logs), the web UI's server-rendered pages (`ui`),
//! health endpoints, and the one-time setup link of a server without accounts. The store is the embedded SQLite database
//! under the data directory unless a PostgreSQL URL is given. Nothing here prints: the binary
//! shows the setup link and logs.
//!
//! ```no_run
//! # async fn example() -> Result<(), upkeep_server::ServerError> {
//! use upkeep_server::{App, Settings};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(upkeep_server::ServerError::Bind)?;
//! let app = App::new(Settings::new("/var/lib/upkeep"), listener).await?;
//! if let Some(link) = app.setup_link() {
//!     println!("set the server up at {link}");
//! }
//! app.serve(std::future::pending()).await?;
//! # Ok(()) }
//! ```

pub mod api;
mod auth;
mod badge;
pub mod clock;
mod connection;
mod demo;
mod environments;
mod executor;
mod mail;
mod metrics;
mod oauth;
mod polling;
mod requests;
mod scheduler;
mod sealing;
mod secrets;
mod ui;
mod upgrader;
mod webhook_setup;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use jiff::Timestamp;
use upkeep_store::{RunStore, Store, StoreError};

pub use auth::SignInLimiter;
pub use executor::ExecutorMode;
pub use mail::{MailError, MailSettings};
pub use oauth::{OAuthClientSettings, OAuthSettings, OAuthSettingsError};

/// How the server is run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the embedded database, runs and logs live.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite database.
    pub database_url: Option<String>,
    /// The address people reach the server at, for links (default: the listening address).
    pub public_url: Option<String>,
    /// `--demo`: the example shop to make the demo repository from.
    pub demo_example: Option<PathBuf>,
    /// The mail server for invitations; without one, an invitation's link is shown to the
    /// inviter to pass on.
    pub mail: Option<MailSettings>,
    /// Who drives queued runs: this process (the default) or remote agents.
    pub executor: ExecutorMode,
    /// What time it is for the upgrade schedules (tests set their own).
    pub clock: Arc<dyn clock::Clock>,
    /// The Composer program the upgrader runs.
    pub composer: String,
    /// How many runs this process drives at once; more wait, `queued`, for a turn.
    pub max_runs: usize,
    /// The GitHub and GitLab OAuth apps through which a super user connects a repository
    /// without pasting a token.
    pub oauth: OAuthSettings,
}

impl Settings {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database_url: None,
            public_url: None,
            demo_example: None,
            mail: None,
            executor: ExecutorMode::Embedded,
            clock: Arc::new(clock::SystemClock),
            composer: "composer".to_string(),
            max_runs: 4,
            oauth: OAuthSettings::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot create the data directory {}: {source}", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen: {0}")]
    Bind(#[source] std::io::Error),
    #[error("cannot make a random token: {0}")]
    Random(String),
    #[error("the server stopped: {0}")]
    Serve(#[source] std::io::Error),
    #[error(transparent)]
    Secrets(#[from] sealing::SealError),
    #[error(transparent)]
    Demo(#[from] demo::DemoError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    OAuth(#[from] OAuthSettingsError),
}

impl upkeep_hint::Hint for ServerError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Store(error) => error.hint(),
            Self::Demo(demo::DemoError::NoExample { .. }) => Some(
                "run `upkeep serve --demo` from the root of the Upkeep repository, which holds examples/spryker-shop".to_string(),
            ),
            Self::Bind(_) => Some(
                "choose another address with `--listen`, e.g. `--listen 127.0.0.1:8081`"
                    .to_string(),
            ),
            _ => None,
        }
    }
}

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    data_dir: PathBuf,
    /// The demo repository (its URL and commit) the first workspace is connected to at setup.
    demo: Option<(String, String)>,
    started: std::time::Instant,
    sealer: sealing::Sealer,
    mailer: Option<mail::Mailer>,
    executor: executor::Executor,
    public_url: String,
    /// The hash of the setup link's token while the server has no account.
    setup_token: Mutex<Option<String>>,
    sign_in: SignInLimiter,
    requests: requests::RequestStats,
    polls: polling::Polls,
    clock: Arc<dyn clock::Clock>,
    composer: String,
    /// Held while an upgrade run is checked for and queued.
    upgrade_starts: tokio::sync::Mutex<()>,
    /// Why the clone made to read a workspace's environments failed, until one succeeds.
    clone_failures: environments::CloneFailures,
    /// Opens repositories' credentials, refreshing expiring OAuth tokens; the OAuth apps.
    tokens: oauth::TokenKeeper,
}

impl AppState {
    fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    fn secure_cookies(&self) -> bool {
        self.inner.public_url.starts_with("https://")
    }

    /// Uses the setup token up if `token` is it.
    fn take_setup_token(&self, token: &str) -> bool {
        let mut setup = self
            .inner
            .setup_token
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let valid = setup
            .as_deref()
            .is_some_and(|hash| secrets::constant_time_eq(hash, &secrets::token_hash(token)));
        if valid {
            *setup = None;
        }
        valid
    }

    /// Whether the setup link still works (the server has no account yet).
    fn setup_pending(&self) -> bool {
        self.inner
            .setup_token
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Gives the setup token back after a request that used it failed its checks.
    fn restore_setup_token(&self, token: &str) {
        *self
            .inner
            .setup_token
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(secrets::token_hash(token));
    }
}

/// A prepared server: its store opened and migrated, runs a stop cut off marked interrupted,
/// and, without accounts, a setup link.
pub struct App {
    state: AppState,
    listener: tokio::net::TcpListener,
    setup_link: Option<String>,
    interrupted_runs: u64,
}

impl App {
    pub async fn new(
        settings: Settings,
        listener: tokio::net::TcpListener,
    ) -> Result<Self, ServerError> {
        fs_err::create_dir_all(&settings.data_dir).map_err(|source| ServerError::DataDir {
            path: settings.data_dir.clone(),
            source,
        })?;
        let sealer = sealing::Sealer::load_or_create(&settings.data_dir)?;
        let mailer = settings.mail.as_ref().map(mail::Mailer::new).transpose()?;
        let oauth = oauth::OAuthApps::new(&settings.oauth)?;
        // A process killed while git ran may have left credentials prepared for it.
        upkeep_forge::git_auth::GitAuth::remove_leftovers(&connection::scratch_dir(
            &settings.data_dir,
        ));
        let demo = settings
            .demo_example
            .as_deref()
            .map(|example| demo::prepare(example, &settings.data_dir))
            .transpose()?;
        let store = match &settings.database_url {
            Some(url) => Store::connect(url).await?,
            None => Store::open_sqlite(&settings.data_dir.join("upkeep.db")).await?,
        };
        store.migrate().await?;
        // Runs this process drove died with the last stop; runs agents drive go on without the
        // server (an agent that died gives its job back when the lease expires).
        let interrupted_runs = match settings.executor {
            ExecutorMode::Embedded => store.interrupt_unfinished(Timestamp::now()).await?,
            ExecutorMode::Agents => 0,
        };
        // Upgrade runs are always driven by this process.
        upkeep_store::UpgradeStore::interrupt_unfinished_upgrades(&store, Timestamp::now()).await?;
        let address: SocketAddr = listener.local_addr().map_err(ServerError::Bind)?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"))
            .trim_end_matches('/')
            .to_string();
        let (setup_token, setup_link) =
            if upkeep_store::AccountStore::count_accounts(&store).await? == 0 {
                let token = secrets::new_token("")
                    .map_err(|error| ServerError::Random(error.to_string()))?;
                (
                    Some(secrets::token_hash(&token)),
                    Some(format!("{public_url}/setup?token={token}")),
                )
            } else {
                (None, None)
            };
        let tokens = oauth::TokenKeeper::new(
            store.clone(),
            sealer.clone(),
            oauth,
            &public_url,
            Arc::clone(&settings.clock),
        );
        let executor = executor::Executor::new(
            settings.executor,
            settings.max_runs,
            store.clone(),
            sealer.clone(),
            settings.data_dir.clone(),
            tokens.clone(),
        );
        Ok(Self {
            state: AppState {
                inner: Arc::new(Inner {
                    demo,
                    started: std::time::Instant::now(),
                    sealer,
                    mailer,
                    executor,
                    store,
                    data_dir: settings.data_dir.clone(),
                    public_url,
                    setup_token: Mutex::new(setup_token),
                    sign_in: SignInLimiter::default(),
                    requests: requests::RequestStats::default(),
                    polls: polling::Polls::default(),
                    clock: Arc::clone(&settings.clock),
                    composer: settings.composer.clone(),
                    upgrade_starts: tokio::sync::Mutex::new(()),
                    clone_failures: environments::CloneFailures::default(),
                    tokens,
                }),
            },
            listener,
            setup_link,
            interrupted_runs,
        })
    }

    /// The one-time link that creates the first account, when the server has none.
    pub fn setup_link(&self) -> Option<&str> {
        self.setup_link.as_deref()
    }

    /// How many runs a previous stop cut off (now `interrupted`).
    pub fn interrupted_runs(&self) -> u64 {
        self.interrupted_runs
    }

    pub fn local_addr(&self) -> Result<SocketAddr, ServerError> {
        self.listener.local_addr().map_err(ServerError::Bind)
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let store = self.state.inner.store.clone();
        let poller = polling::spawn(self.state.clone());
        let scheduler = scheduler::spawn(self.state.clone());
        let router = Router::new()
            .merge(ui::router())
            .route("/oauth/{provider}/callback", get(api::oauth::callback))
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(ready))
            .route("/badges/{workspace}/{badge}", get(badge::public))
            .route("/metrics", get(metrics::metrics))
            .merge(api::router().split_for_parts().0)
            .fallback(ui::fallback)
            .layer(axum::middleware::from_fn(ui::html_headers))
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                requests::observe,
            ))
            .with_state(self.state);
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServerError::Serve);
        poller.abort();
        scheduler.abort();
        store.close().await;
        served
    }
}

/// Runs `step` every second, each after the one before has finished, until the returned task is
/// aborted (the background work of polling and the upgrade schedule).
fn every_second<F, Step>(state: AppState, step: F) -> tokio::task::JoinHandle<()>
where
    F: Fn(AppState) -> Step + Send + 'static,
    Step: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(std::time::Duration::from_secs(1));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            step(state.clone()).await;
        }
    })
}

/// Ready when the database answers.
async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match upkeep_store::AccountStore::count_accounts(&state.inner.store).await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the database does not answer",
        ),
    }
}
