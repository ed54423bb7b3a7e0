//! Users: add, change (disabling ends the user's refresh tokens in the same
//! transaction), list.

use crate::app::{secrets, Actor, AppError, AppResult};
use crate::domain::authn::refresh_token;
use crate::domain::model::{NewUser, UnixTime, User, UserName, UserUpdate};
use crate::domain::ports::{EndTokens, UserAdmin, UserUpdated};

/// Changes to a user as asked (the password in clear, hashed here).
#[derive(Default)]
pub struct UserChanges {
    pub certified: Option<bool>,
    pub admin: Option<bool>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
    /// Also revoke every personal access token (only when asked: a password change
    /// alone ends refresh tokens, not the tokens CI jobs use).
    pub revoke_access_tokens: bool,
}

/// Adds a user; `password` `None` makes a token-only user.
pub fn add(
    store: &dyn UserAdmin,
    actor: &Actor,
    name: &str,
    password: Option<&str>,
    certified: bool,
    admin: bool,
    now: UnixTime,
) -> AppResult<User> {
    actor.require_admin()?;
    let name = UserName::parse(name).map_err(|e| AppError::Invalid(e.to_string()))?;
    let password_hash = password.map(hash).transpose()?;
    Ok(store.add_user(
        &NewUser {
            name,
            password_hash,
            certified,
            admin,
        },
        now,
    )?)
}

/// Changes a user; returns it and how many tokens the change ended.
pub fn set(
    store: &dyn UserAdmin,
    actor: &Actor,
    name: &str,
    changes: UserChanges,
    now: UnixTime,
) -> AppResult<UserUpdated> {
    actor.require_admin()?;
    let update = UserUpdate {
        certified: changes.certified,
        admin: changes.admin,
        disabled: changes.disabled,
        password_hash: changes.password.as_deref().map(hash).transpose()?,
    };
    if update.is_empty() && !changes.revoke_access_tokens {
        return Err(AppError::Invalid(
            "nothing to change: give --certified, --admin, --disabled, --password-stdin or --revoke-tokens"
                .into(),
        ));
    }
    let ends = EndTokens {
        refresh_tokens: refresh_token::ends_refresh_tokens(&update),
        access_tokens: changes.revoke_access_tokens,
    };
    Ok(store.update_user(name, &update, ends, now)?)
}

pub fn list(store: &dyn UserAdmin, actor: &Actor) -> AppResult<Vec<User>> {
    actor.require_admin()?;
    Ok(store.list_users()?)
}

fn hash(password: &str) -> AppResult<String> {
    secrets::hash_new_password(password).map_err(|e| AppError::Invalid(e.to_string()))
}
