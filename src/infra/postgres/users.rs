//! Users and teams.

use super::rows::{all, exec, g, map, opt, team_id, user_by_id, user_id, user_row, P, USER_COLS};
use super::{change, read, PgDirectory};
use crate::domain::model::{Email, NewUser, TeamId, TeamName, UnixTime, User, UserId, UserUpdate};
use crate::domain::ports::{
    DirResult, DirectoryError, EndTokens, TeamAdmin, UserAdmin, UserUpdated,
};

impl UserAdmin for PgDirectory {
    fn add_user(&self, u: &NewUser, now: UnixTime) -> DirResult<User> {
        let name = u.name.as_str();
        change!(self, |tx| {
            if opt(tx, "SELECT 1 FROM users WHERE name = $1", &[&name])
                .await?
                .is_some()
            {
                return Err(DirectoryError::Conflict(format!("user {name}")));
            }
            let email = u.email.as_ref().map(Email::as_str);
            email_free(tx, email, None).await?;
            let r = opt(
                tx,
                "INSERT INTO users (name, password_hash, certified, admin, created_at, email)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &name,
                    &u.password_hash,
                    &u.certified,
                    &u.admin,
                    &now,
                    &email,
                ],
            )
            .await?
            .ok_or_else(|| DirectoryError::Backend("insert returned no id".into()))?;
            Ok(User {
                id: UserId(g(&r, 0)?),
                name: name.to_string(),
                certified: u.certified,
                admin: u.admin,
                disabled: false,
                email: email.map(str::to_string),
            })
        })
    }

    fn update_user(
        &self,
        name: &str,
        u: &UserUpdate,
        ends: EndTokens,
        now: UnixTime,
    ) -> DirResult<UserUpdated> {
        change!(self, |tx| {
            let id = user_id(tx, name).await?;
            async fn set(
                tx: &deadpool_postgres::Transaction<'_>,
                column: &str,
                value: P<'_>,
                id: UserId,
            ) -> DirResult<()> {
                exec(
                    tx,
                    &format!("UPDATE users SET {column} = $1 WHERE id = $2"),
                    &[value, &id.0],
                )
                .await?;
                Ok(())
            }
            if let Some(v) = &u.certified {
                set(tx, "certified", v, id).await?;
            }
            if let Some(v) = &u.admin {
                set(tx, "admin", v, id).await?;
            }
            if let Some(v) = &u.disabled {
                set(tx, "disabled", v, id).await?;
            }
            if let Some(h) = &u.password_hash {
                set(tx, "password_hash", h, id).await?;
            }
            if let Some(email) = &u.email {
                let email = email.as_ref().map(Email::as_str);
                email_free(tx, email, Some(id)).await?;
                set(tx, "email", &email, id).await?;
            }
            let mut ended = [0u64; 2];
            for (i, (table, wanted)) in [
                ("refresh_tokens", ends.refresh_tokens),
                ("access_tokens", ends.access_tokens),
            ]
            .into_iter()
            .enumerate()
            {
                if wanted {
                    ended[i] = exec(
                        tx,
                        &format!("UPDATE {table} SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL"),
                        &[&now, &id.0],
                    )
                    .await?;
                }
            }
            let user = user_by_id(tx, id)
                .await?
                .ok_or_else(|| DirectoryError::NotFound(format!("user {name}")))?;
            Ok(UserUpdated {
                user,
                refresh_tokens_ended: ended[0] as usize,
                access_tokens_ended: ended[1] as usize,
            })
        })
    }

    fn user_by_name(&self, name: &str) -> DirResult<Option<User>> {
        read!(self, |c| {
            opt(
                c,
                &format!("SELECT {USER_COLS} FROM users WHERE name = $1"),
                &[&name],
            )
            .await?
            .map(|r| user_row(&r, 0))
            .transpose()
        })
    }

    fn list_users(&self) -> DirResult<Vec<User>> {
        read!(self, |c| {
            let rows = all(
                c,
                &format!("SELECT {USER_COLS} FROM users ORDER BY name COLLATE \"C\""),
                &[],
            )
            .await?;
            map(&rows, |r| user_row(r, 0))
        })
    }
}

/// An address is unique across users: a taken one is a conflict naming the field.
async fn email_free(
    tx: &deadpool_postgres::Transaction<'_>,
    email: Option<&str>,
    owner: Option<UserId>,
) -> DirResult<()> {
    let Some(email) = email else { return Ok(()) };
    let holder = opt(tx, "SELECT id FROM users WHERE email = $1", &[&email]).await?;
    match holder {
        Some(h) if Some(UserId(g(&h, 0)?)) != owner => Err(DirectoryError::Conflict(format!(
            "e-mail address {email} (another user's)"
        ))),
        _ => Ok(()),
    }
}

impl TeamAdmin for PgDirectory {
    fn add_team(&self, name: &TeamName) -> DirResult<TeamId> {
        let name = name.as_str();
        change!(self, |tx| {
            if team_id(tx, name).await.is_ok() {
                return Err(DirectoryError::Conflict(format!("team {name}")));
            }
            let r = opt(
                tx,
                "INSERT INTO teams (name) VALUES ($1) RETURNING id",
                &[&name],
            )
            .await?
            .ok_or_else(|| DirectoryError::Backend("insert returned no id".into()))?;
            Ok(TeamId(g(&r, 0)?))
        })
    }

    fn add_team_member(&self, team: &str, user: &str) -> DirResult<()> {
        change!(self, |tx| {
            let (t, u) = (team_id(tx, team).await?, user_id(tx, user).await?);
            exec(
                tx,
                "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&t.0, &u.0],
            )
            .await?;
            Ok(())
        })
    }

    fn remove_team_member(&self, team: &str, user: &str) -> DirResult<()> {
        change!(self, |tx| {
            let (t, u) = (team_id(tx, team).await?, user_id(tx, user).await?);
            let n = exec(
                tx,
                "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2",
                &[&t.0, &u.0],
            )
            .await?;
            if n == 0 {
                return Err(DirectoryError::NotFound(format!("{user} in team {team}")));
            }
            Ok(())
        })
    }
}
