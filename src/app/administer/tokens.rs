//! Personal access tokens (created with a secret shown once, listed, revoked) and the
//! revocation of a user's refresh tokens.

use std::time::Duration;

use crate::app::audit::admin_record;
use crate::app::{secrets, Actor, AppError, AppResult};
use crate::domain::audit::AuditEvent;
use crate::domain::authn::secret;
use crate::domain::model::{AccessTokenRecord, NewAccessToken, ScopeSet, UnixTime, User};
use crate::domain::ports::{AuditLog, TokenAdmin, UserAdmin};

/// A token just created: the secret exists only here.
pub struct CreatedToken {
    pub secret: String,
    pub record: AccessTokenRecord,
}

/// Creates an access token for `user` with `scopes`, expiring after `expires_in`.
pub fn create<S: UserAdmin + TokenAdmin + AuditLog + ?Sized>(
    store: &S,
    actor: &Actor,
    user: &str,
    name: &str,
    scopes: ScopeSet,
    expires_in: Option<Duration>,
    now: UnixTime,
) -> AppResult<CreatedToken> {
    actor.require_admin()?;
    let owner = user_named(store, user)?;
    mint(store, actor, &owner, name, scopes, expires_in, None, now)
}

/// Creates an access token for `owner`, whom the caller already may mint for; the store
/// refuses it when `owner` already has `max_live` tokens in force.
#[allow(clippy::too_many_arguments)] // until the app wiring of `parent` reshapes it
pub(crate) fn mint<S: TokenAdmin + AuditLog + ?Sized>(
    store: &S,
    actor: &Actor,
    owner: &User,
    name: &str,
    scopes: ScopeSet,
    expires_in: Option<Duration>,
    max_live: Option<usize>,
    now: UnixTime,
) -> AppResult<CreatedToken> {
    if scopes.is_empty() {
        return Err(AppError::Invalid(
            "scopes: a token needs at least one scope".into(),
        ));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::Invalid(
            "name: give a token name of 1-100 printable characters".into(),
        ));
    }
    let token = secrets::new_token(secret::ACCESS_TOKEN_PREFIX);
    let expires_at = expires_in
        .map(|d| i64::try_from(d.as_secs()).map(|s| now.saturating_add(s)))
        .transpose()
        .map_err(|_| AppError::Invalid("expiry too far in the future".into()))?;
    let record = store.create_access_token(
        &NewAccessToken {
            user: owner.id,
            name: name.to_string(),
            hash: secret::hash_token(&token),
            scopes,
            expires_at,
            parent: None,
        },
        max_live,
        now,
    )?;
    let event = AuditEvent::AccessTokenCreated {
        token_id: record.id,
        name: record.name.clone(),
        scopes: record.scopes.to_string(),
        expires_at: record.expires_at,
    };
    admin_record(store, actor, owner.name.as_str(), event, now);
    Ok(CreatedToken {
        secret: token,
        record,
    })
}

pub fn list<S: UserAdmin + TokenAdmin + ?Sized>(
    store: &S,
    actor: &Actor,
    user: &str,
) -> AppResult<Vec<AccessTokenRecord>> {
    actor.require_admin()?;
    let owner = user_named(store, user)?;
    Ok(store.list_access_tokens(owner.id)?)
}

pub fn revoke<S: TokenAdmin + AuditLog + ?Sized>(
    store: &S,
    actor: &Actor,
    id: i64,
    now: UnixTime,
) -> AppResult<()> {
    actor.require_admin()?;
    revoke_unchecked(store, actor, id, now)
}

/// Revokes a token the caller already may revoke.
pub(crate) fn revoke_unchecked<S: TokenAdmin + AuditLog + ?Sized>(
    store: &S,
    actor: &Actor,
    id: i64,
    now: UnixTime,
) -> AppResult<()> {
    store.revoke_access_token(id, now)?;
    let event = AuditEvent::AccessTokenRevoked { token_id: id };
    admin_record(store, actor, format!("access token {id}"), event, now);
    Ok(())
}

/// Revokes every refresh (identity) token of `user`; returns how many.
pub fn revoke_refresh<S: UserAdmin + TokenAdmin + AuditLog + ?Sized>(
    store: &S,
    actor: &Actor,
    user: &str,
    now: UnixTime,
) -> AppResult<usize> {
    actor.require_admin()?;
    let owner = user_named(store, user)?;
    let count = store.revoke_refresh_tokens(owner.id, now)?;
    let event = AuditEvent::RefreshTokensRevoked {
        count,
        why: "asked".into(),
    };
    admin_record(store, actor, user, event, now);
    Ok(count)
}

fn user_named<S: UserAdmin + ?Sized>(store: &S, name: &str) -> AppResult<User> {
    store
        .user_by_name(name)?
        .ok_or_else(|| AppError::NotFound(format!("user {name}")))
}
