//! Queries and row mappers the port implementations share.

use rusqlite::{params, Connection, OptionalExtension};

use crate::domain::authz::{EntityFacts, ParentFacts};
use crate::domain::model::{
    AccessSet, AccessTokenRecord, Acl, EntityId, EntityInfo, EntityKind, EntityRef,
    ParentTokenState, Principal, PrincipalRef, RefreshTokenRecord, TagInfo, TeamId, User, UserId,
};
use crate::domain::ports::{DirResult, DirectoryError};
use crate::domain::repo_name::RepoPath;
pub use crate::infra::stored::{entity_kind, principal, principal_key, scopes};

pub const USER_COLS: &str = "id, name, certified, admin, disabled, email";

pub fn user_row(r: &rusqlite::Row, off: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: UserId(r.get(off)?),
        name: r.get(off + 1)?,
        certified: r.get(off + 2)?,
        admin: r.get(off + 3)?,
        disabled: r.get(off + 4)?,
        email: r.get(off + 5)?,
    })
}

pub fn user_by_id(c: &Connection, id: UserId) -> DirResult<Option<User>> {
    Ok(
        c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1"))?
            .query_row([id.0], |r| user_row(r, 0))
            .optional()?,
    )
}

pub const TOKEN_SELECT: &str = "SELECT u.id, u.name, u.certified, u.admin, u.disabled, u.email, t.id, t.name, t.scopes, t.created_at, t.expires_at, t.revoked_at, t.last_used_at, t.parent_id
     FROM access_tokens t JOIN users u ON u.id = t.user_id";

pub fn access_token_row(r: &rusqlite::Row) -> rusqlite::Result<AccessTokenRecord> {
    Ok(AccessTokenRecord {
        user: user_row(r, 0)?,
        id: r.get(6)?,
        name: r.get(7)?,
        scopes: scopes(r.get(8)?),
        created_at: r.get(9)?,
        expires_at: r.get(10)?,
        revoked: r.get::<_, Option<i64>>(11)?.is_some(),
        last_used_at: r.get(12)?,
        parent: r.get(13)?,
    })
}

pub const REFRESH_SELECT: &str = "SELECT u.id, u.name, u.certified, u.admin, u.disabled, u.email, t.id, t.service, t.client_id, t.scopes,
        t.created_at, t.expires_at, t.revoked_at, a.id, a.revoked_at, a.expires_at, t.last_used_at
     FROM refresh_tokens t JOIN users u ON u.id = t.user_id
     LEFT JOIN access_tokens a ON a.id = t.access_token_id";

pub fn refresh_token_row(r: &rusqlite::Row) -> rusqlite::Result<RefreshTokenRecord> {
    let parent: Option<i64> = r.get(13)?;
    Ok(RefreshTokenRecord {
        user: user_row(r, 0)?,
        id: r.get(6)?,
        service: r.get(7)?,
        client_id: r.get(8)?,
        scopes: scopes(r.get(9)?),
        created_at: r.get(10)?,
        expires_at: r.get(11)?,
        revoked: r.get::<_, Option<i64>>(12)?.is_some(),
        via_access_token: match parent {
            Some(id) => Some(ParentTokenState {
                id,
                revoked: r.get::<_, Option<i64>>(14)?.is_some(),
                expires_at: r.get(15)?,
            }),
            None => None,
        },
        last_used_at: r.get(16)?,
    })
}

pub fn user_id(c: &Connection, name: &str) -> DirResult<UserId> {
    c.prepare_cached("SELECT id FROM users WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?
        .map(UserId)
        .ok_or_else(|| DirectoryError::NotFound(format!("user {name}")))
}

pub fn team_id(c: &Connection, name: &str) -> DirResult<TeamId> {
    c.prepare_cached("SELECT id FROM teams WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?
        .map(TeamId)
        .ok_or_else(|| DirectoryError::NotFound(format!("team {name}")))
}

/// An entity row with what sharing needs.
pub struct EntityRow {
    pub info: EntityInfo,
    pub has_local_acl: bool,
}

pub fn entity_by_id(c: &Connection, id: i64) -> DirResult<Option<EntityRow>> {
    Ok(c.prepare_cached(
        "SELECT e.id, e.kind, e.name, e.parent_id, e.trashed_at, e.created_at, e.has_local_acl
             FROM entities e WHERE e.id = ?1",
    )?
    .query_row([id], |r| {
        let kind = entity_kind(&r.get::<_, String>(1)?);
        let parent: Option<i64> = r.get(3)?;
        let name: String = r.get(2)?;
        // A managed repository is shown by its path, `<project id>/<name>`.
        let name = match (kind, parent) {
            (EntityKind::ManagedRepository, Some(p)) => {
                format!("{}/{name}", EntityId(p as u64))
            }
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
    .optional()?)
}

pub fn repo_id(c: &Connection, path: &RepoPath) -> DirResult<Option<i64>> {
    Ok(c
        .prepare_cached(
            "SELECT id FROM entities WHERE parent_id = ?1 AND name = ?2 AND kind = 'managed_repository'",
        )?
        .query_row(params![path.project().0 as i64, path.name()], |r| r.get(0))
        .optional()?)
}

/// The row an operator's reference names; `None` when there is none.
pub fn find(c: &Connection, e: &EntityRef) -> DirResult<Option<EntityRow>> {
    let id = match e {
        EntityRef::Id(id) => Some(id.0 as i64),
        EntityRef::Repository(p) => repo_id(c, p)?,
    };
    match id {
        Some(id) => entity_by_id(c, id),
        None => Ok(None),
    }
}

/// Like [`find`], a missing entity being an error.
pub fn resolve(c: &Connection, e: &EntityRef) -> DirResult<EntityRow> {
    find(c, e)?.ok_or_else(|| DirectoryError::NotFound(format!("entity {e}")))
}

pub fn acl_of(c: &Connection, entity: i64) -> DirResult<Acl> {
    let mut stmt = c.prepare_cached(
        "SELECT principal_kind, principal_id, access_bits FROM acl_entries WHERE entity_id = ?1",
    )?;
    let rows = stmt.query_map([entity], |r| {
        let kind: String = r.get(0)?;
        let id: i64 = r.get(1)?;
        let bits: i64 = r.get(2)?;
        let p = principal(&kind, id);
        Ok((p, AccessSet::from_bits_truncate(bits as u8)))
    })?;
    Ok(Acl::new(rows.collect::<Result<_, _>>()?))
}

/// An entity's facts for the sharing and trash rules: its own ACL (a project's always,
/// a repository's when it has local sharing settings) and its project's state.
pub fn facts(c: &Connection, row: EntityRow) -> DirResult<EntityFacts> {
    let own = row.info.id.0 as i64;
    let own_acl = if row.info.kind == EntityKind::Project || row.has_local_acl {
        Some(acl_of(c, own)?)
    } else {
        None
    };
    let parent = match row.info.parent {
        Some(p) => match entity_by_id(c, p.0 as i64)? {
            Some(prow) => Some(ParentFacts {
                id: p,
                is_project: prow.info.kind == EntityKind::Project,
                trashed: prow.info.trashed,
                acl: acl_of(c, p.0 as i64)?,
            }),
            None => None,
        },
        None => None,
    };
    Ok(EntityFacts {
        info: row.info,
        own_acl,
        parent,
    })
}

/// The id behind an operator's name for a principal.
pub fn resolve_principal(c: &Connection, p: &PrincipalRef) -> DirResult<Principal> {
    Ok(match p {
        PrincipalRef::User(n) => Principal::User(user_id(c, n)?),
        PrincipalRef::Team(n) => Principal::Team(team_id(c, n)?),
        PrincipalRef::Public => Principal::Public,
        PrincipalRef::Authenticated => Principal::Authenticated,
    })
}

/// Entities selected by `sql` (which returns ids), loaded in that order.
pub fn entities_by_query(
    c: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> DirResult<Vec<EntityInfo>> {
    let ids: Vec<i64> = {
        let mut stmt = c.prepare_cached(sql)?;
        let rows = stmt.query_map(args, |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(row) = entity_by_id(c, id)? {
            out.push(row.info);
        }
    }
    Ok(out)
}

/// The next free entity id (ids start at 1000, as Synapse's do after its reserved ones).
pub fn next_entity_id(c: &Connection) -> DirResult<i64> {
    Ok(c.query_row(
        "SELECT MAX(1000, COALESCE(MAX(id), 0) + 1) FROM entities",
        [],
        |r| r.get(0),
    )?)
}

pub fn tag_info(r: &rusqlite::Row) -> rusqlite::Result<TagInfo> {
    Ok(TagInfo {
        tag: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
        digest: r.get(1)?,
        media_type: r.get(2)?,
        size: r.get(3)?,
        pusher: r.get(4)?,
        pushed_at: r.get(5)?,
    })
}
