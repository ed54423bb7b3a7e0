//! The facts the rules decide on, as storage gathers them. Raw state only: which ACL
//! applies and whether the trash reaches an entity is decided in `sharing`.

use crate::domain::model::{Acl, EntityId, EntityInfo};

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

/// Everything the token rules need to know about one repository scope.
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

/// An existing entity (project or repository) with its own and its project's sharing
/// state: what the API's rules, sharing changes and the trash decide on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityFacts {
    pub info: EntityInfo,
    /// The entity's own ACL: always a project's; a repository's only when it has local
    /// sharing settings.
    pub own_acl: Option<Acl>,
    /// The project above a repository.
    pub parent: Option<ParentFacts>,
}

#[cfg(test)]
impl EntityFacts {
    /// The rules' tests' project: syn1000, "alpha", with `acl`.
    pub fn test_project(trashed: bool, acl: Acl) -> EntityFacts {
        EntityFacts {
            info: EntityInfo {
                id: EntityId(1000),
                kind: crate::domain::model::EntityKind::Project,
                name: "alpha".into(),
                parent: None,
                trashed,
                created_at: 0,
            },
            own_acl: Some(acl),
            parent: None,
        }
    }

    /// The rules' tests' repository syn1000/tool, with its own ACL `local` (when it has
    /// local settings), in that project with `project_acl`.
    pub fn test_repository(
        local: Option<Acl>,
        trashed: bool,
        project_trashed: bool,
        project_acl: Acl,
    ) -> EntityFacts {
        EntityFacts {
            info: EntityInfo {
                id: EntityId(1001),
                kind: crate::domain::model::EntityKind::ManagedRepository,
                name: "syn1000/tool".into(),
                parent: Some(EntityId(1000)),
                trashed,
                created_at: 0,
            },
            own_acl: local,
            parent: Some(ParentFacts {
                id: EntityId(1000),
                is_project: true,
                trashed: project_trashed,
                acl: project_acl,
            }),
        }
    }
}

/// The project above a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentFacts {
    pub id: EntityId,
    pub is_project: bool,
    pub trashed: bool,
    pub acl: Acl,
}
