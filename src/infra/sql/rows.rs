//! Row decoders and lookups the transaction scripts share, for both engines: each
//! column list is written once, beside the decoder that reads it.

use super::{Param, SqlRow, Tx};
use crate::domain::authz::{EntityFacts, ParentFacts};
use crate::domain::model::{
    AccessSet, AccessTokenRecord, Acl, EntityId, EntityInfo, EntityKind, EntityRef,
    ParentTokenState, Principal, PrincipalRef, RefreshTokenRecord, TagInfo, TeamId, User, UserId,
};
use crate::domain::ports::{DirResult, DirectoryError};
use crate::domain::repo_name::RepoPath;
use crate::infra::stored::{entity_kind, principal, scopes};

pub const USER_COLS: &str = "id, name, certified, admin, disabled, email";

/// A user from the six columns of [`USER_COLS`] starting at `off`.
pub fn user_row(r: &SqlRow<'_, '_>, off: usize) -> DirResult<User> {
    Ok(User {
        id: UserId(r.get(off)?),
        name: r.get(off + 1)?,
        certified: r.get(off + 2)?,
        admin: r.get(off + 3)?,
        disabled: r.get(off + 4)?,
        email: r.get(off + 5)?,
    })
}

pub const TOKEN_SELECT: &str = "SELECT u.id, u.name, u.certified, u.admin, u.disabled, u.email, t.id, t.name, t.scopes, t.created_at, t.expires_at, t.revoked_at, t.last_used_at, t.parent_id
     FROM access_tokens t JOIN users u ON u.id = t.user_id";

pub fn access_token_row(r: &SqlRow<'_, '_>) -> DirResult<AccessTokenRecord> {
    Ok(AccessTokenRecord {
        user: user_row(r, 0)?,
        id: r.get(6)?,
        name: r.get(7)?,
        scopes: scopes(r.get(8)?),
        created_at: r.get(9)?,
        expires_at: r.get(10)?,
        revoked: r.get::<Option<i64>>(11)?.is_some(),
        last_used_at: r.get(12)?,
        parent: r.get(13)?,
    })
}

pub const REFRESH_SELECT: &str = "SELECT u.id, u.name, u.certified, u.admin, u.disabled, u.email, t.id, t.service, t.client_id, t.scopes,
        t.created_at, t.expires_at, t.revoked_at, a.id, a.revoked_at, a.expires_at, t.last_used_at
     FROM refresh_tokens t JOIN users u ON u.id = t.user_id
     LEFT JOIN access_tokens a ON a.id = t.access_token_id";

pub fn refresh_token_row(r: &SqlRow<'_, '_>) -> DirResult<RefreshTokenRecord> {
    let parent: Option<i64> = r.get(13)?;
    Ok(RefreshTokenRecord {
        user: user_row(r, 0)?,
        id: r.get(6)?,
        service: r.get(7)?,
        client_id: r.get(8)?,
        scopes: scopes(r.get(9)?),
        created_at: r.get(10)?,
        expires_at: r.get(11)?,
        revoked: r.get::<Option<i64>>(12)?.is_some(),
        via_access_token: match parent {
            Some(id) => Some(ParentTokenState {
                id,
                revoked: r.get::<Option<i64>>(14)?.is_some(),
                expires_at: r.get(15)?,
            }),
            None => None,
        },
        last_used_at: r.get(16)?,
    })
}

pub fn user_by_id(c: &dyn Tx, id: UserId) -> DirResult<Option<User>> {
    c.opt(
        &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
        &[&id.0],
        |r| user_row(r, 0),
    )
}

pub fn user_id(c: &dyn Tx, name: &str) -> DirResult<UserId> {
    id_by_name(c, "users", "user", name).map(UserId)
}

pub fn team_id(c: &dyn Tx, name: &str) -> DirResult<TeamId> {
    id_by_name(c, "teams", "team", name).map(TeamId)
}

/// The id of the row of `table` named `name`; none is a `NotFound` naming `what`.
fn id_by_name(c: &dyn Tx, table: &str, what: &str, name: &str) -> DirResult<i64> {
    let sql = format!("SELECT id FROM {table} WHERE name = $1");
    c.opt(&sql, &[&name], |r| r.get(0))?
        .ok_or_else(|| DirectoryError::NotFound(format!("{what} {name}")))
}

/// The id behind an operator's name for a principal.
pub fn resolve_principal(c: &dyn Tx, p: &PrincipalRef) -> DirResult<Principal> {
    Ok(match p {
        PrincipalRef::User(n) => Principal::User(user_id(c, n)?),
        PrincipalRef::Team(n) => Principal::Team(team_id(c, n)?),
        PrincipalRef::Public => Principal::Public,
        PrincipalRef::Authenticated => Principal::Authenticated,
    })
}

/// An entity row with what sharing needs.
pub struct EntityRow {
    pub info: EntityInfo,
    pub has_local_acl: bool,
}

impl EntityRow {
    /// A project's own ACL always counts, a repository's when it has local sharing
    /// settings.
    pub fn own_acl_applies(&self) -> bool {
        self.info.kind == EntityKind::Project || self.has_local_acl
    }

    /// Its facts, from its own ACL (when it applies) and its parent's row and ACL.
    pub fn into_facts(self, own_acl: Option<Acl>, parent: Option<(EntityRow, Acl)>) -> EntityFacts {
        let parent = parent.map(|(prow, acl)| ParentFacts {
            id: prow.info.id,
            is_project: prow.info.kind == EntityKind::Project,
            trashed: prow.info.trashed,
            acl,
        });
        EntityFacts {
            info: self.info,
            own_acl,
            parent,
        }
    }
}

/// An entity by id, the columns [`entity_row`] reads.
pub const ENTITY_BY_ID: &str =
    "SELECT e.id, e.kind, e.name, e.parent_id, e.trashed_at, e.created_at, e.has_local_acl
     FROM entities e WHERE e.id = $1";

pub fn entity_row(r: &SqlRow<'_, '_>) -> DirResult<EntityRow> {
    let kind = entity_kind(&r.get::<String>(1)?);
    let parent: Option<i64> = r.get(3)?;
    let name: String = r.get(2)?;
    // A managed repository is shown by its path, `<project id>/<name>`.
    let name = match (kind, parent) {
        (EntityKind::ManagedRepository, Some(p)) => format!("{}/{name}", EntityId(p as u64)),
        _ => name,
    };
    Ok(EntityRow {
        info: EntityInfo {
            id: EntityId(r.get::<i64>(0)? as u64),
            kind,
            name,
            parent: parent.map(|p| EntityId(p as u64)),
            trashed: r.get::<Option<i64>>(4)?.is_some(),
            created_at: r.get(5)?,
        },
        has_local_acl: r.get(6)?,
    })
}

pub fn entity_by_id(c: &dyn Tx, id: i64) -> DirResult<Option<EntityRow>> {
    c.opt(ENTITY_BY_ID, &[&id], entity_row)
}

/// A repository's id by path.
pub const REPO_ID: &str =
    "SELECT id FROM entities WHERE parent_id = $1 AND name = $2 AND kind = 'managed_repository'";

pub fn repo_id(c: &dyn Tx, path: &RepoPath) -> DirResult<Option<i64>> {
    c.opt(REPO_ID, &[&(path.project().0 as i64), &path.name()], |r| {
        r.get(0)
    })
}

/// The row an operator's reference names; `None` when there is none.
pub fn find(c: &dyn Tx, e: &EntityRef) -> DirResult<Option<EntityRow>> {
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
pub fn resolve(c: &dyn Tx, e: &EntityRef) -> DirResult<EntityRow> {
    find(c, e)?.ok_or_else(|| DirectoryError::NotFound(format!("entity {e}")))
}

/// An entity's ACL rows, the columns [`acl_entry`] reads.
pub const ACL_OF: &str =
    "SELECT principal_kind, principal_id, access_bits FROM acl_entries WHERE entity_id = $1";

pub fn acl_entry(r: &SqlRow<'_, '_>) -> DirResult<(Principal, AccessSet)> {
    Ok((
        principal(&r.get::<String>(0)?, r.get(1)?),
        AccessSet::from_bits_truncate(r.get::<i64>(2)? as u8),
    ))
}

pub fn acl_of(c: &dyn Tx, entity: i64) -> DirResult<Acl> {
    Ok(Acl::new(c.all(ACL_OF, &[&entity], acl_entry)?))
}

/// An entity's facts for the sharing and trash rules (see [`EntityRow::into_facts`]).
pub fn facts(c: &dyn Tx, row: EntityRow) -> DirResult<EntityFacts> {
    let own_acl = match row.own_acl_applies() {
        true => Some(acl_of(c, row.info.id.0 as i64)?),
        false => None,
    };
    let parent = match row.info.parent.map(|p| p.0 as i64) {
        Some(p) => entity_by_id(c, p)?
            .map(|prow| acl_of(c, p).map(|acl| (prow, acl)))
            .transpose()?,
        None => None,
    };
    Ok(row.into_facts(own_acl, parent))
}

/// Entities selected by `sql` (which returns ids), loaded in that order.
pub fn entities_by_query(
    c: &dyn Tx,
    sql: &str,
    params: &[&dyn Param],
) -> DirResult<Vec<EntityInfo>> {
    let ids = c.all(sql, params, |r| r.get::<i64>(0))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(row) = entity_by_id(c, id)? {
            out.push(row.info);
        }
    }
    Ok(out)
}

/// The next free entity id (ids start at 1000, as Synapse's do after its reserved
/// ones); callers hold the write lock, so no other writer takes it meanwhile.
pub fn next_entity_id(c: &dyn Tx) -> DirResult<i64> {
    c.one(
        "SELECT GREATEST(1000, COALESCE(MAX(id), 0) + 1) FROM entities",
        &[],
        |r| r.get(0),
    )
}

pub fn tag_info(r: &SqlRow<'_, '_>) -> DirResult<TagInfo> {
    Ok(TagInfo {
        tag: r.get::<Option<String>>(0)?.unwrap_or_default(),
        digest: r.get(1)?,
        media_type: r.get(2)?,
        size: r.get(3)?,
        pusher: r.get(4)?,
        pushed_at: r.get(5)?,
    })
}
