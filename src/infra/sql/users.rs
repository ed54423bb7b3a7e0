//! Users and teams, one script each for both engines.

use super::rows::{team_id, user_by_id, user_id, user_row, USER_COLS};
use super::{Param, SqlDirectory, Tx};
use crate::domain::model::{Email, NewUser, TeamId, TeamName, UnixTime, User, UserId, UserUpdate};
use crate::domain::ports::{
    DirResult, DirectoryError, EndTokens, TeamAdmin, UserAdmin, UserUpdated,
};

impl<D: SqlDirectory> UserAdmin for D {
    fn add_user(&self, u: &NewUser, now: UnixTime) -> DirResult<User> {
        let name = u.name.as_str();
        self.change_script(|tx| {
            if user_id(tx, name).is_ok() {
                return Err(DirectoryError::Conflict(format!("user {name}")));
            }
            let email = u.email.as_ref().map(Email::as_str);
            email_free(tx, email, None)?;
            let id = tx.one(
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
                |r| r.get(0),
            )?;
            Ok(User {
                id: UserId(id),
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
        self.change_script(|tx| {
            let id = user_id(tx, name)?;
            let set = |column: &str, value: &dyn Param| -> DirResult<()> {
                tx.exec(
                    &format!("UPDATE users SET {column} = $1 WHERE id = $2"),
                    &[value, &id.0],
                )?;
                Ok(())
            };
            if let Some(v) = u.certified {
                set("certified", &v)?;
            }
            if let Some(v) = u.admin {
                set("admin", &v)?;
            }
            if let Some(v) = u.disabled {
                set("disabled", &v)?;
            }
            if let Some(h) = &u.password_hash {
                set("password_hash", h)?;
            }
            if u.remove_password {
                set("password_hash", &None::<String>)?;
            }
            if let Some(email) = &u.email {
                let email = email.as_ref().map(Email::as_str);
                email_free(tx, email, Some(id))?;
                set("email", &email)?;
            }
            let revoke = |table: &str, wanted: bool| -> DirResult<usize> {
                if !wanted {
                    return Ok(0);
                }
                let sql = format!(
                    "UPDATE {table} SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL"
                );
                Ok(tx.exec(&sql, &[&now, &id.0])? as usize)
            };
            let refresh_tokens_ended = revoke("refresh_tokens", ends.refresh_tokens)?;
            let access_tokens_ended = revoke("access_tokens", ends.access_tokens)?;
            let user = user_by_id(tx, id)?
                .ok_or_else(|| DirectoryError::NotFound(format!("user {name}")))?;
            Ok(UserUpdated {
                user,
                refresh_tokens_ended,
                access_tokens_ended,
            })
        })
    }

    fn user_by_name(&self, name: &str) -> DirResult<Option<User>> {
        self.read_script(|c| {
            c.opt(
                &format!("SELECT {USER_COLS} FROM users WHERE name = $1"),
                &[&name],
                |r| user_row(r, 0),
            )
        })
    }

    fn list_users(&self) -> DirResult<Vec<User>> {
        self.read_script(|c| {
            c.all(
                &format!("SELECT {USER_COLS} FROM users ORDER BY name COLLATE \"C\""),
                &[],
                |r| user_row(r, 0),
            )
        })
    }
}

/// An address is unique across users: a taken one is a conflict naming the field.
fn email_free(tx: &dyn Tx, email: Option<&str>, owner: Option<UserId>) -> DirResult<()> {
    let Some(email) = email else { return Ok(()) };
    let holder = tx.opt("SELECT id FROM users WHERE email = $1", &[&email], |r| {
        r.get(0)
    })?;
    match holder {
        Some(h) if Some(UserId(h)) != owner => Err(DirectoryError::Conflict(format!(
            "e-mail address {email} (another user's)"
        ))),
        _ => Ok(()),
    }
}

impl<D: SqlDirectory> TeamAdmin for D {
    fn add_team(&self, name: &TeamName) -> DirResult<TeamId> {
        let name = name.as_str();
        self.change_script(|tx| {
            if team_id(tx, name).is_ok() {
                return Err(DirectoryError::Conflict(format!("team {name}")));
            }
            let id = tx.one(
                "INSERT INTO teams (name) VALUES ($1) RETURNING id",
                &[&name],
                |r| r.get(0),
            )?;
            Ok(TeamId(id))
        })
    }

    fn add_team_member(&self, team: &str, user: &str) -> DirResult<()> {
        let sql =
            "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
        membership(self, team, user, sql, None)
    }

    fn remove_team_member(&self, team: &str, user: &str) -> DirResult<()> {
        let sql = "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2";
        membership(
            self,
            team,
            user,
            sql,
            Some(&format!("{user} in team {team}")),
        )
    }
}

/// Runs `sql` on the ids of `team` ($1) and `user` ($2), both of which must exist; when
/// `missing` names what a statement changing no row did not find, that is `NotFound`.
fn membership(
    d: &impl SqlDirectory,
    team: &str,
    user: &str,
    sql: &str,
    missing: Option<&str>,
) -> DirResult<()> {
    d.change_script(|tx| {
        let (t, u) = (team_id(tx, team)?, user_id(tx, user)?);
        match missing {
            Some(what) => tx.exec_found(sql, &[&t.0, &u.0], what),
            None => tx.exec(sql, &[&t.0, &u.0]).map(drop),
        }
    })
}
