//! Personal access tokens; refresh tokens listed and revoked; when each was last used.

use rusqlite::{params, OptionalExtension};

use super::rows::{access_token_row, refresh_token_row, user_by_id, REFRESH_SELECT, TOKEN_SELECT};
use super::SqliteDirectory;
use crate::domain::model::{
    AccessTokenRecord, NewAccessToken, ParentTokenState, RefreshTokenRecord, UnixTime, UsedToken,
    UserId,
};
use crate::domain::ports::{DirResult, DirectoryError, TokenAdmin};

impl TokenAdmin for SqliteDirectory {
    /// One `IMMEDIATE` transaction: the write lock is held from before the count and
    /// the parent are read until the row is in, so concurrent mints (in this process or
    /// another) take turns and cannot together pass `max_live`.
    fn create_access_token(
        &self,
        t: &NewAccessToken,
        max_live: Option<usize>,
        now: UnixTime,
    ) -> DirResult<AccessTokenRecord> {
        self.write(|tx| {
            let user = user_by_id(tx, t.user)?
                .ok_or_else(|| DirectoryError::NotFound(format!("user id {}", t.user.0)))?;
            let parent_row = match t.parent {
                Some(id) => tx
                    .prepare_cached(
                        "SELECT user_id, revoked_at, expires_at FROM access_tokens WHERE id = ?1",
                    )?
                    .query_row([id], |r| {
                        Ok((
                            UserId(r.get(0)?),
                            ParentTokenState {
                                id,
                                revoked: r.get::<_, Option<i64>>(1)?.is_some(),
                                expires_at: r.get(2)?,
                            },
                        ))
                    })
                    .optional()?,
                None => None,
            };
            let in_force = match max_live {
                Some(_) => tx
                    .prepare_cached(
                        "SELECT COUNT(*) FROM access_tokens WHERE user_id = ?1
                         AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)",
                    )?
                    .query_row(params![t.user.0, now], |r| r.get::<_, i64>(0))?
                    as usize,
                None => 0,
            };
            let expires_at = t.admit(parent_row, in_force, max_live, now)?;
            tx.execute(
                "INSERT INTO access_tokens (user_id, name, hash, scopes, created_at, expires_at, parent_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![t.user.0, t.name, &t.hash[..], t.scopes.bits() as i64, now, expires_at, t.parent],
            )?;
            Ok(AccessTokenRecord {
                id: tx.last_insert_rowid(),
                user,
                name: t.name.clone(),
                scopes: t.scopes,
                created_at: now,
                expires_at,
                revoked: false,
                last_used_at: None,
                parent: t.parent,
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

    /// Every row the recursive walk down `parent_id` reaches, in one statement: the
    /// update trigger moves the change counter, so caches drop the descendants too.
    fn revoke_access_token(&self, id: i64, now: UnixTime) -> DirResult<()> {
        self.write(|tx| {
            let n = tx.execute(
                "WITH RECURSIVE minted(id) AS (
                     SELECT id FROM access_tokens WHERE id = ?2
                     UNION
                     SELECT t.id FROM access_tokens t JOIN minted m ON t.parent_id = m.id
                 )
                 UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, ?1)
                 WHERE id IN (SELECT id FROM minted)",
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
