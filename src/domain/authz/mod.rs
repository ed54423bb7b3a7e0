//! Authorization: which actions a caller gets on a requested scope.
//!
//! `decide` is a pure function of facts (the caller, its credential's scopes, the
//! repository and project state, the ACLs) that returns the granted actions *and* a
//! reason for every denied one. The HTTP layer gathers the facts and logs the reasons;
//! nothing here does I/O, which is what lets the tests walk the rules table row by row.

mod rules;
#[cfg(test)]
mod tests;

pub use rules::{decide, Decision, Denial, Reason};

use super::model::{AccessSet, Acl, Principal, ScopeSet, TeamId, TokenScope, UserId};

/// The authenticated (or anonymous) caller as the rules see it.
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
            scopes: ScopeSet::NONE
                .with(TokenScope::View)
                .with(TokenScope::Download),
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
            .fold(AccessSet::EMPTY, |acc, (_, a)| acc.union(*a))
    }

    pub fn name(&self) -> &str {
        self.user.as_ref().map(|u| u.name.as_str()).unwrap_or("")
    }
}

/// What the directory knows about the first path segment of a repository path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectFacts {
    Missing,
    /// The id names an entity that is not a project (e.g. a repository).
    NotAProject,
    Project {
        trashed: bool,
        acl: Acl,
    },
}

/// What the directory knows about the repository itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoState {
    /// Never pushed.
    Unknown,
    /// Exists; `local_acl` holds its local sharing settings when it has them.
    Managed {
        trashed: bool,
        local_acl: Option<Acl>,
    },
}

/// Everything the rules need to know about one repository scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFacts {
    pub project: ProjectFacts,
    pub repo: RepoState,
}

/// What a requested scope names, with the facts gathered for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `repository:<valid path>:...`
    Repository(RepoFacts),
    /// `repository:<name that fails the path grammar>:...`
    InvalidRepository,
    /// `registry:catalog:*`
    Catalog,
    /// Any other resource type or name: never granted, never an error.
    Unsupported,
}
