//! The shared lookups and decoders (`infra::sql::rows`), as the SQLite modules call
//! them: a connection or a write transaction is a `Tx`, and the decoders come in the
//! shape rusqlite's `query_row` and `query_map` take.

use crate::domain::model::{AccessTokenRecord, RefreshTokenRecord, User};
use crate::domain::ports::DirResult;
pub use crate::infra::sql::rows::{
    acl_of, entity_by_id, facts, find, next_entity_id, repo_id, REFRESH_SELECT, TOKEN_SELECT,
    USER_COLS,
};
use crate::infra::sql::{rows as shared, SqlRow};

fn lite<T>(decoded: DirResult<T>) -> rusqlite::Result<T> {
    decoded.map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Null, Box::new(e))
    })
}

pub fn user_row(r: &rusqlite::Row, off: usize) -> rusqlite::Result<User> {
    lite(shared::user_row(&SqlRow::Lite(r), off))
}

pub fn access_token_row(r: &rusqlite::Row) -> rusqlite::Result<AccessTokenRecord> {
    lite(shared::access_token_row(&SqlRow::Lite(r)))
}

pub fn refresh_token_row(r: &rusqlite::Row) -> rusqlite::Result<RefreshTokenRecord> {
    lite(shared::refresh_token_row(&SqlRow::Lite(r)))
}
