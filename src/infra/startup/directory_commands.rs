//! The directory's file commands (`directory copy`, `backup`, `restore`): both engines'
//! backends are named here, under the composition root, as only it may; each shows its
//! progress on stderr and ends with a summary line.

use std::path::Path;

use crate::app::clock::SystemClock;
use crate::domain::ports::{Clock, DirectoryError};
use crate::infra::cli::{CliError, Reporter};
use crate::infra::config::{Settings, Store};
use crate::infra::sqlite::SqliteDirectory;

/// `directory copy`: a SQLite directory into PostgreSQL in one transaction. Needs no
/// configuration: both ends are on the command line.
pub(super) fn copy(from: &Path, to: String, replace: bool) -> Result<(), CliError> {
    let to = secrecy::SecretString::from(to);
    let progress = Reporter::start("directory copy")?;
    let counts = crate::infra::postgres::copy::sqlite_to_postgres(from, &to, replace, &progress)
        .map_err(|e| CliError::Failed(format!("directory copy: {e}")))?;
    let rows = counts.iter().map(|(_, n)| *n as u64).sum();
    progress.finish("copied", counts.len(), rows);
    crate::infra::cli::copied(from, counts)
}

/// `directory backup`: a SQLite directory copied while it serves; a PostgreSQL one read
/// in one repeatable-read transaction into a staged SQLite directory first, then
/// written in the same portable format. Progress on stderr, a summary line at the end.
pub(super) fn backup(settings: &Settings, to: &Path) -> Result<(), CliError> {
    let fail = |e: DirectoryError| CliError::Failed(format!("directory backup: {e}"));
    crate::infra::background::yield_to_serving();
    let progress = Reporter::start("directory backup")?;
    let m = match settings.directory.store() {
        Store::Sqlite(path) => {
            // Brought to this build's schema first, as every command does.
            drop(SqliteDirectory::open(path).map_err(fail)?);
            crate::infra::sqlite::backup::write(path, to, SystemClock.now(), &progress)
                .map_err(fail)?
        }
        Store::Postgres(url) => {
            let staging = tempfile::tempdir()
                .map_err(|e| CliError::Failed(format!("directory backup: {e}")))?;
            let staged = staging.path().join("snapshot.db");
            crate::infra::postgres::snapshot::postgres_to_sqlite(url, &staged, &progress)
                .map_err(fail)?;
            crate::infra::sqlite::backup::write(&staged, to, SystemClock.now(), &progress)
                .map_err(fail)?
        }
    };
    progress.finish("backed up", m.counts.len(), total_rows(&m.counts));
    crate::infra::cli::backed_up(to, &m.counts, &m.checksum)
}

/// The rows of a backup's manifest counts, for the summary line.
fn total_rows(counts: &[(String, i64)]) -> u64 {
    counts.iter().map(|(_, n)| (*n).max(0) as u64).sum()
}

/// `directory restore`: the backup checked whole, then written into the configured
/// directory of either engine. Progress on stderr, a summary line at the end.
pub(super) fn restore(settings: &Settings, from: &Path, replace: bool) -> Result<(), CliError> {
    let fail = |e: DirectoryError| CliError::Failed(format!("directory restore: {e}"));
    let progress = Reporter::start("directory restore")?;
    let counts = match settings.directory.store() {
        Store::Sqlite(path) => {
            let m = crate::infra::sqlite::backup::restore(from, path, replace, &progress)
                .map_err(fail)?;
            drop(SqliteDirectory::open(path).map_err(fail)?);
            m.counts
        }
        Store::Postgres(url) => {
            let staging = tempfile::tempdir()
                .map_err(|e| CliError::Failed(format!("directory restore: {e}")))?;
            let file = staging.path().join("restore.db");
            crate::infra::sqlite::backup::split(from, &file, &progress).map_err(fail)?;
            let counts =
                crate::infra::postgres::copy::sqlite_to_postgres(&file, url, replace, &progress)
                    .map_err(fail)?;
            counts
                .into_iter()
                .map(|(t, n)| (t.to_string(), n as i64))
                .collect()
        }
    };
    progress.finish("restored", counts.len(), total_rows(&counts));
    crate::infra::cli::restored(from, &counts)
}
