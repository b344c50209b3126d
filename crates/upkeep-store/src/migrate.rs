//! Forward-only migrations: each version has a script per backend, applied once, in order, in
//! a transaction, and recorded in `schema_migrations`. A database newer than this code is
//! refused rather than written to.

use sqlx::Row;

use crate::{Backend, Store, StoreError};

/// A schema change: its version, its name, and its script for each backend.
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "account_disabled",
        sqlite: include_str!("../migrations/sqlite/0002_account_disabled.sql"),
        postgres: include_str!("../migrations/postgres/0002_account_disabled.sql"),
    },
    Migration {
        version: 3,
        name: "sessions",
        sqlite: include_str!("../migrations/sqlite/0003_sessions.sql"),
        postgres: include_str!("../migrations/postgres/0003_sessions.sql"),
    },
    Migration {
        version: 4,
        name: "repositories",
        sqlite: include_str!("../migrations/sqlite/0004_repositories.sql"),
        postgres: include_str!("../migrations/postgres/0004_repositories.sql"),
    },
    Migration {
        version: 5,
        name: "webhooks",
        sqlite: include_str!("../migrations/sqlite/0005_webhooks.sql"),
        postgres: include_str!("../migrations/postgres/0005_webhooks.sql"),
    },
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
        let script = match store.backend() {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        let failed = |source| StoreError::Migration {
            version: migration.version,
            name: migration.name,
            source,
        };
        let mut transaction = store.pool().begin().await?;
        sqlx::raw_sql(script)
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
