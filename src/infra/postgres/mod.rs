//! The directory on PostgreSQL: the same ports as the embedded SQLite directory, for
//! deployments that run several regauth replicas against one database.
//!
//! The ports are synchronous (the HTTP shell calls them from its blocking pool), the
//! driver is async (tokio-postgres, pooled by deadpool-postgres): the directory owns a
//! small runtime of its own and blocks the calling thread on each query, as SQLite's
//! calls block it on the file.
//!
//! Every change runs in one transaction that first takes one transaction-scoped
//! advisory lock (`WRITE_LOCK`): writers, in every replica, run one at a time, as on
//! SQLite's single writer, so a rule decided on the facts a change read cannot race
//! another replica's change (a project's next entity id, "at most one open request",
//! the manager a sharing change must keep). Reads take no lock. The audit trail's
//! appends need no ordering and skip the lock.
//!
//! Users, teams, tokens, access requests, entity administration and registry listings
//! are `infra::sql`'s scripts, run here by `script` one statement at a time. What stays
//! PostgreSQL's own mirrors `infra::sqlite`: `credentials` and `entities` (the token
//! path), `registry` and `push_run` (the ingest), `grants`, `audit`, with `rows` holding
//! the async queries and `schema` the migrations.

mod audit;
pub mod copy;
mod credentials;
mod entities;
mod grants;
mod push_run;
mod registry;
mod rows;
mod schema;
mod script;
pub mod snapshot;

/// A throw-away server for the unit tests (the integration tests include the same file).
#[cfg(test)]
#[path = "../../../tests/support/throwaway.rs"]
pub(crate) mod throwaway;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Timeouts};
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::error::SqlState;

use crate::domain::ports::{DirResult, DirectoryError};
use crate::infra::own_runtime::OwnRuntime;

pub use schema::migrate;

/// The advisory lock every change takes for the length of its transaction.
const WRITE_LOCK: i64 = 0x7265_6761_7574_6801; // "regauth" + 1
/// The session lock migrations hold, so replicas starting at once migrate one by one.
const MIGRATE_LOCK: i64 = 0x7265_6761_7574_6802;

/// How many connections each replica keeps: a token request holds one for a few
/// indexed reads, so a handful per core serves the blocking pool.
fn pool_size() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * 4
}

/// Settings a deployment may tune; the defaults fail a request within a few seconds
/// when the database is gone, instead of holding it until a client gives up.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Longest wait for a connection (pool checkout, or a new connection).
    pub connect_timeout: Duration,
    /// Longest any statement may run.
    pub statement_timeout: Duration,
    /// Connections per replica; 0 = by core count.
    pub pool_size: usize,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            connect_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(10),
            pool_size: 0,
        }
    }
}

pub struct PgDirectory {
    pool: Pool,
    runtime: OwnRuntime,
    /// Until when (milliseconds since `started`) calls fail at once because the server
    /// could not be reached: during an outage each request would otherwise hold a
    /// thread for the whole connect timeout, and a storm would exhaust the pool of
    /// blocking threads.
    down_until: AtomicU64,
    started: Instant,
}

/// How long an unreachable server is not asked again.
const BACK_OFF: Duration = Duration::from_millis(500);

impl From<tokio_postgres::Error> for DirectoryError {
    fn from(e: tokio_postgres::Error) -> DirectoryError {
        let constraint = [
            SqlState::UNIQUE_VIOLATION,
            SqlState::FOREIGN_KEY_VIOLATION,
            SqlState::CHECK_VIOLATION,
            SqlState::NOT_NULL_VIOLATION,
        ];
        match e.code() {
            Some(code) if constraint.contains(code) => {
                DirectoryError::Conflict(format!("record ({})", db_message(&e)))
            }
            _ => DirectoryError::Backend(format!("postgresql: {}", db_message(&e))),
        }
    }
}

/// The server's message when there is one (the driver's `Display` says only "db
/// error").
fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

impl From<deadpool_postgres::PoolError> for DirectoryError {
    fn from(e: deadpool_postgres::PoolError) -> DirectoryError {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => DirectoryError::Backend(format!("postgresql unavailable: {other}")),
        }
    }
}

impl PgDirectory {
    /// Connects to `url` (`postgres://user:password@host:port/db`), and brings the
    /// schema up to date (under an advisory lock, so replicas may start together).
    pub fn connect(url: &SecretString, options: &PgOptions) -> DirResult<PgDirectory> {
        let mut config: tokio_postgres::Config = url
            .expose_secret()
            .parse()
            .map_err(|_| DirectoryError::Invalid("directory.url: not a postgres:// URL".into()))?;
        config.connect_timeout(options.connect_timeout);
        config.options(format!(
            "-c statement_timeout={}",
            options.statement_timeout.as_millis()
        ));
        config.application_name("regauth");
        let runtime = OwnRuntime::new("postgres")
            .map_err(|e| DirectoryError::Backend(format!("runtime: {e}")))?;
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let size = match options.pool_size {
            0 => pool_size(),
            n => n,
        };
        let pool = Pool::builder(manager)
            .max_size(size)
            .timeouts(Timeouts {
                wait: Some(options.connect_timeout),
                create: Some(options.connect_timeout),
                recycle: Some(options.connect_timeout),
            })
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| DirectoryError::Backend(format!("pool: {e}")))?;
        let dir = PgDirectory {
            pool,
            runtime,
            down_until: AtomicU64::new(0),
            started: Instant::now(),
        };
        dir.block_on(async {
            let mut client = dir.pool.get().await?;
            schema::migrate(&mut client).await
        })?;
        Ok(dir)
    }

    /// Runs `f` to completion, blocking this thread (see `OwnRuntime`).
    fn block_on<T>(&self, f: impl Future<Output = DirResult<T>>) -> DirResult<T> {
        self.runtime
            .block_on(f)
            .unwrap_or_else(|| Err(DirectoryError::Backend("directory closed".into())))
    }

    /// Tries to rewrite every audit record (the append-only trigger must refuse).
    #[cfg(test)]
    pub fn rewrite_audit_for_test(&self) -> DirResult<u64> {
        self.block_on(async {
            let client = self.client().await?;
            Ok(client
                .execute("UPDATE audit_events SET actor = 'eve'", &[])
                .await?)
        })
    }

    /// A pooled connection; fails at once while the server is known to be down.
    async fn client(&self) -> DirResult<deadpool_postgres::Object> {
        let now = self.started.elapsed().as_millis() as u64;
        if now < self.down_until.load(Ordering::Relaxed) {
            return Err(DirectoryError::Backend(
                "postgresql unavailable (retrying shortly)".into(),
            ));
        }
        match self.pool.get().await {
            Ok(c) => Ok(c),
            Err(e) => {
                // The server unreachable (no connection could be made), not a pool
                // that is merely busy (a wait for a free connection timing out).
                let unreachable = match &e {
                    deadpool_postgres::PoolError::Backend(b) => b.code().is_none(),
                    deadpool_postgres::PoolError::Timeout(t) => {
                        !matches!(t, deadpool_postgres::TimeoutType::Wait)
                    }
                    _ => false,
                };
                if unreachable {
                    let until = self.started.elapsed() + BACK_OFF;
                    self.down_until
                        .store(until.as_millis() as u64, Ordering::Relaxed);
                }
                metrics::counter!("regauth_postgres_unavailable_total").increment(1);
                Err(e.into())
            }
        }
    }
}

/// Starts a change: a transaction holding the writers' advisory lock.
async fn begin_write(
    client: &mut deadpool_postgres::Object,
) -> DirResult<deadpool_postgres::Transaction<'_>> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
        .await?;
    Ok(tx)
}

/// `read!(dir, |c| { ... })`: the block runs with `c`, a pooled connection.
macro_rules! read {
    ($dir:expr, |$c:ident| $body:block) => {
        $crate::infra::sql::timed($crate::infra::sql::Query::PostgresRead, || {
            $dir.block_on(async {
                let client = $dir.client().await?;
                let $c: &deadpool_postgres::Client = &client;
                let body: $crate::domain::ports::DirResult<_> = async { $body }.await;
                body
            })
        })
    };
}

/// `change!(dir, |tx| { ... })`: the block runs in a transaction holding the write lock,
/// committed when it returns `Ok` (rolled back otherwise).
macro_rules! change {
    ($dir:expr, |$tx:ident| $body:block) => {
        $crate::infra::sql::timed($crate::infra::sql::Query::PostgresWrite, || {
            $dir.block_on(async {
                let mut client = $dir.client().await?;
                let tx = super::begin_write(&mut client).await?;
                let out = {
                    let $tx: &deadpool_postgres::Transaction<'_> = &tx;
                    let body: $crate::domain::ports::DirResult<_> = async { $body }.await;
                    body
                }?;
                tx.commit().await?;
                Ok(out)
            })
        })
    };
}

pub(crate) use {change, read};
