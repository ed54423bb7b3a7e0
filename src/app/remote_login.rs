//! Token requests when a remote identity provider (a Synapse beside regauth) checks the
//! credentials and answers the facts as the caller sees them: who the caller is for the
//! rules, and the facts port bound to that caller. The rules themselves stay in
//! `authz::decide`: the provider's answers are turned into the same facts.

use std::sync::Arc;

use crate::domain::authn::{Authenticated, Method};
use crate::domain::authz::{Caller, CallerUser, EntityFacts, ProjectFacts, RepoFacts, RepoState};
use crate::domain::model::{Acl, EntityRef, UserId};
use crate::domain::ports::{
    AuthorizationFacts, CallerFacts, DirResult, RemoteAuthentication, RemoteIdentity, RemoteRefusal,
};
use crate::domain::repo_name::RepoPath;

/// The provider's two ports.
#[derive(Clone)]
pub struct RemoteAuthority {
    pub auth: Arc<dyn RemoteAuthentication>,
    pub facts: Arc<dyn CallerFacts>,
}

/// How a credential checked by the provider ended.
pub struct RemoteLogin {
    pub who: Authenticated,
    pub identity: RemoteIdentity,
}

impl RemoteAuthority {
    /// A Basic credential: a provider token in the password field, else a password.
    pub fn basic(&self, user: &str, secret: &str) -> Result<RemoteLogin, RemoteRefusal> {
        let (identity, method) = if self.auth.looks_like_token(secret) {
            (self.auth.token(secret)?, Method::ProviderToken)
        } else {
            (self.auth.password(user, secret)?, Method::Password)
        };
        Ok(login(identity, method))
    }

    /// The refresh grant: what `basic` handed back as the identity token.
    pub fn refresh(&self, token: &str) -> Result<RemoteLogin, RemoteRefusal> {
        Ok(login(self.auth.token(token)?, Method::RefreshToken))
    }
}

fn login(identity: RemoteIdentity, method: Method) -> RemoteLogin {
    RemoteLogin {
        who: Authenticated {
            caller: caller_of(&identity),
            method,
        },
        identity,
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

/// The facts port bound to one caller (none: anonymous, who gets nothing and costs no
/// upstream call).
pub struct AsCaller<'a> {
    pub facts: &'a dyn CallerFacts,
    pub who: Option<&'a RemoteIdentity>,
}

impl AuthorizationFacts for AsCaller<'_> {
    fn repository_facts(&self, path: &RepoPath) -> DirResult<RepoFacts> {
        match self.who {
            Some(who) => self.facts.repository_facts_as(who, path),
            None => Ok(RepoFacts {
                project: ProjectFacts::Project {
                    trashed: false,
                    acl: Acl::new(Vec::new()),
                },
                repo: RepoState::Unknown,
            }),
        }
    }

    fn entity_facts(&self, _: &EntityRef) -> DirResult<Option<EntityFacts>> {
        Ok(None)
    }
}
