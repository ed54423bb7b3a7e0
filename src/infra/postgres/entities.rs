//! Projects and repositories: the facts the rules decide on, projects, sharing
//! settings, the trash, and external repository records.

use deadpool_postgres::GenericClient;

use super::rows::{
    acl_of, all, entities_by_query, entity_by_id, exec, facts, find, g, next_entity_id, opt,
    principal, principal_key, resolve, resolve_principal,
};
use super::{change, read, PgDirectory};
use crate::domain::authz::sharing::SharingChange;
use crate::domain::authz::{EntityFacts, ProjectFacts, RepoFacts, RepoState};
use crate::domain::model::{
    AccessSet, Acl, EntityId, EntityInfo, EntityRef, Principal, PrincipalRef, ProjectName, TeamId,
    UnixTime, UserId,
};
use crate::domain::ports::{
    AuthorizationFacts, DirResult, DirectoryError, EntityAdmin, EntityRule, Pace,
};
use crate::domain::repo_name::{ExternalName, RepoPath};
use crate::infra::stored::acl_name_order;

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

impl EntityAdmin for PgDirectory {
    fn add_project(
        &self,
        name: &ProjectName,
        id: Option<EntityId>,
        acl: &Acl,
        now: UnixTime,
    ) -> DirResult<EntityId> {
        let name = name.as_str();
        change!(self, |tx| {
            let taken = opt(
                tx,
                "SELECT 1 FROM entities WHERE kind = 'project' AND name = $1",
                &[&name],
            )
            .await?
            .is_some();
            if taken {
                return Err(DirectoryError::Conflict(format!("project named {name:?}")));
            }
            let id = match id {
                Some(id) => {
                    if id.0 > i64::MAX as u64 || entity_by_id(tx, id.0 as i64).await?.is_some() {
                        return Err(DirectoryError::Conflict(format!("entity {id}")));
                    }
                    id.0 as i64
                }
                None => next_entity_id(tx).await?,
            };
            exec(
                tx,
                "INSERT INTO entities (id, kind, name, created_at) VALUES ($1, 'project', $2, $3)",
                &[&id, &name, &now],
            )
            .await?;
            write_acl(tx, id, acl).await?;
            Ok(EntityId(id as u64))
        })
    }

    fn list_projects(&self) -> DirResult<Vec<EntityInfo>> {
        read!(self, |c| {
            entities_by_query(
                c,
                "SELECT id FROM entities WHERE kind = 'project' ORDER BY id",
                &[],
            )
            .await
        })
    }

    fn projects_shared_with(&self, principals: &[Principal]) -> DirResult<Vec<(EntityInfo, Acl)>> {
        if principals.is_empty() {
            return Ok(Vec::new());
        }
        let (kinds, ids): (Vec<&str>, Vec<i64>) = principals.iter().map(principal_key).unzip();
        read!(self, |c| {
            // Pairs as two parallel arrays: one statement, whatever the count.
            let rows = all(
                c,
                "SELECT a.entity_id, a.principal_kind, a.principal_id, a.access_bits
                 FROM acl_entries a JOIN entities e ON e.id = a.entity_id
                 JOIN UNNEST($1::text[], $2::bigint[]) AS w(kind, id)
                   ON a.principal_kind = w.kind AND a.principal_id = w.id
                 WHERE e.kind = 'project' ORDER BY a.entity_id",
                &[&kinds, &ids],
            )
            .await?;
            let mut out: Vec<(EntityInfo, Acl)> = Vec::new();
            for r in &rows {
                let entity: i64 = g(r, 0)?;
                let p = principal(g(r, 1)?, g(r, 2)?);
                let access = AccessSet::from_bits_truncate(g::<i64>(r, 3)? as u8);
                match out.last_mut() {
                    Some((info, acl)) if info.id.0 as i64 == entity => {
                        acl.entries.push((p, access));
                    }
                    _ => {
                        if let Some(row) = entity_by_id(c, entity).await? {
                            out.push((row.info, Acl::new(vec![(p, access)])));
                        }
                    }
                }
            }
            Ok(out)
        })
    }

    fn resolve_principal(&self, principal: &PrincipalRef) -> DirResult<Principal> {
        read!(self, |c| { resolve_principal(c, principal).await })
    }

    /// Names for every entry, sorted by kind (`authenticated`, `public`, `team`,
    /// `user`) then name, as `acl show` has always listed them.
    fn name_acl(&self, acl: &Acl) -> DirResult<Vec<(PrincipalRef, AccessSet)>> {
        read!(self, |c| {
            let mut out = Vec::with_capacity(acl.entries.len());
            for (p, access) in &acl.entries {
                let named = match p {
                    Principal::User(UserId(id)) => {
                        PrincipalRef::User(name_of(c, "users", *id).await?)
                    }
                    Principal::Team(TeamId(id)) => {
                        PrincipalRef::Team(name_of(c, "teams", *id).await?)
                    }
                    Principal::Public => PrincipalRef::Public,
                    Principal::Authenticated => PrincipalRef::Authenticated,
                };
                out.push((named, *access));
            }
            out.sort_by(|(a, _), (b, _)| acl_name_order(a).cmp(&acl_name_order(b)));
            Ok(out)
        })
    }

    fn change_sharing(&self, entity: &EntityRef, rule: EntityRule<SharingChange>) -> DirResult<()> {
        change!(self, |tx| {
            let row = resolve(tx, entity).await?;
            let id = row.info.id.0 as i64;
            let change = rule(&facts(tx, row).await?)?;
            apply_sharing(tx, id, &change).await
        })
    }

    fn set_trashed(
        &self,
        entity: &EntityRef,
        trashed: bool,
        rule: EntityRule<()>,
        now: UnixTime,
    ) -> DirResult<()> {
        change!(self, |tx| {
            let row = resolve(tx, entity).await?;
            let id = row.info.id.0 as i64;
            rule(&facts(tx, row).await?)?;
            exec(
                tx,
                "UPDATE entities SET trashed_at = $1 WHERE id = $2",
                &[&trashed.then_some(now), &id],
            )
            .await?;
            Ok(())
        })
    }

    fn add_external_repository(
        &self,
        project: EntityId,
        name: &ExternalName,
        rule: EntityRule<()>,
        now: UnixTime,
    ) -> DirResult<EntityInfo> {
        let full = name.full();
        change!(self, |tx| {
            let row = entity_by_id(tx, project.0 as i64)
                .await?
                .ok_or_else(|| DirectoryError::NotFound(format!("project {project}")))?;
            rule(&facts(tx, row).await?)?;
            let taken = opt(
                tx,
                "SELECT 1 FROM entities WHERE parent_id = $1 AND name = $2",
                &[&(project.0 as i64), &full],
            )
            .await?;
            if taken.is_some() {
                return Err(DirectoryError::Conflict(format!("{full} under {project}")));
            }
            let id = next_entity_id(tx).await?;
            exec(
                tx,
                "INSERT INTO entities (id, kind, name, parent_id, created_at) VALUES ($1, 'external_repository', $2, $3, $4)",
                &[&id, &full, &(project.0 as i64), &now],
            )
            .await?;
            entity_by_id(tx, id)
                .await?
                .map(|r| r.info)
                .ok_or_else(|| DirectoryError::Backend("inserted row vanished".into()))
        })
    }

    fn delete_external_repository(&self, id: EntityId) -> DirResult<()> {
        change!(self, |tx| {
            let n = exec(
                tx,
                "DELETE FROM entities WHERE id = $1 AND kind = 'external_repository'",
                &[&(id.0 as i64)],
            )
            .await?;
            if n == 0 {
                return Err(DirectoryError::NotFound(format!(
                    "external repository {id}"
                )));
            }
            Ok(())
        })
    }
}

/// Writes what a sharing change leaves the entity with.
pub(super) async fn apply_sharing<C: GenericClient>(
    tx: &C,
    id: i64,
    change: &SharingChange,
) -> DirResult<()> {
    match change {
        SharingChange::Set(acl) => {
            write_acl(tx, id, acl).await?;
            exec(
                tx,
                "UPDATE entities SET has_local_acl = TRUE WHERE id = $1",
                &[&id],
            )
            .await?;
        }
        SharingChange::Inherit => {
            exec(tx, "DELETE FROM acl_entries WHERE entity_id = $1", &[&id]).await?;
            exec(
                tx,
                "UPDATE entities SET has_local_acl = FALSE WHERE id = $1",
                &[&id],
            )
            .await?;
        }
    }
    Ok(())
}

/// Replaces an entity's ACL rows with `acl`.
async fn write_acl<C: GenericClient>(tx: &C, entity: i64, acl: &Acl) -> DirResult<()> {
    exec(
        tx,
        "DELETE FROM acl_entries WHERE entity_id = $1",
        &[&entity],
    )
    .await?;
    for (p, access) in &acl.entries {
        if access.is_empty() {
            continue;
        }
        let (kind, pid) = principal_key(p);
        exec(
            tx,
            "INSERT INTO acl_entries (entity_id, principal_kind, principal_id, access_bits) VALUES ($1, $2, $3, $4)",
            &[&entity, &kind, &pid, &(access.bits() as i64)],
        )
        .await?;
    }
    Ok(())
}

async fn name_of<C: GenericClient>(c: &C, table: &str, id: i64) -> DirResult<String> {
    let found = opt(
        c,
        &format!("SELECT name FROM {table} WHERE id = $1"),
        &[&id],
    )
    .await?;
    Ok(match found {
        Some(r) => g(&r, 0)?,
        // An entry for a principal that no longer exists shows its id.
        None => format!("#{id}"),
    })
}
