//! Queries and row mappers the port implementations share (the SQLite directory's
//! `rows`, in PostgreSQL's dialect). Every statement is prepared once per connection.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::Row;

use crate::domain::authz::EntityFacts;
use crate::domain::events::ProjectPresence;
use crate::domain::model::{AccessTokenRecord, Acl, EntityRef, RefreshTokenRecord, User};
use crate::domain::ports::{DirResult, DirectoryError};
use crate::domain::repo_name::RepoPath;

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

pub use crate::infra::sql::rows::{REFRESH_SELECT, TOKEN_SELECT, USER_COLS};
use crate::infra::sql::{rows as shared, SqlRow};

pub fn user_row(r: &Row, off: usize) -> DirResult<User> {
    shared::user_row(&SqlRow::Pg(r), off)
}

pub fn access_token_row(r: &Row) -> DirResult<AccessTokenRecord> {
    shared::access_token_row(&SqlRow::Pg(r))
}

pub fn refresh_token_row(r: &Row) -> DirResult<RefreshTokenRecord> {
    shared::refresh_token_row(&SqlRow::Pg(r))
}

pub use crate::infra::sql::rows::EntityRow;
use crate::infra::sql::rows::{acl_entry, entity_row, ACL_OF, ENTITY_BY_ID, REPO_ID};

pub async fn entity_by_id<C: GenericClient>(c: &C, id: i64) -> DirResult<Option<EntityRow>> {
    match opt(c, ENTITY_BY_ID, &[&id]).await? {
        Some(r) => Ok(Some(entity_row(&SqlRow::Pg(&r))?)),
        None => Ok(None),
    }
}

pub async fn repo_id<C: GenericClient>(c: &C, path: &RepoPath) -> DirResult<Option<i64>> {
    let params: [P<'_>; 2] = [&(path.project().0 as i64), &path.name()];
    opt(c, REPO_ID, &params)
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

pub async fn acl_of<C: GenericClient>(c: &C, entity: i64) -> DirResult<Acl> {
    let rows = all(c, ACL_OF, &[&entity]).await?;
    Ok(Acl::new(map(&rows, |r| acl_entry(&SqlRow::Pg(r)))?))
}

/// An entity's facts for the sharing and trash rules (see [`EntityRow::into_facts`]).
pub async fn facts<C: GenericClient>(c: &C, row: EntityRow) -> DirResult<EntityFacts> {
    let own_acl = match row.own_acl_applies() {
        true => Some(acl_of(c, row.info.id.0 as i64).await?),
        false => None,
    };
    let parent = match row.info.parent.map(|p| p.0 as i64) {
        Some(p) => match entity_by_id(c, p).await? {
            Some(prow) => Some((prow, acl_of(c, p).await?)),
            None => None,
        },
        None => None,
    };
    Ok(row.into_facts(own_acl, parent))
}
