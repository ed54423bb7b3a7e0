//! The facts a token request's rules decide on, read in PostgreSQL's own async
//! statements (the hot path stays apart from the shared scripts, see
//! docs/architecture.md); projects and sharing are administered in `infra::sql`.

use super::rows::{acl_of, facts, find, g, opt};
use super::{read, PgDirectory};
use crate::domain::authz::{EntityFacts, ProjectFacts, RepoFacts, RepoState};
use crate::domain::model::EntityRef;
use crate::domain::ports::{AuthorizationFacts, DirResult, Pace};
use crate::domain::repo_name::RepoPath;

impl AuthorizationFacts for PgDirectory {
    /// On every token request (when not cached): two indexed lookups, plus the ACLs
    /// that apply.
    fn repository_facts(&self, path: &RepoPath, pace: Pace) -> DirResult<RepoFacts> {
        super::credentials::on_the_network(pace)?;
        read!(self, |c| {
            let project_id = path.project().0 as i64;
            let project = opt(
                c,
                "SELECT kind, trashed_at IS NOT NULL FROM entities WHERE id = $1",
                &[&project_id],
            )
            .await?;
            let project = match project {
                None => ProjectFacts::Missing,
                Some(r) if g::<&str>(&r, 0)? != "project" => ProjectFacts::NotAProject,
                Some(r) => ProjectFacts::Project {
                    trashed: g(&r, 1)?,
                    acl: acl_of(c, project_id).await?,
                },
            };
            let repo = opt(
                c,
                "SELECT id, trashed_at IS NOT NULL, has_local_acl FROM entities
                 WHERE parent_id = $1 AND name = $2 AND kind = 'managed_repository'",
                &[&project_id, &path.name()],
            )
            .await?;
            let repo = match repo {
                None => RepoState::Unknown,
                Some(r) => RepoState::Managed {
                    trashed: g(&r, 1)?,
                    local_acl: if g(&r, 2)? {
                        Some(acl_of(c, g(&r, 0)?).await?)
                    } else {
                        None
                    },
                },
            };
            Ok(RepoFacts { project, repo })
        })
    }

    fn entity_facts(&self, entity: &EntityRef) -> DirResult<Option<EntityFacts>> {
        read!(self, |c| {
            match find(c, entity).await? {
                Some(row) => Ok(Some(facts(c, row).await?)),
                None => Ok(None),
            }
        })
    }
}
