//! Who may see or change an entity through the API (the read API and external
//! repository records): the credential needs `view` to read and `modify` to change;
//! the caller needs READ (to see) or UPDATE (to change a listing) in the ACL that
//! applies; admins pass; nothing in the trash passes, admins included.

use super::caller::Caller;
use super::facts::EntityFacts;
use super::sharing;
use crate::domain::model::{AccessSet, ScopeSet};

/// Why the API refuses a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The credential lacks this scope: said plainly (403), since the caller already
    /// knows which credential it holds.
    MissingScope(ScopeSet),
    /// Missing, trashed or not allowed: answered like "not found", so nothing leaks
    /// whether the entity exists.
    Hidden,
}

/// The scope an API operation needs from the credential.
pub fn require_scope(caller: &Caller, needed: ScopeSet) -> Result<(), Refusal> {
    if caller.scopes.contains(needed) {
        Ok(())
    } else {
        Err(Refusal::MissingScope(needed))
    }
}

/// Whether `caller` gets `access` on the entity.
pub fn may(caller: &Caller, facts: &EntityFacts, access: AccessSet) -> Result<(), Refusal> {
    let effective = sharing::effective(facts);
    if effective.trashed {
        return Err(Refusal::Hidden);
    }
    if caller.is_admin() || caller.access_in(effective.acl).contains(access) {
        Ok(())
    } else {
        Err(Refusal::Hidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::authz::caller::CallerUser;
    use crate::domain::model::{Acl, Principal, UserId};

    const ALICE: UserId = UserId(1);

    fn caller(admin: bool, scopes: ScopeSet) -> Caller {
        Caller {
            user: Some(CallerUser {
                id: ALICE,
                name: "alice".into(),
                certified: true,
                admin,
                teams: vec![],
            }),
            scopes,
        }
    }

    /// A project whose ACL gives alice `access`.
    fn project(trashed: bool, access: AccessSet) -> EntityFacts {
        EntityFacts::test_project(trashed, Acl::new(vec![(Principal::User(ALICE), access)]))
    }

    #[test]
    fn the_credential_must_carry_the_scope() {
        let viewer = caller(false, ScopeSet::VIEW);
        assert_eq!(require_scope(&viewer, ScopeSet::VIEW), Ok(()));
        assert_eq!(
            require_scope(&viewer, ScopeSet::MODIFY),
            Err(Refusal::MissingScope(ScopeSet::MODIFY))
        );
        assert_eq!(
            require_scope(&caller(false, ScopeSet::PASSWORD), ScopeSet::MODIFY),
            Ok(())
        );
    }

    #[test]
    fn read_needs_the_access_type_admins_pass_the_trash_hides_from_everyone() {
        let alice = caller(false, ScopeSet::PASSWORD);
        let admin = caller(true, ScopeSet::PASSWORD);
        let readable = project(false, AccessSet::READ);
        assert_eq!(may(&alice, &readable, AccessSet::READ), Ok(()));
        assert_eq!(
            may(&alice, &readable, AccessSet::UPDATE),
            Err(Refusal::Hidden)
        );
        let none = project(false, AccessSet::empty());
        assert_eq!(may(&alice, &none, AccessSet::READ), Err(Refusal::Hidden));
        assert_eq!(may(&admin, &none, AccessSet::READ), Ok(()));
        let trashed = project(true, AccessSet::READ);
        assert_eq!(may(&alice, &trashed, AccessSet::READ), Err(Refusal::Hidden));
        assert_eq!(may(&admin, &trashed, AccessSet::READ), Err(Refusal::Hidden));
    }
}
