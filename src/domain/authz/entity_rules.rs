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
    /// The caller sees the entity (READ) but lacks this access type to change it: said
    /// plainly, since it already knows the entity exists.
    Lacks(AccessSet),
}

/// The scope an API operation needs from the credential (the operations' gate,
/// `needs::admit`, checks it in production; kept for the rules' own tests).
#[cfg(test)]
fn require_scope(caller: &Caller, needed: ScopeSet) -> Result<(), Refusal> {
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

/// Whether `caller` may change the entity in a way that needs `access`
/// (CHANGE_PERMISSIONS to share, DELETE to trash or restore). `in_trash_ok` lets a
/// restore reach an entity in the trash.
pub fn may_change(
    caller: &Caller,
    facts: &EntityFacts,
    access: AccessSet,
    in_trash_ok: bool,
) -> Result<(), Refusal> {
    let effective = sharing::effective(facts);
    if effective.trashed && !in_trash_ok {
        return Err(Refusal::Hidden);
    }
    if caller.is_admin() {
        return Ok(());
    }
    let mine = caller.access_in(effective.acl);
    if !mine.contains(AccessSet::READ) {
        Err(Refusal::Hidden)
    } else if !mine.contains(access) {
        Err(Refusal::Lacks(access))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Acl, Principal, UserId};

    const ALICE: UserId = Caller::ALICE;

    fn caller(admin: bool, scopes: ScopeSet) -> Caller {
        Caller::alice(true, admin, vec![], scopes)
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

    #[test]
    fn changing_needs_the_access_type_and_only_readers_are_told_so() {
        let alice = caller(false, ScopeSet::PASSWORD);
        let admin = caller(true, ScopeSet::PASSWORD);
        let cp = AccessSet::CHANGE_PERMISSIONS;
        let owner = project(false, AccessSet::all());
        assert_eq!(may_change(&alice, &owner, cp, false), Ok(()));
        let reader = project(false, AccessSet::READ);
        assert_eq!(
            may_change(&alice, &reader, cp, false),
            Err(Refusal::Lacks(cp))
        );
        let stranger = project(false, AccessSet::empty());
        assert_eq!(
            may_change(&alice, &stranger, cp, false),
            Err(Refusal::Hidden)
        );
        assert_eq!(may_change(&admin, &stranger, cp, false), Ok(()));
        // Without READ, CHANGE_PERMISSIONS alone is still hidden.
        let blind = project(false, cp);
        assert_eq!(may_change(&alice, &blind, cp, false), Err(Refusal::Hidden));
        let trashed = project(true, AccessSet::all());
        let delete = AccessSet::DELETE;
        assert_eq!(
            may_change(&alice, &trashed, delete, false),
            Err(Refusal::Hidden)
        );
        assert_eq!(may_change(&alice, &trashed, delete, true), Ok(()));
        assert_eq!(
            may_change(&admin, &trashed, delete, false),
            Err(Refusal::Hidden)
        );
    }
}
