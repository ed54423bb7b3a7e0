//! Entities: projects and the repositories under them, and how commands name them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ids::EntityId;
use super::time::UnixTime;
use crate::domain::repo_name::RepoPath;

/// What kind of entity an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Project,
    /// A repository created by a push to our registry.
    ManagedRepository,
    /// A record of an image in another registry; never authorized by the token endpoint.
    ExternalRepository,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Project => "project",
            EntityKind::ManagedRepository => "managed_repository",
            EntityKind::ExternalRepository => "external_repository",
        }
    }
}

/// An entity's summary for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityInfo {
    pub id: EntityId,
    pub kind: EntityKind,
    /// Project name, repository path, or external image name.
    pub name: String,
    pub parent: Option<EntityId>,
    pub trashed: bool,
    pub created_at: UnixTime,
}

/// Which entity a command means: a `syn<digits>` id, or a repository path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityRef {
    Id(EntityId),
    Repository(RepoPath),
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntityRef::Id(id) => write!(f, "{id}"),
            EntityRef::Repository(p) => f.write_str(p.as_str()),
        }
    }
}

impl FromStr for EntityRef {
    type Err = String;
    /// `syn123` is an id; anything with a `/` is a repository path.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.contains('/') {
            RepoPath::parse(s)
                .map(EntityRef::Repository)
                .map_err(|e| e.to_string())
        } else {
            s.parse::<EntityId>()
                .map(EntityRef::Id)
                .map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_kinds_keep_their_stored_spelling() {
        // Written to the database: a new spelling would orphan every existing row.
        assert_eq!(EntityKind::Project.as_str(), "project");
        assert_eq!(EntityKind::ManagedRepository.as_str(), "managed_repository");
        assert_eq!(
            EntityKind::ExternalRepository.as_str(),
            "external_repository"
        );
    }
}
