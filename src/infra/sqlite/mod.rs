//! The embedded directory: SQLite via rusqlite, WAL, `synchronous=FULL`.
//!
//! One connection behind a mutex: every directory call is a few indexed queries, and
//! each change is one transaction, so a failed command leaves nothing half-written.

mod schema;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::domain::authn::now_unix;
use crate::domain::authz::{ProjectFacts, RepoFacts, RepoState};
use crate::domain::directory::*;
use crate::domain::model::{
    AccessSet, Acl, EntityId, EntityKind, Principal, ScopeSet, TeamId, User, UserId,
};
use crate::domain::repo_name::RepoPath;

pub struct SqliteDirectory {
    conn: Mutex<Connection>,
}

fn backend(e: rusqlite::Error) -> DirectoryError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.code == rusqlite::ErrorCode::ConstraintViolation {
            return DirectoryError::Conflict(format!("record ({e})"));
        }
    }
    DirectoryError::Backend(e.to_string())
}

/// Names of users and teams: short, printable, and never one of the built-in groups.
fn check_name(kind: &str, name: &str) -> DirResult<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !matches!(name, "public" | "authenticated");
    if ok {
        Ok(())
    } else {
        Err(DirectoryError::Invalid(format!(
            "invalid {kind} name {:?}: use 1-64 letters, digits, '.', '_' or '-' (not public/authenticated)",
            name.chars().take(64).collect::<String>()
        )))
    }
}

const USER_COLS: &str = "id, name, certified, admin, disabled";

fn user_row(r: &rusqlite::Row, off: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: UserId(r.get(off)?),
        name: r.get(off + 1)?,
        certified: r.get(off + 2)?,
        admin: r.get(off + 3)?,
        disabled: r.get(off + 4)?,
    })
}

const TOKEN_SELECT: &str = "SELECT u.id, u.name, u.certified, u.admin, u.disabled, t.id, t.name, t.scopes, t.created_at, t.expires_at, t.revoked_at
     FROM access_tokens t JOIN users u ON u.id = t.user_id";

fn access_token_row(r: &rusqlite::Row) -> rusqlite::Result<AccessTokenRecord> {
    Ok(AccessTokenRecord {
        user: user_row(r, 0)?,
        id: r.get(5)?,
        name: r.get(6)?,
        scopes: ScopeSet::from_bits(r.get::<_, i64>(7)? as u8),
        created_at: r.get(8)?,
        expires_at: r.get(9)?,
        revoked: r.get::<_, Option<i64>>(10)?.is_some(),
    })
}

impl SqliteDirectory {
    pub fn open(path: &Path) -> DirResult<SqliteDirectory> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| DirectoryError::Backend(format!("{}: {e}", parent.display())))?;
        }
        let mut conn = Connection::open(path).map_err(backend)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(backend)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(backend)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(backend)?;
        schema::migrate(&mut conn).map_err(backend)?;
        Ok(SqliteDirectory {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions
        // roll back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction) -> DirResult<T>) -> DirResult<T> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(backend)?;
        let out = f(&tx)?;
        tx.commit().map_err(backend)?;
        Ok(out)
    }
}

fn user_id(c: &Connection, name: &str) -> DirResult<UserId> {
    c.query_row("SELECT id FROM users WHERE name = ?1", [name], |r| r.get(0))
        .optional()
        .map_err(backend)?
        .map(UserId)
        .ok_or_else(|| DirectoryError::NotFound(format!("user {name}")))
}

fn team_id(c: &Connection, name: &str) -> DirResult<TeamId> {
    c.query_row("SELECT id FROM teams WHERE name = ?1", [name], |r| r.get(0))
        .optional()
        .map_err(backend)?
        .map(TeamId)
        .ok_or_else(|| DirectoryError::NotFound(format!("team {name}")))
}

/// (kind column, id column) of a principal.
fn principal_key(c: &Connection, p: &PrincipalRef) -> DirResult<(&'static str, i64)> {
    Ok(match p {
        PrincipalRef::User(n) => ("user", user_id(c, n)?.0),
        PrincipalRef::Team(n) => ("team", team_id(c, n)?.0),
        PrincipalRef::Public => ("public", 0),
        PrincipalRef::Authenticated => ("authenticated", 0),
    })
}

struct EntityRow {
    info: EntityInfo,
    has_local_acl: bool,
}

fn entity_by_id(c: &Connection, id: i64) -> DirResult<Option<EntityRow>> {
    c.prepare_cached(
        "SELECT e.id, e.kind, e.name, e.parent_id, e.trashed_at, e.created_at, e.has_local_acl, p.name
         FROM entities e LEFT JOIN entities p ON p.id = e.parent_id WHERE e.id = ?1",
    )
    .map_err(backend)?
    .query_row([id], |r| {
        let kind: String = r.get(1)?;
        let kind = match kind.as_str() {
            "project" => EntityKind::Project,
            "managed_repository" => EntityKind::ManagedRepository,
            _ => EntityKind::ExternalRepository,
        };
        let parent: Option<i64> = r.get(3)?;
        let name: String = r.get(2)?;
        let name = match (kind, parent) {
            (EntityKind::ManagedRepository, Some(p)) => format!("{}/{name}", EntityId(p as u64)),
            _ => name,
        };
        Ok(EntityRow {
            info: EntityInfo {
                id: EntityId(r.get::<_, i64>(0)? as u64),
                kind,
                name,
                parent: parent.map(|p| EntityId(p as u64)),
                trashed: r.get::<_, Option<i64>>(4)?.is_some(),
                created_at: r.get(5)?,
            },
            has_local_acl: r.get(6)?,
        })
    })
    .optional()
    .map_err(backend)
}

fn repo_id(c: &Connection, path: &RepoPath) -> DirResult<Option<i64>> {
    c.prepare_cached("SELECT id FROM entities WHERE parent_id = ?1 AND name = ?2 AND kind = 'managed_repository'")
        .map_err(backend)?
        .query_row(params![path.project().0 as i64, path.name()], |r| r.get(0))
        .optional()
        .map_err(backend)
}

fn resolve(c: &Connection, e: &EntityRef) -> DirResult<EntityRow> {
    let id = match e {
        EntityRef::Id(id) => Some(id.0 as i64),
        EntityRef::Repository(p) => repo_id(c, p)?,
    };
    match id {
        Some(id) => entity_by_id(c, id)?,
        None => None,
    }
    .ok_or_else(|| DirectoryError::NotFound(format!("entity {e}")))
}

fn acl_of(c: &Connection, entity: i64) -> DirResult<Acl> {
    let mut stmt = c
        .prepare_cached("SELECT principal_kind, principal_id, access_bits FROM acl_entries WHERE entity_id = ?1")
        .map_err(backend)?;
    let rows = stmt
        .query_map([entity], |r| {
            let kind: String = r.get(0)?;
            let id: i64 = r.get(1)?;
            let bits: i64 = r.get(2)?;
            let p = match kind.as_str() {
                "user" => Principal::User(UserId(id)),
                "team" => Principal::Team(TeamId(id)),
                "public" => Principal::Public,
                _ => Principal::Authenticated,
            };
            Ok((p, AccessSet::from_bits(bits as u8)))
        })
        .map_err(backend)?;
    Ok(Acl::new(rows.collect::<Result<_, _>>().map_err(backend)?))
}

/// The entity whose ACL applies to `row` (itself, or its project when inheriting),
/// and whether it counts as trashed (its own or its parent's trash).
fn effective(c: &Connection, row: &EntityRow) -> DirResult<(i64, bool)> {
    let own = row.info.id.0 as i64;
    match (row.info.kind, row.info.parent) {
        (EntityKind::Project, _) | (_, None) => Ok((own, row.info.trashed)),
        (_, Some(parent)) => {
            let p = entity_by_id(c, parent.0 as i64)?;
            let parent_trashed = p.as_ref().is_some_and(|p| p.info.trashed);
            let acl_entity = if row.has_local_acl {
                own
            } else {
                parent.0 as i64
            };
            Ok((acl_entity, row.info.trashed || parent_trashed))
        }
    }
}

/// Changing a repository's ACL gives it local sharing settings: on the first change
/// they start as a copy of the project's ACL, so the change is the only difference.
/// Returns the entity id whose ACL rows to change.
fn ensure_local_acl(tx: &Connection, row: &EntityRow) -> DirResult<i64> {
    let own = row.info.id.0 as i64;
    if row.info.kind == EntityKind::ManagedRepository && !row.has_local_acl {
        if let Some(parent) = row.info.parent {
            tx.execute(
                "INSERT INTO acl_entries (entity_id, principal_kind, principal_id, access_bits)
                 SELECT ?1, principal_kind, principal_id, access_bits FROM acl_entries WHERE entity_id = ?2",
                params![own, parent.0 as i64],
            )
            .map_err(backend)?;
        }
        tx.execute("UPDATE entities SET has_local_acl = 1 WHERE id = ?1", [own])
            .map_err(backend)?;
    }
    Ok(own)
}

/// Entities selected by `sql` (which returns ids), loaded in that order.
fn entities_by_query(
    c: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> DirResult<Vec<EntityInfo>> {
    let ids: Vec<i64> = {
        let mut stmt = c.prepare_cached(sql).map_err(backend)?;
        let rows = stmt.query_map(args, |r| r.get(0)).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)?
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(row) = entity_by_id(c, id)? {
            out.push(row.info);
        }
    }
    Ok(out)
}

fn next_entity_id(c: &Connection) -> DirResult<i64> {
    c.query_row(
        "SELECT MAX(1000, COALESCE(MAX(id), 0) + 1) FROM entities",
        [],
        |r| r.get(0),
    )
    .map_err(backend)
}

fn tag_info(r: &rusqlite::Row) -> rusqlite::Result<TagInfo> {
    Ok(TagInfo {
        tag: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
        digest: r.get(1)?,
        media_type: r.get(2)?,
        size: r.get(3)?,
        pusher: r.get(4)?,
        pushed_at: r.get(5)?,
    })
}

impl Directory for SqliteDirectory {
    fn user_credentials(&self, name: &str) -> DirResult<Option<UserCredentials>> {
        let c = self.conn();
        let out = c
            .prepare_cached(&format!(
                "SELECT {USER_COLS}, password_hash FROM users WHERE name = ?1"
            ))
            .map_err(backend)?
            .query_row([name], |r| {
                Ok(UserCredentials {
                    user: user_row(r, 0)?,
                    password_hash: r.get(5)?,
                })
            })
            .optional()
            .map_err(backend);
        out
    }

    fn user_by_id(&self, id: UserId) -> DirResult<Option<User>> {
        let c = self.conn();
        let out = c
            .prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1"))
            .map_err(backend)?
            .query_row([id.0], |r| user_row(r, 0))
            .optional()
            .map_err(backend);
        out
    }

    fn teams_of(&self, user: UserId) -> DirResult<Vec<TeamId>> {
        let c = self.conn();
        let mut stmt = c
            .prepare_cached("SELECT team_id FROM team_members WHERE user_id = ?1")
            .map_err(backend)?;
        let rows = stmt
            .query_map([user.0], |r| r.get(0).map(TeamId))
            .map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn access_token_by_hash(&self, hash: &[u8; 32]) -> DirResult<Option<AccessTokenRecord>> {
        let c = self.conn();
        let out = c
            .prepare_cached(&format!("{TOKEN_SELECT} WHERE t.hash = ?1"))
            .map_err(backend)?
            .query_row([&hash[..]], access_token_row)
            .optional()
            .map_err(backend);
        out
    }

    fn refresh_token_by_hash(&self, hash: &[u8; 32]) -> DirResult<Option<RefreshTokenRecord>> {
        let c = self.conn();
        let out = c.prepare_cached(
            "SELECT u.id, u.name, u.certified, u.admin, u.disabled, t.id, t.service, t.client_id, t.scopes,
                    t.created_at, t.expires_at, t.revoked_at, a.id, a.revoked_at, a.expires_at
             FROM refresh_tokens t JOIN users u ON u.id = t.user_id
             LEFT JOIN access_tokens a ON a.id = t.access_token_id WHERE t.hash = ?1",
        )
        .map_err(backend)?
        .query_row([&hash[..]], |r| {
            let parent: Option<i64> = r.get(12)?;
            Ok(RefreshTokenRecord {
                user: user_row(r, 0)?,
                id: r.get(5)?,
                service: r.get(6)?,
                client_id: r.get(7)?,
                scopes: ScopeSet::from_bits(r.get::<_, i64>(8)? as u8),
                created_at: r.get(9)?,
                expires_at: r.get(10)?,
                revoked: r.get::<_, Option<i64>>(11)?.is_some(),
                via_access_token: match parent {
                    Some(id) => Some(ParentTokenState {
                        id,
                        revoked: r.get::<_, Option<i64>>(13)?.is_some(),
                        expires_at: r.get(14)?,
                    }),
                    None => None,
                },
            })
        })
        .optional()
        .map_err(backend);
        out
    }

    fn create_refresh_token(&self, t: NewRefreshToken) -> DirResult<i64> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO refresh_tokens (user_id, hash, service, client_id, scopes, access_token_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![t.user.0, &t.hash[..], t.service, t.client_id, t.scopes.bits() as i64, t.access_token_id, now_unix(), t.expires_at],
            )
            .map_err(backend)?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// On every token request: two lean indexed lookups (plus the ACLs that apply), not
    /// the full entity rows the administration paths read.
    fn repository_facts(&self, path: &RepoPath) -> DirResult<RepoFacts> {
        let c = self.conn();
        let project_id = path.project().0 as i64;
        let project: Option<(String, bool)> = c
            .prepare_cached("SELECT kind, trashed_at IS NOT NULL FROM entities WHERE id = ?1")
            .map_err(backend)?
            .query_row([project_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(backend)?;
        let project = match project {
            None => ProjectFacts::Missing,
            Some((kind, _)) if kind != "project" => ProjectFacts::NotAProject,
            Some((_, trashed)) => ProjectFacts::Project {
                trashed,
                acl: acl_of(&c, project_id)?,
            },
        };
        let repo: Option<(i64, bool, bool)> = c
            .prepare_cached(
                "SELECT id, trashed_at IS NOT NULL, has_local_acl FROM entities
                 WHERE parent_id = ?1 AND name = ?2 AND kind = 'managed_repository'",
            )
            .map_err(backend)?
            .query_row(params![project_id, path.name()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .map_err(backend)?;
        let repo = match repo {
            None => RepoState::Unknown,
            Some((id, trashed, has_local_acl)) => RepoState::Managed {
                trashed,
                local_acl: if has_local_acl {
                    Some(acl_of(&c, id)?)
                } else {
                    None
                },
            },
        };
        Ok(RepoFacts { project, repo })
    }

    fn entity_access(&self, entity: &EntityRef) -> DirResult<Option<(EntityInfo, Acl, bool)>> {
        let c = self.conn();
        let row = match resolve(&c, entity) {
            Ok(r) => r,
            Err(DirectoryError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let (acl_entity, trashed) = effective(&c, &row)?;
        let acl = acl_of(&c, acl_entity)?;
        Ok(Some((row.info, acl, trashed)))
    }

    fn add_user(
        &self,
        name: &str,
        password_hash: Option<&str>,
        certified: bool,
        admin: bool,
    ) -> DirResult<User> {
        check_name("user", name)?;
        self.write(|tx| {
            let exists: bool = tx
                .query_row("SELECT 1 FROM users WHERE name = ?1", [name], |_| Ok(true))
                .optional()
                .map_err(backend)?
                .unwrap_or(false);
            if exists {
                return Err(DirectoryError::Conflict(format!("user {name}")));
            }
            tx.execute(
                "INSERT INTO users (name, password_hash, certified, admin, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, password_hash, certified, admin, now_unix()],
            )
            .map_err(backend)?;
            Ok(User {
                id: UserId(tx.last_insert_rowid()),
                name: name.to_string(),
                certified,
                admin,
                disabled: false,
            })
        })
    }

    fn update_user(&self, name: &str, u: UserUpdate) -> DirResult<User> {
        self.write(|tx| {
            let id = user_id(tx, name)?;
            if let Some(v) = u.certified {
                tx.execute(
                    "UPDATE users SET certified = ?1 WHERE id = ?2",
                    params![v, id.0],
                )
                .map_err(backend)?;
            }
            if let Some(v) = u.admin {
                tx.execute(
                    "UPDATE users SET admin = ?1 WHERE id = ?2",
                    params![v, id.0],
                )
                .map_err(backend)?;
            }
            if let Some(v) = u.disabled {
                tx.execute(
                    "UPDATE users SET disabled = ?1 WHERE id = ?2",
                    params![v, id.0],
                )
                .map_err(backend)?;
            }
            if let Some(h) = &u.password_hash {
                tx.execute(
                    "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                    params![h, id.0],
                )
                .map_err(backend)?;
            }
            tx.query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
                [id.0],
                |r| user_row(r, 0),
            )
            .map_err(backend)
        })
    }

    fn list_users(&self) -> DirResult<Vec<User>> {
        let c = self.conn();
        let mut stmt = c
            .prepare(&format!("SELECT {USER_COLS} FROM users ORDER BY name"))
            .map_err(backend)?;
        let rows = stmt.query_map([], |r| user_row(r, 0)).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn add_team(&self, name: &str) -> DirResult<TeamId> {
        check_name("team", name)?;
        self.write(|tx| {
            if team_id(tx, name).is_ok() {
                return Err(DirectoryError::Conflict(format!("team {name}")));
            }
            tx.execute("INSERT INTO teams (name) VALUES (?1)", [name])
                .map_err(backend)?;
            Ok(TeamId(tx.last_insert_rowid()))
        })
    }

    fn add_team_member(&self, team: &str, user: &str) -> DirResult<()> {
        self.write(|tx| {
            let (t, u) = (team_id(tx, team)?, user_id(tx, user)?);
            tx.execute(
                "INSERT OR IGNORE INTO team_members (team_id, user_id) VALUES (?1, ?2)",
                params![t.0, u.0],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn remove_team_member(&self, team: &str, user: &str) -> DirResult<()> {
        self.write(|tx| {
            let (t, u) = (team_id(tx, team)?, user_id(tx, user)?);
            let n = tx
                .execute(
                    "DELETE FROM team_members WHERE team_id = ?1 AND user_id = ?2",
                    params![t.0, u.0],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(DirectoryError::NotFound(format!("{user} in team {team}")));
            }
            Ok(())
        })
    }

    fn add_project(&self, name: &str, owner: &str, id: Option<EntityId>) -> DirResult<EntityId> {
        if name.trim().is_empty() || name.len() > 256 {
            return Err(DirectoryError::Invalid(
                "project name must be 1-256 characters".into(),
            ));
        }
        self.write(|tx| {
            let owner = user_id(tx, owner)?;
            let taken: bool = tx
                .query_row("SELECT 1 FROM entities WHERE kind = 'project' AND name = ?1", [name], |_| Ok(true))
                .optional()
                .map_err(backend)?
                .unwrap_or(false);
            if taken {
                return Err(DirectoryError::Conflict(format!("project named {name:?}")));
            }
            let id = match id {
                Some(id) => {
                    if id.0 > i64::MAX as u64 || entity_by_id(tx, id.0 as i64)?.is_some() {
                        return Err(DirectoryError::Conflict(format!("entity {id}")));
                    }
                    id.0 as i64
                }
                None => next_entity_id(tx)?,
            };
            tx.execute(
                "INSERT INTO entities (id, kind, name, created_at) VALUES (?1, 'project', ?2, ?3)",
                params![id, name, now_unix()],
            )
            .map_err(backend)?;
            let all: AccessSet = crate::domain::model::AccessType::ALL.into_iter().collect();
            tx.execute(
                "INSERT INTO acl_entries (entity_id, principal_kind, principal_id, access_bits) VALUES (?1, 'user', ?2, ?3)",
                params![id, owner.0, all.bits() as i64],
            )
            .map_err(backend)?;
            Ok(EntityId(id as u64))
        })
    }

    fn list_projects(&self) -> DirResult<Vec<EntityInfo>> {
        let c = self.conn();
        entities_by_query(
            &c,
            "SELECT id FROM entities WHERE kind = 'project' ORDER BY id",
            [],
        )
    }

    fn acl_grant(
        &self,
        entity: &EntityRef,
        principal: &PrincipalRef,
        access: AccessSet,
    ) -> DirResult<()> {
        self.write(|tx| {
            let row = resolve(tx, entity)?;
            let own = ensure_local_acl(tx, &row)?;
            let (kind, pid) = principal_key(tx, principal)?;
            tx.execute(
                "INSERT INTO acl_entries (entity_id, principal_kind, principal_id, access_bits) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (entity_id, principal_kind, principal_id) DO UPDATE SET access_bits = access_bits | excluded.access_bits",
                params![own, kind, pid, access.bits() as i64],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn acl_revoke(
        &self,
        entity: &EntityRef,
        principal: &PrincipalRef,
        access: Option<AccessSet>,
    ) -> DirResult<()> {
        self.write(|tx| {
            let row = resolve(tx, entity)?;
            let own = ensure_local_acl(tx, &row)?;
            let (kind, pid) = principal_key(tx, principal)?;
            let current: Option<i64> = tx
                .query_row(
                    "SELECT access_bits FROM acl_entries WHERE entity_id = ?1 AND principal_kind = ?2 AND principal_id = ?3",
                    params![own, kind, pid],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let Some(bits) = current else {
                return Err(DirectoryError::NotFound(format!("an ACL entry for {principal} on {entity}")));
            };
            let left = match access {
                Some(a) => AccessSet::from_bits(bits as u8).minus(a),
                None => AccessSet::EMPTY,
            };
            if left.is_empty() {
                tx.execute(
                    "DELETE FROM acl_entries WHERE entity_id = ?1 AND principal_kind = ?2 AND principal_id = ?3",
                    params![own, kind, pid],
                )
            } else {
                tx.execute(
                    "UPDATE acl_entries SET access_bits = ?4 WHERE entity_id = ?1 AND principal_kind = ?2 AND principal_id = ?3",
                    params![own, kind, pid, left.bits() as i64],
                )
            }
            .map_err(backend)?;
            Ok(())
        })
    }

    fn acl_inherit(&self, entity: &EntityRef) -> DirResult<()> {
        self.write(|tx| {
            let row = resolve(tx, entity)?;
            if row.info.kind != EntityKind::ManagedRepository {
                return Err(DirectoryError::Invalid(format!(
                    "{entity} is not a repository; only repositories inherit"
                )));
            }
            let own = row.info.id.0 as i64;
            tx.execute("DELETE FROM acl_entries WHERE entity_id = ?1", [own])
                .map_err(backend)?;
            tx.execute("UPDATE entities SET has_local_acl = 0 WHERE id = ?1", [own])
                .map_err(backend)?;
            Ok(())
        })
    }

    fn acl_show(&self, entity: &EntityRef) -> DirResult<AclView> {
        let c = self.conn();
        let row = resolve(&c, entity)?;
        let (acl_entity, _) = effective(&c, &row)?;
        let own = row.info.id.0 as i64;
        let mut stmt = c
            .prepare(
                "SELECT a.principal_kind, COALESCE(u.name, t.name, a.principal_kind), a.access_bits FROM acl_entries a
                 LEFT JOIN users u ON a.principal_kind = 'user' AND u.id = a.principal_id
                 LEFT JOIN teams t ON a.principal_kind = 'team' AND t.id = a.principal_id
                 WHERE a.entity_id = ?1 ORDER BY a.principal_kind, 2",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([acl_entity], |r| {
                let kind: String = r.get(0)?;
                let name: String = r.get(1)?;
                let bits: i64 = r.get(2)?;
                Ok(AclEntryView {
                    principal: if kind == "team" {
                        format!("team:{name}")
                    } else {
                        name
                    },
                    access: AccessSet::from_bits(bits as u8)
                        .iter()
                        .map(|a| a.as_str().to_string())
                        .collect(),
                })
            })
            .map_err(backend)?;
        Ok(AclView {
            entity: row.info.name.clone(),
            inherited_from: (acl_entity != own).then(|| EntityId(acl_entity as u64).to_string()),
            entries: rows.collect::<Result<_, _>>().map_err(backend)?,
        })
    }

    fn trash(&self, entity: &EntityRef) -> DirResult<()> {
        self.write(|tx| {
            let row = resolve(tx, entity)?;
            if row.info.trashed {
                return Err(DirectoryError::Invalid(format!(
                    "{entity} is already in the trash"
                )));
            }
            tx.execute(
                "UPDATE entities SET trashed_at = ?1 WHERE id = ?2",
                params![now_unix(), row.info.id.0 as i64],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn restore(&self, entity: &EntityRef) -> DirResult<()> {
        self.write(|tx| {
            let row = resolve(tx, entity)?;
            if !row.info.trashed {
                return Err(DirectoryError::Invalid(format!(
                    "{entity} is not in the trash"
                )));
            }
            if let Some(parent) = row.info.parent {
                if entity_by_id(tx, parent.0 as i64)?.is_some_and(|p| p.info.trashed) {
                    return Err(DirectoryError::Invalid(format!(
                        "restore its project {parent} first"
                    )));
                }
            }
            tx.execute(
                "UPDATE entities SET trashed_at = NULL WHERE id = ?1",
                [row.info.id.0 as i64],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn create_access_token(&self, t: NewAccessToken) -> DirResult<AccessTokenRecord> {
        self.write(|tx| {
            let user = tx
                .query_row(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1"), [t.user.0], |r| user_row(r, 0))
                .optional()
                .map_err(backend)?
                .ok_or_else(|| DirectoryError::NotFound(format!("user id {}", t.user.0)))?;
            let now = now_unix();
            tx.execute(
                "INSERT INTO access_tokens (user_id, name, hash, scopes, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![t.user.0, t.name, &t.hash[..], t.scopes.bits() as i64, now, t.expires_at],
            )
            .map_err(backend)?;
            Ok(AccessTokenRecord {
                id: tx.last_insert_rowid(),
                user,
                name: t.name.clone(),
                scopes: t.scopes,
                created_at: now,
                expires_at: t.expires_at,
                revoked: false,
            })
        })
    }

    fn list_access_tokens(&self, user: &str) -> DirResult<Vec<AccessTokenRecord>> {
        let c = self.conn();
        let uid = user_id(&c, user)?;
        let mut stmt = c
            .prepare(&format!(
                "{TOKEN_SELECT} WHERE t.user_id = ?1 ORDER BY t.id"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map([uid.0], access_token_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn revoke_access_token(&self, id: i64) -> DirResult<()> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
                    params![now_unix(), id],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(DirectoryError::NotFound(format!("access token {id}")));
            }
            Ok(())
        })
    }

    fn revoke_refresh_tokens(&self, user: &str) -> DirResult<usize> {
        self.write(|tx| {
            let uid = user_id(tx, user)?;
            tx.execute(
                "UPDATE refresh_tokens SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
                params![now_unix(), uid.0],
            )
            .map_err(backend)
        })
    }

    fn record_push(&self, push: &ManifestPush) -> DirResult<EventOutcome> {
        self.write(|tx| {
            if seen(tx, &push.event_id)? {
                return Ok(EventOutcome::Duplicate);
            }
            let project_id = push.path.project().0 as i64;
            match entity_by_id(tx, project_id)? {
                None => return Ok(EventOutcome::Skipped("project missing")),
                Some(p) if p.info.kind != EntityKind::Project => return Ok(EventOutcome::Skipped("not a project")),
                Some(p) if p.info.trashed => return Ok(EventOutcome::Skipped("project in trash")),
                Some(_) => {}
            }
            let repo = match repo_id(tx, &push.path)? {
                Some(id) => {
                    if entity_by_id(tx, id)?.is_some_and(|r| r.info.trashed) {
                        return Ok(EventOutcome::Skipped("repository in trash"));
                    }
                    id
                }
                None => {
                    let id = next_entity_id(tx)?;
                    tx.execute(
                        "INSERT INTO entities (id, kind, name, parent_id, created_at) VALUES (?1, 'managed_repository', ?2, ?3, ?4)",
                        params![id, push.path.name(), project_id, push.pushed_at],
                    )
                    .map_err(backend)?;
                    id
                }
            };
            tx.execute(
                "INSERT INTO commits (repository_id, tag, digest, media_type, size, pusher, pushed_at, event_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![repo, push.tag, push.digest, push.media_type, push.size, push.pusher, push.pushed_at, push.event_id],
            )
            .map_err(backend)?;
            mark(tx, &push.event_id)?;
            Ok(EventOutcome::Recorded)
        })
    }

    fn record_delete(&self, del: &ManifestDelete) -> DirResult<EventOutcome> {
        self.write(|tx| {
            if seen(tx, &del.event_id)? {
                return Ok(EventOutcome::Duplicate);
            }
            let Some(repo) = repo_id(tx, &del.path)? else {
                return Ok(EventOutcome::Skipped("repository unknown"));
            };
            match (&del.tag, &del.digest) {
                (Some(tag), _) => tx.execute(
                    "UPDATE commits SET deleted_at = ?1 WHERE repository_id = ?2 AND tag = ?3 AND deleted_at IS NULL AND pushed_at <= ?1",
                    params![del.deleted_at, repo, tag],
                ),
                (None, Some(digest)) => tx.execute(
                    "UPDATE commits SET deleted_at = ?1 WHERE repository_id = ?2 AND digest = ?3 AND deleted_at IS NULL AND pushed_at <= ?1",
                    params![del.deleted_at, repo, digest],
                ),
                (None, None) => return Ok(EventOutcome::Skipped("delete names neither tag nor digest")),
            }
            .map_err(backend)?;
            mark(tx, &del.event_id)?;
            Ok(EventOutcome::Recorded)
        })
    }

    fn list_repositories(&self, project: EntityId) -> DirResult<Vec<EntityInfo>> {
        let c = self.conn();
        entities_by_query(
            &c,
            "SELECT id FROM entities WHERE parent_id = ?1 AND trashed_at IS NULL ORDER BY name",
            [project.0 as i64],
        )
    }

    fn list_tags(
        &self,
        repo: &RepoPath,
        sort: TagSort,
        offset: usize,
        limit: usize,
    ) -> DirResult<(Vec<TagInfo>, usize)> {
        let c = self.conn();
        let id = repo_id(&c, repo)?
            .ok_or_else(|| DirectoryError::NotFound(format!("repository {repo}")))?;
        // The current commit of a tag: the newest (pushed_at, id) not deleted.
        let current = "SELECT c.tag, c.digest, c.media_type, c.size, c.pusher, c.pushed_at FROM commits c
             WHERE c.repository_id = ?1 AND c.tag IS NOT NULL AND c.deleted_at IS NULL AND NOT EXISTS (
               SELECT 1 FROM commits n WHERE n.repository_id = c.repository_id AND n.tag = c.tag AND n.deleted_at IS NULL
                 AND (n.pushed_at > c.pushed_at OR (n.pushed_at = c.pushed_at AND n.id > c.id)))";
        let total: i64 = c
            .query_row(&format!("SELECT COUNT(*) FROM ({current})"), [id], |r| {
                r.get(0)
            })
            .map_err(backend)?;
        let order = match sort {
            TagSort::Tag => "ORDER BY tag",
            TagSort::Time => "ORDER BY pushed_at DESC, tag",
        };
        let mut stmt = c
            .prepare(&format!(
                "SELECT * FROM ({current}) {order} LIMIT ?2 OFFSET ?3"
            ))
            .map_err(backend)?;
        let rows = stmt
            .query_map(
                params![
                    id,
                    limit.min(i64::MAX as usize) as i64,
                    offset.min(i64::MAX as usize) as i64
                ],
                tag_info,
            )
            .map_err(backend)?;
        Ok((
            rows.collect::<Result<_, _>>().map_err(backend)?,
            total as usize,
        ))
    }

    fn tag_history(&self, repo: &RepoPath, tag: &str) -> DirResult<Vec<TagInfo>> {
        let c = self.conn();
        let id = repo_id(&c, repo)?
            .ok_or_else(|| DirectoryError::NotFound(format!("repository {repo}")))?;
        let mut stmt = c
            .prepare(
                "SELECT tag, digest, media_type, size, pusher, pushed_at FROM commits
                 WHERE repository_id = ?1 AND tag = ?2 ORDER BY pushed_at DESC, id DESC",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![id, tag], tag_info)
            .map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn add_external_repository(&self, project: EntityId, name: &str) -> DirResult<EntityInfo> {
        self.write(|tx| {
            match entity_by_id(tx, project.0 as i64)? {
                Some(p) if p.info.kind == EntityKind::Project && !p.info.trashed => {}
                _ => return Err(DirectoryError::NotFound(format!("project {project}"))),
            }
            let id = next_entity_id(tx)?;
            tx.execute(
                "INSERT INTO entities (id, kind, name, parent_id, created_at) VALUES (?1, 'external_repository', ?2, ?3, ?4)",
                params![id, name, project.0 as i64, now_unix()],
            )
            .map_err(|e| match backend(e) {
                DirectoryError::Conflict(_) => DirectoryError::Conflict(format!("{name} under {project}")),
                other => other,
            })?;
            entity_by_id(tx, id)?
                .map(|r| r.info)
                .ok_or_else(|| DirectoryError::Backend("inserted row vanished".into()))
        })
    }

    fn delete_external_repository(&self, id: EntityId) -> DirResult<()> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "DELETE FROM entities WHERE id = ?1 AND kind = 'external_repository'",
                    [id.0 as i64],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(DirectoryError::NotFound(format!(
                    "external repository {id}"
                )));
            }
            Ok(())
        })
    }
}

fn seen(tx: &Connection, event_id: &str) -> DirResult<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM processed_events WHERE event_id = ?1",
            [event_id],
            |_| Ok(true),
        )
        .optional()
        .map_err(backend)?
        .unwrap_or(false))
}

fn mark(tx: &Connection, event_id: &str) -> DirResult<()> {
    tx.execute(
        "INSERT INTO processed_events (event_id, processed_at) VALUES (?1, ?2)",
        params![event_id, now_unix()],
    )
    .map_err(backend)?;
    Ok(())
}
