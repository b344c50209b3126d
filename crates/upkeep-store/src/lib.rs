//! The platform's persistence: one trait per aggregate ([`AccountStore`], [`WorkspaceStore`],
//! [`InvitationStore`], [`ApiTokenStore`], [`SessionStore`], [`RepositoryStore`],
//! [`DeliveryStore`], [`RunStore`], [`UpgradeStore`], [`AuditStore`], [`VariableStore`],
//! [`OAuthStore`]),
//! implemented once by [`Store`] over the embedded SQLite database (the default) or PostgreSQL,
//! with one schema written for both (`migrations/`) and forward-only migrations that run at
//! start. Lists come a [`Page`] at a time, newest first, by keyset on the row id. Logs are never
//! stored here: runs keep the path of their run directory, whose log files have byte offsets.
//!
//! ```no_run
//! # async fn example() -> Result<(), upkeep_store::StoreError> {
//! use upkeep_store::{AccountStore, NewAccount, Store};
//! let store = Store::connect("sqlite:///var/lib/upkeep/upkeep.db").await?;
//! store.migrate().await?;
//! let admin = store
//!     .create_account(&NewAccount {
//!         email: "ops@example.test",
//!         display_name: "Ops",
//!         password_hash: "$argon2id$…",
//!         is_admin: true,
//!     })
//!     .await?;
//! # Ok(()) }
//! ```

mod accounts;
mod api_tokens;
mod audit;
mod deliveries;
mod error;
pub mod invitations;
mod jobs;
mod migrate;
mod oauth;
mod page;
mod repositories;
mod runs;
mod sessions;
#[cfg(feature = "test-postgres")]
pub mod testing;
mod time;
mod upgrades;
mod variables;
mod workspaces;

use std::path::Path;
use std::sync::Once;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

pub use accounts::{Account, AccountId, AccountStore, NewAccount};
pub use api_tokens::{ApiToken, ApiTokenId, ApiTokenStore, LAST_USE_PRECISION};
pub use audit::{AuditEntry, AuditStore};
pub use deliveries::{Delivery, DeliveryStore};
pub use error::StoreError;
pub use invitations::{Invitation, InvitationId, InvitationState, InvitationStore, NewInvitation};
pub use jobs::{Agent, AgentId, AgentStore, Job, JobId, JobKind, JobState, JobStore};
pub use migrate::MIGRATIONS;
pub use oauth::{
    NewOAuthAuthorisation, OAuthAuthorisation, OAuthAuthorisationId, OAuthAuthorisationState,
    OAuthStore,
};
pub use page::{Page, PageRequest};
pub use repositories::{
    Authorisation, HeadSource, NewRepository, Provider, RefreshedToken, Repository,
    RepositoryStore, WebhookStatus,
};
pub use runs::{NewRun, RunStore, StoredRun, Trigger};
pub use sessions::{Session, SessionStore};
pub use upgrades::{
    DEFAULT_CRON, DEFAULT_TIME_ZONE, UpgradeRun, UpgradeRunEnd, UpgradeRunStatus, UpgradeSchedule,
    UpgradeStore, UpgradeTrigger, UpgraderSettings,
};
pub use variables::{Scope, StoredValue, Variable, VariableStore};
pub use workspaces::{Member, Role, Workspace, WorkspaceId, WorkspaceStore};

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database, through one pool. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `sqlite://PATH` (created when missing; WAL, foreign keys on) or
    /// `postgres://…`. Migrations are not run: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnknownUrl {
                url: error::redacted(url),
            });
        };
        let connect_url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let options = AnyPoolOptions::new().after_connect(move |connection, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // Per connection: SQLite checks foreign keys only when asked, and waits
                    // for the one writer instead of failing at once.
                    for pragma in ["PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 5000"] {
                        sqlx::Executor::execute(&mut *connection, pragma).await?;
                    }
                }
                Ok(())
            })
        });
        // SQLite has one writer: a few connections read beside it, more only wait.
        let options = match backend {
            Backend::Sqlite => options.max_connections(4),
            Backend::Postgres => options.max_connections(16),
        }
        // A database that cannot be reached is said at start, not after the default 30 s.
        .acquire_timeout(std::time::Duration::from_secs(10));
        let pool = options
            .connect(&connect_url)
            .await
            .map_err(|source| StoreError::Connect {
                url: error::redacted(url),
                source,
            })?;
        if backend == Backend::Sqlite {
            sqlx::raw_sql("PRAGMA journal_mode = WAL;")
                .execute(&pool)
                .await?;
        }
        Ok(Self { pool, backend })
    }

    /// The embedded database at `path`.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        Self::connect(&format!("sqlite://{}", path.display())).await
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the migrations this database has not had, in order, each in a transaction.
    /// Returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<u32>, StoreError> {
        migrate::run(self, u32::MAX).await
    }

    /// Applies the migrations up to `version` only: the schema an earlier upkeep left.
    pub async fn migrate_to(&self, version: u32) -> Result<Vec<u32>, StoreError> {
        migrate::run(self, version).await
    }

    /// The schema version, 0 for an empty database.
    pub async fn schema_version(&self) -> Result<u32, StoreError> {
        migrate::current_version(self).await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The connection pool, for what the aggregate traits do not cover (tests that write a
    /// database as an earlier schema left it).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}
