//! Personal access tokens; refresh tokens listed and revoked; when each was last used.

use super::rows::{
    access_token_row, all, exec, g, map, opt, refresh_token_row, user_by_id, REFRESH_SELECT,
    TOKEN_SELECT,
};
use super::{change, read, PgDirectory};
use crate::domain::model::{
    AccessTokenRecord, NewAccessToken, ParentTokenState, RefreshTokenRecord, UnixTime, UsedToken,
    UserId,
};
use crate::domain::ports::{DirResult, DirectoryError, TokenAdmin};

impl TokenAdmin for PgDirectory {
    /// One transaction under the writers' advisory lock: the count and the parent are
    /// read after the lock is taken (each statement of a READ COMMITTED transaction sees
    /// what committed before it), so concurrent mints in every replica take turns and
    /// cannot together pass `max_live`.
    fn create_access_token(
        &self,
        t: &NewAccessToken,
        max_live: Option<usize>,
        now: UnixTime,
    ) -> DirResult<AccessTokenRecord> {
        change!(self, |tx| {
            let user = user_by_id(tx, t.user)
                .await?
                .ok_or_else(|| DirectoryError::NotFound(format!("user id {}", t.user.0)))?;
            let parent_row = match t.parent {
                Some(id) => match opt(
                    tx,
                    "SELECT user_id, revoked_at, expires_at FROM access_tokens WHERE id = $1",
                    &[&id],
                )
                .await?
                {
                    Some(r) => Some((
                        UserId(g(&r, 0)?),
                        ParentTokenState {
                            id,
                            revoked: g::<Option<i64>>(&r, 1)?.is_some(),
                            expires_at: g(&r, 2)?,
                        },
                    )),
                    None => None,
                },
                None => None,
            };
            let in_force = match max_live {
                Some(_) => {
                    let r = opt(
                        tx,
                        "SELECT COUNT(*) FROM access_tokens WHERE user_id = $1
                         AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
                        &[&t.user.0, &now],
                    )
                    .await?
                    .ok_or_else(|| DirectoryError::Backend("count returned no row".into()))?;
                    g::<i64>(&r, 0)? as usize
                }
                None => 0,
            };
            let expires_at = t.admit(parent_row, in_force, max_live, now)?;
            let r = opt(
                tx,
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
            )
            .await?
            .ok_or_else(|| DirectoryError::Backend("insert returned no id".into()))?;
            Ok(AccessTokenRecord {
                id: g(&r, 0)?,
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
        read!(self, |c| {
            let sql = format!("{TOKEN_SELECT} WHERE t.user_id = $1 ORDER BY t.id");
            map(&all(c, &sql, &[&user.0]).await?, access_token_row)
        })
    }

    /// Every row the recursive walk down `parent_id` reaches, in one statement (one
    /// bump of the change counter, which drops the descendants from every cache too).
    fn revoke_access_token(&self, id: i64, now: UnixTime) -> DirResult<()> {
        change!(self, |tx| {
            let n = exec(
                tx,
                "WITH RECURSIVE minted(id) AS (
                     SELECT id FROM access_tokens WHERE id = $2
                     UNION
                     SELECT t.id FROM access_tokens t JOIN minted m ON t.parent_id = m.id
                 )
                 UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, $1)
                 WHERE id IN (SELECT id FROM minted)",
                &[&now, &id],
            )
            .await?;
            if n == 0 {
                return Err(DirectoryError::NotFound(format!("access token {id}")));
            }
            Ok(())
        })
    }

    fn revoke_refresh_tokens(&self, user: UserId, now: UnixTime) -> DirResult<usize> {
        change!(self, |tx| {
            Ok(exec(
                tx,
                "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                &[&now, &user.0],
            )
            .await? as usize)
        })
    }

    fn list_refresh_tokens(&self, user: UserId) -> DirResult<Vec<RefreshTokenRecord>> {
        read!(self, |c| {
            let sql = format!("{REFRESH_SELECT} WHERE t.user_id = $1 ORDER BY t.id");
            map(&all(c, &sql, &[&user.0]).await?, refresh_token_row)
        })
    }

    fn revoke_refresh_token(&self, id: i64, now: UnixTime) -> DirResult<()> {
        revoke(self, "refresh_tokens", "refresh token", id, now)
    }

    /// Not a change the token path reads: no counter moves.
    fn record_token_use(&self, uses: &[(UsedToken, UnixTime)]) -> DirResult<()> {
        if uses.is_empty() {
            return Ok(());
        }
        change!(self, |tx| {
            for (token, at) in uses {
                let (table, id) = match token {
                    UsedToken::Access(id) => ("access_tokens", id),
                    UsedToken::Refresh(id) => ("refresh_tokens", id),
                };
                exec(
                    tx,
                    &format!("UPDATE {table} SET last_used_at = GREATEST(COALESCE(last_used_at, 0), $1) WHERE id = $2"),
                    &[at, id],
                )
                .await?;
            }
            Ok(())
        })
    }
}

/// Revokes one token (keeping the first revocation's time).
fn revoke(dir: &PgDirectory, table: &str, what: &str, id: i64, now: UnixTime) -> DirResult<()> {
    change!(dir, |tx| {
        let n = exec(
            tx,
            &format!("UPDATE {table} SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2"),
            &[&now, &id],
        )
        .await?;
        if n == 0 {
            return Err(DirectoryError::NotFound(format!("{what} {id}")));
        }
        Ok(())
    })
}
