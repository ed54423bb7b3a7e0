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
