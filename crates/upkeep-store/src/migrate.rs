//! Forward-only migrations: each version has a script per backend, applied once, in order, in
//! a transaction, and recorded in `schema_migrations`. A database newer than this code is
//! refused rather than written to.

use sqlx::Row;

use crate::{Backend, Store, StoreError};

/// A schema change: its version, its name, and its script. One script serves both backends;
/// the only thing they spell differently, a generated integer key, is written `{{identity}}`.
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    script: &'static str,
}

impl Migration {
    /// The script as `backend` runs it.
    fn script_for(&self, backend: Backend) -> String {
        let identity = match backend {
            Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            Backend::Postgres => "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        };
        self.script.replace("{{identity}}", identity)
    }
}

macro_rules! migration {
    ($version:literal, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            script: include_str!(concat!("../migrations/", $file)),
        }
    };
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "initial", "0001_initial.sql"),
    migration!(2, "account_disabled", "0002_account_disabled.sql"),
    migration!(3, "sessions", "0003_sessions.sql"),
    migration!(4, "repositories", "0004_repositories.sql"),
    migration!(5, "webhooks", "0005_webhooks.sql"),
    migration!(6, "variables", "0006_variables.sql"),
    migration!(
        7,
        "repository_connections",
        "0007_repository_connections.sql"
    ),
    migration!(8, "agents_and_jobs", "0008_agents_and_jobs.sql"),
    migration!(9, "upgrades", "0009_upgrades.sql"),
    migration!(10, "list_indexes", "0010_list_indexes.sql"),
    migration!(11, "job_cancellation", "0011_job_cancellation.sql"),
    migration!(12, "oauth", "0012_oauth.sql"),
];

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

pub(crate) async fn current_version(store: &Store) -> Result<u32, StoreError> {
    sqlx::query(CREATE_TABLE).execute(store.pool()).await?;
    let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")
        .fetch_one(store.pool())
        .await?;
    let version: i64 = row.try_get("version")?;
    u32::try_from(version).map_err(|_| StoreError::Corrupt {
        what: "schema version",
        value: version.to_string(),
    })
}

pub(crate) async fn run(store: &Store, up_to: u32) -> Result<Vec<u32>, StoreError> {
    let current = current_version(store).await?;
    let known = MIGRATIONS.last().map_or(0, |migration| migration.version);
    if current > known {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known,
        });
    }
    let mut applied = Vec::new();
    for migration in MIGRATIONS
        .iter()
        .filter(|migration| migration.version > current && migration.version <= up_to)
    {
        let script = migration.script_for(store.backend());
        let failed = |source| StoreError::Migration {
            version: migration.version,
            name: migration.name,
            source,
        };
        let mut transaction = store.pool().begin().await?;
        sqlx::raw_sql(&script)
            .execute(&mut *transaction)
            .await
            .map_err(failed)?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(i64::from(migration.version))
        .bind(migration.name)
        .bind(jiff::Timestamp::now().as_millisecond())
        .execute(&mut *transaction)
        .await
        .map_err(failed)?;
        transaction.commit().await.map_err(failed)?;
        applied.push(migration.version);
    }
    Ok(applied)
}
