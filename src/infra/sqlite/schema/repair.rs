//! Directories whose schema is not what its `user_version` says today (issue 24).
//!
//! Some steps were edited or renumbered after builds on main had run them, so a file at
//! version N does not always hold what today's first N steps make:
//!
//! - `f09c75c` (version 2): step 2 was the audit trail, `audit_events` in the directory
//!   file, without a `count` column. `f1cf9cf` (version 3) kept that step 2 and made
//!   the change counter step 3. `6e4f9bf` moved the audit trail to a file of its own and
//!   renumbered: step 2 the change counter, later step 3 the e-mail address. So a
//!   `f09c75c` directory has no change counter (today's step 4 fails: `no such trigger:
//!   access_tokens_update_counted`), and a `f1cf9cf` one never gets `users.email` (every
//!   login fails) while its audit records stay in the directory file, unread.
//! - `251bb75` (version 5): step 5 without the index `acl_entries_principal`, which
//!   `1d867d3` added to step 5 in place.
//! - `cb15abc` (versions 6 and 7, the merge of branch `store`): step 6 a placeholder
//!   (`SELECT 1`) for the push grants of branch `webhook`, whose merge `16ff248` put the
//!   real step 6 in its place: such a directory never gets `push_grants`.
//! - `32951e9` (branch `trust-store` only, version 8): `trust_policies` without
//!   `AUTOINCREMENT`, which `721cce3` added before the merge.
//!
//! Builds after those opened such files and ran their own later steps on them, so the
//! layouts above also turn up at later versions (a `f1cf9cf` file went on to version 9
//! without `email`). Rather than recognise each build, [`repair`] compares the file with
//! what today's first N steps make (applied to an in-memory database) and makes the
//! difference up, in one transaction, before today's steps N+1.. run: a missing table,
//! column, index or trigger is made as today's steps make it, a trigger or index whose
//! text differs is made again, a table missing its `AUTOINCREMENT` is rebuilt with it,
//! and an `audit_events` table in the directory file has its records moved into the
//! audit file (folded the way the audit writer folds identical records) and goes. A file
//! that already matches costs one comparison and is not written.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

use crate::domain::ports::DirResult;

/// One schema object as `sqlite_master` names it.
struct Object {
    kind: String,
    sql: String,
}

/// Every table, index and trigger of `conn`'s main database (SQLite's own left out).
fn objects(conn: &Connection) -> rusqlite::Result<BTreeMap<String, Object>> {
    let mut stmt = conn.prepare(
        "SELECT name, type, sql FROM main.sqlite_master
         WHERE type IN ('table','index','trigger') AND name NOT LIKE 'sqlite_%' AND sql IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| {
        let object = Object {
            kind: r.get(1)?,
            sql: r.get(2)?,
        };
        Ok((r.get::<_, String>(0)?, object))
    })?;
    rows.collect()
}

fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM main.pragma_table_info(?1)")?;
    let names = stmt.query_map([table], |r| r.get(0))?;
    names.collect()
}

/// Whitespace does not make two statements different.
fn same_sql(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// The definition of `column` in a `CREATE TABLE` statement, as written (type,
/// constraints, `REFERENCES`): what `ALTER TABLE ... ADD COLUMN` takes.
fn column_definition<'a>(create: &'a str, column: &str) -> Option<&'a str> {
    let body = &create[create.find('(')? + 1..create.rfind(')')?];
    let mut depth = 0;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, c) in body.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .find(|p| p.split_whitespace().next() == Some(column))
}

/// What the file lacks or holds differently from today's first `version` steps, in the
/// order the repair makes it up.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Drift {
    /// The old audit trail in the directory file (f09c75c, f1cf9cf).
    pub audit_in_directory: bool,
    pub missing_tables: Vec<String>,
    /// `(table, column)`.
    pub missing_columns: Vec<(String, String)>,
    pub without_autoincrement: Vec<String>,
    /// Indexes and triggers missing or whose text differs.
    pub stale: Vec<String>,
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        *self == Drift::default()
    }
}

/// Today's first `version` steps on an empty in-memory database.
fn reference(steps: &[&str], version: usize) -> DirResult<Connection> {
    let mut conn = Connection::open_in_memory()?;
    super::apply(&mut conn, &steps[..version], "reference")?;
    Ok(conn)
}

fn drift(conn: &Connection, reference: &Connection) -> rusqlite::Result<Drift> {
    let want = objects(reference)?;
    let have = objects(conn)?;
    let mut drift = Drift {
        audit_in_directory: have.contains_key("audit_events") && !want.contains_key("audit_events"),
        ..Drift::default()
    };
    for (name, object) in &want {
        let held = have.get(name).filter(|h| h.kind == object.kind);
        match object.kind.as_str() {
            "table" => match held {
                None => drift.missing_tables.push(name.clone()),
                Some(held) => {
                    let present: BTreeSet<_> = columns(conn, name)?.into_iter().collect();
                    for column in columns(reference, name)? {
                        if !present.contains(&column) {
                            drift.missing_columns.push((name.clone(), column));
                        }
                    }
                    let autoincrement = |sql: &str| sql.to_uppercase().contains("AUTOINCREMENT");
                    if autoincrement(&object.sql) && !autoincrement(&held.sql) {
                        drift.without_autoincrement.push(name.clone());
                    }
                }
            },
            _ => {
                if !held.is_some_and(|h| same_sql(&h.sql, &object.sql)) {
                    drift.stale.push(name.clone());
                }
            }
        }
    }
    Ok(drift)
}

/// What the directory file at `conn` lacks or holds differently from today's steps at
/// its version (empty for a file today's steps made). Tests only: every command opens
/// the directory through `migrate`, which makes the drift up first, so `directory check`
/// would always find none.
#[cfg(test)]
pub(crate) fn schema_drift(conn: &Connection, steps: &[&str]) -> DirResult<Drift> {
    let version = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?;
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version == 0 || version > steps.len() {
        return Ok(Drift::default());
    }
    Ok(drift(conn, &reference(steps, version)?)?)
}

/// Brings a directory file at version N to what today's first N steps make (see the
/// module's documentation for the builds that left it otherwise), in one transaction.
/// A file at version 0 or newer than `steps` is left to `apply`.
pub(crate) fn repair(conn: &mut Connection, steps: &[&str]) -> DirResult<()> {
    let version = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?;
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version == 0 || version > steps.len() {
        return Ok(());
    }
    let reference = reference(steps, version)?;
    let drift = drift(conn, &reference)?;
    if drift.is_empty() {
        return Ok(());
    }
    let audit = if drift.audit_in_directory {
        attach_audit(conn)?
    } else {
        false
    };
    let out = make_up(conn, &reference, audit);
    if audit {
        conn.execute_batch("DETACH DATABASE regauth_audit")?;
    }
    out
}

/// Attaches the audit file (`audit_path`) as `regauth_audit`, its schema brought up to
/// date first; false for a directory without a file (in memory), whose old audit
/// records then stay where they are.
fn attach_audit(conn: &Connection) -> DirResult<bool> {
    let Some(path) = conn.path().filter(|p| !p.is_empty()) else {
        return Ok(false);
    };
    let audit = super::super::audit_path(std::path::Path::new(path));
    let mut audit_conn = Connection::open(&audit)?;
    super::migrate_audit(&mut audit_conn)?;
    drop(audit_conn);
    conn.execute(
        "ATTACH DATABASE ?1 AS regauth_audit",
        [audit.to_string_lossy()],
    )?;
    Ok(true)
}

/// Makes up the drift, measured again inside the (immediate: one writer) transaction,
/// so that another process repairing the same file at the same time finds it done.
fn make_up(conn: &mut Connection, reference: &Connection, audit: bool) -> DirResult<()> {
    let want = objects(reference)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let drift = drift(&tx, reference)?;
    if audit && drift.audit_in_directory {
        // Identical records of the same second become one row with their count, as the
        // audit writer stores them; records already in the audit file (a move an
        // earlier opening made there but not in the directory: the two files commit
        // apart) are not added twice.
        let count = if columns(&tx, "audit_events")?.iter().any(|c| c == "count") {
            "sum(count)"
        } else {
            "count(*)"
        };
        tx.execute_batch(&format!(
            "INSERT INTO regauth_audit.audit_events (at, kind, actor, subject, client_ip, detail, count)
             SELECT at, kind, actor, subject, client_ip, detail, {count} FROM main.audit_events o
             WHERE NOT EXISTS (SELECT 1 FROM regauth_audit.audit_events n
                 WHERE n.at = o.at AND n.kind = o.kind AND n.actor = o.actor
                   AND n.subject = o.subject AND n.client_ip IS o.client_ip AND n.detail = o.detail)
             GROUP BY at, kind, actor, subject, client_ip, detail
             ORDER BY min(id);
             DROP TABLE main.audit_events;"
        ))?;
    }
    for table in &drift.missing_tables {
        tx.execute_batch(&want[table].sql)?;
        if table == "change_counter" {
            // The one row today's step 2 inserts with the table.
            tx.execute_batch("INSERT INTO change_counter (id, version) VALUES (1, 0)")?;
        }
    }
    for (table, column) in &drift.missing_columns {
        let definition = column_definition(&want[table].sql, column).ok_or_else(|| {
            crate::domain::ports::DirectoryError::Backend(format!(
                "repairing the schema: no definition of {table}.{column}"
            ))
        })?;
        tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {definition}"))?;
    }
    for table in &drift.without_autoincrement {
        // SQLite's way to change a table: a new one, the rows copied, the old dropped,
        // the new renamed (its indexes and triggers, dropped with the old, are made
        // again below: `stale` names them once the table is gone).
        let new = format!("{table}_regauth_repair");
        let create = want[table].sql.replacen(
            &format!("CREATE TABLE {table}"),
            &format!("CREATE TABLE {new}"),
            1,
        );
        let names = columns(&tx, table)?.join(", ");
        tx.execute_batch(&format!(
            "{create};
             INSERT INTO {new} ({names}) SELECT {names} FROM {table};
             DROP TABLE {table};
             ALTER TABLE {new} RENAME TO {table};"
        ))?;
    }
    // Indexes and triggers last: their tables and columns are there now.
    let have = objects(&tx)?;
    for (name, object) in &want {
        if object.kind == "table" {
            continue;
        }
        let held = have.get(name);
        if held.is_some_and(|h| h.kind == object.kind && same_sql(&h.sql, &object.sql)) {
            continue;
        }
        if let Some(held) = held {
            tx.execute_batch(&format!("DROP {} {name}", held.kind.to_uppercase()))?;
        }
        tx.execute_batch(&object.sql)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f09c75c's audit trail in a directory file at today's version 2, one of whose
    /// records a move stopped halfway (the audit file committed, the directory not)
    /// already put in the audit file.
    #[test]
    fn old_audit_records_move_once_folded_and_the_directory_table_goes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("regauth.db");
        let mut conn = Connection::open(&path).unwrap();
        super::super::apply(&mut conn, &super::super::MIGRATIONS[..2], "directory").unwrap();
        conn.execute_batch(
            "CREATE TABLE audit_events (id INTEGER PRIMARY KEY, at INTEGER NOT NULL,
                 kind TEXT NOT NULL, actor TEXT NOT NULL, subject TEXT NOT NULL,
                 client_ip TEXT, detail TEXT NOT NULL);
             INSERT INTO audit_events (at, kind, actor, subject, client_ip, detail) VALUES
                 (10, 'token_issued', 'bob', 'bob', '192.0.2.1', '{}'),
                 (10, 'token_issued', 'bob', 'bob', '192.0.2.1', '{}'),
                 (20, 'user_added', 'operator', 'carol', NULL, '{}');",
        )
        .unwrap();
        let mut audit = Connection::open(super::super::super::audit_path(&path)).unwrap();
        super::super::migrate_audit(&mut audit).unwrap();
        audit
            .execute_batch(
                "INSERT INTO audit_events (at, kind, actor, subject, client_ip, detail, count)
                 VALUES (20, 'user_added', 'operator', 'carol', NULL, '{}', 1)",
            )
            .unwrap();
        super::super::migrate(&mut conn).unwrap();
        let rows: Vec<(i64, String, i64)> = audit
            .prepare("SELECT at, kind, count FROM audit_events ORDER BY at")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let expected = [
            (10, "token_issued".to_string(), 2),
            (20, "user_added".into(), 1),
        ];
        assert_eq!(rows, expected);
        assert!(schema_drift(&conn, super::super::MIGRATIONS)
            .unwrap()
            .is_empty());
        let left: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'audit_events'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0, "the directory's audit_events stayed");
    }

    #[test]
    fn a_column_definition_is_found_past_nested_parentheses() {
        let create = "CREATE TABLE t (id INTEGER PRIMARY KEY, kind TEXT CHECK (kind IN ('a','b')),\n    parent_id INTEGER REFERENCES t(id)\n, email TEXT)";
        assert_eq!(
            column_definition(create, "parent_id"),
            Some("parent_id INTEGER REFERENCES t(id)")
        );
        assert_eq!(column_definition(create, "email"), Some("email TEXT"));
        assert_eq!(column_definition(create, "nope"), None);
    }
}
