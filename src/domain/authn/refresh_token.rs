//! When a refresh ("identity") token works, and what ends it.
//!
//! A refresh token is bound to the user, the service and the OAuth client it was issued
//! to, and carries the scopes of the login that made it. It dies when revoked, when it
//! expires, when its user is disabled, and — when it came from an access-token login —
//! when that access token is revoked or expires.

use std::time::Duration;

use super::{check_user, secret, Refused};
use crate::domain::model::{RefreshTokenRecord, UnixTime, UserUpdate};

pub fn check(
    token: &RefreshTokenRecord,
    service: &str,
    client_id: &str,
    now: UnixTime,
) -> Result<(), Refused> {
    if token.revoked {
        return Err(Refused("refresh token revoked"));
    }
    if token.expires_at.is_some_and(|t| t <= now) {
        return Err(Refused("refresh token expired"));
    }
    if !secret::ct_eq(token.service.as_bytes(), service.as_bytes()) {
        return Err(Refused("refresh token issued for another service"));
    }
    if !secret::ct_eq(token.client_id.as_bytes(), client_id.as_bytes()) {
        return Err(Refused("refresh token issued to another client"));
    }
    if let Some(parent) = token.via_access_token {
        if parent.revoked || parent.expires_at.is_some_and(|t| t <= now) {
            return Err(Refused("access token behind the refresh token ended"));
        }
    }
    check_user(&token.user)
}

/// When a refresh token issued now expires (`None`: until revoked).
pub fn expiry(now: UnixTime, ttl: Option<Duration>) -> Option<UnixTime> {
    ttl.map(|d| now.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
}

/// Whether a change to a user ends every refresh token it holds: disabling does (a
/// disabled user's docker logins must not come back when it is enabled again), and so
/// does a new password (users change a password because they fear it leaked: every
/// `docker login` made with the old one must die with it).
pub fn ends_refresh_tokens(update: &UserUpdate) -> bool {
    update.disabled == Some(true) || update.password_hash.is_some() || update.remove_password
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{ParentTokenState, ScopeSet, User};

    fn token() -> RefreshTokenRecord {
        RefreshTokenRecord {
            id: 1,
            user: User::test_alice(false),
            service: "registry".into(),
            client_id: "docker".into(),
            scopes: ScopeSet::PASSWORD,
            created_at: 0,
            expires_at: Some(1000),
            revoked: false,
            last_used_at: None,
            via_access_token: None,
        }
    }

    #[test]
    fn bound_to_service_client_and_lifetime() {
        assert_eq!(check(&token(), "registry", "docker", 999), Ok(()));
        assert!(check(&token(), "registry", "docker", 1000).is_err());
        assert!(check(&token(), "other", "docker", 1).is_err());
        assert!(check(&token(), "registry", "containerd", 1).is_err());
        let mut t = token();
        t.revoked = true;
        assert!(check(&t, "registry", "docker", 1).is_err());
        let mut t = token();
        t.user.disabled = true;
        assert!(check(&t, "registry", "docker", 1).is_err());
    }

    #[test]
    fn dies_with_the_access_token_it_came_from() {
        let mut t = token();
        t.via_access_token = Some(ParentTokenState {
            id: 5,
            revoked: false,
            expires_at: Some(500),
        });
        assert_eq!(check(&t, "registry", "docker", 499), Ok(()));
        assert!(check(&t, "registry", "docker", 500).is_err());
        t.via_access_token = Some(ParentTokenState {
            id: 5,
            revoked: true,
            expires_at: None,
        });
        assert!(check(&t, "registry", "docker", 1).is_err());
    }

    #[test]
    fn disabling_ends_refresh_tokens() {
        // An update that makes only `change`.
        let only = |change: fn(&mut UserUpdate)| {
            let mut update = UserUpdate::default();
            change(&mut update);
            update
        };
        assert!(ends_refresh_tokens(&only(|u| u.disabled = Some(true))));
        assert!(!ends_refresh_tokens(&only(|u| u.disabled = Some(false))));
        let new_password = only(|u| u.password_hash = Some("$argon2id$...".into()));
        assert!(ends_refresh_tokens(&new_password));
        assert!(!ends_refresh_tokens(&only(|u| u.certified = Some(true))));
        assert_eq!(expiry(10, Some(Duration::from_secs(5))), Some(15));
        assert_eq!(expiry(10, None), None);
    }
}
