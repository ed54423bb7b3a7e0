//! The one port the token use case checks credentials and reads facts through, with
//! its two implementations' common shape: regauth's own directory
//! (`DirectoryCredentials`, here) and a remote identity provider
//! (`remote_login::ProviderCredentials`). `issue_token` has one path whichever the
//! composition root picked; a new kind of identity provider is one more implementation.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::authenticate::{AuthError, Authenticator};
use crate::domain::authn::Authenticated;
use crate::domain::authz::RepoFacts;
use crate::domain::ports::{AuthorizationFacts, DirResult, Pace, RemoteIdentity};
use crate::domain::repo_name::RepoPath;

/// Who a credential proved the caller to be, and what a provider needs to answer the
/// facts as that caller (`None` for regauth's own directory and for anonymous callers).
pub struct Login {
    pub who: Authenticated,
    pub identity: Option<RemoteIdentity>,
}

impl Login {
    pub fn anonymous() -> Login {
        Login {
            who: Authenticated::anonymous(),
            identity: None,
        }
    }
}

/// Where a token request is sent to learn who the caller is and what they may do.
/// Every method takes the caller's `Pace` and says `DirectoryError::WouldBlock` (as
/// `AuthError::Directory`) for work that pace forbids.
pub trait CredentialAuthority: Send + Sync {
    /// Basic credentials from `address`: a user name and password, or a token in the
    /// password field. Refused without work when over the failed-login limits.
    fn basic(
        &self,
        user: &str,
        secret: &str,
        address: IpAddr,
        pace: Pace,
    ) -> Result<Login, AuthError>;

    /// The refresh grant: the token a `docker login` kept, for this service and client.
    fn refresh(
        &self,
        token: &str,
        service: &str,
        client_id: &str,
        address: IpAddr,
        pace: Pace,
    ) -> Result<Login, AuthError>;

    /// The refresh token handed to a client that asked for one (`offline_token`).
    fn refresh_token_for(
        &self,
        login: &Login,
        service: &str,
        client_id: &str,
        ttl: Option<Duration>,
        pace: Pace,
    ) -> Result<String, AuthError>;

    /// The facts of the repository at `path`, as `login` may see them.
    fn repository_facts(&self, login: &Login, path: &RepoPath, pace: Pace) -> DirResult<RepoFacts>;

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
    fn basic(
        &self,
        user: &str,
        secret: &str,
        address: IpAddr,
        pace: Pace,
    ) -> Result<Login, AuthError> {
        let who = self.auth.basic(user, secret, address, pace)?;
        Ok(Login {
            who,
            identity: None,
        })
    }

    fn refresh(
        &self,
        token: &str,
        service: &str,
        client_id: &str,
        address: IpAddr,
        pace: Pace,
    ) -> Result<Login, AuthError> {
        let who = self
            .auth
            .refresh(token, service, client_id, address, pace)?;
        Ok(Login {
            who,
            identity: None,
        })
    }

    fn refresh_token_for(
        &self,
        login: &Login,
        service: &str,
        client_id: &str,
        ttl: Option<Duration>,
        pace: Pace,
    ) -> Result<String, AuthError> {
        self.auth
            .issue_refresh_token(&login.who, service, client_id, ttl, pace)
    }

    fn repository_facts(&self, _: &Login, path: &RepoPath, pace: Pace) -> DirResult<RepoFacts> {
        self.facts.repository_facts(path, pace)
    }
}
