//! Personal access tokens (created with a secret shown once, listed, revoked) and the
//! revocation of a user's refresh tokens.

use std::time::Duration;

use crate::app::audit::admin_record;
use crate::app::operations::{EndLoginsOf, ListTokensOf, MintTokenFor, Operation, RevokeAnyToken};
use crate::app::permit::Permit;
use crate::app::{secrets, AppError, AppResult};
use crate::domain::audit::AuditEvent;
use crate::domain::authn::secret;
use crate::domain::model::{AccessTokenRecord, NewAccessToken, ScopeSet, UnixTime, User};
use crate::domain::ports::{AuditLog, TokenAdmin, UserAdmin};

/// A token to mint, as asked.
pub(crate) struct TokenRequest<'a> {
    pub name: &'a str,
    pub scopes: ScopeSet,
    pub expires_in: Option<Duration>,
    /// At most this many tokens in force for the owner (`None`: the operator, unbounded),
    /// counted in the same transaction that adds this one.
    pub max_live: Option<usize>,
    /// The access token that mints it: the new one expires no later and ends with it.
    pub parent: Option<i64>,
}

/// A token just created: the secret exists only here.
pub struct CreatedToken {
    pub secret: String,
    pub record: AccessTokenRecord,
}

/// Creates an access token for `user` with `scopes`, expiring after `expires_in`.
pub fn create<S: UserAdmin + TokenAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<MintTokenFor>,
    user: &str,
    name: &str,
    scopes: ScopeSet,
    expires_in: Option<Duration>,
    now: UnixTime,
) -> AppResult<CreatedToken> {
    let owner = user_named(store, user)?;
    let request = TokenRequest {
        name,
        scopes,
        expires_in,
        max_live: None,
        parent: None,
    };
    mint(store, permit, &owner, request, now)
}

/// Creates an access token for `owner`, whom the permit's holder already may mint for.
pub(crate) fn mint<S: TokenAdmin + AuditLog + ?Sized, O: Operation>(
    store: &S,
    permit: &Permit<O>,
    owner: &User,
    request: TokenRequest,
    now: UnixTime,
) -> AppResult<CreatedToken> {
    let TokenRequest {
        name,
        scopes,
        expires_in,
        max_live,
        parent,
    } = request;
    if scopes.is_empty() {
        return Err(AppError::Invalid(
            "scopes: a token needs at least one scope".into(),
        ));
    }
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > 100
        || name
            .chars()
            .any(crate::domain::model::names::invisible_or_control)
    {
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
            parent,
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
    admin_record(store, permit.actor(), owner.name.as_str(), event, now);
    Ok(CreatedToken {
        secret: token,
        record,
    })
}

pub fn list<S: UserAdmin + TokenAdmin + ?Sized>(
    store: &S,
    _: &Permit<ListTokensOf>,
    user: &str,
) -> AppResult<Vec<AccessTokenRecord>> {
    let owner = user_named(store, user)?;
    Ok(store.list_access_tokens(owner.id)?)
}

pub fn revoke<S: TokenAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<RevokeAnyToken>,
    id: i64,
    now: UnixTime,
) -> AppResult<()> {
    revoke_unchecked(store, permit, id, now)
}

/// Revokes a token the permit's holder already may revoke.
pub(crate) fn revoke_unchecked<S: TokenAdmin + AuditLog + ?Sized, O: Operation>(
    store: &S,
    permit: &Permit<O>,
    id: i64,
    now: UnixTime,
) -> AppResult<()> {
    store.revoke_access_token(id, now)?;
    let event = AuditEvent::AccessTokenRevoked { token_id: id };
    admin_record(
        store,
        permit.actor(),
        format!("access token {id}"),
        event,
        now,
    );
    Ok(())
}

/// Revokes every refresh (identity) token of `user`; returns how many.
pub fn revoke_refresh<S: UserAdmin + TokenAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<EndLoginsOf>,
    user: &str,
    now: UnixTime,
) -> AppResult<usize> {
    let owner = user_named(store, user)?;
    let count = store.revoke_refresh_tokens(owner.id, now)?;
    let event = AuditEvent::RefreshTokensRevoked {
        count,
        why: "asked".into(),
    };
    admin_record(store, permit.actor(), user, event, now);
    Ok(count)
}

fn user_named<S: UserAdmin + ?Sized>(store: &S, name: &str) -> AppResult<User> {
    store
        .user_by_name(name)?
        .ok_or_else(|| AppError::NotFound(format!("user {name}")))
}
