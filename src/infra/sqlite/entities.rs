//! The facts a token request's rules decide on, read on SQLite's connection in the
//! engine's own statements (the hot path stays apart from the shared scripts, see
//! docs/architecture.md); projects and sharing are administered in `infra::sql`.

use rusqlite::{params, OptionalExtension};

use super::rows::{acl_of, facts, find};
use super::SqliteDirectory;
use crate::domain::authz::{EntityFacts, ProjectFacts, RepoFacts, RepoState};
use crate::domain::model::EntityRef;
use crate::domain::ports::{AuthorizationFacts, DirResult, Pace};
use crate::domain::repo_name::RepoPath;

impl AuthorizationFacts for SqliteDirectory {
    /// On every token request: two lean indexed lookups (plus the ACLs that apply), not
    /// the full entity rows the administration paths read.
    fn repository_facts(&self, path: &RepoPath, _: Pace) -> DirResult<RepoFacts> {
        self.read(|c| {
            let project_id = path.project().0 as i64;
            let project: Option<(String, bool)> = c
                .prepare_cached("SELECT kind, trashed_at IS NOT NULL FROM entities WHERE id = ?1")?
                .query_row([project_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let project = match project {
                None => ProjectFacts::Missing,
                Some((kind, _)) if kind != "project" => ProjectFacts::NotAProject,
                Some((_, trashed)) => ProjectFacts::Project {
                    trashed,
                    acl: acl_of(c, project_id)?,
                },
            };
            let repo: Option<(i64, bool, bool)> = c
                .prepare_cached(
                    "SELECT id, trashed_at IS NOT NULL, has_local_acl FROM entities
                     WHERE parent_id = ?1 AND name = ?2 AND kind = 'managed_repository'",
                )?
                .query_row(params![project_id, path.name()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            let repo = match repo {
                None => RepoState::Unknown,
                Some((id, trashed, has_local_acl)) => RepoState::Managed {
                    trashed,
                    local_acl: if has_local_acl {
                        Some(acl_of(c, id)?)
                    } else {
                        None
                    },
                },
            };
            Ok(RepoFacts { project, repo })
        })
    }

    fn entity_facts(&self, entity: &EntityRef) -> DirResult<Option<EntityFacts>> {
        self.read(|c| find(c, entity)?.map(|row| facts(c, row)).transpose())
    }
}
