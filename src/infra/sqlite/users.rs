//! Users and teams.

use rusqlite::{params, OptionalExtension};

use super::rows::{team_id, user_by_id, user_id, user_row, USER_COLS};
use super::SqliteDirectory;
use crate::domain::model::{Email, NewUser, TeamId, TeamName, UnixTime, User, UserId, UserUpdate};
use crate::domain::ports::{
    DirResult, DirectoryError, EndTokens, TeamAdmin, UserAdmin, UserUpdated,
};

impl UserAdmin for SqliteDirectory {
    fn add_user(&self, u: &NewUser, now: UnixTime) -> DirResult<User> {
        let name = u.name.as_str();
        self.write(|tx| {
            let exists = tx
                .query_row("SELECT 1 FROM users WHERE name = ?1", [name], |_| Ok(()))
                .optional()?
                .is_some();
            if exists {
                return Err(DirectoryError::Conflict(format!("user {name}")));
            }
            let email = u.email.as_ref().map(Email::as_str);
            email_free(tx, email, None)?;
            tx.execute(
                "INSERT INTO users (name, password_hash, certified, admin, created_at, email) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![name, u.password_hash, u.certified, u.admin, now, email],
            )?;
            Ok(User {
                id: UserId(tx.last_insert_rowid()),
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
        self.write(|tx| {
            let id = user_id(tx, name)?;
            let set = |column: &str, value: &dyn rusqlite::ToSql| -> DirResult<()> {
                tx.execute(
                    &format!("UPDATE users SET {column} = ?1 WHERE id = ?2"),
                    params![value, id.0],
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
            if let Some(email) = &u.email {
                let email = email.as_ref().map(Email::as_str);
                email_free(tx, email, Some(id))?;
                set("email", &email)?;
            }
            let revoke = |table: &str, wanted: bool| -> DirResult<usize> {
                if !wanted {
                    return Ok(0);
                }
                Ok(tx.execute(
                    &format!("UPDATE {table} SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL"),
                    params![now, id.0],
                )?)
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
        self.read(|c| {
            Ok(
                c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE name = ?1"))?
                    .query_row([name], |r| user_row(r, 0))
                    .optional()?,
            )
        })
    }

    fn list_users(&self) -> DirResult<Vec<User>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!("SELECT {USER_COLS} FROM users ORDER BY name"))?;
            let rows = stmt.query_map([], |r| user_row(r, 0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

/// An address is unique across users: a taken one is a conflict naming the field.
fn email_free(
    tx: &rusqlite::Connection,
    email: Option<&str>,
    owner: Option<UserId>,
) -> DirResult<()> {
    let Some(email) = email else { return Ok(()) };
    let holder: Option<i64> = tx
        .query_row("SELECT id FROM users WHERE email = ?1", [email], |r| {
            r.get(0)
        })
        .optional()?;
    match holder {
        Some(h) if Some(UserId(h)) != owner => Err(DirectoryError::Conflict(format!(
            "e-mail address {email} (another user's)"
        ))),
        _ => Ok(()),
    }
}

impl TeamAdmin for SqliteDirectory {
    fn add_team(&self, name: &TeamName) -> DirResult<TeamId> {
        let name = name.as_str();
        self.write(|tx| {
            if team_id(tx, name).is_ok() {
                return Err(DirectoryError::Conflict(format!("team {name}")));
            }
            tx.execute("INSERT INTO teams (name) VALUES (?1)", [name])?;
            Ok(TeamId(tx.last_insert_rowid()))
        })
    }

    fn add_team_member(&self, team: &str, user: &str) -> DirResult<()> {
        self.write(|tx| {
            let (t, u) = (team_id(tx, team)?, user_id(tx, user)?);
            tx.execute(
                "INSERT OR IGNORE INTO team_members (team_id, user_id) VALUES (?1, ?2)",
                params![t.0, u.0],
            )?;
            Ok(())
        })
    }

    fn remove_team_member(&self, team: &str, user: &str) -> DirResult<()> {
        self.write(|tx| {
            let (t, u) = (team_id(tx, team)?, user_id(tx, user)?);
            let n = tx.execute(
                "DELETE FROM team_members WHERE team_id = ?1 AND user_id = ?2",
                params![t.0, u.0],
            )?;
            if n == 0 {
                return Err(DirectoryError::NotFound(format!("{user} in team {team}")));
            }
            Ok(())
        })
    }
}
