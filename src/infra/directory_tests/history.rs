//! Directories written by every earlier build on main upgrade (issue 24).
//!
//! `upgrades.rs` builds each version with today's steps; some steps were edited or
//! renumbered after builds had run them, so here each such build's own step list
//! (`fixtures/history/<engine>-<commit>.sql`, from `git show <commit>:<schema.rs>`) makes
//! the directory, with data shaped for it, and today's `SqliteDirectory::open` /
//! `PgDirectory::connect` must give every answer `upgrades.rs` asks.
//!
//! Every commit reachable from main that changed a step list was compared with today's
//! list (texts exactly). These are exact prefixes of it, so `upgrades.rs` covers them:
//! SQLite 811a13f (1 step), 6e4f9bf (2), e5eaba0 (3), e527227 (4), 1d867d3 (5), ce0b4ec
//! (6, branch webhook), 16ff248 (7), 721cce3 (8, branch trust-store), 68efb8d (8),
//! eaa55e9 / 82f5b8f (9); PostgreSQL 9fb371a (1), ce0b4ec (2), 16ff248 (3), 32951e9 /
//! 68efb8d (4), eaa55e9 / 82f5b8f (5). The others have a fixture here and
//! `every_fixture_differs_from_today_where_recorded` checks which of their steps differ.
//! 53e32ed (branch store) has cb15abc's lists exactly. A build's directory may also have
//! been opened by later builds, which ran their own later steps on it: two such chains
//! are built too (f09c75c then e5eaba0, which stopped at version 3 since e527227's step
//! 4 fails there; f1cf9cf then every later build, to version 9 without `email`).

use std::sync::Arc;

use secrecy::SecretString;

use super::upgrades::{answers_after_upgrade, on_postgres, Held, AUDIT, FIXTURES};
use super::{Backend, Postgres, Sqlite};
use crate::infra::postgres::{throwaway, PgDirectory};
use crate::infra::sqlite::{audit_path, SqliteDirectory};

const SQLITE_F09C75C: &str = include_str!("fixtures/history/sqlite-f09c75c.sql");
const SQLITE_F1CF9CF: &str = include_str!("fixtures/history/sqlite-f1cf9cf.sql");
const SQLITE_251BB75: &str = include_str!("fixtures/history/sqlite-251bb75.sql");
const SQLITE_CB15ABC: &str = include_str!("fixtures/history/sqlite-cb15abc.sql");
const SQLITE_32951E9: &str = include_str!("fixtures/history/sqlite-32951e9.sql");
const POSTGRES_CB15ABC: &str = include_str!("fixtures/history/postgres-cb15abc.sql");
/// The audit records as f09c75c and f1cf9cf kept them, in the directory file.
const AUDIT_IN_DIRECTORY: &str = include_str!("fixtures/history/audit-in-directory.sql");

/// After every timestamp in the fixtures (`upgrades.rs`'s).
const NOW: i64 = 1_750_000_000;

/// A step and the data loaded after it.
fn step(text: &'static str, loads: &'static [Load]) -> (&'static str, &'static [Load]) {
    (text, loads)
}

/// A fixture's steps: the text after each `-- ==== step N ====` line.
fn steps(fixture: &'static str) -> Vec<&'static str> {
    let chunks = fixture.split("-- ==== step ").skip(1);
    chunks.map(|c| &c[c.find(" ====").unwrap() + 5..]).collect()
}

/// What is loaded right after a step.
#[derive(Clone, Copy)]
enum Load {
    /// `fixtures/v<N>.sql`.
    V(usize),
    /// The audit records into the directory file's `audit_events`.
    AuditInDirectory,
}
use Load::{AuditInDirectory, V};

/// A directory as a build (or a chain of builds) left it.
struct Case {
    build: &'static str,
    /// Each step's text and the data loaded after it.
    steps: Vec<(&'static str, &'static [Load])>,
    /// The data it holds (what `upgrades.rs` asks).
    held: Held,
}

const SQLITE_LOADS: [&[Load]; 9] = [
    &[V(1)],
    &[V(2)],
    &[V(3)],
    &[V(4)],
    &[V(5)],
    &[V(6)],
    &[V(7)],
    &[V(8)],
    &[V(9)],
];

fn sqlite_cases() -> Vec<Case> {
    let today = SqliteDirectory::SCHEMA_TEXTS;
    let f09 = steps(SQLITE_F09C75C);
    let f1c = steps(SQLITE_F1CF9CF);
    let with_loads = |list: Vec<&'static str>| -> Vec<(&'static str, &'static [Load])> {
        list.into_iter().zip(SQLITE_LOADS).collect()
    };
    let mut cb15 = with_loads(steps(SQLITE_CB15ABC));
    cb15[5].1 = &[]; // step 6 made no push_grants to hold v6's grant
    let mut f1c_later: Vec<(&str, &[Load])> = vec![
        step(f1c[0], &[V(1)]),
        step(f1c[1], &[AuditInDirectory]),
        step(f1c[2], &[V(2)]),
    ];
    f1c_later.extend(with_loads(today.to_vec()).into_iter().skip(3));
    vec![
        Case {
            build: "f09c75c (v2: audit_events in the directory, no change counter)",
            steps: vec![step(f09[0], &[V(1)]), step(f09[1], &[AuditInDirectory])],
            held: Held::upto(2),
        },
        Case {
            build: "f09c75c then e5eaba0 (v3: its step 3, e-mail)",
            steps: vec![
                step(f09[0], &[V(1)]),
                step(f09[1], &[AuditInDirectory]),
                step(today[2], &[V(3)]),
            ],
            held: Held::upto(3),
        },
        Case {
            build: "f1cf9cf (v3: audit_events in the directory, change counter as step 3)",
            steps: vec![
                step(f1c[0], &[V(1)]),
                step(f1c[1], &[AuditInDirectory]),
                step(f1c[2], &[V(2)]),
            ],
            held: Held::upto(2),
        },
        Case {
            build: "f1cf9cf then every later build (v9 without email)",
            steps: f1c_later,
            held: Held {
                upto: 9,
                missing: &[3],
            },
        },
        Case {
            build: "251bb75 (v5 without acl_entries_principal)",
            steps: with_loads(steps(SQLITE_251BB75)),
            held: Held::upto(5),
        },
        Case {
            build: "cb15abc (v7, step 6 a placeholder)",
            steps: cb15,
            held: Held {
                upto: 7,
                missing: &[6],
            },
        },
        Case {
            build: "32951e9, branch trust-store (v8, trust_policies without AUTOINCREMENT)",
            steps: with_loads(steps(SQLITE_32951E9)),
            held: Held::upto(8),
        },
    ]
}

fn postgres_cases() -> Vec<Case> {
    let cb15 = steps(POSTGRES_CB15ABC);
    vec![Case {
        build: "cb15abc (v3, step 2 a placeholder)",
        steps: vec![
            step(cb15[0], &[V(1), V(2), V(3), V(4), V(5)]),
            step(cb15[1], &[]),
            step(cb15[2], &[V(7)]),
        ],
        held: Held {
            upto: 7,
            missing: &[6],
        },
    }]
}

#[test]
fn every_fixture_differs_from_today_where_recorded() {
    let differing = |fixture: &'static str, today: &[&str]| -> Vec<usize> {
        let old = steps(fixture);
        assert!(old.len() <= today.len());
        (0..old.len())
            .filter(|&i| old[i] != today[i])
            .map(|i| i + 1)
            .collect()
    };
    let sqlite = SqliteDirectory::SCHEMA_TEXTS;
    assert_eq!(differing(SQLITE_F09C75C, sqlite), [2]);
    assert_eq!(differing(SQLITE_F1CF9CF, sqlite), [2, 3]);
    assert_eq!(
        steps(SQLITE_F1CF9CF)[2],
        sqlite[1],
        "renumbered, not edited"
    );
    assert_eq!(differing(SQLITE_251BB75, sqlite), [5]);
    assert_eq!(differing(SQLITE_CB15ABC, sqlite), [6]);
    assert_eq!(differing(SQLITE_32951E9, sqlite), [8]);
    assert_eq!(differing(POSTGRES_CB15ABC, PgDirectory::SCHEMA_TEXTS), [2]);
}

fn sqlite_build(case: &Case) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let path = dir.path().join("sub/regauth.db");
    let open = |path: &std::path::Path| {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        conn
    };
    let mut conn = open(&path);
    let mut audit_in_directory = false;
    for (i, (step, loads)) in case.steps.iter().enumerate() {
        let tx = conn.transaction().unwrap();
        tx.execute_batch(step)
            .unwrap_or_else(|e| panic!("step {}: {e}", i + 1));
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .unwrap();
        tx.commit().unwrap();
        for load in *loads {
            let sql = match load {
                V(v) => FIXTURES[v - 1],
                AuditInDirectory => {
                    audit_in_directory = true;
                    AUDIT_IN_DIRECTORY
                }
            };
            conn.execute_batch(sql)
                .unwrap_or_else(|e| panic!("data after step {}: {e}", i + 1));
        }
    }
    if !audit_in_directory {
        let mut audit = open(&audit_path(&path));
        SqliteDirectory::migrate_audit_to_for_test(&mut audit, 1).unwrap();
        audit.execute_batch(AUDIT).unwrap();
    }
    dir
}

fn sqlite_upgrade(case: &Case) {
    let place = sqlite_build(case);
    let directory = Arc::new(Sqlite::reopen(&place));
    let conn = rusqlite::Connection::open(place.path().join("sub/regauth.db")).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, SqliteDirectory::SCHEMA_STEPS);
    // The audit records the directory file held are in the audit trail now (the checks
    // count them), once.
    answers_after_upgrade::<Sqlite>(&directory, case.held);
    let drift = SqliteDirectory::schema_drift_for_test(&conn).unwrap();
    assert_eq!(drift, "", "today's schema at today's version");
    drop(conn);
    drop(directory);
    let again = Arc::new(Sqlite::reopen(&place));
    let all = crate::domain::audit::AuditFilter {
        limit: 100,
        ..Default::default()
    };
    let records = crate::domain::ports::AuditLog::query(again.as_ref(), &all).unwrap();
    let of = |kind: &str| -> Vec<u64> {
        let old = records.iter().filter(|r| r.kind == kind && r.at < NOW);
        old.map(|r| r.count).collect()
    };
    let once = "each of the fixture's records once after a second opening";
    assert_eq!(of("access_token_revoked"), [3], "{once}");
    assert_eq!(of("project_added"), [1], "{once}");
}

fn postgres_build(case: &Case) -> SecretString {
    let url = throwaway::fresh_database_url();
    on_postgres(&url, async |client| {
        // SQLite's unhex(), which the fixtures write hashes with.
        let unhex = "CREATE FUNCTION unhex(text) RETURNS bytea AS $$ SELECT decode($1, 'hex') $$ LANGUAGE sql";
        client.batch_execute(unhex).await.unwrap();
        client
            .batch_execute(
                "CREATE TABLE regauth_schema (version BIGINT NOT NULL);
                 INSERT INTO regauth_schema (version) VALUES (0)",
            )
            .await
            .unwrap();
        for (i, (step, loads)) in case.steps.iter().enumerate() {
            let tx = client.transaction().await.unwrap();
            tx.batch_execute(step).await.unwrap();
            let version = (i + 1) as i64;
            let set = "UPDATE regauth_schema SET version = $1";
            tx.execute(set, &[&version]).await.unwrap();
            tx.commit().await.unwrap();
            for load in *loads {
                let V(v) = load else {
                    unreachable!("PostgreSQL's audit trail was always its own table")
                };
                client
                    .batch_execute(FIXTURES[v - 1])
                    .await
                    .unwrap_or_else(|e| panic!("loading v{v}.sql: {e:?}"));
            }
            if i == 0 {
                client.batch_execute(AUDIT).await.unwrap();
            }
        }
        let drop_unhex = "DROP FUNCTION unhex(text)";
        client.batch_execute(drop_unhex).await.unwrap();
    });
    url
}

fn postgres_upgrade(case: &Case) {
    let url = postgres_build(case);
    let directory = Arc::new(Postgres::reopen(&url));
    let version = on_postgres(&url, async |client| {
        let row = client.query_one("SELECT version FROM regauth_schema", &[]);
        row.await.unwrap().get::<_, i64>(0) as usize
    });
    assert_eq!(version, PgDirectory::SCHEMA_STEPS);
    answers_after_upgrade::<Postgres>(&directory, case.held);
}

/// Every case upgraded on its own; fails naming the builds whose directory did not give
/// every answer (each one's panic is printed above it).
fn every_build(engine: &str, cases: Vec<Case>, upgrade: fn(&Case)) {
    let failed: Vec<&str> = cases
        .iter()
        .filter(|case| {
            eprintln!("{engine}: upgrading a directory written by {}", case.build);
            std::panic::catch_unwind(|| upgrade(case)).is_err()
        })
        .map(|case| case.build)
        .collect();
    assert!(
        failed.is_empty(),
        "{engine}: the upgrade of directories written by {failed:#?} failed"
    );
}

#[test]
fn sqlite_directories_of_every_earlier_build_upgrade_with_every_answer() {
    every_build("sqlite", sqlite_cases(), sqlite_upgrade);
}

#[test]
fn postgres_databases_of_every_earlier_build_upgrade_with_every_answer() {
    every_build("postgres", postgres_cases(), postgres_upgrade);
}
