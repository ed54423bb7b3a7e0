//! The caller as the rules see it: a user (with teams and flags) or nobody, plus the
//! scopes of the credential it presented.

use crate::domain::model::{AccessSet, Acl, Principal, ScopeSet, TeamId, UserId};

/// The authenticated (or anonymous) caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: Option<CallerUser>,
    /// The credential's scopes: all for a password, the token's for an access token.
    pub scopes: ScopeSet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerUser {
    pub id: UserId,
    pub name: String,
    pub certified: bool,
    pub admin: bool,
    pub teams: Vec<TeamId>,
}

impl Caller {
    /// An anonymous caller can only ever read: `view` and `download`.
    pub fn anonymous() -> Caller {
        Caller {
            user: None,
            scopes: ScopeSet::ANONYMOUS,
        }
    }

    /// Whether an ACL entry for `p` applies to this caller: `public` always, and for a
    /// logged-in user `authenticated`, the user and its teams. Allocation-free: this
    /// runs for every action of every scope.
    pub fn is(&self, p: &Principal) -> bool {
        match (p, &self.user) {
            (Principal::Public, _) => true,
            (_, None) => false,
            (Principal::Authenticated, Some(_)) => true,
            (Principal::User(id), Some(u)) => *id == u.id,
            (Principal::Team(t), Some(u)) => u.teams.contains(t),
        }
    }

    /// Everything the ACL gives this caller (the union over entries that apply).
    pub fn access_in(&self, acl: &Acl) -> AccessSet {
        acl.entries
            .iter()
            .filter(|(p, _)| self.is(p))
            .fold(AccessSet::empty(), |acc, (_, a)| acc | *a)
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.admin)
    }

    pub fn name(&self) -> &str {
        self.user.as_ref().map(|u| u.name.as_str()).unwrap_or("")
    }
}
