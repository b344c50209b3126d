//! Why the store could not do what was asked. Messages never hold a password, a token or a
//! database URL's credentials.

use upkeep_hint::Hint;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {url}: {source}")]
    Connect {
        /// The URL with any password replaced.
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("`{url}` is not a database URL upkeep knows (sqlite://PATH or postgres://…)")]
    UnknownUrl { url: String },
    #[error("database migration {version} ({name}) failed: {source}")]
    Migration {
        version: u32,
        name: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("the database has schema version {found}, newer than this upkeep knows ({known})")]
    SchemaTooNew { found: u32, known: u32 },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{what} `{value}` exists already")]
    Duplicate { what: &'static str, value: String },
    #[error("no {what} {id}")]
    NotFound { what: &'static str, id: String },
    #[error("the invitation cannot be used: it {0}")]
    InvitationUnusable(crate::invitations::InvitationState),
    #[error("the database holds `{value}` as a {what}, which this upkeep does not know")]
    Corrupt { what: &'static str, value: String },
}

impl Hint for StoreError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::UnknownUrl { .. } => Some(
                "use `--database-url sqlite:///var/lib/upkeep/upkeep.db` or `postgres://user@host/db`, or leave it out for the embedded SQLite database".to_string(),
            ),
            Self::SchemaTooNew { .. } => {
                Some("run the upkeep version that wrote this database, or a newer one".to_string())
            }
            Self::InvitationUnusable(_) => {
                Some("ask a super user of the workspace for a new invitation".to_string())
            }
            _ => None,
        }
    }
}

impl StoreError {
    /// Turns a unique-constraint violation into [`StoreError::Duplicate`].
    pub(crate) fn duplicate(what: &'static str, value: &str) -> impl FnOnce(sqlx::Error) -> Self {
        let value = value.to_string();
        move |error| match &error {
            sqlx::Error::Database(database) if database.is_unique_violation() => {
                Self::Duplicate { what, value }
            }
            _ => Self::Database(error),
        }
    }
}

/// A database URL as it may be shown: its password replaced.
pub(crate) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            super::redacted("postgres://upkeep:s3cret@db:5432/upkeep"),
            "postgres://upkeep:***@db:5432/upkeep"
        );
        assert_eq!(super::redacted("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
        assert_eq!(
            super::redacted("postgres://upkeep@db/upkeep"),
            "postgres://upkeep@db/upkeep"
        );
    }
}
