//! Personal access tokens; refresh tokens listed and revoked; when each was last used.

use rusqlite::params;

use super::rows::{access_token_row, refresh_token_row, user_by_id, REFRESH_SELECT, TOKEN_SELECT};
use super::SqliteDirectory;
use crate::domain::model::{
    AccessTokenRecord, NewAccessToken, RefreshTokenRecord, UnixTime, UsedToken, UserId,
};
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
                last_used_at: None,
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

    fn list_refresh_tokens(&self, user: UserId) -> DirResult<Vec<RefreshTokenRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "{REFRESH_SELECT} WHERE t.user_id = ?1 ORDER BY t.id"
            ))?;
            let rows = stmt.query_map([user.0], refresh_token_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn revoke_refresh_token(&self, id: i64, now: UnixTime) -> DirResult<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, ?1) WHERE id = ?2",
                params![now, id],
            )?;
            if n == 0 {
                return Err(DirectoryError::NotFound(format!("refresh token {id}")));
            }
            Ok(())
        })
    }

    fn record_token_use(&self, uses: &[(UsedToken, UnixTime)]) -> DirResult<()> {
        if uses.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for (token, at) in uses {
                let (table, id) = match token {
                    UsedToken::Access(id) => ("access_tokens", id),
                    UsedToken::Refresh(id) => ("refresh_tokens", id),
                };
                tx.prepare_cached(&format!(
                    "UPDATE {table} SET last_used_at = MAX(COALESCE(last_used_at, 0), ?1) WHERE id = ?2"
                ))?
                .execute(params![at, id])?;
            }
            Ok(())
        })
    }
}
