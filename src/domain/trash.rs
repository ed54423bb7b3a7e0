//! The trash: any entity can be moved in and restored; a repository whose project is in
//! the trash counts as in the trash (`authz::sharing::in_trash`), so a repository
//! cannot come back before its project does.

use crate::domain::authz::EntityFacts;
use crate::domain::model::{EntityId, EntityKind};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrashError {
    #[error("already in the trash")]
    AlreadyInTrash,
    #[error("not in the trash")]
    NotInTrash,
    #[error("restore its project {0} first")]
    ProjectInTrash(EntityId),
}

/// Whether the entity is a project outside the trash: what a repository record (a push,
/// an external repository) can be attached to.
pub fn live_project(facts: &EntityFacts) -> bool {
    facts.info.kind == EntityKind::Project && !facts.info.trashed
}

/// Moving an entity to the trash: refused when it is there already.
pub fn trash(facts: &EntityFacts) -> Result<(), TrashError> {
    if facts.info.trashed {
        return Err(TrashError::AlreadyInTrash);
    }
    Ok(())
}

/// Restoring an entity: it must be in the trash, and its project must not be.
pub fn restore(facts: &EntityFacts) -> Result<(), TrashError> {
    if !facts.info.trashed {
        return Err(TrashError::NotInTrash);
    }
    match &facts.parent {
        Some(parent) if parent.trashed => Err(TrashError::ProjectInTrash(parent.id)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::Acl;

    fn repo(trashed: bool, project_trashed: bool) -> EntityFacts {
        EntityFacts::test_repository(None, trashed, project_trashed, Acl::default())
    }

    #[test]
    fn trash_and_restore_in_order() {
        assert_eq!(trash(&repo(false, false)), Ok(()));
        assert_eq!(
            trash(&repo(false, true)),
            Ok(()),
            "a repository of a trashed project may go too"
        );
        assert_eq!(trash(&repo(true, false)), Err(TrashError::AlreadyInTrash));
        assert_eq!(restore(&repo(true, false)), Ok(()));
        assert_eq!(restore(&repo(false, false)), Err(TrashError::NotInTrash));
        assert_eq!(
            restore(&repo(true, true)),
            Err(TrashError::ProjectInTrash(EntityId(1000)))
        );
        assert!(
            !live_project(&repo(false, false)),
            "a repository is not a project"
        );
    }
}
