//! When a personal access token stops working: revoked, expired, or its user disabled.
//! A refused token is a 401, never a silent downgrade to anonymous.

use super::{check_user, Refused};
use crate::domain::model::{AccessTokenRecord, UnixTime};

pub fn check(token: &AccessTokenRecord, now: UnixTime) -> Result<(), Refused> {
    if token.revoked {
        return Err(Refused("access token revoked"));
    }
    if token.expires_at.is_some_and(|t| t <= now) {
        return Err(Refused("access token expired"));
    }
    check_user(&token.user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{ScopeSet, User};

    fn token(revoked: bool, expires_at: Option<i64>, disabled: bool) -> AccessTokenRecord {
        AccessTokenRecord {
            id: 1,
            user: User::test_alice(disabled),
            name: "ci".into(),
            scopes: ScopeSet::DOWNLOAD,
            created_at: 0,
            expires_at,
            revoked,
            last_used_at: None,
            parent: None,
        }
    }

    #[test]
    fn revoked_expired_and_disabled_are_refused() {
        assert_eq!(check(&token(false, None, false), 100), Ok(()));
        assert_eq!(check(&token(false, Some(101), false), 100), Ok(()));
        assert!(
            check(&token(false, Some(100), false), 100).is_err(),
            "expires at its instant"
        );
        assert!(check(&token(true, None, false), 100).is_err());
        assert!(check(&token(false, None, true), 100).is_err());
    }
}
