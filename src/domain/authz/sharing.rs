//! Sharing settings: which ACL applies to an entity, whether the trash reaches it, and
//! how a change to sharing settings rewrites an ACL.
//!
//! - A repository **inherits** its project's ACL unless it has local sharing settings,
//!   which then replace the inherited one entirely.
//! - A repository whose project is in the trash counts as in the trash.
//! - The first change to a repository's sharing settings starts them as a copy of the
//!   project's ACL, so the change is the only difference (copy on first change).
//! - The owner of a new project gets every access type on it.

use super::facts::EntityFacts;
use crate::domain::model::{AccessSet, Acl, EntityId, Principal, UserId};

/// Local sharing settings replace the inherited ACL entirely.
pub fn effective_acl<'a>(local: Option<&'a Acl>, inherited: &'a Acl) -> &'a Acl {
    local.unwrap_or(inherited)
}

/// A repository is in the trash when it or its project is.
pub fn in_trash(own: bool, project: bool) -> bool {
    own || project
}

/// The sharing state that applies to an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective<'a> {
    pub acl: &'a Acl,
    pub trashed: bool,
    /// The project whose ACL a repository inherits; `None` for local settings.
    pub inherited_from: Option<EntityId>,
}

static NO_ACL: Acl = Acl {
    entries: Vec::new(),
};

/// Which ACL applies to `facts`' entity and whether the trash reaches it.
pub fn effective(facts: &EntityFacts) -> Effective<'_> {
    match &facts.parent {
        None => Effective {
            acl: facts.own_acl.as_ref().unwrap_or(&NO_ACL),
            trashed: facts.info.trashed,
            inherited_from: None,
        },
        Some(parent) => Effective {
            acl: effective_acl(facts.own_acl.as_ref(), &parent.acl),
            trashed: in_trash(facts.info.trashed, parent.trashed),
            inherited_from: facts.own_acl.is_none().then_some(parent.id),
        },
    }
}

/// The ACL a new project starts with: its owner gets every access type.
pub fn owner_acl(owner: UserId) -> Acl {
    Acl::new(vec![(Principal::User(owner), AccessSet::all())])
}

/// What a change leaves an entity with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharingChange {
    /// Its own ACL, exactly this (local sharing settings for a repository).
    Set(Acl),
    /// No own ACL: the repository inherits its project's again.
    Inherit,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SharingError {
    #[error("the principal has no ACL entry on this entity")]
    NoEntry,
    #[error("only repositories inherit; a project's ACL is its own")]
    NotARepository,
    #[error(
        "the ACL must leave a user or team with CHANGE_PERMISSIONS, or nobody could share it again"
    )]
    NoManager,
    #[error("a principal is listed twice")]
    Duplicate,
}

/// Replaces the entity's own ACL with `acl` (for a repository: local sharing settings
/// from now on). Refused when nobody (no user or team) could change it afterwards, or
/// a principal is listed twice.
pub fn replace(acl: Acl) -> Result<SharingChange, SharingError> {
    let managed = acl.entries.iter().any(|(p, a)| {
        matches!(p, Principal::User(_) | Principal::Team(_))
            && a.contains(AccessSet::CHANGE_PERMISSIONS)
    });
    if !managed {
        return Err(SharingError::NoManager);
    }
    for (i, (p, _)) in acl.entries.iter().enumerate() {
        if acl.entries[..i].iter().any(|(q, _)| q == p) {
            return Err(SharingError::Duplicate);
        }
    }
    Ok(SharingChange::Set(acl))
}

/// Adds `access` to `principal`'s entry, starting from the ACL that applies now (a copy
/// of the project's for a repository that inherits).
pub fn grant(facts: &EntityFacts, principal: Principal, access: AccessSet) -> SharingChange {
    let mut acl = effective(facts).acl.clone();
    match acl.entries.iter_mut().find(|(p, _)| *p == principal) {
        Some((_, a)) => *a |= access,
        None => acl.entries.push((principal, access)),
    }
    SharingChange::Set(acl)
}

/// Removes `access` (everything when `None`) from `principal`'s entry; an entry left
/// empty goes. Refused when the principal has no entry in the ACL that applies.
pub fn revoke(
    facts: &EntityFacts,
    principal: Principal,
    access: Option<AccessSet>,
) -> Result<SharingChange, SharingError> {
    let mut acl = effective(facts).acl.clone();
    let at = acl
        .entries
        .iter()
        .position(|(p, _)| *p == principal)
        .ok_or(SharingError::NoEntry)?;
    let left = match access {
        Some(a) => acl.entries[at].1 - a,
        None => AccessSet::empty(),
    };
    if left.is_empty() {
        acl.entries.remove(at);
    } else {
        acl.entries[at].1 = left;
    }
    Ok(SharingChange::Set(acl))
}

/// Drops a repository's local sharing settings so it inherits its project's again.
pub fn inherit(facts: &EntityFacts) -> Result<SharingChange, SharingError> {
    if facts.parent.is_none() {
        return Err(SharingError::NotARepository);
    }
    Ok(SharingChange::Inherit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::TeamId;

    const ALICE: Principal = Principal::User(UserId(1));
    const BOB: Principal = Principal::User(UserId(2));

    fn project_acl() -> Acl {
        Acl::new(vec![
            (ALICE, AccessSet::all()),
            (Principal::Team(TeamId(3)), AccessSet::READ),
        ])
    }

    fn repo(local: Option<Acl>, trashed: bool, project_trashed: bool) -> EntityFacts {
        EntityFacts::test_repository(local, trashed, project_trashed, project_acl())
    }

    fn project(trashed: bool) -> EntityFacts {
        EntityFacts::test_project(trashed, project_acl())
    }

    #[test]
    fn repositories_inherit_unless_local_settings_replace_everything() {
        let inheriting = repo(None, false, false);
        let e = effective(&inheriting);
        assert_eq!(e.acl, &project_acl());
        assert_eq!(e.inherited_from, Some(EntityId(1000)));
        let local = Acl::new(vec![(BOB, AccessSet::DOWNLOAD)]);
        let own = repo(Some(local.clone()), false, false);
        let e = effective(&own);
        assert_eq!(e.acl, &local, "local settings replace, never merge");
        assert_eq!(e.inherited_from, None);
        // Empty local settings still replace: nobody but admins gets anything.
        let empty = repo(Some(Acl::default()), false, false);
        assert!(effective(&empty).acl.entries.is_empty());
        assert_eq!(effective(&project(false)).acl, &project_acl());
    }

    #[test]
    fn trash_reaches_repositories_through_their_project() {
        assert!(!effective(&repo(None, false, false)).trashed);
        assert!(effective(&repo(None, true, false)).trashed);
        assert!(effective(&repo(None, false, true)).trashed);
        assert!(effective(&project(true)).trashed);
    }

    #[test]
    fn first_grant_on_a_repository_copies_the_project_acl() {
        let change = grant(&repo(None, false, false), BOB, AccessSet::DOWNLOAD);
        let mut want = project_acl();
        want.entries.push((BOB, AccessSet::DOWNLOAD));
        assert_eq!(change, SharingChange::Set(want));
        // Granting to an existing entry adds to it.
        let change = grant(
            &project(false),
            Principal::Team(TeamId(3)),
            AccessSet::DOWNLOAD,
        );
        let SharingChange::Set(acl) = change else {
            panic!("{change:?}")
        };
        assert_eq!(
            acl.entry(&Principal::Team(TeamId(3))),
            AccessSet::READ | AccessSet::DOWNLOAD
        );
    }

    #[test]
    fn revoke_removes_access_and_empty_entries() {
        let SharingChange::Set(acl) =
            revoke(&project(false), ALICE, Some(AccessSet::DELETE)).unwrap()
        else {
            panic!()
        };
        assert_eq!(acl.entry(&ALICE), AccessSet::all() - AccessSet::DELETE);
        let SharingChange::Set(acl) = revoke(&repo(None, false, false), ALICE, None).unwrap()
        else {
            panic!()
        };
        assert_eq!(acl.entries.len(), 1, "copied, then the entry removed");
        assert_eq!(
            revoke(&project(false), BOB, None),
            Err(SharingError::NoEntry)
        );
    }

    #[test]
    fn only_repositories_inherit() {
        assert_eq!(
            inherit(&repo(Some(Acl::default()), false, false)),
            Ok(SharingChange::Inherit)
        );
        assert_eq!(inherit(&project(false)), Err(SharingError::NotARepository));
    }

    #[test]
    fn owners_get_everything() {
        assert_eq!(
            owner_acl(UserId(9)).entry(&Principal::User(UserId(9))),
            AccessSet::all()
        );
    }

    #[test]
    fn a_replaced_acl_keeps_a_manager_and_lists_each_principal_once() {
        let cp = AccessSet::CHANGE_PERMISSIONS;
        let team = Principal::Team(TeamId(3));
        assert_eq!(
            replace(Acl::new(vec![(BOB, AccessSet::READ | cp)])),
            Ok(SharingChange::Set(Acl::new(vec![(
                BOB,
                AccessSet::READ | cp
            )])))
        );
        assert!(replace(Acl::new(vec![(team, cp)])).is_ok());
        for orphan in [
            Acl::default(),
            Acl::new(vec![(BOB, AccessSet::READ)]),
            Acl::new(vec![(Principal::Public, AccessSet::all())]),
            Acl::new(vec![(Principal::Authenticated, cp)]),
        ] {
            assert_eq!(replace(orphan), Err(SharingError::NoManager));
        }
        assert_eq!(
            replace(Acl::new(vec![(BOB, cp), (BOB, AccessSet::READ)])),
            Err(SharingError::Duplicate)
        );
    }
}
