//! Users: add, change (a new password or disabling ends the user's refresh tokens in
//! the same transaction; `revoke_access_tokens` ends its access tokens too), list.

use crate::app::audit::admin_record;
use crate::app::operations::{AddUser, ChangeUser, ListUsers, Operation};
use crate::app::permit::Permit;
use crate::app::{secrets, AppError, AppResult};
use crate::domain::audit::AuditEvent;
use crate::domain::authn::refresh_token;
use crate::domain::model::{Email, NewUser, UnixTime, User, UserName, UserUpdate};
use crate::domain::ports::{AuditLog, EndTokens, FederatedIdentities, UserAdmin, UserUpdated};

/// Changes to a user as asked (the password in clear, hashed here).
#[derive(Default)]
pub struct UserChanges {
    pub certified: Option<bool>,
    pub admin: Option<bool>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
    /// `Some(None)` removes the address.
    pub email: Option<Option<String>>,
    /// Also revoke every personal access token (only when asked: a password change
    /// alone ends refresh tokens, not the tokens CI jobs use).
    pub revoke_access_tokens: bool,
}

/// A user to add, as asked (the password in clear, hashed here).
#[derive(Default)]
pub struct UserRequest<'a> {
    pub name: &'a str,
    /// `None` makes a token-only user.
    pub password: Option<&'a str>,
    pub certified: bool,
    pub admin: bool,
    pub email: Option<&'a str>,
}

/// Adds a user.
pub fn add<S: UserAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<AddUser>,
    request: UserRequest,
    now: UnixTime,
) -> AppResult<User> {
    let UserRequest {
        name,
        password,
        certified,
        admin,
        email,
    } = request;
    let name = UserName::parse(name).map_err(|e| AppError::Invalid(e.to_string()))?;
    let email = email.map(parse_email).transpose()?;
    let password_hash = password.map(hash).transpose()?;
    let user = store.add_user(
        &NewUser {
            name,
            password_hash,
            certified,
            admin,
            email,
        },
        now,
    )?;
    admin_record(
        store,
        permit.actor(),
        &user.name,
        AuditEvent::UserAdded { certified, admin },
        now,
    );
    Ok(user)
}

/// Changes a user; returns it and how many tokens the change ended.
pub fn set<S: UserAdmin + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<ChangeUser>,
    name: &str,
    changes: UserChanges,
    now: UnixTime,
) -> AppResult<UserUpdated> {
    apply(store, permit, name, changes, now)
}

/// Makes a federated account password-less: from then on it signs in only through its
/// identity provider (and its access tokens); its `docker login`s end, as on a password
/// change. Refused for an account no provider is linked to, which would be left with
/// no way to sign in.
pub fn remove_password<S: UserAdmin + FederatedIdentities + AuditLog + ?Sized>(
    store: &S,
    permit: &Permit<ChangeUser>,
    name: &str,
    now: UnixTime,
) -> AppResult<UserUpdated> {
    let user = store
        .user_by_name(name)?
        .ok_or_else(|| AppError::NotFound(format!("user {name}")))?;
    if store.identities_of(user.id)?.is_empty() {
        return Err(AppError::Invalid(format!(
            "{name} has no linked identity provider: without a password it could not sign in"
        )));
    }
    let update = UserUpdate {
        remove_password: true,
        ..UserUpdate::default()
    };
    let ends = EndTokens {
        refresh_tokens: refresh_token::ends_refresh_tokens(&update),
        access_tokens: false,
    };
    let done = store.update_user(name, &update, ends, now)?;
    let event = AuditEvent::UserChanged {
        before: flags(&user),
        after: format!("{} password=removed", flags(&done.user)),
    };
    admin_record(store, permit.actor(), name, event, now);
    let event = AuditEvent::RefreshTokensRevoked {
        count: done.refresh_tokens_ended,
        why: "password removed".into(),
    };
    admin_record(store, permit.actor(), name, event, now);
    Ok(done)
}

/// Changes a user whom the permit's holder already may change (an admin: anyone; a
/// user: itself, see `app::self_service`), with the same audit records and token endings.
pub(crate) fn apply<S: UserAdmin + AuditLog + ?Sized, O: Operation>(
    store: &S,
    permit: &Permit<O>,
    name: &str,
    changes: UserChanges,
    now: UnixTime,
) -> AppResult<UserUpdated> {
    let update = UserUpdate {
        certified: changes.certified,
        admin: changes.admin,
        disabled: changes.disabled,
        email: match changes.email.as_ref() {
            None => None,
            Some(None) => Some(None),
            Some(Some(e)) => Some(Some(parse_email(e)?)),
        },
        password_hash: changes.password.as_deref().map(hash).transpose()?,
        remove_password: false,
    };
    if update.is_empty() && !changes.revoke_access_tokens {
        return Err(AppError::Invalid(
            "nothing to change: give certified, admin, disabled, email, a password or revoke tokens"
                .into(),
        ));
    }
    let ends = EndTokens {
        refresh_tokens: refresh_token::ends_refresh_tokens(&update),
        access_tokens: changes.revoke_access_tokens,
    };
    let actor = permit.actor();
    let before = store.user_by_name(name)?;
    let done = store.update_user(name, &update, ends, now)?;
    let why = if update.password_hash.is_some() {
        "password changed"
    } else if update.disabled == Some(true) {
        "user disabled"
    } else {
        "asked"
    };
    if !update.is_empty() {
        let mut after = flags(&done.user);
        if update.password_hash.is_some() {
            after.push_str(" password=changed");
        }
        let before = before.as_ref().map(flags).unwrap_or_default();
        admin_record(
            store,
            actor,
            name,
            AuditEvent::UserChanged { before, after },
            now,
        );
    }
    if ends.refresh_tokens {
        let event = AuditEvent::RefreshTokensRevoked {
            count: done.refresh_tokens_ended,
            why: why.into(),
        };
        admin_record(store, actor, name, event, now);
    }
    if ends.access_tokens {
        let event = AuditEvent::AccessTokensRevoked {
            count: done.access_tokens_ended,
            why: "asked".into(),
        };
        admin_record(store, actor, name, event, now);
    }
    Ok(done)
}

pub fn list<S: UserAdmin + ?Sized>(store: &S, _: &Permit<ListUsers>) -> AppResult<Vec<User>> {
    Ok(store.list_users()?)
}

fn flags(u: &User) -> String {
    let mut flags = format!(
        "certified={} admin={} disabled={}",
        u.certified, u.admin, u.disabled
    );
    if let Some(email) = &u.email {
        flags.push_str(" email=");
        flags.push_str(email);
    }
    flags
}

fn parse_email(e: &str) -> AppResult<Email> {
    Email::parse(e).map_err(|e| AppError::Invalid(e.to_string()))
}

fn hash(password: &str) -> AppResult<String> {
    secrets::hash_new_password(password).map_err(|e| AppError::Invalid(e.to_string()))
}
