//! Personal access tokens, and the revocation of refresh tokens.

use rusqlite::params;

use super::rows::{access_token_row, user_by_id, TOKEN_SELECT};
use super::SqliteDirectory;
use crate::domain::model::{AccessTokenRecord, NewAccessToken, UnixTime, UserId};
use crate::domain::ports::{DirResult, DirectoryError, TokenAdmin};

impl TokenAdmin for SqliteDirectory {
    fn create_access_token(
        &self,
        t: &NewAccessToken,
        now: UnixTime,
    ) -> DirResult<AccessTokenRecord> {
        self.write(|tx| {
            let user = user_by_id(tx, t.user)?
                .ok_or_else(|| DirectoryError::NotFound(format!("user id {}", t.user.0)))?;
            tx.execute(
                "INSERT INTO access_tokens (user_id, name, hash, scopes, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![t.user.0, t.name, &t.hash[..], t.scopes.bits() as i64, now, t.expires_at],
            )?;
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

    fn list_access_tokens(&self, user: UserId) -> DirResult<Vec<AccessTokenRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "{TOKEN_SELECT} WHERE t.user_id = ?1 ORDER BY t.id"
            ))?;
            let rows = stmt.query_map([user.0], access_token_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn revoke_access_token(&self, id: i64, now: UnixTime) -> DirResult<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
                params![now, id],
            )?;
            if n == 0 {
                return Err(DirectoryError::NotFound(format!("access token {id}")));
            }
            Ok(())
        })
    }

    fn revoke_refresh_tokens(&self, user: UserId, now: UnixTime) -> DirResult<usize> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE refresh_tokens SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
                params![now, user.0],
            )?)
        })
    }
}
