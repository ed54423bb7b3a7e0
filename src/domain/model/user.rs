//! Users as the rules see them, and the changes administration makes to them.

use serde::Serialize;

use super::ids::UserId;
use super::names::{Email, UserName};

/// A user as the rules see it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub certified: bool,
    pub admin: bool,
    pub disabled: bool,
    /// Lower-case; accepted in place of the name at login.
    pub email: Option<String>,
}

#[cfg(test)]
impl User {
    /// Alice, user 1, certified, not an admin, without an address: the user the
    /// credential tests check, `disabled` or not.
    pub(crate) fn test_alice(disabled: bool) -> User {
        User {
            id: UserId(1),
            name: "alice".into(),
            certified: true,
            admin: false,
            disabled,
            email: None,
        }
    }
}

/// A user with the password hash, for authentication only.
#[derive(Clone)]
pub struct UserCredentials {
    pub user: User,
    /// PHC string (argon2id); `None` when the user has no password (token-only).
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for UserCredentials {
    /// The hash is a secret at rest: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentials")
            .field("user", &self.user)
            .field("has_password", &self.password_hash.is_some())
            .finish()
    }
}

/// A user to create.
#[derive(Clone)]
pub struct NewUser {
    pub name: UserName,
    /// PHC string; `None` for a token-only user.
    pub password_hash: Option<String>,
    pub certified: bool,
    pub admin: bool,
    pub email: Option<Email>,
}

/// Changes to a user; `None` leaves a field alone.
#[derive(Clone, Default)]
pub struct UserUpdate {
    pub certified: Option<bool>,
    pub admin: Option<bool>,
    pub disabled: Option<bool>,
    /// A new PHC string.
    pub password_hash: Option<String>,
    /// `Some(None)` removes the address.
    pub email: Option<Option<Email>>,
    /// Remove the password: the account signs in only through its identity provider
    /// (and its access tokens).
    pub remove_password: bool,
}

impl UserUpdate {
    pub fn is_empty(&self) -> bool {
        self.certified.is_none()
            && self.admin.is_none()
            && self.disabled.is_none()
            && self.password_hash.is_none()
            && self.email.is_none()
            && !self.remove_password
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_print_the_user_but_never_the_hash() {
        let creds = UserCredentials {
            user: User::test_alice(false),
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        };
        let text = format!("{creds:?}");
        assert!(
            text.contains("alice") && text.contains("has_password: true"),
            "{text}"
        );
        assert!(
            !text.contains("argon2id") && !text.contains("aGFzaA"),
            "{text}"
        );
    }
}
