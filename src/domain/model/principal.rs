//! Principals (who an ACL entry is for) and access control lists.

use std::fmt;
use std::str::FromStr;

use super::access::AccessSet;
use super::ids::{TeamId, UserId};

/// Who an ACL entry is for, by id (what the rules compare).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Principal {
    User(UserId),
    Team(TeamId),
    /// Everyone, anonymous callers included.
    Public,
    /// Every logged-in user.
    Authenticated,
}

/// A principal named the way operators name them: `alice`, `team:NAME`, `public`,
/// `authenticated`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrincipalRef {
    User(String),
    Team(String),
    Public,
    Authenticated,
}

impl FromStr for PrincipalRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty principal".into());
        }
        Ok(match s {
            "public" => PrincipalRef::Public,
            "authenticated" => PrincipalRef::Authenticated,
            _ => match s.strip_prefix("team:") {
                Some("") => return Err("empty team name in principal".into()),
                Some(t) => PrincipalRef::Team(t.to_string()),
                None => PrincipalRef::User(s.to_string()),
            },
        })
    }
}

impl fmt::Display for PrincipalRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrincipalRef::User(u) => f.write_str(u),
            PrincipalRef::Team(t) => write!(f, "team:{t}"),
            PrincipalRef::Public => f.write_str("public"),
            PrincipalRef::Authenticated => f.write_str("authenticated"),
        }
    }
}

/// An access control list: who gets which access types on one entity. At most one
/// entry per principal (the sharing rules keep it so).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Acl {
    pub entries: Vec<(Principal, AccessSet)>,
}

impl Acl {
    pub fn new(entries: Vec<(Principal, AccessSet)>) -> Acl {
        Acl { entries }
    }

    /// What `principal`'s own entry grants (empty without one).
    pub fn entry(&self, principal: &Principal) -> AccessSet {
        self.entries
            .iter()
            .find(|(p, _)| p == principal)
            .map(|(_, a)| *a)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_as_the_cli_spells_them() {
        let p = |s: &str| s.parse::<PrincipalRef>();
        assert_eq!(p("public"), Ok(PrincipalRef::Public));
        assert_eq!(p(" authenticated "), Ok(PrincipalRef::Authenticated));
        assert_eq!(p("team:devs"), Ok(PrincipalRef::Team("devs".into())));
        assert_eq!(p("alice"), Ok(PrincipalRef::User("alice".into())));
        assert!(p("team:").is_err());
        assert!(p("  ").is_err());
    }
}
