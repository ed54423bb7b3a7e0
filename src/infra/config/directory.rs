//! The `[directory]` section: who owns users, teams, projects and ACLs (`backend`), and
//! where regauth's own directory is stored (`store()`: the SQLite file, or PostgreSQL
//! when `url` is set). The composition root matches on `Store` to open it, so adding a
//! store is one more variant here and one more arm there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::bounds::Bounds;
use super::error::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectorySettings {
    /// `embedded`: users, teams, projects and ACLs live in regauth's own directory.
    /// `synapse`: a Synapse beside regauth checks credentials and answers permissions
    /// (the `[synapse]` section); the own directory then keeps only the operators'
    /// accounts, the audit trail and (without a listener) the pushes.
    pub backend: Backend,
    /// The SQLite file of the embedded directory (the default backend).
    pub path: PathBuf,
    /// A PostgreSQL directory instead, `postgres://user:password@host:port/database`,
    /// shared by every replica; empty = the SQLite file. Never logged.
    pub url: SecretString,
    /// PostgreSQL: longest wait for a connection; past it a token request answers 503.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// PostgreSQL: longest any statement may run.
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// PostgreSQL: connections per replica; 0 = four per core.
    pub pool_size: usize,
}

const CONNECT_TIMEOUT: Bounds<Duration> = Bounds::timeout(Duration::from_secs(60));
const STATEMENT_TIMEOUT: Bounds<Duration> = Bounds::timeout(Duration::from_secs(600));
const POOL_SIZE: Bounds<usize> = Bounds::at_most(1000);

impl Default for DirectorySettings {
    fn default() -> Self {
        DirectorySettings {
            backend: Backend::Embedded,
            path: PathBuf::from("data/regauth.db"),
            url: SecretString::from(""),
            connect_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(10),
            pool_size: 0,
        }
    }
}

/// Who owns users, teams, projects and ACLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// regauth's own directory (SQLite, or PostgreSQL with `directory.url`).
    #[default]
    Embedded,
    /// A Synapse, asked over its REST API.
    Synapse,
}

/// Where regauth's own directory is stored, whatever the backend.
#[derive(Debug, Clone, Copy)]
pub enum Store<'a> {
    /// The SQLite file at `directory.path`, private to this process.
    Sqlite(&'a Path),
    /// A PostgreSQL database (its URL holds a password: never logged), shared by
    /// every replica.
    Postgres(&'a SecretString),
}

impl DirectorySettings {
    /// Credentials and permissions come from a Synapse beside regauth.
    pub fn beside_synapse(&self) -> bool {
        self.backend == Backend::Synapse
    }

    /// Where the directory is stored: PostgreSQL when `url` is set (`validate` has
    /// refused a `url` that is not a `postgres://` one), else the SQLite file.
    pub fn store(&self) -> Store<'_> {
        if self.url.expose_secret().is_empty() {
            Store::Sqlite(&self.path)
        } else {
            Store::Postgres(&self.url)
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let timeouts = "directory.connect_timeout";
        CONNECT_TIMEOUT.check_in(timeouts, "connect_timeout", self.connect_timeout)?;
        STATEMENT_TIMEOUT.check_in(timeouts, "statement_timeout", self.statement_timeout)?;
        POOL_SIZE.check("directory.pool_size", self.pool_size)?;
        match self.store() {
            Store::Postgres(url) if !is_postgres_url(url.expose_secret()) => {
                Err(ConfigError::invalid(
                    "directory.url",
                    "must be a postgres:// URL (or empty for the SQLite file in directory.path)",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// The schemes `tokio_postgres` reads a PostgreSQL URL with.
fn is_postgres_url(url: &str) -> bool {
    ["postgres://", "postgresql://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}
