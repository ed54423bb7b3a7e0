//! What a signed-in user does for themself, as Synapse lets its users: read the account,
//! change the password, mint, list and revoke personal access tokens, list and revoke
//! `docker login`s (refresh tokens).
//!
//! The credential's scopes bound what it may do: reading needs `view`; minting or
//! revoking credentials needs `authorize` (a password carries it, a token only when
//! minted with it), and a token can never mint a token wider than itself. Another
//! user's token or login is "not found", like one that does not exist.

use std::net::IpAddr;
use std::time::Duration;

use super::administer::{tokens, users};
use super::authenticate::{AuthError, Authenticator, Pace};
use super::operations::{
    ChangeOwnPassword, ListOwnLogins, ListOwnTokens, MintOwnToken, RevokeOwnLogin, RevokeOwnToken,
    ShowMe,
};
use super::permit::Permit;
use super::{AppError, AppResult};
use crate::app::audit::admin_record;
use crate::domain::audit::AuditEvent;
use crate::domain::authn::Method;
use crate::domain::authz::CallerUser;
use crate::domain::model::{AccessTokenRecord, RefreshTokenRecord, ScopeSet, UnixTime, User};
use crate::domain::ports::{AuditLog, TokenAdmin, UserAdmin, UserUpdated};

/// Access tokens in force a user may mint for itself: every token is a row and a
/// credential to keep track of; the operator's CLI is not bound by it.
pub const MAX_LIVE_TOKENS: usize = 100;

/// The caller's account and what its credential may do.
#[derive(Debug, Clone)]
pub struct Me {
    pub user: User,
    pub scopes: ScopeSet,
}

fn account<S: UserAdmin + ?Sized>(store: &S, user: &CallerUser) -> AppResult<User> {
    store
        .user_by_name(&user.name)?
        .ok_or_else(|| AppError::NotFound(format!("user {}", user.name)))
}

pub fn me<S: UserAdmin + ?Sized>(store: &S, permit: &Permit<ShowMe>) -> AppResult<Me> {
    let user = permit.user()?;
    Ok(Me {
        user: account(store, user)?,
        scopes: permit.caller().map_or(ScopeSet::PASSWORD, |c| c.scopes),
    })
}

/// A password change as asked: the current password proves it is the user at the
/// keyboard (whatever credential carried the request).
pub struct PasswordChange<'a> {
    pub current: &'a str,
    pub new: &'a str,
    /// Also revoke every access token (refresh tokens always end).
    pub revoke_tokens: bool,
    /// Where the request came from, for the failed-login limits.
    pub address: IpAddr,
}

/// Changes the caller's password; every `docker login` made with the old one ends in
/// the same transaction.
pub fn change_password<S: UserAdmin + AuditLog + ?Sized>(
    store: &S,
    auth: &Authenticator,
    permit: &Permit<ChangeOwnPassword>,
    change: PasswordChange,
    now: UnixTime,
) -> AppResult<UserUpdated> {
    // The current password is the proof here, whatever the credential's scopes.
    let user = permit.user()?;
    let checked = auth.basic(&user.name, change.current, change.address, Pace::MayBlock);
    match checked {
        Ok(who)
            if who.method == Method::Password
                && who.caller.user.as_ref().map(|u| u.id) == Some(user.id) => {}
        Ok(_) | Err(AuthError::Refused(_) | AuthError::Rejected(_)) => {
            return Err(AppError::Invalid(
                "current_password: not your current password".into(),
            ))
        }
        Err(AuthError::Limited(l)) => return Err(AppError::Limited(l)),
        Err(AuthError::Busy(_)) => return Err(AppError::Busy),
        Err(AuthError::Directory(e)) => return Err(e.into()),
    }
    let changes = users::UserChanges {
        password: Some(change.new.to_string()),
        revoke_access_tokens: change.revoke_tokens,
        ..Default::default()
    };
    users::apply(store, permit, &user.name, changes, now)
}

/// The caller's access tokens, newest last.
pub fn list_tokens<S: TokenAdmin + ?Sized>(
    store: &S,
    permit: &Permit<ListOwnTokens>,
) -> AppResult<Vec<AccessTokenRecord>> {
    let user = permit.user()?;
    Ok(store.list_access_tokens(user.id)?)
}

/// Mints an access token for the caller, never wider than the caller's credential.
pub fn create_token<S: UserAdmin + TokenAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<MintOwnToken>,
    name: &str,
    scopes: ScopeSet,
    expires_in: Option<Duration>,
    now: UnixTime,
) -> AppResult<tokens::CreatedToken> {
    let user = permit.user()?;
    let held = permit.caller().map_or(ScopeSet::PASSWORD, |c| c.scopes);
    if !held.contains(scopes) {
        return Err(AppError::Invalid(format!(
            "scopes: a token cannot be wider than the credential that mints it ({held})"
        )));
    }
    let owner = account(store, user)?;
    // Minted by an access token: it never outlives that token (the store clamps the
    // expiry and refuses a parent no longer in force, and revoking cascades). A password
    // or a web session has no lifetime of its own to pass on.
    let request = tokens::TokenRequest {
        name,
        scopes,
        expires_in,
        max_live: Some(MAX_LIVE_TOKENS),
        parent: permit.caller().and_then(|c| c.token),
    };
    tokens::mint(store, permit, &owner, request, now)
}

/// Revokes one of the caller's access tokens.
pub fn revoke_token<S: TokenAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<RevokeOwnToken>,
    id: i64,
    now: UnixTime,
) -> AppResult<()> {
    let user = permit.user()?;
    let mine = store
        .list_access_tokens(user.id)?
        .iter()
        .any(|t| t.id == id);
    if !mine {
        return Err(AppError::NotFound(format!("access token {id}")));
    }
    tokens::revoke_unchecked(store, permit, id, now)
}

/// The caller's `docker login`s still in force, oldest first.
pub fn list_logins<S: TokenAdmin + ?Sized>(
    store: &S,
    permit: &Permit<ListOwnLogins>,
    now: UnixTime,
) -> AppResult<Vec<RefreshTokenRecord>> {
    let user = permit.user()?;
    let mut logins = store.list_refresh_tokens(user.id)?;
    logins.retain(|t| !t.revoked && t.expires_at.is_none_or(|e| e > now));
    Ok(logins)
}

/// Ends one of the caller's `docker login`s.
pub fn revoke_login<S: TokenAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<RevokeOwnLogin>,
    id: i64,
    now: UnixTime,
) -> AppResult<()> {
    let user = permit.user()?;
    let mine = store
        .list_refresh_tokens(user.id)?
        .iter()
        .any(|t| t.id == id);
    if !mine {
        return Err(AppError::NotFound(format!("login {id}")));
    }
    store.revoke_refresh_token(id, now)?;
    let event = AuditEvent::RefreshTokensRevoked {
        count: 1,
        why: format!("login {id} revoked"),
    };
    admin_record(store, permit.actor(), user.name.as_str(), event, now);
    Ok(())
}
