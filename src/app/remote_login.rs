//! A remote identity provider (a Synapse beside regauth) as the token path's
//! `CredentialAuthority`: it checks the credentials and answers the facts as the caller
//! sees them. The rules themselves stay in `authz::decide`: the provider's answers are
//! turned into the same facts.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::authenticate::{Attempt, AuthError, Authenticator, Binding};
use super::credentials::{CredentialAuthority, Login, RefreshWanted};
use crate::domain::authn::{Authenticated, Method, Refused};
use crate::domain::authz::{Caller, CallerUser, ProjectFacts, RepoFacts, RepoState};
use crate::domain::model::{Acl, UserId};
use crate::domain::ports::{
    CallerFacts, DirResult, Pace, RemoteAuthentication, RemoteIdentity, RemoteRefusal,
};
use crate::domain::repo_name::RepoPath;

/// A remote identity provider as the token path's `CredentialAuthority`: its two
/// ports, and the failed-login limits regauth keeps in front of it (a client over them
/// costs no upstream call, and cannot lock a user out at the provider).
pub struct ProviderCredentials {
    pub auth: Arc<dyn RemoteAuthentication>,
    pub facts: Arc<dyn CallerFacts>,
    /// Whose `failed_logins` stand in front of the provider as in front of the directory.
    pub limits: Arc<Authenticator>,
    /// A request makes several upstream calls, each with its own timeout: the request
    /// as a whole answers within this.
    pub deadline: Duration,
}

impl ProviderCredentials {
    /// The provider's verdict on `identity`; a plain refusal counts as a failed login.
    fn checked(
        &self,
        login: &str,
        address: IpAddr,
        identity: Result<RemoteIdentity, RemoteRefusal>,
        method: Method,
    ) -> Result<Login, AuthError> {
        match identity {
            Ok(identity) => Ok(Login {
                who: Authenticated {
                    caller: caller_of(&identity),
                    method,
                },
                identity: Some(identity),
                reach: None,
            }),
            Err(e) => {
                if e == RemoteRefusal::Refused {
                    self.limits.failed_logins().failed(login, address);
                }
                Err(e.into())
            }
        }
    }
}

/// The identity token a `docker login` keeps is the provider's own token (a login's
/// access token, or the personal access token given), checked again by the provider
/// on every refresh.
impl CredentialAuthority for ProviderCredentials {
    /// A provider token in the password field, else a password.
    fn basic(&self, user: &str, secret: &str, attempt: Attempt) -> Result<Login, AuthError> {
        let Attempt { address, pace } = attempt;
        self.limits.failed_logins().check(user, address)?;
        let (identity, method) = if self.auth.looks_like_token(secret) {
            (self.auth.token(secret, pace), Method::ProviderToken)
        } else {
            (self.auth.password(user, secret, pace), Method::Password)
        };
        self.checked(user, address, identity, method)
    }

    /// What `basic` handed back as the identity token (the provider checks it again).
    fn refresh(&self, token: &str, _: Binding<'_>, at: Attempt) -> Result<Login, AuthError> {
        self.limits.failed_logins().check("", at.address)?;
        let identity = self.auth.token(token, at.pace);
        self.checked("", at.address, identity, Method::RefreshToken)
    }

    /// The provider's own token: nothing is stored here.
    fn refresh_token(&self, login: &Login, _: RefreshWanted<'_>) -> Result<String, AuthError> {
        match &login.identity {
            Some(identity) => Ok(identity.bearer.clone()),
            None => Err(Refused("anonymous callers get no refresh token").into()),
        }
    }

    /// As the caller sees it; an anonymous caller gets nothing and costs no call.
    fn repository_facts(&self, login: &Login, path: &RepoPath, pace: Pace) -> DirResult<RepoFacts> {
        match &login.identity {
            Some(who) => self.facts.repository_facts_as(who, path, pace),
            None => Ok(RepoFacts {
                project: ProjectFacts::Project {
                    trashed: false,
                    acl: Acl::new(Vec::new()),
                },
                repo: RepoState::Unknown,
            }),
        }
    }

    fn request_deadline(&self) -> Option<Duration> {
        Some(self.deadline)
    }
}

/// The caller the rules see. It counts as certified: the provider's permission to edit
/// or create (Synapse's `canEdit`, `canAddChild`) already requires certification, and
/// the facts grant only what the provider allows, so certification is decided there.
pub fn caller_of(who: &RemoteIdentity) -> Caller {
    Caller {
        user: Some(CallerUser {
            id: UserId(who.user_id),
            name: who.user_id.to_string(),
            certified: true,
            admin: false,
            teams: Vec::new(),
        }),
        scopes: who.scopes,
        token: None,
    }
}
