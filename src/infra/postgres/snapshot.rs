//! A PostgreSQL directory written out as a SQLite directory (and its audit trail): every
//! table `directory copy` knows, read in one repeatable-read, read-only transaction (a
//! consistent snapshot while replicas serve and write), written into a fresh file at the
//! current schema. What `directory backup` makes its portable file from.

use std::path::Path;

use rusqlite::types::Value;

use super::copy::{Col, Table, AUDIT, TABLES};
use super::rows::g;
use super::{PgDirectory, PgOptions};
use crate::domain::ports::{DirResult, DirectoryError};
use crate::infra::progress::{Progress, Unit};
use crate::infra::sqlite::{audit_path, SqliteDirectory};

/// One column of a PostgreSQL row as SQLite stores it.
fn value(r: &tokio_postgres::Row, i: usize, col: Col) -> DirResult<Value> {
    Ok(match col {
        Col::Int => Value::Integer(g::<i64>(r, i)?),
        Col::OptInt => g::<Option<i64>>(r, i)?.map_or(Value::Null, Value::Integer),
        Col::Text => Value::Text(g::<String>(r, i)?),
        Col::OptText => g::<Option<String>>(r, i)?.map_or(Value::Null, Value::Text),
        Col::Bool => Value::Integer(i64::from(g::<bool>(r, i)?)),
        Col::Bytes => Value::Blob(g::<Vec<u8>>(r, i)?),
    })
}

fn select(table: &Table) -> String {
    let (name, cols, _) = table;
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let order = if cols[0].0 == "id" {
        " ORDER BY id"
    } else {
        ""
    };
    format!("SELECT {} FROM {name}{order}", names.join(", "))
}

/// Writes the PostgreSQL directory at `from` into a new SQLite directory at `to` (which
/// must not exist yet), with its audit trail beside it. Each table read, then each
/// written, is a phase of `progress`.
pub fn postgres_to_sqlite(
    from: &secrecy::SecretString,
    to: &Path,
    progress: &dyn Progress,
) -> DirResult<()> {
    if to.exists() {
        return Err(DirectoryError::Conflict(format!(
            "{}: already there",
            to.display()
        )));
    }
    let source = PgDirectory::connect(from, &PgOptions::default())?;
    let rows: Vec<Vec<Vec<Value>>> = source.block_on(async {
        let mut client = source.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let mut all = Vec::new();
        for table in TABLES.iter().chain([&AUDIT]) {
            let mut out = Vec::new();
            let total: i64 = g(
                &tx.query_one(&format!("SELECT COUNT(*) FROM {}", table.0), &[])
                    .await?,
                0,
            )?;
            progress.phase(
                &format!("reading {}", table.0),
                total.max(0) as u64,
                Unit::Rows,
            );
            for r in tx.query(&select(table), &[]).await? {
                let row = table
                    .1
                    .iter()
                    .enumerate()
                    .map(|(i, (_, col))| value(&r, i, *col))
                    .collect::<DirResult<Vec<_>>>()?;
                out.push(row);
                progress.advance(1);
            }
            all.push(out);
        }
        tx.commit().await?;
        Ok(all)
    })?;
    // A fresh file at the current schema, its rows replaced by the snapshot's.
    drop(SqliteDirectory::open(to)?);
    let (directory, audit) = rows.split_at(TABLES.len());
    write(to, TABLES, directory, progress)?;
    write(&audit_path(to), &[AUDIT], audit, progress)
}

/// Inserts `rows` into `tables` of the SQLite file at `path`, in one transaction.
fn write(
    path: &Path,
    tables: &[Table],
    rows: &[Vec<Vec<Value>>],
    progress: &dyn Progress,
) -> DirResult<()> {
    let mut c = rusqlite::Connection::open(path)?;
    let tx = c.transaction()?;
    for ((name, cols, _), rows) in tables.iter().zip(rows) {
        tx.execute(&format!("DELETE FROM {name}"), [])?;
        let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        let mut stmt = tx.prepare(&format!(
            "INSERT INTO {name} ({}) VALUES ({})",
            names.join(", "),
            marks.join(", ")
        ))?;
        progress.phase(&format!("writing {name}"), rows.len() as u64, Unit::Rows);
        for row in rows {
            stmt.execute(rusqlite::params_from_iter(row.iter()))?;
            progress.advance(1);
        }
    }
    tx.commit()?;
    Ok(())
}
