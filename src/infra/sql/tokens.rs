//! Personal access tokens; refresh tokens listed and revoked; when each was last used.
//! One script each for both engines.

use super::rows::{access_token_row, refresh_token_row, user_by_id, REFRESH_SELECT, TOKEN_SELECT};
use super::SqlDirectory;
use crate::domain::model::{
    AccessTokenRecord, NewAccessToken, ParentTokenState, RefreshTokenRecord, UnixTime, UsedToken,
    UserId,
};
use crate::domain::ports::{DirResult, DirectoryError, TokenAdmin};

impl<D: SqlDirectory> TokenAdmin for D {
    /// One transaction holding the writers' lock (SQLite's `IMMEDIATE` one, or
    /// PostgreSQL's advisory lock, after which each READ COMMITTED statement sees what
    /// committed before it): the count and the parent are read under the lock, so
    /// concurrent mints, in this process or another replica, take turns and cannot
    /// together pass `max_live`.
    fn create_access_token(
        &self,
        t: &NewAccessToken,
        max_live: Option<usize>,
        now: UnixTime,
    ) -> DirResult<AccessTokenRecord> {
        self.change_script(|tx| {
            let user = user_by_id(tx, t.user)?
                .ok_or_else(|| DirectoryError::NotFound(format!("user id {}", t.user.0)))?;
            let parent_row = match t.parent {
                Some(id) => tx.opt(
                    "SELECT user_id, revoked_at, expires_at FROM access_tokens WHERE id = $1",
                    &[&id],
                    |r| {
                        Ok((
                            UserId(r.get(0)?),
                            ParentTokenState {
                                id,
                                revoked: r.get::<Option<i64>>(1)?.is_some(),
                                expires_at: r.get(2)?,
                            },
                        ))
                    },
                )?,
                None => None,
            };
            let in_force = match max_live {
                Some(_) => tx.one(
                    "SELECT COUNT(*) FROM access_tokens WHERE user_id = $1
                     AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
                    &[&t.user.0, &now],
                    |r| r.get::<i64>(0),
                )? as usize,
                None => 0,
            };
            let expires_at = t.admit(parent_row, in_force, max_live, now)?;
            let id = tx.one(
                "INSERT INTO access_tokens (user_id, name, hash, scopes, created_at, expires_at, parent_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    &t.user.0,
                    &t.name,
                    &&t.hash[..],
                    &(t.scopes.bits() as i64),
                    &now,
                    &expires_at,
                    &t.parent,
                ],
                |r| r.get(0),
            )?;
            Ok(AccessTokenRecord {
                id,
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
        let sql = format!("{TOKEN_SELECT} WHERE t.user_id = $1 ORDER BY t.id");
        self.read_script(|c| c.all(&sql, &[&user.0], access_token_row))
    }

    /// Every row the recursive walk down `parent_id` reaches, in one statement (one
    /// bump of the change counter by the update trigger, which drops the descendants
    /// from every cache too).
    fn revoke_access_token(&self, id: i64, now: UnixTime) -> DirResult<()> {
        let sql = "WITH RECURSIVE minted(id) AS (
                SELECT id FROM access_tokens WHERE id = $2
                UNION
                SELECT t.id FROM access_tokens t JOIN minted m ON t.parent_id = m.id
            )
            UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, $1)
            WHERE id IN (SELECT id FROM minted)";
        revoke(self, sql, id, now, "access token")
    }

    fn revoke_refresh_tokens(&self, user: UserId, now: UnixTime) -> DirResult<usize> {
        self.change_script(|tx| {
            Ok(tx.exec(
                "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                &[&now, &user.0],
            )? as usize)
        })
    }

    fn list_refresh_tokens(&self, user: UserId) -> DirResult<Vec<RefreshTokenRecord>> {
        let sql = format!("{REFRESH_SELECT} WHERE t.user_id = $1 ORDER BY t.id");
        self.read_script(|c| c.all(&sql, &[&user.0], refresh_token_row))
    }

    fn revoke_refresh_token(&self, id: i64, now: UnixTime) -> DirResult<()> {
        let sql = "UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2";
        revoke(self, sql, id, now, "refresh token")
    }

    /// Not a change the token path reads: no counter moves.
    fn record_token_use(&self, uses: &[(UsedToken, UnixTime)]) -> DirResult<()> {
        if uses.is_empty() {
            return Ok(());
        }
        self.change_script(|tx| {
            for (token, at) in uses {
                let (table, id) = match token {
                    UsedToken::Access(id) => ("access_tokens", id),
                    UsedToken::Refresh(id) => ("refresh_tokens", id),
                };
                tx.exec(
                    &format!("UPDATE {table} SET last_used_at = GREATEST(COALESCE(last_used_at, 0), $1) WHERE id = $2"),
                    &[at, id],
                )?;
            }
            Ok(())
        })
    }
}

/// Revokes token `id` by `sql` (`$1` the time, `$2` the id), keeping a first
/// revocation's time; no such token is `NotFound`, naming it `what`.
fn revoke(d: &impl SqlDirectory, sql: &str, id: i64, now: UnixTime, what: &str) -> DirResult<()> {
    d.change_script(|tx| tx.exec_found(sql, &[&now, &id], &format!("{what} {id}")))
}
