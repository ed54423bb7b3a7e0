//! How the directory's tables spell the model's values, shared by both SQL backends
//! (`sqlite`, `postgres`): principals as (kind, id) columns, entity kinds, scope masks,
//! and the order `acl show` lists names in.

use crate::domain::model::{EntityKind, Principal, PrincipalRef, ScopeSet, TeamId, UserId};

/// (kind column, id column) of a principal.
pub fn principal_key(p: &Principal) -> (&'static str, i64) {
    match p {
        Principal::User(u) => ("user", u.0),
        Principal::Team(t) => ("team", t.0),
        Principal::Public => ("public", 0),
        Principal::Authenticated => ("authenticated", 0),
    }
}

/// The principal a (kind, id) pair names.
pub fn principal(kind: &str, id: i64) -> Principal {
    match kind {
        "user" => Principal::User(UserId(id)),
        "team" => Principal::Team(TeamId(id)),
        "public" => Principal::Public,
        _ => Principal::Authenticated,
    }
}

/// An entity's kind column.
pub fn entity_kind(s: &str) -> EntityKind {
    match s {
        "project" => EntityKind::Project,
        "managed_repository" => EntityKind::ManagedRepository,
        _ => EntityKind::ExternalRepository,
    }
}

/// A stored scope mask (unknown bits dropped).
pub fn scopes(bits: i64) -> ScopeSet {
    ScopeSet::from_bits_truncate(bits as u8)
}

/// `acl show`'s order: by kind (`authenticated`, `public`, `team`, `user`), then name.
pub fn acl_name_order(p: &PrincipalRef) -> (&'static str, &str) {
    match p {
        PrincipalRef::Authenticated => ("authenticated", "authenticated"),
        PrincipalRef::Public => ("public", "public"),
        PrincipalRef::Team(n) => ("team", n),
        PrincipalRef::User(n) => ("user", n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_round_trip_through_their_columns() {
        for p in [
            Principal::User(UserId(7)),
            Principal::Team(TeamId(9)),
            Principal::Public,
            Principal::Authenticated,
        ] {
            let (kind, id) = principal_key(&p);
            assert_eq!(principal(kind, id), p);
        }
    }
}
