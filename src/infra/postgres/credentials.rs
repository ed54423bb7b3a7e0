//! Login facts: users with their password hash, access and refresh tokens by hash, team
//! membership; the creation of refresh tokens; the change counter.

use super::rows::{
    access_token_row, all, g, map, opt, refresh_token_row, user_row, REFRESH_SELECT, TOKEN_SELECT,
    USER_COLS,
};
use super::{change, read, PgDirectory};
use crate::domain::model::{
    AccessTokenRecord, Email, NewRefreshToken, RefreshTokenRecord, TeamId, TokenHash, UnixTime,
    UserCredentials, UserId,
};
use crate::domain::ports::{
    ChangeVersion, CredentialStore, DirResult, DirectoryError, Pace, RefreshTokenStore,
};

impl CredentialStore for PgDirectory {
    fn user_credentials(&self, login: &str, pace: Pace) -> DirResult<Option<UserCredentials>> {
        on_the_network(pace)?;
        // A login with an `@` is an e-mail address (user names never hold one), kept
        // lower-case; anything else is a user name, matched exactly.
        let (column, login) = if Email::looks_like(login) {
            ("email", login.to_ascii_lowercase())
        } else {
            ("name", login.to_string())
        };
        read!(self, |c| {
            let sql = format!("SELECT {USER_COLS}, password_hash FROM users WHERE {column} = $1");
            match opt(c, &sql, &[&login]).await? {
                Some(r) => Ok(Some(UserCredentials {
                    user: user_row(&r, 0)?,
                    password_hash: g(&r, 6)?,
                })),
                None => Ok(None),
            }
        })
    }

    fn access_token(&self, hash: &TokenHash, pace: Pace) -> DirResult<Option<AccessTokenRecord>> {
        on_the_network(pace)?;
        read!(self, |c| {
            let sql = format!("{TOKEN_SELECT} WHERE t.hash = $1");
            opt(c, &sql, &[&&hash[..]])
                .await?
                .map(|r| access_token_row(&r))
                .transpose()
        })
    }

    fn refresh_token(&self, hash: &TokenHash, pace: Pace) -> DirResult<Option<RefreshTokenRecord>> {
        on_the_network(pace)?;
        read!(self, |c| {
            let sql = format!("{REFRESH_SELECT} WHERE t.hash = $1");
            opt(c, &sql, &[&&hash[..]])
                .await?
                .map(|r| refresh_token_row(&r))
                .transpose()
        })
    }

    fn teams_of(&self, user: UserId, pace: Pace) -> DirResult<Vec<TeamId>> {
        on_the_network(pace)?;
        read!(self, |c| {
            let rows = all(
                c,
                "SELECT team_id FROM team_members WHERE user_id = $1",
                &[&user.0],
            )
            .await?;
            map(&rows, |r| g(r, 0).map(TeamId))
        })
    }
}

impl RefreshTokenStore for PgDirectory {
    fn create_refresh_token(&self, t: &NewRefreshToken, now: UnixTime) -> DirResult<i64> {
        change!(self, |tx| {
            let r = opt(
                tx,
                "INSERT INTO refresh_tokens (user_id, hash, service, client_id, scopes, access_token_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[
                    &t.user.0,
                    &&t.hash[..],
                    &t.service,
                    &t.client_id,
                    &(t.scopes.bits() as i64),
                    &t.access_token_id,
                    &now,
                    &t.expires_at,
                ],
            )
            .await?;
            match r {
                Some(r) => g(&r, 0),
                None => Err(DirectoryError::Backend("insert returned no id".into())),
            }
        })
    }
}

impl ChangeVersion for PgDirectory {
    fn change_version(&self, pace: Pace) -> DirResult<u64> {
        on_the_network(pace)?;
        read!(self, |c| {
            match opt(c, "SELECT version FROM change_counter WHERE id = 1", &[]).await? {
                Some(r) => Ok(g::<i64>(&r, 0)? as u64),
                None => Err(DirectoryError::Backend("change counter missing".into())),
            }
        })
    }
}

/// The database is across the network: on the event loop (`Pace::Inline`) it is not
/// asked at all (the cache in front answers what it holds).
pub(super) fn on_the_network(pace: Pace) -> DirResult<()> {
    match pace {
        Pace::Inline => Err(DirectoryError::WouldBlock),
        Pace::MayBlock => Ok(()),
    }
}
