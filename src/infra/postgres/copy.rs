//! `regauth directory copy`: moves a SQLite directory (and its audit trail) into an
//! empty PostgreSQL directory, every row with its id, in one transaction whose counts
//! are checked before it commits: a copy is whole or absent.
//!
//! The SQLite file is first brought to the current schema (as any regauth command
//! does), then read in one read transaction (a consistent snapshot even while a server
//! writes to it). Ids are kept (project ids are part of repository names; token ids of
//! the audit trail; trust policies' ids in audit records), and PostgreSQL's id
//! sequences are moved past them (and past ids SQLite gave to rows since deleted).

use std::path::Path;

use rusqlite::types::Value;
use secrecy::SecretString;
use tokio_postgres::types::ToSql;

use super::rows::g;
use super::{PgDirectory, PgOptions, WRITE_LOCK};
use crate::domain::ports::{DirResult, DirectoryError};
use crate::infra::progress::{Progress, Unit};
use crate::infra::sqlite::{audit_path, SqliteDirectory};

/// How a column is stored on each side.
#[derive(Clone, Copy)]
pub(super) enum Col {
    Int,
    OptInt,
    Text,
    OptText,
    Bool,
    Bytes,
}

use Col::*;

/// A table: its name, its columns, and whether PostgreSQL generates its `id`.
pub(super) type Table = (&'static str, &'static [(&'static str, Col)], bool);

/// Tables in an order that satisfies their foreign keys, with their columns, and
/// whether PostgreSQL generates their `id` (a sequence to move past the copied ids).
pub(super) const TABLES: &[Table] = &[
    (
        "users",
        &[
            ("id", Int),
            ("name", Text),
            ("password_hash", OptText),
            ("certified", Bool),
            ("admin", Bool),
            ("disabled", Bool),
            ("created_at", Int),
            ("email", OptText),
        ],
        true,
    ),
    ("teams", &[("id", Int), ("name", Text)], true),
    ("team_members", &[("team_id", Int), ("user_id", Int)], false),
    // Parents first: a child's id is always above its parent's (next id = max + 1).
    (
        "entities",
        &[
            ("id", Int),
            ("kind", Text),
            ("name", Text),
            ("parent_id", OptInt),
            ("trashed_at", OptInt),
            ("created_at", Int),
            ("has_local_acl", Bool),
        ],
        false,
    ),
    (
        "acl_entries",
        &[
            ("entity_id", Int),
            ("principal_kind", Text),
            ("principal_id", Int),
            ("access_bits", Int),
        ],
        false,
    ),
    // In id order a minting token comes before what it minted (it existed first).
    (
        "access_tokens",
        &[
            ("id", Int),
            ("user_id", Int),
            ("name", Text),
            ("hash", Bytes),
            ("scopes", Int),
            ("created_at", Int),
            ("expires_at", OptInt),
            ("revoked_at", OptInt),
            ("last_used_at", OptInt),
            ("parent_id", OptInt),
        ],
        true,
    ),
    (
        "refresh_tokens",
        &[
            ("id", Int),
            ("user_id", Int),
            ("hash", Bytes),
            ("service", Text),
            ("client_id", Text),
            ("scopes", Int),
            ("access_token_id", OptInt),
            ("created_at", Int),
            ("expires_at", OptInt),
            ("revoked_at", OptInt),
            ("last_used_at", OptInt),
        ],
        true,
    ),
    (
        "commits",
        &[
            ("id", Int),
            ("repository_id", Int),
            ("tag", OptText),
            ("digest", Text),
            ("media_type", Text),
            ("size", Int),
            ("pusher", Text),
            ("pushed_at", Int),
            ("event_id", Text),
            ("deleted_at", OptInt),
        ],
        true,
    ),
    (
        "processed_events",
        &[("event_id", Text), ("processed_at", Int)],
        false,
    ),
    (
        "access_requests",
        &[
            ("id", Int),
            ("entity_id", Int),
            ("requester_id", Int),
            ("message", Text),
            ("state", Text),
            ("reason", OptText),
            ("created_at", Int),
            ("decided_at", OptInt),
            ("decided_by", OptInt),
        ],
        true,
    ),
    (
        "push_grants",
        &[
            ("id", Int),
            ("actor", Text),
            ("repository", Text),
            ("action", Text),
            ("valid_from", Int),
            ("valid_until", Int),
        ],
        true,
    ),
    (
        "trust_policies",
        &[
            ("id", Int),
            ("project_id", Int),
            ("creator_id", Int),
            ("issuer", Text),
            ("audience", Text),
            ("conditions", Text),
            ("repositories", Text),
            ("actions", Int),
            ("max_lifetime_secs", Int),
            ("created_at", Int),
        ],
        true,
    ),
    (
        "federated_identities",
        &[
            ("provider", Text),
            ("subject", Text),
            ("user_id", Int),
            ("linked_at", Int),
        ],
        false,
    ),
];

/// The audit trail, read from its own file.
pub(super) const AUDIT: Table = (
    "audit_events",
    &[
        ("id", Int),
        ("at", Int),
        ("kind", Text),
        ("actor", Text),
        ("subject", Text),
        ("client_ip", OptText),
        ("detail", Text),
        ("count", Int),
    ],
    true,
);

/// Rows per table, as copied.
pub type Counts = Vec<(&'static str, usize)>;

/// A value bound for PostgreSQL.
enum Bound {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
    Bytes(Vec<u8>),
}

impl Bound {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Bound::Int(v) => v,
            Bound::Text(v) => v,
            Bound::Bool(v) => v,
            Bound::Bytes(v) => v,
        }
    }
}

fn bind(table: &str, column: &str, col: Col, v: Value) -> DirResult<Bound> {
    let bad = |v: &Value| {
        DirectoryError::Invalid(format!("{table}.{column}: unexpected stored value {v:?}"))
    };
    Ok(match (col, v) {
        (Int | OptInt, Value::Integer(i)) => Bound::Int(Some(i)),
        (OptInt, Value::Null) => Bound::Int(None),
        (Text | OptText, Value::Text(s)) => Bound::Text(Some(s)),
        (OptText, Value::Null) => Bound::Text(None),
        (Bool, Value::Integer(i)) => Bound::Bool(i != 0),
        (Bytes, Value::Blob(b)) => Bound::Bytes(b),
        (_, v) => return Err(bad(&v)),
    })
}

/// Copies the SQLite directory at `from` into the PostgreSQL database at `to`. A
/// target holding any user, entity or audit record is refused unless `replace`, which
/// empties it first (in the same transaction). Each table read, then each written, is
/// a phase of `progress`.
pub fn sqlite_to_postgres(
    from: &Path,
    to: &SecretString,
    replace: bool,
    progress: &dyn Progress,
) -> DirResult<Counts> {
    if !from.is_file() {
        return Err(DirectoryError::NotFound(format!(
            "SQLite directory {}",
            from.display()
        )));
    }
    // Brings an older file to the current schema, the one the tables above describe.
    drop(SqliteDirectory::open(from)?);
    let source = read_all(&from.to_path_buf(), TABLES, progress)?;
    let given = ids_given(from)?;
    let audit = read_all(&audit_path(from), &[AUDIT], progress)?;
    let target = PgDirectory::connect(to, &PgOptions::default())?;
    target.block_on(async {
        let mut client = target.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .await?;
        let all_tables: Vec<&str> = TABLES.iter().chain([&AUDIT]).map(|t| t.0).collect();
        if replace {
            tx.batch_execute(&format!("TRUNCATE {} RESTART IDENTITY", all_tables.join(", ")))
                .await?;
        } else {
            for table in ["users", "entities", "audit_events"] {
                let n: i64 = g(&tx.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[]).await?, 0)?;
                if n > 0 {
                    return Err(DirectoryError::Conflict(format!(
                        "the target directory: it holds {n} {table} rows (copy into an empty database, or pass --replace)"
                    )));
                }
            }
        }
        let mut counts = Counts::new();
        for ((table, cols, generated), rows) in TABLES.iter().chain([&AUDIT]).zip(source.into_iter().chain(audit)) {
            let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
            let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
            let stmt = tx
                .prepare(&format!(
                    "INSERT INTO {table} ({}) VALUES ({})",
                    names.join(", "),
                    marks.join(", ")
                ))
                .await?;
            let n = rows.len();
            progress.phase(table, n as u64, Unit::Rows);
            for row in rows {
                let bound = row
                    .into_iter()
                    .zip(cols.iter())
                    .map(|(v, (name, col))| bind(table, name, *col, v))
                    .collect::<DirResult<Vec<_>>>()?;
                let params: Vec<&(dyn ToSql + Sync)> = bound.iter().map(Bound::as_sql).collect();
                tx.execute(&stmt, &params).await?;
                progress.advance(1);
            }
            if *generated {
                let floor = given.iter().find(|(t, _)| t == table).map_or(0, |(_, n)| *n);
                tx.execute(
                    &format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST(COALESCE(MAX(id), 0), $1, 1), MAX(id) IS NOT NULL OR $1 > 0) FROM {table}"),
                    &[&floor],
                )
                .await?;
            }
            let copied: i64 = g(&tx.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[]).await?, 0)?;
            if copied as usize != n {
                return Err(DirectoryError::Backend(format!(
                    "{table}: {n} rows read, {copied} in the target: nothing copied"
                )));
            }
            counts.push((*table, n));
        }
        tx.commit().await?;
        Ok(counts)
    })
}

/// The highest id each `AUTOINCREMENT` table has given (`sqlite_sequence`), deleted
/// rows' included: PostgreSQL's sequence starts past it, so an id is never given twice.
fn ids_given(path: &Path) -> DirResult<Vec<(String, i64)>> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let exists: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'",
        [],
        |r| r.get(0),
    )?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare("SELECT name, seq FROM sqlite_sequence")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every row of `tables`, in one read transaction; each table a phase of `progress`
/// (its rows counted first: a count is a fraction of the reading's time).
fn read_all(
    path: &std::path::PathBuf,
    tables: &[Table],
    progress: &dyn Progress,
) -> DirResult<Vec<Vec<Vec<Value>>>> {
    let mut conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let tx = conn.transaction()?;
    let mut out = Vec::with_capacity(tables.len());
    for (table, cols, _) in tables {
        let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
        let order = if cols[0].0 == "id" {
            " ORDER BY id"
        } else {
            ""
        };
        let total: i64 =
            tx.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        progress.phase(&format!("reading {table}"), total.max(0) as u64, Unit::Rows);
        let mut stmt = tx.prepare(&format!("SELECT {} FROM {table}{order}", names.join(", ")))?;
        let rows = stmt
            .query_map([], |r| {
                progress.advance(1);
                (0..cols.len()).map(|i| r.get::<_, Value>(i)).collect()
            })?
            .collect::<Result<Vec<Vec<Value>>, _>>()?;
        out.push(rows);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{
        Acl, ClaimCondition, ClaimMatch, NewAccessToken, NewTrustPolicy, NewUser, ProjectName,
        ScopeSet, UserName, WorkloadActions,
    };
    use crate::domain::ports::{
        EntityAdmin, FederatedIdentities, FederatedIdentity, Pace, TokenAdmin, TrustPolicyStore,
        UserAdmin,
    };
    use crate::infra::postgres::throwaway;
    use crate::infra::progress::Silent;

    /// A token for `user` minted by `parent`.
    fn token(
        user: crate::domain::model::UserId,
        name: &str,
        parent: Option<i64>,
    ) -> NewAccessToken {
        NewAccessToken {
            user,
            name: name.into(),
            hash: crate::domain::authn::secret::hash_token(name),
            scopes: ScopeSet::VIEW,
            expires_at: None,
            parent,
        }
    }

    #[test]
    fn what_a_token_minted_is_copied_and_still_revoked_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("regauth.db");
        let sqlite = SqliteDirectory::open(&path).unwrap();
        let new_user = NewUser {
            name: UserName::parse("alice").unwrap(),
            password_hash: None,
            certified: true,
            admin: false,
            email: None,
        };
        let alice = sqlite.add_user(&new_user, 1).unwrap().id;
        let parent = sqlite
            .create_access_token(&token(alice, "parent", None), None, 1)
            .unwrap();
        let child = sqlite
            .create_access_token(&token(alice, "child", Some(parent.id)), None, 1)
            .unwrap();
        drop(sqlite);

        let url = throwaway::fresh_database_url();
        sqlite_to_postgres(&path, &url, false, &Silent).unwrap();
        let pg = PgDirectory::connect(&url, &PgOptions::default()).unwrap();
        let listed = pg.list_access_tokens(alice).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1].id, child.id);
        assert_eq!(listed[1].parent, Some(parent.id));
        pg.revoke_access_token(parent.id, 2).unwrap();
        assert!(pg
            .list_access_tokens(alice)
            .unwrap()
            .iter()
            .all(|t| t.revoked));
        // New tokens get ids past the copied ones.
        let next = pg
            .create_access_token(&token(alice, "next", None), Some(100), 3)
            .unwrap();
        assert!(next.id > child.id);
    }

    #[test]
    fn trust_policies_are_copied_as_stored_and_new_ones_follow() {
        const GITHUB: &str = "https://token.actions.githubusercontent.com";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("regauth.db");
        let sqlite = SqliteDirectory::open(&path).unwrap();
        let new_user = NewUser {
            name: UserName::parse("alice").unwrap(),
            password_hash: None,
            certified: true,
            admin: false,
            email: None,
        };
        let alice = sqlite.add_user(&new_user, 1).unwrap().id;
        let name = ProjectName::parse("tools").unwrap();
        let project = sqlite
            .add_project(&name, None, &Acl::new(Vec::new()), 1)
            .unwrap();
        let policy = |issuer: &str, actions| NewTrustPolicy {
            project,
            creator: alice,
            issuer: issuer.into(),
            audience: "https://registry.example.org".into(),
            conditions: vec![
                ClaimCondition {
                    claim: "repository_id".into(),
                    matcher: ClaimMatch::Exact("892341".into()),
                },
                ClaimCondition {
                    claim: "ref".into(),
                    matcher: ClaimMatch::Glob("refs/heads/release-*".into()),
                },
            ],
            repositories: "tool-*".into(),
            actions,
            max_lifetime_secs: 600,
            created_at: 5,
        };
        let first = sqlite
            .create_trust_policy(&policy(GITHUB, WorkloadActions::PUSH))
            .unwrap();
        let second = sqlite
            .create_trust_policy(&policy("https://gitlab.com", WorkloadActions::PULL))
            .unwrap();
        let removed = sqlite
            .create_trust_policy(&policy(GITHUB, WorkloadActions::PULL))
            .unwrap();
        sqlite.delete_trust_policy(project, removed.id).unwrap();
        drop(sqlite);

        let url = throwaway::fresh_database_url();
        let counts = sqlite_to_postgres(&path, &url, false, &Silent).unwrap();
        assert!(counts.contains(&("trust_policies", 2)), "{counts:?}");
        let pg = PgDirectory::connect(&url, &PgOptions::default()).unwrap();
        assert_eq!(
            pg.list_trust_policies(project).unwrap(),
            vec![first.clone(), second]
        );
        assert_eq!(
            pg.trust_policies_for_issuer(GITHUB, Pace::MayBlock)
                .unwrap(),
            vec![first]
        );
        // New policies get ids past the copied ones (and the removed one's).
        let next = pg
            .create_trust_policy(&policy(GITHUB, WorkloadActions::PUSH))
            .unwrap();
        assert!(next.id > removed.id, "{} after {}", next.id, removed.id);
    }

    #[test]
    fn federated_identities_are_copied_and_still_linked_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("regauth.db");
        let sqlite = SqliteDirectory::open(&path).unwrap();
        let new_user = NewUser {
            name: UserName::parse("carol").unwrap(),
            password_hash: None,
            certified: false,
            admin: false,
            email: None,
        };
        let carol = sqlite.add_user(&new_user, 1).unwrap().id;
        let identity = FederatedIdentity {
            provider: "corp".into(),
            subject: "u-0001".into(),
            user: carol,
            linked_at: 7,
        };
        sqlite.link_identity(&identity).unwrap();
        drop(sqlite);

        let url = throwaway::fresh_database_url();
        let counts = sqlite_to_postgres(&path, &url, false, &Silent).unwrap();
        assert!(counts.contains(&("federated_identities", 1)), "{counts:?}");
        let pg = PgDirectory::connect(&url, &PgOptions::default()).unwrap();
        assert_eq!(pg.identities_of(carol).unwrap(), vec![identity.clone()]);
        assert_eq!(
            pg.identity_user("corp", "u-0001").unwrap().map(|u| u.id),
            Some(carol)
        );
        assert!(
            pg.link_identity(&identity).is_err(),
            "the pair stays unique"
        );
    }
}
