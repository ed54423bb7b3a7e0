//! Authentication: proving who the caller is.
//!
//! Three credentials reach the token endpoint: a password, a personal access token
//! (sent as the Basic password, user name ignored) and a refresh token (OAuth2 POST).
//! This module holds the pure checks (given the stored record and `now`); the use case
//! that reads the directory, caches argon2 results and issues refresh tokens is
//! `app::authenticate`. Every failure looks the same to the caller — one message, and
//! the same argon2 work whether or not the user exists — so neither the answer nor its
//! timing tells an attacker which user names exist.

pub mod access_token;
pub mod basic;
pub mod password;
pub mod refresh_token;
pub mod secret;

use super::authz::Caller;
use super::model::User;

/// The one message every credential failure gets; docker prints it as
/// `unauthorized: invalid username or password`.
pub const INVALID_CREDENTIALS: &str = "invalid username or password";

/// A refused credential. The cause is for the log line only: the caller always sees
/// [`INVALID_CREDENTIALS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid credentials ({0})")]
pub struct Refused(pub &'static str);

/// How the caller proved who they are (for the log line and refresh-token binding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Anonymous,
    Password,
    /// A personal access token, by its id.
    AccessToken(i64),
    RefreshToken,
    /// A token a remote identity provider issued (a Synapse access or personal access
    /// token).
    ProviderToken,
    /// A CI job's OIDC token, admitted by the trust policy with this id.
    Workload(i64),
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Anonymous => "anonymous",
            Method::Password => "password",
            Method::AccessToken(_) => "access_token",
            Method::RefreshToken => "refresh_token",
            Method::ProviderToken => "provider_token",
            Method::Workload(_) => "workload",
        }
    }
}

/// An authenticated (or anonymous) caller and how they authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub caller: Caller,
    pub method: Method,
}

impl Authenticated {
    pub fn anonymous() -> Authenticated {
        Authenticated {
            caller: Caller::anonymous(),
            method: Method::Anonymous,
        }
    }
}

/// A disabled user's every credential is refused: password, access and refresh tokens.
pub fn check_user(user: &User) -> Result<(), Refused> {
    if user.disabled {
        return Err(Refused("user disabled"));
    }
    Ok(())
}
