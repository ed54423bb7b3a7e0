//! Login facts: users with their password hash, access and refresh tokens by hash, team
//! membership; and the creation of refresh tokens.

use rusqlite::{params, OptionalExtension};

use super::rows::{
    access_token_row, refresh_token_row, user_row, REFRESH_SELECT, TOKEN_SELECT, USER_COLS,
};
use super::SqliteDirectory;
use crate::domain::model::{
    AccessTokenRecord, Email, NewRefreshToken, RefreshTokenRecord, TeamId, TokenHash, UnixTime,
    UserCredentials, UserId,
};
use crate::domain::ports::{ChangeVersion, CredentialStore, DirResult, Pace, RefreshTokenStore};

/// A local file answers at any `Pace`.
impl CredentialStore for SqliteDirectory {
    fn user_credentials(&self, login: &str, _: Pace) -> DirResult<Option<UserCredentials>> {
        // A login with an `@` is an e-mail address (user names never hold one), kept
        // lower-case; anything else is a user name, matched exactly.
        let (column, login) = if Email::looks_like(login) {
            ("email", login.to_ascii_lowercase())
        } else {
            ("name", login.to_string())
        };
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {USER_COLS}, password_hash FROM users WHERE {column} = ?1"
            ))?
            .query_row([&login], |r| {
                Ok(UserCredentials {
                    user: user_row(r, 0)?,
                    password_hash: r.get(6)?,
                })
            })
            .optional()?)
        })
    }

    fn access_token(&self, hash: &TokenHash, _: Pace) -> DirResult<Option<AccessTokenRecord>> {
        self.read(|c| {
            Ok(
                c.prepare_cached(&format!("{TOKEN_SELECT} WHERE t.hash = ?1"))?
                    .query_row([&hash[..]], access_token_row)
                    .optional()?,
            )
        })
    }

    fn refresh_token(&self, hash: &TokenHash, _: Pace) -> DirResult<Option<RefreshTokenRecord>> {
        self.read(|c| {
            Ok(
                c.prepare_cached(&format!("{REFRESH_SELECT} WHERE t.hash = ?1"))?
                    .query_row([&hash[..]], refresh_token_row)
                    .optional()?,
            )
        })
    }

    fn teams_of(&self, user: UserId, _: Pace) -> DirResult<Vec<TeamId>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT team_id FROM team_members WHERE user_id = ?1")?;
            let rows = stmt.query_map([user.0], |r| r.get(0).map(TeamId))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

impl RefreshTokenStore for SqliteDirectory {
    fn create_refresh_token(&self, t: &NewRefreshToken, now: UnixTime) -> DirResult<i64> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO refresh_tokens (user_id, hash, service, client_id, scopes, access_token_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                t.user.0,
                &t.hash[..],
                t.service,
                t.client_id,
                t.scopes.bits() as i64,
                t.access_token_id,
                now,
                t.expires_at
            ])?;
            Ok(tx.last_insert_rowid())
        })
    }
}

impl ChangeVersion for SqliteDirectory {
    fn local_writes(&self) -> u64 {
        SqliteDirectory::local_writes(self)
    }

    fn change_version(&self, _: Pace) -> DirResult<u64> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT version FROM change_counter WHERE id = 1")?
                    .query_row([], |r| r.get::<_, i64>(0))? as u64,
            )
        })
    }
}
