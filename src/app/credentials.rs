//! The one port the token use case checks credentials and reads facts through, with
//! its two implementations' common shape: regauth's own directory
//! (`DirectoryCredentials`, here) and a remote identity provider
//! (`remote_login::ProviderCredentials`). `issue_token` has one path whichever the
//! composition root picked; a new kind of identity provider is one more implementation.

use std::sync::Arc;
use std::time::Duration;

use super::authenticate::{Attempt, AuthError, Authenticator, Binding};
use crate::domain::authn::Authenticated;
use crate::domain::authn::Refused;
use crate::domain::authz::RepoFacts;
use crate::domain::federation::Reach;
use crate::domain::ports::{AuthorizationFacts, DirResult, Pace, RemoteIdentity};
use crate::domain::repo_name::RepoPath;

/// Who a credential proved the caller to be, and what a provider needs to answer the
/// facts as that caller (`None` for regauth's own directory and for anonymous callers).
pub struct Login {
    pub who: Authenticated,
    pub identity: Option<RemoteIdentity>,
    /// A workload's bounds (its trust policy's reach): what it may be granted and when
    /// its token ends. `None` for people and anonymous callers.
    pub reach: Option<Reach>,
}

impl Login {
    pub fn anonymous() -> Login {
        Login::local(Authenticated::anonymous())
    }

    /// A caller the own directory authenticated: no provider identity.
    fn local(who: Authenticated) -> Login {
        Login {
            who,
            identity: None,
            reach: None,
        }
    }
}

/// A refresh token a client asked for (`offline_token`): bound to the service and the
/// client, living `ttl` (`None`: until revoked).
#[derive(Debug, Clone, Copy)]
pub struct RefreshWanted<'a> {
    pub binding: Binding<'a>,
    pub ttl: Option<Duration>,
    pub pace: Pace,
}

/// Where a token request is sent to learn who the caller is and what they may do.
/// Every method takes the caller's `Pace` and says `DirectoryError::WouldBlock` (as
/// `AuthError::Directory`) for work that pace forbids.
pub trait CredentialAuthority: Send + Sync {
    /// Basic credentials: a user name and password, or a token in the password field.
    /// Refused without work when over the failed-login limits.
    fn basic(&self, user: &str, secret: &str, attempt: Attempt) -> Result<Login, AuthError>;

    /// The refresh grant: the token a `docker login` kept, for this service and client.
    fn refresh(&self, token: &str, binding: Binding<'_>, at: Attempt) -> Result<Login, AuthError>;

    /// The refresh token handed to a client that asked for one.
    fn refresh_token(&self, login: &Login, wanted: RefreshWanted<'_>) -> Result<String, AuthError>;

    /// The facts of the repository at `path`, as `login` may see them.
    fn repository_facts(&self, login: &Login, path: &RepoPath, pace: Pace) -> DirResult<RepoFacts>;

    /// A workload's OIDC token (Basic user `oidc`, or an RFC 8693 token exchange), for a
    /// request of `scopes`. Refused where no workload identity is configured.
    fn workload(
        &self,
        token: &str,
        scopes: &[String],
        attempt: Attempt,
    ) -> Result<Login, AuthError> {
        let _ = (token, scopes, attempt);
        Err(Refused("workload identity is not configured").into())
    }

    /// How long a whole token request may take, when checking it means calls across the
    /// network that each have their own timeout; `None`: no deadline of its own.
    fn request_deadline(&self) -> Option<Duration> {
        None
    }
}

/// regauth's own directory: passwords and tokens checked by `Authenticator`, facts read
/// from the directory (through its cache).
pub struct DirectoryCredentials {
    pub auth: Arc<Authenticator>,
    pub facts: Arc<dyn AuthorizationFacts>,
}

impl CredentialAuthority for DirectoryCredentials {
    fn basic(&self, user: &str, secret: &str, attempt: Attempt) -> Result<Login, AuthError> {
        let who = self
            .auth
            .basic(user, secret, attempt.address, attempt.pace)?;
        Ok(Login::local(who))
    }

    fn refresh(&self, token: &str, binding: Binding<'_>, at: Attempt) -> Result<Login, AuthError> {
        Ok(Login::local(self.auth.refresh(token, binding, at)?))
    }

    /// Stored in the directory: a durable write, never on the event loop.
    fn refresh_token(&self, login: &Login, wanted: RefreshWanted<'_>) -> Result<String, AuthError> {
        let RefreshWanted { binding, ttl, pace } = wanted;
        self.auth
            .issue_refresh_token(&login.who, binding, ttl, pace)
    }

    fn repository_facts(&self, _: &Login, path: &RepoPath, pace: Pace) -> DirResult<RepoFacts> {
        self.facts.repository_facts(path, pace)
    }
}
