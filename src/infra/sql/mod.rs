//! One transaction script per change, for both directory engines (SQLite and
//! PostgreSQL): a change is written once, as a plain synchronous function over
//! [`Tx`], and each engine runs it in its own transaction (SQLite's `IMMEDIATE` one,
//! PostgreSQL's under the writers' advisory lock).
//!
//! Statements are written in PostgreSQL's spelling (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT DO NOTHING`, `GREATEST`, `COLLATE "C"`); SQLite's connection rewrites
//! the few words it spells differently, held as data in [`LITE_SPELLING`]. Parameters
//! are anything both drivers can bind ([`Param`]); rows are read through [`SqlRow`],
//! whichever driver produced them. See docs/architecture.md, "Two SQL engines, one
//! script", for what stays apart and why.

mod access_requests;
mod entities;
mod identities;
pub(crate) mod integrity;
mod registry;
pub mod rows;
mod tokens;
mod trust_policies;
mod users;

use std::borrow::Cow;

use crate::domain::events::IngestFacts;
use crate::domain::ports::{DirResult, DirectoryError, Pace};

/// What [`timed`] times: the `engine` and `kind` labels of
/// `regauth_directory_query_duration_seconds`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Query {
    SqliteRead,
    SqliteWrite,
    PostgresRead,
    PostgresWrite,
}

const QUERY_SECONDS: &str = "regauth_directory_query_duration_seconds";

/// Runs one directory query or change, timing it into
/// `regauth_directory_query_duration_seconds`: the time a caller waited, a pooled
/// connection or the write lock included, which is what makes a directory slow for the
/// token path (the RegauthDirectorySlow alert). The labels are literals in each arm, so
/// the metric's key is a static and recording allocates nothing.
pub(crate) fn timed<T>(query: Query, f: impl FnOnce() -> T) -> T {
    let started = std::time::Instant::now();
    let out = f();
    let seconds = started.elapsed().as_secs_f64();
    match query {
        Query::SqliteRead => {
            metrics::histogram!(QUERY_SECONDS, "engine" => "sqlite", "kind" => "read")
        }
        Query::SqliteWrite => {
            metrics::histogram!(QUERY_SECONDS, "engine" => "sqlite", "kind" => "write")
        }
        Query::PostgresRead => {
            metrics::histogram!(QUERY_SECONDS, "engine" => "postgresql", "kind" => "read")
        }
        Query::PostgresWrite => {
            metrics::histogram!(QUERY_SECONDS, "engine" => "postgresql", "kind" => "write")
        }
    }
    .record(seconds);
    out
}

/// A value both drivers can bind.
pub trait Param: rusqlite::ToSql + tokio_postgres::types::ToSql + Sync {
    fn lite(&self) -> &dyn rusqlite::ToSql;
    fn pg(&self) -> &(dyn tokio_postgres::types::ToSql + Sync);
}

impl<T: rusqlite::ToSql + tokio_postgres::types::ToSql + Sync> Param for T {
    fn lite(&self) -> &dyn rusqlite::ToSql {
        self
    }
    fn pg(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        self
    }
}

/// A column type both drivers can read.
pub trait Column: rusqlite::types::FromSql + for<'b> tokio_postgres::types::FromSql<'b> {}

impl<T: rusqlite::types::FromSql + for<'b> tokio_postgres::types::FromSql<'b>> Column for T {}

/// A result row of either driver.
pub enum SqlRow<'a, 's> {
    Lite(&'a rusqlite::Row<'s>),
    Pg(&'a tokio_postgres::Row),
}

impl SqlRow<'_, '_> {
    /// Column `i`; a type mismatch is a backend error, never a panic.
    pub fn get<T: Column>(&self, i: usize) -> DirResult<T> {
        match self {
            SqlRow::Lite(r) => Ok(r.get(i)?),
            SqlRow::Pg(r) => r
                .try_get(i)
                .map_err(|e| DirectoryError::Backend(format!("postgresql: column {i}: {e}"))),
        }
    }
}

/// What a statement's rows are handed to, one by one.
pub type EachRow<'f> = &'f mut dyn FnMut(&SqlRow<'_, '_>) -> DirResult<()>;

/// What turns a row into a value.
pub trait Decode<T>: Fn(&SqlRow<'_, '_>) -> DirResult<T> {}

impl<T, F: Fn(&SqlRow<'_, '_>) -> DirResult<T>> Decode<T> for F {}

/// The rule an ingest is given, as both engines' ingest paths take it: why a push is
/// skipped, decided on its facts (`None`: record it).
pub type Skip<'a> = &'a dyn Fn(&IngestFacts) -> Option<&'static str>;

/// A statement's parameters, `$1` first.
pub type Params<'a> = [&'a dyn Param];

/// The statements of one transaction script, on one engine's connection.
pub trait Tx {
    /// Runs `sql` and hands each row to `each`.
    fn each(&self, sql: &str, params: &Params, each: EachRow<'_>) -> DirResult<()>;

    /// Runs `sql` (returning no rows); the number of rows it changed.
    fn exec(&self, sql: &str, params: &Params) -> DirResult<u64>;
}

impl dyn Tx + '_ {
    /// Every row, decoded by `f`.
    pub fn all<T>(&self, sql: &str, params: &Params, f: impl Decode<T>) -> DirResult<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, params, &mut |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row, if any, decoded by `f` (the statements asked this way return
    /// one row at the most, or a few).
    pub fn opt<T>(&self, sql: &str, params: &Params, f: impl Decode<T>) -> DirResult<Option<T>> {
        Ok(self.all(sql, params, f)?.into_iter().next())
    }

    /// Runs `sql`; when it changes no row, what it names (`what`) is not found.
    pub fn exec_found(&self, sql: &str, params: &Params, what: &str) -> DirResult<()> {
        match self.exec(sql, params)? {
            0 => Err(DirectoryError::NotFound(what.to_string())),
            _ => Ok(()),
        }
    }

    /// The one row a statement always returns (`RETURNING`, `COUNT(*)`).
    pub fn one<T>(&self, sql: &str, params: &Params, f: impl Decode<T>) -> DirResult<T> {
        self.opt(sql, params, f)?
            .ok_or_else(|| DirectoryError::Backend("statement returned no row".into()))
    }
}

/// A directory that runs transaction scripts: reads on a read connection, changes in
/// one transaction holding the writers' lock, committed on `Ok`.
pub trait SqlDirectory: Send + Sync {
    fn read_script<T>(&self, f: impl FnOnce(&dyn Tx) -> DirResult<T>) -> DirResult<T>;
    fn change_script<T>(&self, f: impl FnOnce(&dyn Tx) -> DirResult<T>) -> DirResult<T>;

    /// Whether the token path's reads may be made at `pace`, asked before a script
    /// that takes the caller's `Pace`. By default a directory is a server across the
    /// network, not asked at all on the event loop (`WouldBlock`), so an engine that
    /// forgets to say otherwise never blocks it; a local file answers at any pace.
    /// The engine's own integrity checks for `directory check`: (what, a statement
    /// returning one text column per finding).
    fn engine_checks(&self) -> &'static [(&'static str, &'static str)];

    fn may_read(&self, pace: Pace) -> DirResult<()> {
        match pace {
            Pace::Inline => Err(DirectoryError::WouldBlock),
            Pace::MayBlock => Ok(()),
        }
    }
}

/// What SQLite spells differently from PostgreSQL, as (PostgreSQL, SQLite): its
/// default collation already orders by bytes, and its `MAX` of several arguments is
/// `GREATEST`.
pub const LITE_SPELLING: &[(&str, &str)] = &[(" COLLATE \"C\"", ""), ("GREATEST(", "MAX(")];

/// A statement in SQLite's spelling: `$n` placeholders become `?n` (SQLite reads `$1`
/// as a *named* parameter, numbered by first appearance, not by its digits), and the
/// words of [`LITE_SPELLING`] are replaced. Statements hold no `$` in string literals.
pub fn lite_text(sql: &str) -> Cow<'_, str> {
    let spelled_apart = LITE_SPELLING.iter().any(|(pg, _)| sql.contains(pg));
    if !sql.contains('$') && !spelled_apart {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let numbered = chars.peek().is_some_and(char::is_ascii_digit);
        out.push(if c == '$' && numbered { '?' } else { c });
    }
    for (pg, lite) in LITE_SPELLING {
        if out.contains(pg) {
            out = out.replace(pg, lite);
        }
    }
    Cow::Owned(out)
}

/// SQLite's connection (a write transaction derefs to one) runs scripts' statements,
/// each prepared once per connection.
impl Tx for rusqlite::Connection {
    fn each(&self, sql: &str, params: &Params, each: EachRow<'_>) -> DirResult<()> {
        let lite: Vec<&dyn rusqlite::ToSql> = params.iter().map(|p| p.lite()).collect();
        let mut stmt = self.prepare_cached(&lite_text(sql))?;
        let mut rows = stmt.query(&lite[..])?;
        while let Some(r) = rows.next()? {
            each(&SqlRow::Lite(r))?;
        }
        Ok(())
    }

    fn exec(&self, sql: &str, params: &Params) -> DirResult<u64> {
        let lite: Vec<&dyn rusqlite::ToSql> = params.iter().map(|p| p.lite()).collect();
        let n = self.prepare_cached(&lite_text(sql))?.execute(&lite[..])?;
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::lite_text;

    #[test]
    fn placeholders_and_spellings_are_rewritten_for_sqlite() {
        assert_eq!(
            lite_text("UPDATE t SET a = $2 WHERE id = $1 ORDER BY n COLLATE \"C\""),
            "UPDATE t SET a = ?2 WHERE id = ?1 ORDER BY n"
        );
        assert_eq!(lite_text("SELECT GREATEST(1, $10)"), "SELECT MAX(1, ?10)");
        assert_eq!(lite_text("SELECT 1"), "SELECT 1");
    }
}
