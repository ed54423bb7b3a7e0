//! Queries and row mappers the port implementations share (the SQLite directory's
//! `rows`, in PostgreSQL's dialect). Every statement is prepared once per connection.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::Row;

use crate::domain::authz::{EntityFacts, ParentFacts};
use crate::domain::events::ProjectPresence;
use crate::domain::model::{
    AccessSet, AccessTokenRecord, Acl, EntityId, EntityInfo, EntityKind, EntityRef,
    ParentTokenState, Principal, PrincipalRef, RefreshTokenRecord, TagInfo, TeamId, User, UserId,
};
use crate::domain::ports::{DirResult, DirectoryError};
use crate::domain::repo_name::RepoPath;
pub use crate::infra::stored::{entity_kind, principal, principal_key, scopes};

/// A statement parameter.
pub type P<'a> = &'a (dyn ToSql + Sync);

/// What the ingest rule decides a push on, as the facts statements (one push in
/// `registry`, a run in `push_run`) return it from column `at` on: the event id seen,
/// the project's kind and trashed flag, the repository's id and trashed flag.
pub struct PushFacts {
    pub seen: bool,
    pub project: ProjectPresence,
    /// The managed repository the push goes to, when it exists.
    pub repo: Option<i64>,
    pub repo_trashed: Option<bool>,
}

pub fn push_facts(r: &Row, at: usize) -> DirResult<PushFacts> {
    let project = match (g::<Option<&str>>(r, at + 1)?, g::<Option<bool>>(r, at + 2)?) {
        (None, _) => ProjectPresence::Missing,
        (Some("project"), trashed) => ProjectPresence::Project {
            trashed: trashed.unwrap_or(false),
        },
        (Some(_), _) => ProjectPresence::NotAProject,
    };
    let repo: Option<i64> = g(r, at + 3)?;
    Ok(PushFacts {
        seen: g(r, at)?,
        project,
        repo,
        repo_trashed: match repo {
            Some(_) => g(r, at + 4)?,
            None => None,
        },
    })
}

pub async fn opt<C: GenericClient>(c: &C, sql: &str, params: &[P<'_>]) -> DirResult<Option<Row>> {
    let st = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&st, params).await?)
}

pub async fn all<C: GenericClient>(c: &C, sql: &str, params: &[P<'_>]) -> DirResult<Vec<Row>> {
    let st = c.prepare_cached(sql).await?;
    Ok(c.query(&st, params).await?)
}

pub async fn exec<C: GenericClient>(c: &C, sql: &str, params: &[P<'_>]) -> DirResult<u64> {
    let st = c.prepare_cached(sql).await?;
    Ok(c.execute(&st, params).await?)
}

/// Column `i` of `r`; a type mismatch is a backend error, never a panic.
pub fn g<'a, T: FromSql<'a>>(r: &'a Row, i: usize) -> DirResult<T> {
    r.try_get(i)
        .map_err(|e| DirectoryError::Backend(format!("postgresql: column {i}: {e}")))
}

/// Rows mapped by `f`.
pub fn map<T>(rows: &[Row], f: impl Fn(&Row) -> DirResult<T>) -> DirResult<Vec<T>> {
    rows.iter().map(f).collect()
}

pub const USER_COLS: &str = "id, name, certified, admin, disabled, email";

pub fn user_row(r: &Row, off: usize) -> DirResult<User> {
    Ok(User {
        id: UserId(g(r, off)?),
        name: g(r, off + 1)?,
        certified: g(r, off + 2)?,
        admin: g(r, off + 3)?,
        disabled: g(r, off + 4)?,
        email: g(r, off + 5)?,
    })
}

pub async fn user_by_id<C: GenericClient>(c: &C, id: UserId) -> DirResult<Option<User>> {
    opt(
        c,
        &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
        &[&id.0],
    )
    .await?
    .map(|r| user_row(&r, 0))
    .transpose()
}

pub const TOKEN_SELECT: &str = "SELECT u.id, u.name, u.certified, u.admin, u.disabled, u.email, t.id, t.name, t.scopes, t.created_at, t.expires_at, t.revoked_at, t.last_used_at, t.parent_id
     FROM access_tokens t JOIN users u ON u.id = t.user_id";

pub fn access_token_row(r: &Row) -> DirResult<AccessTokenRecord> {
    Ok(AccessTokenRecord {
        user: user_row(r, 0)?,
        id: g(r, 6)?,
        name: g(r, 7)?,
        scopes: scopes(g(r, 8)?),
        created_at: g(r, 9)?,
        expires_at: g(r, 10)?,
        revoked: g::<Option<i64>>(r, 11)?.is_some(),
        last_used_at: g(r, 12)?,
        parent: g(r, 13)?,
    })
}

pub const REFRESH_SELECT: &str = "SELECT u.id, u.name, u.certified, u.admin, u.disabled, u.email, t.id, t.service, t.client_id, t.scopes,
        t.created_at, t.expires_at, t.revoked_at, a.id, a.revoked_at, a.expires_at, t.last_used_at
     FROM refresh_tokens t JOIN users u ON u.id = t.user_id
     LEFT JOIN access_tokens a ON a.id = t.access_token_id";

pub fn refresh_token_row(r: &Row) -> DirResult<RefreshTokenRecord> {
    let parent: Option<i64> = g(r, 13)?;
    Ok(RefreshTokenRecord {
        user: user_row(r, 0)?,
        id: g(r, 6)?,
        service: g(r, 7)?,
        client_id: g(r, 8)?,
        scopes: scopes(g(r, 9)?),
        created_at: g(r, 10)?,
        expires_at: g(r, 11)?,
        revoked: g::<Option<i64>>(r, 12)?.is_some(),
        via_access_token: match parent {
            Some(id) => Some(ParentTokenState {
                id,
                revoked: g::<Option<i64>>(r, 14)?.is_some(),
                expires_at: g(r, 15)?,
            }),
            None => None,
        },
        last_used_at: g(r, 16)?,
    })
}

pub async fn user_id<C: GenericClient>(c: &C, name: &str) -> DirResult<UserId> {
    match opt(c, "SELECT id FROM users WHERE name = $1", &[&name]).await? {
        Some(r) => Ok(UserId(g(&r, 0)?)),
        None => Err(DirectoryError::NotFound(format!("user {name}"))),
    }
}

pub async fn team_id<C: GenericClient>(c: &C, name: &str) -> DirResult<TeamId> {
    match opt(c, "SELECT id FROM teams WHERE name = $1", &[&name]).await? {
        Some(r) => Ok(TeamId(g(&r, 0)?)),
        None => Err(DirectoryError::NotFound(format!("team {name}"))),
    }
}

/// An entity row with what sharing needs.
pub struct EntityRow {
    pub info: EntityInfo,
    pub has_local_acl: bool,
}

pub async fn entity_by_id<C: GenericClient>(c: &C, id: i64) -> DirResult<Option<EntityRow>> {
    let Some(r) = opt(
        c,
        "SELECT e.id, e.kind, e.name, e.parent_id, e.trashed_at, e.created_at, e.has_local_acl
             FROM entities e WHERE e.id = $1",
        &[&id],
    )
    .await?
    else {
        return Ok(None);
    };
    let kind = entity_kind(g(&r, 1)?);
    let parent: Option<i64> = g(&r, 3)?;
    let name: String = g(&r, 2)?;
    // A managed repository is shown by its path, `<project id>/<name>`.
    let name = match (kind, parent) {
        (EntityKind::ManagedRepository, Some(p)) => format!("{}/{name}", EntityId(p as u64)),
        _ => name,
    };
    Ok(Some(EntityRow {
        info: EntityInfo {
            id: EntityId(g::<i64>(&r, 0)? as u64),
            kind,
            name,
            parent: parent.map(|p| EntityId(p as u64)),
            trashed: g::<Option<i64>>(&r, 4)?.is_some(),
            created_at: g(&r, 5)?,
        },
        has_local_acl: g(&r, 6)?,
    }))
}

pub async fn repo_id<C: GenericClient>(c: &C, path: &RepoPath) -> DirResult<Option<i64>> {
    opt(
        c,
        "SELECT id FROM entities WHERE parent_id = $1 AND name = $2 AND kind = 'managed_repository'",
        &[&(path.project().0 as i64), &path.name()],
    )
    .await?
    .map(|r| g(&r, 0))
    .transpose()
}

/// The row an operator's reference names; `None` when there is none.
pub async fn find<C: GenericClient>(c: &C, e: &EntityRef) -> DirResult<Option<EntityRow>> {
    let id = match e {
        EntityRef::Id(id) => Some(id.0 as i64),
        EntityRef::Repository(p) => repo_id(c, p).await?,
    };
    match id {
        Some(id) => entity_by_id(c, id).await,
        None => Ok(None),
    }
}

/// Like [`find`], a missing entity being an error.
pub async fn resolve<C: GenericClient>(c: &C, e: &EntityRef) -> DirResult<EntityRow> {
    find(c, e)
        .await?
        .ok_or_else(|| DirectoryError::NotFound(format!("entity {e}")))
}

pub async fn acl_of<C: GenericClient>(c: &C, entity: i64) -> DirResult<Acl> {
    let rows = all(
        c,
        "SELECT principal_kind, principal_id, access_bits FROM acl_entries WHERE entity_id = $1",
        &[&entity],
    )
    .await?;
    let entries = map(&rows, |r| {
        Ok((
            principal(g(r, 0)?, g(r, 1)?),
            AccessSet::from_bits_truncate(g::<i64>(r, 2)? as u8),
        ))
    })?;
    Ok(Acl::new(entries))
}

/// An entity's facts for the sharing and trash rules: its own ACL (a project's always,
/// a repository's when it has local sharing settings) and its project's state.
pub async fn facts<C: GenericClient>(c: &C, row: EntityRow) -> DirResult<EntityFacts> {
    let own = row.info.id.0 as i64;
    let own_acl = if row.info.kind == EntityKind::Project || row.has_local_acl {
        Some(acl_of(c, own).await?)
    } else {
        None
    };
    let parent = match row.info.parent {
        Some(p) => match entity_by_id(c, p.0 as i64).await? {
            Some(prow) => Some(ParentFacts {
                id: p,
                is_project: prow.info.kind == EntityKind::Project,
                trashed: prow.info.trashed,
                acl: acl_of(c, p.0 as i64).await?,
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
pub async fn resolve_principal<C: GenericClient>(c: &C, p: &PrincipalRef) -> DirResult<Principal> {
    Ok(match p {
        PrincipalRef::User(n) => Principal::User(user_id(c, n).await?),
        PrincipalRef::Team(n) => Principal::Team(team_id(c, n).await?),
        PrincipalRef::Public => Principal::Public,
        PrincipalRef::Authenticated => Principal::Authenticated,
    })
}

/// Entities selected by `sql` (which returns ids), loaded in that order.
pub async fn entities_by_query<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[P<'_>],
) -> DirResult<Vec<EntityInfo>> {
    let ids = map(&all(c, sql, params).await?, |r| g::<i64>(r, 0))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(row) = entity_by_id(c, id).await? {
            out.push(row.info);
        }
    }
    Ok(out)
}

/// The next free entity id (ids start at 1000, as Synapse's do after its reserved
/// ones); callers hold the write lock, so no other replica takes it meanwhile.
pub async fn next_entity_id<C: GenericClient>(c: &C) -> DirResult<i64> {
    let r = opt(
        c,
        "SELECT GREATEST(1000, COALESCE(MAX(id), 0) + 1) FROM entities",
        &[],
    )
    .await?
    .ok_or_else(|| DirectoryError::Backend("no next entity id".into()))?;
    g(&r, 0)
}

pub fn tag_info(r: &Row) -> DirResult<TagInfo> {
    Ok(TagInfo {
        tag: g::<Option<String>>(r, 0)?.unwrap_or_default(),
        digest: g(r, 1)?,
        media_type: g(r, 2)?,
        size: g(r, 3)?,
        pusher: g(r, 4)?,
        pushed_at: g(r, 5)?,
    })
}
