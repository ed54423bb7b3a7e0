//! The caller as the rules see it: a user (with teams and flags) or nobody, plus the
//! scopes of the credential it presented.

use crate::domain::model::{AccessSet, Acl, Principal, ScopeSet, TeamId, User, UserId};

/// The authenticated (or anonymous) caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: Option<CallerUser>,
    /// The credential's scopes: all for a password, the token's for an access token.
    pub scopes: ScopeSet,
    /// The access token the credential is, when it is one: a token it mints descends
    /// from it (expires no later, ends with it).
    pub token: Option<i64>,
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
    /// `user`, a member of `teams`, presenting a credential with `scopes`. Whether the
    /// user may sign in at all (not disabled) is `authn::check_user`'s to say first.
    pub fn of_user(user: &User, teams: Vec<TeamId>, scopes: ScopeSet) -> Caller {
        Caller {
            user: Some(CallerUser {
                id: user.id,
                name: user.name.clone(),
                certified: user.certified,
                admin: user.admin,
                teams,
            }),
            scopes,
            token: None,
        }
    }

    /// An anonymous caller can only ever read: `view` and `download`.
    pub fn anonymous() -> Caller {
        Caller {
            user: None,
            scopes: ScopeSet::ANONYMOUS,
            token: None,
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

    /// Every principal whose ACL entries apply to this caller (see [`Caller::is`]): what
    /// a store filters ACL entries by before the rules look at them.
    pub fn principals(&self) -> Vec<Principal> {
        let mut out = vec![Principal::Public];
        if let Some(u) = &self.user {
            out.push(Principal::Authenticated);
            out.push(Principal::User(u.id));
            out.extend(u.teams.iter().map(|t| Principal::Team(*t)));
        }
        out
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.admin)
    }

    pub fn name(&self) -> &str {
        self.user.as_ref().map(|u| u.name.as_str()).unwrap_or("")
    }
}

#[cfg(test)]
impl Caller {
    /// Alice's id, for the tests' ACL entries that name her.
    pub(crate) const ALICE: UserId = UserId(1);

    /// Alice, signed in with a credential of `scopes`: the caller most rule
    /// tests start from, with the flags and teams each test is about.
    pub(crate) fn alice(
        certified: bool,
        admin: bool,
        teams: Vec<TeamId>,
        scopes: ScopeSet,
    ) -> Caller {
        Caller {
            user: Some(CallerUser {
                id: Caller::ALICE,
                name: "alice".into(),
                certified,
                admin,
                teams,
            }),
            scopes,
            token: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_are_exactly_those_whose_entries_apply() {
        let user = Caller::alice(false, false, vec![TeamId(5), TeamId(6)], ScopeSet::PASSWORD);
        let all = user.principals();
        assert_eq!(all.len(), 5);
        assert!(all.iter().all(|p| user.is(p)));
        for other in [Principal::User(UserId(2)), Principal::Team(TeamId(7))] {
            assert!(!all.contains(&other) && !user.is(&other));
        }
        assert_eq!(Caller::anonymous().principals(), [Principal::Public]);
    }
}
