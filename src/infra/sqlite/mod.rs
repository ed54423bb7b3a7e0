//! The embedded directory: SQLite via rusqlite, WAL, `synchronous=FULL`.
//!
//! One connection behind a mutex: every directory call is a few indexed queries, and
//! each change is one `IMMEDIATE` transaction (taking the write lock before reading, so
//! a rule decided on the facts it read cannot race another process's write), so a
//! failed command leaves nothing half-written. The ports are implemented by aggregate:
//! `credentials` (login), `users` (users and teams), `tokens`, `entities` (projects,
//! repositories, sharing, trash, authorization facts), `registry` (notifications and
//! listings); `rows` holds the queries they share.

mod audit;
mod credentials;
mod entities;
mod registry;
mod rows;
mod schema;
mod tokens;
mod users;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::domain::ports::{DirResult, DirectoryError};

pub struct SqliteDirectory {
    conn: Mutex<Connection>,
}

impl From<rusqlite::Error> for DirectoryError {
    fn from(e: rusqlite::Error) -> DirectoryError {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::ConstraintViolation {
                return DirectoryError::Conflict(format!("record ({e})"));
            }
        }
        DirectoryError::Backend(e.to_string())
    }
}

impl SqliteDirectory {
    /// Opens (creating if needed) the directory file and brings its schema up to date.
    pub fn open(path: &Path) -> DirResult<SqliteDirectory> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| DirectoryError::Backend(format!("{}: {e}", parent.display())))?;
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        Ok(SqliteDirectory {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions
        // roll back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs reads on a connection.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> DirResult<T>) -> DirResult<T> {
        f(&self.conn())
    }

    /// Runs `f` in one transaction that holds the write lock from its start; commits on
    /// `Ok`, rolls back on `Err`.
    fn write<T>(&self, f: impl FnOnce(&Transaction) -> DirResult<T>) -> DirResult<T> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}
