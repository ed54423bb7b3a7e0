//! The embedded directory: SQLite via rusqlite, WAL, `synchronous=FULL`.
//!
//! Reads run on a small pool of read-only connections (WAL lets them read while a write
//! commits); changes go through one writer connection, each one `IMMEDIATE` transaction
//! (taking the write lock before reading, so a rule decided on the facts it read cannot
//! race another process's write), so a failed command leaves nothing half-written. The
//! audit trail has a file of its own (`<name>.audit.db`, see `audit_path`) and a writer
//! with `synchronous=NORMAL`: its batches never hold the connection a token request
//! needs, nor grow the write-ahead log the token path reads through.
//!
//! Users, teams, tokens, access requests, entity administration and registry listings
//! are `infra::sql`'s scripts (see `SqlDirectory` below); what stays SQLite's own:
//! `credentials` (login), `entities` (authorization facts), `registry` (the
//! notification ingest), `grants` (what registry events are checked against), `audit`;
//! `rows` adapts the shared decoders.
//!
//! Both files and their `-wal`/`-shm` are readable by regauth's user alone (0600) from
//! their creation, whatever the umask: see `private_files`.

mod audit;
pub mod backup;
mod credentials;
mod entities;
mod grants;
mod registry;
mod rows;
mod schema;

use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::domain::ports::{DirResult, DirectoryError, Pace};
use crate::infra::crypto;
use crate::infra::sql::{SqlDirectory, Tx};

pub struct SqliteDirectory {
    /// Changes committed through this handle (`ChangeVersion::local_writes`).
    writes: std::sync::atomic::AtomicU64,
    writer: Mutex<Connection>,
    audit_writer: Mutex<Connection>,
    readers: Readers,
}

/// Read-only connections, checked out one per read.
struct Readers {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

/// The audit trail's file, beside the directory's: `regauth.db` → `regauth.audit.db`.
pub fn audit_path(path: &Path) -> std::path::PathBuf {
    path.with_extension("audit.db")
}

/// Makes the files of the directory at `path` private before SQLite opens them: they
/// hold password and token hashes, e-mail addresses and (the audit trail) client
/// addresses. Missing parents are made 0700, the directory and its audit trail are
/// created 0600 if missing, and any of them or their `-wal`, `-shm` and `-journal`
/// files found open to others is tightened, with a warning. SQLite creates those three
/// with the mode of their database file (and sets it exactly, whatever the umask), so
/// from here on no file of the directory is ever wider than 0600.
fn private_files(path: &Path) -> DirResult<()> {
    let failed =
        |p: &Path, e: std::io::Error| DirectoryError::Backend(format!("{}: {e}", p.display()));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crypto::create_dirs(parent, crypto::PRIVATE_DIR).map_err(|e| failed(parent, e))?;
    }
    for db in [path.to_path_buf(), audit_path(path)] {
        crypto::create_private_file(&db).map_err(|e| failed(&db, e))?;
        crypto::tighten_or_warn(&db, crypto::PRIVATE_FILE);
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut side = db.clone().into_os_string();
            side.push(suffix);
            crypto::tighten_or_warn(Path::new(&side), crypto::PRIVATE_FILE);
        }
    }
    Ok(())
}

/// How many read connections: enough for every core and a blocked caller or two.
fn reader_count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * 2
}

fn connect(path: &Path, synchronous: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

/// A read connection out of the pool; back in on drop.
struct CheckedOut<'a> {
    readers: &'a Readers,
    conn: Option<Connection>,
}

impl Drop for CheckedOut<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            lock(&self.readers.idle).push(c);
            self.readers.returned.notify_one();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave SQLite inconsistent (transactions
    // roll back on drop), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl From<rusqlite::Error> for DirectoryError {
    fn from(e: rusqlite::Error) -> DirectoryError {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::ConstraintViolation {
                return DirectoryError::Conflict(format!("record ({e})"));
            }
            // The operator's first question when a change fails: say which of the disk's
            // states refused it (the transaction rolled back; nothing was half-written).
            let disk = match f.code {
                rusqlite::ErrorCode::DiskFull => Some("disk is full"),
                rusqlite::ErrorCode::ReadOnly => Some("file system is read-only"),
                rusqlite::ErrorCode::SystemIoFailure => {
                    Some("disk failed a read or write (full, read-only or failing)")
                }
                _ => None,
            };
            if let Some(disk) = disk {
                return DirectoryError::Backend(format!(
                    "the directory's {disk}; the change was not made ({e})"
                ));
            }
        }
        DirectoryError::Backend(e.to_string())
    }
}

impl SqliteDirectory {
    /// Opens (creating if needed) the directory file and brings its schema up to date.
    pub fn open(path: &Path) -> DirResult<SqliteDirectory> {
        backup::finish_restore(path)?;
        private_files(path)?;
        let mut writer = connect(path, "FULL")?;
        schema::migrate(&mut writer)?;
        let mut audit_writer = connect(&audit_path(path), "NORMAL")?;
        schema::migrate_audit(&mut audit_writer)?;
        let readers = (0..reader_count())
            .map(|_| {
                let c = connect(path, "FULL")?;
                c.pragma_update(None, "query_only", true)?;
                // A token request reads a few pages of indexes and rows; the operating
                // system's cache holds the file. 1 MiB each keeps the hot inner pages.
                c.pragma_update(None, "cache_size", -1024)?;
                Ok(c)
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(SqliteDirectory {
            writes: std::sync::atomic::AtomicU64::new(0),
            writer: Mutex::new(writer),
            audit_writer: Mutex::new(audit_writer),
            readers: Readers {
                idle: Mutex::new(readers),
                returned: Condvar::new(),
            },
        })
    }

    /// Runs reads on a read connection of the pool (waiting for one when all are busy).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> DirResult<T>) -> DirResult<T> {
        crate::infra::sql::timed(crate::infra::sql::Query::SqliteRead, || {
            self.read_untimed(f)
        })
    }

    fn read_untimed<T>(&self, f: impl FnOnce(&Connection) -> DirResult<T>) -> DirResult<T> {
        let conn = {
            let mut idle = lock(&self.readers.idle);
            loop {
                if let Some(c) = idle.pop() {
                    break c;
                }
                idle = self
                    .readers
                    .returned
                    .wait(idle)
                    .unwrap_or_else(|p| p.into_inner());
            }
        };
        // Handed back even if `f` panics.
        let checked_out = CheckedOut {
            readers: &self.readers,
            conn: Some(conn),
        };
        match &checked_out.conn {
            Some(c) => f(c),
            None => Err(DirectoryError::Backend("read connection lost".into())),
        }
    }

    /// Runs `f` in one transaction that holds the write lock from its start; commits on
    /// `Ok`, rolls back on `Err`.
    fn write<T>(&self, f: impl FnOnce(&Transaction) -> DirResult<T>) -> DirResult<T> {
        let out = crate::infra::sql::timed(crate::infra::sql::Query::SqliteWrite, || {
            Self::transaction(&self.writer, f)
        })?;
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(out)
    }

    /// Changes committed through this handle so far.
    pub(crate) fn local_writes(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Reads on the audit trail's connection (listings are rare).
    fn read_audit<T>(&self, f: impl FnOnce(&Connection) -> DirResult<T>) -> DirResult<T> {
        f(&lock(&self.audit_writer))
    }

    /// Like [`write`](Self::write), on the audit trail's own connection and file.
    fn write_audit<T>(&self, f: impl FnOnce(&Transaction) -> DirResult<T>) -> DirResult<T> {
        Self::transaction(&self.audit_writer, f)
    }

    /// Tries to rewrite every audit record (the append-only trigger must refuse).
    #[cfg(test)]
    pub fn rewrite_audit_for_test(&self) -> DirResult<usize> {
        self.write_audit(|tx| Ok(tx.execute("UPDATE audit_events SET actor = 'eve'", [])?))
    }

    fn transaction<T>(
        conn: &Mutex<Connection>,
        f: impl FnOnce(&Transaction) -> DirResult<T>,
    ) -> DirResult<T> {
        let mut conn = lock(conn);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// The shared transaction scripts (`infra::sql`) run on the pool's read connections
/// and in the writer's `IMMEDIATE` transactions.
impl SqlDirectory for SqliteDirectory {
    fn read_script<T>(&self, f: impl FnOnce(&dyn Tx) -> DirResult<T>) -> DirResult<T> {
        self.read(|c| f(c))
    }

    fn change_script<T>(&self, f: impl FnOnce(&dyn Tx) -> DirResult<T>) -> DirResult<T> {
        self.write(|tx| f(&**tx))
    }

    /// A local file answers at any `Pace`, as `credentials` does.
    fn may_read(&self, _: Pace) -> DirResult<()> {
        Ok(())
    }

    fn engine_checks(&self) -> &'static [(&'static str, &'static str)] {
        ENGINE_CHECKS
    }
}

/// SQLite's own checks, beside the shared ones (`infra::sql::integrity`).
const ENGINE_CHECKS: &[(&str, &str)] = &[
    (
        "the file's pages and indexes (integrity_check)",
        "SELECT integrity_check FROM pragma_integrity_check WHERE integrity_check <> 'ok'",
    ),
    (
        "foreign keys",
        "SELECT \"table\" || ' row ' || CAST(rowid AS TEXT) || ' names a missing ' || parent
         FROM pragma_foreign_key_check",
    ),
];

/// `directory check` on a SQLite file that is not open as a directory (a backup's copy
/// before it is kept): (how many checks ran, the findings).
pub(crate) fn check_file(c: &Connection) -> DirResult<(usize, Vec<String>)> {
    crate::infra::sql::integrity::run(c, ENGINE_CHECKS)
}
