//! Schema migrations, tracked with `PRAGMA user_version`: step N brings an empty or
//! older file to version N, each in its own transaction.

use rusqlite::Connection;

use crate::domain::ports::{DirResult, DirectoryError};

mod repair;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    certified INTEGER NOT NULL DEFAULT 0,
    admin INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);
CREATE TABLE entities (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('project','managed_repository','external_repository')),
    name TEXT NOT NULL,
    parent_id INTEGER REFERENCES entities(id),
    trashed_at INTEGER,
    created_at INTEGER NOT NULL,
    has_local_acl INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX entities_child_name ON entities(parent_id, name) WHERE parent_id IS NOT NULL;
CREATE UNIQUE INDEX entities_project_name ON entities(name) WHERE kind = 'project';
CREATE TABLE acl_entries (
    entity_id INTEGER NOT NULL REFERENCES entities(id),
    principal_kind TEXT NOT NULL CHECK (principal_kind IN ('user','team','public','authenticated')),
    principal_id INTEGER NOT NULL DEFAULT 0,
    access_bits INTEGER NOT NULL,
    PRIMARY KEY (entity_id, principal_kind, principal_id)
);
CREATE TABLE access_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    hash BLOB NOT NULL UNIQUE,
    scopes INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX access_tokens_user ON access_tokens(user_id);
CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    hash BLOB NOT NULL UNIQUE,
    service TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scopes INTEGER NOT NULL,
    access_token_id INTEGER REFERENCES access_tokens(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);
CREATE TABLE commits (
    id INTEGER PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES entities(id),
    tag TEXT,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    pusher TEXT NOT NULL,
    pushed_at INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    deleted_at INTEGER
);
CREATE INDEX commits_repo_tag ON commits(repository_id, tag, pushed_at);
CREATE TABLE processed_events (event_id TEXT PRIMARY KEY, processed_at INTEGER NOT NULL);
"#,
    r#"
-- A counter every change to what the token path reads moves, whichever process makes
-- it: caches compare it instead of re-reading rows (the audit trail and the registry's
-- commits do not move it).
CREATE TABLE change_counter (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
INSERT INTO change_counter (id, version) VALUES (1, 0);
CREATE TRIGGER users_insert_counted AFTER INSERT ON users
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER users_update_counted AFTER UPDATE ON users
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER users_delete_counted AFTER DELETE ON users
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER teams_insert_counted AFTER INSERT ON teams
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER teams_update_counted AFTER UPDATE ON teams
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER teams_delete_counted AFTER DELETE ON teams
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER team_members_insert_counted AFTER INSERT ON team_members
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER team_members_update_counted AFTER UPDATE ON team_members
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER team_members_delete_counted AFTER DELETE ON team_members
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER entities_insert_counted AFTER INSERT ON entities
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER entities_update_counted AFTER UPDATE ON entities
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER entities_delete_counted AFTER DELETE ON entities
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER acl_entries_insert_counted AFTER INSERT ON acl_entries
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER acl_entries_update_counted AFTER UPDATE ON acl_entries
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER acl_entries_delete_counted AFTER DELETE ON acl_entries
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER access_tokens_insert_counted AFTER INSERT ON access_tokens
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER access_tokens_update_counted AFTER UPDATE ON access_tokens
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER access_tokens_delete_counted AFTER DELETE ON access_tokens
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER refresh_tokens_insert_counted AFTER INSERT ON refresh_tokens
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER refresh_tokens_update_counted AFTER UPDATE ON refresh_tokens
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER refresh_tokens_delete_counted AFTER DELETE ON refresh_tokens
BEGIN UPDATE change_counter SET version = version + 1; END;
"#,
    r#"
-- An e-mail address a user may log in with in place of the name (stored lower-case).
ALTER TABLE users ADD COLUMN email TEXT;
CREATE UNIQUE INDEX users_email ON users(email) WHERE email IS NOT NULL;
"#,
    r#"
-- When each token last authenticated a request (stamped at most once a minute). The
-- stamp must not move the change counter, or every use would empty the caches: the
-- update triggers now name the columns the token path reads.
ALTER TABLE access_tokens ADD COLUMN last_used_at INTEGER;
ALTER TABLE refresh_tokens ADD COLUMN last_used_at INTEGER;
DROP TRIGGER access_tokens_update_counted;
CREATE TRIGGER access_tokens_update_counted
AFTER UPDATE OF user_id, name, hash, scopes, created_at, expires_at, revoked_at ON access_tokens
BEGIN UPDATE change_counter SET version = version + 1; END;
DROP TRIGGER refresh_tokens_update_counted;
CREATE TRIGGER refresh_tokens_update_counted
AFTER UPDATE OF user_id, hash, service, client_id, scopes, access_token_id, created_at, expires_at, revoked_at ON refresh_tokens
BEGIN UPDATE change_counter SET version = version + 1; END;
"#,
    r#"
-- Access requests (Dockstore): at most one open request per user and entity. The token
-- path never reads them, so they do not move the change counter (an approval's ACL
-- change does).
CREATE TABLE access_requests (
    id INTEGER PRIMARY KEY,
    entity_id INTEGER NOT NULL REFERENCES entities(id),
    requester_id INTEGER NOT NULL REFERENCES users(id),
    message TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open','approved','denied')),
    reason TEXT,
    created_at INTEGER NOT NULL,
    decided_at INTEGER,
    decided_by INTEGER REFERENCES users(id)
);
CREATE UNIQUE INDEX access_requests_one_open ON access_requests(entity_id, requester_id)
    WHERE state = 'open';
CREATE INDEX access_requests_requester ON access_requests(requester_id);
-- What a user's project listing filters on (the primary key starts with the entity).
CREATE INDEX acl_entries_principal ON acl_entries(principal_kind, principal_id);
"#,
    r#"
-- What regauth granted that lets a registry event change the directory: the intervals
-- (token validity, merged where they overlap) in which an actor held push or delete on a
-- repository. A notification is applied only inside one (domain::events::authority).
-- The token path never reads them: they do not move the change counter. Rows that ended
-- more than a week ago are pruned.
CREATE TABLE push_grants (
    id INTEGER PRIMARY KEY,
    actor TEXT NOT NULL,
    repository TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('push','delete')),
    valid_from INTEGER NOT NULL,
    valid_until INTEGER NOT NULL
);
CREATE INDEX push_grants_key ON push_grants(actor, repository, action, valid_until);
CREATE INDEX push_grants_until ON push_grants(valid_until);
"#,
    r#"
-- The access token that minted each one (none for a password, a web session or the
-- operator): revoking a token revokes what it minted, following this column down. The
-- token path reads it with the token, so the update trigger names it too.
ALTER TABLE access_tokens ADD COLUMN parent_id INTEGER REFERENCES access_tokens(id);
CREATE INDEX access_tokens_parent ON access_tokens(parent_id) WHERE parent_id IS NOT NULL;
DROP TRIGGER access_tokens_update_counted;
CREATE TRIGGER access_tokens_update_counted
AFTER UPDATE OF user_id, name, hash, scopes, created_at, expires_at, revoked_at, parent_id ON access_tokens
BEGIN UPDATE change_counter SET version = version + 1; END;
"#,
    r#"
-- Projects' trust policies: which CI jobs' OIDC tokens (from `issuer`, for `audience`,
-- whose claims meet every one of `conditions`, a JSON array) may pull or push which of
-- the project's repositories (`repositories`, a glob), with at most their creator's
-- rights. `actions` holds WorkloadActions' bits. The token path reads them by issuer,
-- so every change moves the change counter: a removed policy is refused at once.
-- AUTOINCREMENT: an id is never given again after its policy is deleted (the audit
-- trail names policies by id).
CREATE TABLE trust_policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES entities(id),
    creator_id INTEGER NOT NULL REFERENCES users(id),
    issuer TEXT NOT NULL,
    audience TEXT NOT NULL,
    conditions TEXT NOT NULL,
    repositories TEXT NOT NULL,
    actions INTEGER NOT NULL,
    max_lifetime_secs INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX trust_policies_issuer ON trust_policies(issuer);
CREATE INDEX trust_policies_project ON trust_policies(project_id);
CREATE TRIGGER trust_policies_insert_counted AFTER INSERT ON trust_policies
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER trust_policies_update_counted AFTER UPDATE ON trust_policies
BEGIN UPDATE change_counter SET version = version + 1; END;
CREATE TRIGGER trust_policies_delete_counted AFTER DELETE ON trust_policies
BEGIN UPDATE change_counter SET version = version + 1; END;
"#,
    r#"
-- People who sign in with an OpenID Connect provider: the provider's configured name
-- and its stable `sub`, linked once to a local user (never re-pointed). Read only at
-- sign-in, off the token path: no change-counter trigger.
CREATE TABLE federated_identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    linked_at INTEGER NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX federated_identities_user ON federated_identities(user_id);
"#,
];

/// The audit trail lives in a file of its own beside the directory: its steady stream
/// of appends must not grow the write-ahead log every token request's reads consult.
const AUDIT_MIGRATIONS: &[&str] = &[r#"
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    subject TEXT NOT NULL,
    client_ip TEXT,
    detail TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_actor ON audit_events(actor, at);
CREATE INDEX audit_events_subject ON audit_events(subject, at);
-- Append-only: a record is never rewritten (retention pruning deletes whole old rows).
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
"#];

/// The directory's schema version this build writes.
pub const VERSION: usize = MIGRATIONS.len();

/// Applies every migration of the directory newer than the file's `user_version`;
/// refuses a file a newer build wrote (its schema this build does not know). A file an
/// earlier build left other than today's steps at its version make it (a step edited or
/// renumbered after it shipped: `repair`'s documentation lists them) is first made up
/// to what they make, so that the steps after its version find what they build on.
pub fn migrate(conn: &mut Connection) -> DirResult<()> {
    repair::repair(conn, MIGRATIONS)?;
    apply(conn, MIGRATIONS, "directory")
}

/// Likewise for the audit trail's file.
pub fn migrate_audit(conn: &mut Connection) -> DirResult<()> {
    apply(conn, AUDIT_MIGRATIONS, "audit trail")
}

/// What the upgrade tests (`infra::directory_tests::upgrades`) build a file as each
/// earlier build left it with: associated functions, since this module is private to
/// `sqlite`.
#[cfg(test)]
impl super::SqliteDirectory {
    /// How many steps the directory's schema has: its current version.
    pub(crate) const SCHEMA_STEPS: usize = VERSION;

    /// Brings the directory file to version `n` only: its first `n` steps as they stand
    /// in this build (a step edited since it shipped is not the one that ran then).
    pub(crate) fn migrate_to_for_test(conn: &mut Connection, n: usize) -> DirResult<()> {
        apply(conn, &MIGRATIONS[..n], "directory")
    }

    /// Today's steps' texts (`history.rs` compares earlier builds' with them).
    pub(crate) const SCHEMA_TEXTS: &'static [&'static str] = MIGRATIONS;

    /// What the directory file lacks or holds differently from today's steps at its
    /// version, in a line (empty when nothing).
    pub(crate) fn schema_drift_for_test(conn: &Connection) -> DirResult<String> {
        let drift = repair::schema_drift(conn, MIGRATIONS)?;
        Ok(if drift.is_empty() {
            String::new()
        } else {
            format!("{drift:?}")
        })
    }

    /// Likewise for the audit trail's file.
    pub(crate) fn migrate_audit_to_for_test(conn: &mut Connection, n: usize) -> DirResult<()> {
        apply(conn, &AUDIT_MIGRATIONS[..n], "audit trail")
    }
}

/// Each step in its own transaction with the version it brings: a step that fails
/// leaves the file at the version before it.
fn apply(conn: &mut Connection, steps: &[&str], what: &str) -> DirResult<()> {
    let current = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?;
    let current = usize::try_from(current).unwrap_or(usize::MAX);
    if current > steps.len() {
        return Err(DirectoryError::Backend(format!(
            "the {what}'s schema is version {current}, newer than this build's {}: upgrade regauth",
            steps.len()
        )));
    }
    for (i, step) in steps.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("d.db")).unwrap();
        (dir, conn)
    }

    #[test]
    fn a_file_from_a_newer_build_is_refused_naming_both_versions() {
        let (_dir, mut conn) = file();
        migrate(&mut conn).unwrap();
        let newer = MIGRATIONS.len() + 1;
        conn.pragma_update(None, "user_version", newer as i64)
            .unwrap();
        let e = migrate(&mut conn).unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "version {newer}, newer than this build's {}",
                MIGRATIONS.len()
            )),
            "{e}"
        );
    }

    #[test]
    fn a_step_that_fails_leaves_the_version_before_it() {
        let (_dir, mut conn) = file();
        let steps = [
            "CREATE TABLE a (x INTEGER);",
            "CREATE TABLE b (y INTEGER); SELECT nope FROM nowhere;",
        ];
        assert!(apply(&mut conn, &steps, "test").is_err());
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1);
        let b: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'b'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(b, 0, "the failed step's table stayed");
    }
}
